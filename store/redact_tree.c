/*
 * redact_tree.c: redaction of a parsed JSON value tree in place
 * (st_redact_json). Every object key and string value is scanned as text;
 * a member whose key names a credential (or a {"name": "DB_PASSWORD",
 * "value": ...} pair) has its whole value redacted; numbers that are card
 * numbers, or that sit under a password-named key, become marker strings.
 * Containers are walked with a heap stack, never recursion, so nesting
 * depth costs no C stack. Redacted keys are kept unique within their object.
 */
#include "redact_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ==== JSON trees ================================================================== */

typedef struct rd_tree {
    rd_scan sc;
    st_json_doc *doc;
    st_redact_counts *c;
    unsigned ctx;     /* RD_CTX_*: a command or file path names a .pgpass
                       * file, or a script (.sql, .bat, .cmd, .ps1) */
} rd_tree;

/* Replaces the string *ps, *pn by the scanner's output (its matches
 * redacted), a copy in the document's arena. */
static int replace_string(rd_tree *t, char **ps, size_t *pn)
{
    size_t ol = rd_out_len(&t->sc);
    char *o = st_json_doc_alloc(t->doc, ol + 1);
    if (!o) return ENOMEM;
    rd_out_write(&t->sc, (uint8_t *)o, t->c);
    o[ol] = '\0';
    *ps = o;
    *pn = ol;
    return 0;
}

/* Redacts the string *ps, *pn (a key or a string value) in place. keycls != RK_NONE:
 * the string is the value of a credential-named key. *changed is set when
 * the string was replaced. */
static inline __attribute__((always_inline)) int tree_string_in(rd_tree *t, char **ps, size_t *pn, int keycls,
                                                                 int *changed, int cmd)
{
    rd_scan *sc = &t->sc;
    int rc = rd_run(sc, (const uint8_t *)*ps, *pn, 0);
    if (rc) return rc;
    if (cmd) { /* a command: its forms with no trigger byte (setx, SQL ...) */
        rd_cmd_extras(sc, 0, sc->n);
        if (sc->oom) return ENOMEM;
        rd_merge(sc);
    }
    if (RK_CLASS(keycls) != RK_NONE && rd_tree_value_secret(*ps, *pn, keycls)) {
        size_t from = 0;
        unsigned rule = ST_RULE_PASSWORD_ASSIGNMENT;
        if (RK_CLASS(keycls) == RK_AUTH) {
            from = rd_auth_scheme_len((const uint8_t *)*ps, *pn);
            if (from) rule = ST_RULE_AUTH_HEADER;
            if (from >= *pn) from = 0;
        } else if (RK_CLASS(keycls) == RK_AWS_SECRET && rd_aws_secret_shape((const uint8_t *)*ps, *pn)) {
            rule = ST_RULE_AWS_SECRET_KEY;
        }
        /* unless the key-aware rule is off: then keep what the detectors found */
        if (!(sc->r && (sc->r->disabled >> rule) & 1u) && rd_force_whole(sc, from, rule) != 0)
            return ENOMEM;
    }
    if (sc->nm == 0) return 0;
    *changed = 1;
    return replace_string(t, ps, pn);
}

static int tree_string(rd_tree *t, char **ps, size_t *pn, int keycls, int *changed)
{
    return tree_string_in(t, ps, pn, keycls, changed, 0);
}

/* The same for a command string ({"command": "..."}). */
static int tree_cmd_string(rd_tree *t, char **ps, size_t *pn, int keycls, int *changed)
{
    return tree_string_in(t, ps, pn, keycls, changed, 1);
}

/* A number node that is a card number, or any number under a password-named
 * key ({"pin_password": 1234}), becomes a marker string. */
static int tree_number(rd_tree *t, st_json *v, int keycls)
{
    unsigned rule;
    if (keycls & RK_PASSWORD) rule = ST_RULE_PASSWORD_ASSIGNMENT;
    else if (rd_card_number_literal(v->str, v->len)) rule = ST_RULE_PAYMENT_CARD;
    else return 0;
    if (t->sc.r && (t->sc.r->disabled >> rule) & 1u) return 0;
    const char *name = rd_builtin_names[rule];
    size_t ol = sizeof RD_MARK_PRE - 1 + strlen(name) + 1;
    char *o = st_json_doc_alloc(t->doc, ol + 1);
    if (!o) return ENOMEM;
    snprintf(o, ol + 1, RD_MARK_PRE "%s]", name);
    v->type = ST_JSON_STRING;
    v->str = o;
    v->len = ol;
    if (t->c) { t->c->n[rule]++; t->c->total++; }
    return 0;
}

typedef struct rd_word { const char *s; size_t n; } rd_word;
#define RW(x) { x, sizeof x - 1 }

/* Lengths of the names below (3 4 5 8 12 14): one test rejects most keys. */
#define RD_PAIR_LENS ((1u << 3) | (1u << 4) | (1u << 5) | (1u << 8) | (1u << 12) | (1u << 14))

static inline int key_is(const st_json *m, const rd_word *names)
{
    if (m->key_len >= 32 || !((RD_PAIR_LENS >> m->key_len) & 1)) return 0;
    for (; names->s; names++)
        if (m->key_len == names->n && memcmp(m->key, names->s, m->key_len) == 0) return 1;
    return 0;
}

/* {"name": "DB_PASSWORD", "value": "..."}: the class of the value member. */
static const st_json *name_value_pair(const st_json *obj, int *cls)
{
    static const rd_word names[] = { RW("name"), RW("Name"), RW("key"), RW("Key"), RW("ParameterKey"), RW("variable"), { NULL, 0 } };
    static const rd_word values[] = { RW("value"), RW("Value"), RW("ParameterValue"), { NULL, 0 } };
    const st_json *val = NULL;
    *cls = RK_NONE;
    for (const st_json *m = obj->child; m; m = m->next) {
        if (!m->key) continue;
        if (m->type == ST_JSON_STRING && *cls == RK_NONE && key_is(m, names)) *cls = rd_key_class(m->str, m->len);
        else if (!val && key_is(m, values)) val = m;
    }
    return *cls != RK_NONE ? val : NULL;
}

static int key_cmp(const void *a, const void *b)
{
    const st_json *x = *(const st_json *const *)a, *y = *(const st_json *const *)b;
    size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
    int c = memcmp(x->key, y->key, n);
    if (c) return c;
    if (x->key_len != y->key_len) return x->key_len < y->key_len ? -1 : 1;
    return 0;
}

static int ptr_cmp(const void *a, const void *b)
{
    const void *x = *(const void *const *)a, *y = *(const void *const *)b;
    return x < y ? -1 : x > y;
}

/* The number after a trailing "#" in a key ("x#12" -> 12), else 0. Digit
 * strings longer than 18 are ignored: our suffixes never reach that length. */
static uint64_t trailing_num(const char *k, size_t n)
{
    size_t d = 0;
    while (d < n && k[n - 1 - d] >= '0' && k[n - 1 - d] <= '9') d++;
    if (d == 0 || d > 18 || d == n || k[n - 1 - d] != '#') return 0;
    uint64_t v = 0;
    for (size_t i = n - d; i < n; i++) v = v * 10 + (uint64_t)(k[i] - '0');
    return v;
}

/* Redacted keys that now equal another key of the object get "#<n>", with
 * n above every "#<digits>" suffix already in the object, so one pass makes
 * the keys unique. Only redacted members (listed in `changed`) are renamed;
 * duplicates that were in the input are left alone. */
static int dedup_keys(rd_tree *t, st_json *obj, st_json **changed, size_t nchanged)
{
    st_json **all = malloc(obj->count * sizeof *all);
    if (!all) return ENOMEM;
    size_t n = 0;
    uint64_t seq = 1;
    for (st_json *m = obj->child; m && n < obj->count; m = m->next) {
        all[n++] = m;
        uint64_t tn = trailing_num(m->key, m->key_len);
        if (tn >= seq) seq = tn + 1;
    }
    qsort(all, n, sizeof *all, key_cmp);
    qsort(changed, nchanged, sizeof *changed, ptr_cmp);
    int rc = 0;
    for (size_t g = 0; g < n && rc == 0;) {
        size_t e = g + 1;
        while (e < n && key_cmp(&all[g], &all[e]) == 0) e++;
        if (e - g > 1) {
            /* keep one member under the key: an unredacted one if any */
            size_t keep = g;
            for (size_t i = g; i < e; i++)
                if (!bsearch(&all[i], changed, nchanged, sizeof *changed, ptr_cmp)) { keep = i; break; }
            for (size_t i = g; i < e && rc == 0; i++) {
                st_json *m = all[i];
                if (i == keep || !bsearch(&m, changed, nchanged, sizeof *changed, ptr_cmp)) continue;
                char suf[24];
                int sl = snprintf(suf, sizeof suf, "#%llu", (unsigned long long)seq++);
                char *k2 = st_json_doc_alloc(t->doc, m->key_len + (size_t)sl + 1);
                if (!k2) { rc = ENOMEM; break; }
                memcpy(k2, m->key, m->key_len);
                memcpy(k2 + m->key_len, suf, (size_t)sl + 1);
                m->key = k2;
                m->key_len += (size_t)sl;
            }
        }
        g = e;
    }
    free(all);
    return rc;
}

/* Containers still to visit: on the C stack up to RD_STACK_SMALL (every
 * ordinary event), on the heap beyond. */
#define RD_STACK_SMALL 64u
typedef struct rd_stack {
    st_json **v;
    size_t n, cap;
    st_json *small[RD_STACK_SMALL];
} rd_stack;

static int stack_push(rd_stack *st, st_json *m)
{
    if (st->n == st->cap) {
        size_t nc = st->cap * 2;
        st_json **ns = st->v == st->small ? malloc(nc * sizeof *ns) : realloc(st->v, nc * sizeof *ns);
        if (!ns) return ENOMEM;
        if (st->v == st->small) memcpy(ns, st->small, st->n * sizeof *ns);
        st->v = ns;
        st->cap = nc;
    }
    st->v[st->n++] = m;
    return 0;
}

/* The class an array element takes from the element before it: a flag that
 * names a credential in an argument vector (["mysql", "--password", "x"]:
 * a single dash only for password words, as in text), or a name with a
 * capital in a two-element pair (["Authorization", "Bearer x"], HTTP header
 * lists; ["token", "value"] and ["pass", "fail"] are words, not pairs). */
static int array_prev_class(const st_json *arr, const st_json *prev)
{
    if (!prev || prev->type != ST_JSON_STRING || prev->len < 3) return RK_NONE;
    size_t d = 0;
    while (d < prev->len && d < 3 && prev->str[d] == '-') d++;
    if (d == 0) {
        int cap = 0;
        for (size_t i = 0; i < prev->len && !cap; i++) cap = prev->str[i] >= 'A' && prev->str[i] <= 'Z';
        int two = cap && arr->child == prev && prev->next && !prev->next->next;
        return two && prev->len != 4 ? rd_key_class(prev->str, prev->len) : RK_NONE;
    }
    if (d > 2 || prev->len - d > 64) return RK_NONE;
    for (size_t i = d; i < prev->len; i++)
        if (!(RD_ALNUM(prev->str[i]) || prev->str[i] == '-' || prev->str[i] == '_')) return RK_NONE;
    int cls = rd_key_class(prev->str + d, prev->len - d);
    return d == 1 && !(cls & RK_PASSWORD) ? RK_NONE : cls;
}

/* The string member m: a command (1: then rd_cmd_extras looks at it too)?
 * Does it name a .pgpass file in a command or a path ("cat ~/.pgpass",
 * {"file_path": "/home/u/.pgpass"})? Then the event's
 * "host:port:db:user:password" lines are passwords (rd_pgpass_lines).
 * Does it name a script ({"file_path": "db/init.sql"}, "cat setup.bat")?
 * Then every string of the event is looked at for the command forms
 * (rd_cmd_extras: a Write's content, a Read's output). */
static inline int string_context(rd_tree *t, const st_json *m)
{
    const char *k = m->key;
    int cmd = 0;
    switch (m->key_len) { /* command, cmd, file_path, filePath, path, file (the first bytes first: no call) */
    case 3: if (k[0] != 'c' || k[1] != 'm' || k[2] != 'd') return 0; cmd = 1; break;
    case 4: if ((k[0] != 'p' || memcmp(k, "path", 4) != 0) && (k[0] != 'f' || memcmp(k, "file", 4) != 0)) return 0; break;
    case 7: if (k[0] != 'c' || k[2] != 'm' || memcmp(k, "command", 7) != 0) return 0; cmd = 1; break;
    case 8: if (k[0] != 'f' || k[4] != 'P' || memcmp(k, "filePath", 8) != 0) return 0; break;
    case 9: if (k[0] != 'f' || k[4] != '_' || memcmp(k, "file_path", 9) != 0) return 0; break;
    default: return 0;
    }
    if (!(t->ctx & RD_CTX_PGPASS) && m->len >= 6) { /* "pgpass" (a memchr per 'g': cheaper than memmem on short strings) */
        const char *g = m->str + 1, *end = m->str + m->len - 4;
        while (g < end && (g = memchr(g, 'g', (size_t)(end - g))) != NULL) {
            if (g[-1] == 'p' && memcmp(g + 1, "pass", 4) == 0) { t->ctx |= RD_CTX_PGPASS; break; }
            g++;
        }
    }
    if (!(t->ctx & RD_CTX_SCRIPT) && rd_script_named((const uint8_t *)m->str, m->len)) t->ctx |= RD_CTX_SCRIPT;
    return cmd;
}

/* A string of the second walk: only the detectors of the event's context. */
static int context_string(rd_tree *t, char **ps, size_t *pn)
{
    rd_scan *sc = &t->sc;
    int rc = rd_run_context(sc, (const uint8_t *)*ps, *pn, 0, t->ctx);
    if (rc || sc->nm == 0) return rc;
    return replace_string(t, ps, pn);
}

/* One object or array: keys and scalar members; containers are pushed. */
static int tree_container(rd_tree *t, st_json *obj, rd_stack *stack)
{
    int pair_cls = RK_NONE;
    const st_json *pair_val = obj->type == ST_JSON_OBJECT ? name_value_pair(obj, &pair_cls) : NULL;
    const st_json *prev = NULL;
    st_json *changed_small[8], **changed = changed_small;
    size_t nchanged = 0, chcap = 8;
    int rc = 0;
    for (st_json *m = obj->child; m && rc == 0; m = m->next) {
        int cls = RK_NONE;
        if (obj->type == ST_JSON_OBJECT && m->key) {
            cls = rd_key_class(m->key, m->key_len);
            if (m == pair_val && cls == RK_NONE) cls = pair_cls;
            int kch = 0;
            rc = tree_string(t, &m->key, &m->key_len, RK_NONE, &kch);
            if (rc == 0 && kch) {
                if (nchanged == chcap) {
                    st_json **nc = malloc(2 * chcap * sizeof *nc);
                    if (!nc) { rc = ENOMEM; break; }
                    memcpy(nc, changed, nchanged * sizeof *nc);
                    if (changed != changed_small) free(changed);
                    changed = nc;
                    chcap *= 2;
                }
                changed[nchanged++] = m;
            }
        }
        if (rc) break;
        if (obj->type == ST_JSON_ARRAY) {
            cls = array_prev_class(obj, prev);
            if (m->type == ST_JSON_STRING && m->len && m->str[0] == '-') cls = RK_NONE; /* another flag */
            prev = m;
        }
        int vch = 0;
        switch (m->type) {
        case ST_JSON_STRING:
            if (m->key && string_context(t, m)) rc = tree_cmd_string(t, &m->str, &m->len, cls, &vch);
            else rc = tree_string(t, &m->str, &m->len, cls, &vch);
            break;
        case ST_JSON_NUMBER: rc = tree_number(t, m, cls); break;
        case ST_JSON_ARRAY:
            /* {"api_key": ["x"]}, Go's http.Header {"Authorization": ["Bearer x"]}:
             * the strings of an array under a credential name are its values
             * (scanned again, harmlessly, when the array itself is walked) */
            for (st_json *e = m->child; e && rc == 0 && RK_CLASS(cls) != RK_NONE; e = e->next)
                if (e->type == ST_JSON_STRING) rc = tree_string(t, &e->str, &e->len, cls, &vch);
            if (rc == 0) rc = stack_push(stack, m);
            break;
        case ST_JSON_OBJECT: rc = stack_push(stack, m); break;
        default: break;
        }
    }
    if (rc == 0 && nchanged) rc = dedup_keys(t, obj, changed, nchanged);
    if (changed != changed_small) free(changed);
    return rc;
}

/* The context's detectors on every string value of the tree at v (keys were done). */
static int context_walk(rd_tree *t, st_json *v, rd_stack *stack)
{
    int rc = stack_push(stack, v);
    while (rc == 0 && stack->n) {
        st_json *c = stack->v[--stack->n];
        for (st_json *m = c->child; m && rc == 0; m = m->next) {
            if (m->type == ST_JSON_STRING) rc = context_string(t, &m->str, &m->len);
            else if (m->type == ST_JSON_ARRAY || m->type == ST_JSON_OBJECT) rc = stack_push(stack, m);
        }
    }
    return rc;
}

int st_redact_json(const st_redactor *r, st_json_doc *doc, st_json *v, st_redact_counts *counts)
{
    if (!doc || !v) return ST_EINVAL;
    rd_tree t;
    rd_scan_init(&t.sc, r);
    t.doc = doc;
    t.c = counts;
    int rc = 0, ch = 0;
    rd_stack stack;
    stack.v = stack.small;
    stack.n = 0;
    stack.cap = RD_STACK_SMALL;
    t.ctx = 0;
    switch (v->type) {
    case ST_JSON_STRING: rc = tree_string(&t, &v->str, &v->len, RK_NONE, &ch); break;
    case ST_JSON_NUMBER: rc = tree_number(&t, v, RK_NONE); break;
    case ST_JSON_ARRAY:
    case ST_JSON_OBJECT:
        rc = tree_container(&t, v, &stack);
        while (rc == 0 && stack.n) rc = tree_container(&t, stack.v[--stack.n], &stack);
        if (rc == 0 && t.ctx) { /* a second walk, for the context's detectors only (the path may come last) */
            rc = context_walk(&t, v, &stack);
        }
        break;
    default: break;
    }
    if (stack.v != stack.small) free(stack.v);
    rd_scan_free(&t.sc);
    return rc;
}
