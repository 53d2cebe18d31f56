/*
 * retention_judge.c: st_rc_finish, the judgement of everything fed to the
 * retention accumulator (rules R1-R6 of retention_check.h; docs/VERIFYING.md
 * "Retention" uses the same numbers):
 *
 *   R1 roots: equal sizes must have equal roots (else a fork); bundles that
 *      overlap or touch must share a root at or after their common part;
 *   R2 gaps: every index below the largest end is carried, or pruned;
 *   R3 archived payloads are held by some bundle, or pruned;
 *   R4 prune records removed nothing younger than the minimum in force;
 *   R5 policy changes never cut the protection of an existing entry;
 *   R6 payloads held past the maximum retention (a warning).
 */
#include "retention_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define finding st_rc_add_finding
#define flags_at st_rc_flags_at

/* ---- judging ----------------------------------------------------------------------- */

static int cmp_root(const void *a, const void *b)
{
    const rroot *x = a, *y = b;
    if (x->size != y->size) return x->size < y->size ? -1 : 1;
    return x->bundle < y->bundle ? -1 : x->bundle > y->bundle;
}

static int cmp_rec(const void *a, const void *b)
{
    const rrec *x = a, *y = b;
    return x->index < y->index ? -1 : x->index > y->index;
}

static void hex8(char out[17], const st_hash h) { st_hex_encode(out, h, 8); }

/* R1: one history, and overlapping or adjacent bundles linked at or after their common part. */
static int judge_roots(st_rc *rc, st_rc_report *rep)
{
    size_t nb = rc->nbundles;
    if (nb < 2 && rc->nroots == 0) return 0;
    if (rc->nroots) qsort(rc->roots, rc->nroots, sizeof *rc->roots, cmp_root);
    uint64_t *common = calloc(nb * nb, sizeof *common);   /* largest size with equal roots, + 1 */
    if (!common) return ENOMEM;
    for (size_t i = 0; i < rc->nroots;) {
        size_t j = i;
        while (j < rc->nroots && rc->roots[j].size == rc->roots[i].size) j++;
        for (size_t a = i; a < j; a++)
            for (size_t b = a + 1; b < j; b++) {
                const rroot *x = &rc->roots[a], *y = &rc->roots[b];
                if (memcmp(x->root, y->root, 32) != 0) {
                    char hx[17], hy[17];
                    hex8(hx, x->root);
                    hex8(hy, y->root);
                    finding(rep, ST_RCF_FORK, ST_RCS_VIOLATION, x->size, x->size,
                            "size %llu: root %s… in %s, %s… in %s: two different histories signed by the trusted key",
                            (unsigned long long)x->size, hx, rc->bundles[x->bundle].name, hy,
                            rc->bundles[y->bundle].name);
                } else if (x->bundle != y->bundle) {
                    common[x->bundle * nb + y->bundle] = x->size + 1;
                    common[y->bundle * nb + x->bundle] = x->size + 1;
                }
            }
        i = j;
    }
    for (size_t a = 0; a < nb; a++)
        for (size_t b = a + 1; b < nb; b++) {
            const rbundle *x = &rc->bundles[a], *y = &rc->bundles[b];
            if (!x->contiguous || !y->contiguous) continue;
            if (y->begin > x->end || x->begin > y->end) continue;     /* apart: a gap, judged elsewhere */
            uint64_t need = x->end < y->end ? x->end : y->end;        /* common part ends here */
            uint64_t have = common[a * nb + b];
            if (have == 0 || have - 1 < need)
                finding(rep, ST_RCF_UNLINKED, ST_RCS_INCONCLUSIVE, x->begin, y->end,
                        "%s [%llu, %llu) and %s [%llu, %llu) share no checkpoint root at size %llu or later: "
                        "cannot show they hold the same entries", x->name, (unsigned long long)x->begin,
                        (unsigned long long)x->end, y->name, (unsigned long long)y->begin,
                        (unsigned long long)y->end, (unsigned long long)need);
        }
    free(common);
    return 0;
}

/* Sorts and de-duplicates the records; counts them by kind. */
static void judge_records(st_rc *rc, st_rc_report *rep)
{
    if (rc->nrecs) qsort(rc->recs, rc->nrecs, sizeof *rc->recs, cmp_rec);
    size_t k = 0;
    for (size_t i = 0; i < rc->nrecs; i++) {
        if (k && rc->recs[k - 1].index == rc->recs[i].index) {
            if (memcmp(rc->recs[k - 1].digest, rc->recs[i].digest, 32) != 0)
                finding(rep, ST_RCF_RECORD_CONFLICT, ST_RCS_VIOLATION, rc->recs[i].index, rc->recs[i].index + 1,
                        "record %llu differs between bundles", (unsigned long long)rc->recs[i].index);
            continue;
        }
        rc->recs[k++] = rc->recs[i];
    }
    rc->nrecs = k;
    for (size_t i = 0; i < k; i++) {
        switch (rc->recs[i].kind) {
        case ST_RREC_POLICY: rep->records_policy++; break;
        case ST_RREC_ARCHIVE: rep->records_archive++; break;
        case ST_RREC_PRUNE: rep->records_prune++; break;
        default: rep->records_erasure++; break;
        }
    }
}

/* Lookups built after the records are sorted: policies by index, archives by
 * begin, and the union of prune ranges as disjoint intervals. */
typedef struct lookups {
    const rrec **pol;
    size_t npol;
    const rrec **arch;
    size_t narch;
    uint64_t *pr_b, *pr_e;
    size_t npr;
} lookups;

static int cmp_begin(const void *a, const void *b)
{
    const rrec *x = *(const rrec *const *)a, *y = *(const rrec *const *)b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

static void lookups_free(lookups *l)
{
    free(l->pol);
    free(l->arch);
    free(l->pr_b);
    free(l->pr_e);
}

static int lookups_build(const st_rc *rc, lookups *l)
{
    memset(l, 0, sizeof *l);
    size_t n = rc->nrecs ? rc->nrecs : 1;
    const rrec **prunes = malloc(n * sizeof *prunes);
    l->pol = malloc(n * sizeof *l->pol);
    l->arch = malloc(n * sizeof *l->arch);
    l->pr_b = malloc(n * sizeof *l->pr_b);
    l->pr_e = malloc(n * sizeof *l->pr_e);
    if (!prunes || !l->pol || !l->arch || !l->pr_b || !l->pr_e) {
        free(prunes);
        lookups_free(l);
        return ENOMEM;
    }
    size_t np = 0;
    for (size_t i = 0; i < rc->nrecs; i++) {
        const rrec *r = &rc->recs[i];
        if (r->kind == ST_RREC_POLICY) l->pol[l->npol++] = r;          /* already in index order */
        else if (r->kind == ST_RREC_ARCHIVE) l->arch[l->narch++] = r;
        else if (r->kind == ST_RREC_PRUNE) prunes[np++] = r;
    }
    qsort(l->arch, l->narch, sizeof *l->arch, cmp_begin);
    qsort(prunes, np, sizeof *prunes, cmp_begin);
    for (size_t i = 0; i < np; i++) {
        if (l->npr && prunes[i]->begin <= l->pr_e[l->npr - 1]) {
            if (prunes[i]->end > l->pr_e[l->npr - 1]) l->pr_e[l->npr - 1] = prunes[i]->end;
            continue;
        }
        l->pr_b[l->npr] = prunes[i]->begin;
        l->pr_e[l->npr++] = prunes[i]->end;
    }
    free(prunes);
    return 0;
}

/* The policy in force just before log index `index` (NULL if none). */
static const rrec *policy_before(const lookups *l, uint64_t index)
{
    size_t lo = 0, hi = l->npol;           /* first policy with index >= `index` */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (l->pol[mid]->index < index) lo = mid + 1;
        else hi = mid;
    }
    return lo ? l->pol[lo - 1] : NULL;
}

/* The first pruned interval whose begin is after index (npr if none). */
static size_t pruned_after(const lookups *l, uint64_t index)
{
    size_t lo = 0, hi = l->npr;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (l->pr_b[mid] <= index) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* End of the pruned interval holding index, or 0 if none does. */
static uint64_t pruned_until(const lookups *l, uint64_t index)
{
    size_t lo = pruned_after(l, index);
    return lo && index < l->pr_e[lo - 1] ? l->pr_e[lo - 1] : 0;
}

/* Begin of the first pruned interval after index, or UINT64_MAX. */
static uint64_t next_pruned(const lookups *l, uint64_t index)
{
    size_t lo = pruned_after(l, index);
    return lo < l->npr ? l->pr_b[lo] : UINT64_MAX;
}

/* When no bundle carried an entry of index's chunk (every flag there is 0),
 * the end of that chunk; else 0. The walks below skip such chunks whole: a
 * bundle that carries a few entries just below ST_RC_MAX_INDEX must not cost
 * one step per index below them, and one more such walk per record. */
static uint64_t absent_until(const st_rc *rc, uint64_t index)
{
    size_t c = (size_t)(index >> CHUNK_BITS);
    if (c < rc->nchunks && rc->chunks[c]) return 0;
    return ((uint64_t)c + 1) << CHUNK_BITS;
}

/* What R3 and R4 need of one chunk, so that a record's range is judged a
 * whole chunk at a time (records x chunks, not records x indices). */
typedef struct csum {
    int64_t tmax;              /* newest time_us of a carried entry with payloads */
    uint8_t any_pay;           /* some carried entry has payloads */
    uint8_t has_missing;       /* some index is unpruned and not carried, or holds no payloads it had */
    uint8_t all_pruned;        /* every index is pruned (by flag or record) */
} csum;

static int csums_build(const st_rc *rc, const lookups *l, csum **out)
{
    *out = calloc(rc->nchunks ? rc->nchunks : 1, sizeof **out);
    if (!*out) return ENOMEM;
    for (size_t c = 0; c < rc->nchunks; c++) {
        if (!rc->chunks[c]) continue;
        csum *x = &(*out)[c];
        x->tmax = INT64_MIN;
        x->all_pruned = 1;
        for (uint64_t k = 0; k < CHUNK; k++) {
            uint64_t i = ((uint64_t)c << CHUNK_BITS) + k;
            uint8_t f = rc->chunks[c]->flags[k];
            if ((f & F_COVERED) && (f & F_HASPAY)) {
                x->any_pay = 1;
                if (rc->chunks[c]->time[k] > x->tmax) x->tmax = rc->chunks[c]->time[k];
            }
            int is_pruned = (f & F_PRUNE) || pruned_until(l, i);
            if (!is_pruned) x->all_pruned = 0;
            if (!is_pruned && (!(f & F_COVERED) || ((f & F_HASPAY) && !(f & F_HELD)))) x->has_missing = 1;
        }
    }
    return 0;
}

/* An archive record whose range holds index (for naming the file), or NULL. */
static const rrec *archive_at(const lookups *l, uint64_t index)
{
    size_t lo = 0, hi = l->narch;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (l->arch[mid]->begin <= index) lo = mid + 1;
        else hi = mid;
    }
    for (size_t k = lo; k > 0; k--)
        if (index < l->arch[k - 1]->end) return l->arch[k - 1];
        else if (lo - k > 8) break;        /* archives do not overlap in practice; bound the search */
    return NULL;
}

typedef struct run {
    int on;
    uint64_t b, e;
} run;

static void gap_flush(const lookups *l, st_rc_report *rep, run *g)
{
    if (!g->on) return;
    g->on = 0;
    uint64_t i = g->b;
    while (i < g->e) {                   /* pruned stretches are explained; the rest is a gap */
        uint64_t pe = pruned_until(l, i);
        if (pe) { i = pe < g->e ? pe : g->e; continue; }
        uint64_t j = next_pruned(l, i);     /* i is not pruned: the gap runs to the next pruned interval */
        if (j > g->e) j = g->e;
        const rrec *a = archive_at(l, i);
        if (a)
            finding(rep, ST_RCF_GAP, ST_RCS_VIOLATION, i, j,
                    "entries %llu..%llu are in none of the bundles: archive %s (record %llu, entries %llu..%llu) "
                    "is missing", (unsigned long long)i, (unsigned long long)j - 1, a->file,
                    (unsigned long long)a->index, (unsigned long long)a->begin, (unsigned long long)a->end - 1);
        else
            finding(rep, ST_RCF_GAP, ST_RCS_VIOLATION, i, j,
                    "entries %llu..%llu are in none of the bundles and no prune record covers them (a missing "
                    "archive?)",
                    (unsigned long long)i, (unsigned long long)j - 1);
        i = j;
    }
}

static void missing_flush(const lookups *l, st_rc_report *rep, run *m)
{
    if (!m->on) return;
    m->on = 0;
    const rrec *a = archive_at(l, m->b);
    finding(rep, ST_RCF_MISSING_ARCHIVE, ST_RCS_VIOLATION, m->b, m->e,
            "entries %llu..%llu: payloads archived%s%s%s but held by none of the bundles, and no prune record "
            "removed them", (unsigned long long)m->b, (unsigned long long)m->e - 1, a ? " to " : "",
            a ? a->file : "", a ? "" : " (no archive record in the bundles names the file)");
}

static void past_max_flush(st_rc_report *rep, run *h, const rrec *pol)
{
    if (!h->on) return;
    h->on = 0;
    char d[32];
    st_rrec_format_duration(d, pol ? pol->max_us : 0);
    finding(rep, ST_RCF_HELD_PAST_MAX, ST_RCS_WARNING, h->b, h->e,
            "entries %llu..%llu: payloads still held past the maximum retention (%s, policy record %llu)",
            (unsigned long long)h->b, (unsigned long long)h->e - 1, d, pol ? (unsigned long long)pol->index : 0ULL);
}

/* R5 for the policy at recs[k]: newest entry before it (prefix_max) against the policy it replaces. */
static void judge_policy(const lookups *l, st_rc_report *rep, const rrec *p, int have_prefix, int64_t prefix_max)
{
    const rrec *prev = policy_before(l, p->index);
    if (!prev || p->min_us >= prev->min_us || !have_prefix) return;
    if (prefix_max > INT64_MAX - prev->min_us || prefix_max + prev->min_us > p->time_us) {
        char a[32], b[32];
        st_rrec_format_duration(a, prev->min_us);
        st_rrec_format_duration(b, p->min_us);
        finding(rep, ST_RCF_POLICY_SHORTENED, ST_RCS_VIOLATION, p->index, p->index + 1,
                "policy record %llu lowered the minimum retention from %s to %s while entries were still "
                "protected by it (newest earlier entry time_us %lld)", (unsigned long long)p->index, a, b,
                (long long)prefix_max);
    }
}

/* R4 for one prune record. */
static void judge_prune(const st_rc *rc, const lookups *l, const csum *cs, st_rc_report *rep, const rrec *p,
                        uint64_t span_end)
{
    const rrec *pol = policy_before(l, p->index);
    int64_t min = pol ? pol->min_us : 0;
    char d[32];
    st_rrec_format_duration(d, min);
    uint64_t end = p->end < span_end ? p->end : span_end;
    for (uint64_t i = p->begin, next; i < end; i = next) {
        next = i + 1;
        uint64_t skip = absent_until(rc, i);
        if (skip) { next = skip; continue; }                    /* nothing carried there */
        const csum *x = &cs[i >> CHUNK_BITS];
        if (!x->any_pay || !(x->tmax > INT64_MAX - min || x->tmax + min > p->time_us)) {
            next = ((i >> CHUNK_BITS) + 1) << CHUNK_BITS;       /* not even its newest entry is too young */
            continue;
        }
        int64_t t = 0;
        uint8_t f = flags_at(rc, i, &t);
        if (!(f & F_COVERED) || !(f & F_HASPAY)) continue;      /* nothing of it could be pruned */
        if (t > INT64_MAX - min || t + min > p->time_us) {
            finding(rep, ST_RCF_PREMATURE_PRUNE, ST_RCS_VIOLATION, p->begin, p->end,
                    "prune record %llu (time_us %lld) removed entry %llu (time_us %lld) before the minimum "
                    "retention (%s) ended", (unsigned long long)p->index, (long long)p->time_us,
                    (unsigned long long)i, (long long)t, d);
            return;
        }
    }
    if (p->has_max_time && (p->max_time_us > INT64_MAX - min || p->max_time_us + min > p->time_us))
        finding(rep, ST_RCF_PREMATURE_PRUNE, ST_RCS_VIOLATION, p->begin, p->end,
                "prune record %llu says its newest entry has time_us %lld: inside the minimum retention (%s)",
                (unsigned long long)p->index, (long long)p->max_time_us, d);
}

static void judge_archives(const st_rc *rc, const lookups *l, const csum *cs, st_rc_report *rep, uint64_t span_end)
{
    for (size_t i = 0; i < rc->nrecs; i++) {
        const rrec *a = &rc->recs[i];
        if (a->kind != ST_RREC_ARCHIVE) continue;
        rep->archives_total++;
        if (rep->narchives >= ST_RC_ARCHIVES) continue;
        st_rc_archive *x = &rep->archives[rep->narchives++];
        x->record = a->index;
        x->begin = a->begin;
        x->end = a->end;
        x->given_as = -1;
        snprintf(x->file, sizeof x->file, "%s", a->file);
        for (size_t b = 0; b < rc->nbundles; b++)
            if (rc->bundles[b].has_sha && memcmp(rc->bundles[b].sha, a->sha256, 32) == 0) x->given_as = (int)b;
        int missing = 0, pruned = 1;
        uint64_t lim = a->end < span_end ? a->end : span_end;
        for (uint64_t k = a->begin, next; k < lim && !(missing && !pruned); k = next) {
            next = k + 1;
            uint64_t skip = absent_until(rc, k);
            if (skip) {                     /* not carried: pruned up to the interval's end, or missing */
                uint64_t pe = pruned_until(l, k);
                if (pe) next = pe < skip ? pe : skip;
                else missing = 1, pruned = 0;
                continue;
            }
            uint64_t cend = ((k >> CHUNK_BITS) + 1) << CHUNK_BITS;
            if ((k & (CHUNK - 1)) == 0 && cend <= lim) {   /* a whole chunk in the range: its summary */
                const csum *sm = &cs[k >> CHUNK_BITS];
                if (sm->has_missing) missing = 1;
                if (!sm->all_pruned) pruned = 0;
                next = cend;
                continue;
            }
            uint8_t f = flags_at(rc, k, NULL);
            int is_pruned = (f & F_PRUNE) || pruned_until(l, k);
            if (!is_pruned) pruned = 0;
            if ((f & F_HASPAY) && !(f & F_HELD) && !is_pruned) missing = 1;
            if (!(f & F_COVERED) && !is_pruned) missing = 1;
        }
        snprintf(x->status, sizeof x->status, "%s",
                 x->given_as >= 0 ? "given" : missing ? "missing" : pruned ? "pruned" : "held");
    }
}

int st_rc_finish(st_rc *rc, st_rc_report *rep)
{
    memcpy(rep, &rc->pre, sizeof *rep);
    rep->bundles = rc->nbundles;
    if (rc->failed)
        finding(rep, ST_RCF_TOO_BIG, ST_RCS_INCONCLUSIVE, 0, 0, "out of memory while recording the bundles");
    int rcode = judge_roots(rc, rep);
    if (rcode) return rcode;
    judge_records(rc, rep);
    lookups l;
    if ((rcode = lookups_build(rc, &l)) != 0) return rcode;
    rep->as_of_us = rc->o.as_of_us ? rc->o.as_of_us
                    : rc->max_cp_time_s >= 0 ? rc->max_cp_time_s * 1000000 : 0;
    uint64_t span_end = 0;
    for (size_t b = 0; b < rc->nbundles; b++)
        if (rc->bundles[b].contiguous && rc->bundles[b].end > span_end) span_end = rc->bundles[b].end;
    if (span_end > ST_RC_MAX_INDEX) span_end = ST_RC_MAX_INDEX;
    rep->span_end = span_end;
    /* The bundles' checkpoints vouch for a log of signed_end entries; what lies
     * beyond every bundle's end was not given (the current export, most often),
     * and the records there (later policies, prunes) were not seen. */
    uint64_t signed_end = 0;
    for (size_t r = 0; r < rc->nroots; r++)
        if (rc->roots[r].size > signed_end) signed_end = rc->roots[r].size;
    if (signed_end > span_end && span_end < ST_RC_MAX_INDEX)
        finding(rep, ST_RCF_INCOMPLETE, ST_RCS_INCONCLUSIVE, span_end, signed_end,
                "entries %llu..%llu are in none of the bundles, but a checkpoint of size %llu covers them: "
                "give a current export (sealtrail export) with the archives",
                (unsigned long long)span_end, (unsigned long long)signed_end - 1, (unsigned long long)signed_end);
    const rrec *pol = policy_before(&l, UINT64_MAX);
    if (pol) {
        rep->has_policy = 1;
        memset(&rep->policy, 0, sizeof rep->policy);
        rep->policy.kind = ST_RREC_POLICY;
        rep->policy.index = pol->index;
        rep->policy.time_us = pol->time_us;
        rep->policy.min_us = pol->min_us;
        rep->policy.has_max = pol->has_max;
        rep->policy.max_us = pol->max_us;
    }
    const rrec *maxpol = pol && pol->has_max ? pol : NULL;

    /* the walk over [0, span_end): R2, R3, R6 and the prefix maxima for R5 */
    run gap = { 0, 0, 0 }, miss = { 0, 0, 0 }, past = { 0, 0, 0 };
    size_t pk = 0;
    int have_prefix = 0;
    int64_t prefix_max = INT64_MIN;
    for (uint64_t i = 0; i < span_end; i++) {
        uint64_t skip = absent_until(rc, i);
        if (skip) {                         /* a chunk no bundle carried: one gap, judged as the steps would */
            if (skip > span_end) skip = span_end;
            while (pk < l.npol && l.pol[pk]->index <= i) judge_policy(&l, rep, l.pol[pk++], have_prefix, prefix_max);
            missing_flush(&l, rep, &miss);
            past_max_flush(rep, &past, maxpol);
            while (pk < l.npol && l.pol[pk]->index < skip) judge_policy(&l, rep, l.pol[pk++], have_prefix, prefix_max);
            if (!gap.on) { gap.on = 1; gap.b = i; }
            gap.e = skip;
            i = skip - 1;
            continue;
        }
        while (pk < l.npol && l.pol[pk]->index <= i) judge_policy(&l, rep, l.pol[pk++], have_prefix, prefix_max);
        int64_t t = 0;
        uint8_t f = flags_at(rc, i, &t);
        if (!(f & F_COVERED)) {
            missing_flush(&l, rep, &miss);
            past_max_flush(rep, &past, maxpol);
            if (!gap.on) { gap.on = 1; gap.b = i; }
            gap.e = i + 1;
            continue;
        }
        gap_flush(&l, rep, &gap);
        rep->entries_covered++;
        if (!have_prefix || t > prefix_max) prefix_max = t;
        have_prefix = 1;
        if (pol && (t > INT64_MAX - pol->min_us || t + pol->min_us > rep->as_of_us)) rep->entries_young++;
        if (f & F_ERASED) rep->payload_entries_erased++;
        if (f & F_ARCH) rep->payload_entries_archived++;
        if (f & F_PRUNE) rep->payload_entries_pruned++;
        int lost = (f & F_HASPAY) && !(f & F_HELD) && (f & F_ARCH) && !(f & F_PRUNE) && !pruned_until(&l, i);
        if (lost) {
            if (!miss.on) { miss.on = 1; miss.b = i; }
            miss.e = i + 1;
        } else {
            missing_flush(&l, rep, &miss);
        }
        if (maxpol && (f & F_PRESENT) && t <= rep->as_of_us - maxpol->max_us) {
            rep->entries_held_past_max++;
            if (!past.on) { past.on = 1; past.b = i; }
            past.e = i + 1;
        } else {
            past_max_flush(rep, &past, maxpol);
        }
    }
    gap_flush(&l, rep, &gap);
    missing_flush(&l, rep, &miss);
    past_max_flush(rep, &past, maxpol);
    while (pk < l.npol) judge_policy(&l, rep, l.pol[pk++], have_prefix, prefix_max);

    csum *cs;
    if ((rcode = csums_build(rc, &l, &cs)) != 0) {
        lookups_free(&l);
        return rcode;
    }
    for (size_t i = 0; i < rc->nrecs; i++)
        if (rc->recs[i].kind == ST_RREC_PRUNE) judge_prune(rc, &l, cs, rep, &rc->recs[i], span_end);
    judge_archives(rc, &l, cs, rep, span_end);
    free(cs);
    lookups_free(&l);

    rep->verdict = rep->violations ? ST_RC_VIOLATED : rep->inconclusive ? ST_RC_INCONCLUSIVE : ST_RC_COMPLIANT;
    return 0;
}

