/*
 * envelope.c: the canonical entry bytes of a record, written directly
 * (envelope.h).
 */
#include "envelope.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "entry.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* "00" .. "99": integers are written two digits at a time (times in
 * microseconds have 16). */
static const char two_digits[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

size_t st_envelope_int(char *buf, int64_t x)
{
    char tmp[24];
    size_t i = sizeof tmp;
    uint64_t u = x < 0 ? (uint64_t)0 - (uint64_t)x : (uint64_t)x;
    while (u >= 100) {
        const char *d = two_digits + 2 * (u % 100);
        u /= 100;
        tmp[--i] = d[1];
        tmp[--i] = d[0];
    }
    if (u >= 10) {
        tmp[--i] = two_digits[2 * u + 1];
        tmp[--i] = two_digits[2 * u];
    } else {
        tmp[--i] = (char)('0' + u);
    }
    if (x < 0) tmp[--i] = '-';
    size_t n = sizeof tmp - i;
    memcpy(buf, tmp + i, n);
    buf[n] = 0;
    return n;
}

/* Key order of [ENTRY-3]: the keys' bytes, a prefix first (the JSON writer's
 * order). Envelope keys nearly always differ in their first byte. */
static inline int key_cmp(const char *a, size_t an, const char *b, size_t bn)
{
    if (an && bn && a[0] != b[0]) return (unsigned char)a[0] < (unsigned char)b[0] ? -1 : 1;
    size_t n = an < bn ? an : bn;
    int r = n ? memcmp(a, b, n) : 0;
    if (r) return r;
    return an < bn ? -1 : an > bn;
}

#define SMALL_MEMBERS 48u

/* A top-level member: one of the metadata's (m), or one this file writes (m NULL, what). */
enum { W_META, W_V, W_INDEX, W_TIME, W_PAYLOADS };
typedef struct member {
    const char *key;
    size_t key_len;
    int what;
    const st_json *m;
    size_t ord;                /* position before sorting: equal keys keep it */
} member;

static void add(member *mb, size_t *k, const char *key, size_t key_len, int what, const st_json *m)
{
    mb[*k] = (member){ key, key_len, what, m, *k };
    (*k)++;
}

static int member_cmp(const void *pa, const void *pb)
{
    const member *a = pa, *b = pb;
    int r = key_cmp(a->key, a->key_len, b->key, b->key_len);
    return r ? r : a->ord < b->ord ? -1 : a->ord > b->ord;
}

/* A stable sort: equal (duplicate) metadata keys keep their order, as in the
 * DOM writer. Insertion sort for the usual dozen or two members. */
static void sort_members(member *a, size_t n)
{
    if (n > SMALL_MEMBERS) {
        qsort(a, n, sizeof *a, member_cmp);
        return;
    }
    for (size_t i = 1; i < n; i++) {
        member x = a[i];
        size_t j = i;
        for (; j > 0 && key_cmp(a[j - 1].key, a[j - 1].key_len, x.key, x.key_len) > 0; j--) a[j] = a[j - 1];
        a[j] = x;
    }
}

/* Appends without a call into util.c when there is room: the buffer is
 * reserved for the whole entry up front (a few hundred small pieces). */
static inline void put(st_buf *out, const void *s, size_t n)
{
    if (n && out->cap - out->len >= n) {
        memcpy(out->data + out->len, s, n);
        out->len += n;
    } else {
        st_buf_put(out, s, n);
    }
}

static inline void put_c(st_buf *out, char c)
{
    put(out, &c, 1);
}

#define PUT_LIT(out, lit) put((out), (lit), sizeof (lit) - 1)

static void put_int(st_buf *out, int64_t x)
{
    char b[24];
    put(out, b, st_envelope_int(b, x));
}

static void put_hash(st_buf *out, const uint8_t *h)
{
    char hex[2 * ST_HASH_BYTES + 2];
#if defined(__SSE2__)
    /* 16 bytes at a time: high and low nibbles interleaved, then '0'..'9' or
     * 'a'..'f' (the table loop below took 260 instructions a hash, and an
     * entry has three). */
    _Static_assert(ST_HASH_BYTES % 16 == 0, "hashes are whole 16-byte vectors");
    const __m128i low4 = _mm_set1_epi8(0x0f), nine = _mm_set1_epi8(9), zero = _mm_set1_epi8('0'),
                  af = _mm_set1_epi8('a' - '0' - 10);
    for (size_t i = 0; i < ST_HASH_BYTES; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(h + i));
        __m128i hi = _mm_and_si128(_mm_srli_epi16(v, 4), low4), lo = _mm_and_si128(v, low4);
        __m128i a = _mm_unpacklo_epi8(hi, lo), b = _mm_unpackhi_epi8(hi, lo);
        a = _mm_add_epi8(_mm_add_epi8(a, zero), _mm_and_si128(_mm_cmpgt_epi8(a, nine), af));
        b = _mm_add_epi8(_mm_add_epi8(b, zero), _mm_and_si128(_mm_cmpgt_epi8(b, nine), af));
        _mm_storeu_si128((__m128i *)(void *)(hex + 1 + 2 * i), a);
        _mm_storeu_si128((__m128i *)(void *)(hex + 17 + 2 * i), b);
    }
#else
    static const char pairs[513] =            /* byte b -> its two hex digits at 2b */
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
        "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
        "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
        "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
        "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
        "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
        "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
        "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";
    for (size_t i = 0; i < ST_HASH_BYTES; i++) memcpy(hex + 1 + 2 * i, pairs + 2 * h[i], 2);
#endif
    hex[0] = hex[2 * ST_HASH_BYTES + 1] = '"';   /* lowercase hex needs no escaping */
    put(out, hex, 2 * ST_HASH_BYTES + 2);
}

/* {"commit":..,"len":..[,"truncated":{"len":..,"sha256":..}]}: keys already in order. */
static void put_payload(st_buf *out, const st_envelope_payload *p)
{
    PUT_LIT(out, "{\"commit\":");
    put_hash(out, p->commit);
    PUT_LIT(out, ",\"len\":");
    put_int(out, (int64_t)p->len);
    if (p->truncated) {
        PUT_LIT(out, ",\"truncated\":{\"len\":");
        put_int(out, (int64_t)p->full_len);
        PUT_LIT(out, ",\"sha256\":");
        put_hash(out, p->full_sha);
        put_c(out, '}');
    }
    put_c(out, '}');
}

/* The table, rows in name order (names are distinct). */
static void put_payloads(st_buf *out, const st_envelope_payload *pl, size_t n)
{
    size_t order[ST_ENTRY_MAX_PAYLOADS];
    for (size_t i = 0; i < n; i++) {
        size_t j = i;
        for (; j > 0 && strcmp(pl[order[j - 1]].name, pl[i].name) > 0; j--) order[j] = order[j - 1];
        order[j] = i;
    }
    put_c(out, '{');
    for (size_t o = 0; o < n; o++) {
        const st_envelope_payload *p = &pl[order[o]];
        if (o) put_c(out, ',');
        st_json_write_string(out, p->name, strlen(p->name));
        put_c(out, ':');
        put_payload(out, p);
    }
    put_c(out, '}');
}

/* A metadata value: scalars as the JSON writer writes them, containers through it. */
static void put_value(st_buf *out, const st_json *v)
{
    switch (v->type) {
    case ST_JSON_STRING: st_json_write_string(out, v->str, v->len); break;
    case ST_JSON_NUMBER:
        if (v->str && v->len) put(out, v->str, v->len);
        else put_c(out, '0');
        break;
    case ST_JSON_TRUE: PUT_LIT(out, "true"); break;
    case ST_JSON_FALSE: PUT_LIT(out, "false"); break;
    case ST_JSON_NULL: PUT_LIT(out, "null"); break;
    default: st_json_write(out, v, ST_JSON_SORT_KEYS); break;
    }
}

static void put_member(st_buf *out, const member *m, uint64_t index, int64_t time_us,
                       const st_envelope_payload *pl, size_t n)
{
    switch (m->what) {                 /* the members written here: their keys as literals */
    case W_V: PUT_LIT(out, "\"v\":"); put_int(out, ST_ENTRY_VERSION); break;
    case W_INDEX: PUT_LIT(out, "\"index\":"); put_int(out, (int64_t)index); break;
    case W_TIME: PUT_LIT(out, "\"time_us\":"); put_int(out, time_us); break;
    case W_PAYLOADS: PUT_LIT(out, "\"payloads\":"); put_payloads(out, pl, n); break;
    default:
        st_json_write_string(out, m->key, m->key_len);
        put_c(out, ':');
        put_value(out, m->m);
        break;
    }
}

/* Room for the usual entry: members with their keys and string values, the payload table. */
static size_t size_guess(const member *mb, size_t k, size_t n)
{
    size_t g = 2 + n * (2 * ST_HASH_BYTES + 64);
    for (size_t i = 0; i < k; i++) g += mb[i].key_len + 24 + (mb[i].m && mb[i].m->type == ST_JSON_STRING ? mb[i].m->len : 0);
    return g;
}

int st_envelope_write(st_buf *out, const st_json *meta, uint64_t index, int64_t time_us,
                      const st_envelope_payload *pl, size_t n)
{
    if (n > ST_ENTRY_MAX_PAYLOADS) return EINVAL;
    member small[SMALL_MEMBERS], *mb = small;
    size_t count = 4;
    for (const st_json *c = meta ? meta->child : NULL; c; c = c->next) count++;
    if (count > SMALL_MEMBERS && !(mb = malloc(count * sizeof *mb))) return ENOMEM;
    size_t k = 0;
    for (const st_json *c = meta ? meta->child : NULL; c; c = c->next) add(mb, &k, c->key, c->key_len, W_META, c);
    add(mb, &k, "v", 1, W_V, NULL);
    add(mb, &k, "index", 5, W_INDEX, NULL);
    add(mb, &k, "time_us", 7, W_TIME, NULL);
    if (n) add(mb, &k, "payloads", 8, W_PAYLOADS, NULL);
    sort_members(mb, k);
    (void)st_buf_reserve(out, size_guess(mb, k, n));   /* a failure sets oom, reported below */
    put_c(out, '{');
    for (size_t i = 0; i < k; i++) {
        if (i) put_c(out, ',');
        put_member(out, &mb[i], index, time_us, pl, n);
    }
    put_c(out, '}');
    if (mb != small) free(mb);
    return out->oom ? ENOMEM : 0;
}
