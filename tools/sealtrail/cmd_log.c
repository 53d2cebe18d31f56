/*
 * cmd_log.c: `log` prints entries as JSON lines with their decoded payloads;
 * `leaf` writes one entry's exact bytes (the leaf data).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "render.h"
#include "snap.h"
#include "store_int.h"

#define LOG_REPORTED 1     /* render_one: an error already reported */

static int render_one(void *ctx, st_buf *out, st_txn *txn, uint64_t index, const void *entry, size_t len)
{
    int rc = st_render_entry(out, txn, index, entry, len, *(const int *)ctx);
    if (rc == 0) return 0;
    cli_err("log: entry %llu: cannot render: %s", (unsigned long long)index, st_strerror(rc));
    return LOG_REPORTED;
}

int cmd_log(st_cli *cli, int argc, char **argv)
{
    cli_take_dir(cli, &argc, argv);
    if (cli_wants_help(argc, argv)) {
        puts("usage: sealtrail [--dir DIR] log [--from I] [--to J] [--no-payloads]\n"
             "\n"
             "Prints entries I..J (inclusive; default: all) as JSON lines: the entry's\n"
             "envelope members plus \"content\", each payload decoded as stored (redacted).\n"
             "Payloads that were erased or archived print as null and are listed in\n"
             "\"absent_payloads\". The code points a terminal acts on (C1 and bidi controls,\n"
             "U+2028, U+2029) are written as \\uXXXX escapes: the same values to a JSON parser.\n"
             "\n"
             "It prints the entries that exist when it starts (J is cut to the last one;\n"
             "I may be the log size, which prints nothing, but not beyond it).\n"
             "No read snapshot is held while output is written (a reader that stalls, such\n"
             "as a pager left open, does not make the store grow): a payload erased,\n"
             "archived or pruned while log runs prints as absent if not yet printed.\n"
             "\n"
             "examples:\n"
             "  sealtrail log --from 100 --to 199\n"
             "  sealtrail log | jq -r 'select(.tool==\"Bash\") | .content.tool_input.command'\n"
             "\n"
             "EXIT STATUS\n"
             "  0 success, also when the reader goes away (log | head); 1 the store could not\n"
             "  be read or the output not written; 2 usage error.");
        return EXIT_OK;
    }
    static const struct option opts[] = {
        { "from", required_argument, NULL, 'f' },
        { "to", required_argument, NULL, 't' },
        { "no-payloads", no_argument, NULL, 'n' },
        { 0, 0, 0, 0 },
    };
    uint64_t from = 0, to = UINT64_MAX;
    int with_payloads = 1, c;
    optind = 1;
    while ((c = cli_getopt("log", argc, argv, "", opts)) != -1) {
        switch (c) {
        case 'f': if (cli_parse_u64("--from", optarg, &from)) return EXIT_USAGE; break;
        case 't': if (cli_parse_u64("--to", optarg, &to)) return EXIT_USAGE; break;
        case 'n': with_payloads = 0; break;
        default: return EXIT_USAGE;
        }
    }
    if (optind < argc) return cli_stray_arg("log", argv, optind);
    if (from > to) { cli_err("log: --from %llu is after --to %llu", (unsigned long long)from, (unsigned long long)to); return EXIT_USAGE; }
    signal(SIGPIPE, SIG_IGN);        /* `log | head`: EPIPE ends it cleanly (exit 0) */
    cli_snap sn;
    int code = cli_snap_open(&sn, cli, "log");
    if (code) return code;
    uint64_t size = 0, next = from;
    st_buf out = { 0 };
    int rc = st_size_txn(sn.txn, &size), werr = 0;
    uint64_t end = to < size ? to + 1 : size;
    if (rc == 0 && from > size) {
        cli_err("log: --from %llu is past the end of the log (%llu entries)", (unsigned long long)from,
                (unsigned long long)size);
        cli_snap_close(&sn);
        return EXIT_USAGE;
    }
    while (rc == 0 && next < end) {
        uint64_t before = next;
        rc = cli_fill_entries(sn.txn, &next, end, render_one, &with_payloads, &out, NULL, &sn.s->err);
        if (rc || next == before || next >= end) break;
        if ((werr = cli_snap_write(&sn, &out, &rc)) != 0) break;
    }
    if (rc == 0 && !werr && out.len) werr = cli_snap_put(&sn, &out);   /* the last chunk, as the others */
    if (werr == EPIPE) code = EXIT_OK;
    else if (werr) code = cli_fail(werr, "log: writing output", NULL);
    else if (rc == LOG_REPORTED) code = EXIT_FAIL;
    else if (rc) code = cli_fail(rc, "log", st_store_error(sn.s));
    st_buf_free(&out);
    cli_snap_close(&sn);
    return code;
}

int cmd_leaf(st_cli *cli, int argc, char **argv)
{
    cli_take_dir(cli, &argc, argv);
    if (cli_wants_help(argc, argv)) {
        puts("usage: sealtrail [--dir DIR] leaf --index I\n"
             "\n"
             "Writes the exact canonical bytes of entry I (the Merkle leaf data, no newline)\n"
             "to stdout. Its leaf hash is SHA-256(0x00 || these bytes).\n"
             "\n"
             "example:\n"
             "  sealtrail leaf --index 41 > entry41.json\n"
             "\n"
             "EXIT STATUS\n"
             "  0 written; 1 the store could not be read; 2 usage error, or I is not below\n"
             "  the log size (the message names it).");
        return EXIT_OK;
    }
    static const struct option opts[] = { { "index", required_argument, NULL, 'i' }, { 0, 0, 0, 0 } };
    uint64_t index = 0;
    int have = 0, c;
    optind = 1;
    while ((c = cli_getopt("leaf", argc, argv, "", opts)) != -1) {
        if (c != 'i' || cli_parse_u64("--index", optarg, &index)) return EXIT_USAGE;
        have = 1;
    }
    if (optind < argc) return cli_stray_arg("leaf", argv, optind);
    if (!have) { cli_err("leaf: usage: sealtrail leaf --index I"); return EXIT_USAGE; }
    st_store *s;
    int code = cli_open_store(cli, ST_OPEN_RDONLY, &s);
    if (code) return code;
    uint8_t *bytes;
    size_t len;
    int rc = st_entry_get(s, index, &bytes, &len);
    if (rc == ST_ENOTFOUND) {                  /* an index past the end is bad input, as for 'prove' */
        cli_err("leaf: %s", st_store_error(s));
        code = EXIT_USAGE;
    } else if (rc) code = cli_fail(rc, "leaf", st_store_error(s));
    else {
        code = cli_write_out("leaf", bytes, len);
        free(bytes);
    }
    st_store_close(s);
    return code;
}
