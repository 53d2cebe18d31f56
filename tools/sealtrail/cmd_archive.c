/*
 * cmd_archive.c: `sealtrail archive`: moves sealed ranges older than an age
 * into immutable, verified, zstd-compressed archive bundles and drops their
 * payloads from the hot store (store/archive.c), then compacts the store and
 * shows how much smaller it got.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "json.h"
#include "retention.h"

static void help(void)
{
    puts("usage: sealtrail [--dir DIR] archive [--older-than AGE] [--archive-dir DIR]\n"
         "                 [--max-entries N] [--once] [--no-compact] [--json]\n"
         "\n"
         "Writes the oldest sealed entries older than AGE (default: the policy's\n"
         "--archive-after) into archive bundles, each ending at a signed checkpoint:\n"
         "ARCHIVE-DIR/archive-<first index>-<end index>.stb.zst, an auditor bundle\n"
         "compressed with zstd. Each archive is verified (with the same code as\n"
         "auditverify, read back from disk, byte for byte against what was exported)\n"
         "before the payloads of its entries leave the hot store. Entries, leaf hashes,\n"
         "tree nodes and checkpoints stay, so every proof stays valid; a signed archive\n"
         "record (file name, range, SHA-256 of the file) is appended to the log.\n"
         "Finally the store is compacted and the disk use before and after printed.\n"
         "\n"
         "Copy archives to write-once storage (S3 Object Lock, ...) and keep them until\n"
         "'sealtrail prune' says they may go (docs/RETENTION.md). Run it from cron or a\n"
         "systemd timer; one run archives everything that is old enough.\n"
         "\n"
         "options:\n"
         "  --older-than AGE    archive entries at least this old (7y, 90d, 36h, ...)\n"
         "  --archive-dir DIR   where archive files go (default: STORE/archive)\n"
         "  --max-entries N     at most N entries per archive file (default: no limit)\n"
         "  --once              write at most one archive file\n"
         "  --no-compact        skip compaction ('sealtrail retention compact' later)\n"
         "  --json              one JSON object per archive, then a summary object\n"
         "\n"
         "examples:\n"
         "  sealtrail archive --older-than 90d --archive-dir /srv/sealtrail-archive\n"
         "  sealtrail export --out current.stb        # the entries after the archives\n"
         "  auditverify /srv/sealtrail-archive/archive-*.stb.zst current.stb --trust log.vkey --retention\n"
         "\n"
         "EXIT STATUS\n"
         "  0 archived, or nothing old enough; 1 failed (nothing is removed from the hot\n"
         "  store unless its archive verified); 2 usage error");
}

int cmd_archive(st_cli *cli, int argc, char **argv)
{
    cli_take_dir(cli, &argc, argv);
    if (cli_wants_help(argc, argv)) {
        help();
        return EXIT_OK;
    }
    st_archive_opts o;
    memset(&o, 0, sizeof o);
    static const struct option opts[] = {
        { "older-than", required_argument, NULL, 'a' }, { "archive-dir", required_argument, NULL, 'd' },
        { "max-entries", required_argument, NULL, 'm' }, { "once", no_argument, NULL, '1' },
        { "no-compact", no_argument, NULL, 'n' },      { "json", no_argument, NULL, 'j' },
        { 0, 0, 0, 0 },
    };
    int c, once = 0, no_compact = 0, json = 0;
    optind = 1;
    while ((c = cli_getopt("archive", argc, argv, "", opts)) != -1) {
        switch (c) {
        case 'a':
            if (st_duration_parse(optarg, &o.older_than_us) != 0) {
                cli_err("archive: --older-than: expected an age like 90d, 1y, 36h, got '%s'", optarg);
                return EXIT_USAGE;
            }
            o.has_older_than = 1;
            break;
        case 'd':
            o.dir = optarg;
            if (!*o.dir) { cli_err("%s: --archive-dir: empty directory name", "archive"); return EXIT_USAGE; }
            break;
        case 'm': if (cli_parse_u64("--max-entries", optarg, &o.max_entries)) return EXIT_USAGE; break;
        case '1': once = 1; break;
        case 'n': no_compact = 1; break;
        case 'j': json = 1; break;
        default: return EXIT_USAGE;
        }
    }
    if (optind < argc) return cli_stray_arg("archive", argv, optind);
    st_store *s;
    int code = cli_open_store(cli, 0, &s);
    if (code) return code;
    int rc = 0;
    unsigned n = 0;
    uint64_t payloads = 0;
    for (;;) {
        st_archive_result r;
        rc = st_archive_one(s, &o, &r);
        if (rc || !r.archived) break;
        n++;
        payloads += r.payloads;
        char sha[65];
        st_hex_encode(sha, r.sha256, 32);
        if (json) {      /* the file is under --archive-dir, which may hold any byte: a JSON string */
            st_buf b = { 0 };
            st_buf_printf(&b, "{\"begin\":%llu,\"bundle_bytes\":%llu,\"bytes\":%llu,\"end\":%llu,\"file\":",
                          (unsigned long long)r.begin, (unsigned long long)r.bundle_bytes, (unsigned long long)r.bytes,
                          (unsigned long long)r.end);
            st_json_write_string(&b, r.path, strlen(r.path));
            st_buf_printf(&b, ",\"payloads\":%llu,\"record\":%llu,\"sha256\":\"%s\"}\n", (unsigned long long)r.payloads,
                          (unsigned long long)r.record, sha);
            if (!b.oom) fwrite(b.data, 1, b.len, stdout);
            st_buf_free(&b);
        } else
            printf("archived entries %llu..%llu (%llu payloads) to %s: %llu bytes (bundle %llu), sha256 %s, "
                   "verified; archive record %llu\n", (unsigned long long)r.begin, (unsigned long long)r.end - 1,
                   (unsigned long long)r.payloads, r.path, (unsigned long long)r.bytes,
                   (unsigned long long)r.bundle_bytes, sha, (unsigned long long)r.record);
        fflush(stdout);
        if (once) break;
    }
    if (rc) {
        code = cli_fail(rc, "archive", st_store_error(s));
    } else if (n == 0 && !json) {
        printf("%s\n", st_store_error(s)[0] ? st_store_error(s) : "nothing to archive");
    }
    uint64_t before = 0, after = 0;
    int compacted = 0;
    if (!no_compact && (n || (rc == 0 && st_retention_compact_pending(s)))) {   /* or an earlier run's, cut short */
        int crc = st_store_compact(s, 0, &before, &after);
        if (crc) code = cli_fail(crc, "archive: compacting (the archives are done; run 'sealtrail retention compact' "
                                      "later)", st_store_error(s));
        else compacted = 1;
    }
    if (json && (rc == 0 || n))      /* a run that failed before archiving anything has no result to report */
        printf("{\"archives\":%u,\"compacted\":%s,\"disk_after\":%llu,\"disk_before\":%llu,\"payloads\":%llu}\n", n,
               compacted ? "true" : "false", (unsigned long long)after, (unsigned long long)before,
               (unsigned long long)payloads);
    else if (compacted)
        printf("hot store: data.mdb %llu -> %llu bytes (%.1f%% smaller)\n", (unsigned long long)before,
               (unsigned long long)after, before ? 100.0 * (double)(before - (after < before ? after : before)) / (double)before : 0.0);
    st_store_close(s);
    return code;
}
