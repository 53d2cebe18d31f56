package main

// Entries (FORMAT §1, VERIFYING 11.1) and payload records (§2, step 12).

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"

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
	if !ver.isInt() || !idx.isInt() || !tm.isInt() || !kind.isString() {
		die(1, "%s index %d: entry lacks v, index, time_us or kind of the right type [ENTRY-7]", what, e.index)
	}
	if ver.num != 1 {
		die(3, "%s index %d: unsupported entry version v %d [ENTRY-9]", what, e.index, ver.num)
	}
	if idx.num < 0 || uint64(idx.num) != e.index {
		die(1, "%s: the record's index %d differs from the entry's index %d [ENTRY-8]", what, e.index, idx.num)
	}
	e.kind, e.timeUs = kind.str, tm.num
	if p := v.get("payloads"); p != nil {
		if p.kind != jObject || len(p.obj) > 16 {
			die(1, "%s index %d: payloads is not an object of at most 16 members [PAYLOAD-2]", what, e.index)
		}
		for _, m := range p.obj {
			c, l := m.val.get("commit"), m.val.get("len")
			if !validPayloadName(m.key) || m.val.kind != jObject || !c.isString() || !l.isInt() || l.num < 0 {
				die(1, "%s index %d: payload %q: not a commitment object {commit, len} [PAYLOAD-2]", what, e.index, m.key)
			}
			raw, err := hex.DecodeString(c.str)
			if err != nil || len(raw) != 32 || hex.EncodeToString(raw) != c.str {
				die(1, "%s index %d: payload %q: commit is not 64 lowercase hex digits [PAYLOAD-2]", what, e.index, m.key)
			}
			e.payloads = append(e.payloads, commitment{m.key, raw, l.num})
		}
	}
	return e
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
