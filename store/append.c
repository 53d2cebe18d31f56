/*
 * append.c: the write path. For each record: fresh salts and payload
 * commitments (computed before the write lock is taken), then inside one
 * durable write transaction the canonical entry with its index, the leaf
 * and completed subtree hashes, the payload rows and the index rows. The
 * N/T seal policy is checked in the same transaction, so a seal that the
 * policy asks for costs no extra fsync.
 */
#include "sha256.h"
#include "store_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

/* Reserved envelope members that append.c writes itself. */
static const char *const reserved[] = { "v", "index", "time_us", "payloads" };

typedef struct prepared {
    uint8_t salt[ST_ENTRY_MAX_PAYLOADS][ST_SALT_BYTES];
    st_hash commit[ST_ENTRY_MAX_PAYLOADS];
    size_t stored_len[ST_ENTRY_MAX_PAYLOADS];     /* bytes committed to and stored (head if truncated) */
    st_hash full_sha[ST_ENTRY_MAX_PAYLOADS];
    int64_t time_us;
} prepared;

typedef struct append_ctx {
    st_store *s;
    const st_record_in *recs;
    size_t n;
    prepared *prep;
    uint64_t first;
    int sealed;
} append_ctx;

/* Cuts len back so that data[0..len) does not end inside a UTF-8 sequence. */
static size_t utf8_cut(const uint8_t *data, size_t len)
{
    size_t back = 0;
    while (back < 4 && back < len && (data[len - 1 - back] & 0xc0) == 0x80) back++;
    if (back < len) {
        uint8_t lead = data[len - 1 - back];
        size_t need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
        if (need > back + 1) return len - 1 - back;   /* incomplete sequence: drop it */
    }
    return len;
}

static int validate(st_store *s, const st_record_in *r)
{
    if (r->npayloads > ST_ENTRY_MAX_PAYLOADS)
        return st_store_fail(s, ST_EINVAL, "record has %zu payloads (at most %u)", r->npayloads, ST_ENTRY_MAX_PAYLOADS);
    if (r->meta && r->meta->type != ST_JSON_OBJECT) return st_store_fail(s, ST_EINVAL, "record metadata is not an object");
    if (r->meta) {
        for (const st_json *m = r->meta->child; m; m = m->next)
            for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
                if (m->key_len == strlen(reserved[i]) && memcmp(m->key, reserved[i], m->key_len) == 0)
                    return st_store_fail(s, ST_EINVAL, "record metadata sets reserved member \"%s\"", reserved[i]);
        if (!st_json_get(r->meta, "kind")) return st_store_fail(s, ST_EINVAL, "record metadata has no \"kind\"");
    } else {
        return st_store_fail(s, ST_EINVAL, "record has no metadata");
    }
    /* [ENTRY-4]: every envelope integer must be within +-(2^53 - 1). */
    const int64_t max_us = ((int64_t)1 << 53) - 1;
    if (r->time_us < -max_us || r->time_us > max_us)
        return st_store_fail(s, ST_EINVAL, "record time %lld us is outside the representable range +-(2^53-1)",
                             (long long)r->time_us);
    for (size_t i = 0; i < r->npayloads; i++) {
        const char *name = r->payloads[i].name;
        if (!name || !st_payload_name_valid(name, strlen(name)))
            return st_store_fail(s, ST_EINVAL, "payload %zu: invalid name", i);
        for (size_t j = 0; j < i; j++)
            if (strcmp(name, r->payloads[j].name) == 0)
                return st_store_fail(s, ST_EINVAL, "payload \"%s\" given twice", name);
    }
    return 0;
}

/* Salts must already be random (drawn in one call per batch). */
static void prepare(const st_store *s, const st_record_in *r, prepared *p)
{
    p->time_us = r->time_us ? r->time_us : st_now_us();
    for (size_t i = 0; i < r->npayloads; i++) {
        const st_payload_in *pl = &r->payloads[i];
        size_t len = pl->len;
        if (len > s->payload_cap) {                  /* [PAYLOAD-3] keep the head, record the whole */
            st_sha256(p->full_sha[i], pl->data, pl->len);
            len = utf8_cut(pl->data, s->payload_cap);
        }
        p->stored_len[i] = len;
        st_payload_commit(p->commit[i], p->salt[i], pl->data, len);
    }
}

/* Builds the full envelope object for record r at `index` into doc. */
static st_json *build_envelope(st_json_doc *doc, const st_record_in *r, const prepared *p, uint64_t index)
{
    st_json *o = st_json_new_object(doc);
    if (!o) return NULL;
    for (const st_json *m = r->meta->child; m; m = m->next)
        if (st_json_object_add(doc, o, m->key, m->key_len, st_json_clone(doc, m))) return NULL;
    if (st_json_object_add(doc, o, "v", 1, st_json_new_int(doc, ST_ENTRY_VERSION)) ||
        st_json_object_add(doc, o, "index", 5, st_json_new_int(doc, (int64_t)index)) ||
        st_json_object_add(doc, o, "time_us", 7, st_json_new_int(doc, p->time_us)))
        return NULL;
    if (r->npayloads) {
        st_json *tab = st_json_new_object(doc);
        if (!tab) return NULL;
        for (size_t i = 0; i < r->npayloads; i++) {
            char hex[2 * ST_HASH_BYTES + 1];
            st_json *c = st_json_new_object(doc);
            st_hex_encode(hex, p->commit[i], ST_HASH_BYTES);
            if (!c || st_json_object_add(doc, c, "commit", 6, st_json_new_str(doc, hex)) ||
                st_json_object_add(doc, c, "len", 3, st_json_new_int(doc, (int64_t)p->stored_len[i])))
                return NULL;
            if (p->stored_len[i] != r->payloads[i].len) {
                st_json *t = st_json_new_object(doc);
                st_hex_encode(hex, p->full_sha[i], ST_HASH_BYTES);
                if (!t || st_json_object_add(doc, t, "len", 3, st_json_new_int(doc, (int64_t)r->payloads[i].len)) ||
                    st_json_object_add(doc, t, "sha256", 6, st_json_new_str(doc, hex)) ||
                    st_json_object_add(doc, c, "truncated", 9, t))
                    return NULL;
            }
            const char *nm = r->payloads[i].name;
            if (st_json_object_add(doc, tab, nm, strlen(nm), c)) return NULL;
        }
        if (st_json_object_add(doc, o, "payloads", 8, tab)) return NULL;
    }
    return o;
}

static int append_one(st_txn *txn, append_ctx *c, size_t k, uint64_t index)
{
    const st_record_in *r = &c->recs[k];
    const prepared *p = &c->prep[k];
    st_json_doc *doc = st_json_doc_new();
    st_buf bytes = { 0 };
    int rc = ENOMEM;
    if (!doc) return ENOMEM;
    st_json *env = build_envelope(doc, r, p, index);
    if (!env) goto out;
    st_json_write(&bytes, env, ST_JSON_SORT_KEYS);
    if (bytes.oom) goto out;
    if (bytes.len > ST_ENTRY_MAX) {
        rc = st_store_fail(c->s, ST_ETOOBIG, "entry %llu: envelope is %zu bytes (at most %u)",
                           (unsigned long long)index, bytes.len, ST_ENTRY_MAX);
        goto out;
    }
    uint8_t key[8];
    st_be64_put(key, index);
    if ((rc = st_db_put(txn, ST_T_ENTRIES, key, 8, bytes.data, bytes.len, ST_PUT_APPEND)) != 0) {
        if (rc == ST_EEXIST || rc == ST_EDB) rc = st_store_fail(c->s, rc, "entry %llu: cannot append", (unsigned long long)index);
        goto out;
    }
    st_hash leaf;
    st_leaf_hash(leaf, bytes.data, bytes.len);
    if ((rc = st_tree_append_leaf(txn, index, leaf)) != 0) goto out;
    /* Payload rows in key (name) order: each sorts after every existing row, so they append. */
    size_t order[ST_ENTRY_MAX_PAYLOADS];
    for (size_t i = 0; i < r->npayloads; i++) {
        size_t j = i;
        for (; j > 0 && strcmp(r->payloads[order[j - 1]].name, r->payloads[i].name) > 0; j--) order[j] = order[j - 1];
        order[j] = i;
    }
    const st_json *tool_input = NULL;
    for (size_t o = 0; o < r->npayloads; o++) {
        size_t i = order[o];
        const st_payload_in *pl = &r->payloads[i];
        if ((rc = st_payload_put_flags(txn, index, pl->name, p->salt[i], pl->data, p->stored_len[i], ST_PUT_APPEND)) != 0)
            goto out;
        if (strcmp(pl->name, "tool_input") == 0) tool_input = pl->value;
    }
    rc = st_index_add(txn, index, env, tool_input);
out:
    st_buf_free(&bytes);
    st_json_doc_free(doc);
    return rc;
}

static int append_txn(st_txn *txn, void *arg)
{
    append_ctx *c = arg;
    uint64_t size, sealed, unsealed_us;
    int rc;
    c->sealed = 0;
    if ((rc = st_size_txn(txn, &size)) || (rc = st_meta_get_u64(txn, ST_META_SEALED, &sealed)) ||
        (rc = st_meta_get_u64(txn, ST_META_UNSEALED_US, &unsealed_us)))
        return rc;
    c->first = size;
    for (size_t k = 0; k < c->n; k++)
        if ((rc = append_one(txn, c, k, size + k)) != 0) return rc;
    if ((rc = st_meta_put_u64(txn, ST_META_SIZE, size + c->n)) != 0) return rc;
    if (sealed == size && c->n) {               /* first unsealed entry: start the T clock */
        int64_t t = st_now_us();
        if ((rc = st_meta_put_u64(txn, ST_META_UNSEALED_US, (uint64_t)t)) != 0) return rc;
    }
    if (!(c->s->flags & ST_OPEN_NOSEAL)) {
        /* A failed policy seal (key missing, say) must not lose the append. */
        int src = st_seal_txn(c->s, txn, 0, &c->sealed);
        if (src == ST_EDB) return src;           /* map full: retry the whole transaction */
        if (src) c->sealed = -1;
    }
    return 0;
}

int st_append_records(st_store *s, const st_record_in *recs, size_t n, uint64_t *first_index_out)
{
    if (s->flags & ST_OPEN_RDONLY) return st_store_fail(s, ST_ERDONLY, "store opened read-only");
    if (n == 0) return st_store_fail(s, ST_EINVAL, "no records to append");
    for (size_t k = 0; k < n; k++) {
        int rc = validate(s, &recs[k]);
        if (rc) return rc;
    }
    prepared *prep = malloc(n * sizeof *prep);
    if (!prep) return ENOMEM;
    for (size_t k = 0; k < n; k++) randombytes_buf(prep[k].salt, recs[k].npayloads * ST_SALT_BYTES);
    for (size_t k = 0; k < n; k++) prepare(s, &recs[k], &prep[k]);
    append_ctx c = { .s = s, .recs = recs, .n = n, .prep = prep };
    s->err.msg[0] = 0;
    int rc = st_db_write(s->db, append_txn, &c, &s->err);
    sodium_memzero(prep, n * sizeof *prep);
    free(prep);
    if (rc) return rc;
    if (c.sealed == 1) st_seal_publish(s);
    if (first_index_out) *first_index_out = c.first;
    return 0;
}
