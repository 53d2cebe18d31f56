/*
 * import.c: the I/O side of `sealtrail import` (import.h): a bounded line
 * reader over a file descriptor (or over memory, for a strict import from
 * a pipe), batching of converted lines into st_append_records calls (one
 * durable transaction per batch), duration matching for hook lines
 * (PostToolUse without duration_ms gets it from its PreToolUse, looked up
 * first among the lines imported so far, then in the store), and the
 * strict mode's check pass.
 */
#include "import.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "index.h"
#include "store_int.h"

#define CHUNK (1u << 20)

/* ---- line reader ----------------------------------------------------------------------- */

typedef struct reader {
    int fd;                /* -1: memory only */
    char *buf;
    size_t cap, start, end;
    int eof;
    size_t max_line;
    uint64_t bytes;        /* consumed */
} reader;

/* Next line (without LF) in *line and *len. 1 = a line, 0 = end, <0/errno = error.
 * *toolong is set for a line over max_line (its bytes are skipped). */
static int next_line(reader *r, const char **line, size_t *len, int *toolong)
{
    size_t scanned = r->start;
    *toolong = 0;
    for (;;) {
        char *nl = memchr(r->buf + scanned, '\n', r->end - scanned);
        if (nl) {
            size_t n = (size_t)(nl - (r->buf + r->start));
            *line = r->buf + r->start;
            *len = n;
            *toolong = n > r->max_line;
            r->start += n + 1;
            r->bytes += n + 1;
            return 1;
        }
        scanned = r->end;
        if (r->end - r->start > r->max_line) {              /* skip to the next LF */
            *toolong = 1;
            r->bytes += r->end - r->start;
            r->start = r->end = scanned = 0;
            for (;;) {
                if (r->eof) { *line = r->buf; *len = 0; return 1; }
                ssize_t got = r->fd < 0 ? 0 : read(r->fd, r->buf, r->cap);
                if (got < 0) { if (errno == EINTR) continue; return errno; }
                if (got == 0) { r->eof = 1; continue; }
                char *q = memchr(r->buf, '\n', (size_t)got);
                if (q) {
                    r->start = (size_t)(q - r->buf) + 1;
                    r->end = (size_t)got;
                    r->bytes += r->start;
                    *line = r->buf;
                    *len = 0;
                    return 1;
                }
                r->bytes += (size_t)got;
            }
        }
        if (r->eof) {
            if (r->start == r->end) return 0;
            *line = r->buf + r->start;
            *len = r->end - r->start;
            r->bytes += *len;
            r->start = r->end;
            return 1;
        }
        if (r->start > 0 && r->start == r->end) r->start = r->end = scanned = 0;
        if (r->end == r->cap) {
            if (r->start > 0) {
                memmove(r->buf, r->buf + r->start, r->end - r->start);
                r->end -= r->start;
                scanned -= r->start;
                r->start = 0;
            } else {
                size_t nc = r->cap * 2;
                char *nb = realloc(r->buf, nc);
                if (!nb) return ENOMEM;
                r->buf = nb;
                r->cap = nc;
            }
        }
        if (r->fd < 0) { r->eof = 1; continue; }
        ssize_t got = read(r->fd, r->buf + r->end, r->cap - r->end);
        if (got < 0) { if (errno == EINTR) continue; return errno; }
        if (got == 0) r->eof = 1;
        r->end += (size_t)got;
    }
}

/* ---- tool_use_id -> PreToolUse time, for the lines of this import ---------------------- */

typedef struct pre_map {
    struct pre_slot { uint64_t h; size_t off; uint32_t len; int64_t t; } *s;
    size_t cap, used;
    st_buf keys;
} pre_map;

static uint64_t hash_id(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)p[i]) * 1099511628211ULL;
    return h ? h : 1;
}

static struct pre_slot *pre_find(pre_map *m, const char *id, size_t n, uint64_t h)
{
    if (!m->cap) return NULL;
    for (size_t j = h & (m->cap - 1);; j = (j + 1) & (m->cap - 1)) {
        struct pre_slot *s = &m->s[j];
        if (!s->h || (s->h == h && s->len == n && memcmp(m->keys.data + s->off, id, n) == 0)) return s;
    }
}

static int pre_put(pre_map *m, const char *id, size_t n, int64_t t)
{
    if ((m->used + 1) * 4 >= m->cap * 3) {
        size_t nc = m->cap ? m->cap * 2 : 4096;
        struct pre_slot *ns = calloc(nc, sizeof *ns), *old = m->s;
        if (!ns) return ENOMEM;
        size_t oc = m->cap;
        m->s = ns;
        m->cap = nc;
        for (size_t i = 0; i < oc; i++)
            if (old[i].h) *pre_find(m, (const char *)m->keys.data + old[i].off, old[i].len, old[i].h) = old[i];
        free(old);
    }
    uint64_t h = hash_id(id, n);
    struct pre_slot *s = pre_find(m, id, n, h);
    if (!s->h) {
        *s = (struct pre_slot){ h, m->keys.len, (uint32_t)n, t };
        st_buf_put(&m->keys, id, n);
        m->used++;
    } else {
        s->t = t;
    }
    return m->keys.oom ? ENOMEM : 0;
}

/* ---- batches ---------------------------------------------------------------------------------- */

typedef struct importer {
    st_store *s;
    const st_import_opts *o;
    st_import_result *res;
    st_err *err;
    st_import_line_opts lo;
    st_event *evs;
    st_record_in *recs;
    size_t n, batch;
    pre_map pre;
    int dry;               /* strict check pass: convert only */
} importer;

static int flush(importer *im)
{
    int rc = 0;
    if (im->n && !im->dry) {
        uint64_t first;
        for (size_t i = 0; i < im->n; i++) im->recs[i] = im->evs[i].rec;
        rc = st_append_records(im->s, im->recs, im->n, &first);
        if (rc) st_fail(im->err, rc, "appending lines: %s", st_store_error(im->s));
        else {
            if (!im->res->imported) im->res->first_index = first;
            im->res->imported += im->n;
        }
    }
    for (size_t i = 0; i < im->n; i++) st_event_free(&im->evs[i]);
    im->n = 0;
    return rc;
}

/* Duration for a hook PostToolUse without one: this import first, then the store. */
static int match_duration(importer *im, st_event *ev)
{
    if (ev->is_pretool && ev->tool_use_id)
        return pre_put(&im->pre, ev->tool_use_id, ev->tool_use_id_len, ev->rec.time_us);
    if (!ev->needs_duration || !ev->tool_use_id) return 0;
    struct pre_slot *p = pre_find(&im->pre, ev->tool_use_id, ev->tool_use_id_len,
                                  hash_id(ev->tool_use_id, ev->tool_use_id_len));
    if (p && p->h) return st_event_set_duration(ev, p->t);
    return im->dry ? 0 : st_event_lookup_duration(im->s, ev);
}

static int run(importer *im, reader *r)
{
    const char *line = NULL;
    size_t len = 0;
    int toolong, rc;
    st_err why;
    uint64_t lineno = 0;
    while ((rc = next_line(r, &line, &len, &toolong)) == 1) {
        lineno++;
        im->res->lines = lineno;
        st_event *ev = &im->evs[im->n];
        int kind;
        why.msg[0] = 0;
        if (toolong) rc = st_fail(&why, ST_ETOOBIG, "longer than %zu bytes", r->max_line);
        else rc = st_import_line(ev, &kind, line, len, &im->lo, &why);
        if (rc == ENOMEM) return st_fail(im->err, ENOMEM, "line %llu: out of memory", (unsigned long long)lineno);
        if (rc) {
            if (im->o->strict)
                return st_fail(im->err, ST_EJSON, "line %llu: %s (strict: nothing imported)", (unsigned long long)lineno, why.msg);
            im->res->bad++;
            if (im->o->on_bad) im->o->on_bad(im->o->ctx, lineno, why.msg);
            continue;
        }
        if (kind == ST_IMPORT_BLANK) { im->res->blank++; continue; }
        if ((rc = match_duration(im, ev)) != 0) { st_event_free(ev); return rc; }
        if (kind == ST_IMPORT_SEED) im->res->seed++;
        else im->res->hook++;
        im->res->redactions += ev->redactions;
        if (++im->n == im->batch && (rc = flush(im)) != 0) return rc;
        if (!im->dry && im->o->on_progress && (lineno & 0xffff) == 0)
            im->o->on_progress(im->o->ctx, lineno, im->res->imported + im->n, r->bytes);
    }
    if (rc != 0) return st_fail(im->err, rc, "reading input: %s", st_strerror(rc));
    return flush(im);
}

static void importer_reset(importer *im)
{
    free(im->pre.s);
    st_buf_free(&im->pre.keys);
    memset(&im->pre, 0, sizeof im->pre);
}

int st_import_fd(st_store *s, int fd, const st_import_opts *o, st_import_result *res, st_err *err)
{
    st_import_opts dflt = { 0 };
    if (!o) o = &dflt;
    memset(res, 0, sizeof *res);
    importer im = { .s = s, .o = o, .res = res, .err = err };
    im.batch = o->batch ? o->batch : 1000;
    im.lo = (st_import_line_opts){ .now_us = st_now_us(), .host = st_event_host(), .user = st_event_user(),
                                   .redactor = o->redactor };
    im.evs = calloc(im.batch, sizeof *im.evs);
    im.recs = calloc(im.batch, sizeof *im.recs);
    reader r = { .fd = fd, .cap = CHUNK, .max_line = o->max_line ? o->max_line : ST_EVENT_MAX_DEFAULT };
    r.buf = malloc(r.cap);
    int rc = 0;
    if (!im.evs || !im.recs || !r.buf) { rc = ENOMEM; goto out; }
    if (o->strict) {
        off_t pos = lseek(fd, 0, SEEK_CUR);
        im.dry = 1;
        if (pos < 0) {                      /* a pipe: read it all, check, then import from memory */
            for (;;) {
                if (r.end == r.cap) {
                    char *nb = realloc(r.buf, r.cap * 2);
                    if (!nb) { rc = st_fail(err, ENOMEM, "strict import from a pipe: input too large to hold"); goto out; }
                    r.buf = nb;
                    r.cap *= 2;
                }
                ssize_t got = read(fd, r.buf + r.end, r.cap - r.end);
                if (got < 0 && errno == EINTR) continue;
                if (got < 0) { rc = st_fail(err, errno, "reading input"); goto out; }
                if (got == 0) break;
                r.end += (size_t)got;
            }
            size_t total = r.end;
            r.fd = -1;
            r.eof = 1;
            if ((rc = run(&im, &r)) != 0) goto out;
            r.start = 0;
            r.end = total;
            r.bytes = 0;
        } else {
            if ((rc = run(&im, &r)) != 0) goto out;
            if (lseek(fd, pos, SEEK_SET) < 0) { rc = st_fail(err, errno, "rewinding input"); goto out; }
            r.start = r.end = 0;
            r.eof = 0;
            r.bytes = 0;
        }
        importer_reset(&im);
        uint64_t lines = res->lines;
        memset(res, 0, sizeof *res);
        res->lines = lines;
        im.dry = 0;
    }
    rc = run(&im, &r);
    if (o->on_progress) o->on_progress(o->ctx, res->lines, res->imported, r.bytes);
out:
    for (size_t i = 0; im.evs && i < im.n; i++) st_event_free(&im.evs[i]);
    importer_reset(&im);
    free(im.evs);
    free(im.recs);
    free(r.buf);
    return rc;
}
