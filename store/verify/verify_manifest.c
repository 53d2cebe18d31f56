/*
 * verify_manifest.c: docs/VERIFYING.md step 4, the manifest [BUNDLE-6]. The
 * manifest is canonical JSON (the entry rules [ENTRY-1..6]) whose members
 * are all known: the version first (another version: exit 3), then the
 * origin, the selection and the totals the rest of the bundle must match.
 * Everything in it is an unsigned claim; every claim but `created_us` and
 * `exporter` is checked against the signed content later.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verify_int.h"

#define MANIFEST_DEPTH 4u

static const char *const manifest_members[] = {
    "begin", "checkpoints", "created_us", "end", "entries", "exporter", "final_size",
    "origin", "previous_size", "selection", "v", NULL,
};
static const char *const selection_members[] = {
    "event", "kind", "min_duration_ms", "path", "session", "since_us", "status", "text", "tool", "until_us", NULL,
};

static int known(const char *const *list, const char *key, size_t len)
{
    for (; *list; list++)
        if (strlen(*list) == len && memcmp(*list, key, len) == 0) return 1;
    return 0;
}

static int get_u64(const st_json *o, const char *key, uint64_t *out)
{
    int64_t i;
    if (st_json_get_i64(o, key, &i) != 0 || i < 0) return -1;
    *out = (uint64_t)i;
    return 0;
}

static char *dup_n(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = 0;
    }
    return p;
}

/* A list criterion: a non-empty array of 1..16 non-empty strings. */
static int get_list(vlist *l, const st_json *sel, const char *key)
{
    const st_json *a = st_json_get(sel, key);
    if (!a) return 0;
    if (a->type != ST_JSON_ARRAY || a->count == 0 || a->count > VF_MAX_VALUES) return -1;
    for (const st_json *c = a->child; c; c = c->next) {
        if (c->type != ST_JSON_STRING || c->len == 0 || c->len > VF_VALUE_MAX) return -1;
        l->v[l->n] = dup_n(c->str, c->len);
        if (!l->v[l->n]) return -1;
        l->len[l->n++] = c->len;
    }
    return 1;
}

static void list_free(vlist *l)
{
    for (size_t i = 0; i < l->n; i++) free(l->v[i]);
    l->n = 0;
}

void vsel_free(vsel *s)
{
    list_free(&s->tool);
    list_free(&s->event);
    list_free(&s->session);
    list_free(&s->status);
    free(s->path);
    free(s->text);
    free(s->text_esc);
    memset(s, 0, sizeof *s);
}

static int parse_selection(vctx *v, const st_json *sel, const char **why)
{
    vsel *s = &v->sel;
    if (!sel || sel->type != ST_JSON_OBJECT) { *why = "\"selection\" is not an object"; return -1; }
    for (const st_json *m = sel->child; m; m = m->next)
        if (!known(selection_members, m->key, m->key_len)) { *why = "unknown member in \"selection\""; return -1; }
    size_t klen;
    const char *kind = st_json_get_str(sel, "kind", &klen);
    if (!kind) { *why = "\"selection\" has no \"kind\""; return -1; }
    if (klen == 4 && memcmp(kind, "full", 4) == 0) s->kind = SEL_FULL;
    else if (klen == 5 && memcmp(kind, "range", 5) == 0) s->kind = SEL_RANGE;
    else if (klen == 4 && memcmp(kind, "time", 4) == 0) s->kind = SEL_TIME;
    else if (klen == 6 && memcmp(kind, "filter", 6) == 0) s->kind = SEL_FILTER;
    else { *why = "unknown selection kind (full, range, time, filter)"; return -1; }
    snprintf(v->rep->selection, sizeof v->rep->selection, "%.*s", (int)klen, kind);

    int n = 0, rc;
    if ((rc = get_list(&s->tool, sel, "tool")) < 0 || (n += rc, 0) ||
        (rc = get_list(&s->event, sel, "event")) < 0 || (n += rc, 0) ||
        (rc = get_list(&s->session, sel, "session")) < 0 || (n += rc, 0) ||
        (rc = get_list(&s->status, sel, "status")) < 0 || (n += rc, 0)) {
        *why = "a filter list is not 1..16 non-empty strings";
        return -1;
    }
    const st_json *x;
    if ((x = st_json_get(sel, "since_us"))) {
        if (st_json_as_i64(x, &s->since_us) != 0) { *why = "\"since_us\" is not an integer"; return -1; }
        s->has_since = 1;
    }
    if ((x = st_json_get(sel, "until_us"))) {
        if (st_json_as_i64(x, &s->until_us) != 0) { *why = "\"until_us\" is not an integer"; return -1; }
        s->has_until = 1;
    }
    if ((x = st_json_get(sel, "min_duration_ms"))) {
        if (get_u64(sel, "min_duration_ms", &s->min_duration_ms) != 0) { *why = "bad \"min_duration_ms\""; return -1; }
        s->has_min_duration = 1;
    }
    size_t len;
    const char *str;
    if ((str = st_json_get_str(sel, "path", &len))) {
        if (len == 0 || len > 4096 || memchr(str, 0, len)) { *why = "bad \"path\""; return -1; }
        s->path = dup_n(str, len);
    } else if (st_json_get(sel, "path")) { *why = "\"path\" is not a string"; return -1; }
    if ((str = st_json_get_str(sel, "text", &len))) {
        if (len == 0 || len > 4096) { *why = "bad \"text\""; return -1; }
        s->text = dup_n(str, len);
        s->text_len = len;
        st_buf e = { 0 };
        st_json_write_string(&e, str, len);           /* "..." with minimal escaping */
        if (e.oom || e.len < 2) { st_buf_free(&e); *why = "out of memory"; return -1; }
        s->text_esc_len = e.len - 2;
        s->text_esc = dup_n((const char *)e.data + 1, s->text_esc_len);
        st_buf_free(&e);
    } else if (st_json_get(sel, "text")) { *why = "\"text\" is not a string"; return -1; }
    if ((s->path && !s->path[0]) || (s->text && !s->text_esc)) { *why = "out of memory"; return -1; }

    int time_crit = s->has_since || s->has_until;
    int other = n || s->has_min_duration || s->path || s->text;
    switch (s->kind) {
    case SEL_FULL:
    case SEL_RANGE:
        if (time_crit || other) { *why = "a full or range selection states no criteria"; return -1; }
        break;
    case SEL_TIME:
        if (other || !time_crit) { *why = "a time selection states only since_us and/or until_us"; return -1; }
        break;
    case SEL_FILTER:
        if (!time_crit && !other) { *why = "a filter selection states at least one criterion"; return -1; }
        break;
    }
    if (s->has_since && s->has_until && s->since_us >= s->until_us) { *why = "since_us >= until_us"; return -1; }
    v->contiguous = s->kind != SEL_FILTER;

    st_buf out = { 0 };
    st_json_write(&out, sel, ST_JSON_SORT_KEYS);
    if (!out.oom && out.len < sizeof v->rep->selection_json) {
        memcpy(v->rep->selection_json, out.data, out.len);
        v->rep->selection_json[out.len] = 0;
    } else {
        snprintf(v->rep->selection_json, sizeof v->rep->selection_json, "{\"kind\":\"%s\",\"...\":\"(long)\"}",
                 v->rep->selection);
    }
    st_buf_free(&out);
    return 0;
}

int vmanifest_parse(vctx *v, const uint8_t *body, size_t len, uint64_t offset)
{
    st_err err = { { 0 } };
    st_json_doc *doc = NULL;
    int rc = st_json_parse_canonical(&doc, body, len, MANIFEST_DEPTH, &err);
    if (rc) {
        st_json_doc_free(doc);
        return vfail(v, ST_VERDICT_UNVERIFIABLE, 4, offset, "manifest: %s: %s", st_strerror(rc), err.msg);
    }
    const st_json *root = st_json_doc_root(doc);
    const char *why = NULL;
    int verdict = ST_VERDICT_UNVERIFIABLE;
    int64_t ver;
    size_t olen;
    const char *origin;
    const st_json *x;

    /* 4.1 the version decides what everything else means */
    if (!root || root->type != ST_JSON_OBJECT) { why = "not a JSON object"; goto bad; }
    if (st_json_get_i64(root, "v", &ver) != 0) { why = "\"v\" missing or not an integer"; goto bad; }
    if (ver != ST_BUNDLE_VERSION) {
        verdict = ST_VERDICT_UNTRUSTED;
        st_json_doc_free(doc);
        return vfail(v, verdict, 4, offset, "manifest: bundle version %lld is not supported (this verifier reads %d)",
                     (long long)ver, ST_BUNDLE_VERSION);
    }
    /* 4.2 only known members */
    for (const st_json *m = root->child; m; m = m->next)
        if (!known(manifest_members, m->key, m->key_len)) {
            vfail(v, verdict, 4, offset, "manifest: unknown member \"%.*s\"", (int)(m->key_len > 64 ? 64 : m->key_len),
                  m->key);
            st_json_doc_free(doc);
            return -1;
        }
    /* 4.3 required members */
    origin = st_json_get_str(root, "origin", &olen);
    if (!origin || !st_key_name_valid(origin, olen)) { why = "\"origin\" missing or not a valid origin"; goto bad; }
    memcpy(v->rep->origin, origin, olen);
    v->rep->origin[olen] = 0;
    if (get_u64(root, "begin", &v->m_begin) || get_u64(root, "end", &v->m_end) ||
        get_u64(root, "entries", &v->m_entries) || get_u64(root, "checkpoints", &v->m_checkpoints) ||
        get_u64(root, "final_size", &v->m_final)) {
        why = "\"begin\", \"end\", \"entries\", \"checkpoints\" and \"final_size\" must be integers >= 0";
        goto bad;
    }
    if (v->m_begin > v->m_end || v->m_end > v->m_final) { why = "not begin <= end <= final_size"; goto bad; }
    if (v->m_checkpoints == 0) { why = "\"checkpoints\" is 0"; goto bad; }
    if ((x = st_json_get(root, "previous_size"))) {
        if (get_u64(root, "previous_size", &v->m_prev_size)) { why = "bad \"previous_size\""; goto bad; }
        v->m_has_prev = 1;
    }
    /* 4.4 unsigned claims, reported as such */
    if ((x = st_json_get(root, "created_us")) && st_json_as_i64(x, &v->rep->created_us) != 0) {
        why = "\"created_us\" is not an integer";
        goto bad;
    }
    if ((x = st_json_get(root, "exporter"))) {
        if (x->type != ST_JSON_STRING) { why = "\"exporter\" is not a string"; goto bad; }
        size_t n = x->len < sizeof v->rep->exporter - 1 ? x->len : sizeof v->rep->exporter - 1;
        for (size_t i = 0; i < n; i++) v->rep->exporter[i] = (x->str[i] >= 0x20 && x->str[i] < 0x7f) ? x->str[i] : '?';
        v->rep->exporter[n] = 0;
    }
    /* 4.5 the selection */
    if (parse_selection(v, st_json_get(root, "selection"), &why)) goto bad;
    if (v->contiguous && v->m_entries != v->m_end - v->m_begin) {
        why = "\"entries\" differs from end - begin in a contiguous selection";
        goto bad;
    }
    if (v->sel.kind == SEL_FILTER && v->m_entries > v->m_end - v->m_begin) { why = "more entries than the span"; goto bad; }
    v->rep->begin = v->m_begin;
    v->rep->end = v->m_end;
    v->rep->manifest_ok = 1;
    st_json_doc_free(doc);
    return 0;
bad:
    st_json_doc_free(doc);
    return vfail(v, verdict, 4, offset, "manifest: %s", why);
}
