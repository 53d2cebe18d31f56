/*
 * cmd_tail.c: `sealtrail tail [-f] [--from I]`: prints entries as JSON lines
 * and, with -f, keeps printing them as other processes append, for shipping
 * to an observability pipeline. Polls with a renewed read snapshot (LMDB
 * readers never block writers), so it survives the store growing (map
 * resize) and sealing underneath it; resumable from any index. It holds
 * no snapshot while it writes (cli_fill_entries), so a stalled reader does not
 * make the store file grow, and no store handle either while a write may
 * block (a pipe whose reader does not keep up, where it may block for
 * hours), so a stalled reader does not keep a compaction out (snap.h). SIGINT,
 * SIGTERM and a closed pipe end it cleanly (exit 0).
 *
 * A compaction (erase, prune, archive, retention compact) needs every other
 * handle closed (store/compact.c, THE GATE): when one waits for its turn,
 * -f closes the store and opens it again, which queues behind the
 * compaction, then goes on from the next index in the new file.
 *
 * A store deleted under -f (rm -rf DIR) would otherwise be followed forever
 * through the unlinked file, printing nothing; one made again at the same
 * path would be followed from the old index on, as if it were the same log.
 * So after each idle wait -f looks whether DIR/data.mdb is still the file it
 * has open (st_store_gone) and, if not, opens the store again; each time it
 * opens the store again it checks that it is the same store (its first log
 * key, st_keys_trust_anchors: made at random by init, kept through
 * rotations). No store there, or another one: it exits 1.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "keys.h"
#include "query_fmt.h"
#include "snap.h"
#include "store_int.h"

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void help(void)
{
    puts("usage: sealtrail [--dir DIR] tail [-f] [--from I | -n N] [--interval MS] [--format jsonl|seed]\n"
         "\n"
         "Prints the last N entries (default 10), or every entry from index I on, as JSON\n"
         "lines (the 'log' shape, payloads decoded as stored; C1 and bidi controls as\n"
         "\\uXXXX escapes, as in 'log'). With -f it keeps waiting\n"
         "and prints entries as they are appended by any process, polling every MS\n"
         "milliseconds (default 150). It keeps working while the store grows and is sealed,\n"
         "and steps aside for a compaction (erase, prune, archive): it closes the store,\n"
         "waits for the compaction, and goes on from the next entry. If the store is\n"
         "deleted, renamed away or made again at the same path (a new log, with another\n"
         "key), it stops with an error (exit 1) at its next poll.\n"
         "Each entry is printed once, in index order, as one line. To resume after a\n"
         "restart, pass --from the last printed \"index\" + 1 (an index past the end waits\n"
         "for that entry with -f, and prints nothing without).\n"
         "\n"
         "  -f, --follow      keep printing new entries until interrupted\n"
         "  --from I          start at index I\n"
         "  -n, --lines N     start N entries before the end (default 10; ignored with --from)\n"
         "  --interval MS     poll interval with -f (10..60000, default 150)\n"
         "  --format F        jsonl (default) or seed\n"
         "\n"
         "examples:\n"
         "  sealtrail tail -f --from 0 | vector --config ship.toml\n"
         "  sealtrail tail -n 50 --format seed | jq -r .toolName\n"
         "\n"
         "EXIT STATUS\n"
         "  0 success, interrupted, or the reader went away; 1 the store could not be read\n"
         "  or the output not written, or the store was deleted or replaced while tail\n"
         "  followed it (\"sealtrail: tail: store DIR was deleted or replaced while\n"
         "  following it\"); 2 usage error.");
}

/* Waits ms milliseconds; returns 1 if stdout's reader has gone away (a
 * pipe reports POLLERR on its write end once the read end is closed), so
 * `tail -f | head` ends even when nothing new arrives. A signal, or a
 * compaction waiting for the store (checked every WAIT_SLICE_MS: a compactor
 * gives up after 10 s, the interval may be 60), ends the wait early. */
#define WAIT_SLICE_MS 250u
static int wait_ms(const char *dir, unsigned ms)
{
    for (;;) {
        unsigned slice = ms < WAIT_SLICE_MS ? ms : WAIT_SLICE_MS;
        struct pollfd p = { .fd = 1, .events = 0 };
        if (poll(&p, 1, (int)slice) > 0 && (p.revents & (POLLERR | POLLHUP | POLLNVAL))) return 1;
        ms -= slice;
        if (ms == 0 || stop_flag || st_gate_compaction_waiting(dir)) return 0;
    }
}

/* The store's first log key (st_keys_trust_anchors: the last anchor), which
 * tells it from another store made at the same path. 0 or an st error. */
static int first_key(st_store *s, st_vkey *out)
{
    st_vkey a[2];
    size_t n = 0;
    int rc = st_keys_trust_anchors(s, a, &n);
    if (rc == 0 && n == 0) rc = ST_ECORRUPT;
    if (rc == 0) *out = a[n - 1];
    return rc;
}

/* Closes the store (if open) and opens it again, after the compaction that
 * waits for it (however long it takes, until a signal): unlike
 * cli_snap_renew, which gives up on a store busy for a second. Sets *lost
 * if there is no store at the path any more, or another one than self. */
static int reopen(cli_snap *sn, const st_vkey *self, int *lost)
{
    cli_snap_release(sn);
    st_store_close(sn->s);
    sn->s = NULL;
    int rc = cli_store_reopen(sn->cli, &sn->s, 0, &stop_flag);
    if (rc == ST_ENOTFOUND) *lost = 1;
    if (rc) return rc;
    st_vkey k;
    if ((rc = first_key(sn->s, &k)) != 0) return rc;
    if (strcmp(k.name, self->name) != 0 || memcmp(k.pub, self->pub, sizeof k.pub) != 0) {
        *lost = 1;
        return 0;
    }
    return st_db_read_begin(sn->s->db, &sn->txn, &sn->s->err);
}

/* Entries go out in chunks (cli_fill_entries), each written with no snapshot
 * held: LMDB cannot reuse the pages freed after a live snapshot, so a reader
 * that stops reading (a shipper under backpressure) would otherwise make the
 * store file grow with every append meanwhile. */
static int format_one(void *ctx, st_buf *out, st_txn *txn, uint64_t index, const void *entry, size_t len)
{
    return *(const qf_format *)ctx == QF_SEED ? qf_seed(out, txn, index, entry, len)
                                              : qf_jsonl(out, txn, index, entry, len, NULL);
}

int cmd_tail(st_cli *cli, int argc, char **argv)
{
    cli_take_dir(cli, &argc, argv);
    if (cli_wants_help(argc, argv)) { help(); return EXIT_OK; }
    static const struct option opts[] = {
        { "follow", no_argument, NULL, 'f' }, { "from", required_argument, NULL, 'F' },
        { "lines", required_argument, NULL, 'n' }, { "interval", required_argument, NULL, 'i' },
        { "format", required_argument, NULL, 'o' }, { 0, 0, 0, 0 },
    };
    int c, follow = 0, have_from = 0;
    uint64_t from = 0, lines = 10, interval = 150;
    qf_format fmt = QF_JSONL;
    optind = 1;
    while ((c = cli_getopt("tail", argc, argv, "fn:", opts)) != -1) {
        switch (c) {
        case 'f': follow = 1; break;
        case 'F': if (cli_parse_u64("--from", optarg, &from)) return EXIT_USAGE; have_from = 1; break;
        case 'n': if (cli_parse_u64("--lines", optarg, &lines)) return EXIT_USAGE; break;
        case 'i':
            if (cli_parse_u64("--interval", optarg, &interval)) return EXIT_USAGE;
            if (interval < 10 || interval > 60000) { cli_err("tail: --interval: %llu is not in 10..60000", (unsigned long long)interval); return EXIT_USAGE; }
            break;
        case 'o':
            if (qf_parse_format(optarg, &fmt) || (fmt != QF_JSONL && fmt != QF_SEED)) {
                cli_err("tail: --format: '%s' is not jsonl or seed", optarg);
                return EXIT_USAGE;
            }
            break;
        default: return EXIT_USAGE;
        }
    }
    if (optind < argc) return cli_stray_arg("tail", argv, optind);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    cli_snap sn;
    int code = cli_snap_open(&sn, cli, "tail");
    if (code) return code;
    uint64_t size = 0, next = from;
    st_buf out = { 0 };
    st_vkey self;
    int lost = 0, rc = st_size_txn(sn.txn, &size);
    if (rc == 0 && !have_from) next = size > lines ? size - lines : 0;
    if (rc == 0) rc = first_key(sn.s, &self);
    while (rc == 0 && !stop_flag) {
        uint64_t before = next;
        if ((rc = cli_fill_entries(sn.txn, &next, size, format_one, &fmt, &out, &stop_flag, &sn.s->err)) != 0) break;
        int more = next < size && next != before && !stop_flag;   /* a full chunk went out: entries remain */
        if (out.len) {
            rc = cli_snap_put(&sn, &out);        /* no snapshot (nor, if the write may block, store handle) */
            if (rc && rc != EPIPE) { code = cli_fail(rc, "tail: writing output", NULL); rc = 0; break; }
            if (rc) break;
        }
        int moved = 0;          /* DIR/data.mdb is not the file held: reopen tells a new store from none */
        if (!more) {
            if (!follow) break;
            if (wait_ms(cli_store_dir(cli), (unsigned)interval) || stop_flag) break;
            moved = sn.s && st_store_gone(sn.s);
        }
        if (moved || !sn.s || st_gate_compaction_waiting(cli_store_dir(cli))) rc = reopen(&sn, &self, &lost);
        else rc = sn.txn ? st_db_read_renew(sn.txn) : st_db_read_begin(sn.s->db, &sn.txn, &sn.s->err);
        if (moved && rc && !stop_flag) lost = 1;       /* gone, or half made again (init under way) */
        if (lost) break;
        if (rc == 0 && follow) rc = st_size_txn(sn.txn, &size);   /* without -f: up to the size at the start */
    }
    if (lost && !stop_flag) {
        cli_err("tail: store %s was deleted or replaced while following it", cli_store_dir(cli));
        code = EXIT_FAIL;
        rc = 0;
    }
    if (rc == EPIPE || (rc && stop_flag)) rc = 0;
    if (rc) code = cli_fail(rc, "tail", sn.s ? st_store_error(sn.s) : "");
    st_buf_free(&out);
    cli_snap_close(&sn);
    return code;
}
