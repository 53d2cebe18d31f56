/*
 * prefault.c: see prefault.h. One thread, woken after each commit; it only
 * ever works past the data LMDB holds, and only allocates and reads.
 */
#include "prefault.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define READ_CHUNK ((size_t)1 << 20)

struct st_prefault {
    st_db *db;
    int fd;
    uint64_t ahead;
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t want;          /* make the file ready up to here (mu) */
    uint64_t done;          /* ready up to here (mu) */
    int stop;               /* (mu) */
    int no_populate;        /* MADV_POPULATE_READ refused: read instead (worker only) */
    uint8_t *buf;
};

/* Caches [from, to) through a read-only mapping without copying it out:
 * 0, or -1 where the kernel lacks MADV_POPULATE_READ (Linux < 5.14). It
 * reports a range past the end of the file (cut meanwhile) as an error,
 * not with SIGBUS. */
static int populate(st_prefault *pf, uint64_t from, uint64_t to)
{
#ifdef MADV_POPULATE_READ
    if (pf->no_populate) return -1;
    void *m = mmap(NULL, (size_t)(to - from), PROT_READ, MAP_SHARED, pf->fd, (off_t)from);
    if (m == MAP_FAILED) return -1;
    int rc = madvise(m, (size_t)(to - from), MADV_POPULATE_READ);
    if (rc != 0 && errno == EINVAL) pf->no_populate = 1;
    munmap(m, (size_t)(to - from));
    return rc == 0 || !pf->no_populate ? 0 : -1;
#else
    (void)pf, (void)from, (void)to;
    return -1;
#endif
}

/* Allocates [from, to) and caches it. 0, or -1 when allocation is not
 * supported here (the thread then stops: appends go on as before). */
static int ready_range(st_prefault *pf, uint64_t from, uint64_t to)
{
    int rc;
    do rc = fallocate(pf->fd, 0, (off_t)from, (off_t)(to - from));
    while (rc != 0 && errno == EINTR);
    if (rc != 0) return -1;            /* unsupported, no space (the commit then says so), ... */
    if (populate(pf, from, to) == 0) return 0;
    for (uint64_t off = from; off < to;) {                  /* the same by reading it */
        size_t n = to - off < READ_CHUNK ? (size_t)(to - off) : READ_CHUNK;
        ssize_t got = pread(pf->fd, pf->buf, n, (off_t)off);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        off += (uint64_t)got;
    }
    return 0;
}

static void *worker(void *arg)
{
    st_prefault *pf = arg;
    pthread_mutex_lock(&pf->mu);
    for (;;) {
        while (!pf->stop && pf->want <= pf->done) pthread_cond_wait(&pf->cv, &pf->mu);
        if (pf->stop) break;
        uint64_t from = pf->done, to = pf->want;
        pthread_mutex_unlock(&pf->mu);
        int rc = ready_range(pf, from, to);
        pthread_mutex_lock(&pf->mu);
        if (rc != 0) break;
        if (to > pf->done) pf->done = to;
    }
    pf->stop = 1;
    pthread_mutex_unlock(&pf->mu);
    return NULL;
}

st_prefault *st_prefault_start(st_db *db, uint64_t ahead)
{
    int fd = st_db_data_fd(db);
    if (fd < 0 || ahead == 0) return NULL;
    st_prefault *pf = calloc(1, sizeof *pf);
    if (!pf) return NULL;
    pf->db = db;
    pf->fd = fd;
    pf->ahead = ahead;
    pf->buf = malloc(READ_CHUNK);
    if (pf->buf && pthread_mutex_init(&pf->mu, NULL) == 0) {
        if (pthread_cond_init(&pf->cv, NULL) == 0) {
            if (pthread_create(&pf->th, NULL, worker, pf) == 0) return pf;
            pthread_cond_destroy(&pf->cv);
        }
        pthread_mutex_destroy(&pf->mu);
    }
    free(pf->buf);
    free(pf);
    return NULL;
}

void st_prefault_note(st_prefault *pf)
{
    if (!pf) return;
    uint64_t used;
    st_db_info(pf->db, NULL, &used, NULL);   /* after this thread's commit: the data's end */
    pthread_mutex_lock(&pf->mu);
    if (pf->done < used) pf->done = used;    /* never at or below the data */
    if (!pf->stop && used + pf->ahead > pf->want) {
        pf->want = used + pf->ahead;
        pthread_cond_signal(&pf->cv);
    }
    pthread_mutex_unlock(&pf->mu);
}

void st_prefault_stop(st_prefault *pf)
{
    if (!pf) return;
    pthread_mutex_lock(&pf->mu);
    pf->stop = 1;
    pthread_cond_signal(&pf->cv);
    pthread_mutex_unlock(&pf->mu);
    pthread_join(pf->th, NULL);
    st_db_trim_at_next_write(pf->db);        /* what was allocated and not used */
    pthread_cond_destroy(&pf->cv);
    pthread_mutex_destroy(&pf->mu);
    free(pf->buf);
    free(pf);
}
