/*
 * util.h: small pure helpers shared by the store and the verifier: a growable
 * byte buffer, hex and base64 (RFC 4648, padded), big-endian integers, the
 * error detail carrier, and the one error space.
 */
#ifndef ST_UTIL_H
#define ST_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "sealtrail.h"

#if defined(__GNUC__)
#define ST_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define ST_PRINTF(a, b)
#endif

/* Error detail: functions that can fail on data name the place and both values here. */
typedef struct st_err {
    char msg[512];
} st_err;

/* Sets err->msg (if err is non-NULL) and returns rc, so callers can `return st_fail(...)`. */
int st_fail(st_err *err, int rc, const char *fmt, ...) ST_PRINTF(3, 4);

/* ---- growable buffer ---------------------------------------------------- */
/* A zeroed st_buf is empty and valid. On allocation failure `oom` is set and
 * further appends are ignored; check it once at the end. */
typedef struct st_buf {
    uint8_t *data;
    size_t len, cap;
    int oom;
} st_buf;

void st_buf_free(st_buf *b);
void st_buf_reset(st_buf *b);                 /* len = 0, keeps capacity */
int  st_buf_reserve(st_buf *b, size_t extra); /* 0 or -1 (and oom set) */
/* st_buf_reserve without the doubling: a buffer that must grow gets exactly
 * len + extra bytes (one filled about once to a size known in advance). */
int  st_buf_reserve_exact(st_buf *b, size_t extra);
void st_buf_put(st_buf *b, const void *p, size_t n);
void st_buf_putc(st_buf *b, uint8_t c);

/* Makes the whole pages of p[0..n) resident and writable in one system
 * call (Linux 5.14+: MADV_POPULATE_WRITE; elsewhere nothing), keeping what
 * they hold, so that filling fresh memory takes no page fault per page.
 * Only for n >= ST_PREFAULT_MIN: below that the call costs more than the
 * faults it saves. On the VMs we measure on a fault costs some 11 us, so
 * writing a fresh MiB page by page took 2.8 ms, and 0.4 ms after this.
 * Growing buffers (st_buf, the JSON arena) call it on the part they grew
 * by. Advice only: failures are ignored. */
#define ST_PREFAULT_MIN ((size_t)64 << 10)
void st_prefault(void *p, size_t n);

/* access(path, mode) with the effective ids, as open() checks them (access()
 * uses the real ids, which differ in a set-user-ID copy: protected mode).
 * 0, or -1 with errno. */
int st_eaccess(const char *path, int mode);

/* ---- growable array ---------------------------------------------------- */
/* Room for one more element in items (*cap elements of size bytes, used of
 * them taken): items itself, or when full a reallocation to twice *cap
 * (first when *cap is 0) with *cap updated; NULL if it cannot grow (items
 * and *cap unchanged). */
void *st_array_room(void *items, size_t *cap, size_t used, size_t size, size_t first);
void st_buf_puts(st_buf *b, const char *s);
void st_buf_printf(st_buf *b, const char *fmt, ...) ST_PRINTF(2, 3);
/* Returns a NUL-terminated heap string owned by the caller (buffer emptied), or NULL on oom. */
char *st_buf_steal_str(st_buf *b, size_t *len_out);

/* ---- encodings ---------------------------------------------------------- */
void   st_hex_encode(char *out, const uint8_t *in, size_t n); /* writes 2n chars + NUL, lowercase */
int    st_hex_decode(uint8_t *out, size_t outlen, const char *in, size_t inlen); /* exact length, lower or upper; 0 or -1 */
size_t st_b64_encoded_len(size_t n);                          /* without NUL */
void   st_b64_encode(char *out, const uint8_t *in, size_t n); /* padded, NUL-terminated */
/* Strict decode: padded standard alphabet, canonical (unused bits zero). Returns decoded length or -1. */
long   st_b64_decode(uint8_t *out, size_t outcap, const char *in, size_t inlen);

/* Big-endian integers (inline: the verifier decodes several per record). */
static inline void st_be64_put(uint8_t out[8], uint64_t v)
{
    for (int i = 7; i >= 0; i--) { out[i] = (uint8_t)v; v >>= 8; }
}

static inline uint64_t st_be64_get(const uint8_t in[8])
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = v << 8 | in[i];
    return v;
}

static inline void st_be32_put(uint8_t out[4], uint32_t v)
{
    out[0] = (uint8_t)(v >> 24); out[1] = (uint8_t)(v >> 16);
    out[2] = (uint8_t)(v >> 8);  out[3] = (uint8_t)v;
}

static inline uint32_t st_be32_get(const uint8_t in[4])
{
    return (uint32_t)in[0] << 24 | (uint32_t)in[1] << 16 | (uint32_t)in[2] << 8 | in[3];
}

/* Parses a canonical unsigned decimal (no sign, no leading zeros unless "0", <= max). 0 or -1. */
int st_parse_u64(const char *s, size_t len, uint64_t max, uint64_t *out);

/* Valid UTF-8 (RFC 3629: no overlongs, no surrogates, <= U+10FFFF)? */
int st_utf8_valid(const uint8_t *s, size_t n);
/* The UTF-8 sequence at s (n > 0 bytes): its length, with its code point in
 * *cp, or 0 if s does not start a valid sequence (as st_utf8_valid judges). */
size_t st_utf8_next(const uint8_t *s, size_t n, uint32_t *cp);

/* Constant-time equality for secrets and MACs (sodium_memcmp). */
int st_ct_equal(const void *a, const void *b, size_t n);

/* Current wall-clock time in microseconds since the epoch. Honors
 * SEALTRAIL_FAKE_TIME (RFC 3339 or integer seconds) for tests of time policy. */
int64_t st_now_us(void);

/* RFC 3339 <-> microseconds. Parsing accepts a date alone (midnight UTC) or a
 * date-time with 'Z' or a numeric offset; formatting is always
 * "YYYY-MM-DDTHH:MM:SS.ffffffZ" (UTC, 6 fractional digits). */
int  st_time_parse_rfc3339(const char *s, int64_t *us_out);
void st_time_format_rfc3339(char out[32], int64_t us);
/* "90d", "12h", "30m", "45s", "2w", "1y" (365 d) -> microseconds; 0 or -1. */
int  st_duration_parse(const char *s, int64_t *us_out);
/* RFC 3339 or a relative duration meaning "now minus it": a window bound
 * (since <= t < until), so a time with non-zero digits past the microsecond
 * rounds up to the next microsecond (st_time_parse_rfc3339 cuts them off). */
int  st_time_arg_parse(const char *s, int64_t now_us, int64_t *us_out);

#endif
