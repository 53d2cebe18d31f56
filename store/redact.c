/*
 * redact.c: the redaction driver. Owns the rule set's lifetime and names,
 * turns the candidate spans a scan collects into output (sort, merge,
 * replace each span by its marker, count), and walks JSON trees and raw
 * buffers. The detectors are elsewhere: redact_scan.c (tokens, PEM, JWT,
 * URLs), redact_assign.c (credential-named keys), redact_luhn.c (cards),
 * redact_config.c (custom PCRE2 rules).
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

void rd_add(rd_scan *sc, size_t start, size_t end, unsigned rule, unsigned prio)
{
    if (end <= start || end > sc->n || sc->oom) return;
    if (rule < ST_RULE_BUILTIN_COUNT && sc->r && (sc->r->disabled >> rule) & 1u) return;
    if (sc->nm == sc->cap) {
        size_t cap = sc->cap ? sc->cap * 2 : 16;
        rd_match *m = realloc(sc->m, cap * sizeof *m);
        if (!m) { sc->oom = 1; return; }
        sc->m = m;
        sc->cap = cap;
    }
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
static void rd_merge(rd_scan *sc)
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

#define MARK_PRE "[REDACTED:"

static size_t marker_len(const st_redactor *r, unsigned rule)
{
    return sizeof MARK_PRE - 1 + strlen(st_redactor_rule_name(r, rule)) + 1;
}

static size_t rd_out_len(const rd_scan *sc)
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
static void rd_out_write(const rd_scan *sc, uint8_t *dst, st_redact_counts *c)
{
    size_t at = 0;
    for (size_t i = 0; i < sc->nm; i++) {
        const rd_match *m = &sc->m[i];
        const char *name = st_redactor_rule_name(sc->r, m->rule);
        dst = put(dst, sc->s + at, m->start - at);
        dst = put(dst, MARK_PRE, sizeof MARK_PRE - 1);
        dst = put(dst, name, strlen(name));
        *dst++ = ']';
        at = m->end;
        if (c) { c->n[m->rule]++; c->total++; }
    }
    put(dst, sc->s + at, sc->n - at);
}

/* Runs every detector over s[0..n) and leaves the merged spans in sc. */
static int rd_run(rd_scan *sc, const uint8_t *s, size_t n, unsigned mode)
{
    sc->s = s;
    sc->n = n;
    sc->mode = mode;
    sc->nm = 0;
    sc->aws_until = 0;
    if (n) {
        rd_scan_builtin(sc);
        if (sc->r && sc->r->ncustom && rd_scan_custom(sc) != 0) return ENOMEM;
    }
    if (sc->oom) return ENOMEM;
    rd_merge(sc);
    return 0;
}

/* Key-aware value: the whole value from `from` on is a secret. Keep the
 * detectors' spans if they already cover it (so "ghp_..." under "token" is
 * named github-token), else one span of rule `rule` over all of it. */
static int rd_force_whole(rd_scan *sc, size_t from, unsigned rule)
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

static void scan_init(rd_scan *sc, const st_redactor *r)
{
    memset(sc, 0, sizeof *sc);
    sc->r = r;
}

static void scan_free(rd_scan *sc)
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
    scan_init(&sc, r);
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
    scan_free(&sc);
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
    scan_init(&sc, r);
    int rc = rd_run(&sc, in, len, RD_RAW);
    if (rc == 0) {
        size_t ol = rd_out_len(&sc);
        if (st_buf_reserve(out, ol + 1) != 0) {
            rc = ENOMEM;
        } else {
            rd_out_write(&sc, out->data + out->len, counts);
            out->len += ol;
        }
    }
    scan_free(&sc);
    free(dec);
    return rc;
}

/* ==== JSON trees ================================================================== */

typedef struct rd_tree {
    rd_scan sc;
    st_json_doc *doc;
    st_redact_counts *c;
} rd_tree;

/* Redacts the string *ps, *pn (a key or a string value) in place. keycls != RK_NONE:
 * the string is the value of a credential-named key. *changed is set when
 * the string was replaced. */
static int tree_string(rd_tree *t, char **ps, size_t *pn, int keycls, int *changed)
{
    rd_scan *sc = &t->sc;
    int rc = rd_run(sc, (const uint8_t *)*ps, *pn, 0);
    if (rc) return rc;
    if (RK_CLASS(keycls) != RK_NONE && rd_tree_value_secret(*ps, *pn, keycls)) {
        size_t from = 0;
        unsigned rule = ST_RULE_PASSWORD_ASSIGNMENT;
        if (RK_CLASS(keycls) == RK_AUTH) {
            from = rd_auth_scheme_len((const uint8_t *)*ps, *pn);
            if (from) rule = ST_RULE_AUTH_HEADER;
            if (from >= *pn) from = 0;
        } else if (RK_CLASS(keycls) == RK_AWS_SECRET && rd_aws_secret_shape((const uint8_t *)*ps, *pn)) {
            rule = ST_RULE_AWS_SECRET_KEY;
        }
        /* unless the key-aware rule is off: then keep what the detectors found */
        if (!(sc->r && (sc->r->disabled >> rule) & 1u) && rd_force_whole(sc, from, rule) != 0)
            return ENOMEM;
    }
    if (sc->nm == 0) return 0;
    size_t ol = rd_out_len(sc);
    char *o = st_json_doc_alloc(t->doc, ol + 1);
    if (!o) return ENOMEM;
    rd_out_write(sc, (uint8_t *)o, t->c);
    o[ol] = '\0';
    *ps = o;
    *pn = ol;
    *changed = 1;
    return 0;
}

/* A number node that is a card number, or any number under a password-named
 * key ({"pin_password": 1234}), becomes a marker string. */
static int tree_number(rd_tree *t, st_json *v, int keycls)
{
    unsigned rule;
    if (keycls & RK_PASSWORD) rule = ST_RULE_PASSWORD_ASSIGNMENT;
    else if (rd_card_number_literal(v->str, v->len)) rule = ST_RULE_PAYMENT_CARD;
    else return 0;
    if (t->sc.r && (t->sc.r->disabled >> rule) & 1u) return 0;
    const char *name = rd_builtin_names[rule];
    size_t ol = sizeof MARK_PRE - 1 + strlen(name) + 1;
    char *o = st_json_doc_alloc(t->doc, ol + 1);
    if (!o) return ENOMEM;
    snprintf(o, ol + 1, MARK_PRE "%s]", name);
    v->type = ST_JSON_STRING;
    v->str = o;
    v->len = ol;
    if (t->c) { t->c->n[rule]++; t->c->total++; }
    return 0;
}

static int key_is(const st_json *m, const char *const *names)
{
    for (; *names; names++)
        if (m->key_len == strlen(*names) && memcmp(m->key, *names, m->key_len) == 0) return 1;
    return 0;
}

/* {"name": "DB_PASSWORD", "value": "..."}: the class of the value member. */
static const st_json *name_value_pair(const st_json *obj, int *cls)
{
    static const char *const names[] = { "name", "Name", "key", "Key", "ParameterKey", "variable", NULL };
    static const char *const values[] = { "value", "Value", "ParameterValue", NULL };
    const st_json *val = NULL;
    *cls = RK_NONE;
    for (const st_json *m = obj->child; m; m = m->next) {
        if (!m->key) continue;
        if (m->type == ST_JSON_STRING && *cls == RK_NONE && key_is(m, names)) *cls = rd_key_class(m->str, m->len);
        else if (!val && key_is(m, values)) val = m;
    }
    return *cls != RK_NONE ? val : NULL;
}

static int key_cmp(const void *a, const void *b)
{
    const st_json *x = *(const st_json *const *)a, *y = *(const st_json *const *)b;
    size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
    int c = memcmp(x->key, y->key, n);
    if (c) return c;
    if (x->key_len != y->key_len) return x->key_len < y->key_len ? -1 : 1;
    return 0;
}

static int ptr_cmp(const void *a, const void *b)
{
    const void *x = *(const void *const *)a, *y = *(const void *const *)b;
    return x < y ? -1 : x > y;
}

/* The number after a trailing "#" in a key ("x#12" -> 12), else 0. Digit
 * strings longer than 18 are ignored: our suffixes never reach that length. */
static uint64_t trailing_num(const char *k, size_t n)
{
    size_t d = 0;
    while (d < n && k[n - 1 - d] >= '0' && k[n - 1 - d] <= '9') d++;
    if (d == 0 || d > 18 || d == n || k[n - 1 - d] != '#') return 0;
    uint64_t v = 0;
    for (size_t i = n - d; i < n; i++) v = v * 10 + (uint64_t)(k[i] - '0');
    return v;
}

/* Redacted keys that now equal another key of the object get "#<n>", with
 * n above every "#<digits>" suffix already in the object, so one pass makes
 * the keys unique. Only redacted members (listed in `changed`) are renamed;
 * duplicates that were in the input are left alone. */
static int dedup_keys(rd_tree *t, st_json *obj, st_json **changed, size_t nchanged)
{
    st_json **all = malloc(obj->count * sizeof *all);
    if (!all) return ENOMEM;
    size_t n = 0;
    uint64_t seq = 1;
    for (st_json *m = obj->child; m && n < obj->count; m = m->next) {
        all[n++] = m;
        uint64_t tn = trailing_num(m->key, m->key_len);
        if (tn >= seq) seq = tn + 1;
    }
    qsort(all, n, sizeof *all, key_cmp);
    qsort(changed, nchanged, sizeof *changed, ptr_cmp);
    int rc = 0;
    for (size_t g = 0; g < n && rc == 0;) {
        size_t e = g + 1;
        while (e < n && key_cmp(&all[g], &all[e]) == 0) e++;
        if (e - g > 1) {
            /* keep one member under the key: an unredacted one if any */
            size_t keep = g;
            for (size_t i = g; i < e; i++)
                if (!bsearch(&all[i], changed, nchanged, sizeof *changed, ptr_cmp)) { keep = i; break; }
            for (size_t i = g; i < e && rc == 0; i++) {
                st_json *m = all[i];
                if (i == keep || !bsearch(&m, changed, nchanged, sizeof *changed, ptr_cmp)) continue;
                char suf[24];
                int sl = snprintf(suf, sizeof suf, "#%llu", (unsigned long long)seq++);
                char *k2 = st_json_doc_alloc(t->doc, m->key_len + (size_t)sl + 1);
                if (!k2) { rc = ENOMEM; break; }
                memcpy(k2, m->key, m->key_len);
                memcpy(k2 + m->key_len, suf, (size_t)sl + 1);
                m->key = k2;
                m->key_len += (size_t)sl;
            }
        }
        g = e;
    }
    free(all);
    return rc;
}

/* One object or array: keys and scalar members; containers are pushed. */
static int tree_container(rd_tree *t, st_json *obj, st_json ***stack, size_t *sp, size_t *scap)
{
    int pair_cls = RK_NONE;
    const st_json *pair_val = obj->type == ST_JSON_OBJECT ? name_value_pair(obj, &pair_cls) : NULL;
    st_json *changed_small[8], **changed = changed_small;
    size_t nchanged = 0, chcap = 8;
    int rc = 0;
    for (st_json *m = obj->child; m && rc == 0; m = m->next) {
        int cls = RK_NONE;
        if (obj->type == ST_JSON_OBJECT && m->key) {
            cls = rd_key_class(m->key, m->key_len);
            if (m == pair_val && cls == RK_NONE) cls = pair_cls;
            int kch = 0;
            rc = tree_string(t, &m->key, &m->key_len, RK_NONE, &kch);
            if (rc == 0 && kch) {
                if (nchanged == chcap) {
                    st_json **nc = malloc(2 * chcap * sizeof *nc);
                    if (!nc) { rc = ENOMEM; break; }
                    memcpy(nc, changed, nchanged * sizeof *nc);
                    if (changed != changed_small) free(changed);
                    changed = nc;
                    chcap *= 2;
                }
                changed[nchanged++] = m;
            }
        }
        if (rc) break;
        int vch = 0;
        switch (m->type) {
        case ST_JSON_STRING: rc = tree_string(t, &m->str, &m->len, cls, &vch); break;
        case ST_JSON_NUMBER: rc = tree_number(t, m, cls); break;
        case ST_JSON_ARRAY:
        case ST_JSON_OBJECT:
            if (*sp == *scap) {
                size_t nc = *scap ? *scap * 2 : 64;
                st_json **ns = realloc(*stack, nc * sizeof *ns);
                if (!ns) { rc = ENOMEM; break; }
                *stack = ns;
                *scap = nc;
            }
            (*stack)[(*sp)++] = m;
            break;
        default: break;
        }
    }
    if (rc == 0 && nchanged) rc = dedup_keys(t, obj, changed, nchanged);
    if (changed != changed_small) free(changed);
    return rc;
}

int st_redact_json(const st_redactor *r, st_json_doc *doc, st_json *v, st_redact_counts *counts)
{
    if (!doc || !v) return ST_EINVAL;
    rd_tree t;
    scan_init(&t.sc, r);
    t.doc = doc;
    t.c = counts;
    int rc = 0, ch = 0;
    st_json **stack = NULL;
    size_t sp = 0, scap = 0;
    switch (v->type) {
    case ST_JSON_STRING: rc = tree_string(&t, &v->str, &v->len, RK_NONE, &ch); break;
    case ST_JSON_NUMBER: rc = tree_number(&t, v, RK_NONE); break;
    case ST_JSON_ARRAY:
    case ST_JSON_OBJECT:
        rc = tree_container(&t, v, &stack, &sp, &scap);
        while (rc == 0 && sp) rc = tree_container(&t, stack[--sp], &stack, &sp, &scap);
        break;
    default: break;
    }
    free(stack);
    scan_free(&t.sc);
    return rc;
}
