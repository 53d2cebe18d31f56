/*
 * import.c: `sealtrail import` (import.h) as a two-stage pipeline. A
 * converting thread (import_conv.c) reads and converts the lines of the
 * next segment while this thread appends the current transaction with
 * st_append_prepared, and then helps prepare the next segment's records
 * until it is complete; then they swap. Two segments, so memory stays
 * bounded (two segments plus the transaction being assembled).
 *
 * Everything observable happens on the calling thread, in line order, as
 * if the lines were converted and appended one by one: the malformed-line
 * and progress callbacks of a segment run before the transaction that
 * follows them is appended, counters advance segment by segment, and an
 * error stops the import where the one-by-one import would have stopped.
 * Duration matching in the store (a PostToolUse whose PreToolUse is not in
 * this import) also happens here, just before the append: the store then
 * holds exactly the earlier transactions, as the one-by-one import saw it.
 *
 * With strict, a check pass converts everything first (no store access, one
 * thread); a seekable fd is then rewound, a pipe is held in memory.
 */
#include "import_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "index.h"
#include "store_int.h"

#define CHUNK (1u << 20)

typedef struct importer {
    st_store *s;
    const st_import_opts *o;
    st_import_result *res;
    st_err *err;
    st_event *txn;         /* the transaction being assembled */
    st_prepared **prep;    /* and its records' preparations */
    st_record_in *recs;
    size_t ntxn, batch;
    uint64_t bytes;        /* input consumed by the segments applied so far */
    int dry;               /* strict check pass: convert only */
} importer;

/* ---- the appending side ------------------------------------------------------------------ */

static void free_events(st_event *evs, st_prepared **prep, size_t *n)
{
    for (size_t i = 0; i < *n; i++) {
        st_prepared_free(prep[i]);
        prep[i] = NULL;
        st_event_free(&evs[i]);
    }
    *n = 0;
}

/* Appends n events in one transaction (nothing in the strict check pass). */
static int append_events(importer *im, st_event *evs, st_prepared **prep, size_t n)
{
    int rc = 0;
    if (!n || im->dry) return 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        st_event *ev = &evs[i];
        if (ev->needs_duration && (rc = st_event_lookup_duration(im->s, ev)) != 0)
            st_fail(im->err, rc, "matching a PostToolUse with its PreToolUse: %s", st_store_error(im->s));
        im->recs[i] = ev->rec;
    }
    uint64_t first;
    if (rc == 0 && (rc = st_append_prepared(im->s, im->recs, prep, n, &first)) != 0)
        st_fail(im->err, rc, "appending lines: %s", st_store_error(im->s));
    if (rc == 0) {
        if (!im->res->imported) im->res->first_index = first;
        im->res->imported += n;
    }
    return rc;
}

/* Appends the transaction; its events then go back into sg, for the converter to free. */
static int flush(importer *im, imp_seg *sg)
{
    int rc = append_events(im, im->txn, im->prep, im->ntxn);
    memcpy(sg->evs, im->txn, im->ntxn * sizeof *im->txn);   /* sg->n is 0, and ntxn <= the batch size */
    memcpy(sg->prep, im->prep, im->ntxn * sizeof *im->prep);
    sg->done = im->ntxn;
    im->ntxn = 0;
    return rc;
}

/* Applies one segment: counters, notes, its events (moved into the
 * transaction), the append when the transaction is complete. 0: go on;
 * 1: done; else an error (err set). */
static int consume(importer *im, imp_seg *sg)
{
    const st_import_opts *o = im->o;
    st_import_result *res = im->res;
    if (sg->lines) res->lines = sg->lines;
    im->bytes = sg->bytes;
    res->bad += sg->bad;
    res->blank += sg->blank;
    res->seed += sg->seed;
    res->hook += sg->hook;
    res->redactions += sg->redactions;
    for (size_t i = 0; i < sg->nnotes; i++) {
        const imp_note *nt = &sg->notes[i];
        if (nt->bad && o->on_bad) o->on_bad(o->ctx, nt->line, nt->msg);
        if (!nt->bad && o->on_progress) o->on_progress(o->ctx, nt->line, nt->good, nt->bytes);
    }
    if (im->ntxn == 0 && sg->end_txn && sg->rc == 0) {
        /* The segment is the whole transaction (the usual case): append its
         * events where they are, saving two copies of each st_event. */
        int rc = append_events(im, sg->evs, sg->prep, sg->n);
        sg->done = sg->n;
        sg->n = 0;
        return rc ? rc : sg->last;
    }
    memcpy(im->txn + im->ntxn, sg->evs, sg->n * sizeof *sg->evs);   /* ownership moves */
    memcpy(im->prep + im->ntxn, sg->prep, sg->n * sizeof *sg->prep);
    im->ntxn += sg->n;
    sg->n = 0;
    if (sg->rc) {
        memcpy(im->err->msg, sg->err.msg, sizeof im->err->msg);
        return sg->rc;
    }
    int rc = sg->end_txn ? flush(im, sg) : 0;
    return rc ? rc : sg->last;
}

/* ---- the two threads ------------------------------------------------------------------- */

/* Segments change hands under mu: the converter puts a finished one in
 * `full` and takes an emptied one from `empty`; the appender does the
 * reverse. Each thread touches a segment only while it holds it. */
typedef struct pipeline {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    imp_seg *full, *empty;
    int stop;              /* the appender is done (or failed): the converter ends */
    imp_conv *c;
    imp_seg *first;
    /* While the appender waits for a segment it prepares records of the
     * one being converted (imp_help_prepare): the converter's work is the
     * larger half, so both cores stay busy. */
    imp_seg *converting;
    _Atomic int helper_waiting;
} pipeline;

static void publish(void *ctx, imp_seg *sg)
{
    pipeline *p = ctx;
    pthread_mutex_lock(&p->mu);
    p->converting = sg;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

/* A wake-up lost to the race with the appender going to sleep only
 * delays its help until the next one. */
static void wake(void *ctx)
{
    pipeline *p = ctx;
    if (!atomic_load_explicit(&p->helper_waiting, memory_order_relaxed)) return;
    pthread_mutex_lock(&p->mu);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

/* The appender's wait for the next full segment (mu held), helping with
 * the preparation of the one being converted meanwhile. */
static imp_seg *wait_full(pipeline *p, st_payload_zctx *z)
{
    while (!p->full) {
        imp_seg *cv = p->converting;
        if (cv) {
            pthread_mutex_unlock(&p->mu);
            int did = imp_help_prepare(p->c, cv, z);
            pthread_mutex_lock(&p->mu);
            if (did) continue;
        }
        if (p->full) break;
        atomic_store_explicit(&p->helper_waiting, 1, memory_order_relaxed);
        pthread_cond_wait(&p->cv, &p->mu);
        atomic_store_explicit(&p->helper_waiting, 0, memory_order_relaxed);
    }
    return p->full;
}

static void *converter(void *arg)
{
    pipeline *p = arg;
    imp_seg *sg = p->first;
    for (;;) {
        imp_produce(p->c, sg);
        int last = sg->last;
        pthread_mutex_lock(&p->mu);
        while (p->full && !p->stop) pthread_cond_wait(&p->cv, &p->mu);
        if (p->stop) {
            pthread_mutex_unlock(&p->mu);
            free_events(sg->evs, sg->prep, &sg->n);
            return NULL;
        }
        p->full = sg;
        pthread_cond_broadcast(&p->cv);
        while (!last && !p->empty && !p->stop) pthread_cond_wait(&p->cv, &p->mu);
        sg = p->empty;
        p->empty = NULL;
        int done = last || p->stop;
        pthread_mutex_unlock(&p->mu);
        if (done) return NULL;
    }
}

static void stop_sharing(imp_conv *c, st_payload_zctx *z)
{
    c->publish = NULL;
    c->wake = NULL;
    c->share_ctx = NULL;
    st_payload_zctx_free(z);
}

/* Runs the import over segs[0] and segs[1]: in two threads, or in this one
 * (the strict check pass, opts->serial, or when no thread can be started). */
static int run(importer *im, imp_conv *c, imp_seg segs[2], int serial)
{
    int rc = 0;
    pipeline p = { .c = c, .first = &segs[0], .empty = &segs[1] };
    pthread_t th;
    st_payload_zctx *z = NULL;
    if (!serial && c->s && (z = st_payload_zctx_new()) != NULL) {
        c->publish = publish;
        c->wake = wake;
        c->share_ctx = &p;
    }
    if (!serial && pthread_mutex_init(&p.mu, NULL) == 0) {
        if (pthread_cond_init(&p.cv, NULL) == 0) {
            if (pthread_create(&th, NULL, converter, &p) == 0) {
                for (;;) {
                    pthread_mutex_lock(&p.mu);
                    imp_seg *sg = wait_full(&p, z);
                    p.full = NULL;
                    pthread_cond_broadcast(&p.cv);
                    pthread_mutex_unlock(&p.mu);
                    rc = consume(im, sg);
                    pthread_mutex_lock(&p.mu);
                    if (rc) p.stop = 1;
                    else p.empty = sg;
                    pthread_cond_broadcast(&p.cv);
                    pthread_mutex_unlock(&p.mu);
                    if (rc) break;
                }
                pthread_join(th, NULL);
                /* a segment the converter finished after the appender stopped */
                if (p.full) free_events(p.full->evs, p.full->prep, &p.full->n);
                pthread_cond_destroy(&p.cv);
                pthread_mutex_destroy(&p.mu);
                stop_sharing(c, z);
                return rc == 1 ? 0 : rc;
            }
            pthread_cond_destroy(&p.cv);
        }
        pthread_mutex_destroy(&p.mu);
    }
    stop_sharing(c, z);
    do {
        imp_produce(c, &segs[0]);
        rc = consume(im, &segs[0]);
    } while (rc == 0);
    return rc == 1 ? 0 : rc;
}

/* ---- the import ------------------------------------------------------------------------ */

/* The appends defer their path rows (index.h: PATH WRITE-BEHIND); one
 * transaction at the end merges what is still pending. */
static int merge_paths(st_txn *txn, void *ctx)
{
    uint64_t size;
    (void)ctx;
    int rc = st_size_txn(txn, &size);
    return rc ? rc : st_ix_paths_merge(txn, size);
}

int st_import_fd(st_store *s, int fd, const st_import_opts *o, st_import_result *res, st_err *err)
{
    st_import_opts dflt = { 0 };
    if (!o) o = &dflt;
    memset(res, 0, sizeof *res);
    importer im = { .s = s, .o = o, .res = res, .err = err };
    im.batch = o->batch ? o->batch : ST_IMPORT_BATCH_DEFAULT;
    imp_reader r = { .fd = fd, .cap = CHUNK, .max_line = o->max_line ? o->max_line : ST_EVENT_MAX_DEFAULT };
    imp_conv c = { .r = &r, .strict = o->strict, .batch = im.batch };
    c.lo = (st_import_line_opts){ .now_us = st_now_us(), .host = st_event_host(), .user = st_event_user(),
                                  .redactor = o->redactor };
    imp_seg *segs = calloc(2, sizeof *segs);
    im.txn = calloc(im.batch, sizeof *im.txn);
    im.recs = calloc(im.batch, sizeof *im.recs);
    im.prep = calloc(im.batch, sizeof *im.prep);
    r.buf = malloc(r.cap);
    int rc = 0;
    if (!segs || !im.txn || !im.recs || !im.prep || !r.buf) { rc = ENOMEM; goto out; }
    for (int i = 0; i < 2; i++)
        if ((rc = imp_seg_alloc(&segs[i], im.batch)) != 0) goto out;
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
            if ((rc = run(&im, &c, segs, 1)) != 0) goto out;
            r.start = 0;
            r.end = total;
            r.bytes = 0;
        } else {
            if ((rc = run(&im, &c, segs, 1)) != 0) goto out;
            if (lseek(fd, pos, SEEK_SET) < 0) { rc = st_fail(err, errno, "rewinding input"); goto out; }
            r.start = r.end = 0;
            r.eof = 0;
            r.bytes = 0;
        }
        imp_conv_free(&c);
        c.lineno = c.good = 0;
        c.in_txn = 0;
        uint64_t lines = res->lines;
        memset(res, 0, sizeof *res);
        res->lines = lines;
        im.dry = 0;
    }
    c.progress = o->on_progress != NULL;
    c.s = s;
    c.z = st_payload_zctx_new();           /* NULL: the converting thread's own context */
    c.next_index = UINT64_MAX;
    st_txn *rt;
    if (st_db_read_begin(s->db, &rt, NULL) == 0) {
        if (st_size_txn(rt, &c.next_index) != 0) c.next_index = UINT64_MAX;
        st_db_read_end(rt);
    }
    s->defer_paths = 1;                    /* merged below, or when too many are pending */
    rc = run(&im, &c, segs, o->serial);
    s->defer_paths = 0;
    if (res->imported) {
        st_err merr;
        memset(&merr, 0, sizeof merr);
        int mrc = st_db_write(s->db, merge_paths, NULL, &merr);
        if (mrc && rc == 0) rc = st_fail(err, mrc, "merging the path index rows of the imported entries: %s", merr.msg);
    }
    if (o->on_progress) o->on_progress(o->ctx, res->lines, res->imported, im.bytes);
out:
    if (im.prep) free_events(im.txn, im.prep, &im.ntxn);
    for (int i = 0; segs && i < 2; i++) {
        if (segs[i].evs && segs[i].prep) {
            free_events(segs[i].evs, segs[i].prep, &segs[i].n);
            free_events(segs[i].evs, segs[i].prep, &segs[i].done);
        }
        imp_seg_release(&segs[i]);
    }
    imp_conv_free(&c);
    st_payload_zctx_free(c.z);
    free(segs);
    free(im.txn);
    free(im.recs);
    free(im.prep);
    free(r.buf);
    return rc;
}
