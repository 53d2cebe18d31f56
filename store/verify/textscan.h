/*
 * textscan.h: looks for a string (and its JSON-escaped form) in bytes that
 * arrive in chunks, as a streamed payload does in auditverify (VERIFYING.md
 * step 11.5): a match may straddle two chunks, so the last (longest needle
 * - 1) bytes of what was fed are kept and searched together with the start
 * of the next chunk.
 */
#ifndef ST_TEXTSCAN_H
#define ST_TEXTSCAN_H

#include <stddef.h>
#include <stdint.h>

typedef struct st_textscan {
    const char *a, *b;         /* the needles (b may be NULL) */
    size_t alen, blen;
    size_t keep;               /* longest needle - 1 */
    uint8_t *tail;             /* 2 * keep bytes: the kept tail, then the next chunk's head */
    size_t tl;
    int hit;
} st_textscan;

/* 1 if a[0..alen) or (b non-NULL) b[0..blen) occurs in p[0..n). */
int st_text_either_in(const uint8_t *p, size_t n, const char *a, size_t alen, const char *b, size_t blen);

/* 0, or ENOMEM. a must be non-empty; b may be NULL (blen 0). The needles are borrowed. */
int st_textscan_init(st_textscan *t, const char *a, size_t alen, const char *b, size_t blen);
/* Feeds the next n bytes; t->hit is 1 once either needle has occurred in what was fed. */
void st_textscan_feed(st_textscan *t, const uint8_t *p, size_t n);
void st_textscan_free(st_textscan *t);

#endif
