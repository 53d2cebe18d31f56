/*
 * sha256.h: SHA-256 (FIPS 180-4) for the verifier's hot paths: leaf hashes
 * (two at a time, st_sha256_2), payload commitments, the bundle trailer chain. Uses the
 * x86 SHA extensions when the CPU has them (several times faster than
 * libsodium's portable code) and a portable FIPS 180-4 block function
 * otherwise. Every result is
 * checked against libsodium by tests/unit/test_bundle_sha256.c.
 */
#ifndef ST_SHA256_H
#define ST_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct st_sha256 {
    uint32_t h[8];
    uint64_t total;          /* bytes hashed so far */
    uint8_t block[64];
    size_t fill;             /* bytes in block */
} st_sha256_ctx;

void st_sha256_init(st_sha256_ctx *c);
void st_sha256_update(st_sha256_ctx *c, const void *data, size_t len);
void st_sha256_final(st_sha256_ctx *c, uint8_t out[32]);
void st_sha256(uint8_t out[32], const void *data, size_t len);
/* Two independent digests, SHA-256(pre_a || data_a) and SHA-256(pre_b ||
 * data_b), computed together: with the SHA extensions their rounds
 * interleave, nearly twice the throughput of one after the other. */
void st_sha256_2(uint8_t out_a[32], const void *pre_a, size_t plen_a, const void *data_a, size_t len_a,
                 uint8_t out_b[32], const void *pre_b, size_t plen_b, const void *data_b, size_t len_b);

/* 1 if the SHA extensions are in use. ST_SHA256_PORTABLE=1 in the
 * environment forces the portable path (tests compare the two). */
int st_sha256_accelerated(void);

#endif
