/*
 * cmd_retention.c: `sealtrail retention set|show|compact`: the signed
 * retention policy (a log entry), what retention has done so far, and
 * compaction on demand (store/retention.h, docs/RETENTION.md).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "json.h"
#include "retention.h"

static void help(void)
{
    puts("usage: sealtrail [--dir DIR] retention set --min AGE [--max AGE|none]\n"
         "                                        [--archive-after AGE|none] [--reason TEXT]\n"
         "       sealtrail [--dir DIR] retention show [--json]\n"
         "       sealtrail [--dir DIR] retention compact\n"
         "\n"
         "set      appends a signed retention-policy record to the log (and seals it):\n"
         "           --min AGE            minimum retention: nothing (payload or archive) may be\n"
         "                                removed before an entry is this old; erasure with a\n"
         "                                signed record is the only exception\n"
         "           --max AGE            maximum retention for payloads: 'sealtrail prune'\n"
         "                                deletes them (and their archives) after this\n"
         "           --archive-after AGE  'sealtrail archive' moves entries this old out of the\n"
         "                                hot store\n"
         "           --reason TEXT        why, kept in the signed record (one line of UTF-8, at\n"
         "                                most 1000 bytes)\n"
         "         Options not given keep the value in force. The minimum can be raised at\n"
         "         any time, but not lowered while an entry is still protected by it: such a\n"
         "         change is refused. AGE: 7y, 90d, 12w, 36h, 30m, 45s (y = 365 days).\n"
         "show     prints the policy in force, the archived and pruned ranges, the archive\n"
         "         files, erasures, and the hot store's size on disk\n"
         "compact  rewrites data.mdb without free pages (erase, archive and prune do this\n"
         "         themselves; use it when one of them reported the store busy), and packs\n"
         "         entries an older release stored unpacked (docs/FORMAT.md section 5)\n"
         "\n"
         "examples:\n"
         "  sealtrail retention set --min 7y --max 8y --archive-after 90d --reason 'SOX 802'\n"
         "  sealtrail retention show --json | jq .policy\n"
         "\n"
         "EXIT STATUS\n"
         "  0 success; 1 refused by the policy or failed; 2 usage error (a --max shorter\n"
         "  than --min included)");
}

static int parse_age(const char *opt, const char *v, int *has, int64_t *out)
{
    if (has && strcmp(v, "none") == 0) {
        *has = 0;
        return 0;
    }
    if (st_duration_parse(v, out) != 0) {
        cli_err("retention: %s: expected an age like 7y, 90d, 36h%s, got '%s'", opt, has ? " or none" : "", v);
        return -1;
    }
    if (has) *has = 1;
    return 0;
}

static int do_set(st_cli *cli, int argc, char **argv)
{
    st_policy_in p;
    memset(&p, 0, sizeof p);
    int have_min = 0, set_max = 0, set_arch = 0, has_max = 0, has_arch = 0;
    int64_t max = 0, arch = 0;
    static const struct option opts[] = {
        { "min", required_argument, NULL, 'n' },           { "max", required_argument, NULL, 'x' },
        { "archive-after", required_argument, NULL, 'a' }, { "reason", required_argument, NULL, 'r' },
        { 0, 0, 0, 0 },
    };
    int oc;
    optind = 1;                       /* argv[0] is "set" */
    while ((oc = cli_getopt("retention set", argc, argv, "", opts)) != -1) {
        switch (oc) {
        case 'n': if (parse_age("--min", optarg, NULL, &p.min_us)) return EXIT_USAGE; have_min = 1; break;
        case 'x': if (parse_age("--max", optarg, &has_max, &max)) return EXIT_USAGE; set_max = 1; break;
        case 'a': if (parse_age("--archive-after", optarg, &has_arch, &arch)) return EXIT_USAGE; set_arch = 1; break;
        case 'r': p.reason = optarg; break;
        default: return EXIT_USAGE;
        }
    }
    if (optind < argc) return cli_stray_arg("retention set", argv, optind);
    st_store *s;
    int code = cli_open_store(cli, 0, &s);
    if (code) return code;
    st_rrec *cur = malloc(sizeof *cur);
    int rc = cur ? st_retention_policy(s, cur) : ENOMEM;
    if (rc == 0 && !have_min && cur->kind != ST_RREC_POLICY) {
        cli_err("retention set: --min AGE is required for the first policy");
        free(cur);
        st_store_close(s);
        return EXIT_USAGE;
    }
    if (rc == 0) {
        int inherit = cur->kind == ST_RREC_POLICY;
        if (!have_min) p.min_us = cur->min_us;
        p.has_max = set_max ? has_max : inherit && cur->has_max;
        p.max_us = set_max ? max : cur->max_us;
        p.has_archive_after = set_arch ? has_arch : inherit && cur->has_archive_after;
        p.archive_after_us = set_arch ? arch : cur->archive_after_us;
        uint64_t idx = 0;
        rc = st_retention_set(s, &p, &idx);
        if (rc == 0) {
            char a[32], b[32], c[32];
            st_rrec_format_duration(a, p.min_us);
            st_rrec_format_duration(b, p.max_us);
            st_rrec_format_duration(c, p.archive_after_us);
            printf("retention policy record %llu: minimum %s, maximum %s, archive after %s\n", (unsigned long long)idx,
                   a, p.has_max ? b : "none", p.has_archive_after ? c : "never");
        }
    }
    free(cur);
    if (rc) code = cli_fail(rc, "retention set", st_store_error(s));
    st_store_close(s);
    return code;
}

typedef struct list_ctx {
    int json;
    size_t n;
} list_ctx;

static int print_archive(void *ctx, const st_rrec *a)
{
    list_ctx *l = ctx;
    char sha[65];
    st_hex_encode(sha, a->sha256, 32);
    if (l->json) {      /* the name comes from the store's record: written as a JSON string, whatever it holds */
        st_buf b = { 0 };
        st_buf_printf(&b, "%s{\"begin\":%llu,\"bytes\":%llu,\"end\":%llu,\"file\":", l->n ? "," : "",
                      (unsigned long long)a->begin, (unsigned long long)a->bytes, (unsigned long long)a->end);
        st_json_write_string(&b, a->file, strlen(a->file));
        st_buf_printf(&b, ",\"record\":%llu,\"sha256\":\"%s\"}", (unsigned long long)a->index, sha);
        if (b.oom) { st_buf_free(&b); return ENOMEM; }
        fwrite(b.data, 1, b.len, stdout);
        st_buf_free(&b);
    } else
        printf("  %s  entries %llu..%llu  %llu bytes  record %llu  sha256 %.16s…\n", a->file,
               (unsigned long long)a->begin, (unsigned long long)a->end - 1, (unsigned long long)a->bytes,
               (unsigned long long)a->index, sha);
    l->n++;
    return 0;
}

static int do_show(st_cli *cli, int json)
{
    st_store *s;
    int code = cli_open_store(cli, ST_OPEN_RDONLY, &s);
    if (code) return code;
    st_rrec *p = malloc(sizeof *p);
    st_retention_state st;
    int rc = p ? st_retention_policy(s, p) : ENOMEM;
    if (rc == 0) rc = st_retention_state_get(s, &st);
    if (rc) {
        code = cli_fail(rc, "retention show", st_store_error(s));
        free(p);
        st_store_close(s);
        return code;
    }
    char mn[32], mx[32], ar[32], when[32] = "";
    st_rrec_format_duration(mn, p->min_us);
    st_rrec_format_duration(mx, p->max_us);
    st_rrec_format_duration(ar, p->archive_after_us);
    int has = p->kind == ST_RREC_POLICY;
    if (has) st_time_format_rfc3339(when, p->time_us);
    list_ctx l = { json, 0 };
    if (json) {
        st_buf b = { 0 };
        st_buf_puts(&b, "{\"policy\":");
        if (!has) st_buf_puts(&b, "null");
        else {
            st_buf_printf(&b, "{\"index\":%llu,\"time\":\"%s\",\"min_retention_us\":%lld,\"min_retention\":\"%s\"",
                          (unsigned long long)p->index, when, (long long)p->min_us, mn);
            if (p->has_max) st_buf_printf(&b, ",\"max_retention_us\":%lld,\"max_retention\":\"%s\"", (long long)p->max_us, mx);
            if (p->has_archive_after)
                st_buf_printf(&b, ",\"archive_after_us\":%lld,\"archive_after\":\"%s\"", (long long)p->archive_after_us, ar);
            if (p->reason[0]) {
                st_buf_puts(&b, ",\"reason\":");
                st_json_write_string(&b, p->reason, strlen(p->reason));
            }
            st_buf_putc(&b, '}');
        }
        st_buf_printf(&b, ",\"size\":%llu,\"sealed_size\":%llu,\"archived_end\":%llu,\"pruned_end\":%llu,"
                      "\"archive_records\":%llu,\"prune_records\":%llu,\"erasures\":%llu,\"hot_payloads\":%llu,"
                      "\"removed_payloads\":%llu,\"disk_bytes\":%llu,\"used_bytes\":%llu,\"interrupted\":%s,\"compact_pending\":%s,\"archives\":[",
                      (unsigned long long)st.size, (unsigned long long)st.sealed_size,
                      (unsigned long long)st.archived_end, (unsigned long long)st.pruned_end,
                      (unsigned long long)st.archives, (unsigned long long)st.prunes, (unsigned long long)st.erasures,
                      (unsigned long long)st.payload_rows, (unsigned long long)st.removed_rows,
                      (unsigned long long)st.file_bytes, (unsigned long long)st.used_bytes,
                      st.journal_pending ? "true" : "false", st.compact_pending ? "true" : "false");
        fwrite(b.data, 1, b.len, stdout);
        st_buf_free(&b);
        fflush(stdout);
        rc = st_retention_archives(s, print_archive, &l);
        printf("]}\n");
    } else {
        if (has)
            printf("policy:        record %llu (%s): minimum %s, maximum %s, archive after %s%s%s\n",
                   (unsigned long long)p->index, when, mn, p->has_max ? mx : "none",
                   p->has_archive_after ? ar : "never", p->reason[0] ? "; reason: " : "", p->reason);
        else
            printf("policy:        none (set one with 'sealtrail retention set --min AGE')\n");
        printf("entries:       %llu (%llu sealed)\n", (unsigned long long)st.size, (unsigned long long)st.sealed_size);
        if (st.archived_end)       /* ranges end before *_end: none at all when it is 0 (no "0..-1") */
            printf("archived:      entries 0..%llu in %llu archive(s)\n", (unsigned long long)st.archived_end - 1,
                   (unsigned long long)st.archives);
        else
            printf("archived:      none\n");
        if (st.pruned_end)
            printf("pruned:        entries 0..%llu (%llu prune record(s))\n", (unsigned long long)st.pruned_end - 1,
                   (unsigned long long)st.prunes);
        else
            printf("pruned:        none\n");
        printf("erasures:      %llu\n"
               "payloads:      %llu in the hot store, %llu removed with a signed record\n"
               "disk:          data.mdb %llu bytes (%llu in use)\n",
               (unsigned long long)st.erasures, (unsigned long long)st.payload_rows,
               (unsigned long long)st.removed_rows, (unsigned long long)st.file_bytes,
               (unsigned long long)st.used_bytes);
        if (st.journal_pending) printf("interrupted:   a retention command was cut short; the next one finishes it\n");
        if (st.compact_pending)
            printf("compaction:    pending: removed payloads are still in free pages of data.mdb (run 'sealtrail "
                   "retention compact'; the next erase, archive or prune does it too)\n");
        if (st.archives) printf("archives:\n");
        fflush(stdout);
        rc = st_retention_archives(s, print_archive, &l);
    }
    if (rc) code = cli_fail(rc, "retention show", st_store_error(s));
    free(p);
    st_store_close(s);
    return code;
}

static int do_compact(st_cli *cli)
{
    st_store *s;
    int code = cli_open_store(cli, 0, &s);
    if (code) return code;
    uint64_t before = 0, after = 0;
    int rc = st_store_compact(s, 0, &before, &after);
    if (rc) code = cli_fail(rc, "retention compact", st_store_error(s));
    else printf("compacted: data.mdb %llu -> %llu bytes\n", (unsigned long long)before, (unsigned long long)after);
    st_store_close(s);
    return code;
}

int cmd_retention(st_cli *cli, int argc, char **argv)
{
    cli_take_dir(cli, &argc, argv);
    if (argc < 2) {     /* a usage error: on stderr, as every other one */
        cli_err("retention: a subcommand is needed: set, show, compact (see 'sealtrail retention --help')");
        return EXIT_USAGE;
    }
    if (cli_wants_help(argc, argv)) {
        help();
        return EXIT_OK;
    }
    /* each subcommand parses its own options: argv[0] is its name */
    if (strcmp(argv[1], "set") == 0) return do_set(cli, argc - 1, argv + 1);
    if (strcmp(argv[1], "show") == 0) {
        static const struct option opts[] = { { "json", no_argument, NULL, 'j' }, { 0, 0, 0, 0 } };
        int c, json = 0;
        optind = 1;
        while ((c = cli_getopt("retention show", argc - 1, argv + 1, "", opts)) != -1) {
            if (c == 'j') json = 1;
            else return EXIT_USAGE;
        }
        if (optind < argc - 1) return cli_stray_arg("retention show", argv + 1, optind);
        return do_show(cli, json);
    }
    if (strcmp(argv[1], "compact") == 0) {
        if (cli_no_args("retention compact", argc - 1, argv + 1)) return EXIT_USAGE;
        return do_compact(cli);
    }
    cli_err("retention: unknown subcommand '%s' (set, show, compact; see 'sealtrail retention --help')", argv[1]);
    return EXIT_USAGE;
}
