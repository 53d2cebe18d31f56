/*
 * verify_tree.c: the Merkle subtrees of a checked batch (docs/VERIFYING.md
 * step 13), computed by the worker that checked it. The merge in stream
 * order (verify_merge.c) then appends one perfect subtree where it would
 * have appended its leaves one at a time, hashing the node above them
 * itself: the nodes are hashed on every core, two at a time (st_sha256_2),
 * instead of one after another on the reader.
 *
 * The result is the same frontier, because the merge still checks every
 * entry's index (11.6) before it appends anything: a subtree is only built
 * over entries whose indices are consecutive in the batch, aligned as the
 * frontier's subtrees are, and appended when the merge reaches its last
 * entry, so its leaves are exactly the entries the merge has accepted.
 * No subtree spans a size at which the merge must look at the root (a
 * checkpoint's size, the auditor's --previous size): the merge computes
 * the root at every such size exactly as before. A batch with a failure
 * gets no subtrees (the merge appends its leaves one at a time up to the
 * failure).
 */
#include <string.h>

#include "sha256.h"
#include "verify_int.h"

/* A size at which the merge computes the root (vh_frontier_reached). */
static int size_marked(const vctx *v, uint64_t size)
{
    if (v->have_auditor_prev && v->auditor_prev.size == size) return 1;
    size_t lo = 0, hi = v->ncp;            /* checkpoint sizes strictly increase (step 6) */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v->cps[mid].size < size) lo = mid + 1;
        else hi = mid;
    }
    return lo < v->ncp && v->cps[lo].size == size;
}

/* Node hashes SHA-256(0x01 || left || right) of n pairs, two at a time. */
static void node_hashes(st_hash *out, const uint8_t (*lr)[64], size_t n)
{
    static const uint8_t one = 0x01;
    size_t i = 0;
    for (; i + 1 < n; i += 2)
        st_sha256_2(out[i], &one, 1, lr[i], 64, out[i + 1], &one, 1, lr[i + 1], 64);
    if (i < n) {
        uint8_t m[65];
        m[0] = 0x01;
        memcpy(m + 1, lr[i], 64);
        st_sha256(out[i], m, sizeof m);
    }
}

/* A node of the level being paired: its first leaf's index, the item it ends at, its hash. */
typedef struct vtnode {
    uint64_t start;
    size_t last;
    st_hash h;
} vtnode;

/* One run of items [a, e) with consecutive indices. */
static int build_run(const vctx *v, vbatch *b, vscratch *sc, size_t a, size_t e)
{
    size_t m = e - a;
    if (m < 2) return 0;
    size_t per = sizeof(vtnode) + 64 + sizeof(st_hash) + sizeof(size_t);
    if (!vscratch_get(&sc->tree, &sc->tree_cap, m * per)) return -1;
    vtnode *nd = (vtnode *)(void *)sc->tree;
    uint8_t (*lr)[64] = (uint8_t (*)[64])(void *)(sc->tree + m * sizeof(vtnode));
    st_hash *out = (st_hash *)(void *)(sc->tree + m * (sizeof(vtnode) + 64));
    size_t *pair = (size_t *)(void *)(sc->tree + m * (sizeof(vtnode) + 64 + sizeof(st_hash)));
    for (size_t i = 0; i < m; i++) {
        nd[i].start = b->items[a + i].index;
        nd[i].last = a + i;
        memcpy(nd[i].h, b->items[a + i].leaf, 32);
    }
    size_t n = m;
    for (unsigned level = 0; n > 1 && level < 62; level++) {
        uint64_t span = (uint64_t)1 << level;
        /* node j pairs with j + 1: j aligned to the next level, j + 1 right after it, no marked size between */
        size_t np = 0;
        for (size_t j = 0; j + 1 < n; j++) {
            if ((nd[j].start & (2 * span - 1)) == 0 && nd[j + 1].start == nd[j].start + span &&
                !size_marked(v, nd[j].start + span)) {
                pair[np] = j;
                memcpy(lr[np], nd[j].h, 32);
                memcpy(lr[np] + 32, nd[j + 1].h, 32);
                np++;
                j++;
            }
        }
        if (np == 0) break;
        node_hashes(out, (const uint8_t (*)[64])lr, np);
        /* the pairs become the next level (pair[k] >= 2k: nd[k] is written after it is read);
         * a node left unpaired stays as it is: it ends a subtree the merge appends */
        for (size_t k = 0; k < np; k++) {
            size_t j = pair[k];
            vitem *left = &b->items[nd[j].last], *right = &b->items[nd[j + 1].last];
            left->tree_skip = 1;            /* its leaves are in the node that ends at `right` */
            right->tree_level = (uint8_t)(level + 1);
            memcpy(right->tree, out[k], 32);
            nd[k].start = nd[j].start;
            nd[k].last = nd[j + 1].last;
            memcpy(nd[k].h, out[k], 32);
        }
        n = np;
    }
    return 0;
}

void vtree_build(const vctx *v, vbatch *b, vscratch *sc)
{
    b->has_tree = 0;
    if (!v->contiguous || b->failed || b->nitem < 2) return;
    size_t a = 0;
    for (size_t k = 1; k <= b->nitem; k++) {
        if (k < b->nitem && b->items[k].index == b->items[k - 1].index + 1) continue;
        if (build_run(v, b, sc, a, k)) {
            for (size_t i = 0; i < b->nitem; i++) {
                b->items[i].tree_skip = 0;
                b->items[i].tree_level = 0;
            }
            return;             /* out of memory: the merge appends leaves one at a time */
        }
        a = k;
    }
    b->has_tree = 1;
}
