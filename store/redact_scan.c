/*
 * redact_scan.c: the built-in scanner. One pass over the bytes, 64 at a
 * time: a classifier (SIMD, see "finding candidates" below) marks the bytes
 * that can start something worth a closer look, and each of those is
 * checked by a small hand-written matcher:
 *
 *   letter at a word start   prefixed tokens (AKIA..., ghp_..., sk-ant-...,
 *                            xoxb-..., eyJ...JWT), table `tokens` below;
 *                            "aws_... X", "ENV KEY X" (redact_cmd.c)
 *   digit at a word start    payment card numbers (redact_luhn.c), "1//0"
 *                            Google refresh tokens, "$2b$..." crypt hashes
 *   '-'                      "-----BEGIN ... PRIVATE KEY-----" blocks,
 *                            "--password value" flags (redact_assign.c),
 *                            "mysql -pX", "curl -u u:X" (redact_cmd.c)
 *   ':'                      "scheme://user:password@host", Slack and
 *                            Discord webhooks, "key: value"
 *                            (redact_assign.c), Telegram bot tokens,
 *                            npm "/:_authToken X", PuTTY "Private-Lines: N"
 *   '='                      "key=value" (redact_assign.c)
 *   '<'                      "<password>value</password>", .NET "<add key=
 *                            value=/>", R "key <- value" (redact_assign.c),
 *                            "chpasswd <<< u:pw" (redact_cmd.c)
 *   '$'                      "$1$", "$y$", "$argon2id$" ... password hashes
 *   '|'                      "echo u:pw | chpasswd", "| sudo -S",
 *                            "| docker login --password-stdin" (redact_cmd.c)
 *
 * Most bytes are never looked at one by one: the scanner runs at several
 * hundred MB/s on text (GB/s on base64) and needs no setup, unlike a regex
 * engine that must compile (PCRE2) or load a database (Hyperscan) in every
 * hook process. Tokens need a word start on the left (so base64 data and
 * hex digests do not match by accident) and, for fixed-length tokens, a
 * non-alphanumeric byte on the right.
 */
#include "redact_int.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* ==== prefixed tokens =========================================================== */

enum { S_UPNUM, S_ALNUM, S_WORD, S_B64URL, S_ALNUMDASH, S_HEX };
enum {
    C_NONE = 0,
    C_FIXED = 1,      /* exactly min chars, then a byte that is not alphanumeric */
    C_MIXED = 2,      /* body has upper, lower and digit */
    C_CASES = 4,      /* body has upper and lower */
    C_DIGIT = 8,      /* body has a digit */
};

typedef struct tok_rule {
    const char *prefix;
    uint8_t plen, rule, set, check;
    uint16_t min;
} tok_rule;

/* One table per first byte; longer prefixes before shorter ones that share a start. */
static const tok_rule tok_A[] = {
    { "AKIA", 4, ST_RULE_AWS_ACCESS_KEY_ID, S_UPNUM, C_FIXED, 16 },
    { "ASIA", 4, ST_RULE_AWS_ACCESS_KEY_ID, S_UPNUM, C_FIXED, 16 },
    { "ABIA", 4, ST_RULE_AWS_ACCESS_KEY_ID, S_UPNUM, C_FIXED, 16 },
    { "ACCA", 4, ST_RULE_AWS_ACCESS_KEY_ID, S_UPNUM, C_FIXED, 16 },
    { "A3T", 3, ST_RULE_AWS_ACCESS_KEY_ID, S_UPNUM, C_FIXED, 17 },
    { "AGE-SECRET-KEY-1", 16, ST_RULE_AGE_KEY, S_UPNUM, C_FIXED, 58 },
    { "AIza", 4, ST_RULE_GOOGLE_API_KEY, S_B64URL, C_FIXED, 35 },
};
static const tok_rule tok_g[] = {
    { "github_pat_", 11, ST_RULE_GITHUB_TOKEN, S_WORD, C_NONE, 22 },
    { "ghp_", 4, ST_RULE_GITHUB_TOKEN, S_ALNUM, C_NONE, 36 },
    { "gho_", 4, ST_RULE_GITHUB_TOKEN, S_ALNUM, C_NONE, 36 },
    { "ghu_", 4, ST_RULE_GITHUB_TOKEN, S_ALNUM, C_NONE, 36 },
    { "ghs_", 4, ST_RULE_GITHUB_TOKEN, S_ALNUM, C_NONE, 36 },
    { "ghr_", 4, ST_RULE_GITHUB_TOKEN, S_ALNUM, C_NONE, 36 },
    { "glpat-", 6, ST_RULE_GITLAB_TOKEN, S_B64URL, C_NONE, 20 },
};
static const tok_rule tok_s[] = {
    { "sk-or-v1-", 9, ST_RULE_OPENAI_KEY, S_HEX, C_FIXED, 64 },    /* OpenRouter (OpenAI-compatible) */
    { "sk-ant-", 7, ST_RULE_ANTHROPIC_KEY, S_B64URL, C_NONE, 32 },
    { "sk-", 3, ST_RULE_OPENAI_KEY, S_B64URL, C_MIXED, 32 },
    { "sk-", 3, ST_RULE_OPENAI_KEY, S_HEX, C_FIXED, 32 },          /* DeepSeek (OpenAI-compatible): lower-case hex */
    { "sk_live_", 8, ST_RULE_STRIPE_KEY, S_ALNUM, C_NONE, 10 },
    { "sk_test_", 8, ST_RULE_STRIPE_KEY, S_ALNUM, C_NONE, 10 },
    { "shpat_", 6, ST_RULE_SHOPIFY_TOKEN, S_HEX, C_FIXED, 32 },
    { "shpss_", 6, ST_RULE_SHOPIFY_TOKEN, S_HEX, C_FIXED, 32 },
    { "shpca_", 6, ST_RULE_SHOPIFY_TOKEN, S_HEX, C_FIXED, 32 },
    { "shppa_", 6, ST_RULE_SHOPIFY_TOKEN, S_HEX, C_FIXED, 32 },
};
static const tok_rule tok_r[] = {
    { "rk_live_", 8, ST_RULE_STRIPE_KEY, S_ALNUM, C_NONE, 10 },
    { "rk_test_", 8, ST_RULE_STRIPE_KEY, S_ALNUM, C_NONE, 10 },
};
static const tok_rule tok_w[] = {
    { "whsec_", 6, ST_RULE_STRIPE_KEY, S_ALNUM, C_NONE, 24 },
};
static const tok_rule tok_x[] = {
    { "xoxb-", 5, ST_RULE_SLACK_TOKEN, S_ALNUMDASH, C_DIGIT, 10 },
    { "xoxp-", 5, ST_RULE_SLACK_TOKEN, S_ALNUMDASH, C_DIGIT, 10 },
    { "xoxa-", 5, ST_RULE_SLACK_TOKEN, S_ALNUMDASH, C_DIGIT, 10 },
    { "xoxr-", 5, ST_RULE_SLACK_TOKEN, S_ALNUMDASH, C_DIGIT, 10 },
    { "xoxs-", 5, ST_RULE_SLACK_TOKEN, S_ALNUMDASH, C_DIGIT, 10 },
    { "xoxe-", 5, ST_RULE_SLACK_TOKEN, S_ALNUMDASH, C_DIGIT, 10 },
    { "xoxe.xoxp-", 10, ST_RULE_SLACK_TOKEN, S_ALNUMDASH, C_DIGIT, 10 },
    { "xapp-", 5, ST_RULE_SLACK_TOKEN, S_ALNUMDASH, C_DIGIT, 20 },
};
static const tok_rule tok_n[] = {
    { "npm_", 4, ST_RULE_NPM_TOKEN, S_ALNUM, C_FIXED, 36 },
};
static const tok_rule tok_h[] = {
    { "hf_", 3, ST_RULE_HUGGINGFACE_TOKEN, S_ALNUM, C_CASES, 30 },
    { "hvs.", 4, ST_RULE_VAULT_TOKEN, S_B64URL, C_NONE, 24 },
    { "hvb.", 4, ST_RULE_VAULT_TOKEN, S_B64URL, C_NONE, 24 },
    { "hvr.", 4, ST_RULE_VAULT_TOKEN, S_B64URL, C_NONE, 24 },
};
static const tok_rule tok_p[] = {
    { "pypi-AgE", 8, ST_RULE_PYPI_TOKEN, S_B64URL, C_NONE, 50 },
};
static const tok_rule tok_d[] = {
    { "dop_v1_", 7, ST_RULE_DIGITALOCEAN_TOKEN, S_HEX, C_FIXED, 64 },
    { "doo_v1_", 7, ST_RULE_DIGITALOCEAN_TOKEN, S_HEX, C_FIXED, 64 },
    { "dor_v1_", 7, ST_RULE_DIGITALOCEAN_TOKEN, S_HEX, C_FIXED, 64 },
    { "dapi", 4, ST_RULE_DATABRICKS_TOKEN, S_HEX, C_FIXED, 32 },
};
static const tok_rule tok_y[] = {
    { "ya29.", 5, ST_RULE_GOOGLE_OAUTH, S_B64URL, C_NONE, 30 },
};
static const tok_rule tok_G[] = {
    { "GOCSPX-", 7, ST_RULE_GOOGLE_CLIENT_SECRET, S_B64URL, C_FIXED, 28 },
};
static const tok_rule tok_S[] = {
    { "SK", 2, ST_RULE_TWILIO_KEY, S_HEX, C_FIXED, 32 },
};
static const tok_rule tok_H[] = {
    { "HRKU-", 5, ST_RULE_HEROKU_KEY, S_B64URL, C_NONE, 36 },
};

#define TOKS(t) { t, sizeof t / sizeof *t }
static const struct { const tok_rule *r; size_t n; } tokens[256] = {
    ['A'] = TOKS(tok_A), ['g'] = TOKS(tok_g), ['s'] = TOKS(tok_s), ['r'] = TOKS(tok_r), ['w'] = TOKS(tok_w),
    ['x'] = TOKS(tok_x), ['n'] = TOKS(tok_n), ['h'] = TOKS(tok_h), ['p'] = TOKS(tok_p), ['d'] = TOKS(tok_d),
    ['y'] = TOKS(tok_y), ['G'] = TOKS(tok_G), ['S'] = TOKS(tok_S), ['H'] = TOKS(tok_H),
};
#undef TOKS

static int in_set(uint8_t c, unsigned set)
{
    switch (set) {
    case S_UPNUM: return (rd_cls[c] & (RC_UPPER | RC_DIGIT)) != 0;
    case S_ALNUM: return RD_ALNUM(c) != 0;
    case S_WORD: return RD_WORD(c) != 0;
    case S_B64URL: return RD_B64URL(c) != 0;
    case S_ALNUMDASH: return (rd_cls[c] & (RC_UPPER | RC_LOWER | RC_DIGIT | RC_DASH)) != 0;
    case S_HEX: return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
    }
    return 0;
}

/* 40 chars of [A-Za-z0-9/+] with upper, lower and a digit or symbol. */
int rd_aws_secret_shape(const uint8_t *v, size_t n)
{
    if (n != 40) return 0;
    unsigned seen = 0;
    for (size_t i = 0; i < n; i++) {
        if (!RD_B64(v[i])) return 0;
        seen |= rd_cls[v[i]];
    }
    return (seen & RC_UPPER) && (seen & RC_LOWER) && (seen & (RC_DIGIT | RC_B64X));
}

/* After an AWS access key id: a standalone 40-char secret key within the next
 * 256 bytes (CSV exports, credentials files, "aws configure" transcripts). */
static void aws_secret_near(rd_scan *sc, size_t from)
{
    const uint8_t *s = sc->s;
    size_t end = from + 256 < sc->n ? from + 256 : sc->n;
    for (size_t i = from; i < end; i++) {
        if (!RD_B64(s[i]) || (i > 0 && (RD_B64(s[i - 1]) || s[i - 1] == '='))) continue;
        size_t j = i;
        while (j < sc->n && RD_B64(s[j])) j++;
        if (j - i == 40 && (j == sc->n || s[j] != '=') && rd_aws_secret_shape(s + i, 40)) {
            rd_add(sc, i, j, ST_RULE_AWS_SECRET_KEY, RD_PRIO_TOKEN);
            return;
        }
        i = j;
    }
}

/* "SG." 22 "." 43 (SendGrid) */
static size_t sendgrid_at(const uint8_t *s, size_t n, size_t i)
{
    size_t j = i + 3, k;
    for (k = j; k < n && RD_B64URL(s[k]); k++) {}
    if (k - j != 22 || k >= n || s[k] != '.') return 0;
    j = k + 1;
    for (k = j; k < n && RD_B64URL(s[k]); k++) {}
    return k - j == 43 ? k : 0;
}

/* "eyJ" header "." payload "." signature, up to five segments (JWE). The
 * header and payload have at least 10 chars; the signature may be empty
 * (alg "none"); a trailing '.' after three segments is punctuation. */
static size_t jwt_at(const uint8_t *s, size_t n, size_t i)
{
    size_t k = i, end = 0;
    int seg = 0;
    for (;;) {
        size_t j = k;
        while (j < n && RD_B64URL(s[j])) j++;
        size_t len = j - k;
        if (seg < 2 && len < 10) return 0;
        if (seg >= 3 && len == 0) break;
        seg++;
        end = j;
        if (seg == 5 || j >= n || s[j] != '.') break;
        k = j + 1;
    }
    return seg >= 3 ? end : 0;
}

static int b64_val(uint8_t c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* "LS0tLS1CRUdJTi..." at i: base64 of "-----BEGIN ...PRIVATE KEY-----" (a
 * Kubernetes Secret's tls.key, `base64 key.pem`). The end of the base64
 * (across line breaks after lines of exactly 64 or 76, the widths openssl
 * and base64(1) wrap at), or 0. */
static size_t pem_b64_at(const uint8_t *s, size_t n, size_t i)
{
    if (n - i < 48 || memcmp(s + i, "LS0tLS1CRUdJTi", 14) != 0) return 0;
    uint8_t d[48];
    size_t m = 0;
    uint32_t acc = 0;
    for (size_t k = 0; k < 64 && k < n - i && m + 3 <= sizeof d; k++) {   /* the first 64 (or all there are) */
        int v = b64_val(s[i + k]);
        if (v < 0) return 0;
        acc = acc << 6 | (uint32_t)v;
        if (k % 4 == 3) { d[m++] = (uint8_t)(acc >> 16); d[m++] = (uint8_t)(acc >> 8); d[m++] = (uint8_t)acc; acc = 0; }
    }
    if (!memmem(d, m, "PRIVATE KEY", 11)) return 0;
    size_t e = i, line = i;
    for (;;) {
        while (e < n && (RD_B64(s[e]) || s[e] == '=')) e++;
        size_t nl = e < n && s[e] == '\n' ? 1 : rd_written_break(s, n, e);
        if (!nl || (e - line != 64 && e - line != 76) || e + nl >= n || !RD_B64(s[e + nl])) return e;
        e += nl;
        line = e;
    }
}

static int lhex(uint8_t c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

/* A run of exactly 32 lower-case hex digits at i, alone (no letter or digit
 * on either side; glued: on the right)? */
static int hex32_at(const uint8_t *s, size_t n, size_t i, int glued)
{
    if (n - i < 32 || (!glued && i > 0 && RD_ALNUM(s[i - 1]) && !rd_escape_before(s, i))) return 0;
    for (size_t k = 0; k < 32; k++)
        if (!lhex(s[i + k])) return 0;
    return i + 32 == n || !RD_ALNUM(s[i + 32]);
}

/* Does the line that ends before s[p] go on (its last byte other than a
 * blank is , ( [ or {: JSON members, call arguments)? */
static int line_goes_on(const uint8_t *s, size_t p)
{
    while (p > 0 && (s[p - 1] == ' ' || s[p - 1] == '\t' || s[p - 1] == '\r')) p--;
    return p > 0 && (s[p - 1] == ',' || s[p - 1] == '(' || s[p - 1] == '[' || s[p - 1] == '{');
}

/* "AC" + 32 hex at i (a Twilio account SID, an identifier): a bare 32-hex
 * auth token within 256 bytes before or after it in the same JSON object
 * or call or line (Client("AC...", "<token>"), {"sid": "AC...", "secret":
 * "<token>"}, "AC...:<token>") is the account's auth token. Not across a
 * '{' or '}', nor a line break after a line that ends otherwise than with
 * , ( [ or {. This rule's marker on the way (a second pass over redacted
 * text) ends the search: the token was found, the next bare 32-hex value
 * is not it (found by fuzz_redact: redaction must be idempotent). */
#define TWILIO_MARK "[REDACTED:twilio-auth-token]"
#define TWILIO_MARK_LEN (sizeof TWILIO_MARK - 1)

static void twilio_sid_at(rd_scan *sc, size_t i)
{
    const uint8_t *s = sc->s;
    size_t n = sc->n;
    if (n - i < 34 || !hex32_at(s, n, i + 2, 1) || (i > 0 && RD_ALNUM(s[i - 1]) && !rd_escape_before(s, i))) return;
    size_t lo = i > 256 ? i - 256 : 0, hi = i + 34 + 256 < n ? i + 34 + 256 : n;
    for (size_t p = i + 34; p < hi; p++) { /* after */
        uint8_t c = s[p];
        if (c == '{' || c == '}') break;
        if ((c == '\n' || (c == '\\' && p + 1 < n && s[p + 1] == 'n')) && !line_goes_on(s, p)) break;
        if (c == '[' && n - p >= TWILIO_MARK_LEN && memcmp(s + p, TWILIO_MARK, TWILIO_MARK_LEN) == 0) return;
        if (lhex(c) && (!RD_ALNUM(s[p - 1]) || rd_escape_before(s, p)) && hex32_at(s, n, p, 0)) {
            rd_add(sc, p, p + 32, ST_RULE_TWILIO_AUTH_TOKEN, RD_PRIO_TOKEN);
            return;
        }
    }
    for (size_t p = i; p > lo; p--) { /* before: the token ends at p - 1 */
        uint8_t c = s[p - 1];
        if (c == '{' || c == '}') break;
        if (c == '\n' && !line_goes_on(s, p - 1)) break;
        if (c == 'n' && p >= 2 && s[p - 2] == '\\' && !line_goes_on(s, p - 2)) break;
        if (c == ']' && p >= TWILIO_MARK_LEN && memcmp(s + p - TWILIO_MARK_LEN, TWILIO_MARK, TWILIO_MARK_LEN) == 0) return;
        if (p >= 32 && lhex(c) && (p == n || !RD_ALNUM(s[p])) && hex32_at(s, n, p - 32, 0)) {
            rd_add(sc, p - 32, p, ST_RULE_TWILIO_AUTH_TOKEN, RD_PRIO_TOKEN);
            return;
        }
    }
}

/* Django's "pbkdf2_sha256$<iterations>$<salt>$<hash>" (also pbkdf2_sha1)
 * at i: the whole hash (a dictionary attack turns it back into the
 * password, as the crypt(3) forms of crypt_dollar_at), or 0. The hash is
 * base64 of at least 20 characters, not glued to more of it (unless its
 * padding ends it). */
__attribute__((noinline)) static size_t django_hash_at(const uint8_t *s, size_t n, size_t i)
{
    if (n - i < 14 + 20 || memcmp(s + i, "pbkdf2_sha", 10) != 0) return 0;
    size_t p = i + 10;
    if (memcmp(s + p, "256$", 4) == 0) p += 4;
    else if (memcmp(s + p, "1$", 2) == 0) p += 2;
    else return 0;
    size_t a = p;
    while (p < n && p - a < 11 && RD_DIGIT(s[p])) p++;
    if (p == a || p - a > 10 || p >= n || s[p] != '$') return 0;
    a = ++p;
    while (p < n && p - a <= 128 && (RD_ALNUM(s[p]) || s[p] == '.' || s[p] == '/')) p++;
    if (p == a || p - a > 128 || p >= n || s[p] != '$') return 0;
    a = ++p;
    while (p < n && p - a <= 128 && (RD_ALNUM(s[p]) || s[p] == '+' || s[p] == '/')) p++;
    if (p - a < 20 || p - a > 128) return 0;
    size_t pad = 0;
    while (pad < 2 && p < n && s[p] == '=') p++, pad++;
    if (p < n && s[p] == '=') return 0;
    /* Base64 ends at its padding: what follows "=" is not more of it
     * ("...Lkey=value"). Judging that by the next byte made the rule
     * fire on a second pass once a first pass had redacted the value
     * (found by fuzz_redact: redaction must be idempotent). */
    if (!pad && p < n && (RD_ALNUM(s[p]) || s[p] == '+' || s[p] == '/' || s[p] == '$')) return 0;
    return p;
}

/* The token at i (a letter at a word start), or 0. Adds the match. */
static size_t token_at(rd_scan *sc, size_t i)
{
    const uint8_t *s = sc->s;
    size_t n = sc->n;
    uint8_t c0 = s[i];
    if (c0 == 'e') {
        if (i + 3 <= n && s[i + 1] == 'y' && s[i + 2] == 'J') {
            size_t e = jwt_at(s, n, i);
            if (e) { rd_add(sc, i, e, ST_RULE_JWT, RD_PRIO_TOKEN); return e; }
        }
        return 0;
    }
    if (c0 == 'L') {
        size_t e = pem_b64_at(s, n, i);
        if (e) rd_add(sc, i, e, ST_RULE_PRIVATE_KEY, RD_PRIO_BLOCK);
        return e;
    }
    if (c0 == 'S' && i + 3 <= n && s[i + 1] == 'G') {
        if (s[i + 2] == '.') {
            size_t e = sendgrid_at(s, n, i);
            if (e) { rd_add(sc, i, e, ST_RULE_SENDGRID_KEY, RD_PRIO_TOKEN); return e; }
        }
        return 0;
    }
    if (c0 == 'p' && s[i + 1] == 'a') {  /* .netrc "login u password p" (adds its own match) */
        rd_netrc_at(sc, i);
        return 0;
    }
    if (c0 == 'd' && s[i + 1] == 'e') {  /* PHP define('DB_PASSWORD', '...') (not my_define) */
        if (i == 0 || s[i - 1] != '_') rd_define_at(sc, i);
        return 0;
    }
    if (c0 == 'p' && s[i + 1] == 'b') {  /* Django "pbkdf2_sha256$iterations$salt$hash" */
        size_t e = django_hash_at(s, n, i);
        if (e) rd_add(sc, i, e, ST_RULE_PASSWORD_HASH, RD_PRIO_TOKEN);
        return e;
    }
    if (c0 == 'y' && s[i + 1] == 'a' && n - i >= 16 && s[i + 2] == 'r') { /* "yarn config set npmAuthToken X" */
        rd_yarn_config_at(sc, i);
        return 0;
    }
    if (n - i < 4) return 0; /* (every form below is longer) */
    if (c0 == 'g' && s[i + 1] == 'i' && s[i + 2] == 't' && (s[i + 3] == ' ' || s[i + 3] == '\t')) {
        /* "git config [--global] github.token X" */
        rd_git_config_at(sc, i);
        return 0;
    }
    if (c0 == 'A' && s[i + 1] == 'C' && RD_ALNUM(s[i + 2]) && !(s[i + 2] >= 'A' && s[i + 2] <= 'Z')) {
        twilio_sid_at(sc, i); /* "AC" + 32 hex: an account SID (not a secret): its auth token nearby */
        return 0;
    }
    if (c0 == 'a' || c0 == 'E') {        /* "aws configure set aws_secret_access_key X", Dockerfile "ENV KEY value" */
        if (c0 == 'a') rd_aws_set_at(sc, i);
        else rd_docker_env_at(sc, i);
        return 0;
    }
    if (n - i < 8) return 0; /* every prefixed token is longer */
    for (size_t t = 0; t < tokens[c0].n; t++) {
        const tok_rule *r = &tokens[c0].r[t];
        if ((uint8_t)r->prefix[1] != s[i + 1] || n - i < r->plen ||
            (r->plen > 2 && ((uint8_t)r->prefix[2] != s[i + 2] || memcmp(s + i + 3, r->prefix + 3, r->plen - 3u))))
            continue;
        size_t j = i + r->plen, k = j;
        unsigned seen = 0;
        size_t lim = r->check & C_FIXED ? (size_t)r->min + 1 : n - j;
        while (k < n && k - j < lim && in_set(s[k], r->set)) seen |= rd_cls[s[k++]];
        size_t len = k - j;
        if (len < r->min) continue;
        if ((r->check & C_FIXED) && (len != r->min || (k < n && RD_ALNUM(s[k])))) continue;
        if ((r->check & C_MIXED) && !((seen & RC_UPPER) && (seen & RC_LOWER) && (seen & RC_DIGIT))) continue;
        if ((r->check & C_CASES) && !((seen & RC_UPPER) && (seen & RC_LOWER))) continue;
        if ((r->check & C_DIGIT) && !(seen & RC_DIGIT)) continue;
        rd_add(sc, i, k, r->rule, RD_PRIO_TOKEN);
        if (r->rule == ST_RULE_AWS_ACCESS_KEY_ID) aws_secret_near(sc, k);
        return k;
    }
    return 0;
}

/* ==== PEM private keys ============================================================ */

static const uint8_t *find(const uint8_t *s, size_t n, const char *needle, size_t nl)
{
    return n >= nl ? memmem(s, n, needle, nl) : NULL;
}

/* "-----BEGIN <label>PRIVATE KEY[ BLOCK]-----" at i: the end of the block
 * (through "-----END ...-----"), the end of the text if the END line is
 * missing, or 0 if this is not a key (the marker quoted in code). */
static size_t pem_at(const rd_scan *sc, size_t i)
{
    const uint8_t *s = sc->s;
    size_t n = sc->n;
    if (n - i < 11 + 11 + 5 || memcmp(s + i, "-----BEGIN ", 11) != 0) return 0;
    size_t j = i + 11, lab = j;
    while (j < n && j - lab <= 48 && (rd_cls[s[j]] & (RC_UPPER | RC_DIGIT) || s[j] == ' ')) j++;
    const uint8_t *lp = s + lab;
    size_t ll = j - lab;
    int priv = (ll >= 11 && memcmp(lp + ll - 11, "PRIVATE KEY", 11) == 0) ||
               (ll >= 17 && memcmp(lp + ll - 17, "PRIVATE KEY BLOCK", 17) == 0);
    if (!priv || n - j < 5 || memcmp(s + j, "-----", 5) != 0) return 0;
    j += 5;
    /* Body: base64, line breaks (real or written as \n), header lines
     * ("Proc-Type: 4,ENCRYPTED"). */
    size_t b64 = 0, w;
    while (j < n) {
        uint8_t c = s[j];
        if (c == '-' && n - j >= 9 && memcmp(s + j, "-----END ", 9) == 0) {
            const uint8_t *e = find(s + j + 9, (n - j - 9) < 64 ? n - j - 9 : 64, "-----", 5);
            return e ? (size_t)(e - s) + 5 : n;
        }
        if (RD_B64(c) || c == '=') b64++;
        else if (RD_SPACE(c) || c == ':' || c == ',' || c == '-' || c == '.' || c == '_') {}
        else if (c == '\\' && (w = rd_written_break(s, n, j)) != 0) j += w - 1;
        else break;
        j++;
    }
    if (j == n) return n;
    if (b64 < 32) return 0;
    /* Key material that stops without an END line: in raw JSON the string
     * ends here; in decoded text, take the rest. */
    return (sc->mode & RD_RAW) ? j : n;
}

/* ==== URLs ======================================================================== */

static int placeholder_pw(const uint8_t *p, size_t n)
{
    if (n == 0) return 1;
    if (p[0] == '$' || p[0] == '{' || p[0] == '<' || (p[0] == '%' && n >= 2 && (p[1] == 's' || p[1] == '('))) return 1;
    if (n >= 10 && memcmp(p, "[REDACTED:", 10) == 0) return 1;
    size_t stars = 0;
    for (size_t i = 0; i < n; i++) stars += p[i] == '*';
    return stars == n;
}

/* A Go MySQL driver DSN, which has no scheme: user:password@tcp(host)/db,
 * user:password@unix(/path)/db (the ':' at i ends the user). The password
 * runs to the '@' before tcp( or unix( (so '@' and ':' in it are covered),
 * at most 128 bytes of one word. */
static void go_dsn_at(rd_scan *sc, size_t i)
{
    const uint8_t *s = sc->s;
    size_t n = sc->n, a = i + 1;
    if (n - i <= 6 || RD_SPACE(s[a])) return;                      /* "u:p@tcp(" at least; "key: value" */
    if (i >= 9 && memcmp(s + i - 9, "[REDACTED", 9) == 0) return; /* a marker's own ':' (a second pass) */
    if (!memchr(s + a, '@', n - a < 129 ? n - a : 129)) return;   /* nearly every ':' (times, JSON): no '@' near */
    for (size_t e = a; e < n && e - a <= 128; e++) {
        uint8_t c = s[e];
        if (RD_SPACE(c) || c == '"' || c == '\'' || c == '`' || c == '<' || c == '>' || c == 0 ||
            ((sc->mode & RD_RAW) && c == '\\'))
            return;
        if (c == '@' && ((n - e > 4 && memcmp(s + e + 1, "tcp(", 4) == 0) || (n - e > 5 && memcmp(s + e + 1, "unix(", 5) == 0))) {
            if (!placeholder_pw(s + a, e - a)) rd_add(sc, a, e, ST_RULE_URL_CREDENTIALS, RD_PRIO_CONTEXT);
            return;
        }
    }
}

static int discord_host(const uint8_t *h, size_t n)
{
    static const char *const hosts[] = { "discord.com", "discordapp.com", "ptb.discord.com", "canary.discord.com" };
    for (size_t k = 0; k < sizeof hosts / sizeof *hosts; k++)
        if (n == strlen(hosts[k]) && memcmp(h, hosts[k], n) == 0) return 1;
    return 0;
}

/* "://" at i. Redacts the password of scheme://user:password@host (the
 * last '@' of the authority ends the userinfo, so unencoded '@' in a
 * password is covered), and the secret path of Slack webhook URLs. */
static void url_at(rd_scan *sc, size_t i)
{
    const uint8_t *s = sc->s;
    size_t n = sc->n;
    /* scheme: a letter, then letters, digits, + - . */
    size_t b = i;
    while (b > 0 && i - b < 32 && (RD_ALNUM(s[b - 1]) || s[b - 1] == '+' || s[b - 1] == '-' || s[b - 1] == '.')) b--;
    if (b == i || !RD_ALPHA(s[b])) return;
    size_t a = i + 3, e = a, at = 0;
    for (; e < n; e++) {
        uint8_t c = s[e];
        if (c == '/' || c == '?' || c == '#' || RD_SPACE(c) || c == '"' || c == '\'' || c == '<' || c == '>' ||
            c == '`' || c == 0 || ((sc->mode & RD_RAW) && c == '\\'))
            break;
        if (c == '@') at = e;
    }
    if (at) {
        const uint8_t *colon = memchr(s + a, ':', at - a);
        if (colon) {
            size_t p = (size_t)(colon - s) + 1;
            if (!placeholder_pw(s + p, at - p)) rd_add(sc, p, at, ST_RULE_URL_CREDENTIALS, RD_PRIO_CONTEXT);
        }
        return;
    }
    if (e < n && s[e] == '/' && discord_host(s + a, e - a)) {
        /* https://discord.com/api/webhooks/<id>/<token> (also /api/v10/webhooks/) */
        size_t p = e;
        if (n - p > 5 && memcmp(s + p, "/api/", 5) == 0) p += 5;
        else return;
        if (n - p > 1 && s[p] == 'v' && RD_DIGIT(s[p + 1])) {
            for (p++; p < n && RD_DIGIT(s[p]); p++) {}
            if (p >= n || s[p] != '/') return;
            p++;
        }
        if (n - p < 9 || memcmp(s + p, "webhooks/", 9) != 0) return;
        size_t id = p + 9, q = id;
        while (q < n && RD_DIGIT(s[q])) q++;
        if (q - id < 15 || q >= n || s[q] != '/') return;
        size_t t = q + 1;
        for (q = t; q < n && RD_B64URL(s[q]); q++) {}
        if (q - t >= 60) rd_add(sc, id, q, ST_RULE_DISCORD_WEBHOOK, RD_PRIO_TOKEN);
        return;
    }
    if (e - a == 15 && memcmp(s + a, "hooks.slack.com", 15) == 0 && e < n && s[e] == '/') {
        static const char *const paths[] = { "/services/", "/workflows/", "/triggers/" };
        for (size_t k = 0; k < 3; k++) {
            size_t pl = strlen(paths[k]);
            if (n - e > pl && memcmp(s + e, paths[k], pl) == 0) {
                size_t p = e + pl, q = p;
                while (q < n && (RD_ALNUM(s[q]) || s[q] == '/' || s[q] == '_' || s[q] == '-')) q++;
                if (q - p >= 16) rd_add(sc, p, q, ST_RULE_SLACK_WEBHOOK, RD_PRIO_TOKEN);
                return;
            }
        }
    }
}

/* ==== after a ':' ================================================================== */

/* "123456789:AA…" at the ':' i: a Telegram bot token (8 to 10 digits at a
 * word start or after "bot", as in api.telegram.org/bot<token>/, then 'A'
 * and 34 more of [A-Za-z0-9_-]). */
static void telegram_at(rd_scan *sc, size_t i)
{
    const uint8_t *s = sc->s;
    size_t n = sc->n, b = i;
    while (b > 0 && i - b <= 10 && RD_DIGIT(s[b - 1])) b--;
    if (i - b < 8 || i - b > 10) return;
    if (b > 0 && RD_ALNUM(s[b - 1]) && !(b >= 3 && memcmp(s + b - 3, "bot", 3) == 0 && (b == 3 || !RD_ALNUM(s[b - 4]))) &&
        !rd_escape_before(s, b))
        return;
    size_t k = i + 1;
    while (k < n && k - i <= 36 && RD_B64URL(s[k])) k++;
    if (k - i - 1 == 35) rd_add(sc, b, k, ST_RULE_TELEGRAM_TOKEN, RD_PRIO_TOKEN);
}

/* A line break at p, real (\n, \r\n) or written out ("\n", "\r\n",
 * escaped once or more): its length, or 0. */
static size_t line_break(const uint8_t *s, size_t n, size_t p)
{
    if (p < n && s[p] == '\n') return 1;
    if (p + 1 < n && s[p] == '\r' && s[p + 1] == '\n') return 2;
    size_t w = rd_written_break(s, n, p), w2;
    if (w && s[p + w - 1] == 'r' && (w2 = rd_written_break(s, n, p + w)) != 0) return w + w2;
    return w && s[p + w - 1] == 'n' ? w : 0;
}

/* "Private-Lines: N" at the ':' i (a PuTTY .ppk file): the N lines of
 * base64 after it are the private key. */
static void ppk_at(rd_scan *sc, size_t i)
{
    const uint8_t *s = sc->s;
    size_t n = sc->n, p = i + 1, lines = 0;
    while (p < n && s[p] == ' ') p++;
    size_t d = p;
    while (p < n && p - d < 4 && RD_DIGIT(s[p])) lines = lines * 10 + (size_t)(s[p++] - '0');
    if (p == d || lines == 0) return;
    size_t a = 0, e = 0;
    for (size_t l = 0; l < lines; l++) {
        size_t lb = line_break(s, n, p), q = p + lb;
        if (!lb) break;
        while (q < n && (RD_B64(s[q]) || s[q] == '=')) q++;
        if (q == p + lb) break;
        if (!a) a = p + lb;
        e = p = q;
    }
    if (a) rd_add(sc, a, e, ST_RULE_PRIVATE_KEY, RD_PRIO_BLOCK);
}

/* "//registry.npmjs.org/:_authToken X" (npm config set, yarn): the ':'
 * at i, a space instead of '='. */
static void npmrc_at(rd_scan *sc, size_t i)
{
    const uint8_t *s = sc->s;
    size_t n = sc->n, k = i + 1;
    static const char *const keys[] = { "_authToken", "_auth", "_password" };
    for (size_t w = 0; w < 3; w++) {
        size_t kl = strlen(keys[w]);
        if (n - k <= kl || memcmp(s + k, keys[w], kl) != 0) continue;
        size_t v = k + kl;
        if (s[v] == '"' || s[v] == '\'') v++;
        size_t sp = v;
        while (v < n && (s[v] == ' ' || s[v] == '\t')) v++;
        if (v > sp && v < n) rd_literal_at(sc, v, RK_SECRET, 0);
        return;
    }
}

/* The extra detectors of a ':' at i (a cheap test first: most ':' are none). */
static inline void colon_extra(rd_scan *sc, size_t i)
{
    const uint8_t *s = sc->s;
    size_t n = sc->n;
    if (i + 1 >= n || i < 2) return;
    uint8_t nx = s[i + 1];
    if (nx == ' ') {
        if (s[i - 1] == 's' && i >= 13 && s[i - 13] == 'P' && memcmp(s + i - 13, "Private-Lines", 13) == 0) ppk_at(sc, i);
    } else if (nx == 'A') {
        if (RD_DIGIT(s[i - 1])) telegram_at(sc, i);
    } else if (nx == '_') {
        npmrc_at(sc, i);
    }
}

/* ==== the loop ======================================================================== */

/* A ':' after these bytes may end "value" (YAML name/value pairs) or
 * "oracle:thin" (a JDBC URL): colon_more[last byte] == ':' (a table, so
 * the ':' and '=' that are neither cost one load). */
static const uint8_t colon_more[256] = { ['e'] = ':', ['n'] = ':' };

static void colon_more_at(rd_scan *sc, size_t i)
{
    const uint8_t *s = sc->s;
    if (s[i - 1] == 'e') {
        if (i >= 5 && s[i - 2] == 'u') rd_yaml_value_at(sc, i);
    } else if (i >= 11 && s[i - 2] == 'i' && s[i - 3] == 'h') {
        rd_oracle_thin_at(sc, i);
    }
}

enum { T_NONE = 0, T_TOKEN, T_DIGIT, T_DASH, T_COLON, T_EQ, T_LT, T_BSLASH, T_DOLLAR, T_PIPE };

static const uint8_t trig[256] = {
    ['A'] = T_TOKEN, ['g'] = T_TOKEN, ['s'] = T_TOKEN, ['r'] = T_TOKEN, ['w'] = T_TOKEN,
    ['x'] = T_TOKEN, ['n'] = T_TOKEN, ['h'] = T_TOKEN, ['p'] = T_TOKEN, ['d'] = T_TOKEN,
    ['e'] = T_TOKEN, ['S'] = T_TOKEN, ['L'] = T_TOKEN, ['y'] = T_TOKEN, ['G'] = T_TOKEN, ['a'] = T_TOKEN,
    ['E'] = T_TOKEN, ['H'] = T_TOKEN,
    ['1'] = T_DIGIT, ['2'] = T_DIGIT, ['3'] = T_DIGIT, ['4'] = T_DIGIT, ['5'] = T_DIGIT, ['6'] = T_DIGIT,
    ['-'] = T_DASH, [':'] = T_COLON, ['='] = T_EQ, ['<'] = T_LT, ['\\'] = T_BSLASH, ['$'] = T_DOLLAR, ['|'] = T_PIPE,
};

/* Can a token start with bytes a, b? (A cheap filter before token_at.) */
static inline int token_start2(uint8_t a, uint8_t b)
{
    switch (a) {
    case 'A': return b == 'K' || b == 'S' || b == 'B' || b == 'C' || b == '3' || b == 'I' || b == 'G';
    case 'g': return b == 'h' || b == 'i' || b == 'l';
    case 's': return b == 'k' || b == 'h';
    case 'r': return b == 'k';
    case 'w': return b == 'h';
    case 'x': return b == 'o' || b == 'a';
    case 'n': return b == 'p';
    case 'h': return b == 'f' || b == 'v';
    case 'p': return b == 'y' || b == 'a' || b == 'b';
    case 'd': return b == 'o' || b == 'a' || b == 'e';
    case 'e': return b == 'y';
    case 'S': return b == 'G' || b == 'K';
    case 'L': return b == 'S';
    case 'y': return b == 'a';
    case 'G': return b == 'O';
    case 'a': return b == 'w';
    case 'E': return b == 'N';
    case 'H': return b == 'R';
    }
    return 0;
}

/* token_start2 as two table lookups, for the hot loop: tok1[a] is a's bit
 * (letters with the same second bytes share one), tok2[b] the letters b may
 * follow. test_redact checks the two agree on all 65536 pairs. */
enum {
    F_A = 1, F_G = 2, F_SR = 4, F_W = 8, F_X = 16, F_N = 32, F_H = 64, F_P = 128, F_D = 256, F_E = 512, F_S = 1024,
    F_L = 2048, F_SH = 4096, F_Y = 8192, F_GO = 16384, F_AW = 32768, F_EN = 65536,
    F_HR = 131072,
};
static const uint32_t tok1[256] = {
    ['A'] = F_A, ['g'] = F_G, ['s'] = F_SR | F_SH, ['r'] = F_SR, ['w'] = F_W, ['x'] = F_X,
    ['n'] = F_N, ['h'] = F_H, ['p'] = F_P, ['d'] = F_D, ['e'] = F_E, ['S'] = F_S, ['L'] = F_L,
    ['y'] = F_Y, ['G'] = F_GO, ['a'] = F_AW, ['E'] = F_EN, ['H'] = F_HR,
};
static const uint32_t tok2[256] = {
    ['K'] = F_A | F_S, ['S'] = F_A | F_L, ['B'] = F_A, ['C'] = F_A, ['3'] = F_A, ['I'] = F_A, ['G'] = F_S | F_A,
    ['h'] = F_G | F_W | F_SH, ['i'] = F_G, ['l'] = F_G, ['k'] = F_SR, ['o'] = F_X | F_D, ['a'] = F_X | F_D | F_P | F_Y,
    ['p'] = F_N, ['f'] = F_H, ['v'] = F_H, ['y'] = F_P | F_E, ['e'] = F_D, ['b'] = F_P, ['O'] = F_GO, ['w'] = F_AW, ['N'] = F_EN, ['R'] = F_HR,
};

/* tok3[c]: the letters whose tokens may have c as third byte (every prefix
 * of the tables above, and "eyJ", "SG.", "SK" + hex, "AC" + hex (a Twilio
 * account SID), "aws", "ENV", "def" (PHP define), "pbk" (Django hashes),
 * "yar" (yarn config), "git" (git config)). */
#define HEX3 (F_S | F_A)
static const uint32_t tok3[256] = {
    ['I'] = F_A, ['C'] = F_A | F_GO, ['T'] = F_A, ['z'] = F_A, ['E'] = F_A,
    ['t'] = F_G, ['p'] = F_G | F_X | F_P | F_D | F_SH, ['o'] = F_G | F_D, ['u'] = F_G,
    ['s'] = F_G | F_W | F_H | F_P | F_AW, ['r'] = F_G | F_D | F_H | F_Y, ['b'] = F_H | HEX3, ['-'] = F_SR, ['k'] = F_P,
    ['_'] = F_SR | F_H, ['x'] = F_X, ['m'] = F_N, ['J'] = F_E, ['.'] = F_S, ['0'] = F_L | HEX3, ['2'] = F_Y | HEX3,
    ['V'] = F_EN, ['K'] = F_HR, ['1'] = HEX3, ['3'] = HEX3, ['4'] = HEX3, ['5'] = HEX3, ['6'] = HEX3, ['7'] = HEX3, ['8'] = HEX3,
    ['9'] = HEX3, ['a'] = HEX3, ['c'] = HEX3, ['d'] = HEX3, ['e'] = HEX3, ['f'] = HEX3 | F_D,
};
#undef HEX3

int rd_token_start2_agree(void)
{
    for (unsigned a = 0; a < 256; a++)
        for (unsigned b = 0; b < 256; b++)
            if (!!token_start2((uint8_t)a, (uint8_t)b) != !!(tok1[a] & tok2[b])) return 0;
    /* every prefix's third byte is in tok3 */
    for (unsigned c = 0; c < 256; c++)
        for (size_t k = 0; k < tokens[c].n; k++) {
            const uint8_t *pre = (const uint8_t *)tokens[c].r[k].prefix;
            if (tokens[c].r[k].plen == 2) { /* "SK" + hex: every hex digit third */
                for (const char *h = "0123456789abcdef"; *h; h++)
                    if (!(tok1[pre[0]] & tok2[pre[1]] & tok3[(uint8_t)*h])) return 0;
            } else if (!(tok1[pre[0]] & tok2[pre[1]] & tok3[pre[2]])) {
                return 0;
            }
        }
    return (tok1['e'] & tok2['y'] & tok3['J']) && (tok1['S'] & tok2['G'] & tok3['.']) && (tok1['L'] & tok2['S'] & tok3['0']) &&
           (tok1['p'] & tok2['a'] & tok3['s']) && (tok1['a'] & tok2['w'] & tok3['s']) && (tok1['E'] & tok2['N'] & tok3['V']) &&
           (tok1['d'] & tok2['e'] & tok3['f']) && (tok1['p'] & tok2['b'] & tok3['k']) && (tok1['y'] & tok2['a'] & tok3['r']) &&
           (tok1['g'] & tok2['i'] & tok3['t']) && (tok1['A'] & tok2['C'] & tok3['0']) &&
           (tok1['A'] & tok2['C'] & tok3['f']);
}

static int crypt_ch(uint8_t c) { return RD_ALNUM(c) || c == '.' || c == '/'; }

/* "$2b$10$" + 53 (bcrypt, also $2a$ $2y$), "$5$salt$" + 43, "$6$salt$" + 86
 * (sha-crypt, /etc/shadow; "rounds=N$" may follow the id): the digit after
 * the first '$' is at i. The end, or 0. */
static size_t crypt_at(const uint8_t *s, size_t n, size_t i)
{
    size_t j, k;
    if (s[i] == '2') {
        if (n - i < 6 + 53 || !(s[i + 1] == 'a' || s[i + 1] == 'b' || s[i + 1] == 'y') || s[i + 2] != '$' ||
            !RD_DIGIT(s[i + 3]) || !RD_DIGIT(s[i + 4]) || s[i + 5] != '$')
            return 0;
        j = i + 6;
        for (k = j; k < n && k - j <= 53 && crypt_ch(s[k]); k++) {}
        return k - j == 53 ? k : 0;
    }
    if ((s[i] != '5' && s[i] != '6') || n - i < 4 || s[i + 1] != '$') return 0;
    j = i + 2;
    if (n - j > 7 && memcmp(s + j, "rounds=", 7) == 0) {
        for (k = j + 7; k < n && k - j < 16 && RD_DIGIT(s[k]); k++) {}
        if (k >= n || s[k] != '$') return 0;
        j = k + 1;
    }
    for (k = j; k < n && k - j <= 16 && crypt_ch(s[k]) && s[k] != '$'; k++) {}
    if (k == j || k >= n || s[k] != '$') return 0; /* the salt */
    j = k + 1;
    for (k = j; k < n && k - j <= 86 && crypt_ch(s[k]); k++) {}
    return k - j == (s[i] == '5' ? 43u : 86u) ? k : 0;
}

static int b64n_ch(uint8_t c) { return RD_ALNUM(c) || c == '+' || c == '/'; }

/* A run of chars of class f from j, at most max+1 long: its end. */
static size_t run_of(const uint8_t *s, size_t n, size_t j, size_t max, int (*f)(uint8_t))
{
    size_t k = j;
    while (k < n && k - j <= max && f(s[k])) k++;
    return k;
}

/* The other crypt(3) and PHC hashes at the '$' i (bcrypt and sha-crypt are
 * crypt_at's, after the digit):
 *   $1$salt$ + 22          md5-crypt (also Apache $apr1$)
 *   $7$ + 11 + salt$ + 43  scrypt (libsodium, yescrypt's $7$)
 *   $y$params$salt$ + 43   yescrypt (also $gy$ gost-yescrypt), /etc/shadow today
 *   $argon2id$v=19$m=..,t=..,p=..$salt$hash   argon2i, argon2d, argon2id
 *   $pbkdf2[-sha256]$rounds$salt$hash          passlib
 * The end, or 0. A hash ends before a byte that cannot be in it. */
static size_t crypt_dollar_at(const uint8_t *s, size_t n, size_t i)
{
    size_t j = i + 1, k;
    if (n - i < 24) return 0;
    uint8_t c = s[j];
    if (c == '1' || (c == 'a' && memcmp(s + j, "apr1$", 5) == 0)) {
        j += c == '1' ? 1 : 4;
        if (s[j] != '$') return 0;
        k = run_of(s, n, ++j, 16, crypt_ch);
        if (k == j || k - j > 16 || k >= n || s[k] != '$') return 0;
        j = k + 1;
        k = run_of(s, n, j, 22, crypt_ch);
        return k - j == 22 ? k : 0;
    }
    if (c == '7' || c == 'y' || (c == 'g' && s[j + 1] == 'y')) {
        j += c == 'g' ? 2 : 1;
        if (s[j] != '$') return 0;
        j++;
        if (c == '7') { /* N r p: 11 chars, then the salt */
            k = run_of(s, n, j, 11, crypt_ch);
            if (k - j < 11) return 0;
            j += 11;
        } else {        /* the parameters */
            k = run_of(s, n, j, 32, crypt_ch);
            if (k == j || k - j > 32 || k >= n || s[k] != '$') return 0;
            j = k + 1;
        }
        k = run_of(s, n, j, 64, crypt_ch); /* the salt */
        if (k - j > 64 || k >= n || s[k] != '$') return 0;
        j = k + 1;
        k = run_of(s, n, j, 43, crypt_ch);
        return k - j == 43 ? k : 0;
    }
    int argon = c == 'a' && n - j > 8 && memcmp(s + j, "argon2", 6) == 0;
    int pbkdf = c == 'p' && n - j > 8 && memcmp(s + j, "pbkdf2", 6) == 0;
    if (!argon && !pbkdf) return 0;
    j += 6;
    if (argon) {
        if (s[j] == 'i' && s[j + 1] == 'd') j += 2;
        else if (s[j] == 'i' || s[j] == 'd') j++;
        else return 0;
    } else {
        while (j < n && j - i < 24 && (RD_ALNUM(s[j]) || s[j] == '-' || s[j] == '_')) j++;
    }
    /* '$'-separated fields: version, parameters (m=..,t=..,p=..), salt, hash.
     * The hash is the last of 3 to 5 fields that can be one: a field taken
     * from a hash glued on behind ("...$hash$argon2id$...") does not hide
     * this one (found by fuzz_redact: the second pass found it). */
    size_t fields = 0, start[5], end[5];
    while (j < n && s[j] == '$' && fields < 5) {
        size_t a = ++j;
        while (j < n && j - a <= 128 && (b64n_ch(s[j]) || s[j] == '=' || s[j] == ',' || s[j] == '.' || s[j] == '-')) j++;
        if (j == a || j - a > 128) break;
        start[fields] = a;
        end[fields++] = j;
    }
    for (size_t f = fields; f >= 3; f--) {
        size_t a = start[f - 1], e = end[f - 1];
        if (e - a < 16) continue;
        for (k = a; k < e && (b64n_ch(s[k]) || s[k] == '.' || s[k] == '-'); k++) {}
        if (k == e) return e;
    }
    return 0;
}

/* Can a crypt id ("$1$", "$7$", "$y$", "$gy$", "$apr1$", "$argon2", "$pbkdf2") start with c? */
static inline int crypt_id_may(uint8_t c)
{
    return c == '1' || c == '7' || c == 'y' || c == 'g' || c == 'a' || c == 'p';
}

/* Can the '|' at i pipe into a command rd_pipe_at knows? Its first two
 * letters (after a blank): sudo chpasswd kinit passwd htpasswd gh and the
 * registry clients of redact_cmd.c. Not "||". */
static inline int pipe_may(const uint8_t *s, size_t n, size_t i)
{
    size_t p = i + 1;
    if (p < n && s[p] == ' ') p++;
    if (n - p < 4 || s[p] == '|' || (i > 0 && s[i - 1] == '|')) return 0;
    switch ((unsigned)s[p] << 8 | s[p + 1]) {
    case 's' << 8 | 'u': case 'c' << 8 | 'h': case 'k' << 8 | 'i': case 'p' << 8 | 'a': case 'h' << 8 | 't':
    case 'g' << 8 | 'h': case 'd' << 8 | 'o': case 'p' << 8 | 'o': case 'n' << 8 | 'e': case 'b' << 8 | 'u':
    case 's' << 8 | 'k': case 'h' << 8 | 'e': case 'o' << 8 | 'r': case 'c' << 8 | 'r': case 'f' << 8 | 'i':
    case 'r' << 8 | 'e': case '/' << 8 | 'u': case '/' << 8 | 'b': return 1;
    }
    return 0;
}

/* Can digit_at find something at i? (Its first tests, inlined in the hot loop.) */
static inline int digit_may(const uint8_t *s, size_t n, size_t i)
{
    uint8_t prev = i > 0 ? s[i - 1] : 0;
    if (n - i < 13) return 0;
    if (RD_DIGIT(s[i + 1])) return prev != '.' && RD_DIGIT(s[i + 2]) && RD_DIGIT(s[i + 3]);
    return prev == '$' || (s[i] == '1' && s[i + 1] == '/');
}

/* A digit at a word start at i: "1//0" Google refresh tokens, crypt hashes
 * after a '$', card numbers. Adds the match; the end or 0. */
static size_t digit_at(rd_scan *sc, size_t i)
{
    const uint8_t *s = sc->s;
    size_t n = sc->n, e;
    if (s[i] == '1') {
        if (n - i < 4 + 30 || s[i + 1] != '/' || s[i + 2] != '/' || s[i + 3] != '0') return 0;
        for (e = i + 4; e < n && RD_B64URL(s[e]); e++) {}
        if (e - i < 4 + 30) return 0;
        rd_add(sc, i, e, ST_RULE_GOOGLE_OAUTH, RD_PRIO_TOKEN);
        return e;
    }
    if (i > 0 && s[i - 1] == '$' && (e = crypt_at(s, n, i)) != 0) {
        rd_add(sc, i - 1, e, ST_RULE_PASSWORD_HASH, RD_PRIO_TOKEN);
        return e;
    }
    /* (every card starts with four digits and has at least 13) */
    if ((i > 0 && s[i - 1] == '.') || n - i < 13 || !RD_DIGIT(s[i + 1]) || !RD_DIGIT(s[i + 2]) || !RD_DIGIT(s[i + 3]))
        return 0;
    if ((e = rd_card_at(s, n, i)) != 0) rd_add(sc, i, e, ST_RULE_PAYMENT_CARD, RD_PRIO_TOKEN);
    return e;
}

/* A word starts at i (a letter or digit): tokens and card numbers. */
static size_t word_at(rd_scan *sc, size_t i)
{
    const uint8_t *s = sc->s;
    size_t e;
    switch (trig[s[i]]) {
    case T_TOKEN:
        if (i + 1 < sc->n && token_start2(s[i], s[i + 1]) && (e = token_at(sc, i)) != 0) return e;
        break;
    case T_DIGIT:
        if ((e = digit_at(sc, i)) != 0) return e;
        break;
    }
    return i + 1;
}

/* A candidate position: a word start or a trigger punctuation byte. Returns
 * where scanning may resume (past a match that must not be rescanned). */
static size_t candidate_at(rd_scan *sc, size_t i)
{
    const uint8_t *s = sc->s;
    size_t n = sc->n, e;
    switch (trig[s[i]]) {
    case T_TOKEN:
    case T_DIGIT: return word_at(sc, i);
    case T_DASH:
        if (i + 1 < n && s[i + 1] == '-') {
            if ((e = pem_at(sc, i)) != 0) {
                rd_add(sc, i, e, ST_RULE_PRIVATE_KEY, RD_PRIO_BLOCK);
                return e;
            }
            rd_flag_at(sc, i);
            e = i + 1;
            while (e < n && s[e] == '-') e++;
            size_t pe;   /* "x------BEGIN …": the marker is the run's last five dashes */
            if (e - i > 5 && (pe = pem_at(sc, e - 5)) != 0) {
                rd_add(sc, e - 5, pe, ST_RULE_PRIVATE_KEY, RD_PRIO_BLOCK);
                return pe;
            }
            return e;
        }
        if (i + 1 < n && RD_ALPHA(s[i + 1])) rd_flag_at(sc, i);
        break;
    case T_COLON:
        if (n - i >= 3 && s[i + 1] == '/' && s[i + 2] == '/') url_at(sc, i);
        else {
            colon_extra(sc, i);
            go_dsn_at(sc, i);
            size_t sp;
            int closed;
            if (rd_key_may_end_at(s, rd_assign_key_end(s, i, &sp, &closed))) rd_assign_at(sc, i);
            else if (i > 0 && colon_more[s[i - 1]] == ':') colon_more_at(sc, i);
        }
        break;
    case T_EQ: rd_assign_at(sc, i); break;
    case T_LT: rd_xml_at(sc, i); break;
    case T_DOLLAR:
        if (i + 3 < n && crypt_id_may(s[i + 1]) && (e = crypt_dollar_at(s, n, i)) != 0) {
            rd_add(sc, i, e, ST_RULE_PASSWORD_HASH, RD_PRIO_TOKEN);
            return e;
        }
        break;
    case T_PIPE:
        if (pipe_may(s, n, i)) rd_pipe_at(sc, i);
        break;
    case T_BSLASH:
        /* "\nAKIA...", "\u0000ghp_...": the escape written out as text
         * separates words although its last byte is alphanumeric */
        e = rd_escape_end(s, n, i);
        if (e && e < n && RD_ALNUM(s[e - 1]) && RD_ALNUM(s[e])) {
            size_t w = word_at(sc, e);
            if (w > e + 1) return w;
        }
        break;
    }
    return i + 1;
}

/* ---- finding candidates ------------------------------------------------------------
 *
 * The loop looks at 64 bytes at a time. A classifier gives three bit masks
 * for them (bit k = byte k):
 *   am  the byte is an ASCII letter or digit (exact: word starts come from it)
 *   tm  the byte may start a token or a card number (every byte with trig[]
 *       T_DIGIT, and every T_TOKEN byte followed by a byte tok2[] allows,
 *       is in it; a few others may be)
 *   pm  the byte may be one of - : = < \ $ | (all of them are in it; a few
 *       others may be)
 * Candidates are (tm & word starts) | pm; each is then checked exactly
 * (trig[], the first three bytes of a token), so a classifier may flag
 * more bytes than needed but never fewer. Four classifiers give the same
 * candidates: AVX2 and SSSE3 (nibble-table lookups, 32 or 16 bytes per
 * step, with the two-byte token test), SSE2 (byte compares, first bytes
 * only), and one byte at a time. test_redact checks each against scan_ref. */

typedef struct rd_masks { uint64_t am, tm, pm; } rd_masks;

/* Byte classes for the portable classifier: alnum, token/card start, trigger punctuation. */
enum { K_AL = 1, K_TK = 2, K_PU = 4 };

#define RD_INLINE static inline __attribute__((always_inline))

RD_INLINE void classify_bytes(const uint8_t *p, size_t len, rd_masks *o)
{
    uint64_t am = 0, tm = 0, pm = 0;
    for (size_t k = 0; k < len; k++) {
        uint8_t c = p[k];
        unsigned t = trig[c];
        am |= (uint64_t)(RD_ALNUM(c) != 0) << k;
        tm |= (uint64_t)(t == T_TOKEN || t == T_DIGIT) << k;
        pm |= (uint64_t)(t >= T_DASH) << k;
    }
    o->am = am;
    o->tm = tm;
    o->pm = pm;
}

#if defined(__SSE2__)
#include <emmintrin.h>
#define RD_HAVE_SSE2 1

static inline __m128i in_range(__m128i x, char lo, char hi)
{
    __m128i t = _mm_sub_epi8(x, _mm_set1_epi8(lo));
    return _mm_cmpeq_epi8(_mm_min_epu8(t, _mm_set1_epi8((char)(hi - lo))), t);
}

/* p has round_up(len, 16) readable bytes. */
RD_INLINE void classify_sse2(const uint8_t *p, size_t len, rd_masks *o)
{
    uint64_t am = 0, tm = 0, pm = 0;
    for (size_t k = 0; k < len; k += 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + k));
        __m128i alnum = _mm_or_si128(in_range(x, '0', '9'), in_range(_mm_or_si128(x, _mm_set1_epi8(0x20)), 'a', 'z'));
        __m128i punct = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('-')), _mm_cmpeq_epi8(x, _mm_set1_epi8(':'))),
                                     _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('=')), _mm_cmpeq_epi8(x, _mm_set1_epi8('<'))));
        punct = _mm_or_si128(punct, _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('\\')),
                                                 _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('$')),
                                                              _mm_cmpeq_epi8(x, _mm_set1_epi8('|')))));
        __m128i tl = in_range(x, '1', '6');
#define TL(ch) tl = _mm_or_si128(tl, _mm_cmpeq_epi8(x, _mm_set1_epi8(ch)))
        TL('A'); TL('g'); TL('s'); TL('r'); TL('w'); TL('x'); TL('n'); TL('h'); TL('p'); TL('d'); TL('e'); TL('S'); TL('L');
        TL('y'); TL('G'); TL('a'); TL('E'); TL('H');
#undef TL
        am |= (uint64_t)(uint32_t)_mm_movemask_epi8(alnum) << k;
        tm |= (uint64_t)(uint32_t)_mm_movemask_epi8(tl) << k;
        pm |= (uint64_t)(uint32_t)_mm_movemask_epi8(punct) << k;
    }
    o->am = am;
    o->tm = tm;
    o->pm = pm;
}
#endif

#if defined(RD_HAVE_SSE2) && defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#include <immintrin.h>
#include <tmmintrin.h>
#define RD_HAVE_SSSE3 1

/* Nibble tables: the bits of byte x are lo[x & 15] & hi[x >> 4]; each bit
 * is a rectangle of (high nibbles) x (low nibbles). Bytes >= 0x80 are in
 * no class.
 *   cls_*   0x01 3 x 0-9 digits, 0x02 4,6 x 1-f A-O a-o, 0x04 5,7 x 0-a P-Z
 *           p-z (together: alnum, exactly); 0x08 2 x d '-', 0x10 3 x a,c,d
 *           ': < =', 0x20 5 x c '\', 0x40 2 x 4 '$', 0x80 7 x c '|'
 *           (together: pm, exactly).
 *   first_* and second_*: tm is "the bits of this byte and of the next one
 *           share one", eight buckets of token starts (first bytes x
 *           second bytes), a superset of the tok1/tok2 pairs, chosen so
 *           that few word starts of ordinary text pass:
 *             0x01 A S L H x  K S B C I 3 G R  (and neighbours; \ X first)
 *             0x02 g w     x  h i l
 *             0x04 s r p   x  k h b
 *             0x08 h n     x  f p v            (and `)
 *             0x10 p e a G E x y w O N I G     (and ` u @ g q first, ~ second)
 *             0x20 x p y   x  o a
 *             0x40 d a 1   x  o a / e          (and 4 first, ! % second)
 *             0x80 2-6     x  anything         (card numbers)
 */
static const uint8_t cls_lo[16] = { 0x05, 0x07, 0x07, 0x07, 0x47, 0x07, 0x07, 0x07,
                                    0x07, 0x07, 0x16, 0x02, 0xb2, 0x1a, 0x02, 0x02 };
static const uint8_t cls_hi[16] = { 0, 0, 0x48, 0x11, 0x02, 0x24, 0x02, 0x84, 0, 0, 0, 0, 0, 0, 0, 0 };
static const uint8_t first_lo[16] = { 0x34, 0x51, 0x84, 0x85, 0xc0, 0x90, 0x80, 0x12,
                                      0x29, 0x20, 0, 0, 0x01, 0, 0x08, 0 };
static const uint8_t first_hi[16] = { 0, 0, 0, 0xc0, 0x11, 0x01, 0x5a, 0x36, 0, 0, 0, 0, 0, 0, 0, 0 };
static const uint8_t second_lo[16] = { 0x88, 0xe0, 0x85, 0x81, 0x80, 0xc0, 0x88, 0x91,
                                       0x86, 0x93, 0x80, 0x85, 0x82, 0x80, 0x90, 0xf0 };
static const uint8_t second_hi[16] = { 0x80, 0x80, 0xc0, 0x81, 0x91, 0x81, 0xee, 0x98,
                                       0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80 };

/* p has round_up(len, 16) + 1 readable bytes (the pair test reads one ahead;
 * classify_avx2: round_up(len, 32) + 1). */
__attribute__((target("ssse3")))
RD_INLINE void classify_ssse3(const uint8_t *p, size_t len, rd_masks *o)
{
#define TBL(t) _mm_loadu_si128((const __m128i *)(const void *)(t))
    const __m128i clo = TBL(cls_lo), chi = TBL(cls_hi), flo = TBL(first_lo), fhi = TBL(first_hi);
    const __m128i slo = TBL(second_lo), shi = TBL(second_hi);
#undef TBL
    const __m128i low4 = _mm_set1_epi8(0x0f), zero = _mm_setzero_si128();
    const __m128i al = _mm_set1_epi8(0x07), pu = _mm_set1_epi8((char)0xf8);
    uint64_t am = 0, tm = 0, pm = 0;
    for (size_t k = 0; k < len; k += 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + k));
        __m128i y = _mm_loadu_si128((const __m128i *)(const void *)(p + k + 1));
        __m128i xl = _mm_and_si128(x, low4), xh = _mm_and_si128(_mm_srli_epi16(x, 4), low4);
        __m128i yl = _mm_and_si128(y, low4), yh = _mm_and_si128(_mm_srli_epi16(y, 4), low4);
        __m128i c = _mm_and_si128(_mm_shuffle_epi8(clo, xl), _mm_shuffle_epi8(chi, xh));
        __m128i f = _mm_and_si128(_mm_shuffle_epi8(flo, xl), _mm_shuffle_epi8(fhi, xh));
        __m128i g = _mm_and_si128(_mm_shuffle_epi8(slo, yl), _mm_shuffle_epi8(shi, yh));
        uint32_t na = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_and_si128(c, al), zero));
        uint32_t np = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_and_si128(c, pu), zero));
        uint32_t nt = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_and_si128(f, g), zero));
        am |= (uint64_t)(~na & 0xffffu) << k;
        pm |= (uint64_t)(~np & 0xffffu) << k;
        tm |= (uint64_t)(~nt & 0xffffu) << k;
    }
    o->am = am;
    o->tm = tm;
    o->pm = pm;
}

/* The same, 32 bytes at a time. */
__attribute__((target("avx2")))
RD_INLINE void classify_avx2(const uint8_t *p, size_t len, rd_masks *o)
{
#define TBL(t) _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)(t)))
    const __m256i clo = TBL(cls_lo), chi = TBL(cls_hi), flo = TBL(first_lo), fhi = TBL(first_hi);
    const __m256i slo = TBL(second_lo), shi = TBL(second_hi);
#undef TBL
    const __m256i low4 = _mm256_set1_epi8(0x0f), zero = _mm256_setzero_si256();
    const __m256i al = _mm256_set1_epi8(0x07), pu = _mm256_set1_epi8((char)0xf8);
    uint64_t am = 0, tm = 0, pm = 0;
    for (size_t k = 0; k < len; k += 32) {
        __m256i x = _mm256_loadu_si256((const __m256i *)(const void *)(p + k));
        __m256i y = _mm256_loadu_si256((const __m256i *)(const void *)(p + k + 1));
        __m256i xl = _mm256_and_si256(x, low4), xh = _mm256_and_si256(_mm256_srli_epi16(x, 4), low4);
        __m256i yl = _mm256_and_si256(y, low4), yh = _mm256_and_si256(_mm256_srli_epi16(y, 4), low4);
        __m256i c = _mm256_and_si256(_mm256_shuffle_epi8(clo, xl), _mm256_shuffle_epi8(chi, xh));
        __m256i f = _mm256_and_si256(_mm256_shuffle_epi8(flo, xl), _mm256_shuffle_epi8(fhi, xh));
        __m256i g = _mm256_and_si256(_mm256_shuffle_epi8(slo, yl), _mm256_shuffle_epi8(shi, yh));
        uint32_t na = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_and_si256(c, al), zero));
        uint32_t np = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_and_si256(c, pu), zero));
        uint32_t nt = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_and_si256(f, g), zero));
        am |= (uint64_t)~na << k;
        pm |= (uint64_t)~np << k;
        tm |= (uint64_t)~nt << k;
    }
    o->am = am;
    o->tm = tm;
    o->pm = pm;
}

/* cpuid traps to the hypervisor in a VM (~5 us each): asked once per process. */
static int cpu_has_ssse3(void)
{
    unsigned a, b, c, d;
    __cpuid(1, a, b, c, d);
    return (c >> 9) & 1;
}

static int cpu_has_avx2(void)
{
    unsigned a, b, c, d;
    __cpuid(1, a, b, c, d);
    if (!((c >> 27) & 1) || !((c >> 28) & 1)) return 0; /* OSXSAVE, AVX */
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & 6) != 6) return 0;                          /* the OS saves the YMM registers */
    if (__get_cpuid_max(0, NULL) < 7) return 0;
    __cpuid_count(7, 0, a, b, c, d);
    return (b >> 5) & 1;
}
#endif

/* The classifier, chosen on first need. A thread scans its first
 * RD_DETECT_AFTER bytes with SSE2 and only then asks the CPU about SSSE3,
 * so a hook process that redacts one event never pays for the cpuid trap;
 * bulk import pays it once. */
#define RD_DETECT_AFTER ((size_t)64 << 10)
static _Atomic int isa_chosen;           /* 0: not yet, else RD_ISA_* + 1 */
#if defined(RD_HAVE_SSSE3)
static _Thread_local size_t isa_scanned; /* bytes this thread scanned before choosing */
#endif

static int isa_best(size_t n)
{
    int c = atomic_load_explicit(&isa_chosen, memory_order_relaxed);
    if (c) return c - 1;
#if defined(RD_HAVE_SSSE3)
    isa_scanned += n;
    if (isa_scanned < RD_DETECT_AFTER) return RD_ISA_SSE2;
    /* ST_REDACT_ISA=sse2 or ssse3 caps the choice (tests, comparisons) */
    const char *cap = getenv("ST_REDACT_ISA");
    int best = RD_ISA_SSE2;
    if (!(cap && strcmp(cap, "sse2") == 0)) {
        if (!(cap && strcmp(cap, "ssse3") == 0) && cpu_has_avx2()) best = RD_ISA_AVX2;
        else if (cpu_has_ssse3()) best = RD_ISA_SSSE3;
    }
#elif defined(RD_HAVE_SSE2)
    (void)n;
    int best = RD_ISA_SSE2;
#else
    (void)n;
    int best = RD_ISA_BYTES;
#endif
    atomic_store_explicit(&isa_chosen, best + 1, memory_order_relaxed); /* every thread picks the same */
    return best;
}

int rd_isa_available(int isa)
{
    switch (isa) {
    case RD_ISA_REF:
    case RD_ISA_BYTES: return 1;
#if defined(RD_HAVE_SSE2)
    case RD_ISA_SSE2: return 1;
#endif
#if defined(RD_HAVE_SSSE3)
    case RD_ISA_SSSE3: return cpu_has_ssse3();
    case RD_ISA_AVX2: return cpu_has_avx2();
#endif
    }
    return 0;
}

/* The reference loop: every byte tested on its own, candidate_at at each
 * candidate. The fast loop below must call the matchers at exactly these
 * positions (test_redact compares the two on a large corpus). */
static void scan_ref(rd_scan *sc)
{
    const uint8_t *s = sc->s;
    size_t n = sc->n;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = s[i];
        unsigned t = trig[c];
        int cand = (t >= T_DASH) || (RD_ALNUM(c) && (i == 0 || !RD_ALNUM(s[i - 1])));
        if (!cand) continue;
        size_t e = candidate_at(sc, i);
        if (e > i + 1) i = e - 1;
    }
}

/* Checks the candidates of one chunk (bit k = s[base + k]) and runs the
 * matchers; returns the new resume position (nothing before it is looked at
 * again: it is inside a match). */
static size_t chunk_candidates(rd_scan *sc, size_t base, uint64_t m, uint64_t ws, size_t resume)
{
    const uint8_t *s = sc->s;
    size_t n = sc->n;
    while (m) {
        unsigned bit = (unsigned)__builtin_ctzll(m);
        size_t pos = base + bit, e;
        m &= m - 1;
        if (pos < resume) continue;
        uint8_t c = s[pos];
        switch (trig[c]) {
        case T_NONE: continue;
        case T_TOKEN:
            /* a word start (from ws), and a first pair some token starts with */
            /* (token_at needs at least three bytes, and looks no further
             * when the first three are not a prefix) */
            if (!((ws >> bit) & 1) || pos + 2 >= n || !(tok1[c] & tok2[s[pos + 1]] & tok3[s[pos + 2]])) continue;
            if ((e = token_at(sc, pos)) != 0 && e > resume) resume = e;
            continue;
        case T_DIGIT:
            if (!((ws >> bit) & 1) || n - pos < 13 || !digit_may(s, n, pos)) continue;
            if (c == '1' || (pos > 0 && s[pos - 1] == '$')) e = digit_at(sc, pos);
            else if ((e = rd_card_at(s, n, pos)) != 0) rd_add(sc, pos, e, ST_RULE_PAYMENT_CARD, RD_PRIO_TOKEN);
            if (e > resume) resume = e;
            continue;
        case T_DASH: /* "--..." (PEM, long flags) or "-name" (short flags) */
            if (pos + 1 >= n || (s[pos + 1] != '-' && !RD_ALPHA(s[pos + 1]))) continue;
            e = candidate_at(sc, pos);
            if (e > resume) resume = e;
            continue;
        case T_EQ:
        case T_COLON: /* "key = value", "key: value", "scheme://" */
            if (c == ':' && n - pos >= 3 && s[pos + 1] == '/' && s[pos + 2] == '/') {
                url_at(sc, pos);
            } else {
                if (c == ':' && pos + 1 < n &&
                    (s[pos + 1] == 'A' || s[pos + 1] == '_' || (s[pos + 1] == ' ' && pos > 0 && s[pos - 1] == 's')))
                    colon_extra(sc, pos);
                if (c == ':') go_dsn_at(sc, pos); /* "u:pw@tcp(" */
                size_t sp;
                int closed;
                if (rd_key_may_end_at(s, rd_assign_key_end(s, pos, &sp, &closed))) rd_assign_at(sc, pos);
                else if (pos > 0 && colon_more[s[pos - 1]] == c) colon_more_at(sc, pos); /* "value:", "thin:" */
            }
            continue;
        case T_DOLLAR: /* "$1$...", "$y$...", "$argon2id$..." */
            if (pos + 3 >= n || !crypt_id_may(s[pos + 1])) continue;
            if ((e = crypt_dollar_at(s, n, pos)) != 0) {
                rd_add(sc, pos, e, ST_RULE_PASSWORD_HASH, RD_PRIO_TOKEN);
                if (e > resume) resume = e;
            }
            continue;
        case T_PIPE: /* "echo u:pw | chpasswd" */
            if (pipe_may(s, n, pos)) rd_pipe_at(sc, pos);
            continue;
        case T_LT: /* "<name>" */
            if (pos + 1 >= n || !(RD_ALPHA(s[pos + 1]) || s[pos + 1] == '_' || s[pos + 1] == '-' || s[pos + 1] == '<')) continue;
            rd_xml_at(sc, pos);
            continue;
        default:
            e = candidate_at(sc, pos);
            if (e > resume) resume = e;
            continue;
        }
    }
    return resume;
}

/* The loop, one copy per classifier (inlined, so its tables stay in
 * registers): chunks of 64 bytes, the last one from a zero-padded copy
 * (zero is in no class). */
#define RD_SCAN_FAST(name, classify)                                              \
    static void name(rd_scan *sc)                                                 \
    {                                                                             \
        const uint8_t *s = sc->s;                                                 \
        size_t n = sc->n, i = 0, resume = 0;                                      \
        uint64_t prev = 0; /* s[i - 1] is alphanumeric */                         \
        rd_masks k;                                                               \
        while (i < n) {                                                           \
            size_t len = n - i;                                                   \
            if (len > 64) { /* (classifiers may read one byte past the chunk) */  \
                classify(s + i, 64, &k);                                          \
            } else {                                                              \
                uint8_t pad[80];                                                  \
                memset(pad, 0, sizeof pad);                                       \
                memcpy(pad, s + i, len);                                          \
                classify(pad, len, &k);                                           \
                uint64_t keep = len == 64 ? ~(uint64_t)0 : ((uint64_t)1 << len) - 1; \
                k.am &= keep;                                                     \
                k.tm &= keep;                                                     \
                k.pm &= keep;                                                     \
            }                                                                     \
            uint64_t ws = k.am & ~((k.am << 1) | prev);                           \
            uint64_t m = (k.tm & ws) | k.pm;                                      \
            if (m) resume = chunk_candidates(sc, i, m, ws, resume);               \
            if (resume > i + 64) {                                                \
                i = resume;                                                       \
                prev = RD_ALNUM(s[i - 1]) != 0;                                   \
            } else {                                                              \
                i += 64;                                                          \
                prev = k.am >> 63;                                                \
            }                                                                     \
        }                                                                         \
    }

RD_SCAN_FAST(scan_bytes, classify_bytes)
#if defined(RD_HAVE_SSE2)
RD_SCAN_FAST(scan_sse2, classify_sse2)
#endif
#if defined(RD_HAVE_SSSE3)
__attribute__((target("ssse3"))) RD_SCAN_FAST(scan_ssse3, classify_ssse3)
__attribute__((target("avx2"))) RD_SCAN_FAST(scan_avx2, classify_avx2)
#endif

void rd_scan_builtin_isa(rd_scan *sc, int isa)
{
    switch (isa) {
    case RD_ISA_REF: scan_ref(sc); return;
#if defined(RD_HAVE_SSSE3)
    case RD_ISA_AVX2: scan_avx2(sc); return;
    case RD_ISA_SSSE3: scan_ssse3(sc); return;
#endif
#if defined(RD_HAVE_SSE2)
    case RD_ISA_SSE2: scan_sse2(sc); return;
#endif
    default: scan_bytes(sc); return;
    }
}

void rd_scan_builtin(rd_scan *sc)
{
    int c = atomic_load_explicit(&isa_chosen, memory_order_relaxed);
#if defined(RD_HAVE_SSSE3)
    if (c == RD_ISA_AVX2 + 1) { scan_avx2(sc); return; } /* the common case, without the switches */
#endif
    rd_scan_builtin_isa(sc, c ? c - 1 : isa_best(sc->n));
}
