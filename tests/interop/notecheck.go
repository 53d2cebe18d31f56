// notecheck verifies signed notes with golang.org/x/mod/sumdb/note, the
// reference C2SP signed-note implementation, and checks RFC 6962 proofs
// with golang.org/x/mod/sumdb/tlog: an independent third-party verifier for
// sealtrail's checkpoints and proofs.
//
//	notecheck note VKEY NOTEFILE          verify a note; print its text
//	notecheck inclusion PROOFJSON         verify a `sealtrail prove --index` line
//	notecheck consistency PROOFJSON       verify a `sealtrail prove --from --to` line
//	notecheck sign KEYFILE TEXTFILE       sign TEXTFILE with a signer key file (our log.key)
package main

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

func die(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "notecheck: "+format+"\n", a...)
	os.Exit(1)
}

func hash(s string) tlog.Hash {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 32 {
		die("bad hash %q", s)
	}
	var h tlog.Hash
	copy(h[:], b)
	return h
}

type proof struct {
	Type     string   `json:"type"`
	Hashes   []string `json:"hashes"`
	Index    int64    `json:"index"`
	Size     int64    `json:"size"`
	LeafHash string   `json:"leaf_hash"`
	Root     string   `json:"root"`
	OldSize  int64    `json:"old_size"`
	NewSize  int64    `json:"new_size"`
	OldRoot  string   `json:"old_root"`
	NewRoot  string   `json:"new_root"`
}

func main() {
	if len(os.Args) < 3 {
		die("usage: notecheck note VKEY FILE | inclusion JSON | consistency JSON")
	}
	switch os.Args[1] {
	case "note":
		v, err := note.NewVerifier(os.Args[2])
		if err != nil {
			die("verifier key: %v", err)
		}
		msg, err := os.ReadFile(os.Args[3])
		if err != nil {
			die("%v", err)
		}
		n, err := note.Open(msg, note.VerifierList(v))
		if err != nil {
			die("note does not verify: %v", err)
		}
		fmt.Print(n.Text)
	case "inclusion", "consistency":
		var p proof
		if err := json.Unmarshal([]byte(os.Args[2]), &p); err != nil {
			die("proof JSON: %v", err)
		}
		var hs []tlog.Hash
		for _, h := range p.Hashes {
			hs = append(hs, hash(h))
		}
		if os.Args[1] == "inclusion" {
			if err := tlog.CheckRecord(tlog.RecordProof(hs), p.Size, hash(p.Root), p.Index, hash(p.LeafHash)); err != nil {
				die("inclusion proof does not verify: %v", err)
			}
		} else {
			if err := tlog.CheckTree(tlog.TreeProof(hs), p.NewSize, hash(p.NewRoot), p.OldSize, hash(p.OldRoot)); err != nil {
				die("consistency proof does not verify: %v", err)
			}
		}
		fmt.Println("ok")
	case "sign":
		if len(os.Args) < 4 {
			die("usage: notecheck sign KEYFILE TEXTFILE")
		}
		k, err := os.ReadFile(os.Args[2])
		if err != nil {
			die("%v", err)
		}
		s, err := note.NewSigner(strings.TrimSuffix(string(k), "\n"))
		if err != nil {
			die("signer key: %v", err)
		}
		t, err := os.ReadFile(os.Args[3])
		if err != nil {
			die("%v", err)
		}
		msg, err := note.Sign(&note.Note{Text: string(t)}, s)
		if err != nil {
			die("sign: %v", err)
		}
		os.Stdout.Write(msg)
	default:
		die("unknown mode %q", os.Args[1])
	}
}
