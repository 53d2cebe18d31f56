/*
 * verifier.c: verifies a bundle, following docs/VERIFYING.md step by step
 * (the step numbers appear in the comments below). The reader thread runs
 * steps 1-10 and 13-17 itself: the header records (manifest, keys,
 * checkpoints, consistency proofs, the previous checkpoint, support
 * entries, the frontier), then the in-order merge of the entries checked by
 * the workers (index continuity, the frontier, roots at every checkpoint),
 * the right-side hashes, the totals, --previous and the trailer. Workers run
 * steps 11 and 12 (verify_items.c). The first failure in stream order ends
 * verification: fail closed, fail fast.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sha256.h"
#include "verify_int.h"

/* ---- failures and small helpers -------------------------------------------- */

int vfail(vctx *v, int verdict, unsigned step, uint64_t offset, const char *fmt, ...)
{
    st_verify_report *rep = v->rep;
    if (rep->verdict > 0) return -1;       /* the first failure stands */
    rep->verdict = verdict;
    rep->step = step;
    rep->fail_offset = offset;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rep->failure, sizeof rep->failure, fmt, ap);
    va_end(ap);
    atomic_store(&v->stop, 1);
    return -1;
}

void vhex(char out[65], const st_hash h) { st_hex_encode(out, h, ST_HASH_BYTES); }

const char *st_verdict_name(int verdict)
{
    switch (verdict) {
    case ST_VERDICT_VERIFIED: return "verified";
    case ST_VERDICT_TAMPERED: return "tampered";
    case ST_VERDICT_UNVERIFIABLE: return "could not verify";
    case ST_VERDICT_UNTRUSTED: return "untrusted";
    default: return "unknown";
    }
}

static void table_add(st_vr_table *t, const char *name)
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

static void session_add(vctx *v, uint64_t h)
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

/* ---- step 5: keys carried by the bundle (reported, never trusted) ---------------- */

static int key_equal(const st_vkey *a, const st_vkey *b)
{
    return a->key_id == b->key_id && strcmp(a->name, b->name) == 0 && memcmp(a->pub, b->pub, 32) == 0;
}

static int on_key(vctx *v, const st_brec *rec)
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

/* Parses and verifies a signed checkpoint note against the trusted keys only. */
static int checkpoint_verify(vctx *v, const char *what, const uint8_t *body, size_t len, uint64_t offset,
                             unsigned step, vcp *out, uint64_t *signed_by)
{
    static __thread st_note note;     /* ~9 KiB: keep it off the stack */
    st_err err = { { 0 } };
    st_checkpoint cp;
    if (st_note_parse(&note, (const char *)body, len, &err))
        return vfail(v, ST_VERDICT_UNVERIFIABLE, step, offset, "%s: malformed signed note: %s", what, err.msg);
    if (st_checkpoint_parse(&cp, note.text, note.text_len, &err))
        return vfail(v, ST_VERDICT_UNVERIFIABLE, step, offset, "%s: malformed checkpoint: %s", what, err.msg);
    int verified[64] = { 0 };
    size_t nt = v->opts->ntrust < 64 ? v->opts->ntrust : 64;
    int rc = st_note_verify(&note, v->opts->trust, nt, verified, &err);
    if (rc == ST_EUNTRUSTED) {
        char signers[256] = "";
        size_t o = 0;
        for (size_t i = 0; i < note.nsigs && o < sizeof signers - 80; i++)
            o += (size_t)snprintf(signers + o, sizeof signers - o, "%s%.*s+%08x", i ? ", " : "",
                                  (int)(note.sigs[i].name_len > 64 ? 64 : note.sigs[i].name_len), note.sigs[i].name,
                                  note.sigs[i].key_id);
        return vfail(v, ST_VERDICT_UNTRUSTED, step, offset,
                     "%s (size %llu) is signed by no trusted key: signed by %s; trusted: %zu key(s) given with --trust",
                     what, (unsigned long long)cp.size, signers[0] ? signers : "nobody", v->opts->ntrust);
    }
    if (rc == ST_EBADSIG)
        return vfail(v, ST_VERDICT_TAMPERED, step, offset, "%s (size %llu): signature does not verify: %s", what,
                     (unsigned long long)cp.size, err.msg);
    if (rc)
        return vfail(v, ST_VERDICT_UNVERIFIABLE, step, offset, "%s (size %llu): %s: %s", what,
                     (unsigned long long)cp.size, st_strerror(rc), err.msg);
    if (strcmp(cp.origin, v->rep->origin) != 0)
        return vfail(v, ST_VERDICT_TAMPERED, step, offset, "%s (size %llu): origin \"%s\", the manifest says \"%s\"",
                     what, (unsigned long long)cp.size, cp.origin, v->rep->origin);
    if (cp.time_s < 0)
        return vfail(v, ST_VERDICT_UNVERIFIABLE, step, offset, "%s (size %llu): no \"time\" line [CP-2]", what,
                     (unsigned long long)cp.size);
    if (signed_by)
        for (size_t i = 0; i < nt; i++) signed_by[i] += verified[i] ? 1 : 0;
    out->size = cp.size;
    memcpy(out->root, cp.root, 32);
    out->time_s = cp.time_s;
    return 0;
}

static int on_checkpoint(vctx *v, const st_brec *rec, uint64_t *signed_by)
{
    char what[64];
    snprintf(what, sizeof what, "checkpoint record %llu", (unsigned long long)rec->seq);
    vcp cp;
    if (checkpoint_verify(v, what, rec->body, rec->len, rec->offset, 6, &cp, signed_by)) return -1;
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

static int on_consistency(vctx *v, const st_brec *rec, int *link)
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

static int on_previous(vctx *v, const st_brec *rec)
{
    if (checkpoint_verify(v, "previous checkpoint", rec->body, rec->len, rec->offset, 8, &v->prev_rec, NULL))
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
    return 0;
}

/* Step 16: links the auditor's checkpoint to a checkpoint of the same size. */
static int link_auditor(vctx *v, const st_hash root, uint64_t size, const char *how, uint64_t offset)
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
static int header_finish(vctx *v, uint64_t offset)
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
        if (link_auditor(v, empty, 0, "empty tree", offset)) return -1;
    }
    for (size_t i = 0; i < v->ncp && !v->auditor_prev_linked; i++) {
        char how[64];
        snprintf(how, sizeof how, "checkpoint %llu", (unsigned long long)v->cps[i].size);
        if (link_auditor(v, v->cps[i].root, v->cps[i].size, how, offset)) return -1;
    }
    if (v->have_prev_rec && link_auditor(v, v->prev_rec.root, v->prev_rec.size, "previous checkpoint", offset))
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

static int on_support(vctx *v, const st_brec *rec)
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
    return 0;
}

static int on_support_inclusion(vctx *v, const st_brec *rec)
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

static int frontier_reached(vctx *v, uint64_t offset)
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
        if (link_auditor(v, root, v->fr.size, how, offset)) return -1;
    }
    return 0;
}

static int on_frontier(vctx *v, const st_brec *rec)
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
    return frontier_reached(v, rec->offset);
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
    if (st_brec_absent_decode(&ab, b->arena + r->off, r->len, NULL)) return;
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
        st_frontier_push_leaf(&v->fr, it->leaf);
        if (frontier_reached(v, er->offset)) return -1;
    }
    v->next_index = x + 1;

    /* the trailer chain, in record order */
    for (size_t i = 0; i < it->nrec; i++) {
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
    table_add(&rep->kinds, it->kind);
    if (it->has_tool) table_add(&rep->tools, it->tool);
    if (it->has_event) table_add(&rep->events, it->event);
    if (it->has_status) table_add(&rep->statuses, it->status);
    if (it->has_session) session_add(v, it->session_hash);
    if (it->is_policy && (int64_t)x > rep->retention_policy_index) rep->retention_policy_index = (int64_t)x;
    rep->payloads += it->npay;
    rep->payload_bytes += it->paybytes;
    for (size_t i = 1; i < it->nrec; i++)
        if (b->recs[it->rec_first + i].type == ST_BREC_ABSENT) report_absent(v, b, &b->recs[it->rec_first + i]);
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
        if (merge_item(v, b, &b->items[k])) return;
    if (b->failed) vfail(v, b->verdict, b->step, b->fail_offset, "%s", b->msg);
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
    memset(r, 0, sizeof *r);
    r->type = rec->type;
    r->len = rec->len;
    r->seq = rec->seq;
    r->offset = rec->offset;
    if (!rec->streamed) {
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

/* A PAYLOAD too large to hold: the reader hashes it as it streams. */
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
    for (;;) {
        ssize_t k = st_bundle_body_read(v->r, buf, VSTREAM_BUF, &err);
        if (k < 0) return vfail(v, ST_VERDICT_UNVERIFIABLE, 3, r->offset, "%s", err.msg);
        if (k == 0) break;
        st_sha256_update(&c, buf, (size_t)k);
    }
    st_sha256_final(&c, r->commit);
    r->streamed = 1;
    return 0;
}

static int on_item_record(vctx *v, const st_brec *rec)
{
    vbatch *b = v->cur;
    if (rec->type == ST_BREC_ENTRY) {
        if (v->contiguous && !v->have_frontier)
            return vfail(v, ST_VERDICT_TAMPERED, 10, rec->offset,
                         "no frontier record before the entries (a %s selection needs one)", v->rep->selection);
        if (b && (b->nitem >= VB_MAX_ITEMS || b->arena_len >= VB_MAX_BYTES)) {
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
        memset(it, 0, sizeof *it);
        it->rec_first = b->nrec;
    }
    vrec *r = batch_add_rec(v, b, rec);
    if (!r) return -1;
    if (rec->streamed) return stream_payload(v, r);
    return 0;
}

/* ---- step 14: the right-hand side and the final root ----------------------------------------- */

static int on_right(vctx *v, const st_brec *rec)
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

/* ---- steps 15-17: totals, --previous, trailer --------------------------------------------------- */

static int on_trailer(vctx *v, const st_brec *rec)
{
    if (v->contiguous && !v->have_frontier)
        return vfail(v, ST_VERDICT_TAMPERED, 10, rec->offset, "no frontier record (a %s selection needs one)",
                     v->rep->selection);
    if (v->contiguous && !v->have_right)
        return vfail(v, ST_VERDICT_TAMPERED, 14, rec->offset,
                     "no right-side record: the final checkpoint's root cannot be recomputed");
    /* 15. totals */
    if (v->seen != v->m_entries)
        return vfail(v, ST_VERDICT_TAMPERED, 15, rec->offset, "the manifest says %llu entries, the bundle has %llu",
                     (unsigned long long)v->m_entries, (unsigned long long)v->seen);
    if (v->sel.kind == SEL_TIME && v->seen && !v->last_in_window)
        return vfail(v, ST_VERDICT_TAMPERED, 11, v->last_offset,
                     "entry %llu is the last of a time selection but outside its window",
                     (unsigned long long)v->rep->last_index);
    if (v->sel.kind == SEL_FILTER &&
        (v->seen ? v->rep->first_index != v->m_begin || v->rep->last_index + 1 != v->m_end : v->m_begin != v->m_end))
        return vfail(v, ST_VERDICT_TAMPERED, 15, rec->offset,
                     "the manifest's span [%llu, %llu) is not the span of the filtered entries (%s%llu..%llu)",
                     (unsigned long long)v->m_begin, (unsigned long long)v->m_end, v->seen ? "" : "none: ",
                     (unsigned long long)v->rep->first_index, (unsigned long long)v->rep->last_index);
    if (v->sel.kind == SEL_FULL && (v->m_begin != 0 || v->m_end != v->final_size))
        return vfail(v, ST_VERDICT_TAMPERED, 15, rec->offset,
                     "a full selection covers [%llu, %llu), not [0, %llu) (the whole log at the final checkpoint)",
                     (unsigned long long)v->m_begin, (unsigned long long)v->m_end, (unsigned long long)v->final_size);
    /* 16. --previous */
    if (v->have_auditor_prev && !v->auditor_prev_linked)
        return vfail(v, ST_VERDICT_UNVERIFIABLE, 16, rec->offset,
                     "cannot link your checkpoint (size %llu) to this bundle: it has no checkpoint of that size, "
                     "its entries do not span it, and it carries no consistency proof from it (ask for an export "
                     "with --from-checkpoint)", (unsigned long long)v->auditor_prev.size);
    /* 17. trailer */
    st_err err = { { 0 } };
    if (st_bundle_chain_check(&v->chain, rec->body, rec->len, &err))
        return vfail(v, ST_VERDICT_UNVERIFIABLE, 17, rec->offset, "%s", err.msg);
    return 0;
}

/* ---- the driver -------------------------------------------------------------------------------------- */

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Step 1: the auditor's --previous checkpoint, verified with the trusted keys. */
static int auditor_previous(vctx *v)
{
    static __thread st_note note;
    st_err err = { { 0 } };
    st_checkpoint cp;
    const st_verify_opts *o = v->opts;
    if (st_note_parse(&note, o->previous, o->previous_len, &err))
        return vfail(v, ST_VERDICT_UNVERIFIABLE, 1, 0, "--previous: malformed signed note: %s", err.msg);
    if (st_checkpoint_parse(&cp, note.text, note.text_len, &err))
        return vfail(v, ST_VERDICT_UNVERIFIABLE, 1, 0, "--previous: malformed checkpoint: %s", err.msg);
    int rc = st_note_verify(&note, o->trust, o->ntrust, NULL, &err);
    if (rc == ST_EUNTRUSTED)
        return vfail(v, ST_VERDICT_UNTRUSTED, 1, 0, "--previous: checkpoint %llu is signed by no trusted key",
                     (unsigned long long)cp.size);
    if (rc)
        return vfail(v, rc == ST_EBADSIG ? ST_VERDICT_TAMPERED : ST_VERDICT_UNVERIFIABLE, 1, 0,
                     "--previous: checkpoint %llu: %s: %s", (unsigned long long)cp.size, st_strerror(rc), err.msg);
    v->have_auditor_prev = 1;
    v->auditor_prev.size = cp.size;
    memcpy(v->auditor_prev.root, cp.root, 32);
    v->auditor_prev.time_s = cp.time_s;
    snprintf(v->prev_origin, sizeof v->prev_origin, "%s", cp.origin);
    v->rep->previous_size = cp.size;
    return 0;
}

static int dispatch(vctx *v, const st_brec *rec, uint64_t *signed_by)
{
    switch (rec->type) {
    case ST_BREC_MANIFEST:                                    /* 4 */
        if (vmanifest_parse(v, rec->body, rec->len, rec->offset)) return -1;
        st_bundle_chain_add_body(&v->chain, rec->type, rec->body, rec->len);
        if (v->have_auditor_prev && strcmp(v->prev_origin, v->rep->origin) != 0)
            return vfail(v, ST_VERDICT_TAMPERED, 16, rec->offset,
                         "--previous is a checkpoint of \"%s\", this bundle is of \"%s\"", v->prev_origin,
                         v->rep->origin);
        return 0;
    case ST_BREC_KEY: return on_key(v, rec);                  /* 5 */
    case ST_BREC_CHECKPOINT: return on_checkpoint(v, rec, signed_by); /* 6 */
    case ST_BREC_CONSISTENCY: return on_consistency(v, rec, &v->expect_link); /* 7, 8 */
    case ST_BREC_PREVIOUS:
        if (on_previous(v, rec)) return -1;                   /* 8 */
        v->expect_link = 1;
        return 0;
    case ST_BREC_SUPPORT:                                     /* 9 */
        if (header_finish(v, rec->offset)) return -1;
        return on_support(v, rec);
    case ST_BREC_INCLUSION:
        if (v->pending_support) return on_support_inclusion(v, rec);
        return on_item_record(v, rec);                        /* 11 */
    case ST_BREC_FRONTIER:                                    /* 10 */
        if (header_finish(v, rec->offset)) return -1;
        return on_frontier(v, rec);
    case ST_BREC_ENTRY:                                       /* 11 */
        if (header_finish(v, rec->offset)) return -1;
        return on_item_record(v, rec);
    case ST_BREC_PAYLOAD:
    case ST_BREC_ABSENT: return on_item_record(v, rec);       /* 12 */
    case ST_BREC_RIGHT:                                       /* 14 */
        if (header_finish(v, rec->offset)) return -1;
        vpool_drain(v);
        v->cur = NULL;
        if (atomic_load(&v->stop)) return -1;
        return on_right(v, rec);
    case ST_BREC_TRAILER:                                     /* 15-17 */
        if (header_finish(v, rec->offset)) return -1;
        vpool_drain(v);
        v->cur = NULL;
        if (atomic_load(&v->stop)) return -1;
        return on_trailer(v, rec);
    default:
        return vfail(v, ST_VERDICT_UNVERIFIABLE, 3, rec->offset, "unknown record type 0x%02x", rec->type);
    }
}

int st_verify_bundle(st_bundle_reader *r, const st_verify_opts *opts, st_verify_report *rep)
{
    double t0 = now_s();
    memset(rep, 0, sizeof *rep);
    rep->verdict = -1;
    rep->retention_policy_index = -1;
    vctx *v = calloc(1, sizeof *v);
    uint64_t *signed_by = calloc(opts && opts->ntrust ? opts->ntrust : 1, sizeof *signed_by);
    if (!v || !signed_by) {
        free(v);
        free(signed_by);
        rep->verdict = ST_VERDICT_UNVERIFIABLE;
        rep->step = 1;
        snprintf(rep->failure, sizeof rep->failure, "out of memory");
        return rep->verdict;
    }
    v->opts = opts;
    v->rep = rep;
    v->r = r;
    st_bundle_chain_init(&v->chain);
    st_err err = { { 0 } };
    int rc;

    /* 1. arguments: at least one trust anchor, never one from the bundle */
    if (!opts || opts->ntrust == 0) {
        vfail(v, ST_VERDICT_UNVERIFIABLE, 1, 0,
              "no trusted key: give --trust KEY (the bundle's own keys are never trusted)");
        goto out;
    }
    if (opts->previous && auditor_previous(v)) goto out;
    v->stream_buf = malloc(VSTREAM_BUF);
    if (!v->stream_buf || (rc = vpool_start(v, opts->threads)) != 0) {
        vfail(v, ST_VERDICT_UNVERIFIABLE, 1, 0, "cannot start: %s", strerror(v->stream_buf ? rc : ENOMEM));
        goto out;
    }
    /* 2. magic */
    rc = st_bundle_read_magic(r, &err);
    if (rc) {
        vfail(v, rc == ST_EVERSION ? ST_VERDICT_UNTRUSTED : ST_VERDICT_UNVERIFIABLE, 2, 0, "%s", err.msg);
        goto out;
    }
    /* 3. records, in the order of the grammar [BUNDLE-3] */
    for (;;) {
        st_brec rec;
        rc = st_bundle_next(r, &rec, &err);
        if (rc == 1) break;
        if (rc) {
            uint64_t off = st_bundle_offset(r);
            /* The entry being read may lack records that never arrived: drop
             * it, then let an earlier entry's failure come first. */
            vbatch *cb = v->cur;
            if (cb && cb->state == B_FILLING && cb->nitem) {
                cb->nitem--;
                cb->nrec = cb->items[cb->nitem].rec_first;
            }
            vpool_drain(v);
            vfail(v, ST_VERDICT_UNVERIFIABLE, 3, off, "%s", err.msg);
            break;
        }
        rep->records++;
        if (dispatch(v, &rec, signed_by)) break;
        if (atomic_load(&v->stop)) break;
    }
out:
    vpool_drain(v);
    vpool_stop(v);
    /* the report's key list: bundle keys first, then trusted keys it does not list */
    if (opts) {
        for (size_t t = 0; t < opts->ntrust; t++) {
            char s[ST_VKEY_MAX];
            st_vkey_format(s, &opts->trust[t]);
            size_t i;
            for (i = 0; i < rep->nkeys; i++)
                if (strcmp(rep->keys[i].vkey, s) == 0) break;
            if (i == rep->nkeys && rep->nkeys < ST_VR_KEYS) {
                snprintf(rep->keys[i].vkey, sizeof rep->keys[i].vkey, "%s", s);
                rep->nkeys++;
            }
            if (i < rep->nkeys) {
                rep->keys[i].trusted = 1;
                rep->keys[i].signed_checkpoints = signed_by[t];
            }
        }
    }
    rep->entries = v->seen;
    rep->sessions = v->sess_n;
    rep->checkpoints = v->ncp;
    if (v->ncp) {
        rep->cp_first_size = v->cps[0].size;
        rep->cp_first_time = v->cps[0].time_s;
        rep->cp_final_size = v->cps[v->ncp - 1].size;
        rep->cp_final_time = v->cps[v->ncp - 1].time_s;
        memcpy(rep->final_root, v->cps[v->ncp - 1].root, 32);
    }
    rep->previous_checked = v->auditor_prev_linked;
    rep->bytes = st_bundle_offset(r);
    if (rep->verdict < 0) {
        rep->verdict = ST_VERDICT_VERIFIED;
        rep->step = 0;
    }
    rep->seconds = now_s() - t0;
    vsel_free(&v->sel);
    free(v->cps);
    free(v->sups);
    free(v->sessions);
    free(v->stream_buf);
    free(v);
    free(signed_by);
    return rep->verdict;
}

int st_verify_bundle_fd(int fd, const st_verify_opts *opts, st_verify_report *rep)
{
    st_bundle_reader *r;
    if (st_bundle_reader_fd(&r, fd)) {
        memset(rep, 0, sizeof *rep);
        rep->verdict = ST_VERDICT_UNVERIFIABLE;
        snprintf(rep->failure, sizeof rep->failure, "out of memory");
        return rep->verdict;
    }
    int verdict = st_verify_bundle(r, opts, rep);
    st_bundle_reader_free(r);
    return verdict;
}

int st_verify_bundle_mem(const uint8_t *buf, size_t len, const st_verify_opts *opts, st_verify_report *rep)
{
    st_bundle_reader *r;
    if (st_bundle_reader_mem(&r, buf, len)) {
        memset(rep, 0, sizeof *rep);
        rep->verdict = ST_VERDICT_UNVERIFIABLE;
        snprintf(rep->failure, sizeof rep->failure, "out of memory");
        return rep->verdict;
    }
    int verdict = st_verify_bundle(r, opts, rep);
    st_bundle_reader_free(r);
    return verdict;
}

/* ---- --trust arguments ------------------------------------------------------------------------------ */

int st_trust_arg_parse(st_vkey *out, const char *arg, st_err *err)
{
    size_t n = strlen(arg);
    /* A verifier key string, else the name of a file holding one. */
    st_err kerr = { { 0 } };
    if (st_vkey_parse(out, arg, n, &kerr) == 0) return 0;
    int fd = open(arg, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        return st_fail(err, e == ENOENT ? ST_EBADKEY : e, "\"%.80s\" is neither a verifier key (%s) nor a readable file (%s)",
                       arg, kerr.msg, strerror(e));
    }
    char buf[4097];
    size_t got = 0;
    for (;;) {
        ssize_t k = read(fd, buf + got, sizeof buf - 1 - got);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) {
            int e = errno;
            close(fd);
            return st_fail(err, e, "%s: %s", arg, strerror(e));
        }
        if (k == 0) break;
        got += (size_t)k;
        if (got == sizeof buf - 1) break;
    }
    close(fd);
    if (got == sizeof buf - 1) return st_fail(err, ST_EBADKEY, "%s: larger than 4 KiB: not a verifier key file", arg);
    buf[got] = 0;
    size_t line = strcspn(buf, "\n");
    if (line + 1 < got && buf[line + 1] != 0) {
        /* more than one line: only a trailing newline is allowed */
        size_t rest = line + 1;
        while (rest < got && (buf[rest] == '\n')) rest++;
        if (rest < got) return st_fail(err, ST_EBADKEY, "%s: more than one line: expected one verifier key", arg);
    }
    int rc = st_vkey_parse(out, buf, line, err);
    if (rc) {
        char tmp[sizeof err->msg];
        snprintf(tmp, sizeof tmp, "%s", err->msg);
        return st_fail(err, rc, "%s: %s", arg, tmp);
    }
    return 0;
}
