/*
 * cmd_reindex.c: `sealtrail reindex`: rebuilds the secondary indexes and
 * stats aggregates from the stored entries (store/index.h), with a
 * progress line on stderr when stderr is a terminal.
 */
#include <stdio.h>
#include <unistd.h>

#include "cli.h"
#include "index.h"
#include "store_int.h"

typedef struct rx_ctx {
    int tty;
    uint64_t size;
    st_err *err;
} rx_ctx;

static void rx_progress(void *ctx, uint64_t done, uint64_t total)
{
    rx_ctx *r = ctx;
    if (r->tty) fprintf(stderr, "\r\033[Ksealtrail: reindex: %llu / %llu entries", (unsigned long long)done, (unsigned long long)total);
}

static int rx_txn(st_txn *txn, void *arg)
{
    rx_ctx *r = arg;
    int rc = st_size_txn(txn, &r->size);
    if (rc) return rc;
    return st_index_rebuild(txn, r->size, rx_progress, r, r->err);
}

int cmd_reindex(st_cli *cli, int argc, char **argv)
{
    cli_take_dir(cli, &argc, argv);
    if (cli_wants_help(argc, argv)) {
        puts("usage: sealtrail [--dir DIR] reindex\n"
             "\n"
             "Rebuilds every secondary index (time, tool, session, path, tool_use_id) and\n"
             "the stats aggregates from the stored entries, in one write transaction:\n"
             "appends wait until it is done. 'sealtrail check' compares the indexes with a\n"
             "recomputation and names the first difference. A store whose indexes were\n"
             "written by an older release in another layout must be reindexed before\n"
             "query, stats or check use them (they say so).\n"
             "\n"
             "examples:\n"
             "  sealtrail reindex && sealtrail check\n"
             "\n"
             "EXIT STATUS\n"
             "  0 rebuilt; 1 an entry could not be read or the write failed; 2 usage error.");
        return EXIT_OK;
    }
    if (cli_no_args("reindex", argc, argv)) return EXIT_USAGE;
    st_store *s;
    int code = cli_open_store(cli, ST_OPEN_NOSEAL, &s);
    if (code) return code;
    st_err err;
    err.msg[0] = 0;
    rx_ctx r = { isatty(2), 0, &err };
    int rc = st_db_write(s->db, rx_txn, &r, &err);
    if (r.tty) fputs("\r\033[K", stderr);
    if (rc) code = cli_fail(rc, "reindex", err.msg);
    else printf("reindexed %llu entries\n", (unsigned long long)r.size);
    st_store_close(s);
    return code;
}
