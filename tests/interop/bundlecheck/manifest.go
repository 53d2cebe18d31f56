package main

// Step 4: the manifest [BUNDLE-6].

import (
	"fmt"
	"strings"
)

type selection struct {
	kind         string
	contiguous   bool
	lists        map[string][]string // tool, event, session, status
	since, until *int64
	path, text   *string
	minDuration  *int64
}

type manifest struct {
	origin                           string
	begin, end, entries, checkpoints uint64
	finalSize                        uint64
	previousSize                     *uint64
	createdUs                        *int64
	exporter                         *string
	sel                              selection
}

var manifestMembers = map[string]bool{"v": true, "origin": true, "selection": true, "begin": true,
	"end": true, "entries": true, "checkpoints": true, "final_size": true, "previous_size": true,
	"created_us": true, "exporter": true}

func parseManifest(body []byte) *manifest {
	v, err := parseCanonical(body, 4)
	if err != nil {
		die(2, "manifest: %v [BUNDLE-6]", err)
	}
	ver := v.get("v")
	if !ver.isInt() {
		die(2, "manifest: v is missing or not an integer")
	}
	if ver.num != 1 {
		die(3, "unsupported version: manifest v %d", ver.num)
	}
	for _, m := range v.obj {
		if !manifestMembers[m.key] {
			die(2, "manifest: unknown member %q [BUNDLE-6]", m.key)
		}
	}
	mf := &manifest{}
	o := v.get("origin")
	if !o.isString() || !validName(o.str) {
		die(2, "manifest: origin missing or not a valid key name")
	}
	mf.origin = o.str
	uint := func(k string) uint64 {
		x := v.get(k)
		if !x.isInt() || x.num < 0 {
			die(2, "manifest: %s missing or not an integer ≥ 0", k)
		}
		return uint64(x.num)
	}
	mf.begin, mf.end, mf.entries = uint("begin"), uint("end"), uint("entries")
	mf.checkpoints, mf.finalSize = uint("checkpoints"), uint("final_size")
	if !(mf.begin <= mf.end && mf.end <= mf.finalSize) || mf.checkpoints < 1 {
		die(2, "manifest: needs begin ≤ end ≤ final_size and checkpoints ≥ 1 (begin %d end %d final_size %d checkpoints %d)",
			mf.begin, mf.end, mf.finalSize, mf.checkpoints)
	}
	if x := v.get("previous_size"); x != nil {
		if !x.isInt() || x.num < 0 {
			die(2, "manifest: previous_size not an integer")
		}
		p := uint64(x.num)
		mf.previousSize = &p
	}
	if x := v.get("created_us"); x != nil {
		if !x.isInt() {
			die(2, "manifest: created_us not an integer")
		}
		mf.createdUs = &x.num
	}
	if x := v.get("exporter"); x != nil {
		if !x.isString() {
			die(2, "manifest: exporter not a string")
		}
		mf.exporter = &x.str
	}
	s := v.get("selection")
	if s == nil || s.kind != jObject {
		die(2, "manifest: selection missing or not an object")
	}
	mf.sel = parseSelection(s)
	if mf.sel.contiguous && mf.entries != mf.end-mf.begin {
		die(2, "manifest: entries %d ≠ end − begin %d for a %s selection", mf.entries, mf.end-mf.begin, mf.sel.kind)
	}
	if !mf.sel.contiguous && mf.entries > mf.end-mf.begin {
		die(2, "manifest: entries %d > end − begin %d", mf.entries, mf.end-mf.begin)
	}
	return mf
}

// parseSelection is step 4.5.
func parseSelection(s *jval) selection {
	k := s.get("kind")
	if !k.isString() {
		die(2, "manifest: selection.kind missing or not a string")
	}
	sel := selection{kind: k.str, lists: map[string][]string{}}
	allowed := map[string]bool{"kind": true}
	switch k.str {
	case "full", "range":
		sel.contiguous = true
	case "time":
		sel.contiguous = true
		allowed["since_us"], allowed["until_us"] = true, true
	case "filter":
		for _, m := range []string{"tool", "event", "session", "status", "since_us", "until_us", "path", "text", "min_duration_ms"} {
			allowed[m] = true
		}
	default:
		die(2, "manifest: unknown selection kind %q", k.str)
	}
	n := 0
	for _, m := range s.obj {
		if !allowed[m.key] {
			die(2, "manifest: selection %s does not allow member %q", k.str, m.key)
		}
		switch m.key {
		case "kind":
			continue
		case "since_us", "until_us":
			if !m.val.isInt() {
				die(2, "manifest: selection.%s not an integer", m.key)
			}
			x := m.val.num
			if m.key == "since_us" {
				sel.since = &x
			} else {
				sel.until = &x
			}
		case "min_duration_ms":
			if !m.val.isInt() || m.val.num < 0 {
				die(2, "manifest: selection.min_duration_ms not an integer ≥ 0")
			}
			x := m.val.num
			sel.minDuration = &x
		case "path", "text":
			if !m.val.isString() || len(m.val.str) < 1 || len(m.val.str) > 4096 {
				die(2, "manifest: selection.%s is not a string of 1..4096 bytes", m.key)
			}
			if m.key == "path" && strings.IndexByte(m.val.str, 0) >= 0 {
				die(2, "manifest: selection.path holds U+0000")
			}
			x := m.val.str
			if m.key == "path" {
				sel.path = &x
			} else {
				sel.text = &x
			}
		default:
			if m.val.kind != jArray || len(m.val.arr) < 1 || len(m.val.arr) > 16 {
				die(2, "manifest: selection.%s is not an array of 1..16 strings", m.key)
			}
			for _, e := range m.val.arr {
				if !e.isString() || e.str == "" || len(e.str) > 1024 {
					die(2, "manifest: selection.%s holds a value that is not a string of 1..1024 bytes", m.key)
				}
				sel.lists[m.key] = append(sel.lists[m.key], e.str)
			}
		}
		n++
	}
	if k.str != "full" && k.str != "range" && n == 0 {
		die(2, "manifest: selection %s states no criterion", k.str)
	}
	if sel.since != nil && sel.until != nil && !(*sel.since < *sel.until) {
		die(2, "manifest: selection since_us %d is not below until_us %d", *sel.since, *sel.until)
	}
	return sel
}

func (s selection) describe() string {
	d := s.kind
	for _, k := range []string{"tool", "event", "session", "status"} {
		if l := s.lists[k]; l != nil {
			d += fmt.Sprintf(" %s=%v", k, l)
		}
	}
	if s.since != nil {
		d += fmt.Sprintf(" since_us=%d", *s.since)
	}
	if s.until != nil {
		d += fmt.Sprintf(" until_us=%d", *s.until)
	}
	if s.path != nil {
		d += fmt.Sprintf(" path=%q", *s.path)
	}
	if s.text != nil {
		d += fmt.Sprintf(" text=%q", *s.text)
	}
	if s.minDuration != nil {
		d += fmt.Sprintf(" min_duration_ms=%d", *s.minDuration)
	}
	return d
}
