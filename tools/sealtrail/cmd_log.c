/*
 * cmd_log.c: `log` prints entries as JSON lines with their decoded payloads;
 * `leaf` writes one entry's exact bytes (the leaf data).
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "render.h"
#include "store_int.h"

int cmd_log(st_cli *cli, int argc, char **argv)
{
    cli_take_dir(cli, &argc, argv);
    if (cli_wants_help(argc, argv)) {
        puts("usage: sealtrail [--dir DIR] log [--from I] [--to J] [--no-payloads]\n"
             "\n"
             "Prints entries I..J (inclusive; default: all) as JSON lines: the entry's\n"
             "envelope members plus \"content\", each payload decoded as stored (redacted).\n"
             "Payloads that were erased or archived print as null and are listed in\n"
             "\"absent_payloads\".\n"
             "\n"
             "examples:\n"
             "  sealtrail log --from 100 --to 199\n"
             "  sealtrail log | jq -r 'select(.tool==\"Bash\") | .content.tool_input.command'");
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
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'f': if (cli_parse_u64("--from", optarg, &from)) return EXIT_USAGE; break;
        case 't': if (cli_parse_u64("--to", optarg, &to)) return EXIT_USAGE; break;
        case 'n': with_payloads = 0; break;
        default: return EXIT_USAGE;
        }
    }
    if (optind < argc) { cli_err("log: unexpected argument '%s'", argv[optind]); return EXIT_USAGE; }
    if (from > to) { cli_err("log: --from %llu is after --to %llu", (unsigned long long)from, (unsigned long long)to); return EXIT_USAGE; }
    st_store *s;
    int code = cli_open_store(cli, ST_OPEN_RDONLY, &s);
    if (code) return code;
    st_txn *txn;
    int rc = st_db_read_begin(s->db, &txn, &s->err);
    if (rc) { code = cli_fail(rc, "log", st_store_error(s)); st_store_close(s); return code; }
    st_cursor *cur = NULL;
    uint8_t key[8];
    st_be64_put(key, from);
    const void *k, *v;
    size_t kl, vl;
    st_buf out = { 0 };
    rc = st_cursor_open(txn, ST_T_ENTRIES, &cur);
    if (rc == 0) rc = st_cursor_seek(cur, key, 8, &k, &kl, &v, &vl);
    while (rc == 0 && kl == 8 && st_be64_get(k) <= to) {
        uint64_t index = st_be64_get(k);
        if ((rc = st_render_entry(&out, txn, index, v, vl, with_payloads)) != 0) {
            cli_err("log: entry %llu: cannot render: %s", (unsigned long long)index, st_strerror(rc));
            break;
        }
        if (out.len > (1u << 20)) {
            if (cli_write_all(1, out.data, out.len) != 0) { rc = EPIPE; break; }
            st_buf_reset(&out);
        }
        rc = st_cursor_next(cur, &k, &kl, &v, &vl);
    }
    if (rc == ST_ENOTFOUND) rc = 0;
    if (rc == 0 && out.len && cli_write_all(1, out.data, out.len) != 0) rc = EPIPE;
    st_buf_free(&out);
    st_cursor_close(cur);
    st_db_read_end(txn);
    st_store_close(s);
    return rc ? EXIT_FAIL : EXIT_OK;
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
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c != 'i' || cli_parse_u64("--index", optarg, &index)) return EXIT_USAGE;
        have = 1;
    }
    if (!have || optind < argc) { cli_err("leaf: usage: sealtrail leaf --index I"); return EXIT_USAGE; }
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
        if (cli_write_all(1, bytes, len) != 0) code = EXIT_FAIL;
        free(bytes);
    }
    st_store_close(s);
    return code;
}
