/*
 * verify_header.c: docs/VERIFYING.md steps 5 to 10 and 16.1, the records
 * before the entries: the keys the bundle lists (reported, never trusted),
 * the checkpoints and their signatures by the keys the key history lets
 * sign them (verify_keys.c: from the trusted keys only), the
 * consistency proofs between consecutive checkpoints, the previous
 * checkpoint and its link, the manifest's checkpoint claims, the auditor's
 * --previous against checkpoints of the same size, the support entries with
 * their inclusion proofs, and the frontier. All run on the reader thread,
 * before any entry, so the workers can read what they set.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sha256.h"
#include "verify_int.h"

/* ---- step 5: keys carried by the bundle (reported, never trusted) ---------------- */

static int key_equal(const st_vkey *a, const st_vkey *b)
{
    return a->key_id == b->key_id && strcmp(a->name, b->name) == 0 && memcmp(a->pub, b->pub, 32) == 0;
}

int vh_key(vctx *v, const st_brec *rec)
{
    st_vkey k;
    st_err err = { { 0 } };
    if (st_vkey_parse(&k, (const char *)rec->body, rec->len, &err))
        return vfail(v, ST_VERDICT_UNVERIFIABLE, 5, rec->offset, "key record %llu: %s",
                     (unsigned long long)rec->seq, err.msg);
    char canon[ST_VKEY_MAX];
    st_vkey_format(canon, &k);
    if (strlen(canon) != rec->len || memcmp(canon, rec->body, rec->len) != 0)
        return vfail(v, ST_VERDICT_UNVERIFIABLE, 5, rec->offset,
                     "key record %llu: not the canonical verifier key string (expected %s)",
                     (unsigned long long)rec->seq, canon);
    st_verify_report *rep = v->rep;
    if (rep->nkeys < ST_VR_KEYS) {
        st_vr_key *rk = &rep->keys[rep->nkeys++];
        snprintf(rk->vkey, sizeof rk->vkey, "%s", canon);
        rk->in_bundle = 1;
        for (size_t i = 0; i < v->opts->ntrust; i++)
            if (key_equal(&k, &v->opts->trust[i])) rk->trusted = 1;
    }
    st_bundle_chain_add_body(&v->chain, rec->type, rec->body, rec->len);
    return 0;
}

/* ---- step 6: checkpoints ---------------------------------------------------------- */

/* Parses a signed checkpoint note and verifies it by the keys the key history
 * lets sign it (verify_keys.c; keys from the trust anchors only, step 5). */
static int checkpoint_verify(vctx *v, const char *what, const uint8_t *body, size_t len, uint64_t offset,
                             unsigned step, vcp *out)
{
    static __thread st_note note;     /* ~9 KiB: keep it off the stack */
    st_err err = { { 0 } };
    st_checkpoint cp;
    if (st_note_parse(&note, (const char *)body, len, &err))
        return vfail(v, ST_VERDICT_UNVERIFIABLE, step, offset, "%s: malformed signed note: %s", what, err.msg);
    if (st_checkpoint_parse(&cp, note.text, note.text_len, &err))
        return vfail(v, ST_VERDICT_UNVERIFIABLE, step, offset, "%s: malformed checkpoint: %s", what, err.msg);
    if (vk_checkpoint_note(v, what, &note, &cp, step, offset)) return -1;
    if (strcmp(cp.origin, v->rep->origin) != 0)
        return vfail(v, ST_VERDICT_TAMPERED, step, offset, "%s (size %llu): origin \"%s\", the manifest says \"%s\"",
                     what, (unsigned long long)cp.size, cp.origin, v->rep->origin);
    if (cp.time_s < 0)
        return vfail(v, ST_VERDICT_UNVERIFIABLE, step, offset, "%s (size %llu): no \"time\" line [CP-2]", what,
                     (unsigned long long)cp.size);
    out->size = cp.size;
    memcpy(out->root, cp.root, 32);
    out->time_s = cp.time_s;
    return 0;
}

int vh_checkpoint(vctx *v, const st_brec *rec)
{
    char what[64];
    snprintf(what, sizeof what, "checkpoint record %llu", (unsigned long long)rec->seq);
    vcp cp;
    if (checkpoint_verify(v, what, rec->body, rec->len, rec->offset, 6, &cp)) return -1;
    if (v->ncp > 0) {
        const vcp *prev = &v->cps[v->ncp - 1];
        if (cp.size <= prev->size)
            return vfail(v, ST_VERDICT_TAMPERED, 6, rec->offset,
                         "checkpoint of size %llu follows one of size %llu (sizes must increase)",
                         (unsigned long long)cp.size, (unsigned long long)prev->size);
        if (cp.time_s < prev->time_s)
            return vfail(v, ST_VERDICT_TAMPERED, 6, rec->offset,
                         "checkpoint %llu is sealed at time %lld, before checkpoint %llu (time %lld) [CP-2]",
                         (unsigned long long)cp.size, (long long)cp.time_s, (unsigned long long)prev->size,
                         (long long)prev->time_s);
    }
    if (v->ncp == v->cp_cap) {
        size_t ncap = v->cp_cap ? v->cp_cap * 2 : 64;
        vcp *n = realloc(v->cps, ncap * sizeof *n);
        if (!n) return vfail(v, ST_VERDICT_UNVERIFIABLE, 6, rec->offset, "out of memory");
        v->cps = n;
        v->cp_cap = ncap;
    }
    v->cps[v->ncp++] = cp;
    st_bundle_chain_add_body(&v->chain, rec->type, rec->body, rec->len);
    vobserve_root(v, cp.size, cp.root, cp.time_s);
    return 0;
}

/* ---- steps 7 and 8: consistency proofs and the previous checkpoint --------------------- */

static int verify_cons(vctx *v, const st_brec *rec, unsigned step, const vcp *a, const vcp *b)
{
    st_brec_proof p;
    st_err err = { { 0 } };
    if (st_brec_proof_decode(&p, rec->body, rec->len, &err))
        return vfail(v, ST_VERDICT_UNVERIFIABLE, step, rec->offset, "consistency record %llu: %s",
                     (unsigned long long)rec->seq, err.msg);
    if (p.a != a->size || p.b != b->size)
        return vfail(v, ST_VERDICT_TAMPERED, step, rec->offset,
                     "consistency record %llu: proves %llu -> %llu, expected %llu -> %llu",
                     (unsigned long long)rec->seq, (unsigned long long)p.a, (unsigned long long)p.b,
                     (unsigned long long)a->size, (unsigned long long)b->size);
    if (st_verify_consistency(p.a, p.b, a->root, b->root, (const st_hash *)p.hashes, p.n) != 0) {
        char x[65], y[65];
        vhex(x, a->root);
        vhex(y, b->root);
        return vfail(v, ST_VERDICT_TAMPERED, step, rec->offset,
                     "checkpoints %llu (root %s) and %llu (root %s) are not consistent: the proof does not verify",
                     (unsigned long long)a->size, x, (unsigned long long)b->size, y);
    }
    v->rep->consistency_proofs++;
    st_bundle_chain_add_body(&v->chain, rec->type, rec->body, rec->len);
    return 0;
}

int vh_consistency(vctx *v, const st_brec *rec, int *link)
{
    if (*link) {                                   /* 8.2 PREVIOUS -> final checkpoint */
        *link = 0;
        return verify_cons(v, rec, 8, &v->prev_rec, &v->cps[v->ncp - 1]);
    }
    if (v->ncons + 1 >= v->ncp)                    /* 7.1 one per consecutive pair */
        return vfail(v, ST_VERDICT_TAMPERED, 7, rec->offset,
                     "consistency record %llu: %zu checkpoints need only %zu proofs", (unsigned long long)rec->seq,
                     v->ncp, v->ncp - 1);
    const vcp *a = &v->cps[v->ncons], *b = &v->cps[v->ncons + 1];
    if (verify_cons(v, rec, 7, a, b)) return -1;
    v->ncons++;
    return 0;
}

int vh_previous(vctx *v, const st_brec *rec)
{
    if (checkpoint_verify(v, "previous checkpoint", rec->body, rec->len, rec->offset, 8, &v->prev_rec))
        return -1;
    const vcp *fin = &v->cps[v->ncp - 1];
    if (v->prev_rec.size > fin->size)
        return vfail(v, ST_VERDICT_TAMPERED, 8, rec->offset,
                     "previous checkpoint of size %llu is newer than the final checkpoint (size %llu)",
                     (unsigned long long)v->prev_rec.size, (unsigned long long)fin->size);
    v->have_prev_rec = 1;
    v->rep->has_previous_record = 1;
    v->rep->previous_record_size = v->prev_rec.size;
    st_bundle_chain_add_body(&v->chain, rec->type, rec->body, rec->len);
    vobserve_root(v, v->prev_rec.size, v->prev_rec.root, v->prev_rec.time_s);
    return 0;
}

/* Step 16: links the auditor's checkpoint to a checkpoint of the same size. */
int vh_link_auditor(vctx *v, const st_hash root, uint64_t size, const char *how, uint64_t offset)
{
    if (!v->have_auditor_prev || v->auditor_prev_linked || v->auditor_prev.size != size) return 0;
    if (memcmp(root, v->auditor_prev.root, 32) != 0) {
        char a[65], b[65];
        vhex(a, v->auditor_prev.root);
        vhex(b, root);
        return vfail(v, ST_VERDICT_TAMPERED, 16, offset,
                     "fork: your checkpoint of size %llu has root %s, this bundle's %s of the same size is %s",
                     (unsigned long long)size, a, how, b);
    }
    v->auditor_prev_linked = 1;
    snprintf(v->rep->previous_how, sizeof v->rep->previous_how, "%s", how);
    return 0;
}

/* End of the header records: the counts and claims they must satisfy. */
int vh_header_finish(vctx *v, uint64_t offset)
{
    if (v->header_done) return 0;
    v->header_done = 1;
    const vcp *fin = &v->cps[v->ncp - 1];
    v->final_size = fin->size;
    memcpy(v->final_root, fin->root, 32);
    if (v->ncons != v->ncp - 1)                    /* 7.2 */
        return vfail(v, ST_VERDICT_TAMPERED, 7, offset,
                     "%zu consistency proof(s) for %zu checkpoints: every consecutive pair needs one", v->ncons,
                     v->ncp);
    if (v->m_checkpoints != v->ncp)                /* 6.5 the manifest's claims */
        return vfail(v, ST_VERDICT_TAMPERED, 6, offset, "the manifest says %llu checkpoints, the bundle has %zu",
                     (unsigned long long)v->m_checkpoints, v->ncp);
    if (v->m_final != fin->size)
        return vfail(v, ST_VERDICT_TAMPERED, 6, offset,
                     "the manifest says the final checkpoint has size %llu, the bundle's has %llu",
                     (unsigned long long)v->m_final, (unsigned long long)fin->size);
    if (v->m_has_prev != v->have_prev_rec || (v->m_has_prev && v->m_prev_size != v->prev_rec.size))
        return vfail(v, ST_VERDICT_TAMPERED, 8, offset,
                     "the manifest's previous_size (%s%llu) does not match the bundle's previous checkpoint (%s%llu)",
                     v->m_has_prev ? "" : "none ", (unsigned long long)v->m_prev_size,
                     v->have_prev_rec ? "" : "none ", (unsigned long long)v->prev_rec.size);
    /* 16.1 --previous against checkpoints of the same size */
    if (v->have_auditor_prev && v->auditor_prev.size == 0) {
        st_hash empty;
        st_empty_root(empty);
        if (vh_link_auditor(v, empty, 0, "empty tree", offset)) return -1;
    }
    for (size_t i = 0; i < v->ncp && !v->auditor_prev_linked; i++) {
        char how[64];
        snprintf(how, sizeof how, "checkpoint %llu", (unsigned long long)v->cps[i].size);
        if (vh_link_auditor(v, v->cps[i].root, v->cps[i].size, how, offset)) return -1;
    }
    if (v->have_prev_rec && vh_link_auditor(v, v->prev_rec.root, v->prev_rec.size, "previous checkpoint", offset))
        return -1;
    return 0;
}

/* ---- step 9: support entries ------------------------------------------------------------- */

static int sup_data_u64(const st_json *data, const char *key, uint64_t *out)
{
    int64_t i;
    if (st_json_get_i64(data, key, &i) != 0 || i < 0) return -1;
    *out = (uint64_t)i;
    return 0;
}

int vh_support(vctx *v, const st_brec *rec)
{
    st_brec_entry be;
    st_err err = { { 0 } };
    if (st_brec_entry_decode(&be, rec->body, rec->len, &err))
        return vfail(v, ST_VERDICT_UNVERIFIABLE, 9, rec->offset, "support record %llu: %s",
                     (unsigned long long)rec->seq, err.msg);
    st_entry e;
    int rc = st_entry_parse(&e, be.bytes, be.len, &err);
    if (rc)
        return vfail(v, rc == ST_EVERSION ? ST_VERDICT_UNTRUSTED : ST_VERDICT_TAMPERED, 9, rec->offset,
                     "support entry %llu: %s: %s", (unsigned long long)be.index, st_strerror(rc), err.msg);
    vsup s;
    memset(&s, 0, sizeof s);
    s.index = be.index;
    const char *why = NULL;
    if (e.index != be.index) why = "the record's index differs from the entry's";
    else if (v->nsup && be.index <= v->sups[v->nsup - 1].index) why = "support entries are not in ascending order";
    else if (be.index >= v->final_size) why = "not covered by the final checkpoint";
    if (why) {
        st_entry_free(&e);
        return vfail(v, ST_VERDICT_TAMPERED, 9, rec->offset, "support entry %llu: %s (final size %llu)",
                     (unsigned long long)be.index, why, (unsigned long long)v->final_size);
    }
    const st_json *data = st_json_get(e.root, "data");
    if (strcmp(e.kind, "erasure") == 0) {
        s.kind = SUP_ERASURE;
        const st_json *names = data ? st_json_get(data, "payloads") : NULL;
        if (!data || sup_data_u64(data, "index", &s.target)) why = "an erasure record needs data.index";
        else if (!names) s.all_names = 1;
        else if (names->type != ST_JSON_ARRAY || names->count > ST_ENTRY_MAX_PAYLOADS) why = "bad data.payloads";
        else
            for (const st_json *c = names->child; c && !why; c = c->next) {
                if (c->type != ST_JSON_STRING || !st_payload_name_valid(c->str, c->len)) why = "bad payload name";
                else memcpy(s.names[s.nnames++], c->str, c->len + 1);
            }
    } else if (strcmp(e.kind, "archive") == 0 || strcmp(e.kind, "prune") == 0) {
        s.kind = e.kind[0] == 'a' ? SUP_ARCHIVE : SUP_PRUNE;
        if (!data || sup_data_u64(data, "begin", &s.begin) || sup_data_u64(data, "end", &s.end) || s.begin > s.end)
            why = "an archive or prune record needs data.begin <= data.end";
    } else if (strcmp(e.kind, "retention-policy") == 0) {
        s.kind = SUP_POLICY;
        if ((int64_t)be.index > v->rep->retention_policy_index) v->rep->retention_policy_index = (int64_t)be.index;
    }
    /* keys (issue 5): a key-history record must be one of the bundle's key notes (step 5b) */
    if (!why && vk_support(v, be.index, e.kind, e.root, rec->offset)) {
        st_entry_free(&e);
        return -1;
    }
    st_entry_free(&e);
    if (why)
        return vfail(v, ST_VERDICT_UNVERIFIABLE, 9, rec->offset, "support entry %llu: %s",
                     (unsigned long long)be.index, why);
    st_sha256_ctx c;
    static const uint8_t zero = 0;
    st_sha256_init(&c);
    st_sha256_update(&c, &zero, 1);
    st_sha256_update(&c, be.bytes, be.len);
    st_sha256_final(&c, s.leaf);
    if (v->nsup == v->sup_cap) {
        size_t ncap = v->sup_cap ? v->sup_cap * 2 : 16;
        vsup *n = realloc(v->sups, ncap * sizeof *n);
        if (!n) return vfail(v, ST_VERDICT_UNVERIFIABLE, 9, rec->offset, "out of memory");
        v->sups = n;
        v->sup_cap = ncap;
    }
    v->sups[v->nsup++] = s;
    v->rep->supports++;
    v->pending_support = 1;
    st_bundle_chain_add_entry(&v->chain, rec->type, rec->len, be.index, s.leaf);
    if (v->opts->observer && v->opts->observer->record)           /* retention (issue 7) */
        v->opts->observer->record(v->opts->observer->ctx, be.index, be.bytes, be.len);
    return 0;
}

int vh_support_inclusion(vctx *v, const st_brec *rec)
{
    const vsup *s = &v->sups[v->nsup - 1];
    v->pending_support = 0;
    st_brec_proof p;
    st_err err = { { 0 } };
    if (st_brec_proof_decode(&p, rec->body, rec->len, &err))
        return vfail(v, ST_VERDICT_UNVERIFIABLE, 9, rec->offset, "support entry %llu: inclusion: %s",
                     (unsigned long long)s->index, err.msg);
    st_hash root;
    if (p.a != s->index || p.b != v->final_size ||
        st_root_from_inclusion(root, p.a, p.b, s->leaf, (const st_hash *)p.hashes, p.n) != 0 ||
        memcmp(root, v->final_root, 32) != 0) {
        char l[65], c[65];
        vhex(l, s->leaf);
        vhex(c, v->final_root);
        return vfail(v, ST_VERDICT_TAMPERED, 9, rec->offset,
                     "support entry %llu: inclusion proof (index %llu, size %llu) does not verify: leaf hash %s, "
                     "checkpoint %llu has root %s", (unsigned long long)s->index, (unsigned long long)p.a,
                     (unsigned long long)p.b, l, (unsigned long long)v->final_size, c);
    }
    v->rep->inclusion_proofs++;
    st_bundle_chain_add_body(&v->chain, rec->type, rec->body, rec->len);
    return 0;
}

/* ---- steps 10 and 13: the frontier and roots at every checkpoint ------------------------- */

int vh_frontier_reached(vctx *v, uint64_t offset)
{
    while (v->cp_next < v->ncp && v->cps[v->cp_next].size < v->fr.size) v->cp_next++;
    int at_cp = v->cp_next < v->ncp && v->cps[v->cp_next].size == v->fr.size;
    int at_prev = v->have_auditor_prev && !v->auditor_prev_linked && v->auditor_prev.size == v->fr.size;
    if (!at_cp && !at_prev) return 0;
    st_hash root;
    st_frontier_root(&v->fr, root);
    if (at_cp) {
        const vcp *cp = &v->cps[v->cp_next++];
        if (memcmp(root, cp->root, 32) != 0) {
            char a[65], b[65];
            vhex(a, root);
            vhex(b, cp->root);
            return vfail(v, ST_VERDICT_TAMPERED, 13, offset,
                         "checkpoint %llu: root mismatch: computed %s from the bundle's entries, checkpoint has %s "
                         "(an entry below %llu was altered, removed, reordered or inserted)",
                         (unsigned long long)cp->size, a, b, (unsigned long long)cp->size);
        }
        v->rep->roots_recomputed++;
    }
    if (at_prev) {
        char how[64];
        snprintf(how, sizeof how, "entries 0..%llu", (unsigned long long)v->fr.size);
        if (vh_link_auditor(v, root, v->fr.size, how, offset)) return -1;
    }
    return 0;
}

int vh_frontier(vctx *v, const st_brec *rec)
{
    if (!v->contiguous)
        return vfail(v, ST_VERDICT_UNVERIFIABLE, 10, rec->offset, "a frontier record in a filtered selection");
    st_brec_frontier f;
    st_err err = { { 0 } };
    if (st_brec_frontier_decode(&f, rec->body, rec->len, &err))
        return vfail(v, ST_VERDICT_UNVERIFIABLE, 10, rec->offset, "%s", err.msg);
    if (f.size != v->m_begin)
        return vfail(v, ST_VERDICT_TAMPERED, 10, rec->offset, "frontier at size %llu, the manifest's begin is %llu",
                     (unsigned long long)f.size, (unsigned long long)v->m_begin);
    unsigned levels[64];
    unsigned n = st_frontier_levels(f.size, levels);
    st_frontier_init(&v->fr);
    for (unsigned i = 0; i < n; i++)
        if (st_frontier_push_subtree(&v->fr, levels[i], f.hashes + (size_t)i * 32) != 0)
            return vfail(v, ST_VERDICT_UNVERIFIABLE, 10, rec->offset, "frontier: bad subtree shape");
    v->have_frontier = 1;
    v->next_index = v->m_begin;
    st_bundle_chain_add_body(&v->chain, rec->type, rec->body, rec->len);
    if (v->opts->observer && v->opts->observer->root) {            /* retention (issue 7) */
        st_hash root;
        st_frontier_root(&v->fr, root);
        vobserve_root(v, v->fr.size, root, -1);
    }
    return vh_frontier_reached(v, rec->offset);
}

