/*
 * verify_pool.c: hashing on every core. The reader thread fills batches of
 * entries (with their inclusion proofs and payload records) into a ring of
 * slots; worker threads check whole batches (verify_items.c); the reader
 * merges finished batches strictly in ring order (verifier.c), which is
 * stream order, before it reuses a slot. So results are merged in index
 * order and memory is bounded by the ring: nslots x (VB_MAX_BYTES plus one
 * entry's records).
 *
 * With threads == 1 there are no worker threads: the reader checks each
 * batch itself when it submits it. With threads == n > 1 there are n - 1
 * workers and the reader is the n-th: when the ring is full and the oldest
 * batch is not done, it checks the next queued batch itself instead of
 * waiting. So there are never more busy threads than cores (no thread
 * moves between cores, carrying its cache), and however slow the workers
 * are, the reader shares their work.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "verify_int.h"

static void *worker(void *arg)
{
    vctx *v = arg;
    vpool *p = &v->pool;
    pthread_mutex_lock(&p->mu);
    vscratch *scratch = &p->scratch[p->started++];
    for (;;) {
        while (!p->quit && p->queued_next == p->head) pthread_cond_wait(&p->work, &p->mu);
        if (p->queued_next == p->head && p->quit) break;
        vbatch *b = &p->slots[p->queued_next % p->nslots];
        p->queued_next++;
        pthread_mutex_unlock(&p->mu);
        vitems_check(v, b, scratch);
        pthread_mutex_lock(&p->mu);
        b->state = B_DONE;
        pthread_cond_broadcast(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

int vpool_start(vctx *v, unsigned threads)
{
    vpool *p = &v->pool;
    memset(p, 0, sizeof *p);
    if (threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? (unsigned)n : 1;
    }
    if (threads > 64) threads = 64;
    p->nthreads = threads - 1;     /* the reader is the last thread */
    /* Two slots a thread: one being checked, one queued. Few, so that a
     * batch is checked while the bytes the reader scanned are still in a
     * cache (VB_MAX_BYTES); a descheduled worker cannot stall the others for
     * long, since the reader checks queued batches itself while it waits. */
    p->nslots = threads > 1 ? 2u * threads : 1u;
    if (p->nslots > 48) p->nslots = 48;     /* memory: at most ~4 MB a slot (VB_MAX_RECS) */
    p->slots = calloc(p->nslots, sizeof *p->slots);
    if (!p->slots) return ENOMEM;
    p->v = v;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->done, NULL);
    p->scratch = calloc(p->nthreads + 1u, sizeof *p->scratch);
    if (!p->scratch) return ENOMEM;
    if (p->nthreads) {
        p->threads = calloc(p->nthreads, sizeof *p->threads);
        if (!p->threads) {
            p->nthreads = 0;
            return ENOMEM;
        }
        for (unsigned i = 0; i < p->nthreads; i++) {
            int rc = pthread_create(&p->threads[i], NULL, worker, v);
            if (rc) {
                p->nthreads = i;   /* join what was started */
                return rc;
            }
        }
    }
    v->rep->threads = threads;
    return 0;
}

static void batch_reset(vbatch *b)
{
    b->arena_len = 0;
    b->bytes = 0;
    b->end_offset = 0;
    b->nrec = 0;
    b->nitem = 0;
    b->failed = 0;
    b->has_tree = 0;
    b->has_chain = 0;
    b->chain_len = 0;
    b->msg[0] = 0;
}

/* Waits for the oldest outstanding batch, merges it and frees its slot;
 * while it waits, the reader checks queued batches itself, with its own
 * scratch (the last). Lock held on entry and exit. */
static void merge_oldest(vctx *v)
{
    vpool *p = &v->pool;
    vbatch *b = &p->slots[p->tail % p->nslots];
    while (b->state != B_DONE) {
        if (p->queued_next == p->head) {
            pthread_cond_wait(&p->done, &p->mu);
            continue;
        }
        vbatch *q = &p->slots[p->queued_next % p->nslots];
        p->queued_next++;
        pthread_mutex_unlock(&p->mu);
        vitems_check(v, q, &p->scratch[p->nthreads]);
        pthread_mutex_lock(&p->mu);
        q->state = B_DONE;
    }
    pthread_mutex_unlock(&p->mu);
    vmerge_batch(v, b);
    pthread_mutex_lock(&p->mu);
    b->state = B_FREE;
    p->tail++;
}

vbatch *vpool_fill_slot(vctx *v)
{
    vpool *p = &v->pool;
    pthread_mutex_lock(&p->mu);
    vbatch *b = &p->slots[p->head % p->nslots];
    if (b->state == B_FILLING) {           /* still filling this one */
        pthread_mutex_unlock(&p->mu);
        return b;
    }
    while (p->head - p->tail >= p->nslots) merge_oldest(v);
    pthread_mutex_unlock(&p->mu);
    if (atomic_load(&v->stop)) return NULL;
    batch_reset(b);
    b->state = B_FILLING;
    return b;
}

void vpool_submit(vctx *v, vbatch *b)
{
    vpool *p = &v->pool;
    if (b->state != B_FILLING) return;
    if (p->nthreads == 0) {
        vitems_check(v, b, &p->scratch[p->nthreads]);
        pthread_mutex_lock(&p->mu);
        b->state = B_DONE;
        p->head++;
        p->queued_next = p->head;
        pthread_mutex_unlock(&p->mu);
        return;
    }
    pthread_mutex_lock(&p->mu);
    b->state = B_QUEUED;
    p->head++;
    pthread_cond_signal(&p->work);
    pthread_mutex_unlock(&p->mu);
}

void vpool_drain(vctx *v)
{
    vpool *p = &v->pool;
    if (!p->slots) return;
    vbatch *cur = &p->slots[p->head % p->nslots];
    if (cur->state == B_FILLING) vpool_submit(v, cur);
    pthread_mutex_lock(&p->mu);
    while (p->tail < p->head) merge_oldest(v);
    pthread_mutex_unlock(&p->mu);
}

void vpool_stop(vctx *v)
{
    vpool *p = &v->pool;
    if (!p->slots) return;
    pthread_mutex_lock(&p->mu);
    p->quit = 1;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 0; i < p->nthreads; i++) pthread_join(p->threads[i], NULL);
    free(p->threads);
    if (p->scratch)
        for (unsigned i = 0; i <= p->nthreads; i++) {
            free(p->scratch[i].ent[0]);
            free(p->scratch[i].ent[1]);
            free(p->scratch[i].pay);
            free(p->scratch[i].tree);
        }
    free(p->scratch);
    for (size_t i = 0; i < p->nslots; i++) {
        free(p->slots[i].arena);
        free(p->slots[i].recs);
        free(p->slots[i].items);
        free(p->slots[i].chain);
    }
    free(p->slots);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->done);
    memset(p, 0, sizeof *p);
}
