/*
 * tree.c: the RFC 6962 tree as stored perfect-subtree hashes.
 *
 * Table `tree` holds the hash of every perfect subtree of two or more
 * leaves: the node (level, pos), level >= 1, covers leaves
 * [pos * 2^level, (pos + 1) * 2^level). A leaf's hash (level 0) is not
 * stored: it is SHA-256(0x00 ‖ entry), computed from the entry when a proof
 * or a root needs it (stores of format version 2 and older also hold leaf
 * rows; nothing but check reads them). That is a third of the table and one
 * put per append less. Appending leaf i writes every subtree it completes
 * (one per trailing 1-bit of i), reading one sibling per level: O(log n)
 * worst case, O(1) amortized. The hash of any range that proofs need, and
 * the root at any size, is then O(log n) reads and at most two leaf hashes.
 *
 * Keys are the node's post-order number, u64 big-endian: with a = pos * 2^level,
 *   post(level, pos) = 2a - popcount(a) + 2^(level+1) - 2
 * which is exactly the order in which nodes are created, so every write is
 * an MDB_APPEND and the table's pages stay full (LMDB splits pages in half
 * for inserts that are not appends).
 */
#include "tree.h"

#include "store_int.h"

#include <string.h>

#include "entry_store.h"

void st_tree_node_key(uint8_t key[8], unsigned level, uint64_t pos)
{
    uint64_t a = pos << level;
    st_be64_put(key, 2 * a - (uint64_t)__builtin_popcountll(a) + ((uint64_t)2 << level) - 2);
}

int st_tree_key_is_leaf(const uint8_t key[8])
{
    uint64_t k = st_be64_get(key);
    /* post(0, p) = 2p - popcount(p): p lies in [k / 2, k / 2 + 32] */
    for (uint64_t p = k / 2; p <= k / 2 + 33 && p <= UINT64_MAX / 2; p++)
        if (2 * p - (uint64_t)__builtin_popcountll(p) == k) return 1;
    return 0;
}

int st_tree_leaf(st_txn *txn, uint64_t index, st_hash out)
{
    st_buf scratch = { 0 };
    const uint8_t *bytes;
    size_t len;
    int rc = st_entry_row_get(txn, index, &scratch, &bytes, &len);
    if (rc == 0) st_leaf_hash(out, bytes, len);
    st_buf_free(&scratch);
    return rc;
}

/* The row of node (level, pos) in the table. */
static int stored_node(st_txn *txn, unsigned level, uint64_t pos, st_hash out)
{
    uint8_t key[8];
    st_tree_node_key(key, level, pos);
    const void *v;
    size_t vl;
    int rc = st_db_get(txn, ST_T_TREE, key, sizeof key, &v, &vl);
    if (rc) return rc;
    if (vl != ST_HASH_BYTES) return ST_ECORRUPT;
    memcpy(out, v, ST_HASH_BYTES);
    return 0;
}

int st_tree_stored_leaf(st_txn *txn, uint64_t index, st_hash out) { return stored_node(txn, 0, index, out); }

int st_tree_get_node(st_txn *txn, unsigned level, uint64_t pos, st_hash out)
{
    return level == 0 ? st_tree_leaf(txn, pos, out) : stored_node(txn, level, pos, out);
}

static int put_node(st_txn *txn, unsigned level, uint64_t pos, const st_hash h)
{
    uint8_t key[8];
    st_tree_node_key(key, level, pos);
    return st_db_put(txn, ST_T_TREE, key, sizeof key, h, ST_HASH_BYTES, ST_PUT_APPEND);
}

int st_tree_append_leaf_edge(st_txn *txn, uint64_t index, const st_hash leaf_hash, st_tree_edge *e)
{
    int rc;
    st_hash cur, left;
    memcpy(cur, leaf_hash, ST_HASH_BYTES);
    unsigned level = 0;
    uint64_t pos = index;
    if (e && e->next != index) e->have = 0;
    while (pos & 1) {             /* this node is a right child: its parent is now complete */
        if (e && (e->have >> level & 1)) {
            memcpy(left, e->edge[level], ST_HASH_BYTES);
        } else if ((rc = st_tree_get_node(txn, level, pos - 1, left)) != 0) {
            return rc == ST_ENOTFOUND ? ST_ECORRUPT : rc;
        }
        st_node_hash(cur, left, cur);
        level++;
        pos >>= 1;
        if ((rc = put_node(txn, level, pos, cur)) != 0) return rc;
    }
    if (e) {                      /* the edge for index + 1: levels below `level` were consumed */
        e->have = (e->have & ~((2ULL << level) - 1)) | (1ULL << level);
        memcpy(e->edge[level], cur, ST_HASH_BYTES);
        e->next = index + 1;
    }
    return 0;
}

int st_tree_append_leaf(st_txn *txn, uint64_t index, const st_hash leaf_hash)
{
    return st_tree_append_leaf_edge(txn, index, leaf_hash, NULL);
}

/* Largest power of two strictly smaller than n (n >= 2). */
static uint64_t split_point(uint64_t n)
{
    uint64_t k = 1;
    while (k << 1 < n) k <<= 1;
    return k;
}

int st_tree_range_hash(st_txn *txn, uint64_t begin, uint64_t end, st_hash out)
{
    uint64_t n = end - begin;
    if (end <= begin) return ST_EINVAL;
    if ((n & (n - 1)) == 0 && begin % n == 0) {   /* a stored perfect subtree */
        unsigned level = (unsigned)__builtin_ctzll(n);
        int rc = st_tree_get_node(txn, level, begin >> level, out);
        return rc == ST_ENOTFOUND ? ST_ECORRUPT : rc;
    }
    uint64_t k = split_point(n);
    st_hash l, r;
    int rc = st_tree_range_hash(txn, begin, begin + k, l);
    if (rc == 0) rc = st_tree_range_hash(txn, begin + k, end, r);
    if (rc) return rc;
    st_node_hash(out, l, r);
    return 0;
}

int st_tree_root_txn(st_txn *txn, uint64_t size, st_hash out)
{
    if (size == 0) {
        st_empty_root(out);
        return 0;
    }
    return st_tree_range_hash(txn, 0, size, out);
}
