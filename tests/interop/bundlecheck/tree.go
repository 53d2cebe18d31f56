package main

// RFC 6962 trees: a compact range of [0, size) (the perfect subtrees of its
// binary decomposition, largest first), the greedy decomposition of a range
// [FORMAT §6 BUNDLE-7], and proofs checked with golang.org/x/mod/sumdb/tlog.

import (
	"crypto/sha256"
	"math/bits"

	"golang.org/x/mod/sumdb/tlog"
)

var emptyRoot = tlog.Hash(sha256.Sum256(nil))

type subtree struct {
	size uint64
	hash tlog.Hash
}

type compactRange struct {
	size  uint64
	stack []subtree
}

// push appends a perfect subtree of `size` leaves that starts at cr.size
// (aligned: cr.size is a multiple of size), merging equal neighbours.
func (cr *compactRange) push(size uint64, h tlog.Hash) {
	cr.size += size
	cur := subtree{size, h}
	for len(cr.stack) > 0 && cr.stack[len(cr.stack)-1].size == cur.size {
		left := cr.stack[len(cr.stack)-1]
		cr.stack = cr.stack[:len(cr.stack)-1]
		cur = subtree{cur.size * 2, tlog.NodeHash(left.hash, cur.hash)}
	}
	cr.stack = append(cr.stack, cur)
}

// root is MTH(D[0:size]) [TREE-1].
func (cr *compactRange) root() tlog.Hash {
	if len(cr.stack) == 0 {
		return emptyRoot
	}
	h := cr.stack[len(cr.stack)-1].hash
	for i := len(cr.stack) - 2; i >= 0; i-- {
		h = tlog.NodeHash(cr.stack[i].hash, h)
	}
	return h
}

// greedy returns the sizes of the perfect subtrees covering [begin, end):
// at each step the largest subtree aligned at the position that fits.
func greedy(begin, end uint64) []uint64 {
	var out []uint64
	for pos := begin; pos < end; {
		var s uint64 = 1 << 63
		if pos != 0 {
			s = pos & -pos // largest alignment
		}
		for s > end-pos {
			s >>= 1
		}
		out = append(out, s)
		pos += s
	}
	return out
}

func popcount(x uint64) int { return bits.OnesCount64(x) }

func hashesOf(b []byte) []tlog.Hash {
	hs := make([]tlog.Hash, len(b)/32)
	for i := range hs {
		copy(hs[i][:], b[32*i:])
	}
	return hs
}

// checkConsistency verifies PROOF(m, D[n]) [TREE-2], [TREE-3].
func checkConsistency(proof []tlog.Hash, m uint64, mRoot tlog.Hash, n uint64, nRoot tlog.Hash) bool {
	switch {
	case m > n:
		return false
	case m == 0:
		// C2SP tlog-witness: empty proof, old root SHA-256("") [TREE-3]
		return len(proof) == 0 && mRoot == emptyRoot
	case m == n:
		return len(proof) == 0 && mRoot == nRoot
	}
	return tlog.CheckTree(tlog.TreeProof(proof), int64(n), nRoot, int64(m), mRoot) == nil
}

// checkInclusion verifies PATH(index, D[size]) from the leaf hash to root.
func checkInclusion(proof []tlog.Hash, index, size uint64, leaf, root tlog.Hash) bool {
	if index >= size || size > 1<<62 {
		return false
	}
	return tlog.CheckRecord(tlog.RecordProof(proof), int64(size), root, int64(index), leaf) == nil
}
