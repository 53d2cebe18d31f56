/*
 * json.c: strict, length-aware JSON for hostile input (contract in json.h).
 *
 * What is here, top to bottom: the per-document arena; byte scanning for the
 * string fast path (SSE2, or 8 bytes at a time elsewhere) and the UTF-8
 * decoder; the duplicate-key sets; the parser; getters and builders; the
 * writer; the canonical-entry check of docs/FORMAT.md [ENTRY-1..6].
 *
 * Nothing in this file recurses. The parser, the writer and st_json_clone walk
 * explicit heap stacks, so nesting costs heap memory (bounded by max_depth for
 * parses, by the tree itself for builders), never C stack. Freeing a document
 * frees its arena chunks; the tree is never walked.
 */
#include "json.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* ==== arena ================================================================
 * Bump allocation in chunks. The first chunk is allocated together with the
 * document (one malloc for a small parse); later chunks double up to
 * ARENA_MAX_CHUNK. A request bigger than a quarter of the next chunk (a large
 * string) gets a block of its own, so big strings waste no chunk tail.
 * A reset (st_json_doc_reset, st_json_parse_reuse) frees every chunk but the
 * first, which the next parse or build then fills from its start. */

typedef struct chunk {
    struct chunk *next;
    size_t cap, used;
    max_align_t data[];
} chunk;

struct st_json_doc {
    chunk *cur;         /* allocation happens here */
    chunk *retired;     /* full chunks and dedicated blocks */
    chunk *embedded;    /* the first chunk, part of the doc allocation */
    size_t next_cap;
    st_json *root;
    st_buf scratch;     /* the parser's decoding area: kept while the document is reused */
};

#define ARENA_MIN_CHUNK ((size_t)2048)
/* A reused document whose first chunk is over twice what a parse needs plus
 * DOC_SLACK is replaced, so that the long lines of an input do not pin their
 * memory in documents reused for short ones; a decoding area over DOC_KEEP
 * is freed at a reset. */
#define DOC_SLACK ((size_t)8 << 10)
#define DOC_KEEP ((size_t)64 << 10)
#define ARENA_MAX_CHUNK ((size_t)16 << 20)
#define DOC_HEAD ((sizeof(st_json_doc) + alignof(chunk) - 1) / alignof(chunk) * alignof(chunk))

static st_json_doc *doc_new_sized(size_t first)
{
    if (first < ARENA_MIN_CHUNK) first = ARENA_MIN_CHUNK;
    if (first > ARENA_MAX_CHUNK / 16) first = ARENA_MAX_CHUNK / 16;
    unsigned char *mem = malloc(DOC_HEAD + sizeof(chunk) + first);
    if (!mem) return NULL;
    st_json_doc *d = (st_json_doc *)(void *)mem;
    chunk *c = (chunk *)(void *)(mem + DOC_HEAD);
    c->next = NULL;
    c->cap = first;
    c->used = 0;
    d->cur = d->embedded = c;
    d->retired = NULL;
    d->next_cap = first * 2;
    d->root = NULL;
    memset(&d->scratch, 0, sizeof d->scratch);
    return d;
}

static void *arena_alloc_slow(st_json_doc *d, size_t n, size_t align)
{
    if (n > SIZE_MAX - sizeof(chunk) - align) return NULL;
    if (n + align > d->next_cap / 4) {
        /* dedicated block, kept off the bump path */
        chunk *b = malloc(sizeof(chunk) + n + align);
        if (!b) return NULL;
        st_prefault(b->data, n + align);   /* a long string is copied in next */
        b->cap = b->used = n + align;
        b->next = d->retired;
        d->retired = b;
        return (unsigned char *)b->data; /* max-aligned */
    }
    size_t cap = d->next_cap;
    chunk *c = malloc(sizeof(chunk) + cap);
    if (!c) return NULL;
    c->cap = cap;
    c->used = n;
    d->cur->next = d->retired;
    d->retired = d->cur;
    c->next = NULL;
    d->cur = c;
    if (d->next_cap < ARENA_MAX_CHUNK) d->next_cap *= 2;
    return (unsigned char *)c->data;
}

static inline void *arena_alloc(st_json_doc *d, size_t n, size_t align)
{
    chunk *c = d->cur;
    size_t off = (c->used + align - 1) & ~(align - 1);
    if (off <= c->cap && n <= c->cap - off) {
        c->used = off + n;
        return (unsigned char *)c->data + off;
    }
    return arena_alloc_slow(d, n, align);
}

/* A NUL-terminated copy of s[0..n) in the arena. */
static char *arena_strdup(st_json_doc *d, const void *s, size_t n)
{
    if (n == SIZE_MAX) return NULL;
    char *p = arena_alloc(d, n + 1, 1);
    if (!p) return NULL;
    if (n) memcpy(p, s, n);
    p[n] = 0;
    return p;
}

static st_json *node_new(st_json_doc *d, st_json_type t)
{
    st_json *v = arena_alloc(d, sizeof *v, alignof(st_json));
    if (!v) return NULL;
    memset(v, 0, sizeof *v);
    v->type = t;
    return v;
}

st_json_doc *st_json_doc_new(void) { return doc_new_sized(ARENA_MIN_CHUNK); }

/* Frees every chunk but the embedded one. */
static void doc_free_chunks(st_json_doc *doc)
{
    chunk *lists[2] = { doc->cur, doc->retired };
    for (int l = 0; l < 2; l++) {
        chunk *c = lists[l];
        while (c) {
            chunk *next = c->next;
            if (c != doc->embedded) free(c);
            c = next;
        }
    }
}

void st_json_doc_free(st_json_doc *doc)
{
    if (!doc) return;
    doc_free_chunks(doc);
    st_buf_free(&doc->scratch);
    free(doc);
}

void st_json_doc_reset(st_json_doc *doc)
{
    if (!doc) return;
    doc_free_chunks(doc);
    chunk *c = doc->embedded;
    c->next = NULL;
    c->used = 0;
    doc->cur = c;
    doc->retired = NULL;
    doc->next_cap = c->cap * 2;
    doc->root = NULL;
    if (doc->scratch.cap > DOC_KEEP || doc->scratch.oom) st_buf_free(&doc->scratch);
}

st_json *st_json_doc_root(st_json_doc *doc) { return doc ? doc->root : NULL; }
void st_json_doc_set_root(st_json_doc *doc, st_json *v) { if (doc) doc->root = v; }

void *st_json_doc_alloc(st_json_doc *doc, size_t n)
{
    return arena_alloc(doc, n, alignof(max_align_t));
}

/* ==== scanning =============================================================
 * scan_str: index of the first byte at or after i that a string parse must
 * look at ('"', '\\', < 0x20, >= 0x80), or len. scan_esc: the same for the
 * writer ('"', '\\', < 0x20; non-ASCII is copied as is). This is the hot loop
 * of both directions: 16 bytes per step with SSE2, 8 with plain 64-bit words. */

#if !defined(__SSE2__)
#define ONES UINT64_C(0x0101010101010101)
#define HIGH UINT64_C(0x8080808080808080)
static inline uint64_t swar_special(uint64_t x, int stop_high)
{
    uint64_t q = x ^ (ONES * '"'), b = x ^ (ONES * '\\');
    uint64_t m = ((q - ONES) & ~q) | ((b - ONES) & ~b) | ((x - ONES * 0x20) & ~x);
    m &= HIGH;
    if (stop_high) m |= x & HIGH;
    return m;
}
#endif

static const unsigned char needs_look[256] = {
    /* 1 for '"', '\\', < 0x20 (the writer's set); the parser adds >= 0x80 */
    1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1, 1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,
    0,0,1,0,0,0,0,0,0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,
    0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0,0,0,0,0,1,0,0,0,
};

static inline size_t scan_special(const unsigned char *s, size_t i, size_t len, int stop_high)
{
#if defined(__SSE2__)
    const __m128i q = _mm_set1_epi8('"'), b = _mm_set1_epi8('\\'), c = _mm_set1_epi8(0x1f);
    while (len - i >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, q), _mm_cmpeq_epi8(v, b)),
                                 _mm_cmpeq_epi8(_mm_min_epu8(v, c), v));
        unsigned mask = (unsigned)_mm_movemask_epi8(m);
        if (stop_high) mask |= (unsigned)_mm_movemask_epi8(v);
        if (mask) return i + (size_t)__builtin_ctz(mask);
        i += 16;
    }
#else
    while (len - i >= 8) {
        uint64_t x;
        memcpy(&x, s + i, 8);
        if (swar_special(x, stop_high)) break; /* the byte loop below finds it */
        i += 8;
    }
#endif
    while (i < len && !needs_look[s[i]] && !(stop_high && s[i] >= 0x80)) i++;
    return i;
}

static size_t scan_str(const unsigned char *s, size_t i, size_t len) { return scan_special(s, i, len, 1); }
static size_t scan_esc(const unsigned char *s, size_t i, size_t len) { return scan_special(s, i, len, 0); }

/* Length of the well-formed UTF-8 sequence at s[0..n) per Unicode Table 3-7
 * (no overlongs, no surrogates, <= U+10FFFF), or 0 when ill-formed; then
 * *sub is the length of the maximal subpart (>= 1), which lenient decoding
 * replaces with one U+FFFD (Unicode "substitution of maximal subparts"). */
static inline size_t utf8_seq(const unsigned char *s, size_t n, size_t *sub)
{
    unsigned c = s[0], lo = 0x80, hi = 0xbf;
    size_t need;
    if (c < 0x80) return 1;
    if (c >= 0xc2 && c <= 0xdf && n >= 2 && (s[1] & 0xc0) == 0x80) return 2; /* the common case */
    if (c >= 0xc2 && c <= 0xdf) need = 1;
    else if (c == 0xe0) { need = 2; lo = 0xa0; }
    else if (c == 0xed) { need = 2; hi = 0x9f; }
    else if (c >= 0xe1 && c <= 0xef) need = 2;
    else if (c == 0xf0) { need = 3; lo = 0x90; }
    else if (c == 0xf4) { need = 3; hi = 0x8f; }
    else if (c >= 0xf1 && c <= 0xf3) need = 3;
    else { *sub = 1; return 0; }
    size_t k = 1;
    while (k <= need && k < n) {
        unsigned b = s[k];
        if (k == 1 ? (b < lo || b > hi) : (b & 0xc0) != 0x80) break;
        k++;
    }
    if (k == need + 1) return k;
    *sub = k;
    return 0;
}

static size_t utf8_put(unsigned char out[4], uint32_t cp)
{
    if (cp < 0x80) { out[0] = (unsigned char)cp; return 1; }
    if (cp < 0x800) {
        out[0] = (unsigned char)(0xc0 | cp >> 6);
        out[1] = (unsigned char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (unsigned char)(0xe0 | cp >> 12);
        out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (unsigned char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (unsigned char)(0xf0 | cp >> 18);
    out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (unsigned char)(0x80 | (cp & 0x3f));
    return 4;
}

static const unsigned char REPLACEMENT[3] = { 0xef, 0xbf, 0xbd }; /* U+FFFD */

/* st_buf appends with the common case inline (util.c's functions are out of
 * line and dominated the profile). After an allocation failure (oom set) the
 * slow path ignores everything, as st_buf does. */
static inline void bput(st_buf *b, const void *p, size_t n)
{
    if (!b->oom && b->cap - b->len >= n) {
        if (n) memcpy(b->data + b->len, p, n);
        b->len += n;
    } else {
        st_buf_put(b, p, n);
    }
}

static inline void bputc(st_buf *b, unsigned c)
{
    if (!b->oom && b->len < b->cap) b->data[b->len++] = (uint8_t)c;
    else st_buf_putc(b, (uint8_t)c);
}

/* Index after the longest run from i of well-formed UTF-8 that needs no
 * decoding: ASCII other than '"', '\\' and controls, and valid multi-byte
 * sequences (strings in any language stay on the fast path). */
static inline size_t scan_utf8_run(const unsigned char *s, size_t i, size_t len)
{
    for (;;) {
        i = scan_str(s, i, len);
        if (i >= len || s[i] < 0x80) return i;
        do {
            size_t sub, n = utf8_seq(s + i, len - i, &sub);
            if (!n) return i;
            i += n;
        } while (i < len && s[i] >= 0x80);
    }
}

/* ==== duplicate-key sets ===================================================
 * Objects with up to KEYSET_MIN members are checked by comparing with each
 * member; beyond that an open-addressing set of the keys makes the check
 * O(1), so a 100k-member object costs 100k inserts, not 5e9 comparisons.
 * Keys are hashed with SipHash-2-4 (crypto_shorthash) under a random
 * per-process key, so hostile input cannot force collisions. */

#define KEYSET_MIN 16u

typedef struct kslot { const char *k; size_t n; uint64_t h; } kslot;
typedef struct keyset { size_t cap, used; kslot slot[]; } keyset;

static unsigned char hash_key[crypto_shorthash_KEYBYTES];
static pthread_once_t hash_once = PTHREAD_ONCE_INIT;

static void hash_init(void)
{
    /* If libsodium cannot start, the fixed zero key still gives a correct
     * (if predictable) set. */
    if (sodium_init() >= 0) randombytes_buf(hash_key, sizeof hash_key);
}

static uint64_t key_hash(const char *k, size_t n)
{
    unsigned char out[crypto_shorthash_BYTES];
    crypto_shorthash(out, (const unsigned char *)k, n, hash_key);
    uint64_t h;
    memcpy(&h, out, sizeof h);
    return h;
}

static keyset *keyset_new(size_t cap)
{
    keyset *s = calloc(1, sizeof *s + cap * sizeof(kslot));
    if (s) s->cap = cap;
    return s;
}

static void keyset_put(keyset *s, const char *k, size_t n, uint64_t h)
{
    size_t mask = s->cap - 1, i = (size_t)h & mask;
    while (s->slot[i].k) i = (i + 1) & mask;
    s->slot[i].k = k;
    s->slot[i].n = n;
    s->slot[i].h = h;
    s->used++;
}

/* 1 inserted, 0 already present, -1 out of memory. */
static int keyset_insert(keyset **sp, const char *k, size_t n)
{
    keyset *s = *sp;
    uint64_t h = key_hash(k, n);
    size_t mask = s->cap - 1;
    for (size_t i = (size_t)h & mask; s->slot[i].k; i = (i + 1) & mask)
        if (s->slot[i].h == h && s->slot[i].n == n && memcmp(s->slot[i].k, k, n) == 0) return 0;
    if ((s->used + 1) * 2 > s->cap) {
        keyset *g = keyset_new(s->cap * 2);
        if (!g) return -1;
        for (size_t i = 0; i < s->cap; i++)
            if (s->slot[i].k) keyset_put(g, s->slot[i].k, s->slot[i].n, s->slot[i].h);
        free(s);
        *sp = s = g;
    }
    keyset_put(s, k, n, h);
    return 1;
}

/* ==== parser ===============================================================
 * One loop over the input with an explicit stack of open containers. After
 * each complete value the loop pops finished containers and reads the
 * separator; a value is parsed where one is expected. Depth is checked
 * before a container is pushed. */

typedef struct frame {
    st_json *node;
    keyset *keys;   /* duplicate-key set, once the object is big enough */
    int unsorted;   /* keys so far not strictly increasing */
} frame;

typedef struct parser {
    const unsigned char *s;
    size_t len, pos;
    unsigned flags, max_depth;
    st_json_doc *doc;
    st_err *err;
    size_t replaced, err_off;
    int duplicate_key;  /* the error is a key given twice in one object */
    st_buf *scratch;    /* decoding area for strings with escapes or non-ASCII (the document's) */
    frame *stack;
    size_t depth, cap;
    frame small[32];
} parser;

static int perr(parser *p, size_t off, int rc, const char *fmt, ...) ST_PRINTF(4, 5);
static int perr(parser *p, size_t off, int rc, const char *fmt, ...)
{
    char why[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    p->err_off = off;
    return st_fail(p->err, rc, "offset %zu: %s", off, why);
}

static int poom(parser *p) { return perr(p, p->pos, ENOMEM, "out of memory"); }

/* 'x', '\x07' or "end of input", for messages. */
static const char *show_at(char buf[16], const unsigned char *s, size_t len, size_t at)
{
    if (at >= len) return "end of input";
    unsigned c = s[at];
    if (c >= 0x20 && c < 0x7f) snprintf(buf, 16, "'%c'", (int)c);
    else snprintf(buf, 16, "'\\x%02x'", c);
    return buf;
}

static int unexpected(parser *p, const char *expected)
{
    char b[16];
    unsigned c = p->pos < p->len ? p->s[p->pos] : 0;
    if (p->pos < p->len && (c == ' ' || c == '\t' || c == '\n' || c == '\r') && !(p->flags & ST_JSON_ALLOW_WS))
        return perr(p, p->pos, ST_EJSON, "whitespace is not allowed here (expected %s)", expected);
    return perr(p, p->pos, ST_EJSON, "expected %s, found %s", expected, show_at(b, p->s, p->len, p->pos));
}

static inline void skip_ws(parser *p)
{
    if (!(p->flags & ST_JSON_ALLOW_WS)) return;
    while (p->pos < p->len) {
        unsigned c = p->s[p->pos];
        if (c != ' ' && c != '\n' && c != '\r' && c != '\t') break;
        p->pos++;
    }
}

static int hexval(unsigned c)
{
    if (c >= '0' && c <= '9') return (int)(c - '0');
    c |= 0x20;
    if (c >= 'a' && c <= 'f') return (int)(c - 'a' + 10);
    return -1;
}

/* The four hex digits at s[i..i+4) as a code unit, or -1. */
static long hex4(const unsigned char *s, size_t len, size_t i)
{
    if (len - i < 4) return -1;
    long v = 0;
    for (int k = 0; k < 4; k++) {
        int h = hexval(s[i + (size_t)k]);
        if (h < 0) return -1;
        v = v << 4 | h;
    }
    return v;
}

/* Slow path of parse_string: escapes, invalid UTF-8, errors. `start` is the
 * first content byte, `i` the first byte the fast scan could not take. The
 * decoded text goes to the scratch buffer, then to the arena. */
static int parse_string_slow(parser *p, size_t start, size_t i, char **out, size_t *outlen)
{
    const unsigned char *s = p->s;
    const size_t len = p->len, open = start - 1;
    const int lenient = (p->flags & ST_JSON_LENIENT_UTF8) != 0;
    st_buf *b = p->scratch;
    st_buf_reset(b);
    bput(b, s + start, i - start);
    for (;;) {
        if (i >= len) return perr(p, i, ST_EJSON, "unterminated string (opened at offset %zu)", open);
        unsigned c = s[i];
        if (c == '"') break;
        if (c == '\\') {
            if (len - i < 2) return perr(p, i + 1, ST_EJSON, "unterminated string (opened at offset %zu)", open);
            unsigned e = s[i + 1];
            unsigned char u[4];
            switch (e) {
            case '"': case '\\': case '/': bputc(b, e); i += 2; break;
            case 'b': bputc(b, '\b'); i += 2; break;
            case 'f': bputc(b, '\f'); i += 2; break;
            case 'n': bputc(b, '\n'); i += 2; break;
            case 'r': bputc(b, '\r'); i += 2; break;
            case 't': bputc(b, '\t'); i += 2; break;
            case 'u': {
                long cu = hex4(s, len, i + 2);
                if (cu < 0) return perr(p, i, ST_EJSON, "invalid \\u escape (four hex digits expected)");
                uint32_t cp = (uint32_t)cu;
                size_t esc_at = i;
                i += 6;
                if (cp >= 0xd800 && cp <= 0xdfff) {
                    long lo = -1;
                    if (cp <= 0xdbff && len - i >= 6 && s[i] == '\\' && s[i + 1] == 'u') lo = hex4(s, len, i + 2);
                    if (lo >= 0xdc00 && lo <= 0xdfff) {
                        cp = 0x10000 + ((cp - 0xd800) << 10) + ((uint32_t)lo - 0xdc00);
                        i += 6;
                    } else if (lenient) {
                        bput(b, REPLACEMENT, 3);
                        p->replaced++;
                        break;
                    } else {
                        return perr(p, esc_at, ST_EJSON, "lone surrogate escape \\u%04lx", (unsigned long)cp);
                    }
                }
                bput(b, u, utf8_put(u, cp));
                break;
            }
            default: {
                char sb[16];
                return perr(p, i, ST_EJSON, "invalid escape \\%s", show_at(sb, s, len, i + 1));
            }
            }
        } else if (c < 0x20) {
            return perr(p, i, ST_EJSON, "control character 0x%02x in string (must be escaped)", c);
        } else {
            /* non-ASCII where scan_utf8_run stopped: an ill-formed sequence */
            size_t sub = 1, n = utf8_seq(s + i, len - i, &sub);
            if (n) {
                bput(b, s + i, n);
                i += n;
            } else if (lenient) {
                bput(b, REPLACEMENT, 3);
                p->replaced++;
                i += sub;
            } else {
                return perr(p, i, ST_EJSON, "invalid UTF-8 byte 0x%02x in string", c);
            }
        }
        size_t j = scan_utf8_run(s, i, len);
        bput(b, s + i, j - i);
        i = j;
    }
    if (b->oom) return poom(p);
    char *d = arena_strdup(p->doc, b->data, b->len);
    if (!d) return poom(p);
    *out = d;
    *outlen = b->len;
    p->pos = i + 1;
    return 0;
}

/* Parses the string whose opening quote is at p->pos into a decoded,
 * NUL-terminated arena copy. Strings without escapes or bad bytes (nearly
 * all) are validated in place and copied once. */
static inline int parse_string(parser *p, char **out, size_t *outlen)
{
    size_t start = p->pos + 1;
    size_t i = scan_str(p->s, start, p->len);
    if (i < p->len && p->s[i] >= 0x80) i = scan_utf8_run(p->s, i, p->len);
    if (i < p->len && p->s[i] == '"') {
        char *d = arena_strdup(p->doc, p->s + start, i - start);
        if (!d) return poom(p);
        *out = d;
        *outlen = i - start;
        p->pos = i + 1;
        return 0;
    }
    return parse_string_slow(p, start, i, out, outlen);
}

static int is_digit(unsigned c) { return c >= '0' && c <= '9'; }

/* Length of the RFC 8259 number at s[i..len), or 0 with *bad = the offset
 * where the grammar failed. *is_int: neither fraction nor exponent. */
static size_t number_span(const unsigned char *s, size_t len, size_t i, int *is_int, size_t *bad)
{
    size_t st = i;
    *is_int = 1;
    if (i < len && s[i] == '-') i++;
    if (i >= len || !is_digit(s[i])) { *bad = i; return 0; }
    if (s[i] == '0') {
        i++;
        if (i < len && is_digit(s[i])) { *bad = i; return 0; }
    } else {
        while (i < len && is_digit(s[i])) i++;
    }
    if (i < len && s[i] == '.') {
        i++;
        *is_int = 0;
        if (i >= len || !is_digit(s[i])) { *bad = i; return 0; }
        while (i < len && is_digit(s[i])) i++;
    }
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        *is_int = 0;
        if (i < len && (s[i] == '+' || s[i] == '-')) i++;
        if (i >= len || !is_digit(s[i])) { *bad = i; return 0; }
        while (i < len && is_digit(s[i])) i++;
    }
    return i - st;
}

/* Why an integer literal breaks ST_JSON_INTEGERS_ONLY [ENTRY-4], or NULL:
 * -0, or magnitude above 2^53-1 (where doubles stop being exact). */
static const char *int53_problem(const char *s, size_t n)
{
    size_t d = n - (s[0] == '-');
    const char *digits = s + (s[0] == '-');
    if (s[0] == '-' && d == 1 && digits[0] == '0') return "negative zero is not allowed";
    if (d < 16 || (d == 16 && memcmp(digits, "9007199254740991", 16) <= 0)) return NULL;
    return "out of range [-(2^53-1), 2^53-1]";
}

static int parse_number(parser *p, st_json *v)
{
    int is_int;
    size_t bad = 0, n = number_span(p->s, p->len, p->pos, &is_int, &bad);
    if (n == 0) {
        char b[16];
        if (bad > p->pos && bad < p->len && p->s[bad - 1] == '0' && is_digit(p->s[bad]))
            return perr(p, p->pos, ST_EJSON, "number with a leading zero");
        return perr(p, bad, ST_EJSON, "invalid number: expected a digit, found %s", show_at(b, p->s, p->len, bad));
    }
    const char *lit = (const char *)p->s + p->pos;
    if (p->flags & ST_JSON_INTEGERS_ONLY) {
        const char *why = is_int ? int53_problem(lit, n) : "not an integer";
        if (why) return perr(p, p->pos, ST_EJSON, "number %.*s%s: %s", n > 40 ? 40 : (int)n, lit, n > 40 ? "..." : "", why);
    }
    v->str = arena_strdup(p->doc, lit, n);
    if (!v->str) return poom(p);
    v->len = n;
    p->pos += n;
    return 0;
}

/* The key, JSON-escaped and cut to a readable length, for messages. */
static void show_key(char *out, size_t cap, const char *k, size_t n)
{
    st_buf b = { 0 };
    st_json_write_string(&b, k, n > 64 ? 64 : n);
    size_t m = b.oom ? 0 : b.len;
    if (m > cap - 4) {
        m = cap - 4;
        while (m > 0 && (b.data[m] & 0xc0) == 0x80) m--;
    }
    if (m) memcpy(out, b.data, m);
    if (n > 64 || m < b.len) { memcpy(out + m, "...", 3); m += 3; }
    out[m] = 0;
    st_buf_free(&b);
}

/* Duplicate check for the key about to be added to obj (frame f). 0, or an error. */
static int key_cmp_raw(const char *a, size_t an, const char *b, size_t bn)
{
    size_t n = an < bn ? an : bn;
    int r = n ? memcmp(a, b, n) : 0;
    if (r) return r;
    return an < bn ? -1 : an > bn;
}

/* While an object's keys arrive in strictly increasing order (canonical
 * entries, anything we wrote with SORT_KEYS) a new key above the last one
 * cannot repeat an earlier one: no search at all. */
static int check_key(parser *p, frame *f, const char *k, size_t n, size_t key_off)
{
    int dup = 0;
    const st_json *last = f->node->last;
    if (!f->unsorted && (!last || key_cmp_raw(k, n, last->key, last->key_len) > 0)) return 0;
    f->unsorted = 1;
    if (!f->keys && f->node->count < KEYSET_MIN) {
        for (const st_json *m = f->node->child; m; m = m->next)
            if (m->key_len == n && m->key[0] == k[0] && memcmp(m->key, k, n) == 0) { dup = 1; break; }
    } else {
        if (!f->keys) {
            pthread_once(&hash_once, hash_init);
            f->keys = keyset_new(64);
            if (!f->keys) return poom(p);
            for (const st_json *m = f->node->child; m; m = m->next)
                if (keyset_insert(&f->keys, m->key, m->key_len) < 0) return poom(p);
        }
        int r = keyset_insert(&f->keys, k, n);
        if (r < 0) return poom(p);
        dup = r == 0;
    }
    if (dup) {
        char shown[100];
        show_key(shown, sizeof shown, k, n);
        p->duplicate_key = 1;
        return perr(p, key_off, ST_EJSON, "duplicate key %s", shown);
    }
    return 0;
}

static int push(parser *p, st_json *v, size_t at)
{
    if (p->depth >= p->max_depth)
        return perr(p, at, ST_EDEPTH, "nesting deeper than %u levels", p->max_depth);
    if (p->depth == p->cap) {
        size_t cap = p->cap * 2;
        frame *ns = malloc(cap * sizeof *ns);
        if (!ns) return poom(p);
        memcpy(ns, p->stack, p->depth * sizeof *ns);
        if (p->stack != p->small) free(p->stack);
        p->stack = ns;
        p->cap = cap;
    }
    p->stack[p->depth].node = v;
    p->stack[p->depth].keys = NULL;
    p->stack[p->depth].unsorted = 0;
    p->depth++;
    return 0;
}

static void pop(parser *p)
{
    p->depth--;
    free(p->stack[p->depth].keys);
}

static inline void append(st_json *parent, st_json *v)
{
    if (parent->last) parent->last->next = v;
    else parent->child = v;
    parent->last = v;
    parent->count++;
}

/* Reads `"key":` of an object member (p->pos at the quote). */
static int parse_member_key(parser *p, char **k, size_t *kn)
{
    if (p->pos >= p->len || p->s[p->pos] != '"') return unexpected(p, "'\"' (an object key)");
    size_t key_off = p->pos;
    int rc = parse_string(p, k, kn);
    if (rc) return rc;
    if (!(p->flags & ST_JSON_ALLOW_DUP_KEYS)) {
        rc = check_key(p, &p->stack[p->depth - 1], *k, *kn, key_off);
        if (rc) return rc;
    }
    skip_ws(p);
    if (p->pos >= p->len || p->s[p->pos] != ':') return unexpected(p, "':'");
    p->pos++;
    return 0;
}

static int parse_doc(parser *p)
{
    const unsigned char *s = p->s;
    char *key = NULL;
    size_t klen = 0;
    int rc;
    for (;;) {
        /* ---- a value is expected here ---- */
        skip_ws(p);
        if (p->pos >= p->len) return unexpected(p, "a value");
        size_t at = p->pos;
        unsigned c = s[at];
        st_json *v;
        switch (c) {
        case '{': case '[': v = node_new(p->doc, c == '{' ? ST_JSON_OBJECT : ST_JSON_ARRAY); break;
        case '"': v = node_new(p->doc, ST_JSON_STRING); break;
        case 't': v = node_new(p->doc, ST_JSON_TRUE); break;
        case 'f': v = node_new(p->doc, ST_JSON_FALSE); break;
        case 'n': v = node_new(p->doc, ST_JSON_NULL); break;
        default:
            if (c == '-' || is_digit(c)) { v = node_new(p->doc, ST_JSON_NUMBER); break; }
            return unexpected(p, "a value");
        }
        if (!v) return poom(p);
        v->key = key;
        v->key_len = klen;
        key = NULL;
        klen = 0;
        if (p->depth) append(p->stack[p->depth - 1].node, v);
        else p->doc->root = v;

        if (c == '{' || c == '[') {
            if ((rc = push(p, v, at)) != 0) return rc;
            p->pos++;
            skip_ws(p);
            unsigned close = c == '{' ? '}' : ']';
            if (p->pos < p->len && s[p->pos] == close) {
                p->pos++;
                pop(p);
            } else {
                if (c == '{' && (rc = parse_member_key(p, &key, &klen)) != 0) return rc;
                continue;
            }
        } else if (c == '"') {
            if ((rc = parse_string(p, &v->str, &v->len)) != 0) return rc;
        } else if (c == '-' || is_digit(c)) {
            if ((rc = parse_number(p, v)) != 0) return rc;
        } else {
            static const char *const lit[] = { "null", "false", "true" };
            const char *w = lit[v->type];
            size_t wn = strlen(w);
            if (p->len - at < wn || memcmp(s + at, w, wn) != 0) return unexpected(p, "a value");
            p->pos += wn;
        }

        /* ---- after a value: close finished containers, read the separator ---- */
        for (;;) {
            if (p->depth == 0) {
                skip_ws(p);
                if (p->pos != p->len) {
                    char b[16];
                    return perr(p, p->pos, ST_EJSON, "trailing bytes after the JSON value (%s)",
                                show_at(b, s, p->len, p->pos));
                }
                return 0;
            }
            st_json *parent = p->stack[p->depth - 1].node;
            int is_obj = parent->type == ST_JSON_OBJECT;
            skip_ws(p);
            if (p->pos < p->len && s[p->pos] == ',') {
                p->pos++;
                if (is_obj) {
                    skip_ws(p);
                    if ((rc = parse_member_key(p, &key, &klen)) != 0) return rc;
                }
                break;
            }
            if (p->pos < p->len && s[p->pos] == (is_obj ? '}' : ']')) {
                p->pos++;
                pop(p);
                continue;
            }
            return unexpected(p, is_obj ? "',' or '}'" : "',' or ']'");
        }
    }
}

/* The first chunk for a parse of len bytes. Nodes are 72 bytes per value,
 * strings about their raw size: for small inputs (an audit line, an entry)
 * three times the length, plus room for an envelope built next to it, holds
 * the whole tree in that chunk; twice the length did not (a second chunk of
 * twice the first, most of it unused, for every such line). */
static size_t parse_first_chunk(size_t len)
{
    return len <= ARENA_MAX_CHUNK / 48 ? 3 * len + 512 : ARENA_MAX_CHUNK / 16;
}

/* n rounded up to a quarter step of its power of two (4, 5, 6, 7 x 2^k):
 * documents reused for inputs of similar lengths then come in a few sizes
 * and fit each other's inputs, instead of one replaced by the next longer
 * input again and again (a free and a malloc, and a fragmented heap). */
static size_t size_class(size_t n)
{
    size_t b = 4;
    while (b <= n / 2) b *= 2;           /* the largest power of two <= n */
    size_t step = b / 4;
    return n % step ? n + (step - n % step) : n;
}


static int parse_into(st_json_doc *doc, const char *buf, size_t len, unsigned flags, unsigned max_depth,
                      st_json_info *info, st_err *err);

int st_json_parse(st_json_doc **out, const char *buf, size_t len, const st_json_opts *opts,
                  st_json_info *info, st_err *err)
{
    if (out) *out = NULL;
    int rc = st_json_parse_reuse(out, buf, len, opts, info, err);
    if (rc && out) {
        st_json_doc_free(*out);
        *out = NULL;
    }
    if (out && *out) st_buf_free(&(*out)->scratch);     /* not reused: not kept */
    return rc;
}

int st_json_parse_reuse(st_json_doc **io, const char *buf, size_t len, const st_json_opts *opts,
                        st_json_info *info, st_err *err)
{
    if (info) memset(info, 0, sizeof *info);
    if (!io || (!buf && len)) return st_fail(err, ST_EINVAL, "st_json_parse: invalid argument");
    unsigned flags = opts ? opts->flags : 0, max_depth = opts && opts->max_depth ? opts->max_depth : ST_JSON_DEFAULT_DEPTH;
    size_t max_bytes = opts ? opts->max_bytes : 0;
    if (max_bytes && len > max_bytes) {
        st_json_doc_reset(*io);
        if (info) info->error_offset = max_bytes;
        return st_fail(err, ST_ETOOBIG, "offset %zu: input of %zu bytes is over the limit of %zu", max_bytes, len,
                       max_bytes);
    }
    size_t want = parse_first_chunk(len), keep = 2 * want + DOC_SLACK;
    st_json_doc *doc = *io;
    if (doc && (doc->embedded->cap < want || doc->embedded->cap > keep)) {
        st_json_doc_free(doc);
        *io = doc = NULL;
    }
    if (doc) st_json_doc_reset(doc);
    else if (!(*io = doc = doc_new_sized(size_class(want)))) return st_fail(err, ENOMEM, "offset 0: out of memory");
    int rc = parse_into(doc, buf, len, flags, max_depth, info, err);
    if (rc) st_json_doc_reset(doc);
    return rc;
}

static int parse_into(st_json_doc *doc, const char *buf, size_t len, unsigned flags, unsigned max_depth,
                      st_json_info *info, st_err *err)
{
    parser p;
    memset(&p, 0, sizeof p);
    p.s = (const unsigned char *)(buf ? buf : "");
    p.len = len;
    p.flags = flags;
    p.max_depth = max_depth;
    p.doc = doc;
    p.scratch = &doc->scratch;
    p.err = err;
    p.stack = p.small;
    p.cap = sizeof p.small / sizeof p.small[0];

    int rc = parse_doc(&p);

    while (p.depth) pop(&p);
    if (p.stack != p.small) free(p.stack);

    if (info) {
        info->replaced = p.replaced;
        info->error_offset = rc ? p.err_off : 0;
        info->duplicate_key = rc == ST_EJSON && p.duplicate_key;
    }
    return rc;
}

/* ==== getters ============================================================== */

const st_json *st_json_getn(const st_json *obj, const char *key, size_t key_len)
{
    if (!obj || obj->type != ST_JSON_OBJECT || (!key && key_len)) return NULL;
    for (const st_json *m = obj->child; m; m = m->next)
        if (m->key_len == key_len && (key_len == 0 || memcmp(m->key, key, key_len) == 0)) return m;
    return NULL;
}

const st_json *st_json_get(const st_json *obj, const char *key)
{
    return key ? st_json_getn(obj, key, strlen(key)) : NULL;
}

const char *st_json_get_str(const st_json *obj, const char *key, size_t *len_out)
{
    const st_json *v = st_json_get(obj, key);
    if (!v || v->type != ST_JSON_STRING) return NULL;
    if (len_out) *len_out = v->len;
    return v->str;
}

int st_json_as_i64(const st_json *v, int64_t *out)
{
    if (!v || v->type != ST_JSON_NUMBER || !v->str || v->len == 0) return -1;
    const char *s = v->str;
    size_t n = v->len, i = 0;
    int neg = s[0] == '-';
    i = (size_t)neg;
    if (i >= n || (s[i] == '0' && n - i > 1)) return -1;
    uint64_t lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, acc = 0;
    for (; i < n; i++) {
        if (!is_digit((unsigned char)s[i])) return -1;
        unsigned d = (unsigned)(s[i] - '0');
        if (acc > (lim - d) / 10) return -1;
        acc = acc * 10 + d;
    }
    if (out) *out = neg ? (acc == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)acc) : (int64_t)acc;
    return 0;
}

int st_json_get_i64(const st_json *obj, const char *key, int64_t *out)
{
    return st_json_as_i64(st_json_get(obj, key), out);
}

/* ==== builders =============================================================
 * Each node may be added to one container once; adding a node to itself or to
 * two containers corrupts the tree (not detected beyond v == container). */

st_json *st_json_new_null(st_json_doc *doc) { return node_new(doc, ST_JSON_NULL); }
st_json *st_json_new_bool(st_json_doc *doc, int b) { return node_new(doc, b ? ST_JSON_TRUE : ST_JSON_FALSE); }
st_json *st_json_new_array(st_json_doc *doc) { return node_new(doc, ST_JSON_ARRAY); }
st_json *st_json_new_object(st_json_doc *doc) { return node_new(doc, ST_JSON_OBJECT); }

st_json *st_json_new_strn(st_json_doc *doc, const char *s, size_t len)
{
    if (!s && len) return NULL;
    st_json *v = node_new(doc, ST_JSON_STRING);
    if (!v || !(v->str = arena_strdup(doc, s, len))) return NULL;
    v->len = len;
    return v;
}

st_json *st_json_new_str(st_json_doc *doc, const char *s)
{
    return s ? st_json_new_strn(doc, s, strlen(s)) : NULL;
}

/* The literal must be an RFC 8259 number; anything else returns NULL too, so
 * the writer can never emit invalid JSON from a raw number. */
st_json *st_json_new_raw_number(st_json_doc *doc, const char *literal, size_t len)
{
    int is_int;
    size_t bad;
    if (!literal || len == 0 || number_span((const unsigned char *)literal, len, 0, &is_int, &bad) != len) return NULL;
    st_json *v = node_new(doc, ST_JSON_NUMBER);
    if (!v || !(v->str = arena_strdup(doc, literal, len))) return NULL;
    v->len = len;
    return v;
}

st_json *st_json_new_int(st_json_doc *doc, int64_t x)
{
    char tmp[24];
    size_t i = sizeof tmp;
    uint64_t u = x < 0 ? (uint64_t)0 - (uint64_t)x : (uint64_t)x;
    do { tmp[--i] = (char)('0' + u % 10); u /= 10; } while (u);
    if (x < 0) tmp[--i] = '-';
    return st_json_new_raw_number(doc, tmp + i, sizeof tmp - i);
}

int st_json_array_add(st_json_doc *doc, st_json *arr, st_json *v)
{
    (void)doc;
    if (!arr || !v || arr == v || arr->type != ST_JSON_ARRAY) return -1;
    v->key = NULL;
    v->key_len = 0;
    v->next = NULL;
    append(arr, v);
    return 0;
}

int st_json_object_add(st_json_doc *doc, st_json *obj, const char *key, size_t key_len, st_json *v)
{
    if (!obj || !v || obj == v || obj->type != ST_JSON_OBJECT || (!key && key_len)) return -1;
    char *k = arena_strdup(doc, key, key_len);
    if (!k) return -1;
    v->key = k;
    v->key_len = key_len;
    v->next = NULL;
    append(obj, v);
    return 0;
}

static st_json *clone_one(st_json_doc *doc, const st_json *v)
{
    st_json *c = node_new(doc, v->type);
    if (!c) return NULL;
    if ((v->type == ST_JSON_STRING || v->type == ST_JSON_NUMBER) && v->str) {
        if (!(c->str = arena_strdup(doc, v->str, v->len))) return NULL;
        c->len = v->len;
    }
    return c;
}

st_json *st_json_clone(st_json_doc *doc, const st_json *v)
{
    if (!doc || !v) return NULL;
    st_json *root = clone_one(doc, v);
    if (!root || !v->child) return root;
    typedef struct { const st_json *src; st_json *dst; } cframe;
    size_t cap = 16, depth = 0;
    cframe *st = malloc(cap * sizeof *st);
    if (!st) return NULL;
    st[depth++] = (cframe){ v->child, root };
    while (depth) {
        cframe *f = &st[depth - 1];
        const st_json *s = f->src;
        if (!s) { depth--; continue; }
        f->src = s->next;
        st_json *c = clone_one(doc, s);
        if (!c) goto fail;
        if (f->dst->type == ST_JSON_OBJECT && s->key) {
            if (!(c->key = arena_strdup(doc, s->key, s->key_len))) goto fail;
            c->key_len = s->key_len;
        }
        append(f->dst, c);
        if (s->child) {
            if (depth == cap) {
                cframe *ns = realloc(st, cap * 2 * sizeof *st);
                if (!ns) goto fail;
                st = ns;
                cap *= 2;
            }
            st[depth++] = (cframe){ s->child, c };
        }
    }
    free(st);
    return root;
fail:
    free(st);
    return NULL;
}

/* ==== writer ===============================================================
 * Compact output, minimal escaping [ENTRY-5]. Strings are written as their
 * bytes: a parse always yields valid UTF-8, but text given to the builders
 * must be valid UTF-8 already (the writer does not check it). With ST_JSON_SORT_KEYS an
 * object's members are written in key order [ENTRY-3]; an object already in
 * order (every canonical entry) is walked as is, others are sorted through a
 * temporary array (stable, so duplicate keys keep their input order). The
 * container stack is on the heap: any depth a builder makes is written. */

static const char esc_short[32] = {
    ['\b'] = 'b', ['\t'] = 't', ['\n'] = 'n', ['\f'] = 'f', ['\r'] = 'r',
};

void st_json_write_string(st_buf *out, const char *str, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)str;
    if (!s) len = 0;
    if (out->oom || (out->cap - out->len < len + 2 && st_buf_reserve(out, len + 2) != 0)) return;
    if (len < 16) {
        /* Keys and short values (most strings of an entry): one pass that
         * copies while it checks; the vector scan below needs 16 bytes. */
        unsigned char *d = out->data + out->len + 1;
        size_t i = 0;
        while (i < len && !needs_look[s[i]]) { d[i] = s[i]; i++; }
        if (i == len) {
            d[-1] = '"';
            d[len] = '"';
            out->len += len + 2;
            return;
        }
    }
    out->data[out->len++] = '"';
    size_t i = 0;
    while (i < len) {
        size_t j = scan_esc(s, i, len);
        bput(out, s + i, j - i);
        if (j >= len) break;
        unsigned c = s[j];
        char e[6] = { '\\', 0, 0, 0, 0, 0 };
        size_t en = 2;
        if (c == '"' || c == '\\') e[1] = (char)c;
        else if (esc_short[c]) e[1] = esc_short[c];
        else { e[1] = 'u'; e[2] = '0'; e[3] = '0'; e[4] = hex[c >> 4]; e[5] = hex[c & 15]; en = 6; }
        bput(out, e, en);
        i = j + 1;
    }
    bputc(out, '"');
}

typedef struct smember { const st_json *m; size_t i; } smember;

static int key_cmp(const st_json *a, const st_json *b)
{
    return key_cmp_raw(a->key, a->key_len, b->key, b->key_len);
}

static int smember_cmp(const void *pa, const void *pb)
{
    const smember *a = pa, *b = pb;
    int r = key_cmp(a->m, b->m);
    if (r) return r;
    return a->i < b->i ? -1 : a->i > b->i;
}

typedef struct wframe {
    const st_json *node;
    const st_json *cur;     /* next child, list order (sorted == NULL) */
    smember *sorted;        /* SORT_KEYS on an unsorted object */
    size_t i, n;
    int first;
} wframe;

static void write_scalar(st_buf *out, const st_json *v)
{
    switch (v ? v->type : ST_JSON_NULL) {
    case ST_JSON_FALSE: bput(out, "false", 5); break;
    case ST_JSON_TRUE: bput(out, "true", 4); break;
    case ST_JSON_NUMBER:
        if (v->str && v->len) bput(out, v->str, v->len);
        else bputc(out, '0');
        break;
    case ST_JSON_STRING: st_json_write_string(out, v->str, v->len); break;
    default: bput(out, "null", 4); break;
    }
}

/* Sets up the child iteration of container v in f. -1 on ENOMEM. */
static int wframe_open(wframe *f, const st_json *v, unsigned flags)
{
    memset(f, 0, sizeof *f);
    f->node = v;
    f->cur = v->child;
    f->first = 1;
    if (!(flags & ST_JSON_SORT_KEYS) || v->type != ST_JSON_OBJECT) return 0;
    const st_json *m = v->child;
    while (m && m->next && key_cmp(m, m->next) <= 0) m = m->next;
    if (!m || !m->next) return 0; /* already in order */
    size_t n = 0;
    for (m = v->child; m; m = m->next) n++;
    f->sorted = malloc(n * sizeof *f->sorted);
    if (!f->sorted) return -1;
    n = 0;
    for (m = v->child; m; m = m->next, n++) f->sorted[n] = (smember){ m, n };
    qsort(f->sorted, n, sizeof *f->sorted, smember_cmp);
    f->n = n;
    return 0;
}

static const st_json *wframe_next(wframe *f)
{
    if (f->sorted) return f->i < f->n ? f->sorted[f->i++].m : NULL;
    const st_json *c = f->cur;
    if (c) f->cur = c->next;
    return c;
}

void st_json_write(st_buf *out, const st_json *v, unsigned flags)
{
    wframe small[16], *stack = small;
    size_t cap = 16, depth = 0;
    for (;;) {
        if (out->oom) break;
        /* ---- emit v ---- */
        if (v && (v->type == ST_JSON_OBJECT || v->type == ST_JSON_ARRAY)) {
            bputc(out, v->type == ST_JSON_OBJECT ? '{' : '[');
            if (depth == cap) {
                wframe *ns = malloc(cap * 2 * sizeof *ns);
                if (!ns) { out->oom = 1; break; }
                memcpy(ns, stack, depth * sizeof *ns);
                if (stack != small) free(stack);
                stack = ns;
                cap *= 2;
            }
            if (wframe_open(&stack[depth], v, flags) != 0) { out->oom = 1; break; }
            depth++;
        } else {
            write_scalar(out, v);
        }
        /* ---- find the next value to emit, closing finished containers ---- */
        for (;;) {
            if (depth == 0) goto done;
            wframe *f = &stack[depth - 1];
            const st_json *c = wframe_next(f);
            if (c) {
                if (!f->first) bputc(out, ',');
                f->first = 0;
                if (f->node->type == ST_JSON_OBJECT) {
                    st_json_write_string(out, c->key, c->key_len);
                    bputc(out, ':');
                }
                v = c;
                break;
            }
            bputc(out, f->node->type == ST_JSON_OBJECT ? '}' : ']');
            free(f->sorted);
            depth--;
        }
    }
done:
    while (depth) free(stack[--depth].sorted);
    if (stack != small) free(stack);
}

/* ==== canonical entries [ENTRY-1..6] =======================================
 * Parse strictly (no whitespace, integers only, no duplicate keys, strict
 * UTF-8), write back with sorted keys, compare bytes. When the strict parse
 * fails, a permissive parse (whitespace and duplicates allowed) tells "not
 * JSON" (ST_EJSON) from "JSON, but not canonical" (ST_ENONCANON). The message
 * names the first offset where the input and its canonical form differ. */

#define CANON_DEFAULT_DEPTH 16u

/* One token at s[at] for messages: an escape sequence, a UTF-8 character or a
 * byte, shown between quotes with controls escaped. */
static const char *show_token(char *out, size_t cap, const uint8_t *s, size_t n, size_t at)
{
    if (at >= n) return "end of input";
    size_t k = 1, sub;
    if (s[at] == '\\' && n - at >= 2) k = (s[at + 1] == 'u' && n - at >= 6) ? 6 : 2;
    else if (s[at] >= 0x80) { k = utf8_seq(s + at, n - at, &sub); if (!k) k = 1; }
    size_t o = 0;
    out[o++] = '\'';
    if (k > 1 || (s[at] >= 0x20 && s[at] < 0x7f)) {
        memcpy(out + o, s + at, k);
        o += k;
    } else {
        unsigned c = s[at];
        o += (size_t)snprintf(out + o, cap - o, c == '\n' ? "\\n" : c == '\r' ? "\\r" : c == '\t' ? "\\t" : "\\x%02x", c);
    }
    out[o++] = '\'';
    out[o] = 0;
    return out;
}

static int noncanon_diff(st_err *err, const uint8_t *in, size_t n, const uint8_t *canon, size_t cn, size_t d)
{
    char e[24], f[24];
    return st_fail(err, ST_ENONCANON, "offset %zu: not canonical (expected %s, found %s)", d,
                   show_token(e, sizeof e, canon, cn, d), show_token(f, sizeof f, in, n, d));
}

static size_t first_diff(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    size_t n = an < bn ? an : bn, i = 0;
    while (i < n && a[i] == b[i]) i++;
    return i;
}

int st_json_parse_canonical(st_json_doc **doc_out, const uint8_t *buf, size_t len,
                            unsigned max_depth, st_err *err)
{
    if (doc_out) *doc_out = NULL;
    if (!buf && len) return st_fail(err, ST_EINVAL, "st_json_parse_canonical: invalid argument");
    if (len > ST_ENTRY_MAX)
        return st_fail(err, ST_ETOOBIG, "offset %u: entry of %zu bytes is over the limit of %u bytes",
                       (unsigned)ST_ENTRY_MAX, len, (unsigned)ST_ENTRY_MAX);
    st_json_opts o = { ST_JSON_INTEGERS_ONLY, max_depth ? max_depth : CANON_DEFAULT_DEPTH, 0 };
    st_json_info info;
    st_json_doc *doc = NULL;
    st_buf b = { 0 };
    st_err strict_err = { { 0 } }, perm_err = { { 0 } };
    int rc = st_json_parse(&doc, (const char *)buf, len, &o, &info, &strict_err);
    if (rc != 0 && rc != ST_EJSON) {
        if (err) *err = strict_err;
        return rc;
    }
    if (rc == 0) {
        if (st_buf_reserve(&b, len + 1) == 0) st_json_write(&b, doc->root, ST_JSON_SORT_KEYS);
        if (b.oom) rc = st_fail(err, ENOMEM, "offset 0: out of memory");
        else if (b.len != len || memcmp(b.data, buf, len) != 0)
            rc = noncanon_diff(err, buf, len, b.data, b.len, first_diff(buf, len, b.data, b.len));
        st_buf_free(&b);
        if (rc == 0 && doc_out) *doc_out = doc;
        else st_json_doc_free(doc);
        return rc;
    }

    /* Not strictly parseable: is it JSON at all? */
    size_t strict_off = info.error_offset;
    o.flags = ST_JSON_ALLOW_WS | ST_JSON_ALLOW_DUP_KEYS;
    rc = st_json_parse(&doc, (const char *)buf, len, &o, NULL, &perm_err);
    if (rc != 0) {
        if (err) *err = perm_err;
        return rc;
    }
    st_json_write(&b, doc->root, ST_JSON_SORT_KEYS);
    st_json_doc_free(doc);
    if (b.oom) {
        st_buf_free(&b);
        return st_fail(err, ENOMEM, "offset 0: out of memory");
    }
    size_t d = first_diff(buf, len, b.data, b.len);
    if ((d < len || d < b.len) && d <= strict_off) {
        rc = noncanon_diff(err, buf, len, b.data, b.len, d);
    } else {
        /* The canonical writer reproduces the input up to the strict error:
         * a number that is not a safe integer, or a duplicate key. */
        const char *why = strict_err.msg, *colon = strstr(why, ": ");
        rc = st_fail(err, ST_ENONCANON, "offset %zu: not canonical (%s)", strict_off, colon ? colon + 2 : why);
    }
    st_buf_free(&b);
    return rc;
}

size_t st_json_write_object_except(st_buf *out, const st_json *obj, const st_json *const *skip, size_t nskip)
{
    size_t written = 0;
    st_buf_putc(out, '{');
    for (const st_json *c = obj->child; c; c = c->next) {
        int skipped = 0;
        for (size_t i = 0; i < nskip && !skipped; i++) skipped = skip[i] == c;
        if (skipped) continue;
        if (written++) st_buf_putc(out, ',');
        st_json_write_string(out, c->key, c->key_len);
        st_buf_putc(out, ':');
        st_json_write(out, c, 0);
    }
    st_buf_putc(out, '}');
    return written;
}
