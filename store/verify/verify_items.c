/*
 * verify_items.c: the per-entry checks of docs/VERIFYING.md steps 11 and 12,
 * run on worker threads over one batch at a time: canonical entry bytes,
 * the record's index, the leaf hash, the inclusion proof of a filtered
 * selection, the selection's criteria, and every payload against its
 * commitment (or its absence against the signed record that explains it).
 * Each item also gets its trailer-chain digests and the facts the report
 * counts. The hashing (two at a time) and the entry copies are in
 * verify_hash.c. Checks that need stream order (index continuity, roots) happen in
 * the merge (verifier.c). Workers read only state that is fixed before the
 * first batch (manifest, final checkpoint, support entries).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "entry_scan.h"
#include "sha256.h"
#include "textscan.h"
#include "verify_int.h"

const vsup *vsup_find(const vctx *v, uint64_t index)
{
    size_t lo = 0, hi = v->nsup;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v->sups[mid].index < index) lo = mid + 1;
        else hi = mid;
    }
    return lo < v->nsup && v->sups[lo].index == index ? &v->sups[lo] : NULL;
}

/* [BUNDLE-9] which signed records explain an absent payload. */
int vsup_covers(const vsup *s, uint64_t index, const char *name)
{
    switch (s->kind) {
    case SUP_ERASURE:
        if (s->target != index) return 0;
        if (s->all_names) return 1;
        for (size_t i = 0; i < s->nnames; i++)
            if (strcmp(s->names[i], name) == 0) return 1;
        return 0;
    case SUP_ARCHIVE:
    case SUP_PRUNE: return s->begin <= index && index < s->end;
    default: return 0;
    }
}

/* Records the batch's first failure; later items are not checked. */
static int bfail(vbatch *b, size_t item, int verdict, unsigned step, uint64_t offset, const char *fmt, ...)
    ST_PRINTF(6, 7);
static int bfail(vbatch *b, size_t item, int verdict, unsigned step, uint64_t offset, const char *fmt, ...)
{
    b->failed = 1;
    b->fail_item = item;
    b->verdict = verdict;
    b->step = step;
    b->fail_offset = offset;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b->msg, sizeof b->msg, fmt, ap);
    va_end(ap);
    return -1;
}

/* A decoded envelope string: the first VF_VALUE_MAX + 1 bytes and the full length. */
typedef struct vstr {
    int present;
    size_t len;
    char buf[VF_VALUE_MAX + 1];
} vstr;

/* The facts of one entry the checks need, from the fast scanner or from st_entry_parse. */
typedef struct vfacts {
    uint64_t index;
    int64_t time_us;
    size_t npayloads;
    const st_entry_payload *payloads;
    vstr tool, event, status, session, kind;
    int has_duration;
    uint64_t duration_ms;
} vfacts;

static void vstr_span(vstr *o, int present, const st_span *s)
{
    o->present = present;
    o->len = present ? st_span_decode(s, o->buf, sizeof o->buf) : 0;
}

static void vstr_json(vstr *o, const st_json *root, const char *key)
{
    size_t len;
    const char *s = st_json_get_str(root, key, &len);
    o->present = s != NULL;
    o->len = s ? len : 0;
    if (s) memcpy(o->buf, s, len < sizeof o->buf ? len : sizeof o->buf);
}

static void copy_name(char out[ST_VR_NAME_MAX + 1], int *has, const vstr *s)
{
    *has = s->present;
    size_t len = s->len < ST_VR_NAME_MAX ? s->len : ST_VR_NAME_MAX;
    for (size_t i = 0; i < len; i++) out[i] = (s->buf[i] >= 0x20 && s->buf[i] != 0x7f) ? s->buf[i] : '?';
    out[len] = 0;
}

static int in_list(const vlist *l, const vstr *s)
{
    if (!s->present || s->len > VF_VALUE_MAX) return 0;
    for (size_t i = 0; i < l->n; i++)
        if (l->len[i] == s->len && memcmp(l->v[i], s->buf, s->len) == 0) return 1;
    return 0;
}

static void set_h_body(vrec *r, const uint8_t *body)
{
    st_sha256(r->h, body, r->len);
    r->hlen = 32;
}

static void set_h_payload(vrec *r, uint64_t index, const char *name, size_t nlen, const st_hash commit)
{
    st_be64_put(r->h, index);
    r->h[8] = (uint8_t)nlen;
    memcpy(r->h + 9, name, nlen);
    memcpy(r->h + 9 + nlen, commit, 32);
    r->hlen = (uint8_t)(9 + nlen + 32);
}

/* Step 11.5, the criteria of a filtered selection [BUNDLE-6]. */
static int filter_check(const vctx *v, const vfacts *f, const char **why)
{
    const vsel *s = &v->sel;
    if (s->tool.n && !in_list(&s->tool, &f->tool)) { *why = "tool"; return 0; }
    if (s->event.n && !in_list(&s->event, &f->event)) { *why = "event"; return 0; }
    if (s->session.n && !in_list(&s->session, &f->session)) { *why = "session"; return 0; }
    if (s->status.n && !in_list(&s->status, &f->status)) { *why = "status"; return 0; }
    if (s->has_since && f->time_us < s->since_us) { *why = "since_us"; return 0; }
    if (s->has_until && f->time_us >= s->until_us) { *why = "until_us"; return 0; }
    if (s->has_min_duration && (!f->has_duration || f->duration_ms < s->min_duration_ms)) {
        *why = "min_duration_ms";
        return 0;
    }
    return 1;
}

static int text_in(const vsel *s, const uint8_t *p, size_t n)
{
    return st_text_either_in(p, n, s->text, s->text_len, s->text_esc, s->text_esc_len);
}

/* Steps 11.2-12 on an accepted entry. */
static int check_parsed(vctx *v, vbatch *b, vscratch *sc, size_t k, const vfacts *e, const st_brec_entry *bep)
{
    vitem *it = &b->items[k];
    vrec *recs = &b->recs[it->rec_first];
    vrec *er = &recs[0];
    const st_brec_entry be = *bep;
    st_err err;                 /* set by whatever fails (512 bytes: not cleared per entry) */
    err.msg[0] = 0;
    /* 11.2 the record's index is the entry's own [ENTRY-8] */
    if (e->index != be.index) {
        return bfail(b, k, ST_VERDICT_TAMPERED, 11, er->offset,
                     "entry record %llu: record index %llu, but the entry's \"index\" is %llu",
                     (unsigned long long)er->seq, (unsigned long long)be.index, (unsigned long long)e->index);
    }
    /* 11.3 the leaf hash [LEAF-1] is in it->leaf (check_item) */
    st_be64_put(er->h, be.index);
    memcpy(er->h + 8, it->leaf, 32);
    er->hlen = 40;

    /* facts for the report */
    it->time_us = e->time_us;
    int has_kind;
    copy_name(it->tool, &it->has_tool, &e->tool);
    copy_name(it->event, &it->has_event, &e->event);
    copy_name(it->status, &it->has_status, &e->status);
    copy_name(it->kind, &has_kind, &e->kind);
    it->is_policy = e->kind.len == 16 && memcmp(e->kind.buf, "retention-policy", 16) == 0;
    it->has_session = e->session.present;
    if (e->session.present)
        it->session_hash = vhash64(e->session.buf, e->session.len < sizeof e->session.buf ? e->session.len
                                                                                          : sizeof e->session.buf) ^
                           e->session.len;
    it->has_duration = e->has_duration;
    it->duration_ms = e->duration_ms;
    if (v->sel.has_since || v->sel.has_until)
        it->in_window = (!v->sel.has_since || e->time_us >= v->sel.since_us) &&
                        (!v->sel.has_until || e->time_us < v->sel.until_us);

    /* 11.8 keys (issue 5): a key-history entry in the selection is one of the bundle's key notes */
    if (e->kind.len > 4 && memcmp(e->kind.buf, "key-", 4) == 0) {
        char why[512];
        if (vk_entry_check(v, be.index, be.bytes, be.len, why, sizeof why))
            return bfail(b, k, ST_VERDICT_TAMPERED, 11, er->offset, "%s", why);
    }

    size_t ri = 1;
    /* 11.4 inclusion proof of a filtered selection [BUNDLE-7] */
    if (v->sel.kind == SEL_FILTER) {
        if (ri >= it->nrec || recs[ri].type != ST_BREC_INCLUSION) {
            return bfail(b, k, ST_VERDICT_TAMPERED, 11, er->offset,
                         "entry %llu: no inclusion proof (a filtered selection needs one per entry)",
                         (unsigned long long)be.index);
        }
        vrec *ir = &recs[ri++];
        const uint8_t *ib = vrec_body(b->arena, ir);
        st_brec_proof p;
        if (st_brec_proof_decode(&p, ib, ir->len, &err)) {
            return bfail(b, k, ST_VERDICT_UNVERIFIABLE, 11, ir->offset, "entry %llu: inclusion: %s",
                         (unsigned long long)be.index, err.msg);
        }
        if (p.a != be.index || p.b != v->final_size) {
            return bfail(b, k, ST_VERDICT_TAMPERED, 11, ir->offset,
                         "entry %llu: inclusion proof is for index %llu in size %llu, expected index %llu in "
                         "size %llu (the final checkpoint)", (unsigned long long)be.index, (unsigned long long)p.a,
                         (unsigned long long)p.b, (unsigned long long)be.index, (unsigned long long)v->final_size);
        }
        st_hash root;
        if (st_root_from_inclusion(root, p.a, p.b, it->leaf, (const st_hash *)p.hashes, p.n) != 0) {
            return bfail(b, k, ST_VERDICT_TAMPERED, 11, ir->offset,
                         "entry %llu: inclusion proof has %zu hashes, not the number a proof of index %llu in "
                         "size %llu has", (unsigned long long)be.index, (size_t)p.n, (unsigned long long)p.a,
                         (unsigned long long)p.b);
        }
        if (memcmp(root, v->final_root, 32) != 0) {
            char a[65], c[65], l[65];
            vhex(a, root);
            vhex(c, v->final_root);
            vhex(l, it->leaf);
            return bfail(b, k, ST_VERDICT_TAMPERED, 11, ir->offset,
                         "entry %llu: inclusion proof does not verify: leaf hash %s gives root %s, checkpoint %llu "
                         "has %s", (unsigned long long)be.index, l, a, (unsigned long long)v->final_size, c);
        }
        set_h_body(ir, ib);
    } else if (ri < it->nrec && recs[ri].type == ST_BREC_INCLUSION) {
        return bfail(b, k, ST_VERDICT_UNVERIFIABLE, 11, recs[ri].offset,
                     "entry %llu: an inclusion proof in a %s selection (only filtered selections carry them)",
                     (unsigned long long)be.index, v->rep->selection);
    }
    /* 11.5 the selection's criteria */
    if (v->sel.kind == SEL_FILTER) {
        const char *why = NULL;
        if (!filter_check(v, e, &why)) {
            return bfail(b, k, ST_VERDICT_TAMPERED, 11, er->offset,
                         "entry %llu does not match the manifest's filter (%s)", (unsigned long long)be.index, why);
        }
    }

    /* 12. payloads: one record per committed payload, in the table's order [BUNDLE-8] */
    vpay pre[ST_ENTRY_MAX_PAYLOADS];
    size_t npre = v->sel.text ? 0 : vcommit_ahead(b, recs + ri, it->nrec - ri, e->npayloads, pre);
    int text_found = 0;
    for (size_t j = 0; j < e->npayloads; j++) {
        const st_entry_payload *ep = &e->payloads[j];
        if (ri >= it->nrec) {
            return bfail(b, k, ST_VERDICT_TAMPERED, 12, er->offset,
                         "entry %llu: payload %s: missing (no payload record and no absent record explaining it)",
                         (unsigned long long)be.index, ep->name);
        }
        vrec *pr = &recs[ri++];
        if (pr->type == ST_BREC_PAYLOAD) {
            st_brec_payload ph;
            const uint8_t *pb = pr->streamed ? NULL : vrec_body(b->arena, pr);
            if (pb && pr->ext && v->sel.text) {
                /* the bytes hashed are the bytes searched: one read of the source */
                uint8_t *q = vscratch_get(&sc->pay, &sc->pay_cap, pr->len);
                if (!q) return bfail(b, k, ST_VERDICT_UNVERIFIABLE, 12, pr->offset, "out of memory");
                pb = memcpy(q, pb, pr->len);
            }
            int have = j < npre && pre[j].ok;
            if (pr->streamed) ph = pr->head;
            else if (have) ph = pre[j].ph;
            else if (st_brec_payload_decode(&ph, pb, pr->len, pr->len, &err)) {
                return bfail(b, k, ST_VERDICT_UNVERIFIABLE, 12, pr->offset, "record %llu: %s",
                             (unsigned long long)pr->seq, err.msg);
            }
            if (ph.index != be.index || strcmp(ph.name, ep->name) != 0) {
                return bfail(b, k, ST_VERDICT_TAMPERED, 12, pr->offset,
                             "entry %llu: payload record is for entry %llu payload %s, expected payload %s "
                             "(missing, reordered or foreign payload)", (unsigned long long)be.index,
                             (unsigned long long)ph.index, ph.name, ep->name);
            }
            if (ph.data_len != ep->len) {
                return bfail(b, k, ST_VERDICT_TAMPERED, 12, pr->offset,
                             "entry %llu: payload %s: length %llu, the entry commits to %llu",
                             (unsigned long long)be.index, ep->name, (unsigned long long)ph.data_len,
                             (unsigned long long)ep->len);
            }
            st_hash c;
            if (pr->streamed) memcpy(c, pr->commit, 32);
            else if (have) memcpy(c, pre[j].c, 32);
            else vcommit_hash(c, ph.salt, pb + ph.head_len, (size_t)ph.data_len);
            if (memcmp(c, ep->commit, 32) != 0) {
                char a[65], x[65];
                vhex(a, c);
                vhex(x, ep->commit);
                return bfail(b, k, ST_VERDICT_TAMPERED, 12, pr->offset,
                             "entry %llu: payload %s: commitment mismatch: computed %s, entry has %s",
                             (unsigned long long)be.index, ep->name, a, x);
            }
            set_h_payload(pr, ph.index, ph.name, ph.name_len, c);
            it->npay++;
            it->paybytes += ph.data_len;
            if (v->sel.text && !text_found) {
                if (pr->streamed) text_found = pr->text_hit;
                else if (text_in(&v->sel, pb + ph.head_len, (size_t)ph.data_len)) text_found = 1;
            }
        } else if (pr->type == ST_BREC_ABSENT) {
            st_brec_absent ab;
            const uint8_t *abody = vrec_body(b->arena, pr);
            if (st_brec_absent_decode(&ab, abody, pr->len, &err)) {
                return bfail(b, k, ST_VERDICT_UNVERIFIABLE, 12, pr->offset, "record %llu: %s",
                             (unsigned long long)pr->seq, err.msg);
            }
            if (ab.index != be.index || strcmp(ab.name, ep->name) != 0) {
                return bfail(b, k, ST_VERDICT_TAMPERED, 12, pr->offset,
                             "entry %llu: absent record is for entry %llu payload %s, expected payload %s",
                             (unsigned long long)be.index, (unsigned long long)ab.index, ab.name, ep->name);
            }
            const vsup *s = vsup_find(v, ab.record);
            if (!s) {
                return bfail(b, k, ST_VERDICT_TAMPERED, 12, pr->offset,
                             "entry %llu: payload %s is absent, explained by record %llu, which the bundle does "
                             "not carry", (unsigned long long)be.index, ep->name, (unsigned long long)ab.record);
            }
            if (ab.record <= be.index || !vsup_covers(s, be.index, ep->name)) {
                return bfail(b, k, ST_VERDICT_TAMPERED, 12, pr->offset,
                             "entry %llu: payload %s is absent, but record %llu does not cover it (it is a %s "
                             "record%s)", (unsigned long long)be.index, ep->name, (unsigned long long)ab.record,
                             s->kind == SUP_ERASURE ? "erasure" : s->kind == SUP_ARCHIVE ? "archive"
                             : s->kind == SUP_PRUNE ? "prune" : "non-retention",
                             ab.record <= be.index ? " that comes before the entry" : "");
            }
            set_h_body(pr, abody);
            it->nabsent++;
        } else {
            return bfail(b, k, ST_VERDICT_UNVERIFIABLE, 12, pr->offset, "entry %llu: unexpected %s record",
                         (unsigned long long)be.index, st_brec_name(pr->type));
        }
    }
    if (ri < it->nrec) {
        vrec *pr = &recs[ri];
        return bfail(b, k, ST_VERDICT_TAMPERED, 12, pr->offset,
                     "entry %llu: %zu payload record(s) more than the %zu its commitment table lists",
                     (unsigned long long)be.index, it->nrec - ri, e->npayloads);
    }
    if (v->sel.text && !text_found) {
        return bfail(b, k, ST_VERDICT_TAMPERED, 11, er->offset,
                     "entry %llu does not match the manifest's filter (text: in none of its payloads)",
                     (unsigned long long)be.index);
    }
    return 0;
}

/* Item k; pre: its entry already prepared (vitems_check), or NULL: prepared here. */
static int check_item(vctx *v, vbatch *b, vscratch *sc, size_t k, vprep *pre)
{
    vitem *it = &b->items[k];
    size_t rec_first = it->rec_first, nrec = it->nrec;   /* all the reader set (vm_item_record) */
    memset(it, 0, sizeof *it);
    it->rec_first = rec_first;
    it->nrec = nrec;
    vrec *er = &b->recs[it->rec_first];
    st_err err;                 /* set by whatever fails (512 bytes: not cleared per entry) */
    err.msg[0] = 0;
    vprep local;
    if (!pre) {
        pre = &local;
        if (vprep_entry(b, sc, 0, k, pre, &err))
            return bfail(b, k, ST_VERDICT_UNVERIFIABLE, 11, er->offset, "record %llu: %s",
                         (unsigned long long)er->seq, err.msg);
    }
    st_brec_entry be = pre->be;
    it->index = be.index;
    if (pre->hashed) memcpy(it->leaf, pre->leaf, 32);
    else st_sha256(it->leaf, be.bytes - 1, be.len + 1);       /* 11.3 leaf hash [LEAF-1] */
    /* 11.1 canonical bytes and well-formed members [ENTRY-1..9]: the one-pass
     * scanner, and st_entry_parse (the reference) for anything it does not accept. */
    static __thread vfacts f;
    st_entry_facts sf;
    if (st_entry_scan(&sf, be.bytes, be.len) == 0) {
        f.index = sf.index;
        f.time_us = sf.time_us;
        f.npayloads = sf.npayloads;
        f.payloads = sf.payloads;
        vstr_span(&f.tool, sf.has_tool, &sf.tool);
        vstr_span(&f.event, sf.has_event, &sf.event);
        vstr_span(&f.status, sf.has_status, &sf.status);
        vstr_span(&f.session, sf.has_session, &sf.session);
        vstr_span(&f.kind, 1, &sf.kind);
        f.has_duration = sf.has_duration;
        f.duration_ms = (uint64_t)sf.duration_ms;
        return check_parsed(v, b, sc, k, &f, &be);
    }
    st_entry e;
    int rc = st_entry_parse(&e, be.bytes, be.len, &err);
    if (rc == ST_EVERSION)
        return bfail(b, k, ST_VERDICT_UNTRUSTED, 11, er->offset, "entry %llu: unsupported entry version: %s",
                     (unsigned long long)be.index, err.msg);
    if (rc)
        return bfail(b, k, ST_VERDICT_TAMPERED, 11, er->offset, "entry %llu: %s: %s", (unsigned long long)be.index,
                     st_strerror(rc), err.msg);
    f.index = e.index;
    f.time_us = e.time_us;
    f.npayloads = e.npayloads;
    f.payloads = e.payloads;
    vstr_json(&f.tool, e.root, "tool");
    vstr_json(&f.event, e.root, "event");
    vstr_json(&f.status, e.root, "status");
    vstr_json(&f.session, e.root, "session");
    vstr_json(&f.kind, e.root, "kind");
    int64_t d;
    f.has_duration = st_json_get_i64(e.root, "duration_ms", &d) == 0 && d >= 0;
    f.duration_ms = f.has_duration ? (uint64_t)d : 0;
    rc = check_parsed(v, b, sc, k, &f, &be);
    st_entry_free(&e);
    return rc;
}

void vitems_check(vctx *v, vbatch *b, vscratch *sc)
{
    for (size_t k = 0; k < b->nitem; k++) {
        if (v->stop) {                /* a failure was merged: the rest does not matter */
            bfail(b, k, ST_VERDICT_UNVERIFIABLE, 0, 0, "stopped");
            return;
        }
        /* Two entries at a time: their leaf hashes computed together (st_sha256_2),
         * then each checked in order, as one at a time would. */
        vprep pa, pb;
        if (k + 1 < b->nitem && vprep_entry(b, sc, 0, k, &pa, NULL) == 0 && vprep_entry(b, sc, 1, k + 1, &pb, NULL) == 0) {
            vprep_leaves(&pa, &pb);
            if (check_item(v, b, sc, k, &pa)) return;
            if (v->stop) {
                bfail(b, k + 1, ST_VERDICT_UNVERIFIABLE, 0, 0, "stopped");
                return;
            }
            if (check_item(v, b, sc, ++k, &pb)) return;
            continue;
        }
        if (check_item(v, b, sc, k, NULL)) return;
    }
    vtree_build(v, b, sc);      /* every item checked: their subtrees for the merge */
    vchain_build(b);            /* and their trailer-chain input */
}
