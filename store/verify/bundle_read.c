/*
 * bundle_read.c: the streaming bundle reader (docs/FORMAT.md section 6): buffered
 * input from a callback, the magic line [BUNDLE-1], record framing with
 * per-type size limits [BUNDLE-2], the record order grammar [BUNDLE-3],
 * count limits [BUNDLE-4], and "nothing after the trailer" [BUNDLE-5]. The
 * trailer digest chain and the record decoders are in bundle_codec.c.
 * Bounded memory: one buffer of ST_BREC_INLINE_MAX plus 256 KiB, whatever
 * the bundle's size.
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
#define PREFETCH_AHEAD ((size_t)16 << 10)

/* Grammar states: the last thing read. */
enum {
    S_START, S_MANIFEST, S_KEY, S_KEYNOTE, S_CP, S_CONS, S_PREV, S_LINK, S_SUP, S_SUPI,
    S_FRONT, S_ENT, S_ENTI, S_PAY, S_RIGHT, S_TRAILER, S_DONE
};

struct st_bundle_reader {
    st_bundle_read_fn fn;
    void *ctx;
    uint8_t *buf;             /* private: read into (callback sources), header bodies copied (memory) */
    const uint8_t *data;      /* what pos and end index: buf, or the caller's memory */
    int inplace;              /* memory source: data is the caller's buffer, never refilled */
    st_bundle_release_fn release;
    void *release_ctx;
    size_t ahead;             /* memory source: lines up to here were prefetched */
    size_t pos, end;
    int eof;
    uint64_t consumed;        /* file offset of buf[pos] */
    uint64_t seq;
    int state;
    uint64_t body_left;       /* streamed body bytes not yet read */
    int magic_done;
    uint64_t nkeys, ncps, nsups, nkeynotes;
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
    r->data = r->buf;
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

/* The memory source is read in place: no copies. ENTRY and PAYLOAD bodies
 * are handed out as pointers into buf (rec->inplace); every other body is
 * copied into the reader's private buffer first, so code that reads a header
 * record twice (parse, then check a signature over it) reads one version
 * even if buf is a file mapping that changes underneath. */
int st_bundle_reader_mem(st_bundle_reader **out, const uint8_t *buf, size_t len)
{
    owned_src *s = calloc(1, sizeof *s);
    if (!s) return ENOMEM;
    s->mem.p = buf;
    s->mem.len = len;
    int rc = st_bundle_reader_new(out, mem_read, &s->mem);
    if (rc) { free(s); return rc; }
    st_bundle_reader *r = *out;
    r->inplace = 1;
    r->data = buf;
    r->end = len;
    r->eof = 1;
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

void st_bundle_reader_on_release(st_bundle_reader *r, st_bundle_release_fn fn, void *ctx)
{
    r->release = fn;
    r->release_ctx = ctx;
}

void st_bundle_release(st_bundle_reader *r, uint64_t upto)
{
    if (r->release) r->release(r->release_ctx, upto < r->consumed ? upto : r->consumed);
}

/* ---- buffering ------------------------------------------------------------ */

/* Ensures `need` (<= BUF_CAP) bytes at buf[pos]. 0, 1 (EOF first: fewer are there) or -errno. */
static int fill(st_bundle_reader *r, size_t need)
{
    while (r->end - r->pos < need) {
        if (r->eof) return 1;          /* always, for a memory source: all of it is there */
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
    const char *why = rc == -EILSEQ ? "damaged compressed data"
                      : rc == -EPROTO ? "the compressed data ends inside a frame: truncated"
                                      : strerror(-rc);
    return st_fail(err, -rc, "read error at offset %llu (%s): %s", (unsigned long long)off, what, why);
}

/* ---- magic [BUNDLE-1] --------------------------------------------------------- */

int st_bundle_read_magic(st_bundle_reader *r, st_err *err)
{
    if (r->magic_done) return st_fail(err, ST_EINVAL, "magic already read");
    int rc = fill(r, 32);
    if (rc < 0) return io_fail(err, rc, "magic", 0);
    size_t have = r->end - r->pos;
    const uint8_t *p = r->data + r->pos;
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
    case ST_BREC_KEYNOTE: return "key note";
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
    case ST_BREC_KEYNOTE: *min = 9; *max = ST_BREC_KEYNOTE_MAX; return 0;
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
    case ST_BREC_KEYNOTE: return (s == S_MANIFEST || s == S_KEY || s == S_KEYNOTE) ? S_KEYNOTE : -1;
    case ST_BREC_CHECKPOINT: return (s == S_MANIFEST || s == S_KEY || s == S_KEYNOTE || s == S_CP) ? S_CP : -1;
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
    case S_KEYNOTE: return "a key note";
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
    if (r->inplace) {
        /* The whole record stream is read front to back (here, then by the
         * verifier's workers): ask for the lines ahead before they are needed,
         * a memory source being a file mapping whose pages are not in cache. */
        size_t want = r->pos + PREFETCH_AHEAD < r->end ? r->pos + PREFETCH_AHEAD : r->end;
        if (r->ahead < r->pos) r->ahead = r->pos;
        for (; r->ahead < want; r->ahead += 64) __builtin_prefetch(r->data + r->ahead, 0, 2);
    }
    int rc = fill(r, 5);
    if (rc < 0) return io_fail(err, rc, "record header", off);
    if (rc == 1) {
        if (r->end == r->pos && r->state == S_START)   /* the manifest is record 0: none was read */
            return st_fail(err, ST_EFORMAT, "truncated: the bundle ends at offset %llu, right after the magic "
                           "line, without a manifest", (unsigned long long)off);
        if (r->end == r->pos)
            return st_fail(err, ST_EFORMAT, "truncated: the bundle ends at offset %llu after record %llu (%s) "
                           "without a trailer", (unsigned long long)off, (unsigned long long)r->seq,
                           state_after(r->state));
        return st_fail(err, ST_EFORMAT, "truncated: record %llu at offset %llu: %zu of 5 header bytes",
                       (unsigned long long)r->seq, (unsigned long long)off, r->end - r->pos);
    }
    const uint8_t *h = r->data + r->pos;
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
    if (type == ST_BREC_KEYNOTE && ++r->nkeynotes > ST_BUNDLE_MAX_KEYNOTES)
        return st_fail(err, ST_ETOOBIG, "record %llu: more than %u key notes", (unsigned long long)r->seq,
                       ST_BUNDLE_MAX_KEYNOTES);
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
    rec->body = r->data + r->pos;
    if (r->inplace) {
        if (type == ST_BREC_ENTRY || type == ST_BREC_PAYLOAD) rec->inplace = 1;
        else rec->body = memcpy(r->buf, rec->body, len);   /* len <= BUF_CAP */
    }
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
    memcpy(buf, r->data + r->pos, n);
    consume(r, n);
    r->body_left -= n;
    return (ssize_t)n;
}
