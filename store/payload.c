/*
 * payload.c: how payload bytes are kept in the store. Not part of any signed
 * format: entries commit to the payload bytes, and this module must give
 * back exactly those bytes.
 *
 * Row in `payloads`: key = u64be index || name; value = salt[16] || u8 enc || body.
 *   enc 0: body = the payload bytes themselves (payloads under RAW_MAX bytes:
 *          zstd makes them no smaller, and its per-call setup is most of
 *          the cost of storing them);
 *   enc 3: body = the payload bytes (under RAW_MAX) packed (pack.h) with
 *          SMALL_FRAGMENTS below, when that is shorter: the member names of
 *          common small payloads are one byte each, 32-digit hex runs 16
 *          bytes (an imported line's "event" payload, 115 bytes, becomes
 *          30; packing costs a fraction of a microsecond);
 *   enc 1: body = zstd frame of a segment list.
 *   enc 2: body = zstd frame of a segment list under DICT_MAX (64 KiB)
 *          bytes, compressed with the built-in dictionary (payload_dict.h,
 *          dictID 0x53540001), without dictionary ID; content size
 *          present. The magic number stays (4 bytes) so that the frame is
 *          found and read like any other (zstd -D, the erasure searches).
 *          Written by threads that store many payloads (import and batch
 *          appends, which bring a st_payload_zctx): the frame reuses the
 *          dictionary's entropy tables where zstd would build its predefined
 *          FSE tables for every frame, the largest cost of a small payload.
 *          A single append (the hook) writes enc 1: preparing the
 *          dictionary (~140k instructions) costs more than it saves there.
 * Segment list: repeated { u8 kind, u32be len, data }:
 *   kind 0: literal bytes (len bytes follow)
 *   kind 1: a large JSON string literal stored once in `blobs`; data = SHA-256 of it (len = 32)
 * Row in `blobs`: key = SHA-256(bytes); value = u32be refcount || zstd frame of bytes;
 *   the refcount is 0 when `blob_refs` holds it (format version 4, below).
 * Row in `blob_refs`: key = SHA-256(bytes); value = u64be refcount.
 *
 * Large string literals (Edit and Write carry the whole original file, Read
 * carries it again) are the repeated content in real sessions; storing each
 * once and compressing the rest keeps the store at or below the JSONL it
 * replaces.
 */
#include "payload.h"
#include "payload_dict.h"

#include "pack.h"

#include "sha256.h"
#include "store_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#define ZSTD_STATIC_LINKING_ONLY   /* dictionaries by reference, dictionary attachment, literal compression mode */
#include <zstd.h>

#define ENC_RAW 0
#define ENC_SEGMENTS 1
#define ENC_DICT 2
#define ENC_PACKED 3
#define DICT_MAX (64 * 1024)   /* segment lists shorter than this are compressed with the dictionary (enc 2) */
#define SEGS_KEEP (1u << 20)   /* a st_payload_zctx keeps a segment list buffer up to this size */
#define RAW_MAX 128            /* payloads shorter than this are stored as they are or packed (enc 0, 3) */
#define SEG_LITERAL 0
#define SEG_BLOB 1
#define BLOB_MIN 4096          /* string literals at least this long go to blobs */
#define ZSTD_LEVEL 3
#define DICT_LEVEL 2           /* enc 2: with the dictionary's tables, level 2 (fast) compresses about as well as 3 */

/* enc 3's fragments (pack.h): what small payloads are made of. The "event"
 * payload of an imported audit-log line (its members that the envelope
 * does not carry, in the line's order), and the tool inputs and outputs of
 * the common tools. Never change or reorder: rows depend on it. */
static const char *const SMALL_FRAGMENTS[ST_PACK_NFRAG] = {
    "{\"timestamp\":\"",                                   /* 0x02 */
    "\",\"executionTimeMs\":",                             /* 0x03 */
    ",\"error\":false,\"errorMessage\":null,\"status\":\"success\"}", /* 0x04 */
    ",\"error\":true,\"errorMessage\":\"",                 /* 0x05 */
    "\",\"status\":\"error\"}",                            /* 0x06 */
    ",\"error\":false,\"errorMessage\":null}",              /* 0x07 */
    "{\"command\":\"",                                     /* 0x08 */
    "\",\"description\":\"",                                /* 0x09 */
    "{\"file_path\":\"",                                   /* 0x0a */
    "{\"pattern\":\"",                                     /* 0x0b */
    "\",\"path\":\"",                                       /* 0x0c */
    "\",\"old_string\":\"",                                 /* 0x0d */
    "\",\"new_string\":\"",                                 /* 0x0e */
    "\",\"content\":\"",                                    /* 0x0f */
    "{\"url\":\"",                                         /* 0x10 */
    "\",\"prompt\":\"",                                     /* 0x11 */
    "{\"query\":\"",                                       /* 0x12 */
    "\",\"timeout\":",                                     /* 0x13 */
    ",\"run_in_background\":true}",                       /* 0x14 */
    "{\"stdout\":\"",                                      /* 0x15 */
    "\",\"stderr\":\"\",\"interrupted\":false,\"isImage\":false}", /* 0x16 */
    "{\"filePath\":\"",                                    /* 0x17 */
    "\",\"replace_all\":false}",                           /* 0x18 */
    "{\"transcript_path\":\"",                             /* 0x19 */
    "\",\"output_mode\":\"",                                /* 0x1a */
    ",\"limit\":",                                        /* 0x1b */
    ",\"offset\":",                                       /* 0x1c */
    "{\"todos\":[{\"content\":\"",                         /* 0x1d */
    "\",\"status\":\"",                                     /* 0x1e */
    "\",\"activeForm\":\"",                                 /* 0x1f */
};
ST_PACK_TABLE(small_table, SMALL_FRAGMENTS)

const char *st_payload_fragment(unsigned t)
{
    return t >= ST_PACK_FRAG_FIRST && t <= ST_PACK_FRAG_LAST ? SMALL_FRAGMENTS[t - ST_PACK_FRAG_FIRST] : NULL;
}

static void payload_key(uint8_t *key, size_t *klen, uint64_t index, const char *name)
{
    size_t nl = strlen(name);
    st_be64_put(key, index);
    memcpy(key + 8, name, nl);
    *klen = 8 + nl;
}

/* One compression and one decompression context per thread, reused: creating
 * a zstd context per call dominated bulk ingest (it initializes large tables).
 * The append path's helper thread brings its own (st_payload_zctx), freed
 * when it ends. */
static _Thread_local ZSTD_CCtx *tl_cctx;
static _Thread_local ZSTD_DCtx *tl_dctx;
static _Thread_local ZSTD_DCtx *tl_dict_dctx;   /* enc 2: the dictionary */

/* The built-in dictionary (payload_dict.h), prepared once per process at its
 * first use: a process that only reads never builds the compression form.
 * Both are read-only once made, so every thread shares them. */
static pthread_once_t cdict_once = PTHREAD_ONCE_INIT;
static pthread_once_t ddict_once = PTHREAD_ONCE_INIT;
static ZSTD_CDict *g_cdict;
static ZSTD_DDict *g_ddict;

/* The dictionary's match tables sized for what they index: level DICT_LEVEL
 * chose a 2^15-entry hash table (128 KiB) for a 2 KiB dictionary, whose
 * scattered lookups cost cache misses on every payload; DICT_HASH_LOG bits
 * hold each of its positions just as well (ZSTD_adjustCParams shrinks the
 * rest to the dictionary's size). */
#define DICT_HASH_LOG 12

static void cdict_init(void)
{
    ZSTD_compressionParameters cp = ZSTD_getCParams(DICT_LEVEL, ZSTD_CONTENTSIZE_UNKNOWN, st_payload_dict_size);
    if (cp.hashLog > DICT_HASH_LOG) cp.hashLog = DICT_HASH_LOG;
    cp = ZSTD_adjustCParams(cp, 0, st_payload_dict_size);
    g_cdict = ZSTD_createCDict_advanced(st_payload_dict, st_payload_dict_size, ZSTD_dlm_byRef, ZSTD_dct_auto, cp,
                                        ZSTD_defaultCMem);
}

static void ddict_init(void)
{
    g_ddict = ZSTD_createDDict_byReference(st_payload_dict, st_payload_dict_size);
}

/* Salts come from a pool of SALT_POOL bytes (a getrandom call per record was
 * 2% of an import's converting thread). Each refill is the ChaCha20 stream
 * of a fresh 256-bit seed from the system RNG (randombytes_buf_deterministic:
 * the kernel's own generator is not vectorized and took as long for 4 KiB).
 * The pool lives in sodium memory and each salt's bytes are wiped there as
 * they are handed out. */
#define SALT_POOL 4096u

struct st_payload_zctx {
    ZSTD_CCtx *c;
    int mode;                  /* c's parameters (compress_with) */
    st_buf segs;               /* segment list being compressed, kept between payloads */
    uint8_t *pool;             /* SALT_POOL bytes (sodium_malloc), at the first use */
    size_t left;               /* unused bytes at the end of pool */
};

st_payload_zctx *st_payload_zctx_new(void)
{
    st_payload_zctx *z = calloc(1, sizeof *z);
    if (!z) return NULL;
    if (!(z->c = ZSTD_createCCtx())) {
        free(z);
        return NULL;
    }
    return z;
}

void st_payload_zctx_free(st_payload_zctx *z)
{
    if (!z) return;
    ZSTD_freeCCtx(z->c);
    st_buf_free(&z->segs);
    if (z->pool) sodium_free(z->pool);   /* wipes it */
    free(z);
}

void st_payload_salts(st_payload_zctx *z, uint8_t *out, size_t len)
{
    if (z && !z->pool) z->pool = sodium_malloc(SALT_POOL);
    if (!z || !z->pool || len > SALT_POOL) {
        randombytes_buf(out, len);
        return;
    }
    if (len > z->left) {
        uint8_t seed[randombytes_SEEDBYTES];
        randombytes_buf(seed, sizeof seed);
        randombytes_buf_deterministic(z->pool, SALT_POOL, seed);
        sodium_memzero(seed, sizeof seed);
        z->left = SALT_POOL;
    }
    uint8_t *from = z->pool + (SALT_POOL - z->left);
    memcpy(out, from, len);
    sodium_memzero(from, len);
    z->left -= len;
}

/* Segment lists under this size are compressed without Huffman-coded
 * literals: building the literal table is about half of zstd's time on a
 * payload of a few hundred bytes and gains little there (measured on audit
 * tool output of ~830 bytes: 1.4 instead of 3.1 us, 122 instead of 98 bytes).
 * With the dictionary (enc 2) the Huffman table is the dictionary's, nothing
 * to build, but coding with it still cost 10% more instructions to compress
 * and 25% more to decode that payload (callgrind); below 1 KiB it is raw too. */
#define LITERALS_RAW_BELOW 1024

/* How a compression context is set. Parameters stick to it (ZSTD_compress2
 * uses them, ZSTD_compressCCtx would not), so they are set only when they
 * change (the six calls are a few percent of a small payload's cost). */
#define MODE_SET 1             /* the bits below describe the context */
#define MODE_DICT 2            /* the dictionary, frames without dictionary ID */
#define MODE_RAW_LITERALS 4    /* literals not Huffman-coded */

/* Appends the zstd frame of data to out: dict 0, without dictionary (enc 1,
 * blobs); dict 1, with the built-in dictionary but without its ID (enc 2
 * says which). *mode: cc's current mode. */
static int compress_with(ZSTD_CCtx *cc, int *mode, st_buf *out, const uint8_t *data, size_t len, int dict)
{
    if (dict) {
        pthread_once(&cdict_once, cdict_init);
        if (!g_cdict) return ENOMEM;
    }
    size_t bound = ZSTD_compressBound(len);
    if (st_buf_reserve(out, bound) != 0) return ENOMEM;
    int want = MODE_SET | (dict ? MODE_DICT : 0) | (len < LITERALS_RAW_BELOW ? MODE_RAW_LITERALS : 0);
    if (*mode != want) {
        int all = (*mode ^ want) & ~MODE_RAW_LITERALS;   /* more than the literals' mode changes */
        *mode = 0;
        if (ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_literalCompressionMode,
                                                want & MODE_RAW_LITERALS ? ZSTD_ps_disable : ZSTD_ps_auto)))
            return ST_EDB;
        if (all && (ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, dict ? DICT_LEVEL : ZSTD_LEVEL)) ||
                    ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_dictIDFlag, !dict)) ||
                    ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_forceAttachDict, ZSTD_dictForceAttach)) ||
                    ZSTD_isError(ZSTD_CCtx_refCDict(cc, dict ? g_cdict : NULL))))
            return ST_EDB;
        *mode = want;
    }
    size_t n = ZSTD_compress2(cc, out->data + out->len, bound, data, len);
    if (ZSTD_isError(n)) return ST_EDB;
    out->len += n;
    return 0;
}

static _Thread_local int tl_cmode;   /* tl_cctx's mode */

/* zstd's workspace, made resident in one call (st_prefault): compressing a
 * large blob first zeroes ~800 KiB of match tables in memory fresh from
 * the kernel, one page fault per page otherwise. */
static void *zalloc_prefaulted(void *opaque, size_t size)
{
    (void)opaque;
    void *p = malloc(size);
    if (p) st_prefault(p, size);
    return p;
}

static void zfree(void *opaque, void *p)
{
    (void)opaque;
    free(p);
}

static int compress_into(st_buf *out, const uint8_t *data, size_t len, int dict)
{
    static const ZSTD_customMem mem = { zalloc_prefaulted, zfree, NULL };
    if (!tl_cctx && !(tl_cctx = ZSTD_createCCtx_advanced(mem))) return ENOMEM;
    return compress_with(tl_cctx, &tl_cmode, out, data, len, dict);
}

/* This thread's context for enc 2 frames: the dictionary sticks to it. */
static ZSTD_DCtx *dict_dctx(void)
{
    if (tl_dict_dctx) return tl_dict_dctx;
    pthread_once(&ddict_once, ddict_init);
    if (!g_ddict) return NULL;
    ZSTD_DCtx *d = ZSTD_createDCtx();
    if (!d) return NULL;
    if (ZSTD_isError(ZSTD_DCtx_refDDict(d, g_ddict))) {
        ZSTD_freeDCtx(d);
        return NULL;
    }
    return tl_dict_dctx = d;
}

/* Decodes one zstd frame (dict: an enc 2 frame) of at most limit bytes into a new buffer. */
static int decompress(const uint8_t *src, size_t srclen, int dict, uint8_t **out, size_t *outlen, size_t limit)
{
    unsigned long long sz = ZSTD_getFrameContentSize(src, srclen);
    if (sz == ZSTD_CONTENTSIZE_ERROR || sz == ZSTD_CONTENTSIZE_UNKNOWN || sz > limit) return ST_ECORRUPT;
    ZSTD_DCtx *dc;
    if (dict) {
        if (!(dc = dict_dctx())) return ENOMEM;
    } else {
        if (!tl_dctx && !(tl_dctx = ZSTD_createDCtx())) return ENOMEM;
        dc = tl_dctx;
    }
    uint8_t *buf = malloc(sz ? (size_t)sz : 1);
    if (!buf) return ENOMEM;
    size_t n = ZSTD_decompressDCtx(dc, buf, (size_t)sz, src, srclen);
    if (ZSTD_isError(n) || n != sz) { free(buf); return ST_ECORRUPT; }
    *out = buf;
    *outlen = (size_t)sz;
    return 0;
}

/* ---- blob reference counts ------------------------------------------------
 * Format version 4 keeps a blob's count in `blob_refs` (digest -> u64be), so
 * that another reference to a large string (a file Read again, say) writes
 * eight bytes instead of rewriting the blob's compressed frame: LMDB copies
 * a whole value, overflow pages and all, to change any byte of it. A blob
 * stored before that has no `blob_refs` row and its count at the head of
 * its `blobs` row; a blob stored since has 0 there. */

/* The count of the blob `digest` and whether it is in blob_refs. */
static int blob_count(st_txn *txn, const uint8_t digest[32], uint64_t *count, int *in_refs)
{
    const void *v;
    size_t vl;
    int rc = st_db_get(txn, ST_T_BLOB_REFS, digest, 32, &v, &vl);
    if (rc == 0) {
        if (vl != 8 || (*count = st_be64_get(v)) == 0) return ST_ECORRUPT;
        *in_refs = 1;
        return 0;
    }
    if (rc != ST_ENOTFOUND) return rc;
    if ((rc = st_db_get(txn, ST_T_BLOBS, digest, 32, &v, &vl)) != 0) return rc;
    if (vl < 4 || (*count = st_be32_get(v)) == 0) return ST_ECORRUPT;
    *in_refs = 0;
    return 0;
}

int st_payload_blob_count(st_txn *txn, const uint8_t digest[32], uint64_t *count)
{
    int in_refs;
    int rc = blob_count(txn, digest, count, &in_refs);
    /* A count row without its blob is damage too. */
    const void *v;
    size_t vl;
    if (rc == 0 && in_refs && (rc = st_db_get(txn, ST_T_BLOBS, digest, 32, &v, &vl)) == ST_ENOTFOUND) rc = ST_ECORRUPT;
    return rc;
}

int st_payload_blob_verify(st_txn *txn, const uint8_t digest[32])
{
    const void *v;
    size_t vl;
    int rc = st_db_get(txn, ST_T_BLOBS, digest, 32, &v, &vl);
    if (rc) return rc;
    uint8_t *bytes;
    size_t len;
    if (vl < 4 || (rc = decompress((const uint8_t *)v + 4, vl - 4, 0, &bytes, &len, UINT32_MAX)) != 0) return ST_ECORRUPT;
    uint8_t h[32];
    st_sha256(h, bytes, len);
    free(bytes);
    return len >= BLOB_MIN && st_ct_equal(h, digest, 32) ? 0 : ST_ECORRUPT;
}

static int put_count(st_txn *txn, const uint8_t digest[32], uint64_t count)
{
    uint8_t v[8];
    st_be64_put(v, count);
    return st_db_put(txn, ST_T_BLOB_REFS, digest, 32, v, 8, 0);
}

/* Adds a reference to the blob lit.digest, the literal d[lit.off..+lit.len):
 * stores it if new. */
static int blob_ref(st_txn *txn, const uint8_t *d, const st_blob_lit *lit)
{
    uint64_t count;
    int rc = st_payload_blob_count(txn, lit->digest, &count);   /* a count without its blob: damage, refused */
    if (rc == 0) return count == UINT64_MAX ? ST_ETOOBIG : put_count(txn, lit->digest, count + 1);
    if (rc != ST_ENOTFOUND) return rc;
    st_buf b = { 0 };
    static const uint8_t head[4] = { 0, 0, 0, 0 };   /* the count is in blob_refs */
    st_buf_put(&b, head, 4);
    rc = compress_into(&b, d + lit->off, lit->len, 0);
    if (rc == 0 && b.oom) rc = ENOMEM;
    if (rc == 0) rc = st_db_put(txn, ST_T_BLOBS, lit->digest, 32, b.data, b.len, 0);
    if (rc == 0) rc = put_count(txn, lit->digest, 1);
    st_buf_free(&b);
    return rc;
}

static int blob_unref(st_txn *txn, const uint8_t digest[32])
{
    uint64_t count;
    int in_refs;
    int rc = blob_count(txn, digest, &count, &in_refs);
    if (rc) return rc == ST_ENOTFOUND ? 0 : rc;
    if (count <= 1) {
        if (in_refs && (rc = st_db_del(txn, ST_T_BLOB_REFS, digest, 32)) != 0) return rc;
        return st_db_del(txn, ST_T_BLOBS, digest, 32);
    }
    if (in_refs) return put_count(txn, digest, count - 1);
    /* A blob of an older store: its count stays where it was, so that the
     * store stays readable by the release that wrote it. */
    const void *v;
    size_t vl;
    if ((rc = st_db_get(txn, ST_T_BLOBS, digest, 32, &v, &vl)) != 0) return rc;
    uint8_t *copy = malloc(vl);
    if (!copy) return ENOMEM;
    memcpy(copy, v, vl);
    st_be32_put(copy, (uint32_t)(count - 1));
    rc = st_db_put(txn, ST_T_BLOBS, digest, 32, copy, vl, 0);
    free(copy);
    return rc;
}

int st_payload_blobs_ref(st_txn *txn, const uint8_t *data, const st_blob_lit *lits, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        int rc = blob_ref(txn, data, &lits[k]);
        if (rc) return rc;
    }
    return 0;
}

static void seg_header(st_buf *b, uint8_t kind, uint32_t len)
{
    uint8_t h[5];
    h[0] = kind;
    st_be32_put(h + 1, len);
    st_buf_put(b, h, 5);
}

/* Offset of the closing quote of the string literal opening at d[i], or len. */
static size_t string_end(const uint8_t *d, size_t len, size_t i)
{
    size_t j = i + 1;
    for (;;) {
        const uint8_t *q = j < len ? memchr(d + j, '"', len - j) : NULL;
        if (!q) return len;
        j = (size_t)(q - d);
        size_t bs = 0;                    /* an odd run of backslashes escapes the quote */
        while (j - bs > i + 1 && d[j - 1 - bs] == '\\') bs++;
        if (!(bs & 1)) return j;
        j++;
    }
}

/* The string literal opening at d[i] if it goes to `blobs`: its length
 * (both quotes), else 0; *next = where the scan goes on. */
static size_t blob_lit_at(const uint8_t *d, size_t len, size_t i, size_t *next)
{
    size_t j = string_end(d, len, i);     /* the closing quote */
    *next = j >= len ? len : j + 1;
    if (j >= len) return 0;
    size_t slen = j + 1 - i;
    return slen >= BLOB_MIN && slen <= UINT32_MAX ? slen : 0;
}

/* 1 if st_payload_blob_lits would find a literal. */
static int has_blob_string(const uint8_t *d, size_t len)
{
    if (len < BLOB_MIN) return 0;         /* no literal can be that long */
    for (size_t i = 0; i < len;) {
        const uint8_t *q = memchr(d + i, '"', len - i);
        if (!q) return 0;
        if (blob_lit_at(d, len, (size_t)(q - d), &i)) return 1;
    }
    return 0;
}

int st_payload_blob_lits(const uint8_t *d, size_t len, st_buf *lits)
{
    int n = 0;
    for (size_t i = 0; i < len && len >= BLOB_MIN;) {
        const uint8_t *q = memchr(d + i, '"', len - i);
        if (!q) break;
        size_t at = (size_t)(q - d), slen = blob_lit_at(d, len, at, &i);
        if (!slen) continue;
        st_blob_lit lit = { .off = at, .len = slen };
        st_buf_put(lits, &lit, sizeof lit);
        n++;
    }
    return lits->oom ? -ENOMEM : n;
}

void st_payload_blob_hash(const uint8_t *data, st_blob_lit *lits, size_t n)
{
    for (size_t k = 0; k < n; k++) st_sha256(lits[k].digest, data + lits[k].off, lits[k].len);
}

/* Splits JSON text into literal runs and the blob literals lits (in order,
 * digests set). Works on any bytes: if they are not JSON, the scan simply
 * finds no long strings. */
static int build_segments(const uint8_t *d, size_t len, const st_blob_lit *lits, size_t n, st_buf *segs)
{
    size_t lit_start = 0;
    for (size_t k = 0; k < n; k++) {
        if (lits[k].off > lit_start) {
            seg_header(segs, SEG_LITERAL, (uint32_t)(lits[k].off - lit_start));
            st_buf_put(segs, d + lit_start, lits[k].off - lit_start);
        }
        seg_header(segs, SEG_BLOB, (uint32_t)lits[k].len);
        st_buf_put(segs, lits[k].digest, 32);
        lit_start = lits[k].off + lits[k].len;
    }
    for (size_t p = lit_start; p < len;) {    /* literal tail, in <= 4 GiB pieces */
        size_t m = len - p > UINT32_MAX ? UINT32_MAX : len - p;
        seg_header(segs, SEG_LITERAL, (uint32_t)m);
        st_buf_put(segs, d + p, m);
        p += m;
    }
    return segs->oom ? ENOMEM : 0;
}

/* row := salt || enc || zstd(segment list). With z (a thread that stores
 * many payloads) and under DICT_MAX bytes: enc 2, with the dictionary; else
 * enc 1 (without z: a single append, such as the hook's, for which preparing
 * the dictionary would cost more than it saves). */
static int encode_segments(st_buf *row, const uint8_t salt[ST_SALT_BYTES], const st_buf *segs, st_payload_zctx *z)
{
    int dict = z && segs->len < DICT_MAX;
    st_buf_put(row, salt, ST_SALT_BYTES);
    st_buf_putc(row, dict ? ENC_DICT : ENC_SEGMENTS);
    const uint8_t *src = segs->data ? segs->data : (const uint8_t *)"";
    int rc = z ? compress_with(z->c, &z->mode, row, src, segs->len, dict) : compress_into(row, src, segs->len, dict);
    return rc == 0 && row->oom ? ENOMEM : rc;
}

int st_payload_row_build_lits(st_buf *row, const uint8_t salt[ST_SALT_BYTES], const uint8_t *data, size_t len,
                              st_payload_zctx *z, const st_blob_lit *lits, size_t nlits)
{
    st_buf_reset(row);
    if (len < RAW_MAX) {
        if (st_buf_reserve(row, ST_SALT_BYTES + 1 + len) != 0) return ENOMEM;
        memcpy(row->data, salt, ST_SALT_BYTES);
        size_t k = st_pack(&small_table, data, len, row->data + ST_SALT_BYTES + 1);
        if (k < len) {
            row->data[ST_SALT_BYTES] = ENC_PACKED;
            row->len = ST_SALT_BYTES + 1 + k;
        } else {                                  /* no shorter, or not JSON text (raw input) */
            row->data[ST_SALT_BYTES] = ENC_RAW;
            if (len) memcpy(row->data + ST_SALT_BYTES + 1, data, len);
            row->len = ST_SALT_BYTES + 1 + len;
        }
        return 0;
    }
    st_buf own = { 0 }, *segs = z ? &z->segs : &own;     /* z's buffer: no allocation per payload */
    st_buf_reset(segs);
    int rc = build_segments(data, len, lits, nlits, segs);
    if (rc == 0) rc = encode_segments(row, salt, segs, z);
    if (!z || rc || segs->cap > SEGS_KEEP) st_buf_free(segs);
    return rc;
}

int st_payload_row_build(st_buf *row, const uint8_t salt[ST_SALT_BYTES], const uint8_t *data, size_t len,
                         st_payload_zctx *z)
{
    if (len >= RAW_MAX && has_blob_string(data, len)) {
        st_buf_reset(row);
        return 1;
    }
    return st_payload_row_build_lits(row, salt, data, len, z, NULL, 0);
}

int st_payload_put_row(st_txn *txn, uint64_t index, const char *name, const uint8_t *row, size_t len, unsigned put_flags)
{
    if (!st_payload_name_valid(name, strlen(name)) || len < ST_SALT_BYTES + 1) return ST_EINVAL;
    uint8_t key[8 + ST_PAYLOAD_NAME_MAX];
    size_t klen;
    payload_key(key, &klen, index, name);
    return st_db_put(txn, ST_T_PAYLOADS, key, klen, row, len, put_flags);
}

int st_payload_put(st_txn *txn, uint64_t index, const char *name, const uint8_t salt[ST_SALT_BYTES],
                   const uint8_t *data, size_t len)
{
    return st_payload_put_flags(txn, index, name, salt, data, len, 0);
}

int st_payload_put_flags(st_txn *txn, uint64_t index, const char *name, const uint8_t salt[ST_SALT_BYTES],
                         const uint8_t *data, size_t len, unsigned put_flags)
{
    if (!st_payload_name_valid(name, strlen(name))) return ST_EINVAL;   /* before any blob reference is taken */
    st_buf lits = { 0 }, row = { 0 };
    int n = st_payload_blob_lits(data, len, &lits), rc = n < 0 ? -n : 0;
    st_blob_lit *l = (st_blob_lit *)(void *)lits.data;
    if (rc == 0 && n) {
        st_payload_blob_hash(data, l, (size_t)n);
        rc = st_payload_blobs_ref(txn, data, l, (size_t)n);
    }
    if (rc == 0) rc = st_payload_row_build_lits(&row, salt, data, len, NULL, l, (size_t)(n > 0 ? n : 0));
    if (rc == 0) rc = st_payload_put_row(txn, index, name, row.data, row.len, put_flags);
    st_buf_free(&lits);
    st_buf_free(&row);
    return rc;
}

/* Walks a decoded segment list: appends bytes to out (if non-NULL), or
 * unrefs blobs (if unref); appends each blob's key to digests (if non-NULL). */
static int walk_segments(st_txn *txn, const uint8_t *s, size_t n, st_buf *out, int unref, st_buf *digests)
{
    size_t p = 0;
    while (p < n) {
        if (n - p < 5) return ST_ECORRUPT;
        uint8_t kind = s[p];
        uint32_t len = st_be32_get(s + p + 1);
        p += 5;
        if (kind == SEG_LITERAL) {
            if (n - p < len) return ST_ECORRUPT;
            if (out) st_buf_put(out, s + p, len);
            p += len;
        } else if (kind == SEG_BLOB) {
            if (n - p < 32) return ST_ECORRUPT;
            if (digests) st_buf_put(digests, s + p, 32);
            if (unref) {
                int rc = blob_unref(txn, s + p);
                if (rc) return rc;
            } else if (out) {
                const void *v;
                size_t vl;
                int rc = st_db_get(txn, ST_T_BLOBS, s + p, 32, &v, &vl);
                if (rc) return rc == ST_ENOTFOUND ? ST_ECORRUPT : rc;
                if (vl < 4) return ST_ECORRUPT;
                uint8_t *blob;
                size_t blen;
                if ((rc = decompress((const uint8_t *)v + 4, vl - 4, 0, &blob, &blen, len)) != 0) return rc;
                if (blen != len) { free(blob); return ST_ECORRUPT; }
                st_buf_put(out, blob, blen);
                free(blob);
            }
            p += 32;
        } else {
            return ST_ECORRUPT;
        }
    }
    return (out && out->oom) || (digests && digests->oom) ? ENOMEM : 0;
}

/* The segment list of a compressed row body (enc 1 or 2; caller frees). An
 * enc 2 frame holds less than DICT_MAX bytes, the writer's bound. */
static int decode_body(uint8_t enc, const uint8_t *body, size_t blen, uint8_t **segs, size_t *nsegs)
{
    if (enc == ENC_DICT) return decompress(body, blen, 1, segs, nsegs, DICT_MAX - 1);
    return decompress(body, blen, 0, segs, nsegs, (size_t)1 << 34);
}

static int load_row(st_txn *txn, uint64_t index, const char *name, const uint8_t **row, size_t *rowlen)
{
    if (!st_payload_name_valid(name, strlen(name))) return ST_ENOTFOUND;
    uint8_t key[8 + ST_PAYLOAD_NAME_MAX];
    size_t klen;
    payload_key(key, &klen, index, name);
    const void *v;
    int rc = st_db_get(txn, ST_T_PAYLOADS, key, klen, &v, rowlen);
    if (rc) return rc;
    if (*rowlen < ST_SALT_BYTES + 1) return ST_ECORRUPT;
    uint8_t enc = ((const uint8_t *)v)[ST_SALT_BYTES];
    if (enc != ENC_RAW && enc != ENC_SEGMENTS && enc != ENC_DICT && enc != ENC_PACKED) return ST_ECORRUPT;
    *row = v;
    return 0;
}

/* The row of payload (index, name): its salt (if salt_out) and its decoded segment list (caller frees). */
static int load_segments(st_txn *txn, uint64_t index, const char *name, uint8_t salt_out[ST_SALT_BYTES],
                         uint8_t **segs, size_t *nsegs)
{
    const uint8_t *row;
    size_t rowlen;
    int rc = load_row(txn, index, name, &row, &rowlen);
    if (rc) return rc;
    if (salt_out) memcpy(salt_out, row, ST_SALT_BYTES);
    const uint8_t *body = row + ST_SALT_BYTES + 1;
    size_t blen = rowlen - ST_SALT_BYTES - 1;
    st_buf small = { 0 };
    if (row[ST_SALT_BYTES] == ENC_PACKED) {       /* expanded, then as enc 0 */
        if ((rc = st_unpack(&small_table, body, blen, RAW_MAX - 1, &small)) != 0) return rc;
        body = small.data;
        blen = small.len;
    }
    if (row[ST_SALT_BYTES] == ENC_RAW || row[ST_SALT_BYTES] == ENC_PACKED) {   /* one literal segment */
        if (!(*segs = malloc(5 + blen))) { st_buf_free(&small); return ENOMEM; }
        (*segs)[0] = SEG_LITERAL;
        st_be32_put(*segs + 1, (uint32_t)blen);
        if (blen) memcpy(*segs + 5, body, blen);
        *nsegs = 5 + blen;
        sodium_memzero(small.data, small.len);
        st_buf_free(&small);
        return 0;
    }
    return decode_body(row[ST_SALT_BYTES], body, blen, segs, nsegs);
}

static int decode_row(st_txn *txn, const void *rowp, size_t rowlen, uint8_t salt_out[ST_SALT_BYTES], st_buf *out,
                      st_buf *digests)
{
    const uint8_t *row = rowp;
    if (rowlen < ST_SALT_BYTES + 1) return ST_ECORRUPT;
    uint8_t enc = row[ST_SALT_BYTES];
    if (enc != ENC_RAW && enc != ENC_SEGMENTS && enc != ENC_DICT && enc != ENC_PACKED) return ST_ECORRUPT;
    if (salt_out) memcpy(salt_out, row, ST_SALT_BYTES);
    const uint8_t *body = row + ST_SALT_BYTES + 1;
    size_t blen = rowlen - ST_SALT_BYTES - 1;
    if (enc == ENC_RAW) {                         /* the bytes themselves */
        st_buf_put(out, body, blen);
        return out->oom ? ENOMEM : 0;
    }
    if (enc == ENC_PACKED) {                      /* expanded after what out holds */
        st_buf small = { 0 };
        int rc = st_unpack(&small_table, body, blen, RAW_MAX - 1, &small);
        if (rc == 0) st_buf_put(out, small.data, small.len);
        sodium_memzero(small.data, small.len);
        st_buf_free(&small);
        return rc ? rc : out->oom ? ENOMEM : 0;
    }
    uint8_t *segs;
    size_t nsegs;
    int rc = decode_body(enc, body, blen, &segs, &nsegs);
    if (rc) return rc;
    rc = walk_segments(txn, segs, nsegs, out, 0, digests);
    free(segs);
    return rc;
}

int st_payload_decode(st_txn *txn, const void *rowp, size_t rowlen, uint8_t salt_out[ST_SALT_BYTES], st_buf *out)
{
    return decode_row(txn, rowp, rowlen, salt_out, out, NULL);
}

int st_payload_read(st_txn *txn, uint64_t index, const char *name, uint8_t salt_out[ST_SALT_BYTES],
                    uint8_t **data_out, size_t *len_out)
{
    return st_payload_read_blobs(txn, index, name, salt_out, data_out, len_out, NULL);
}

int st_payload_read_blobs(st_txn *txn, uint64_t index, const char *name, uint8_t salt_out[ST_SALT_BYTES],
                          uint8_t **data_out, size_t *len_out, st_buf *digests)
{
    const uint8_t *row;
    size_t rowlen;
    int rc = load_row(txn, index, name, &row, &rowlen);
    if (rc) return rc;
    st_buf out = { 0 };
    rc = decode_row(txn, row, rowlen, salt_out, &out, digests);
    if (rc) { st_buf_free(&out); return rc; }
    if (!out.data) { out.data = malloc(1); if (!out.data) return ENOMEM; }
    *data_out = out.data;
    *len_out = out.len;
    return 0;
}

int st_payload_delete(st_txn *txn, uint64_t index, const char *name)
{
    uint8_t *segs;
    size_t nsegs;
    int rc = load_segments(txn, index, name, NULL, &segs, &nsegs);
    if (rc) return rc;
    rc = walk_segments(txn, segs, nsegs, NULL, 1, NULL);
    sodium_memzero(segs, nsegs);
    free(segs);
    if (rc) return rc;
    uint8_t key[8 + ST_PAYLOAD_NAME_MAX];
    size_t klen;
    payload_key(key, &klen, index, name);
    return st_db_del(txn, ST_T_PAYLOADS, key, klen);
}
