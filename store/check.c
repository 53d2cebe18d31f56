/*
 * check.c: st_check re-verifies a whole store from the stored bytes up, in
 * one read snapshot, and names the first failure:
 *   1. every entry is canonical and carries its own index [ENTRY-8];
 *   2. every leaf hash recomputed from the entry bytes equals the stored leaf;
 *   3. every stored interior node equals the hash of its stored children;
 *   4. every stored payload matches its commitment and length, and the
 *      payloads table holds no row that no entry names; every blob's
 *      reference count equals the references the payloads hold;
 *   5. every checkpoint parses, is signed by the log key, names this origin,
 *      and its root equals the root recomputed from the leaves; times never
 *      go backwards; consecutive checkpoints are consistent (proof generated
 *      from the store, verified with the independent verifier);
 *   6. meta (size, sealed size) agrees with the entries and checkpoints;
 *   7. the secondary indexes agree with the entries (index.c).
 */
#include "store_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "entry_store.h"
#include "index.h"
#include "keys.h"
#include "payload.h"

typedef struct check_state {
    st_store *s;
    st_txn *txn;
    st_frontier f;
    st_hash prev_leaf;       /* the leaf hash of the entry checked last */
    uint64_t size;
    uint64_t payload_rows;   /* payload rows the entries name and that are present */
    st_buf blob_keys;        /* the key of each blob a payload references, once per reference */
    st_buf row;              /* a packed entry row, expanded */
} check_state;

static void hex_of(char out[65], const st_hash h) { st_hex_encode(out, h, ST_HASH_BYTES); }

static int check_payloads(check_state *c, const st_entry *e)
{
    for (size_t i = 0; i < e->npayloads; i++) {
        const st_entry_payload *p = &e->payloads[i];
        uint8_t salt[ST_SALT_BYTES];
        uint8_t *data = NULL;
        size_t len = 0;
        int rc = st_payload_read_blobs(c->txn, e->index, p->name, salt, &data, &len, &c->blob_keys);
        if (rc == ST_ENOTFOUND) {
            uint64_t rec;
            int why = st_retention_payload_absent_ok(c->txn, e->index, p->name, &rec);
            if (why == ST_ABSENT_EXPLAINED) continue;
            if (why == ST_ABSENT_UNNAMED)
                return st_store_fail(c->s, ST_ECORRUPT, "entry %llu: payload \"%s\" is missing and no erasure or archive record covers it",
                                     (unsigned long long)e->index, p->name);
            /* Name the record: its damage, not the payload's absence, is the finding. */
            return st_store_fail(c->s, ST_ECORRUPT, "entry %llu: payload \"%s\" is missing; record %llu, named for it, %s",
                                 (unsigned long long)e->index, p->name, (unsigned long long)rec,
                                 why == ST_ABSENT_RECORD_UNREADABLE ? "is damaged or not an erasure or archive record"
                                                                    : "does not cover it");
        }
        if (rc) return rc == ST_ECORRUPT ? st_store_fail(c->s, rc, "entry %llu: payload \"%s\": storage encoding is damaged",
                                                         (unsigned long long)e->index, p->name) : rc;
        c->payload_rows++;
        st_hash got;
        st_payload_commit(got, salt, data, len);
        free(data);
        if (len != p->len)
            return st_store_fail(c->s, ST_ECORRUPT, "entry %llu: payload \"%s\": length %zu, entry commits to %llu",
                                 (unsigned long long)e->index, p->name, len, (unsigned long long)p->len);
        if (!st_ct_equal(got, p->commit, ST_HASH_BYTES)) {
            char a[65], b[65];
            hex_of(a, got);
            hex_of(b, p->commit);
            return st_store_fail(c->s, ST_ECORRUPT, "entry %llu: payload \"%s\": commitment mismatch: computed %s, entry has %s",
                                 (unsigned long long)e->index, p->name, a, b);
        }
    }
    return 0;
}

static int cmp_key32(const void *a, const void *b) { return memcmp(a, b, 32); }

/* Step 4's blobs: each blob's content hashes to its key and its count
 * (payload.c) equals the references counted in c->blob_keys; every count
 * row has its blob.
 * A reference to a missing blob already failed its payload's read. */
static int check_blobs(check_state *c)
{
    size_t n = c->blob_keys.len / 32, at = 0;
    uint8_t (*keys)[32] = (uint8_t (*)[32])(void *)c->blob_keys.data;
    if (c->blob_keys.oom) return ENOMEM;
    if (n) qsort(keys, n, 32, cmp_key32);
    const void *k, *v;
    size_t kl, vl;
    char hex[65];
    for (int t = 0; t < 2; t++) {
        st_cursor *cur = NULL;
        int rc = st_cursor_open(c->txn, t == 0 ? ST_T_BLOBS : ST_T_BLOB_REFS, &cur);
        if (rc == ST_ENOTFOUND) continue;          /* a store without the table (older, opened read-only) */
        if (rc) return rc;
        for (rc = st_cursor_seek(cur, NULL, 0, &k, &kl, &v, &vl); rc == 0; rc = st_cursor_next(cur, &k, &kl, &v, &vl)) {
            if (kl != 32) {
                rc = st_store_fail(c->s, ST_ECORRUPT, "%s table: a key of %zu bytes (blob keys are 32)",
                                   t == 0 ? "blobs" : "blob_refs", kl);
                break;
            }
            st_hex_encode(hex, k, 32);
            uint64_t count, held = 0;
            int crc = st_payload_blob_count(c->txn, k, &count);
            if (t == 1) {                          /* count rows: only that their blob is there */
                if (crc == ST_ECORRUPT)
                    rc = st_store_fail(c->s, ST_ECORRUPT, "blob_refs table: the count of blob %s is malformed, "
                                       "or the blob is not stored", hex);
                else rc = crc;
                if (rc) break;
                continue;
            }
            if (crc == ST_ECORRUPT) {
                rc = st_store_fail(c->s, ST_ECORRUPT, "blob %s: its reference count is missing, zero or malformed", hex);
                break;
            }
            if ((rc = crc) != 0) break;
            if ((rc = st_payload_blob_verify(c->txn, k)) != 0) {
                if (rc == ST_ECORRUPT)
                    rc = st_store_fail(c->s, rc, "blob %s: its content is damaged or does not hash to its key", hex);
                break;
            }
            while (at < n && memcmp(keys[at], k, 32) < 0) at++;
            while (at < n && memcmp(keys[at], k, 32) == 0) held++, at++;
            if (count != held) {
                rc = st_store_fail(c->s, ST_ECORRUPT, "blob %s: reference count %llu, but the payloads hold %llu "
                                   "references to it", hex, (unsigned long long)count, (unsigned long long)held);
                break;
            }
        }
        st_cursor_close(cur);
        if (rc != ST_ENOTFOUND) return rc;
    }
    return 0;
}

/* Steps 1-4 for entry i, stored as row. */
static int check_entry(check_state *c, uint64_t i, const void *row, size_t rowlen)
{
    const uint8_t *bytes;
    size_t len;
    int rc = st_entry_row_decode(row, rowlen, &c->row, &bytes, &len);
    if (rc == ST_ECORRUPT)
        return st_store_fail(c->s, rc, "entry %llu: stored row (%zu bytes) is neither an entry nor a packed one",
                             (unsigned long long)i, rowlen);
    if (rc) return rc;
    st_entry e;
    st_err err;
    rc = st_entry_parse(&e, bytes, len, &err);
    if (rc) return st_store_fail(c->s, ST_ECORRUPT, "entry %llu: %s", (unsigned long long)i, err.msg);
    if (e.index != i) {
        st_entry_free(&e);
        return st_store_fail(c->s, ST_ECORRUPT, "entry %llu: stored under index %llu but says index %llu",
                             (unsigned long long)i, (unsigned long long)i, (unsigned long long)e.index);
    }
    rc = check_payloads(c, &e);
    st_entry_free(&e);
    if (rc) return rc;

    st_hash leaf, stored;
    char a[65], b[65];
    st_leaf_hash(leaf, bytes, len);
    /* Leaf hashes are not stored (tree.c), but a store of format version 2
     * or older kept them: such a row must agree. */
    if ((rc = st_tree_stored_leaf(c->txn, i, stored)) == 0 && !st_ct_equal(leaf, stored, ST_HASH_BYTES)) {
        hex_of(a, leaf);
        hex_of(b, stored);
        return st_store_fail(c->s, ST_ECORRUPT, "entry %llu: leaf hash mismatch: computed %s, tree has %s",
                             (unsigned long long)i, a, b);
    }
    if (rc == ST_ECORRUPT) return st_store_fail(c->s, rc, "entry %llu: the stored leaf hash is not 32 bytes", (unsigned long long)i);
    if (rc && rc != ST_ENOTFOUND) return rc;
    st_frontier_push_leaf(&c->f, leaf);
    /* Interior nodes completed by this leaf: (l, pos) for l = 1..ctz(i+1);
     * the leaves under level 1 are this entry's and the one before. */
    uint64_t pos = i;
    for (unsigned l = 1; pos & 1; l++) {
        pos >>= 1;
        st_hash left, right, want, have;
        if (l == 1) {
            memcpy(left, c->prev_leaf, ST_HASH_BYTES);
            memcpy(right, leaf, ST_HASH_BYTES);
        } else if (st_tree_get_node(c->txn, l - 1, 2 * pos, left) || st_tree_get_node(c->txn, l - 1, 2 * pos + 1, right)) {
            return st_store_fail(c->s, ST_ECORRUPT, "tree node (level %u, position %llu) is missing", l - 1,
                                 (unsigned long long)(2 * pos));
        }
        if (st_tree_get_node(c->txn, l, pos, have))
            return st_store_fail(c->s, ST_ECORRUPT, "tree node (level %u, position %llu) is missing", l, (unsigned long long)pos);
        st_node_hash(want, left, right);
        if (!st_ct_equal(want, have, ST_HASH_BYTES)) {
            hex_of(a, want);
            hex_of(b, have);
            if (l == 1)   /* the entries or the node changed: which, the tree cannot tell */
                return st_store_fail(c->s, ST_ECORRUPT, "entry %llu or entry %llu: their leaf hashes give %s, tree node "
                                     "(level 1, position %llu) has %s", (unsigned long long)(i - 1), (unsigned long long)i,
                                     a, (unsigned long long)pos, b);
            return st_store_fail(c->s, ST_ECORRUPT, "tree node (level %u, position %llu): computed %s, stored %s", l,
                                 (unsigned long long)pos, a, b);
        }
    }
    memcpy(c->prev_leaf, leaf, ST_HASH_BYTES);
    return 0;
}

typedef struct cp_state {
    uint64_t size;
    st_hash root;
    int64_t time_s;
} cp_state;

/* Step 5 for one checkpoint, once the frontier has reached its size. */
static int check_checkpoint(check_state *c, uint64_t key_size, const char *note_bytes, size_t len, cp_state *prev)
{
    st_note note;
    st_checkpoint cp;
    st_err err;
    int rc;
    if (st_note_parse(&note, note_bytes, len, &err) != 0 || st_checkpoint_parse(&cp, note.text, note.text_len, &err) != 0)
        return st_store_fail(c->s, ST_ECORRUPT, "checkpoint %llu: malformed: %s", (unsigned long long)key_size, err.msg);
    if (cp.size != key_size)
        return st_store_fail(c->s, ST_ECORRUPT, "checkpoint stored under size %llu says size %llu",
                             (unsigned long long)key_size, (unsigned long long)cp.size);
    if (strcmp(cp.origin, c->s->origin) != 0)
        return st_store_fail(c->s, ST_ECORRUPT, "checkpoint %llu: origin \"%s\", store is \"%s\"",
                             (unsigned long long)cp.size, cp.origin, c->s->origin);
    st_vkey keys[ST_KEYS_MAX];
    size_t nkeys = 0;
    if ((rc = st_keys_for_checkpoint(c->txn, c->s, &cp, keys, &nkeys)) != 0) return rc;
    if ((rc = st_note_verify(&note, keys, nkeys, NULL, &err)) != 0) {
        st_err why = { { 0 } };   /* the key history says why each signer may not sign it */
        if (st_keys_verify_checkpoint(c->txn, c->s, note_bytes, len, &why) != 0 && why.msg[0])
            return st_store_fail(c->s, ST_ECORRUPT, "checkpoint %llu: %s", (unsigned long long)cp.size, why.msg);
        return st_store_fail(c->s, ST_ECORRUPT, "checkpoint %llu: %s", (unsigned long long)cp.size, err.msg);
    }
    if (cp.time_s < 0 || cp.time_s < prev->time_s)
        return st_store_fail(c->s, ST_ECORRUPT, "checkpoint %llu: time %lld is %s", (unsigned long long)cp.size,
                             (long long)cp.time_s, cp.time_s < 0 ? "missing" : "earlier than the previous checkpoint's");
    st_hash root;
    st_frontier_root(&c->f, root);
    if (!st_ct_equal(root, cp.root, ST_HASH_BYTES)) {
        char a[65], b[65];
        hex_of(a, root);
        hex_of(b, cp.root);
        return st_store_fail(c->s, ST_ECORRUPT, "checkpoint %llu: root mismatch: computed %s, checkpoint has %s",
                             (unsigned long long)cp.size, a, b);
    }
    if (prev->size > 0) {
        st_hash *proof = NULL;
        size_t np = 0;
        if ((rc = st_prove_consistency_txn(c->txn, prev->size, cp.size, &proof, &np)) != 0) return rc;
        rc = st_verify_consistency(prev->size, cp.size, prev->root, cp.root, (const st_hash *)proof, np);
        free(proof);
        if (rc) return st_store_fail(c->s, ST_ECORRUPT, "checkpoints %llu and %llu are not consistent",
                                     (unsigned long long)prev->size, (unsigned long long)cp.size);
    }
    prev->size = cp.size;
    memcpy(prev->root, cp.root, ST_HASH_BYTES);
    prev->time_s = cp.time_s;
    return 0;
}

static int run_check(check_state *c)
{
    st_store *s = c->s;
    uint64_t sealed, n_entries;
    int rc;
    if ((rc = st_size_txn(c->txn, &c->size)) || (rc = st_meta_get_u64(c->txn, ST_META_SEALED, &sealed)) ||
        (rc = st_db_count(c->txn, ST_T_ENTRIES, &n_entries)))
        return rc;
    if (n_entries != c->size)
        return st_store_fail(s, ST_ECORRUPT, "meta says %llu entries, the entries table holds %llu",
                             (unsigned long long)c->size, (unsigned long long)n_entries);
    st_cursor *ec = NULL, *cc = NULL;
    if ((rc = st_cursor_open(c->txn, ST_T_ENTRIES, &ec)) != 0) return rc;
    rc = st_cursor_open(c->txn, ST_T_CHECKPOINTS, &cc);
    if (rc == ST_ENOTFOUND) rc = 0;
    const void *k, *v, *ck = NULL, *cv = NULL;
    size_t kl, vl, ckl = 0, cvl = 0;
    int crc = cc ? st_cursor_seek(cc, NULL, 0, &ck, &ckl, &cv, &cvl) : ST_ENOTFOUND;
    cp_state prev = { 0, { 0 }, 0 };
    st_frontier_init(&c->f);
    uint64_t i = 0;
    int erc = rc ? rc : st_cursor_seek(ec, NULL, 0, &k, &kl, &v, &vl);
    for (;;) {
        /* Checkpoints whose size the frontier has reached. */
        while (rc == 0 && crc == 0) {
            if (ckl != 8) { rc = st_store_fail(s, ST_ECORRUPT, "checkpoints table: malformed key"); break; }
            uint64_t csize = st_be64_get(ck);
            if (csize > c->f.size) break;
            rc = check_checkpoint(c, csize, cv, cvl, &prev);
            if (rc == 0) crc = st_cursor_next(cc, &ck, &ckl, &cv, &cvl);
        }
        if (rc || erc) break;
        if (kl != 8 || st_be64_get(k) != i) {
            rc = st_store_fail(s, ST_ECORRUPT, "entries table: expected index %llu, found key %s",
                               (unsigned long long)i, kl == 8 ? "out of order" : "of the wrong length");
            break;
        }
        if ((rc = check_entry(c, i, v, vl)) != 0) break;
        i++;
        erc = st_cursor_next(ec, &k, &kl, &v, &vl);
    }
    if (rc == 0 && erc != ST_ENOTFOUND) rc = erc;
    if (rc == 0 && crc == 0)
        rc = st_store_fail(s, ST_ECORRUPT, "checkpoint %llu is beyond the log (%llu entries)",
                           (unsigned long long)st_be64_get(ck), (unsigned long long)c->size);
    if (rc == 0 && crc != ST_ENOTFOUND) rc = crc;
    if (rc == 0 && prev.size != sealed)
        rc = st_store_fail(s, ST_ECORRUPT, "meta says sealed size %llu, latest checkpoint has size %llu",
                           (unsigned long long)sealed, (unsigned long long)prev.size);
    st_cursor_close(ec);
    st_cursor_close(cc);
    uint64_t n_payloads = 0;
    if (rc == 0 && (rc = st_db_count(c->txn, ST_T_PAYLOADS, &n_payloads)) == 0 && n_payloads != c->payload_rows)
        rc = st_store_fail(s, ST_ECORRUPT, "payloads table: %llu rows stored, the entries name %llu of them",
                           (unsigned long long)n_payloads, (unsigned long long)c->payload_rows);
    if (rc == 0) rc = check_blobs(c);
    if (rc == 0 && (rc = st_index_check(c->txn, c->size, &s->err)) != 0 && rc != ENOMEM && rc > -30900)
        rc = ST_ECORRUPT;
    return rc;
}

int st_check(st_store *s)
{
    check_state c = { .s = s };
    s->err.msg[0] = 0;
    int rc = st_db_read_begin(s->db, &c.txn, &s->err);
    if (rc) return rc;
    rc = run_check(&c);
    st_db_read_end(c.txn);
    st_buf_free(&c.row);
    st_buf_free(&c.blob_keys);
    return rc;
}
