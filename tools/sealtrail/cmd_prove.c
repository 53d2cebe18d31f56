/*
 * cmd_prove.c: `prove --index I [--size N]` prints an inclusion proof and
 * `prove --from M --to N` a consistency proof, as JSON [PROOF-1].
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>

#include "cli.h"
#include "merkle.h"

static void put_hex(st_buf *b, const char *key, const uint8_t *h)
{
    char hex[2 * ST_HASH_BYTES + 1];
    st_hex_encode(hex, h, ST_HASH_BYTES);
    st_buf_printf(b, "\"%s\":\"%s\"", key, hex);
}

static void put_hashes(st_buf *b, const uint8_t *hashes, size_t n)
{
    st_buf_puts(b, "\"hashes\":[");
    for (size_t i = 0; i < n; i++) {
        char hex[2 * ST_HASH_BYTES + 1];
        st_hex_encode(hex, hashes + i * ST_HASH_BYTES, ST_HASH_BYTES);
        st_buf_printf(b, "%s\"%s\"", i ? "," : "", hex);
    }
    st_buf_putc(b, ']');
}

int cmd_prove(st_cli *cli, int argc, char **argv)
{
    cli_take_dir(cli, &argc, argv);
    if (cli_wants_help(argc, argv)) {
        puts("usage: sealtrail [--dir DIR] prove --index I [--size N]\n"
             "       sealtrail [--dir DIR] prove --from M --to N\n"
             "\n"
             "Prints an RFC 6962 inclusion proof of entry I in the tree of size N (default:\n"
             "the latest checkpoint's size), or a consistency proof from size M to size N,\n"
             "as one line of JSON with keys sorted and hashes in hex, leaf-to-root order:\n"
             "  {\"hashes\":[...],\"index\":I,\"leaf_hash\":...,\"root\":...,\"size\":N,\"type\":\"inclusion\"}\n"
             "  {\"hashes\":[...],\"new_root\":...,\"new_size\":N,\"old_root\":...,\"old_size\":M,\"type\":\"consistency\"}\n"
             "\n"
             "examples:\n"
             "  sealtrail prove --index 41\n"
             "  sealtrail prove --from 1000 --to 2000\n"
             "\n"
             "EXIT STATUS\n"
             "  0 printed; 1 the store could not be read, or no checkpoint covers entry I yet\n"
             "  (without --size); 2 usage error, or an index or size past the end of the log\n"
             "  (the message names its size).");
        return EXIT_OK;
    }
    static const struct option opts[] = {
        { "index", required_argument, NULL, 'i' }, { "size", required_argument, NULL, 's' },
        { "from", required_argument, NULL, 'f' },  { "to", required_argument, NULL, 't' },
        { 0, 0, 0, 0 },
    };
    uint64_t index = 0, size = 0, from = 0, to = 0;
    int hi = 0, hs = 0, hf = 0, ht = 0, c;
    optind = 1;
    while ((c = cli_getopt("prove", argc, argv, "", opts)) != -1) {
        switch (c) {
        case 'i': if (cli_parse_u64("--index", optarg, &index)) return EXIT_USAGE; hi = 1; break;
        case 's': if (cli_parse_u64("--size", optarg, &size)) return EXIT_USAGE; hs = 1; break;
        case 'f': if (cli_parse_u64("--from", optarg, &from)) return EXIT_USAGE; hf = 1; break;
        case 't': if (cli_parse_u64("--to", optarg, &to)) return EXIT_USAGE; ht = 1; break;
        default: return EXIT_USAGE;
        }
    }
    int inclusion = hi && !hf && !ht, consistency = hf && ht && !hi && !hs;
    if (optind < argc) return cli_stray_arg("prove", argv, optind);
    if (!inclusion && !consistency) {
        cli_err("prove: give either --index I [--size N] or --from M --to N");
        return EXIT_USAGE;
    }
    if (inclusion && hs && size == 0) { cli_err("prove: --size must be at least 1"); return EXIT_USAGE; }
    if (consistency && to == 0) { cli_err("prove: --to must be at least 1"); return EXIT_USAGE; }
    st_store *s;
    int code = cli_open_store(cli, ST_OPEN_RDONLY, &s);
    if (code) return code;
    uint8_t *hashes = NULL, a[ST_HASH_BYTES], b[ST_HASH_BYTES];
    size_t n = 0;
    st_buf out = { 0 };
    int rc;
    if (inclusion) {
        rc = st_prove_inclusion(s, index, size, &hashes, &n, a, b);
        if (rc == 0 && size == 0) {
            st_status st;
            rc = st_store_status(s, &st);
            size = st.sealed_size;
        }
        if (rc == 0) {
            st_buf_putc(&out, '{');
            put_hashes(&out, hashes, n);
            st_buf_printf(&out, ",\"index\":%llu,", (unsigned long long)index);
            put_hex(&out, "leaf_hash", b);
            st_buf_putc(&out, ',');
            put_hex(&out, "root", a);
            st_buf_printf(&out, ",\"size\":%llu,\"type\":\"inclusion\"}\n", (unsigned long long)size);
        }
    } else {
        rc = st_prove_consistency(s, from, to, &hashes, &n, a, b);
        if (rc == 0) {
            st_buf_putc(&out, '{');
            put_hashes(&out, hashes, n);
            st_buf_putc(&out, ',');
            put_hex(&out, "new_root", b);
            st_buf_printf(&out, ",\"new_size\":%llu,", (unsigned long long)to);
            put_hex(&out, "old_root", a);
            st_buf_printf(&out, ",\"old_size\":%llu,\"type\":\"consistency\"}\n", (unsigned long long)from);
        }
    }
    if (rc) code = cli_fail(rc, "prove", st_store_error(s));
    else code = out.oom ? cli_fail(ENOMEM, "prove", NULL) : cli_write_out("prove", out.data, out.len);
    free(hashes);
    st_buf_free(&out);
    st_store_close(s);
    return code;
}
