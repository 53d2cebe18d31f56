/*
 * retention_apply.c: carrying out a retention record that is already in the
 * log (st_ret_apply), finishing an interrupted command (st_retention_recover),
 * and the one-command-at-a-time lock.
 *
 * st_ret_apply walks the record's entries in transactions of RM_BATCH
 * entries: every present payload it covers is deleted (payload.c drops its
 * blob references) and a `retention` row written (index || name -> record);
 * a prune also re-points rows that named an archive record, since the
 * archive that held those payloads is going away. The last transaction
 * updates the bookkeeping and clears the journal, so "journal present"
 * means "not finished" and running st_ret_apply again is always safe.
 *
 * The path index is derived from tool_input (index.h: IX_PATH 'p', 'd' and
 * 'i' rows). When an entry's tool_input leaves the store its path rows go
 * too, exactly as a rebuild without that payload would write them, so
 * `check` (which recomputes the indexes) keeps passing; the entry stays
 * in every other index (time, tool, event, session, status, duration).
 */
#include "entry_store.h"
#include "index.h"
#include "retention_ops.h"
#include "store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define RM_BATCH 1024u

typedef struct rmkey {
    uint64_t index;
    char name[ST_PAYLOAD_NAME_MAX + 1];
    uint64_t target;           /* retention rows: the record it names now */
} rmkey;

typedef struct rm_ctx {
    st_store *s;
    const st_rrec *rec;
    uint64_t next, end;        /* entries still to do: [next, end) */
    uint64_t changed;          /* in the transaction being tried */
    rmkey *keys;
    size_t cap;
} rm_ctx;

static int name_selected(const st_rrec *rec, const char *name)
{
    if (rec->kind != ST_RREC_ERASURE || rec->all_names) return 1;
    for (size_t i = 0; i < rec->nnames; i++)
        if (strcmp(rec->names[i], name) == 0) return 1;
    return 0;
}

/* Rows of table t (key u64be index || name) for entries [lo, hi). */
static int collect(st_txn *txn, st_table t, uint64_t lo, uint64_t hi, rm_ctx *c, size_t *n)
{
    st_cursor *cur = NULL;
    const void *k, *v;
    size_t kl, vl;
    uint8_t key[8];
    st_be64_put(key, lo);
    *n = 0;
    int rc = st_cursor_open(txn, t, &cur);
    if (rc) return rc;
    rc = st_cursor_seek(cur, key, 8, &k, &kl, &v, &vl);
    while (rc == 0) {
        if (kl < 8) { rc = ST_ECORRUPT; break; }
        uint64_t idx = st_be64_get(k);
        if (idx >= hi) break;
        if (kl == 8 || kl > 8 + ST_PAYLOAD_NAME_MAX) { rc = ST_ECORRUPT; break; }
        if (*n == c->cap) {
            size_t ncap = c->cap ? c->cap * 2 : 1024;
            rmkey *p = realloc(c->keys, ncap * sizeof *p);
            if (!p) { rc = ENOMEM; break; }
            c->keys = p;
            c->cap = ncap;
        }
        rmkey *x = &c->keys[(*n)++];
        x->index = idx;
        memcpy(x->name, (const uint8_t *)k + 8, kl - 8);
        x->name[kl - 8] = 0;
        x->target = vl == 8 ? st_be64_get(v) : UINT64_MAX;
        rc = st_cursor_next(cur, &k, &kl, &v, &vl);
    }
    st_cursor_close(cur);
    return rc == ST_ENOTFOUND ? 0 : rc;
}

static int put_row(st_txn *txn, uint64_t index, const char *name, uint64_t record)
{
    uint8_t key[8 + ST_PAYLOAD_NAME_MAX], val[8];
    size_t nl = strlen(name);
    st_be64_put(key, index);
    memcpy(key + 8, name, nl);
    st_be64_put(val, record);
    return st_db_put(txn, ST_T_RETENTION, key, 8 + nl, val, 8, 0);
}

/* Removes the path-index rows of entry `index` (layouts in index.h): its
 * 'i' row, and its 'p' rows and 'd' counts unless they are still pending.
 * Indexes of another layout are left alone: query, stats and check refuse
 * them until `sealtrail reindex`, which recomputes them without the
 * payload (and an older layout's 'i' rows have no time key to skip). */
static int forget_paths(st_txn *txn, uint64_t index)
{
    int lrc = st_index_layout_ok(txn, NULL);
    if (lrc == ST_EFORMAT) return 0;
    if (lrc) return lrc;
    uint8_t k[8 + ST_IX_ENC_MAX + 32];
    k[0] = 'i';
    st_be64_put(k + 1, index);
    const void *v;
    size_t vl;
    uint64_t size = 0, merged = 0;
    int rc = st_db_get(txn, ST_T_IX_PATH, k, 9, &v, &vl);
    if (rc) return rc == ST_ENOTFOUND ? 0 : rc;
    if (vl < 8) return ST_ECORRUPT;
    uint8_t *paths = malloc(vl);
    if (!paths) return ENOMEM;
    memcpy(paths, v, vl);
    int64_t time_us = 0;
    char names[ST_ENTRY_MAX_PAYLOADS][ST_PAYLOAD_NAME_MAX + 1];
    size_t nn;
    if ((rc = st_size_txn(txn, &size)) == 0 && (rc = st_ix_paths_merged(txn, size, &merged)) == 0)
        rc = st_ret_entry_names(txn, index, names, &nn, &time_us, NULL);
    for (size_t off = index < merged ? 8 : vl; rc == 0 && off < vl;) {     /* after T */
        if (off + 2 > vl) { rc = ST_ECORRUPT; break; }
        size_t l = ((size_t)paths[off] << 8) | paths[off + 1];
        if (off + 2 + l > vl) { rc = ST_ECORRUPT; break; }
        const char *p = (const char *)paths + off + 2;
        off += 2 + l;
        k[0] = 'p';
        size_t kl = 1 + st_ix_enc_str(k + 1, p, l, NULL);
        st_be64_put(k + kl, st_ix_time_key(time_us));
        st_be64_put(k + kl + 8, index);
        rc = st_db_del(txn, ST_T_IX_PATH, k, kl + 16);
        if (rc == ST_ENOTFOUND) rc = 0;
        if (rc) break;
        k[0] = 'd';
        kl = 1 + st_ix_enc_str(k + 1, p, l, NULL);
        const void *dv;
        size_t dl;
        if (st_db_get(txn, ST_T_IX_PATH, k, kl, &dv, &dl) == 0 && dl == 8) {
            uint64_t n = st_be64_get(dv);
            uint8_t nb[8];
            st_be64_put(nb, n - 1);
            rc = n <= 1 ? st_db_del(txn, ST_T_IX_PATH, k, kl) : st_db_put(txn, ST_T_IX_PATH, k, kl, nb, 8, 0);
        }
    }
    free(paths);
    if (rc == 0) {
        k[0] = 'i';
        st_be64_put(k + 1, index);
        rc = st_db_del(txn, ST_T_IX_PATH, k, 9);
        if (rc == ST_ENOTFOUND) rc = 0;
    }
    return rc;
}

static int finalize(st_txn *txn, const st_rrec *rec)
{
    int rc = 0;
    char key[64];
    uint8_t v[8];
    st_be64_put(v, rec->index);
    switch (rec->kind) {
    case ST_RREC_POLICY:
        if (st_ret_meta_u64(txn, ST_RET_POLICY) <= rec->index) rc = st_meta_put_u64(txn, ST_RET_POLICY, rec->index);
        break;
    case ST_RREC_ERASURE:
        rc = st_meta_put_u64(txn, ST_RET_ERASURES, st_ret_meta_u64(txn, ST_RET_ERASURES) + 1);
        break;
    case ST_RREC_ARCHIVE:
        if (st_ret_meta_u64(txn, ST_RET_ARCHIVED_END) < rec->end) rc = st_meta_put_u64(txn, ST_RET_ARCHIVED_END, rec->end);
        st_ret_list_key(key, ST_RET_ARCHIVE_PREFIX, rec->begin);
        if (rc == 0) rc = st_db_put(txn, ST_T_META, key, strlen(key), v, 8, 0);
        break;
    case ST_RREC_PRUNE:
        if (st_ret_meta_u64(txn, ST_RET_PRUNED_END) < rec->end) rc = st_meta_put_u64(txn, ST_RET_PRUNED_END, rec->end);
        st_ret_list_key(key, ST_RET_PRUNE_PREFIX, rec->begin);
        if (rc == 0) rc = st_db_put(txn, ST_T_META, key, strlen(key), v, 8, 0);
        break;
    default: break;
    }
    /* The removed bytes stay in free pages until a compaction, which a crash can cut short
     * as well: the next compacting command sees this and compacts even with nothing to do. */
    if (rc == 0 && rec->kind != ST_RREC_POLICY) rc = st_meta_put_u64(txn, ST_RET_COMPACT_PENDING, rec->index);
    return rc ? rc : st_ret_journal_clear_txn(txn);
}

/* Is the record at `index` an archive record? (A prune re-points only those.) */
static int is_archive_record(st_txn *txn, uint64_t index, uint64_t *cache_idx, int *cache_kind)
{
    if (*cache_idx != index) {
        static _Thread_local st_rrec r;
        *cache_kind = st_ret_read_record(txn, index, &r, NULL) == 0 ? r.kind : ST_RREC_NONE;
        *cache_idx = index;
    }
    return *cache_kind == ST_RREC_ARCHIVE;
}

static int rm_txn(st_txn *txn, void *arg)
{
    rm_ctx *c = arg;
    const st_rrec *rec = c->rec;
    c->changed = 0;
    uint64_t hi = c->end - c->next > RM_BATCH ? c->next + RM_BATCH : c->end;
    size_t n = 0;
    int rc = 0;
    if (c->next < hi) rc = collect(txn, ST_T_PAYLOADS, c->next, hi, c, &n);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (!name_selected(rec, c->keys[i].name)) continue;
        rc = st_payload_delete(txn, c->keys[i].index, c->keys[i].name);
        if (rc == ST_ENOTFOUND) rc = 0;
        if (rc == 0 && strcmp(c->keys[i].name, "tool_input") == 0) rc = forget_paths(txn, c->keys[i].index);
        if (rc == 0) rc = put_row(txn, c->keys[i].index, c->keys[i].name, rec->index);
        c->changed++;
    }
    if (rc == 0 && c->next < hi && rec->kind != ST_RREC_ARCHIVE) {
        rc = collect(txn, ST_T_RETENTION, c->next, hi, c, &n);
        uint64_t ci = UINT64_MAX;
        int ck = 0;
        for (size_t i = 0; rc == 0 && i < n; i++) {
            const rmkey *x = &c->keys[i];
            if (x->target == rec->index || !name_selected(rec, x->name)) continue;
            if (rec->kind == ST_RREC_PRUNE && !is_archive_record(txn, x->target, &ci, &ck)) continue;
            rc = put_row(txn, x->index, x->name, rec->index);
            c->changed++;
        }
    }
    if (rc == 0 && hi == c->end) rc = finalize(txn, rec);
    return rc;
}

int st_ret_apply(st_store *s, const st_rrec *rec, uint64_t *changed)
{
    rm_ctx c;
    memset(&c, 0, sizeof c);
    c.s = s;
    c.rec = rec;
    switch (rec->kind) {
    case ST_RREC_ERASURE: c.next = rec->target; c.end = rec->target + 1; break;
    case ST_RREC_ARCHIVE:
    case ST_RREC_PRUNE: c.next = rec->begin; c.end = rec->end; break;
    default: break;
    }
    uint64_t total = 0;
    int rc;
    do {
        rc = st_db_write(s->db, rm_txn, &c, &s->err);
        if (rc) break;
        total += c.changed;
        c.next = c.end - c.next > RM_BATCH ? c.next + RM_BATCH : c.end;
    } while (c.next < c.end);
    free(c.keys);
    if (changed) *changed = total;
    return rc;
}

/* ---- helpers -------------------------------------------------------------------------------- */

int st_ret_entry_names(st_txn *txn, uint64_t index, char names[][ST_PAYLOAD_NAME_MAX + 1], size_t *n,
                       int64_t *time_us, st_err *err)
{
    st_entry e;
    int rc = st_entry_load(txn, index, "entry", &e, err);
    if (rc) return rc;
    *n = e.npayloads;
    for (size_t i = 0; i < e.npayloads; i++) memcpy(names[i], e.payloads[i].name, ST_PAYLOAD_NAME_MAX + 1);
    if (time_us) *time_us = e.time_us;
    st_entry_free(&e);
    return 0;
}

int st_ret_oplock(st_store *s, int *fd_out)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", s->dir, ST_RET_LOCK_FILE);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return st_store_fail(s, errno, "%s: %s", path, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        close(fd);
        if (e == EWOULDBLOCK)
            return st_store_fail(s, ST_EBUSY, "another retention command (archive, prune, erase, retention set) is "
                                 "running on %s", s->dir);
        return st_store_fail(s, e, "%s: %s", path, strerror(e));
    }
    *fd_out = fd;
    return 0;
}

void st_ret_opunlock(int fd)
{
    if (fd >= 0) close(fd);
}

int st_ret_archive_dir(st_store *s, const char *dir, char *out, size_t outlen)
{
    int n = dir ? snprintf(out, outlen, "%s", dir) : snprintf(out, outlen, "%s/%s", s->dir, ST_RET_ARCHIVE_SUBDIR);
    if (n < 0 || (size_t)n >= outlen) return st_store_fail(s, ENAMETOOLONG, "archive directory path too long");
    if (mkdir(out, 0700) != 0 && errno != EEXIST) return st_store_fail(s, errno, "%s: %s", out, strerror(errno));
    struct stat st;
    if (stat(out, &st) != 0 || !S_ISDIR(st.st_mode))
        return st_store_fail(s, ENOTDIR, "%s: not a directory", out);
    return 0;
}

/* ---- recovery -------------------------------------------------------------------------------- */

static int journal_clear_txn(st_txn *txn, void *arg)
{
    (void)arg;
    return st_ret_journal_clear_txn(txn);
}

int st_retention_recover(st_store *s)
{
    if (s->flags & ST_OPEN_RDONLY) return 0;
    st_txn *txn = NULL;
    int rc = st_db_read_begin(s->db, &txn, &s->err);
    if (rc) return rc;
    const char *j;
    size_t jl;
    if (st_meta_get_str(txn, ST_RET_JOURNAL, &j, &jl) != 0) {
        st_db_read_end(txn);
        return 0;
    }
    st_json_doc *doc = NULL;
    st_json_opts jo = { .flags = ST_JSON_INTEGERS_ONLY, .max_depth = 4 };
    int64_t from = 0, a = -1;
    const char *op = NULL;
    char dir[PATH_MAX] = "";
    uint64_t size = 0;
    if (st_json_parse(&doc, j, jl, &jo, NULL, NULL) == 0) {
        const st_json *root = st_json_doc_root(doc);
        op = st_json_get_str(root, "op", NULL);
        if (st_json_get_i64(root, "size", &from) != 0) from = 0;
        if (st_json_get_i64(root, "index", &a) != 0 && st_json_get_i64(root, "begin", &a) != 0) a = -1;
        size_t dl = 0;
        const char *d = st_json_get_str(root, "dir", &dl);
        if (d && dl < sizeof dir) memcpy(dir, d, dl + 1);
    }
    int want = !op ? ST_RREC_NONE : strcmp(op, "policy") == 0 ? ST_RREC_POLICY : strcmp(op, "erase") == 0 ? ST_RREC_ERASURE
               : strcmp(op, "archive") == 0 ? ST_RREC_ARCHIVE : strcmp(op, "prune") == 0 ? ST_RREC_PRUNE : ST_RREC_NONE;
    static _Thread_local st_rrec r;
    int found = 0;
    rc = st_size_txn(txn, &size);
    for (uint64_t i = from < 0 ? 0 : (uint64_t)from; rc == 0 && want && i < size && !found; i++) {
        /* An entry that cannot be read might be the record: keep the journal and say so, rather
         * than take the record for one that never made it and drop the operation. */
        if ((rc = st_ret_read_record(txn, i, &r, &s->err)) != 0) {
            char why[sizeof s->err.msg];
            snprintf(why, sizeof why, "%s", s->err.msg);
            rc = st_store_fail(s, rc, "finishing an interrupted %s: %s (the operation stays pending; see 'sealtrail check')",
                               op, why);
            break;
        }
        if (r.kind != want) continue;
        if (want == ST_RREC_ERASURE) found = (int64_t)r.target == a;
        else if (want == ST_RREC_ARCHIVE || want == ST_RREC_PRUNE) found = (int64_t)r.begin == a;
        else found = 1;
    }
    st_db_read_end(txn);
    st_json_doc_free(doc);
    if (rc) return rc;
    if (!found) return st_db_write(s->db, journal_clear_txn, NULL, &s->err);   /* the record never made it */
    char *note = NULL;
    size_t nl;
    rc = st_seal(s, &note, &nl);                     /* the record must be sealed before anything cites it */
    free(note);
    if (rc) return rc;
    if ((rc = st_ret_apply(s, &r, NULL)) != 0) return rc;
    size_t deleted;
    return r.kind == ST_RREC_PRUNE ? st_prune_delete_files(s, dir[0] ? dir : NULL, &r, &deleted) : 0;
}
