/*
 * hookcfg.c: install and uninstall `sealtrail hook` in a Claude Code
 * settings.json with cJSON (the file is the user's own config, not hostile
 * audit input). The rules are in hookcfg.h. Top to bottom: the event lists;
 * recognizing our handler; install; uninstall; a 2-space pretty printer;
 * reading and atomic writing of the file.
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

#include <cjson/cJSON.h>

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

/* A command handler running `sealtrail ... hook` (exec or shell form). */
static int is_ours(const cJSON *h)
{
    if (!cJSON_IsObject(h)) return 0;
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(h, "type");
    const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(h, "command");
    if (!cJSON_IsString(type) || strcmp(type->valuestring, "command") != 0 || !cJSON_IsString(cmd)) return 0;
    const cJSON *args = cJSON_GetObjectItemCaseSensitive(h, "args");
    const char *c = cmd->valuestring;
    size_t n = strlen(c);
    if (cJSON_IsArray(args)) {
        int na = cJSON_GetArraySize(args);
        const cJSON *last = na ? cJSON_GetArrayItem(args, na - 1) : NULL;
        return base_is_sealtrail(c, n) && cJSON_IsString(last) && strcmp(last->valuestring, "hook") == 0;
    }
    /* shell form: "<...sealtrail['] ...> hook" */
    if (n < 5 || strcmp(c + n - 5, " hook") != 0) return 0;
    const char *s = strstr(c, "sealtrail");
    return s != NULL;
}

static cJSON *our_handler(const st_hookcfg_opts *o, const char *event)
{
    cJSON *h = cJSON_CreateObject();
    if (!h) return NULL;
    unsigned t = o->timeout_s ? o->timeout_s : 10;
    if (strcmp(event, "SessionEnd") == 0 && !o->timeout_s) t = 5;   /* raises the 1.5 s SessionEnd budget */
    cJSON_AddStringToObject(h, "type", "command");
    if (o->shell_form) {
        char *c = st_hookcfg_shell_command(o->binary, o->store_dir);
        if (!c) { cJSON_Delete(h); return NULL; }
        cJSON_AddStringToObject(h, "command", c);
        free(c);
    } else {
        cJSON_AddStringToObject(h, "command", o->binary);
        cJSON *args = cJSON_AddArrayToObject(h, "args");
        if (args) {
            cJSON_AddItemToArray(args, cJSON_CreateString("--dir"));
            cJSON_AddItemToArray(args, cJSON_CreateString(o->store_dir));
            cJSON_AddItemToArray(args, cJSON_CreateString("hook"));
        }
    }
    cJSON_AddNumberToObject(h, "timeout", t);
    return h;
}

/* ==== parse ======================================================================= */

static int parse_settings(const char *old, size_t len, cJSON **root, st_err *err)
{
    size_t i = 0;
    while (i < len && (old[i] == ' ' || old[i] == '\t' || old[i] == '\n' || old[i] == '\r')) i++;
    if (i == len) {
        *root = cJSON_CreateObject();
        return *root ? 0 : ENOMEM;
    }
    const char *end = NULL;
    *root = cJSON_ParseWithLengthOpts(old, len, &end, 0);
    if (!*root) {
        size_t off = end ? (size_t)(end - old) : 0;
        const char *e = cJSON_GetErrorPtr();
        if (e && e >= old && e <= old + len) off = (size_t)(e - old);
        return st_fail(err, ST_EJSON, "not valid JSON near byte %zu", off);
    }
    end = end ? end : old + len;
    while (end < old + len && (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')) end++;
    if (end < old + len) {
        cJSON_Delete(*root);
        return st_fail(err, ST_EJSON, "trailing bytes after the JSON value at byte %zu", (size_t)(end - old));
    }
    if (!cJSON_IsObject(*root)) {
        cJSON_Delete(*root);
        return st_fail(err, ST_EFORMAT, "top-level value is not an object");
    }
    return 0;
}

static char *print_pretty(const cJSON *root);

/* ==== install ===================================================================== */

int st_hookcfg_install(const char *old, size_t len, const st_hookcfg_opts *o, char **out, int *changed,
                       st_buf *summary, st_err *err)
{
    *out = NULL;
    *changed = 0;
    cJSON *root;
    int rc = parse_settings(old, len, &root, err);
    if (rc) return rc;
    size_t nev = o->nevents;
    const char *const *evs = o->events;
    if (!evs) evs = st_hookcfg_default_events(o->shell_form, &nev);

    cJSON *hooks = cJSON_GetObjectItemCaseSensitive(root, "hooks");
    if (hooks && !cJSON_IsObject(hooks)) {
        cJSON_Delete(root);
        return st_fail(err, ST_EFORMAT, "\"hooks\" is not an object");
    }
    if (!hooks && !(hooks = cJSON_AddObjectToObject(root, "hooks"))) { cJSON_Delete(root); return ENOMEM; }

    for (size_t e = 0; e < nev; e++) {
        const char *ev = evs[e];
        cJSON *arr = cJSON_GetObjectItemCaseSensitive(hooks, ev);
        if (arr && !cJSON_IsArray(arr)) {
            cJSON_Delete(root);
            return st_fail(err, ST_EFORMAT, "\"hooks\".\"%s\" is not an array", ev);
        }
        if (!arr && !(arr = cJSON_AddArrayToObject(hooks, ev))) { cJSON_Delete(root); return ENOMEM; }
        cJSON *want = our_handler(o, ev);
        if (!want) { cJSON_Delete(root); return ENOMEM; }
        int found = 0, updated = 0;
        cJSON *group = arr->child;
        while (group) {
            cJSON *next_group = group->next;
            cJSON *hs = cJSON_GetObjectItemCaseSensitive(group, "hooks");
            if (cJSON_IsArray(hs)) {
                cJSON *h = hs->child;
                while (h) {
                    cJSON *next = h->next;
                    if (is_ours(h)) {
                        if (!found) {
                            found = 1;
                            if (!cJSON_Compare(h, want, 1)) {
                                cJSON_ReplaceItemViaPointer(hs, h, cJSON_Duplicate(want, 1));
                                updated = 1;
                            }
                        } else {   /* a second copy of ours: drop it */
                            cJSON_Delete(cJSON_DetachItemViaPointer(hs, h));
                            updated = 1;
                        }
                    }
                    h = next;
                }
                if (updated && cJSON_GetArraySize(hs) == 0) cJSON_Delete(cJSON_DetachItemViaPointer(arr, group));
            }
            group = next_group;
        }
        if (!found) {
            cJSON *g = cJSON_CreateObject();
            if (!g) { cJSON_Delete(want); cJSON_Delete(root); return ENOMEM; }
            if (is_tool_event(ev)) cJSON_AddStringToObject(g, "matcher", "*");
            cJSON *hs = cJSON_AddArrayToObject(g, "hooks");
            cJSON_AddItemToArray(hs, want);
            want = NULL;
            cJSON_AddItemToArray(arr, g);
        }
        cJSON_Delete(want);
        if (summary) st_buf_printf(summary, "%s %s\n", !found ? "added" : updated ? "updated" : "unchanged", ev);
        *changed |= !found || updated;
    }
    *out = print_pretty(root);
    cJSON_Delete(root);
    return *out ? 0 : ENOMEM;
}

/* ==== uninstall =================================================================== */

int st_hookcfg_uninstall(const char *old, size_t len, char **out, int *removed, st_buf *summary, st_err *err)
{
    *out = NULL;
    *removed = 0;
    cJSON *root;
    int rc = parse_settings(old, len, &root, err);
    if (rc) return rc;
    cJSON *hooks = cJSON_GetObjectItemCaseSensitive(root, "hooks");
    if (cJSON_IsObject(hooks)) {
        cJSON *arr = hooks->child;
        while (arr) {
            cJSON *next_arr = arr->next;
            char name[128];
            snprintf(name, sizeof name, "%s", arr->string ? arr->string : "?");
            int here = 0;
            if (cJSON_IsArray(arr)) {
                cJSON *group = arr->child;
                while (group) {
                    cJSON *next_group = group->next;
                    cJSON *hs = cJSON_GetObjectItemCaseSensitive(group, "hooks");
                    int gone = 0;
                    if (cJSON_IsArray(hs)) {
                        cJSON *h = hs->child;
                        while (h) {
                            cJSON *next = h->next;
                            if (is_ours(h)) { cJSON_Delete(cJSON_DetachItemViaPointer(hs, h)); gone++; }
                            h = next;
                        }
                        if (gone && cJSON_GetArraySize(hs) == 0) cJSON_Delete(cJSON_DetachItemViaPointer(arr, group));
                    }
                    here += gone;
                    group = next_group;
                }
                if (here && cJSON_GetArraySize(arr) == 0) cJSON_Delete(cJSON_DetachItemViaPointer(hooks, arr));
            }
            if (here && summary) st_buf_printf(summary, "removed %s\n", name);
            *removed += here;
            arr = next_arr;
        }
        if (*removed && !hooks->child) cJSON_Delete(cJSON_DetachItemViaPointer(root, hooks));
    }
    *out = print_pretty(root);
    cJSON_Delete(root);
    return *out ? 0 : ENOMEM;
}

/* ==== printing ====================================================================== */

static int put_scalar(st_buf *b, const cJSON *v)
{
    char *t = cJSON_PrintUnformatted(v);
    if (!t) return -1;
    st_buf_puts(b, t);
    cJSON_free(t);
    return 0;
}

static int put_key(st_buf *b, const char *k)
{
    cJSON *tmp = cJSON_CreateString(k ? k : "");
    if (!tmp) return -1;
    int rc = put_scalar(b, tmp);
    cJSON_Delete(tmp);
    return rc;
}

static void indent(st_buf *b, int depth)
{
    for (int i = 0; i < depth; i++) st_buf_puts(b, "  ");
}

/* 2-space indentation, one member or element per line, input order kept. */
static int put_value(st_buf *b, const cJSON *v, int depth)
{
    int obj = cJSON_IsObject(v);
    if (!obj && !cJSON_IsArray(v)) return put_scalar(b, v);
    if (!v->child) { st_buf_puts(b, obj ? "{}" : "[]"); return 0; }
    st_buf_puts(b, obj ? "{\n" : "[\n");
    for (const cJSON *c = v->child; c; c = c->next) {
        indent(b, depth + 1);
        if (obj) {
            if (put_key(b, c->string)) return -1;
            st_buf_puts(b, ": ");
        }
        if (put_value(b, c, depth + 1)) return -1;
        st_buf_puts(b, c->next ? ",\n" : "\n");
    }
    indent(b, depth);
    st_buf_putc(b, obj ? '}' : ']');
    return 0;
}

static char *print_pretty(const cJSON *root)
{
    st_buf b = { 0 };
    if (put_value(&b, root, 0)) { st_buf_free(&b); return NULL; }
    st_buf_putc(&b, '\n');
    return st_buf_steal_str(&b, NULL);
}

/* ==== the file ======================================================================= */

int st_hookcfg_read(const char *path, char **text, size_t *len, int *exists, st_err *err)
{
    *text = NULL;
    *len = 0;
    *exists = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
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
