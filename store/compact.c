/*
 * compact.c: the writer gate and compaction, so that erased, archived and
 * pruned bytes leave the store's files and not just its B-trees.
 *
 * WHY. LMDB never overwrites a page in place: a deleted value stays in the
 * freed page (until reused) and even in the unused gap of live pages
 * (deletion shifts nodes without clearing the hole). mdb_env_copy2 with
 * MDB_CP_COMPACT drops freed pages but copies live pages whole, gaps
 * included. So compaction here is a LOGICAL copy: every record of every
 * table is read through the API and written, in key order, into a fresh
 * environment; fresh pages are zero-initialized by LMDB, so the new file
 * holds live records and nothing else. The old file is then replaced by
 * rename and overwritten with zeros through a descriptor kept open.
 * Raw entry rows (a store from before packed rows) are packed on the way:
 * the same canonical bytes, in fewer (entry_store.h).
 *
 * THE GATE. A file swap must not lose the appends of other processes that
 * have the store open. Every st_store_open takes a shared flock on
 * DIR/gate for the handle's lifetime (st_gate_open_shared). The compactor
 * takes DIR/gate.turn exclusively (a turnstile: new openers take it shared
 * on their way in, so they queue behind the compactor instead of starving
 * it), then converts its own gate lock to exclusive once every other
 * handle is closed, swaps the file, and lets the queue go. Waits are
 * bounded (SEALTRAIL_GATE_WAIT_MS; default 30 s for openers, 10 s for the
 * compactor); the hook bounds its own wait with its timer and spools the
 * event, so no event is lost.
 */
#include "entry_store.h"
#include "retention.h"
#include "retention_ops.h"
#include "store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define GATE_FILE "gate"
#define TURN_FILE "gate.turn"
#define COMPACT_DIR "compact.tmp"
#define GATE_WAIT_MS_DEFAULT 30000u       /* an opener waiting for a compaction to finish */
#define EXCL_WAIT_MS_DEFAULT 10000u       /* a compactor waiting for other handles to close */
#define COPY_MAX_RECORDS 20000u
#define COPY_MAX_BYTES ((size_t)64 << 20)

static unsigned gate_wait_default(unsigned dflt)
{
    const char *e = getenv("SEALTRAIL_GATE_WAIT_MS");
    uint64_t v;
    if (e && *e && st_parse_u64(e, strlen(e), 86400000u, &v) == 0) return (unsigned)v;
    return dflt;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* flock with a bounded wait: 0, ST_EBUSY, or errno. */
static int lock_wait(int fd, int op, unsigned wait_ms)
{
    int64_t start = mono_ms();
    long sleep_us = 200;
    for (;;) {
        if (flock(fd, op | LOCK_NB) == 0) return 0;
        if (errno == EINTR) continue;
        if (errno != EWOULDBLOCK) return errno;
        if (mono_ms() - start >= (int64_t)wait_ms) return ST_EBUSY;
        struct timespec ts = { 0, sleep_us * 1000 };
        nanosleep(&ts, NULL);
        if (sleep_us < 20000) sleep_us *= 2;
    }
}

static int open_lock_file(const char *dir, const char *name, int *fd_out)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path) return ENAMETOOLONG;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0 && (errno == EACCES || errno == EROFS)) {
        int why = errno;                  /* a read-only directory: say so, not "no such file" */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0 && errno == ENOENT) errno = why;
    }
    if (fd < 0) return errno;
    *fd_out = fd;
    return 0;
}

/* ---- the gate ------------------------------------------------------------------------- */

int st_gate_open_shared(st_store *s)
{
    s->gate_fd = -1;
    int turn = -1, gate = -1;
    int rc = open_lock_file(s->dir, TURN_FILE, &turn);
    if (rc == 0) rc = open_lock_file(s->dir, GATE_FILE, &gate);
    if (rc) {
        if (turn >= 0) close(turn);
        if (s->flags & ST_OPEN_RDONLY) return 0;      /* a read-only copy of a store: no writers to fence */
        return st_store_fail(s, rc, "%s/%s: cannot open the writer gate: %s", s->dir, GATE_FILE, strerror(rc));
    }
    unsigned wait = gate_wait_default(GATE_WAIT_MS_DEFAULT);
    rc = lock_wait(turn, LOCK_SH, wait);
    if (rc == 0) rc = lock_wait(gate, LOCK_SH, wait);
    close(turn);
    if (rc) {
        close(gate);
        return st_store_fail(s, rc, "%s: the store is being compacted (erase, archive or prune) and the writer gate "
                             "was not released within %u ms", s->dir, wait);
    }
    s->gate_fd = gate;
    return 0;
}

int st_gate_compaction_waiting(const char *dir)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", dir, TURN_FILE) >= (int)sizeof path) return 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return 0;
    int busy = flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    close(fd);                                   /* releases the probe's lock */
    return busy;
}

void st_gate_close(st_store *s)
{
    if (s && s->gate_fd >= 0) {
        close(s->gate_fd);
        s->gate_fd = -1;
    }
}

/* Takes the gate exclusively; *turn_out is released by gate_release. */
static int gate_exclusive(st_store *s, unsigned wait_ms, int *turn_out)
{
    if (s->gate_fd < 0) return st_store_fail(s, ST_ERDONLY, "%s: no writer gate (read-only store?)", s->dir);
    int turn = -1;
    int rc = open_lock_file(s->dir, TURN_FILE, &turn);
    if (rc) return st_store_fail(s, rc, "%s/%s: %s", s->dir, TURN_FILE, strerror(rc));
    int64_t start = mono_ms();
    rc = lock_wait(turn, LOCK_EX, wait_ms);
    if (rc == 0) {
        int64_t left = (int64_t)wait_ms - (mono_ms() - start);
        rc = lock_wait(s->gate_fd, LOCK_EX, left > 0 ? (unsigned)left : 0);
        if (rc) {
            int r2 = lock_wait(s->gate_fd, LOCK_SH, 1000);   /* a failed conversion may have dropped it */
            (void)r2;
        }
    }
    if (rc) {
        close(turn);
        return st_store_fail(s, rc == ST_EBUSY ? ST_EBUSY : rc,
                             "%s: other processes kept the store open for %u ms (a query, log or export still writing to a reader?): "
                             "cannot compact now", s->dir, wait_ms);
    }
    *turn_out = turn;
    return 0;
}

static void gate_release(st_store *s, int turn)
{
    int rc = lock_wait(s->gate_fd, LOCK_SH, 1000);   /* downgrade: never conflicts, turn is ours */
    (void)rc;
    close(turn);
}

/* ---- the logical copy ------------------------------------------------------------------ */

typedef struct copy_ctx {
    st_txn *src;
    st_table t;
    uint8_t last[512];         /* the last key committed to the copy */
    size_t lastlen;
    int started, done;
    uint8_t pend[512];
    size_t pendlen;
    int pend_done;
    st_buf packed;             /* entries: a raw row packed (entry_store.h), so older stores shrink too */
} copy_ctx;

/* Copies the next batch of records after c->last (repeatable: starts from c->last each time). */
static int copy_batch(st_txn *dst, void *arg)
{
    copy_ctx *c = arg;
    st_cursor *cur = NULL;
    const void *k, *v;
    size_t kl, vl;
    int rc = st_cursor_open(c->src, c->t, &cur);
    if (rc) return rc;
    c->pend_done = 0;
    c->pendlen = c->lastlen;
    memcpy(c->pend, c->last, c->lastlen);
    if (!c->started) {
        rc = st_cursor_seek(cur, NULL, 0, &k, &kl, &v, &vl);
    } else {
        rc = st_cursor_seek(cur, c->last, c->lastlen, &k, &kl, &v, &vl);
        if (rc == 0 && kl == c->lastlen && memcmp(k, c->last, kl) == 0) rc = st_cursor_next(cur, &k, &kl, &v, &vl);
    }
    size_t n = 0, bytes = 0;
    while (rc == 0 && n < COPY_MAX_RECORDS && bytes < COPY_MAX_BYTES) {
        if (kl > sizeof c->pend) { rc = ST_ECORRUPT; break; }
        if (c->t == ST_T_ENTRIES && vl && *(const uint8_t *)v == '{') {
            if ((rc = st_entry_row_pack(&c->packed, v, vl)) != 0) break;
            if (c->packed.len) { v = c->packed.data; vl = c->packed.len; }
        }
        /* The leaf rows of an older store are not copied (tree.c), nor the mark of a
         * compaction owed (retention_ops.h): the copy is that compaction. */
        int skip = (c->t == ST_T_TREE && kl == 8 && st_tree_key_is_leaf(k)) ||
                   (c->t == ST_T_META && kl == sizeof ST_RET_COMPACT_PENDING - 1 &&
                    memcmp(k, ST_RET_COMPACT_PENDING, kl) == 0);
        if (!skip && (rc = st_db_put(dst, c->t, k, kl, v, vl, ST_PUT_APPEND)) != 0) break;
        if (c->t == ST_T_META && kl == sizeof ST_META_VERSION - 1 && memcmp(k, ST_META_VERSION, kl) == 0 &&
            (rc = st_store_format_upgrade(dst)) != 0)   /* packed entry rows, no leaf rows */
            break;
        memcpy(c->pend, k, kl);
        c->pendlen = kl;
        n++;
        bytes += kl + vl;
        rc = st_cursor_next(cur, &k, &kl, &v, &vl);
    }
    if (rc == ST_ENOTFOUND) {
        c->pend_done = 1;
        rc = 0;
    }
    st_cursor_close(cur);
    return rc;
}

static int copy_all(st_store *s, st_db *dst)
{
    st_txn *src = NULL;
    int rc = st_db_read_begin(s->db, &src, &s->err);
    if (rc) return rc;
    for (int t = 0; t < ST_T__COUNT && rc == 0; t++) {
        copy_ctx c;
        memset(&c, 0, sizeof c);
        c.src = src;
        c.t = (st_table)t;
        while (!c.done && rc == 0) {
            rc = st_db_write(dst, copy_batch, &c, &s->err);
            if (rc) break;
            memcpy(c.last, c.pend, c.pendlen);
            c.lastlen = c.pendlen;
            c.started = c.started || c.pendlen > 0;
            c.done = c.pend_done;
        }
        st_buf_free(&c.packed);
    }
    st_db_read_end(src);
    return rc;
}

static uint64_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

static void remove_tmp(const char *tmp)
{
    char p[PATH_MAX];
    static const char *const names[] = { "data.mdb", "lock.mdb" };
    for (size_t i = 0; i < 2; i++) {
        if (snprintf(p, sizeof p, "%s/%s", tmp, names[i]) >= (int)sizeof p) continue;   /* cannot name it: nothing made it */
        unlink(p);
    }
    rmdir(tmp);
}

/* Overwrites a file's bytes with zeros through fd (its name is already gone). */
static void wipe_fd(int fd)
{
    static const uint8_t zero[65536];
    struct stat st;
    if (fstat(fd, &st) != 0) return;
    for (off_t off = 0; off < st.st_size;) {
        size_t n = (size_t)(st.st_size - off) < sizeof zero ? (size_t)(st.st_size - off) : sizeof zero;
        ssize_t w = pwrite(fd, zero, n, off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) break;
        off += w;
    }
    fdatasync(fd);
}

int st_store_compact(st_store *s, unsigned wait_ms, uint64_t *before, uint64_t *after)
{
    if (s->flags & ST_OPEN_RDONLY) return st_store_fail(s, ST_ERDONLY, "store opened read-only");
    if (wait_ms == 0) wait_ms = gate_wait_default(EXCL_WAIT_MS_DEFAULT);
    char data[PATH_MAX], tmp[PATH_MAX], tmpdata[PATH_MAX];
    if (snprintf(data, sizeof data, "%s/data.mdb", s->dir) >= (int)sizeof data ||
        snprintf(tmp, sizeof tmp, "%s/%s", s->dir, COMPACT_DIR) >= (int)sizeof tmp ||
        snprintf(tmpdata, sizeof tmpdata, "%s/data.mdb", tmp) >= (int)sizeof tmpdata)
        return st_store_fail(s, ENAMETOOLONG, "%s: path too long", s->dir);
    if (before) *before = file_size(data);
    int turn = -1;
    int rc = gate_exclusive(s, wait_ms, &turn);
    if (rc) return rc;
    remove_tmp(tmp);                                  /* leftovers of an interrupted compaction */
    st_db *dst = NULL;
    if (mkdir(tmp, 0700) != 0) {
        rc = st_store_fail(s, errno, "%s: %s", tmp, strerror(errno));
        goto out;
    }
    if ((rc = st_db_open(&dst, tmp, ST_DB_CREATE, &s->err)) != 0) goto out;
    rc = copy_all(s, dst);
    st_db_close(dst);
    dst = NULL;
    if (rc) goto out;
    int newfd = open(tmpdata, O_RDONLY | O_CLOEXEC);
    if (newfd >= 0) {
        fsync(newfd);
        close(newfd);
    }
    char tmplock[PATH_MAX];
    if (snprintf(tmplock, sizeof tmplock, "%s/lock.mdb", tmp) < (int)sizeof tmplock) unlink(tmplock);
    /* (so a crash after the rename leaves at most an empty compact.tmp; before it, the old
     * data.mdb with its compaction mark stays, and the next compaction starts over) */
    int oldfd = open(data, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    st_db_close(s->db);
    s->db = NULL;
    if (rename(tmpdata, data) != 0) {
        rc = st_store_fail(s, errno, "%s -> %s: %s", tmpdata, data, strerror(errno));
        if (oldfd >= 0) close(oldfd);
    } else {
        int dfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
        if (oldfd >= 0) {
            wipe_fd(oldfd);
            close(oldfd);
        }
    }
    int orc = st_db_open(&s->db, s->dir, 0, &s->err);
    if (!rc) rc = orc;
out:
    remove_tmp(tmp);
    gate_release(s, turn);
    if (after) *after = file_size(data);
    return rc;
}
