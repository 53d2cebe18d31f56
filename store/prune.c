/*
 * prune.c: `sealtrail prune`: deletes data past the retention period, with
 * a signed prune record:
 *
 *   {"data":{"archives":[…],"begin":A,"end":B,"max_time_us":T,"older_than_us":C,
 *            "payloads":N,"policy":P},"kind":"prune",…}
 *
 * What goes: the payloads of entries [A, B) still in the hot store, and the
 * archive files covering [A, B) in the archive directory (an archive is
 * pruned whole or not at all: it is immutable). What stays: the entries
 * (metadata), leaf hashes, tree and checkpoints, so proofs stay valid and
 * exports report the payloads as pruned by the record.
 *
 * Which range: A is where the previous prune ended; B is the first entry
 * with payloads younger than the cutoff (now minus --older-than, default
 * the policy's maximum retention), moved back to an archive boundary inside the
 * archived part of the log. The minimum retention is absolute: a cutoff
 * younger than it is refused, and so (defensively) is a range whose newest
 * entry is younger than it.
 */
#include "retention_ops.h"
#include "store_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct arch {
    uint64_t begin, end, record;
    char file[ST_RREC_FILE_MAX + 1];
} arch;

typedef struct plan {
    uint64_t a, b, payloads, archived_end;
    int64_t max_time, cutoff;
    arch *archs;
    size_t narch;
    char why[200];
} plan;

static int collect_archive(void *ctx, const st_rrec *r)
{
    plan *p = ctx;
    arch *n = realloc(p->archs, (p->narch + 1) * sizeof *n);
    if (!n) return ENOMEM;
    p->archs = n;
    arch *x = &n[p->narch++];
    x->begin = r->begin;
    x->end = r->end;
    x->record = r->index;
    memcpy(x->file, r->file, sizeof x->file);
    return 0;
}

static int make_plan(st_store *s, int64_t min, plan *p)
{
    st_txn *txn = NULL;
    uint64_t sealed = 0;
    int rc = st_retention_archives(s, collect_archive, p);
    if (rc == 0) rc = st_db_read_begin(s->db, &txn, &s->err);
    if (rc) return rc;
    if ((rc = st_meta_get_u64(txn, ST_META_SEALED, &sealed)) != 0) goto out;
    p->a = st_ret_meta_u64(txn, ST_RET_PRUNED_END);
    p->archived_end = st_ret_meta_u64(txn, ST_RET_ARCHIVED_END);
    char names[ST_ENTRY_MAX_PAYLOADS][ST_PAYLOAD_NAME_MAX + 1];
    size_t n;
    int64_t t;
    uint64_t j = p->a;
    while (j < sealed) {
        if ((rc = st_ret_entry_names(txn, j, names, &n, &t, &s->err)) != 0) goto out;
        if (n && t > p->cutoff) break;      /* entries without payloads (records) lose nothing */
        j++;
    }
    p->b = j;
    if (j < p->archived_end) {             /* inside the archived part: whole archives only */
        p->b = p->a;
        for (size_t i = 0; i < p->narch; i++)
            if (p->archs[i].end <= j && p->archs[i].end > p->b) p->b = p->archs[i].end;
    }
    if (p->b <= p->a) {
        snprintf(p->why, sizeof p->why, "%s",
                 p->a >= sealed ? "every sealed entry is pruned already"
                 : j == p->a ? "the oldest unpruned entry is younger than the cutoff"
                             : "the archive holding the oldest unpruned entries also holds younger ones");
        p->b = 0;
        goto out;
    }
    p->max_time = INT64_MIN;
    for (uint64_t i = p->a; i < p->b; i++) {
        if ((rc = st_ret_entry_names(txn, i, names, &n, &t, &s->err)) != 0) goto out;
        if (n && t > p->max_time) p->max_time = t;
    }
    int64_t now = st_now_us();
    if (p->max_time != INT64_MIN && p->max_time > now - min) {         /* cannot happen with cutoff <= now - min; never prune it anyway */
        char m[32];
        st_rrec_format_duration(m, min);
        rc = st_store_fail(s, ST_EPOLICY, "refused: entries %llu..%llu include one from time_us %lld, younger than "
                           "the minimum retention (%s)", (unsigned long long)p->a, (unsigned long long)p->b - 1,
                           (long long)p->max_time, m);
        goto out;
    }
    st_cursor *c = NULL;                   /* payloads that change state: in the hot store, or in an archive */
    const void *k, *v;
    size_t kl, vl;
    uint8_t key[8];
    for (int tab = 0; tab < 2 && rc == 0; tab++) {
        if ((rc = st_cursor_open(txn, tab ? ST_T_RETENTION : ST_T_PAYLOADS, &c)) != 0) break;
        st_be64_put(key, p->a);
        int crc = st_cursor_seek(c, key, 8, &k, &kl, &v, &vl);
        while (crc == 0 && kl >= 8 && st_be64_get(k) < p->b) {
            if (!tab) p->payloads++;
            else if (vl == 8)
                for (size_t i = 0; i < p->narch; i++)
                    if (p->archs[i].record == st_be64_get(v)) { p->payloads++; break; }
            crc = st_cursor_next(c, &k, &kl, &v, &vl);
        }
        st_cursor_close(c);
    }
out:
    st_db_read_end(txn);
    return rc;
}

int st_prune_delete_files(st_store *s, const char *dir, const st_rrec *rec, size_t *deleted)
{
    char d[PATH_MAX], path[PATH_MAX];
    *deleted = 0;
    int rc = st_ret_archive_dir(s, dir, d, sizeof d);
    if (rc) return rc;
    for (size_t i = 0; i < rec->narchives && i < ST_RREC_ARCHIVES_MAX; i++) {
        if (snprintf(path, sizeof path, "%s/%s", d, rec->archives[i]) >= (int)sizeof path) continue;
        if (unlink(path) == 0) (*deleted)++;
        else if (errno != ENOENT) return st_store_fail(s, errno, "%s: %s", path, strerror(errno));
    }
    return 0;
}

int st_prune(st_store *s, const st_prune_opts *o, st_prune_result *r)
{
    memset(r, 0, sizeof *r);
    if (s->flags & ST_OPEN_RDONLY) return st_store_fail(s, ST_ERDONLY, "store opened read-only");
    int lock = -1;
    int rc = st_ret_oplock(s, &lock);
    if (rc) return rc;
    st_rrec pol;
    plan p;
    memset(&p, 0, sizeof p);
    char a[32], b[32];
    if ((rc = st_retention_recover(s)) != 0 || (rc = st_retention_policy(s, &pol)) != 0) goto out;
    int64_t min = pol.kind == ST_RREC_POLICY ? pol.min_us : 0, age = o->older_than_us;
    if (!o->has_older_than) {
        if (pol.kind != ST_RREC_POLICY || !pol.has_max) {
            rc = st_store_fail(s, ST_EINVAL, "no --older-than given and the retention policy sets no maximum retention "
                               "('sealtrail retention set --max AGE')");
            goto out;
        }
        age = pol.max_us;
    }
    if (age < min) {
        st_rrec_format_duration(a, age);
        st_rrec_format_duration(b, min);
        rc = st_store_fail(s, ST_EPOLICY, "refused: --older-than %s is shorter than the minimum retention %s (policy "
                           "record %llu): nothing younger than %s may be removed", a, b,
                           (unsigned long long)pol.index, b);
        goto out;
    }
    p.cutoff = st_now_us() - age;
    if ((rc = make_plan(s, min, &p)) != 0) goto out;
    if (p.b == 0) {
        st_store_fail(s, 0, "nothing to prune: %s", p.why);
        goto out;
    }
    /* The archive directory must be usable before anything is recorded: the record says its
     * archive files are deleted, and once the payloads are gone no later prune covers them. */
    char adir[PATH_MAX];
    if ((rc = st_ret_archive_dir(s, o->dir, adir, sizeof adir)) != 0) {
        char why[sizeof s->err.msg];
        snprintf(why, sizeof why, "%s", s->err.msg);
        rc = st_store_fail(s, rc, "%s (--archive-dir); nothing removed", why);
        goto out;
    }
    st_json_doc *doc = st_json_doc_new();
    if (!doc) { rc = ENOMEM; goto out; }
    st_json *data = st_json_new_object(doc), *files = st_json_new_array(doc), *j = st_json_new_object(doc);
    int bad = !data || !files || !j;
    for (size_t i = 0; i < p.narch && !bad; i++) {
        if (p.archs[i].begin < p.a || p.archs[i].end > p.b) continue;
        bad |= st_json_array_add(doc, files, st_json_new_str(doc, p.archs[i].file)) != 0;
        if (r->narchives < ST_RREC_ARCHIVES_MAX) memcpy(r->archives[r->narchives], p.archs[i].file, ST_RREC_FILE_MAX + 1);
        r->narchives++;
    }
#define ADDI(o_, k, v) bad |= st_json_object_add(doc, o_, k, strlen(k), st_json_new_int(doc, (int64_t)(v))) != 0
    ADDI(data, "begin", p.a);
    ADDI(data, "end", p.b);
    if (p.max_time != INT64_MIN) ADDI(data, "max_time_us", p.max_time);
    ADDI(data, "older_than_us", p.cutoff);
    ADDI(data, "payloads", p.payloads);
    if (pol.kind == ST_RREC_POLICY) ADDI(data, "policy", pol.index);
    ADDI(j, "begin", p.a);
#undef ADDI
    bad = bad || st_json_object_add(doc, data, "archives", 8, files) ||
          st_json_object_add(doc, j, "op", 2, st_json_new_str(doc, "prune")) ||
          (o->dir && st_json_object_add(doc, j, "dir", 3, st_json_new_str(doc, o->dir)));
    if (bad) rc = ENOMEM;
    if (rc == 0) rc = st_ret_journal_begin(s, doc, j);
    if (rc == 0) rc = st_ret_append_record(s, "prune", doc, data, &r->record);
    st_json_doc_free(doc);
    if (rc) goto out;
    st_rrec *rec = calloc(1, sizeof *rec);
    if (!rec) { rc = ENOMEM; goto out; }
    rec->kind = ST_RREC_PRUNE;
    rec->index = r->record;
    rec->begin = p.a;
    rec->end = p.b;
    rec->narchives = r->narchives;
    memcpy(rec->archives, r->archives, sizeof rec->archives);
    rc = st_ret_apply(s, rec, &r->payloads);
    if (rc == 0) rc = st_prune_delete_files(s, o->dir, rec, &r->deleted);
    free(rec);
    if (rc) goto out;
    r->pruned = 1;
    r->begin = p.a;
    r->end = p.b;
    r->max_time_us = p.max_time;
out:
    free(p.archs);
    st_ret_opunlock(lock);
    return rc;
}
