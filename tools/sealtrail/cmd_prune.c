/*
 * cmd_prune.c: `sealtrail prune`: deletes payloads and archive files past
 * the retention period with a signed prune record (store/prune.c); refuses
 * anything younger than the minimum retention.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "retention.h"

static void help(void)
{
    puts("usage: sealtrail [--dir DIR] prune [--older-than AGE] [--archive-dir DIR]\n"
         "                 [--no-compact] [--json]\n"
         "\n"
         "Deletes the payloads of the oldest entries past AGE (default: the policy's\n"
         "maximum retention): those still in the hot store, and the archive files that\n"
         "hold them (whole files only: an archive is immutable). A signed prune record\n"
         "(range, the policy in force, the cutoff, the newest entry time, the archive\n"
         "files) is appended first. Entries, leaf hashes, tree and checkpoints stay, so\n"
         "every proof stays valid and exports report the payloads as pruned.\n"
         "\n"
         "The minimum retention is absolute: an AGE shorter than it is refused, and so\n"
         "is any range holding an entry younger than it. Archive files kept elsewhere\n"
         "(S3, tape) are listed in the record: delete them there too (or let a\n"
         "lifecycle rule do it).\n"
         "\n"
         "options:\n"
         "  --older-than AGE    prune entries at least this old (>= the minimum retention)\n"
         "  --archive-dir DIR   where the archive files are (default: STORE/archive)\n"
         "  --no-compact        skip compaction ('sealtrail retention compact' later)\n"
         "  --json              print the result as JSON\n"
         "\n"
         "examples:\n"
         "  sealtrail prune                      # past the policy's maximum retention\n"
         "  sealtrail prune --older-than 10y --archive-dir /srv/sealtrail-archive\n"
         "\n"
         "EXIT STATUS\n"
         "  0 pruned, or nothing old enough; 1 refused by the policy or failed; 2 usage");
}

int cmd_prune(st_cli *cli, int argc, char **argv)
{
    cli_take_dir(cli, &argc, argv);
    if (cli_wants_help(argc, argv)) {
        help();
        return EXIT_OK;
    }
    st_prune_opts o;
    memset(&o, 0, sizeof o);
    static const struct option opts[] = {
        { "older-than", required_argument, NULL, 'a' }, { "archive-dir", required_argument, NULL, 'd' },
        { "no-compact", no_argument, NULL, 'n' },      { "json", no_argument, NULL, 'j' },
        { 0, 0, 0, 0 },
    };
    int c, no_compact = 0, json = 0;
    optind = 1;
    while ((c = cli_getopt("prune", argc, argv, "", opts)) != -1) {
        switch (c) {
        case 'a':
            if (st_duration_parse(optarg, &o.older_than_us) != 0) {
                cli_err("prune: --older-than: expected an age like 8y, 400d, got '%s'", optarg);
                return EXIT_USAGE;
            }
            o.has_older_than = 1;
            break;
        case 'd':
            o.dir = optarg;
            if (!*o.dir) { cli_err("%s: --archive-dir: empty directory name", "prune"); return EXIT_USAGE; }
            break;
        case 'n': no_compact = 1; break;
        case 'j': json = 1; break;
        default: return EXIT_USAGE;
        }
    }
    if (optind < argc) return cli_stray_arg("prune", argv, optind);
    st_store *s;
    int code = cli_open_store(cli, 0, &s);
    if (code) return code;
    st_prune_result r;
    int rc = st_prune(s, &o, &r);
    if (rc) {
        code = cli_fail(rc, "prune", st_store_error(s));
        st_store_close(s);
        return code;
    }
    uint64_t before = 0, after = 0;
    int compacted = 0;
    if (!no_compact && (r.pruned || st_retention_compact_pending(s))) {   /* or an earlier run's, cut short */
        int crc = st_store_compact(s, 0, &before, &after);
        if (crc) code = cli_fail(crc, "prune: compacting (the prune is done; run 'sealtrail retention compact' later)",
                                 st_store_error(s));
        else compacted = 1;
    }
    if (json) {
        printf("{\"archives\":[");
        for (size_t i = 0; i < r.narchives && i < ST_RREC_ARCHIVES_MAX; i++) printf("%s\"%s\"", i ? "," : "", r.archives[i]);
        printf("],\"begin\":%llu,\"compacted\":%s,\"deleted_files\":%zu,\"disk_after\":%llu,\"disk_before\":%llu,"
               "\"end\":%llu,\"payloads\":%llu,\"pruned\":%s,\"record\":%llu}\n", (unsigned long long)r.begin,
               compacted ? "true" : "false", r.deleted, (unsigned long long)after, (unsigned long long)before,
               (unsigned long long)r.end, (unsigned long long)r.payloads, r.pruned ? "true" : "false",
               (unsigned long long)r.record);
    } else if (!r.pruned) {
        printf("%s\n", st_store_error(s)[0] ? st_store_error(s) : "nothing to prune");
    } else {
        printf("pruned entries %llu..%llu: %llu payloads, %zu archive file(s) (%zu deleted here); prune record %llu\n",
               (unsigned long long)r.begin, (unsigned long long)r.end - 1, (unsigned long long)r.payloads, r.narchives,
               r.deleted, (unsigned long long)r.record);
        for (size_t i = 0; i < r.narchives && i < ST_RREC_ARCHIVES_MAX; i++) printf("  %s\n", r.archives[i]);
        if (r.deleted < r.narchives) printf("delete the other archive files from where you keep copies\n");
        if (compacted) printf("hot store: data.mdb %llu -> %llu bytes\n", (unsigned long long)before, (unsigned long long)after);
    }
    st_store_close(s);
    return code;
}
