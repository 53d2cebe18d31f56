/*
 * redact_bench.c: redaction cost, per process and per byte (DESIGN.md
 * section 9: setup <= 0.1 ms per process, scanning >= 200 MB/s).
 *
 * Prints, for realistic payloads of about 1 MiB each:
 *   - setup: creating the built-in rule set and redacting a first small event
 *     (what a hook process pays before its real work), and loading a config
 *     of custom rules (paid only when one exists);
 *   - MB/s of st_redact_text on the payload string, of st_redact_json on the
 *     parsed event (tree walk, keys and values; parse time excluded), and of
 *     st_redact_bytes on the raw event text;
 *   - the same with custom rules loaded.
 * Payloads: an Edit tool_response carrying source code (this repository's
 * own C files, repeated to 1 MiB), a log dump, base64 image data (Read), and
 * a secret-dense text (a secret every ~200 bytes).
 *
 * Also: realistic ~1 KiB events (Read results with C source, Bash results
 * with log lines, Grep output, the sample payloads), microseconds per event.
 *
 * Usage: redact_bench [SOURCE_DIR] [--iters N] [--events]
 *        (--events: only the realistic events, e.g. under callgrind)
 *        redact_bench --dump FILE...
 *        redact_bench --dump-files FILE...
 *
 * --dump writes, for the generated near-miss inputs
 * (tests/unit/redact_vectors/nearmiss.h) and for each FILE whole and line
 * by line, the text, raw and (if it parses) JSON-tree redaction with its
 * counts (by rule name). Built against two libraries (this branch and
 * main), the outputs must be byte-identical, unless the rules changed on
 * purpose: bench/redact_diff.sh does that. --dump-files: the FILEs only.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "redact.h"
#include "../tests/unit/redact_vectors/nearmiss.h"

#ifndef ST_BENCH_SOURCE_DIR
#define ST_BENCH_SOURCE_DIR "."
#endif

#define TARGET ((size_t)1 << 20)

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* ---- payloads ------------------------------------------------------------- */

static void add_dir_sources(st_buf *b, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL && b->len < TARGET) {
        size_t l = strlen(de->d_name);
        if (l < 3 || de->d_name[l - 2] != '.' || (de->d_name[l - 1] != 'c' && de->d_name[l - 1] != 'h')) continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        FILE *f = fopen(path, "rb");
        if (!f) continue;
        char tmp[65536];
        size_t k;
        while ((k = fread(tmp, 1, sizeof tmp, f)) > 0) st_buf_put(b, tmp, k);
        fclose(f);
    }
    closedir(d);
}

static void gen_source(st_buf *b, const char *root)
{
    static const char *const sub[] = { "store", "store/verify", "tools/sealtrail", "tools/auditverify",
                                       "tests/unit", "bench" };
    st_buf one = { 0 };
    for (size_t i = 0; i < sizeof sub / sizeof *sub; i++) {
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", root, sub[i]);
        add_dir_sources(&one, p);
    }
    if (one.len == 0) st_buf_puts(&one, "int main(void) { int password = getpass(); return x == y ? 0 : 1; }\n");
    while (b->len < TARGET) st_buf_put(b, one.data, one.len < TARGET - b->len ? one.len : TARGET - b->len);
    st_buf_free(&one);
}

static void gen_log(st_buf *b)
{
    static const char *const lvl[] = { "INFO", "DEBUG", "WARN", "ERROR" };
    static const char *const path[] = { "/api/v1/users", "/api/v1/orders", "/healthz", "/static/app.js" };
    for (unsigned i = 0; b->len < TARGET; i++) {
        uint64_t r = rnd();
        st_buf_printf(b,
                      "2025-11-22T05:%02u:%02u.%03uZ %s [req %08x-%04x-4%03x-a%03x-%012llx] GET %s/%u?page=%u "
                      "status=%u dur=%ums user=user%u ip=10.%u.%u.%u sha=%016llx%016llx%08x\n",
                      (unsigned)(i / 60 % 60), i % 60, (unsigned)(r % 1000), lvl[r % 4], (unsigned)r,
                      (unsigned)(r >> 32) & 0xffff, (unsigned)(r >> 16) & 0xfff, (unsigned)(r >> 40) & 0xfff,
                      (unsigned long long)(rnd() & 0xffffffffffffull), path[(r >> 8) % 4], (unsigned)(r % 100000),
                      (unsigned)(r >> 20) % 50, 200 + (unsigned)(r % 5) * 100, (unsigned)(r >> 24) % 900,
                      (unsigned)(r >> 28) % 1000, (unsigned)(r >> 3) & 255, (unsigned)(r >> 11) & 255,
                      (unsigned)(r >> 19) & 255, (unsigned long long)rnd(), (unsigned long long)rnd(),
                      (unsigned)rnd());
    }
}

static void gen_base64(st_buf *b)
{
    size_t raw = TARGET / 4 * 3;
    uint8_t *bytes = malloc(raw);
    char *enc = malloc(st_b64_encoded_len(raw) + 1);
    if (!bytes || !enc) exit(2);
    for (size_t i = 0; i < raw; i += 8) {
        uint64_t r = rnd();
        memcpy(bytes + i, &r, raw - i < 8 ? raw - i : 8);
    }
    st_b64_encode(enc, bytes, raw);
    st_buf_puts(b, enc);
    free(bytes);
    free(enc);
}

static void gen_dense(st_buf *b)
{
    for (unsigned i = 0; b->len < TARGET; i++) {
        st_buf_puts(b, "    for (size_t i = 0; i < n; i++) total += values[i] * weight; /* filler line */\n");
        st_buf_puts(b, "    if (status != 0) { log_error(\"request failed\", status); return -1; }\n");
        switch (i % 6) {
        case 0: st_buf_printf(b, "export DB_PASSWORD=hunter2-%u\n", i); break;
        case 1: st_buf_printf(b, "token: ghp_%036u\n", i); break;
        case 2: st_buf_printf(b, "url=postgres://app:pw%u@db.internal/app\n", i); break;
        case 3: st_buf_printf(b, "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.%uabcdefghij\n", i); break;
        case 4: st_buf_printf(b, "card 4111 1111 1111 1111 ref %u\n", i); break;
        default: st_buf_printf(b, "key AKIAIOSFODNN7EXAMPLE id %u\n", i); break;
        }
    }
}

/* The payload as a PostToolUse Edit event whose tool_response carries it. */
static void wrap_event(st_buf *ev, const st_buf *payload)
{
    st_buf_puts(ev, "{\"session_id\":\"bc9086c5-7b15-40c5-9849-dab471d76062\",\"hook_event_name\":\"PostToolUse\","
                    "\"tool_name\":\"Edit\",\"tool_input\":{\"file_path\":\"/home/dev/app/main.c\",\"old_string\":\"a\","
                    "\"new_string\":\"b\"},\"tool_response\":{\"filePath\":\"/home/dev/app/main.c\",\"originalFile\":");
    st_json_write_string(ev, (const char *)payload->data, payload->len);
    st_buf_puts(ev, ",\"structuredPatch\":[{\"oldStart\":1,\"oldLines\":1,\"newStart\":1,\"newLines\":1,"
                    "\"lines\":[\"-a\",\"+b\"]}],\"userModified\":false},\"tool_use_id\":\"toolu_01ABC\"}");
}

/* ---- measurements ------------------------------------------------------------ */

static int iters = 20;

static double mbps(size_t bytes, double ms) { return (double)bytes / (1 << 20) / (ms / 1e3); }

static void bench_payload(const char *name, const st_buf *p, const st_redactor *r, const char *label)
{
    st_buf ev = { 0 };
    wrap_event(&ev, p);
    if (ev.oom) exit(2);
    st_redact_counts c;
    /* text */
    double best_text = 1e9, best_tree = 1e9, best_raw = 1e9;
    uint64_t found = 0;
    for (int it = 0; it < iters; it++) {
        st_redact_counts_init(&c);
        char *out;
        size_t ol;
        double t0 = now_ms();
        if (st_redact_text(r, (const char *)p->data, p->len, &out, &ol, &c) != 0) exit(2);
        double t = now_ms() - t0;
        free(out);
        if (t < best_text) best_text = t;
        found = c.total;
    }
    for (int it = 0; it < iters; it++) {
        st_json_doc *doc;
        st_err err;
        st_json_opts o = { ST_JSON_ALLOW_WS, 0, 0 };
        if (st_json_parse(&doc, (const char *)ev.data, ev.len, &o, NULL, &err) != 0) {
            fprintf(stderr, "redact_bench: parse: %s\n", err.msg);
            exit(2);
        }
        st_redact_counts_init(&c);
        double t0 = now_ms();
        if (st_redact_json(r, doc, st_json_doc_root(doc), &c) != 0) exit(2);
        double t = now_ms() - t0;
        st_json_doc_free(doc);
        if (t < best_tree) best_tree = t;
    }
    for (int it = 0; it < iters; it++) {
        st_buf out = { 0 };
        st_redact_counts_init(&c);
        double t0 = now_ms();
        if (st_redact_bytes(r, ev.data, ev.len, &out, &c) != 0) exit(2);
        double t = now_ms() - t0;
        st_buf_free(&out);
        if (t < best_raw) best_raw = t;
    }
    printf("%-8s %-8s %7.2f KiB  text %7.1f MB/s  json-tree %7.1f MB/s  raw %7.1f MB/s  (%llu redactions)\n", name,
           label, (double)p->len / 1024, mbps(p->len, best_text), mbps(ev.len, best_tree), mbps(ev.len, best_raw),
           (unsigned long long)found);
    st_buf_free(&ev);
}

static const char custom_conf[] =
    "# five typical custom rules\n"
    "rule acme-api-key acme_[A-Za-z0-9]{32}\n"
    "rule internal-host (?i)\\b[a-z0-9-]+\\.corp\\.acme\\.example\\b\n"
    "rule employee-id \\bEMP-\\d{6}\\b\n"
    "rule vault-token \\bhvs\\.[A-Za-z0-9_-]{24,}\n"
    "rule acme-pin (?i)acme_pin=(?<secret>\\d{4,8})\n";

/* ---- realistic ~1 KiB events: what import and hooks redact ------------------------------ */

/* Events of about 1 KiB as Claude Code sends them: Read results carrying
 * 1 KiB of this repository's C source, Bash results carrying log lines and
 * directory listings, Grep results with paths, plus the sample payloads of
 * shared/claude-code/payloads when present. Returns the count; ev[i] are
 * malloc'd NUL-terminated JSON texts. */
static size_t gen_events(char ***out, const char *root)
{
    st_buf src = { 0 }, log = { 0 };
    gen_source(&src, root);
    gen_log(&log);
    size_t cap = 4096, n = 0;
    char **ev = malloc(cap * sizeof *ev);
    if (!ev) exit(2);
    for (size_t at = 0, k = 0; n + 4 < cap && at + 1100 < src.len && at + 1100 < log.len; k++) {
        st_buf e = { 0 };
        const char *tool = k % 3 == 0 ? "Read" : k % 3 == 1 ? "Bash" : "Grep";
        st_buf_printf(&e, "{\"session_id\":\"bc9086c5-7b15-40c5-9849-dab471d76062\",\"transcript_path\":\"/home/dev/"
                          ".claude/projects/-home-dev-app/bc9086c5.jsonl\",\"cwd\":\"/home/dev/app\",\"hook_event_name\":"
                          "\"PostToolUse\",\"tool_name\":\"%s\",\"tool_input\":{", tool);
        const uint8_t *chunk = k % 3 == 1 ? log.data + at : src.data + at;
        size_t cl = 1024;
        if (k % 3 == 0) {
            st_buf_printf(&e, "\"file_path\":\"/home/dev/app/src/file%zu.c\"},\"tool_response\":{\"type\":\"text\","
                              "\"file\":{\"filePath\":\"/home/dev/app/src/file%zu.c\",\"content\":", k, k);
            st_json_write_string(&e, (const char *)chunk, cl);
            st_buf_printf(&e, ",\"numLines\":40,\"startLine\":1,\"totalLines\":%zu}}", 100 + k);
        } else if (k % 3 == 1) {
            st_buf_puts(&e, "\"command\":\"tail -n 8 /var/log/app/server.log\",\"description\":\"Show recent log\"},"
                            "\"tool_response\":{\"stdout\":");
            st_json_write_string(&e, (const char *)chunk, cl);
            st_buf_puts(&e, ",\"stderr\":\"\",\"interrupted\":false,\"isImage\":false}");
        } else {
            st_buf_puts(&e, "\"pattern\":\"st_redact_[a-z]+\",\"path\":\"/home/dev/app\",\"output_mode\":\"content\"},"
                            "\"tool_response\":{\"mode\":\"content\",\"numFiles\":3,\"filenames\":[],\"content\":");
            /* grep -n style: path:line:text */
            st_buf g = { 0 };
            for (size_t a = 0, line = 1; a < cl; line++) {
                const uint8_t *nl = memchr(chunk + a, '\n', cl - a);
                size_t e2 = nl ? (size_t)(nl - chunk) : cl;
                st_buf_printf(&g, "/home/dev/app/store/redact_%zu.c:%zu:", k % 7, line * 3);
                st_buf_put(&g, chunk + a, e2 - a);
                st_buf_putc(&g, '\n');
                a = e2 + 1;
            }
            st_json_write_string(&e, (const char *)g.data, g.len);
            st_buf_free(&g);
            st_buf_puts(&e, ",\"numLines\":30}");
        }
        st_buf_puts(&e, ",\"tool_use_id\":\"toolu_01YzM78TG2OtmKRLcez72Qah\"}");
        st_buf_putc(&e, 0);
        if (e.oom) exit(2);
        ev[n++] = (char *)e.data;
        at += cl + 37;
    }
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/../shared/claude-code/payloads", root);
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL && n < cap) {
        if (!strstr(de->d_name, ".json")) continue;
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        FILE *f = fopen(path, "rb");
        if (!f) continue;
        st_buf b = { 0 };
        char tmp[65536];
        size_t k;
        while ((k = fread(tmp, 1, sizeof tmp, f)) > 0) st_buf_put(&b, tmp, k);
        fclose(f);
        st_buf_putc(&b, 0);
        if (b.oom) exit(2);
        ev[n++] = (char *)b.data;
    }
    if (d) closedir(d);
    st_buf_free(&src);
    st_buf_free(&log);
    *out = ev;
    return n;
}

/* Redacts every event `rounds` times; prints the time per event (parse excluded). */
static void bench_events(const st_redactor *r, const char *root, int rounds)
{
    char **ev;
    size_t n = gen_events(&ev, root), bytes = 0, done = 0;
    double best = 1e18;
    uint64_t found = 0;
    st_json_opts o = { ST_JSON_ALLOW_WS | ST_JSON_LENIENT_UTF8, 0, 0 };
    for (int it = 0; it < rounds; it++) {
        double t = 0;
        bytes = done = 0;
        found = 0;
        for (size_t i = 0; i < n; i++) {
            st_json_doc *doc;
            st_err err;
            size_t len = strlen(ev[i]);
            if (st_json_parse(&doc, ev[i], len, &o, NULL, &err) != 0) continue;
            st_redact_counts c;
            st_redact_counts_init(&c);
            double t0 = now_ms();
            if (st_redact_json(r, doc, st_json_doc_root(doc), &c) != 0) exit(2);
            t += now_ms() - t0;
            st_json_doc_free(doc);
            bytes += len;
            done++;
            found += c.total;
        }
        if (t < best) best = t;
    }
    printf("realistic events (%zu, %.0f bytes on average: source, logs, grep output, sample payloads): "
           "redaction %.2f us/event (%llu redactions)\n",
           done, (double)bytes / (double)(done ? done : 1), best * 1e3 / (double)(done ? done : 1),
           (unsigned long long)found);
    for (size_t i = 0; i < n; i++) free(ev[i]);
    free(ev);
}

/* ---- --dump: redaction results, for comparing two builds ---------------------------------- */

/* by rule name: ids may differ between the builds compared (a release adds rules) */
static void dump_counts(const st_redact_counts *c)
{
    printf(" total=%llu", (unsigned long long)c->total);
    for (size_t i = 0; i < st_redactor_rule_count(NULL); i++)
        if (c->n[i]) printf(" %s:%u", st_redactor_rule_name(NULL, i), c->n[i]);
    printf("\n");
}

static void dump_one(void *ctx, const char *in, size_t n)
{
    (void)ctx;
    st_redact_counts c;
    char *out;
    size_t ol;
    st_redact_counts_init(&c);
    if (st_redact_text(NULL, in, n, &out, &ol, &c) != 0) exit(2);
    printf("T %zu ", ol);
    fwrite(out, 1, ol, stdout);
    dump_counts(&c);
    free(out);
    st_buf b = { 0 };
    st_redact_counts_init(&c);
    if (st_redact_bytes(NULL, (const uint8_t *)in, n, &b, &c) != 0 || b.oom) exit(2);
    printf("R %zu ", b.len);
    fwrite(b.data, 1, b.len, stdout);
    dump_counts(&c);
    st_buf_free(&b);
    st_json_doc *doc;
    st_err err;
    st_json_opts o = { ST_JSON_ALLOW_WS | ST_JSON_LENIENT_UTF8, 0, 0 };
    if (st_json_parse(&doc, in, n, &o, NULL, &err) == 0) {
        st_redact_counts_init(&c);
        if (st_redact_json(NULL, doc, st_json_doc_root(doc), &c) != 0) exit(2);
        st_buf j = { 0 };
        st_json_write(&j, st_json_doc_root(doc), 0);
        printf("J %zu ", j.len);
        fwrite(j.data, 1, j.len, stdout);
        dump_counts(&c);
        st_buf_free(&j);
        st_json_doc_free(doc);
    }
}

static int dump_main(int argc, char **argv, int near_misses)
{
    if (near_misses) nm_generate(dump_one, NULL);
    for (int i = 0; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (!f) { fprintf(stderr, "redact_bench: %s: cannot open\n", argv[i]); return 2; }
        st_buf b = { 0 };
        char tmp[65536];
        size_t k;
        while ((k = fread(tmp, 1, sizeof tmp, f)) > 0) st_buf_put(&b, tmp, k);
        fclose(f);
        if (b.oom) return 2;
        printf("F %s\n", argv[i]);
        dump_one(NULL, (const char *)b.data, b.len);
        for (size_t a = 0; a < b.len;) {
            const uint8_t *nl = memchr(b.data + a, '\n', b.len - a);
            size_t e = nl ? (size_t)(nl - b.data) : b.len;
            dump_one(NULL, (const char *)b.data + a, e - a);
            a = e + 1;
        }
        st_buf_free(&b);
    }
    return fflush(stdout) == 0 ? 0 : 2;
}

int main(int argc, char **argv)
{
    const char *root = ST_BENCH_SOURCE_DIR;
    if (argc > 1 && strcmp(argv[1], "--dump") == 0) return dump_main(argc - 2, argv + 2, 1);
    if (argc > 1 && strcmp(argv[1], "--dump-files") == 0) return dump_main(argc - 2, argv + 2, 0);
    int events_only = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--iters") == 0 && i + 1 < argc) iters = atoi(argv[++i]);
        else if (strcmp(argv[i], "--events") == 0) events_only = 1;
        else root = argv[i];
    }
    if (iters < 1) iters = 1;

    if (events_only) { /* (for callgrind: instructions per realistic event) */
        bench_events(NULL, root, iters);
        return 0;
    }

    /* setup: what a fresh process pays before redacting its first event */
    static const char first[] = "{\"tool_name\":\"Bash\",\"tool_input\":{\"command\":\"ls -la\"},"
                                "\"tool_response\":{\"stdout\":\"total 0\",\"stderr\":\"\"}}";
    double t0 = now_ms();
    st_redactor *r;
    if (st_redactor_new(&r) != 0) return 2;
    st_json_doc *doc;
    st_err err;
    st_json_opts o = { 0, 0, 0 };
    if (st_json_parse(&doc, first, sizeof first - 1, &o, NULL, &err) != 0) return 2;
    double t1 = now_ms();
    st_redact_counts c;
    st_redact_counts_init(&c);
    if (st_redact_json(r, doc, st_json_doc_root(doc), &c) != 0) return 2;
    double t2 = now_ms();
    st_json_doc_free(doc);
    printf("setup, built-in rules: st_redactor_new + parse of a first small event %.4f ms, its redaction %.4f ms "
           "(first touch of the code included)\n", t1 - t0, t2 - t1);

    st_redactor *rc;
    if (st_redactor_new(&rc) != 0) return 2;
    t0 = now_ms();
    if (st_redactor_load_config(rc, custom_conf, sizeof custom_conf - 1, "bench.conf", &err) != 0) {
        fprintf(stderr, "redact_bench: %s\n", err.msg);
        return 2;
    }
    t1 = now_ms();
    printf("setup, 5 custom PCRE2 rules: load+JIT %.3f ms (paid only when a config has rules)\n", t1 - t0);

    /* many small events: what bulk import pays per entry */
    {
        st_buf ev = { 0 };
        st_buf_puts(&ev, "{\"session_id\":\"bc9086c5-7b15-40c5-9849-dab471d76062\",\"transcript_path\":\"/home/dev/.claude/"
                         "projects/-home-dev-app/bc9086c5-7b15-40c5-9849-dab471d76062.jsonl\",\"cwd\":\"/home/dev/app\","
                         "\"permission_mode\":\"default\",\"hook_event_name\":\"PostToolUse\",\"tool_name\":\"Bash\","
                         "\"tool_input\":{\"command\":\"ls -la src && git status --short\",\"description\":\"List files\"},"
                         "\"tool_response\":{\"stdout\":\"");
        for (int i = 0; i < 8; i++)
            st_buf_printf(&ev, "-rw-r--r-- 1 dev dev %5d Nov 22 05:%02d file_%d.c\\n", 1000 + i * 37, i, i);
        st_buf_puts(&ev, " M src/main.c\\n?? notes.txt\\n\",\"stderr\":\"\",\"interrupted\":false,\"isImage\":false},"
                         "\"tool_use_id\":\"toolu_01YzM78TG2OtmKRLcez72Qah\",\"duration_ms\":41}");
        const int n = 20000;
        double tp = 0, tr = 0;
        for (int i = 0; i < n; i++) {
            double a = now_ms();
            st_json_doc *d;
            if (st_json_parse(&d, (const char *)ev.data, ev.len, &o, NULL, &err) != 0) return 2;
            double b2 = now_ms();
            st_redact_counts_init(&c);
            if (st_redact_json(r, d, st_json_doc_root(d), &c) != 0) return 2;
            tr += now_ms() - b2;
            tp += b2 - a;
            st_json_doc_free(d);
        }
        printf("small events (%zu bytes, Bash PostToolUse): redaction %.2f us/event (%.0f events/s; parse %.2f us)\n",
               ev.len, tr * 1e3 / n, n / (tr / 1e3), tp * 1e3 / n);
        st_buf_free(&ev);
    }

    bench_events(r, root, iters);

    struct { const char *name; st_buf b; } p[4] = { { "source", { 0 } }, { "log", { 0 } }, { "base64", { 0 } },
                                                   { "dense", { 0 } } };
    gen_source(&p[0].b, root);
    gen_log(&p[1].b);
    gen_base64(&p[2].b);
    gen_dense(&p[3].b);
    for (int i = 0; i < 4; i++) bench_payload(p[i].name, &p[i].b, r, "builtin");
    for (int i = 0; i < 4; i++) bench_payload(p[i].name, &p[i].b, rc, "+custom");
    for (int i = 0; i < 4; i++) st_buf_free(&p[i].b);
    st_redactor_free(r);
    st_redactor_free(rc);
    return 0;
}
