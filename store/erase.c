/*
 * erase.c: `sealtrail erase`: deletes payloads and their salts, keeps the
 * entry and its commitments (so every proof and `check` stay valid), and
 * appends a signed erasure record:
 *
 *   {"data":{"index":N,"payloads":["tool_input"],"reason":"…"},"kind":"erasure",…}
 *
 * Order (retention.h): journal, record (sealed), removal, compaction. After
 * compaction the erased bytes are gone from data.mdb and lock.mdb.
 *
 * Shared content. payload.c stores each JSON string literal of 4096 bytes or
 * more once, in the `blobs` table, with a reference count. Erasing a payload
 * drops its references; a blob whose count reaches zero is deleted. A blob
 * that other payloads (not erased) still reference is kept: those payloads
 * hold the same bytes and nobody asked to erase them. The result says how
 * many such references remain, so the operator can erase those entries too.
 * The literals are found by payload.c's own scan (a string literal, quotes
 * included, of at least 4096 bytes).
 */
#include "payload.h"
#include "retention_ops.h"
#include "store_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define DIGESTS_MAX 4096u

typedef struct digests {
    uint8_t (*d)[32];
    uint32_t *count;
    size_t n;
} digests;

/* Adds the blob digests of the large string literals in bytes (payload.c's rule). */
static void scan_literals(digests *g, const uint8_t *d, size_t len)
{
    st_buf lits = { 0 };
    int n = st_payload_blob_lits(d, len, &lits);
    st_blob_lit *l = (st_blob_lit *)(void *)lits.data;
    if (n > 0) st_payload_blob_hash(d, l, (size_t)n);
    for (int x = 0; x < n && g->n < DIGESTS_MAX; x++) {
        const uint8_t *h = l[x].digest;
        size_t k = 0;
        while (k < g->n && memcmp(g->d[k], h, 32) != 0) k++;
        if (k == g->n) {
            memcpy(g->d[g->n], h, 32);
            g->count[g->n++] = 0;
        }
        g->count[k]++;
    }
    st_buf_free(&lits);
}

/* References to our blobs held by payloads other than the ones being erased. */
static uint64_t shared_refs(st_txn *txn, const digests *g)
{
    uint64_t n = 0;
    for (size_t k = 0; k < g->n; k++) {
        uint64_t refs;
        if (st_payload_blob_count(txn, g->d[k], &refs) != 0) continue;
        if (refs > g->count[k]) n += refs - g->count[k];
    }
    return n;
}

/* What happened to payload `name` of entry `index` so far: 1 present, 0 absent (*record set), <0 error. */
static int payload_state(st_txn *txn, uint64_t index, const char *name, uint64_t *record)
{
    uint8_t key[8 + ST_PAYLOAD_NAME_MAX];
    size_t nl = strlen(name);
    st_be64_put(key, index);
    memcpy(key + 8, name, nl);
    const void *v;
    size_t vl;
    int rc = st_db_get(txn, ST_T_PAYLOADS, key, 8 + nl, &v, &vl);
    if (rc == 0) return 1;
    if (rc != ST_ENOTFOUND) return rc;
    rc = st_db_get(txn, ST_T_RETENTION, key, 8 + nl, &v, &vl);
    if (rc == 0 && vl == 8) {
        *record = st_be64_get(v);
        return 0;
    }
    *record = UINT64_MAX;
    return rc == ST_ENOTFOUND || rc == 0 ? 0 : rc;
}

/* Decides which payloads to erase; fills r->names, r->in_archive, r->shared. */
static int plan(st_store *s, const st_erase_opts *o, st_erase_result *r)
{
    st_txn *txn = NULL;
    char names[ST_ENTRY_MAX_PAYLOADS][ST_PAYLOAD_NAME_MAX + 1];
    size_t n = 0;
    uint64_t size = 0, already = UINT64_MAX;
    digests g = { malloc(DIGESTS_MAX * 32), malloc(DIGESTS_MAX * sizeof(uint32_t)), 0 };
    static _Thread_local st_rrec rec;
    int rc = !g.d || !g.count ? ENOMEM : st_db_read_begin(s->db, &txn, &s->err);
    if (rc) goto out;
    if ((rc = st_size_txn(txn, &size)) != 0) goto out;
    if (o->index >= size) {
        rc = st_store_fail(s, ST_EINVAL, "entry %llu does not exist (the log has %llu entries)",
                           (unsigned long long)o->index, (unsigned long long)size);
        goto out;
    }
    if ((rc = st_ret_entry_names(txn, o->index, names, &n, NULL, &s->err)) != 0) goto out;
    if (n == 0) {
        rc = st_store_fail(s, ST_EINVAL, "entry %llu has no payloads: nothing to erase (its metadata is not erasable)",
                           (unsigned long long)o->index);
        goto out;
    }
    for (size_t i = 0; i < o->nnames; i++) {
        size_t k = 0;
        while (k < n && strcmp(names[k], o->names[i]) != 0) k++;
        if (k == n) {
            char have[ST_ENTRY_MAX_PAYLOADS * (ST_PAYLOAD_NAME_MAX + 2) + 1] = "";
            for (size_t m = 0; m < n; m++) {
                if (m) strcat(have, ", ");
                strcat(have, names[m]);
            }
            rc = st_store_fail(s, ST_EINVAL, "entry %llu has no payload \"%s\" (it has: %s)",
                               (unsigned long long)o->index, o->names[i], have);
            goto out;
        }
    }
    for (size_t k = 0; k < n; k++) {
        int want = o->nnames == 0;
        for (size_t i = 0; i < o->nnames && !want; i++) want = strcmp(names[k], o->names[i]) == 0;
        if (!want) continue;
        uint64_t record = UINT64_MAX;
        int st = payload_state(txn, o->index, names[k], &record);
        if (st < 0) { rc = st; goto out; }
        if (st == 0 && record != UINT64_MAX && st_ret_read_record(txn, record, &rec, NULL) == 0) {
            if (rec.kind == ST_RREC_ERASURE || rec.kind == ST_RREC_PRUNE) {
                already = record;          /* gone already, with a record */
                continue;
            }
            if (rec.kind == ST_RREC_ARCHIVE) {
                r->in_archive = 1;
                snprintf(r->archive_file, sizeof r->archive_file, "%s", rec.file);
            }
        }
        if (st == 1) {
            uint8_t salt[ST_SALT_BYTES], *data = NULL;
            size_t len = 0;
            if (st_payload_read(txn, o->index, names[k], salt, &data, &len) == 0) {
                scan_literals(&g, data, len);
                sodium_memzero(data, len);
                free(data);
            }
        }
        memcpy(r->names[r->nnames++], names[k], ST_PAYLOAD_NAME_MAX + 1);
    }
    if (r->nnames == 0) {
        rc = st_store_fail(s, ST_EEXIST, "entry %llu: %s already removed by record %llu", (unsigned long long)o->index,
                           o->nnames ? "the payloads named are" : "every payload is", (unsigned long long)already);
        goto out;
    }
    r->shared = shared_refs(txn, &g);
out:
    st_db_read_end(txn);
    free(g.d);
    free(g.count);
    return rc;
}

int st_erase(st_store *s, const st_erase_opts *o, st_erase_result *r)
{
    memset(r, 0, sizeof *r);
    if (s->flags & ST_OPEN_RDONLY) return st_store_fail(s, ST_ERDONLY, "store opened read-only");
    if (!o->reason || !*o->reason)
        return st_store_fail(s, ST_EINVAL, "an erasure needs a reason (it is kept in the signed record)");
    int rc = st_ret_reason_check(s, o->reason);      /* as a retention policy's */
    if (rc) return rc;
    int lock = -1;
    rc = st_ret_oplock(s, &lock);
    if (rc) return rc;
    if ((rc = st_retention_recover(s)) != 0) goto out;
    if ((rc = plan(s, o, r)) != 0) {
        /* Already erased, but the run that erased it may not have compacted (killed, or the
         * store was busy): the bytes may still be in free pages. Compact now, still exit 1. */
        if (rc == ST_EEXIST && !o->no_compact && st_retention_compact_pending(s)) {
            char why[sizeof s->err.msg];
            snprintf(why, sizeof why, "%s", s->err.msg);
            int crc = st_store_compact(s, o->wait_ms, &r->bytes_before, &r->bytes_after);
            r->compacted = crc == 0;
            st_store_fail(s, rc, "%s; %s", why, crc == 0 ? "compacted the store, which an earlier run had not finished"
                                                       : "the store still waits for a compaction ('sealtrail retention compact')");
        }
        goto out;
    }

    st_json_doc *doc = st_json_doc_new();
    if (!doc) { rc = ENOMEM; goto out; }
    st_json *data = st_json_new_object(doc), *names = st_json_new_array(doc), *j = st_json_new_object(doc);
    int bad = !data || !names || !j;
    for (size_t i = 0; i < r->nnames && !bad; i++)
        bad |= st_json_array_add(doc, names, st_json_new_str(doc, r->names[i])) != 0;
    bad = bad || st_json_object_add(doc, data, "index", 5, st_json_new_int(doc, (int64_t)o->index)) ||
          st_json_object_add(doc, data, "payloads", 8, names) ||
          st_json_object_add(doc, data, "reason", 6, st_json_new_str(doc, o->reason)) ||
          st_json_object_add(doc, j, "op", 2, st_json_new_str(doc, "erase")) ||
          st_json_object_add(doc, j, "index", 5, st_json_new_int(doc, (int64_t)o->index));
    if (bad) rc = ENOMEM;
    if (rc == 0) rc = st_ret_journal_begin(s, doc, j);
    if (rc == 0) rc = st_ret_append_record(s, "erasure", doc, data, &r->record);
    st_json_doc_free(doc);
    if (rc) goto out;

    st_rrec rec;
    memset(&rec, 0, sizeof rec);
    rec.kind = ST_RREC_ERASURE;
    rec.index = r->record;
    rec.target = o->index;
    rec.nnames = r->nnames;
    memcpy(rec.names, r->names, sizeof rec.names);
    if ((rc = st_ret_apply(s, &rec, NULL)) != 0) goto out;
    if (!o->no_compact) {
        rc = st_store_compact(s, o->wait_ms, &r->bytes_before, &r->bytes_after);
        if (rc == 0) r->compacted = 1;
        else {
            char why[sizeof s->err.msg];
            snprintf(why, sizeof why, "%s", s->err.msg);
            st_store_fail(s, rc, "entry %llu: erased (record %llu), but its bytes stay in free pages of data.mdb until "
                          "the store is compacted: %s; run 'sealtrail retention compact' when other sealtrail "
                          "processes are done", (unsigned long long)o->index, (unsigned long long)r->record, why);
        }
    }
out:
    st_ret_opunlock(lock);
    return rc;
}
