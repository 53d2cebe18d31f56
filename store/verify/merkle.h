/*
 * merkle.h: RFC 6962 / RFC 9162 Merkle tree hashing and proof verification.
 *
 * Verification here is written straight from RFC 9162 sections 2.1.3.2 and
 * 2.1.4.2 and shares no code with proof generation (store/prove.c), so each
 * checks the other in the tests.
 *
 *   leaf hash = SHA-256(0x00 || data)
 *   node hash = SHA-256(0x01 || left || right)
 *   MTH({})   = SHA-256("")
 */
#ifndef ST_MERKLE_H
#define ST_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#include "sealtrail.h"

typedef uint8_t st_hash[ST_HASH_BYTES];

void st_leaf_hash(st_hash out, const uint8_t *data, size_t len);
void st_node_hash(st_hash out, const st_hash left, const st_hash right);
void st_empty_root(st_hash out);

/* RFC 9162 2.1.3.2. proof: n hashes, leaf-to-root. 0 if it verifies, ST_EPROOF if not. */
ST_NODISCARD int st_verify_inclusion(uint64_t index, uint64_t size, const st_hash leaf_hash,
                                     const st_hash *proof, size_t n, const st_hash root);

/* RFC 9162 2.1.4.2. For m == n the proof must be empty and roots equal.
 * For m == 0: accepted iff the proof is empty (an empty tree is consistent
 * with every tree; tlog-witness convention) and old_root is SHA-256(""). */
ST_NODISCARD int st_verify_consistency(uint64_t m, uint64_t n, const st_hash old_root, const st_hash new_root,
                                       const st_hash *proof, size_t np);

/* Root from an inclusion proof (the same walk as verification); 0 or ST_EPROOF if the shape is wrong. */
int st_root_from_inclusion(st_hash root_out, uint64_t index, uint64_t size, const st_hash leaf_hash,
                           const st_hash *proof, size_t n);

/*
 * Compact range (the "frontier"): the hashes of the perfect subtrees that
 * make up [0, size), largest first; at most 64. Lets a verifier that is
 * given the frontier at `begin` and then leaves begin..end compute the root
 * at any size in between, with O(log n) memory.
 */
typedef struct st_frontier {
    uint64_t size;
    unsigned n;            /* number of hashes = popcount(size) */
    st_hash h[64];         /* h[0] covers the largest (leftmost) subtree */
} st_frontier;

void st_frontier_init(st_frontier *f);                 /* empty tree */
/* Appends one leaf hash. */
void st_frontier_push_leaf(st_frontier *f, const st_hash leaf_hash);
/* Appends a perfect subtree of 2^level leaves whose hash is h. Requires
 * f->size to be a multiple of 2^level; ST_EINVAL otherwise. */
int  st_frontier_push_subtree(st_frontier *f, unsigned level, const st_hash h);
/* RFC 6962 root of the f->size leaves so far (SHA-256("") if empty). */
void st_frontier_root(const st_frontier *f, st_hash root_out);
/* The levels of the perfect subtrees of [0,size), largest first, as the frontier holds them. */
unsigned st_frontier_levels(uint64_t size, unsigned levels_out[64]);
/* The perfect subtrees that cover [begin, end), left to right: (level, index at that level).
 * Returns their count (<= 128). Used to ship the right-hand side of a tree in a bundle. */
unsigned st_range_decompose(uint64_t begin, uint64_t end, unsigned levels_out[128], uint64_t idx_out[128]);

/* Hex-free helpers for tests and tools. */
int st_hash_from_hex(st_hash out, const char *hex, size_t len);

#endif
