/*
 * cmd_check.c: `sealtrail check` re-verifies the whole local store and
 * names the first failure. Exit 0 verified, 1 a problem was found.
 */
#include "cli.h"

int cmd_check(st_cli *cli, int argc, char **argv)
{
    cli_take_dir(cli, &argc, argv);
    if (cli_wants_help(argc, argv)) {
        puts("usage: sealtrail [--dir DIR] check\n"
             "\n"
             "Re-verifies the whole store from the stored bytes: every entry canonical and\n"
             "at its index, every stored tree hash against the entries' leaf hashes (a\n"
             "level-1 node that differs names both of its entries: which one changed, the\n"
             "tree cannot tell), every payload against its commitment (and no payload stored\n"
             "that no entry names), every shared large string (blob) against its key and its\n"
             "reference count, every checkpoint's signature and root, consistency between\n"
             "consecutive checkpoints, and the secondary indexes. Prints a summary, or the\n"
             "first failure with the index, what failed, and the expected and found values.\n"
             "\n"
             "EXIT STATUS\n"
             "  0 the store verifies; 1 a failure was found; 2 usage error.\n"
             "\n"
             "example:\n"
             "  sealtrail check && echo intact");
        return EXIT_OK;
    }
    if (cli_no_args("check", argc, argv)) return EXIT_USAGE;
    st_store *s;
    int code = cli_open_store(cli, ST_OPEN_RDONLY, &s);
    if (code) return code;
    int rc = st_check(s);
    if (rc) {
        cli_err("check: FAILED: %s", st_store_error(s)[0] ? st_store_error(s) : st_strerror(rc));
        st_store_close(s);
        return EXIT_FAIL;
    }
    st_status st;
    if (st_store_status(s, &st) == 0)
        printf("ok: %llu entries, %llu checkpoints, sealed through %llu, origin %s\n", (unsigned long long)st.size,
               (unsigned long long)st.checkpoints, (unsigned long long)st.sealed_size, st_store_origin(s));
    st_store_close(s);
    return EXIT_OK;
}
