/*
 * bundle_synth.h: synthetic logs for the bundle tests (header-only; included
 * by tests/unit/test_bundle*.c). A synthetic log holds canonical entries
 * with two salted payloads each, an optional erasure record, signed
 * checkpoints at chosen sizes, and its own RFC 6962 tree: a table of perfect
 * subtree hashes plus PATH/PROOF written from RFC 6962 section 2.1, separate
 * from store/prove.c. It serves as an st_export_src, so the tests run the
 * real bundle layout (store/export.c) and the real verifier over it.
 *
 * Also: reframing (split a bundle into records, change them, write them
 * back with a correct trailer) for the tamper tests.
 */
#ifndef ST_BUNDLE_SYNTH_H
#define ST_BUNDLE_SYNTH_H

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "bundle_write.h"
#include "entry.h"
#include "export.h"
#include "merkle.h"
#include "note.h"
#include "sign.h"
#include "verifier.h"

#define SYN_T0 1763787173000000LL      /* 2025-11-22, microseconds */

typedef struct syn_payload {
    char name[16];
    uint8_t salt[16];
    st_buf bytes;
    int present;
    uint64_t record;
} syn_payload;

typedef struct syn {
    char origin[64];
    size_t n;
    st_buf *entries;
    syn_payload (*pay)[2];
    size_t *npay;
    st_hash *lv[64];                   /* lv[l][p] = perfect subtree hash */
    uint64_t *cps;                     /* checkpoint sizes, ascending */
    char **notes;
    size_t ncps;
    st_signer *signer;
    char vkey[ST_VKEY_MAX];
    st_vkey vk;
} syn;

/* A signer from a one-byte seed pattern, named origin. */
static st_signer *syn_signer(const char *origin, uint8_t seedbyte, char vkey[ST_VKEY_MAX], st_vkey *vk)
{
    uint8_t seed[32], pk[32], sk[64];
    memset(seed, seedbyte, sizeof seed);
    crypto_sign_seed_keypair(pk, sk, seed);
    uint32_t id = st_key_id(origin, strlen(origin), pk);
    uint8_t raw[33];
    raw[0] = 1;
    memcpy(raw + 1, seed, 32);
    char b64[64], s[512];
    st_b64_encode(b64, raw, 33);
    snprintf(s, sizeof s, "PRIVATE+KEY+%s+%08x+%s", origin, id, b64);
    st_signer *sg = NULL;
    st_err err;
    if (st_signer_from_string(&sg, s, strlen(s), &err)) {
        fprintf(stderr, "syn_signer: %s\n", err.msg);
        abort();
    }
    st_signer_vkey_string(sg, vkey);
    if (vk && st_vkey_parse(vk, vkey, strlen(vkey), &err)) abort();
    return sg;
}

static void syn_hex(char *out, const uint8_t *h) { st_hex_encode(out, h, 32); }

/* Entry i: an event with two payloads, or (when erase_of >= 0) an erasure record. */
static void syn_make_entry(syn *s, size_t i, long erase_of, const char *erase_name)
{
    st_buf *e = &s->entries[i];
    static const char *const tools[] = { "Bash", "Edit", "Read" };
    if (erase_of >= 0) {
        st_buf_printf(e, "{\"data\":{\"index\":%ld,\"payloads\":[\"%s\"],\"reason\":\"test\"},\"index\":%zu,"
                         "\"kind\":\"erasure\",\"time_us\":%lld,\"v\":1}",
                      erase_of, erase_name, i, SYN_T0 + (long long)i * 1000000);
        s->npay[i] = 0;
        return;
    }
    char commit[2][65];
    for (int j = 0; j < 2; j++) {
        syn_payload *p = &s->pay[i][j];
        snprintf(p->name, sizeof p->name, "%s", j ? "tool_response" : "tool_input");
        for (int b = 0; b < 16; b++) p->salt[b] = (uint8_t)(i * 31 + j * 7 + b);
        if (j == 0) st_buf_printf(&p->bytes, "{\"command\":\"echo %zu\"}", i);
        else st_buf_printf(&p->bytes, "{\"stdout\":\"line %zu with auth token REDACTED\"}", i);
        p->present = 1;
        st_hash c;
        st_payload_commit(c, p->salt, p->bytes.data, p->bytes.len);
        syn_hex(commit[j], c);
    }
    s->npay[i] = 2;
    st_buf_printf(e, "{\"event\":\"PostToolUse\",\"index\":%zu,\"kind\":\"event\",\"payloads\":{"
                     "\"tool_input\":{\"commit\":\"%s\",\"len\":%zu},\"tool_response\":{\"commit\":\"%s\",\"len\":%zu}},"
                     "\"session\":\"sess-%zu\",\"status\":\"%s\",\"time_us\":%lld,\"tool\":\"%s\",\"v\":1}",
                  i, commit[0], s->pay[i][0].bytes.len, commit[1], s->pay[i][1].bytes.len, i / 5,
                  i % 4 == 3 ? "failed" : "succeeded", SYN_T0 + (long long)i * 1000000, tools[i % 3]);
}

/* Perfect-subtree hash of an aligned power-of-two range, else RFC 6962 MTH by recursion. */
static void syn_mth(const syn *s, uint64_t b, uint64_t e, st_hash out)
{
    uint64_t n = e - b;
    if (n == 0) { st_empty_root(out); return; }
    if ((n & (n - 1)) == 0 && b % n == 0) {
        unsigned l = (unsigned)__builtin_ctzll(n);
        memcpy(out, s->lv[l][b >> l], 32);
        return;
    }
    uint64_t k = 1;
    while (k * 2 < n) k *= 2;
    st_hash l, r;
    syn_mth(s, b, b + k, l);
    syn_mth(s, b + k, e, r);
    st_node_hash(out, l, r);
}

/* Builds the tree table and signs checkpoints at cps[] (ascending, last = n). */
static void syn_seal(syn *s, const uint64_t *cps, size_t ncps)
{
    for (unsigned l = 0; l < 64; l++) { free(s->lv[l]); s->lv[l] = NULL; }
    s->lv[0] = calloc(s->n ? s->n : 1, sizeof(st_hash));
    for (size_t i = 0; i < s->n; i++) st_leaf_hash(s->lv[0][i], s->entries[i].data, s->entries[i].len);
    for (unsigned l = 1; l < 64 && (s->n >> l); l++) {
        size_t cnt = s->n >> l;
        s->lv[l] = calloc(cnt, sizeof(st_hash));
        for (size_t p = 0; p < cnt; p++) st_node_hash(s->lv[l][p], s->lv[l - 1][2 * p], s->lv[l - 1][2 * p + 1]);
    }
    for (size_t i = 0; i < s->ncps; i++) free(s->notes[i]);
    free(s->notes);
    free(s->cps);
    s->cps = calloc(ncps, sizeof *s->cps);
    s->notes = calloc(ncps, sizeof *s->notes);
    s->ncps = ncps;
    for (size_t i = 0; i < ncps; i++) {
        st_hash root;
        syn_mth(s, 0, cps[i], root);
        st_buf nb = { 0 };
        st_err err;
        st_signer *sg[1] = { s->signer };
        if (st_checkpoint_sign(&nb, sg, 1, s->origin, cps[i], root, 1763787173 + (int64_t)i, &err)) {
            fprintf(stderr, "syn_seal: %s\n", err.msg);
            abort();
        }
        s->cps[i] = cps[i];
        s->notes[i] = st_buf_steal_str(&nb, NULL);
    }
}

/* A log of n entries; erase (if >= 0): entry `erase`'s tool_response is erased by
 * an erasure record appended as the last entry (n includes it). Checkpoints every
 * `every` entries and at n. */
static syn *syn_new(size_t n, long erase, uint64_t every, uint8_t seedbyte, const char *origin)
{
    syn *s = calloc(1, sizeof *s);
    snprintf(s->origin, sizeof s->origin, "%s", origin ? origin : "example.test/log");
    s->n = n;
    s->entries = calloc(n ? n : 1, sizeof *s->entries);
    s->pay = calloc(n ? n : 1, sizeof *s->pay);
    s->npay = calloc(n ? n : 1, sizeof *s->npay);
    s->signer = syn_signer(s->origin, seedbyte, s->vkey, &s->vk);
    for (size_t i = 0; i < n; i++) {
        if (erase >= 0 && i == n - 1) syn_make_entry(s, i, erase, "tool_response");
        else syn_make_entry(s, i, -1, NULL);
    }
    if (erase >= 0 && (size_t)erase < n - 1) {
        s->pay[erase][1].present = 0;
        s->pay[erase][1].record = n - 1;
    }
    uint64_t *cps = calloc(n / (every ? every : 1) + 2, sizeof *cps);
    size_t nc = 0;
    if (n == 0) cps[nc++] = 0;
    for (uint64_t x = every; every && x < n; x += every) cps[nc++] = x;
    if (n) cps[nc++] = n;
    syn_seal(s, cps, nc);
    free(cps);
    return s;
}

static void syn_free(syn *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->n; i++) {
        st_buf_free(&s->entries[i]);
        st_buf_free(&s->pay[i][0].bytes);
        st_buf_free(&s->pay[i][1].bytes);
    }
    for (unsigned l = 0; l < 64; l++) free(s->lv[l]);
    for (size_t i = 0; i < s->ncps; i++) free(s->notes[i]);
    free(s->notes);
    free(s->cps);
    free(s->entries);
    free(s->pay);
    free(s->npay);
    st_signer_free(s->signer);
    free(s);
}

/* ---- RFC 6962 2.1.1 PATH and 2.1.2 PROOF ------------------------------------------ */

static size_t syn_path(const syn *s, uint64_t m, uint64_t b, uint64_t e, st_hash *out)
{
    uint64_t n = e - b;
    if (n <= 1) return 0;
    uint64_t k = 1;
    while (k * 2 < n) k *= 2;
    size_t c;
    if (m - b < k) {
        c = syn_path(s, m, b, b + k, out);
        syn_mth(s, b + k, e, out[c]);
    } else {
        c = syn_path(s, m, b + k, e, out);
        syn_mth(s, b, b + k, out[c]);
    }
    return c + 1;
}

static size_t syn_subproof(const syn *s, uint64_t m, uint64_t b, uint64_t e, int flag, st_hash *out)
{
    uint64_t n = e - b;
    if (m == n) {
        if (flag) return 0;
        syn_mth(s, b, e, out[0]);
        return 1;
    }
    uint64_t k = 1;
    while (k * 2 < n) k *= 2;
    size_t c;
    if (m <= k) {
        c = syn_subproof(s, m, b, b + k, flag, out);
        syn_mth(s, b + k, e, out[c]);
    } else {
        c = syn_subproof(s, m - k, b + k, e, 0, out);
        syn_mth(s, b, b + k, out[c]);
    }
    return c + 1;
}

/* ---- the st_export_src over a synthetic log ----------------------------------------- */

static int syn_checkpoint(void *ctx, uint64_t size, unsigned mode, uint64_t *size_out, char **note, size_t *len)
{
    syn *s = ctx;
    long pick = -1;
    for (size_t i = 0; i < s->ncps; i++) {
        if (mode == ST_CP_EXACT && s->cps[i] == size) pick = (long)i;
        if (mode == ST_CP_AT_LEAST && s->cps[i] >= size) { pick = (long)i; break; }
        if (mode == ST_CP_AT_MOST && s->cps[i] <= size) pick = (long)i;
    }
    if (pick < 0) return ST_ENOTFOUND;
    *size_out = s->cps[pick];
    *note = strdup(s->notes[pick]);
    *len = strlen(*note);
    return 0;
}

static int syn_node(void *ctx, unsigned level, uint64_t pos, st_hash out)
{
    syn *s = ctx;
    if (level >= 64 || !s->lv[level] || pos >= (s->n >> level)) return ST_ENOTFOUND;
    memcpy(out, s->lv[level][pos], 32);
    return 0;
}

static int syn_prove_cons(void *ctx, uint64_t m, uint64_t n, st_hash **h, size_t *np)
{
    syn *s = ctx;
    *h = calloc(130, sizeof(st_hash));
    *np = (m == 0 || m == n) ? 0 : syn_subproof(s, m, 0, n, 1, *h);
    return 0;
}

static int syn_prove_incl(void *ctx, uint64_t index, uint64_t size, st_hash **h, size_t *np)
{
    syn *s = ctx;
    *h = calloc(66, sizeof(st_hash));
    *np = syn_path(s, index, 0, size, *h);
    return 0;
}

static int syn_entry(void *ctx, uint64_t index, const uint8_t **bytes, size_t *len)
{
    syn *s = ctx;
    if (index >= s->n) return ST_ENOTFOUND;
    *bytes = s->entries[index].data;
    *len = s->entries[index].len;
    return 0;
}

static int syn_payloads(void *ctx, uint64_t index, st_export_payload_fn fn, void *fctx)
{
    syn *s = ctx;
    for (size_t j = 0; j < s->npay[index]; j++) {
        syn_payload *p = &s->pay[index][j];
        int rc = fn(fctx, p->name, p->present, p->bytes.data, p->bytes.len, p->salt, p->record);
        if (rc) return rc;
    }
    return 0;
}

static int syn_absences(void *ctx, uint64_t begin, uint64_t end, st_export_absence_fn fn, void *fctx)
{
    syn *s = ctx;
    for (uint64_t i = begin; i < end && i < s->n; i++)
        for (size_t j = 0; j < s->npay[i]; j++)
            if (!s->pay[i][j].present) {
                int rc = fn(fctx, i, s->pay[i][j].name, s->pay[i][j].record);
                if (rc) return rc;
            }
    return 0;
}

static st_export_src syn_src(syn *s)
{
    st_export_src src = { s, syn_checkpoint, syn_node, syn_prove_cons, syn_prove_incl, syn_entry, syn_payloads,
                          syn_absences };
    return src;
}

/* ---- export helpers ------------------------------------------------------------------- */

typedef struct syn_sel {
    st_sel_kind kind;
    uint64_t begin, end;       /* range / time (indices) */
    const char *tool;          /* filter: tool == */
    const char *prev_note;     /* --from-checkpoint */
    uint64_t prev_size;
} syn_sel;

/* Exports s with the selection into out. Returns st_export_write's result. */
static int syn_export(syn *s, const syn_sel *sel, st_buf *out)
{
    st_json_doc *doc = st_json_doc_new();
    st_json *o = st_json_new_object(doc);
    const char *kinds[] = { "full", "range", "time", "filter" };
    st_json_object_add(doc, o, "kind", 4, st_json_new_str(doc, kinds[sel->kind]));
    st_export_plan p;
    memset(&p, 0, sizeof p);
    p.origin = s->origin;
    p.kind = sel->kind;
    p.final_size = s->cps[s->ncps - 1];
    uint64_t *idx = NULL;
    if (sel->kind == ST_SEL_FULL) {
        p.begin = 0;
        p.end = p.final_size;
    } else if (sel->kind == ST_SEL_RANGE) {
        p.begin = sel->begin;
        p.end = sel->end;
    } else if (sel->kind == ST_SEL_TIME) {
        p.begin = sel->begin;
        p.end = sel->end;
        st_json_object_add(doc, o, "since_us", 8, st_json_new_int(doc, SYN_T0 + (int64_t)sel->begin * 1000000));
        /* entry i happened at T0 + i s: the window [begin s, end s) selects entries [begin, end) */
        int64_t until = SYN_T0 + (int64_t)sel->end * 1000000;
        if (sel->end <= sel->begin) until = SYN_T0 + (int64_t)sel->begin * 1000000 + 1;
        st_json_object_add(doc, o, "until_us", 8, st_json_new_int(doc, until));
    } else {
        st_json *a = st_json_new_array(doc);
        st_json_array_add(doc, a, st_json_new_str(doc, sel->tool));
        st_json_object_add(doc, o, "tool", 4, a);
        idx = calloc(s->n + 1, sizeof *idx);
        for (size_t i = 0; i < p.final_size; i++) {
            size_t tl;
            st_json_doc *d = NULL;
            st_json_parse(&d, (const char *)s->entries[i].data, s->entries[i].len, NULL, NULL, NULL);
            const char *t = st_json_get_str(st_json_doc_root(d), "tool", &tl);
            if (t && tl == strlen(sel->tool) && memcmp(t, sel->tool, tl) == 0) idx[p.nindices++] = i;
            st_json_doc_free(d);
        }
        p.indices = idx;
        p.begin = p.nindices ? idx[0] : 0;
        p.end = p.nindices ? idx[p.nindices - 1] + 1 : 0;
    }
    p.selection = o;
    const char *keys[1] = { s->vkey };
    p.vkeys = keys;
    p.nvkeys = 1;
    p.policy_index = -1;
    p.created_us = SYN_T0;
    p.exporter = "sealtrail test";
    if (sel->prev_note) {
        p.previous_note = sel->prev_note;
        p.previous_len = strlen(sel->prev_note);
        p.previous_size = sel->prev_size;
    }
    st_bundle_writer *w = NULL;
    if (st_bw_open_buf(&w, out)) abort();
    st_export_src src = syn_src(s);
    st_err err = { { 0 } };
    int rc = st_export_write(&src, &p, w, NULL, &err);
    if (rc) fprintf(stderr, "syn_export: %s (%s)\n", st_strerror(rc), err.msg);
    st_bw_free(w);
    st_json_doc_free(doc);
    free(idx);
    return rc;
}

static int syn_verify(const st_buf *b, const st_vkey *trust, const char *prev, unsigned threads,
                      st_verify_report *rep)
{
    st_verify_opts o = { .trust = trust, .ntrust = 1, .previous = prev, .previous_len = prev ? strlen(prev) : 0, .threads = threads };
    return st_verify_bundle_mem(b->data, b->len, &o, rep);
}

/* ---- reframing ---------------------------------------------------------------------------- */

typedef struct rrec {
    uint8_t type;
    st_buf body;
} rrec;

typedef struct rbundle {
    rrec *r;
    size_t n;
} rbundle;

/* Splits a well-framed bundle into its records (trailer excluded). 0 or -1. */
static int rb_split(const st_buf *b, rbundle *out)
{
    memset(out, 0, sizeof *out);
    if (b->len < ST_BUNDLE_MAGIC_LEN) return -1;
    size_t off = ST_BUNDLE_MAGIC_LEN;
    out->r = calloc(b->len / 5 + 1, sizeof *out->r);
    while (off + 5 <= b->len) {
        uint8_t t = b->data[off];
        uint32_t len = st_be32_get(b->data + off + 1);
        if (off + 5 + len > b->len) return -1;
        if (t == ST_BREC_TRAILER) return 0;
        out->r[out->n].type = t;
        st_buf_put(&out->r[out->n].body, b->data + off + 5, len);
        out->n++;
        off += 5 + len;
    }
    return -1;
}

/* Writes the records back with a correct trailer (magic from `magic` if non-NULL). */
static void rb_join(const rbundle *rb, st_buf *out)
{
    st_bundle_writer *w = NULL;
    if (st_bw_open_buf(&w, out)) abort();
    for (size_t i = 0; i < rb->n; i++)
        if (st_bw_record(w, rb->r[i].type, rb->r[i].body.data, rb->r[i].body.len)) abort();
    if (st_bw_finish(w)) abort();
    st_bw_free(w);
}

static void rb_free(rbundle *rb)
{
    for (size_t i = 0; i < rb->n; i++) st_buf_free(&rb->r[i].body);
    free(rb->r);
    memset(rb, 0, sizeof *rb);
}

/* Index of the k-th record of a type (k from 0), or -1. */
static inline long rb_find(const rbundle *rb, uint8_t type, size_t k)
{
    for (size_t i = 0; i < rb->n; i++)
        if (rb->r[i].type == type && k-- == 0) return (long)i;
    return -1;
}

static inline void rb_remove(rbundle *rb, size_t i, size_t count)
{
    for (size_t j = i; j < i + count; j++) st_buf_free(&rb->r[j].body);
    memmove(&rb->r[i], &rb->r[i + count], (rb->n - i - count) * sizeof *rb->r);
    rb->n -= count;
}

/* Inserts a copy of record src at position i (the array has room: it was sized for the whole file). */
static inline void rb_insert_copy(rbundle *rb, size_t i, const rrec *src)
{
    rrec c;
    c.type = src->type;
    memset(&c.body, 0, sizeof c.body);
    st_buf_put(&c.body, src->body.data, src->body.len);
    rb->r = realloc(rb->r, (rb->n + 1) * sizeof *rb->r);
    memmove(&rb->r[i + 1], &rb->r[i], (rb->n - i) * sizeof *rb->r);
    rb->r[i] = c;
    rb->n++;
}

#endif
