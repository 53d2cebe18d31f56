/*
 * entry_store.c: entry rows, raw or packed (layout in entry_store.h).
 *
 * WHY. An entry is about 560 bytes: 40% hex digits (commitments, often the
 * session) and most of the rest member names that every entry repeats.
 * Kept raw, entries were a third of a store's bytes and of what an import
 * writes, and this VM charges for every new page written. Packing halves
 * the hex and writes each common member name as one byte: 558 bytes become
 * about 200, in 0.6 us (and 0.2 us back). zstd with a trained dictionary made
 * them 231 bytes but cost 2.2 us per entry to compress (its per-frame setup
 * dominates at this size), more CPU than the bytes saved were worth.
 */
#include "entry_store.h"

#include "store_int.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

/* Token 0x02 + i stands for FRAGMENTS[i]: the member names of entries with
 * their separators, in the canonical order in which they meet (FORMAT.md
 * section 1.1), the common values with them. Never change or reorder. */
static const char *const FRAGMENTS[ST_ENTRY_FRAG_LAST - ST_ENTRY_FRAG_FIRST + 1] = {
    "{\"cwd\":\"",                                /* 0x02 */
    "\",\"duration_ms\":",                        /* 0x03 */
    "{\"duration_ms\":",                          /* 0x04 */
    ",\"error\":\"",                              /* 0x05 */
    ",\"event\":\"PostToolUse\",\"host\":\"",     /* 0x06 */
    ",\"event\":\"PreToolUse\",\"host\":\"",      /* 0x07 */
    "\",\"event\":\"PostToolUseFailure\",\"host\":\"", /* 0x08 */
    ",\"event\":\"",                              /* 0x09 */
    "\",\"host\":\"",                             /* 0x0a */
    "\",\"index\":",                              /* 0x0b */
    ",\"kind\":\"event\",\"payloads\":{",         /* 0x0c */
    ",\"kind\":\"import\",\"payloads\":{",        /* 0x0d */
    "\",\"payloads\":{",                          /* 0x0e */
    "\"event\":{\"commit\":\"",                   /* 0x0f */
    "\"error\":{\"commit\":\"",                   /* 0x10 */
    "\",\"len\":",                                /* 0x11 */
    "},\"tool_input\":{\"commit\":\"",            /* 0x12 */
    "},\"tool_response\":{\"commit\":\"",         /* 0x13 */
    "}},\"permission_mode\":\"default\"",         /* 0x14 */
    "}},\"recorded_us\":",                        /* 0x15 */
    ",\"prompt_id\":\"",                          /* 0x16 */
    ",\"session\":\"",                            /* 0x17 */
    "\",\"status\":\"succeeded\",\"time_us\":",   /* 0x18 */
    "\",\"status\":\"started\",\"time_us\":",     /* 0x19 */
    "\",\"status\":\"failed\",\"time_us\":",      /* 0x1a */
    "\",\"time_us\":",                            /* 0x1b */
    ",\"tool\":\"",                               /* 0x1c */
    "\",\"tool_use_id\":\"toolu_01",              /* 0x1d */
    "\",\"user\":\"",                             /* 0x1e */
    "\",\"v\":1}",                                /* 0x1f */
};
#define NFRAG (sizeof FRAGMENTS / sizeof FRAGMENTS[0])
#define FRAG_LONGEST 40u              /* no fragment is longer (checked by the unit test) */

const char *st_entry_fragment(unsigned t, size_t *len)
{
    if (t < ST_ENTRY_FRAG_FIRST || t > ST_ENTRY_FRAG_LAST) return NULL;
    const char *f = FRAGMENTS[t - ST_ENTRY_FRAG_FIRST];
    if (len) *len = strlen(f);
    return f;
}

/* A lowercase hex digit's value + 1 (the only digits a hex token stands
 * for), else 0. The packer decodes runs with it: st_hex_decode, which also
 * takes upper case, doubled the packer's time. */
static const uint8_t HEX[256] = {
    ['0'] = 0 + 1, ['1'] = 1 + 1, ['2'] = 2 + 1, ['3'] = 3 + 1, ['4'] = 4 + 1, ['5'] = 5 + 1, ['6'] = 6 + 1,
    ['7'] = 7 + 1, ['8'] = 8 + 1, ['9'] = 9 + 1, ['a'] = 10 + 1, ['b'] = 11 + 1, ['c'] = 12 + 1,
    ['d'] = 13 + 1, ['e'] = 14 + 1, ['f'] = 15 + 1,
};

/* What a byte may start, for the packer: every fragment is at least 4
 * bytes long and starts with one of { " , }. */
enum { C_LITERAL = 0, C_HEX, C_FRAGMENT, C_CONTROL };

/* The fragments by a hash of their first 4 bytes, longest first in each
 * bucket: every fragment that matches at a position has those 4 bytes, so
 * one bucket holds all candidates. Bucket b is refs[first[b] .. first[b+1]).
 * Built once; small, so that the hook, which packs one entry, touches one
 * page of it. */
#define BUCKETS 128
typedef struct frag_ref {
    uint32_t head;
    uint8_t token, len;
} frag_ref;

static uint8_t byte_class[256];
static frag_ref refs[NFRAG];
static uint8_t first[BUCKETS + 1];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static uint32_t head4(const void *p)
{
    uint32_t w;
    memcpy(&w, p, 4);
    return w;
}

static unsigned bucket_of(uint32_t head) { return (head * 2654435761u) >> 25; }   /* 7 bits */

static void frag_table(void)
{
    for (unsigned c = 0; c < 256; c++)
        byte_class[c] = c < 0x20 ? C_CONTROL : HEX[c] ? C_HEX : (c == '{' || c == '"' || c == ',' || c == '}') ? C_FRAGMENT
                                                                                                           : C_LITERAL;
    /* Insertion sort by (bucket, longer first), then where each bucket starts. */
    for (unsigned i = 0; i < NFRAG; i++) {
        const char *f = FRAGMENTS[i];
        frag_ref r = { head4(f), (uint8_t)(ST_ENTRY_FRAG_FIRST + i), (uint8_t)strlen(f) };
        unsigned b = bucket_of(r.head), j = i;
        while (j > 0 && (bucket_of(refs[j - 1].head) > b || (bucket_of(refs[j - 1].head) == b && refs[j - 1].len < r.len))) {
            refs[j] = refs[j - 1];
            j--;
        }
        refs[j] = r;
    }
    uint8_t count[BUCKETS] = { 0 };
    for (unsigned i = 0; i < NFRAG; i++) count[bucket_of(refs[i].head)]++;
    for (unsigned b = 0; b < BUCKETS; b++) first[b + 1] = (uint8_t)(first[b] + count[b]);
}

/* The longest fragment at s[0..avail), or NULL. */
static const frag_ref *fragment_at(const uint8_t *s, size_t avail)
{
    uint32_t h = head4(s);
    unsigned b = bucket_of(h);
    for (unsigned t = first[b]; t < first[b + 1]; t++) {
        const frag_ref *r = &refs[t];
        if (r->head == h && r->len <= avail && memcmp(s, FRAGMENTS[r->token - ST_ENTRY_FRAG_FIRST], r->len) == 0)
            return r;
    }
    return NULL;
}

int st_entry_row_pack(st_buf *out, const uint8_t *s, size_t n)
{
    st_buf_reset(out);
    if (n < 2 || n > ST_ENTRY_MAX || s[0] != '{') return 0;
    pthread_once(&table_once, frag_table);
    /* A packed row is never longer than 1 + n: every token is at most as long as what it stands for. */
    if (st_buf_reserve(out, 1 + n) != 0) return ENOMEM;
    uint8_t *o = out->data;
    size_t k = 0, i = 0;
    o[k++] = ST_ENTRY_ROW_PACKED;
    while (i < n) {
        uint8_t c = s[i];
        switch (byte_class[c]) {
        case C_LITERAL:
            o[k++] = c;
            i++;
            break;
        case C_HEX: {
            size_t j = 1;
            while (j < 32 && i + j < n && HEX[s[i + j]]) j++;
            if (j == 32) {
                o[k++] = ST_ENTRY_TOKEN_HEX;
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
            const frag_ref *f = n - i >= 4 ? fragment_at(s + i, n - i) : NULL;
            if (f) {
                o[k++] = f->token;
                i += f->len;
            } else {
                o[k++] = c;
                i++;
            }
            break;
        }
        default:                                         /* below 0x20: not entry text, kept raw */
            st_buf_reset(out);
            return 0;
        }
    }
    out->len = k < n ? k : 0;   /* no smaller: raw */
    return 0;
}

int st_entry_row_decode(const void *row, size_t rowlen, st_buf *scratch, const uint8_t **bytes, size_t *len)
{
    const uint8_t *r = row;
    if (rowlen >= 1 && r[0] == '{') {
        *bytes = r;
        *len = rowlen;
        return 0;
    }
    if (rowlen < 2 || r[0] != ST_ENTRY_ROW_PACKED) return ST_ECORRUPT;
    st_buf_reset(scratch);
    /* Each token expands to at most FRAG_LONGEST bytes: reserve for the worst case, bounded by the entry limit. */
    size_t cap = (rowlen - 1) * FRAG_LONGEST;
    if (cap > ST_ENTRY_MAX) cap = ST_ENTRY_MAX;
    if (st_buf_reserve(scratch, cap + FRAG_LONGEST) != 0) return ENOMEM;
    uint8_t *o = scratch->data;
    size_t k = 0;
    for (size_t i = 1; i < rowlen;) {
        if (k > cap) return ST_ECORRUPT;                 /* over ST_ENTRY_MAX */
        uint8_t c = r[i++];
        if (c >= 0x20) {
            o[k++] = c;
        } else if (c == ST_ENTRY_TOKEN_HEX) {
            if (rowlen - i < 16) return ST_ECORRUPT;
            st_hex_encode((char *)o + k, r + i, 16);     /* its NUL lands in the reserve, past the text */
            k += 32;
            i += 16;
        } else if (c >= ST_ENTRY_FRAG_FIRST) {
            const char *f = FRAGMENTS[c - ST_ENTRY_FRAG_FIRST];
            size_t fl = strlen(f);
            memcpy(o + k, f, fl);
            k += fl;
        } else {
            return ST_ECORRUPT;                          /* 0x00 */
        }
    }
    if (k > ST_ENTRY_MAX || o[0] != '{') return ST_ECORRUPT;
    scratch->len = k;
    *bytes = o;
    *len = k;
    return 0;
}

int st_entry_load(st_txn *txn, uint64_t index, const char *what, st_entry *out, st_err *err)
{
    const uint8_t *b;
    size_t bl;
    st_buf row = { 0 };
    int rc = st_entry_row_get(txn, index, &row, &b, &bl);
    if (rc) rc = st_fail(err, rc, "%s %llu: %s", what, (unsigned long long)index,
                         rc == ST_ECORRUPT ? "stored row is damaged" : st_strerror(rc));
    else rc = st_entry_parse(out, b, bl, err);    /* the parse copies what it keeps */
    st_buf_free(&row);
    return rc;
}

int st_entry_row_get(st_txn *txn, uint64_t index, st_buf *scratch, const uint8_t **bytes, size_t *len)
{
    uint8_t key[8];
    const void *v;
    size_t vl;
    st_be64_put(key, index);
    int rc = st_db_get(txn, ST_T_ENTRIES, key, 8, &v, &vl);
    if (rc) return rc;
    return st_entry_row_decode(v, vl, scratch, bytes, len);
}
