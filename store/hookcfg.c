/*
 * hookcfg.c: install and uninstall `sealtrail hook` in a Claude Code
 * settings.json (the rules are in hookcfg.h). The file is parsed with our own
 * JSON module (store/verify/json.h), which keeps member order, duplicate keys
 * and every number's literal text, so whatever we do not touch is written
 * back with the same meaning and, for numbers, the same digits; it also keeps
 * cJSON out of the hook binary, which loads faster without it. Top to
 * bottom: the event lists; tree helpers; recognizing our handler; install;
 * uninstall; a 2-space pretty printer; reading and atomic writing of the file.
 */
#include "hookcfg.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json.h"
/* ==== events ==================================================================== */

static const char *const events_all[] = {
    "PreToolUse", "PostToolUse", "PostToolUseFailure", "PostToolBatch", "PermissionRequest",
    "PermissionDenied", "UserPromptSubmit", "UserPromptExpansion", "SessionStart", "SessionEnd",
    "Setup", "Stop", "StopFailure", "SubagentStart", "SubagentStop", "Notification", "PreCompact",
    "PostCompact", "TeammateIdle", "TaskCreated", "TaskCompleted", "Elicitation", "ElicitationResult",
    "ConfigChange", "InstructionsLoaded", "CwdChanged", "FileChanged", "DirectoryAdded",
    "MessageDisplay", "PreModelSwitch", "PostModelSwitch",
};

static const char *const events_old[] = {
    "PreToolUse", "PostToolUse", "UserPromptSubmit", "Notification", "Stop", "SubagentStop",
    "PreCompact", "SessionStart", "SessionEnd",
};

const char *const *st_hookcfg_default_events(int shell_form, size_t *n_out)
{
    if (shell_form) {
        *n_out = sizeof events_old / sizeof events_old[0];
        return events_old;
    }
    *n_out = sizeof events_all / sizeof events_all[0];
    return events_all;
}

/* Events whose matcher filters on the tool name: registered with "matcher":"*". */
static int is_tool_event(const char *e)
{
    static const char *const tool[] = { "PreToolUse", "PostToolUse", "PostToolUseFailure", "PermissionRequest",
                                        "PermissionDenied" };
    for (size_t i = 0; i < sizeof tool / sizeof tool[0]; i++)
        if (strcmp(tool[i], e) == 0) return 1;
    return 0;
}

/* ==== tree helpers ============================================================= */

static st_json *get(st_json *obj, const char *key)
{
    return (st_json *)st_json_get(obj, key);
}

static int is_str(const st_json *v, const char *s)
{
    return v && v->type == ST_JSON_STRING && v->len == strlen(s) && memcmp(v->str, s, v->len) == 0;
}

/* Unlinks child c from container p. */
static void unlink_child(st_json *p, st_json *c)
{
    st_json *prev = NULL;
    for (st_json *x = p->child; x; prev = x, x = x->next) {
        if (x != c) continue;
        if (prev) prev->next = c->next;
        else p->child = c->next;
        if (p->last == c) p->last = prev;
        p->count--;
        c->next = NULL;
        return;
    }
}

/* Puts n where c is in container p (n takes c's key). */
static void replace_child(st_json *p, st_json *c, st_json *n)
{
    n->key = c->key;
    n->key_len = c->key_len;
    n->next = c->next;
    if (p->child == c) p->child = n;
    else
        for (st_json *x = p->child; x; x = x->next)
            if (x->next == c) { x->next = n; break; }
    if (p->last == c) p->last = n;
}

static int same_json(const st_json *a, const st_json *b)
{
    st_buf x = { 0 }, y = { 0 };
    st_json_write(&x, a, 0);
    st_json_write(&y, b, 0);
    int same = !x.oom && !y.oom && x.len == y.len && memcmp(x.data, y.data, x.len) == 0;
    st_buf_free(&x);
    st_buf_free(&y);
    return same;
}

/* ==== our handler ================================================================ */

char *st_hookcfg_shell_command(const char *binary, const char *store_dir)
{
    st_buf b = { 0 };
    const char *parts[2] = { binary, store_dir };
    for (int k = 0; k < 2; k++) {
        if (k) st_buf_puts(&b, " --dir ");
        st_buf_putc(&b, '\'');
        for (const char *p = parts[k]; *p; p++) {
            if (*p == '\'') st_buf_puts(&b, "'\\''");
            else st_buf_putc(&b, (uint8_t)*p);
        }
        st_buf_putc(&b, '\'');
    }
    st_buf_puts(&b, " hook");
    return st_buf_steal_str(&b, NULL);
}

static int base_is_sealtrail(const char *path, size_t n)
{
    size_t i = n;
    while (i > 0 && path[i - 1] != '/') i--;
    return n - i == 9 && memcmp(path + i, "sealtrail", 9) == 0;
}

/* Whether the first word of shell command s runs a binary named sealtrail: quoted
 * as st_hookcfg_shell_command writes it ('...' with '\'' for a quote) or bare. */
static int first_word_is_sealtrail(const char *s, size_t n)
{
    char w[4096];
    size_t k = 0, i = 0;
    if (n && s[0] == '\'') {
        for (i = 1; i < n;) {
            if (s[i] == '\'' && n - i >= 4 && memcmp(s + i, "'\\''", 4) == 0) {
                if (k < sizeof w) w[k++] = '\'';
                i += 4;
            } else if (s[i] == '\'') {
                i++;
                break;
            } else {
                if (k < sizeof w) w[k++] = s[i];
                i++;
            }
        }
    } else {
        while (i < n && s[i] != ' ') {
            if (k < sizeof w) w[k++] = s[i];
            i++;
        }
    }
    return k < sizeof w && (i == n || s[i] == ' ') && base_is_sealtrail(w, k);
}

/* A command handler running `sealtrail ... hook` (exec or shell form). Only a
 * binary named sealtrail counts: a user's own "backup-sealtrail.sh hook" is not ours. */
static int is_ours(const st_json *h)
{
    if (!h || h->type != ST_JSON_OBJECT || !is_str(st_json_get(h, "type"), "command")) return 0;
    const st_json *cmd = st_json_get(h, "command");
    if (!cmd || cmd->type != ST_JSON_STRING) return 0;
    const st_json *args = st_json_get(h, "args");
    if (args && args->type == ST_JSON_ARRAY)
        return base_is_sealtrail(cmd->str, cmd->len) && is_str(args->last, "hook");
    /* shell form: "'<dir>/sealtrail' ... hook" */
    return cmd->len >= 5 && memcmp(cmd->str + cmd->len - 5, " hook", 5) == 0 && first_word_is_sealtrail(cmd->str, cmd->len);
}

static int add_str(st_json_doc *d, st_json *o, const char *k, const char *v)
{
    return st_json_object_add(d, o, k, strlen(k), st_json_new_str(d, v));
}

static st_json *our_handler(st_json_doc *d, const st_hookcfg_opts *o, const char *event)
{
    st_json *h = st_json_new_object(d);
    if (!h) return NULL;
    unsigned t = o->timeout_s ? o->timeout_s : 10;
    if (strcmp(event, "SessionEnd") == 0 && !o->timeout_s) t = 5;   /* raises the 1.5 s SessionEnd budget */
    if (add_str(d, h, "type", "command")) return NULL;
    if (o->shell_form) {
        char *c = st_hookcfg_shell_command(o->binary, o->store_dir);
        int rc = c ? add_str(d, h, "command", c) : -1;
        free(c);
        if (rc) return NULL;
    } else {
        st_json *args = st_json_new_array(d);
        if (!args || add_str(d, h, "command", o->binary) || st_json_array_add(d, args, st_json_new_str(d, "--dir")) ||
            st_json_array_add(d, args, st_json_new_str(d, o->store_dir)) ||
            st_json_array_add(d, args, st_json_new_str(d, "hook")) || st_json_object_add(d, h, "args", 4, args))
            return NULL;
    }
    if (st_json_object_add(d, h, "timeout", 7, st_json_new_int(d, t))) return NULL;
    return h;
}

/* ==== parse ======================================================================= */

static int parse_settings(const char *old, size_t len, st_json_doc **doc, st_err *err)
{
    size_t i = 0;
    while (i < len && (old[i] == ' ' || old[i] == '\t' || old[i] == '\n' || old[i] == '\r')) i++;
    if (i == len) {
        *doc = st_json_doc_new();
        st_json *o = *doc ? st_json_new_object(*doc) : NULL;
        if (!o) { st_json_doc_free(*doc); *doc = NULL; return ENOMEM; }
        st_json_doc_set_root(*doc, o);
        return 0;
    }
    /* Duplicate keys are refused, not merged: Claude Code (JSON.parse) reads
     * only the last of them, so a registration added to the first would be
     * written, reported, and never run. */
    st_json_opts jo = { .flags = ST_JSON_ALLOW_WS, .max_depth = 256 };
    st_err perr;
    st_json_info info;
    int rc = st_json_parse(doc, old, len, &jo, &info, &perr);
    if (rc == ENOMEM) return rc;
    if (rc && info.duplicate_key)
        return st_fail(err, ST_EJSON, "%.400s: Claude Code reads only the last of them; merge the two into one "
                       "and run again", perr.msg);
    if (rc) return st_fail(err, ST_EJSON, "not valid JSON: %.400s", perr.msg);
    if (st_json_doc_root(*doc)->type != ST_JSON_OBJECT) {
        st_json_doc_free(*doc);
        *doc = NULL;
        return st_fail(err, ST_EFORMAT, "top-level value is not an object");
    }
    return 0;
}

static char *print_pretty(const st_json *root);

/* ==== install ===================================================================== */

/* Installs into one event's array. *state: 0 added, 1 updated, 2 unchanged. 0 or ENOMEM. */
static int install_event(st_json_doc *d, st_json *arr, const st_hookcfg_opts *o, const char *ev, int *state)
{
    st_json *want = our_handler(d, o, ev);
    if (!want) return ENOMEM;
    int found = 0, updated = 0;
    st_json *group = arr->child;
    while (group) {
        st_json *next_group = group->next;
        st_json *hs = get(group, "hooks");
        if (hs && hs->type == ST_JSON_ARRAY) {
            int touched = 0;
            st_json *h = hs->child;
            while (h) {
                st_json *next = h->next;
                if (is_ours(h)) {
                    if (!found) {
                        found = 1;
                        if (!same_json(h, want)) { replace_child(hs, h, want); updated = touched = 1; }
                    } else {   /* a second copy of ours: drop it */
                        unlink_child(hs, h);
                        updated = touched = 1;
                    }
                }
                h = next;
            }
            if (touched && hs->count == 0) unlink_child(arr, group);
        }
        group = next_group;
    }
    if (!found) {
        st_json *g = st_json_new_object(d), *hs = st_json_new_array(d);
        if (!g || !hs) return ENOMEM;
        if (is_tool_event(ev) && add_str(d, g, "matcher", "*")) return ENOMEM;
        if (st_json_array_add(d, hs, want) || st_json_object_add(d, g, "hooks", 5, hs) || st_json_array_add(d, arr, g))
            return ENOMEM;
    }
    *state = !found ? 0 : updated ? 1 : 2;
    return 0;
}

int st_hookcfg_install(const char *old, size_t len, const st_hookcfg_opts *o, char **out, int *changed,
                       st_buf *summary, st_err *err)
{
    *out = NULL;
    *changed = 0;
    /* settings files are JSON, which is UTF-8: a path that is not would make a file
     * Claude Code (and the next install) cannot read */
    if (!st_utf8_valid((const uint8_t *)o->binary, strlen(o->binary)))
        return st_fail(err, ST_EINVAL, "the sealtrail binary's path %s is not valid UTF-8 (settings are JSON): "
                       "install it under a UTF-8 path or pass --binary", o->binary);
    if (!st_utf8_valid((const uint8_t *)o->store_dir, strlen(o->store_dir)))
        return st_fail(err, ST_EINVAL, "the store directory %s is not valid UTF-8 (settings are JSON): "
                       "give a --dir that is", o->store_dir);
    st_json_doc *d;
    int rc = parse_settings(old, len, &d, err);
    if (rc) return rc;
    st_json *root = st_json_doc_root(d);
    size_t nev = o->nevents;
    const char *const *evs = o->events;
    if (!evs) evs = st_hookcfg_default_events(o->shell_form, &nev);
    st_json *hooks = get(root, "hooks");
    if (hooks && hooks->type != ST_JSON_OBJECT) {
        st_json_doc_free(d);
        return st_fail(err, ST_EFORMAT, "\"hooks\" is not an object");
    }
    if (!hooks && (!(hooks = st_json_new_object(d)) || st_json_object_add(d, root, "hooks", 5, hooks))) rc = ENOMEM;
    for (size_t e = 0; e < nev && rc == 0; e++) {
        const char *ev = evs[e];
        st_json *arr = get(hooks, ev);
        if (arr && arr->type != ST_JSON_ARRAY) {
            st_json_doc_free(d);
            return st_fail(err, ST_EFORMAT, "\"hooks\".\"%s\" is not an array", ev);
        }
        if (!arr && (!(arr = st_json_new_array(d)) || st_json_object_add(d, hooks, ev, strlen(ev), arr))) { rc = ENOMEM; break; }
        int state;
        if ((rc = install_event(d, arr, o, ev, &state)) != 0) break;
        static const char *const words[] = { "added", "updated", "unchanged" };
        if (summary) st_buf_printf(summary, "%s %s\n", words[state], ev);
        *changed |= state != 2;
    }
    if (rc == 0 && !(*out = print_pretty(root))) rc = ENOMEM;
    st_json_doc_free(d);
    return rc;
}

/* ==== uninstall =================================================================== */

int st_hookcfg_uninstall(const char *old, size_t len, char **out, int *removed, st_buf *summary, st_err *err)
{
    *out = NULL;
    *removed = 0;
    st_json_doc *d;
    int rc = parse_settings(old, len, &d, err);
    if (rc) return rc;
    st_json *root = st_json_doc_root(d);
    st_json *hooks = get(root, "hooks");
    if (hooks && hooks->type == ST_JSON_OBJECT) {
        st_json *arr = hooks->child;
        while (arr) {
            st_json *next_arr = arr->next;
            int here = 0;
            if (arr->type == ST_JSON_ARRAY) {
                st_json *group = arr->child;
                while (group) {
                    st_json *next_group = group->next;
                    st_json *hs = get(group, "hooks");
                    int gone = 0;
                    if (hs && hs->type == ST_JSON_ARRAY) {
                        st_json *h = hs->child;
                        while (h) {
                            st_json *next = h->next;
                            if (is_ours(h)) { unlink_child(hs, h); gone++; }
                            h = next;
                        }
                        if (gone && hs->count == 0) unlink_child(arr, group);
                    }
                    here += gone;
                    group = next_group;
                }
                if (here && arr->count == 0) unlink_child(hooks, arr);
            }
            if (here && summary) st_buf_printf(summary, "removed %.*s\n", (int)arr->key_len, arr->key);
            *removed += here;
            arr = next_arr;
        }
        if (*removed && hooks->count == 0) unlink_child(root, hooks);
    }
    *out = print_pretty(root);
    st_json_doc_free(d);
    return *out ? 0 : ENOMEM;
}

int st_hookcfg_hooks_disabled(const char *text, size_t len)
{
    st_json_doc *d;
    if (parse_settings(text, len, &d, NULL) != 0) return 0;
    const st_json *v = st_json_get(st_json_doc_root(d), "disableAllHooks");
    int off = v && v->type == ST_JSON_TRUE;
    st_json_doc_free(d);
    return off;
}

/* ==== printing ====================================================================== */

static void indent(st_buf *b, int depth)
{
    for (int i = 0; i < depth; i++) st_buf_puts(b, "  ");
}

/* 2-space indentation, one member or element per line, input order kept;
 * scalars exactly as st_json_write writes them (numbers: their literal text). */
static void put_value(st_buf *b, const st_json *v, int depth)
{
    int obj = v->type == ST_JSON_OBJECT;
    if (!obj && v->type != ST_JSON_ARRAY) { st_json_write(b, v, 0); return; }
    if (!v->child) { st_buf_puts(b, obj ? "{}" : "[]"); return; }
    st_buf_puts(b, obj ? "{\n" : "[\n");
    for (const st_json *c = v->child; c; c = c->next) {
        indent(b, depth + 1);
        if (obj) {
            st_json_write_string(b, c->key, c->key_len);
            st_buf_puts(b, ": ");
        }
        put_value(b, c, depth + 1);
        st_buf_puts(b, c->next ? ",\n" : "\n");
    }
    indent(b, depth);
    st_buf_putc(b, obj ? '}' : ']');
}

static char *print_pretty(const st_json *root)
{
    st_buf b = { 0 };
    put_value(&b, root, 0);
    st_buf_putc(&b, '\n');
    if (b.oom) { st_buf_free(&b); return NULL; }
    return st_buf_steal_str(&b, NULL);
}

/* ==== the file ======================================================================= */

int st_hookcfg_read(const char *path, char **text, size_t *len, int *exists, st_err *err)
{
    *text = NULL;
    *len = 0;
    *exists = 0;
    /* O_NONBLOCK: a FIFO in place of the settings must not hang 'hook install' at open
     * (it is refused just below); a regular file reads as without it */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ENOENT) {
            *text = strdup("");
            return *text ? 0 : ENOMEM;
        }
        return st_fail(err, errno, "%s: %s", path, strerror(errno));
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return st_fail(err, ST_EFORMAT, "%s: not a regular file", path);
    }
    st_buf b = { 0 };
    int rc = 0;
    for (;;) {
        if (st_buf_reserve(&b, 65536)) { rc = ENOMEM; break; }
        ssize_t n = read(fd, b.data + b.len, 65536);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) { rc = st_fail(err, errno, "%s: %s", path, strerror(errno)); break; }
        if (n == 0) break;
        b.len += (size_t)n;
        if (b.len > ST_HOOKCFG_MAX_BYTES) { rc = st_fail(err, ST_ETOOBIG, "%s: over %zu bytes", path, ST_HOOKCFG_MAX_BYTES); break; }
    }
    close(fd);
    if (rc) { st_buf_free(&b); return rc; }
    *text = st_buf_steal_str(&b, len);
    if (!*text) return ENOMEM;
    *exists = 1;
    return 0;
}

static int mkdir_parent(const char *path)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s", path);
    char *d = dirname(tmp);
    struct stat st;
    if (stat(d, &st) == 0) return S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
    int rc = mkdir_parent(d);
    if (rc) return rc;
    return mkdir(d, 0755) == 0 || errno == EEXIST ? 0 : errno;
}

int st_hookcfg_write(const char *path, const char *text, size_t len, st_err *err)
{
    char target[PATH_MAX];
    /* through a symlink: replace the file it points to, keep the link */
    if (!realpath(path, target)) {
        if (errno != ENOENT) return st_fail(err, errno, "%s: %s", path, strerror(errno));
        snprintf(target, sizeof target, "%s", path);
        int rc = mkdir_parent(target);
        if (rc) return st_fail(err, rc, "%s: cannot create its directory: %s", path, strerror(rc));
    }
    mode_t mode = 0644;
    struct stat st;
    if (stat(target, &st) == 0) mode = st.st_mode & 07777;
    char dirbuf[PATH_MAX], tmpl[PATH_MAX + 32];
    snprintf(dirbuf, sizeof dirbuf, "%s", target);
    const char *dir = dirname(dirbuf);
    char basebuf[PATH_MAX];
    snprintf(basebuf, sizeof basebuf, "%s", target);
    snprintf(tmpl, sizeof tmpl, "%s/.%s.sealtrail-XXXXXX", dir, basename(basebuf));
    int fd = mkstemp(tmpl);
    if (fd < 0) return st_fail(err, errno, "%s: cannot create a temporary file: %s", dir, strerror(errno));
    int rc = 0;
    if (fchmod(fd, mode) != 0) rc = errno;
    size_t off = 0;
    while (rc == 0 && off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) rc = errno;
        else off += (size_t)w;
    }
    if (rc == 0 && fsync(fd) != 0) rc = errno;
    if (close(fd) != 0 && rc == 0) rc = errno;
    if (rc == 0 && rename(tmpl, target) != 0) rc = errno;
    if (rc) {
        unlink(tmpl);
        return st_fail(err, rc, "%s: cannot write: %s", target, strerror(rc));
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) { fsync(dfd); close(dfd); }
    return 0;
}
