package main

// Verifier keys [CP-5], checkpoint texts [CP-1..3] and the splitting of a
// signed note (c2sp.org/signed-note). Signatures are checked with
// golang.org/x/mod/sumdb/note (see keyhist.go).

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// b64 decodes canonical standard base64 with padding (FORMAT intro):
// re-encoding must give the same text (rejects non-zero unused bits,
// missing padding, and the line breaks Go's decoder skips).
func b64(s string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, err
	}
	if base64.StdEncoding.EncodeToString(b) != s {
		return nil, errors.New("non-canonical base64")
	}
	return b, nil
}

// validName is [CP-1]'s rule for origins and key names: 1..255 bytes of
// UTF-8, nothing below U+0020, no '+', no Unicode White_Space.
func validName(s string) bool {
	if s == "" || len(s) > 255 || !utf8.ValidString(s) || strings.Contains(s, "+") {
		return false
	}
	for _, r := range s {
		if r < 0x20 || unicode.Is(unicode.White_Space, r) {
			return false
		}
	}
	return true
}

type vkey struct {
	text string
	name string
	id   uint32
	pub  ed25519.PublicKey
	ver  note.Verifier
}

func keyID(name string, pub []byte) uint32 {
	h := sha256.New()
	h.Write([]byte(name))
	h.Write([]byte{'\n', 0x01})
	h.Write(pub)
	return binary.BigEndian.Uint32(h.Sum(nil)[:4]) // [CP-4]
}

// parseVkey parses a verifier key string and requires it canonical [CP-5],
// [BUNDLE-12]; x/mod's parser must accept it too.
func parseVkey(s string) (*vkey, error) {
	parts := strings.SplitN(s, "+", 3)
	if len(parts) != 3 {
		return nil, errors.New("not name+hex8+base64")
	}
	name, hx, kb := parts[0], parts[1], parts[2]
	if !validName(name) {
		return nil, fmt.Errorf("invalid key name %q", name)
	}
	if len(hx) != 8 || strings.ToLower(hx) != hx {
		return nil, errors.New("key ID is not 8 lowercase hex digits")
	}
	id, err := strconv.ParseUint(hx, 16, 32)
	if err != nil {
		return nil, errors.New("key ID is not hex")
	}
	raw, err := b64(kb)
	if err != nil || len(raw) != 33 || raw[0] != 0x01 {
		return nil, errors.New("key is not b64(0x01 ‖ 32-byte Ed25519 key)")
	}
	if keyID(name, raw[1:]) != uint32(id) {
		return nil, fmt.Errorf("key ID %s does not match the key (%08x)", hx, keyID(name, raw[1:]))
	}
	canon := fmt.Sprintf("%s+%08x+%s", name, keyID(name, raw[1:]), base64.StdEncoding.EncodeToString(raw))
	if canon != s {
		return nil, errors.New("not the canonical key string")
	}
	v, err := note.NewVerifier(s)
	if err != nil {
		return nil, fmt.Errorf("x/mod note rejects it: %v", err)
	}
	return &vkey{text: s, name: name, id: uint32(id), pub: ed25519.PublicKey(raw[1:]), ver: v}, nil
}

// splitNote separates a signed note into its text (ending in LF) and its
// signature lines [CP-3].
func splitNote(msg []byte) (text []byte, sigs []string, err error) {
	i := bytes.LastIndex(msg, []byte("\n\n"))
	if i < 0 {
		return nil, nil, errors.New("no blank line before the signatures")
	}
	text, rest := msg[:i+1], msg[i+2:]
	if len(rest) == 0 || rest[len(rest)-1] != '\n' {
		return nil, nil, errors.New("signature block does not end with LF")
	}
	lines := strings.Split(string(rest[:len(rest)-1]), "\n")
	if len(lines) > 100 {
		return nil, nil, errors.New("more than 100 signature lines [CP-3]")
	}
	for _, line := range lines {
		if !strings.HasPrefix(line, "— ") {
			return nil, nil, fmt.Errorf("signature line %q does not start with U+2014 SP", line)
		}
		f := strings.Split(line[len("— "):], " ")
		if len(f) != 2 || !validName(f[0]) {
			return nil, nil, fmt.Errorf("malformed signature line %q", line)
		}
		s, err := b64(f[1])
		if err != nil || len(s) < 5 || len(s) > 4100 {
			return nil, nil, fmt.Errorf("signature line %q: not b64(key_id[4] ‖ 1..4096 bytes) [CP-3]", line)
		}
		sigs = append(sigs, line)
	}
	return text, sigs, nil
}

type checkpoint struct {
	raw    []byte
	origin string
	size   uint64
	root   tlog.Hash
	time   uint64
}

// canonDecimal parses ASCII decimal without sign or leading zeros, < limit.
func canonDecimal(s string, limit uint64) (uint64, bool) {
	if s == "" || len(s) > 1 && s[0] == '0' || len(s) > 20 {
		return 0, false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil || v >= limit {
		return 0, false
	}
	return v, true
}

// parseCheckpoint is step 6.1: the signed note and its checkpoint text
// [CP-1..3]. A missing `time` line is reported separately (step 6.3).
func parseCheckpoint(msg []byte) (*checkpoint, bool, error) {
	text, _, err := splitNote(msg)
	if err != nil {
		return nil, false, err
	}
	lines := strings.Split(string(text[:len(text)-1]), "\n")
	if len(lines) < 3 {
		return nil, false, errors.New("checkpoint text has fewer than 3 lines")
	}
	cp := &checkpoint{raw: msg, origin: lines[0]}
	if !validName(cp.origin) {
		return nil, false, fmt.Errorf("invalid origin %q [CP-1]", cp.origin)
	}
	var ok bool
	if cp.size, ok = canonDecimal(lines[1], 1<<63); !ok {
		return nil, false, fmt.Errorf("invalid size line %q [CP-1]", lines[1])
	}
	r, err := b64(lines[2])
	if err != nil || len(r) != 32 {
		return nil, false, fmt.Errorf("invalid root line %q [CP-1]", lines[2])
	}
	copy(cp.root[:], r)
	hasTime := false
	for _, ext := range lines[3:] {
		if ext == "" {
			return nil, false, errors.New("empty extension line [CP-2]")
		}
		if strings.HasPrefix(ext, "time ") {
			if hasTime {
				return nil, false, errors.New("a second time line [CP-2]")
			}
			if cp.time, ok = canonDecimal(ext[5:], 1<<63); !ok {
				return nil, false, fmt.Errorf("invalid time line %q [CP-2]", ext)
			}
			hasTime = true
		}
	}
	return cp, hasTime, nil
}
