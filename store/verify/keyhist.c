/*
 * keyhist.c: what a history of key notes means for checkpoints. The store
 * (st_keys_for_checkpoint) and auditverify ask the same question here:
 * which keys may sign a checkpoint of this origin, of size n, sealed at
 * time t? The rules are docs/KEYS.md [KEYS-9..13]:
 *
 *   grants   a key may sign when one of these holds for it
 *            - it is pinned (simple mode: the auditor trusts it directly);
 *            - a certificate or epoch schedule signed by a trusted root, for
 *              this origin, has a window with not-before <= t < not-after;
 *            - continuity: a rotation recorded at index i, signed by a
 *              pinned (or continuity-trusted) old key and the new key, lets
 *              the new key sign checkpoints of size >= i + 1;
 *   limits   and none of these holds
 *            - a root-signed revocation says "compromised after T", t > T;
 *            - a rotation at index i retired it, n > i + 1 (the handover
 *              checkpoint of size i + 1 is the last it may sign).
 *
 * Certificates of another origin or of an untrusted root are kept as
 * rejected grants, so that a checkpoint signed by their key is refused with
 * the reason rather than with "unknown key". Lookups go through an index
 * sorted by key ID, built when the first question follows new notes, so a
 * bundle of millions of checkpoints costs O(log n) per signature line.
 */
#include "keyhist.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { G_PINNED = 1, G_CERT, G_EPOCH, G_CHAIN };
enum { R_OK = 0, R_OTHER_ORIGIN, R_UNTRUSTED_ROOT };
enum { L_REVOKED = 1, L_RETIRED };

typedef struct kh_grant {
    st_vkey key;
    uint8_t kind, rejected;
    int64_t nb, na;            /* G_CERT, G_EPOCH */
    uint64_t from_size;        /* G_CHAIN */
    uint64_t index;            /* entry index of the note (G_PINNED: unused) */
    char signer[80];           /* rejected R_UNTRUSTED_ROOT: who signed it */
} kh_grant;

typedef struct kh_limit {
    st_vkey key;
    uint8_t kind;
    int64_t after;             /* L_REVOKED */
    uint64_t max_size;         /* L_RETIRED */
    uint64_t index;
} kh_limit;

struct st_keyhist {
    char origin[ST_KEY_NAME_MAX + 1];
    st_vkey roots[ST_KH_MAX_ROOTS];
    size_t nroots;
    kh_grant *g;
    size_t ng, gcap;
    kh_limit *l;
    size_t nl, lcap;
    uint32_t *gidx, *lidx;     /* indices sorted by key ID, valid when !dirty */
    int dirty;
    int have_index;
    uint64_t last_index;
    st_keyhist_stats stats;
};

st_keyhist *st_keyhist_new(const char *origin)
{
    if (!origin || !st_key_name_valid(origin, strlen(origin))) return NULL;
    st_keyhist *h = calloc(1, sizeof *h);
    if (!h) return NULL;
    snprintf(h->origin, sizeof h->origin, "%s", origin);
    return h;
}

void st_keyhist_free(st_keyhist *h)
{
    if (!h) return;
    free(h->g);
    free(h->l);
    free(h->gidx);
    free(h->lidx);
    free(h);
}

void st_keyhist_get_stats(const st_keyhist *h, st_keyhist_stats *out) { *out = h->stats; }

/* "entry 41", or "a note given out of band" for ST_KH_OUT_OF_BAND. */
static const char *src(char buf[48], uint64_t index)
{
    if (index == ST_KH_OUT_OF_BAND) return "a note given out of band";
    snprintf(buf, 48, "entry %llu", (unsigned long long)index);
    return buf;
}

/* ---- building ----------------------------------------------------------------------------- */

static int new_grant(st_keyhist *h, kh_grant **out, st_err *err)
{
    if (h->ng == ST_KH_MAX_GRANTS)
        return st_fail(err, ST_ETOOBIG, "key history: more than %u certified keys", ST_KH_MAX_GRANTS);
    if (h->ng == h->gcap) {
        size_t cap = h->gcap ? h->gcap * 2 : 16;
        kh_grant *n = realloc(h->g, cap * sizeof *n);
        if (!n) return st_fail(err, ENOMEM, "key history: out of memory");
        h->g = n;
        h->gcap = cap;
    }
    h->dirty = 1;
    *out = &h->g[h->ng++];
    memset(*out, 0, sizeof **out);
    return 0;
}

static int new_limit(st_keyhist *h, kh_limit **out, st_err *err)
{
    if (h->nl == ST_KH_MAX_LIMITS)
        return st_fail(err, ST_ETOOBIG, "key history: more than %u revocations and rotations", ST_KH_MAX_LIMITS);
    if (h->nl == h->lcap) {
        size_t cap = h->lcap ? h->lcap * 2 : 16;
        kh_limit *n = realloc(h->l, cap * sizeof *n);
        if (!n) return st_fail(err, ENOMEM, "key history: out of memory");
        h->l = n;
        h->lcap = cap;
    }
    h->dirty = 1;
    *out = &h->l[h->nl++];
    memset(*out, 0, sizeof **out);
    return 0;
}

int st_keyhist_add_root(st_keyhist *h, const st_vkey *root, st_err *err)
{
    if (strcmp(root->name, h->origin) == 0)
        return st_fail(err, ST_EINVAL, "root key %s+%08x is named like the log's origin: a root certifies log keys and "
                       "must have a name of its own", root->name, (unsigned)root->key_id);
    if (h->nroots == ST_KH_MAX_ROOTS) return st_fail(err, ST_ETOOBIG, "more than %u trusted roots", ST_KH_MAX_ROOTS);
    for (size_t i = 0; i < h->nroots; i++)
        if (st_vkey_equal(&h->roots[i], root)) return 0;
    h->roots[h->nroots++] = *root;
    h->stats.roots++;
    return 0;
}

int st_keyhist_add_pinned(st_keyhist *h, const st_vkey *key, st_err *err)
{
    if (strcmp(key->name, h->origin) != 0)
        return st_fail(err, ST_EINVAL, "pinned key %s+%08x is not a key of origin %s", key->name, (unsigned)key->key_id,
                       h->origin);
    kh_grant *g = NULL;
    int rc = new_grant(h, &g, err);
    if (rc) return rc;
    g->key = *key;
    g->kind = G_PINNED;
    h->stats.pinned++;
    return 0;
}

/* Rejected or accepted grants of a root-signed certificate or schedule. */
static int add_certified(st_keyhist *h, uint64_t index, const st_keynote *kn, st_err *err)
{
    char w[48];
    st_err e2;
    int rc = st_keynote_verify_root(kn, h->roots, h->nroots, NULL, &e2);
    if (rc == ST_EBADSIG || (rc && rc != ST_EUNTRUSTED)) return st_fail(err, rc, "%s: %s", src(w, index), e2.msg);
    int rejected = rc ? R_UNTRUSTED_ROOT : strcmp(kn->origin, h->origin) != 0 ? R_OTHER_ORIGIN : R_OK;
    if (rejected) h->stats.rejected++;
    else if (kn->type == ST_KN_CERTIFICATE) h->stats.certificates++;
    else { h->stats.epoch_schedules++; h->stats.epoch_keys += kn->nkeys; }
    for (size_t i = 0; i < kn->nkeys; i++) {
        kh_grant *g = NULL;
        if ((rc = new_grant(h, &g, err)) != 0) return rc;
        g->key = kn->keys[i].key;
        g->kind = kn->type == ST_KN_CERTIFICATE ? G_CERT : G_EPOCH;
        g->rejected = (uint8_t)rejected;
        g->nb = kn->keys[i].not_before;
        g->na = kn->keys[i].not_after;
        g->index = index;
        if (rejected == R_UNTRUSTED_ROOT && kn->note.nsigs)
            snprintf(g->signer, sizeof g->signer, "%.*s+%08x", (int)(kn->note.sigs[0].name_len > 60 ? 60 : kn->note.sigs[0].name_len),
                     kn->note.sigs[0].name, (unsigned)kn->note.sigs[0].key_id);
    }
    return 0;
}

static int continuity_trusted(st_keyhist *h, const st_vkey *k, uint64_t size);

static int add_rotation(st_keyhist *h, uint64_t index, const st_keynote *kn, st_err *err)
{
    char w[48];
    st_err e2;
    int rc = st_keynote_verify_self(kn, &e2);
    if (rc) return st_fail(err, rc == ST_EUNTRUSTED ? ST_EBADSIG : rc, "%s: %s", src(w, index), e2.msg);
    if (strcmp(kn->origin, h->origin) != 0) { h->stats.rejected++; return 0; }
    h->stats.rotations++;
    uint64_t handover = index + 1;
    if (continuity_trusted(h, &kn->keys[0].key, handover)) {
        kh_grant *g = NULL;
        if ((rc = new_grant(h, &g, err)) != 0) return rc;
        g->key = kn->keys[1].key;
        g->kind = G_CHAIN;
        g->from_size = handover;
        g->index = index;
    }
    kh_limit *l;
    if ((rc = new_limit(h, &l, err)) != 0) return rc;
    l->key = kn->keys[0].key;
    l->kind = L_RETIRED;
    l->max_size = handover;
    l->index = index;
    return 0;
}

static int add_revocation(st_keyhist *h, uint64_t index, const st_keynote *kn, st_err *err)
{
    char w[48];
    st_err e2;
    int rc = st_keynote_verify_root(kn, h->roots, h->nroots, NULL, &e2);
    if (rc == ST_EUNTRUSTED || strcmp(kn->origin, h->origin) != 0) { h->stats.rejected++; return 0; }
    if (rc) return st_fail(err, rc, "%s: %s", src(w, index), e2.msg);
    kh_limit *l;
    if ((rc = new_limit(h, &l, err)) != 0) return rc;
    l->key = kn->keys[0].key;
    l->kind = L_REVOKED;
    l->after = kn->time;
    l->index = index;
    h->stats.revocations++;
    return 0;
}

int st_keyhist_add_keynote(st_keyhist *h, uint64_t index, const st_keynote *kn, st_err *err)
{
    char w[48];
    int oob = index == ST_KH_OUT_OF_BAND;
    if (oob && kn->type == ST_KN_ROTATION)
        return st_fail(err, ST_EINVAL, "a key-rotation given out of band means nothing: a rotation takes effect where "
                       "the log records it");
    if (!oob && h->have_index && index <= h->last_index)
        return st_fail(err, ST_EINVAL, "key history: note of entry %llu after one of entry %llu: notes must come in log order",
                       (unsigned long long)index, (unsigned long long)h->last_index);
    int rc;
    switch (kn->type) {
    case ST_KN_CERTIFICATE:
    case ST_KN_EPOCHS: rc = add_certified(h, index, kn, err); break;
    case ST_KN_REVOCATION: rc = add_revocation(h, index, kn, err); break;
    case ST_KN_ROTATION: rc = add_rotation(h, index, kn, err); break;
    default:
        return st_fail(err, ST_EINVAL, "%s: a %s is not part of a key history", src(w, index), st_keynote_kind(kn->type));
    }
    if (rc == 0 && !oob) {
        h->have_index = 1;
        h->last_index = index;
    }
    return rc;
}

int st_keyhist_add_note(st_keyhist *h, uint64_t index, const char *note, size_t len, st_err *err)
{
    st_keynote *kn = malloc(sizeof *kn);
    if (!kn) return st_fail(err, ENOMEM, "key history: out of memory");
    st_err e2;
    int rc = st_keynote_parse(kn, note, len, &e2);
    char w[48];
    if (rc) rc = st_fail(err, rc, "%s: %s", src(w, index), e2.msg);
    else rc = st_keyhist_add_keynote(h, index, kn, err);
    free(kn);
    return rc;
}

/* ---- the index -------------------------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* idx[i] = positions 0..n-1 ordered by key ID, then by position (history order). */
static int sorted_positions(uint32_t **idx, size_t n, const void *arr, size_t stride, size_t key_off)
{
    uint64_t *tmp = malloc((n ? n : 1) * sizeof *tmp);
    uint32_t *out = malloc((n ? n : 1) * sizeof *out);
    if (!tmp || !out) { free(tmp); free(out); return ENOMEM; }
    for (size_t i = 0; i < n; i++) {
        const st_vkey *k = (const st_vkey *)((const char *)arr + i * stride + key_off);
        tmp[i] = (uint64_t)k->key_id << 32 | (uint64_t)i;
    }
    qsort(tmp, n, sizeof *tmp, cmp_u64);
    for (size_t i = 0; i < n; i++) out[i] = (uint32_t)tmp[i];
    free(tmp);
    free(*idx);
    *idx = out;
    return 0;
}

static int build_index(st_keyhist *h)
{
    if (!h->dirty) return 0;
    if (sorted_positions(&h->gidx, h->ng, h->g, sizeof *h->g, offsetof(kh_grant, key)) ||
        sorted_positions(&h->lidx, h->nl, h->l, sizeof *h->l, offsetof(kh_limit, key)))
        return ENOMEM;
    h->dirty = 0;
    return 0;
}

/* First position in idx (n entries of arr with stride) whose key ID is >= id. */
#define LOWER_BOUND(h, idx, n, arr, id, out)                          \
    do {                                                              \
        size_t lo_ = 0, hi_ = (n);                                    \
        while (lo_ < hi_) {                                           \
            size_t mid_ = lo_ + (hi_ - lo_) / 2;                      \
            if ((h)->arr[(idx)[mid_]].key.key_id < (id)) lo_ = mid_ + 1; \
            else hi_ = mid_;                                          \
        }                                                             \
        (out) = lo_;                                                  \
    } while (0)

/* ---- decisions ----------------------------------------------------------------------------- */

static void fmt_time(char out[40], int64_t t)
{
    char b[32];
    st_time_format_rfc3339(b, t * 1000000);
    char *dot = strstr(b, ".000000Z");
    if (dot) strcpy(dot, "Z");
    snprintf(out, 40, "%s", b);
}

/* Does a grant, on its own, allow (size, time)? why gets the reason when not. */
static int grant_allows(const kh_grant *g, uint64_t size, int64_t t, char *why, size_t cap)
{
    char a[40], b[40], w[48];
    const char *what = g->kind == G_EPOCH ? "epoch certificate" : "certificate";
    if (g->rejected == R_OTHER_ORIGIN) {
        snprintf(why, cap, "its %s (%s) is for origin %s, not this log", what, src(w, g->index), g->key.name);
        return 0;
    }
    if (g->rejected == R_UNTRUSTED_ROOT) {
        snprintf(why, cap, "its %s (%s) is signed by %s, which is not a trusted root", what, src(w, g->index),
                 g->signer[0] ? g->signer : "nobody");
        return 0;
    }
    switch (g->kind) {
    case G_PINNED: return 1;
    case G_CHAIN:
        if (size >= g->from_size) return 1;
        snprintf(why, cap, "it is trusted through the rotation in entry %llu only from size %llu on",
                 (unsigned long long)g->index, (unsigned long long)g->from_size);
        return 0;
    default:
        fmt_time(a, g->nb);
        fmt_time(b, g->na);
        if (t < 0) snprintf(why, cap, "the checkpoint has no time, and its %s (%s) has a window", what, src(w, g->index));
        else if (t < g->nb) snprintf(why, cap, "its %s (%s) is not yet valid: valid from %s", what, src(w, g->index), a);
        else if (t >= g->na) snprintf(why, cap, "its %s (%s) expired at %s", what, src(w, g->index), b);
        else return 1;
        return 0;
    }
}

/* Do limits forbid key k at (size, time)? why gets the reason. */
static int limited(st_keyhist *h, const st_vkey *k, uint64_t size, int64_t t, unsigned flags, char *why, size_t cap)
{
    size_t p;
    LOWER_BOUND(h, h->lidx, h->nl, l, k->key_id, p);
    for (; p < h->nl && h->l[h->lidx[p]].key.key_id == k->key_id; p++) {
        const kh_limit *l = &h->l[h->lidx[p]];
        if (!st_vkey_equal(&l->key, k)) continue;
        if (l->kind == L_RETIRED && size > l->max_size) {
            snprintf(why, cap, "it was retired by the rotation in entry %llu: it signs no checkpoint beyond size %llu",
                     (unsigned long long)l->index, (unsigned long long)l->max_size);
            return 1;
        }
        if (l->kind == L_REVOKED && !(flags & ST_KH_IGNORE_REVOCATIONS) && (t < 0 || t > l->after)) {
            char a[40];
            fmt_time(a, l->after);
            char w[48];
            snprintf(why, cap, "it was revoked (%s) as compromised after %s", src(w, l->index), a);
            return 1;
        }
    }
    return 0;
}

static int grant_valid(st_keyhist *h, const kh_grant *g, uint64_t size, int64_t t, unsigned flags, char *why, size_t cap)
{
    if ((flags & ST_KH_CERTIFIED_ONLY) && (g->kind == G_PINNED || g->kind == G_CHAIN)) {
        snprintf(why, cap, "%s", g->kind == G_PINNED ? "pinned, not certified" : "trusted by rotation, not certified");
        return 0;
    }
    return grant_allows(g, size, t, why, cap) && !limited(h, &g->key, size, t, flags, why, cap);
}

int st_keyhist_certified(st_keyhist *h, const st_vkey *k)
{
    if (build_index(h) != 0) return 0;
    size_t p;
    LOWER_BOUND(h, h->gidx, h->ng, g, k->key_id, p);
    for (; p < h->ng && h->g[h->gidx[p]].key.key_id == k->key_id; p++) {
        const kh_grant *g = &h->g[h->gidx[p]];
        if ((g->kind == G_CERT || g->kind == G_EPOCH) && !g->rejected && st_vkey_equal(&g->key, k)) return 1;
    }
    return 0;
}

/* Pinned, or chained from a pinned key, and not retired, at `size`. */
static int continuity_trusted(st_keyhist *h, const st_vkey *k, uint64_t size)
{
    if (build_index(h) != 0) return 0;
    char why[8];
    size_t p;
    LOWER_BOUND(h, h->gidx, h->ng, g, k->key_id, p);
    for (; p < h->ng && h->g[h->gidx[p]].key.key_id == k->key_id; p++) {
        const kh_grant *g = &h->g[h->gidx[p]];
        if ((g->kind == G_PINNED || g->kind == G_CHAIN) && st_vkey_equal(&g->key, k) &&
            grant_valid(h, g, size, -1, ST_KH_IGNORE_REVOCATIONS, why, sizeof why))
            return 1;
    }
    return 0;
}

int st_keyhist_keys_for(st_keyhist *h, uint64_t size, int64_t time_s, unsigned flags, st_vkey *out, size_t cap, size_t *n_out)
{
    *n_out = 0;
    if (build_index(h) != 0) return ENOMEM;
    char why[256];
    for (size_t i = h->ng; i-- > 0 && *n_out < cap;) {
        const kh_grant *g = &h->g[i];
        if (!grant_valid(h, g, size, time_s, flags, why, sizeof why)) continue;
        int dup = 0;
        for (size_t j = 0; j < *n_out && !dup; j++) dup = st_vkey_equal(&out[j], &g->key);
        if (!dup) out[(*n_out)++] = g->key;
    }
    return 0;
}

int st_keyhist_explain(st_keyhist *h, const char *name, size_t name_len, uint32_t key_id, uint64_t size, int64_t time_s,
                       unsigned flags, char *out, size_t cap)
{
    if (build_index(h) != 0) { snprintf(out, cap, "out of memory"); return 0; }
    size_t p;
    LOWER_BOUND(h, h->gidx, h->ng, g, key_id, p);
    /* Of the refusals, report the most telling: a revocation or retirement, then a
     * trusted certificate's window, then a rejected certificate, then the rest;
     * among equals the latest (the loop runs in history order). */
    int found = 0, best = -1;
    char why[512];
    for (; p < h->ng && h->g[h->gidx[p]].key.key_id == key_id; p++) {
        const kh_grant *g = &h->g[h->gidx[p]];
        if (strlen(g->key.name) != name_len || memcmp(g->key.name, name, name_len) != 0) continue;
        found = 1;
        if (grant_valid(h, g, size, time_s, flags, why, sizeof why)) {
            snprintf(out, cap, "%s", g->kind == G_PINNED ? "pinned" : g->kind == G_CHAIN ? "trusted by rotation" : "certified");
            return 1;
        }
        char dummy[8];
        int prio = (g->kind == G_CERT || g->kind == G_EPOCH) ? (g->rejected ? 1 : 2) : 0;
        if (!((flags & ST_KH_CERTIFIED_ONLY) && prio == 0) && grant_allows(g, size, time_s, dummy, sizeof dummy)) prio = 3;
        if (prio >= best) {
            best = prio;
            snprintf(out, cap, "%s", why);
        }
    }
    if (!found) {
        if (name_len == strlen(h->origin) && memcmp(name, h->origin, name_len) == 0)
            snprintf(out, cap, "no certificate for it in the key history, and it is not a trusted key");
        else
            snprintf(out, cap, "it is not a key of origin %s, and no certificate names it", h->origin);
    }
    return 0;
}

int st_keyhist_verify_checkpoint(st_keyhist *h, const st_note *note, const st_checkpoint *cp, unsigned flags,
                                 st_vkey *signed_by, st_err *err)
{
    size_t n = 0;
    return st_keyhist_verify_checkpoint_signers(h, note, cp, flags, signed_by, signed_by ? 1 : 0, &n, err);
}

int st_keyhist_verify_checkpoint_signers(st_keyhist *h, const st_note *note, const st_checkpoint *cp, unsigned flags,
                                         st_vkey *signers, size_t cap, size_t *n_signers, st_err *err)
{
    *n_signers = 0;
    if (build_index(h) != 0) return st_fail(err, ENOMEM, "key history: out of memory");
    /* The valid keys among those whose (name, key ID) signed: at most a few per line. */
    st_vkey cand[64];
    size_t nc = 0;
    char why[256];
    for (size_t s = 0; s < note->nsigs && nc < sizeof cand / sizeof cand[0]; s++) {
        const st_note_sig *sg = &note->sigs[s];
        size_t p;
        LOWER_BOUND(h, h->gidx, h->ng, g, sg->key_id, p);
        for (; p < h->ng && h->g[h->gidx[p]].key.key_id == sg->key_id && nc < sizeof cand / sizeof cand[0]; p++) {
            const kh_grant *g = &h->g[h->gidx[p]];
            if (strlen(g->key.name) != sg->name_len || memcmp(g->key.name, sg->name, sg->name_len) != 0) continue;
            if (!grant_valid(h, g, cp->size, cp->time_s, flags, why, sizeof why)) continue;
            int dup = 0;
            for (size_t j = 0; j < nc && !dup; j++) dup = st_vkey_equal(&cand[j], &g->key);
            if (!dup) cand[nc++] = g->key;
        }
    }
    int ok[64];
    st_err e2;
    int rc = nc ? st_note_verify(note, cand, nc, ok, &e2) : ST_EUNTRUSTED;
    if (rc == 0) {
        for (size_t j = 0; j < nc && *n_signers < cap; j++)
            if (ok[j]) signers[(*n_signers)++] = cand[j];
        return 0;
    }
    if (rc != ST_EUNTRUSTED) return st_fail(err, rc, "%s", e2.msg);
    char t[40] = "none";
    if (cp->time_s >= 0) fmt_time(t, cp->time_s);
    char msg[sizeof err->msg];
    int used = snprintf(msg, sizeof msg, "signed by no key valid for size %llu at time %s:", (unsigned long long)cp->size, t);
    for (size_t s = 0; s < note->nsigs && used > 0 && (size_t)used < sizeof msg; s++) {
        const st_note_sig *sg = &note->sigs[s];
        st_keyhist_explain(h, sg->name, sg->name_len, sg->key_id, cp->size, cp->time_s, flags, why, sizeof why);
        used += snprintf(msg + used, sizeof msg - (size_t)used, "%s %.*s+%08x: %s", s ? ";" : "",
                         (int)(sg->name_len > 80 ? 80 : sg->name_len), sg->name, (unsigned)sg->key_id, why);
    }
    if (note->nsigs == 0 && used > 0 && (size_t)used < sizeof msg) snprintf(msg + used, sizeof msg - (size_t)used, " no signatures");
    return st_fail(err, ST_EUNTRUSTED, "%s", msg);
}
