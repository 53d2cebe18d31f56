/*
 * input.c: reading auditverify's inputs, plain or zstd-compressed (input.h).
 */
#include "input.h"
#include "sha256.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>
#include <zstd.h>

#define IN_BUF ((size_t)256 << 10)

struct av_input {
    int fd, close_fd;
    int zst;
    ZSTD_DCtx *d;
    uint8_t *buf;
    ZSTD_inBuffer ib;          /* raw bytes read and not yet used */
    int eof;
    size_t last;               /* zstd: 0 at a frame boundary */
    int hash;                  /* compute the file's SHA-256 (retention checks match archives by it) */
    st_sha256_ctx sha;
};

/* Reads raw bytes into in->buf (hashing them); 0 at EOF, -errno on error. */
static ssize_t fill(av_input *in)
{
    for (;;) {
        ssize_t k = read(in->fd, in->buf, IN_BUF);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) return -errno;
        if (k == 0) in->eof = 1;
        if (in->hash) st_sha256_update(&in->sha, in->buf, (size_t)k);
        in->ib.src = in->buf;
        in->ib.size = (size_t)k;
        in->ib.pos = 0;
        return k;
    }
}

int av_input_open(av_input **out, const char *path, int hash, char *msg, size_t msglen)
{
    *out = NULL;
    av_input *in = calloc(1, sizeof *in);
    if (!in || !(in->buf = malloc(IN_BUF))) {
        free(in);
        snprintf(msg, msglen, "out of memory");
        return ENOMEM;
    }
    in->hash = hash;
    st_sha256_init(&in->sha);
    in->fd = strcmp(path, "-") == 0 ? 0 : open(path, O_RDONLY | O_CLOEXEC);
    in->close_fd = in->fd != 0;
    struct stat st;
    int rc = in->fd < 0 ? errno : fstat(in->fd, &st) != 0 ? errno : S_ISDIR(st.st_mode) ? EISDIR : 0;
    if (rc) {
        snprintf(msg, msglen, "cannot open: %s", strerror(rc));
        av_input_close(in);
        return rc;
    }
    while (in->ib.size < 4 && !in->eof) {            /* the first bytes decide: zstd or not */
        ssize_t k;
        do {
            k = read(in->fd, in->buf + in->ib.size, IN_BUF - in->ib.size);
        } while (k < 0 && errno == EINTR);
        if (k < 0) {
            rc = errno;
            snprintf(msg, msglen, "read error: %s", strerror(rc));
            av_input_close(in);
            return rc;
        }
        if (k == 0) in->eof = 1;
        if (in->hash) st_sha256_update(&in->sha, in->buf + in->ib.size, (size_t)k);
        in->ib.size += (size_t)k;
    }
    in->ib.src = in->buf;
    static const uint8_t magic[4] = { 0x28, 0xb5, 0x2f, 0xfd };
    if (in->ib.size >= 4 && memcmp(in->buf, magic, 4) == 0) {
        in->zst = 1;
        in->last = 1;
        if (!(in->d = ZSTD_createDCtx())) {
            snprintf(msg, msglen, "out of memory");
            av_input_close(in);
            return ENOMEM;
        }
    }
    *out = in;
    return 0;
}

ssize_t av_input_read(void *ctx, uint8_t *buf, size_t n)
{
    av_input *in = ctx;
    if (!in->zst) {
        if (in->ib.pos == in->ib.size) {
            if (in->eof) return 0;
            ssize_t k = fill(in);
            if (k <= 0) return k;
        }
        size_t m = in->ib.size - in->ib.pos < n ? in->ib.size - in->ib.pos : n;
        memcpy(buf, (const uint8_t *)in->ib.src + in->ib.pos, m);
        in->ib.pos += m;
        return (ssize_t)m;
    }
    ZSTD_outBuffer ob = { buf, n, 0 };
    while (ob.pos == 0) {
        if (in->ib.pos == in->ib.size && !in->eof) {
            ssize_t k = fill(in);
            if (k < 0) return k;
        }
        int drained = in->eof && in->ib.pos == in->ib.size;
        if (drained && in->last == 0) return 0;          /* every frame decoded and flushed */
        size_t before = in->ib.pos;
        size_t r = ZSTD_decompressStream(in->d, &ob, &in->ib);
        if (ZSTD_isError(r)) return -EILSEQ;              /* not zstd after all, or damaged */
        if (in->ib.pos != before || ob.pos) in->last = r;
        if (drained && ob.pos == 0) return -EPROTO;       /* the file ends inside a frame */
    }
    return (ssize_t)ob.pos;
}

int av_input_finish(av_input *in, uint8_t sha256[32])
{
    if (!in->hash) return EINVAL;        /* opened without hashing */
    uint8_t scratch[4096];
    for (;;) {
        ssize_t k = av_input_read(in, scratch, sizeof scratch);
        if (k < 0) return (int)-k;
        if (k == 0) break;
    }
    st_sha256_final(&in->sha, sha256);
    return 0;
}

int av_input_compressed(const av_input *in) { return in->zst; }

void av_input_close(av_input *in)
{
    if (!in) return;
    if (in->close_fd && in->fd >= 0) close(in->fd);
    ZSTD_freeDCtx(in->d);
    free(in->buf);
    free(in);
}
