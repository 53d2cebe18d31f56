/*
 * verify_keys.c: docs/VERIFYING.md step 5b, the key history, and the rule
 * by which every checkpoint signature is judged (steps 1.2, 6.2, 8.1).
 *
 * The trust anchors come only from the auditor: a --trust key named like
 * the bundle's origin is a pinned log key (simple mode), any other is a
 * root. To them the verifier adds, in this order, the root-signed notes the
 * auditor received beside the bundle (--key-note) and the bundle's KEYNOTE
 * records (u64 index || signed key note, [BUNDLE-13]) in log order. A
 * checkpoint then verifies only by a key the history lets sign it: certified
 * for this origin at the checkpoint's time, not revoked before it, not
 * retired by a rotation before its size (store/verify/keyhist.c, docs/KEYS.md
 * [KEYS-9..13]).
 *
 * Notes are self-authenticating (root-signed, or signed by both keys of a
 * rotation), but where a note sits in the log matters for rotations, so
 * every KEYNOTE must also come as a SUPPORT entry of its kind whose
 * data.note is the same bytes, proven included in the final checkpoint
 * (step 9), and every key-history entry the selection carries must be one
 * of the KEYNOTE records (step 11): an exporter can neither move a rotation
 * nor leave out a revocation or rotation that lies in the selection.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sha256.h"
#include "verify_int.h"

int vk_begin(vctx *v, uint64_t offset)
{
    st_err err = { { 0 } };
    v->kh = st_keyhist_new(v->rep->origin);
    if (!v->kh) return vfail(v, ST_VERDICT_UNVERIFIABLE, 5, offset, "key history: out of memory");
    const st_verify_opts *o = v->opts;
    for (size_t i = 0; i < o->ntrust; i++) {
        const st_vkey *k = &o->trust[i];
        int rc = strcmp(k->name, v->rep->origin) == 0 ? st_keyhist_add_pinned(v->kh, k, &err)
                                                      : st_keyhist_add_root(v->kh, k, &err);
        if (rc) return vfail(v, ST_VERDICT_UNVERIFIABLE, 1, 0, "--trust %s+%08x: %s", k->name, (unsigned)k->key_id, err.msg);
    }
    for (size_t i = 0; i < o->nkey_notes; i++) {
        int rc = st_keyhist_add_note(v->kh, ST_KH_OUT_OF_BAND, o->key_notes[i], o->key_note_lens[i], &err);
        if (rc)
            return vfail(v, rc == ST_EBADSIG ? ST_VERDICT_TAMPERED : ST_VERDICT_UNVERIFIABLE, 1, 0, "--key-note %zu: %s",
                         i + 1, err.msg);
    }
    v->rep->key_notes_given = o->nkey_notes;
    return 0;
}

int vk_keynote(vctx *v, const st_brec *rec)
{
    if (rec->len < 9) return vfail(v, ST_VERDICT_UNVERIFIABLE, 5, rec->offset, "key note record: too short");
    uint64_t index = st_be64_get(rec->body);
    const char *note = (const char *)rec->body + 8;
    size_t len = rec->len - 8;
    if (v->nkn && index <= v->kns[v->nkn - 1].index)
        return vfail(v, ST_VERDICT_TAMPERED, 5, rec->offset, "key note of entry %llu follows one of entry %llu "
                     "(key notes come in log order)", (unsigned long long)index,
                     (unsigned long long)v->kns[v->nkn - 1].index);
    st_keynote *kn = malloc(sizeof *kn);
    if (!kn) return vfail(v, ST_VERDICT_UNVERIFIABLE, 5, rec->offset, "out of memory");
    st_err err = { { 0 } };
    int rc = st_keynote_parse(kn, note, len, &err);
    if (rc == 0) rc = st_keyhist_add_keynote(v->kh, index, kn, &err);
    uint8_t type = (uint8_t)kn->type;
    free(kn);
    if (rc)
        return vfail(v, rc == ST_EBADSIG ? ST_VERDICT_TAMPERED : ST_VERDICT_UNVERIFIABLE, 5, rec->offset,
                     "key note record %llu: %s", (unsigned long long)rec->seq, err.msg);
    if (v->nkn == v->kn_cap) {
        size_t ncap = v->kn_cap ? v->kn_cap * 2 : 16;
        struct vkn *n = realloc(v->kns, ncap * sizeof *n);
        if (!n) return vfail(v, ST_VERDICT_UNVERIFIABLE, 5, rec->offset, "out of memory");
        v->kns = n;
        v->kn_cap = ncap;
    }
    struct vkn *k = &v->kns[v->nkn++];
    k->index = index;
    k->type = type;
    k->matched = 0;
    st_sha256(k->note_hash, (const uint8_t *)note, len);
    v->rep->keynotes++;
    st_bundle_chain_add_body(&v->chain, rec->type, rec->body, rec->len);
    return 0;
}

const struct vkn *vk_find(const vctx *v, uint64_t index)
{
    size_t lo = 0, hi = v->nkn;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v->kns[mid].index < index) lo = mid + 1;
        else hi = mid;
    }
    return lo < v->nkn && v->kns[lo].index == index ? &v->kns[lo] : NULL;
}

/* The report's line for a key that signed: found or added, counted. */
static void count_signer(vctx *v, const st_vkey *k)
{
    st_verify_report *rep = v->rep;
    char s[ST_VKEY_MAX];
    st_vkey_format(s, k);
    size_t i;
    for (i = 0; i < rep->nkeys; i++)
        if (strcmp(rep->keys[i].vkey, s) == 0) break;
    if (i == rep->nkeys) {
        if (rep->nkeys == ST_VR_KEYS) return;
        snprintf(rep->keys[i].vkey, sizeof rep->keys[i].vkey, "%s", s);
        rep->nkeys++;
    }
    for (size_t t = 0; t < v->opts->ntrust; t++)
        if (st_vkey_equal(&v->opts->trust[t], k)) rep->keys[i].trusted = 1;
    rep->keys[i].signed_checkpoints++;
}

int vk_checkpoint_note(vctx *v, const char *what, const st_note *note, const st_checkpoint *cp, unsigned step,
                       uint64_t offset)
{
    st_err err = { { 0 } };
    st_vkey signers[ST_VR_KEYS];
    size_t ns = 0;
    int rc = st_keyhist_verify_checkpoint_signers(v->kh, note, cp, 0, signers, ST_VR_KEYS, &ns, &err);
    if (rc == ST_EUNTRUSTED)
        return vfail(v, ST_VERDICT_UNTRUSTED, step, offset, "%s (size %llu) is signed by no trusted key: %s", what,
                     (unsigned long long)cp->size, err.msg);
    if (rc == ST_EBADSIG)
        return vfail(v, ST_VERDICT_TAMPERED, step, offset, "%s (size %llu): signature does not verify: %s", what,
                     (unsigned long long)cp->size, err.msg);
    if (rc)
        return vfail(v, ST_VERDICT_UNVERIFIABLE, step, offset, "%s (size %llu): %s: %s", what, (unsigned long long)cp->size,
                     st_strerror(rc), err.msg);
    for (size_t i = 0; i < ns; i++) count_signer(v, &signers[i]);   /* each key that signed it: both at a handover */
    return 0;
}

int vk_support(vctx *v, uint64_t index, const char *kind, const st_json *root, uint64_t offset)
{
    st_keynote_type t = st_keynote_type_of_kind(kind, strlen(kind));
    if (!t) return 0;
    size_t nl = 0;
    const char *note = st_json_get_str(st_json_get(root, "data"), "note", &nl);
    if (!note)
        return vfail(v, ST_VERDICT_UNVERIFIABLE, 9, offset, "support entry %llu: a %s record needs data.note",
                     (unsigned long long)index, kind);
    struct vkn *k = (struct vkn *)vk_find(v, index);
    st_hash h;
    st_sha256(h, (const uint8_t *)note, nl);
    if (!k)
        return vfail(v, ST_VERDICT_TAMPERED, 9, offset, "support entry %llu is a %s that the bundle's key history "
                     "(its key note records) leaves out", (unsigned long long)index, kind);
    if (k->type != (uint8_t)t || memcmp(h, k->note_hash, 32) != 0)
        return vfail(v, ST_VERDICT_TAMPERED, 9, offset, "support entry %llu: its %s note differs from the bundle's key "
                     "note of entry %llu", (unsigned long long)index, kind, (unsigned long long)index);
    k->matched = 1;
    return 0;
}

int vk_done(vctx *v, uint64_t offset)
{
    if (v->kn_done) return 0;
    v->kn_done = 1;
    for (size_t i = 0; i < v->nkn; i++)
        if (!v->kns[i].matched)
            return vfail(v, ST_VERDICT_TAMPERED, 9, offset, "key note of entry %llu comes without its support entry and "
                         "inclusion proof: its place in the log is not proven", (unsigned long long)v->kns[i].index);
    return 0;
}

int vk_entry_check(const vctx *v, uint64_t index, const uint8_t *bytes, size_t len, char *why, size_t cap)
{
    st_entry e;
    if (st_entry_parse(&e, bytes, len, NULL) != 0) return 0;   /* the entry checks report it */
    int rc = 0;
    st_keynote_type t = st_keynote_type_of_kind(e.kind, strlen(e.kind));
    if (t) {
        size_t nl = 0;
        const char *note = st_json_get_str(st_json_get(e.root, "data"), "note", &nl);
        const struct vkn *k = vk_find(v, index);
        st_hash h;
        if (note) st_sha256(h, (const uint8_t *)note, nl);
        if (!note) {
            snprintf(why, cap, "entry %llu: a %s record needs data.note", (unsigned long long)index, e.kind);
            rc = -1;
        } else if (!k || k->type != (uint8_t)t || memcmp(h, k->note_hash, 32) != 0) {
            snprintf(why, cap, "entry %llu is a %s that the bundle's key history (its key note records) %s",
                     (unsigned long long)index, e.kind, k ? "carries with other bytes" : "leaves out");
            rc = -1;
        }
    }
    st_entry_free(&e);
    return rc;
}

void vk_end(vctx *v)
{
    if (v->kh) st_keyhist_get_stats(v->kh, &v->rep->keyhist);
    st_keyhist_free(v->kh);
    v->kh = NULL;
    free(v->kns);
    v->kns = NULL;
}
