/*
 * cmd_import.c: `sealtrail import FILE|-` (store/import.h): bulk append of
 * a JSONL audit log, malformed lines reported by number, a progress line
 * on stderr when stderr is a terminal.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "event.h"
#include "redact.h"
#include "import.h"
#include "store_int.h"

#define MAX_BAD_SHOWN 20u

/* SIGINT/SIGTERM: the import stops at the next batch boundary; the handler
 * is reset by the first signal, so a second one ends the process at once
 * (an import blocked reading a terminal, say). */
static volatile sig_atomic_t stop_sig;

static void on_stop_signal(int sig)
{
    static const char msg[] = "\nsealtrail: import: stopping after the batch being written (again to kill)\n";
    stop_sig = sig;
    ssize_t w = write(2, msg, sizeof msg - 1);
    (void)w;
}

/* s as one shell word, for the resume hint: as is when it is plain, else in
 * single quotes (each ' written '\''); "" when it does not fit. */
static const char *shell_word(char *out, size_t cap, const char *s)
{
    if (s[0] && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/._+-:@%,=") == strlen(s))
        return s;
    size_t n = 0;
    out[n++] = '\'';
    for (; *s; s++) {
        if (n + 5 >= cap) return "";
        if (*s == '\'') { memcpy(out + n, "'\\''", 4); n += 4; }
        else out[n++] = *s;
    }
    out[n++] = '\'';
    out[n] = 0;
    return out;
}

static void catch_stop_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sa.sa_flags = SA_RESTART | SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static void help(void)
{
    puts("usage: sealtrail [--dir DIR] import [--strict | --skip-bad] [--batch N] FILE|-\n"
         "\n"
         "Appends a JSONL audit log to the store, one entry per line, through the same\n"
         "redaction as the hook. Two line shapes are understood:\n"
         "  - Claude Code hook events (hook_event_name, tool_name, session_id, ...), as a\n"
         "    logging hook that saved its stdin wrote them; a \"timestamp\" member, if any,\n"
         "    becomes the entry time;\n"
         "  - common audit-log lines: {\"timestamp\", \"toolName\" (or \"tool\"), \"input\",\n"
         "    \"output\", \"executionTimeMs\", \"error\", \"errorMessage\", \"status\" (or\n"
         "    \"success\"), \"sessionId\"?}; a line needs a timestamp.\n"
         "A timestamp is RFC 3339 / ISO 8601 (\"2025-01-15T10:30:00.123Z\", offsets \"+02:00\"\n"
         "or \"+0200\", none: UTC) or epoch seconds, ms, us or ns (by magnitude) as a number\n"
         "or a string of digits, after 1970-01-01T00:00:00Z (0 is no time) and up to 2255;\n"
         "without \"timestamp\", \"ts\", \"@timestamp\" or \"time\" is used.\n"
         "Entries get kind \"import\", the original time as time_us and the import time as\n"
         "recorded_us; members without an envelope field are kept in payload \"event\".\n"
         "A UTF-8 byte order mark before the first line is skipped. Lines end with LF\n"
         "or CRLF (mixed is fine); a carriage return alone does not end a line (a file\n"
         "with classic-Mac CR endings is one malformed line, and the error says so).\n"
         "While another process holds the store's writer lock, import says so once on\n"
         "stderr after a second, and goes on when it is released.\n"
         "\n"
         "The store is append-only: a file imported twice is stored twice. An import that\n"
         "is interrupted keeps the batches it committed (whole batches, in line order) and\n"
         "the store checks; import the rest of the file to finish (with no blank or\n"
         "malformed lines, the entries it added are its first lines). Ctrl-C (SIGINT) or\n"
         "SIGTERM stops it cleanly at the end of the batch being written: it says which\n"
         "lines are in the store and how to import the rest, then ends by that signal.\n"
         "\n"
         "  --skip-bad   report malformed lines (with their line number) and skip them (default)\n"
         "  --strict     if any line is malformed, import nothing (a pipe is held in memory\n"
         "               for the check, up to 1 GiB)\n"
         "  --batch N    entries per durable transaction (default 4000); a transaction also\n"
         "               ends once its lines reach 16 MiB. The import holds about three\n"
         "               transactions, and up to some 80 MiB of path index rows while it\n"
         "               merges them: some 270 MiB at 4000 lines of 1 KiB, 400 MiB for\n"
         "               lines of 100 KiB\n"
         "\n"
         "Prints \"imported N entries: I..J\" on stdout (I the first entry, J the last; if\n"
         "other processes appended meanwhile, their entries lie between, and it says so).\n"
         "The pages of a FILE are dropped from the page cache as the import reads them (a\n"
         "large import does not evict the rest of the cache).\n"
         "\n"
         "examples:\n"
         "  sealtrail import ~/.claude/audit.jsonl\n"
         "  zcat old-audit.jsonl.gz | sealtrail import --strict -\n"
         "\n"
         "EXIT STATUS\n"
         "  0 imported (malformed lines skipped are reported on stderr); 1 the store refused\n"
         "  a write (entries of earlier batches stay); 2 usage error, unreadable input,\n"
         "  --strict and a malformed line or too large a pipe, or malformed lines and not\n"
         "  one good line (nothing written); interrupted: ends by the signal (130 for SIGINT).");
}

typedef struct ui {
    int tty;
    uint64_t bad_shown;
    struct timespec t0;
} ui;

static double elapsed(const ui *u)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - u->t0.tv_sec) + (double)(t.tv_nsec - u->t0.tv_nsec) / 1e9;
}

static void on_bad(void *ctx, uint64_t line, const char *why)
{
    ui *u = ctx;
    if (u->bad_shown++ < MAX_BAD_SHOWN) {
        if (u->tty) fputs("\r\033[K", stderr);
        cli_err("import: line %llu: %s (skipped)", (unsigned long long)line, why);
    }
}

static void on_progress(void *ctx, uint64_t lines, uint64_t imported, uint64_t bytes)
{
    ui *u = ctx;
    if (!u->tty) return;
    double t = elapsed(u);
    fprintf(stderr, "\r\033[Ksealtrail: import: %llu lines, %llu entries, %.1f MiB, %.0f entries/s",
            (unsigned long long)lines, (unsigned long long)imported, (double)bytes / 1048576.0,
            t > 0 ? (double)imported / t : 0.0);
}

/* Other processes appended between the import's transactions. */
static const char *interleaved(const st_import_result *r)
{
    return r->last_index - r->first_index + 1 != r->imported ? ", with other writers' entries among them" : "";
}

int cmd_import(st_cli *cli, int argc, char **argv)
{
    cli_take_dir(cli, &argc, argv);
    if (cli_wants_help(argc, argv)) { help(); return EXIT_OK; }
    static const struct option opts[] = {
        { "strict", no_argument, NULL, 's' }, { "skip-bad", no_argument, NULL, 'k' },
        { "batch", required_argument, NULL, 'b' }, { 0, 0, 0, 0 },
    };
    st_import_opts o;
    ui u;
    int c, said_strict = 0, said_skip = 0;
    uint64_t batch = ST_IMPORT_BATCH_DEFAULT;
    memset(&o, 0, sizeof o);
    memset(&u, 0, sizeof u);
    optind = 1;
    while ((c = cli_getopt("import", argc, argv, "", opts)) != -1) {
        switch (c) {
        case 's': o.strict = 1; said_strict = 1; break;
        case 'k': o.strict = 0; said_skip = 1; break;
        case 'b':
            if (cli_parse_u64("--batch", optarg, &batch)) return EXIT_USAGE;
            if (batch < 1 || batch > 100000) { cli_err("import: --batch: %llu is not in 1..100000", (unsigned long long)batch); return EXIT_USAGE; }
            break;
        default: return EXIT_USAGE;
        }
    }
    if (said_strict && said_skip) {   /* which one the user meant is a guess: all or nothing, or skip */
        cli_err("import: --strict and --skip-bad exclude each other (give one)");
        return EXIT_USAGE;
    }
    if (argc - optind != 1) { cli_err("import: expected one FILE or - (see 'sealtrail import --help')"); return EXIT_USAGE; }
    const char *path = argv[optind];
    if (!*path) { cli_err("import: empty file name (give FILE, or - for standard input)"); return EXIT_USAGE; }
    int from_stdin = strcmp(path, "-") == 0;
    const char *name = from_stdin ? "standard input" : path;   /* in messages */
    int fd = from_stdin ? 0 : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) { cli_err("import: %s: %s", path, strerror(errno)); return EXIT_USAGE; }
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {   /* read() would fail only after the store is opened */
        cli_err("import: %s: is a directory, not a JSONL file", path);
        if (fd) close(fd);
        return EXIT_USAGE;
    }
    o.batch = (size_t)batch;
    o.on_bad = on_bad;
    o.on_progress = on_progress;
    o.ctx = &u;
    o.stop = &stop_sig;
    u.tty = isatty(2);
    clock_gettime(CLOCK_MONOTONIC, &u.t0);

    st_store *s;
    int code = cli_open_store(cli, 0, &s);
    if (code) { if (fd) close(fd); return code; }
    st_import_result res;
    st_err err;
    err.msg[0] = 0;
    /* The store's custom redaction rules (DIR/redact.conf) apply here as in the hook. */
    st_redactor *red = NULL;
    int rc = st_event_redactor_for_dir(cli_store_dir(cli), &red, &err);
    if (rc) {
        cli_err("import: %s", err.msg);
        st_store_close(s);
        if (fd) close(fd);
        return EXIT_FAIL;
    }
    o.redactor = red;
    /* Every batch frees a few MiB that the next batch needs again: without
     * these, glibc returns them to the kernel and the next batch faults them
     * back in (a tenth of import's CPU). */
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    catch_stop_signals();
    rc = st_import_fd(s, fd, &o, &res, &err);
    st_redactor_free(red);
    if (fd) close(fd);
    if (u.tty) fputs("\r\033[K", stderr);
    if (u.bad_shown > MAX_BAD_SHOWN)
        cli_err("import: %llu more malformed lines not shown", (unsigned long long)(u.bad_shown - MAX_BAD_SHOWN));
    if ((rc == ST_EJSON || (rc == ST_ETOOBIG && !res.imported)) && o.strict) {
        cli_err("import: %s: %s", path, err.msg);
        code = EXIT_USAGE;
    } else if (rc) {
        char ctx[64 + 4096];
        snprintf(ctx, sizeof ctx, "import: %s", name);
        code = cli_fail(rc, ctx, err.msg);
        if (code == EXIT_USAGE) code = EXIT_FAIL;
        if (res.imported)
            cli_err("import: %llu entries (%llu..%llu%s) were imported before the failure",
                    (unsigned long long)res.imported, (unsigned long long)res.first_index,
                    (unsigned long long)res.last_index, interleaved(&res));
    }
    if (rc == 0) {
        if (res.imported)
            printf("imported %llu entries: %llu..%llu%s\n", (unsigned long long)res.imported,
                   (unsigned long long)res.first_index, (unsigned long long)res.last_index, interleaved(&res));
        else if (!res.bad || res.interrupted)     /* not when every line was malformed: that exits 2, below */
            printf("imported 0 entries\n");
        double t = elapsed(&u);
        cli_err("import: %llu lines: %llu audit-log, %llu hook-event, %llu blank, %llu malformed skipped; "
                "%llu secrets redacted; %.2f s",
                (unsigned long long)res.lines, (unsigned long long)res.seed, (unsigned long long)res.hook,
                (unsigned long long)res.blank, (unsigned long long)res.bad, (unsigned long long)res.redactions, t);
        if (!res.imported && res.bad && !res.interrupted) {
            cli_err("import: %s: none of its lines could be imported (%llu malformed; see above)", name,
                    (unsigned long long)res.bad);
            code = EXIT_USAGE;
        }
    }
    st_store_close(s);
    if (rc == 0 && res.interrupted) {
        if (!res.imported)
            cli_err("import: interrupted: nothing imported");
        else if (from_stdin)
            cli_err("import: interrupted: lines 1..%llu of %s are in the store; the rest was not read",
                    (unsigned long long)res.lines, name);
        else {
            char q[4 * PATH_MAX + 8];
            cli_err("import: interrupted: lines 1..%llu of %s are in the store; to import the rest:\n"
                    "  tail -n +%llu %s | sealtrail import -", (unsigned long long)res.lines, name,
                    (unsigned long long)res.lines + 1, shell_word(q, sizeof q, path));
        }
        fflush(stdout);
        signal((int)stop_sig, SIG_DFL);        /* end by the signal, as the shell expects of an interrupted command */
        raise((int)stop_sig);
        code = EXIT_FAIL;
    }
    return code;
}
