/*
 * keyhist_append.c: records one key-history note as a log entry inside the
 * caller's write transaction, so that a rotation can append its entry,
 * seal it under a checkpoint signed by both keys and switch the current
 * key in ONE transaction (st_append_records runs its own). The entry
 * (docs/KEYS.md, "Entries"):
 *
 *   {"data":{"note":"<the signed note>"},"index":N,"kind":"key-rotation","time_us":T,"v":1}
 *
 * It is written exactly as append.c writes a record without payloads:
 * canonical bytes (stored packed, entry_store.h), tree leaf, index rows (st_index_add), size and the
 * oldest-unsealed clock; plus the keys-table row (index -> note) and, the
 * first time, meta key_first (the key the store used before any history).
 */
#include "keys.h"

#include <errno.h>
#include <string.h>

#include "entry.h"
#include "entry_store.h"

static int build_entry(st_buf *out, st_json_doc *doc, const char *kind, const char *note, size_t len, uint64_t index,
                       int64_t time_us, st_json **env_out)
{
    st_json *o = st_json_new_object(doc), *data = st_json_new_object(doc);
    if (!o || !data || st_json_object_add(doc, data, "note", 4, st_json_new_strn(doc, note, len)) ||
        st_json_object_add(doc, o, "data", 4, data) ||
        st_json_object_add(doc, o, "index", 5, st_json_new_int(doc, (int64_t)index)) ||
        st_json_object_add(doc, o, "kind", 4, st_json_new_str(doc, kind)) ||
        st_json_object_add(doc, o, "time_us", 7, st_json_new_int(doc, time_us)) ||
        st_json_object_add(doc, o, "v", 1, st_json_new_int(doc, ST_ENTRY_VERSION)))
        return ENOMEM;
    st_json_write(out, o, ST_JSON_SORT_KEYS);
    *env_out = o;
    return out->oom ? ENOMEM : 0;
}

int st_keys_append_txn(st_store *s, st_txn *txn, st_keynote_type type, const char *note, size_t len, uint64_t *index_out)
{
    const char *kind = st_keynote_kind(type);
    if (!kind || !st_keynote_type_of_kind(kind, strlen(kind)))
        return st_store_fail(s, ST_EINVAL, "a %s is not recorded in the log", kind ? kind : "note of unknown type");
    uint64_t size, sealed;
    int rc;
    if ((rc = st_size_txn(txn, &size)) || (rc = st_meta_get_u64(txn, ST_META_SEALED, &sealed))) return rc;
    int64_t now = st_now_us();
    st_json_doc *doc = st_json_doc_new();
    st_buf bytes = { 0 }, row = { 0 };
    st_json *env = NULL;
    if (!doc) return ENOMEM;
    if ((rc = build_entry(&bytes, doc, kind, note, len, size, now, &env)) != 0) goto out;
    if (bytes.len > ST_ENTRY_MAX) {
        rc = st_store_fail(s, ST_ETOOBIG, "entry %llu: %s entry is %zu bytes (at most %u)", (unsigned long long)size, kind,
                           bytes.len, ST_ENTRY_MAX);
        goto out;
    }
    st_entry check;                    /* what we write must read back as a valid entry */
    st_err err;
    if ((rc = st_entry_parse(&check, bytes.data, bytes.len, &err)) != 0) {
        rc = st_store_fail(s, rc, "entry %llu: %s entry does not parse back: %s", (unsigned long long)size, kind, err.msg);
        goto out;
    }
    st_entry_free(&check);
    uint8_t key[8];
    st_be64_put(key, size);
    if ((rc = st_entry_row_pack(&row, bytes.data, bytes.len)) != 0 || (rc = st_store_format_upgrade(txn)) != 0)
        goto out;                                 /* stored packed, as append.c does */
    const st_buf *stored = row.len ? &row : &bytes;
    if ((rc = st_db_put(txn, ST_T_ENTRIES, key, 8, stored->data, stored->len, ST_PUT_APPEND)) != 0) {
        if (rc == ST_EEXIST) rc = st_store_fail(s, rc, "entry %llu: cannot append", (unsigned long long)size);
        goto out;
    }
    st_hash leaf;
    st_leaf_hash(leaf, bytes.data, bytes.len);
    if ((rc = st_tree_append_leaf(txn, size, leaf)) != 0 || (rc = st_index_add(txn, size, env, NULL)) != 0 ||
        (rc = st_meta_put_u64(txn, ST_META_SIZE, size + 1)) != 0)
        goto out;
    if (sealed == size && (rc = st_meta_put_u64(txn, ST_META_UNSEALED_US, (uint64_t)now)) != 0) goto out;
    if ((rc = st_db_put(txn, ST_T_KEYS, key, 8, note, len, ST_PUT_APPEND)) != 0) goto out;
    const char *first;
    size_t fl;
    if (st_meta_get_str(txn, ST_META_KEY_FIRST, &first, &fl) == ST_ENOTFOUND) {
        const char *cur;
        size_t cl;
        if ((rc = st_meta_get_str(txn, ST_META_VKEY, &cur, &cl)) != 0) goto out;
        char copy[ST_VKEY_MAX];                   /* values point into the map: copy before writing */
        if (cl >= sizeof copy) { rc = ST_ECORRUPT; goto out; }
        memcpy(copy, cur, cl);
        if ((rc = st_meta_put_str(txn, ST_META_KEY_FIRST, copy, cl)) != 0) goto out;
    }
    if (index_out) *index_out = size;
out:
    st_buf_free(&bytes);
    st_buf_free(&row);
    st_json_doc_free(doc);
    return rc;
}
