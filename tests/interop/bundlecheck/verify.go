package main

// The steps of docs/VERIFYING.md, in stream order, one record at a time:
// framing and grammar (3), manifest (4), keys (5, 5b), checkpoints and
// consistency (6-8), support entries (9), frontier (10); items.go has the rest.

import (
	"bytes"
	"errors"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

type phase int

const (
	phManifest phase = iota
	phKeys
	phKeynotes
	phCheckpoints
	phConsistency
	phPrevious // a PREVIOUS was read: its CONSISTENCY must follow
	phAfterPrev
	phSupportIncl // a SUPPORT was read: its INCLUSION must follow
	phSupport
	phFrontier
	phEntry // an ENTRY was read
	phItem  // inside an item, after its INCLUSION or a payload record
	phRight
)

// allowedNext is the grammar of [BUNDLE-3].
var allowedNext = map[phase][]byte{
	phManifest:    {tManifest},
	phKeys:        {tKey, tKeynote, tCheckpoint},
	phKeynotes:    {tKeynote, tCheckpoint},
	phCheckpoints: {tCheckpoint, tConsistency, tPrevious, tSupport, tFrontier, tEntry, tRight, tTrailer},
	phConsistency: {tConsistency, tPrevious, tSupport, tFrontier, tEntry, tRight, tTrailer},
	phPrevious:    {tConsistency},
	phAfterPrev:   {tSupport, tFrontier, tEntry, tRight, tTrailer},
	phSupportIncl: {tInclusion},
	phSupport:     {tSupport, tFrontier, tEntry, tRight, tTrailer},
	phFrontier:    {tEntry, tRight, tTrailer},
	phEntry:       {tInclusion, tPayload, tAbsent, tEntry, tRight, tTrailer},
	phItem:        {tPayload, tAbsent, tEntry, tRight, tTrailer},
	phRight:       {tTrailer},
}

type givenNote struct {
	name string
	raw  []byte
}

type supportEntry struct {
	e       *entry
	matched bool
}

type item struct {
	e        *entry
	next     int // next payload table member expected
	incl     bool
	payloads [][]byte
}

type verifier struct {
	rd       *reader
	trusted  []*vkey
	ph       phase // of the record being checked
	fph      phase // of the record being framed (step 3)
	mf       *manifest
	kh       *keyHistory
	cps      []*checkpoint
	cpRoot   map[uint64]tlog.Hash
	nCons    int
	consDone bool
	prev     *checkpoint
	support  map[uint64]*supportEntry
	lastSup  *uint64
	supDone  bool
	frontier bool
	cr       compactRange
	cur      *item
	nEntries uint64
	first    *entry
	last     *entry
	right    bool
	given    []givenNote // --key-note, step 1.3
	held     *checkpoint // --previous, step 1.2 and 16
	heldRoot *tlog.Hash  // the compact range's root at the held size
	// report
	present, absent int
	absentWhy       []string
	keysListed      []string
	sessions        map[string]bool
	kinds           map[string]int
	policy          *uint64
	inclChecked     int
}

func (v *verifier) final() *checkpoint { return v.cps[len(v.cps)-1] }

// advance is the grammar's next state after a record of type t.
func advance(ph phase, t byte) phase {
	switch t {
	case tManifest, tKey:
		return phKeys
	case tKeynote:
		return phKeynotes
	case tCheckpoint:
		return phCheckpoints
	case tConsistency:
		if ph == phPrevious {
			return phAfterPrev
		}
		return phConsistency
	case tPrevious:
		return phPrevious
	case tSupport:
		return phSupportIncl
	case tInclusion:
		if ph == phSupportIncl {
			return phSupport
		}
		return phItem
	case tFrontier:
		return phFrontier
	case tEntry:
		return phEntry
	case tPayload, tAbsent:
		return phItem
	}
	return phRight
}

// frame reads the next record and checks its place in the grammar (step 3).
func (v *verifier) frame() *record {
	rec := v.rd.next()
	ok := false
	for _, t := range allowedNext[v.fph] {
		ok = ok || t == rec.typ
	}
	if !ok {
		die(2, "record %d at offset %d: %s out of order [BUNDLE-3]", rec.num, rec.offset, typeName[rec.typ])
	}
	v.fph = advance(v.fph, rec.typ)
	return rec
}

func inItem(t byte) bool { return t == tInclusion || t == tPayload || t == tAbsent }

func (v *verifier) run() {
	v.rd.readMagic()
	v.support = map[uint64]*supportEntry{}
	v.cpRoot = map[uint64]tlog.Hash{}
	v.sessions = map[string]bool{}
	v.kinds = map[string]int{}
	var queue []*record
	for {
		if len(queue) == 0 {
			queue = append(queue, v.frame())
		}
		rec := queue[0]
		if rec.typ == tEntry {
			// Step 3 comes first for a whole item: its records and the
			// record after it are framed before its contents are checked.
			for i := 1; ; i++ {
				if i == len(queue) {
					queue = append(queue, v.frame())
				}
				if !inItem(queue[i].typ) {
					break
				}
			}
		}
		queue = queue[1:]
		v.transitions(rec)
		if rec.typ == tTrailer {
			v.finish()
			v.rd.checkTrailer(rec)
			return
		}
		h := v.record(rec)
		v.ph = advance(v.ph, rec.typ)
		v.rd.addToDigest(rec, h)
	}
}

// transitions runs the checks that fire when a part of the bundle ends.
func (v *verifier) transitions(rec *record) {
	t := rec.typ
	if v.mf == nil {
		return
	}
	if v.ph == phCheckpoints && t != tCheckpoint {
		// 6.5
		if uint64(len(v.cps)) != v.mf.checkpoints {
			die(1, "manifest says %d checkpoints, the bundle has %d", v.mf.checkpoints, len(v.cps))
		}
		if v.final().size != v.mf.finalSize {
			die(1, "manifest final_size %d, final checkpoint has size %d", v.mf.finalSize, v.final().size)
		}
	}
	if (v.ph == phCheckpoints || v.ph == phConsistency) && t != tCheckpoint && t != tConsistency {
		// 7.2
		if v.nCons != len(v.cps)-1 {
			die(1, "%d CONSISTENCY records for %d checkpoints: want one per consecutive pair", v.nCons, len(v.cps))
		}
		v.consDone = true
		if t != tPrevious && v.mf.previousSize != nil {
			die(1, "manifest has previous_size %d but the bundle has no PREVIOUS record [8.3]", *v.mf.previousSize)
		}
	}
	if !v.supDone && (t == tFrontier || t == tEntry || t == tRight || t == tTrailer) {
		// 5b.3 / 9.2
		v.supDone = true
		for _, i := range v.kh.indices {
			if s := v.support[i]; s == nil || !s.matched {
				die(1, "KEYNOTE at index %d has no SUPPORT entry of its kind and note [5b.3]", i)
			}
		}
	}
	if v.mf.sel.contiguous && !v.frontier && (t == tEntry || t == tRight || t == tTrailer) {
		die(1, "a contiguous selection without a FRONTIER record [10]")
	}
	if v.cur != nil && (t == tEntry || t == tRight || t == tTrailer) {
		v.endItem()
	}
}

// record checks one record and returns its H for the digest, if special.
func (v *verifier) record(rec *record) []byte {
	b := rec.body
	switch rec.typ {
	case tManifest:
		v.mf = parseManifest(b)
		v.kh = newKeyHistory(v.mf.origin, v.trusted)
		for _, g := range v.given { // 1.3, 5b.1: right after the manifest
			v.kh.addGiven(g.name, g.raw)
		}
		if v.held != nil && v.held.origin != v.mf.origin {
			die(2, "--previous is a checkpoint of %q, the bundle is of %q: they cannot be linked [16]", v.held.origin, v.mf.origin)
		}
	case tKey:
		k, err := parseVkey(string(b))
		if err != nil {
			die(2, "KEY record %d: %v [BUNDLE-12]", rec.num, err)
		}
		v.keysListed = append(v.keysListed, k.text)
	case tKeynote:
		idx := u64(b)
		if n := len(v.kh.indices); n > 0 && idx <= v.kh.indices[n-1] {
			die(1, "KEYNOTE indices do not strictly increase (%d after %d) [5b.2]", idx, v.kh.indices[n-1])
		}
		v.kh.add(idx, b[8:])
	case tCheckpoint:
		if len(v.cps) == 0 && v.held != nil {
			v.checkSignature(v.held, "--previous") // 1.2: the key history is complete
		}
		cp := v.checkpoint(b, "CHECKPOINT")
		if n := len(v.cps); n > 0 {
			p := v.cps[n-1]
			if cp.size <= p.size || cp.time < p.time {
				die(1, "checkpoint sizes must increase and times not decrease: size %d time %d after size %d time %d [6.4]",
					cp.size, cp.time, p.size, p.time)
			}
		}
		v.cps = append(v.cps, cp)
		v.cpRoot[cp.size] = cp.root
	case tConsistency:
		m, n, proof := u64(b), u64(b[8:]), hashesOf(b[16:])
		if v.ph == phPrevious {
			// 8.2
			if m != v.prev.size || n != v.final().size {
				die(1, "the CONSISTENCY after PREVIOUS is from %d to %d, want %d to %d", m, n, v.prev.size, v.final().size)
			}
			if !checkConsistency(proof, m, v.prev.root, n, v.final().root) {
				die(1, "the PREVIOUS checkpoint (size %d) is not consistent with the final checkpoint", m)
			}
			break
		}
		i := v.nCons
		if i >= len(v.cps)-1 {
			die(1, "more CONSISTENCY records than checkpoint pairs [7.1]")
		}
		a, c := v.cps[i], v.cps[i+1]
		if m != a.size || n != c.size {
			die(1, "CONSISTENCY %d is from %d to %d, want %d to %d [7.1]", i+1, m, n, a.size, c.size)
		}
		if !checkConsistency(proof, m, a.root, n, c.root) {
			die(1, "checkpoint %d (size %d) is not consistent with checkpoint %d (size %d) [7.1]", i+1, m, i+2, n)
		}
		v.nCons++
	case tPrevious:
		cp := v.checkpoint(b, "PREVIOUS")
		if cp.size > v.final().size {
			die(1, "PREVIOUS size %d exceeds the final size %d [8.1]", cp.size, v.final().size)
		}
		if v.mf.previousSize == nil || *v.mf.previousSize != cp.size {
			die(1, "manifest previous_size does not match the PREVIOUS record's size %d [8.3]", cp.size)
		}
		v.prev = cp
	case tSupport:
		e := parseEntry(b, "SUPPORT")
		if v.lastSup != nil && e.index <= *v.lastSup {
			die(1, "SUPPORT indices do not strictly increase (%d after %d) [BUNDLE-10]", e.index, *v.lastSup)
		}
		if e.index >= v.final().size {
			die(1, "SUPPORT index %d is not below the final size %d", e.index, v.final().size)
		}
		idx := e.index
		v.lastSup = &idx
		v.checkSupportData(e)
		v.support[e.index] = &supportEntry{e: e, matched: keyKinds[e.kind]} // 9.2 checked it
		return entryDigestH(e)
	case tInclusion:
		idx, size, proof := u64(b), u64(b[8:]), hashesOf(b[16:])
		if v.ph == phSupportIncl {
			e := v.support[*v.lastSup].e
			v.inclusion(idx, size, proof, e, "SUPPORT")
			break
		}
		// after an ENTRY
		if v.mf.sel.contiguous {
			die(2, "an INCLUSION record in a contiguous selection [11.4]")
		}
		v.inclusion(idx, size, proof, v.cur.e, "ENTRY")
		v.cur.incl = true
	case tFrontier:
		if !v.mf.sel.contiguous {
			die(2, "a FRONTIER record in a filtered selection [10]")
		}
		size := u64(b)
		if size != v.mf.begin {
			die(1, "FRONTIER size %d, manifest begin %d [10]", size, v.mf.begin)
		}
		hs := hashesOf(b[8:]) // popcount(size) of them: checked in step 3
		rem := size
		for _, h := range hs {
			top := uint64(1) << (63 - leadingZeros(rem))
			v.cr.push(top, h)
			rem -= top
		}
		v.frontier = true
		v.checkRootAt()
	case tEntry:
		v.entry(b)
		return entryDigestH(v.cur.e)
	case tPayload, tAbsent:
		return v.payload(rec)
	case tRight:
		v.rightRecord(b)
	}
	return nil
}

func leadingZeros(x uint64) int {
	n := 0
	for i := 63; i >= 0 && x&(1<<uint(i)) == 0; i-- {
		n++
	}
	return n
}

// checkpoint is steps 6.1–6.3 (and 8.1 for PREVIOUS).
func (v *verifier) checkpoint(b []byte, what string) *checkpoint {
	cp, hasTime, err := parseCheckpoint(b)
	if err != nil {
		die(2, "%s: %v", what, err)
	}
	v.checkSignature(cp, what)
	if cp.origin != v.mf.origin {
		die(1, "%s origin %q is not the manifest's %q [6.3]", what, cp.origin, v.mf.origin)
	}
	if !hasTime {
		die(2, "%s of size %d has no time line [6.3]", what, cp.size)
	}
	return cp
}

// checkSignature is step 6.2.
func (v *verifier) checkSignature(cp *checkpoint, what string) {
	keys, why := v.kh.allowed(cp.size, cp.time)
	_, err := note.Open(cp.raw, note.VerifierList(keys...))
	var unv *note.UnverifiedNoteError
	var inv *note.InvalidSignatureError
	switch {
	case err == nil:
	case errors.As(err, &unv):
		die(3, "%s of size %d: signed by no trusted key (%s)", what, cp.size, strings.Join(why, "; "))
	case errors.As(err, &inv):
		die(1, "%s of size %d: the signature of %s does not verify", what, cp.size, inv.Name)
	default:
		die(2, "%s: x/mod note: %v", what, err)
	}
}

func (v *verifier) inclusion(idx, size uint64, proof []tlog.Hash, e *entry, what string) {
	N := v.final()
	if idx != e.index || size != N.size {
		die(1, "%s index %d: INCLUSION is for (%d, %d), want (%d, %d)", what, e.index, idx, size, e.index, N.size)
	}
	if !checkInclusion(proof, idx, size, e.leaf, N.root) {
		die(1, "%s index %d: inclusion proof from leaf %x does not give the final root %x", what, e.index, e.leaf[:], N.root[:])
	}
	v.inclChecked++
}

var keyKinds = map[string]bool{"key-certificate": true, "key-epochs": true, "key-revocation": true, "key-rotation": true}

// checkSupportData is step 9 (data members of retention records) and 9.2.
func (v *verifier) checkSupportData(e *entry) {
	d := e.val.get("data")
	switch e.kind {
	case "erasure":
		if d.get("index") == nil || !d.get("index").isInt() {
			die(2, "SUPPORT index %d: erasure without an integer data.index [BUNDLE-9]", e.index)
		}
		if p := d.get("payloads"); p != nil && p.kind != jArray {
			die(2, "SUPPORT index %d: erasure data.payloads is not an array", e.index)
		}
	case "archive", "prune":
		if !d.get("begin").isInt() || !d.get("end").isInt() {
			die(2, "SUPPORT index %d: %s without integer data.begin and data.end [BUNDLE-9]", e.index, e.kind)
		}
	case "retention-policy":
		i := e.index
		v.policy = &i
	}
	if keyKinds[e.kind] {
		n := d.get("note")
		if !n.isString() {
			die(2, "SUPPORT index %d: %s without data.note [9.2]", e.index, e.kind)
		}
		kn, ok := v.kh.notes[e.index]
		if !ok || kn.kind != e.kind || !bytes.Equal(kn.raw, []byte(n.str)) {
			die(1, "SUPPORT index %d: %s entry is not the KEYNOTE at its index [9.2]", e.index, e.kind)
		}
	}
}
