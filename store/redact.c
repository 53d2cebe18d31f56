/*
 * redact.c: the redaction driver. Owns the rule set's lifetime and names,
 * the character classes, and turns the candidate spans a scan collects into
 * output (sort, merge, replace each span by its marker, count) for text and
 * raw buffers. JSON trees are walked in redact_tree.c. The detectors are
 * redact_scan.c (tokens, PEM, JWT, URLs), redact_assign.c (credential-named
 * keys), redact_luhn.c (cards) and redact_config.c (custom PCRE2 rules).
 */
#include "redact_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const rd_builtin_names[ST_RULE_BUILTIN_COUNT] = {
    [ST_RULE_AWS_ACCESS_KEY_ID] = "aws-access-key-id",
    [ST_RULE_AWS_SECRET_KEY] = "aws-secret-access-key",
    [ST_RULE_GOOGLE_API_KEY] = "google-api-key",
    [ST_RULE_GITHUB_TOKEN] = "github-token",
    [ST_RULE_GITLAB_TOKEN] = "gitlab-token",
    [ST_RULE_ANTHROPIC_KEY] = "anthropic-api-key",
    [ST_RULE_OPENAI_KEY] = "openai-api-key",
    [ST_RULE_SLACK_TOKEN] = "slack-token",
    [ST_RULE_SLACK_WEBHOOK] = "slack-webhook-url",
    [ST_RULE_STRIPE_KEY] = "stripe-key",
    [ST_RULE_NPM_TOKEN] = "npm-token",
    [ST_RULE_HUGGINGFACE_TOKEN] = "huggingface-token",
    [ST_RULE_PYPI_TOKEN] = "pypi-token",
    [ST_RULE_SENDGRID_KEY] = "sendgrid-api-key",
    [ST_RULE_DIGITALOCEAN_TOKEN] = "digitalocean-token",
    [ST_RULE_VAULT_TOKEN] = "hashicorp-vault-token",
    [ST_RULE_DATABRICKS_TOKEN] = "databricks-token",
    [ST_RULE_SHOPIFY_TOKEN] = "shopify-token",
    [ST_RULE_TWILIO_KEY] = "twilio-api-key",
    [ST_RULE_TWILIO_AUTH_TOKEN] = "twilio-auth-token",
    [ST_RULE_GOOGLE_OAUTH] = "google-oauth-token",
    [ST_RULE_GOOGLE_CLIENT_SECRET] = "google-client-secret",
    [ST_RULE_TELEGRAM_TOKEN] = "telegram-bot-token",
    [ST_RULE_DISCORD_WEBHOOK] = "discord-webhook-url",
    [ST_RULE_PASSWORD_HASH] = "password-hash",
    [ST_RULE_AGE_KEY] = "age-secret-key",
    [ST_RULE_HEROKU_KEY] = "heroku-api-key",
    [ST_RULE_JWT] = "jwt",
    [ST_RULE_PRIVATE_KEY] = "private-key",
    [ST_RULE_PAYMENT_CARD] = "payment-card",
    [ST_RULE_URL_CREDENTIALS] = "url-credentials",
    [ST_RULE_AUTH_HEADER] = "authorization-header",
    [ST_RULE_PASSWORD_ASSIGNMENT] = "password-assignment",
};

#define D RC_DIGIT
#define U RC_UPPER
#define L RC_LOWER
#define _ RC_UNDER
#define H RC_DASH
#define B RC_B64X
#define S RC_SPACE
#define K RC_KEYX
const uint8_t rd_cls[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, S, S, 0, 0, S, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    S, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, B, 0, H, K, B,
    D, D, D, D, D, D, D, D, D, D, 0, 0, 0, 0, 0, 0,
    0, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U,
    U, U, U, U, U, U, U, U, U, U, U, 0, 0, 0, 0, _,
    0, L, L, L, L, L, L, L, L, L, L, L, L, L, L, L,
    L, L, L, L, L, L, L, L, L, L, L, 0, 0, 0, 0, 0,
    /* 0x80..0xff: non-ASCII is never part of a token */
};
#undef D
#undef U
#undef L
#undef _
#undef H
#undef B
#undef S
#undef K

static int hexdig(uint8_t c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

size_t rd_escape_end(const uint8_t *s, size_t n, size_t i)
{
    if (i + 1 >= n || s[i] != '\\') return 0;
    if (strchr("nrtbf", s[i + 1]) && s[i + 1]) return i + 2;
    if (s[i + 1] == 'u' && i + 5 < n && hexdig(s[i + 2]) && hexdig(s[i + 3]) && hexdig(s[i + 4]) && hexdig(s[i + 5]))
        return i + 6;
    return 0;
}

int rd_escape_before(const uint8_t *s, size_t i)
{
    if (i >= 2 && s[i - 2] == '\\' && strchr("nrtbf", s[i - 1]) && s[i - 1]) return 1;
    return i >= 6 && s[i - 6] == '\\' && s[i - 5] == 'u' && hexdig(s[i - 4]) && hexdig(s[i - 3]) && hexdig(s[i - 2]) &&
           hexdig(s[i - 1]);
}

void rd_add(rd_scan *sc, size_t start, size_t end, unsigned rule, unsigned prio)
{
    if (rule < ST_RULE_BUILTIN_COUNT && sc->r && (sc->r->disabled >> rule) & 1u) return;
    rd_add_any(sc, start, end, rule, prio);
}

void rd_add_any(rd_scan *sc, size_t start, size_t end, unsigned rule, unsigned prio)
{
    if (end <= start || end > sc->n || sc->oom) return;
    rd_match *m = st_array_room(sc->m, &sc->cap, sc->nm, sizeof *m, 16);
    if (!m) { sc->oom = 1; return; }
    sc->m = m;
    sc->m[sc->nm++] = (rd_match){ start, end, (uint16_t)rule, (uint8_t)prio };
}

/* ==== rule set ============================================================== */

void st_redact_counts_init(st_redact_counts *c)
{
    memset(c, 0, sizeof *c);
}

int st_redactor_new(st_redactor **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? 0 : ENOMEM;
}

void st_redactor_free(st_redactor *r)
{
    if (!r) return;
    rd_custom_free(r);
    free(r);
}

size_t st_redactor_rule_count(const st_redactor *r)
{
    return ST_RULE_BUILTIN_COUNT + (r ? r->ncustom : 0);
}

const char *st_redactor_rule_name(const st_redactor *r, size_t id)
{
    if (id < ST_RULE_BUILTIN_COUNT) return rd_builtin_names[id];
    id -= ST_RULE_BUILTIN_COUNT;
    if (r && id < r->ncustom) return r->custom[id].name;
    return NULL;
}

int st_redactor_rule_id(const st_redactor *r, const char *name)
{
    size_t n = st_redactor_rule_count(r);
    for (size_t i = 0; i < n; i++)
        if (strcmp(st_redactor_rule_name(r, i), name) == 0) return (int)i;
    return -1;
}

st_json *st_redact_counts_to_json(const st_redactor *r, const st_redact_counts *c, st_json_doc *doc)
{
    st_json *o = st_json_new_object(doc);
    if (!o) return NULL;
    size_t n = st_redactor_rule_count(r);
    for (size_t i = 0; i < n; i++) {
        if (!c->n[i]) continue;
        const char *name = st_redactor_rule_name(r, i);
        st_json *v = st_json_new_int(doc, c->n[i]);
        if (!v || st_json_object_add(doc, o, name, strlen(name), v) != 0) return NULL;
    }
    return o;
}

/* ==== spans to output ========================================================== */

static int match_cmp(const void *a, const void *b)
{
    const rd_match *x = a, *y = b;
    if (x->start != y->start) return x->start < y->start ? -1 : 1;
    if (x->end != y->end) return x->end > y->end ? -1 : 1;
    return (int)y->prio - (int)x->prio;
}

/* Sorts the spans and merges overlapping ones in place: the union is
 * redacted, and the highest-priority rule (the first found on a tie) names it. */
void rd_merge(rd_scan *sc)
{
    if (sc->nm < 2) return;
    qsort(sc->m, sc->nm, sizeof *sc->m, match_cmp);
    size_t k = 0;
    for (size_t i = 1; i < sc->nm; i++) {
        rd_match *cur = &sc->m[k], *m = &sc->m[i];
        if (m->start < cur->end) {
            if (m->end > cur->end) cur->end = m->end;
            if (m->prio > cur->prio) { cur->rule = m->rule; cur->prio = m->prio; }
        } else {
            sc->m[++k] = *m;
        }
    }
    sc->nm = k + 1;
}

static size_t marker_len(const st_redactor *r, unsigned rule)
{
    return sizeof RD_MARK_PRE - 1 + strlen(st_redactor_rule_name(r, rule)) + 1;
}

size_t rd_out_len(const rd_scan *sc)
{
    size_t len = sc->n;
    for (size_t i = 0; i < sc->nm; i++)
        len = len - (sc->m[i].end - sc->m[i].start) + marker_len(sc->r, sc->m[i].rule);
    return len;
}

static uint8_t *put(uint8_t *d, const void *p, size_t n)
{
    if (n) memcpy(d, p, n);
    return d + n;
}

/* Writes the redacted text (rd_out_len bytes, no NUL) to dst and counts. */
void rd_out_write(const rd_scan *sc, uint8_t *dst, st_redact_counts *c)
{
    size_t at = 0;
    for (size_t i = 0; i < sc->nm; i++) {
        const rd_match *m = &sc->m[i];
        const char *name = st_redactor_rule_name(sc->r, m->rule);
        dst = put(dst, sc->s + at, m->start - at);
        dst = put(dst, RD_MARK_PRE, sizeof RD_MARK_PRE - 1);
        dst = put(dst, name, strlen(name));
        *dst++ = ']';
        at = m->end;
        if (c) { c->n[m->rule]++; c->total++; }
    }
    put(dst, sc->s + at, sc->n - at);
}

/* Runs every detector over s[0..n) and leaves the merged spans in sc. */
/* A new text for sc: no spans, and none of the last text's memos. */
static inline void scan_begin(rd_scan *sc, const uint8_t *s, size_t n, unsigned mode)
{
    sc->s = s;
    sc->n = n;
    sc->mode = mode;
    sc->nm = 0;
    sc->aws_until = 0;
    sc->cmd_to = 0;
    sc->heredoc_end = 0;
    sc->val_end = 0;
}

/* The spans found, merged (ENOMEM if one could not be kept). */
static inline int scan_end(rd_scan *sc)
{
    if (sc->oom) return ENOMEM;
    if (sc->nm > 1) rd_merge(sc);
    return 0;
}

int rd_run(rd_scan *sc, const uint8_t *s, size_t n, unsigned mode)
{
    scan_begin(sc, s, n, mode);
    if (n) {
        rd_scan_builtin(sc);
        if (sc->r && sc->r->ncustom && rd_scan_custom(sc) != 0) return ENOMEM;
    }
    return scan_end(sc);
}

/* Only the detectors of ctx in s[0..n) (rd_pgpass_lines, rd_cmd_extras), merged, in sc. */
int rd_run_context(rd_scan *sc, const uint8_t *s, size_t n, unsigned mode, unsigned ctx)
{
    scan_begin(sc, s, n, mode);
    if (n && (ctx & RD_CTX_PGPASS)) rd_pgpass_lines(sc);
    if (n && (ctx & RD_CTX_SCRIPT)) rd_cmd_extras(sc, 0, n);
    return scan_end(sc);
}

/* Key-aware value: the whole value from `from` on is a secret. Keep the
 * detectors' spans if they already cover it (so "ghp_..." under "token" is
 * named github-token), else one span of rule `rule` over all of it. */
int rd_force_whole(rd_scan *sc, size_t from, unsigned rule)
{
    int covered = sc->nm > 0;
    size_t at = from;
    for (size_t i = 0; i < sc->nm && covered; i++) {
        const rd_match *m = &sc->m[i];
        if (m->end <= from) continue;
        for (size_t j = at; j < m->start; j++)
            if (!RD_SPACE(sc->s[j])) { covered = 0; break; }
        if (m->start < from) covered = 0;
        at = m->end;
    }
    for (size_t j = at; j < sc->n && covered; j++)
        if (!RD_SPACE(sc->s[j])) covered = 0;
    if (covered) return 0;
    /* Spans before `from` (inside the scheme word) cannot exist: replace all. */
    sc->nm = 0;
    rd_add(sc, from, sc->n, rule, RD_PRIO_CONTEXT);
    return sc->oom ? ENOMEM : 0;
}

void rd_scan_init(rd_scan *sc, const st_redactor *r)
{
    /* (field by field: cheaper than clearing the whole struct for a short string) */
    sc->r = r;
    sc->s = NULL;
    sc->n = 0;
    sc->mode = 0;
    sc->m = NULL;
    sc->nm = sc->cap = 0;
    sc->oom = 0;
    sc->md = NULL;
    sc->aws_until = 0;
    sc->heredoc_end = 0;
    sc->val_from = sc->val_end = 0;
    sc->val_key = 0;
    sc->cmd_from = sc->cmd_to = sc->cmd_word = 0;
    sc->cmd_found = sc->cmd_state = 0;
}

void rd_scan_free(rd_scan *sc)
{
    rd_scan_free_md(sc);
    free(sc->m);
}

/* ==== text and raw bytes ========================================================= */

int st_redact_text(const st_redactor *r, const char *in, size_t len, char **out, size_t *out_len,
                   st_redact_counts *counts)
{
    *out = NULL;
    if (out_len) *out_len = 0;
    if (!in && len) return ST_EINVAL;
    rd_scan sc;
    rd_scan_init(&sc, r);
    int rc = rd_run(&sc, (const uint8_t *)in, len, 0);
    if (rc == 0) {
        size_t ol = rd_out_len(&sc);
        char *o = malloc(ol + 1);
        if (!o) {
            rc = ENOMEM;
        } else {
            rd_out_write(&sc, (uint8_t *)o, counts);
            o[ol] = '\0';
            *out = o;
            if (out_len) *out_len = ol;
        }
    }
    rd_scan_free(&sc);
    return rc;
}

/* \u00XX for printable ASCII other than '"' and '\\', and \/, decoded in a
 * copy so an escape cannot split a token in raw input. NULL if there is
 * nothing to decode (or on ENOMEM, with *oom set). */
static uint8_t *raw_unescape(const uint8_t *in, size_t len, size_t *out_len, int *oom)
{
    const uint8_t *p = memchr(in, '\\', len);
    if (!p) return NULL;
    uint8_t *o = NULL;
    size_t w = 0, i = (size_t)(p - in);
    for (; i < len; i++) {
        size_t skip = 0;
        uint8_t c = 0;
        if (in[i] != '\\') {
            /* copy (or skip over) the run up to the next backslash */
            const uint8_t *q = memchr(in + i, '\\', len - i);
            size_t run = (q ? (size_t)(q - in) : len) - i;
            if (o) memcpy(o + w, in + i, run);
            w += o ? run : 0;
            i += run - 1;
            continue;
        }
        if (i + 1 < len) {
            if (in[i + 1] == '/') {
                c = '/';
                skip = 2;
            } else if (in[i + 1] == 'u' && i + 5 < len && in[i + 2] == '0' && in[i + 3] == '0' &&
                       hexdig(in[i + 4]) && hexdig(in[i + 5])) {
                unsigned v = 0;
                for (int k = 4; k < 6; k++) {
                    uint8_t h = in[i + k];
                    v = v * 16 + (unsigned)(h <= '9' ? h - '0' : (h | 0x20) - 'a' + 10);
                }
                if (v > 0x20 && v < 0x7f && v != '"' && v != '\\') { c = (uint8_t)v; skip = 6; }
            } else if (in[i + 1] == '\\') {
                /* an escaped backslash: copy both, so "\\u0041" stays text */
                if (o) { o[w++] = '\\'; o[w++] = '\\'; }
                i++;
                continue;
            }
        }
        if (skip) {
            if (!o) {
                if (!(o = malloc(len))) { *oom = 1; return NULL; }
                memcpy(o, in, i);
                w = i;
            }
            o[w++] = c;
            i += skip - 1;
        } else if (o) {
            o[w++] = in[i];
        }
    }
    *out_len = w;
    return o;
}

/* The first needle[0..nl) in s[from, n), or n: memchr for its byte at
 * `rare` (one that text seldom holds), then a compare (glibc's memmem is
 * a byte loop; memchr is vectorized). */
static size_t find_lit(const uint8_t *s, size_t n, size_t from, const char *needle, size_t nl, size_t rare)
{
    if (n < nl || from + rare >= n) return n;
    const uint8_t *p = s + from + rare, *end = s + n;
    while (p < end && (p = memchr(p, (uint8_t)needle[rare], (size_t)(end - p))) != NULL) {
        size_t at = (size_t)(p - s) - rare;
        if (at + nl <= n && memcmp(s + at, needle, nl) == 0) return at;
        p++;
    }
    return n;
}

int st_redact_bytes(const st_redactor *r, const uint8_t *in, size_t len, st_buf *out,
                    st_redact_counts *counts)
{
    if (!in && len) return ST_EINVAL;
    int oom = 0;
    size_t dlen = 0;
    uint8_t *dec = raw_unescape(in, len, &dlen, &oom);
    if (oom) return ENOMEM;
    if (dec) { in = dec; len = dlen; }
    rd_scan sc;
    rd_scan_init(&sc, r);
    int rc = rd_run(&sc, in, len, RD_RAW);
    if (rc == 0) {
        /* raw input is a whole event: the forms of its commands (the JSON
         * strings after "command" keys), the lines of a .pgpass file named
         * anywhere in it, and the command forms anywhere when it names a
         * .sql, .bat, .cmd or .ps1 file */
        size_t nm = sc.nm, k;
        for (size_t p = 0; (k = find_lit(in, len, p, "\"command\"", 9, 3)) != len;) {
            size_t a = k + 9, e;
            while (a < len && (in[a] == ' ' || in[a] == ':' || in[a] == '\t')) a++;
            if (a < len && in[a] == '"') a++;
            for (e = a; e < len && !(in[e] == '"' && in[e - 1] != '\\'); e++) {}
            rd_cmd_extras(&sc, a, e);
            p = e > a ? e : a + 1;
        }
        if (find_lit(in, len, 0, "pgpass", 6, 1) != len) rd_pgpass_lines(&sc);
        if (rd_script_named(in, len)) rd_cmd_extras(&sc, 0, len); /* a .sql or .bat file's lines */
        if (sc.oom) rc = ENOMEM;
        else if (sc.nm != nm) rd_merge(&sc);
    }
    if (rc == 0) {
        size_t ol = rd_out_len(&sc);
        if (st_buf_reserve(out, ol + 1) != 0) {
            rc = ENOMEM;
        } else {
            rd_out_write(&sc, out->data + out->len, counts);
            out->len += ol;
        }
    }
    rd_scan_free(&sc);
    free(dec);
    return rc;
}
