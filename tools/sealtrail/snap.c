/*
 * snap.c: read snapshots released around output writes (snap.h).
 */
#include "snap.h"

#include "entry_store.h"

#include <errno.h>
#include <sys/stat.h>
#include <time.h>

int cli_snap_open(cli_snap *sn, st_cli *cli, const char *what)
{
    sn->cli = cli;
    sn->s = NULL;
    sn->txn = NULL;
    struct stat st;
    sn->close_on_write = !(fstat(1, &st) == 0 && S_ISREG(st.st_mode));
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

void cli_snap_unhold(cli_snap *sn)
{
    cli_snap_release(sn);
    if (sn->close_on_write) {
        st_store_close(sn->s);          /* a write to a pipe may block for hours: hold nothing */
        sn->s = NULL;
    }
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

int cli_snap_write(cli_snap *sn, st_buf *buf, int *renew_rc)
{
    *renew_rc = 0;
    if (buf->oom) return ENOMEM;
    cli_snap_unhold(sn);
    int rc = cli_write_all(1, buf->data, buf->len);
    st_buf_reset(buf);
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
