/*
 * export_store.c: `sealtrail export` on an open store. Resolves the
 * selection (an index range; a time window or a filter through the query
 * engine, store/query.h), refuses unsealed entries (or seals first when
 * asked), checks a --from-checkpoint note against the log, and serves the
 * bundle layout (export.c) from one LMDB read transaction: entries straight
 * from the map, tree nodes and proofs from the stored subtrees, payloads
 * decoded, absences from the retention table (u64be index || name ->
 * u64be index of the signed record that removed the payload).
 */
#include "export.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "entry_store.h"
#include "keys.h"
#include "query.h"
#include "store_int.h"

/* ---- keys (issue 5): the key-history notes below the final size, for KEYNOTE records ---- */

typedef struct xkeys {
    uint64_t final;
    uint64_t *index;
    const char **note;          /* into the LMDB map: valid for the read transaction */
    size_t *len;
    size_t n, cap;
} xkeys;

static int x_keynote(void *ctx, uint64_t index, const char *note, size_t len)
{
    xkeys *k = ctx;
    if (index >= k->final) return 0;
    if (k->n == k->cap) {
        size_t ncap = k->cap ? k->cap * 2 : 16;
        uint64_t *i = realloc(k->index, ncap * sizeof *i);
        if (i) k->index = i;
        const char **n = realloc(k->note, ncap * sizeof *n);
        if (n) k->note = n;
        size_t *l = realloc(k->len, ncap * sizeof *l);
        if (l) k->len = l;
        if (!i || !n || !l) return ENOMEM;
        k->cap = ncap;
    }
    k->index[k->n] = index;
    k->note[k->n] = note;
    k->len[k->n++] = len;
    return 0;
}

/* A cursor over a table keyed u64be index || ..., read in ascending index
 * order: `at` is its current row (or end), which is also the first row at
 * or after index `from`, so a later index up to the row's own needs no seek. */
typedef struct xcur {
    st_cursor *c;
    int valid, end;
    uint64_t from;
    const void *k, *v;
    size_t kl, vl;
} xcur;

typedef struct xsrc {
    st_store *s;
    st_txn *txn;
    xcur ent, pay, ret;        /* entries, payloads and retention, reused entry after entry */
    st_buf data;               /* the current payload's bytes, reused payload after payload */
    st_buf row;                /* the current entry's bytes, when its row is packed */
} xsrc;

/* ---- the source over a read transaction ------------------------------------------ */

static int x_checkpoint(void *ctx, uint64_t size, unsigned mode, uint64_t *size_out, char **note, size_t *len)
{
    xsrc *x = ctx;
    return st_checkpoint_get_txn(x->txn, size, mode, size_out, note, len);
}

static int x_node(void *ctx, unsigned level, uint64_t pos, st_hash out)
{
    xsrc *x = ctx;
    return st_tree_get_node(x->txn, level, pos, out);
}

static int x_cons(void *ctx, uint64_t m, uint64_t n, st_hash **h, size_t *np)
{
    xsrc *x = ctx;
    return st_prove_consistency_txn(x->txn, m, n, h, np);
}

static int x_incl(void *ctx, uint64_t index, uint64_t size, st_hash **h, size_t *np)
{
    xsrc *x = ctx;
    return st_prove_inclusion_txn(x->txn, index, size, h, np);
}

/* Positions x at the first row of `index` or after it: a seek only when
 * the current row might not be that row (first use, going back, or past it). */
static int xcur_at(st_txn *txn, st_table t, xcur *x, uint64_t index)
{
    int rc;
    if (!x->c && (rc = st_cursor_open(txn, t, &x->c))) return rc;
    if (x->valid && x->from <= index && (x->end || st_be64_get(x->k) >= index)) {
        x->from = index;
        return 0;
    }
    uint8_t key[8];
    st_be64_put(key, index);
    rc = st_cursor_seek(x->c, key, 8, &x->k, &x->kl, &x->v, &x->vl);
    if (rc && rc != ST_ENOTFOUND) return rc;
    if (!rc && x->kl < 8) return ST_ECORRUPT;
    x->valid = 1;
    x->end = rc == ST_ENOTFOUND;
    x->from = index;
    return 0;
}

/* Moves x to its next row. */
static int xcur_next(xcur *x)
{
    int rc = st_cursor_next(x->c, &x->k, &x->kl, &x->v, &x->vl);
    if (rc && rc != ST_ENOTFOUND) {
        x->valid = 0;
        return rc;
    }
    if (!rc && x->kl < 8) return ST_ECORRUPT;
    x->end = rc == ST_ENOTFOUND;
    return 0;
}

/* Entries in ascending order are one cursor step each. */
static int x_entry(void *ctx, uint64_t index, const uint8_t **bytes, size_t *len)
{
    xsrc *x = ctx;
    int rc = xcur_at(x->txn, ST_T_ENTRIES, &x->ent, index);
    if (rc) return rc;
    if (x->ent.end || x->ent.kl != 8 || st_be64_get(x->ent.k) != index) return ST_ENOTFOUND;
    if ((rc = st_entry_row_decode(x->ent.v, x->ent.vl, &x->row, bytes, len)) != 0) return rc;
    x->ent.from = index + 1;
    return xcur_next(&x->ent);
}

/* The current row of a table whose key is u64be index || name, if it is of
 * this index. 0 with *past = 0: a row (name, value); 0 with *past = 1: no
 * more rows of this index; else an error. */
static int name_row(const xcur *x, uint64_t index, char name[ST_PAYLOAD_NAME_MAX + 1], const void **v, size_t *vl,
                    int *past)
{
    *past = 1;
    if (x->end || st_be64_get(x->k) != index) return 0;
    if (x->kl - 8 > ST_PAYLOAD_NAME_MAX || x->kl == 8) return ST_ECORRUPT;
    memcpy(name, (const uint8_t *)x->k + 8, x->kl - 8);
    name[x->kl - 8] = 0;
    *v = x->v;
    *vl = x->vl;
    *past = 0;
    return 0;
}

/* Present payloads (payloads table) and absent ones (retention table), merged in name order. */
static int x_payloads(void *ctx, uint64_t index, st_export_payload_fn fn, void *fctx)
{
    xsrc *x = ctx;
    char pn[ST_PAYLOAD_NAME_MAX + 1], rn[ST_PAYLOAD_NAME_MAX + 1];
    const void *pv = NULL, *rv = NULL;
    size_t pvl = 0, rvl = 0;
    int rc, pe, re;                /* 1: no more rows of this entry in that table */
    if ((rc = xcur_at(x->txn, ST_T_PAYLOADS, &x->pay, index)) || (rc = xcur_at(x->txn, ST_T_RETENTION, &x->ret, index)) ||
        (rc = name_row(&x->pay, index, pn, &pv, &pvl, &pe)) || (rc = name_row(&x->ret, index, rn, &rv, &rvl, &re)))
        return rc;
    while (!pe || !re) {
        int cmp = pe ? 1 : re ? -1 : strcmp(pn, rn);
        if (cmp < 0) {
            uint8_t salt[ST_SALT_BYTES];
            x->data.len = 0;
            rc = st_payload_decode(x->txn, pv, pvl, salt, &x->data);   /* the row the cursor is on: no second lookup */
            if (!rc) rc = fn(fctx, pn, 1, x->data.data ? x->data.data : (const uint8_t *)"", x->data.len, salt, 0);
            if (!rc) rc = xcur_next(&x->pay);
            if (!rc) rc = name_row(&x->pay, index, pn, &pv, &pvl, &pe);
        } else if (cmp > 0) {
            if (rvl != 8) return ST_ECORRUPT;
            rc = fn(fctx, rn, 0, NULL, 0, NULL, st_be64_get(rv));
            if (!rc) rc = xcur_next(&x->ret);
            if (!rc) rc = name_row(&x->ret, index, rn, &rv, &rvl, &re);
        } else {
            return st_store_fail(x->s, ST_ECORRUPT, "entry %llu payload %s is both stored and recorded as removed",
                                 (unsigned long long)index, pn);
        }
        if (rc) return rc;
    }
    x->pay.from = x->ret.from = index + 1;     /* both now at the first row after this entry's */
    return 0;
}

static int x_absences(void *ctx, uint64_t begin, uint64_t end, st_export_absence_fn fn, void *fctx)
{
    xsrc *x = ctx;
    st_cursor *c = NULL;
    int rc = st_cursor_open(x->txn, ST_T_RETENTION, &c);
    if (rc) return rc;
    uint8_t key[8];
    st_be64_put(key, begin);
    const void *k, *v;
    size_t kl, vl;
    rc = st_cursor_seek(c, key, 8, &k, &kl, &v, &vl);
    while (rc == 0) {
        if (kl <= 8 || kl > 8 + ST_PAYLOAD_NAME_MAX || vl != 8) { rc = ST_ECORRUPT; break; }
        uint64_t index = st_be64_get(k);
        if (index >= end) break;
        char name[ST_PAYLOAD_NAME_MAX + 1];
        memcpy(name, (const uint8_t *)k + 8, kl - 8);
        name[kl - 8] = 0;
        rc = fn(fctx, index, name, st_be64_get(v));
        if (!rc) rc = st_cursor_next(c, &k, &kl, &v, &vl);
    }
    st_cursor_close(c);
    return rc == ST_ENOTFOUND ? 0 : rc;
}

/* ---- selection ------------------------------------------------------------------------ */

typedef struct collect {
    uint64_t *v;
    size_t n, cap;
    uint64_t min, max;
} collect;

static int on_match(void *ctx, st_txn *txn, uint64_t index, const uint8_t *entry, size_t len)
{
    collect *c = ctx;
    (void)txn; (void)entry; (void)len;
    if (c->n == 0 || index < c->min) c->min = index;
    if (c->n == 0 || index > c->max) c->max = index;
    if (c->cap != SIZE_MAX) {            /* SIZE_MAX: only min and max are wanted */
        uint64_t *p = st_array_room(c->v, &c->cap, c->n, sizeof *p, 1024);
        if (!p) return ENOMEM;
        c->v = p;
        c->v[c->n] = index;
    }
    c->n++;
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int add_list(st_json_doc *doc, st_json *sel, const char *key, const st_qfield *f)
{
    if (!f->n) return 0;
    st_json *a = st_json_new_array(doc);
    if (!a) return ENOMEM;
    for (size_t i = 0; i < f->n; i++)
        if (st_json_array_add(doc, a, st_json_new_strn(doc, f->v[i], f->len[i]))) return ENOMEM;
    return st_json_object_add(doc, sel, key, strlen(key), a) ? ENOMEM : 0;
}

/* What a verifier accepts in a selection (docs/FORMAT.md [BUNDLE-6], VERIFYING.md 4.5):
 * integers within [ENTRY-4]'s +-(2^53-1), list values of at most 1,024 bytes, a text of
 * at most 4,096, every string UTF-8. Refused here, so that export never writes a bundle no verifier reads. */
#define SEL_INT_MAX   9007199254740991LL
#define SEL_VALUE_MAX 1024u
#define SEL_TEXT_MAX  4096u

/* The manifest's selection object and the query, from the options. */
static int build_selection(st_store *s, const st_export_opts *o, st_query *q, st_json_doc *doc, st_json **out)
{
    static const char *const kinds[] = { "full", "range", "time", "filter" };
    st_json *sel = st_json_new_object(doc);
    if (!sel || st_json_object_add(doc, sel, "kind", 4, st_json_new_str(doc, kinds[o->kind]))) return ENOMEM;
    memset(q, 0, sizeof *q);
    if (o->kind == ST_SEL_TIME || o->kind == ST_SEL_FILTER) {
        q->has_since = o->has_since;
        q->since_us = o->since_us;
        q->has_until = o->has_until;
        q->until_us = o->until_us;
        if (q->has_since && q->has_until && q->since_us >= q->until_us)
            return st_store_fail(s, ST_EINVAL, "--since must be before --until");
        if ((q->has_since && (q->since_us > SEL_INT_MAX || q->since_us < -SEL_INT_MAX)) ||
            (q->has_until && (q->until_us > SEL_INT_MAX || q->until_us < -SEL_INT_MAX)))
            return st_store_fail(s, ST_EINVAL, "--since/--until: a bundle holds times from 1684 to 2255 only");
        if (o->has_since && st_json_object_add(doc, sel, "since_us", 8, st_json_new_int(doc, o->since_us)))
            return ENOMEM;
        if (o->has_until && st_json_object_add(doc, sel, "until_us", 8, st_json_new_int(doc, o->until_us)))
            return ENOMEM;
    }
    if (o->kind == ST_SEL_FILTER) {
        struct { const char *arg; st_qfield *f; const char *key; } lists[] = {
            { o->tool, &q->tool, "tool" }, { o->event, &q->event, "event" },
            { o->session, &q->session, "session" }, { o->status, &q->status, "status" },
        };
        for (size_t i = 0; i < 4; i++) {
            if (!lists[i].arg) continue;
            size_t al = strlen(lists[i].arg) + 1;
            char *copy = st_json_doc_alloc(doc, al);    /* unescaped in place (query.h); lives as long as doc */
            if (!copy) return ENOMEM;
            memcpy(copy, lists[i].arg, al);
            if (st_qfield_add_list(lists[i].f, copy))
                return st_store_fail(s, ST_EINVAL, "--%s: expected a comma-separated list of 1..%u non-empty values",
                                     lists[i].key, ST_Q_MAX_VALUES);
            for (size_t j = 0; j < lists[i].f->n; j++) {
                if (lists[i].f->len[j] > SEL_VALUE_MAX)
                    return st_store_fail(s, ST_EINVAL, "--%s: a value is longer than %u bytes", lists[i].key, SEL_VALUE_MAX);
                if (!st_utf8_valid((const uint8_t *)lists[i].f->v[j], lists[i].f->len[j]))
                    return st_store_fail(s, ST_EINVAL, "--%s: a value is not valid UTF-8 (a bundle's manifest is JSON)",
                                         lists[i].key);
            }
            if (add_list(doc, sel, lists[i].key, lists[i].f)) return ENOMEM;
        }
        if (o->path) {
            if (!st_utf8_valid((const uint8_t *)o->path, strlen(o->path)))
                return st_store_fail(s, ST_EINVAL, "--path: not valid UTF-8 (a bundle's manifest is JSON)");
            q->path = o->path;
            if (st_json_object_add(doc, sel, "path", 4, st_json_new_str(doc, o->path))) return ENOMEM;
        }
        if (o->text) {
            if (strlen(o->text) > SEL_TEXT_MAX)
                return st_store_fail(s, ST_EINVAL, "--text: longer than %u bytes", SEL_TEXT_MAX);
            if (!st_utf8_valid((const uint8_t *)o->text, strlen(o->text)))
                return st_store_fail(s, ST_EINVAL, "--text: not valid UTF-8 (a bundle's manifest is JSON)");
            q->text = o->text;
            q->text_len = strlen(o->text);
            if (st_json_object_add(doc, sel, "text", 4, st_json_new_str(doc, o->text))) return ENOMEM;
        }
    }
    *out = sel;
    return 0;
}

/* Parses a --from-checkpoint note (not verified); ST_EFORMAT when it is no checkpoint. */
static int parse_from(st_store *s, const st_export_opts *o, st_note *note, st_checkpoint *cp)
{
    st_err err = { { 0 } };
    if (st_note_parse(note, o->from_checkpoint, o->from_checkpoint_len, &err) ||
        st_checkpoint_parse(cp, note->text, note->text_len, &err))
        return st_store_fail(s, ST_EFORMAT, "--from-checkpoint: %s", err.msg);
    return 0;
}

/* Verifies a --from-checkpoint note with the store's key and checks its root against the tree. */
static int check_from(st_store *s, st_txn *txn, const st_export_opts *o, uint64_t final, uint64_t *size_out)
{
    static st_note note;
    st_checkpoint cp;
    st_err err = { { 0 } };
    int rc = parse_from(s, o, &note, &cp);
    if (rc) return rc;
    st_vkey keys[ST_KEYS_MAX];
    size_t nk = 0;
    rc = st_keys_for_checkpoint(txn, s, &cp, keys, &nk);
    if (rc) return st_store_fail(s, rc, "--from-checkpoint: keys for checkpoint %llu: %s", (unsigned long long)cp.size,
                                 st_strerror(rc));
    rc = st_note_verify(&note, keys, nk, NULL, &err);
    if (rc) return st_store_fail(s, rc, "--from-checkpoint: not signed by this log's key: %s", err.msg);
    if (strcmp(cp.origin, s->origin) != 0)
        return st_store_fail(s, ST_EPROOF, "--from-checkpoint: origin \"%s\", this log is \"%s\"", cp.origin, s->origin);
    if (cp.size > final)
        return st_store_fail(s, ST_EPROOF, "--from-checkpoint: size %llu is beyond this store's latest checkpoint %llu "
                             "(was the store rolled back?)", (unsigned long long)cp.size, (unsigned long long)final);
    st_hash root;
    rc = st_tree_root_txn(txn, cp.size, root);
    if (rc) return st_store_fail(s, rc, "--from-checkpoint: root at %llu: %s", (unsigned long long)cp.size,
                                 st_strerror(rc));
    if (memcmp(root, cp.root, 32) != 0) {
        char a[65], b[65];
        st_hex_encode(a, cp.root, 32);
        st_hex_encode(b, root, 32);
        return st_store_fail(s, ST_EPROOF, "--from-checkpoint: fork: your checkpoint %llu has root %s, this log has %s",
                             (unsigned long long)cp.size, a, b);
    }
    *size_out = cp.size;
    return 0;
}

/* Entries [*begin, *end) of a --from/--to selection in a log of size entries. */
static int range_of(st_store *s, const st_export_opts *o, uint64_t size, uint64_t *begin, uint64_t *end)
{
    uint64_t to = o->to == UINT64_MAX ? (size ? size - 1 : 0) : o->to;
    if (o->from > to || to >= size)
        return st_store_fail(s, ST_EINVAL, "range %llu..%llu is not within the log (%llu entries)",
                             (unsigned long long)o->from, (unsigned long long)to, (unsigned long long)size);
    *begin = o->from;
    *end = to + 1;
    return 0;
}

/* --seal: the bad input that refuses an export (the selection, an index range
 * beyond the log, a --from-checkpoint that is no checkpoint) is refused before
 * the seal, so that a refused export changes nothing in the store. A seal
 * does not change the log's size. */
int st_export_check(st_store *s, const st_export_opts *o)
{
    static st_note note;
    st_checkpoint cp;
    st_query q;
    st_json *sel;
    st_json_doc *doc = st_json_doc_new();
    if (!doc) return ENOMEM;
    int rc = build_selection(s, o, &q, doc, &sel);
    st_json_doc_free(doc);
    if (rc == 0 && o->from_checkpoint) rc = parse_from(s, o, &note, &cp);
    if (rc == 0 && o->kind == ST_SEL_RANGE) {
        st_txn *txn = NULL;
        uint64_t size = 0, b, e;
        if ((rc = st_db_read_begin(s->db, &txn, &s->err)) != 0) return rc;
        rc = st_size_txn(txn, &size);
        st_db_read_end(txn);
        if (rc == 0) rc = range_of(s, o, size, &b, &e);
    }
    return rc;
}

int st_export_store(st_store *s, const st_export_opts *o, int fd, st_export_stats *stats)
{
    if (o->seal) {
        char *note = NULL;
        size_t len;
        int rc = st_export_check(s, o);
        if (rc) return rc;
        rc = st_seal(s, &note, &len);
        free(note);
        if (rc) return rc;
    }
    st_txn *txn = NULL;
    int rc = st_db_read_begin(s->db, &txn, &s->err);
    if (rc) return rc;
    st_json_doc *doc = st_json_doc_new();
    collect c = { 0 };
    st_bundle_writer *w = NULL;
    st_query q;
    st_json *sel = NULL;
    st_export_plan p;
    memset(&p, 0, sizeof p);
    xkeys keys = { 0 };
    uint64_t size = 0, final = 0;
    char *note = NULL;
    size_t nlen;
    xsrc x;
    memset(&x, 0, sizeof x);
    x.s = s;
    x.txn = txn;
    if (!doc) { rc = ENOMEM; goto out; }
    if ((rc = st_size_txn(txn, &size))) goto out;
    rc = x_checkpoint(&x, UINT64_MAX, ST_CP_AT_MOST, &final, &note, &nlen);
    free(note);
    if (rc == ST_ENOTFOUND) {
        rc = st_store_fail(s, rc, "the store was never sealed: run 'sealtrail seal' or export with --seal");
        goto out;
    }
    if (rc) goto out;
    if ((rc = build_selection(s, o, &q, doc, &sel))) goto out;
    p.kind = o->kind;
    switch (o->kind) {
    case ST_SEL_FULL:
        p.begin = 0;
        p.end = size;
        break;
    case ST_SEL_RANGE:
        if ((rc = range_of(s, o, size, &p.begin, &p.end))) goto out;
        break;
    case ST_SEL_TIME:
    case ST_SEL_FILTER:
        c.cap = o->kind == ST_SEL_TIME ? SIZE_MAX : 0;
        rc = st_query_run(txn, &q, on_match, &c, NULL, &s->err);
        if (rc) goto out;
        if (o->kind == ST_SEL_TIME) {
            p.begin = c.n ? c.min : final;
            p.end = c.n ? c.max + 1 : final;
        } else {
            if (c.n) qsort(c.v, c.n, sizeof *c.v, cmp_u64);
            p.indices = c.v;
            p.nindices = c.n;
            p.begin = c.n ? c.v[0] : 0;
            p.end = c.n ? c.v[c.n - 1] + 1 : 0;
        }
        break;
    }
    if (p.end > final) {
        rc = st_store_fail(s, ST_ENOTSEALED,
                           "the selection reaches entry %llu but the latest checkpoint seals %llu entries: seal first "
                           "('sealtrail seal') or export with --seal", (unsigned long long)p.end - 1,
                           (unsigned long long)final);
        goto out;
    }
    if (o->from_checkpoint) {
        if ((rc = check_from(s, txn, o, final, &p.previous_size))) goto out;
        p.previous_note = o->from_checkpoint;
        p.previous_len = o->from_checkpoint_len;
    }
    const char *vkeys[1] = { s->vkey };
    uint64_t pol;
    p.origin = s->origin;
    p.selection = sel;
    p.final_size = final;
    p.vkeys = vkeys;
    p.nvkeys = 1;
    p.policy_index = st_meta_get_u64(txn, "retention_policy_index", &pol) == 0 && pol < final ? (int64_t)pol : -1;
    keys.final = final;
    if ((rc = st_keys_each(txn, x_keynote, &keys)) != 0) {
        st_store_fail(s, rc, "reading the key history: %s", st_strerror(rc));
        goto out;
    }
    p.keynote_index = keys.index;
    p.keynotes = keys.note;
    p.keynote_lens = keys.len;
    p.nkeynotes = keys.n;
    p.created_us = st_now_us();
    p.exporter = "sealtrail " SEALTRAIL_VERSION_STRING;
    if ((rc = st_bw_open_fd(&w, fd, o->writeback ? ST_BW_WRITEBACK : 0))) goto out;
    st_export_src src = { &x, x_checkpoint, x_node, x_cons, x_incl, x_entry, x_payloads, x_absences };
    st_err err = { { 0 } };
    rc = st_export_write(&src, &p, w, stats, &err);
    if (rc) st_store_fail(s, rc, "%s", err.msg[0] ? err.msg : st_strerror(rc));
out:
    free(keys.index);
    free((void *)keys.note);
    free(keys.len);
    st_cursor_close(x.ent.c);
    st_cursor_close(x.pay.c);
    st_cursor_close(x.ret.c);
    st_buf_free(&x.data);
    st_buf_free(&x.row);
    st_bw_free(w);
    free(c.v);
    st_json_doc_free(doc);
    st_db_read_end(txn);
    return rc;
}
