/*
 * input.h: auditverify's input files: a bundle, or a zstd-compressed bundle
 * (an archive, ".stb.zst"), from a path or standard input. A zstd stream is
 * recognised by its magic bytes (28 b5 2f fd) and decompressed as it is
 * read; the SHA-256 of the bytes as read (compressed or not) is kept, so
 * --retention can match an archive file with its archive record.
 *
 * Decompression lives in the tool, not in stverify: the verifier library
 * links only libsodium (docs/RETENTION.md "Compression").
 */
#ifndef AV_INPUT_H
#define AV_INPUT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct av_input av_input;

/* Opens path ("-" = standard input). With hash, the raw file bytes are
 * hashed as they are read (av_input_finish returns the digest; retention
 * checks match archive files by it). 0, or errno with msg set. */
int av_input_open(av_input **out, const char *path, int hash, char *msg, size_t msglen);
/* The st_bundle_read_fn for st_bundle_reader_new: decompressed bytes, 0 at
 * the end, -errno on error (-EILSEQ: damaged zstd data, -EPROTO: the file
 * ends inside a zstd frame). */
ssize_t av_input_read(void *ctx, uint8_t *buf, size_t n);
/* Reads what is left (bytes the verifier did not need) and returns the
 * SHA-256 of the whole file as read. 0 or errno. */
int av_input_finish(av_input *in, uint8_t sha256[32]);
int av_input_compressed(const av_input *in);
/* A plain regular file is mapped instead of read (input.c says why and how
 * a file that changes meanwhile is handled): 1 with the mapping, else 0. */
int av_input_mapped(const av_input *in, const uint8_t **p, size_t *len);
/* st_bundle_release_fn for a mapped file: drops its pages before upto. */
void av_input_release(void *ctx, uint64_t upto);
/* After verifying a mapped file: 1 (why set) if it was truncated or changed
 * since it was opened, so the result cannot stand; else 0. */
int av_input_changed(const av_input *in, char *why, size_t cap);
void av_input_close(av_input *in);    /* NULL is a no-op */

#endif
