/*
 * cmd_seal.c: `seal` (sign a checkpoint now), `checkpoint` (print the
 * latest) and `verifier-key` (print the log's C2SP vkey string).
 */
#include <stdlib.h>

#include "cli.h"

static int print_note(int rc, st_store *s, char *note, size_t len, const char *what)
{
    int code = EXIT_OK;
    if (rc) code = cli_fail(rc, what, st_store_error(s));
    else code = cli_write_out(what, note, len);
    free(note);
    st_store_close(s);
    return code;
}

int cmd_seal(st_cli *cli, int argc, char **argv)
{
    cli_take_dir(cli, &argc, argv);
    if (cli_wants_help(argc, argv)) {
        puts("usage: sealtrail [--dir DIR] seal\n"
             "\n"
             "Seals every unsealed entry now: recomputes the root, proves consistency with\n"
             "the previous checkpoint, signs, verifies the signature, stores the checkpoint\n"
             "and publishes it to syslog. Prints the signed checkpoint note (C2SP\n"
             "tlog-checkpoint). With nothing new to seal, prints the latest checkpoint.\n"
             "\n"
             "example:\n"
             "  sealtrail seal > checkpoint.txt");
        return EXIT_OK;
    }
    if (cli_no_args("seal", argc, argv)) return EXIT_USAGE;
    st_store *s;
    int code = cli_open_store(cli, 0, &s);
    if (code) return code;
    char *note = NULL;
    size_t len = 0;
    int rc = st_seal(s, &note, &len);
    return print_note(rc, s, note, len, "seal");
}

int cmd_checkpoint(st_cli *cli, int argc, char **argv)
{
    cli_take_dir(cli, &argc, argv);
    if (cli_wants_help(argc, argv)) {
        puts("usage: sealtrail [--dir DIR] checkpoint\n"
             "\n"
             "Prints the latest signed checkpoint note. Keep copies outside the store (the\n"
             "auditor, a witness, a ticket): any later rewrite of what it covers is detected.\n"
             "\n"
             "example:\n"
             "  sealtrail checkpoint > checkpoint-$(date +%F).txt");
        return EXIT_OK;
    }
    if (cli_no_args("checkpoint", argc, argv)) return EXIT_USAGE;
    st_store *s;
    int code = cli_open_store(cli, ST_OPEN_RDONLY, &s);
    if (code) return code;
    char *note = NULL;
    size_t len = 0;
    int rc = st_checkpoint_latest(s, &note, &len);
    return print_note(rc, s, note, len, "checkpoint");
}

int cmd_verifier_key(st_cli *cli, int argc, char **argv)
{
    cli_take_dir(cli, &argc, argv);
    if (cli_wants_help(argc, argv)) {
        puts("usage: sealtrail [--dir DIR] verifier-key\n"
             "\n"
             "Prints the log's verifier key (C2SP vkey string name+keyid+key). Auditors pass\n"
             "it to 'auditverify --trust'; deliver it out of band, never inside a bundle.\n"
             "\n"
             "example:\n"
             "  sealtrail verifier-key > log.vkey");
        return EXIT_OK;
    }
    if (cli_no_args("verifier-key", argc, argv)) return EXIT_USAGE;
    st_store *s;
    int code = cli_open_store(cli, ST_OPEN_RDONLY, &s);
    if (code) return code;
    printf("%s\n", st_store_vkey(s));
    st_store_close(s);
    return EXIT_OK;
}
