/*
 * snap.h: a read snapshot that is never held across a write to stdout, for
 * `log`, `query` and `tail` (which reopens the store its own way).
 *
 * WHY. LMDB cannot reuse a page freed after the oldest live snapshot: a
 * reader that keeps one while blocked in write(2) (`sealtrail log | less`
 * left open) makes data.mdb grow with every append meanwhile. So a command
 * formats a chunk of output inside a snapshot, releases it, writes, and
 * renews it for the next chunk. Entries are append-only and a compaction
 * copies them unchanged, so an index (or an index key) names the same entry
 * in every snapshot; what may change between chunks is that newer entries
 * exist (callers stop at the size they started with) and that a payload
 * was erased, archived or pruned meanwhile (it then prints as absent, as in
 * any later read). A compaction (erase, prune, archive) needs every other
 * handle closed (THE GATE, store/compact.c): when a write may block (a
 * pipe whose reader does not keep up, a socket, a terminal: for hours,
 * maybe) the store is closed while writing and opened again after, behind
 * any compaction that came meanwhile. A write that cannot block (to a
 * regular file, or to a pipe with room for it, snap.c) keeps the store open,
 * as closing and opening it costs most of a millisecond a chunk; renewing
 * then steps aside for a compaction that is already waiting. Either way a
 * stalled reader does not make it fail.
 */
#ifndef ST_SNAP_H
#define ST_SNAP_H

#include <signal.h>

#include "cli.h"
#include "store_int.h"

/* Bytes of formatted output after which a command writes (and releases). */
#define CLI_SNAP_CHUNK ((size_t)256 << 10)

typedef struct cli_snap {
    st_cli *cli;
    st_store *s;
    st_txn *txn;           /* NULL while released */
    int close_on_write;    /* stdout is a pipe, socket or terminal: close the store while a write may block */
    int to_pipe;           /* stdout is a pipe whose free room can be told (Linux; snap.c) */
} cli_snap;

/* Opens the store read-only and begins a snapshot: 0 or an exit code (message printed). */
int cli_snap_open(cli_snap *sn, st_cli *cli, const char *what);
/* Ends the snapshot (before a write that may block). */
void cli_snap_release(cli_snap *sn);
/* Ends the snapshot and writes buf to stdout, then empties it. Holds the
 * store while the write cannot block (a regular file, or a pipe while its
 * reader keeps up); otherwise, when close_on_write, closes it first (sn->s
 * is then NULL until cli_snap_renew or the caller opens it again). 0 or the
 * write's errno (EPIPE: the reader went away). */
int cli_snap_put(cli_snap *sn, st_buf *buf);
/* Begins a snapshot of the latest state, first stepping aside for a waiting
 * compaction. 0 or an st error (sn->s may then be NULL). */
int cli_snap_renew(cli_snap *sn);
/* cli_snap_put, then renew. 0, the write's errno (EPIPE: the reader went
 * away) or the renewal's error in *renew_rc. */
int cli_snap_write(cli_snap *sn, st_buf *buf, int *renew_rc);
void cli_snap_close(cli_snap *sn);

/* Formats one entry of txn into out (log, tail): 0 or an error, which stops the fill. */
typedef int (*cli_fmt_entry)(void *ctx, st_buf *out, st_txn *txn, uint64_t index, const void *entry, size_t len);
/* Formats entries [*next, end) of txn into out with fmt, stopping once out
 * holds more than CLI_SNAP_CHUNK bytes or *stop (may be NULL) is set; *next
 * is then the next index to format. 0 at the end of the table, or an error
 * (ENOMEM if out ran out of memory; ST_ECORRUPT for a damaged row, with err
 * naming it). */
int cli_fill_entries(st_txn *txn, uint64_t *next, uint64_t end, cli_fmt_entry fmt, void *ctx, st_buf *out,
                     const volatile sig_atomic_t *stop, st_err *err);
/* Opens the store read-only again, behind a compaction (st_store_open waits
 * for THE GATE; while a long one holds it, ST_EBUSY is tried again every
 * 100 ms): gives up after busy_tries such retries (0: never) or once *stop
 * (may be NULL) is set. 0 or the open's error (*s NULL). */
int cli_store_reopen(st_cli *cli, st_store **s, int busy_tries, const volatile sig_atomic_t *stop);

#endif
