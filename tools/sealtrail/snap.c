/*
 * snap.c: read snapshots released around output writes (snap.h).
 */
#include "snap.h"

#include "entry_store.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- writes to a pipe that cannot block --------------------------------
 * A pipe holds its data in page-sized slots, F_GETPIPE_SZ bytes in all; a
 * write blocks only when it needs a slot and none is free. An empty pipe
 * (FIONREAD 0) takes a write of up to its capacity; a pipe with a free slot
 * (POLLOUT) takes a write of up to a page (merged into the last slot, or
 * one new one). Capacity minus unread bytes would overstate the room: a
 * slot that a short write left part full counts as a whole one, so after
 * writes of 1000 bytes each a 64 KiB pipe is full at 64000 bytes, and a
 * write of 1000 that "fits" the 1536 left blocks, with the store held.
 * This holds barring another writer on the same pipe, which could fill it
 * between our look and our write: that write then blocks with the store
 * held (a compaction meanwhile fails, and can be run again); acceptable,
 * as a pipe shared by writers is rare for these commands' output. */

/* Waiting for the reader: a slice of poll, and how long the reader may take
 * nothing before we let go of the store and write as to a stalled reader
 * (a compactor waits 10 s by default; we look for one every slice). */
#define PIPE_SLICE_MS 50
#define PIPE_IDLE_MS 500

/* stdout's capacity if it is a pipe on Linux, else -1 (or 0). */
static int pipe_capacity(void)
{
#ifdef F_GETPIPE_SZ
    return fcntl(1, F_GETPIPE_SZ);
#else
    return -1;          /* no way to tell the room in a pipe: write as today */
#endif
}

/* Bytes a write to stdout (a pipe) cannot block on now: its capacity, a
 * page, 0 (full), or -1 (could not tell, or the reader is gone: the write
 * as to a stalled reader then reports EPIPE). The capacity is asked each
 * time: the reader may change it (F_SETPIPE_SZ). */
static long pipe_room(void)
{
    int unread;
    if (ioctl(1, FIONREAD, &unread) != 0 || unread < 0) return -1;
    if (unread == 0) {
        int cap = pipe_capacity();
        return cap > 0 ? cap : -1;
    }
    struct pollfd p = { .fd = 1, .events = POLLOUT };
    if (poll(&p, 1, 0) < 0 || (p.revents & (POLLERR | POLLHUP | POLLNVAL))) return -1;
    if (!(p.revents & POLLOUT)) return 0;
    long page = sysconf(_SC_PAGESIZE);
    return page > 0 ? page : -1;
}

/* Writes a prefix of p[0..len) to stdout (a pipe) in writes that cannot
 * block, with the store kept open, while the reader keeps up: it stops once
 * the reader has taken nothing for PIPE_IDLE_MS, a compaction waits for the
 * store, or the room cannot be told. Returns the bytes written; a write's
 * error in *err. */
static size_t pipe_write_ready(cli_snap *sn, const uint8_t *p, size_t len, int *err)
{
    size_t done = 0;
    int idle = 0;
    while (done < len) {
        long room = pipe_room();
        if (room < 0) break;
        if (room > 0) {
            size_t n = len - done < (size_t)room ? len - done : (size_t)room;
            ssize_t w = write(1, p + done, n);
            if (w < 0 && errno != EINTR) { *err = errno; break; }
            if (w > 0) { done += (size_t)w; idle = 0; }
            continue;
        }
        if (idle >= PIPE_IDLE_MS || st_gate_compaction_waiting(cli_store_dir(sn->cli))) break;
        struct pollfd pf = { .fd = 1, .events = POLLOUT };
        if (poll(&pf, 1, PIPE_SLICE_MS) == 0) idle += PIPE_SLICE_MS;
    }
    return done;
}

int cli_snap_open(cli_snap *sn, st_cli *cli, const char *what)
{
    sn->cli = cli;
    sn->s = NULL;
    sn->txn = NULL;
    struct stat st;
    int known = fstat(1, &st) == 0;
    sn->close_on_write = !(known && S_ISREG(st.st_mode));
    sn->to_pipe = known && S_ISFIFO(st.st_mode) && pipe_capacity() > 0;
    int code = cli_open_store(cli, ST_OPEN_RDONLY, &sn->s);
    if (code) return code;
    int rc = st_db_read_begin(sn->s->db, &sn->txn, &sn->s->err);
    if (rc) {
        code = cli_fail(rc, what, st_store_error(sn->s));
        cli_snap_close(sn);
    }
    return code;
}

void cli_snap_release(cli_snap *sn)
{
    st_db_read_end(sn->txn);
    sn->txn = NULL;
}

int cli_snap_renew(cli_snap *sn)
{
    cli_snap_release(sn);
    if (sn->s && st_gate_compaction_waiting(cli_store_dir(sn->cli))) {
        st_store_close(sn->s);          /* st_store_open queues behind the compaction */
        sn->s = NULL;
    }
    if (!sn->s) {
        int rc = cli_store_reopen(sn->cli, &sn->s, 10, NULL);
        if (rc) return rc;
    }
    return st_db_read_begin(sn->s->db, &sn->txn, &sn->s->err);
}

int cli_store_reopen(st_cli *cli, st_store **s, int busy_tries, const volatile sig_atomic_t *stop)
{
    for (int tries = 0;; tries++) {
        int rc = st_store_open(s, cli_store_dir(cli), ST_OPEN_RDONLY);
        if (rc == 0) return 0;
        st_store_close(*s);
        *s = NULL;
        if (rc != ST_EBUSY || (busy_tries && tries >= busy_tries) || (stop && *stop)) return rc;
        struct timespec ts = { 0, 100 * 1000000L };
        nanosleep(&ts, NULL);
    }
}

int cli_fill_entries(st_txn *txn, uint64_t *next, uint64_t end, cli_fmt_entry fmt, void *ctx, st_buf *out,
                     const volatile sig_atomic_t *stop, st_err *err)
{
    if (*next >= end) return 0;
    st_cursor *cur;
    uint8_t key[8];
    const void *k, *v;
    size_t kl, vl;
    st_buf row = { 0 };        /* a packed entry row, expanded */
    int rc = st_cursor_open(txn, ST_T_ENTRIES, &cur);
    if (rc) return rc;
    st_be64_put(key, *next);
    for (rc = st_cursor_seek(cur, key, 8, &k, &kl, &v, &vl); rc == 0 && !(stop && *stop);
         rc = st_cursor_next(cur, &k, &kl, &v, &vl)) {
        if (kl != 8) { rc = ST_ECORRUPT; break; }
        uint64_t index = st_be64_get(k);
        if (index >= end) break;
        const uint8_t *bytes;
        size_t len;
        if ((rc = st_entry_row_decode(v, vl, &row, &bytes, &len)) != 0) {
            if (rc == ST_ECORRUPT)
                st_fail(err, rc, "entry %llu: stored row is damaged (see 'sealtrail check')", (unsigned long long)index);
            break;
        }
        if ((rc = fmt(ctx, out, txn, index, bytes, len)) != 0) break;
        *next = index + 1;
        if (out->oom) { rc = ENOMEM; break; }
        if (out->len > CLI_SNAP_CHUNK) break;
    }
    st_cursor_close(cur);
    st_buf_free(&row);
    return rc == ST_ENOTFOUND ? 0 : rc;
}

int cli_snap_put(cli_snap *sn, st_buf *buf)
{
    cli_snap_release(sn);
    size_t done = 0;
    int rc = 0;
    if (sn->to_pipe) done = pipe_write_ready(sn, buf->data, buf->len, &rc);
    if (rc == 0 && done < buf->len) {
        if (sn->close_on_write) {
            st_store_close(sn->s);      /* this write may block for hours: hold nothing */
            sn->s = NULL;
        }
        rc = cli_write_all(1, buf->data + done, buf->len - done);
    }
    st_buf_reset(buf);
    return rc;
}

int cli_snap_write(cli_snap *sn, st_buf *buf, int *renew_rc)
{
    *renew_rc = 0;
    if (buf->oom) return ENOMEM;
    int rc = cli_snap_put(sn, buf);
    if (rc) return rc;
    *renew_rc = cli_snap_renew(sn);
    return 0;
}

void cli_snap_close(cli_snap *sn)
{
    cli_snap_release(sn);
    st_store_close(sn->s);
    sn->s = NULL;
}
