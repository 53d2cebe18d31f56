/*
 * bundle_read.c: the streaming bundle reader (docs/BUNDLE.md). Buffered
 * input from a callback, the magic line, record framing with per-type size
 * limits, the record order grammar [BUNDLE-3], count limits [BUNDLE-4],
 * "nothing after the trailer", the trailer digest chain [BUNDLE-5], and the
 * decoders of each record's fixed fields. Bounded memory: one buffer of
 * ST_BREC_INLINE_MAX plus 256 KiB, whatever the bundle's size.
 *
 * Everything here treats the input as hostile: lengths are checked before
 * use, counts are capped, and every failure names the record number, its
 * file offset and both the expected and the found value.
 */
#include "bundle.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "entry.h"

#define READ_CHUNK ((size_t)256 << 10)
#define BUF_CAP    (ST_BREC_INLINE_MAX + READ_CHUNK)

/* Grammar states: the last thing read. */
enum {
    S_START, S_MANIFEST, S_KEY, S_CP, S_CONS, S_PREV, S_LINK, S_SUP, S_SUPI,
    S_FRONT, S_ENT, S_ENTI, S_PAY, S_RIGHT, S_TRAILER, S_DONE
};

struct st_bundle_reader {
    st_bundle_read_fn fn;
    void *ctx;
    uint8_t *buf;
    size_t pos, end;
    int eof;
    uint64_t consumed;        /* file offset of buf[pos] */
    uint64_t seq;
    int state;
    uint64_t body_left;       /* streamed body bytes not yet read */
    int magic_done;
    uint64_t nkeys, ncps, nsups;
    uint8_t trailer[ST_BREC_TRAILER_LEN];   /* the trailer body, kept apart from buf */
};

/* ---- sources ------------------------------------------------------------- */

static ssize_t fd_read(void *ctx, uint8_t *buf, size_t n)
{
    int fd = *(int *)ctx;
    for (;;) {
        ssize_t k = read(fd, buf, n);
        if (k >= 0) return k;
        if (errno != EINTR) return -errno;
    }
}

typedef struct mem_src {
    const uint8_t *p;
    size_t len, pos;
} mem_src;

static ssize_t mem_read(void *ctx, uint8_t *buf, size_t n)
{
    mem_src *m = ctx;
    size_t k = m->len - m->pos < n ? m->len - m->pos : n;
    if (k) memcpy(buf, m->p + m->pos, k);
    m->pos += k;
    return (ssize_t)k;
}

int st_bundle_reader_new(st_bundle_reader **out, st_bundle_read_fn fn, void *ctx)
{
    *out = NULL;
    st_bundle_reader *r = calloc(1, sizeof *r);
    if (!r) return ENOMEM;
    r->buf = malloc(BUF_CAP);
    if (!r->buf) { free(r); return ENOMEM; }
    r->fn = fn;
    r->ctx = ctx;
    r->state = S_START;
    *out = r;
    return 0;
}

/* The fd and memory sources keep their state in a block owned by the reader. */
typedef struct owned_src {
    int fd;
    mem_src mem;
} owned_src;

int st_bundle_reader_fd(st_bundle_reader **out, int fd)
{
    owned_src *s = calloc(1, sizeof *s);
    if (!s) return ENOMEM;
    s->fd = fd;
    int rc = st_bundle_reader_new(out, fd_read, &s->fd);
    if (rc) { free(s); return rc; }
    return 0;
}

int st_bundle_reader_mem(st_bundle_reader **out, const uint8_t *buf, size_t len)
{
    owned_src *s = calloc(1, sizeof *s);
    if (!s) return ENOMEM;
    s->mem.p = buf;
    s->mem.len = len;
    int rc = st_bundle_reader_new(out, mem_read, &s->mem);
    if (rc) { free(s); return rc; }
    return 0;
}

void st_bundle_reader_free(st_bundle_reader *r)
{
    if (!r) return;
    /* Sources made by st_bundle_reader_fd/_mem live in an owned_src block. */
    if (r->fn == fd_read) free(r->ctx);
    else if (r->fn == mem_read) free((uint8_t *)r->ctx - offsetof(owned_src, mem));
    free(r->buf);
    free(r);
}

uint64_t st_bundle_offset(const st_bundle_reader *r) { return r->consumed; }

/* ---- buffering ------------------------------------------------------------ */

/* Ensures `need` (<= BUF_CAP) bytes at buf[pos]. 0, 1 (EOF first: fewer are there) or -errno. */
static int fill(st_bundle_reader *r, size_t need)
{
    while (r->end - r->pos < need) {
        if (r->eof) return 1;
        if (r->pos > 0 && BUF_CAP - r->pos < need) {
            memmove(r->buf, r->buf + r->pos, r->end - r->pos);
            r->end -= r->pos;
            r->pos = 0;
        }
        size_t room = BUF_CAP - r->end;
        ssize_t k = r->fn(r->ctx, r->buf + r->end, room < READ_CHUNK ? room : READ_CHUNK);
        if (k < 0) return (int)k;
        if (k == 0) r->eof = 1;
        r->end += (size_t)k;
    }
    return 0;
}

static void consume(st_bundle_reader *r, size_t n)
{
    r->pos += n;
    r->consumed += n;
}

static int io_fail(st_err *err, int rc, const char *what, uint64_t off)
{
    return st_fail(err, -rc, "read error at offset %llu (%s)", (unsigned long long)off, what);
}

/* ---- magic [BUNDLE-1] --------------------------------------------------------- */

int st_bundle_read_magic(st_bundle_reader *r, st_err *err)
{
    if (r->magic_done) return st_fail(err, ST_EINVAL, "magic already read");
    int rc = fill(r, 32);
    if (rc < 0) return io_fail(err, rc, "magic", 0);
    size_t have = r->end - r->pos;
    const uint8_t *p = r->buf + r->pos;
    size_t plen = sizeof ST_BUNDLE_MAGIC_PREFIX - 1;
    if (have >= ST_BUNDLE_MAGIC_LEN && memcmp(p, ST_BUNDLE_MAGIC_PREFIX, plen) == 0 &&
        memcmp(p, ST_BUNDLE_MAGIC, ST_BUNDLE_MAGIC_LEN) != 0) {
        /* Another version of our format ("sealtrail-bundle/vN" LF): say which, printable bytes only. */
        char v[16];
        size_t n = 0;
        size_t i = plen;
        for (; i < have && n < sizeof v - 1 && p[i] >= 0x21 && p[i] < 0x7f; i++) v[n++] = (char)p[i];
        v[n] = 0;
        if (n > 0 && i < have && p[i] == '\n')
            return st_fail(err, ST_EVERSION, "bundle format version \"%s\" is not supported (this verifier reads v%d)",
                           v, ST_BUNDLE_VERSION);
    }
    if (have < ST_BUNDLE_MAGIC_LEN || memcmp(p, ST_BUNDLE_MAGIC, ST_BUNDLE_MAGIC_LEN) != 0)
        return st_fail(err, ST_EFORMAT, "not a sealtrail bundle: the file does not start with \"sealtrail-bundle/v1\\n\"");
    consume(r, ST_BUNDLE_MAGIC_LEN);
    r->magic_done = 1;
    return 0;
}

/* ---- framing and grammar [BUNDLE-2..4] ------------------------------------------- */

const char *st_brec_name(uint8_t type)
{
    switch (type) {
    case ST_BREC_MANIFEST: return "manifest";
    case ST_BREC_KEY: return "key";
    case ST_BREC_CHECKPOINT: return "checkpoint";
    case ST_BREC_CONSISTENCY: return "consistency";
    case ST_BREC_PREVIOUS: return "previous";
    case ST_BREC_SUPPORT: return "support";
    case ST_BREC_INCLUSION: return "inclusion";
    case ST_BREC_FRONTIER: return "frontier";
    case ST_BREC_ENTRY: return "entry";
    case ST_BREC_PAYLOAD: return "payload";
    case ST_BREC_ABSENT: return "absent";
    case ST_BREC_RIGHT: return "right";
    case ST_BREC_TRAILER: return "trailer";
    default: return "unknown";
    }
}

/* Minimum and maximum body length of each type. */
static int type_limits(uint8_t type, uint32_t *min, uint32_t *max)
{
    switch (type) {
    case ST_BREC_MANIFEST: *min = 2; *max = ST_BREC_MANIFEST_MAX; return 0;
    case ST_BREC_KEY: *min = 1; *max = ST_BREC_KEY_MAX; return 0;
    case ST_BREC_CHECKPOINT:
    case ST_BREC_PREVIOUS: *min = 1; *max = ST_BREC_NOTE_MAX; return 0;
    case ST_BREC_CONSISTENCY:
    case ST_BREC_RIGHT: *min = 16; *max = ST_BREC_PROOF_MAX; return 0;
    case ST_BREC_INCLUSION: *min = 16; *max = ST_BREC_INCLUSION_MAX; return 0;
    case ST_BREC_FRONTIER: *min = 8; *max = ST_BREC_FRONTIER_MAX; return 0;
    case ST_BREC_ENTRY:
    case ST_BREC_SUPPORT: *min = 9; *max = ST_BREC_ENTRY_MAX; return 0;
    case ST_BREC_PAYLOAD: *min = 8 + 1 + 1 + 16; *max = ST_BREC_PAYLOAD_MAX; return 0;
    case ST_BREC_ABSENT: *min = 8 + 1 + 1 + 8; *max = ST_BREC_ABSENT_MAX; return 0;
    case ST_BREC_TRAILER: *min = ST_BREC_TRAILER_LEN; *max = ST_BREC_TRAILER_LEN; return 0;
    default: return -1;
    }
}

/* The grammar of [BUNDLE-3] as a transition function; -1 = not allowed here. */
static int next_state(int s, uint8_t type)
{
    /* After the header part, these may follow (SUPPORT, FRONTIER, items, RIGHT, TRAILER). */
    int tail_ok = (s == S_CP || s == S_CONS || s == S_LINK || s == S_SUPI);
    switch (type) {
    case ST_BREC_MANIFEST: return s == S_START ? S_MANIFEST : -1;
    case ST_BREC_KEY: return (s == S_MANIFEST || s == S_KEY) ? S_KEY : -1;
    case ST_BREC_CHECKPOINT: return (s == S_MANIFEST || s == S_KEY || s == S_CP) ? S_CP : -1;
    case ST_BREC_CONSISTENCY:
        if (s == S_CP || s == S_CONS) return S_CONS;
        if (s == S_PREV) return S_LINK;
        return -1;
    case ST_BREC_PREVIOUS: return (s == S_CP || s == S_CONS) ? S_PREV : -1;
    case ST_BREC_SUPPORT: return tail_ok ? S_SUP : -1;
    case ST_BREC_INCLUSION:
        if (s == S_SUP) return S_SUPI;
        if (s == S_ENT) return S_ENTI;
        return -1;
    case ST_BREC_FRONTIER: return tail_ok ? S_FRONT : -1;
    case ST_BREC_ENTRY:
        return (tail_ok || s == S_FRONT || s == S_ENT || s == S_ENTI || s == S_PAY) ? S_ENT : -1;
    case ST_BREC_PAYLOAD:
    case ST_BREC_ABSENT: return (s == S_ENT || s == S_ENTI || s == S_PAY) ? S_PAY : -1;
    case ST_BREC_RIGHT:
        return (tail_ok || s == S_FRONT || s == S_ENT || s == S_ENTI || s == S_PAY) ? S_RIGHT : -1;
    case ST_BREC_TRAILER:
        return (tail_ok || s == S_FRONT || s == S_ENT || s == S_ENTI || s == S_PAY || s == S_RIGHT) ? S_TRAILER
                                                                                                       : -1;
    default: return -1;
    }
}

static const char *state_after(int s)
{
    switch (s) {
    case S_START: return "the magic line";
    case S_MANIFEST: return "the manifest";
    case S_KEY: return "a key record";
    case S_CP: return "a checkpoint";
    case S_CONS: return "a consistency proof";
    case S_PREV: return "the previous checkpoint";
    case S_LINK: return "the previous checkpoint's consistency proof";
    case S_SUP: return "a support entry";
    case S_SUPI: return "a support entry's inclusion proof";
    case S_FRONT: return "the frontier";
    case S_ENT: return "an entry";
    case S_ENTI: return "an entry's inclusion proof";
    case S_PAY: return "a payload record";
    case S_RIGHT: return "the right-side hashes";
    default: return "the trailer";
    }
}

int st_bundle_next(st_bundle_reader *r, st_brec *rec, st_err *err)
{
    memset(rec, 0, sizeof *rec);
    if (!r->magic_done) return st_fail(err, ST_EINVAL, "st_bundle_read_magic was not called");
    if (r->body_left) return st_fail(err, ST_EINVAL, "the previous record's body was not consumed");
    if (r->state == S_TRAILER || r->state == S_DONE) {
        r->state = S_DONE;
        return 1;
    }
    uint64_t off = r->consumed;
    int rc = fill(r, 5);
    if (rc < 0) return io_fail(err, rc, "record header", off);
    if (rc == 1) {
        if (r->end == r->pos)
            return st_fail(err, ST_EFORMAT, "truncated: the bundle ends at offset %llu after record %llu (%s) "
                           "without a trailer", (unsigned long long)off, (unsigned long long)r->seq,
                           state_after(r->state));
        return st_fail(err, ST_EFORMAT, "truncated: record %llu at offset %llu: %zu of 5 header bytes",
                       (unsigned long long)r->seq, (unsigned long long)off, r->end - r->pos);
    }
    const uint8_t *h = r->buf + r->pos;
    uint8_t type = h[0];
    uint32_t len = st_be32_get(h + 1);
    uint32_t min, max;
    if (type_limits(type, &min, &max) != 0)
        return st_fail(err, ST_EFORMAT, "record %llu at offset %llu: unknown record type 0x%02x",
                       (unsigned long long)r->seq, (unsigned long long)off, type);
    int ns = next_state(r->state, type);
    if (ns < 0)
        return st_fail(err, ST_EFORMAT, "record %llu at offset %llu: a %s record may not follow %s",
                       (unsigned long long)r->seq, (unsigned long long)off, st_brec_name(type),
                       state_after(r->state));
    if (len < min || len > max)
        return st_fail(err, len > max ? ST_ETOOBIG : ST_EFORMAT,
                       "record %llu at offset %llu: %s body of %u bytes (allowed %u..%u)",
                       (unsigned long long)r->seq, (unsigned long long)off, st_brec_name(type), len, min, max);
    /* [BUNDLE-4] count limits */
    if (type == ST_BREC_KEY && ++r->nkeys > ST_BUNDLE_MAX_KEYS)
        return st_fail(err, ST_ETOOBIG, "record %llu: more than %u key records", (unsigned long long)r->seq,
                       ST_BUNDLE_MAX_KEYS);
    if (type == ST_BREC_CHECKPOINT && ++r->ncps > ST_BUNDLE_MAX_CHECKPOINTS)
        return st_fail(err, ST_ETOOBIG, "record %llu: more than %llu checkpoints", (unsigned long long)r->seq,
                       (unsigned long long)ST_BUNDLE_MAX_CHECKPOINTS);
    if (type == ST_BREC_SUPPORT && ++r->nsups > ST_BUNDLE_MAX_SUPPORTS)
        return st_fail(err, ST_ETOOBIG, "record %llu: more than %u support entries", (unsigned long long)r->seq,
                       ST_BUNDLE_MAX_SUPPORTS);
    consume(r, 5);
    rec->type = type;
    rec->len = len;
    rec->offset = off;
    rec->seq = r->seq++;
    r->state = ns;
    if (len > ST_BREC_INLINE_MAX) {       /* only PAYLOAD can be this large */
        rec->streamed = 1;
        r->body_left = len;
        return 0;
    }
    rc = fill(r, len);
    if (rc < 0) return io_fail(err, rc, st_brec_name(type), off);
    if (rc == 1)
        return st_fail(err, ST_EFORMAT, "truncated: record %llu (%s) at offset %llu: %zu of %u body bytes",
                       (unsigned long long)rec->seq, st_brec_name(type), (unsigned long long)off,
                       r->end - r->pos, len);
    rec->body = r->buf + r->pos;
    consume(r, len);
    if (type == ST_BREC_TRAILER) {
        /* [BUNDLE-5] nothing may follow the trailer. Keep its body apart:
         * looking for EOF may refill the buffer. */
        memcpy(r->trailer, rec->body, ST_BREC_TRAILER_LEN);
        rec->body = r->trailer;
        if (r->pos != r->end || (rc = fill(r, 1)) == 0)
            return st_fail(err, ST_EFORMAT, "trailing bytes after the trailer at offset %llu",
                           (unsigned long long)r->consumed);
        if (rc < 0) return io_fail(err, rc, "after the trailer", r->consumed);
    }
    return 0;
}

ssize_t st_bundle_body_read(st_bundle_reader *r, uint8_t *buf, size_t n, st_err *err)
{
    if (r->body_left == 0) return 0;
    if (n > r->body_left) n = (size_t)r->body_left;
    if (n > READ_CHUNK) n = READ_CHUNK;
    int rc = fill(r, 1);
    if (rc < 0) return io_fail(err, rc, "payload body", r->consumed);
    if (rc == 1)
        return st_fail(err, ST_EFORMAT, "truncated: a payload body ends at offset %llu with %llu bytes missing",
                       (unsigned long long)r->consumed, (unsigned long long)r->body_left);
    size_t have = r->end - r->pos;
    if (n > have) n = have;
    memcpy(buf, r->buf + r->pos, n);
    consume(r, n);
    r->body_left -= n;
    return (ssize_t)n;
}

/* ---- the trailer digest chain [BUNDLE-5] -------------------------------------------- */

void st_bundle_chain_init(st_bundle_chain *c)
{
    st_sha256_init(&c->sha);
    st_sha256_update(&c->sha, ST_BUNDLE_MAGIC, ST_BUNDLE_MAGIC_LEN);
    c->count = 0;
}

void st_bundle_chain_add(st_bundle_chain *c, uint8_t type, uint32_t len, const uint8_t *h, size_t hlen)
{
    uint8_t hdr[5];
    hdr[0] = type;
    st_be32_put(hdr + 1, len);
    st_sha256_update(&c->sha, hdr, 5);
    st_sha256_update(&c->sha, h, hlen);
    c->count++;
}

void st_bundle_chain_add_body(st_bundle_chain *c, uint8_t type, const uint8_t *body, uint32_t len)
{
    uint8_t h[32];
    st_sha256(h, body, len);
    st_bundle_chain_add(c, type, len, h, 32);
}

void st_bundle_chain_add_entry(st_bundle_chain *c, uint8_t type, uint32_t len, uint64_t index, const st_hash leaf)
{
    uint8_t h[40];
    st_be64_put(h, index);
    memcpy(h + 8, leaf, 32);
    st_bundle_chain_add(c, type, len, h, sizeof h);
}

void st_bundle_chain_add_payload(st_bundle_chain *c, uint32_t len, uint64_t index, const char *name,
                                 size_t name_len, const st_hash commit)
{
    uint8_t h[8 + 1 + 255 + 32];
    if (name_len > 255) name_len = 255;
    st_be64_put(h, index);
    h[8] = (uint8_t)name_len;
    memcpy(h + 9, name, name_len);
    memcpy(h + 9 + name_len, commit, 32);
    st_bundle_chain_add(c, ST_BREC_PAYLOAD, len, h, 9 + name_len + 32);
}

void st_bundle_chain_trailer(st_bundle_chain *c, uint8_t out[ST_BREC_TRAILER_LEN])
{
    st_sha256_ctx tmp = c->sha;
    st_be64_put(out, c->count);
    st_sha256_final(&tmp, out + 8);
}

int st_bundle_chain_check(st_bundle_chain *c, const uint8_t *body, size_t len, st_err *err)
{
    if (len != ST_BREC_TRAILER_LEN)
        return st_fail(err, ST_EFORMAT, "trailer: %zu bytes, expected %u", len, ST_BREC_TRAILER_LEN);
    uint8_t want[ST_BREC_TRAILER_LEN];
    st_bundle_chain_trailer(c, want);
    uint64_t count = st_be64_get(body);
    if (count != c->count)
        return st_fail(err, ST_EFORMAT, "trailer: record count %llu, but the bundle has %llu records before it",
                       (unsigned long long)count, (unsigned long long)c->count);
    if (memcmp(want + 8, body + 8, 32) != 0) {
        char a[65], b[65];
        st_hex_encode(a, want + 8, 32);
        st_hex_encode(b, body + 8, 32);
        return st_fail(err, ST_EFORMAT, "trailer: digest mismatch: computed %s, bundle has %s", a, b);
    }
    return 0;
}

/* ---- record decoders ---------------------------------------------------------------- */

int st_brec_proof_decode(st_brec_proof *out, const uint8_t *body, size_t len, st_err *err)
{
    if (len < 16 || (len - 16) % ST_HASH_BYTES != 0)
        return st_fail(err, ST_EFORMAT, "proof record of %zu bytes: not 16 + a multiple of 32", len);
    out->a = st_be64_get(body);
    out->b = st_be64_get(body + 8);
    out->hashes = body + 16;
    out->n = (len - 16) / ST_HASH_BYTES;
    return 0;
}

int st_brec_frontier_decode(st_brec_frontier *out, const uint8_t *body, size_t len, st_err *err)
{
    if (len < 8 || (len - 8) % ST_HASH_BYTES != 0)
        return st_fail(err, ST_EFORMAT, "frontier record of %zu bytes: not 8 + a multiple of 32", len);
    out->size = st_be64_get(body);
    out->hashes = body + 8;
    out->n = (len - 8) / ST_HASH_BYTES;
    size_t want = (size_t)__builtin_popcountll(out->size);
    if (out->n != want)
        return st_fail(err, ST_EFORMAT, "frontier at size %llu: %zu hashes, expected %zu (one per set bit)",
                       (unsigned long long)out->size, out->n, want);
    return 0;
}

int st_brec_entry_decode(st_brec_entry *out, const uint8_t *body, size_t len, st_err *err)
{
    if (len < 9 || len - 8 > ST_ENTRY_MAX)
        return st_fail(err, ST_EFORMAT, "entry record of %zu bytes (allowed 9..%u)", len, 8 + ST_ENTRY_MAX);
    out->index = st_be64_get(body);
    out->bytes = body + 8;
    out->len = len - 8;
    return 0;
}

static int decode_name(char name[33], size_t *nlen, const uint8_t *p, size_t avail, st_err *err)
{
    size_t n = p[0];
    if (n == 0 || n > ST_PAYLOAD_NAME_MAX || 1 + n > avail)
        return st_fail(err, ST_EFORMAT, "payload name length %zu (allowed 1..%u)", n, ST_PAYLOAD_NAME_MAX);
    if (!st_payload_name_valid((const char *)p + 1, n))
        return st_fail(err, ST_EFORMAT, "payload name is not [a-z0-9_]{1,32}");
    memcpy(name, p + 1, n);
    name[n] = 0;
    *nlen = n;
    return 0;
}

int st_brec_payload_decode(st_brec_payload *out, const uint8_t *head, size_t avail, uint64_t body_len, st_err *err)
{
    memset(out, 0, sizeof *out);
    if (avail < 9 || body_len < 9) return st_fail(err, ST_EFORMAT, "payload record too short");
    out->index = st_be64_get(head);
    int rc = decode_name(out->name, &out->name_len, head + 8, avail - 8, err);
    if (rc) return rc;
    out->head_len = 8 + 1 + out->name_len + ST_SALT_BYTES;
    if (avail < out->head_len || body_len < out->head_len)
        return st_fail(err, ST_EFORMAT, "payload record too short for its salt");
    memcpy(out->salt, head + 9 + out->name_len, ST_SALT_BYTES);
    out->data_len = body_len - out->head_len;
    return 0;
}

int st_brec_absent_decode(st_brec_absent *out, const uint8_t *body, size_t len, st_err *err)
{
    memset(out, 0, sizeof *out);
    if (len < 9) return st_fail(err, ST_EFORMAT, "absent record too short");
    out->index = st_be64_get(body);
    int rc = decode_name(out->name, &out->name_len, body + 8, len - 8, err);
    if (rc) return rc;
    if (len != 8 + 1 + out->name_len + 8)
        return st_fail(err, ST_EFORMAT, "absent record of %zu bytes, expected %zu", len, 8 + 1 + out->name_len + 8);
    out->record = st_be64_get(body + 9 + out->name_len);
    return 0;
}
