package main

// Entries (FORMAT §1, VERIFYING 11.1) and payload records (§2, step 12).

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"

	"golang.org/x/mod/sumdb/tlog"
)

type entry struct {
	index    uint64
	val      *jval
	kind     string
	timeUs   int64
	leaf     tlog.Hash
	payloads []commitment // in table order (sorted by name)
}

type commitment struct {
	name   string
	commit []byte
	length int64
}

// parseEntry is step 11.1 for ENTRY and SUPPORT bodies (`u64 index ‖ bytes`):
// not canonical or not well-formed is 1, a `v` other than 1 is 3.
func parseEntry(body []byte, what string) *entry {
	e := &entry{index: u64(body[:8])}
	data := body[8:]
	e.leaf = tlog.RecordHash(data) // [LEAF-1]
	v, err := parseCanonical(data, 16)
	if err != nil {
		die(1, "%s index %d: entry %v [ENTRY-1..6]", what, e.index, err)
	}
	e.val = v
	ver, idx, tm, kind := v.get("v"), v.get("index"), v.get("time_us"), v.get("kind")
	if !ver.isInt() {
		die(1, "%s index %d: entry lacks an integer v [ENTRY-7]", what, e.index)
	}
	if ver.num != 1 { // before anything else: another version may mean anything
		die(3, "%s index %d: unsupported entry version v %d [ENTRY-9]", what, e.index, ver.num)
	}
	if !idx.isInt() || !tm.isInt() || !kind.isString() {
		die(1, "%s index %d: entry lacks index, time_us or kind of the right type [ENTRY-7]", what, e.index)
	}
	if idx.num < 0 || uint64(idx.num) != e.index {
		die(1, "%s: the record's index %d differs from the entry's index %d [ENTRY-8]", what, e.index, idx.num)
	}
	e.kind, e.timeUs = kind.str, tm.num
	if e.kind == "" || strings.IndexByte(e.kind, 0) >= 0 {
		die(1, "%s index %d: kind is empty or holds U+0000 [ENTRY-10]", what, e.index)
	}
	checkMemberTypes(v, e.index, what)
	if p := v.get("payloads"); p != nil {
		if p.kind != jObject || len(p.obj) > 16 {
			die(1, "%s index %d: payloads is not an object of at most 16 members [PAYLOAD-2]", what, e.index)
		}
		for _, m := range p.obj {
			c, l := m.val.get("commit"), m.val.get("len")
			if !validPayloadName(m.key) || m.val.kind != jObject || !c.isString() || !l.isInt() || l.num < 0 {
				die(1, "%s index %d: payload %q: not a commitment object {commit, len} [PAYLOAD-2]", what, e.index, m.key)
			}
			raw, ok := hex32(c.str)
			if !ok {
				die(1, "%s index %d: payload %q: commit is not 64 lowercase hex digits [PAYLOAD-2]", what, e.index, m.key)
			}
			if t := m.val.get("truncated"); t != nil {
				tl := t.get("len")
				_, okHash := hex32(t.get("sha256").strOr(""))
				if t.kind != jObject || !tl.isInt() || tl.num <= l.num || !okHash {
					die(1, "%s index %d: payload %q: truncated is not {len > %d, sha256} [PAYLOAD-3]", what, e.index, m.key, l.num)
				}
			}
			e.payloads = append(e.payloads, commitment{m.key, raw, l.num})
		}
	}
	return e
}

// Types of the members of FORMAT §1.1 [ENTRY-10].
var stringMembers = []string{"event", "session", "tool", "tool_use_id", "mcp_server", "agent_id", "agent_type",
	"cwd", "permission_mode", "prompt_id", "status", "error", "host", "user", "parse_error", "withheld", "spool"}
var intMembers = []string{"duration_ms", "recorded_us", "input_len", "utf8_replaced"}

func checkMemberTypes(v *jval, index uint64, what string) {
	for _, k := range stringMembers {
		if x := v.get(k); x != nil && !x.isString() {
			die(1, "%s index %d: member %q is not a string [ENTRY-10]", what, index, k)
		}
	}
	for _, k := range intMembers {
		if x := v.get(k); x != nil && !x.isInt() {
			die(1, "%s index %d: member %q is not an integer [ENTRY-10]", what, index, k)
		}
	}
	if r := v.get("redactions"); r != nil {
		if r.kind != jObject {
			die(1, "%s index %d: redactions is not an object [ENTRY-10]", what, index)
		}
		for _, m := range r.obj {
			if !m.val.isInt() || m.val.num < 0 {
				die(1, "%s index %d: redaction count %q is not an integer ≥ 0 [ENTRY-10]", what, index, m.key)
			}
		}
	}
	if d := v.get("data"); d != nil && d.kind != jObject {
		die(1, "%s index %d: data is not an object [ENTRY-10]", what, index)
	}
}

func hex32(s string) ([]byte, bool) {
	raw, err := hex.DecodeString(s)
	if err != nil || len(raw) != 32 || hex.EncodeToString(raw) != s {
		return nil, false
	}
	return raw, true
}

func (v *jval) strOr(d string) string {
	if v.isString() {
		return v.str
	}
	return d
}

func validPayloadName(s string) bool {
	if len(s) < 1 || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// payloadCommit is [PAYLOAD-1].
func payloadCommit(salt, p []byte) []byte {
	h := sha256.New()
	h.Write([]byte("sealtrail/payload/v1\x00"))
	h.Write(salt)
	h.Write(p)
	return h.Sum(nil)
}

type payloadRec struct {
	index  uint64
	name   string
	salt   []byte
	data   []byte
	commit []byte
	record uint64 // ABSENT: the explaining record
}

// parsePayloadName reads `u64 index ‖ u8 n ‖ name[n]` and returns the rest.
func parsePayloadHead(body []byte, what string) (uint64, string, []byte) {
	n := int(body[8])
	if n < 1 || n > 32 || len(body) < 9+n {
		die(2, "%s: name length %d invalid [PAYLOAD-2]", what, n)
	}
	name := string(body[9 : 9+n])
	if !validPayloadName(name) {
		die(2, "%s: payload name %q is not [a-z0-9_]{1,32} [PAYLOAD-2]", what, name)
	}
	return u64(body), name, body[9+n:]
}

func parsePayload(body []byte) *payloadRec {
	idx, name, rest := parsePayloadHead(body, "PAYLOAD")
	if len(rest) < 16 {
		die(2, "PAYLOAD index %d %s: shorter than its salt", idx, name)
	}
	p := &payloadRec{index: idx, name: name, salt: rest[:16], data: rest[16:]}
	p.commit = payloadCommit(p.salt, p.data)
	return p
}

// digestH is H(PAYLOAD) of [BUNDLE-5].
func (p *payloadRec) digestH() []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.BigEndian, p.index)
	b.WriteByte(byte(len(p.name)))
	b.WriteString(p.name)
	b.Write(p.commit)
	return b.Bytes()
}

func parseAbsent(body []byte) *payloadRec {
	idx, name, rest := parsePayloadHead(body, "ABSENT")
	if len(rest) != 8 {
		die(2, "ABSENT index %d %s: length %d is not 8 + 1 + n + 8 [BUNDLE-3]", idx, name, len(body))
	}
	return &payloadRec{index: idx, name: name, record: u64(rest)}
}

func entryDigestH(e *entry) []byte {
	b := make([]byte, 8, 40)
	binary.BigEndian.PutUint64(b, e.index)
	return append(b, e.leaf[:]...)
}

func (e *entry) str(k string) (string, bool) {
	v := e.val.get(k)
	if !v.isString() {
		return "", false
	}
	return v.str, true
}

func (e *entry) describe() string {
	return fmt.Sprintf("index %d (%s)", e.index, e.kind)
}
