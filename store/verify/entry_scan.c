/*
 * entry_scan.c: the verifier's one-pass entry check (entry_scan.h). A
 * recursive-descent scan over the bytes that enforces, as it goes, what
 * st_json_parse_canonical and st_entry_parse enforce together:
 *
 *   [ENTRY-1] strict UTF-8 (no overlongs, surrogates, or code points above
 *             U+10FFFF) in strings; no raw bytes below 0x20;
 *   [ENTRY-2] no whitespace;
 *   [ENTRY-3] object keys strictly increasing by their decoded bytes
 *             (unsigned, a prefix first): sorted and no duplicates;
 *   [ENTRY-4] numbers -?(0|[1-9][0-9]*), not -0, |n| <= 2^53 - 1;
 *   [ENTRY-5] only the canonical escapes: \" \\ \b \f \n \r \t, and \u00XX
 *             in lowercase hex for the other code points below U+0020;
 *   [ENTRY-6] nothing after the root object, <= 1 MiB, depth <= 16;
 *   [ENTRY-7..9] and [PAYLOAD-2..3]: v == 1, index >= 0, time_us, a
 *             non-empty kind without NUL, the payload table, the types of
 *             the known optional members.
 *
 * Anything it does not accept goes to st_entry_parse, which decides.
 */
#include "entry_scan.h"

#include <stddef.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define MAX_DEPTH 16u
#define MAX_SAFE  9007199254740991ULL   /* 2^53 - 1 */

typedef struct sc {
    const uint8_t *p, *end;
} sc;

/* ---- lexical pieces ---------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at p (RFC 3629), or 0. */
static size_t utf8_len(const uint8_t *p, const uint8_t *end)
{
    uint8_t c = p[0];
    size_t avail = (size_t)(end - p);
    if (c < 0x80) return 1;
    if (c < 0xC2) return 0;
    if (c < 0xE0) return avail >= 2 && (p[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c < 0xF0) {
        if (avail < 3 || (p[2] & 0xC0) != 0x80) return 0;
        uint8_t lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
        return p[1] >= lo && p[1] <= hi ? 3 : 0;
    }
    if (c < 0xF5) {
        if (avail < 4 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80) return 0;
        uint8_t lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
        return p[1] >= lo && p[1] <= hi ? 4 : 0;
    }
    return 0;
}

static int lower_hex(uint8_t c) { return (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1; }

/* A byte that ends a run of plain characters: '"', '\\', below 0x20, or 0x80 and above. */
static inline int stop_byte(uint8_t b) { return b == '"' || b == '\\' || b < 0x20 || b >= 0x80; }

/* A string at c->p (the opening quote). Inlined: strings are most of an
 * entry's tokens, and most are short. */
static inline __attribute__((always_inline)) int scan_str(sc *c, st_span *out)
{
    const uint8_t *p = c->p + 1, *end = c->end, *start = p;
    int esc = 0;
    for (;;) {
#ifdef __SSE2__
        /* 16 bytes at a time: the first byte that is '"', '\\', below 0x20 or
         * 0x80 and above (the signed compare catches both) stops the run;
         * fewer than 16 left: one at a time */
        const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\'), space = _mm_set1_epi8(0x20);
        for (;;) {
            if (end - p < 16) {
                while (p < end && !stop_byte(*p)) p++;
                break;
            }
            __m128i w = _mm_loadu_si128((const __m128i *)(const void *)p);
            __m128i stop = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(w, quote), _mm_cmpeq_epi8(w, bslash)),
                                        _mm_cmplt_epi8(w, space));
            unsigned m = (unsigned)_mm_movemask_epi8(stop);
            if (m) {
                p += __builtin_ctz(m);
                break;
            }
            p += 16;
        }
#else
        while (p < end && !stop_byte(*p)) p++;
#endif
        if (p >= end) return -1;
        uint8_t b = *p;
        if (b == '"') break;
        if (b == '\\') {
            if (end - p < 2) return -1;
            esc = 1;
            switch (p[1]) {
            case '"': case '\\': case 'b': case 'f': case 'n': case 'r': case 't':
                p += 2;
                break;
            case 'u': {
                if (end - p < 6 || p[2] != '0' || p[3] != '0') return -1;
                int h = lower_hex(p[4]), l = lower_hex(p[5]);
                if (h < 0 || h > 1 || l < 0) return -1;
                int v = h * 16 + l;
                if (v == 0x08 || v == 0x09 || v == 0x0A || v == 0x0C || v == 0x0D) return -1;
                p += 6;
                break;
            }
            default: return -1;
            }
        } else if (b < 0x20) {
            return -1;
        } else if (b < 0x80) {
            p++;
        } else {
            size_t k = utf8_len(p, end);
            if (!k) return -1;
            p += k;
        }
    }
    out->p = start;
    out->n = (size_t)(p - start);
    out->esc = esc;
    c->p = p + 1;
    return 0;
}

static int scan_num(sc *c, int64_t *out)
{
    const uint8_t *p = c->p, *end = c->end;
    int neg = 0;
    if (p < end && *p == '-') { neg = 1; p++; }
    if (p >= end) return -1;
    uint64_t v = 0;
    if (*p == '0') {
        p++;
        if (neg) return -1;                 /* -0 */
    } else if (*p >= '1' && *p <= '9') {
        int digits = 0;
        /* eight digits at a time while eight are there (SWAR: each byte
         * '0'..'9' iff its low nibble is <= 9 and its high nibble is 3);
         * at most two such steps, the rest one at a time */
        while (end - p >= 8 && digits <= 8) {
            uint64_t w;
            memcpy(&w, p, 8);
            uint64_t d = w - 0x3030303030303030ULL;
            if (((w & 0xF0F0F0F0F0F0F0F0ULL) != 0x3030303030303030ULL) ||
                (((d + 0x7676767676767676ULL) & 0x8080808080808080ULL) != 0))
                break;
            /* d holds eight digit values, the first in the low byte */
            d = (d * 10) + (d >> 8);                                  /* pairs */
            d = (((d & 0x000000FF000000FFULL) * 0x000F424000000064ULL) +
                 (((d >> 16) & 0x000000FF000000FFULL) * 0x0000271000000001ULL)) >> 32;
            v = v * 100000000u + (d & 0xFFFFFFFFu);
            digits += 8;
            p += 8;
        }
        while (p < end && *p >= '0' && *p <= '9') {
            if (++digits > 16) return -1;   /* > 2^53 - 1 for sure */
            v = v * 10 + (uint64_t)(*p - '0');
            p++;
        }
        if (v > MAX_SAFE) return -1;
    } else {
        return -1;
    }
    if (p < end && (*p == '.' || *p == 'e' || *p == 'E' || (*p >= '0' && *p <= '9'))) return -1;
    c->p = p;
    if (out) *out = neg ? -(int64_t)v : (int64_t)v;
    return 0;
}

/* The decoded byte sequence of a span, one byte at a time (canonical escapes decode to one byte). */
static int next_byte(const uint8_t **pp, const uint8_t *end)
{
    const uint8_t *p = *pp;
    if (p >= end) return -1;
    if (*p != '\\') {
        *pp = p + 1;
        return *p;
    }
    switch (p[1]) {
    case '"': *pp = p + 2; return '"';
    case '\\': *pp = p + 2; return '\\';
    case 'b': *pp = p + 2; return 0x08;
    case 'f': *pp = p + 2; return 0x0C;
    case 'n': *pp = p + 2; return 0x0A;
    case 'r': *pp = p + 2; return 0x0D;
    case 't': *pp = p + 2; return 0x09;
    default: *pp = p + 6; return lower_hex(p[4]) * 16 + lower_hex(p[5]);
    }
}

static inline __attribute__((always_inline)) int key_cmp(const st_span *a, const st_span *b)
{
    if (!a->esc && !b->esc) {
        /* keys are short and differ early: a loop beats a call to memcmp */
        size_t m = a->n < b->n ? a->n : b->n;
        for (size_t i = 0; i < m; i++)
            if (a->p[i] != b->p[i]) return (int)a->p[i] - (int)b->p[i];
        return (a->n > b->n) - (a->n < b->n);
    }
    const uint8_t *x = a->p, *xe = a->p + a->n, *y = b->p, *ye = b->p + b->n;
    for (;;) {
        int cx = next_byte(&x, xe), cy = next_byte(&y, ye);
        if (cx < 0 || cy < 0) return (cx >= 0) - (cy >= 0);
        if (cx != cy) return cx - cy;
    }
}

size_t st_span_decode(const st_span *s, char *out, size_t cap)
{
    if (!s->esc) {
        if (cap) memcpy(out, s->p, s->n < cap ? s->n : cap);
        return s->n;
    }
    const uint8_t *p = s->p, *e = s->p + s->n;
    size_t n = 0;
    int b;
    while ((b = next_byte(&p, e)) >= 0) {
        if (n < cap) out[n] = (char)b;
        n++;
    }
    return n;
}

static int is_key_n(const st_span *k, const char *name, size_t n)
{
    return !k->esc && k->n == n && memcmp(k->p, name, n) == 0;
}
#define is_key(k, lit) is_key_n((k), lit, sizeof lit - 1)

/* ---- generic values ------------------------------------------------------------- */

static int scan_val(sc *c, unsigned depth);

typedef int (*member_fn)(sc *c, const st_span *key, void *ctx, unsigned depth);

/* An object at c->p at nesting level depth (the root is 1); each member's value is
 * scanned by fn (NULL: generic). Counts members into *count if non-NULL.
 * Inlined where fn is a constant (the root, the payload table, a payload):
 * fn is then inlined too, no indirect call per member; scan_obj is the
 * out-of-line copy (generic values, which recurse). */
static inline __attribute__((always_inline)) int scan_obj_in(sc *c, unsigned depth, member_fn fn, void *ctx,
                                                             size_t *count)
{
    if (depth > MAX_DEPTH) return -1;
    c->p++;
    size_t n = 0;
    if (c->p < c->end && *c->p == '}') {
        c->p++;
        if (count) *count = 0;
        return 0;
    }
    st_span prev = { NULL, 0, 0 };
    for (;;) {
        st_span key;
        if (c->p >= c->end || *c->p != '"' || scan_str(c, &key)) return -1;
        if (n && key_cmp(&prev, &key) >= 0) return -1;
        prev = key;
        if (c->p >= c->end || *c->p != ':') return -1;
        c->p++;
        if (fn ? fn(c, &key, ctx, depth) : scan_val(c, depth)) return -1;
        n++;
        if (c->p >= c->end) return -1;
        if (*c->p == ',') { c->p++; continue; }
        if (*c->p == '}') { c->p++; break; }
        return -1;
    }
    if (count) *count = n;
    return 0;
}

static int scan_obj(sc *c, unsigned depth, member_fn fn, void *ctx, size_t *count)
{
    return scan_obj_in(c, depth, fn, ctx, count);
}

static int scan_arr(sc *c, unsigned depth)
{
    if (depth > MAX_DEPTH) return -1;
    c->p++;
    if (c->p < c->end && *c->p == ']') { c->p++; return 0; }
    for (;;) {
        if (scan_val(c, depth)) return -1;
        if (c->p >= c->end) return -1;
        if (*c->p == ',') { c->p++; continue; }
        if (*c->p == ']') { c->p++; return 0; }
        return -1;
    }
}

static int lit(sc *c, const char *w, size_t n)
{
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, w, n) != 0) return -1;
    c->p += n;
    return 0;
}

/* A value inside a container at level depth. */
static int scan_val(sc *c, unsigned depth)
{
    if (c->p >= c->end) return -1;
    st_span s;
    switch (*c->p) {
    case '{': return scan_obj(c, depth + 1, NULL, NULL, NULL);
    case '[': return scan_arr(c, depth + 1);
    case '"': return scan_str(c, &s);
    case 't': return lit(c, "true", 4);
    case 'f': return lit(c, "false", 5);
    case 'n': return lit(c, "null", 4);
    default: return scan_num(c, NULL);
    }
}

static int want_str(sc *c, st_span *s) { return c->p < c->end && *c->p == '"' ? scan_str(c, s) : -1; }
static int want_num(sc *c, int64_t *v) { return c->p < c->end && (*c->p == '-' || (*c->p >= '0' && *c->p <= '9')) ? scan_num(c, v) : -1; }
static int want_obj(const sc *c) { return c->p < c->end && *c->p == '{'; }

#ifndef __SSE2__
/* Lowercase hex digit values, 0x10 for anything else (a table: digits and
 * letters alternate unpredictably, and branches on them are slow). */
static const uint8_t hexval[256] = {
    ['0'] = 0, ['1'] = 1, ['2'] = 2, ['3'] = 3, ['4'] = 4, ['5'] = 5, ['6'] = 6, ['7'] = 7, ['8'] = 8, ['9'] = 9,
    ['a'] = 10, ['b'] = 11, ['c'] = 12, ['d'] = 13, ['e'] = 14, ['f'] = 15,
};
#endif

static int hex_hash(const st_span *s, st_hash out)
{
    if (s->esc || s->n != 64) return -1;
#ifdef __SSE2__
    /* 16 digits at a time: each must be 0-9 or a-f (unsigned ranges after
     * subtracting '0' and 'a'); pairs of nibbles then pack into bytes. */
    for (size_t i = 0; i < 4; i++) {
        __m128i w = _mm_loadu_si128((const __m128i *)(const void *)(s->p + 16 * i));
        __m128i d = _mm_sub_epi8(w, _mm_set1_epi8('0')), l = _mm_sub_epi8(w, _mm_set1_epi8('a'));
        __m128i isd = _mm_cmpeq_epi8(_mm_min_epu8(d, _mm_set1_epi8(9)), d);
        __m128i isl = _mm_cmpeq_epi8(_mm_min_epu8(l, _mm_set1_epi8(5)), l);
        if (_mm_movemask_epi8(_mm_or_si128(isd, isl)) != 0xFFFF) return -1;
        __m128i val = _mm_or_si128(_mm_and_si128(isd, d), _mm_andnot_si128(isd, _mm_add_epi8(l, _mm_set1_epi8(10))));
        __m128i hi = _mm_and_si128(val, _mm_set1_epi16(0x00FF)), lo = _mm_srli_epi16(val, 8);
        __m128i bytes = _mm_or_si128(_mm_slli_epi16(hi, 4), lo);
        _mm_storel_epi64((__m128i *)(void *)(out + 8 * i), _mm_packus_epi16(bytes, bytes));
    }
    return 0;
#else
    unsigned bad = 0;
    for (size_t i = 0; i < 32; i++) {
        uint8_t a = s->p[2 * i], b = s->p[2 * i + 1];
        uint8_t h = hexval[a], l = hexval[b];
        /* the table's zeros: only '0' really is 0 */
        bad |= (h == 0 && a != '0') | (l == 0 && b != '0');
        out[i] = (uint8_t)(h << 4 | l);
    }
    return bad ? -1 : 0;
#endif
}

/* ---- the payload table [PAYLOAD-2], [PAYLOAD-3] ---------------------------------- */

typedef struct pay_ctx {
    st_entry_payload *p;
    int has_commit, has_len, has_tlen, has_tsha;
} pay_ctx;

static int trunc_member(sc *c, const st_span *key, void *ctx, unsigned depth)
{
    pay_ctx *x = ctx;
    int64_t v;
    st_span s;
    if (is_key(key, "len")) {
        if (want_num(c, &v) || v < 0) return -1;
        x->p->full_len = (uint64_t)v;
        x->has_tlen = 1;
        return 0;
    }
    if (is_key(key, "sha256")) {
        if (want_str(c, &s) || hex_hash(&s, x->p->full_sha256)) return -1;
        x->has_tsha = 1;
        return 0;
    }
    return scan_val(c, depth);
}

static int commit_member(sc *c, const st_span *key, void *ctx, unsigned depth)
{
    pay_ctx *x = ctx;
    int64_t v;
    st_span s;
    if (is_key(key, "commit")) {
        if (want_str(c, &s) || hex_hash(&s, x->p->commit)) return -1;
        x->has_commit = 1;
        return 0;
    }
    if (is_key(key, "len")) {
        if (want_num(c, &v) || v < 0) return -1;
        x->p->len = (uint64_t)v;
        x->has_len = 1;
        return 0;
    }
    if (is_key(key, "truncated")) {
        if (!want_obj(c) || scan_obj(c, depth + 1, trunc_member, x, NULL)) return -1;
        if (!x->has_tlen || !x->has_tsha) return -1;
        x->p->truncated = 1;
        return 0;
    }
    return scan_val(c, depth);
}

static int payload_member(sc *c, const st_span *key, void *ctx, unsigned depth)
{
    st_entry_facts *f = ctx;
    if (f->npayloads >= ST_ENTRY_MAX_PAYLOADS || key->esc ||
        !st_payload_name_valid((const char *)key->p, key->n) || !want_obj(c))
        return -1;
    st_entry_payload *p = &f->payloads[f->npayloads];
    memset(p, 0, sizeof *p);
    memcpy(p->name, key->p, key->n);
    pay_ctx x = { p, 0, 0, 0, 0 };
    if (scan_obj_in(c, depth + 1, commit_member, &x, NULL)) return -1;
    if (!x.has_commit || !x.has_len) return -1;
    if (p->truncated && p->full_len <= p->len) return -1;
    f->npayloads++;
    return 0;
}

static int redaction_member(sc *c, const st_span *key, void *ctx, unsigned depth)
{
    (void)key; (void)ctx; (void)depth;
    int64_t v;
    return want_num(c, &v) || v < 0 ? -1 : 0;
}

/* ---- the root object [ENTRY-7..9] ------------------------------------------------- */

typedef struct root_ctx {
    st_entry_facts *f;
    int has_v, has_index, has_time, has_kind;
} root_ctx;

/* The known string members: which one key is (0: none), by its length first
 * (one switch instead of a search through the list). */
enum { SM_NONE, SM_OTHER, SM_TOOL, SM_EVENT, SM_STATUS, SM_SESSION };

static int string_member(const st_span *k)
{
#define IS(lit) (memcmp(k->p, lit, sizeof lit - 1) == 0)
    switch (k->n) {
    case 3: return IS("cwd") ? SM_OTHER : SM_NONE;
    case 4: return IS("tool") ? SM_TOOL : IS("host") || IS("user") ? SM_OTHER : SM_NONE;
    case 5: return IS("event") ? SM_EVENT : IS("error") ? SM_OTHER : IS("spool") ? SM_OTHER : SM_NONE;
    case 6: return IS("status") ? SM_STATUS : SM_NONE;
    case 7: return IS("session") ? SM_SESSION : SM_NONE;
    case 8: return IS("agent_id") || IS("withheld") ? SM_OTHER : SM_NONE;
    case 9: return IS("prompt_id") ? SM_OTHER : SM_NONE;
    case 10: return IS("agent_type") || IS("mcp_server") ? SM_OTHER : SM_NONE;
    case 11: return IS("tool_use_id") || IS("parse_error") ? SM_OTHER : SM_NONE;
    case 15: return IS("permission_mode") ? SM_OTHER : SM_NONE;
    default: return SM_NONE;
    }
#undef IS
}

static int root_member(sc *c, const st_span *key, void *ctx, unsigned depth)
{
    root_ctx *r = ctx;
    st_entry_facts *f = r->f;
    int64_t v;
    st_span s;
    if (key->esc || key->n == 0) return scan_val(c, depth);
    switch (key->p[0]) {
    case 'v':
        if (is_key(key, "v")) {
            if (want_num(c, &v) || v != ST_ENTRY_VERSION) return -1;
            r->has_v = 1;
            return 0;
        }
        break;
    case 'i':
        if (is_key(key, "index")) {
            if (want_num(c, &v) || v < 0) return -1;
            f->index = (uint64_t)v;
            r->has_index = 1;
            return 0;
        }
        if (is_key(key, "input_len")) return want_num(c, &v);
        break;
    case 't':
        if (is_key(key, "time_us")) {
            if (want_num(c, &f->time_us)) return -1;
            r->has_time = 1;
            return 0;
        }
        break;
    case 'k':
        if (is_key(key, "kind")) {
            if (want_str(c, &s) || s.n == 0) return -1;
            if (s.esc) {                   /* no NUL once decoded */
                const uint8_t *q = s.p, *qe = s.p + s.n;
                int b;
                while ((b = next_byte(&q, qe)) >= 0)
                    if (b == 0) return -1;
            }
            f->kind = s;
            r->has_kind = 1;
            return 0;
        }
        break;
    case 'p':
        if (is_key(key, "payloads")) {
            size_t n;
            if (!want_obj(c) || scan_obj_in(c, depth + 1, payload_member, f, &n)) return -1;
            return 0;
        }
        break;
    case 'd':
        if (is_key(key, "duration_ms")) {
            if (want_num(c, &v)) return -1;
            f->has_duration = v >= 0;
            f->duration_ms = v;
            return 0;
        }
        if (is_key(key, "data")) return want_obj(c) ? scan_obj(c, depth + 1, NULL, NULL, NULL) : -1;
        break;
    case 'r':
        if (is_key(key, "recorded_us")) return want_num(c, &v);
        if (is_key(key, "redactions")) return want_obj(c) ? scan_obj(c, depth + 1, redaction_member, NULL, NULL) : -1;
        break;
    case 'u':
        if (is_key(key, "utf8_replaced")) return want_num(c, &v);
        break;
    default:
        break;
    }
    int sm = string_member(key);
    if (sm != SM_NONE) {
        if (want_str(c, &s)) return -1;
        switch (sm) {
        case SM_TOOL: f->tool = s; f->has_tool = 1; break;
        case SM_EVENT: f->event = s; f->has_event = 1; break;
        case SM_STATUS: f->status = s; f->has_status = 1; break;
        case SM_SESSION: f->session = s; f->has_session = 1; break;
        default: break;
        }
        return 0;
    }
    return scan_val(c, depth);
}

int st_entry_scan(st_entry_facts *out, const uint8_t *bytes, size_t len)
{
    memset(out, 0, offsetof(st_entry_facts, payloads));   /* each payload is cleared as it is scanned */
    if (!bytes || len == 0 || len > ST_ENTRY_MAX || bytes[0] != '{') return -1;
    sc c = { bytes, bytes + len };
    root_ctx r = { out, 0, 0, 0, 0 };
    if (scan_obj_in(&c, 1, root_member, &r, NULL)) return -1;
    if (c.p != c.end) return -1;
    if (!r.has_v || !r.has_index || !r.has_time || !r.has_kind) return -1;
    return 0;
}
