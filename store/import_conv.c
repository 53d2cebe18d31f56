/*
 * import_conv.c: the converting side of `sealtrail import` (import_int.h):
 * a bounded line reader over a file descriptor (or over memory, for a
 * strict import from a pipe), the conversion of each line (st_import_line),
 * duration matching among the lines of this import (a PostToolUse without
 * duration_ms gets it from the last PreToolUse with its tool_use_id; the
 * appending side then looks in the store for those still unmatched), and
 * the filling of segments. Touches no store: it runs in its own thread.
 */
#include "import_int.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- line reader ----------------------------------------------------------------------- */

void imp_reader_drop_cache(imp_reader *r)
{
    struct stat st;
    off_t at;
    r->drop = 0;
    if (r->fd < 0 || fstat(r->fd, &st) != 0 || !S_ISREG(st.st_mode) || (at = lseek(r->fd, 0, SEEK_CUR)) < 0) return;
    r->drop = 1;
    r->pos = r->dropped = (int64_t)at;
}

static ssize_t reader_read(imp_reader *r, void *buf, size_t n)
{
    ssize_t got = read(r->fd, buf, n);
    if (got > 0 && r->drop) {
        r->pos += got;
        if (r->pos - r->dropped >= IMP_DROP_EVERY) {
            /* advice only: a failure changes nothing but the cache */
            (void)posix_fadvise(r->fd, (off_t)r->dropped, (off_t)(r->pos - r->dropped), POSIX_FADV_DONTNEED);
            r->dropped = r->pos;
        }
    }
    return got;
}

int imp_next_line(imp_reader *r, const char **line, size_t *len, int *toolong)
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
                ssize_t got = r->fd < 0 ? 0 : reader_read(r, r->buf, r->cap);
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
        ssize_t got = reader_read(r, r->buf + r->end, r->cap - r->end);
        if (got < 0) { if (errno == EINTR) continue; return errno; }
        if (got == 0) r->eof = 1;
        r->end += (size_t)got;
    }
}

/* ---- tool_use_id -> PreToolUse time, for the lines of this import ---------------------- */

static uint64_t hash_id(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)p[i]) * 1099511628211ULL;
    return h ? h : 1;
}

static struct imp_pre_slot *pre_find(imp_pre_map *m, const char *id, size_t n, uint64_t h)
{
    if (!m->cap) return NULL;
    for (size_t j = h & (m->cap - 1);; j = (j + 1) & (m->cap - 1)) {
        struct imp_pre_slot *s = &m->s[j];
        if (!s->h || (s->h == h && s->len == n && memcmp(m->keys.data + s->off, id, n) == 0)) return s;
    }
}

static int pre_put(imp_pre_map *m, const char *id, size_t n, int64_t t)
{
    if ((m->used + 1) * 4 >= m->cap * 3) {
        size_t nc = m->cap ? m->cap * 2 : 4096;
        struct imp_pre_slot *ns = calloc(nc, sizeof *ns), *old = m->s;
        if (!ns) return ENOMEM;
        size_t oc = m->cap;
        m->s = ns;
        m->cap = nc;
        for (size_t i = 0; i < oc; i++)
            if (old[i].h) *pre_find(m, (const char *)m->keys.data + old[i].off, old[i].len, old[i].h) = old[i];
        free(old);
    }
    uint64_t h = hash_id(id, n);
    struct imp_pre_slot *s = pre_find(m, id, n, h);
    if (!s->h) {
        *s = (struct imp_pre_slot){ h, m->keys.len, (uint32_t)n, t };
        st_buf_put(&m->keys, id, n);
        m->used++;
    } else {
        s->t = t;
    }
    return m->keys.oom ? ENOMEM : 0;
}

/* A PreToolUse is remembered; a PostToolUse without a duration takes it from
 * its PreToolUse among the lines so far (if none, needs_duration stays set
 * for the appending side's store lookup). */
static int match_duration(imp_conv *c, st_event *ev)
{
    if (ev->is_pretool && ev->tool_use_id)
        return pre_put(&c->pre, ev->tool_use_id, ev->tool_use_id_len, ev->rec.time_us);
    if (!ev->needs_duration || !ev->tool_use_id) return 0;
    struct imp_pre_slot *p = pre_find(&c->pre, ev->tool_use_id, ev->tool_use_id_len,
                                      hash_id(ev->tool_use_id, ev->tool_use_id_len));
    return p && p->h ? st_event_set_duration(ev, p->t) : 0;
}

void imp_conv_free(imp_conv *c)
{
    free(c->pre.s);
    st_buf_free(&c->pre.keys);
    memset(&c->pre, 0, sizeof c->pre);
    for (size_t i = 0; i < c->nspare; i++) st_prepared_free(c->spare[i]);
    free(c->spare);
    c->spare = NULL;
    c->nspare = c->spare_cap = 0;
    for (size_t i = 0; i < c->nsev; i++) {
        st_json_doc_free(c->sev[i].doc);
        st_buf_free(&c->sev[i].buf);
    }
    free(c->sev);
    c->sev = NULL;
    c->nsev = c->sev_cap = 0;
}

/* The spare lists: room for one more, doubling from 1024 items. */
static void *pool_room(void *items, size_t *cap, size_t used, size_t size)
{
    return st_array_room(items, cap, used, size, 1024);
}

/* ---- documents and payload buffers --------------------------------------------------------- */

/* A payload buffer bigger than this (a long line's) is freed, not kept. */
#define SPARE_BUF_MAX ((size_t)64 << 10)

/* Frees ev (appended, no longer needed), keeping its document and first
 * payload buffer for a later line. */
static void spare_event(imp_conv *c, st_event *ev)
{
    struct imp_spare_ev *ns = ev->doc ? pool_room(c->sev, &c->sev_cap, c->nsev, sizeof *ns) : NULL;
    if (ns) {
        c->sev = ns;
        struct imp_spare_ev *e = &c->sev[c->nsev++];
        e->doc = ev->doc;
        ev->doc = NULL;
        memset(&e->buf, 0, sizeof e->buf);
        if (ev->pbuf[0].cap <= SPARE_BUF_MAX && !ev->pbuf[0].oom) {
            e->buf = ev->pbuf[0];
            memset(&ev->pbuf[0], 0, sizeof ev->pbuf[0]);
        }
    }
    st_event_free(ev);
}

/* ---- preparations ----------------------------------------------------------------------- */

/* Keeps p (appended, no longer needed) for a later line; frees it if the list cannot grow. */
static void spare_put(imp_conv *c, st_prepared *p)
{
    if (!p) return;
    st_prepared **ns = pool_room(c->spare, &c->spare_cap, c->nspare, sizeof *ns);
    if (!ns) { st_prepared_free(p); return; }
    c->spare = ns;
    c->spare[c->nspare++] = p;
}

static st_prepared *spare_get(imp_conv *c)
{
    return c->nspare ? c->spare[--c->nspare] : NULL;
}

/* Preparing is shared between threads (import_int.h): records are taken in
 * pairs (st_prepare_record_pair hashes two at once), an odd last one alone. */

/* Takes the next records of sg waiting for a preparer: the first in *i, the
 * count (1 or 2) returned; 0: none waits now. */
static size_t take(imp_seg *sg, size_t *i)
{
    size_t at = atomic_load_explicit(&sg->claim, memory_order_relaxed);
    for (;;) {
        int closed = atomic_load_explicit(&sg->closed, memory_order_acquire);
        size_t parsed = atomic_load_explicit(&sg->parsed, memory_order_acquire);
        size_t k = parsed - at >= 2 ? 2 : closed && parsed > at ? 1 : 0;
        if (k == 0) return 0;
        if (atomic_compare_exchange_weak_explicit(&sg->claim, &at, at + k, memory_order_acq_rel, memory_order_relaxed)) {
            *i = at;
            return k;
        }
    }
}

/* Prepares records [i, i + k) of sg in their slots (a slot may hold a spare
 * preparation to reuse). A failed preparation leaves NULL: the append then
 * prepares the record itself and reports the error. */
static void prepare_taken(const imp_conv *c, imp_seg *sg, size_t i, size_t k, st_payload_zctx *z)
{
    if (k == 2) {
        const st_record_in *r[2] = { &sg->evs[i].rec, &sg->evs[i + 1].rec };
        const uint64_t idx[2] = { sg->at[i], sg->at[i + 1] };
        st_prepared *p[2] = { sg->prep[i], sg->prep[i + 1] };
        st_prepare_record_pair(c->s, r, idx, z, p);     /* NULL where it failed */
        sg->prep[i] = p[0];
        sg->prep[i + 1] = p[1];
    } else {
        st_prepared *p = sg->prep[i];
        sg->prep[i] = st_prepare_record_reuse(c->s, &sg->evs[i].rec, sg->at[i], z, &p) == 0 ? p : NULL;
    }
    atomic_fetch_add_explicit(&sg->prepared, k, memory_order_release);
}

int imp_help_prepare(const imp_conv *c, imp_seg *sg, st_payload_zctx *z)
{
    size_t i, k;
    int did = 0;
    if (!c->s) return 0;
    while ((k = take(sg, &i)) != 0) {
        prepare_taken(c, sg, i, k, z);
        did = 1;
    }
    return did;
}

/* The converter keeps at most LAG records waiting: while the other threads
 * are busy it prepares them itself, still warm in its cache; while they
 * wait (the preparer, the appender between transactions), they take them
 * first (woken every WAKE_EVERY records). */
#define LAG 64u
#define WAKE_EVERY 16u

static void keep_up(imp_conv *c, imp_seg *sg)
{
    size_t waiting = sg->n - atomic_load_explicit(&sg->claim, memory_order_relaxed), i, k;
    if (waiting >= LAG) {
        while (sg->n - atomic_load_explicit(&sg->claim, memory_order_relaxed) > LAG / 2 && (k = take(sg, &i)) != 0)
            prepare_taken(c, sg, i, k, c->z);
    } else if (waiting >= 2 && sg->n % WAKE_EVERY == 0 && c->wake) {
        c->wake(c->share_ctx);
    }
}

/* Closes sg, prepares what still waits and returns once every record taken
 * by any preparer is prepared. */
static void finish_preparing(imp_conv *c, imp_seg *sg)
{
    atomic_store_explicit(&sg->closed, 1, memory_order_release);
    if (!c->s) return;
    imp_help_prepare(c, sg, c->z);
    /* Each other preparer holds at most one pair: wait for them. */
    while (atomic_load_explicit(&sg->prepared, memory_order_acquire) != sg->n) sched_yield();
}

/* ---- segments --------------------------------------------------------------------------- */

static void stop(imp_seg *sg, int rc)
{
    sg->rc = rc;
    sg->last = 1;
}

static imp_note *note(imp_seg *sg, uint64_t line)
{
    imp_note *nt = &sg->notes[sg->nnotes++];
    memset(nt, 0, offsetof(imp_note, msg));
    nt->line = line;
    nt->msg[0] = 0;
    return nt;
}

/* Tops sp up from the spare list: a document, and a buffer if it has none. */
static void spare_take(imp_conv *c, struct imp_spare_ev *sp)
{
    if (sp->doc || !c->nsev) return;
    struct imp_spare_ev *e = &c->sev[--c->nsev];
    sp->doc = e->doc;
    if (!sp->buf.data) sp->buf = e->buf;
    else st_buf_free(&e->buf);
}

static void fill_lines(imp_conv *c, imp_seg *sg, struct imp_spare_ev *sp);

static void fill(imp_conv *c, imp_seg *sg)
{
    struct imp_spare_ev sp;            /* for the next line (see st_import_line_reuse) */
    memset(&sp, 0, sizeof sp);
    spare_take(c, &sp);
    fill_lines(c, sg, &sp);
    if (sp.doc || sp.buf.data) {
        if (c->nsev < c->sev_cap) {
            c->sev[c->nsev++] = sp;
        } else {
            st_json_doc_free(sp.doc);
            st_buf_free(&sp.buf);
        }
    }
}

static void fill_lines(imp_conv *c, imp_seg *sg, struct imp_spare_ev *sp)
{
    const char *line = NULL;
    size_t len = 0;
    int toolong, rc, kind;
    st_err why;
    while (sg->nnotes < IMP_NOTE_CAP) {
        if ((rc = imp_next_line(c->r, &line, &len, &toolong)) != 1) {
            if (rc == 0) sg->end_txn = sg->last = 1;
            else stop(sg, st_fail(&sg->err, rc, "reading input: %s", st_strerror(rc)));
            return;
        }
        uint64_t ln = sg->lines = ++c->lineno;
        /* A UTF-8 byte order mark (Windows editors write one) opens the
         * file, not the first object; anywhere else it is not whitespace. */
        if (ln == 1 && len >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0) {
            line += 3;
            len -= 3;
        }
        st_event *ev = &sg->evs[sg->n];
        why.msg[0] = 0;
        if (toolong) rc = st_fail(&why, ST_ETOOBIG, "longer than %zu bytes", c->r->max_line);
        else rc = st_import_line_reuse(ev, &kind, line, len, &c->lo, &why, &sp->doc, &sp->buf);
        if (rc == ENOMEM) {
            stop(sg, st_fail(&sg->err, ENOMEM, "line %llu: out of memory", (unsigned long long)ln));
            return;
        }
        if (rc) {
            if (c->strict) {
                stop(sg, st_fail(&sg->err, ST_EJSON, "line %llu: %s (strict: nothing imported)", (unsigned long long)ln, why.msg));
                return;
            }
            sg->bad++;
            imp_note *nt = note(sg, ln);
            nt->bad = 1;
            memcpy(nt->msg, why.msg, sizeof nt->msg);
            continue;
        }
        if (kind == ST_IMPORT_BLANK) { sg->blank++; continue; }
        spare_take(c, sp);                 /* if the line took them: the next pair */
        if ((rc = match_duration(c, ev)) != 0) {
            st_event_free(ev);
            stop(sg, st_fail(&sg->err, rc, "line %llu: out of memory", (unsigned long long)ln));
            return;
        }
        /* A duration still to be looked up in the store changes the
         * metadata: then only the payloads are prepared. */
        sg->at[sg->n] = c->next_index == UINT64_MAX || ev->needs_duration ? UINT64_MAX : c->next_index + c->good;
        sg->prep[sg->n] = c->s ? spare_get(c) : NULL;
        if (kind == ST_IMPORT_SEED) sg->seed++;
        else sg->hook++;
        sg->redactions += ev->redactions;
        sg->n++;
        c->good++;
        atomic_store_explicit(&sg->parsed, sg->n, memory_order_release);   /* the event may be prepared now */
        if (c->s) keep_up(c, sg);
        if (c->progress && (ln & 0xffff) == 0) {
            imp_note *nt = note(sg, ln);
            nt->good = c->good;
            nt->bytes = c->r->bytes;
        }
        c->in_txn_bytes += len;
        if (++c->in_txn == c->batch || c->in_txn_bytes >= c->batch_bytes) {
            c->in_txn = 0;
            c->in_txn_bytes = 0;
            sg->end_txn = 1;
            return;
        }
    }
}

void imp_produce(imp_conv *c, imp_seg *sg)
{
    for (size_t i = 0; i < sg->done; i++) {
        spare_put(c, sg->prep[i]);
        sg->prep[i] = NULL;
        spare_event(c, &sg->evs[i]);
    }
    sg->done = 0;
    sg->n = sg->nnotes = 0;
    sg->end_txn = sg->last = sg->rc = 0;
    sg->err.msg[0] = 0;
    sg->lines = sg->bad = sg->blank = sg->seed = sg->hook = sg->redactions = 0;
    atomic_store_explicit(&sg->parsed, 0, memory_order_relaxed);
    atomic_store_explicit(&sg->claim, 0, memory_order_relaxed);
    atomic_store_explicit(&sg->prepared, 0, memory_order_relaxed);
    atomic_store_explicit(&sg->closed, 0, memory_order_relaxed);
    if (c->publish) c->publish(c->share_ctx, sg);
    fill(c, sg);
    finish_preparing(c, sg);
    if (c->publish) c->publish(c->share_ctx, NULL);
    sg->bytes = c->r->bytes;
}

int imp_seg_alloc(imp_seg *sg, size_t batch)
{
    sg->evs = calloc(batch, sizeof *sg->evs);
    sg->prep = calloc(batch, sizeof *sg->prep);
    sg->at = calloc(batch, sizeof *sg->at);
    return sg->evs && sg->prep && sg->at ? 0 : ENOMEM;
}

void imp_seg_release(imp_seg *sg)
{
    free(sg->evs);
    free(sg->prep);
    free(sg->at);
    sg->evs = NULL;
    sg->prep = NULL;
    sg->at = NULL;
}
