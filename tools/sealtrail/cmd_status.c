/*
 * cmd_status.c: `sealtrail status` prints the store's size, what is sealed,
 * the seal policy and disk use; --json for scripts.
 */
#include <string.h>

#include "cli.h"
#include "json.h"

int cmd_status(st_cli *cli, int argc, char **argv)
{
    cli_take_dir(cli, &argc, argv);
    if (cli_wants_help(argc, argv)) {
        puts("usage: sealtrail [--dir DIR] status [--json]\n"
             "\n"
             "Prints where the store is, its origin and verifier key, the key mode\n"
             "(simple, root-certified or epochs: docs/KEYS.md), how many entries it holds,\n"
             "how many are sealed, the seal policy, and its size on disk.\n"
             "\n"
             "example:\n"
             "  sealtrail status --json | jq .unsealed");
        return EXIT_OK;
    }
    static const struct option opts[] = { { "json", no_argument, NULL, 'j' }, { 0, 0, 0, 0 } };
    int c, json = 0;
    optind = 1;
    while ((c = cli_getopt("status", argc, argv, "", opts)) != -1) {
        if (c == 'j') json = 1;
        else return EXIT_USAGE;
    }
    if (optind < argc) return cli_stray_arg("status", argv, optind);
    st_store *s;
    int code = cli_open_store(cli, ST_OPEN_RDONLY, &s);
    if (code) return code;
    st_status st;
    int rc = st_store_status(s, &st);
    if (rc) { code = cli_fail(rc, "status", st_store_error(s)); st_store_close(s); return code; }
    char oldest[32] = "", last[32] = "";
    if (st.oldest_unsealed_us) st_time_format_rfc3339(oldest, st.oldest_unsealed_us);
    if (st.last_seal_us) st_time_format_rfc3339(last, st.last_seal_us);
    const char *dir = cli_store_dir(cli);
    if (json) {
        st_buf b = { 0 };
        st_buf_puts(&b, "{\"dir\":");
        st_json_write_string(&b, dir, strlen(dir));
        st_buf_puts(&b, ",\"origin\":");
        st_json_write_string(&b, st_store_origin(s), strlen(st_store_origin(s)));
        st_buf_printf(&b, ",\"verifier_key\":\"%s\",\"key_mode\":\"%s\",\"size\":%llu,\"sealed_size\":%llu,\"unsealed\":%llu,"
                          "\"checkpoints\":%llu,\"oldest_unsealed\":%s%s%s,\"last_seal\":%s%s%s,"
                          "\"seal_max_entries\":%llu,\"seal_max_age_s\":%lld,\"disk_bytes\":%llu}\n",
                      st_store_vkey(s), st.key_mode, (unsigned long long)st.size, (unsigned long long)st.sealed_size,
                      (unsigned long long)(st.size - st.sealed_size), (unsigned long long)st.checkpoints,
                      oldest[0] ? "\"" : "", oldest[0] ? oldest : "null", oldest[0] ? "\"" : "",
                      last[0] ? "\"" : "", last[0] ? last : "null", last[0] ? "\"" : "",
                      (unsigned long long)st.seal_max_entries, (long long)(st.seal_max_age_us / 1000000),
                      (unsigned long long)st.used_bytes);
        fwrite(b.data, 1, b.len, stdout);
        st_buf_free(&b);
    } else {
        printf("store:         %s\n"
               "origin:        %s\n"
               "verifier key:  %s\n"
               "key mode:      %s\n"
               "entries:       %llu\n"
               "sealed:        %llu (%llu checkpoints%s%s)\n"
               "unsealed:      %llu%s%s\n"
               "seal policy:   after %llu entries or %lld s\n"
               "disk:          %llu bytes\n",
               dir, st_store_origin(s), st_store_vkey(s), st.key_mode, (unsigned long long)st.size,
               (unsigned long long)st.sealed_size, (unsigned long long)st.checkpoints, last[0] ? ", last " : "", last,
               (unsigned long long)(st.size - st.sealed_size), oldest[0] ? ", oldest " : "", oldest,
               (unsigned long long)st.seal_max_entries, (long long)(st.seal_max_age_us / 1000000),
               (unsigned long long)st.used_bytes);
    }
    st_store_close(s);
    return EXIT_OK;
}
