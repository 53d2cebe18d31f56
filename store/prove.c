/*
 * prove.c: inclusion and consistency proof generation from stored subtree
 * hashes, following the recursive definitions of RFC 6962 section 2.1.1
 * (PATH) and 2.1.2 (PROOF / SUBPROOF) literally. Verification is separate
 * code (store/verify/merkle.c, RFC 9162's iterative algorithms); the tests
 * check each against the other and against upstream vectors.
 */
#include "store_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PROOF 130   /* 2 * 64 levels + slack */

typedef struct proof_acc {
    st_hash h[MAX_PROOF];
    size_t n;
} proof_acc;

static uint64_t split_point(uint64_t n)
{
    uint64_t k = 1;
    while (k << 1 < n) k <<= 1;
    return k;
}

static int acc_range(st_txn *txn, proof_acc *acc, uint64_t begin, uint64_t end)
{
    if (acc->n >= MAX_PROOF) return ST_EINVAL;
    return st_tree_range_hash(txn, begin, end, acc->h[acc->n++]);
}

/* PATH(m, D[lo:hi]): siblings from the leaf up, appended after recursion. */
static int path(st_txn *txn, proof_acc *acc, uint64_t m, uint64_t lo, uint64_t hi)
{
    uint64_t n = hi - lo;
    if (n <= 1) return 0;
    uint64_t k = split_point(n);
    int rc;
    if (m < lo + k) {
        if ((rc = path(txn, acc, m, lo, lo + k)) != 0) return rc;
        return acc_range(txn, acc, lo + k, hi);
    }
    if ((rc = path(txn, acc, m, lo + k, hi)) != 0) return rc;
    return acc_range(txn, acc, lo, lo + k);
}

/* SUBPROOF(m, D[lo:hi], b), m counted from lo. */
static int subproof(st_txn *txn, proof_acc *acc, uint64_t m, uint64_t lo, uint64_t hi, int b)
{
    uint64_t n = hi - lo;
    if (m == n) return b ? 0 : acc_range(txn, acc, lo, hi);
    uint64_t k = split_point(n);
    int rc;
    if (m <= k) {
        if ((rc = subproof(txn, acc, m, lo, lo + k, b)) != 0) return rc;
        return acc_range(txn, acc, lo + k, hi);
    }
    if ((rc = subproof(txn, acc, m - k, lo + k, hi, 0)) != 0) return rc;
    return acc_range(txn, acc, lo, lo + k);
}

static int take(proof_acc *acc, st_hash **hashes, size_t *n)
{
    *hashes = malloc(acc->n ? acc->n * sizeof(st_hash) : 1);
    if (!*hashes) return ENOMEM;
    memcpy(*hashes, acc->h, acc->n * sizeof(st_hash));
    *n = acc->n;
    return 0;
}

int st_prove_inclusion_txn(st_txn *txn, uint64_t index, uint64_t size, st_hash **hashes, size_t *n)
{
    uint64_t cur;
    int rc = st_size_txn(txn, &cur);
    if (rc) return rc;
    if (size > cur || index >= size) return ST_EINVAL;
    proof_acc *acc = calloc(1, sizeof *acc);
    if (!acc) return ENOMEM;
    rc = path(txn, acc, index, 0, size);
    if (rc == 0) rc = take(acc, hashes, n);
    free(acc);
    return rc;
}

int st_prove_consistency_txn(st_txn *txn, uint64_t m, uint64_t n, st_hash **hashes, size_t *np)
{
    uint64_t cur;
    int rc = st_size_txn(txn, &cur);
    if (rc) return rc;
    if (n > cur || m > n) return ST_EINVAL;
    proof_acc *acc = calloc(1, sizeof *acc);
    if (!acc) return ENOMEM;
    rc = (m == 0 || m == n) ? 0 : subproof(txn, acc, m, 0, n, 1);
    if (rc == 0) rc = take(acc, hashes, np);
    free(acc);
    return rc;
}
