/*
 * bundle_codec.c: the pure parts of the bundle container (docs/FORMAT.md section 6):
 * the trailer digest chain [BUNDLE-5], which the writer and the verifier
 * both feed record by record, and the decoders of each record type's fixed
 * fields [BUNDLE-3]. Every decoder checks lengths before it reads and names
 * the record's shape in its error.
 */
#include "bundle.h"

#include <string.h>

#include "entry.h"

/* ---- the trailer digest chain [BUNDLE-5] -------------------------------------------- */

void st_bundle_chain_init(st_bundle_chain *c)
{
    st_sha256_init(&c->sha);
    st_sha256_update(&c->sha, ST_BUNDLE_MAGIC, ST_BUNDLE_MAGIC_LEN);
    c->count = 0;
}

void st_bundle_chain_add(st_bundle_chain *c, uint8_t type, uint32_t len, const uint8_t *h, size_t hlen)
{
    uint8_t hdr[5];
    hdr[0] = type;
    st_be32_put(hdr + 1, len);
    st_sha256_update(&c->sha, hdr, 5);
    st_sha256_update(&c->sha, h, hlen);
    c->count++;
}

void st_bundle_chain_add_run(st_bundle_chain *c, const uint8_t *bytes, size_t len, uint64_t nrec)
{
    st_sha256_update(&c->sha, bytes, len);
    c->count += nrec;
}

void st_bundle_chain_add_body(st_bundle_chain *c, uint8_t type, const uint8_t *body, uint32_t len)
{
    uint8_t h[32];
    st_sha256(h, body, len);
    st_bundle_chain_add(c, type, len, h, 32);
}

void st_bundle_chain_add_entry(st_bundle_chain *c, uint8_t type, uint32_t len, uint64_t index, const st_hash leaf)
{
    uint8_t h[40];
    st_be64_put(h, index);
    memcpy(h + 8, leaf, 32);
    st_bundle_chain_add(c, type, len, h, sizeof h);
}

void st_bundle_chain_add_payload(st_bundle_chain *c, uint32_t len, uint64_t index, const char *name,
                                 size_t name_len, const st_hash commit)
{
    uint8_t h[8 + 1 + 255 + 32];
    if (name_len > 255) name_len = 255;
    st_be64_put(h, index);
    h[8] = (uint8_t)name_len;
    memcpy(h + 9, name, name_len);
    memcpy(h + 9 + name_len, commit, 32);
    st_bundle_chain_add(c, ST_BREC_PAYLOAD, len, h, 9 + name_len + 32);
}

void st_bundle_chain_trailer(st_bundle_chain *c, uint8_t out[ST_BREC_TRAILER_LEN])
{
    st_sha256_ctx tmp = c->sha;
    st_be64_put(out, c->count);
    st_sha256_final(&tmp, out + 8);
}

int st_bundle_chain_check(st_bundle_chain *c, const uint8_t *body, size_t len, st_err *err)
{
    if (len != ST_BREC_TRAILER_LEN)
        return st_fail(err, ST_EFORMAT, "trailer: %zu bytes, expected %u", len, ST_BREC_TRAILER_LEN);
    uint8_t want[ST_BREC_TRAILER_LEN];
    st_bundle_chain_trailer(c, want);
    uint64_t count = st_be64_get(body);
    if (count != c->count)
        return st_fail(err, ST_EFORMAT, "trailer: record count %llu, but the bundle has %llu records before it",
                       (unsigned long long)count, (unsigned long long)c->count);
    if (memcmp(want + 8, body + 8, 32) != 0) {
        char a[65], b[65];
        st_hex_encode(a, want + 8, 32);
        st_hex_encode(b, body + 8, 32);
        return st_fail(err, ST_EFORMAT, "trailer: digest mismatch: computed %s, bundle has %s", a, b);
    }
    return 0;
}

/* ---- record decoders ---------------------------------------------------------------- */

int st_brec_proof_decode(st_brec_proof *out, const uint8_t *body, size_t len, st_err *err)
{
    if (len < 16 || (len - 16) % ST_HASH_BYTES != 0)
        return st_fail(err, ST_EFORMAT, "proof record of %zu bytes: not 16 + a multiple of 32", len);
    out->a = st_be64_get(body);
    out->b = st_be64_get(body + 8);
    out->hashes = body + 16;
    out->n = (len - 16) / ST_HASH_BYTES;
    return 0;
}

int st_brec_frontier_decode(st_brec_frontier *out, const uint8_t *body, size_t len, st_err *err)
{
    if (len < 8 || (len - 8) % ST_HASH_BYTES != 0)
        return st_fail(err, ST_EFORMAT, "frontier record of %zu bytes: not 8 + a multiple of 32", len);
    out->size = st_be64_get(body);
    out->hashes = body + 8;
    out->n = (len - 8) / ST_HASH_BYTES;
    size_t want = (size_t)__builtin_popcountll(out->size);
    if (out->n != want)
        return st_fail(err, ST_EFORMAT, "frontier at size %llu: %zu hashes, expected %zu (one per set bit)",
                       (unsigned long long)out->size, out->n, want);
    return 0;
}

int st_brec_entry_decode(st_brec_entry *out, const uint8_t *body, size_t len, st_err *err)
{
    if (len < 9 || len - 8 > ST_ENTRY_MAX)
        return st_fail(err, ST_EFORMAT, "entry record of %zu bytes (allowed 9..%u)", len, 8 + ST_ENTRY_MAX);
    out->index = st_be64_get(body);
    out->bytes = body + 8;
    out->len = len - 8;
    return 0;
}

static int decode_name(char name[33], size_t *nlen, const uint8_t *p, size_t avail, st_err *err)
{
    size_t n = p[0];
    if (n == 0 || n > ST_PAYLOAD_NAME_MAX || 1 + n > avail)
        return st_fail(err, ST_EFORMAT, "payload name length %zu (allowed 1..%u)", n, ST_PAYLOAD_NAME_MAX);
    if (!st_payload_name_valid((const char *)p + 1, n))
        return st_fail(err, ST_EFORMAT, "payload name is not [a-z0-9_]{1,32}");
    memcpy(name, p + 1, n);
    name[n] = 0;
    *nlen = n;
    return 0;
}

int st_brec_payload_decode(st_brec_payload *out, const uint8_t *head, size_t avail, uint64_t body_len, st_err *err)
{
    memset(out, 0, sizeof *out);
    if (avail < 9 || body_len < 9) return st_fail(err, ST_EFORMAT, "payload record too short");
    out->index = st_be64_get(head);
    int rc = decode_name(out->name, &out->name_len, head + 8, avail - 8, err);
    if (rc) return rc;
    out->head_len = 8 + 1 + out->name_len + ST_SALT_BYTES;
    if (avail < out->head_len || body_len < out->head_len)
        return st_fail(err, ST_EFORMAT, "payload record too short for its salt");
    memcpy(out->salt, head + 9 + out->name_len, ST_SALT_BYTES);
    out->data_len = body_len - out->head_len;
    return 0;
}

int st_brec_absent_decode(st_brec_absent *out, const uint8_t *body, size_t len, st_err *err)
{
    memset(out, 0, sizeof *out);
    if (len < 9) return st_fail(err, ST_EFORMAT, "absent record too short");
    out->index = st_be64_get(body);
    int rc = decode_name(out->name, &out->name_len, body + 8, len - 8, err);
    if (rc) return rc;
    if (len != 8 + 1 + out->name_len + 8)
        return st_fail(err, ST_EFORMAT, "absent record of %zu bytes, expected %zu", len, 8 + 1 + out->name_len + 8);
    out->record = st_be64_get(body + 9 + out->name_len);
    return 0;
}
