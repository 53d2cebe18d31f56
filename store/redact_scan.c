/*
 * redact_scan.c: the built-in scanner. One pass over the bytes; a 256-entry
 * table says which bytes can start something worth a closer look, and each
 * of those is checked by a small hand-written matcher:
 *
 *   letter at a word start   prefixed tokens (AKIA..., ghp_..., sk-ant-...,
 *                            xoxb-..., eyJ...JWT), table `tokens` below
 *   digit at a word start    payment card numbers (redact_luhn.c)
 *   '-'                      "-----BEGIN ... PRIVATE KEY-----" blocks,
 *                            "--password value" flags (redact_assign.c)
 *   ':'                      "scheme://user:password@host", Slack webhooks,
 *                            "key: value" (redact_assign.c)
 *   '='                      "key=value" (redact_assign.c)
 *   '<'                      "<password>value</password>" (redact_assign.c)
 *
 * Most bytes fail the table lookup and cost one load and one branch: the
 * scanner runs at several hundred MB/s and needs no setup, unlike a regex
 * engine that must compile (PCRE2) or load a database (Hyperscan) in every
 * hook process. Tokens need a word start on the left (so base64 data and
 * hex digests do not match by accident) and, for fixed-length tokens, a
 * non-alphanumeric byte on the right.
 */
#include "redact_int.h"

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
    { "sk-ant-", 7, ST_RULE_ANTHROPIC_KEY, S_B64URL, C_NONE, 32 },
    { "sk-", 3, ST_RULE_OPENAI_KEY, S_B64URL, C_MIXED, 32 },
    { "sk_live_", 8, ST_RULE_STRIPE_KEY, S_ALNUM, C_NONE, 10 },
    { "sk_test_", 8, ST_RULE_STRIPE_KEY, S_ALNUM, C_NONE, 10 },
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
};
static const tok_rule tok_p[] = {
    { "pypi-AgE", 8, ST_RULE_PYPI_TOKEN, S_B64URL, C_NONE, 50 },
};
static const tok_rule tok_d[] = {
    { "dop_v1_", 7, ST_RULE_DIGITALOCEAN_TOKEN, S_HEX, C_FIXED, 64 },
    { "doo_v1_", 7, ST_RULE_DIGITALOCEAN_TOKEN, S_HEX, C_FIXED, 64 },
    { "dor_v1_", 7, ST_RULE_DIGITALOCEAN_TOKEN, S_HEX, C_FIXED, 64 },
};

#define TOKS(t) { t, sizeof t / sizeof *t }
static const struct { const tok_rule *r; size_t n; } tokens[256] = {
    ['A'] = TOKS(tok_A), ['g'] = TOKS(tok_g), ['s'] = TOKS(tok_s), ['r'] = TOKS(tok_r), ['w'] = TOKS(tok_w),
    ['x'] = TOKS(tok_x), ['n'] = TOKS(tok_n), ['h'] = TOKS(tok_h), ['p'] = TOKS(tok_p), ['d'] = TOKS(tok_d),
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
    if (c0 == 'S') {
        if (i + 3 <= n && s[i + 1] == 'G' && s[i + 2] == '.') {
            size_t e = sendgrid_at(s, n, i);
            if (e) { rd_add(sc, i, e, ST_RULE_SENDGRID_KEY, RD_PRIO_TOKEN); return e; }
        }
        return 0;
    }
    if (n - i < 8) return 0; /* every prefixed token is longer */
    for (size_t t = 0; t < tokens[c0].n; t++) {
        const tok_rule *r = &tokens[c0].r[t];
        if ((uint8_t)r->prefix[1] != s[i + 1] || (uint8_t)r->prefix[2] != s[i + 2] || n - i < r->plen ||
            memcmp(s + i + 3, r->prefix + 3, r->plen - 3u))
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
    size_t b64 = 0;
    while (j < n) {
        uint8_t c = s[j];
        if (c == '-' && n - j >= 9 && memcmp(s + j, "-----END ", 9) == 0) {
            const uint8_t *e = find(s + j + 9, (n - j - 9) < 64 ? n - j - 9 : 64, "-----", 5);
            return e ? (size_t)(e - s) + 5 : n;
        }
        if (RD_B64(c) || c == '=') b64++;
        else if (RD_SPACE(c) || c == ':' || c == ',' || c == '-' || c == '.' || c == '_') {}
        else if (c == '\\' && j + 1 < n && (s[j + 1] == 'n' || s[j + 1] == 'r' || s[j + 1] == 't')) j++;
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

/* ==== the loop ======================================================================== */

enum { T_NONE = 0, T_TOKEN, T_DIGIT, T_DASH, T_COLON, T_EQ, T_LT, T_BSLASH };

static const uint8_t trig[256] = {
    ['A'] = T_TOKEN, ['g'] = T_TOKEN, ['s'] = T_TOKEN, ['r'] = T_TOKEN, ['w'] = T_TOKEN,
    ['x'] = T_TOKEN, ['n'] = T_TOKEN, ['h'] = T_TOKEN, ['p'] = T_TOKEN, ['d'] = T_TOKEN,
    ['e'] = T_TOKEN, ['S'] = T_TOKEN,
    ['2'] = T_DIGIT, ['3'] = T_DIGIT, ['4'] = T_DIGIT, ['5'] = T_DIGIT, ['6'] = T_DIGIT,
    ['-'] = T_DASH, [':'] = T_COLON, ['='] = T_EQ, ['<'] = T_LT, ['\\'] = T_BSLASH,
};

/* Can a token start with bytes a, b? (A cheap filter before token_at.) */
static inline int token_start2(uint8_t a, uint8_t b)
{
    switch (a) {
    case 'A': return b == 'K' || b == 'S' || b == 'B' || b == 'C' || b == '3' || b == 'I';
    case 'g': return b == 'h' || b == 'i' || b == 'l';
    case 's': case 'r': return b == 'k';
    case 'w': return b == 'h';
    case 'x': return b == 'o' || b == 'a';
    case 'n': return b == 'p';
    case 'h': return b == 'f';
    case 'p': return b == 'y';
    case 'd': return b == 'o';
    case 'e': return b == 'y';
    case 'S': return b == 'G';
    }
    return 0;
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
        if ((i == 0 || s[i - 1] != '.') && (e = rd_card_at(s, sc->n, i)) != 0) {
            rd_add(sc, i, e, ST_RULE_PAYMENT_CARD, RD_PRIO_TOKEN);
            return e;
        }
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
            return e;
        }
        if (i + 1 < n && RD_ALPHA(s[i + 1])) rd_flag_at(sc, i);
        break;
    case T_COLON:
        if (n - i >= 3 && s[i + 1] == '/' && s[i + 2] == '/') url_at(sc, i);
        else rd_assign_at(sc, i);
        break;
    case T_EQ: rd_assign_at(sc, i); break;
    case T_LT: rd_xml_at(sc, i); break;
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

#if defined(__SSE2__)
#include <emmintrin.h>

static inline __m128i in_range(__m128i x, char lo, char hi)
{
    __m128i t = _mm_sub_epi8(x, _mm_set1_epi8(lo));
    return _mm_cmpeq_epi8(_mm_min_epu8(t, _mm_set1_epi8((char)(hi - lo))), t);
}

/* Bit k set: byte k of the block is a candidate: a word start whose byte can
 * start a token (see trig[]), or one of - : = < \. */
static inline uint32_t block_candidates(const uint8_t *p, int prev_alnum)
{
    __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i alnum = _mm_or_si128(in_range(x, '0', '9'), in_range(_mm_or_si128(x, _mm_set1_epi8(0x20)), 'a', 'z'));
    __m128i punct = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('-')), _mm_cmpeq_epi8(x, _mm_set1_epi8(':'))),
                                 _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('=')), _mm_cmpeq_epi8(x, _mm_set1_epi8('<'))));
    punct = _mm_or_si128(punct, _mm_cmpeq_epi8(x, _mm_set1_epi8('\\')));
    /* the bytes that can start a token or card number (trig[] == T_TOKEN or T_DIGIT) */
    __m128i tl = in_range(x, '2', '6');
#define TL(ch) tl = _mm_or_si128(tl, _mm_cmpeq_epi8(x, _mm_set1_epi8(ch)))
    TL('A'); TL('g'); TL('s'); TL('r'); TL('w'); TL('x'); TL('n'); TL('h'); TL('p'); TL('d'); TL('e'); TL('S');
#undef TL
    uint32_t am = (uint32_t)_mm_movemask_epi8(alnum);
    uint32_t starts = am & ~((am << 1) | (uint32_t)prev_alnum) & (uint32_t)_mm_movemask_epi8(tl);
    return (starts | (uint32_t)_mm_movemask_epi8(punct)) & 0xffffu;
}
#endif

void rd_scan_builtin(rd_scan *sc)
{
    const uint8_t *s = sc->s;
    size_t n = sc->n, i = 0, resume = 0;
#if defined(__SSE2__)
    while (i + 16 <= n) {
        uint32_t m = block_candidates(s + i, i > 0 && RD_ALNUM(s[i - 1]));
        while (m) {
            size_t pos = i + (size_t)__builtin_ctz(m);
            m &= m - 1;
            unsigned t = trig[s[pos]];
            if (pos < resume || t == T_NONE || (t == T_TOKEN && (pos + 1 >= n || !token_start2(s[pos], s[pos + 1]))))
                continue;
            size_t e = candidate_at(sc, pos);
            if (e > resume) resume = e;
        }
        i = resume > i + 16 ? resume : i + 16;
    }
#endif
    /* the tail (or everything, without SSE2): the same test a byte at a time */
    for (i = i > resume ? i : resume; i < n; i++) {
        uint8_t c = s[i];
        unsigned t = trig[c];
        int cand = (t >= T_DASH) || (RD_ALNUM(c) && (i == 0 || !RD_ALNUM(s[i - 1])));
        if (!cand) continue;
        size_t e = candidate_at(sc, i);
        if (e > i + 1) i = e - 1;
    }
}
