/*
 * cmd_init.c: `sealtrail init` creates a store and its signing key and
 * prints the verifier key as the last line of stdout.
 */
#include <getopt.h>
#include <string.h>

#include "cli.h"
#include "note.h"

static void init_help(void)
{
    puts("usage: sealtrail [--dir DIR] init [--origin NAME] [--seal-entries N] [--seal-age DURATION]\n"
         "                                 [--payload-cap BYTES] [--no-syslog]\n"
         "\n"
         "Creates the store directory (mode 0700; a directory that exists already is set to\n"
         "0700, as the keys in it require), the LMDB store (files 0600) and a new Ed25519\n"
         "signing key (DIR/log.key, mode 0600). Prints the verifier key, a C2SP vkey string,\n"
         "as the last line of stdout: give it to auditors out of band.\n"
         "\n"
         "  --origin NAME        checkpoint origin and key name, a scheme-less URL such as\n"
         "                       example.com/team/agent-audit (default: sealtrail.local/HOST/RANDOM)\n"
         "  --seal-entries N     seal after N unsealed entries (default 1000)\n"
         "  --seal-age DURATION  seal when the oldest unsealed entry is this old, checked at\n"
         "                       each append (default 60s; units s, m, h, d, w, y)\n"
         "  --payload-cap BYTES  store payloads whole up to this size (default 67108864)\n"
         "  --no-syslog          do not publish checkpoints to syslog\n"
         "\n"
         "examples:\n"
         "  sealtrail init\n"
         "  VKEY=$(sealtrail --dir /var/lib/sealtrail init --origin example.com/ci-agent | tail -n 1)");
}

int cmd_init(st_cli *cli, int argc, char **argv)
{
    cli_take_dir(cli, &argc, argv);
    if (cli_wants_help(argc, argv)) { init_help(); return EXIT_OK; }
    static const struct option opts[] = {
        { "origin", required_argument, NULL, 'o' },
        { "seal-entries", required_argument, NULL, 'n' },
        { "seal-age", required_argument, NULL, 't' },
        { "payload-cap", required_argument, NULL, 'c' },
        { "no-syslog", no_argument, NULL, 's' },
        { 0, 0, 0, 0 },
    };
    st_init_opts o = { 0 };
    int c;
    optind = 1;
    while ((c = cli_getopt("init", argc, argv, "", opts)) != -1) {
        switch (c) {
        case 'o': o.origin = optarg; break;
        case 'n':
            if (cli_parse_u64("--seal-entries", optarg, &o.seal_max_entries)) return EXIT_USAGE;
            if (!o.seal_max_entries) { cli_err("init: --seal-entries: at least 1"); return EXIT_USAGE; }
            break;
        case 't':
            if (st_duration_parse(optarg, &o.seal_max_age_us) != 0 || o.seal_max_age_us <= 0) {
                cli_err("--seal-age: expected a duration like 60s, 5m or 1h, got '%s'", optarg);
                return EXIT_USAGE;
            }
            break;
        case 'c':
            if (cli_parse_u64("--payload-cap", optarg, &o.payload_cap)) return EXIT_USAGE;   /* said why */
            if (o.payload_cap < 1024) { cli_err("init: --payload-cap: at least 1024 bytes"); return EXIT_USAGE; }
            break;
        case 's': o.no_syslog = 1; break;
        default: return EXIT_USAGE;
        }
    }
    if (optind < argc) return cli_stray_arg("init", argv, optind);
    if (o.origin && !st_key_name_valid(o.origin, strlen(o.origin))) {
        cli_err("--origin: '%s' is not a valid origin (non-empty, no spaces, no '+'; e.g. example.com/audit)", o.origin);
        return EXIT_USAGE;
    }
    const char *dir = cli_store_dir(cli);
    if (!dir) return EXIT_USAGE;
    char vkey[ST_VKEY_MAX];
    int rc = st_store_init(dir, &o, vkey);
    if (rc == ST_EEXIST) {
        cli_err("init: %s: a store already exists there (refusing to overwrite it or its key)", dir);
        return EXIT_FAIL;
    }
    if (rc) return cli_fail(rc, dir, NULL);
    fprintf(stderr, "sealtrail: created store %s\n"
                    "sealtrail: next: record events ('sealtrail hook install'), seal ('sealtrail seal'),\n"
                    "sealtrail: export ('sealtrail export --out audit.bundle') and verify with\n"
                    "sealtrail:   auditverify audit.bundle --trust '%s'\n", dir, vkey);
    printf("%s\n", vkey);
    return EXIT_OK;
}
