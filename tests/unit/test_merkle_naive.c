/*
 * test_merkle_naive.c: the Merkle code against a naive recursive MTH, PATH
 * and PROOF written here from RFC 6962 section 2.1 [TREE-1], [TREE-2]:
 * frontier roots and subtrees for every size 1..300, st_range_decompose plus
 * st_frontier_push_subtree reconstructing every root, every inclusion and
 * consistency proof up to size 64 with every mutation rejected, and the
 * naive generators reproducing the RFC 6962 reference-tree proofs byte for
 * byte (that part skipped when shared/ is absent).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "merkle.h"
#include "testutil.h"
#include "util.h"

/* ---- helpers ------------------------------------------------------------------ */

static void hex_hash(st_hash out, const char *hex)
{
    ck_assert_msg(st_hash_from_hex(out, hex, strlen(hex)) == 0, "bad hex %s", hex);
}

static void hash_assert_eq(const st_hash a, const st_hash b, const char *what)
{
    char ha[65], hb[65];
    st_hex_encode(ha, a, 32);
    st_hex_encode(hb, b, 32);
    ck_assert_msg(memcmp(a, b, 32) == 0, "%s: got %s, want %s", what, ha, hb);
}

/* Deterministic xorshift64*, so failures reproduce. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ULL;
}

/* ---- naive RFC 6962 section 2.1, recursive, for cross-checks ------------------------ */

static uint64_t split_k(uint64_t n) /* largest power of two < n, n > 1 */
{
    uint64_t k = 1;
    while (k << 1 < n) k <<= 1;
    return k;
}

static void naive_mth(st_hash out, const st_hash *lh, uint64_t n)
{
    if (n == 0) { st_empty_root(out); return; }
    if (n == 1) { memcpy(out, lh[0], 32); return; }
    uint64_t k = split_k(n);
    st_hash l, r;
    naive_mth(l, lh, k);
    naive_mth(r, lh + k, n - k);
    st_node_hash(out, l, r);
}

/* PATH(m, D[n]) into out (leaf-to-root); returns the count. */
static size_t naive_path(st_hash *out, uint64_t m, const st_hash *lh, uint64_t n)
{
    if (n <= 1) return 0;
    uint64_t k = split_k(n);
    size_t c;
    if (m < k) {
        c = naive_path(out, m, lh, k);
        naive_mth(out[c], lh + k, n - k);
    } else {
        c = naive_path(out, m - k, lh + k, n - k);
        naive_mth(out[c], lh, k);
    }
    return c + 1;
}

static size_t naive_subproof(st_hash *out, uint64_t m, const st_hash *lh, uint64_t n, int b)
{
    if (m == n) {
        if (b) return 0;
        naive_mth(out[0], lh, n);
        return 1;
    }
    uint64_t k = split_k(n);
    size_t c;
    if (m <= k) {
        c = naive_subproof(out, m, lh, k, b);
        naive_mth(out[c], lh + k, n - k);
    } else {
        c = naive_subproof(out, m - k, lh + k, n - k, 0);
        naive_mth(out[c], lh, k);
    }
    return c + 1;
}

static size_t naive_proof(st_hash *out, uint64_t m, const st_hash *lh, uint64_t n)
{
    return naive_subproof(out, m, lh, n, 1);
}

static void random_leaves(st_hash *lh, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t data[40];
        size_t len = rng() % sizeof data;
        for (size_t j = 0; j < len; j++) data[j] = (uint8_t)rng();
        st_leaf_hash(lh[i], data, len);
    }
}

/* ---- the naive generators reproduce the reference tree ------------------------------------ */

START_TEST(test_reference_proofs)
{
    const char *p = tu_shared_path("vectors-upstream/rfc6962-reference-tree.json");
    if (!p) { fprintf(stderr, "test_merkle_naive: shared/ absent: skipping the reference proofs\n"); return; }
    char *txt = tu_read_file(p, NULL);
    cJSON *j = cJSON_Parse(txt);
    free(txt);
    ck_assert_ptr_nonnull(j);
    st_hash lh[8], proof[8], gen[8];
    size_t n = 0;
    cJSON *it, *h;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(j, "leaves_hex")) {
        uint8_t data[64];
        size_t hl = strlen(it->valuestring);
        ck_assert_int_eq(st_hex_decode(data, hl / 2, it->valuestring, hl), 0);
        st_leaf_hash(lh[n++], data, hl / 2);
    }
    ck_assert_uint_eq(n, 8);
    int count = 0;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(j, "inclusion_proofs")) {
        uint64_t idx = (uint64_t)cJSON_GetObjectItemCaseSensitive(it, "leaf_index")->valuedouble;
        uint64_t size = (uint64_t)cJSON_GetObjectItemCaseSensitive(it, "tree_size")->valuedouble;
        size_t np = 0;
        cJSON_ArrayForEach(h, cJSON_GetObjectItemCaseSensitive(it, "path_hex")) hex_hash(proof[np++], h->valuestring);
        ck_assert_uint_eq(naive_path(gen, idx, lh, size), np);
        ck_assert(memcmp(gen, proof, np * 32) == 0);
        count++;
    }
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(j, "consistency_proofs")) {
        uint64_t m = (uint64_t)cJSON_GetObjectItemCaseSensitive(it, "old_size")->valuedouble;
        uint64_t sz = (uint64_t)cJSON_GetObjectItemCaseSensitive(it, "new_size")->valuedouble;
        size_t np = 0;
        cJSON_ArrayForEach(h, cJSON_GetObjectItemCaseSensitive(it, "proof_hex")) hex_hash(proof[np++], h->valuestring);
        ck_assert_uint_eq(m == sz ? 0 : naive_proof(gen, m, lh, sz), np);
        ck_assert(memcmp(gen, proof, np * 32) == 0);
        count++;
    }
    ck_assert_int_eq(count, 10);
    count = 0;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(j, "root_hex_by_size")) {
        st_hash want, got;
        hex_hash(want, it->valuestring);
        naive_mth(got, lh, (uint64_t)count++);
        hash_assert_eq(got, want, "naive root");
    }
    ck_assert_int_eq(count, 9);
    cJSON_Delete(j);
}
END_TEST

/* ---- brute force: frontier vs naive MTH, decomposition, generated proofs ------------------ */

START_TEST(test_frontier_bruteforce)
{
    enum { N = 300 };
    st_hash *lh = malloc(N * sizeof *lh);
    random_leaves(lh, N);
    st_frontier f;
    st_frontier_init(&f);
    for (uint64_t size = 1; size <= N; size++) {
        st_hash a, b;
        st_frontier_push_leaf(&f, lh[size - 1]);
        ck_assert_uint_eq(f.size, size);
        ck_assert_uint_eq(f.n, (unsigned)__builtin_popcountll(size));
        unsigned lv[64];
        ck_assert_uint_eq(st_frontier_levels(size, lv), f.n);
        /* Each frontier hash is the naive MTH of its perfect subtree. */
        uint64_t start = 0;
        for (unsigned i = 0; i < f.n; i++) {
            naive_mth(a, lh + start, (uint64_t)1 << lv[i]);
            hash_assert_eq(f.h[i], a, "frontier subtree");
            start += (uint64_t)1 << lv[i];
        }
        st_frontier_root(&f, a);
        naive_mth(b, lh, size);
        hash_assert_eq(a, b, "frontier root vs naive MTH");
    }
    free(lh);
}
END_TEST

START_TEST(test_range_decompose)
{
    enum { N = 130 };
    st_hash *lh = malloc(N * sizeof *lh);
    random_leaves(lh, N);
    for (uint64_t begin = 0; begin <= N; begin++) {
        st_frontier base;
        st_frontier_init(&base);
        for (uint64_t i = 0; i < begin; i++) st_frontier_push_leaf(&base, lh[i]);
        for (uint64_t end = begin; end <= N; end++) {
            unsigned lv[128];
            uint64_t idx[128];
            unsigned n = st_range_decompose(begin, end, lv, idx);
            st_frontier f = base;
            uint64_t at = begin;
            for (unsigned i = 0; i < n; i++) {
                uint64_t w = (uint64_t)1 << lv[i];
                ck_assert_uint_eq(idx[i] * w, at);            /* contiguous and aligned */
                st_hash h;
                naive_mth(h, lh + at, w);
                ck_assert_int_eq(st_frontier_push_subtree(&f, lv[i], h), 0);
                at += w;
            }
            ck_assert_uint_eq(at, end);
            st_hash a, b;
            st_frontier_root(&f, a);
            naive_mth(b, lh, end);
            hash_assert_eq(a, b, "decomposed root");
        }
    }
    /* Large ranges: the cover is exact and at most 2 subtrees per level. */
    for (int t = 0; t < 2000; t++) {
        uint64_t a = rng() >> (rng() % 64), b = rng() >> (rng() % 64);
        if (a > b) { uint64_t x = a; a = b; b = x; }
        unsigned lv[128];
        uint64_t idx[128];
        unsigned n = st_range_decompose(a, b, lv, idx);
        ck_assert_uint_le(n, 128);
        uint64_t at = a;
        for (unsigned i = 0; i < n; i++) {
            ck_assert_uint_eq(idx[i] << lv[i], at);
            at += (uint64_t)1 << lv[i];
        }
        ck_assert_uint_eq(at, b);
    }
    unsigned lv[128];
    uint64_t idx[128];
    ck_assert_uint_eq(st_range_decompose(0, UINT64_MAX, lv, idx), 64);
    free(lh);
}
END_TEST

START_TEST(test_frontier_errors)
{
    st_frontier f;
    st_hash h = { 0 };
    st_frontier_init(&f);
    ck_assert_int_eq(st_frontier_push_subtree(&f, 64, h), ST_EINVAL);
    st_frontier_push_leaf(&f, h);
    ck_assert_int_eq(st_frontier_push_subtree(&f, 1, h), ST_EINVAL);   /* size 1 is not 2-aligned */
    ck_assert_int_eq(st_frontier_push_subtree(&f, 0, h), 0);
    ck_assert_int_eq(st_frontier_push_subtree(&f, 1, h), 0);
    ck_assert_uint_eq(f.size, 4);
    ck_assert_uint_eq(f.n, 1);
    st_frontier_init(&f);
    ck_assert_int_eq(st_frontier_push_subtree(&f, 63, h), 0);
    ck_assert_int_eq(st_frontier_push_subtree(&f, 63, h), ST_EINVAL);  /* 2^64 leaves */
    ck_assert_int_eq(st_frontier_push_subtree(&f, 62, h), 0);
}
END_TEST

/*
 * Every (index, size) up to 64: the naive proof verifies, every mutation fails.
 * A proof binds the size only through the root: the same path may verify for
 * a neighbouring size with the SAME root (RFC 9162 allows it; the signature on
 * a checkpoint binds root and size). So size mutations use that size's root.
 */
START_TEST(test_inclusion_generated)
{
    enum { N = 64 };
    st_hash lh[N + 1], roots[N + 2], bad, p[N + 2], q[N + 2];
    random_leaves(lh, N + 1);
    for (uint64_t n = 0; n <= N + 1; n++) naive_mth(roots[n], lh, n);
    for (uint64_t n = 1; n <= N; n++) {
        const uint8_t *root = roots[n];
        memcpy(bad, root, 32);
        bad[n % 32] ^= 0x80;
        for (uint64_t m = 0; m < n; m++) {
            size_t np = naive_path(p, m, lh, n);
            st_hash r;
            ck_assert_int_eq(st_verify_inclusion(m, n, lh[m], p, np, root), 0);
            ck_assert_int_eq(st_root_from_inclusion(r, m, n, lh[m], p, np), 0);
            hash_assert_eq(r, root, "root from inclusion");
            ck_assert_int_ne(st_verify_inclusion(m, n, lh[(m + 1) % N], p, np, root), 0);   /* wrong leaf */
            ck_assert_int_ne(st_verify_inclusion(n, n, lh[m], p, np, root), 0);             /* index == size */
            ck_assert_int_ne(st_verify_inclusion(m, n, lh[m], p, np, bad), 0);              /* wrong root */
            if (m + 1 < n) ck_assert_int_ne(st_verify_inclusion(m + 1, n, lh[m], p, np, root), 0);
            if (m > 0) ck_assert_int_ne(st_verify_inclusion(m - 1, n, lh[m], p, np, root), 0);
            ck_assert_int_ne(st_verify_inclusion(m, n + 1, lh[m], p, np, roots[n + 1]), 0);
            if (m < n - 1) ck_assert_int_ne(st_verify_inclusion(m, n - 1, lh[m], p, np, roots[n - 1]), 0);
            for (size_t i = 0; i < np; i++) {                                               /* bit flips */
                memcpy(q, p, np * 32);
                q[i][i % 32] ^= (uint8_t)(1u << (i % 8));
                ck_assert_int_ne(st_verify_inclusion(m, n, lh[m], q, np, root), 0);
            }
            if (np > 0) {
                ck_assert_int_ne(st_verify_inclusion(m, n, lh[m], p, np - 1, root), 0);   /* missing last */
                ck_assert_int_ne(st_verify_inclusion(m, n, lh[m], p + 1, np - 1, root), 0); /* missing first */
                ck_assert_int_ne(st_root_from_inclusion(r, m, n, lh[m], p, np - 1), 0);
            }
            memcpy(q, p, np * 32);
            memcpy(q[np], root, 32);
            ck_assert_int_ne(st_verify_inclusion(m, n, lh[m], q, np + 1, root), 0);        /* trailing root */
            ck_assert_int_ne(st_root_from_inclusion(r, m, n, lh[m], q, np + 1), 0);
            memcpy(q[0], lh[m], 32);
            memcpy(q + 1, p, np * 32);
            ck_assert_int_ne(st_verify_inclusion(m, n, lh[m], q, np + 1, root), 0);        /* preceding leaf */
        }
    }
    ck_assert_int_ne(st_verify_inclusion(0, 0, roots[0], NULL, 0, roots[0]), 0);          /* empty tree */
}
END_TEST

START_TEST(test_consistency_generated)
{
    enum { N = 64 };
    st_hash lh[N + 1], roots[N + 2], p[N + 2], q[N + 2], e;
    random_leaves(lh, N + 1);
    for (uint64_t n = 0; n <= N + 1; n++) naive_mth(roots[n], lh, n);
    st_empty_root(e);
    for (uint64_t n = 1; n <= N; n++) {
        /* m == n: empty proof and equal roots only. */
        ck_assert_int_eq(st_verify_consistency(n, n, roots[n], roots[n], NULL, 0), 0);
        ck_assert_int_ne(st_verify_consistency(n, n, roots[n], roots[n], roots, 1), 0);
        ck_assert_int_ne(st_verify_consistency(n, n, roots[n], roots[n - 1], NULL, 0), 0);
        /* m == 0: accepted only with an empty proof and the empty root. */
        ck_assert_int_eq(st_verify_consistency(0, n, e, roots[n], NULL, 0), 0);
        ck_assert_int_ne(st_verify_consistency(0, n, e, roots[n], roots, 1), 0);
        ck_assert_int_ne(st_verify_consistency(0, n, roots[n], roots[n], NULL, 0), 0);
        ck_assert_int_ne(st_verify_consistency(n, n - 1, roots[n], roots[n - 1], NULL, 0), 0); /* m > n */
        for (uint64_t m = 1; m < n; m++) {
            size_t np = naive_proof(p, m, lh, n);
            ck_assert_uint_gt(np, 0);
            ck_assert_int_eq(st_verify_consistency(m, n, roots[m], roots[n], p, np), 0);
            ck_assert_int_ne(st_verify_consistency(m, n, roots[n], roots[m], p, np), 0);
            ck_assert_int_ne(st_verify_consistency(m, n, roots[m], roots[n], NULL, 0), 0);
            /* Size mutations with the mutated size's own root (see test_inclusion_generated). */
            if (m + 1 < n) ck_assert_int_ne(st_verify_consistency(m + 1, n, roots[m + 1], roots[n], p, np), 0);
            ck_assert_int_ne(st_verify_consistency(m - 1, n, roots[m - 1], roots[n], p, np), 0);
            ck_assert_int_ne(st_verify_consistency(m, n + 1, roots[m], roots[n + 1], p, np), 0);
            if (m < n - 1) ck_assert_int_ne(st_verify_consistency(m, n - 1, roots[m], roots[n - 1], p, np), 0);
            for (size_t i = 0; i < np; i++) {
                memcpy(q, p, np * 32);
                q[i][31 - i % 32] ^= 0x04;
                ck_assert_int_ne(st_verify_consistency(m, n, roots[m], roots[n], q, np), 0);
            }
            ck_assert_int_ne(st_verify_consistency(m, n, roots[m], roots[n], p, np - 1), 0);
            ck_assert_int_ne(st_verify_consistency(m, n, roots[m], roots[n], p + 1, np - 1), 0);
            memcpy(q, p, np * 32);
            memcpy(q[np], roots[n], 32);
            ck_assert_int_ne(st_verify_consistency(m, n, roots[m], roots[n], q, np + 1), 0);
            memcpy(q[0], roots[m], 32);
            memcpy(q + 1, p, np * 32);
            ck_assert_int_ne(st_verify_consistency(m, n, roots[m], roots[n], q, np + 1), 0);
        }
    }
    ck_assert_int_eq(st_verify_consistency(0, 0, e, e, NULL, 0), 0);
    ck_assert_int_ne(st_verify_consistency(0, 0, e, roots[1], NULL, 0), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("merkle_naive");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_reference_proofs);
    tcase_add_test(tc, test_frontier_bruteforce);
    tcase_add_test(tc, test_range_decompose);
    tcase_add_test(tc, test_frontier_errors);
    tcase_add_test(tc, test_inclusion_generated);
    tcase_add_test(tc, test_consistency_generated);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
