/*
 * test_redact.c: the redaction engine (store/redact*.c, docs/REDACTION.md).
 *
 * Most cases are vectors in tests/unit/redact_vectors/, one JSON
 * object per line: {"desc", "mode" (text | json | raw, default text), "in",
 * "want" (absent: the input must come out unchanged), "counts" (rule ->
 * count; absent: nothing redacted)}. The sequence "@@" is deleted from "in"
 * and "want" before use: it keeps realistic fake tokens in the vector files
 * from tripping repository secret scanners. Files:
 *   tokens.jsonl      every prefixed-token rule, with boundaries
 *   context.jsonl     PEM blocks, cards, URL credentials, key-aware assignments
 *   lookalikes.jsonl  strings that must survive unchanged (hashes, UUIDs,
 *                     timestamps, code that names passwords without holding one)
 *   json.jsonl        JSON trees: keys, \u escapes, NUL, depth, numbers
 *   raw.jsonl         raw (unparseable) input
 * The C cases below cover what vectors cannot: counts objects, deep trees,
 * custom rule configs and their errors, sample payloads, UTF-8, limits.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "redact.h"
#include "redact_int.h"
#include "redact_vectors/nearmiss.h"
#include "testutil.h"

#define S(lit) (lit), (sizeof(lit) - 1)
#define SHOWN(n) ((int)((n) > 300 ? 300 : (n)))

/* ---- helpers ------------------------------------------------------------------ */

/* Deletes every "@@" in place; returns the new length. */
static size_t unsplit(char *s, size_t n)
{
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        if (i + 1 < n && s[i] == '@' && s[i + 1] == '@') { i++; continue; }
        s[w++] = s[i];
    }
    s[w] = '\0';
    return w;
}

static char *dupn(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    ck_assert_ptr_nonnull(d);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

/* Redacts `in` in the given mode; returns the output (caller frees). */
static char *run_mode(const st_redactor *r, const char *mode, const char *in, size_t n, size_t *outlen,
                      st_redact_counts *c, char *why, size_t whylen)
{
    st_redact_counts_init(c);
    if (strcmp(mode, "text") == 0) {
        char *out = NULL;
        int rc = st_redact_text(r, in, n, &out, outlen, c);
        if (rc) snprintf(why, whylen, "st_redact_text: %d", rc);
        return out;
    }
    if (strcmp(mode, "raw") == 0) {
        st_buf b = { 0 };
        int rc = st_redact_bytes(r, (const uint8_t *)in, n, &b, c);
        if (rc || b.oom) { snprintf(why, whylen, "st_redact_bytes: %d", rc); st_buf_free(&b); return NULL; }
        st_buf_putc(&b, 0);
        *outlen = b.len - 1;
        return (char *)b.data;
    }
    st_json_doc *doc = NULL;
    st_err err = { { 0 } };
    st_json_opts o = { ST_JSON_ALLOW_WS, 0, 0 };
    int rc = st_json_parse(&doc, in, n, &o, NULL, &err);
    if (rc) { snprintf(why, whylen, "parse: %s", err.msg); return NULL; }
    rc = st_redact_json(r, doc, st_json_doc_root(doc), c);
    if (rc) { snprintf(why, whylen, "st_redact_json: %d", rc); st_json_doc_free(doc); return NULL; }
    st_buf b = { 0 };
    st_json_write(&b, st_json_doc_root(doc), 0);
    st_json_doc_free(doc);
    return st_buf_steal_str(&b, outlen);
}

/* Compares counts with a {"rule": n} object (NULL: all zero). Returns 0 or
 * writes the difference into why. */
static int counts_match(const st_redactor *r, const st_redact_counts *c, const st_json *want, char *why, size_t wl)
{
    uint64_t total = 0;
    for (const st_json *m = want ? want->child : NULL; m; m = m->next) {
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)m->key_len, m->key);
        int id = st_redactor_rule_id(r, name);
        int64_t v = -1;
        if (id < 0 || st_json_as_i64(m, &v) != 0) { snprintf(why, wl, "bad counts entry '%s'", name); return -1; }
        if ((int64_t)c->n[id] != v) { snprintf(why, wl, "count of %s is %u, want %lld", name, c->n[id], (long long)v); return -1; }
        total += (uint64_t)v;
    }
    if (c->total != total) {
        char got[512] = "";
        size_t gl = 0;
        for (size_t i = 0; i < st_redactor_rule_count(r); i++)
            if (c->n[i] && gl < sizeof got - 64) gl += (size_t)snprintf(got + gl, sizeof got - gl, " %s=%u", st_redactor_rule_name(r, i), c->n[i]);
        snprintf(why, wl, "total %llu, want %llu (got:%s)", (unsigned long long)c->total, (unsigned long long)total, got);
        return -1;
    }
    return 0;
}

/* Runs every case of one vector file; returns the number of failures (each printed). */
static int run_vector_file(const char *path, int *ncases)
{
    size_t len;
    char *text = tu_read_file(path, &len);
    ck_assert_msg(text != NULL, "%s: cannot read", path);
    int fails = 0, lineno = 0;
    for (char *line = text, *next; line && *line; line = next) {
        char *nl = strchr(line, '\n');
        next = nl ? nl + 1 : NULL;
        size_t ll = nl ? (size_t)(nl - line) : strlen(line);
        lineno++;
        if (ll == 0 || line[0] == '#') continue;
        st_json_doc *doc = NULL;
        st_err err = { { 0 } };
        st_json_opts o = { ST_JSON_ALLOW_WS, 0, 0 };
        ck_assert_msg(st_json_parse(&doc, line, ll, &o, NULL, &err) == 0, "%s:%d: %s", path, lineno, err.msg);
        const st_json *root = st_json_doc_root(doc);
        size_t inl = 0, wl = 0;
        const char *desc = st_json_get_str(root, "desc", NULL);
        const char *mode = st_json_get_str(root, "mode", NULL);
        const char *in0 = st_json_get_str(root, "in", &inl);
        const char *want0 = st_json_get_str(root, "want", &wl);
        const st_json *counts = st_json_get(root, "counts");
        ck_assert_msg(desc && in0, "%s:%d: desc and in are required", path, lineno);
        char *in = dupn(in0, inl);
        inl = unsplit(in, inl);
        char *want = want0 ? dupn(want0, wl) : dupn(in, inl);
        wl = want0 ? unsplit(want, wl) : inl;
        st_redact_counts c;
        char why[600] = "";
        size_t outlen = 0;
        char *out = run_mode(NULL, mode ? mode : "text", in, inl, &outlen, &c, why, sizeof why);
        int ok = out != NULL;
        if (ok && (outlen != wl || memcmp(out, want, wl) != 0)) {
            ok = 0;
            snprintf(why, sizeof why, "got  [%.*s]\n      want [%.*s]", SHOWN(outlen), out, SHOWN(wl), want);
        }
        if (ok && counts_match(NULL, &c, counts, why, sizeof why) != 0) ok = 0;
        if (!ok) {
            fprintf(stderr, "FAIL %s:%d %s\n      %s\n", path, lineno, desc, why);
            fails++;
        }
        (*ncases)++;
        free(out);
        free(in);
        free(want);
        st_json_doc_free(doc);
    }
    free(text);
    return fails;
}

/* ---- vectors ---------------------------------------------------------------------- */

START_TEST(test_vectors)
{
    static const char *const files[] = { "tokens", "context", "lookalikes", "json", "raw" };
    int fails = 0, cases = 0;
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char rel[256];
        snprintf(rel, sizeof rel, "tests/unit/redact_vectors/%s.jsonl", files[i]);
        fails += run_vector_file(tu_source_path(rel), &cases);
    }
    ck_assert_msg(cases > 150, "only %d vector cases found", cases);
    ck_assert_msg(fails == 0, "%d of %d redaction vectors failed (listed on stderr)", fails, cases);
}
END_TEST

/* Every positive vector, run in text mode with its secret surrounded by
 * other bytes, must not leave any 8-byte window of the secret behind. */
START_TEST(test_no_secret_bytes_survive)
{
    static const char *const secrets[] = {
        "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "hunter2-Zq7xK",
    };
    static const char *const ctx[][2] = { { "", "" }, { "x ", " y" }, { "\n", "\n" }, { "DB_PASSWORD=", "" },
                                          { "\"password\": \"", "\"" }, { "--token ", "" },
                                          { "aws_secret_access_key = ", "" }, { "postgres://u:", "@h/d" } };
    for (size_t s = 0; s < 3; s++)
        for (size_t k = 0; k < sizeof ctx / sizeof *ctx; k++) {
            char in[256];
            snprintf(in, sizeof in, "%s%s%s", ctx[k][0], secrets[s], ctx[k][1]);
            if (s == 2 && k < 3) continue; /* a bare password is not detectable without context */
            if (s == 1 && k < 3) continue; /* a bare AWS secret key needs its key id or name nearby */
            if (s == 1 && k == 7) continue; /* '/' cannot be in a URL password unencoded */
            char *out;
            size_t ol;
            ck_assert_int_eq(st_redact_text(NULL, in, strlen(in), &out, &ol, NULL), 0);
            for (size_t w = 0; w + 8 <= strlen(secrets[s]); w++)
                ck_assert_msg(memmem(out, ol, secrets[s] + w, 8) == NULL, "[%s] -> [%s] leaks [%.8s]", in, out,
                              secrets[s] + w);
            free(out);
        }
}
END_TEST

/* ---- API details --------------------------------------------------------------------- */

START_TEST(test_counts_to_json)
{
    st_redact_counts c;
    st_redact_counts_init(&c);
    char *out;
    size_t ol;
    const char in[] = "a ghp_0123456789abcdefghijklmnopqrstuvwxyz b AKIAIOSFODNN7EXAMPLE c "
                      "ghs_0123456789abcdefghijklmnopqrstuvwxyz password=x1y2";
    ck_assert_int_eq(st_redact_text(NULL, S(in), &out, &ol, &c), 0);
    free(out);
    ck_assert_uint_eq(c.total, 4);
    st_json_doc *doc = st_json_doc_new();
    st_json *o = st_redact_counts_to_json(NULL, &c, doc);
    ck_assert_ptr_nonnull(o);
    st_buf b = { 0 };
    st_json_write(&b, o, ST_JSON_SORT_KEYS);
    st_buf_putc(&b, 0);
    ck_assert_str_eq((char *)b.data, "{\"aws-access-key-id\":1,\"github-token\":2,\"password-assignment\":1}");
    st_buf_free(&b);
    /* nothing redacted: an empty object */
    st_redact_counts_init(&c);
    o = st_redact_counts_to_json(NULL, &c, doc);
    ck_assert_ptr_nonnull(o);
    ck_assert_uint_eq(o->count, 0);
    st_json_doc_free(doc);
}
END_TEST

START_TEST(test_rule_names)
{
    ck_assert_uint_eq(st_redactor_rule_count(NULL), ST_RULE_BUILTIN_COUNT);
    for (size_t i = 0; i < ST_RULE_BUILTIN_COUNT; i++) {
        const char *n = st_redactor_rule_name(NULL, i);
        ck_assert_ptr_nonnull(n);
        ck_assert_uint_le(strlen(n), ST_REDACT_NAME_MAX);
        ck_assert_uint_eq(strspn(n, "abcdefghijklmnopqrstuvwxyz0123456789-"), strlen(n));
        ck_assert_int_eq(st_redactor_rule_id(NULL, n), (int)i);
    }
    ck_assert_ptr_null(st_redactor_rule_name(NULL, ST_RULE_BUILTIN_COUNT));
    ck_assert_int_eq(st_redactor_rule_id(NULL, "no-such-rule"), -1);
    ck_assert_str_eq(st_redactor_rule_name(NULL, ST_RULE_GITHUB_TOKEN), "github-token");
    ck_assert_str_eq(st_redactor_rule_name(NULL, ST_RULE_PASSWORD_ASSIGNMENT), "password-assignment");
}
END_TEST

START_TEST(test_nul_and_lengths)
{
    /* NUL bytes are separators, never terminators */
    const char in[] = "a\0AKIAIOSFODNN7EXAMPLE\0b\0password=hunter2\0";
    char *out;
    size_t ol;
    st_redact_counts c;
    st_redact_counts_init(&c);
    ck_assert_int_eq(st_redact_text(NULL, in, sizeof in - 1, &out, &ol, &c), 0);
    const char want[] = "a\0[REDACTED:aws-access-key-id]\0b\0password=[REDACTED:password-assignment]\0";
    ck_assert_uint_eq(ol, sizeof want - 1);
    ck_assert(memcmp(out, want, ol) == 0);
    ck_assert_int_eq(out[ol], 0);
    free(out);
    ck_assert_uint_eq(c.total, 2);
    /* empty input */
    ck_assert_int_eq(st_redact_text(NULL, "", 0, &out, &ol, NULL), 0);
    ck_assert_uint_eq(ol, 0);
    free(out);
    st_buf b = { 0 };
    ck_assert_int_eq(st_redact_bytes(NULL, (const uint8_t *)"", 0, &b, NULL), 0);
    ck_assert_uint_eq(b.len, 0);
    st_buf_free(&b);
    ck_assert_int_eq(st_redact_text(NULL, NULL, 3, &out, &ol, NULL), ST_EINVAL);
    ck_assert_int_eq(st_redact_json(NULL, NULL, NULL, NULL), ST_EINVAL);
}
END_TEST

/* [RED-9] A command name with a byte that is not UTF-8 (what the vectors,
 * JSON text, cannot hold): its password flags are still read as password
 * flags, in text and in raw input, however the name is damaged. */
START_TEST(test_damaged_command_name)
{
    static const char *const in[] = {
        "my\xffsql -pHunter2x db", "m\xc3sql -pHunter2x db", "ssh\xfe\xfepass -p Hunter2 ssh h",
        "cu\xedrl -u me:Hunter2 https://h", "{\"command\":\"my\xffsql -pHunter2x db\"",
    };
    for (size_t k = 0; k < sizeof in / sizeof *in; k++) {
        char *out;
        size_t ol;
        ck_assert_int_eq(st_redact_text(NULL, in[k], strlen(in[k]), &out, &ol, NULL), 0);
        ck_assert_msg(memmem(out, ol, "Hunter2", 7) == NULL && memmem(out, ol, "[REDACTED:password-assignment]", 30),
                      "text [%s] -> [%.*s]", in[k], (int)ol, out);
        free(out);
        st_buf b = { 0 };
        ck_assert_int_eq(st_redact_bytes(NULL, (const uint8_t *)in[k], strlen(in[k]), &b, NULL), 0);
        ck_assert_msg(memmem(b.data, b.len, "Hunter2", 7) == NULL, "raw [%s] -> [%.*s]", in[k], (int)b.len, b.data);
        st_buf_free(&b);
    }
}
END_TEST

/* Appends to what is already in the buffer. */
START_TEST(test_bytes_appends)
{
    st_buf b = { 0 };
    st_buf_puts(&b, "head:");
    ck_assert_int_eq(st_redact_bytes(NULL, (const uint8_t *)S("token=abc123"), &b, NULL), 0);
    st_buf_putc(&b, 0);
    ck_assert_str_eq((char *)b.data, "head:token=[REDACTED:password-assignment]");
    st_buf_free(&b);
}
END_TEST

/* Deep trees: no recursion in the redactor (100,000 levels here; the
 * parser's own limit is raised for the test). */
START_TEST(test_very_deep_tree)
{
    const size_t depth = 100000;
    st_buf in = { 0 };
    for (size_t i = 0; i < depth; i++) st_buf_puts(&in, i % 2 ? "[" : "{\"k\":");
    st_buf_puts(&in, "\"x AKIAIOSFODNN7EXAMPLE\"");
    for (size_t i = depth; i-- > 0;) st_buf_puts(&in, i % 2 ? "]" : "}");
    ck_assert(!in.oom);
    st_json_doc *doc = NULL;
    st_err err = { { 0 } };
    st_json_opts o = { 0, (unsigned)depth + 1, 0 };
    ck_assert_msg(st_json_parse(&doc, (const char *)in.data, in.len, &o, NULL, &err) == 0, "%s", err.msg);
    st_redact_counts c;
    st_redact_counts_init(&c);
    ck_assert_int_eq(st_redact_json(NULL, doc, st_json_doc_root(doc), &c), 0);
    ck_assert_uint_eq(c.n[ST_RULE_AWS_ACCESS_KEY_ID], 1);
    st_json_doc_free(doc);
    st_buf_free(&in);
}
END_TEST

/* in parsed and redacted with the built-in rules; the counts in *c. */
static st_json_doc *parse_and_redact(const st_buf *in, st_redact_counts *c)
{
    st_json_doc *doc = NULL;
    st_err err = { { 0 } };
    st_json_opts o = { 0, 0, 0 };
    ck_assert_msg(st_json_parse(&doc, (const char *)in->data, in->len, &o, NULL, &err) == 0, "%s", err.msg);
    st_redact_counts_init(c);
    ck_assert_int_eq(st_redact_json(NULL, doc, st_json_doc_root(doc), c), 0);
    return doc;
}

/* Wide trees: an array of 1000 objects (each with an array inside) puts
 * more containers on the redactor's work stack than its first 64 slots
 * on the C stack; every one is still visited. */
START_TEST(test_wide_tree)
{
    const unsigned n = 1000;
    st_buf in = { 0 };
    st_buf_putc(&in, '[');
    for (unsigned i = 0; i < n; i++) st_buf_printf(&in, "%s{\"k\":[\"x AKIAIOSFODNN7EXAMPLE\"],\"j\":\"ghp_%036u\"}", i ? "," : "", i);
    st_buf_putc(&in, ']');
    ck_assert(!in.oom);
    st_redact_counts c;
    st_json_doc *doc = parse_and_redact(&in, &c);
    ck_assert_uint_eq(c.n[ST_RULE_AWS_ACCESS_KEY_ID], n);
    ck_assert_uint_eq(c.n[ST_RULE_GITHUB_TOKEN], n);
    st_json_doc_free(doc);
    st_buf_free(&in);
}
END_TEST

/* Wide objects whose keys all redact to the same marker stay unique and
 * the work stays n log n (the test would time out otherwise). */
START_TEST(test_many_colliding_keys)
{
    st_buf in = { 0 };
    st_buf_putc(&in, '{');
    const unsigned n = 20000;
    for (unsigned i = 0; i < n; i++) st_buf_printf(&in, "%s\"ghp_%036u\":%u", i ? "," : "", i, i);
    st_buf_putc(&in, '}');
    st_redact_counts c;
    st_json_doc *doc = parse_and_redact(&in, &c);
    ck_assert_uint_eq(c.n[ST_RULE_GITHUB_TOKEN], n);
    /* write and re-parse strictly: duplicate keys would be rejected */
    st_buf out = { 0 };
    st_json_write(&out, st_json_doc_root(doc), 0);
    st_json_doc *d2 = NULL;
    st_err err = { { 0 } };
    st_json_opts o = { 0, 0, 0 };
    ck_assert_msg(st_json_parse(&d2, (const char *)out.data, out.len, &o, NULL, &err) == 0, "%s", err.msg);
    ck_assert(memmem(out.data, out.len, "ghp_", 4) == NULL);
    st_json_doc_free(d2);
    st_json_doc_free(doc);
    st_buf_free(&out);
    st_buf_free(&in);
}
END_TEST

/* Secrets at the very start, the very end, and across the 16-byte blocks
 * of the vectorized scanner, in a large buffer. */
START_TEST(test_positions_and_large_input)
{
    const char *tok = "ghp_0123456789abcdefghijklmnopqrstuvwxyz";
    size_t tl = strlen(tok);
    for (size_t off = 0; off < 40; off++) {
        char buf[128];
        memset(buf, ' ', sizeof buf);
        memcpy(buf + off, tok, tl);
        for (size_t len = off + tl; len <= off + tl + 3 && len <= sizeof buf; len++) {
            char *out;
            size_t ol;
            st_redact_counts c;
            st_redact_counts_init(&c);
            ck_assert_int_eq(st_redact_text(NULL, buf, len, &out, &ol, &c), 0);
            ck_assert_msg(c.total == 1, "offset %zu len %zu: %llu", off, len, (unsigned long long)c.total);
            ck_assert(memmem(out, ol, "ghp_", 4) == NULL);
            free(out);
        }
    }
    size_t big = (size_t)8 << 20;
    char *buf = malloc(big);
    ck_assert_ptr_nonnull(buf);
    for (size_t i = 0; i < big; i++) buf[i] = "abcdefgh ijklmnop\n"[i % 18];
    memcpy(buf, tok, tl);
    memcpy(buf + big / 2, " AKIAIOSFODNN7EXAMPLE ", 22);
    memcpy(buf + big - tl, tok, tl);
    buf[big - tl - 1] = ' ';
    char *out;
    size_t ol;
    st_redact_counts c;
    st_redact_counts_init(&c);
    ck_assert_int_eq(st_redact_text(NULL, buf, big, &out, &ol, &c), 0);
    ck_assert_uint_eq(c.n[ST_RULE_GITHUB_TOKEN], 2);
    ck_assert_uint_eq(c.n[ST_RULE_AWS_ACCESS_KEY_ID], 1);
    free(out);
    free(buf);
}
END_TEST

/* Every scan is linear: 1 MiB of each rule's worst repetition takes well
 * under a second (a value scan that restarted at every key on a long line
 * made "a_password: a_password: ..." quadratic: 240 KB took 8 s). Text, raw,
 * and a JSON tree whose "command" names a .pgpass file (every detector on). */
START_TEST(test_linear_worst_cases)
{
    static const char *const unit[] = {
        "a_password: ", "X_TOKEN=", " <<< ", "$argon2i$", "echo a:b | chpasswd ", "| sudo ", "setx ",
        "x.php define('A_PASSWORD', ", "AC00000000000000000000000000000000 ", "-p -u -a ", "h:1:", "git config ",
        "auth=(\"", "$MYSQL ", "--password --password ", "machine h login u password ", "token=\"x ",
        "password = pw1 ", "curl -u a:", "chpasswd <<< ", "add_user ", "value:", "\n  - name: A_TOKEN\n    value: |",
        "a_password: |\n", "<entry key=\"password\">", "oracle:thin:", "${X:-", "sqlplus ", "net use ", "lftp -u a,",
        "chpasswd <<E\n", "chpasswd <<E ", "chpasswd <<E\nu:p\n", "sudo -S x <<'E'\n", "cat <<E | chpasswd\n",
        "cat <<E | chpasswd ", "cout << x ", "<<-E\n\t", "define('A_PASSWORD', ", "define(", "pbkdf2_sha256$1$",
        "pbkdf2_sha256$1$s$", "yarn config set ", "yarn config set a_token ", "HRKU-", " PASSWORD '", " IDENTIFIED BY ",
        "setx A_TOKEN ", "x.sql ", "a:", "u:p@tcp(", "u:p@",
    };
    size_t big = (size_t)1 << 20;
    char *buf = malloc(big + 64);
    ck_assert_ptr_nonnull(buf);
    for (size_t u = 0; u < sizeof unit / sizeof *unit; u++) {
        size_t ul = strlen(unit[u]), n = 0;
        while (n + ul <= big) { memcpy(buf + n, unit[u], ul); n += ul; }
        for (int mode = 0; mode < 3; mode++) {
            clock_t t0 = clock();
            st_redact_counts c;
            st_redact_counts_init(&c);
            if (mode == 0) {
                char *out;
                size_t ol;
                ck_assert_int_eq(st_redact_text(NULL, buf, n, &out, &ol, &c), 0);
                free(out);
            } else if (mode == 1) {
                st_buf b = { 0 };
                ck_assert_int_eq(st_redact_bytes(NULL, (const uint8_t *)buf, n, &b, &c), 0);
                st_buf_free(&b);
            } else {
                st_buf j = { 0 };
                st_buf_puts(&j, "{\"file_path\":\"/root/.pgpass\",\"path\":\"init.sql\",\"command\":");
                st_json_write_string(&j, buf, n);
                st_buf_puts(&j, ",\"stdout\":");
                st_json_write_string(&j, buf, n);
                st_buf_putc(&j, '}');
                ck_assert(!j.oom);
                st_json_doc *doc = NULL;
                st_err err = { { 0 } };
                st_json_opts o = { ST_JSON_ALLOW_WS, 0, 0 };
                ck_assert_int_eq(st_json_parse(&doc, (const char *)j.data, j.len, &o, NULL, &err), 0);
                ck_assert_int_eq(st_redact_json(NULL, doc, st_json_doc_root(doc), &c), 0);
                st_json_doc_free(doc);
                st_buf_free(&j);
            }
            double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
            ck_assert_msg(secs < 4.0, "'%s' x %zu, mode %d: %.2f s of CPU", unit[u], n / ul, mode, secs);
        }
    }
    free(buf);
}
END_TEST

/* Valid UTF-8 in, valid UTF-8 out: spans start and end at ASCII bytes. */
START_TEST(test_utf8_preserved)
{
    static const char *const parts[] = { "é", "日本", "🔑", "password: ", "pässwörd=", "token=", "\n", " ",
                                         "ghp_0123456789abcdefghijklmnopqrstuvwxyz", "AKIAIOSFODNN7EXAMPLE",
                                         "postgres://ü:ß@h", "Authorization: Bearer ", "-----BEGIN PRIVATE KEY-----\n",
                                         "4111 1111 1111 1111", "\"", "'", "--password ", "<password>", "</password>" };
    uint32_t seed = 12345;
    for (int iter = 0; iter < 3000; iter++) {
        char in[512];
        size_t n = 0;
        int k = (int)(seed % 12) + 1;
        for (int i = 0; i < k; i++) {
            seed = seed * 1103515245u + 12345u;
            const char *p = parts[(seed >> 8) % (sizeof parts / sizeof *parts)];
            size_t pl = strlen(p);
            if (n + pl >= sizeof in) break;
            memcpy(in + n, p, pl);
            n += pl;
        }
        ck_assert(st_utf8_valid((const uint8_t *)in, n));
        char *out;
        size_t ol;
        ck_assert_int_eq(st_redact_text(NULL, in, n, &out, &ol, NULL), 0);
        ck_assert_msg(st_utf8_valid((const uint8_t *)out, ol), "[%.*s] -> invalid UTF-8 [%.*s]", (int)n, in, (int)ol, out);
        free(out);
        st_buf b = { 0 };
        ck_assert_int_eq(st_redact_bytes(NULL, (const uint8_t *)in, n, &b, NULL), 0);
        ck_assert(st_utf8_valid(b.data, b.len));
        st_buf_free(&b);
    }
}
END_TEST

/* ---- custom rules ----------------------------------------------------------------------- */

START_TEST(test_config_rules)
{
    st_redactor *r;
    ck_assert_int_eq(st_redactor_new(&r), 0);
    st_err err = { { 0 } };
    const char conf[] = "# custom rules\r\n"
                        "\n"
                        "rule acme-key   acme_[a-z0-9]{8}   \n"
                        "  rule acme-pin (?i)acme_pin=(?<secret>\\d{4,8})\n"
                        "rule emp-id\t\\bEMP-\\d{6}\\b\n"
                        "disable payment-card\n";
    ck_assert_msg(st_redactor_load_config(r, S(conf), "redact.conf", &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(st_redactor_rule_count(r), ST_RULE_BUILTIN_COUNT + 3);
    ck_assert_int_eq(st_redactor_rule_id(r, "acme-pin"), ST_RULE_BUILTIN_COUNT + 1);
    const char in[] = "k=acme_abcd1234 ACME_PIN=4321 EMP-123456 card 4111111111111111 ghp_0123456789abcdefghijklmnopqrstuvwxyz";
    char *out;
    size_t ol;
    st_redact_counts c;
    st_redact_counts_init(&c);
    ck_assert_int_eq(st_redact_text(r, S(in), &out, &ol, &c), 0);
    ck_assert_str_eq(out, "k=[REDACTED:acme-key] ACME_PIN=[REDACTED:acme-pin] [REDACTED:emp-id] card 4111111111111111 "
                          "[REDACTED:github-token]");
    free(out);
    ck_assert_uint_eq(c.n[ST_RULE_BUILTIN_COUNT], 1);
    ck_assert_uint_eq(c.n[ST_RULE_BUILTIN_COUNT + 1], 1);
    ck_assert_uint_eq(c.n[ST_RULE_PAYMENT_CARD], 0);
    /* the counts object names custom rules */
    st_json_doc *doc = st_json_doc_new();
    st_buf b = { 0 };
    st_json_write(&b, st_redact_counts_to_json(r, &c, doc), ST_JSON_SORT_KEYS);
    st_buf_putc(&b, 0);
    ck_assert_str_eq((char *)b.data, "{\"acme-key\":1,\"acme-pin\":1,\"emp-id\":1,\"github-token\":1}");
    st_buf_free(&b);
    /* and work in trees (keys too) and raw bytes */
    const char js[] = "{\"acme_abcd1234\":\"EMP-654321\"}";
    st_json_doc *d = NULL;
    st_json_opts o = { 0, 0, 0 };
    ck_assert_int_eq(st_json_parse(&d, S(js), &o, NULL, &err), 0);
    st_redact_counts_init(&c);
    ck_assert_int_eq(st_redact_json(r, d, st_json_doc_root(d), &c), 0);
    st_json_write(&b, st_json_doc_root(d), 0);
    st_buf_putc(&b, 0);
    ck_assert_str_eq((char *)b.data, "{\"[REDACTED:acme-key]\":\"[REDACTED:emp-id]\"}");
    st_buf_free(&b);
    st_json_doc_free(d);
    ck_assert_int_eq(st_redact_bytes(r, (const uint8_t *)S("x acme_zzzz9999"), &b, NULL), 0);
    st_buf_putc(&b, 0);
    ck_assert_str_eq((char *)b.data, "x [REDACTED:acme-key]");
    st_buf_free(&b);
    st_json_doc_free(doc);
    /* a second config adds to the first */
    ck_assert_int_eq(st_redactor_load_config(r, S("rule more x{5}\n"), "b.conf", &err), 0);
    ck_assert_int_eq(st_redactor_rule_id(r, "more"), ST_RULE_BUILTIN_COUNT + 3);
    st_redactor_free(r);
}
END_TEST

START_TEST(test_config_disable_key_aware)
{
    st_redactor *r;
    ck_assert_int_eq(st_redactor_new(&r), 0);
    st_err err;
    ck_assert_int_eq(st_redactor_load_config(r, S("disable password-assignment\n"), "c", &err), 0);
    const char js[] = "{\"password\":\"hunter2\",\"token\":\"ghp_0123456789abcdefghijklmnopqrstuvwxyz\"}";
    st_json_doc *d = NULL;
    st_json_opts o = { 0, 0, 0 };
    ck_assert_int_eq(st_json_parse(&d, S(js), &o, NULL, &err), 0);
    st_redact_counts c;
    st_redact_counts_init(&c);
    ck_assert_int_eq(st_redact_json(r, d, st_json_doc_root(d), &c), 0);
    st_buf b = { 0 };
    st_json_write(&b, st_json_doc_root(d), 0);
    st_buf_putc(&b, 0);
    ck_assert_str_eq((char *)b.data, "{\"password\":\"hunter2\",\"token\":\"[REDACTED:github-token]\"}");
    st_buf_free(&b);
    st_json_doc_free(d);
    st_redactor_free(r);
}
END_TEST

/* A config written before a release added a built-in rule of the same name
 * (hashicorp-vault-token, databricks-token) still loads: the custom rule
 * adds to the built-in, counted under its name; with `disable` it replaces it. */
START_TEST(test_config_builtin_name)
{
    st_redactor *r;
    ck_assert_int_eq(st_redactor_new(&r), 0);
    st_err err = { { 0 } };
    const char conf[] = "rule hashicorp-vault-token vault:(?<secret>[a-z]{6})\n"
                        "rule databricks-token dapi-[0-9]{4}\n"
                        "disable jwt\n"
                        "rule jwt myjwt\\.[0-9]+\n";
    ck_assert_msg(st_redactor_load_config(r, S(conf), "redact.conf", &err) == 0, "%s", err.msg);
    const char in[] = "a hv@@s.CAESIJlWh3Xy9mZ1Q2d5cE9kNnFhbGxiS2Zq b vault:abcdef c dapi-1234 "
                      "d dapi0123456789abcdef0123456789abcdef e myjwt.42 "
                      "f eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJl";
    char clean[sizeof in];
    size_t cl = 0;
    for (size_t i = 0; i < sizeof in - 1; i++) {
        if (in[i] == '@' && in[i + 1] == '@') { i++; continue; }
        clean[cl++] = in[i];
    }
    char *out;
    size_t ol;
    st_redact_counts c;
    st_redact_counts_init(&c);
    ck_assert_int_eq(st_redact_text(r, clean, cl, &out, &ol, &c), 0);
    ck_assert_str_eq(out, "a [REDACTED:hashicorp-vault-token] b vault:[REDACTED:hashicorp-vault-token] c "
                          "[REDACTED:databricks-token] d [REDACTED:databricks-token] e [REDACTED:jwt] "
                          "f eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJl");
    free(out);
    ck_assert_uint_eq(c.n[ST_RULE_VAULT_TOKEN], 2);
    ck_assert_uint_eq(c.n[ST_RULE_DATABRICKS_TOKEN], 2);
    ck_assert_uint_eq(c.n[ST_RULE_JWT], 1);
    for (size_t i = ST_RULE_BUILTIN_COUNT; i < ST_REDACT_MAX_RULES; i++) ck_assert_uint_eq(c.n[i], 0);
    /* one member per name in the envelope's counts */
    st_json_doc *doc = st_json_doc_new();
    st_buf b = { 0 };
    st_json_write(&b, st_redact_counts_to_json(r, &c, doc), ST_JSON_SORT_KEYS);
    st_buf_putc(&b, 0);
    ck_assert_str_eq((char *)b.data, "{\"databricks-token\":2,\"hashicorp-vault-token\":2,\"jwt\":1}");
    st_buf_free(&b);
    st_json_doc_free(doc);
    ck_assert_int_eq(st_redactor_rule_id(r, "jwt"), ST_RULE_JWT);
    /* defining it again, in this text or a later one, is still an error */
    ck_assert_int_eq(st_redactor_load_config(r, S("rule jwt x\n"), "b.conf", &err), ST_EFORMAT);
    ck_assert_str_eq(err.msg, "b.conf:1: rule 'jwt' is already defined");
    st_redactor_free(r);
}
END_TEST

START_TEST(test_config_errors)
{
    static const struct { const char *conf, *msg; } bad[] = {
        { "rule ok a+\nfrobnicate x\n", "t.conf:2: unknown directive 'frobnicate' (expected 'rule' or 'disable')" },
        { "# c\n\nrule Bad-Name x\n", "t.conf:3: rule name 'Bad-Name' must match [a-z0-9-]{1,40}" },
        { "rule aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa x\n", "t.conf:1: rule name 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' must match [a-z0-9-]{1,40}" },
        { "rule\n", "t.conf:1: rule name '' must match [a-z0-9-]{1,40}" },
        { "rule x\n", "t.conf:1: rule 'x': missing regex" },
        { "rule x   \n", "t.conf:1: rule 'x': missing regex" },
        { "rule x a(b\n", "t.conf:1: rule 'x': regex error at offset 3: missing closing parenthesis" },
        { "rule x a*\n", "t.conf:1: rule 'x': regex matches the empty string" },
        { "rule github-token x\nrule github-token y\n", "t.conf:2: rule 'github-token' is already defined" },
        { "rule x a\nrule x b\n", "t.conf:2: rule 'x' is already defined" },
        { "disable\n", "t.conf:1: disable: missing rule name" },
        { "disable nope\n", "t.conf:1: disable: 'nope' is not a built-in rule" },
        { "disable jwt extra\n", "t.conf:1: disable: unexpected text after the rule name" },
        { "rule a x\0y\n", "t.conf:1: NUL byte" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        st_redactor *r;
        ck_assert_int_eq(st_redactor_new(&r), 0);
        st_err err = { { 0 } };
        size_t len = strlen(bad[i].conf);
        if (i == sizeof bad / sizeof *bad - 1) len = 11;
        int rc = st_redactor_load_config(r, bad[i].conf, len, "t.conf", &err);
        ck_assert_msg(rc == ST_EFORMAT, "case %zu: rc %d", i, rc);
        ck_assert_msg(strcmp(err.msg, bad[i].msg) == 0, "case %zu: [%s], want [%s]", i, err.msg, bad[i].msg);
        /* nothing of a failed text is added */
        ck_assert_uint_eq(st_redactor_rule_count(r), ST_RULE_BUILTIN_COUNT);
        st_redactor_free(r);
    }
    /* too many rules */
    st_buf many = { 0 };
    for (unsigned i = 0; i <= ST_REDACT_MAX_CUSTOM; i++) st_buf_printf(&many, "rule r%u x%u\n", i, i);
    st_redactor *r;
    ck_assert_int_eq(st_redactor_new(&r), 0);
    st_err err;
    ck_assert_int_eq(st_redactor_load_config(r, (const char *)many.data, many.len, "m", &err), ST_EFORMAT);
    ck_assert_str_eq(err.msg, "m:65: more than 64 custom rules");
    st_redactor_free(r);
    st_buf_free(&many);
}
END_TEST

START_TEST(test_config_file)
{
    char *dir = tu_tmpdir();
    ck_assert_ptr_nonnull(dir);
    char path[4200];
    snprintf(path, sizeof path, "%s/redact.conf", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("rule acme acme-[0-9]{4}\nrule broken (\n", f);
    fclose(f);
    st_redactor *r;
    ck_assert_int_eq(st_redactor_new(&r), 0);
    st_err err = { { 0 } };
    ck_assert_int_eq(st_redactor_load_file(r, path, &err), ST_EFORMAT);
    char want[4400];
    snprintf(want, sizeof want, "%s:2: rule 'broken': regex error at offset 1: missing closing parenthesis", path);
    ck_assert_str_eq(err.msg, want);
    f = fopen(path, "w");
    fputs("rule acme acme-[0-9]{4}\n", f);
    fclose(f);
    ck_assert_int_eq(st_redactor_load_file(r, path, &err), 0);
    ck_assert_int_eq(st_redactor_rule_id(r, "acme"), ST_RULE_BUILTIN_COUNT);
    snprintf(path, sizeof path, "%s/missing.conf", dir);
    ck_assert_int_eq(st_redactor_load_file(r, path, &err), ENOENT);
    ck_assert_int_eq(st_redactor_load_file(r, dir, &err), ST_EINVAL);
    st_redactor_free(r);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

/* A pathological custom regex that hits PCRE2's match limit redacts the
 * whole string: it cannot tell, so it fails closed. */
START_TEST(test_custom_match_limit_fails_closed)
{
    st_redactor *r;
    ck_assert_int_eq(st_redactor_new(&r), 0);
    st_err err;
    ck_assert_int_eq(st_redactor_load_config(r, S("rule slow ^(a|aa)+$\n"), "c", &err), 0);
    char in[200];
    memset(in, 'a', sizeof in);
    in[sizeof in - 1] = 'b';
    char *out;
    size_t ol;
    st_redact_counts c;
    st_redact_counts_init(&c);
    ck_assert_int_eq(st_redact_text(r, in, sizeof in, &out, &ol, &c), 0);
    ck_assert_str_eq(out, "[REDACTED:slow]");
    free(out);
    st_redactor_free(r);
}
END_TEST

/* ---- real payloads: no false positives on the sample events --------------------------------- */

START_TEST(test_sample_payloads_untouched)
{
    const char *dir = tu_shared_path("claude-code/payloads");
    if (!dir) return; /* shared/ not present: nothing to check */
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    struct dirent *de;
    int files = 0;
    while ((de = readdir(d)) != NULL) {
        if (!strstr(de->d_name, ".json")) continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        size_t len;
        char *text = tu_read_file(path, &len);
        ck_assert_ptr_nonnull(text);
        st_json_doc *doc = NULL;
        st_err err = { { 0 } };
        st_json_opts o = { ST_JSON_ALLOW_WS | ST_JSON_LENIENT_UTF8, 0, 0 };
        if (st_json_parse(&doc, text, len, &o, NULL, &err) == 0) {
            st_redact_counts c;
            st_redact_counts_init(&c);
            ck_assert_int_eq(st_redact_json(NULL, doc, st_json_doc_root(doc), &c), 0);
            ck_assert_msg(c.total == 0, "%s: %llu redactions in a sample without secrets", de->d_name,
                          (unsigned long long)c.total);
            st_json_doc_free(doc);
            files++;
        }
        st_buf b = { 0 };
        st_redact_counts c;
        st_redact_counts_init(&c);
        ck_assert_int_eq(st_redact_bytes(NULL, (const uint8_t *)text, len, &b, &c), 0);
        ck_assert_msg(c.total == 0, "%s (raw): %llu redactions", de->d_name, (unsigned long long)c.total);
        ck_assert(b.len == len && memcmp(b.data, text, len) == 0);
        st_buf_free(&b);
        free(text);
    }
    closedir(d);
    ck_assert_int_gt(files, 10);
}
END_TEST

/* ---- the fast scanner against the reference loop ---------------------------------------- */

/* Every way of finding candidates (64-byte chunks classified by SSSE3, SSE2
 * or a byte at a time) must run the matchers at the same positions as the
 * byte-at-a-time reference loop, so the spans (rule, start, end, in the
 * order found) must be equal, in text and raw mode. */
typedef struct diff_ctx {
    size_t inputs, bytes, spans, fails;
} diff_ctx;

static void diff_one(void *vctx, const char *in, size_t n)
{
    diff_ctx *d = vctx;
    for (unsigned mode = 0; mode <= RD_RAW; mode += RD_RAW) {
        rd_scan ref;
        rd_scan_init(&ref, NULL);
        ref.s = (const uint8_t *)in;
        ref.n = n;
        ref.mode = mode;
        if (n) rd_scan_builtin_isa(&ref, RD_ISA_REF);
        ck_assert(!ref.oom);
        d->spans += ref.nm;
        for (int isa = RD_ISA_REF + 1; isa < RD_ISA_COUNT; isa++) {
            if (!rd_isa_available(isa)) continue;
            rd_scan sc;
            rd_scan_init(&sc, NULL);
            sc.s = (const uint8_t *)in;
            sc.n = n;
            sc.mode = mode;
            if (n) rd_scan_builtin_isa(&sc, isa);
            int same = sc.nm == ref.nm;
            for (size_t i = 0; same && i < sc.nm; i++)
                same = sc.m[i].start == ref.m[i].start && sc.m[i].end == ref.m[i].end &&
                       sc.m[i].rule == ref.m[i].rule && sc.m[i].prio == ref.m[i].prio;
            if (!same && d->fails++ < 5)
                fprintf(stderr, "scanner %d differs from the reference (mode %u, %zu spans vs %zu) on [%.*s]\n", isa,
                        mode, sc.nm, ref.nm, SHOWN(n), in);
            rd_scan_free(&sc);
        }
        rd_scan_free(&ref);
    }
    d->inputs++;
    d->bytes += n;
}

/* The file whole, and each line of it (lines: for line-oriented files). */
static void diff_file(diff_ctx *d, const char *path, int lines)
{
    size_t len;
    char *text = tu_read_file(path, &len);
    if (!text) return;
    diff_one(d, text, len);
    for (size_t a = 0; lines && a < len;) {
        const char *nl = memchr(text + a, '\n', len - a);
        size_t e = nl ? (size_t)(nl - text) : len;
        diff_one(d, text + a, e - a);
        a = e + 1;
    }
    free(text);
}

static void diff_dir(diff_ctx *d, const char *dir, const char *suffix, int lines)
{
    DIR *dd = opendir(dir);
    if (!dd) return;
    struct dirent *de;
    while ((de = readdir(dd)) != NULL) {
        size_t l = strlen(de->d_name), sl = strlen(suffix);
        if (de->d_name[0] == '.' || l < sl || strcmp(de->d_name + l - sl, suffix) != 0) continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        diff_file(d, path, lines);
    }
    closedir(dd);
}

START_TEST(test_scanners_agree)
{
    ck_assert(rd_token_start2_agree());
    diff_ctx d = { 0 };
    /* every single byte and pair, so each table entry is used */
    for (unsigned a = 0; a < 256; a++)
        for (unsigned b = 0; b < 256; b += 1 + (a & 7)) {
            char two[3] = { (char)a, (char)b, (char)a };
            diff_one(&d, two, 1);
            diff_one(&d, two, 3);
        }
    nm_generate(diff_one, &d);
    static const struct { const char *dir, *suffix; int lines; } dirs[] = {
        { "tests/unit/redact_vectors", ".jsonl", 1 }, { "tests/fuzz/corpus/redact", "", 0 }, { "store", ".c", 0 },
        { "docs", ".md", 0 }, { "tests/unit", ".c", 0 },
    };
    for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++)
        diff_dir(&d, tu_source_path(dirs[i].dir), dirs[i].suffix, dirs[i].lines);
    const char *payloads = tu_shared_path("claude-code/payloads");
    if (payloads) diff_dir(&d, payloads, ".json", 0);
    fprintf(stderr, "scanners agree: %zu inputs, %zu bytes, %zu reference spans, %d classifiers\n", d.inputs, d.bytes,
            d.spans, 2 + rd_isa_available(RD_ISA_SSSE3) + rd_isa_available(RD_ISA_AVX2));
    ck_assert_int_gt(d.inputs, 100000);
    ck_assert_int_gt(d.spans, 10000);
    ck_assert_msg(d.fails == 0, "%zu inputs where a scanner differs from the reference (first ones on stderr)", d.fails);
}
END_TEST

static Suite *redact_suite(void)
{
    Suite *s = suite_create("redact");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_vectors);
    tcase_add_test(tc, test_no_secret_bytes_survive);
    tcase_add_test(tc, test_counts_to_json);
    tcase_add_test(tc, test_rule_names);
    tcase_add_test(tc, test_nul_and_lengths);
    tcase_add_test(tc, test_damaged_command_name);
    tcase_add_test(tc, test_bytes_appends);
    tcase_add_test(tc, test_very_deep_tree);
    tcase_add_test(tc, test_wide_tree);
    tcase_add_test(tc, test_many_colliding_keys);
    tcase_add_test(tc, test_positions_and_large_input);
    tcase_add_test(tc, test_linear_worst_cases);
    tcase_add_test(tc, test_utf8_preserved);
    tcase_add_test(tc, test_config_rules);
    tcase_add_test(tc, test_config_disable_key_aware);
    tcase_add_test(tc, test_config_builtin_name);
    tcase_add_test(tc, test_config_errors);
    tcase_add_test(tc, test_config_file);
    tcase_add_test(tc, test_custom_match_limit_fails_closed);
    tcase_add_test(tc, test_sample_payloads_untouched);
    suite_add_tcase(s, tc);
    TCase *td = tcase_create("differential");
    tcase_set_timeout(td, 600); /* ~5 s in a Release build, ~1 min under ASan */
    tcase_add_test(td, test_scanners_agree);
    suite_add_tcase(s, td);
    return s;
}

int main(void)
{
    return tu_run_suite(redact_suite());
}
