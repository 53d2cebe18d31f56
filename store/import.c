/*
 * import.c: `sealtrail import` (import.h) as a two-stage pipeline. A
 * converting thread (import_conv.c) reads and converts the lines of the
 * next segment while this thread appends the current transaction with
 * st_append_prepared, and then helps prepare the next segment's records
 * until it is complete. A third thread only prepares records, so the
 * cores stay busy while this one waits for the disk. IMP_SEGS segments
 * circulate, so memory stays bounded (those segments plus the transaction
 * being assembled): with three, the converter goes on with the next
 * segment while a finished one waits for the appender, so a slow commit
 * does not leave a core idle.
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
#include <sys/resource.h>
#include <unistd.h>

#include "index.h"
#include "store_int.h"

#define CHUNK (1u << 20)
#define IMP_SEGS 3
#define STRICT_PIPE_MAX ((size_t)1 << 30)   /* --strict from a pipe: the input held for the check */

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
        im->res->last_index = first + n - 1;
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
    if (o->stop && *o->stop && im->ntxn == 0) {   /* between transactions: res counts committed lines only */
        res->interrupted = 1;
        return 1;
    }
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

/* ---- the threads ----------------------------------------------------------------------- */

/* Segments change hands under mu: the converter queues a finished one in
 * `full` (in order) and takes an emptied one from `empty`; the appender
 * does the reverse. Each thread touches a segment only while it holds it.
 * The helpers and the appender wait on cv (for records, a full segment or
 * the end); only the converter waits on cv_conv (for an empty segment or
 * for the helpers to leave its segment). With one variable, a helper
 * leaving with nothing done woke the other sleeping helper, which did the
 * same: the two woke each other some 0.3 times per record. */
typedef struct pipeline {
    pthread_mutex_t mu;
    pthread_cond_t cv, cv_conv;
    imp_seg *full[IMP_SEGS], *empty[IMP_SEGS];
    size_t nfull, nempty;
    int stop;              /* the appender is done (or failed): the converter ends */
    int converted;         /* the converter has ended: the preparer ends */
    imp_conv *c;
    imp_seg *first;
    /* The segment being converted (NULL: none), whose records the other
     * threads help prepare (imp_help_prepare): the appender while it waits
     * for the next segment, and the preparer whenever it can. `helpers` of
     * them are inside it: the converter does not hand it on before they
     * have left (publish NULL waits), so a helper never touches a segment
     * that is being appended or refilled. */
    imp_seg *converting;
    int helpers;
    _Atomic int sleepers;  /* helpers waiting on cv for records */
} pipeline;

static void publish(void *ctx, imp_seg *sg)
{
    pipeline *p = ctx;
    pthread_mutex_lock(&p->mu);
    p->converting = sg;
    pthread_cond_broadcast(&p->cv);
    while (!sg && p->helpers) pthread_cond_wait(&p->cv_conv, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

/* A wake-up lost to the race with a helper going to sleep only delays its
 * help until the next one. */
static void wake(void *ctx)
{
    pipeline *p = ctx;
    if (!atomic_load_explicit(&p->sleepers, memory_order_relaxed)) return;
    pthread_mutex_lock(&p->mu);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

/* One round of help with the segment being converted (mu held, and held
 * again on return): 1 if it prepared something. */
static int help(pipeline *p, st_payload_zctx *z)
{
    imp_seg *sg = p->converting;
    if (!sg) return 0;
    p->helpers++;
    pthread_mutex_unlock(&p->mu);
    int did = imp_help_prepare(p->c, sg, z);
    pthread_mutex_lock(&p->mu);
    if (--p->helpers == 0) pthread_cond_signal(&p->cv_conv);
    return did;
}

static void sleep_on(pipeline *p)
{
    atomic_fetch_add_explicit(&p->sleepers, 1, memory_order_relaxed);
    pthread_cond_wait(&p->cv, &p->mu);
    atomic_fetch_sub_explicit(&p->sleepers, 1, memory_order_relaxed);
}

/* The appender's wait for the next full segment (mu held), helping with
 * the preparation of the one being converted meanwhile. */
static imp_seg *wait_full(pipeline *p, st_payload_zctx *z)
{
    while (!p->nfull) {
        if (help(p, z)) continue;
        if (p->nfull) break;
        sleep_on(p);
    }
    imp_seg *sg = p->full[0];
    memmove(p->full, p->full + 1, --p->nfull * sizeof *p->full);
    return sg;
}

/* The preparer: a third thread that only prepares records. It takes the
 * cores' time the other two leave: the appender's waits for the disk
 * (every commit's fdatasync) and for the next segment. So it runs at a
 * lower priority: at the same one, three busy threads on two cores gave the
 * appender, whose transactions are the import's critical path, two thirds
 * of a core, and a 1M-line import took 1.2x as long. It cannot hold the
 * others up for long: whoever waits for a record it is preparing sleeps
 * (the appender) or yields (the converter), which frees a core for it. */
typedef struct preparer_arg { pipeline *p; st_payload_zctx *z; } preparer_arg;

int imp_lower_thread_priority(void)
{
    errno = 0;
#ifdef __linux__
    id_t tid = (id_t)gettid();
    int nice = getpriority(PRIO_PROCESS, tid);
    if (nice == -1 && errno) return 0;
    int want = nice + IMP_PREPARER_NICE > 19 ? 19 : nice + IMP_PREPARER_NICE;
    return setpriority(PRIO_PROCESS, tid, want) == 0 ? want : nice;
#else
    return getpriority(PRIO_PROCESS, 0);
#endif
}

static void *preparer(void *arg)
{
    preparer_arg *a = arg;
    pipeline *p = a->p;
    (void)imp_lower_thread_priority();
    pthread_mutex_lock(&p->mu);
    while (!p->stop && !p->converted)
        if (!help(p, a->z) && !p->stop && !p->converted) sleep_on(p);
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static void converted(pipeline *p)
{
    pthread_mutex_lock(&p->mu);
    p->converted = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

static void *converter(void *arg)
{
    pipeline *p = arg;
    imp_seg *sg = p->first;
    for (;;) {
        imp_produce(p->c, sg);
        int last = sg->last;
        pthread_mutex_lock(&p->mu);
        if (p->stop) {
            pthread_mutex_unlock(&p->mu);
            free_events(sg->evs, sg->prep, &sg->n);
            converted(p);
            return NULL;
        }
        p->full[p->nfull++] = sg;          /* room: there are IMP_SEGS segments in all */
        pthread_cond_broadcast(&p->cv);
        while (!last && !p->nempty && !p->stop) pthread_cond_wait(&p->cv_conv, &p->mu);
        int done = last || p->stop;
        sg = done ? NULL : p->empty[--p->nempty];
        pthread_mutex_unlock(&p->mu);
        if (done) {
            converted(p);
            return NULL;
        }
    }
}

static int sync_init(pipeline *p)
{
    if (pthread_mutex_init(&p->mu, NULL) != 0) return -1;
    if (pthread_cond_init(&p->cv, NULL) == 0) {
        if (pthread_cond_init(&p->cv_conv, NULL) == 0) return 0;
        pthread_cond_destroy(&p->cv);
    }
    pthread_mutex_destroy(&p->mu);
    return -1;
}

static void sync_destroy(pipeline *p)
{
    pthread_cond_destroy(&p->cv_conv);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
}

static void stop_sharing(imp_conv *c, st_payload_zctx *z)
{
    c->publish = NULL;
    c->wake = NULL;
    c->share_ctx = NULL;
    st_payload_zctx_free(z);
}

/* Runs the import over segs[0..IMP_SEGS): in three threads (this one
 * appends, one converts, one prepares), or over segs[0] in this one (the
 * strict check pass, opts->serial, or when no thread can be started).
 * Without the preparer (no thread for it) the other two still share the
 * work. */
static int run(importer *im, imp_conv *c, imp_seg segs[IMP_SEGS], int serial)
{
    int rc = 0;
    pipeline p = { .c = c, .first = &segs[0] };
    for (int i = IMP_SEGS - 1; i > 0; i--) p.empty[p.nempty++] = &segs[i];
    pthread_t th, pth;
    st_payload_zctx *z = NULL;
    preparer_arg pa = { &p, NULL };
    int have_preparer = 0;
    if (!serial && c->s && (z = st_payload_zctx_new()) != NULL) {
        c->publish = publish;
        c->wake = wake;
        c->share_ctx = &p;
        pa.z = st_payload_zctx_new();
    }
    if (!serial && sync_init(&p) == 0) {
        if (pthread_create(&th, NULL, converter, &p) == 0) {
            have_preparer = pa.z && pthread_create(&pth, NULL, preparer, &pa) == 0;
            for (;;) {
                pthread_mutex_lock(&p.mu);
                imp_seg *sg = wait_full(&p, z);
                pthread_mutex_unlock(&p.mu);
                rc = consume(im, sg);
                pthread_mutex_lock(&p.mu);
                if (rc) {
                    p.stop = 1;
                    pthread_cond_broadcast(&p.cv);
                } else {
                    p.empty[p.nempty++] = sg;
                }
                pthread_cond_signal(&p.cv_conv);
                pthread_mutex_unlock(&p.mu);
                if (rc) break;
            }
            pthread_join(th, NULL);
            if (have_preparer) pthread_join(pth, NULL);
            /* segments the converter finished after the appender stopped */
            for (size_t i = 0; i < p.nfull; i++) free_events(p.full[i]->evs, p.full[i]->prep, &p.full[i]->n);
            sync_destroy(&p);
            st_payload_zctx_free(pa.z);
            stop_sharing(c, z);
            return rc == 1 ? 0 : rc;
        }
        sync_destroy(&p);
    }
    st_payload_zctx_free(pa.z);
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
    imp_conv c = { .r = &r, .strict = o->strict, .batch = im.batch,
                   .batch_bytes = o->batch_bytes ? o->batch_bytes : ST_IMPORT_BATCH_BYTES_DEFAULT };
    c.lo = (st_import_line_opts){ .now_us = st_now_us(), .host = st_event_host(), .user = st_event_user(),
                                  .redactor = o->redactor };
    imp_seg *segs = calloc(IMP_SEGS, sizeof *segs);
    im.txn = calloc(im.batch, sizeof *im.txn);
    im.recs = calloc(im.batch, sizeof *im.recs);
    im.prep = calloc(im.batch, sizeof *im.prep);
    r.buf = malloc(r.cap);
    int rc = 0;
    if (!segs || !im.txn || !im.recs || !im.prep || !r.buf) { rc = ENOMEM; goto out; }
    for (int i = 0; i < IMP_SEGS; i++)
        if ((rc = imp_seg_alloc(&segs[i], im.batch)) != 0) goto out;
    if (o->strict) {
        off_t pos = lseek(fd, 0, SEEK_CUR);
        im.dry = 1;
        if (pos < 0) {                      /* a pipe: read it all, check, then import from memory */
            for (;;) {
                if (r.end == r.cap) {
                    if (r.cap >= STRICT_PIPE_MAX) {
                        rc = st_fail(err, ST_ETOOBIG, "strict import from a pipe: over %zu MiB to hold for the check "
                                     "(import from a file, or without --strict)", STRICT_PIPE_MAX >> 20);
                        goto out;
                    }
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
            if ((rc = run(&im, &c, segs, 1)) != 0 || res->interrupted) goto out;
            r.start = 0;
            r.end = total;
            r.bytes = 0;
        } else {
            if ((rc = run(&im, &c, segs, 1)) != 0 || res->interrupted) goto out;
            if (lseek(fd, pos, SEEK_SET) < 0) { rc = st_fail(err, errno, "rewinding input"); goto out; }
            r.start = r.end = 0;
            r.eof = 0;
            r.bytes = 0;
        }
        imp_conv_free(&c);
        c.lineno = c.good = 0;
        c.in_txn = 0;
        c.in_txn_bytes = 0;
        uint64_t lines = res->lines;
        memset(res, 0, sizeof *res);
        res->lines = lines;
        im.dry = 0;
    }
    imp_reader_drop_cache(&r);            /* the import pass reads the input once (not the strict check pass) */
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
    for (int i = 0; segs && i < IMP_SEGS; i++) {
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
