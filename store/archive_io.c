/*
 * archive_io.c: the bytes of an archive file. An archive is an auditor
 * bundle (docs/FORMAT.md section 6) compressed as one zstd stream (".stb.zst"):
 * bundles are not compressed inside, so an auditor can also run
 * `zstd -dc FILE | auditverify - --trust KEY`, and auditverify reads ".zst"
 * inputs itself (docs/RETENTION.md "Compression").
 *
 * Writing: st_aio_compress streams a plain bundle file into a zstd file,
 * hashing both sides. Verifying: st_archive_verify_file decompresses a
 * written archive straight into the stverify verifier (the same code
 * auditverify runs) and hashes what it reads and what it decompresses, so
 * the caller can compare both digests with the ones taken while writing:
 * the archive on disk is then, byte for byte, the bundle that was exported.
 */
#include "retention_ops.h"
#include "store_int.h"
#include "keys.h"
#include "verifier.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>
#include <zstd.h>

#define IO_BUF ((size_t)256 << 10)

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return errno ? errno : EIO;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int st_aio_compress(int in, int out, int level, uint8_t in_sha[32], uint64_t *in_bytes, uint8_t out_sha[32],
                    uint64_t *out_bytes)
{
    ZSTD_CCtx *c = ZSTD_createCCtx();
    uint8_t *ib = malloc(IO_BUF), *ob = malloc(ZSTD_CStreamOutSize());
    crypto_hash_sha256_state hi, ho;
    crypto_hash_sha256_init(&hi);
    crypto_hash_sha256_init(&ho);
    *in_bytes = *out_bytes = 0;
    int rc = !c || !ib || !ob ? ENOMEM : 0;
    if (rc == 0 && ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level))) rc = ST_EINVAL;
    if (rc == 0) ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
    int eof = 0;
    while (rc == 0 && !eof) {
        ssize_t k = read(in, ib, IO_BUF);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) { rc = errno; break; }
        eof = k == 0;
        crypto_hash_sha256_update(&hi, ib, (size_t)k);
        *in_bytes += (uint64_t)k;
        ZSTD_inBuffer zi = { ib, (size_t)k, 0 };
        size_t left;
        do {
            ZSTD_outBuffer zo = { ob, ZSTD_CStreamOutSize(), 0 };
            left = ZSTD_compressStream2(c, &zo, &zi, eof ? ZSTD_e_end : ZSTD_e_continue);
            if (ZSTD_isError(left)) { rc = ST_EINVAL; break; }
            crypto_hash_sha256_update(&ho, ob, zo.pos);
            *out_bytes += zo.pos;
            if ((rc = write_all(out, ob, zo.pos)) != 0) break;
        } while (rc == 0 && (eof ? left != 0 : zi.pos < zi.size));
    }
    if (rc == 0 && fsync(out) != 0) rc = errno;
    crypto_hash_sha256_final(&hi, in_sha);
    crypto_hash_sha256_final(&ho, out_sha);
    ZSTD_freeCCtx(c);
    free(ib);
    free(ob);
    return rc;
}

/* ---- reading an archive into the verifier ------------------------------------------------ */

typedef struct zsrc {
    int fd;
    ZSTD_DCtx *d;
    uint8_t *in;
    ZSTD_inBuffer ib;
    int eof;
    size_t last;               /* ZSTD_decompressStream's last hint: 0 = at a frame boundary */
    crypto_hash_sha256_state hf, hb;
    uint64_t nout;
} zsrc;

static ssize_t zread(void *ctx, uint8_t *buf, size_t n)
{
    zsrc *z = ctx;
    ZSTD_outBuffer ob = { buf, n, 0 };
    while (ob.pos == 0) {
        if (z->ib.pos == z->ib.size && !z->eof) {
            ssize_t k = read(z->fd, z->in, IO_BUF);
            if (k < 0 && errno == EINTR) continue;
            if (k < 0) return -errno;
            if (k == 0) {
                z->eof = 1;
            } else {
                crypto_hash_sha256_update(&z->hf, z->in, (size_t)k);
                z->ib.src = z->in;
                z->ib.size = (size_t)k;
                z->ib.pos = 0;
            }
        }
        if (z->eof && z->ib.pos == z->ib.size && z->last == 0) return 0;   /* all frames complete */
        size_t before_in = z->ib.pos;
        size_t r = ZSTD_decompressStream(z->d, &ob, &z->ib);
        if (ZSTD_isError(r)) return -EILSEQ;                 /* not zstd, or damaged */
        if (z->ib.pos != before_in || ob.pos) z->last = r;
        if (ob.pos == 0 && z->eof && z->ib.pos == z->ib.size) {
            if (z->last != 0) return -EPROTO;                /* the file ends inside a frame */
            return 0;
        }
    }
    crypto_hash_sha256_update(&z->hb, buf, ob.pos);
    z->nout += ob.pos;
    return (ssize_t)ob.pos;
}

int st_archive_verify_file(const char *path, st_store *s, st_verify_report *rep, uint8_t file_sha256[32],
                           uint8_t bundle_sha256[32], uint64_t *bundle_bytes)
{
    zsrc z;
    memset(&z, 0, sizeof z);
    z.last = 1;                                          /* nothing read yet: not at a frame boundary */
    z.fd = open(path, O_RDONLY | O_CLOEXEC);
    if (z.fd < 0) return st_store_fail(s, errno, "%s: %s", path, strerror(errno));
    z.d = ZSTD_createDCtx();
    z.in = malloc(IO_BUF);
    st_bundle_reader *r = NULL;
    int rc = !z.d || !z.in ? ENOMEM : st_bundle_reader_new(&r, zread, &z);
    if (rc == 0) {
        crypto_hash_sha256_init(&z.hf);
        crypto_hash_sha256_init(&z.hb);
        /* Trust what an auditor of this store trusts (the pinned root, or the
         * first log key): the current key alone would reject archives that
         * span a key rotation. */
        st_vkey anchors[2];
        size_t nanchors = 0;
        rc = st_keys_trust_anchors(s, anchors, &nanchors);
        st_verify_opts vo;
        memset(&vo, 0, sizeof vo);
        vo.trust = anchors;
        vo.ntrust = nanchors;
        vo.threads = 1;
        int verdict = rc ? ST_VERDICT_UNVERIFIABLE : st_verify_bundle(r, &vo, rep);
        if (rc == 0 && verdict != ST_VERDICT_VERIFIED)
            rc = st_store_fail(s, ST_ECORRUPT, "%s: the archive does not verify (%s, step %u): %s", path,
                               st_verdict_name(verdict), rep->step, rep->failure);
        uint8_t rest;
        if (rc == 0 && zread(&z, &rest, 1) != 0)           /* the bundle must be all the file holds */
            rc = st_store_fail(s, ST_ECORRUPT, "%s: bytes after the bundle's trailer", path);
    }
    crypto_hash_sha256_final(&z.hf, file_sha256);
    crypto_hash_sha256_final(&z.hb, bundle_sha256);
    *bundle_bytes = z.nout;
    st_bundle_reader_free(r);
    ZSTD_freeDCtx(z.d);
    free(z.in);
    close(z.fd);
    return rc;
}
