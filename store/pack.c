/*
 * pack.c: the token packer and expander (pack.h).
 *
 * The packer looks a fragment up by a hash of its first 4 bytes: every
 * fragment that matches at a position has those 4 bytes, so one bucket
 * holds all candidates, longest first. The table is small (30 refs and
 * 129 offsets), so that the hook, which packs a few texts, touches one page
 * of it.
 */
#include "pack.h"

#include "store_int.h"

#include <errno.h>
#include <string.h>

/* A lowercase hex digit's value + 1 (the only digits a hex token stands
 * for), else 0. The packer decodes runs with it: st_hex_decode, which also
 * takes upper case, doubled the packer's time. */
static const uint8_t HEX[256] = {
    ['0'] = 0 + 1, ['1'] = 1 + 1, ['2'] = 2 + 1, ['3'] = 3 + 1, ['4'] = 4 + 1, ['5'] = 5 + 1, ['6'] = 6 + 1,
    ['7'] = 7 + 1, ['8'] = 8 + 1, ['9'] = 9 + 1, ['a'] = 10 + 1, ['b'] = 11 + 1, ['c'] = 12 + 1,
    ['d'] = 13 + 1, ['e'] = 14 + 1, ['f'] = 15 + 1,
};

/* What a byte may start, for the packer. */
enum { C_LITERAL = 0, C_HEX, C_FRAGMENT, C_CONTROL };

static uint32_t head4(const void *p)
{
    uint32_t w;
    memcpy(&w, p, 4);
    return w;
}

static unsigned bucket_of(uint32_t head) { return (head * 2654435761u) >> 25; }   /* 7 bits */

void st_pack_table_build(st_pack_table *t)
{
    for (unsigned c = 0; c < 256; c++) t->byte_class[c] = c < 0x20 ? C_CONTROL : HEX[c] ? C_HEX : C_LITERAL;
    for (unsigned i = 0; i < ST_PACK_NFRAG; i++) t->byte_class[(uint8_t)t->frags[i][0]] = C_FRAGMENT;
    /* Insertion sort by (bucket, longer first), then where each bucket starts. */
    for (unsigned i = 0; i < ST_PACK_NFRAG; i++) {
        const char *f = t->frags[i];
        st_pack_ref r = { head4(f), (uint8_t)(ST_PACK_FRAG_FIRST + i), (uint8_t)strlen(f) };
        unsigned b = bucket_of(r.head), j = i;
        while (j > 0 && (bucket_of(t->refs[j - 1].head) > b ||
                         (bucket_of(t->refs[j - 1].head) == b && t->refs[j - 1].len < r.len))) {
            t->refs[j] = t->refs[j - 1];
            j--;
        }
        t->refs[j] = r;
    }
    uint8_t count[ST_PACK_BUCKETS] = { 0 };
    for (unsigned i = 0; i < ST_PACK_NFRAG; i++) count[bucket_of(t->refs[i].head)]++;
    t->first[0] = 0;
    for (unsigned b = 0; b < ST_PACK_BUCKETS; b++) t->first[b + 1] = (uint8_t)(t->first[b] + count[b]);
}

/* The longest fragment at s[0..avail) (avail >= 4), or NULL. */
static const st_pack_ref *fragment_at(const st_pack_table *t, const uint8_t *s, size_t avail)
{
    uint32_t h = head4(s);
    unsigned b = bucket_of(h);
    for (unsigned i = t->first[b]; i < t->first[b + 1]; i++) {
        const st_pack_ref *r = &t->refs[i];
        if (r->head == h && r->len <= avail && memcmp(s, t->frags[r->token - ST_PACK_FRAG_FIRST], r->len) == 0)
            return r;
    }
    return NULL;
}

size_t st_pack(st_pack_table *t, const uint8_t *s, size_t n, uint8_t *o)
{
    pthread_once(&t->once, t->build);
    size_t k = 0, i = 0;
    while (i < n) {
        uint8_t c = s[i];
        switch (t->byte_class[c]) {
        case C_LITERAL:
            o[k++] = c;
            i++;
            break;
        case C_HEX: {
            size_t j = 1;
            while (j < 32 && i + j < n && HEX[s[i + j]]) j++;
            if (j == 32) {
                o[k++] = ST_PACK_TOKEN_HEX;
                for (size_t b = 0; b < 16; b++)
                    o[k++] = (uint8_t)((HEX[s[i + 2 * b]] - 1) << 4 | (HEX[s[i + 2 * b + 1]] - 1));
            } else {
                memcpy(o + k, s + i, j);                 /* a shorter run: the digits themselves */
                k += j;
            }
            i += j;
            break;
        }
        case C_FRAGMENT: {
            const st_pack_ref *f = n - i >= ST_PACK_FRAG_MIN ? fragment_at(t, s + i, n - i) : NULL;
            if (f) {
                o[k++] = f->token;
                i += f->len;
            } else {
                o[k++] = c;
                i++;
            }
            break;
        }
        default:                                         /* below 0x20: not JSON text */
            return SIZE_MAX;
        }
    }
    return k;
}

int st_unpack(st_pack_table *t, const uint8_t *r, size_t n, size_t max, st_buf *out)
{
    st_buf_reset(out);
    /* Each token expands to at most ST_PACK_FRAG_MAX bytes: reserve for the worst case, bounded by max. */
    size_t cap = n > max / ST_PACK_FRAG_MAX ? max : n * ST_PACK_FRAG_MAX;
    if (st_buf_reserve(out, cap + ST_PACK_FRAG_MAX + 1) != 0) return ENOMEM;
    uint8_t *o = out->data;
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        if (k > cap) return ST_ECORRUPT;                 /* over max */
        uint8_t c = r[i++];
        if (c >= 0x20) {
            o[k++] = c;
        } else if (c == ST_PACK_TOKEN_HEX) {
            if (n - i < 16) return ST_ECORRUPT;
            st_hex_encode((char *)o + k, r + i, 16);     /* its NUL lands in the reserve, past the text */
            k += 32;
            i += 16;
        } else if (c >= ST_PACK_FRAG_FIRST) {
            const char *f = t->frags[c - ST_PACK_FRAG_FIRST];
            size_t fl = strlen(f);
            memcpy(o + k, f, fl);
            k += fl;
        } else {
            return ST_ECORRUPT;                          /* 0x00 */
        }
    }
    if (k > max) return ST_ECORRUPT;
    out->len = k;
    return 0;
}
