/*
 * bundle_write.c: writes bundles record by record (docs/FORMAT.md section 6), with a
 * 1 MiB output buffer and the trailer digest chain kept on the fly.
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
 */
#include "bundle_write.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "entry.h"
#include "sha256.h"

#define OUT_CAP ((size_t)1 << 20)

struct st_bundle_writer {
    int fd;                  /* -1 when writing to mem */
    st_buf *mem;
    uint8_t *buf;
    size_t fill;
    uint64_t bytes;
    st_bundle_chain chain;
    int failed;              /* sticky error */
    int finished;
};

/* ---- output ---------------------------------------------------------------- */

static int flush_out(st_bundle_writer *w)
{
    if (w->failed) return w->failed;
    size_t off = 0;
    while (off < w->fill) {
        if (w->mem) {
            st_buf_put(w->mem, w->buf, w->fill);
            if (w->mem->oom) return w->failed = ENOMEM;
            break;
        }
        ssize_t k = write(w->fd, w->buf + off, w->fill - off);
        if (k < 0) {
            if (errno == EINTR) continue;
            return w->failed = errno;
        }
        off += (size_t)k;
    }
    w->fill = 0;
    return 0;
}

static int out(st_bundle_writer *w, const void *p, size_t n)
{
    const uint8_t *s = p;
    while (n) {
        if (w->failed) return w->failed;
        size_t room = OUT_CAP - w->fill;
        size_t k = n < room ? n : room;
        memcpy(w->buf + w->fill, s, k);
        w->fill += k;
        w->bytes += k;
        s += k;
        n -= k;
        if (w->fill == OUT_CAP && flush_out(w)) return w->failed;
    }
    return 0;
}

static int open_common(st_bundle_writer **outp, int fd, st_buf *mem)
{
    *outp = NULL;
    st_bundle_writer *w = calloc(1, sizeof *w);
    if (!w) return ENOMEM;
    w->buf = malloc(OUT_CAP);
    if (!w->buf) { free(w); return ENOMEM; }
    w->fd = fd;
    w->mem = mem;
    st_bundle_chain_init(&w->chain);
    int rc = out(w, ST_BUNDLE_MAGIC, ST_BUNDLE_MAGIC_LEN);
    if (rc) { st_bw_free(w); return rc; }
    *outp = w;
    return 0;
}

int st_bw_open_fd(st_bundle_writer **outp, int fd) { return open_common(outp, fd, NULL); }
int st_bw_open_buf(st_bundle_writer **outp, st_buf *buf) { return open_common(outp, -1, buf); }

void st_bw_free(st_bundle_writer *w)
{
    if (!w) return;
    free(w->buf);
    free(w);
}

uint64_t st_bw_bytes(const st_bundle_writer *w) { return w->bytes; }

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

/* ---- records -------------------------------------------------------------------- */

/* Frames one record whose body is the concatenation of up to 3 parts. */
static int put(st_bundle_writer *w, uint8_t type, const void *a, size_t alen, const void *b, size_t blen,
               const void *c, size_t clen)
{
    if (w->failed) return w->failed;
    if (w->finished) return ST_EINVAL;
    uint64_t len = (uint64_t)alen + blen + clen;
    if (len > UINT32_MAX) return ST_ETOOBIG;
    uint8_t hdr[5];
    hdr[0] = type;
    st_be32_put(hdr + 1, (uint32_t)len);
    int rc;
    if ((rc = out(w, hdr, 5)) || (rc = out(w, a, alen)) || (rc = out(w, b, blen)) || (rc = out(w, c, clen)))
        return rc;
    return 0;
}

int st_bw_record(st_bundle_writer *w, uint8_t type, const uint8_t *body, size_t len)
{
    if (len > UINT32_MAX) return ST_ETOOBIG;
    int rc = put(w, type, body, len, NULL, 0, NULL, 0);
    if (rc) return rc;
    if ((type == ST_BREC_ENTRY || type == ST_BREC_SUPPORT) && len >= 8) {
        st_hash leaf;
        st_bw_leaf_hash(leaf, body + 8, len - 8);
        st_bundle_chain_add_entry(&w->chain, type, (uint32_t)len, st_be64_get(body), leaf);
    } else if (type == ST_BREC_PAYLOAD && len >= 9 && len >= 9u + body[8] + ST_SALT_BYTES) {
        size_t n = body[8];
        size_t head = 9 + n + ST_SALT_BYTES;
        st_hash commit;
        st_bw_payload_commit(commit, body + 9 + n, body + head, len - head);
        st_bundle_chain_add_payload(&w->chain, (uint32_t)len, st_be64_get(body), (const char *)body + 9, n, commit);
    } else {
        st_bundle_chain_add_body(&w->chain, type, body, (uint32_t)len);
    }
    return 0;
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
    size_t hl = n * ST_HASH_BYTES;
    int rc = put(w, type, head, 16, hashes, hl, NULL, 0);
    if (rc) return rc;
    st_sha256_ctx c;
    uint8_t h[32];
    st_sha256_init(&c);
    st_sha256_update(&c, head, 16);
    if (hl) st_sha256_update(&c, hashes, hl);
    st_sha256_final(&c, h);
    st_bundle_chain_add(&w->chain, type, (uint32_t)(16 + hl), h, 32);
    return 0;
}

int st_bw_frontier(st_bundle_writer *w, uint64_t size, const st_hash *hashes, size_t n)
{
    if (n > 64) return ST_EINVAL;
    uint8_t head[8];
    st_be64_put(head, size);
    size_t hl = n * ST_HASH_BYTES;
    int rc = put(w, ST_BREC_FRONTIER, head, 8, hashes, hl, NULL, 0);
    if (rc) return rc;
    st_sha256_ctx c;
    uint8_t h[32];
    st_sha256_init(&c);
    st_sha256_update(&c, head, 8);
    if (hl) st_sha256_update(&c, hashes, hl);
    st_sha256_final(&c, h);
    st_bundle_chain_add(&w->chain, ST_BREC_FRONTIER, (uint32_t)(8 + hl), h, 32);
    return 0;
}

int st_bw_entry(st_bundle_writer *w, uint8_t type, uint64_t index, const uint8_t *bytes, size_t len,
                st_hash leaf_out)
{
    if (len > ST_ENTRY_MAX) return ST_ETOOBIG;
    uint8_t head[8];
    st_be64_put(head, index);
    int rc = put(w, type, head, 8, bytes, len, NULL, 0);
    if (rc) return rc;
    st_hash leaf;
    st_bw_leaf_hash(leaf, bytes, len);
    st_bundle_chain_add_entry(&w->chain, type, (uint32_t)(8 + len), index, leaf);
    if (leaf_out) memcpy(leaf_out, leaf, ST_HASH_BYTES);
    return 0;
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
    rc = put(w, ST_BREC_PAYLOAD, head, hl, bytes, len, NULL, 0);
    if (rc) return rc;
    st_hash commit;
    st_bw_payload_commit(commit, salt, bytes, len);
    st_bundle_chain_add_payload(&w->chain, (uint32_t)(hl + len), index, name, n, commit);
    return 0;
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
    if (w->failed) return w->failed;
    uint8_t body[ST_BREC_TRAILER_LEN];
    st_bundle_chain_trailer(&w->chain, body);
    int rc = put(w, ST_BREC_TRAILER, body, sizeof body, NULL, 0, NULL, 0);
    if (rc) return rc;
    w->finished = 1;
    return flush_out(w);
}
