package main

// Canonical JSON (docs/FORMAT.md §1, [ENTRY-1..6]): a strict parser that
// rejects what no canonical text can hold (invalid UTF-8, lone surrogates,
// duplicate keys, non-integers, out-of-range integers, -0), and a writer of
// the canonical form. A text is canonical when writing its parse gives back
// the same bytes, as FORMAT.md suggests.

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"unicode/utf8"
)

type jkind byte

const (
	jObject jkind = 'o'
	jArray  jkind = 'a'
	jString jkind = 's'
	jInt    jkind = 'i'
	jTrue   jkind = 't'
	jFalse  jkind = 'f'
	jNull   jkind = 'n'
)

type member struct {
	key string
	val *jval
}

type jval struct {
	kind jkind
	obj  []member
	arr  []*jval
	str  string
	num  int64
}

const maxSafeInt = 1<<53 - 1

type jparser struct {
	b        []byte
	pos      int
	maxDepth int
}

func (p *jparser) fail(format string, a ...interface{}) error {
	return fmt.Errorf("offset %d: %s", p.pos, fmt.Sprintf(format, a...))
}

func (p *jparser) ws() {
	for p.pos < len(p.b) {
		switch p.b[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *jparser) value(depth int) (*jval, error) {
	p.ws()
	if p.pos >= len(p.b) {
		return nil, p.fail("unexpected end")
	}
	switch c := p.b[p.pos]; {
	case c == '{' || c == '[':
		if depth+1 > p.maxDepth {
			return nil, p.fail("nesting deeper than %d", p.maxDepth)
		}
		if c == '{' {
			return p.object(depth + 1)
		}
		return p.array(depth + 1)
	case c == '"':
		s, err := p.str()
		if err != nil {
			return nil, err
		}
		return &jval{kind: jString, str: s}, nil
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	case bytes.HasPrefix(p.b[p.pos:], []byte("true")):
		p.pos += 4
		return &jval{kind: jTrue}, nil
	case bytes.HasPrefix(p.b[p.pos:], []byte("false")):
		p.pos += 5
		return &jval{kind: jFalse}, nil
	case bytes.HasPrefix(p.b[p.pos:], []byte("null")):
		p.pos += 4
		return &jval{kind: jNull}, nil
	}
	return nil, p.fail("unexpected byte 0x%02x", p.b[p.pos])
}

func (p *jparser) object(depth int) (*jval, error) {
	p.pos++ // '{'
	v := &jval{kind: jObject}
	seen := map[string]bool{}
	p.ws()
	if p.pos < len(p.b) && p.b[p.pos] == '}' {
		p.pos++
		return v, nil
	}
	for {
		p.ws()
		if p.pos >= len(p.b) || p.b[p.pos] != '"' {
			return nil, p.fail("expected a key")
		}
		k, err := p.str()
		if err != nil {
			return nil, err
		}
		if seen[k] {
			return nil, p.fail("duplicate key %q", k)
		}
		seen[k] = true
		p.ws()
		if p.pos >= len(p.b) || p.b[p.pos] != ':' {
			return nil, p.fail("expected ':'")
		}
		p.pos++
		val, err := p.value(depth)
		if err != nil {
			return nil, err
		}
		v.obj = append(v.obj, member{k, val})
		p.ws()
		if p.pos >= len(p.b) {
			return nil, p.fail("unexpected end in object")
		}
		if p.b[p.pos] == ',' {
			p.pos++
			continue
		}
		if p.b[p.pos] == '}' {
			p.pos++
			return v, nil
		}
		return nil, p.fail("expected ',' or '}'")
	}
}

func (p *jparser) array(depth int) (*jval, error) {
	p.pos++ // '['
	v := &jval{kind: jArray}
	p.ws()
	if p.pos < len(p.b) && p.b[p.pos] == ']' {
		p.pos++
		return v, nil
	}
	for {
		val, err := p.value(depth)
		if err != nil {
			return nil, err
		}
		v.arr = append(v.arr, val)
		p.ws()
		if p.pos >= len(p.b) {
			return nil, p.fail("unexpected end in array")
		}
		if p.b[p.pos] == ',' {
			p.pos++
			continue
		}
		if p.b[p.pos] == ']' {
			p.pos++
			return v, nil
		}
		return nil, p.fail("expected ',' or ']'")
	}
}

func (p *jparser) number() (*jval, error) {
	start := p.pos
	neg := false
	if p.b[p.pos] == '-' {
		neg = true
		p.pos++
	}
	ds := p.pos
	for p.pos < len(p.b) && p.b[p.pos] >= '0' && p.b[p.pos] <= '9' {
		p.pos++
	}
	digits := p.b[ds:p.pos]
	if len(digits) == 0 {
		return nil, p.fail("bad number")
	}
	if p.pos < len(p.b) && (p.b[p.pos] == '.' || p.b[p.pos] == 'e' || p.b[p.pos] == 'E') {
		return nil, p.fail("number %q is not an integer [ENTRY-4]", p.b[start:p.pos+1])
	}
	if len(digits) > 1 && digits[0] == '0' {
		return nil, p.fail("leading zero")
	}
	if len(digits) > 16 {
		return nil, p.fail("integer out of range [ENTRY-4]")
	}
	var n int64
	for _, d := range digits {
		n = n*10 + int64(d-'0')
	}
	if n > maxSafeInt {
		return nil, p.fail("integer out of range [ENTRY-4]")
	}
	if neg {
		if n == 0 {
			return nil, p.fail("-0 [ENTRY-4]")
		}
		n = -n
	}
	return &jval{kind: jInt, num: n}, nil
}

func hexval(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

func (p *jparser) hex4() (rune, error) {
	if p.pos+4 > len(p.b) {
		return 0, p.fail("short \\u escape")
	}
	var r rune
	for i := 0; i < 4; i++ {
		h := hexval(p.b[p.pos+i])
		if h < 0 {
			return 0, p.fail("bad \\u escape")
		}
		r = r<<4 | rune(h)
	}
	p.pos += 4
	return r, nil
}

func (p *jparser) str() (string, error) {
	p.pos++ // '"'
	var out []byte
	for {
		if p.pos >= len(p.b) {
			return "", p.fail("unterminated string")
		}
		c := p.b[p.pos]
		switch {
		case c == '"':
			p.pos++
			return string(out), nil
		case c == '\\':
			p.pos++
			if p.pos >= len(p.b) {
				return "", p.fail("unterminated escape")
			}
			e := p.b[p.pos]
			p.pos++
			switch e {
			case '"', '\\', '/':
				out = append(out, e)
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				r, err := p.hex4()
				if err != nil {
					return "", err
				}
				if r >= 0xD800 && r < 0xDC00 {
					if p.pos+2 > len(p.b) || p.b[p.pos] != '\\' || p.b[p.pos+1] != 'u' {
						return "", p.fail("lone surrogate escape")
					}
					p.pos += 2
					lo, err := p.hex4()
					if err != nil {
						return "", err
					}
					if lo < 0xDC00 || lo >= 0xE000 {
						return "", p.fail("lone surrogate escape")
					}
					r = 0x10000 + (r-0xD800)<<10 + (lo - 0xDC00)
				} else if r >= 0xDC00 && r < 0xE000 {
					return "", p.fail("lone surrogate escape")
				}
				out = utf8.AppendRune(out, r)
			default:
				return "", p.fail("bad escape \\%c", e)
			}
		case c < 0x20:
			return "", p.fail("control byte in string")
		case c < 0x80:
			out = append(out, c)
			p.pos++
		default:
			// Go's decoder rejects overlongs, surrogates and > U+10FFFF.
			r, size := utf8.DecodeRune(p.b[p.pos:])
			if r == utf8.RuneError && size == 1 {
				return "", p.fail("invalid UTF-8 [ENTRY-1]")
			}
			out = append(out, p.b[p.pos:p.pos+size]...)
			p.pos += size
		}
	}
}

// parseJSON parses one JSON value filling all of b, at most maxDepth deep.
func parseJSON(b []byte, maxDepth int) (*jval, error) {
	p := &jparser{b: b, maxDepth: maxDepth}
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.ws()
	if p.pos != len(b) {
		return nil, p.fail("bytes after the value")
	}
	return v, nil
}

// escapeString writes s with the minimal escaping of [ENTRY-5], without quotes.
func escapeString(buf *bytes.Buffer, s string) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			buf.WriteString(`\"`)
		case c == '\\':
			buf.WriteString(`\\`)
		case c == '\b':
			buf.WriteString(`\b`)
		case c == '\t':
			buf.WriteString(`\t`)
		case c == '\n':
			buf.WriteString(`\n`)
		case c == '\f':
			buf.WriteString(`\f`)
		case c == '\r':
			buf.WriteString(`\r`)
		case c < 0x20:
			fmt.Fprintf(buf, `\u%04x`, c)
		default:
			buf.WriteByte(c)
		}
	}
}

func writeCanonical(buf *bytes.Buffer, v *jval) {
	switch v.kind {
	case jObject:
		ms := append([]member(nil), v.obj...)
		sort.Slice(ms, func(i, j int) bool { return ms[i].key < ms[j].key }) // Go compares strings bytewise
		buf.WriteByte('{')
		for i, m := range ms {
			if i > 0 {
				buf.WriteByte(',')
			}
			buf.WriteByte('"')
			escapeString(buf, m.key)
			buf.WriteString(`":`)
			writeCanonical(buf, m.val)
		}
		buf.WriteByte('}')
	case jArray:
		buf.WriteByte('[')
		for i, e := range v.arr {
			if i > 0 {
				buf.WriteByte(',')
			}
			writeCanonical(buf, e)
		}
		buf.WriteByte(']')
	case jString:
		buf.WriteByte('"')
		escapeString(buf, v.str)
		buf.WriteByte('"')
	case jInt:
		fmt.Fprintf(buf, "%d", v.num)
	case jTrue:
		buf.WriteString("true")
	case jFalse:
		buf.WriteString("false")
	case jNull:
		buf.WriteString("null")
	}
}

// parseCanonical parses b as a canonical JSON object of at most maxDepth.
func parseCanonical(b []byte, maxDepth int) (*jval, error) {
	if bytes.HasPrefix(b, []byte("\xef\xbb\xbf")) {
		return nil, errors.New("byte order mark [ENTRY-1]")
	}
	v, err := parseJSON(b, maxDepth)
	if err != nil {
		return nil, err
	}
	if v.kind != jObject {
		return nil, errors.New("not a JSON object")
	}
	var buf bytes.Buffer
	writeCanonical(&buf, v)
	if !bytes.Equal(buf.Bytes(), b) {
		w := buf.Bytes()
		i := 0
		for i < len(w) && i < len(b) && w[i] == b[i] {
			i++
		}
		return nil, fmt.Errorf("not canonical: differs from its canonical form at offset %d", i)
	}
	return v, nil
}

// get returns the member k of object v, or nil.
func (v *jval) get(k string) *jval {
	if v == nil || v.kind != jObject {
		return nil
	}
	for _, m := range v.obj {
		if m.key == k {
			return m.val
		}
	}
	return nil
}

func (v *jval) isInt() bool    { return v != nil && v.kind == jInt }
func (v *jval) isString() bool { return v != nil && v.kind == jString }
