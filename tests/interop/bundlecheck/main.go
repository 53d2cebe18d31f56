// bundlecheck is a second, independent verifier of sealtrail auditor
// bundles, written from docs/FORMAT.md, docs/VERIFYING.md and docs/KEYS.md
// alone (and the C2SP / RFC 6962 specifications), with Go's standard
// library and golang.org/x/mod/sumdb/{note,tlog}. It exists to prove that
// the published formats are complete: tests/e2e/test_interop_bundle.sh
// requires it and auditverify to agree on real and tampered bundles.
//
//	bundlecheck BUNDLE --trust VKEY [--trust VKEY...] [--previous CHECKPOINT] [--key-note NOTE...]
//
// Exit status: the verdicts of VERIFYING.md (0 verified, 1 tampered,
// 2 could not verify, 3 untrusted). On success it prints a summary with
// lines `size N`, `root <hex>`, `entries K`.
package main

import (
	"fmt"
	"os"
	"strings"
)

type verdict struct {
	code int
	msg  string
}

func die(code int, format string, a ...interface{}) {
	panic(verdict{code, fmt.Sprintf(format, a...)})
}

var verdictName = map[int]string{1: "TAMPERED", 2: "COULD NOT VERIFY", 3: "UNTRUSTED"}

// Steps of VERIFYING.md that bundlecheck does not perform.
var skipped = []string{
	"11.5 the filter criterion `path` is not re-checked (as in auditverify: it depends on the store's path extraction)",
	"retention judgement (--retention) and comparisons across several bundles are not supported",
	"3 the file is read as a stream, not mapped: no 'changed while verified' check",
	"zstd-compressed bundles are not read (decompress them first, FORMAT.md 'Compression')",
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: bundlecheck BUNDLE --trust VKEY [--trust VKEY...]   (BUNDLE '-' = stdin)")
	os.Exit(2)
}

func main() {
	var path, previous string
	var trustArgs, keyNotes []string
	for i := 1; i < len(os.Args); i++ {
		a := os.Args[i]
		switch {
		case a == "--trust" && i+1 < len(os.Args):
			i++
			trustArgs = append(trustArgs, os.Args[i])
		case a == "--key-note" && i+1 < len(os.Args):
			i++
			keyNotes = append(keyNotes, os.Args[i])
		case a == "--previous" && i+1 < len(os.Args) && previous == "":
			i++
			previous = os.Args[i]
		case path == "" && (a == "-" || !strings.HasPrefix(a, "-")):
			path = a
		default:
			usage()
		}
	}
	if path == "" {
		usage()
	}
	code := run(path, trustArgs, previous, keyNotes)
	os.Exit(code)
}

func run(path string, trustArgs []string, previous string, keyNotes []string) (code int) {
	defer func() {
		if r := recover(); r != nil {
			vd, ok := r.(verdict)
			if !ok {
				panic(r)
			}
			fmt.Fprintf(os.Stderr, "bundlecheck: %s: %s\n", verdictName[vd.code], vd.msg)
			fmt.Printf("verdict %d %s\n", vd.code, verdictName[vd.code])
			code = vd.code
		}
	}()
	// 1.1
	if len(trustArgs) == 0 {
		die(2, "no --trust key")
	}
	var trusted []*vkey
	for _, t := range trustArgs {
		// a key string, else a file: one line, then only LFs, under 4 KiB
		k, err := parseVkey(t)
		if err != nil {
			b, ferr := os.ReadFile(t)
			if ferr != nil || len(b) >= 4096 {
				die(2, "--trust %q: not a key (%v) and not a readable file under 4 KiB", t, err)
			}
			line, rest, _ := strings.Cut(string(b), "\n")
			if strings.Trim(rest, "\n") != "" {
				die(2, "--trust %s: more than one line", t)
			}
			if k, err = parseVkey(line); err != nil {
				die(2, "--trust %s: %v", t, err)
			}
		}
		trusted = append(trusted, k)
	}
	// 1.2
	var held *checkpoint
	if previous != "" {
		b, err := os.ReadFile(previous)
		if err != nil || len(b) > 65536 {
			die(2, "--previous %s: not a readable file of at most 65,536 bytes", previous)
		}
		cp, hasTime, err := parseCheckpoint(b)
		if err != nil || !hasTime {
			die(2, "--previous %s: not a checkpoint: %v", previous, err)
		}
		held = cp
	}
	f := os.Stdin
	if path != "-" {
		var err error
		if f, err = os.Open(path); err != nil {
			die(2, "%v", err)
		}
		defer f.Close()
	}
	v := &verifier{rd: newReader(f), trusted: trusted, held: held}
	for _, k := range keyNotes {
		b, err := os.ReadFile(k)
		if err != nil || len(b) > 65536 {
			die(2, "--key-note %s: not a readable file of at most 65,536 bytes", k)
		}
		v.given = append(v.given, givenNote{k, b})
	}
	v.run()
	v.report()
	return 0
}

func (v *verifier) report() {
	mf, N := v.mf, v.final()
	fmt.Println("verdict 0 VERIFIED")
	fmt.Printf("origin %s\n", mf.origin)
	fmt.Printf("selection %s\n", mf.sel.describe())
	fmt.Printf("span %d %d\n", mf.begin, mf.end)
	fmt.Printf("entries %d\n", v.nEntries)
	fmt.Printf("size %d\n", N.size)
	fmt.Printf("root %s\n", hexHash(N.root[:]))
	fmt.Printf("time %d\n", N.time)
	fmt.Printf("checkpoints %d\n", len(v.cps))
	fmt.Printf("inclusion-proofs %d\n", v.inclChecked)
	fmt.Printf("payloads present %d absent %d\n", v.present, v.absent)
	for _, w := range v.absentWhy {
		fmt.Printf("absent %s\n", w)
	}
	fmt.Printf("keynotes %d (%d grant nothing)\n", len(v.kh.indices), v.kh.untrusted)
	for _, k := range v.keysListed {
		fmt.Printf("listed-key %s\n", k)
	}
	if v.policy != nil {
		fmt.Printf("retention-policy entry %d\n", *v.policy)
	}
	if v.prev != nil {
		fmt.Printf("previous-record %d consistent\n", v.prev.size)
	}
	if v.held != nil {
		fmt.Printf("previous %d linked\n", v.held.size)
	}
	if mf.createdUs != nil {
		fmt.Printf("unsigned-claim created_us %d\n", *mf.createdUs)
	}
	if mf.exporter != nil {
		fmt.Printf("unsigned-claim exporter %q\n", *mf.exporter)
	}
	for _, s := range skipped {
		fmt.Printf("skipped %s\n", s)
	}
}

func hexHash(b []byte) string { return fmt.Sprintf("%x", b) }
