/*
 * cmd_query.c: `sealtrail query`: filters answered from the indexes
 * (store/query.h), results written in one of five formats (query_fmt.h),
 * optionally each with an inclusion proof against the latest checkpoint.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cli.h"
#include "query.h"
#include "query_fmt.h"
#include "snap.h"
#include "stats.h"
#include "store_int.h"

static void help(void)
{
    puts("usage: sealtrail [--dir DIR] query [filters] [--sort time|duration] [--reverse] [--limit N]\n"
         "                 [--format jsonl|json|seed|csv|table] [--with-proof] [--count] [--explain]\n"
         "\n"
         "Prints the entries that match every filter, oldest first, answered from the\n"
         "indexes (no full scan). A filter given a comma-separated list matches any value;\n"
         "a filter given twice adds values (--tool Edit --tool Write). Inside a value, \\,\n"
         "is a comma and \\\\ a backslash (--tool 'mcp__x__a\\,b' for the tool \"mcp__x__a,b\");\n"
         "a value ending in a lone backslash is refused.\n"
         "'sealtrail stats' reads its --tool and --session lists the same way.\n"
         "The results are the matching entries that exist when the query starts. No read\n"
         "snapshot is held while output is written (a reader that stalls does not make the\n"
         "store grow): a payload erased or archived meanwhile prints as absent.\n"
         "\n"
         "filters:\n"
         "  --tool NAME[,NAME...]      tool_name, case-sensitive (Bash, Edit, mcp__github__create_issue)\n"
         "  --event NAME[,NAME...]     hook event (PreToolUse, PostToolUse, PostToolUseFailure, ...)\n"
         "  --session ID[,ID...]       session id\n"
         "  --status S[,S...]          started, succeeded, failed, interrupted, denied, requested, malformed\n"
         "  --since T, --until T       RFC 3339 (2025-11-01, 2025-11-01T09:00:00Z) or relative to now\n"
         "                             (90d, 12h, 30m, 2w: s seconds, m minutes, h hours, d days,\n"
         "                             w weeks, y 365 days); since <= time < until\n"
         "  --path PATTERN             a touched path: a glob if it has * ? [ (\"*/auth/*\",\n"
         "                             \"src/*.ts\"; \\* \\? \\[ match the character itself), else a\n"
         "                             substring (\"auth\")\n"
         "  --min-duration MS          duration_ms >= MS\n"
         "  --text STRING              substring of the stored (redacted) payloads, case-sensitive; the\n"
         "                             payloads are compact JSON, searched for STRING as given and\n"
         "                             JSON-escaped, so key names match too\n"
         "\n"
         "output:\n"
         "  --sort time|duration       default time; duration lists only entries with a duration\n"
         "  --reverse                  newest (or slowest) first\n"
         "  --limit N                  at most N results (0, the default: all of them)\n"
         "  --format F                 jsonl (default: one entry per line with \"content\", as 'log'),\n"
         "                             json (one array), seed (timestamp, toolName, input, output,\n"
         "                             executionTimeMs, error, errorMessage, status; error is true and\n"
         "                             status \"error\" for failed and interrupted calls, error true and\n"
         "                             status \"denied\" for denied ones, errorMessage their error text or\n"
         "                             denial reason; succeeded is \"success\"; an entry that is no tool\n"
         "                             call, such as a prompt, a session event or an erasure record,\n"
         "                             has null toolName, input, output and status), csv (RFC 4180,\n"
         "                             header row; a cell starting with = + - @ TAB or CR is prefixed\n"
         "                             with ' so spreadsheets do not run it as a formula; the error\n"
         "                             column is the first line of the error text, at most 200 bytes:\n"
         "                             jsonl and seed have it whole; the text cells show control and\n"
         "                             bidi characters as U+FFFD; input and output hold the payloads\n"
         "                             as JSON, escaped as in jsonl), table (aligned, long cells cut,\n"
         "                             control and bidi characters shown as spaces).\n"
         "                             jsonl, json and seed write the code points a terminal acts on\n"
         "                             (C1 controls U+0080..U+009F, bidi controls U+061C, U+200E,\n"
         "                             U+200F, U+202A..U+202E, U+2066..U+2069, and U+2028, U+2029)\n"
         "                             as \\uXXXX escapes: the same values to any JSON parser, inert\n"
         "                             on a terminal\n"
         "  --with-proof               jsonl/json: add \"proof\", an inclusion proof against the latest\n"
         "                             checkpoint ('sealtrail checkpoint'); null for unsealed entries\n"
         "  --count                    print only the number of matches (at most N with --limit N,\n"
         "                             entries with a duration with --sort duration); not with\n"
         "                             --format or --with-proof, which it would ignore\n"
         "  --explain                  print the chosen index and the work done on stderr\n"
         "\n"
         "examples:\n"
         "  sealtrail query --tool Edit,Write,MultiEdit --path '*/auth/*' --since 90d\n"
         "  sealtrail query --session 4b0c... --status failed --format table\n"
         "  sealtrail query --sort duration --reverse --limit 10 --format table\n"
         "  sealtrail query --tool Bash --since 2025-11-01 --until 2025-12-01 --format csv > bash.csv\n"
         "  sealtrail query --text 'rm -rf' --with-proof > evidence.jsonl\n"
         "\n"
         "EXIT STATUS\n"
         "  0 success (also when nothing matches, or the reader goes away: query | head);\n"
         "  1 the store could not be read or the output not written; 2 usage error.");
}

typedef struct qout {
    qf_format fmt;
    int with_proof, count_only;
    unsigned width;
    uint64_t n;
    qf_proof proof;
    st_buf buf, pbuf;
    int werr;
    cli_snap *snap;
} qout;

/* st_query yield/renew: once CLI_SNAP_CHUNK bytes are formatted, they are
 * written with no snapshot held (snap.h) and the query goes on in a new one. */
static int want_write(void *ctx)
{
    const qout *o = ctx;
    return o->buf.len > CLI_SNAP_CHUNK || o->buf.oom;
}

static int write_renew(void *ctx, st_txn **txn)
{
    qout *o = ctx;
    int rrc, rc = cli_snap_write(o->snap, &o->buf, &rrc);
    if (rc) { o->werr = rc; return rc; }
    *txn = o->snap->txn;
    return rrc;
}

static int on_result(void *ctx, st_txn *txn, uint64_t index, const uint8_t *entry, size_t len)
{
    qout *o = ctx;
    int rc = 0;
    o->n++;
    if (o->count_only) return 0;
    switch (o->fmt) {
    case QF_JSON:
        st_buf_puts(&o->buf, o->n == 1 ? "[\n" : ",\n");
        /* fall through */
    case QF_JSONL:
        if (o->with_proof) {
            st_buf_reset(&o->pbuf);
            if ((rc = qf_proof_json(&o->pbuf, &o->proof, txn, index, entry, len)) != 0) return rc;
        }
        rc = qf_jsonl(&o->buf, txn, index, entry, len, o->with_proof ? &o->pbuf : NULL);
        if (rc == 0 && o->fmt == QF_JSON) o->buf.len--;   /* no LF inside the array */
        break;
    case QF_SEED: rc = qf_seed(&o->buf, txn, index, entry, len); break;
    case QF_CSV: rc = qf_csv_row(&o->buf, txn, index, entry, len); break;
    case QF_TABLE: rc = qf_table_row(&o->buf, txn, index, entry, len, o->width); break;
    }
    return rc ? rc : o->buf.oom ? ENOMEM : 0;
}

static unsigned term_width(void)
{
    struct winsize ws;
    if (ioctl(1, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40) return ws.ws_col;
    const char *c = getenv("COLUMNS");
    long v = c ? strtol(c, NULL, 10) : 0;
    return v >= 40 && v <= 1000 ? (unsigned)v : 160;
}

static int parse_time(const char *opt, const char *val, int64_t *out)
{
    return cli_parse_time("query", opt, val, out);
}

/* Tool names are case-sensitive (Claude Code's are "Bash", "Read"...): when
 * --tool matched nothing, name a logged tool that differs only in case. */
static void hint_tool_case(st_txn *txn, const st_qfield *tool)
{
    st_stats_query sq;
    memset(&sq, 0, sizeof sq);
    st_tool_stats *v;
    size_t n;
    st_err e;
    if (st_stats_run(txn, &sq, &v, &n, &e) != 0) return;
    for (size_t i = 0; i < tool->n; i++) {
        const st_tool_stats *like = NULL;
        size_t j = 0;
        for (; j < n; j++) {
            if (v[j].tool_len != tool->len[i] || memchr(v[j].tool, 0, v[j].tool_len)) continue;
            if (memcmp(v[j].tool, tool->v[i], tool->len[i]) == 0) break;        /* logged: nothing to say */
            if (!like && strncasecmp(v[j].tool, tool->v[i], tool->len[i]) == 0) like = &v[j];
        }
        if (j == n && like) {
            st_buf name = { 0 };                  /* a logged name: no terminal controls on stderr either */
            qf_text_safe(&name, like->tool, like->tool_len);
            st_buf_putc(&name, 0);
            if (!name.oom)
                cli_err("query: no tool '%.*s' in the log; names are case-sensitive: '%s'?", (int)tool->len[i],
                        tool->v[i], (const char *)name.data);
            st_buf_free(&name);
        }
    }
    st_stats_free(v, n);
}

int cmd_query(st_cli *cli, int argc, char **argv)
{
    cli_take_dir(cli, &argc, argv);
    if (cli_wants_help(argc, argv)) { help(); return EXIT_OK; }
    static const struct option opts[] = {
        { "tool", required_argument, NULL, 'T' }, { "event", required_argument, NULL, 'E' },
        { "session", required_argument, NULL, 'S' }, { "status", required_argument, NULL, 'X' },
        { "since", required_argument, NULL, 's' }, { "until", required_argument, NULL, 'u' },
        { "path", required_argument, NULL, 'p' }, { "min-duration", required_argument, NULL, 'm' },
        { "text", required_argument, NULL, 't' }, { "sort", required_argument, NULL, 'o' },
        { "reverse", no_argument, NULL, 'r' }, { "limit", required_argument, NULL, 'l' },
        { "format", required_argument, NULL, 'f' }, { "with-proof", no_argument, NULL, 'P' },
        { "count", no_argument, NULL, 'c' }, { "explain", no_argument, NULL, 'x' },
        { 0, 0, 0, 0 },
    };
    st_query q;
    qout o;
    int c, explain = 0;
    const char *fmt_given = NULL;     /* --format as typed: --count refuses it */
    memset(&q, 0, sizeof q);
    memset(&o, 0, sizeof o);
    optind = 1;
    while ((c = cli_getopt("query", argc, argv, "", opts)) != -1) {
        switch (c) {
        case 'T': if (cli_add_list("query", "--tool", &q.tool, optarg)) return EXIT_USAGE; break;
        case 'E': if (cli_add_list("query", "--event", &q.event, optarg)) return EXIT_USAGE; break;
        case 'S': if (cli_add_list("query", "--session", &q.session, optarg)) return EXIT_USAGE; break;
        case 'X': if (cli_add_list("query", "--status", &q.status, optarg)) return EXIT_USAGE; break;
        case 's': if (parse_time("--since", optarg, &q.since_us)) return EXIT_USAGE; q.has_since = 1; break;
        case 'u': if (parse_time("--until", optarg, &q.until_us)) return EXIT_USAGE; q.has_until = 1; break;
        case 'p':
            if (q.path) { cli_err("query: --path given twice (one pattern per query)"); return EXIT_USAGE; }
            q.path = optarg;
            break;
        case 'm': if (cli_parse_u64("--min-duration", optarg, &q.min_duration_ms)) return EXIT_USAGE; q.has_min_duration = 1; break;
        case 't':
            if (q.text) { cli_err("query: --text given twice (one string per query)"); return EXIT_USAGE; }
            q.text = optarg;
            q.text_len = strlen(optarg);
            break;
        case 'o':
            if (strcmp(optarg, "time") == 0) q.sort = ST_QSORT_TIME;
            else if (strcmp(optarg, "duration") == 0) q.sort = ST_QSORT_DURATION;
            else { cli_err("query: --sort: '%s' is not time or duration", optarg); return EXIT_USAGE; }
            break;
        case 'r': q.reverse = 1; break;
        case 'l': if (cli_parse_u64("--limit", optarg, &q.limit)) return EXIT_USAGE; break;
        case 'f':
            if (qf_parse_format(optarg, &o.fmt)) { cli_err("query: --format: '%s' is not jsonl, json, seed, csv or table", optarg); return EXIT_USAGE; }
            fmt_given = optarg;
            break;
        case 'P': o.with_proof = 1; break;
        case 'c': o.count_only = 1; break;
        case 'x': explain = 1; break;
        default: return EXIT_USAGE;
        }
    }
    if (optind < argc) return cli_stray_arg("query", argv, optind);
    if (cli_check_status("query", &q.status)) return EXIT_USAGE;
    if (q.path && !*q.path) { cli_err("query: --path: empty pattern"); return EXIT_USAGE; }
    if (q.text && !*q.text) { cli_err("query: --text: empty string"); return EXIT_USAGE; }
    /* --count prints one number: an option that shapes the entries printed would be ignored */
    if (o.count_only && (fmt_given || o.with_proof)) {
        char what[64];
        snprintf(what, sizeof what, "%s%s", fmt_given ? "--format " : "--with-proof", fmt_given ? fmt_given : "");
        cli_err("query: --count prints only the number of matches: %s does not apply to it (drop one of them)", what);
        return EXIT_USAGE;
    }
    if (o.with_proof && o.fmt != QF_JSONL && o.fmt != QF_JSON) {
        cli_err("query: --with-proof needs --format jsonl or json");
        return EXIT_USAGE;
    }
    if (q.has_since && q.has_until && q.until_us <= q.since_us) {
        cli_err("query: --until is not after --since");
        return EXIT_USAGE;
    }
    o.width = term_width();
    q.no_entry = o.count_only;
    signal(SIGPIPE, SIG_IGN);        /* `query | head`: EPIPE ends the query cleanly (exit 0) */

    cli_snap sn;
    int code = cli_snap_open(&sn, cli, "query");
    if (code) return code;
    int rc = 0;
    o.snap = &sn;
    if (!o.count_only) {
        q.yield = want_write;
        q.renew = write_renew;
    }
    if (o.with_proof && (rc = qf_proof_init(&o.proof, sn.txn, &sn.s->err)) != 0) {
        code = cli_fail(rc, "query: latest checkpoint", st_store_error(sn.s));
        goto out;
    }
    if (o.fmt == QF_CSV && !o.count_only) qf_csv_header(&o.buf);
    if (o.fmt == QF_TABLE && !o.count_only) qf_table_header(&o.buf, o.width);
    st_query_info info;
    st_err qerr = { { 0 } };
    rc = st_query_run(sn.txn, &q, on_result, &o, &info, &qerr);
    if (rc == 0 && o.n == 0 && q.tool.n && sn.txn) hint_tool_case(sn.txn, &q.tool);
    if (rc == 0 && o.count_only) st_buf_printf(&o.buf, "%llu\n", (unsigned long long)o.n);
    if (rc == 0 && o.fmt == QF_JSON && !o.count_only) st_buf_puts(&o.buf, o.n ? "\n]\n" : "[]\n");
    cli_snap_release(&sn);                /* the last chunk is written as the others (cli_snap_put) */
    if (rc == 0 && o.buf.oom) rc = ENOMEM;
    if (rc == 0 && o.buf.len && (rc = cli_snap_put(&sn, &o.buf)) != 0) o.werr = rc;
    if (explain)
        fprintf(stderr, "sealtrail: query: driver %s, estimate %llu rows, %llu candidates read, %llu results\n",
                info.driver ? info.driver : "none", (unsigned long long)info.estimate, (unsigned long long)info.scanned,
                (unsigned long long)info.matched);
    if (o.with_proof && o.proof.unsealed)
        cli_err("query: %llu result(s) are not sealed yet and carry \"proof\":null (run 'sealtrail seal')",
                (unsigned long long)o.proof.unsealed);
    if (o.werr == EPIPE) code = EXIT_OK;
    else if (o.werr) code = cli_fail(o.werr, "query: writing output", NULL);
    else if (rc == ST_EINVAL) { cli_err("query: %s", qerr.msg); code = EXIT_USAGE; }
    else if (rc) code = cli_fail(rc, "query", qerr.msg[0] ? qerr.msg : st_store_error(sn.s));
out:
    st_buf_free(&o.buf);
    st_buf_free(&o.pbuf);
    cli_snap_close(&sn);
    return code;
}
