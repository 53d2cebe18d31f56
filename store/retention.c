/*
 * retention.c: the signed retention policy, the retention state shown by
 * `sealtrail retention show`, appending retention records, the journal of
 * an operation in progress, and st_retention_payload_absent_ok (used by
 * check and export: is an absent payload explained by a signed record?).
 *
 * The `retention` table holds, for every payload removed by a signed
 * erasure, archive or prune record, the row
 *     u64be index || payload name  ->  u64be index of that record
 * (export_store.c reads the same layout to write ABSENT records).
 */
#include "retention.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "entry_store.h"
#include "event.h"
#include "retention_ops.h"
#include "store_int.h"

/* ---- reading records ------------------------------------------------------------------- */

int st_ret_read_record(st_txn *txn, uint64_t index, st_rrec *out, st_err *err)
{
    st_entry e;
    memset(out, 0, sizeof *out);
    int rc = st_entry_load(txn, index, "record", &e, err);
    if (rc) return rc;
    rc = st_rrec_parse(out, &e, err);
    st_entry_free(&e);
    return rc;
}

/* Cache of the last record consulted by st_retention_payload_absent_ok: an
 * archive explains thousands of absences, so parse it once. Keyed by index
 * and the leaf hash of its bytes (entries never change, but a process may
 * open several stores). */
static _Thread_local struct {
    int valid;
    uint64_t index;
    st_hash leaf;
    st_rrec rec;
} absent_cache;

int st_retention_payload_absent_ok(st_txn *txn, uint64_t index, const char *name, uint64_t *record_out)
{
    size_t nl = strlen(name);
    *record_out = UINT64_MAX;
    if (nl == 0 || nl > ST_PAYLOAD_NAME_MAX) return ST_ABSENT_UNNAMED;
    uint8_t key[8 + ST_PAYLOAD_NAME_MAX];
    st_be64_put(key, index);
    memcpy(key + 8, name, nl);
    const void *v;
    size_t vl;
    if (st_db_get(txn, ST_T_RETENTION, key, 8 + nl, &v, &vl) != 0 || vl != 8) return ST_ABSENT_UNNAMED;
    uint64_t record = st_be64_get(v);
    *record_out = record;
    if (record <= index) return ST_ABSENT_RECORD_SILENT;   /* a record cannot cover what comes after it */
    const uint8_t *rb;
    size_t rl;
    st_buf row = { 0 };
    if (st_entry_row_get(txn, record, &row, &rb, &rl) != 0) {
        st_buf_free(&row);
        return ST_ABSENT_RECORD_UNREADABLE;
    }
    st_hash leaf;
    st_leaf_hash(leaf, rb, rl);
    int ok = 1;
    if (!absent_cache.valid || absent_cache.index != record || memcmp(absent_cache.leaf, leaf, 32) != 0) {
        absent_cache.valid = 0;
        ok = st_rrec_parse_bytes(&absent_cache.rec, rb, rl, NULL) == 0;
        if (ok) {
            absent_cache.valid = 1;
            absent_cache.index = record;
            memcpy(absent_cache.leaf, leaf, 32);
        }
    }
    st_buf_free(&row);
    if (!ok) return ST_ABSENT_RECORD_UNREADABLE;
    return st_rrec_covers(&absent_cache.rec, index, name) ? ST_ABSENT_EXPLAINED : ST_ABSENT_RECORD_SILENT;
}

/* ---- meta bookkeeping ------------------------------------------------------------------- */

uint64_t st_ret_meta_u64(st_txn *txn, const char *name)
{
    uint64_t v = 0;
    return st_meta_get_u64(txn, name, &v) == 0 ? v : 0;
}

void st_ret_list_key(char out[64], const char *prefix, uint64_t begin)
{
    snprintf(out, 64, "%s%020llu", prefix, (unsigned long long)begin);
}

/* ---- appending records --------------------------------------------------------------------- */

int st_ret_append_record(st_store *s, const char *kind, st_json_doc *doc, st_json *data, uint64_t *index_out)
{
    st_json *meta = st_json_new_object(doc);
    const char *host = st_event_host(), *user = st_event_user();
    if (!meta || st_json_object_add(doc, meta, "kind", 4, st_json_new_str(doc, kind)) ||
        st_json_object_add(doc, meta, "data", 4, data) ||
        (host && *host && st_json_object_add(doc, meta, "host", 4, st_json_new_str(doc, host))) ||
        (user && *user && st_json_object_add(doc, meta, "user", 4, st_json_new_str(doc, user))))
        return ENOMEM;
    st_record_in rec;
    memset(&rec, 0, sizeof rec);
    rec.meta = meta;
    int rc = st_append_records(s, &rec, 1, index_out);
    if (rc) return rc;
    char *note = NULL;
    size_t len;
    rc = st_seal(s, &note, &len);
    free(note);
    if (rc) {
        char why[sizeof s->err.msg];
        snprintf(why, sizeof why, "%s", s->err.msg);
        return st_store_fail(s, rc, "%s record %llu was appended but could not be sealed (%s); the next retention "
                             "command finishes the job once sealing works", kind, (unsigned long long)*index_out,
                             why[0] ? why : st_strerror(rc));
    }
    return 0;
}

/* ---- the journal ------------------------------------------------------------------------------ */

typedef struct jput {
    const uint8_t *text;
    size_t len;
} jput;

static int journal_put_txn(st_txn *txn, void *arg)
{
    jput *j = arg;
    return st_meta_put_str(txn, ST_RET_JOURNAL, (const char *)j->text, j->len);
}

int st_ret_journal_begin(st_store *s, st_json_doc *doc, st_json *fields)
{
    st_txn *txn = NULL;
    uint64_t size = 0;
    int rc = st_db_read_begin(s->db, &txn, &s->err);
    if (rc) return rc;
    rc = st_size_txn(txn, &size);
    st_db_read_end(txn);
    if (rc) return rc;
    if (st_json_object_add(doc, fields, "size", 4, st_json_new_int(doc, (int64_t)size))) return ENOMEM;
    st_buf b = { 0 };
    st_json_write(&b, fields, ST_JSON_SORT_KEYS);
    if (b.oom) return ENOMEM;
    jput j = { b.data, b.len };
    rc = st_db_write(s->db, journal_put_txn, &j, &s->err);
    st_buf_free(&b);
    return rc;
}

int st_ret_journal_clear_txn(st_txn *txn)
{
    int rc = st_db_del(txn, ST_T_META, ST_RET_JOURNAL, strlen(ST_RET_JOURNAL));
    return rc == ST_ENOTFOUND ? 0 : rc;
}

/* ---- the policy --------------------------------------------------------------------------------- */

int st_retention_policy(st_store *s, st_rrec *out)
{
    memset(out, 0, sizeof *out);
    st_txn *txn = NULL;
    int rc = st_db_read_begin(s->db, &txn, &s->err);
    if (rc) return rc;
    uint64_t idx;
    rc = st_meta_get_u64(txn, ST_RET_POLICY, &idx);
    if (rc == ST_ENOTFOUND) {
        rc = 0;
    } else if (rc == 0) {
        rc = st_ret_read_record(txn, idx, out, &s->err);
        if (rc == 0 && out->kind != ST_RREC_POLICY)
            rc = st_store_fail(s, ST_ECORRUPT, "meta %s points at entry %llu, which is not a retention-policy record",
                               ST_RET_POLICY, (unsigned long long)idx);
    }
    st_db_read_end(txn);
    return rc;
}

/* The newest time_us in the log: the time index's last key, or the last entry. */
static int newest_time(st_txn *txn, uint64_t size, int64_t *out)
{
    *out = INT64_MIN;
    st_cursor *c = NULL;
    const void *k, *v;
    size_t kl, vl;
    if (st_cursor_open(txn, ST_T_IX_TIME, &c) == 0) {
        if (st_cursor_last(c, &k, &kl, &v, &vl) == 0 && kl >= 8)      /* key: T (sign bit flipped) || I */
            *out = (int64_t)(st_be64_get(k) ^ ((uint64_t)1 << 63));
        st_cursor_close(c);
    }
    st_entry e;
    if (size && st_entry_load(txn, size - 1, "entry", &e, NULL) == 0) {
        if (e.time_us > *out) *out = e.time_us;
        st_entry_free(&e);
    }
    return 0;
}

static int set_locked(st_store *s, const st_policy_in *p, uint64_t *index_out);

int st_ret_reason_check(st_store *s, const char *reason)
{
    /* Entries are UTF-8; the reason is shown as typed by 'retention show' and
     * 'erase' (no control characters, then) and kept whole by the record parser
     * up to ST_RREC_REASON_MAX bytes. */
    size_t rlen = strlen(reason);
    if (rlen > ST_RET_REASON_MAX || !st_utf8_valid((const uint8_t *)reason, rlen))
        return st_store_fail(s, ST_EINVAL, "the reason must be valid UTF-8 of at most %u bytes (it has %zu)",
                             ST_RET_REASON_MAX, rlen);
    for (size_t i = 0; i < rlen; i++)
        if ((unsigned char)reason[i] < 0x20 || reason[i] == 0x7f)
            return st_store_fail(s, ST_EINVAL, "the reason holds a control character (byte 0x%02x at offset %zu): "
                                 "give it on one line, without terminal escapes", (unsigned char)reason[i], i);
    return 0;
}

int st_retention_set(st_store *s, const st_policy_in *p, uint64_t *index_out)
{
    char a[32], b[32];
    if (p->min_us < 0 || (p->has_max && p->max_us < 0) || (p->has_archive_after && p->archive_after_us < 0))
        return st_store_fail(s, ST_EINVAL, "retention durations must not be negative");
    if (p->reason) {
        int rc = st_ret_reason_check(s, p->reason);
        if (rc) return rc;
    }
    if (p->has_max && p->max_us < p->min_us) {
        st_rrec_format_duration(a, p->max_us);
        st_rrec_format_duration(b, p->min_us);
        return st_store_fail(s, ST_EINVAL, "maximum retention %s is shorter than the minimum %s", a, b);
    }
    int lock = -1;
    int rc = st_ret_oplock(s, &lock);
    if (rc) return rc;
    rc = set_locked(s, p, index_out);
    st_ret_opunlock(lock);
    return rc;
}

static int set_locked(st_store *s, const st_policy_in *p, uint64_t *index_out)
{
    char a[32], b[32];
    int rc = st_retention_recover(s);
    if (rc) return rc;
    st_rrec cur;
    if ((rc = st_retention_policy(s, &cur)) != 0) return rc;
    if (cur.kind == ST_RREC_POLICY && p->min_us < cur.min_us) {
        st_txn *txn = NULL;
        uint64_t size = 0;
        int64_t newest = INT64_MIN, now = st_now_us();
        if ((rc = st_db_read_begin(s->db, &txn, &s->err)) != 0) return rc;
        rc = st_size_txn(txn, &size);
        if (rc == 0) rc = newest_time(txn, size, &newest);
        st_db_read_end(txn);
        if (rc) return rc;
        if (newest != INT64_MIN && newest > now - cur.min_us) {
            char until[32];
            st_rrec_format_duration(a, cur.min_us);
            st_rrec_format_duration(b, p->min_us);
            st_time_format_rfc3339(until, newest + cur.min_us);
            return st_store_fail(s, ST_EPOLICY,
                                 "refused: the minimum retention in force (%s, policy record %llu) protects entries "
                                 "until %s; a minimum of %s would end that protection earlier (the minimum can be "
                                 "raised, never lowered while entries are under it)", a,
                                 (unsigned long long)cur.index, until, b);
        }
    }
    st_json_doc *doc = st_json_doc_new();
    if (!doc) return ENOMEM;
    st_json *data = st_json_new_object(doc), *j = st_json_new_object(doc);
    int bad = !data || !j;
#define ADDI(o, k, v) bad |= st_json_object_add(doc, o, k, strlen(k), st_json_new_int(doc, (int64_t)(v))) != 0
    ADDI(data, "min_retention_us", p->min_us);
    if (p->has_max) ADDI(data, "max_retention_us", p->max_us);
    if (p->has_archive_after) ADDI(data, "archive_after_us", p->archive_after_us);
    if (cur.kind == ST_RREC_POLICY) ADDI(data, "previous", cur.index);
#undef ADDI
    if (p->reason && *p->reason)
        bad |= st_json_object_add(doc, data, "reason", 6, st_json_new_str(doc, p->reason)) != 0;
    bad |= st_json_object_add(doc, j, "op", 2, st_json_new_str(doc, "policy")) != 0;
    if (bad) {
        st_json_doc_free(doc);
        return ENOMEM;
    }
    rc = st_ret_journal_begin(s, doc, j);
    uint64_t idx = 0;
    if (rc == 0) rc = st_ret_append_record(s, "retention-policy", doc, data, &idx);
    st_json_doc_free(doc);
    if (rc) return rc;
    st_rrec rec;
    memset(&rec, 0, sizeof rec);
    rec.kind = ST_RREC_POLICY;
    rec.index = idx;
    if ((rc = st_ret_apply(s, &rec, NULL)) != 0) return rc;
    if (index_out) *index_out = idx;
    return 0;
}

/* ---- state --------------------------------------------------------------------------------------- */

/* The compaction mark is there (whatever its value: compacting is always safe). */
static int compact_pending_txn(st_txn *txn)
{
    const char *str;
    size_t len;
    return st_meta_get_str(txn, ST_RET_COMPACT_PENDING, &str, &len) == 0;
}

int st_retention_compact_pending(st_store *s)
{
    st_txn *txn = NULL;
    if (st_db_read_begin(s->db, &txn, NULL) != 0) return 0;
    int pending = compact_pending_txn(txn);
    st_db_read_end(txn);
    return pending;
}

int st_retention_state_get(st_store *s, st_retention_state *out)
{
    memset(out, 0, sizeof *out);
    st_txn *txn = NULL;
    int rc = st_db_read_begin(s->db, &txn, &s->err);
    if (rc) return rc;
    if ((rc = st_size_txn(txn, &out->size)) == 0 && (rc = st_meta_get_u64(txn, ST_META_SEALED, &out->sealed_size)) == 0 &&
        (rc = st_db_count(txn, ST_T_PAYLOADS, &out->payload_rows)) == 0)
        rc = st_db_count(txn, ST_T_RETENTION, &out->removed_rows);
    out->archived_end = st_ret_meta_u64(txn, ST_RET_ARCHIVED_END);
    out->pruned_end = st_ret_meta_u64(txn, ST_RET_PRUNED_END);
    out->erasures = st_ret_meta_u64(txn, ST_RET_ERASURES);
    const char *str;
    size_t len;
    out->journal_pending = st_meta_get_str(txn, ST_RET_JOURNAL, &str, &len) == 0;
    out->compact_pending = compact_pending_txn(txn);
    st_cursor *c = NULL;
    if (rc == 0 && (rc = st_cursor_open(txn, ST_T_META, &c)) == 0) {
        const void *k, *v;
        size_t kl, vl;
        int crc = st_cursor_seek(c, "retention_", 10, &k, &kl, &v, &vl);
        while (crc == 0 && kl >= 10 && memcmp(k, "retention_", 10) == 0) {
            size_t na = strlen(ST_RET_ARCHIVE_PREFIX), np = strlen(ST_RET_PRUNE_PREFIX);
            if (kl > na && memcmp(k, ST_RET_ARCHIVE_PREFIX, na) == 0) out->archives++;
            if (kl > np && memcmp(k, ST_RET_PRUNE_PREFIX, np) == 0) out->prunes++;
            crc = st_cursor_next(c, &k, &kl, &v, &vl);
        }
        st_cursor_close(c);
    }
    st_db_read_end(txn);
    st_db_info(s->db, NULL, &out->used_bytes, NULL);
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/data.mdb", s->dir);
    if (stat(path, &st) == 0) out->file_bytes = (uint64_t)st.st_size;
    return rc;
}

int st_retention_archives(st_store *s, st_archive_list_fn fn, void *ctx)
{
    st_txn *txn = NULL;
    int rc = st_db_read_begin(s->db, &txn, &s->err);
    if (rc) return rc;
    st_cursor *c = NULL;
    size_t np = strlen(ST_RET_ARCHIVE_PREFIX);
    static _Thread_local st_rrec r;
    if ((rc = st_cursor_open(txn, ST_T_META, &c)) == 0) {
        const void *k, *v;
        size_t kl, vl;
        int crc = st_cursor_seek(c, ST_RET_ARCHIVE_PREFIX, np, &k, &kl, &v, &vl);
        while (rc == 0 && crc == 0 && kl > np && memcmp(k, ST_RET_ARCHIVE_PREFIX, np) == 0) {
            if (vl != 8) { rc = st_store_fail(s, ST_ECORRUPT, "meta: archive list row of %zu bytes", vl); break; }
            rc = st_ret_read_record(txn, st_be64_get(v), &r, &s->err);
            if (rc == 0 && r.kind != ST_RREC_ARCHIVE) rc = st_store_fail(s, ST_ECORRUPT, "meta: archive list names "
                                                                           "entry %llu, not an archive record",
                                                                           (unsigned long long)st_be64_get(v));
            if (rc == 0) rc = fn(ctx, &r);
            if (rc == 0) crc = st_cursor_next(c, &k, &kl, &v, &vl);
        }
        st_cursor_close(c);
    }
    st_db_read_end(txn);
    return rc;
}
