/*
 * verify_hash.c: the hashing of the per-entry checks (verify_items.c) and
 * the private copies it works on: entries copied once into a worker's
 * scratch, leaf hashes and payload commitments two at a time
 * (st_sha256_2: with the SHA extensions the two interleave), and the hash
 * of the report's set of sessions.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sha256.h"
#include "verify_int.h"

/* For the set of distinct sessions only (never shown): 8 bytes at a time,
 * each mixed in with a multiply, then a final avalanche. */
uint64_t vhash64(const char *s, size_t n)
{
    uint64_t h = 0x9E3779B97F4A7C15ULL ^ n;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdULL;
        h ^= h >> 32;
    }
    if (i < n) {
        uint64_t w = 0;
        memcpy(&w, s + i, n - i);
        h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
        h ^= h >> 29;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h ? h : 1;                      /* 0 marks an empty slot */
}

/* Room for n bytes in a scratch buffer; NULL if out of memory. */
uint8_t *vscratch_get(uint8_t **buf, size_t *cap, size_t n)
{
    if (n > *cap) {
        size_t c = *cap ? *cap : 4096;
        while (c < n) c *= 2;
        uint8_t *p = realloc(*buf, c);
        if (!p) return NULL;
        *buf = p;
        *cap = c;
    }
    return *buf;
}

#define ST_COMMIT_PREFIX (sizeof ST_PAYLOAD_TAG + 16)   /* tag || 0x00 || salt */

void vcommit_hash(st_hash out, const uint8_t salt[16], const uint8_t *p, size_t n)
{
    static const uint8_t zero = 0;
    st_sha256_ctx c;
    st_sha256_init(&c);
    st_sha256_update(&c, ST_PAYLOAD_TAG, sizeof ST_PAYLOAD_TAG - 1);
    st_sha256_update(&c, &zero, 1);
    st_sha256_update(&c, salt, 16);
    st_sha256_update(&c, p, n);
    st_sha256_final(&c, out);
}

static void commit_prefix(uint8_t out[ST_COMMIT_PREFIX], const uint8_t salt[16])
{
    memcpy(out, ST_PAYLOAD_TAG, sizeof ST_PAYLOAD_TAG - 1);
    out[sizeof ST_PAYLOAD_TAG - 1] = 0;
    memcpy(out + sizeof ST_PAYLOAD_TAG, salt, 16);
}

/* The commitments of the PAYLOAD records among an item's first n records,
 * two at a time (st_sha256_2). Each head is decoded once, here; the checks
 * (in order, with their messages) stay with the caller. Returns n. */
size_t vcommit_ahead(const vbatch *b, const vrec *recs, size_t nrec, size_t n, vpay *out)
{
    if (n > nrec) n = nrec;
    size_t q = SIZE_MAX;
    uint8_t pre[2][ST_COMMIT_PREFIX];
    const uint8_t *data[2];
    for (size_t j = 0; j < n; j++) {
        const vrec *pr = &recs[j];
        out[j].ok = 0;
        if (pr->type != ST_BREC_PAYLOAD || pr->streamed) continue;
        const uint8_t *pb = vrec_body(b->arena, pr);
        if (st_brec_payload_decode(&out[j].ph, pb, pr->len, pr->len, NULL)) continue;
        out[j].ok = 1;
        unsigned slot = q == SIZE_MAX ? 0 : 1;
        commit_prefix(pre[slot], out[j].ph.salt);
        data[slot] = pb + out[j].ph.head_len;
        if (slot == 0) {
            q = j;
            continue;
        }
        st_sha256_2(out[q].c, pre[0], ST_COMMIT_PREFIX, data[0], (size_t)out[q].ph.data_len, out[j].c, pre[1],
                    ST_COMMIT_PREFIX, data[1], (size_t)out[j].ph.data_len);
        q = SIZE_MAX;
    }
    if (q != SIZE_MAX) vcommit_hash(out[q].c, out[q].ph.salt, data[0], (size_t)out[q].ph.data_len);
    return n;
}

/* Every check reads the entry bytes more than once (scan, leaf hash, facts):
 * they read a private copy, so a source that changes underneath (a mapped
 * file) cannot show the scan one entry and the hash another. The copy is
 * preceded by the leaf hash's 0x00 prefix. 0, or -1 (check_item says why). */
int vprep_entry(vbatch *b, vscratch *sc, unsigned slot, size_t k, vprep *o, st_err *err)
{
    const vrec *er = &b->recs[b->items[k].rec_first];
    if (st_brec_entry_decode(&o->be, vrec_body(b->arena, er), er->len, err)) return -1;
    uint8_t *cp = vscratch_get(&sc->ent[slot], &sc->ent_cap[slot], o->be.len + 1);
    if (!cp) {
        st_fail(err, ENOMEM, "out of memory");
        return -1;
    }
    cp[0] = 0;
    memcpy(cp + 1, o->be.bytes, o->be.len);
    o->be.bytes = cp + 1;
    o->hashed = 0;
    return 0;
}

void vprep_leaves(vprep *a, vprep *b)
{
    st_sha256_2(a->leaf, NULL, 0, a->be.bytes - 1, a->be.len + 1, b->leaf, NULL, 0, b->be.bytes - 1, b->be.len + 1);
    a->hashed = b->hashed = 1;
}

void vchain_build(vbatch *b)
{
    b->has_chain = 0;
    b->chain_len = 0;
    if (b->failed) return;
    size_t need = 0;
    for (size_t i = 0; i < b->nrec; i++) need += 5u + b->recs[i].hlen;
    if (!vscratch_get(&b->chain, &b->chain_cap, need)) return;   /* out of memory: record by record */
    uint8_t *o = b->chain;
    for (size_t i = 0; i < b->nrec; i++) {
        const vrec *r = &b->recs[i];
        o[0] = r->type;
        st_be32_put(o + 1, r->len);
        memcpy(o + 5, r->h, r->hlen);
        o += 5u + r->hlen;
    }
    b->chain_len = need;
    b->has_chain = 1;
}
