/*
 * read.c: the public read API: entries, payloads, tree nodes and roots,
 * checkpoints and proofs, each in its own read transaction (a consistent
 * snapshot; writers are never blocked).
 */
#include "entry_store.h"
#include "store_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define WITH_READ(s, txn)                                              \
    st_txn *txn;                                                       \
    int rc_ = st_db_read_begin((s)->db, &txn, &(s)->err);              \
    if (rc_) return rc_

static void *dup_bytes(const void *p, size_t n, int nul)
{
    uint8_t *d = malloc(n + (nul ? 1 : 0) + (n == 0));
    if (!d) return NULL;
    memcpy(d, p, n);
    if (nul) d[n] = 0;
    return d;
}

int st_entry_get(st_store *s, uint64_t index, uint8_t **bytes_out, size_t *len_out)
{
    WITH_READ(s, txn);
    const uint8_t *v;
    size_t vl;
    st_buf row = { 0 };
    int rc = st_entry_row_get(txn, index, &row, &v, &vl);
    if (rc == 0) {
        *bytes_out = dup_bytes(v, vl, 0);
        *len_out = vl;
        if (!*bytes_out) rc = ENOMEM;
    } else if (rc == ST_ECORRUPT) {
        st_store_fail(s, rc, "entry %llu: stored row is damaged", (unsigned long long)index);
    } else if (rc == ST_ENOTFOUND) {
        uint64_t size = 0;
        if (st_size_txn(txn, &size) != 0) size = 0;
        if (size) st_store_fail(s, rc, "entry %llu: no such entry (the log has %llu, indexes 0..%llu)", (unsigned long long)index,
                                (unsigned long long)size, (unsigned long long)(size - 1));
        else st_store_fail(s, rc, "entry %llu: no such entry (the log is empty)", (unsigned long long)index);
    }
    st_db_read_end(txn);
    st_buf_free(&row);
    return rc;
}

int st_payload_get(st_store *s, uint64_t index, const char *name, uint8_t **bytes_out, size_t *len_out,
                   uint8_t salt_out[ST_SALT_BYTES])
{
    WITH_READ(s, txn);
    int rc = st_payload_read(txn, index, name, salt_out, bytes_out, len_out);
    if (rc == ST_ENOTFOUND)
        st_store_fail(s, rc, "entry %llu: payload \"%s\" is not in the store (never recorded, erased or archived)",
                      (unsigned long long)index, name);
    else if (rc == ST_ECORRUPT)
        st_store_fail(s, rc, "entry %llu: payload \"%s\": storage encoding is damaged", (unsigned long long)index, name);
    st_db_read_end(txn);
    return rc;
}

int st_tree_node(st_store *s, unsigned level, uint64_t pos, uint8_t hash_out[ST_HASH_BYTES])
{
    WITH_READ(s, txn);
    int rc = st_tree_get_node(txn, level, pos, hash_out);
    st_db_read_end(txn);
    return rc;
}

int st_tree_root(st_store *s, uint64_t n, uint8_t root_out[ST_HASH_BYTES])
{
    WITH_READ(s, txn);
    uint64_t size;
    int rc = st_size_txn(txn, &size);
    if (rc == 0 && n > size)
        rc = st_store_fail(s, ST_EINVAL, "size %llu is beyond the log (%llu entries)", (unsigned long long)n,
                           (unsigned long long)size);
    if (rc == 0) rc = st_tree_root_txn(txn, n, root_out);
    st_db_read_end(txn);
    return rc;
}

/* Resolves size 0 to the latest checkpoint's size. */
static int resolve_size(st_store *s, st_txn *txn, uint64_t *size)
{
    if (*size) return 0;
    int rc = st_meta_get_u64(txn, ST_META_SEALED, size);
    if (rc) return rc;
    if (*size == 0) return st_store_fail(s, ST_ENOTSEALED, "the log has no non-empty checkpoint yet (run 'sealtrail seal')");
    return 0;
}

int st_prove_inclusion(st_store *s, uint64_t index, uint64_t size, uint8_t **hashes_out, size_t *n_out,
                       uint8_t root_out[ST_HASH_BYTES], uint8_t leaf_hash_out[ST_HASH_BYTES])
{
    WITH_READ(s, txn);
    uint64_t cur = 0;
    int latest = size == 0;
    int rc = resolve_size(s, txn, &size);
    if (rc == 0) rc = st_size_txn(txn, &cur);
    if (rc == 0 && latest && index >= size && index < cur)   /* no checkpoint covers it yet */
        rc = st_store_fail(s, ST_ENOTSEALED, "entry %llu is not sealed yet: the latest checkpoint covers entries "
                           "0..%llu (run 'sealtrail seal')", (unsigned long long)index, (unsigned long long)size - 1);
    else if (rc == 0 && (size > cur || index >= size))
        rc = st_store_fail(s, ST_EINVAL, "inclusion of entry %llu in a tree of size %llu: %s (the log has %llu)",
                           (unsigned long long)index, (unsigned long long)size,
                           size > cur ? "size is beyond the log" : "index must be below size", (unsigned long long)cur);
    st_hash *proof = NULL;
    size_t np = 0;
    if (rc == 0) rc = st_prove_inclusion_txn(txn, index, size, &proof, &np);
    if (rc == 0 && root_out) rc = st_tree_root_txn(txn, size, root_out);
    if (rc == 0 && leaf_hash_out) rc = st_tree_get_node(txn, 0, index, leaf_hash_out);
    st_db_read_end(txn);
    if (rc) { free(proof); return rc; }
    *hashes_out = (uint8_t *)proof;
    *n_out = np;
    return 0;
}

int st_prove_consistency(st_store *s, uint64_t m, uint64_t n, uint8_t **hashes_out, size_t *n_out,
                         uint8_t old_root_out[ST_HASH_BYTES], uint8_t new_root_out[ST_HASH_BYTES])
{
    WITH_READ(s, txn);
    uint64_t cur = 0;
    int rc = resolve_size(s, txn, &n);
    if (rc == 0) rc = st_size_txn(txn, &cur);
    if (rc == 0 && (n > cur || m > n))
        rc = st_store_fail(s, ST_EINVAL, "consistency from %llu to %llu: %s (the log has %llu)", (unsigned long long)m,
                           (unsigned long long)n, n > cur ? "size is beyond the log" : "the old size must not exceed the new size",
                           (unsigned long long)cur);
    st_hash *proof = NULL;
    size_t np = 0;
    if (rc == 0) rc = st_prove_consistency_txn(txn, m, n, &proof, &np);
    if (rc == 0 && old_root_out) rc = st_tree_root_txn(txn, m, old_root_out);
    if (rc == 0 && new_root_out) rc = st_tree_root_txn(txn, n, new_root_out);
    st_db_read_end(txn);
    if (rc) { free(proof); return rc; }
    *hashes_out = (uint8_t *)proof;
    *n_out = np;
    return 0;
}

int st_checkpoint_get_txn(st_txn *txn, uint64_t size, unsigned mode, uint64_t *size_out, char **note_out,
                          size_t *len_out)
{
    st_cursor *c = NULL;
    const void *k, *v;
    size_t kl, vl;
    uint8_t key[8];
    st_be64_put(key, size);
    int rc = st_cursor_open(txn, ST_T_CHECKPOINTS, &c);
    if (rc == 0) {
        rc = st_cursor_seek(c, key, 8, &k, &kl, &v, &vl);
        if (mode == ST_CP_EXACT && rc == 0 && memcmp(k, key, 8) != 0) rc = ST_ENOTFOUND;
        if (mode == ST_CP_AT_MOST) {
            if (rc == ST_ENOTFOUND) rc = st_cursor_last(c, &k, &kl, &v, &vl);
            else if (rc == 0 && memcmp(k, key, 8) != 0) rc = st_cursor_prev(c, &k, &kl, &v, &vl);
        }
    }
    if (rc == 0 && kl != 8) rc = ST_ECORRUPT;
    if (rc == 0) {
        *note_out = dup_bytes(v, vl, 1);
        if (!*note_out) rc = ENOMEM;
        else {
            if (len_out) *len_out = vl;
            if (size_out) *size_out = st_be64_get(k);
        }
    }
    st_cursor_close(c);
    return rc;
}

int st_checkpoint_get(st_store *s, uint64_t size, unsigned mode, uint64_t *size_out, char **note_out, size_t *len_out)
{
    WITH_READ(s, txn);
    int rc = st_checkpoint_get_txn(txn, size, mode, size_out, note_out, len_out);
    if (rc == ST_ENOTFOUND)
        st_store_fail(s, rc, "no checkpoint %s size %llu", mode == ST_CP_EXACT ? "of" : mode == ST_CP_AT_LEAST ? "at or above" : "at or below",
                      (unsigned long long)size);
    st_db_read_end(txn);
    return rc;
}

int st_checkpoint_latest(st_store *s, char **note_out, size_t *len_out)
{
    int rc = st_checkpoint_get(s, UINT64_MAX, ST_CP_AT_MOST, NULL, note_out, len_out);
    if (rc == ST_ENOTFOUND) st_store_fail(s, rc, "the store has no checkpoint yet (run 'sealtrail seal')");
    return rc;
}
