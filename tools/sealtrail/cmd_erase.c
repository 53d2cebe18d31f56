/*
 * cmd_erase.c: `sealtrail erase --index N --reason TEXT [--payload NAME]...`
 * deletes payloads and their salts, appends a signed erasure record, and
 * compacts the store so the bytes leave its files (store/erase.c).
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "retention.h"

static void help(void)
{
    puts("usage: sealtrail [--dir DIR] erase --index N --reason TEXT [--payload NAME]...\n"
         "                 [--no-compact] [--json]\n"
         "\n"
         "Erases the payloads of entry N (all of them, or those named with --payload):\n"
         "their bytes and salts are deleted, the entry with its commitments stays, and a\n"
         "signed erasure record (entry N, the names, your reason) is appended and sealed.\n"
         "Every proof and 'sealtrail check' still pass; exports and auditverify report\n"
         "the payloads as erased with the reason, never as tampering. The entry's\n"
         "metadata (time, tool, session, status...) stays visible.\n"
         "\n"
         "The store is then compacted (rewritten without the erased bytes). Other\n"
         "sealtrail processes wait for it (hooks spool their events if it takes long).\n"
         "The reason is part of the signed log forever: never put the secret in it.\n"
         "\n"
         "A payload also held in an archive file stays in that (immutable) file; the\n"
         "erasure record marks it erased in every later export. Large identical content\n"
         "referenced by other entries is kept for them; the command says how many.\n"
         "\n"
         "options:\n"
         "  --index N          the entry whose payloads to erase\n"
         "  --reason TEXT      why (required): one line of UTF-8, at most 1000 bytes,\n"
         "                     no control characters\n"
         "  --payload NAME     erase only this payload (repeatable): tool_input,\n"
         "                     tool_response, prompt, error, raw, event, ...\n"
         "  --no-compact       skip compaction (run 'sealtrail retention compact' later;\n"
         "                     until then the bytes remain in free pages of data.mdb)\n"
         "  --json             print the result as JSON\n"
         "\n"
         "examples:\n"
         "  sealtrail erase --index 4121 --reason 'leaked AWS key, ticket SEC-991'\n"
         "  sealtrail erase --index 77 --payload prompt --reason 'GDPR art. 17 request #12'\n"
         "\n"
         "EXIT STATUS\n"
         "  0 erased (and compacted); 1 refused or failed (already erased, store busy:\n"
         "  the erasure is recorded but not compacted); 2 usage error, an index past the\n"
         "  end of the log or a --payload the entry does not have. Erasing an entry\n"
         "  already erased still compacts the store if an earlier run did not finish its\n"
         "  compaction (killed, or the store was busy), then exits 1.");
}

int cmd_erase(st_cli *cli, int argc, char **argv)
{
    cli_take_dir(cli, &argc, argv);
    if (cli_wants_help(argc, argv)) {
        help();
        return EXIT_OK;
    }
    st_erase_opts o;
    memset(&o, 0, sizeof o);
    const char *names[ST_ENTRY_MAX_PAYLOADS];
    static const struct option opts[] = {
        { "index", required_argument, NULL, 'i' },   { "reason", required_argument, NULL, 'r' },
        { "payload", required_argument, NULL, 'p' }, { "no-compact", no_argument, NULL, 'n' },
        { "json", no_argument, NULL, 'j' },          { 0, 0, 0, 0 },
    };
    int c, have_index = 0, json = 0;
    optind = 1;
    while ((c = cli_getopt("erase", argc, argv, "", opts)) != -1) {
        switch (c) {
        case 'i':
            if (have_index) {   /* erase takes one entry: the last --index must not silently win */
                cli_err("erase: --index given twice: erase one entry at a time");
                return EXIT_USAGE;
            }
            if (cli_parse_u64("--index", optarg, &o.index)) return EXIT_USAGE;
            have_index = 1;
            break;
        case 'r':
            if (o.reason) {     /* one reason goes into the signed record: neither may silently win */
                cli_err("erase: --reason given twice: give one reason");
                return EXIT_USAGE;
            }
            o.reason = optarg;
            break;
        case 'p':
            if (o.nnames == ST_ENTRY_MAX_PAYLOADS) { cli_err("erase: at most %u --payload", ST_ENTRY_MAX_PAYLOADS); return EXIT_USAGE; }
            names[o.nnames++] = optarg;
            break;
        case 'n': o.no_compact = 1; break;
        case 'j': json = 1; break;
        default: return EXIT_USAGE;
        }
    }
    if (optind < argc) return cli_stray_arg("erase", argv, optind);
    if (!have_index || !o.reason) {
        cli_err("erase: --index N and --reason TEXT are required (see 'sealtrail erase --help')");
        return EXIT_USAGE;
    }
    o.names = o.nnames ? names : NULL;
    st_store *s;
    int code = cli_open_store(cli, 0, &s);
    if (code) return code;
    st_erase_result r;
    int rc = st_erase(s, &o, &r);
    if (rc && r.record == 0) {
        code = cli_fail(rc, "erase", st_store_error(s));
        st_store_close(s);
        return code;
    }
    if (json) {
        printf("{\"compacted\":%s,\"disk_after\":%llu,\"disk_before\":%llu,\"in_archive\":", r.compacted ? "true" : "false",
               (unsigned long long)r.bytes_after, (unsigned long long)r.bytes_before);
        if (r.in_archive) printf("\"%s\"", r.archive_file);
        else printf("null");
        printf(",\"index\":%llu,\"payloads\":[", (unsigned long long)o.index);
        for (size_t i = 0; i < r.nnames; i++) printf("%s\"%s\"", i ? "," : "", r.names[i]);
        printf("],\"record\":%llu,\"shared_references\":%llu}\n", (unsigned long long)r.record,
               (unsigned long long)r.shared);
    } else {
        printf("erased entry %llu:", (unsigned long long)o.index);
        for (size_t i = 0; i < r.nnames; i++) printf(" %s", r.names[i]);
        printf(" (erasure record %llu, sealed)\n", (unsigned long long)r.record);
        if (r.compacted)
            printf("store compacted: data.mdb %llu -> %llu bytes; the erased bytes are gone from the store's files\n",
                   (unsigned long long)r.bytes_before, (unsigned long long)r.bytes_after);
        if (r.shared)
            printf("note: %llu other payload reference(s) hold identical large content and keep it; erase those "
                   "entries too if it must go\n", (unsigned long long)r.shared);
        if (r.in_archive)
            printf("note: the payload is also in archive %s (immutable); exports and auditverify now report it as "
                   "erased, but that file still holds the bytes\n", r.archive_file);
    }
    if (rc) code = cli_fail(rc, "erase", st_store_error(s));
    st_store_close(s);
    return code;
}
