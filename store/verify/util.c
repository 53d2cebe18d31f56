/*
 * util.c: byte buffer, hex, base64, big-endian integers, UTF-8 validation,
 * time parsing and formatting, and the one error-string table.
 */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

/* ---- errors -------------------------------------------------------------- */

static const char *const st_errstr[] = {
    "invalid argument",                            /* ST_EINVAL */
    "malformed JSON",                              /* ST_EJSON */
    "not the canonical encoding",                  /* ST_ENONCANON */
    "input too large",                             /* ST_ETOOBIG */
    "JSON nested too deeply",                      /* ST_EDEPTH */
    "not found",                                   /* ST_ENOTFOUND */
    "data fails verification",                     /* ST_ECORRUPT */
    "key file permissions are too open",           /* ST_EKEYPERM */
    "signing key missing",                         /* ST_ENOKEY */
    "malformed key",                               /* ST_EBADKEY */
    "signature does not verify",                   /* ST_EBADSIG */
    "unsupported format version",                  /* ST_EVERSION */
    "store is busy",                               /* ST_EBUSY */
    "database error",                              /* ST_EDB */
    "proof does not verify",                       /* ST_EPROOF */
    "already exists",                              /* ST_EEXIST */
    "entries are not sealed",                      /* ST_ENOTSEALED */
    "malformed note, key, proof or bundle",        /* ST_EFORMAT */
    "signed by no trusted key",                    /* ST_EUNTRUSTED */
    "refused by policy",                           /* ST_EPOLICY */
    "store is read-only",                          /* ST_ERDONLY */
};

const char *st_strerror(int rc)
{
    if (rc == 0) return "success";
    if (rc > 0) return strerror(rc);
    if (rc <= ST_E_FIRST && rc >= ST_E_LAST) return st_errstr[ST_E_FIRST - rc];
    return "unknown error";
}

size_t st_hash_bytes(void) { return ST_HASH_BYTES; }
size_t st_salt_bytes(void) { return ST_SALT_BYTES; }

int st_fail(st_err *err, int rc, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* ---- buffer -------------------------------------------------------------- */

void st_buf_free(st_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

void st_buf_reset(st_buf *b) { b->len = 0; }

#define ST_PREFAULT_AHEAD ((size_t)4 << 20)

void st_prefault(void *p, size_t n)
{
#if defined(__linux__) && defined(MADV_POPULATE_WRITE)
    if (n < ST_PREFAULT_MIN) return;
    long ps = sysconf(_SC_PAGESIZE);   /* from the aux vector: no system call */
    size_t page = ps > 0 ? (size_t)ps : 4096;
    uintptr_t start = ((uintptr_t)p + page - 1) & ~(uintptr_t)(page - 1);
    uintptr_t end = ((uintptr_t)p + n) & ~(uintptr_t)(page - 1);
    if (end > start) (void)madvise((void *)start, end - start, MADV_POPULATE_WRITE);
#else
    (void)p;
    (void)n;
#endif
}

int st_eaccess(const char *path, int mode) { return faccessat(AT_FDCWD, path, mode, AT_EACCESS); }

int st_buf_reserve(st_buf *b, size_t extra)
{
    if (b->oom) return -1;
    if (extra <= b->cap - b->len) return 0;
    size_t need = b->len + extra;
    if (need < b->len) { b->oom = 1; return -1; }
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need) {
        if (cap > SIZE_MAX / 2) { cap = need; break; }
        cap *= 2;
    }
    uint8_t *p = realloc(b->data, cap);
    if (!p) { b->oom = 1; return -1; }
    b->data = p;
    b->cap = cap;
    /* What the caller writes next, and a few MiB beyond that later appends
     * will likely fill; not all of a doubled gigabyte. */
    size_t ahead = cap - b->len - extra < ST_PREFAULT_AHEAD ? cap - b->len - extra : ST_PREFAULT_AHEAD;
    st_prefault(p + b->len, extra + ahead);
    return 0;
}

void *st_array_room(void *items, size_t *cap, size_t used, size_t size, size_t first)
{
    if (used < *cap) return items;
    size_t nc = *cap ? *cap * 2 : first;
    if (nc < *cap || (size && nc > SIZE_MAX / size)) return NULL;
    void *n = realloc(items, nc * size);
    if (n) *cap = nc;
    return n;
}

int st_buf_reserve_exact(st_buf *b, size_t extra)
{
    if (b->oom) return -1;
    if (extra <= b->cap - b->len) return 0;
    size_t need = b->len + extra;
    if (need < b->len) { b->oom = 1; return -1; }
    uint8_t *p = realloc(b->data, need);
    if (!p) { b->oom = 1; return -1; }
    b->data = p;
    b->cap = need;
    st_prefault(p + b->len, extra);
    return 0;
}

void st_buf_put(st_buf *b, const void *p, size_t n)
{
    if (n == 0 || st_buf_reserve(b, n) != 0) return;
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

void st_buf_putc(st_buf *b, uint8_t c)
{
    if (st_buf_reserve(b, 1) != 0) return;
    b->data[b->len++] = c;
}

void st_buf_puts(st_buf *b, const char *s) { st_buf_put(b, s, strlen(s)); }

void st_buf_printf(st_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) { b->oom = 1; return; }
    if ((size_t)n < sizeof small) { st_buf_put(b, small, (size_t)n); return; }
    if (st_buf_reserve(b, (size_t)n + 1) != 0) return;
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

char *st_buf_steal_str(st_buf *b, size_t *len_out)
{
    st_buf_putc(b, 0);
    if (b->oom) { st_buf_free(b); return NULL; }
    char *s = (char *)b->data;
    if (len_out) *len_out = b->len - 1;
    memset(b, 0, sizeof *b);
    return s;
}

/* ---- hex and base64 ------------------------------------------------------- */

void st_hex_encode(char *out, const uint8_t *in, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = 0;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int st_hex_decode(uint8_t *out, size_t outlen, const char *in, size_t inlen)
{
    if (inlen != 2 * outlen) return -1;
    for (size_t i = 0; i < outlen; i++) {
        int hi = hexval((unsigned char)in[2 * i]), lo = hexval((unsigned char)in[2 * i + 1]);
        if (hi < 0 || lo < 0) return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t st_b64_encoded_len(size_t n) { return (n + 2) / 3 * 4; }

void st_b64_encode(char *out, const uint8_t *in, size_t n)
{
    size_t o = 0, i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = b64chars[v >> 18];
        out[o++] = b64chars[(v >> 12) & 63];
        out[o++] = b64chars[(v >> 6) & 63];
        out[o++] = b64chars[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = b64chars[v >> 18];
        out[o++] = b64chars[(v >> 12) & 63];
        out[o++] = '=';
        out[o++] = '=';
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = b64chars[v >> 18];
        out[o++] = b64chars[(v >> 12) & 63];
        out[o++] = b64chars[(v >> 6) & 63];
        out[o++] = '=';
    }
    out[o] = 0;
}

static int b64val(int c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

long st_b64_decode(uint8_t *out, size_t outcap, const char *in, size_t inlen)
{
    if (inlen % 4 != 0) return -1;
    size_t o = 0;
    for (size_t i = 0; i < inlen; i += 4) {
        int last = (i + 4 == inlen);
        int v[4], pad = 0;
        for (int j = 0; j < 4; j++) {
            int c = (unsigned char)in[i + j];
            if (c == '=' && last && j >= 2) { v[j] = 0; pad++; continue; }
            if (pad) return -1;              /* data after padding */
            v[j] = b64val(c);
            if (v[j] < 0) return -1;
        }
        uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        size_t nbytes = 3 - (size_t)pad;
        if (pad == 2 && (w & 0xffff)) return -1;   /* non-canonical: unused bits set */
        if (pad == 1 && (w & 0xff)) return -1;
        if (o + nbytes > outcap) return -1;
        out[o++] = (uint8_t)(w >> 16);
        if (nbytes > 1) out[o++] = (uint8_t)(w >> 8);
        if (nbytes > 2) out[o++] = (uint8_t)w;
    }
    return (long)o;
}

int st_parse_u64(const char *s, size_t len, uint64_t max, uint64_t *out)
{
    if (len == 0 || len > 20) return -1;
    if (s[0] == '0' && len > 1) return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10) return -1;
        v = v * 10 + d;
    }
    if (v > max) return -1;
    *out = v;
    return 0;
}

size_t st_utf8_next(const uint8_t *s, size_t n, uint32_t *cp)
{
    uint8_t c = s[0];
    size_t len;
    uint32_t v, min;
    if (c < 0x80) { *cp = c; return 1; }
    if (c >= 0xc2 && c <= 0xdf) { len = 2; v = c & 0x1fu; min = 0x80; }
    else if (c >= 0xe0 && c <= 0xef) { len = 3; v = c & 0x0fu; min = 0x800; }
    else if (c >= 0xf0 && c <= 0xf4) { len = 4; v = c & 0x07u; min = 0x10000; }
    else return 0;
    if (len > n) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        v = v << 6 | (s[i] & 0x3fu);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) return 0;
    *cp = v;
    return len;
}

int st_utf8_valid(const uint8_t *s, size_t n)
{
    for (size_t i = 0, k; i < n; i += k) {
        uint32_t cp;
        if (s[i] < 0x80) { k = 1; continue; }
        if ((k = st_utf8_next(s + i, n - i, &cp)) == 0) return 0;
    }
    return 1;
}

int st_ct_equal(const void *a, const void *b, size_t n)
{
    return sodium_memcmp(a, b, n) == 0;
}

/* ---- time ---------------------------------------------------------------- */

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    /* Howard Hinnant's algorithm: days since 1970-01-01, proleptic Gregorian. */
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* *finer (if not NULL) tells whether digits past the microsecond were non-zero:
 * the result is then the microsecond at or before the instant written. */
static int parse_rfc3339(const char *s, int64_t *us_out, int *finer)
{
    size_t n = strlen(s);
    if (finer) *finer = 0;
    int Y, M, D, h = 0, mi = 0, sec = 0;
    if (n < 10 || digits(s, 4, &Y) || s[4] != '-' || digits(s + 5, 2, &M) || s[7] != '-' || digits(s + 8, 2, &D))
        return -1;
    static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (M < 1 || M > 12 || D < 1 || D > mdays[M - 1]) return -1;
    if (M == 2 && D == 29 && !((Y % 4 == 0 && Y % 100 != 0) || Y % 400 == 0)) return -1;
    size_t i = 10;
    int64_t frac_us = 0, offset_s = 0;
    if (n > 10) {
        if ((s[10] != 'T' && s[10] != 't' && s[10] != ' ') || n < 19) return -1;
        if (digits(s + 11, 2, &h) || s[13] != ':' || digits(s + 14, 2, &mi) || s[16] != ':' || digits(s + 17, 2, &sec))
            return -1;
        if (h > 23 || mi > 59 || sec > 60) return -1;
        if (sec == 60) sec = 59; /* leap second: clamp */
        i = 19;
        if (i < n && s[i] == '.') {
            i++;
            int nd = 0;
            int64_t scale = 100000;
            while (i < n && s[i] >= '0' && s[i] <= '9') {
                if (nd < 6) { frac_us += (s[i] - '0') * scale; scale /= 10; }
                else if (s[i] != '0' && finer) *finer = 1;
                nd++;
                i++;
            }
            if (nd == 0) return -1;
        }
        if (i >= n) return -1;  /* a time needs a zone */
        if (s[i] == 'Z' || s[i] == 'z') {
            i++;
        } else if (s[i] == '+' || s[i] == '-') {
            int oh, om;
            if (n - i != 6 || digits(s + i + 1, 2, &oh) || s[i + 3] != ':' || digits(s + i + 4, 2, &om)) return -1;
            if (oh > 23 || om > 59) return -1;
            offset_s = (int64_t)(oh * 3600 + om * 60) * (s[i] == '+' ? 1 : -1);
            i += 6;
        } else {
            return -1;
        }
        if (i != n) return -1;
    }
    int64_t days = days_from_civil(Y, (unsigned)M, (unsigned)D);
    int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - offset_s;
    *us_out = secs * 1000000 + frac_us;
    return 0;
}

int st_time_parse_rfc3339(const char *s, int64_t *us_out) { return parse_rfc3339(s, us_out, NULL); }

void st_time_format_rfc3339(char out[32], int64_t us)
{
    int64_t secs = us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000);
    int64_t frac = us - secs * 1000000;
    int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
    int64_t rem = secs - days * 86400;
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    char tmp[96];   /* roomy for any int64 year; the result is cut to 31 bytes */
    snprintf(tmp, sizeof tmp, "%04lld-%02u-%02uT%02d:%02d:%02d.%06lldZ", (long long)y, m, d,
             (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60), (long long)frac);
    size_t n = strlen(tmp) < 31 ? strlen(tmp) : 31;
    memcpy(out, tmp, n);
    out[n] = 0;
}

int st_duration_parse(const char *s, int64_t *us_out)
{
    size_t n = strlen(s);
    if (n < 2) return -1;
    uint64_t v;
    if (st_parse_u64(s, n - 1, 1000000000ULL, &v) != 0) return -1;
    int64_t unit;
    switch (s[n - 1]) {
    case 's': unit = 1000000LL; break;
    case 'm': unit = 60LL * 1000000; break;
    case 'h': unit = 3600LL * 1000000; break;
    case 'd': unit = 86400LL * 1000000; break;
    case 'w': unit = 7LL * 86400 * 1000000; break;
    case 'y': unit = 365LL * 86400 * 1000000; break;
    default: return -1;
    }
    if ((int64_t)v > INT64_MAX / unit) return -1;
    *us_out = (int64_t)v * unit;
    return 0;
}

int st_time_arg_parse(const char *s, int64_t now_us, int64_t *us_out)
{
    int64_t d;
    if (st_duration_parse(s, &d) == 0) { *us_out = now_us - d; return 0; }
    int finer;
    if (parse_rfc3339(s, us_out, &finer) != 0) return -1;
    /* A window is since <= t < until over stored microseconds: a bound that
     * falls between two of them starts, or ends, at the next one. */
    *us_out += finer;
    return 0;
}

int64_t st_now_us(void)
{
    const char *fake = getenv("SEALTRAIL_FAKE_TIME");
    if (fake && *fake) {
        int64_t us;
        uint64_t secs;
        if (st_parse_u64(fake, strlen(fake), (uint64_t)INT64_MAX / 1000000, &secs) == 0) return (int64_t)secs * 1000000;
        if (st_time_parse_rfc3339(fake, &us) == 0) return us;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
