/*
 * input.c: reading auditverify's inputs, plain or zstd-compressed (input.h).
 *
 * A plain regular file is mapped (MAP_PRIVATE, read-only) rather than read:
 * the verifier then reads it in place, without the kernel's copy into a
 * buffer and the copies after it. Pipes, standard input that is not a
 * file at offset 0, zstd archives, and --retention (which hashes the file
 * as read) keep using read().
 *
 * A mapped file may be truncated or rewritten by someone else while it is
 * verified. Truncation would raise SIGBUS on the next access to a page past
 * the new end: a handler for faults inside the mapping maps zero pages over
 * the rest of it (the access is retried and reads zeros) and records it.
 * After verification, av_input_changed reports that, or a size, mtime or
 * ctime that differs from when the file was opened, and auditverify then
 * refuses the result ("could not verify"). The verifier reads each byte of
 * a mapped file once (verifier-side copies of entries and header records),
 * so a change cannot show one check one version and another check another.
 */
#include "input.h"
#include "sha256.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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
    const uint8_t *map;        /* a mapped regular file, or NULL */
    size_t map_len, map_span;  /* file size; mapped bytes (whole pages) */
    size_t dropped;            /* pages before this were dropped (av_input_release) */
    struct stat st0;           /* the file when mapped */
    struct sigaction old_bus;
};

/* ---- the mapping and SIGBUS -------------------------------------------------------- */

/* One mapping at a time (auditverify verifies its inputs one after another). */
static _Atomic uintptr_t g_lo, g_hi;
static atomic_int g_bus;

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    uintptr_t a = (uintptr_t)si->si_addr, lo = atomic_load(&g_lo), hi = atomic_load(&g_hi);
    if (a >= lo && a < hi) {
        uintptr_t pg = a & ~(uintptr_t)4095;
        if (pg < lo) pg = lo;
        /* zero pages from the fault to the end (mmap is a plain system call on Linux) */
        if (mmap((void *)pg, hi - pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != MAP_FAILED) {
            atomic_store(&g_bus, 1);
            return;
        }
    }
    /* Not a fault in the mapping: the default action when the access is retried. */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigaction(sig, &dfl, NULL);
}

/* Maps in->fd if it is a plain regular file at offset 0; 0 if mapped, -1 to read it instead. */
static int try_map(av_input *in, const struct stat *st)
{
    long page = sysconf(_SC_PAGESIZE);
    if (in->hash || !S_ISREG(st->st_mode) || st->st_size <= 0 || (uint64_t)st->st_size > SIZE_MAX / 2 ||
        page != 4096 || lseek(in->fd, 0, SEEK_CUR) != 0)
        return -1;
    size_t len = (size_t)st->st_size;
    void *p = mmap(NULL, len, PROT_READ, MAP_PRIVATE, in->fd, 0);
    if (p == MAP_FAILED) return -1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    atomic_store(&g_bus, 0);
    atomic_store(&g_lo, (uintptr_t)p);
    atomic_store(&g_hi, (uintptr_t)p + ((len + 4095) & ~(size_t)4095));
    if (sigaction(SIGBUS, &sa, &in->old_bus) != 0) {
        atomic_store(&g_hi, 0);
        munmap(p, len);
        return -1;
    }
    const uint8_t *b = p;
    static const uint8_t zmagic[4] = { 0x28, 0xb5, 0x2f, 0xfd };
    if (len >= 4 && memcmp(b, zmagic, 4) == 0) {        /* an archive: decompressed as read */
        sigaction(SIGBUS, &in->old_bus, NULL);
        atomic_store(&g_hi, 0);
        munmap(p, len);
        return -1;
    }
    madvise(p, len, MADV_SEQUENTIAL);
    in->map = b;
    in->map_len = len;
    in->map_span = (len + 4095) & ~(size_t)4095;
    in->st0 = *st;
    in->eof = 1;
    return 0;
}

int av_input_mapped(const av_input *in, const uint8_t **p, size_t *len)
{
    if (!in->map) return 0;
    *p = in->map;
    *len = in->map_len;
    return 1;
}

void av_input_release(void *ctx, uint64_t upto)
{
    av_input *in = ctx;
    const size_t step = (size_t)16 << 20;         /* in steps of 16 MiB */
    if (!in->map || upto > in->map_len) return;
    size_t end = (size_t)upto & ~(size_t)4095;
    if (end < in->dropped + step) return;
    /* A private file mapping that was never written: the pages stay in the
     * page cache, only this process's mapping of them goes. */
    madvise((void *)(in->map + in->dropped), end - in->dropped, MADV_DONTNEED);
    in->dropped = end;
}

int av_input_changed(const av_input *in, char *why, size_t cap)
{
    if (!in->map) return 0;
    struct stat st;
    if (atomic_load(&g_bus)) {
        snprintf(why, cap, "it was truncated");
        return 1;
    }
    if (fstat(in->fd, &st) != 0 || st.st_size != in->st0.st_size) {
        snprintf(why, cap, "its size changed");
        return 1;
    }
    if (st.st_mtim.tv_sec != in->st0.st_mtim.tv_sec || st.st_mtim.tv_nsec != in->st0.st_mtim.tv_nsec ||
        st.st_ctim.tv_sec != in->st0.st_ctim.tv_sec || st.st_ctim.tv_nsec != in->st0.st_ctim.tv_nsec) {
        snprintf(why, cap, "it was modified");
        return 1;
    }
    return 0;
}

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
    if (try_map(in, &st) == 0) {
        *out = in;
        return 0;
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
    if (in->map) {
        munmap((void *)in->map, in->map_len);
        atomic_store(&g_hi, 0);
        atomic_store(&g_lo, 0);
        sigaction(SIGBUS, &in->old_bus, NULL);
    }
    if (in->close_fd && in->fd >= 0) close(in->fd);
    ZSTD_freeDCtx(in->d);
    free(in->buf);
    free(in);
}
