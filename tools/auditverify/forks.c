/*
 * forks.c: roots of several verified bundles, compared by (origin, size).
 * Memory: 48 bytes per checkpoint, frontier and range root of the bundles.
 */
#include "forks.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct froot {
    uint64_t size;
    st_hash root;
    uint32_t bundle;
    uint32_t origin;            /* the first kept bundle of the same origin */
} froot;

typedef struct fbundle {
    char name[128];
    char origin[ST_KEY_NAME_MAX + 1];
} fbundle;

struct av_forks {
    froot *roots;
    size_t nroots, kept, cap;
    fbundle *bundles;
    size_t nbundles, bcap;
    int failed;
};

av_forks *av_forks_new(void)
{
    return calloc(1, sizeof(av_forks));
}

void av_forks_free(av_forks *f)
{
    if (!f) return;
    free(f->roots);
    free(f->bundles);
    free(f);
}

/* The bundle being verified: bundles[nbundles], allocated on first use. */
static fbundle *current(av_forks *f)
{
    fbundle *n = st_array_room(f->bundles, &f->bcap, f->nbundles, sizeof *n, 8);
    if (!n) return NULL;
    f->bundles = n;
    return &f->bundles[f->nbundles];
}

static void on_manifest(void *ctx, const st_verify_report *rep)
{
    av_forks *f = ctx;
    fbundle *b = current(f);
    if (!b) { f->failed = 1; return; }
    snprintf(b->origin, sizeof b->origin, "%s", rep->origin);
}

static void on_root(void *ctx, uint64_t size, const st_hash root, int64_t time_s)
{
    (void)time_s;
    av_forks *f = ctx;
    froot *n = st_array_room(f->roots, &f->cap, f->nroots, sizeof *n, 64);
    if (!n) { f->failed = 1; return; }
    f->roots = n;
    froot *r = &f->roots[f->nroots++];
    r->size = size;
    memcpy(r->root, root, ST_HASH_BYTES);
    r->bundle = (uint32_t)f->nbundles;
}

void av_forks_observer(av_forks *f, st_verify_observer *obs)
{
    memset(obs, 0, sizeof *obs);
    obs->ctx = f;
    obs->manifest = on_manifest;
    obs->root = on_root;
}

void av_forks_bundle_done(av_forks *f, const char *name, int verified)
{
    fbundle *b = current(f);
    if (!verified || !b) {
        f->nroots = f->kept;                   /* roots of a bundle that failed prove nothing */
        if (!b) f->failed = 1;
        return;
    }
    snprintf(b->name, sizeof b->name, "%s", name);
    uint32_t origin = (uint32_t)f->nbundles;
    for (size_t k = 0; k < f->nbundles; k++)
        if (strcmp(f->bundles[k].origin, b->origin) == 0) { origin = (uint32_t)k; break; }
    for (size_t i = f->kept; i < f->nroots; i++) f->roots[i].origin = origin;
    f->nbundles++;
    f->kept = f->nroots;
}

static int cmp_root(const void *a, const void *b)
{
    const froot *x = a, *y = b;
    if (x->origin != y->origin) return x->origin < y->origin ? -1 : 1;
    if (x->size != y->size) return x->size < y->size ? -1 : 1;
    return x->bundle < y->bundle ? -1 : x->bundle > y->bundle;
}

int av_forks_check(av_forks *f, char *msg, size_t cap)
{
    if (f->failed) {
        snprintf(msg, cap, "out of memory while comparing the bundles' roots");
        return 2;
    }
    f->nroots = f->kept;
    qsort(f->roots, f->nroots, sizeof *f->roots, cmp_root);
    for (size_t i = 1; i < f->nroots; i++) {
        const froot *a = &f->roots[i - 1], *b = &f->roots[i];
        if (a->origin != b->origin || a->size != b->size || memcmp(a->root, b->root, ST_HASH_BYTES) == 0)
            continue;
        char ha[2 * ST_HASH_BYTES + 1], hb[2 * ST_HASH_BYTES + 1];
        st_hex_encode(ha, a->root, ST_HASH_BYTES);
        st_hex_encode(hb, b->root, ST_HASH_BYTES);
        snprintf(msg, cap, "fork: %s and %s, both verified, hold different roots of log %s at size %llu "
                           "(%s and %s): the log showed two histories",
                 f->bundles[a->bundle].name, f->bundles[b->bundle].name, f->bundles[a->bundle].origin,
                 (unsigned long long)a->size, ha, hb);
        return 1;
    }
    return 0;
}
