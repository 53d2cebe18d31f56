/*
 * sha256.c: SHA-256 with two block functions: the portable one written from
 * FIPS 180-4 section 6.2, and one using the x86 SHA extensions (SHA-NI),
 * chosen once at run time with CPUID. The streaming layer (init, update,
 * final) is shared. Tests compare both paths with libsodium on every length
 * from 0 to 300 bytes and on random splits.
 */
#include "sha256.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <immintrin.h>
#define ST_HAVE_X86 1
#endif

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

/* ---- portable block function (FIPS 180-4 6.2.2) ------------------------------ */

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void blocks_portable(uint32_t st[8], const uint8_t *p, size_t nblocks)
{
    while (nblocks--) {
        uint32_t w[64];
        for (int t = 0; t < 16; t++)
            w[t] = (uint32_t)p[4 * t] << 24 | (uint32_t)p[4 * t + 1] << 16 | (uint32_t)p[4 * t + 2] << 8 | p[4 * t + 3];
        for (int t = 16; t < 64; t++) {
            uint32_t s0 = ROR(w[t - 15], 7) ^ ROR(w[t - 15], 18) ^ (w[t - 15] >> 3);
            uint32_t s1 = ROR(w[t - 2], 17) ^ ROR(w[t - 2], 19) ^ (w[t - 2] >> 10);
            w[t] = w[t - 16] + s0 + w[t - 7] + s1;
        }
        uint32_t a = st[0], b = st[1], c = st[2], d = st[3], e = st[4], f = st[5], g = st[6], h = st[7];
        for (int t = 0; t < 64; t++) {
            uint32_t S1 = ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25);
            uint32_t ch = (e & f) ^ (~e & g);
            uint32_t t1 = h + S1 + ch + K[t] + w[t];
            uint32_t S0 = ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22);
            uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
            uint32_t t2 = S0 + maj;
            h = g; g = f; f = e; e = d + t1;
            d = c; c = b; b = a; a = t1 + t2;
        }
        st[0] += a; st[1] += b; st[2] += c; st[3] += d;
        st[4] += e; st[5] += f; st[6] += g; st[7] += h;
        p += 64;
    }
}

/* ---- SHA-NI block function ------------------------------------------------------ */

#ifdef ST_HAVE_X86
/*
 * The state is kept as ABEF / CDGH as the sha256rnds2 instruction wants it.
 * Each group i of four rounds adds K[4i..4i+3] to message words W[i mod 4];
 * the schedule runs sha256msg1 for groups 1..12 and sha256msg2 for 3..14.
 */
__attribute__((target("sha,sse4.1,ssse3")))
static void blocks_shani(uint32_t st[8], const uint8_t *p, size_t nblocks)
{
    const __m128i mask = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
    __m128i tmp = _mm_loadu_si128((const __m128i *)&st[0]);
    __m128i s1 = _mm_loadu_si128((const __m128i *)&st[4]);
    tmp = _mm_shuffle_epi32(tmp, 0xB1);          /* CDAB */
    s1 = _mm_shuffle_epi32(s1, 0x1B);            /* EFGH */
    __m128i s0 = _mm_alignr_epi8(tmp, s1, 8);    /* ABEF */
    s1 = _mm_blend_epi16(s1, tmp, 0xF0);         /* CDGH */

    while (nblocks--) {
        __m128i abef = s0, cdgh = s1, w[4], msg;
        for (int i = 0; i < 16; i++) {
            if (i < 4) w[i] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * i)), mask);
            __m128i cur = w[i & 3];
            msg = _mm_add_epi32(cur, _mm_loadu_si128((const __m128i *)&K[4 * i]));
            s1 = _mm_sha256rnds2_epu32(s1, s0, msg);
            if (i >= 3 && i <= 14) {
                __m128i t = _mm_alignr_epi8(cur, w[(i - 1) & 3], 4);
                w[(i + 1) & 3] = _mm_add_epi32(w[(i + 1) & 3], t);
                w[(i + 1) & 3] = _mm_sha256msg2_epu32(w[(i + 1) & 3], cur);
            }
            msg = _mm_shuffle_epi32(msg, 0x0E);
            s0 = _mm_sha256rnds2_epu32(s0, s1, msg);
            if (i >= 1 && i <= 12) w[(i - 1) & 3] = _mm_sha256msg1_epu32(w[(i - 1) & 3], cur);
        }
        s0 = _mm_add_epi32(s0, abef);
        s1 = _mm_add_epi32(s1, cdgh);
        p += 64;
    }
    tmp = _mm_shuffle_epi32(s0, 0x1B);           /* FEBA */
    s1 = _mm_shuffle_epi32(s1, 0xB1);            /* DCHG */
    s0 = _mm_blend_epi16(tmp, s1, 0xF0);         /* DCBA */
    s1 = _mm_alignr_epi8(s1, tmp, 8);            /* ABEF */
    _mm_storeu_si128((__m128i *)&st[0], s0);
    _mm_storeu_si128((__m128i *)&st[4], s1);
}

/* Two independent messages at once: the same rounds as blocks_shani, the two
 * interleaved. One message's rounds wait on each other (sha256rnds2 has a
 * latency of several cycles and a higher throughput); two fill the gaps. */
__attribute__((target("sha,sse4.1,ssse3")))
static void blocks_shani_x2(uint32_t sa[8], uint32_t sb[8], const uint8_t *pa, const uint8_t *pb, size_t nblocks)
{
    const __m128i mask = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
    __m128i a0, a1, b0, b1, tmp;
    tmp = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&sa[0]), 0xB1);
    a1 = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&sa[4]), 0x1B);
    a0 = _mm_alignr_epi8(tmp, a1, 8);
    a1 = _mm_blend_epi16(a1, tmp, 0xF0);
    tmp = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&sb[0]), 0xB1);
    b1 = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&sb[4]), 0x1B);
    b0 = _mm_alignr_epi8(tmp, b1, 8);
    b1 = _mm_blend_epi16(b1, tmp, 0xF0);
    while (nblocks--) {
        __m128i sa0 = a0, sa1 = a1, sb0 = b0, sb1 = b1, wa[4], wb[4], ma, mb;
        for (int i = 0; i < 16; i++) {
            if (i < 4) {
                wa[i] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(pa + 16 * i)), mask);
                wb[i] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(pb + 16 * i)), mask);
            }
            __m128i ca = wa[i & 3], cb = wb[i & 3], k = _mm_loadu_si128((const __m128i *)&K[4 * i]);
            ma = _mm_add_epi32(ca, k);
            mb = _mm_add_epi32(cb, k);
            a1 = _mm_sha256rnds2_epu32(a1, a0, ma);
            b1 = _mm_sha256rnds2_epu32(b1, b0, mb);
            if (i >= 3 && i <= 14) {
                __m128i t = _mm_alignr_epi8(ca, wa[(i - 1) & 3], 4);
                wa[(i + 1) & 3] = _mm_sha256msg2_epu32(_mm_add_epi32(wa[(i + 1) & 3], t), ca);
                t = _mm_alignr_epi8(cb, wb[(i - 1) & 3], 4);
                wb[(i + 1) & 3] = _mm_sha256msg2_epu32(_mm_add_epi32(wb[(i + 1) & 3], t), cb);
            }
            ma = _mm_shuffle_epi32(ma, 0x0E);
            mb = _mm_shuffle_epi32(mb, 0x0E);
            a0 = _mm_sha256rnds2_epu32(a0, a1, ma);
            b0 = _mm_sha256rnds2_epu32(b0, b1, mb);
            if (i >= 1 && i <= 12) {
                wa[(i - 1) & 3] = _mm_sha256msg1_epu32(wa[(i - 1) & 3], ca);
                wb[(i - 1) & 3] = _mm_sha256msg1_epu32(wb[(i - 1) & 3], cb);
            }
        }
        a0 = _mm_add_epi32(a0, sa0);
        a1 = _mm_add_epi32(a1, sa1);
        b0 = _mm_add_epi32(b0, sb0);
        b1 = _mm_add_epi32(b1, sb1);
        pa += 64;
        pb += 64;
    }
    tmp = _mm_shuffle_epi32(a0, 0x1B);
    a1 = _mm_shuffle_epi32(a1, 0xB1);
    _mm_storeu_si128((__m128i *)&sa[0], _mm_blend_epi16(tmp, a1, 0xF0));
    _mm_storeu_si128((__m128i *)&sa[4], _mm_alignr_epi8(a1, tmp, 8));
    tmp = _mm_shuffle_epi32(b0, 0x1B);
    b1 = _mm_shuffle_epi32(b1, 0xB1);
    _mm_storeu_si128((__m128i *)&sb[0], _mm_blend_epi16(tmp, b1, 0xF0));
    _mm_storeu_si128((__m128i *)&sb[4], _mm_alignr_epi8(b1, tmp, 8));
}

static int cpu_has_shani(void)
{
    /* Three cpuid instructions: each one traps to the hypervisor in a VM
     * (~5 us here), and every hook process runs this once. */
    unsigned a, b, c, d;
    if (__get_cpuid_max(0, NULL) < 7) return 0;
    __cpuid(1, a, b, c, d);
    if (!(c & (1u << 19)) || !(c & (1u << 9))) return 0;   /* SSE4.1, SSSE3 */
    __cpuid_count(7, 0, a, b, c, d);
    return (b >> 29) & 1;                                  /* SHA */
}
#endif

typedef void (*blocks_fn)(uint32_t st[8], const uint8_t *p, size_t nblocks);
static _Atomic(blocks_fn) chosen;

static blocks_fn pick(void)
{
    blocks_fn f = atomic_load_explicit(&chosen, memory_order_relaxed);
    if (f) return f;
    f = blocks_portable;
#ifdef ST_HAVE_X86
    const char *force = getenv("ST_SHA256_PORTABLE");
    if (!(force && force[0] == '1') && cpu_has_shani()) f = blocks_shani;
#endif
    atomic_store_explicit(&chosen, f, memory_order_relaxed);   /* idempotent: every thread computes the same choice */
    return f;
}

int st_sha256_accelerated(void) { return pick() != blocks_portable; }

/* ---- streaming layer -------------------------------------------------------------- */

void st_sha256_init(st_sha256_ctx *c)
{
    static const uint32_t iv[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                    0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
    memcpy(c->h, iv, sizeof iv);
    c->total = 0;
    c->fill = 0;
}

void st_sha256_update(st_sha256_ctx *c, const void *data, size_t len)
{
    const uint8_t *p = data;
    blocks_fn f = pick();
    c->total += len;
    if (c->fill) {
        size_t take = 64 - c->fill < len ? 64 - c->fill : len;
        memcpy(c->block + c->fill, p, take);
        c->fill += take;
        p += take;
        len -= take;
        if (c->fill < 64) return;
        f(c->h, c->block, 1);
        c->fill = 0;
    }
    if (len >= 64) {
        f(c->h, p, len / 64);
        p += len & ~(size_t)63;
        len &= 63;
    }
    if (len) {
        memcpy(c->block, p, len);
        c->fill = len;
    }
}

void st_sha256_final(st_sha256_ctx *c, uint8_t out[32])
{
    uint64_t bits = c->total * 8;
    uint8_t pad[72];
    size_t padlen = (c->fill < 56 ? 56 : 120) - c->fill;
    memset(pad, 0, sizeof pad);
    pad[0] = 0x80;
    for (int i = 0; i < 8; i++) pad[padlen + i] = (uint8_t)(bits >> (56 - 8 * i));
    uint64_t keep = c->total;
    st_sha256_update(c, pad, padlen + 8);
    c->total = keep;
    for (int i = 0; i < 8; i++) {
        out[4 * i] = (uint8_t)(c->h[i] >> 24);
        out[4 * i + 1] = (uint8_t)(c->h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(c->h[i] >> 8);
        out[4 * i + 3] = (uint8_t)c->h[i];
    }
}

void st_sha256(uint8_t out[32], const void *data, size_t len)
{
    st_sha256_ctx c;
    st_sha256_init(&c);
    st_sha256_update(&c, data, len);
    st_sha256_final(&c, out);
}

/* ---- two messages at once --------------------------------------------------------- */

#ifdef ST_HAVE_X86
/* One message prefix || data, padded, as a sequence of 64-byte blocks. */
typedef struct msg2 {
    const uint8_t *pre, *data;
    size_t plen, total, nblocks, i;
    uint32_t h[8];
    uint8_t tmp[64];
} msg2;

static void msg2_init(msg2 *m, const void *pre, size_t plen, const void *data, size_t len)
{
    static const uint32_t iv[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                    0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
    memcpy(m->h, iv, sizeof iv);
    m->pre = pre;
    m->data = data;
    m->plen = plen;
    m->total = plen + len;
    m->nblocks = (m->total + 8) / 64 + 1;
    m->i = 0;
}

/* The next block(s): a run of whole blocks inside data (pointer into it), or
 * one block assembled from the prefix, the data and the padding. */
static const uint8_t *msg2_next(msg2 *m, size_t *run)
{
    size_t x0 = 64 * m->i;
    if (x0 >= m->plen && x0 + 64 <= m->total) {
        *run = m->total / 64 - m->i;
        return m->data + (x0 - m->plen);
    }
    uint8_t *t = m->tmp;
    memset(t, 0, 64);
    if (x0 < m->plen) memcpy(t, m->pre + x0, m->plen - x0 < 64 ? m->plen - x0 : 64);
    size_t a = x0 > m->plen ? x0 : m->plen, b = x0 + 64 < m->total ? x0 + 64 : m->total;
    if (a < b) memcpy(t + (a - x0), m->data + (a - m->plen), b - a);
    if (m->total >= x0 && m->total < x0 + 64) t[m->total - x0] = 0x80;
    if (m->i == m->nblocks - 1) {
        uint64_t bits = (uint64_t)m->total * 8;
        for (int k = 0; k < 8; k++) t[56 + k] = (uint8_t)(bits >> (56 - 8 * k));
    }
    *run = 1;
    return t;
}

static void msg2_out(const msg2 *m, uint8_t out[32])
{
    for (int i = 0; i < 8; i++) {
        out[4 * i] = (uint8_t)(m->h[i] >> 24);
        out[4 * i + 1] = (uint8_t)(m->h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(m->h[i] >> 8);
        out[4 * i + 3] = (uint8_t)m->h[i];
    }
}
#endif

void st_sha256_2(uint8_t out_a[32], const void *pre_a, size_t plen_a, const void *data_a, size_t len_a,
                 uint8_t out_b[32], const void *pre_b, size_t plen_b, const void *data_b, size_t len_b)
{
    blocks_fn f = pick();
    if (plen_a > 64 || plen_b > 64 || f == blocks_portable) {
        st_sha256_ctx c;
        st_sha256_init(&c);
        st_sha256_update(&c, pre_a, plen_a);
        st_sha256_update(&c, data_a, len_a);
        st_sha256_final(&c, out_a);
        st_sha256_init(&c);
        st_sha256_update(&c, pre_b, plen_b);
        st_sha256_update(&c, data_b, len_b);
        st_sha256_final(&c, out_b);
        return;
    }
#ifdef ST_HAVE_X86
    msg2 a, b;
    msg2_init(&a, pre_a, plen_a, data_a, len_a);
    msg2_init(&b, pre_b, plen_b, data_b, len_b);
    while (a.i < a.nblocks && b.i < b.nblocks) {
        size_t ra, rb;
        const uint8_t *pa = msg2_next(&a, &ra), *pb = msg2_next(&b, &rb);
        size_t k = ra < rb ? ra : rb;
        blocks_shani_x2(a.h, b.h, pa, pb, k);
        a.i += k;
        b.i += k;
    }
    msg2 *m = a.i < a.nblocks ? &a : &b;
    while (m->i < m->nblocks) {
        size_t r;
        const uint8_t *p = msg2_next(m, &r);
        f(m->h, p, r);
        m->i += r;
    }
    msg2_out(&a, out_a);
    msg2_out(&b, out_b);
#endif
}
