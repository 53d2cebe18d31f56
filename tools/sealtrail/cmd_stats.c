/*
 * cmd_stats.c: `sealtrail stats`: per-tool calls, failures and durations
 * (store/stats.h), as an aligned table or JSON.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "query_fmt.h"
#include "render.h"
#include "stats.h"
#include "store_int.h"

static void help(void)
{
    puts("usage: sealtrail [--dir DIR] stats [--since T] [--until T] [--session ID[,ID...]] [--tool NAME[,NAME...]]\n"
         "                 [--format table|json | --json]\n"
         "\n"
         "Per tool: entries, calls (completed invocations: succeeded, failed or interrupted),\n"
         "failures (failed or interrupted) and failure rate, denials, and the durations of\n"
         "the entries that carry one: total, average, p50, p95 (nearest rank) and max, in ms.\n"
         "Most expensive tool (total duration) first.\n"
         "\n"
         "--session and --tool take lists as in 'sealtrail query': a comma-separated list\n"
         "matches any value, a filter given twice adds values (--session a --session b),\n"
         "and inside a value \\, is a comma and \\\\ a backslash.\n"
         "\n"
         "Without a window or session the figures come from running aggregates kept at\n"
         "append time (fast at any size); p50/p95 then come from a log histogram: exact\n"
         "below 64 ms, within 1.6% above (\"exact\":false in JSON). With --since/--until or\n"
         "--session they are computed exactly from the indexes. JSON names the filter:\n"
         "\"since\", \"until\", and \"session\" (one id) or \"sessions\" (an array, for several).\n"
         "Names are written as in 'sealtrail query': C1 and bidi controls as \\uXXXX in JSON,\n"
         "as spaces in the table.\n"
         "\n"
         "  --since T, --until T   RFC 3339 or relative (90d, 12h, 30m, 2w: s seconds, m minutes, h hours,\n"
         "                         d days, w weeks, y 365 days); since <= time < until\n"
         "  --session ID[,ID...]   only these sessions\n"
         "  --tool NAME[,NAME...]  only these tools, case-sensitive\n"
         "  --format table|json    default table; --json is --format json (not with\n"
         "                         --format table)\n"
         "\n"
         "examples:\n"
         "  sealtrail stats\n"
         "  sealtrail stats --since 30d --format json | jq '.tools[] | select(.failure_rate > 0.1)'\n"
         "  sealtrail stats --session 4b0c...\n"
         "\n"
         "EXIT STATUS\n"
         "  0 success; 1 the store could not be read or the output not written; 2 usage error.");
}

static void json_out(st_buf *b, const st_tool_stats *v, size_t n, const st_stats_query *q)
{
    char ts[32];
    st_buf_puts(b, "{");
    if (q->has_since) { st_time_format_rfc3339(ts, q->since_us); st_buf_printf(b, "\"since\":\"%s\",", ts); }
    if (q->has_until) { st_time_format_rfc3339(ts, q->until_us); st_buf_printf(b, "\"until\":\"%s\",", ts); }
    if (q->session.n == 1) {
        st_buf_puts(b, "\"session\":");
        st_json_write_string(b, q->session.v[0], q->session.len[0]);
        st_buf_putc(b, ',');
    } else if (q->session.n) {
        st_buf_puts(b, "\"sessions\":[");
        for (size_t i = 0; i < q->session.n; i++) {
            if (i) st_buf_putc(b, ',');
            st_json_write_string(b, q->session.v[i], q->session.len[i]);
        }
        st_buf_puts(b, "],");
    }
    st_buf_puts(b, "\"tools\":[");
    for (size_t i = 0; i < n; i++) {
        const st_tool_stats *s = &v[i];
        if (i) st_buf_putc(b, ',');
        st_buf_puts(b, "\n{\"tool\":");
        st_json_write_string(b, s->tool, s->tool_len);
        st_buf_printf(b, ",\"entries\":%llu,\"calls\":%llu,\"failures\":%llu,\"failure_rate\":%.4f,\"denied\":%llu",
                      (unsigned long long)s->entries, (unsigned long long)s->calls, (unsigned long long)s->failures,
                      s->calls ? (double)s->failures / (double)s->calls : 0.0, (unsigned long long)s->denied);
        st_buf_printf(b, ",\"with_duration\":%llu", (unsigned long long)s->dur_n);
        if (s->dur_n)
            st_buf_printf(b, ",\"total_ms\":%llu,\"avg_ms\":%.1f,\"p50_ms\":%llu,\"p95_ms\":%llu,\"max_ms\":%llu",
                          (unsigned long long)s->dur_total, (double)s->dur_total / (double)s->dur_n,
                          (unsigned long long)s->p50, (unsigned long long)s->p95, (unsigned long long)s->dur_max);
        else
            st_buf_puts(b, ",\"total_ms\":0,\"avg_ms\":null,\"p50_ms\":null,\"p95_ms\":null,\"max_ms\":null");
        st_buf_printf(b, ",\"exact\":%s}", s->exact ? "true" : "false");
    }
    st_buf_puts(b, n ? "\n]}\n" : "]}\n");
    st_render_escape_controls(b, 0);            /* tool names: as query's JSON (render.h) */
}

static void table_out(st_buf *b, const st_tool_stats *v, size_t n, const st_stats_query *q)
{
    st_buf_printf(b, "%-24s %8s %8s %8s %6s %8s %12s %9s %9s %9s %9s\n", "TOOL", "ENTRIES", "CALLS", "FAILED", "FAIL%",
                  "DENIED", "TOTAL_MS", "AVG_MS", "P50_MS", "P95_MS", "MAX_MS");
    for (size_t i = 0; i < n; i++) {
        const st_tool_stats *s = &v[i];
        qf_cell(b, s->tool, s->tool_len, 24, 1);
        st_buf_printf(b, " %8llu %8llu %8llu %6.1f %8llu", (unsigned long long)s->entries, (unsigned long long)s->calls,
                      (unsigned long long)s->failures, s->calls ? 100.0 * (double)s->failures / (double)s->calls : 0.0,
                      (unsigned long long)s->denied);
        if (s->dur_n)
            st_buf_printf(b, " %12llu %9.1f %9llu %9llu %9llu\n", (unsigned long long)s->dur_total,
                          (double)s->dur_total / (double)s->dur_n, (unsigned long long)s->p50,
                          (unsigned long long)s->p95, (unsigned long long)s->dur_max);
        else
            st_buf_printf(b, " %12s %9s %9s %9s %9s\n", "-", "-", "-", "-", "-");
    }
    /* filtered: the log may hold calls, just none in the window, session or tools asked for */
    if (n == 0) st_buf_puts(b, q->has_since || q->has_until || q->session.n || q->tool.n ? "(no tool calls match)\n"
                                                                                          : "(no tool calls recorded)\n");
}

int cmd_stats(st_cli *cli, int argc, char **argv)
{
    cli_take_dir(cli, &argc, argv);
    if (cli_wants_help(argc, argv)) { help(); return EXIT_OK; }
    static const struct option opts[] = {
        { "since", required_argument, NULL, 's' }, { "until", required_argument, NULL, 'u' },
        { "session", required_argument, NULL, 'S' }, { "tool", required_argument, NULL, 'T' },
        { "format", required_argument, NULL, 'f' }, { "json", no_argument, NULL, 'j' }, { 0, 0, 0, 0 },
    };
    st_stats_query q;
    int c, json = 0, said_json = 0, said_table = 0;
    memset(&q, 0, sizeof q);
    optind = 1;
    while ((c = cli_getopt("stats", argc, argv, "", opts)) != -1) {
        switch (c) {
        case 's':
        case 'u': {
            int64_t t;
            if (cli_parse_time("stats", c == 's' ? "--since" : "--until", optarg, &t)) return EXIT_USAGE;
            if (c == 's') { q.since_us = t; q.has_since = 1; }
            else { q.until_us = t; q.has_until = 1; }
            break;
        }
        case 'S': if (cli_add_list("stats", "--session", &q.session, optarg)) return EXIT_USAGE; break;
        case 'T': if (cli_add_list("stats", "--tool", &q.tool, optarg)) return EXIT_USAGE; break;
        case 'f':
            if (strcmp(optarg, "json") == 0) json = 1;
            else if (strcmp(optarg, "table") == 0) { json = 0; said_table = 1; }
            else { cli_err("stats: --format: '%s' is not table or json", optarg); return EXIT_USAGE; }
            break;
        case 'j':                       /* as `status --json` and `auditverify --json` */
            json = 1;
            said_json = 1;
            break;
        default: return EXIT_USAGE;
        }
    }
    if (optind < argc) return cli_stray_arg("stats", argv, optind);
    if (said_json && said_table) {   /* the one given last would silently win */
        cli_err("stats: --json and --format table exclude each other (give one)");
        return EXIT_USAGE;
    }
    if (q.has_since && q.has_until && q.until_us <= q.since_us) {      /* as query */
        cli_err("stats: --until is not after --since");
        return EXIT_USAGE;
    }
    signal(SIGPIPE, SIG_IGN);        /* `stats | head`: EPIPE ends quietly (exit 0), as in query */
    st_store *s;
    int code = cli_open_store(cli, ST_OPEN_RDONLY, &s);
    if (code) return code;
    st_txn *txn;
    int rc = st_db_read_begin(s->db, &txn, &s->err);
    if (rc) { code = cli_fail(rc, "stats", st_store_error(s)); st_store_close(s); return code; }
    st_tool_stats *v = NULL;
    size_t n = 0;
    rc = st_stats_run(txn, &q, &v, &n, &s->err);
    st_db_read_end(txn);
    if (rc) {
        code = cli_fail(rc, "stats", st_store_error(s));
    } else {
        st_buf b = { 0 };
        if (json) json_out(&b, v, n, &q);
        else table_out(&b, v, n, &q);
        if (b.oom) code = cli_fail(ENOMEM, "stats", NULL);
        else if ((rc = cli_write_all(1, b.data, b.len)) != 0 && rc != EPIPE) code = cli_fail(rc, "stats: writing output", NULL);
        st_buf_free(&b);
    }
    st_stats_free(v, n);
    st_store_close(s);
    return code;
}
