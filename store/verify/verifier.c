/*
 * verifier.c: verifies a bundle, following docs/VERIFYING.md step by step
 * (the step numbers appear in the comments). This file is the driver: step 1
 * (trust anchors, the auditor's --previous), step 2 (magic), step 3 (the
 * record loop and its dispatch), steps 15-17 (totals, linking --previous,
 * the trailer) and the verdict. The header records (steps 4-10) are in
 * verify_manifest.c and verify_header.c, the entries' checks (11, 12) in
 * verify_items.c on worker threads (verify_pool.c), their in-order merge and
 * step 14 in verify_merge.c. The first failure in stream order ends
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

void vobserve_root(vctx *v, uint64_t size, const st_hash root, int64_t time_s)
{
    const st_verify_observer *o = v->opts->observer;
    if (o && o->root) o->root(o->ctx, size, root, time_s);
}

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

/* Step 1: the auditor's --previous checkpoint. Its signature is checked (1.2)
 * once the key history is known, before the first checkpoint record: with a
 * root as the trust anchor, only the bundle's key notes say which log key
 * may have signed it (keys, issue 5). */
static int auditor_previous(vctx *v, int verify)
{
    static __thread st_note note;
    st_err err = { { 0 } };
    st_checkpoint cp;
    const st_verify_opts *o = v->opts;
    if (st_note_parse(&note, o->previous, o->previous_len, &err))
        return vfail(v, ST_VERDICT_UNVERIFIABLE, 1, 0, "--previous: malformed signed note: %s", err.msg);
    if (st_checkpoint_parse(&cp, note.text, note.text_len, &err))
        return vfail(v, ST_VERDICT_UNVERIFIABLE, 1, 0, "--previous: malformed checkpoint: %s", err.msg);
    if (verify) {
        v->prev_verified = 1;
        return vk_checkpoint_note(v, "--previous: checkpoint", &note, &cp, 1, 0);
    }
    v->have_auditor_prev = 1;
    v->auditor_prev.size = cp.size;
    memcpy(v->auditor_prev.root, cp.root, 32);
    v->auditor_prev.time_s = cp.time_s;
    snprintf(v->prev_origin, sizeof v->prev_origin, "%s", cp.origin);
    v->rep->previous_size = cp.size;
    return 0;
}

static int dispatch(vctx *v, const st_brec *rec)
{
    switch (rec->type) {
    case ST_BREC_MANIFEST:                                    /* 4 */
        if (vmanifest_parse(v, rec->body, rec->len, rec->offset)) return -1;
        st_bundle_chain_add_body(&v->chain, rec->type, rec->body, rec->len);
        if (v->opts->observer && v->opts->observer->manifest)          /* retention (issue 7) */
            v->opts->observer->manifest(v->opts->observer->ctx, v->rep);
        /* Another log's checkpoint cannot be linked, and no key of this log's
         * history can check its signature: could not verify, not tamper evidence. */
        if (v->have_auditor_prev && strcmp(v->prev_origin, v->rep->origin) != 0)
            return vfail(v, ST_VERDICT_UNVERIFIABLE, 16, rec->offset,
                         "--previous is a checkpoint of another log (\"%s\"), this bundle is of \"%s\": "
                         "they cannot be linked", v->prev_origin, v->rep->origin);
        return vk_begin(v, rec->offset);                      /* 5b: the trust anchors of the key history */
    case ST_BREC_KEY: return vh_key(v, rec);                  /* 5 */
    case ST_BREC_KEYNOTE: return vk_keynote(v, rec);          /* 5b */
    case ST_BREC_CHECKPOINT:                                  /* 6 */
        if (v->have_auditor_prev && !v->prev_verified && auditor_previous(v, 1)) return -1;   /* 1.2 */
        return vh_checkpoint(v, rec);
    case ST_BREC_CONSISTENCY: return vh_consistency(v, rec, &v->expect_link); /* 7, 8 */
    case ST_BREC_PREVIOUS:
        if (vh_previous(v, rec)) return -1;                   /* 8 */
        v->expect_link = 1;
        return 0;
    case ST_BREC_SUPPORT:                                     /* 9 */
        if (vh_header_finish(v, rec->offset)) return -1;
        return vh_support(v, rec);
    case ST_BREC_INCLUSION:
        if (v->pending_support) return vh_support_inclusion(v, rec);
        return vm_item_record(v, rec);                        /* 11 */
    case ST_BREC_FRONTIER:                                    /* 10 */
        if (vh_header_finish(v, rec->offset) || vk_done(v, rec->offset)) return -1;
        return vh_frontier(v, rec);
    case ST_BREC_ENTRY:                                       /* 11 */
        if (vh_header_finish(v, rec->offset) || vk_done(v, rec->offset)) return -1;
        return vm_item_record(v, rec);
    case ST_BREC_PAYLOAD:
    case ST_BREC_ABSENT: return vm_item_record(v, rec);       /* 12 */
    case ST_BREC_RIGHT:                                       /* 14 */
        if (vh_header_finish(v, rec->offset) || vk_done(v, rec->offset)) return -1;
        vpool_drain(v);
        v->cur = NULL;
        if (atomic_load(&v->stop)) return -1;
        return vm_right(v, rec);
    case ST_BREC_TRAILER:                                     /* 15-17 */
        if (vh_header_finish(v, rec->offset) || vk_done(v, rec->offset)) return -1;
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
    if (!v) {
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
    int rc = 0;

    /* 1. arguments: at least one trust anchor, never one from the bundle */
    if (!opts || opts->ntrust == 0) {
        vfail(v, ST_VERDICT_UNVERIFIABLE, 1, 0,
              "no trusted key: give --trust KEY (the bundle's own keys are never trusted)");
        goto out;
    }
    if (opts->previous && auditor_previous(v, 0)) goto out;
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
        if (dispatch(v, &rec)) break;
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
            if (i < rep->nkeys) rep->keys[i].trusted = 1;   /* signed_checkpoints: counted by verify_keys.c */
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
    vk_end(v);                                   /* key history stats into the report (issue 5) */
    vsel_free(&v->sel);
    free(v->cps);
    free(v->sups);
    free(v->sessions);
    free(v->stream_buf);
    free(v);
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
    char buf[4098];   /* up to 4 KiB, and one byte more to tell a larger file */
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
    if (got > 4096) return st_fail(err, ST_EBADKEY, "%s: larger than 4 KiB: not a verifier key file", arg);
    buf[got] = 0;
    /* Not strlen/strcspn: they would stop at a NUL and accept the bytes after it. */
    if (memchr(buf, 0, got))
        return st_fail(err, ST_EBADKEY, "%s: holds a NUL byte: not a verifier key file", arg);
    size_t line = strcspn(buf, "\n");
    if (line + 1 < got && buf[line + 1] != 0) {
        /* more than one line: only a trailing newline is allowed */
        size_t rest = line + 1;
        while (rest < got && (buf[rest] == '\n')) rest++;
        if (rest < got) return st_fail(err, ST_EBADKEY, "%s: more than one line: expected one verifier key", arg);
    }
    if (line > 0 && buf[line - 1] == '\r')
        return st_fail(err, ST_EBADKEY, "%s: the line ends in CR LF (a Windows line ending): save it with LF", arg);
    if (line >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
        return st_fail(err, ST_EBADKEY, "%s: starts with a byte order mark (U+FEFF): save it as UTF-8 without BOM", arg);
    int rc = st_vkey_parse(out, buf, line, err);
    if (rc) {
        char tmp[sizeof err->msg];
        snprintf(tmp, sizeof tmp, "%s", err->msg);
        return st_fail(err, rc, "%s: %s", arg, tmp);
    }
    return 0;
}
