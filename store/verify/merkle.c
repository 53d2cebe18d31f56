/*
 * merkle.c: RFC 6962 Merkle tree hashing, RFC 9162 proof verification, and
 * the compact range ("frontier") used to recompute roots in O(log n) memory.
 *
 * The two verifiers below are transcriptions of RFC 9162 sections 2.1.3.2
 * (inclusion) and 2.1.4.2 (consistency); the numbered comments are the RFC's
 * step numbers. They share nothing with proof generation (store/prove.c), so
 * the tests can check each against the other. Every malformed shape (wrong
 * number of hashes, index >= size, m > n, a non-empty proof where none is
 * due) is a verification failure, never a crash or a silent pass.
 *
 * Hashes are public data, so comparisons need not be constant-time; we use
 * st_ct_equal anyway so that no reader has to wonder.
 */
#include "merkle.h"

#include <string.h>

#include <sodium.h>

#include "sha256.h"
#include "util.h"

/* ---- hashing --------------------------------------------------------------- */

/* Leaf, node and empty-tree hashes use st_sha256 (sha256.c): the x86 SHA
 * extensions where present, several times faster than libsodium's portable
 * SHA-256 on the ingest and verify hot paths; checked against libsodium and
 * against every upstream and known-answer vector by the tests. */
void st_leaf_hash(st_hash out, const uint8_t *data, size_t len)
{
    static const uint8_t prefix = 0x00;
    st_sha256_ctx st;
    st_sha256_init(&st);
    st_sha256_update(&st, &prefix, 1);
    if (len) st_sha256_update(&st, data, len);
    st_sha256_final(&st, out);
}

/* out may alias left or right: both are absorbed before out is written. */
void st_node_hash(st_hash out, const st_hash left, const st_hash right)
{
    uint8_t block[1 + 2 * ST_HASH_BYTES];
    block[0] = 0x01;
    memcpy(block + 1, left, ST_HASH_BYTES);
    memcpy(block + 1 + ST_HASH_BYTES, right, ST_HASH_BYTES);
    st_sha256(out, block, sizeof block);
}

void st_empty_root(st_hash out)
{
    crypto_hash_sha256(out, (const unsigned char *)"", 0);
}

static int hash_eq(const st_hash a, const st_hash b)
{
    return st_ct_equal(a, b, ST_HASH_BYTES);
}

/* ---- inclusion: RFC 9162 2.1.3.2 -------------------------------------------- */

int st_root_from_inclusion(st_hash root_out, uint64_t index, uint64_t size, const st_hash leaf_hash,
                           const st_hash *proof, size_t n)
{
    if (n > 0 && proof == NULL) return ST_EPROOF;
    /* 1. leaf_index >= tree_size fails. */
    if (index >= size) return ST_EPROOF;
    /* 2. fn = leaf_index, sn = tree_size - 1.  3. r = hash. */
    uint64_t fn = index, sn = size - 1;
    st_hash r;
    memcpy(r, leaf_hash, ST_HASH_BYTES);
    /* 4. for each p in inclusion_path */
    for (size_t i = 0; i < n; i++) {
        if (sn == 0) return ST_EPROOF;                     /* 4a: too many hashes */
        if ((fn & 1) || fn == sn) {                        /* 4b */
            st_node_hash(r, proof[i], r);                  /* 4b.i */
            if (!(fn & 1)) {                               /* 4b.ii */
                while (!(fn & 1) && fn != 0) { fn >>= 1; sn >>= 1; }
            }
        } else {
            st_node_hash(r, r, proof[i]);                  /* 4b, otherwise */
        }
        fn >>= 1;                                          /* 4c */
        sn >>= 1;
    }
    /* 5. sn must be 0: otherwise hashes are missing. */
    if (sn != 0) return ST_EPROOF;
    memcpy(root_out, r, ST_HASH_BYTES);
    return 0;
}

int st_verify_inclusion(uint64_t index, uint64_t size, const st_hash leaf_hash,
                        const st_hash *proof, size_t n, const st_hash root)
{
    st_hash r;
    if (st_root_from_inclusion(r, index, size, leaf_hash, proof, n) != 0) return ST_EPROOF;
    return hash_eq(r, root) ? 0 : ST_EPROOF;           /* 5. r == root_hash */
}

/* ---- consistency: RFC 9162 2.1.4.2 -------------------------------------------- */

static int is_pow2(uint64_t x) { return x != 0 && (x & (x - 1)) == 0; }

int st_verify_consistency(uint64_t m, uint64_t n, const st_hash old_root, const st_hash new_root,
                          const st_hash *proof, size_t np)
{
    if (np > 0 && proof == NULL) return ST_EPROOF;
    if (m > n) return ST_EPROOF;
    if (m == 0) {
        /* The empty tree is a prefix of every tree; nothing to prove, and a
         * proof that says otherwise is malformed (tlog-witness convention). */
        st_hash empty;
        st_empty_root(empty);
        if (np != 0 || !hash_eq(old_root, empty)) return ST_EPROOF;
        if (n == 0 && !hash_eq(new_root, empty)) return ST_EPROOF;
        return 0;
    }
    if (m == n) return (np == 0 && hash_eq(old_root, new_root)) ? 0 : ST_EPROOF;

    /* Now 0 < m < n. 1. An empty proof fails. */
    if (np == 0) return ST_EPROOF;
    /* 2. If m is a power of 2, the old root is the implicit first element. */
    size_t i = 0;
    const uint8_t *first;
    if (is_pow2(m)) {
        first = old_root;
    } else {
        first = proof[0];
        i = 1;
    }
    /* 3. fn = m - 1, sn = n - 1.  4. Shift while LSB(fn) is set. */
    uint64_t fn = m - 1, sn = n - 1;
    while (fn & 1) { fn >>= 1; sn >>= 1; }
    /* 5. fr = sr = first value. */
    st_hash fr, sr;
    memcpy(fr, first, ST_HASH_BYTES);
    memcpy(sr, first, ST_HASH_BYTES);
    /* 6. for each subsequent c */
    for (; i < np; i++) {
        const uint8_t *c = proof[i];
        if (sn == 0) return ST_EPROOF;                     /* 6a: too many hashes */
        if ((fn & 1) || fn == sn) {                        /* 6b */
            st_node_hash(fr, c, fr);                       /* 6b.i */
            st_node_hash(sr, c, sr);                       /* 6b.ii */
            if (!(fn & 1)) {                               /* 6b.iii */
                while (!(fn & 1) && fn != 0) { fn >>= 1; sn >>= 1; }
            }
        } else {
            st_node_hash(sr, sr, c);                       /* 6b, otherwise */
        }
        fn >>= 1;                                          /* 6c */
        sn >>= 1;
    }
    /* 7. fr == first_hash, sr == second_hash, sn == 0. */
    if (sn != 0) return ST_EPROOF;
    if (!hash_eq(fr, old_root) || !hash_eq(sr, new_root)) return ST_EPROOF;
    return 0;
}

/* ---- frontier (compact range) ------------------------------------------------ */

void st_frontier_init(st_frontier *f)
{
    memset(f, 0, sizeof *f);
}

/*
 * The frontier of [0, size) holds one perfect subtree per set bit of size,
 * largest first. Appending a subtree of 2^level leaves is binary addition:
 * while the last subtree has the same level, merge it into a parent (the old
 * subtree is the left child) and carry one level up.
 */
int st_frontier_push_subtree(st_frontier *f, unsigned level, const st_hash h)
{
    if (level >= 64) return ST_EINVAL;
    uint64_t width = (uint64_t)1 << level;
    if (f->size & (width - 1)) return ST_EINVAL;          /* not aligned */
    if (width > UINT64_MAX - f->size) return ST_EINVAL;   /* would overflow */
    st_hash cur;
    memcpy(cur, h, ST_HASH_BYTES);
    uint64_t s = f->size;
    unsigned lvl = level;
    while (lvl < 64 && ((s >> lvl) & 1)) {
        /* The last subtree has exactly this level: merge. */
        f->n--;
        st_node_hash(cur, f->h[f->n], cur);
        s -= (uint64_t)1 << lvl;
        lvl++;
    }
    memcpy(f->h[f->n], cur, ST_HASH_BYTES);
    f->n++;
    f->size += width;
    return 0;
}

void st_frontier_push_leaf(st_frontier *f, const st_hash leaf_hash)
{
    /* Level 0 is always aligned; only a 2^64-leaf log could fail. */
    (void)st_frontier_push_subtree(f, 0, leaf_hash);
}

/* MTH folds right: the largest subtree is the left child of the root. */
void st_frontier_root(const st_frontier *f, st_hash root_out)
{
    if (f->n == 0) {
        st_empty_root(root_out);
        return;
    }
    st_hash r;
    memcpy(r, f->h[f->n - 1], ST_HASH_BYTES);
    for (unsigned i = f->n - 1; i-- > 0;) st_node_hash(r, f->h[i], r);
    memcpy(root_out, r, ST_HASH_BYTES);
}

unsigned st_frontier_levels(uint64_t size, unsigned levels_out[64])
{
    unsigned n = 0;
    for (unsigned b = 64; b-- > 0;)
        if ((size >> b) & 1) levels_out[n++] = b;
    return n;
}

static unsigned ctz64(uint64_t x)
{
    unsigned n = 0;
    while (!(x & 1)) { x >>= 1; n++; }
    return n;
}

/*
 * Greedy left-to-right: at each step take the largest subtree that is aligned
 * at `begin` and fits in what is left. The sizes rise then fall, so there are
 * at most 2 per level: <= 128 in all.
 */
unsigned st_range_decompose(uint64_t begin, uint64_t end, unsigned levels_out[128], uint64_t idx_out[128])
{
    unsigned n = 0;
    while (begin < end && n < 128) {
        unsigned lvl = begin == 0 ? 63 : ctz64(begin);
        uint64_t left = end - begin;
        while (lvl > 0 && ((uint64_t)1 << lvl) > left) lvl--;
        levels_out[n] = lvl;
        idx_out[n] = begin >> lvl;
        n++;
        begin += (uint64_t)1 << lvl;
    }
    return n;
}

/* ---- hex ------------------------------------------------------------------------ */

/* Exactly 64 lowercase hex digits (the project's one spelling of a hash). */
int st_hash_from_hex(st_hash out, const char *hex, size_t len)
{
    if (hex == NULL || len != 2 * ST_HASH_BYTES) return ST_EFORMAT;
    for (size_t i = 0; i < len; i++) {
        char c = hex[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return ST_EFORMAT;
    }
    return st_hex_decode(out, ST_HASH_BYTES, hex, len) == 0 ? 0 : ST_EFORMAT;
}
