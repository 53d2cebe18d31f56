/*
 * verify_merge.c: the entries in stream order. The reader's side of steps
 * 11 and 12 (copying each entry's records into the batch being filled,
 * hashing oversized payloads as they stream), the in-order merge of checked
 * batches (index continuity 11.6, the time window 11.7, roots at every
 * checkpoint 13, the trailer digest chain, the report's counts), and step 14
 * (the right-hand subtrees and the final root).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sha256.h"
#include "textscan.h"
#include "verify_int.h"

void vm_table_add(st_vr_table *t, const char *name)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->v[i].name, name) == 0) {
            t->v[i].n++;
            return;
        }
    if (t->n < ST_VR_NAMES) {
        snprintf(t->v[t->n].name, sizeof t->v[t->n].name, "%s", name);
        t->v[t->n++].n = 1;
    } else {
        t->other++;
    }
}

void vm_session_add(vctx *v, uint64_t h)
{
    if (v->sess_n * 2 >= v->sess_cap) {
        if (v->sess_cap >= 2 * ST_VR_SESSIONS) {
            v->rep->sessions_capped = 1;
            return;
        }
        size_t ncap = v->sess_cap ? v->sess_cap * 2 : 4096;
        uint64_t *n = calloc(ncap, sizeof *n);
        if (!n) {
            v->rep->sessions_capped = 1;
            return;
        }
        for (size_t i = 0; i < v->sess_cap; i++)
            if (v->sessions[i]) {
                size_t j = v->sessions[i] & (ncap - 1);
                while (n[j]) j = (j + 1) & (ncap - 1);
                n[j] = v->sessions[i];
            }
        free(v->sessions);
        v->sessions = n;
        v->sess_cap = ncap;
    }
    size_t j = h & (v->sess_cap - 1);
    while (v->sessions[j]) {
        if (v->sessions[j] == h) return;
        j = (j + 1) & (v->sess_cap - 1);
    }
    v->sessions[j] = h;
    v->sess_n++;
}

/* ---- the merge: entries in stream order (steps 11 and 13) --------------------------------- */

static const char *sup_kind_name(int k)
{
    return k == SUP_ERASURE ? "erasure" : k == SUP_ARCHIVE ? "archive" : k == SUP_PRUNE ? "prune" : "other";
}

static void report_absent(vctx *v, vbatch *b, const vrec *r)
{
    st_brec_absent ab;
    st_verify_report *rep = v->rep;
    if (st_brec_absent_decode(&ab, vrec_body(b->arena, r), r->len, NULL)) return;
    const vsup *s = vsup_find(v, ab.record);
    int kind = s ? s->kind : SUP_OTHER;
    rep->absent++;
    if (kind == SUP_ERASURE) rep->absent_erasure++;
    else if (kind == SUP_ARCHIVE) rep->absent_archive++;
    else if (kind == SUP_PRUNE) rep->absent_prune++;
    if (rep->absent_listed < ST_VR_ABSENT) {
        st_vr_absent *a = &rep->absent_list[rep->absent_listed++];
        a->index = ab.index;
        memcpy(a->name, ab.name, sizeof a->name);
        a->record = ab.record;
        snprintf(a->reason, sizeof a->reason, "%s", sup_kind_name(kind));
    }
}

/* Retention (issue 7): what this entry's payload records were, and its bytes if it is a retention record. */
static void observe_item(vctx *v, vbatch *b, const vitem *it)
{
    const st_verify_observer *o = v->opts->observer;
    const vrec *er = &b->recs[it->rec_first];
    if (o->record && er->len > 8 &&
        (strcmp(it->kind, "retention-policy") == 0 || strcmp(it->kind, "archive") == 0 ||
         strcmp(it->kind, "prune") == 0 || strcmp(it->kind, "erasure") == 0))
        o->record(o->ctx, it->index, vrec_body(b->arena, er) + 8, er->len - 8);
    if (!o->entry) return;
    unsigned present = 0, erased = 0, archived = 0, pruned = 0;
    for (size_t i = 1; i < it->nrec; i++) {
        const vrec *r = &b->recs[it->rec_first + i];
        if (r->type == ST_BREC_PAYLOAD) {
            present++;
        } else if (r->type == ST_BREC_ABSENT) {
            st_brec_absent ab;
            const vsup *s = st_brec_absent_decode(&ab, vrec_body(b->arena, r), r->len, NULL) ? NULL : vsup_find(v, ab.record);
            int kind = s ? s->kind : SUP_OTHER;
            if (kind == SUP_ARCHIVE) archived++;
            else if (kind == SUP_PRUNE) pruned++;
            else erased++;
        }
    }
    o->entry(o->ctx, it->index, it->time_us, present + erased + archived + pruned, present, erased, archived, pruned);
}

static int merge_item(vctx *v, vbatch *b, vitem *it)
{
    const vrec *er = &b->recs[it->rec_first];
    uint64_t x = it->index;
    /* 11.6 continuity: no gap, no duplicate, no reordering, nothing inserted */
    if (v->contiguous) {
        if (x != v->next_index) {
            if (x < v->next_index)
                return vfail(v, ST_VERDICT_TAMPERED, 11, er->offset,
                             "entry %llu appears where entry %llu should be (duplicated or reordered)",
                             (unsigned long long)x, (unsigned long long)v->next_index);
            return vfail(v, ST_VERDICT_TAMPERED, 11, er->offset, "entries %llu..%llu are missing (next entry is %llu)",
                         (unsigned long long)v->next_index, (unsigned long long)x - 1, (unsigned long long)x);
        }
    } else if ((v->seen && x < v->next_index) || x < v->m_begin) {
        return vfail(v, ST_VERDICT_TAMPERED, 11, er->offset,
                     "entry %llu: not in ascending order (previous entry %llu, selection begins at %llu)",
                     (unsigned long long)x, (unsigned long long)(v->next_index ? v->next_index - 1 : 0),
                     (unsigned long long)v->m_begin);
    }
    if (x >= v->m_end)
        return vfail(v, ST_VERDICT_TAMPERED, 11, er->offset, "entry %llu is outside the selection [%llu, %llu)",
                     (unsigned long long)x, (unsigned long long)v->m_begin, (unsigned long long)v->m_end);
    if (x >= v->final_size)
        return vfail(v, ST_VERDICT_TAMPERED, 11, er->offset,
                     "entry %llu is not covered by the final checkpoint (size %llu)", (unsigned long long)x,
                     (unsigned long long)v->final_size);
    /* a support entry with the same index must be the same entry */
    while (v->sup_cursor < v->nsup && v->sups[v->sup_cursor].index < x) v->sup_cursor++;
    if (v->sup_cursor < v->nsup && v->sups[v->sup_cursor].index == x &&
        memcmp(v->sups[v->sup_cursor].leaf, it->leaf, 32) != 0) {
        char a[65], c[65];
        vhex(a, it->leaf);
        vhex(c, v->sups[v->sup_cursor].leaf);
        return vfail(v, ST_VERDICT_TAMPERED, 11, er->offset,
                     "entry %llu: leaf hash mismatch: the entry has %s, the support entry of the same index %s",
                     (unsigned long long)x, a, c);
    }
    /* 11.7 time selection: the range is tight (first and last entries inside the window) */
    if (v->sel.kind == SEL_TIME && v->seen == 0 && !it->in_window)
        return vfail(v, ST_VERDICT_TAMPERED, 11, er->offset,
                     "entry %llu (time_us %lld) is the first of a time selection but outside its window",
                     (unsigned long long)x, (long long)it->time_us);
    if (v->contiguous) {
        /* 13: the leaf, or the perfect subtree the worker built (verify_tree.c), which ends at this
         * entry; an entry inside one is appended with it (no marked size lies inside a subtree) */
        if (!b->has_tree || it->tree_level == 0) {
            if (!b->has_tree || !it->tree_skip) st_frontier_push_leaf(&v->fr, it->leaf);
        } else if (!it->tree_skip && st_frontier_push_subtree(&v->fr, it->tree_level, it->tree) != 0) {
            return vfail(v, ST_VERDICT_UNVERIFIABLE, 13, er->offset, "entry %llu: internal error: subtree of "
                         "level %u at size %llu", (unsigned long long)x, it->tree_level,
                         (unsigned long long)v->fr.size);
        }
        if (!(b->has_tree && it->tree_skip) && vh_frontier_reached(v, er->offset)) return -1;
    }
    v->next_index = x + 1;

    /* the trailer chain, in record order (a whole batch at once in vmerge_batch, if its worker built it) */
    for (size_t i = 0; !b->has_chain && i < it->nrec; i++) {
        const vrec *r = &b->recs[it->rec_first + i];
        st_bundle_chain_add(&v->chain, r->type, r->len, r->h, r->hlen);
    }

    /* the report */
    st_verify_report *rep = v->rep;
    if (v->seen == 0) {
        rep->first_index = x;
        rep->time_min_us = rep->time_max_us = it->time_us;
    }
    rep->last_index = x;
    if (it->time_us < rep->time_min_us) rep->time_min_us = it->time_us;
    if (it->time_us > rep->time_max_us) rep->time_max_us = it->time_us;
    if (it->in_window) rep->in_window++;
    vm_table_add(&rep->kinds, it->kind);
    if (it->has_tool) vm_table_add(&rep->tools, it->tool);
    if (it->has_event) vm_table_add(&rep->events, it->event);
    if (it->has_status) vm_table_add(&rep->statuses, it->status);
    if (it->has_session) vm_session_add(v, it->session_hash);
    if (it->is_policy && (int64_t)x > rep->retention_policy_index) rep->retention_policy_index = (int64_t)x;
    rep->payloads += it->npay;
    rep->payload_bytes += it->paybytes;
    for (size_t i = 1; it->nabsent && i < it->nrec; i++)   /* nabsent: no need to read the records otherwise */
        if (b->recs[it->rec_first + i].type == ST_BREC_ABSENT) report_absent(v, b, &b->recs[it->rec_first + i]);
    if (v->opts->observer) observe_item(v, b, it);                 /* retention (issue 7) */
    if (v->sel.kind == SEL_FILTER) rep->inclusion_proofs++;
    v->seen++;
    v->last_in_window = it->in_window;
    v->last_offset = er->offset;
    return 0;
}

void vmerge_batch(vctx *v, vbatch *b)
{
    if (atomic_load(&v->stop)) return;
    size_t n = b->failed ? b->fail_item : b->nitem;
    for (size_t k = 0; k < n; k++)
        if (merge_item(v, b, &b->items[k])) return;   /* a failure: the chain is not used again */
    if (b->has_chain) st_bundle_chain_add_run(&v->chain, b->chain, b->chain_len, b->nrec);
    if (b->failed) vfail(v, b->verdict, b->step, b->fail_offset, "%s", b->msg);
    else st_bundle_release(v->r, b->end_offset);   /* nothing before it is read again */
}

/* ---- building batches (the reader's side of steps 11 and 12) ------------------------------- */

static void *grow(void *p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return p;
    size_t n = *cap ? *cap : 64;
    while (n < need) n *= 2;
    void *q = realloc(p, n * elem);
    if (q) *cap = n;
    return q;
}

static vrec *batch_add_rec(vctx *v, vbatch *b, const st_brec *rec)
{
    vrec *recs = grow(b->recs, &b->rec_cap, b->nrec + 1, sizeof *recs);
    if (!recs) { vfail(v, ST_VERDICT_UNVERIFIABLE, 3, rec->offset, "out of memory"); return NULL; }
    b->recs = recs;
    vrec *r = &recs[b->nrec++];
    /* The reader sets only what it knows; the worker sets H (hlen, h) when it
     * checks the item: no write to the rest of a slot's cold records here. */
    r->ext = NULL;
    r->off = 0;
    r->streamed = 0;
    r->hlen = 0;
    r->type = rec->type;
    r->len = rec->len;
    r->seq = rec->seq;
    r->offset = rec->offset;
    b->end_offset = rec->offset + 5u + rec->len;
    b->bytes += rec->len;
    /* In place (the reader's memory source, e.g. a mapped file): no copy. The
     * worker reads the body once (verify_items.c). Not with an observer,
     * which reads entry bytes again on this thread. */
    if (rec->inplace && !v->opts->observer) {
        r->ext = rec->body;
    } else if (!rec->streamed) {
        size_t need = b->arena_len + rec->len;
        uint8_t *a = b->arena;
        if (need > b->arena_cap) {
            size_t ncap = b->arena_cap ? b->arena_cap : ((size_t)1 << 20);
            while (ncap < need) ncap *= 2;
            a = realloc(b->arena, ncap);
            if (!a) { vfail(v, ST_VERDICT_UNVERIFIABLE, 3, rec->offset, "out of memory"); return NULL; }
            b->arena = a;
            b->arena_cap = ncap;
        }
        memcpy(a + b->arena_len, rec->body, rec->len);
        r->off = b->arena_len;
        b->arena_len += rec->len;
    }
    if (b->nitem) b->items[b->nitem - 1].nrec++;
    return r;
}

/* A PAYLOAD too large to hold: the reader hashes it as it streams (and
 * looks for the selection's text in it). */
static int stream_payload(vctx *v, vrec *r)
{
    st_err err = { { 0 } };
    uint8_t *buf = v->stream_buf;
    size_t got = 0, want = ST_BREC_PAYLOAD_HEAD_MAX;
    while (got < want) {
        ssize_t k = st_bundle_body_read(v->r, buf + got, want - got, &err);
        if (k < 0) return vfail(v, ST_VERDICT_UNVERIFIABLE, 3, r->offset, "%s", err.msg);
        if (k == 0) break;
        got += (size_t)k;
    }
    if (st_brec_payload_decode(&r->head, buf, got, r->len, &err))
        return vfail(v, ST_VERDICT_UNVERIFIABLE, 12, r->offset, "record %llu: %s", (unsigned long long)r->seq, err.msg);
    static const uint8_t zero = 0;
    st_sha256_ctx c;
    st_sha256_init(&c);
    st_sha256_update(&c, ST_PAYLOAD_TAG, sizeof ST_PAYLOAD_TAG - 1);
    st_sha256_update(&c, &zero, 1);
    st_sha256_update(&c, r->head.salt, 16);
    st_sha256_update(&c, buf + r->head.head_len, got - r->head.head_len);
    st_textscan ts = { 0 };
    if (v->sel.text) {
        if (st_textscan_init(&ts, v->sel.text, v->sel.text_len, v->sel.text_esc, v->sel.text_esc_len))
            return vfail(v, ST_VERDICT_UNVERIFIABLE, 12, r->offset, "out of memory");
        st_textscan_feed(&ts, buf + r->head.head_len, got - r->head.head_len);
    }
    for (;;) {
        ssize_t k = st_bundle_body_read(v->r, buf, VSTREAM_BUF, &err);
        if (k < 0) {
            st_textscan_free(&ts);
            return vfail(v, ST_VERDICT_UNVERIFIABLE, 3, r->offset, "%s", err.msg);
        }
        if (k == 0) break;
        st_sha256_update(&c, buf, (size_t)k);
        if (v->sel.text) st_textscan_feed(&ts, buf, (size_t)k);
    }
    st_textscan_free(&ts);
    st_sha256_final(&c, r->commit);
    r->streamed = 1;
    r->text_hit = ts.hit;
    return 0;
}

int vm_item_record(vctx *v, const st_brec *rec)
{
    vbatch *b = v->cur;
    if (rec->type == ST_BREC_ENTRY) {
        if (v->contiguous && !v->have_frontier)
            return vfail(v, ST_VERDICT_TAMPERED, 10, rec->offset,
                         "no frontier record before the entries (a %s selection needs one)", v->rep->selection);
        if (b && (b->nitem >= VB_MAX_ITEMS || b->bytes >= VB_MAX_BYTES || b->nrec >= VB_MAX_RECS)) {
            vpool_submit(v, b);
            b = NULL;
        }
        if (!b) {
            b = vpool_fill_slot(v);
            if (!b) return -1;
        }
        v->cur = b;
        vitem *items = grow(b->items, &b->item_cap, b->nitem + 1, sizeof *items);
        if (!items) return vfail(v, ST_VERDICT_UNVERIFIABLE, 3, rec->offset, "out of memory");
        b->items = items;
        vitem *it = &items[b->nitem++];
        it->rec_first = b->nrec;       /* the rest is cleared by the worker (check_item) */
        it->nrec = 0;
    } else if (b && b->nitem && b->items[b->nitem - 1].nrec >= VB_ITEM_MAX_RECS) {
        /* More records than an entry can have: the item's check (step 12)
         * names it, in stream order after every earlier batch's result. */
        uint64_t off = b->recs[b->items[b->nitem - 1].rec_first].offset;
        vpool_drain(v);
        v->cur = NULL;
        return vfail(v, ST_VERDICT_TAMPERED, 12, rec->offset, "the entry at offset %llu is followed by more than %u records",
                     (unsigned long long)off, VB_ITEM_MAX_RECS - 1);
    }
    vrec *r = batch_add_rec(v, b, rec);
    if (!r) return -1;
    if (rec->streamed) return stream_payload(v, r);
    return 0;
}

/* ---- step 14: the right-hand side and the final root ----------------------------------------- */

int vm_right(vctx *v, const st_brec *rec)
{
    if (!v->contiguous)
        return vfail(v, ST_VERDICT_UNVERIFIABLE, 14, rec->offset, "a right-side record in a filtered selection");
    if (!v->have_frontier)
        return vfail(v, ST_VERDICT_TAMPERED, 10, rec->offset, "no frontier record (a %s selection needs one)",
                     v->rep->selection);
    st_brec_proof p;
    st_err err = { { 0 } };
    if (st_brec_proof_decode(&p, rec->body, rec->len, &err))
        return vfail(v, ST_VERDICT_UNVERIFIABLE, 14, rec->offset, "right-side record: %s", err.msg);
    if (v->fr.size != v->m_end)
        return vfail(v, ST_VERDICT_TAMPERED, 14, rec->offset,
                     "the entries end before %llu, the manifest's end is %llu (entries removed at the end)",
                     (unsigned long long)v->fr.size, (unsigned long long)v->m_end);
    if (p.a != v->m_end || p.b != v->final_size)
        return vfail(v, ST_VERDICT_TAMPERED, 14, rec->offset,
                     "right-side hashes cover [%llu, %llu), expected [%llu, %llu)", (unsigned long long)p.a,
                     (unsigned long long)p.b, (unsigned long long)v->m_end, (unsigned long long)v->final_size);
    if (v->opts->observer && v->opts->observer->root) {            /* retention (issue 7): the root at end */
        st_hash end_root;
        st_frontier_root(&v->fr, end_root);
        vobserve_root(v, v->fr.size, end_root, -1);
    }
    unsigned levels[128];
    uint64_t idx[128];
    unsigned n = st_range_decompose(p.a, p.b, levels, idx);
    if (p.n != n)
        return vfail(v, ST_VERDICT_TAMPERED, 14, rec->offset, "right-side hashes: %zu hashes, [%llu, %llu) needs %u",
                     p.n, (unsigned long long)p.a, (unsigned long long)p.b, n);
    st_frontier f = v->fr;
    for (unsigned i = 0; i < n; i++)
        if (st_frontier_push_subtree(&f, levels[i], p.hashes + (size_t)i * 32) != 0)
            return vfail(v, ST_VERDICT_UNVERIFIABLE, 14, rec->offset, "right-side hashes: bad subtree shape");
    st_hash root;
    st_frontier_root(&f, root);
    if (memcmp(root, v->final_root, 32) != 0) {
        char a[65], b[65];
        vhex(a, root);
        vhex(b, v->final_root);
        return vfail(v, ST_VERDICT_TAMPERED, 14, rec->offset,
                     "final checkpoint %llu: root mismatch: computed %s from the entries and right-side hashes, "
                     "checkpoint has %s", (unsigned long long)v->final_size, a, b);
    }
    if (p.n) v->rep->roots_recomputed++;      /* else the merge already compared it at N */
    v->have_right = 1;
    st_bundle_chain_add_body(&v->chain, rec->type, rec->body, rec->len);
    return 0;
}

