/*
 * keyhist_note.c: the signed notes of key management (docs/KEYS.md section
 * "Formats"): parsing with the structural rules [KEYS-1..8], formatting (the
 * exact inverse), and the signature checks each type needs. Deciding what a
 * history of notes means is keyhist.c.
 *
 * Text layout (every line ends in LF; fields in exactly this order):
 *
 *   sealtrail key-certificate v1        type line: has spaces, so it can never be
 *   origin <origin>                     a checkpoint's origin line [KEYS-1]
 *   key <vkey>                          name == origin [KEYS-3]
 *   not-before <unix seconds>           window [not-before, not-after) [KEYS-4]
 *   not-after <unix seconds>
 *
 *   key-request: as the certificate.    key-epochs(-request): origin, then
 *   1..96 "epoch <nb> <na> <vkey>" [KEYS-5]. key-revocation: origin, key,
 *   "after <secs>", optional "reason <text>" [KEYS-7]. key-rotation: origin,
 *   "old <vkey>", "new <vkey>", "time <secs>" [KEYS-6].
 */
#include "keyhist.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#define KN_NOTE_MAX (64u * 1024u)   /* whole note bytes [KEYS-1] */

static const struct {
    st_keynote_type type;
    const char *line;   /* type line without LF */
    const char *kind;   /* entry kind */
} types[] = {
    { ST_KN_REQUEST, "sealtrail key-request v1", "key-request" },
    { ST_KN_CERTIFICATE, "sealtrail key-certificate v1", "key-certificate" },
    { ST_KN_EPOCHS_REQUEST, "sealtrail key-epochs-request v1", "key-epochs-request" },
    { ST_KN_EPOCHS, "sealtrail key-epochs v1", "key-epochs" },
    { ST_KN_REVOCATION, "sealtrail key-revocation v1", "key-revocation" },
    { ST_KN_ROTATION, "sealtrail key-rotation v1", "key-rotation" },
};
#define NTYPES (sizeof types / sizeof types[0])

const char *st_keynote_kind(st_keynote_type t)
{
    for (size_t i = 0; i < NTYPES; i++)
        if (types[i].type == t) return types[i].kind;
    return NULL;
}

static const char *type_line(st_keynote_type t)
{
    for (size_t i = 0; i < NTYPES; i++)
        if (types[i].type == t) return types[i].line;
    return "";
}

st_keynote_type st_keynote_type_of_kind(const char *kind, size_t len)
{
    static const st_keynote_type hist[] = { ST_KN_CERTIFICATE, ST_KN_EPOCHS, ST_KN_REVOCATION, ST_KN_ROTATION };
    for (size_t i = 0; i < sizeof hist / sizeof hist[0]; i++) {
        const char *k = st_keynote_kind(hist[i]);
        if (kind && strlen(k) == len && memcmp(k, kind, len) == 0) return hist[i];
    }
    return 0;
}

int st_vkey_equal(const st_vkey *a, const st_vkey *b)
{
    return strcmp(a->name, b->name) == 0 && memcmp(a->pub, b->pub, 32) == 0;
}

/* ---- parsing ------------------------------------------------------------------------- */

typedef struct lines {
    const char *p, *end;
    size_t no;           /* number of the line just taken (1-based) */
    const char *line;    /* the line just taken, without LF */
    size_t len;
} lines;

static int next_line(lines *l)
{
    if (l->p >= l->end) return 0;
    const char *nl = memchr(l->p, '\n', (size_t)(l->end - l->p));
    if (!nl) return 0;                 /* text ends in LF: checked before */
    l->line = l->p;
    l->len = (size_t)(nl - l->p);
    l->p = nl + 1;
    l->no++;
    return 1;
}

/* How much of a len-byte field a message quotes: at most max bytes, and never
 * past the field (the text is not NUL-terminated, and what follows the field
 * is the next line or, for the last one, the end of the caller's buffer). */
static int quote_len(size_t len, size_t max)
{
    return (int)(len < max ? len : max);
}

/* Takes the next line, which must be "<name> <value>"; value/vlen get the rest. */
static int field(lines *l, const char *name, const char **value, size_t *vlen, st_err *err)
{
    size_t nl = strlen(name);
    if (!next_line(l)) return st_fail(err, ST_EFORMAT, "key note: line %zu: missing \"%s\" line", l->no + 1, name);
    if (l->len <= nl + 1 || memcmp(l->line, name, nl) != 0 || l->line[nl] != ' ')
        return st_fail(err, ST_EFORMAT, "key note: line %zu: expected \"%s <value>\", found \"%.*s\"", l->no, name,
                       quote_len(l->len, 60), l->line);
    *value = l->line + nl + 1;
    *vlen = l->len - nl - 1;
    return 0;
}

static int parse_time(const char *s, size_t len, int64_t *out, size_t lineno, st_err *err)
{
    uint64_t v;
    if (st_parse_u64(s, len, (uint64_t)ST_KN_TIME_MAX, &v) != 0)
        return st_fail(err, ST_EFORMAT, "key note: line %zu: \"%.*s\" is not unix seconds (canonical decimal, at most %lld)",
                       lineno, quote_len(len, 30), s, (long long)ST_KN_TIME_MAX);
    *out = (int64_t)v;
    return 0;
}

/* A log key: canonical vkey string whose name is the origin [KEYS-3]. */
static int parse_logkey(st_vkey *k, const char *s, size_t len, const char *origin, size_t lineno, st_err *err)
{
    st_err e2;
    if (len >= ST_VKEY_MAX || st_vkey_parse(k, s, len, &e2) != 0)
        return st_fail(err, ST_EFORMAT, "key note: line %zu: %s", lineno, len >= ST_VKEY_MAX ? "key too long" : e2.msg);
    char canon[ST_VKEY_MAX];
    st_vkey_format(canon, k);
    if (strlen(canon) != len || memcmp(canon, s, len) != 0)
        return st_fail(err, ST_EFORMAT, "key note: line %zu: key is not in canonical form", lineno);
    if (strcmp(k->name, origin) != 0)
        return st_fail(err, ST_EFORMAT, "key note: line %zu: key is named \"%s\", the note's origin is \"%s\"", lineno,
                       k->name, origin);
    return 0;
}

static int parse_window(st_keywin *w, lines *l, st_err *err)
{
    const char *v;
    size_t vl;
    int rc;
    if ((rc = field(l, "not-before", &v, &vl, err)) || (rc = parse_time(v, vl, &w->not_before, l->no, err)) ||
        (rc = field(l, "not-after", &v, &vl, err)) || (rc = parse_time(v, vl, &w->not_after, l->no, err)))
        return rc;
    if (w->not_before >= w->not_after)
        return st_fail(err, ST_EFORMAT, "key note: not-before %lld is not before not-after %lld [KEYS-4]",
                       (long long)w->not_before, (long long)w->not_after);
    return 0;
}

/* "epoch <nb> <na> <vkey>" */
static int parse_epoch(st_keywin *w, const char *v, size_t vl, const char *origin, size_t lineno, st_err *err)
{
    const char *sp1 = memchr(v, ' ', vl);
    const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(v + vl - sp1 - 1)) : NULL;
    if (!sp2) return st_fail(err, ST_EFORMAT, "key note: line %zu: expected \"epoch <not-before> <not-after> <key>\"", lineno);
    int rc;
    if ((rc = parse_time(v, (size_t)(sp1 - v), &w->not_before, lineno, err)) ||
        (rc = parse_time(sp1 + 1, (size_t)(sp2 - sp1 - 1), &w->not_after, lineno, err)) ||
        (rc = parse_logkey(&w->key, sp2 + 1, (size_t)(v + vl - sp2 - 1), origin, lineno, err)))
        return rc;
    if (w->not_before >= w->not_after)
        return st_fail(err, ST_EFORMAT, "key note: line %zu: epoch not-before %lld is not before not-after %lld [KEYS-4]",
                       lineno, (long long)w->not_before, (long long)w->not_after);
    return 0;
}

static int parse_epochs(st_keynote *kn, lines *l, st_err *err)
{
    kn->nkeys = 0;
    while (l->p < l->end) {
        const char *v;
        size_t vl;
        int rc = field(l, "epoch", &v, &vl, err);
        if (rc) return rc;
        if (kn->nkeys == ST_KN_MAX_EPOCHS)
            return st_fail(err, ST_EFORMAT, "key note: more than %u epochs [KEYS-5]", ST_KN_MAX_EPOCHS);
        st_keywin *w = &kn->keys[kn->nkeys];
        if ((rc = parse_epoch(w, v, vl, kn->origin, l->no, err)) != 0) return rc;
        if (kn->nkeys > 0 && w->not_before < kn->keys[kn->nkeys - 1].not_after)
            return st_fail(err, ST_EFORMAT, "key note: line %zu: epoch starts at %lld, before the previous one ends (%lld) [KEYS-5]",
                           l->no, (long long)w->not_before, (long long)kn->keys[kn->nkeys - 1].not_after);
        for (size_t i = 0; i < kn->nkeys; i++)
            if (memcmp(kn->keys[i].key.pub, w->key.pub, 32) == 0)
                return st_fail(err, ST_EFORMAT, "key note: line %zu: the key of epoch %zu is used again [KEYS-5]", l->no, i + 1);
        kn->nkeys++;
    }
    if (kn->nkeys == 0) return st_fail(err, ST_EFORMAT, "key note: no epoch lines [KEYS-5]");
    return 0;
}

int st_keynote_text_parse(st_keynote *out, const char *text, size_t len, st_err *err)
{
    memset(out, 0, offsetof(st_keynote, note));
    memset(&out->note, 0, offsetof(st_note, sigs));
    if (text == NULL || len == 0) return st_fail(err, ST_EFORMAT, "key note: empty");
    if (len > KN_NOTE_MAX) return st_fail(err, ST_EFORMAT, "key note: %zu bytes, over the limit of %u", len, KN_NOTE_MAX);
    if (text[len - 1] != '\n') return st_fail(err, ST_EFORMAT, "key note: text does not end in a newline");
    for (size_t i = 0; i < len; i++)
        if ((uint8_t)text[i] < 0x20 && text[i] != '\n')
            return st_fail(err, ST_EFORMAT, "key note: control character at offset %zu", i);
    if (!st_utf8_valid((const uint8_t *)text, len)) return st_fail(err, ST_EFORMAT, "key note: invalid UTF-8");
    lines l = { text, text + len, 0, NULL, 0 };
    next_line(&l);
    for (size_t i = 0; i < NTYPES && !out->type; i++)
        if (strlen(types[i].line) == l.len && memcmp(types[i].line, l.line, l.len) == 0) out->type = types[i].type;
    if (!out->type)
        return st_fail(err, ST_EFORMAT, "key note: line 1: \"%.*s\" is not a sealtrail key note type line [KEYS-1]",
                       quote_len(l.len, 60), l.line);
    const char *v;
    size_t vl;
    int rc = field(&l, "origin", &v, &vl, err);
    if (rc) return rc;
    if (!st_key_name_valid(v, vl))
        return st_fail(err, ST_EFORMAT, "key note: line 2: invalid origin (empty, whitespace, '+' or over %u bytes)", ST_KEY_NAME_MAX);
    memcpy(out->origin, v, vl);
    out->origin[vl] = 0;

    switch (out->type) {
    case ST_KN_REQUEST:
    case ST_KN_CERTIFICATE:
        out->nkeys = 1;
        if ((rc = field(&l, "key", &v, &vl, err)) || (rc = parse_logkey(&out->keys[0].key, v, vl, out->origin, l.no, err)) ||
            (rc = parse_window(&out->keys[0], &l, err)))
            return rc;
        break;
    case ST_KN_EPOCHS_REQUEST:
    case ST_KN_EPOCHS:
        if ((rc = parse_epochs(out, &l, err)) != 0) return rc;
        break;
    case ST_KN_REVOCATION:
        out->nkeys = 1;
        if ((rc = field(&l, "key", &v, &vl, err)) || (rc = parse_logkey(&out->keys[0].key, v, vl, out->origin, l.no, err)) ||
            (rc = field(&l, "after", &v, &vl, err)) || (rc = parse_time(v, vl, &out->time, l.no, err)))
            return rc;
        if (l.p < l.end) {
            if ((rc = field(&l, "reason", &v, &vl, err)) != 0) return rc;
            if (vl > ST_KN_REASON_MAX)
                return st_fail(err, ST_EFORMAT, "key note: line %zu: reason of %zu bytes (at most %u) [KEYS-7]", l.no, vl,
                               ST_KN_REASON_MAX);
            memcpy(out->reason, v, vl);
            out->reason[vl] = 0;
        }
        break;
    case ST_KN_ROTATION:
        out->nkeys = 2;
        if ((rc = field(&l, "old", &v, &vl, err)) || (rc = parse_logkey(&out->keys[0].key, v, vl, out->origin, l.no, err)) ||
            (rc = field(&l, "new", &v, &vl, err)) || (rc = parse_logkey(&out->keys[1].key, v, vl, out->origin, l.no, err)) ||
            (rc = field(&l, "time", &v, &vl, err)) || (rc = parse_time(v, vl, &out->time, l.no, err)))
            return rc;
        if (memcmp(out->keys[0].key.pub, out->keys[1].key.pub, 32) == 0)
            return st_fail(err, ST_EFORMAT, "key note: rotation from a key to itself [KEYS-6]");
        break;
    }
    if (l.p < l.end)
        return st_fail(err, ST_EFORMAT, "key note: line %zu: unexpected line after the last field [KEYS-1]", l.no + 1);
    return 0;
}

int st_keynote_parse(st_keynote *out, const char *buf, size_t len, st_err *err)
{
    if (len > KN_NOTE_MAX)
        return st_fail(err, ST_EFORMAT, "key note: %zu bytes, over the limit of %u [KEYS-1]", len, KN_NOTE_MAX);
    st_note note;   /* parsed first: st_keynote_text_parse clears out->note */
    int rc = st_note_parse(&note, buf, len, err);
    if (rc) return rc;
    if ((rc = st_keynote_text_parse(out, note.text, note.text_len, err)) != 0) return rc;
    out->note = note;
    return 0;
}

/* ---- formatting ----------------------------------------------------------------------- */

void st_keynote_format_text(st_buf *out, const st_keynote *kn)
{
    char vk[ST_VKEY_MAX], vk2[ST_VKEY_MAX];
    st_buf_printf(out, "%s\norigin %s\n", type_line(kn->type), kn->origin);
    switch (kn->type) {
    case ST_KN_REQUEST:
    case ST_KN_CERTIFICATE:
        st_vkey_format(vk, &kn->keys[0].key);
        st_buf_printf(out, "key %s\nnot-before %lld\nnot-after %lld\n", vk, (long long)kn->keys[0].not_before,
                      (long long)kn->keys[0].not_after);
        break;
    case ST_KN_EPOCHS_REQUEST:
    case ST_KN_EPOCHS:
        for (size_t i = 0; i < kn->nkeys; i++) {
            st_vkey_format(vk, &kn->keys[i].key);
            st_buf_printf(out, "epoch %lld %lld %s\n", (long long)kn->keys[i].not_before, (long long)kn->keys[i].not_after, vk);
        }
        break;
    case ST_KN_REVOCATION:
        st_vkey_format(vk, &kn->keys[0].key);
        st_buf_printf(out, "key %s\nafter %lld\n", vk, (long long)kn->time);
        if (kn->reason[0]) st_buf_printf(out, "reason %s\n", kn->reason);
        break;
    case ST_KN_ROTATION:
        st_vkey_format(vk, &kn->keys[0].key);
        st_vkey_format(vk2, &kn->keys[1].key);
        st_buf_printf(out, "old %s\nnew %s\ntime %lld\n", vk, vk2, (long long)kn->time);
        break;
    }
}

/* ---- signatures [KEYS-8] ---------------------------------------------------------------- */

/* "name+hex8, name+hex8" of the note's signature lines, for messages. */
static void signers_list(char *out, size_t cap, const st_note *n)
{
    size_t used = 0;
    out[0] = 0;
    for (size_t i = 0; i < n->nsigs && used + 1 < cap; i++) {
        int w = snprintf(out + used, cap - used, "%s%.*s+%08x", i ? ", " : "", (int)n->sigs[i].name_len,
                         n->sigs[i].name, (unsigned)n->sigs[i].key_id);
        if (w < 0) break;
        used += (size_t)w < cap - used ? (size_t)w : cap - used - 1;
    }
    if (!out[0]) snprintf(out, cap, "nobody");
}

int st_keynote_verify_self(const st_keynote *kn, st_err *err)
{
    if (kn->type != ST_KN_REQUEST && kn->type != ST_KN_EPOCHS_REQUEST && kn->type != ST_KN_ROTATION)
        return st_fail(err, ST_EINVAL, "%s: not signed by the keys it names", st_keynote_kind(kn->type));
    if (!kn->note.text) return st_fail(err, ST_EINVAL, "key note: no signatures parsed");
    for (size_t i = 0; i < kn->nkeys; i++) {
        st_err e2;
        int ok = 0;
        int rc = st_note_verify(&kn->note, &kn->keys[i].key, 1, &ok, &e2);
        if (rc == ST_EBADSIG) return st_fail(err, rc, "%s: %s", st_keynote_kind(kn->type), e2.msg);
        if (rc || !ok) {
            char vk[ST_VKEY_MAX];
            st_vkey_format(vk, &kn->keys[i].key);
            const char *role = kn->type == ST_KN_ROTATION ? (i == 0 ? "old key " : "new key ") : "key ";
            return st_fail(err, ST_EUNTRUSTED, "%s: %s%s did not sign it (proof of possession missing)",
                           st_keynote_kind(kn->type), role, vk);
        }
    }
    return 0;
}

int st_keynote_verify_root(const st_keynote *kn, const st_vkey *roots, size_t nroots, size_t *root_index, st_err *err)
{
    if (kn->type != ST_KN_CERTIFICATE && kn->type != ST_KN_EPOCHS && kn->type != ST_KN_REVOCATION)
        return st_fail(err, ST_EINVAL, "%s: not signed by a root", st_keynote_kind(kn->type));
    if (!kn->note.text) return st_fail(err, ST_EINVAL, "key note: no signatures parsed");
    int ok[ST_KH_MAX_ROOTS];
    if (nroots > ST_KH_MAX_ROOTS) nroots = ST_KH_MAX_ROOTS;
    st_err e2;
    int rc = nroots ? st_note_verify(&kn->note, roots, nroots, ok, &e2) : ST_EUNTRUSTED;
    if (rc == ST_EBADSIG) return st_fail(err, rc, "%s: %s", st_keynote_kind(kn->type), e2.msg);
    if (rc) {
        char who[256], trusted[256] = "";
        signers_list(who, sizeof who, &kn->note);
        size_t used = 0;
        for (size_t i = 0; i < nroots && used + 1 < sizeof trusted; i++) {
            int w = snprintf(trusted + used, sizeof trusted - used, "%s%s+%08x", i ? ", " : "", roots[i].name,
                             (unsigned)roots[i].key_id);
            if (w > 0) used += (size_t)w < sizeof trusted - used ? (size_t)w : sizeof trusted - used - 1;
        }
        return st_fail(err, ST_EUNTRUSTED, "%s: signed by %s, not by a trusted root (trusted: %s)", st_keynote_kind(kn->type),
                       who, nroots ? trusted : "none");
    }
    if (root_index) {
        *root_index = 0;
        for (size_t i = 0; i < nroots; i++)
            if (ok[i]) { *root_index = i; break; }
    }
    return 0;
}
