package main

// Steps 11 to 15 of docs/VERIFYING.md: entries, payloads, the roots the
// entries give, the right-hand side, and the totals.

import (
	"bytes"
	"fmt"

	"golang.org/x/mod/sumdb/tlog"
)

// entry is steps 11.1–11.8 (11.4's INCLUSION is the next record; 11.5 at the item's end).
func (v *verifier) entry(b []byte) {
	e := parseEntry(b, "ENTRY")
	N := v.final().size
	if v.mf.sel.contiguous {
		want := v.mf.begin + v.nEntries
		if e.index != want {
			die(1, "ENTRY index %d where %d was expected (a gap, duplicate or reordering) [11.6]", e.index, want)
		}
	} else if v.last != nil && e.index <= v.last.index || e.index < v.mf.begin {
		die(1, "ENTRY index %d out of order or below begin [11.6]", e.index)
	}
	if e.index >= v.mf.end || e.index >= N {
		die(1, "ENTRY index %d is not below end %d and the final size %d [11.6]", e.index, v.mf.end, N)
	}
	if s := v.support[e.index]; s != nil && s.e.leaf != e.leaf {
		die(1, "ENTRY index %d differs from the SUPPORT entry of the same index [11.6]", e.index)
	}
	if keyKinds[e.kind] {
		kn, ok := v.kh.notes[e.index]
		n := e.val.get("data").get("note")
		if !ok || kn.kind != e.kind || !n.isString() || !bytes.Equal(kn.raw, []byte(n.str)) {
			die(1, "ENTRY index %d: %s entry is not among the KEYNOTE records [11.8]", e.index, e.kind)
		}
	}
	if v.mf.sel.contiguous {
		v.cr.push(1, e.leaf) // 13
		v.checkRootAt()
	}
	if v.first == nil {
		v.first = e
	}
	v.last = e
	v.nEntries++
	v.cur = &item{e: e}
	v.kinds[e.kind]++
	if s, ok := e.str("session"); ok {
		v.sessions[s] = true
	}
}

// checkRootAt is step 13: the compact range's root at a checkpoint's size.
func (v *verifier) checkRootAt() {
	if r, ok := v.cpRoot[v.cr.size]; ok && v.cr.root() != r {
		die(1, "checkpoint %d: root mismatch: computed %x from the bundle's entries, checkpoint has %x [13]",
			v.cr.size, v.cr.root(), r)
	}
	if v.held != nil && v.held.size == v.cr.size {
		r := v.cr.root()
		v.heldRoot = &r
	}
	if v.prev != nil && v.prev.size == v.cr.size && v.cr.root() != v.prev.root {
		die(1, "PREVIOUS checkpoint %d: root mismatch with the bundle's entries", v.cr.size)
	}
}

// payload is step 12 for one PAYLOAD or ABSENT record.
func (v *verifier) payload(rec *record) []byte {
	var p *payloadRec
	if rec.typ == tPayload {
		p = parsePayload(rec.body)
	} else {
		p = parseAbsent(rec.body)
	}
	it := v.cur
	if !v.mf.sel.contiguous && !it.incl {
		die(1, "ENTRY index %d: no INCLUSION record follows it in a filtered selection [11.4]", it.e.index)
	}
	if it.next >= len(it.e.payloads) {
		die(1, "ENTRY index %d: more payload records than payloads in its table [12.3]", it.e.index)
	}
	c := it.e.payloads[it.next]
	if p.index != it.e.index || p.name != c.name {
		die(1, "ENTRY index %d: expected a payload record for %q, found one for index %d %q [12]", it.e.index, c.name, p.index, p.name)
	}
	it.next++
	if rec.typ == tPayload {
		if int64(len(p.data)) != c.length || !bytes.Equal(p.commit, c.commit) {
			die(1, "index %d payload %s: %d bytes with commitment %x, the entry commits to %d bytes, %x [12.1]",
				p.index, p.name, len(p.data), p.commit, c.length, c.commit)
		}
		v.present++
		it.payloads = append(it.payloads, p.data)
		return p.digestH()
	}
	// 12.2
	s := v.support[p.record]
	if s == nil || p.record <= p.index || !covers(s.e, p.index, p.name) {
		die(1, "index %d payload %s is absent, and record %d does not explain it [BUNDLE-9]", p.index, p.name, p.record)
	}
	v.absent++
	v.absentWhy = append(v.absentWhy, fmt.Sprintf("index %d %s: %s by record %d", p.index, p.name, s.e.kind, p.record))
	return nil
}

// covers is [BUNDLE-9].
func covers(r *entry, index uint64, name string) bool {
	d := r.val.get("data")
	switch r.kind {
	case "erasure":
		if d.get("index").num != int64(index) {
			return false
		}
		ps := d.get("payloads")
		if ps == nil {
			return true
		}
		for _, x := range ps.arr {
			if x.isString() && x.str == name {
				return true
			}
		}
	case "archive", "prune":
		return d.get("begin").num <= int64(index) && int64(index) < d.get("end").num
	}
	return false
}

// endItem closes an item: all payload records present (12), the filtered
// INCLUSION (11.4) and criteria (11.5).
func (v *verifier) endItem() {
	it := v.cur
	v.cur = nil
	if !v.mf.sel.contiguous && !it.incl {
		die(1, "ENTRY index %d: no INCLUSION record follows it in a filtered selection [11.4]", it.e.index)
	}
	if it.next < len(it.e.payloads) {
		die(1, "ENTRY index %d: payload %q has neither a PAYLOAD nor an ABSENT record [12]", it.e.index, it.e.payloads[it.next].name)
	}
	sel := v.mf.sel
	if sel.kind != "filter" {
		return
	}
	for _, k := range []string{"tool", "event", "session", "status"} {
		l := sel.lists[k]
		if l == nil {
			continue
		}
		got, ok := it.e.str(k)
		match := false
		for _, w := range l {
			match = match || ok && got == w
		}
		if !match {
			die(1, "ENTRY index %d: %s %q does not match the filter %v [11.5]", it.e.index, k, got, l)
		}
	}
	if sel.minDuration != nil {
		d := it.e.val.get("duration_ms")
		if !d.isInt() || d.num < *sel.minDuration {
			die(1, "ENTRY index %d: duration_ms below the filter's min_duration_ms %d [11.5]", it.e.index, *sel.minDuration)
		}
	}
	if !inWindow(sel, it.e.timeUs) {
		die(1, "ENTRY index %d: time_us %d is outside the filter's window [11.5]", it.e.index, it.e.timeUs)
	}
	if sel.text != nil {
		var esc bytes.Buffer
		escapeString(&esc, *sel.text)
		found := false
		for _, p := range it.payloads {
			found = found || bytes.Contains(p, []byte(*sel.text)) || bytes.Contains(p, esc.Bytes())
		}
		if !found {
			die(1, "ENTRY index %d: text %q is in none of its carried payloads [11.5]", it.e.index, *sel.text)
		}
	}
}

func inWindow(sel selection, t int64) bool {
	return (sel.since == nil || *sel.since <= t) && (sel.until == nil || t < *sel.until)
}

// rightRecord is step 14.
func (v *verifier) rightRecord(b []byte) {
	if !v.mf.sel.contiguous {
		die(2, "a RIGHT record in a filtered selection [14]")
	}
	begin, end, hs := u64(b), u64(b[8:]), hashesOf(b[16:])
	N := v.final()
	if v.cr.size != v.mf.end {
		die(1, "RIGHT after entries up to %d, manifest end %d: entries removed at the end [14]", v.cr.size, v.mf.end)
	}
	if begin != v.mf.end || end != N.size {
		die(1, "RIGHT covers [%d, %d), want [%d, %d) [14]", begin, end, v.mf.end, N.size)
	}
	sizes := greedy(begin, end)
	if len(sizes) != len(hs) {
		die(1, "RIGHT holds %d hashes, the greedy decomposition of [%d, %d) has %d [14]", len(hs), begin, end, len(sizes))
	}
	for i, s := range sizes {
		v.cr.push(s, hs[i])
	}
	if v.cr.root() != N.root {
		die(1, "final root mismatch: computed %x, final checkpoint has %x [14]", v.cr.root(), N.root)
	}
	v.right = true
}

// finish runs the checks due at the trailer: 14 (RIGHT present), 15, 11.7.
func (v *verifier) finish() {
	mf := v.mf
	if mf.sel.contiguous && !v.right {
		die(1, "a contiguous selection without a RIGHT record [14]")
	}
	if v.nEntries != mf.entries {
		die(1, "%d ENTRY records, manifest says %d [15]", v.nEntries, mf.entries)
	}
	if mf.sel.kind == "full" && (mf.begin != 0 || mf.end != v.final().size) {
		die(1, "a full selection spans [%d, %d), not [0, %d) [15]", mf.begin, mf.end, v.final().size)
	}
	if mf.sel.kind == "filter" {
		if v.first == nil && mf.begin != mf.end || v.first != nil && (mf.begin != v.first.index || mf.end != v.last.index+1) {
			die(1, "the filter's span [%d, %d) is not [first, last + 1) of its entries [15]", mf.begin, mf.end)
		}
	}
	if mf.sel.kind == "time" && v.first != nil {
		if !inWindow(mf.sel, v.first.timeUs) || !inWindow(mf.sel, v.last.timeUs) {
			die(1, "the first or last entry lies outside the time window [11.7]")
		}
	}
	if v.held != nil {
		v.link()
	}
}

// link is step 16: the auditor's checkpoint (size m, root r) and the bundle.
func (v *verifier) link() {
	m, r, linked := v.held.size, v.held.root, false
	agree := func(root tlog.Hash, what string) {
		if root != r {
			die(1, "fork: your checkpoint of size %d has root %s, %s has %s [16]", m, hexHash(r[:]), what, hexHash(root[:]))
		}
		linked = true
	}
	if m == 0 {
		agree(emptyRoot, "the empty tree")
	}
	for _, cp := range v.cps {
		if cp.size == m {
			agree(cp.root, "the bundle's checkpoint")
		}
	}
	if v.prev != nil && v.prev.size == m {
		agree(v.prev.root, "the PREVIOUS record")
	}
	if v.mf.sel.contiguous && v.mf.begin <= m && m <= v.mf.end && v.heldRoot != nil {
		agree(*v.heldRoot, "the bundle's entries")
	}
	if !linked {
		die(2, "your checkpoint of size %d cannot be linked to this bundle [16]", m)
	}
}
