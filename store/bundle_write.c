/*
 * bundle_write.c: writes bundles record by record (docs/FORMAT.md section 6),
 * keeping the trailer digest chain [BUNDLE-5] on the fly.
 *
 * Wire layout of each record, as the reader (store/verify/bundle_read.c)
 * expects it:
 *
 *   u8 type || u32 BE body length || body
 *   ENTRY, SUPPORT  body = u64 BE index || canonical entry bytes
 *   PAYLOAD         body = u64 BE index || u8 n || name[n] || salt[16] || bytes
 *   ABSENT          body = u64 BE index || u8 n || name[n] || u64 BE record index
 *   CONSISTENCY     body = u64 BE m || u64 BE n || hashes
 *   INCLUSION       body = u64 BE index || u64 BE size || hashes
 *   RIGHT           body = u64 BE begin || u64 BE end || hashes
 *   FRONTIER        body = u64 BE size || hashes
 *   TRAILER         body = u64 BE record count || chain digest
 *
 * Two threads. The caller's thread frames records into 2 MiB blocks; a
 * writer thread takes full blocks in order, hashes every record in them
 * (leaf hashes, payload commitments, the chain: a third of an export's CPU)
 * and writes them out, so the hashing runs on a second core while the caller
 * reads the store. Memory: NBLOCKS blocks, whatever the bundle's size. A
 * record too large for a block (a payload over 2 MiB) is hashed and written
 * by the caller's thread once the writer is idle. For a seekable file the
 * caller's thread writes a full block itself (pwrite) when the writer is
 * behind: write(2)'s copy into the page cache costs about as much as the
 * hashing, and this way the two threads share it as the load falls.
 * With ST_BW_WRITEBACK the writer starts the write-back of each 8 MiB
 * written, so the caller's fsync waits for the last few MiB, not for the
 * whole file (which the kernel would otherwise keep dirty until then).
 */
#include "bundle_write.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "entry.h"
#include "sha256.h"

#define BLOCK_CAP ((size_t)2 << 20)      /* every ENTRY and SUPPORT record fits in one */
#define NBLOCKS 4
#define WRITEBACK_STEP ((uint64_t)8 << 20)

typedef struct block {
    uint8_t *data;
    size_t fill;
    uint64_t pos;            /* where its first byte goes in the bundle */
    int written;             /* already written, by the caller's thread */
} block;

struct st_bundle_writer {
    /* the sink: written by the writer thread, or by the caller's while the
     * writer is idle, and blocks of a seekable file by either at any time */
    int fd;                  /* -1 when writing to mem */
    st_buf *mem;
    int seekable;            /* a regular file (not O_APPEND): pwrite at base + position */
    int writeback;           /* ST_BW_WRITEBACK and seekable: start write-back as we go */
    uint64_t base, synced;   /* fd's offset at the start; the position write-back was last started at */
    st_bundle_chain chain;   /* the writer thread's, or the caller's while the writer is idle */

    /* the caller's side */
    uint64_t bytes;          /* framed so far, magic included */
    int err;                 /* sticky: the first error this side saw */
    int finished;

    /* the queue: block s % NBLOCKS holds submission s; the writer has done `done` of `submitted` */
    block blocks[NBLOCKS];
    uint64_t submitted, done;
    int failed;              /* the writer's first error (errno or ENOMEM) */
    int stop;
    int started;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t more, less;
};

/* ---- hashing ------------------------------------------------------------------- */

void st_bw_leaf_hash(st_hash h, const uint8_t *bytes, size_t len)
{
    static const uint8_t zero = 0;
    st_sha256_ctx c;
    st_sha256_init(&c);
    st_sha256_update(&c, &zero, 1);
    st_sha256_update(&c, bytes, len);
    st_sha256_final(&c, h);
}

void st_bw_payload_commit(st_hash h, const uint8_t salt[ST_SALT_BYTES], const uint8_t *bytes, size_t len)
{
    static const uint8_t zero = 0;
    st_sha256_ctx c;
    st_sha256_init(&c);
    st_sha256_update(&c, ST_PAYLOAD_TAG, sizeof ST_PAYLOAD_TAG - 1);
    st_sha256_update(&c, &zero, 1);
    st_sha256_update(&c, salt, ST_SALT_BYTES);
    st_sha256_update(&c, bytes, len);
    st_sha256_final(&c, h);
}

/* st_sha256_update for parts that may be empty (NULL). */
static void upd(st_sha256_ctx *c, const uint8_t *p, size_t n)
{
    if (n) st_sha256_update(c, p, n);
}

/* Adds one record, body = head || tail, to the chain with H by the type's
 * rule [BUNDLE-5]: ENTRY/SUPPORT index || leaf hash, PAYLOAD index || name ||
 * commitment, anything else (and ENTRY/SUPPORT/PAYLOAD bodies too short to
 * decode, which only tests write) SHA-256 of the body. The fixed prefix of
 * an ENTRY/SUPPORT/PAYLOAD body is always within head. */
static void chain_record(st_bundle_chain *ch, uint8_t type, const uint8_t *head, size_t hl, const uint8_t *tail,
                         size_t tl)
{
    static const uint8_t zero = 0;
    uint32_t len = (uint32_t)(hl + tl);
    st_sha256_ctx c;
    st_hash h;
    st_sha256_init(&c);
    if ((type == ST_BREC_ENTRY || type == ST_BREC_SUPPORT) && hl >= 8) {
        st_sha256_update(&c, &zero, 1);
        upd(&c, head + 8, hl - 8);
        upd(&c, tail, tl);
        st_sha256_final(&c, h);
        st_bundle_chain_add_entry(ch, type, len, st_be64_get(head), h);
    } else if (type == ST_BREC_PAYLOAD && hl >= 9 && hl >= 9u + head[8] + ST_SALT_BYTES) {
        size_t n = head[8];
        st_sha256_update(&c, ST_PAYLOAD_TAG, sizeof ST_PAYLOAD_TAG - 1);
        st_sha256_update(&c, &zero, 1);
        st_sha256_update(&c, head + 9 + n, hl - 9 - n);    /* salt, then the first payload bytes */
        upd(&c, tail, tl);
        st_sha256_final(&c, h);
        st_bundle_chain_add_payload(ch, len, st_be64_get(head), (const char *)head + 9, n, h);
    } else {
        upd(&c, head, hl);
        upd(&c, tail, tl);
        st_sha256_final(&c, h);
        st_bundle_chain_add(ch, type, len, h, ST_HASH_BYTES);
    }
}

/* ---- the sink -------------------------------------------------------------------- */

/* Writes n bytes at position pos of the bundle: pwrite for a seekable file
 * (either thread), else write(2) in order (the writer thread, or the
 * caller's while the writer is idle). */
static int sink_write(st_bundle_writer *w, uint64_t pos, const uint8_t *p, size_t n)
{
    if (w->mem) {
        st_buf_put(w->mem, p, n);
        return w->mem->oom ? ENOMEM : 0;
    }
    while (n) {
        ssize_t k = w->seekable ? pwrite(w->fd, p, n, (off_t)(w->base + pos)) : write(w->fd, p, n);
        if (k < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        p += k;
        n -= (size_t)k;
        pos += (uint64_t)k;
    }
    return 0;
}

/* Every byte before pos is written: start writing them back to disk. A hint:
 * errors (a file system without it) only mean fsync does all the work. */
static void writeback(st_bundle_writer *w, uint64_t pos)
{
    if (!w->writeback || pos - w->synced < WRITEBACK_STEP) return;
    (void)sync_file_range(w->fd, (off_t)(w->base + w->synced), (off_t)(pos - w->synced), SYNC_FILE_RANGE_WRITE);
    w->synced = pos;
}

/* Hashes every record of a block (blocks hold whole records) and writes it
 * unless the caller's thread did. Blocks come in order, so every byte
 * before this block's end is then written. */
static int process_block(st_bundle_writer *w, const block *b)
{
    for (size_t p = 0; p < b->fill;) {
        uint32_t len = st_be32_get(b->data + p + 1);
        chain_record(&w->chain, b->data[p], b->data + p + 5, len, NULL, 0);
        p += 5 + (size_t)len;
    }
    int rc = b->written ? 0 : sink_write(w, b->pos, b->data, b->fill);
    if (!rc) writeback(w, b->pos + b->fill);
    return rc;
}

static void *writer_main(void *arg)
{
    st_bundle_writer *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (w->done == w->submitted && !w->stop) pthread_cond_wait(&w->more, &w->mu);
        if (w->stop) break;                /* st_bw_free: blocks still queued are abandoned */
        block *b = &w->blocks[w->done % NBLOCKS];
        int failed = w->failed;
        pthread_mutex_unlock(&w->mu);
        int rc = failed ? 0 : process_block(w, b);     /* after a failure, blocks are only released */
        pthread_mutex_lock(&w->mu);
        if (rc && !w->failed) w->failed = rc;
        w->done++;
        pthread_cond_signal(&w->less);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* ---- the caller's side -------------------------------------------------------------- */

/* Hands the current block to the writer (if it holds anything) and waits
 * until the next one is free, or (drain) until the writer is idle. When the
 * writer is still busy with earlier blocks, a seekable file's block is
 * written here first: the writer then only hashes it, and the two threads
 * share the write(2) copies as the load falls. */
static int submit(st_bundle_writer *w, int drain)
{
    block *b = &w->blocks[w->submitted % NBLOCKS];
    b->written = 0;
    pthread_mutex_lock(&w->mu);
    int busy = w->submitted - w->done >= 2;      /* the writer is more than a block behind */
    pthread_mutex_unlock(&w->mu);
    if (b->fill && busy && w->seekable && !drain) {
        int rc = sink_write(w, b->pos, b->data, b->fill);
        if (rc) return w->err = rc;
        b->written = 1;
    }
    pthread_mutex_lock(&w->mu);
    if (b->fill) {
        w->submitted++;
        pthread_cond_signal(&w->more);
    }
    uint64_t limit = drain ? 0 : NBLOCKS - 1;
    while (w->submitted - w->done > limit) pthread_cond_wait(&w->less, &w->mu);
    if (w->failed && !w->err) w->err = w->failed;
    pthread_mutex_unlock(&w->mu);
    b = &w->blocks[w->submitted % NBLOCKS];
    b->fill = 0;
    b->pos = w->bytes;
    return w->err;
}

static int open_common(st_bundle_writer **outp, int fd, st_buf *mem, unsigned flags)
{
    *outp = NULL;
    st_bundle_writer *w = calloc(1, sizeof *w);
    if (!w) return ENOMEM;
    w->fd = fd;
    w->mem = mem;
    struct stat st;
    off_t off;
    int fl;
    if (!mem && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (fl = fcntl(fd, F_GETFL)) >= 0 && !(fl & O_APPEND) &&
        (off = lseek(fd, 0, SEEK_CUR)) >= 0) {
        w->seekable = 1;
        w->writeback = (flags & ST_BW_WRITEBACK) != 0;
        w->base = (uint64_t)off;
    }
    st_bundle_chain_init(&w->chain);
    int rc = 0;
    for (size_t i = 0; i < NBLOCKS && !rc; i++)
        if (!(w->blocks[i].data = malloc(BLOCK_CAP))) rc = ENOMEM;
    if (!rc) rc = pthread_mutex_init(&w->mu, NULL);
    if (!rc && (rc = pthread_cond_init(&w->more, NULL)) != 0) pthread_mutex_destroy(&w->mu);
    if (!rc && (rc = pthread_cond_init(&w->less, NULL)) != 0) {
        pthread_cond_destroy(&w->more);
        pthread_mutex_destroy(&w->mu);
    }
    if (!rc) {
        rc = sink_write(w, 0, (const uint8_t *)ST_BUNDLE_MAGIC, ST_BUNDLE_MAGIC_LEN);   /* the chain starts with it */
        w->bytes = w->blocks[0].pos = ST_BUNDLE_MAGIC_LEN;
        w->started = 1;        /* owns the mutex and conditions from here on */
        if (!rc && (rc = pthread_create(&w->thread, NULL, writer_main, w)) != 0) w->started = -1;
    }
    if (rc) {
        st_bw_free(w);
        return rc;
    }
    *outp = w;
    return 0;
}

int st_bw_open_fd(st_bundle_writer **outp, int fd, unsigned flags) { return open_common(outp, fd, NULL, flags); }
int st_bw_open_buf(st_bundle_writer **outp, st_buf *buf) { return open_common(outp, -1, buf, 0); }

void st_bw_free(st_bundle_writer *w)
{
    if (!w) return;
    if (w->started) {
        if (w->started == 1) {
            pthread_mutex_lock(&w->mu);
            w->stop = 1;
            pthread_cond_signal(&w->more);
            pthread_mutex_unlock(&w->mu);
            pthread_join(w->thread, NULL);
        }
        pthread_cond_destroy(&w->more);
        pthread_cond_destroy(&w->less);
        pthread_mutex_destroy(&w->mu);
    }
    for (size_t i = 0; i < NBLOCKS; i++) free(w->blocks[i].data);
    free(w);
}

uint64_t st_bw_bytes(const st_bundle_writer *w) { return w->bytes; }

/* ---- records -------------------------------------------------------------------- */

/* Frames one record whose body is head || tail. */
static int put(st_bundle_writer *w, uint8_t type, const void *head, size_t hl, const void *tail, size_t tl)
{
    if (w->err) return w->err;
    if (w->finished) return ST_EINVAL;
    uint64_t len = (uint64_t)hl + tl;
    if (len > UINT32_MAX) return ST_ETOOBIG;
    uint8_t hdr[5];
    hdr[0] = type;
    st_be32_put(hdr + 1, (uint32_t)len);
    size_t need = 5 + (size_t)len;
    int rc;
    if (need > BLOCK_CAP) {                /* too large for a block: hash and write it here, the writer idle */
        if ((rc = submit(w, 1)) != 0) return rc;
        chain_record(&w->chain, type, head, hl, tail, tl);
        uint64_t pos = w->bytes;
        if ((rc = sink_write(w, pos, hdr, 5)) || (rc = sink_write(w, pos + 5, head, hl)) ||
            (rc = sink_write(w, pos + 5 + hl, tail, tl)))
            return w->err = rc;
        w->bytes += need;
        w->blocks[w->submitted % NBLOCKS].pos = w->bytes;
        writeback(w, w->bytes);
        return 0;
    }
    block *b = &w->blocks[w->submitted % NBLOCKS];
    if (BLOCK_CAP - b->fill < need) {
        if ((rc = submit(w, 0)) != 0) return rc;
        b = &w->blocks[w->submitted % NBLOCKS];
    }
    uint8_t *d = b->data + b->fill;
    memcpy(d, hdr, 5);
    if (hl) memcpy(d + 5, head, hl);
    if (tl) memcpy(d + 5 + hl, tail, tl);
    b->fill += need;
    w->bytes += need;
    return 0;
}

int st_bw_record(st_bundle_writer *w, uint8_t type, const uint8_t *body, size_t len)
{
    if (len > UINT32_MAX) return ST_ETOOBIG;
    return put(w, type, body, len, NULL, 0);
}

int st_bw_manifest(st_bundle_writer *w, const uint8_t *json, size_t len)
{
    return st_bw_record(w, ST_BREC_MANIFEST, json, len);
}

int st_bw_key(st_bundle_writer *w, const char *vkey)
{
    return st_bw_record(w, ST_BREC_KEY, (const uint8_t *)vkey, strlen(vkey));
}

int st_bw_note(st_bundle_writer *w, uint8_t type, const char *note, size_t len)
{
    return st_bw_record(w, type, (const uint8_t *)note, len);
}

int st_bw_proof(st_bundle_writer *w, uint8_t type, uint64_t a, uint64_t b, const st_hash *hashes, size_t n)
{
    if (n > 128) return ST_EINVAL;
    uint8_t head[16];
    st_be64_put(head, a);
    st_be64_put(head + 8, b);
    return put(w, type, head, 16, hashes, n * ST_HASH_BYTES);
}

int st_bw_frontier(st_bundle_writer *w, uint64_t size, const st_hash *hashes, size_t n)
{
    if (n > 64) return ST_EINVAL;
    uint8_t head[8];
    st_be64_put(head, size);
    return put(w, ST_BREC_FRONTIER, head, 8, hashes, n * ST_HASH_BYTES);
}

int st_bw_entry(st_bundle_writer *w, uint8_t type, uint64_t index, const uint8_t *bytes, size_t len,
                st_hash leaf_out)
{
    if (len > ST_ENTRY_MAX) return ST_ETOOBIG;
    uint8_t head[8];
    st_be64_put(head, index);
    int rc = put(w, type, head, 8, bytes, len);
    if (!rc && leaf_out) st_bw_leaf_hash(leaf_out, bytes, len);
    return rc;
}

static int name_head(uint8_t *head, uint64_t index, const char *name, size_t *n_out)
{
    size_t n = strlen(name);
    if (!st_payload_name_valid(name, n)) return ST_EINVAL;
    st_be64_put(head, index);
    head[8] = (uint8_t)n;
    memcpy(head + 9, name, n);
    *n_out = n;
    return 0;
}

int st_bw_payload(st_bundle_writer *w, uint64_t index, const char *name, const uint8_t salt[ST_SALT_BYTES],
                  const uint8_t *bytes, size_t len)
{
    uint8_t head[ST_BREC_PAYLOAD_HEAD_MAX];
    size_t n;
    int rc = name_head(head, index, name, &n);
    if (rc) return rc;
    memcpy(head + 9 + n, salt, ST_SALT_BYTES);
    size_t hl = 9 + n + ST_SALT_BYTES;
    if (len > ST_BREC_PAYLOAD_MAX - hl) return ST_ETOOBIG;
    return put(w, ST_BREC_PAYLOAD, head, hl, bytes, len);
}

int st_bw_absent(st_bundle_writer *w, uint64_t index, const char *name, uint64_t record)
{
    uint8_t body[ST_BREC_ABSENT_MAX];
    size_t n;
    int rc = name_head(body, index, name, &n);
    if (rc) return rc;
    st_be64_put(body + 9 + n, record);
    return st_bw_record(w, ST_BREC_ABSENT, body, 9 + n + 8);
}

int st_bw_finish(st_bundle_writer *w)
{
    if (w->err) return w->err;
    if (w->finished) return ST_EINVAL;
    int rc = submit(w, 1);                 /* every record hashed and written */
    if (rc) return rc;
    uint8_t body[ST_BREC_TRAILER_LEN], hdr[5];
    st_bundle_chain_trailer(&w->chain, body);
    hdr[0] = ST_BREC_TRAILER;
    st_be32_put(hdr + 1, sizeof body);
    if ((rc = sink_write(w, w->bytes, hdr, 5)) || (rc = sink_write(w, w->bytes + 5, body, sizeof body)))
        return w->err = rc;
    w->bytes += 5 + sizeof body;
    w->finished = 1;
    /* leave fd's offset after the bundle, as write(2) would have */
    if (w->seekable && lseek(w->fd, (off_t)(w->base + w->bytes), SEEK_SET) < 0) return w->err = errno;
    return 0;
}
