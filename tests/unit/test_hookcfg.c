/*
 * test_hookcfg.c: merging `sealtrail hook` into Claude Code settings text
 * (store/hookcfg.h): what is added, what is kept, idempotence, updates of an
 * older registration, removal of only ours, shell quoting, refusal of text
 * that is not settings JSON, and the atomic file write.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "hookcfg.h"
#include "testutil.h"

static const st_hookcfg_opts opts = { .binary = "/opt/st/bin/sealtrail", .store_dir = "/var/lib/st" };

static char *install(const char *in, const st_hookcfg_opts *o, int *changed, st_buf *sum)
{
    char *out;
    st_err err;
    int rc = st_hookcfg_install(in, strlen(in), o, &out, changed, sum, &err);
    ck_assert_msg(rc == 0, "install: %d %s", rc, err.msg);
    return out;
}

/* The summary as a C string (st_buf holds no terminating NUL). */
static const char *sumstr(st_buf *b)
{
    st_buf_putc(b, 0);
    b->len--;
    return (const char *)b->data;
}

static int count_ours(const cJSON *root)
{
    int n = 0;
    const cJSON *hooks = cJSON_GetObjectItemCaseSensitive(root, "hooks");
    for (const cJSON *ev = hooks ? hooks->child : NULL; ev; ev = ev->next)
        for (const cJSON *g = ev->child; g; g = g->next)
            for (const cJSON *h = cJSON_GetObjectItemCaseSensitive(g, "hooks")->child; h; h = h->next) {
                const cJSON *c = cJSON_GetObjectItemCaseSensitive(h, "command");
                n += cJSON_IsString(c) && strstr(c->valuestring, "sealtrail") != NULL;
            }
    return n;
}

START_TEST(install_into_nothing_and_back)
{
    int changed;
    st_buf sum = { 0 };
    char *out = install("", &opts, &changed, &sum);
    ck_assert(changed);
    size_t nev;
    st_hookcfg_default_events(0, &nev);
    cJSON *j = cJSON_Parse(out);
    ck_assert_int_eq(count_ours(j), (int)nev);
    const cJSON *pre = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "hooks"), "PreToolUse"), 0);
    ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(pre, "matcher")->valuestring, "*");
    const cJSON *h = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(pre, "hooks"), 0);
    char *hs = cJSON_PrintUnformatted(h);
    ck_assert_str_eq(hs, "{\"type\":\"command\",\"command\":\"/opt/st/bin/sealtrail\",\"args\":[\"--dir\",\"/var/lib/st\",\"hook\"],\"timeout\":10}");
    free(hs);
    const cJSON *stop = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "hooks"), "Stop"), 0);
    ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(stop, "matcher"));
    ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "hooks"), "WorktreeCreate"));
    cJSON_Delete(j);
    ck_assert_ptr_nonnull(strstr(sumstr(&sum), "added PreToolUse\n"));
    ck_assert(out[strlen(out) - 1] == '\n');
    ck_assert_ptr_nonnull(strstr(out, "\n  \"hooks\": {\n    \"PreToolUse\": [\n"));   /* 2-space indent */

    /* idempotent: the same text again, nothing changed */
    st_buf_reset(&sum);
    char *again = install(out, &opts, &changed, &sum);
    ck_assert(!changed);
    ck_assert_str_eq(again, out);
    ck_assert_ptr_nonnull(strstr(sumstr(&sum), "unchanged SessionEnd\n"));

    /* uninstall: back to an empty object */
    char *un;
    int removed;
    st_err err;
    ck_assert_int_eq(st_hookcfg_uninstall(out, strlen(out), &un, &removed, NULL, &err), 0);
    ck_assert_int_eq(removed, (int)nev);
    ck_assert_str_eq(un, "{}\n");
    free(un);
    free(again);
    free(out);
    st_buf_free(&sum);
}
END_TEST

START_TEST(keeps_user_hooks_and_updates_ours_in_place)
{
    const char *in =
        "{\"hooks\":{\"PreToolUse\":["
        "{\"matcher\":\"Bash\",\"hooks\":[{\"type\":\"command\",\"command\":\"guard.sh\"},"
        "{\"type\":\"command\",\"command\":\"/old/path/sealtrail\",\"args\":[\"--dir\",\"/old\",\"hook\"]}]},"
        "{\"hooks\":[{\"type\":\"command\",\"command\":\"'/older/sealtrail' --dir '/x' hook\"}]}"
        "]},\"model\":\"m\",\"n\":1.5e300,\"big\":12345678901234567890,\"k\":\"a\\u0000b\"}";
    st_hookcfg_opts o = opts;
    const char *evs[] = { "PreToolUse" };
    o.events = evs;
    o.nevents = 1;
    o.timeout_s = 7;
    int changed;
    st_buf sum = { 0 };
    char *out = install(in, &o, &changed, &sum);
    ck_assert(changed);
    ck_assert_str_eq(sumstr(&sum), "updated PreToolUse\n");
    cJSON *j = cJSON_Parse(out);
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "hooks"), "PreToolUse");
    /* the old registration was updated in place next to guard.sh; the older duplicate's group is gone */
    ck_assert_int_eq(cJSON_GetArraySize(arr), 1);
    const cJSON *hs = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(arr, 0), "hooks");
    ck_assert_int_eq(cJSON_GetArraySize(hs), 2);
    ck_assert_str_eq(cJSON_GetArrayItem(hs, 0)->child->next->valuestring, "guard.sh");
    const cJSON *ours = cJSON_GetArrayItem(hs, 1);
    ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(ours, "command")->valuestring, "/opt/st/bin/sealtrail");
    ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(ours, "timeout")->valueint, 7);
    ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(arr, 0), "matcher")->valuestring, "Bash");
    ck_assert_double_eq(cJSON_GetObjectItemCaseSensitive(j, "n")->valuedouble, 1.5e300);
    /* numbers keep their literal text, strings their NUL bytes */
    ck_assert_ptr_nonnull(strstr(out, "\n  \"n\": 1.5e300,\n  \"big\": 12345678901234567890,\n  \"k\": \"a\\u0000b\"\n}\n"));
    ck_assert_str_eq(j->child->string, "hooks");    /* member order kept */
    cJSON_Delete(j);

    /* uninstall keeps guard.sh and its group */
    char *un;
    int removed;
    st_err err;
    ck_assert_int_eq(st_hookcfg_uninstall(out, strlen(out), &un, &removed, NULL, &err), 0);
    ck_assert_int_eq(removed, 1);
    j = cJSON_Parse(un);
    cJSON *want = cJSON_Parse("{\"hooks\":{\"PreToolUse\":[{\"matcher\":\"Bash\",\"hooks\":[{\"type\":\"command\",\"command\":\"guard.sh\"}]}]},\"model\":\"m\",\"n\":1.5e300,\"big\":12345678901234567890,\"k\":\"a\\u0000b\"}");
    ck_assert(cJSON_Compare(j, want, 1));
    cJSON_Delete(j);
    cJSON_Delete(want);
    free(un);
    free(out);
    st_buf_free(&sum);
}
END_TEST

START_TEST(not_ours_is_never_touched)
{
    /* look-alikes: another program named like us but not running "hook", an http hook */
    const char *in = "{\"hooks\":{\"Stop\":[{\"hooks\":["
                     "{\"type\":\"command\",\"command\":\"/usr/bin/sealtrail\",\"args\":[\"seal\"]},"
                     "{\"type\":\"http\",\"url\":\"https://x.test/sealtrail hook\"},"
                     "{\"type\":\"command\",\"command\":\"/bin/notsealtrail\",\"args\":[\"hook\"]}]}]}}";
    char *un;
    int removed;
    st_err err;
    ck_assert_int_eq(st_hookcfg_uninstall(in, strlen(in), &un, &removed, NULL, &err), 0);
    ck_assert_int_eq(removed, 0);
    cJSON *a = cJSON_Parse(in), *b = cJSON_Parse(un);
    ck_assert(cJSON_Compare(a, b, 1));
    cJSON_Delete(a);
    cJSON_Delete(b);
    free(un);
}
END_TEST

START_TEST(shell_form)
{
    char *c = st_hookcfg_shell_command("/a b/it's/sealtrail", "/s t");
    ck_assert_str_eq(c, "'/a b/it'\\''s/sealtrail' --dir '/s t' hook");
    free(c);
    st_hookcfg_opts o = opts;
    o.shell_form = 1;
    int changed;
    char *out = install("{}", &o, &changed, NULL);
    cJSON *j = cJSON_Parse(out);
    size_t n;
    st_hookcfg_default_events(1, &n);
    ck_assert_int_eq(count_ours(j), (int)n);
    ck_assert_int_eq(n, 9);
    cJSON_Delete(j);
    /* switching to exec form updates the same handlers */
    st_buf sum = { 0 };
    char *ex = install(out, &opts, &changed, &sum);
    ck_assert_ptr_nonnull(strstr(sumstr(&sum), "updated Stop"));
    j = cJSON_Parse(ex);
    size_t nall;
    st_hookcfg_default_events(0, &nall);
    ck_assert_int_eq(count_ours(j), (int)nall);
    cJSON_Delete(j);
    free(ex);
    free(out);
    st_buf_free(&sum);
}
END_TEST

START_TEST(refuses_what_is_not_settings)
{
    static const char *const bad[][2] = {
        { "{\"hooks\":", "not valid JSON" },
        { "{} {}", "trailing" },
        { "[1,2]", "not an object" },
        { "{\"hooks\":[]}", "\"hooks\" is not an object" },
        { "{\"hooks\":{\"PreToolUse\":{}}}", "is not an array" },
        /* a key twice: Claude Code reads the last, so adding to the first would register nothing */
        { "{\"hooks\":{\"Stop\":[]},\"model\":\"x\",\"hooks\":{}}", "offset 33: duplicate key \"hooks\": Claude Code reads only the last" },
        { "{\"hooks\":{\"Stop\":[],\"Stop\":[]}}", "duplicate key \"Stop\"" },
        { "{\"hooks\":{\"Stop\":[{\"hooks\":[{\"type\":\"command\",\"command\":\"/a/sealtrail\",\"command\":\"x\"}]}]}}",
          "duplicate key \"command\"" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *out = (char *)1;
        int changed;
        st_err err;
        int rc = st_hookcfg_install(bad[i][0], strlen(bad[i][0]), &opts, &out, &changed, NULL, &err);
        ck_assert_msg(rc == ST_EJSON || rc == ST_EFORMAT, "%s: rc %d", bad[i][0], rc);
        ck_assert_ptr_null(out);
        ck_assert_msg(strstr(err.msg, bad[i][1]) != NULL, "%s: %s", bad[i][0], err.msg);
        int removed;
        out = (char *)1;
        rc = st_hookcfg_uninstall(bad[i][0], strlen(bad[i][0]), &out, &removed, NULL, &err);
        if (strstr(bad[i][1], "duplicate")) {   /* uninstall would miss ours in a later copy just the same */
            ck_assert_int_eq(rc, ST_EJSON);
            ck_assert_ptr_null(out);
            ck_assert_msg(strstr(err.msg, bad[i][1]) != NULL, "uninstall %s: %s", bad[i][0], err.msg);
        } else {
            free(rc == 0 ? out : NULL);
        }
    }
}
END_TEST

START_TEST(hooks_disabled)
{
    static const struct { const char *text; int off; } cases[] = {
        { "{\"disableAllHooks\": true}", 1 },
        { "{\"hooks\":{},\"disableAllHooks\":true}\n", 1 },
        { "{\"disableAllHooks\": false}", 0 },
        { "{\"disableAllHooks\": \"true\"}", 0 },      /* not the boolean: Claude Code's schema refuses it */
        { "{\"env\":{\"disableAllHooks\":true}}", 0 },  /* only the top level counts */
        { "", 0 },
        { "{\"disableAllHooks\": tru", 0 },
        { "[true]", 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        ck_assert_msg(st_hookcfg_hooks_disabled(cases[i].text, strlen(cases[i].text)) == cases[i].off, "%s", cases[i].text);
}
END_TEST

START_TEST(atomic_write_keeps_mode)
{
    char *dir = tu_tmpdir();
    char path[4200];
    snprintf(path, sizeof path, "%s/new/.claude/settings.json", dir);
    st_err err;
    ck_assert_int_eq(st_hookcfg_write(path, "{}\n", 3, &err), 0);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0644);
    chmod(path, 0600);
    ck_assert_int_eq(st_hookcfg_write(path, "{\"a\":1}\n", 8, &err), 0);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    char *txt;
    size_t len;
    int exists;
    ck_assert_int_eq(st_hookcfg_read(path, &txt, &len, &exists, &err), 0);
    ck_assert(exists);
    ck_assert_str_eq(txt, "{\"a\":1}\n");
    free(txt);
    snprintf(path, sizeof path, "%s/missing.json", dir);
    ck_assert_int_eq(st_hookcfg_read(path, &txt, &len, &exists, &err), 0);
    ck_assert(!exists && len == 0);
    free(txt);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

/* A FIFO in place of the settings is refused at once (open does not wait for a writer). */
START_TEST(fifo_refused_at_once)
{
    char *dir = tu_tmpdir();
    char path[4200];
    snprintf(path, sizeof path, "%s/settings.json", dir);
    ck_assert_int_eq(mkfifo(path, 0600), 0);
    char *txt = NULL;
    size_t len;
    int exists;
    st_err err;
    err.msg[0] = 0;
    alarm(10);                              /* a hang fails the test instead of stalling the suite */
    ck_assert_int_eq(st_hookcfg_read(path, &txt, &len, &exists, &err), ST_EFORMAT);
    alarm(0);
    ck_assert_ptr_null(txt);
    ck_assert(!exists);
    ck_assert_ptr_nonnull(strstr(err.msg, "not a regular file"));
    tu_rmrf(dir);
    free(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("hookcfg");
    TCase *tc = tcase_create("hookcfg");
    tcase_add_test(tc, install_into_nothing_and_back);
    tcase_add_test(tc, keeps_user_hooks_and_updates_ours_in_place);
    tcase_add_test(tc, not_ours_is_never_touched);
    tcase_add_test(tc, shell_form);
    tcase_add_test(tc, refuses_what_is_not_settings);
    tcase_add_test(tc, hooks_disabled);
    tcase_add_test(tc, atomic_write_keeps_mode);
    tcase_add_test(tc, fifo_refused_at_once);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
