/*
 * snap.c: read snapshots released around output writes (snap.h).
 */
#include "snap.h"

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

int cli_snap_renew(cli_snap *sn)
{
    cli_snap_release(sn);
    if (sn->s && st_gate_compaction_waiting(cli_store_dir(sn->cli))) {
        st_store_close(sn->s);          /* st_store_open queues behind the compaction */
        sn->s = NULL;
    }
    if (!sn->s) {
        for (int tries = 0;; tries++) {
            int rc = st_store_open(&sn->s, cli_store_dir(sn->cli), ST_OPEN_RDONLY);
            if (rc == 0) break;
            st_store_close(sn->s);
            sn->s = NULL;
            if (rc != ST_EBUSY || tries >= 10) return rc;
            struct timespec ts = { 0, 100 * 1000000L };
            nanosleep(&ts, NULL);
        }
    }
    return st_db_read_begin(sn->s->db, &sn->txn, &sn->s->err);
}

int cli_snap_write(cli_snap *sn, st_buf *buf, int *renew_rc)
{
    *renew_rc = 0;
    if (buf->oom) return ENOMEM;
    cli_snap_release(sn);
    if (sn->close_on_write) {
        st_store_close(sn->s);          /* a write to a pipe may block for hours: hold nothing */
        sn->s = NULL;
    }
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
