/*
 * bundle.h: the auditor bundle container (docs/FORMAT.md section "Bundles",
 * docs/FORMAT.md section 6 until merged): constants, the streaming reader, and the
 * decoders of each record's fixed fields. The reader checks framing, size
 * limits and the record order grammar (bundle_read.c), the trailer digest
 * chain and the record decoders (bundle_codec.c); what the records mean is
 * store/verify/verifier.c's job. The writer is store/bundle_write.c.
 *
 *   bundle  = magic record* trailer
 *   magic   = "sealtrail-bundle/v1" LF                      (20 bytes)
 *   record  = u8 type || u32 BE length || body[length]
 *   trailer = 0xFF || u32 BE 40 || u64 BE record count || digest
 *   digest  = SHA-256(magic || for each record: type || u32 BE len || H(record))
 *   H       = index || leaf hash           for ENTRY, SUPPORT
 *             index || u8 n || name || commitment   for PAYLOAD
 *             SHA-256(body)                for every other record
 *
 * H reuses the leaf hashes and payload commitments the verifier computes
 * anyway, so every byte of a bundle is hashed once, in parallel.
 *
 *   order   = MANIFEST KEY* KEYNOTE* CHECKPOINT+ CONSISTENCY* [PREVIOUS CONSISTENCY]
 *             (SUPPORT INCLUSION)* [FRONTIER] item* [RIGHT] TRAILER
 *   item    = ENTRY [INCLUSION] (PAYLOAD | ABSENT)*
 *
 * CAVEATS
 *  - The reader never loads the whole file: it holds at most one record
 *    body (<= ST_BREC_INLINE_MAX bytes) at a time. A PAYLOAD body larger than
 *    that is handed out in pieces (st_bundle_body_read) so it can be hashed
 *    as it streams.
 *  - A record's body pointer is valid until the next call on the reader
 *    (rec->inplace bodies of a memory source: as long as the memory).
 *  - The reader hands out the TRAILER record like any other, after checking
 *    its length and that EOF follows it; checking its digest is the job of
 *    the chain below (st_bundle_chain), fed in record order by the caller.
 */
#ifndef ST_BUNDLE_H
#define ST_BUNDLE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "merkle.h"
#include "sha256.h"
#include "util.h"

#define ST_BUNDLE_MAGIC        "sealtrail-bundle/v1\n"
#define ST_BUNDLE_MAGIC_LEN    20u
#define ST_BUNDLE_MAGIC_PREFIX "sealtrail-bundle/v"   /* other versions: ST_EVERSION */
#define ST_BUNDLE_VERSION      1

/* Record types [BUNDLE-3]. Never renumbered. */
enum {
    ST_BREC_MANIFEST    = 0x01,
    ST_BREC_KEY         = 0x02,
    ST_BREC_CHECKPOINT  = 0x03,
    ST_BREC_CONSISTENCY = 0x04,
    ST_BREC_PREVIOUS    = 0x05,
    ST_BREC_SUPPORT     = 0x06,
    ST_BREC_INCLUSION   = 0x07,
    ST_BREC_FRONTIER    = 0x08,
    ST_BREC_ENTRY       = 0x09,
    ST_BREC_PAYLOAD     = 0x0A,
    ST_BREC_ABSENT      = 0x0B,
    ST_BREC_RIGHT       = 0x0C,
    ST_BREC_KEYNOTE     = 0x0D,   /* key history (issue 5): u64 index || signed key note */
    ST_BREC_TRAILER     = 0xFF,
};

/* Body size limits per type [BUNDLE-4]. */
#define ST_BREC_MANIFEST_MAX   65536u
#define ST_BREC_KEY_MAX        (ST_VKEY_MAX - 1u)
#define ST_BREC_NOTE_MAX       65536u                          /* CHECKPOINT, PREVIOUS */
#define ST_BREC_PROOF_MAX      (16u + 128u * ST_HASH_BYTES)    /* CONSISTENCY, RIGHT */
#define ST_BREC_INCLUSION_MAX  (16u + 64u * ST_HASH_BYTES)
#define ST_BREC_FRONTIER_MAX   (8u + 64u * ST_HASH_BYTES)
#define ST_BREC_ENTRY_MAX      (8u + ST_ENTRY_MAX)             /* ENTRY, SUPPORT */
#define ST_BREC_PAYLOAD_MAX    ((uint32_t)1 << 30)             /* 1 GiB of payload bytes */
#define ST_BREC_ABSENT_MAX     (8u + 1u + 32u + 8u)
#define ST_BREC_TRAILER_LEN    (8u + ST_HASH_BYTES)
#define ST_BREC_KEYNOTE_MAX    (8u + 65536u)                   /* u64 index || key note (docs/KEYS.md) */
/* Bodies up to this size are handed out whole; larger PAYLOAD bodies stream. */
#define ST_BREC_INLINE_MAX     (ST_BREC_ENTRY_MAX + 64u)

/* Limits on counts [BUNDLE-4]. */
#define ST_BUNDLE_MAX_KEYS        1024u
#define ST_BUNDLE_MAX_CHECKPOINTS ((uint64_t)1 << 21)
#define ST_BUNDLE_MAX_SUPPORTS    65536u
#define ST_BUNDLE_MAX_KEYNOTES    65536u

/* Reading: a source callback returns bytes read (0 at EOF) or -errno; a
 * decoding source (auditverify's zstd input) returns -EILSEQ for damaged
 * compressed data and -EPROTO for a stream that ends inside a frame. */
typedef ssize_t (*st_bundle_read_fn)(void *ctx, uint8_t *buf, size_t n);

typedef struct st_bundle_reader st_bundle_reader;

typedef struct st_brec {
    uint8_t type;
    uint32_t len;            /* body length */
    uint64_t offset;         /* file offset of the type byte */
    uint64_t seq;            /* 0-based record number (manifest = 0) */
    const uint8_t *body;     /* whole body, or NULL when streamed */
    int streamed;            /* 1: read the body with st_bundle_body_read */
    int inplace;             /* memory source, ENTRY or PAYLOAD: body points into the caller's
                                buffer and stays valid as long as that buffer does */
} st_brec;

/* The reader does not own ctx. Returns 0 or ENOMEM. */
ST_NODISCARD int st_bundle_reader_new(st_bundle_reader **out, st_bundle_read_fn fn, void *ctx);
/* Convenience sources. The memory source borrows buf (it must outlive the
 * reader) and reads it in place: ENTRY and PAYLOAD bodies point into it
 * (rec->inplace), other bodies are copied into the reader's own buffer. */
ST_NODISCARD int st_bundle_reader_fd(st_bundle_reader **out, int fd);
ST_NODISCARD int st_bundle_reader_mem(st_bundle_reader **out, const uint8_t *buf, size_t len);
void st_bundle_reader_free(st_bundle_reader *r);   /* NULL is a no-op */

/* Dropping what was read: the reader's user calls st_bundle_release(r, upto)
 * once no body before file offset upto is read again, and the reader passes
 * it on to fn, if one was set (auditverify drops the pages of its file
 * mapping behind the verifier, so the mapping does not count in full
 * towards its memory). */
typedef void (*st_bundle_release_fn)(void *ctx, uint64_t upto);
void st_bundle_reader_on_release(st_bundle_reader *r, st_bundle_release_fn fn, void *ctx);
void st_bundle_release(st_bundle_reader *r, uint64_t upto);

/* Reads and checks the magic line. ST_EVERSION for another version of the
 * format, ST_EFORMAT for anything else, errno for I/O. */
ST_NODISCARD int st_bundle_read_magic(st_bundle_reader *r, st_err *err);

/* Reads the next record. Returns 0 with *rec filled (the last one is the
 * TRAILER, returned only when EOF follows it); 1 after the trailer;
 * ST_EFORMAT (framing, limits, order, truncation, trailing bytes), ST_ETOOBIG,
 * or errno. A streamed body must be consumed (st_bundle_body_read until it
 * returns 0) before the next call. */
ST_NODISCARD int st_bundle_next(st_bundle_reader *r, st_brec *rec, st_err *err);

/* Reads up to n bytes of the current streamed body; returns bytes read,
 * 0 when the body is consumed, or a negative error (ST_EFORMAT on early EOF, -errno). */
ssize_t st_bundle_body_read(st_bundle_reader *r, uint8_t *buf, size_t n, st_err *err);

/* Bytes consumed so far (for progress and messages). */
uint64_t st_bundle_offset(const st_bundle_reader *r);

/* ---- the trailer digest chain [BUNDLE-5] ---------------------------------- */

typedef struct st_bundle_chain {
    st_sha256_ctx sha;
    uint64_t count;          /* records added */
} st_bundle_chain;

void st_bundle_chain_init(st_bundle_chain *c);          /* starts with the magic */
/* Adds one record: type || u32 BE len || h[0..hlen). */
void st_bundle_chain_add(st_bundle_chain *c, uint8_t type, uint32_t len, const uint8_t *h, size_t hlen);
/* H for records hashed whole (all but ENTRY, SUPPORT, PAYLOAD). */
void st_bundle_chain_add_body(st_bundle_chain *c, uint8_t type, const uint8_t *body, uint32_t len);
/* nrec records at once: bytes is what st_bundle_chain_add feeds for each,
 * type || len (4 bytes, big-endian) || h, concatenated in record order. */
void st_bundle_chain_add_run(st_bundle_chain *c, const uint8_t *bytes, size_t len, uint64_t nrec);
/* H for ENTRY/SUPPORT: index || leaf hash. */
void st_bundle_chain_add_entry(st_bundle_chain *c, uint8_t type, uint32_t len, uint64_t index, const st_hash leaf);
/* H for PAYLOAD: index || u8 n || name || commitment. */
void st_bundle_chain_add_payload(st_bundle_chain *c, uint32_t len, uint64_t index, const char *name,
                                 size_t name_len, const st_hash commit);
/* Checks a TRAILER body against the chain. 0 or ST_EFORMAT with err naming both values. */
ST_NODISCARD int st_bundle_chain_check(st_bundle_chain *c, const uint8_t *body, size_t len, st_err *err);
/* The trailer body for the records added so far (the writer's side). */
void st_bundle_chain_trailer(st_bundle_chain *c, uint8_t out[ST_BREC_TRAILER_LEN]);

/* Name of a record type ("entry", "checkpoint", ...; "unknown" otherwise). */
const char *st_brec_name(uint8_t type);

/* ---- record decoders (pure; bodies as read) ------------------------------ */

/* CONSISTENCY, RIGHT: u64 a || u64 b || n x 32-byte hashes. INCLUSION too (a = index, b = size). */
typedef struct st_brec_proof {
    uint64_t a, b;
    const uint8_t *hashes;   /* n * 32 bytes, into the body */
    size_t n;
} st_brec_proof;
ST_NODISCARD int st_brec_proof_decode(st_brec_proof *out, const uint8_t *body, size_t len, st_err *err);

/* FRONTIER: u64 size || popcount(size) hashes. */
typedef struct st_brec_frontier {
    uint64_t size;
    const uint8_t *hashes;
    size_t n;
} st_brec_frontier;
ST_NODISCARD int st_brec_frontier_decode(st_brec_frontier *out, const uint8_t *body, size_t len, st_err *err);

/* ENTRY, SUPPORT: u64 index || entry bytes (1..ST_ENTRY_MAX). */
typedef struct st_brec_entry {
    uint64_t index;
    const uint8_t *bytes;
    size_t len;
} st_brec_entry;
ST_NODISCARD int st_brec_entry_decode(st_brec_entry *out, const uint8_t *body, size_t len, st_err *err);

/* PAYLOAD head: u64 index || u8 name_len || name || salt[16], then the bytes.
 * Decodes the head from the first bytes of the body (head_len <= 57). */
#define ST_BREC_PAYLOAD_HEAD_MAX (8u + 1u + 32u + 16u)
typedef struct st_brec_payload {
    uint64_t index;
    char name[33];
    size_t name_len;
    uint8_t salt[16];
    size_t head_len;         /* bytes before the payload bytes */
    uint64_t data_len;       /* body length - head_len */
} st_brec_payload;
/* avail: bytes of the body available at head (>= head_len, or the whole body). */
ST_NODISCARD int st_brec_payload_decode(st_brec_payload *out, const uint8_t *head, size_t avail,
                                        uint64_t body_len, st_err *err);

/* ABSENT: u64 index || u8 name_len || name || u64 record index. */
typedef struct st_brec_absent {
    uint64_t index;
    char name[33];
    size_t name_len;
    uint64_t record;
} st_brec_absent;
ST_NODISCARD int st_brec_absent_decode(st_brec_absent *out, const uint8_t *body, size_t len, st_err *err);

#endif
