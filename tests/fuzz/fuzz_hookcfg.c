/*
 * fuzz_hookcfg.c: `sealtrail hook install/uninstall` on hostile settings
 * text (store/hookcfg.c): whatever a user's settings.json holds, the merge
 * either refuses it with a reason or gives settings that Claude Code reads
 * as we meant. Properties, any violation aborts:
 *  - a refusal is ST_EJSON or ST_EFORMAT with a message, and no output;
 *  - install's output is strict JSON (no duplicate keys) ending in LF, and
 *    every event of the default list then has exactly one handler of ours,
 *    the one install writes;
 *  - install is idempotent: installing into its own output reports no
 *    change and gives the same bytes;
 *  - uninstall of that output removes exactly one handler per event, and
 *    uninstalling again removes none and gives the same bytes;
 *  - uninstall(install(x)) = uninstall(x) up to the empty event arrays that
 *    uninstall drops: install touches nothing but ours.
 * An input that starts with "#shell\n" is the rest in shell form.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hookcfg.h"
#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)

static const char BIN[] = "/opt/st/bin/sealtrail";
static const char DIR_[] = "/var/lib/st";

static void check_refusal(int rc, const char *out, const st_err *err)
{
    CHECK(rc == ST_EJSON || rc == ST_EFORMAT || rc == ENOMEM);
    CHECK(out == NULL);
    CHECK(rc == ENOMEM || err->msg[0] != '\0');
}

/* Whether handler h is exactly the one install writes. */
static int is_ours_exactly(const st_json *h, int shell)
{
    if (h->type != ST_JSON_OBJECT) return 0;
    const char *type = st_json_get_str(h, "type", NULL);
    const char *cmd = st_json_get_str(h, "command", NULL);
    if (!type || strcmp(type, "command") != 0 || !cmd) return 0;
    if (shell) {
        char *want = st_hookcfg_shell_command(BIN, DIR_);
        CHECK(want);
        int same = strcmp(cmd, want) == 0 && !st_json_get(h, "args");
        free(want);
        return same;
    }
    const st_json *a = st_json_get(h, "args");
    if (strcmp(cmd, BIN) != 0 || !a || a->type != ST_JSON_ARRAY || a->count != 3) return 0;
    const char *want[3] = { "--dir", DIR_, "hook" };
    const st_json *x = a->child;
    for (int i = 0; i < 3; i++, x = x->next)
        if (x->type != ST_JSON_STRING || x->len != strlen(want[i]) || memcmp(x->str, want[i], x->len) != 0) return 0;
    return 1;
}

/* The number of such handlers in event ev's array. */
static size_t ours_in(const st_json *hooks, const char *ev, int shell)
{
    const st_json *arr = st_json_get(hooks, ev);
    size_t n = 0;
    if (!arr) return 0;
    CHECK(arr->type == ST_JSON_ARRAY);
    for (const st_json *g = arr->child; g; g = g->next) {
        const st_json *hs = g->type == ST_JSON_OBJECT ? st_json_get(g, "hooks") : NULL;
        if (!hs || hs->type != ST_JSON_ARRAY) continue;
        for (const st_json *h = hs->child; h; h = h->next) n += (size_t)is_ours_exactly(h, shell);
    }
    return n;
}

/* Settings text as compact JSON, with the event arrays under "hooks" that are
 * empty left out, and "hooks" itself if nothing is left: uninstall removes
 * what becomes empty by removing ours, so an empty array that was there
 * before install is gone after uninstall (hookcfg.h), and means the same. */
static char *normalized(const char *text)
{
    st_json_doc *doc;
    st_json_opts jo = { .flags = ST_JSON_ALLOW_WS, .max_depth = 300 };
    CHECK(st_json_parse(&doc, text, strlen(text), &jo, NULL, NULL) == 0);
    st_buf b = { 0 };
    st_buf_putc(&b, '{');
    int first = 1;
    for (const st_json *m = st_json_doc_root(doc)->child; m; m = m->next) {
        int is_hooks = m->key_len == 5 && memcmp(m->key, "hooks", 5) == 0 && m->type == ST_JSON_OBJECT;
        size_t kept = 0;
        if (is_hooks)
            for (const st_json *e = m->child; e; e = e->next) kept += !(e->type == ST_JSON_ARRAY && e->count == 0);
        if (is_hooks && kept == 0) continue;
        if (!first) st_buf_putc(&b, ',');
        first = 0;
        st_json_write_string(&b, m->key, m->key_len);
        st_buf_putc(&b, ':');
        if (!is_hooks) { st_json_write(&b, m, 0); continue; }
        st_buf_putc(&b, '{');
        int f2 = 1;
        for (const st_json *e = m->child; e; e = e->next) {
            if (e->type == ST_JSON_ARRAY && e->count == 0) continue;
            if (!f2) st_buf_putc(&b, ',');
            f2 = 0;
            st_json_write_string(&b, e->key, e->key_len);
            st_buf_putc(&b, ':');
            st_json_write(&b, e, 0);
        }
        st_buf_putc(&b, '}');
    }
    st_buf_putc(&b, '}');
    st_json_doc_free(doc);
    CHECK(!b.oom);
    return st_buf_steal_str(&b, NULL);
}

static void check_installed(const char *text, int shell)
{
    size_t len = strlen(text);
    CHECK(len > 0 && text[len - 1] == '\n');
    st_json_doc *doc;
    st_json_opts jo = { .flags = ST_JSON_ALLOW_WS, .max_depth = 300 };
    CHECK(st_json_parse(&doc, text, len, &jo, NULL, NULL) == 0);   /* strict: no key twice */
    const st_json *hooks = st_json_get(st_json_doc_root(doc), "hooks");
    CHECK(hooks && hooks->type == ST_JSON_OBJECT);
    size_t nev;
    const char *const *evs = st_hookcfg_default_events(shell, &nev);
    for (size_t e = 0; e < nev; e++) CHECK(ours_in(hooks, evs[e], shell) == 1);
    st_json_doc_free(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    int shell = size >= 7 && memcmp(in, "#shell\n", 7) == 0;
    if (shell) in += 7, size -= 7;
    st_hookcfg_opts o = { .binary = BIN, .store_dir = DIR_, .shell_form = shell };
    size_t nev;
    (void)st_hookcfg_default_events(shell, &nev);

    st_err err;
    char *out = NULL, *again = NULL, *un = NULL, *un2 = NULL, *un_in = NULL;
    int changed, removed;
    int rc = st_hookcfg_install(in, size, &o, &out, &changed, NULL, &err);
    int urc = st_hookcfg_uninstall(in, size, &un_in, &removed, NULL, &err);
    if (rc != 0) {
        check_refusal(rc, out, &err);
        /* install refuses whatever uninstall refuses, and more (a wrong shape) */
        if (urc != 0) check_refusal(urc, un_in, &err);
        free(un_in);
        return 0;
    }
    CHECK(urc == 0 && un_in);
    check_installed(out, shell);

    size_t len = strlen(out);
    CHECK(st_hookcfg_install(out, len, &o, &again, &changed, NULL, &err) == 0);
    CHECK(!changed && strcmp(again, out) == 0);

    CHECK(st_hookcfg_uninstall(out, len, &un, &removed, NULL, &err) == 0);
    CHECK((size_t)removed >= nev);   /* ours in every event, plus any the input had elsewhere */
    CHECK(st_hookcfg_uninstall(un, strlen(un), &un2, &removed, NULL, &err) == 0);
    CHECK(removed == 0 && strcmp(un2, un) == 0);
    char *n1 = normalized(un), *n2 = normalized(un_in);
    CHECK(strcmp(n1, n2) == 0);
    free(n1);
    free(n2);

    free(out);
    free(again);
    free(un);
    free(un2);
    free(un_in);
    return 0;
}
