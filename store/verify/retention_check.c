/*
 * retention_check.c: feeding the retention accumulator (retention_check.h):
 * per bundle its span, the roots it vouches for, the retention records it
 * carries and one line per entry. The judgement is retention_judge.c.
 *
 * State per log index (chunks of 64 Ki, allocated when first touched): the
 * entry's time_us and a flags byte (carried by some bundle; has payloads;
 * some bundle held all its non-erased payloads; some payload bytes were
 * present; absences by erasure, archive, prune). Roots are a flat list
 * sorted at the end; records are de-duplicated by index there (the same
 * record in two bundles must have the same bytes).
 */
#include "retention_int.h"
#include "verifier.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- findings ------------------------------------------------------------------- */

void st_rc_add_finding(st_rc_report *rep, int kind, int severity, uint64_t begin, uint64_t end, const char *fmt, ...)
{
    if (severity == ST_RCS_VIOLATION) rep->violations++;
    else if (severity == ST_RCS_INCONCLUSIVE) rep->inconclusive++;
    else rep->warnings++;
    if (rep->nfindings >= ST_RC_FINDINGS) return;
    st_rc_finding *f = &rep->findings[rep->nfindings++];
    f->kind = kind;
    f->severity = severity;
    f->begin = begin;
    f->end = end;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->msg, sizeof f->msg, fmt, ap);
    va_end(ap);
}

/* ---- feeding ---------------------------------------------------------------------- */

int st_rc_new(st_rc **out, const st_rc_opts *o)
{
    *out = calloc(1, sizeof **out);
    if (!*out) return ENOMEM;
    if (o) (*out)->o = *o;
    (*out)->max_cp_time_s = -1;
    return 0;
}

void st_rc_free(st_rc *rc)
{
    if (!rc) return;
    for (size_t i = 0; i < rc->nchunks; i++) free(rc->chunks[i]);
    free(rc->chunks);
    free(rc->roots);
    free(rc->bundles);
    free(rc->recs);
    free(rc);
}

static chunk *chunk_at(st_rc *rc, uint64_t index, int create)
{
    size_t c = (size_t)(index >> CHUNK_BITS);
    if (c >= rc->nchunks) {
        if (!create) return NULL;
        size_t n = rc->nchunks ? rc->nchunks : 16;
        while (n <= c) n *= 2;
        chunk **p = realloc(rc->chunks, n * sizeof *p);
        if (!p) return NULL;
        memset(p + rc->nchunks, 0, (n - rc->nchunks) * sizeof *p);
        rc->chunks = p;
        rc->nchunks = n;
    }
    if (!rc->chunks[c] && create) rc->chunks[c] = calloc(1, sizeof(chunk));
    return rc->chunks[c];
}

uint8_t st_rc_flags_at(const st_rc *rc, uint64_t index, int64_t *time_out)
{
    size_t c = (size_t)(index >> CHUNK_BITS);
    if (c >= rc->nchunks || !rc->chunks[c]) return 0;
    uint64_t k = index & (CHUNK - 1);
    if (time_out) *time_out = rc->chunks[c]->time[k];
    return rc->chunks[c]->flags[k];
}

int st_rc_bundle_begin(st_rc *rc, const st_rc_bundle *b)
{
    if (rc->nbundles == MAX_BUNDLES) {
        st_rc_add_finding(&rc->pre, ST_RCF_TOO_BIG, ST_RCS_INCONCLUSIVE, 0, 0, "more than %u bundles", MAX_BUNDLES);
        rc->in_bundle = 1;
        rc->ignore_entries = 1;
        return 0;
    }
    rbundle *nb = realloc(rc->bundles, (rc->nbundles + 1) * sizeof *nb);
    if (!nb) return ENOMEM;
    rc->bundles = nb;
    rbundle *x = &nb[rc->nbundles++];
    memset(x, 0, sizeof *x);
    snprintf(x->name, sizeof x->name, "%s", b->name ? b->name : "-");
    x->contiguous = b->contiguous;
    x->begin = b->begin;
    x->end = b->end;
    x->has_sha = b->has_file_sha256;
    if (x->has_sha) memcpy(x->sha, b->file_sha256, 32);
    rc->in_bundle = 1;
    rc->ignore_entries = 0;
    const char *origin = b->origin ? b->origin : "";
    if (rc->nbundles == 1) {
        snprintf(rc->origin, sizeof rc->origin, "%s", origin);
    } else if (strcmp(rc->origin, origin) != 0) {
        st_rc_add_finding(&rc->pre, ST_RCF_ORIGIN, ST_RCS_INCONCLUSIVE, b->begin, b->end,
                "%s: origin \"%s\", the first bundle's is \"%s\": bundles of different logs", x->name, origin,
                rc->origin);
        rc->ignore_entries = 1;
    }
    if (!b->contiguous) {
        st_rc_add_finding(&rc->pre, ST_RCF_FILTERED, ST_RCS_INCONCLUSIVE, b->begin, b->end,
                "%s: a filtered bundle proves which entries it carries, not that nothing is missing: "
                "retention needs full, range or time exports", x->name);
        rc->ignore_entries = 1;
    }
    if (b->end > ST_RC_MAX_INDEX) {
        st_rc_add_finding(&rc->pre, ST_RCF_TOO_BIG, ST_RCS_INCONCLUSIVE, b->begin, b->end,
                "%s: entries up to %llu: retention checks logs of at most %llu entries", x->name,
                (unsigned long long)b->end, (unsigned long long)ST_RC_MAX_INDEX);
        rc->ignore_entries = 1;
    }
    return 0;
}

int st_rc_root(st_rc *rc, uint64_t size, const st_hash root, int64_t cp_time_s)
{
    if (!rc->in_bundle || rc->nbundles == 0) return ST_EINVAL;
    rroot *p = st_array_room(rc->roots, &rc->roots_cap, rc->nroots, sizeof *p, 256);
    if (!p) return ENOMEM;
    rc->roots = p;
    rroot *r = &rc->roots[rc->nroots++];
    r->size = size;
    memcpy(r->root, root, 32);
    r->bundle = (uint32_t)(rc->nbundles - 1);
    if (cp_time_s > rc->max_cp_time_s) rc->max_cp_time_s = cp_time_s;
    return 0;
}

int st_rc_record(st_rc *rc, const uint8_t *bytes, size_t len)
{
    static _Thread_local st_rrec r;     /* large; one at a time */
    st_err err = { { 0 } };
    int prc = st_rrec_parse_bytes(&r, bytes, len, &err);
    if (prc == 0 && r.kind == ST_RREC_NONE) return 0;
    if (prc) {
        st_rc_add_finding(&rc->pre, ST_RCF_MALFORMED, ST_RCS_INCONCLUSIVE, r.index, r.index + 1, "%s", err.msg);
        return 0;
    }
    if (rc->nrecs == rc->recs_cap) {
        size_t n = rc->recs_cap ? rc->recs_cap * 2 : 64;
        rrec *p = realloc(rc->recs, n * sizeof *p);
        if (!p) return ENOMEM;
        rc->recs = p;
        rc->recs_cap = n;
    }
    rrec *x = &rc->recs[rc->nrecs++];
    memset(x, 0, sizeof *x);
    x->kind = r.kind;
    x->index = r.index;
    x->time_us = r.time_us;
    x->begin = r.begin;
    x->end = r.end;
    x->target = r.target;
    x->min_us = r.min_us;
    x->max_us = r.max_us;
    x->has_max = r.has_max;
    x->max_time_us = r.max_time_us;
    x->has_max_time = r.has_max_time;
    memcpy(x->file, r.file, sizeof x->file);
    memcpy(x->sha256, r.sha256, 32);
    st_leaf_hash(x->digest, bytes, len);
    return 0;
}

int st_rc_entry_add(st_rc *rc, const st_rc_entry *e)
{
    if (!rc->in_bundle) return ST_EINVAL;
    if (rc->ignore_entries) return 0;
    if (e->index >= ST_RC_MAX_INDEX) return 0;      /* reported at bundle_begin */
    chunk *c = chunk_at(rc, e->index, 1);
    if (!c) return ENOMEM;
    uint64_t k = e->index & (CHUNK - 1);
    uint8_t f = c->flags[k];
    if ((f & F_COVERED) && c->time[k] != e->time_us)
        st_rc_add_finding(&rc->pre, ST_RCF_TIME_CONFLICT, ST_RCS_VIOLATION, e->index, e->index + 1,
                "entry %llu: time_us %lld in %s, %lld in an earlier bundle: two different entries at one index",
                (unsigned long long)e->index, (long long)e->time_us, rc->bundles[rc->nbundles - 1].name,
                (long long)c->time[k]);
    f |= F_COVERED;
    c->time[k] = e->time_us;
    if (e->npayloads) f |= F_HASPAY;
    if (e->npayloads && e->archived == 0 && e->pruned == 0) f |= F_HELD;
    if (e->present) f |= F_PRESENT;
    if (e->archived) f |= F_ARCH;
    if (e->pruned) f |= F_PRUNE;
    if (e->erased) f |= F_ERASED;
    c->flags[k] = f;
    return 0;
}

int st_rc_bundle_end(st_rc *rc)
{
    rc->in_bundle = 0;           /* also after a bundle that failed before its manifest */
    return 0;
}

/* ---- feeding from the verifier ------------------------------------------------------- */

static void obs_manifest(void *ctx, const st_verify_report *rep)
{
    st_rc *rc = ctx;
    st_rc_bundle b = { rc->next_name, rep->origin, strcmp(rep->selection, "filter") != 0, rep->begin, rep->end, 0,
                       { 0 } };
    if (st_rc_bundle_begin(rc, &b) != 0) rc->failed = 1;
}

static void obs_root(void *ctx, uint64_t size, const st_hash root, int64_t time_s)
{
    st_rc *rc = ctx;
    if (rc->in_bundle && st_rc_root(rc, size, root, time_s) != 0) rc->failed = 1;
}

static void obs_record(void *ctx, uint64_t index, const uint8_t *bytes, size_t len)
{
    st_rc *rc = ctx;
    (void)index;
    if (rc->in_bundle && st_rc_record(rc, bytes, len) != 0) rc->failed = 1;
}

static void obs_entry(void *ctx, uint64_t index, int64_t time_us, unsigned npayloads, unsigned present,
                      unsigned erased, unsigned archived, unsigned pruned)
{
    st_rc *rc = ctx;
    st_rc_entry e = { index, time_us, npayloads, present, erased, archived, pruned };
    if (rc->in_bundle && st_rc_entry_add(rc, &e) != 0) rc->failed = 1;
}

void st_rc_observer(st_rc *rc, st_verify_observer *obs)
{
    memset(obs, 0, sizeof *obs);
    obs->ctx = rc;
    obs->manifest = obs_manifest;
    obs->root = obs_root;
    obs->record = obs_record;
    obs->entry = obs_entry;
}

void st_rc_next_bundle(st_rc *rc, const char *name)
{
    snprintf(rc->next_name, sizeof rc->next_name, "%s", name ? name : "-");
}

void st_rc_bundle_file_sha(st_rc *rc, const uint8_t sha[32])
{
    if (rc->nbundles == 0) return;
    rbundle *b = &rc->bundles[rc->nbundles - 1];
    b->has_sha = 1;
    memcpy(b->sha, sha, 32);
}

const char *st_rc_verdict_name(int verdict)
{
    switch (verdict) {
    case ST_RC_COMPLIANT: return "compliant";
    case ST_RC_VIOLATED: return "violated";
    default: return "inconclusive";
    }
}

const char *st_rc_finding_name(int kind)
{
    static const char *const names[] = {
        [ST_RCF_FORK] = "fork", [ST_RCF_UNLINKED] = "unlinked", [ST_RCF_FILTERED] = "filtered-bundle",
        [ST_RCF_GAP] = "gap", [ST_RCF_MISSING_ARCHIVE] = "missing-archive",
        [ST_RCF_PREMATURE_PRUNE] = "premature-prune", [ST_RCF_POLICY_SHORTENED] = "policy-shortened",
        [ST_RCF_POLICY_INVALID] = "policy-invalid", [ST_RCF_RECORD_CONFLICT] = "record-conflict",
        [ST_RCF_TOO_BIG] = "too-big", [ST_RCF_HELD_PAST_MAX] = "held-past-max", [ST_RCF_ORIGIN] = "origin",
        [ST_RCF_MALFORMED] = "malformed-record", [ST_RCF_TIME_CONFLICT] = "time-conflict",
        [ST_RCF_INCOMPLETE] = "incomplete",
    };
    if (kind <= 0 || (size_t)kind >= sizeof names / sizeof names[0] || !names[kind]) return "unknown";
    return names[kind];
}
