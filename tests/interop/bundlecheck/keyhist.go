package main

// Key notes (docs/KEYS.md [KEYS-1..8]) and the key history that decides which
// keys may sign a checkpoint ([KEYS-9..13], VERIFYING.md step 5b).
// Signatures are verified with golang.org/x/mod/sumdb/note.

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/note"
)

const maxKeyTime = 253402300799

type keyNote struct {
	kind      string // entry kind: key-certificate, key-epochs, key-revocation, key-rotation
	origin    string
	key       *vkey // certificate, revocation
	nb, na    uint64
	epochs    []epoch
	after     uint64
	old, new_ *vkey
	time      uint64
}

type epoch struct {
	nb, na uint64
	key    *vkey
}

var noteTypes = map[string]string{
	"sealtrail key-certificate v1": "key-certificate",
	"sealtrail key-epochs v1":      "key-epochs",
	"sealtrail key-revocation v1":  "key-revocation",
	"sealtrail key-rotation v1":    "key-rotation",
}

// parseKeyNote parses a recorded key note's text [KEYS-1..7].
func parseKeyNote(msg []byte) (*keyNote, error) {
	if len(msg) > 65536 {
		return nil, errors.New("key note over 65,536 bytes [KEYS-1]")
	}
	text, _, err := splitNote(msg)
	if err != nil {
		return nil, err
	}
	lines := strings.Split(string(text[:len(text)-1]), "\n")
	kn := &keyNote{kind: noteTypes[lines[0]]}
	if kn.kind == "" {
		return nil, fmt.Errorf("unknown key note type %q", lines[0])
	}
	type field struct{ name, val string }
	var fs []field
	for _, l := range lines[1:] {
		sp := strings.IndexByte(l, ' ')
		if sp <= 0 || sp == len(l)-1 || strings.HasSuffix(l, " ") {
			return nil, fmt.Errorf("malformed field line %q [KEYS-1]", l)
		}
		fs = append(fs, field{l[:sp], l[sp+1:]})
	}
	i := 0
	take := func(name string) (string, error) {
		if i >= len(fs) || fs[i].name != name {
			return "", fmt.Errorf("%s: expected field %q [KEYS-1]", lines[0], name)
		}
		i++
		return fs[i-1].val, nil
	}
	tm := func(name string) (uint64, error) {
		s, err := take(name)
		if err != nil {
			return 0, err
		}
		v, ok := canonDecimal(s, maxKeyTime+1)
		if !ok {
			return 0, fmt.Errorf("%s %q is not a canonical time [KEYS-2]", name, s)
		}
		return v, nil
	}
	key := func(name string) (*vkey, error) {
		s, err := take(name)
		if err != nil {
			return nil, err
		}
		k, err := parseVkey(s)
		if err != nil {
			return nil, fmt.Errorf("%s: %v [KEYS-3]", name, err)
		}
		if k.name != kn.origin {
			return nil, fmt.Errorf("%s: key name %q is not the origin [KEYS-3]", name, k.name)
		}
		return k, nil
	}
	if kn.origin, err = take("origin"); err != nil {
		return nil, err
	}
	if !validName(kn.origin) {
		return nil, fmt.Errorf("invalid origin %q [KEYS-3]", kn.origin)
	}
	switch kn.kind {
	case "key-certificate":
		if kn.key, err = key("key"); err != nil {
			return nil, err
		}
		if kn.nb, err = tm("not-before"); err != nil {
			return nil, err
		}
		if kn.na, err = tm("not-after"); err != nil {
			return nil, err
		}
		if kn.nb >= kn.na {
			return nil, errors.New("not-before ≥ not-after [KEYS-4]")
		}
	case "key-epochs":
		seen := map[string]bool{}
		for i < len(fs) && fs[i].name == "epoch" {
			f := strings.Split(fs[i].val, " ")
			i++
			if len(f) != 3 {
				return nil, errors.New("malformed epoch line [KEYS-5]")
			}
			nb, ok1 := canonDecimal(f[0], maxKeyTime+1)
			na, ok2 := canonDecimal(f[1], maxKeyTime+1)
			k, err := parseVkey(f[2])
			if !ok1 || !ok2 || err != nil || k.name != kn.origin || nb >= na {
				return nil, errors.New("malformed epoch line [KEYS-5]")
			}
			if n := len(kn.epochs); n > 0 && nb < kn.epochs[n-1].na || seen[k.text] {
				return nil, errors.New("epochs overlap, are out of order or repeat a key [KEYS-5]")
			}
			seen[k.text] = true
			kn.epochs = append(kn.epochs, epoch{nb, na, k})
		}
		if len(kn.epochs) < 1 || len(kn.epochs) > 96 {
			return nil, errors.New("1 to 96 epoch lines [KEYS-5]")
		}
	case "key-revocation":
		if kn.key, err = key("key"); err != nil {
			return nil, err
		}
		if kn.after, err = tm("after"); err != nil {
			return nil, err
		}
		if i < len(fs) && fs[i].name == "reason" {
			r := fs[i].val
			i++
			if len(r) > 200 || !utf8.ValidString(r) || strings.IndexFunc(r, func(c rune) bool { return c < 0x20 }) >= 0 {
				return nil, errors.New("invalid reason [KEYS-7]")
			}
		}
	case "key-rotation":
		if kn.old, err = key("old"); err != nil {
			return nil, err
		}
		if kn.new_, err = key("new"); err != nil {
			return nil, err
		}
		if kn.old.text == kn.new_.text {
			return nil, errors.New("old and new are the same key [KEYS-6]")
		}
		if kn.time, err = tm("time"); err != nil {
			return nil, err
		}
	}
	if i != len(fs) {
		return nil, fmt.Errorf("unexpected field %q [KEYS-1]", fs[i].name)
	}
	return kn, nil
}

type grant struct {
	key    string
	nb, na uint64
	entry  uint64
}

type keyHistory struct {
	origin    string
	pinned    map[string]*vkey
	roots     []*vkey
	keys      map[string]*vkey // every key the history names
	grants    []grant          // root-certified windows
	revoked   map[string]uint64
	cont      map[string]uint64 // continuity: the new key may sign sizes ≥ value
	retired   map[string]uint64 // may sign sizes ≤ value only
	notes     map[uint64]recordedNote
	indices   []uint64
	untrusted int
}

type recordedNote struct {
	kind string
	raw  []byte
}

func newKeyHistory(origin string, trusted []*vkey) *keyHistory {
	kh := &keyHistory{origin: origin, pinned: map[string]*vkey{}, keys: map[string]*vkey{},
		revoked: map[string]uint64{}, cont: map[string]uint64{}, retired: map[string]uint64{},
		notes: map[uint64]recordedNote{}}
	for _, k := range trusted {
		if k.name == origin {
			kh.pinned[k.text] = k
			kh.keys[k.text] = k
		} else {
			kh.roots = append(kh.roots, k)
		}
	}
	return kh
}

func (kh *keyHistory) rootVerifiers() note.Verifiers {
	var vs []note.Verifier
	for _, r := range kh.roots {
		vs = append(vs, r.ver)
	}
	return note.VerifierList(vs...)
}

// addGiven is step 1.3 / 5b.1 for a --key-note: a root-signed note the
// auditor received beside the bundle (not a rotation: a rotation means
// something only where the log records it).
func (kh *keyHistory) addGiven(name string, raw []byte) {
	kn, err := parseKeyNote(raw)
	if err != nil {
		die(2, "--key-note %s: %v", name, err)
	}
	if kn.kind == "key-rotation" {
		die(2, "--key-note %s: a key-rotation given out of band means nothing", name)
	}
	kh.apply(kn, raw, 0, "--key-note "+name)
}

// add is step 5b.2 for one KEYNOTE record.
func (kh *keyHistory) add(index uint64, raw []byte) {
	kn, err := parseKeyNote(raw)
	if err != nil {
		die(2, "KEYNOTE at index %d: %v", index, err)
	}
	kh.notes[index] = recordedNote{kn.kind, raw}
	kh.indices = append(kh.indices, index)
	kh.apply(kn, raw, index, fmt.Sprintf("KEYNOTE at index %d", index))
}

func (kh *keyHistory) apply(kn *keyNote, raw []byte, index uint64, what string) {
	if kn.kind == "key-rotation" {
		n, err := note.Open(raw, note.VerifierList(kn.old.ver, kn.new_.ver))
		if err != nil || len(n.Sigs) != 2 {
			die(1, "%s: the rotation is not signed by both its old and new key [KEYS-8]", what)
		}
		if kn.origin != kh.origin {
			kh.untrusted++
			return
		}
		kh.keys[kn.old.text], kh.keys[kn.new_.text] = kn.old, kn.new_
		at := index + 1
		if kh.mayByPinOrContinuity(kn.old.text, at) {
			if f, ok := kh.cont[kn.new_.text]; !ok || at < f {
				kh.cont[kn.new_.text] = at
			}
		}
		if r, ok := kh.retired[kn.old.text]; !ok || at < r {
			kh.retired[kn.old.text] = at // [KEYS-11]
		}
		return
	}
	_, err := note.Open(raw, kh.rootVerifiers())
	var inv *note.InvalidSignatureError
	if errors.As(err, &inv) {
		die(1, "%s: a trusted root's signature does not verify [KEYS-8]", what)
	}
	if err != nil || kn.origin != kh.origin {
		kh.untrusted++ // grants nothing [KEYS-13]
		return
	}
	switch kn.kind {
	case "key-certificate":
		kh.keys[kn.key.text] = kn.key
		kh.grants = append(kh.grants, grant{kn.key.text, kn.nb, kn.na, index})
	case "key-epochs":
		for _, e := range kn.epochs {
			kh.keys[e.key.text] = e.key
			kh.grants = append(kh.grants, grant{e.key.text, e.nb, e.na, index})
		}
	case "key-revocation":
		if a, ok := kh.revoked[kn.key.text]; !ok || kn.after < a {
			kh.revoked[kn.key.text] = kn.after
		}
	}
}

func (kh *keyHistory) mayByPinOrContinuity(key string, size uint64) bool {
	if r, ok := kh.retired[key]; ok && size > r {
		return false
	}
	if kh.pinned[key] != nil {
		return true
	}
	f, ok := kh.cont[key]
	return ok && size >= f
}

// allowed lists the keys that may sign a checkpoint of size n at time t
// [KEYS-9..12], and why the others named in the history may not.
func (kh *keyHistory) allowed(n, t uint64) ([]note.Verifier, []string) {
	var vs []note.Verifier
	var why []string
	for text, k := range kh.keys {
		ok := kh.pinned[text] != nil
		if f, c := kh.cont[text]; c && n >= f {
			ok = true
		}
		for _, g := range kh.grants {
			if g.key == text && g.nb <= t && t < g.na {
				ok = true
			}
		}
		reason := "no certificate covers it"
		if a, r := kh.revoked[text]; r && t > a {
			ok, reason = false, fmt.Sprintf("revoked after %d", a)
		}
		if r, isRet := kh.retired[text]; isRet && n > r {
			ok, reason = false, fmt.Sprintf("retired after size %d", r)
		}
		if ok {
			vs = append(vs, k.ver)
		} else {
			why = append(why, fmt.Sprintf("%s: %s", text[:strings.IndexByte(text, '+')+9], reason))
		}
	}
	return vs, why
}
