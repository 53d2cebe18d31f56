/*
 * query.c: the query planner and executor (see query.h for semantics and
 * index.h for the key layouts).
 *
 * Plan: estimate each candidate driver from exact all-time counts (stats
 * 'a' and 'c' rows for tool, session and rare-status values, path 'd' rows
 * for the paths a pattern matches), take the smallest, else the time index
 * (event, duration and common-status filters read the time-index summary:
 * index.h).
 * Execute: walk the driver's ranges inside the time window,
 * check the remaining filters per candidate (summary, then paths), then
 * either stream (one range, time order) or collect and sort, and finally
 * apply --text and --limit while emitting.
 */
#include "query.h"

#include <errno.h>
#include <fnmatch.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>

#include "entry_store.h"
#include "index.h"
#include "json.h"
#include "sha256.h"
#include "store_int.h"

enum { D_TIME, D_TOOL, D_SESSION, D_STATUS, D_PATH, D_NONE };
static const char *const driver_names[] = { "time", "tool", "session", "status", "path", "none" };

#define Q_STOP 1   /* internal: the limit was reached */

typedef struct cand {
    uint64_t t;      /* time key (sign-flipped) */
    uint64_t idx;
    uint64_t dur;
} cand;

typedef struct qrun {
    st_txn *txn;
    const st_query *q;
    st_query_fn fn;
    void *ctx;
    st_query_info *info;
    st_err *err;
    int driver;
    const st_qfield *drv_field;
    uint64_t lo, hi;         /* time keys: lo <= t < hi (hi_set) */
    int hi_set;
    int need_summary, path_residual, collect;
    cand *cv;
    size_t cn, ccap;
    st_buf esc;              /* JSON-escaped text needle */
    st_buf pathgroups;       /* path driver: (u16 len, enc key)* of matching 'd' groups */
    st_buf row;              /* the entry being emitted, when its row is packed */
    cand *pend;              /* path driver: matching entries whose path rows are pending */
    size_t pn, pcap;
    uint64_t emitted;
    uint64_t size;           /* the log size at the start: results are below it */
} qrun;

static int field_has(const st_qfield *f, const char *s, size_t n)
{
    for (size_t i = 0; i < f->n; i++)
        if (f->len[i] == n && (n == 0 || memcmp(f->v[i], s, n) == 0)) return 1;
    return 0;
}

int st_qfield_add_list(st_qfield *f, char *s)
{
    while (1) {
        char *w = s, *r = s;                    /* unescape the value in place: \, and \\ */
        while (*r && *r != ',') {
            if (r[0] == '\\' && (r[1] == ',' || r[1] == '\\')) r++;
            if (w != r) *w = *r;
            w++;
            r++;
        }
        size_t n = (size_t)(w - s);
        int more = *r == ',';
        if (n == 0) return ST_EINVAL;
        if (!field_has(f, s, n)) {              /* a value given twice is one value (one range, no duplicate results) */
            if (f->n >= ST_Q_MAX_VALUES) return ST_ETOOBIG;
            f->v[f->n] = s;
            f->len[f->n++] = n;
        }
        if (!more) return 0;
        s = r + 1;
    }
}

/* ---- matching helpers ----------------------------------------------------------- */

static int is_glob(const char *p) { return strpbrk(p, "*?[") != NULL; }

static int non_ascii(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] >= 0x80) return 1;
    return 0;
}

/* A glob's ? and [...] stand for one character, not one byte: with
 * non-ASCII text, fnmatch runs under the C.UTF-8 locale (thread-local, via
 * uselocale; invalid UTF-8 falls back to bytes inside fnmatch). Without that
 * locale (glibc < 2.35), bytes. */
static locale_t utf8_locale(void)
{
    static locale_t loc;
    static int tried;
    if (!tried) { tried = 1; loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0); }
    return loc;
}

int st_query_path_match(const char *pat, const char *path, size_t len)
{
    char buf[ST_IX_PATH_MAX + 1];
    if (len > ST_IX_PATH_MAX) len = ST_IX_PATH_MAX;
    if (!is_glob(pat)) return memmem(path, len, pat, strlen(pat)) != NULL;
    memcpy(buf, path, len);
    buf[len] = 0;
    locale_t loc = strpbrk(pat, "?[") && (non_ascii(buf, len) || non_ascii(pat, strlen(pat))) ? utf8_locale() : (locale_t)0;
    locale_t prev = loc ? uselocale(loc) : (locale_t)0;
    int m = fnmatch(pat, buf, 0) == 0;
    if (!m && pat[0] != '/' && pat[0] != '*')
        for (size_t i = 0; i < len && !m; i++)
            m = buf[i] == '/' && fnmatch(pat, buf + i + 1, 0) == 0;
    if (loc) uselocale(prev);
    return m;
}

/* ---- per-candidate filters ----------------------------------------------------- */

static int get_summary(qrun *r, uint64_t t, uint64_t idx, st_ix_summary *sum)
{
    uint8_t k[16];
    const void *v;
    size_t vl;
    st_be64_put(k, t);
    st_be64_put(k + 8, idx);
    int rc = st_db_get(r->txn, ST_T_IX_TIME, k, 16, &v, &vl);
    if (rc == ST_ENOTFOUND)
        return st_fail(r->err, ST_ECORRUPT, "time index: no row for entry %llu (run 'sealtrail reindex')", (unsigned long long)idx);
    if (rc) return rc;
    if (st_ix_summary_decode(sum, v, vl))
        return st_fail(r->err, ST_ECORRUPT, "time index: entry %llu: undecodable summary of %zu bytes", (unsigned long long)idx, vl);
    return 0;
}

static int summary_ok(const qrun *r, const st_ix_summary *s)
{
    const st_query *q = r->q;
    if (q->tool.n && r->drv_field != &q->tool && !field_has(&q->tool, s->tool, s->tool_len)) return 0;
    if (q->event.n && r->drv_field != &q->event && !field_has(&q->event, s->event, s->event_len)) return 0;
    if (q->session.n && r->drv_field != &q->session && !field_has(&q->session, s->session, s->session_len)) return 0;
    if (q->status.n && r->drv_field != &q->status && !field_has(&q->status, s->status, s->status_len)) return 0;
    return 1;
}

static int paths_ok(qrun *r, uint64_t idx, int *ok)
{
    uint8_t k[9];
    const void *v;
    size_t vl;
    k[0] = 'i';
    st_be64_put(k + 1, idx);
    *ok = 0;
    int rc = st_db_get(r->txn, ST_T_IX_PATH, k, 9, &v, &vl);
    if (rc == ST_ENOTFOUND) return 0;
    if (rc) return rc;
    if (vl < 8) return st_fail(r->err, ST_ECORRUPT, "path index: entry %llu: bad path list", (unsigned long long)idx);
    const uint8_t *p = v;
    for (size_t off = 8; off + 2 <= vl;) {   /* after T */
        size_t l = ((size_t)p[off] << 8) | p[off + 1];
        if (off + 2 + l > vl) return st_fail(r->err, ST_ECORRUPT, "path index: entry %llu: bad path list", (unsigned long long)idx);
        if (st_query_path_match(r->q->path, (const char *)p + off + 2, l)) { *ok = 1; return 0; }
        off += 2 + l;
    }
    return 0;
}

static int text_ok(qrun *r, uint64_t idx, const uint8_t *entry, size_t len, int *ok)
{
    st_json_doc *doc = NULL;
    st_json_opts o = { 0 };
    *ok = 0;
    int rc = st_json_parse(&doc, (const char *)entry, len, &o, NULL, NULL);
    if (rc) return st_fail(r->err, ST_ECORRUPT, "entry %llu: does not parse", (unsigned long long)idx);
    const st_json *pl = st_json_get(st_json_doc_root(doc), "payloads");
    for (const st_json *c = pl && pl->type == ST_JSON_OBJECT ? pl->child : NULL; c && !*ok; c = c->next) {
        char name[ST_PAYLOAD_NAME_MAX + 1];
        if (c->key_len > ST_PAYLOAD_NAME_MAX) continue;
        memcpy(name, c->key, c->key_len);
        name[c->key_len] = 0;
        uint8_t salt[ST_SALT_BYTES], *data = NULL;
        size_t dl = 0;
        rc = st_payload_read(r->txn, idx, name, salt, &data, &dl);
        if (rc == ST_ENOTFOUND) { rc = 0; continue; }
        if (rc) break;
        *ok = memmem(data, dl, r->q->text, r->q->text_len) != NULL ||
              (r->esc.len && memmem(data, dl, r->esc.data, r->esc.len) != NULL);
        free(data);
    }
    st_json_doc_free(doc);
    return rc;
}

/* Final stage: --text, the callback, --limit. */
static int emit(qrun *r, uint64_t idx)
{
    const uint8_t *v = NULL;
    size_t vl = 0;
    int rc;
    if (r->q->no_entry && !r->q->text) {       /* counting: the index alone answers */
        if ((rc = r->fn(r->ctx, r->txn, idx, NULL, 0)) != 0) return rc;
        r->emitted++;
        if (r->info) r->info->matched++;
        return r->q->limit && r->emitted >= r->q->limit ? Q_STOP : 0;
    }
    rc = st_entry_row_get(r->txn, idx, &r->row, &v, &vl);
    if (rc == ST_ENOTFOUND) return st_fail(r->err, ST_ECORRUPT, "index names entry %llu, which is not stored", (unsigned long long)idx);
    if (rc == ST_ECORRUPT) return st_fail(r->err, rc, "entry %llu: stored row is damaged", (unsigned long long)idx);
    if (rc) return rc;
    if (r->q->text) {
        int ok;
        if ((rc = text_ok(r, idx, v, vl, &ok)) != 0) return rc;
        if (!ok) return 0;
    }
    if ((rc = r->fn(r->ctx, r->txn, idx, v, vl)) != 0) return rc;
    r->emitted++;
    if (r->info) r->info->matched++;
    return r->q->limit && r->emitted >= r->q->limit ? Q_STOP : 0;
}

/* A candidate from the driver: residual filters, then emit or collect. */
static int consider(qrun *r, uint64_t t, uint64_t idx, int dur_known, int has_dur, uint64_t dur,
                    const st_ix_summary *given)
{
    const st_query *q = r->q;
    int rc;
    if (r->info) r->info->scanned++;
    if (idx >= r->size) return 0;               /* appended after the start (a renewed snapshot) */
    if (r->need_summary) {
        st_ix_summary s;
        if (!given) {
            if ((rc = get_summary(r, t, idx, &s)) != 0) return rc;
            given = &s;
        }
        if (!summary_ok(r, given)) return 0;
        has_dur = given->has_duration;
        dur = given->duration_ms;
        dur_known = 1;
    }
    (void)dur_known;   /* every driver that can leave it unknown sets need_summary */
    if (q->has_min_duration && (!has_dur || dur < q->min_duration_ms)) return 0;
    if (q->sort == ST_QSORT_DURATION && !has_dur) return 0;
    if (r->path_residual) {
        int ok;
        if ((rc = paths_ok(r, idx, &ok)) != 0) return rc;
        if (!ok) return 0;
    }
    if (!r->collect) return emit(r, idx);
    cand *n = st_array_room(r->cv, &r->ccap, r->cn, sizeof *n, 1024);
    if (!n) return ENOMEM;
    r->cv = n;
    r->cv[r->cn++] = (cand){ t, idx, dur };
    return 0;
}

static int cmp_time(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    if (x->t != y->t) return x->t < y->t ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int cmp_dur(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    if (x->dur != y->dur) return x->dur < y->dur ? -1 : 1;
    return cmp_time(a, b);
}

/* ---- drivers -------------------------------------------------------------------------- */

static int in_window(const qrun *r, uint64_t t) { return t >= r->lo && (!r->hi_set || t < r->hi); }

/* What a string-index row of a scan must hold to be the wanted string's: a
 * cut row's value ends with the whole string, or in the split tables (tool,
 * session) with its SHA-256 (index.h). Worked out once per scan. */
typedef struct exact_want {
    st_table tb;
    const char *s;
    size_t n;
    int cut;
    uint8_t hash[32];      /* if cut, in a split table */
} exact_want;

static void exact_want_init(exact_want *w, st_table tb, const char *s, size_t n)
{
    w->tb = tb;
    w->s = s;
    w->n = n;
    w->cut = s && st_ix_cut_len(s, n) < n;
    if (w->cut && st_db_split(tb)) st_sha256(w->hash, s, n);
}

static int row_exact(const exact_want *w, const uint8_t *v, size_t vl)
{
    size_t off = 0;
    if (w->tb == ST_T_IX_TOOL) {
        if (vl < 10) return 0;
        off = 10u + v[9];
        if (off > vl) return 0;
    }
    if (!w->cut) return vl == off;
    if (st_db_split(w->tb)) return vl - off == 32 && memcmp(v + off, w->hash, 32) == 0;
    return vl - off == w->n && memcmp(v + off, w->s, w->n) == 0;
}

/* Walks prefix ‖ T ‖ I rows inside the window, forward or backward. */
static int scan_range(qrun *r, st_table tb, const uint8_t *prefix, size_t plen, const char *s, size_t sn, int backward)
{
    uint8_t key[ST_IX_ENC_MAX + 32];
    const void *k, *v;
    size_t kl, vl;
    st_cursor *c;
    exact_want want;
    exact_want_init(&want, tb, s, sn);
    int rc = st_cursor_open(r->txn, tb, &c);
    if (rc == ST_ENOTFOUND) return 0;
    if (rc) return rc;
    if (plen) memcpy(key, prefix, plen);
    if (!backward) {
        st_be64_put(key + plen, r->lo);
        memset(key + plen + 8, 0, 8);
        rc = st_cursor_seek(c, key, plen + 16, &k, &kl, &v, &vl);
    } else {
        size_t sl = plen + 16;
        if (r->hi_set) {
            st_be64_put(key + plen, r->hi);
            memset(key + plen + 8, 0, 8);
        } else if (plen) {
            key[plen - 1]++;            /* enc(s) ends in 0x01: the next prefix */
            sl = plen;
        } else {
            sl = 0;
        }
        rc = sl ? st_cursor_seek(c, key, sl, &k, &kl, &v, &vl) : ST_ENOTFOUND;
        if (rc == 0) rc = st_cursor_prev(c, &k, &kl, &v, &vl);
        else if (rc == ST_ENOTFOUND) rc = st_cursor_last(c, &k, &kl, &v, &vl);
    }
    while (rc == 0) {
        if (kl != plen + 16 || (plen && memcmp(k, prefix, plen) != 0)) break;
        uint64_t t = st_be64_get((const uint8_t *)k + plen);
        uint64_t idx = st_be64_get((const uint8_t *)k + plen + 8);
        if (!backward && r->hi_set && t >= r->hi) break;
        if (backward && t < r->lo) break;
        if (in_window(r, t) && (tb == ST_T_IX_TIME || row_exact(&want, v, vl))) {
            if (tb == ST_T_IX_TIME) {
                st_ix_summary sum;
                if (st_ix_summary_decode(&sum, v, vl)) { rc = st_fail(r->err, ST_ECORRUPT, "time index: entry %llu: undecodable summary", (unsigned long long)idx); break; }
                rc = consider(r, t, idx, 1, sum.has_duration, sum.duration_ms, &sum);
            } else if (tb == ST_T_IX_TOOL) {
                const uint8_t *pv = v;
                rc = consider(r, t, idx, 1, pv[0] & 1, st_be64_get(pv + 1), NULL);
            } else {
                rc = consider(r, t, idx, 0, 0, 0, NULL);
            }
            if (rc) break;
            if (r->q->yield && r->q->yield(r->ctx)) {
                uint8_t at[ST_IX_ENC_MAX + 32];           /* the position, then a new snapshot */
                size_t al = kl;
                memcpy(at, k, kl);
                st_cursor_close(c);
                c = NULL;
                if ((rc = r->q->renew(r->ctx, &r->txn)) != 0) break;
                if ((rc = st_cursor_open(r->txn, tb, &c)) != 0) break;
                rc = st_cursor_seek(c, at, al, &k, &kl, &v, &vl);
                if (!backward) {
                    if (rc == 0 && kl == al && memcmp(k, at, al) == 0) rc = st_cursor_next(c, &k, &kl, &v, &vl);
                } else {
                    rc = rc == 0 ? st_cursor_prev(c, &k, &kl, &v, &vl)
                       : rc == ST_ENOTFOUND ? st_cursor_last(c, &k, &kl, &v, &vl) : rc;
                }
                continue;
            }
        }
        rc = backward ? st_cursor_prev(c, &k, &kl, &v, &vl) : st_cursor_next(c, &k, &kl, &v, &vl);
    }
    st_cursor_close(c);
    return rc == ST_ENOTFOUND ? 0 : rc;
}

/* Literal head of a path pattern (before any glob character); only globs
 * anchored at '/' may use it to narrow the scan. */
static size_t literal_head(const char *pat)
{
    if (!is_glob(pat) || pat[0] != '/') return 0;
    return strcspn(pat, "*?[\\");
}

/* Finds the distinct paths ('d' rows) the pattern matches; sums their counts.
 * A group keyed by a cut path might match beyond the cut: kept as "maybe". */
static int path_groups(qrun *r, uint64_t *estimate)
{
    uint8_t prefix[1 + ST_IX_PATH_MAX];
    char path[ST_IX_STR_CAP + 1];
    size_t hl = literal_head(r->q->path);
    const void *k, *v;
    size_t kl, vl;
    st_cursor *c;
    *estimate = 0;
    prefix[0] = 'd';
    if (hl > ST_IX_STR_CAP) hl = ST_IX_STR_CAP;
    memcpy(prefix + 1, r->q->path, hl);
    int rc = st_cursor_open(r->txn, ST_T_IX_PATH, &c);
    if (rc == ST_ENOTFOUND) return 0;
    if (rc) return rc;
    for (rc = st_cursor_seek(c, prefix, 1 + hl, &k, &kl, &v, &vl); rc == 0; rc = st_cursor_next(c, &k, &kl, &v, &vl)) {
        const uint8_t *kb = k;
        if (kl < 1 + hl || memcmp(kb, prefix, 1 + hl) != 0) break;
        size_t end = st_ix_enc_end(kb + 1, kl - 1);
        if (!end || vl != 8) { rc = st_fail(r->err, ST_ECORRUPT, "path index: malformed distinct-path row"); break; }
        size_t pl = st_ix_dec_str(path, sizeof path - 1, kb + 1, end - 2);
        if (st_ix_at_cap(path, pl) || st_query_path_match(r->q->path, path, pl)) {
            uint8_t h[2] = { (uint8_t)((end + 1) >> 8), (uint8_t)(end + 1) };
            st_buf_put(&r->pathgroups, h, 2);
            st_buf_put(&r->pathgroups, kb, end + 1);
            *estimate += st_be64_get(v);
        }
    }
    st_cursor_close(c);
    if (r->pathgroups.oom) return ENOMEM;
    return rc == ST_ENOTFOUND ? 0 : rc;
}

/* Entries whose path rows are pending (index.h: PATH WRITE-BEHIND) have
 * only their 'i' row: those whose paths match go to r->pend. */
static int path_pending(qrun *r, uint64_t *estimate)
{
    uint64_t size, merged;
    int rc = st_size_txn(r->txn, &size);
    if (rc == ST_ENOTFOUND) return 0;
    if (rc || (rc = st_ix_paths_merged(r->txn, size, &merged)) != 0) return rc;
    if (merged == size) return 0;
    uint8_t key[9];
    const void *k, *v;
    size_t kl, vl;
    st_cursor *c;
    key[0] = 'i';
    st_be64_put(key + 1, merged);
    if ((rc = st_cursor_open(r->txn, ST_T_IX_PATH, &c)) != 0) return rc == ST_ENOTFOUND ? 0 : rc;
    for (rc = st_cursor_seek(c, key, 9, &k, &kl, &v, &vl); rc == 0; rc = st_cursor_next(c, &k, &kl, &v, &vl)) {
        const uint8_t *kb = k, *p = v;
        if (kl != 9 || kb[0] != 'i') break;
        uint64_t idx = st_be64_get(kb + 1);
        if (vl < 8) { rc = st_fail(r->err, ST_ECORRUPT, "path index: entry %llu: bad path list", (unsigned long long)idx); break; }
        uint64_t t = st_be64_get(p);
        int ok = 0;
        for (size_t off = 8; off + 2 <= vl && !ok;) {
            size_t l = ((size_t)p[off] << 8) | p[off + 1];
            if (off + 2 + l > vl) break;
            ok = st_query_path_match(r->q->path, (const char *)p + off + 2, l);
            off += 2 + l;
        }
        if (!ok) continue;
        if (r->pn == r->pcap) {
            size_t nc = r->pcap ? r->pcap * 2 : 256;
            cand *n = realloc(r->pend, nc * sizeof *n);
            if (!n) { rc = ENOMEM; break; }
            r->pend = n;
            r->pcap = nc;
        }
        r->pend[r->pn++] = (cand){ t, idx, 0 };
        ++*estimate;
    }
    st_cursor_close(c);
    return rc == ST_ENOTFOUND ? 0 : rc;
}

/* Path driver: scans each matching group's rows inside the window, then the pending entries. */
static int scan_paths(qrun *r)
{
    const uint8_t *g = r->pathgroups.data;
    uint8_t key[ST_IX_ENC_MAX + 32];
    char path[ST_IX_STR_CAP + 1];
    int rc = 0;
    st_cursor *c;
    if ((rc = st_cursor_open(r->txn, ST_T_IX_PATH, &c)) != 0) return rc == ST_ENOTFOUND ? 0 : rc;
    for (size_t off = 0; off < r->pathgroups.len && rc == 0;) {
        size_t gl = ((size_t)g[off] << 8) | g[off + 1];
        const uint8_t *gk = g + off + 2;      /* 'd' enc(path) */
        off += 2 + gl;
        size_t pl = st_ix_dec_str(path, sizeof path - 1, gk + 1, gl - 3);
        int maybe = st_ix_at_cap(path, pl) && !st_query_path_match(r->q->path, path, pl);
        memcpy(key, gk, gl);
        key[0] = 'p';
        st_be64_put(key + gl, r->lo);
        memset(key + gl + 8, 0, 8);
        const void *k, *v;
        size_t kl, vl;
        for (rc = st_cursor_seek(c, key, gl + 16, &k, &kl, &v, &vl); rc == 0; rc = st_cursor_next(c, &k, &kl, &v, &vl)) {
            if (kl != gl + 16 || memcmp(k, key, gl) != 0) break;
            uint64_t t = st_be64_get((const uint8_t *)k + gl), idx = st_be64_get((const uint8_t *)k + gl + 8);
            if (r->hi_set && t >= r->hi) break;
            int ok = vl ? st_query_path_match(r->q->path, v, vl) : !maybe;
            if (ok && (rc = consider(r, t, idx, 0, 0, 0, NULL)) != 0) break;
        }
        if (rc == ST_ENOTFOUND) rc = 0;
    }
    st_cursor_close(c);
    for (size_t i = 0; i < r->pn && rc == 0; i++)
        if (in_window(r, r->pend[i].t)) rc = consider(r, r->pend[i].t, r->pend[i].idx, 0, 0, 0, NULL);
    return rc;
}

static int field_estimate(qrun *r, unsigned field, const st_qfield *f, uint64_t *est)
{
    uint8_t k[2 + ST_IX_ENC_MAX];
    *est = 0;
    for (size_t i = 0; i < f->n; i++) {
        const void *v;
        size_t vl, kl;
        if (field == ST_IXF_TOOL) {                 /* tools: field 0 of the aggregate row */
            k[0] = 'a';
            kl = 1 + st_ix_enc_str(k + 1, f->v[i], f->len[i], NULL);
        } else {
            k[0] = 'c';
            k[1] = (uint8_t)field;
            kl = 2 + st_ix_enc_str(k + 2, f->v[i], f->len[i], NULL);
        }
        int rc = st_db_get(r->txn, ST_T_STATS, k, kl, &v, &vl);
        if (rc == ST_ENOTFOUND) continue;
        if (rc) return rc;
        if (vl >= 8) *est += st_be64_get(v);
    }
    return 0;
}

/* Moves the k candidates that come first in output order (the k smallest
 * by cmp, or the k largest when reverse) to v[0..k), in any order: a
 * bounded heap, O(n log k), so --limit 100 over 100k candidates sorts 100. */
static void sift(cand *h, size_t n, size_t i, int (*worse)(const cand *, const cand *, int (*)(const void *, const void *)),
                 int (*cmp)(const void *, const void *))
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && worse(&h[l], &h[m], cmp)) m = l;
        if (r < n && worse(&h[r], &h[m], cmp)) m = r;
        if (m == i) return;
        cand t = h[i]; h[i] = h[m]; h[m] = t;
        i = m;
    }
}

static int later(const cand *a, const cand *b, int (*cmp)(const void *, const void *)) { return cmp(a, b) > 0; }
static int earlier(const cand *a, const cand *b, int (*cmp)(const void *, const void *)) { return cmp(a, b) < 0; }

static void top_k(cand *v, size_t n, size_t k, int (*cmp)(const void *, const void *), int reverse)
{
    /* heap root = the worst of the kept k: the latest (forward) or the earliest (reverse) */
    int (*worse)(const cand *, const cand *, int (*)(const void *, const void *)) = reverse ? earlier : later;
    for (size_t i = k / 2; i-- > 0;) sift(v, k, i, worse, cmp);
    for (size_t i = k; i < n; i++) {
        if (worse(&v[0], &v[i], cmp)) {
            v[0] = v[i];
            sift(v, k, 0, worse, cmp);
        }
    }
}

/* ---- entry point ----------------------------------------------------------------------- */

static int plan(qrun *r, uint64_t *best)
{
    const st_query *q = r->q;
    static const unsigned fields[] = { ST_IXF_TOOL, ST_IXF_SESSION, ST_IXF_STATUS };
    static const int drivers[] = { D_TOOL, D_SESSION, D_STATUS };
    const st_qfield *fs[] = { &q->tool, &q->session, &q->status };
    int rc;
    *best = UINT64_MAX;
    r->driver = D_TIME;
    int status_indexed = 1;                   /* the common statuses have no rows (index.h) */
    for (size_t i = 0; i < q->status.n; i++)
        if (st_ix_status_common(q->status.v[i], q->status.len[i])) status_indexed = 0;
    for (int i = 0; i < 3; i++) {
        uint64_t e;
        if (!fs[i]->n || (drivers[i] == D_STATUS && !status_indexed)) continue;
        if ((rc = field_estimate(r, fields[i], fs[i], &e)) != 0) return rc;
        if (e < *best) { *best = e; r->driver = drivers[i]; r->drv_field = fs[i]; }
    }
    if (q->path) {
        uint64_t e;
        if ((rc = path_groups(r, &e)) != 0 || (rc = path_pending(r, &e)) != 0) return rc;
        if (e < *best) { *best = e; r->driver = D_PATH; r->drv_field = NULL; }
    }
    if (*best == 0) r->driver = D_NONE;
    return 0;
}

int st_query_run(st_txn *txn, const st_query *q, st_query_fn fn, void *ctx, st_query_info *info, st_err *err)
{
    qrun r;
    memset(&r, 0, sizeof r);
    r.txn = txn; r.q = q; r.fn = fn; r.ctx = ctx; r.info = info; r.err = err;
    if (info) memset(info, 0, sizeof *info);
    if (q->path && (!*q->path || strlen(q->path) > ST_IX_PATH_MAX)) return st_fail(err, ST_EINVAL, "path pattern is empty or longer than %u bytes", ST_IX_PATH_MAX);
    if (q->text && q->text_len == 0) return st_fail(err, ST_EINVAL, "text filter is empty");
    int rc = st_index_layout_ok(txn, err);
    if (rc) return rc;
    if ((q->yield == NULL) != (q->renew == NULL)) return st_fail(err, ST_EINVAL, "query: yield without renew");
    if ((rc = st_size_txn(txn, &r.size)) != 0) return rc;
    r.lo = q->has_since ? st_ix_time_key(q->since_us) : 0;
    r.hi_set = q->has_until;
    r.hi = q->has_until ? st_ix_time_key(q->until_us) : 0;
    if (r.hi_set && r.hi <= r.lo) { if (info) info->driver = "none"; return 0; }
    if (q->text) {
        st_json_write_string(&r.esc, q->text, q->text_len);
        if (r.esc.oom) return ENOMEM;
        if (r.esc.len - 2 == q->text_len) r.esc.len = 0;       /* nothing escaped: one needle is enough */
        else { memmove(r.esc.data, r.esc.data + 1, r.esc.len - 2); r.esc.len -= 2; }
    }
    uint64_t est;
    rc = plan(&r, &est);
    if (rc) goto out;
    if (r.driver == D_TIME && est == UINT64_MAX) est = r.size;   /* no index count: at most every entry */
    if (info) { info->driver = driver_names[r.driver]; info->estimate = est; }
    if (r.driver == D_NONE) goto out;

    int nranges = r.drv_field ? (int)r.drv_field->n : 1;
    r.need_summary = (q->tool.n && r.drv_field != &q->tool) || q->event.n ||
                     (q->session.n && r.drv_field != &q->session) || (q->status.n && r.drv_field != &q->status) ||
                     ((q->has_min_duration || q->sort == ST_QSORT_DURATION) && r.driver != D_TOOL && r.driver != D_TIME);
    r.path_residual = q->path && r.driver != D_PATH;
    if (q->sort == ST_QSORT_DURATION) r.collect = 1;
    else r.collect = r.driver == D_PATH || nranges > 1;
    int backward = q->reverse && !r.collect;

    switch (r.driver) {
    case D_TIME: rc = scan_range(&r, ST_T_IX_TIME, NULL, 0, NULL, 0, backward); break;
    case D_PATH: rc = scan_paths(&r); break;
    default: {
        static const st_table tabs[] = { [D_TOOL] = ST_T_IX_TOOL, [D_SESSION] = ST_T_IX_SESSION,
                                         [D_STATUS] = ST_T_IX_STATUS };
        for (size_t i = 0; i < r.drv_field->n && rc == 0; i++) {
            uint8_t p[ST_IX_ENC_MAX];
            size_t pl = st_ix_enc_str(p, r.drv_field->v[i], r.drv_field->len[i], NULL);
            rc = scan_range(&r, tabs[r.driver], p, pl, r.drv_field->v[i], r.drv_field->len[i], backward);
        }
    }
    }
    if (rc || !r.collect) goto out;
    if (r.driver == D_PATH && r.cn > 1) {     /* an entry under several matching paths was read once per path */
        qsort(r.cv, r.cn, sizeof *r.cv, cmp_time);
        size_t m = 1;
        for (size_t i = 1; i < r.cn; i++)
            if (r.cv[i].idx != r.cv[m - 1].idx) r.cv[m++] = r.cv[i];
        r.cn = m;
    }
    int (*cmp)(const void *, const void *) = q->sort == ST_QSORT_DURATION ? cmp_dur : cmp_time;
    if (q->no_entry && !q->limit && !q->text) {
        /* counting: order does not matter */
    } else if (q->limit && !q->text && q->limit < r.cn) {
        top_k(r.cv, r.cn, (size_t)q->limit, cmp, q->reverse);   /* the first `limit` in output order */
        r.cn = (size_t)q->limit;
        qsort(r.cv, r.cn, sizeof *r.cv, cmp);
    } else if (r.cn) {
        qsort(r.cv, r.cn, sizeof *r.cv, cmp);
    }
    for (size_t i = 0; i < r.cn && rc == 0; i++) {
        rc = emit(&r, q->reverse ? r.cv[r.cn - 1 - i].idx : r.cv[i].idx);
        if (rc == 0 && q->yield && i + 1 < r.cn && q->yield(r.ctx)) rc = q->renew(r.ctx, &r.txn);
    }
out:
    if (rc == Q_STOP) rc = 0;
    free(r.cv);
    st_buf_free(&r.esc);
    st_buf_free(&r.pathgroups);
    st_buf_free(&r.row);
    free(r.pend);
    return rc;
}
