/*
 * test_event.c: hook event JSON -> envelope and payloads (store/event.c),
 * docs/FORMAT.md §1.1 and §2, without a store.
 *
 *  - every sample payload of ../shared/claude-code/payloads is mapped with the
 *    expected envelope (table below, one row per file), and nothing the
 *    client sent is lost: each input member is either carried by the
 *    envelope with the same value, or is a payload of its own with the same
 *    value, or is in payload `event` with the same value (checked with cJSON,
 *    an independent parser);
 *  - malformed input (empty, truncated, array, two objects, NaN, 100,000-deep
 *    nesting, over the size limit) becomes a `malformed` entry with the raw
 *    bytes; invalid UTF-8 and lone surrogates are replaced and counted;
 *  - duplicate keys, over-long envelope strings, fractional durations, MCP
 *    names, inference for clients without hook_event_name, redaction of
 *    every part before mapping.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "event.h"
#include "testutil.h"

/* ---- helpers ------------------------------------------------------------------ */

static const char *env_s(const st_event *ev, const char *key)
{
    return st_json_get_str(ev->meta, key, NULL);
}

static int64_t env_i(const st_event *ev, const char *key)
{
    int64_t v;
    return st_json_get_i64(ev->meta, key, &v) == 0 ? v : -1;
}

static const st_payload_in *payload(const st_event *ev, const char *name)
{
    for (size_t i = 0; i < ev->rec.npayloads; i++)
        if (strcmp(ev->rec.payloads[i].name, name) == 0) return &ev->rec.payloads[i];
    return NULL;
}

static char *payload_str(const st_event *ev, const char *name)
{
    const st_payload_in *p = payload(ev, name);
    if (!p) return NULL;
    char *s = malloc(p->len + 1);
    memcpy(s, p->data, p->len);
    s[p->len] = 0;
    return s;
}

static cJSON *payload_cjson(const st_event *ev, const char *name)
{
    char *s = payload_str(ev, name);
    if (!s) return NULL;
    cJSON *j = cJSON_Parse(s);
    free(s);
    return j;
}

static void build(st_event *ev, const char *json, size_t len)
{
    st_event_opts o = { .host = "build-7", .user = "dev", .now_us = 1763787173123456LL };
    st_err err;
    int rc = st_event_build(ev, json, len, &o, &err);
    ck_assert_msg(rc == 0, "st_event_build: %d %s", rc, err.msg);
}

static void build_s(st_event *ev, const char *json) { build(ev, json, strlen(json)); }

static void assert_env(const st_event *ev, const char *key, const char *want, const char *file)
{
    const char *got = env_s(ev, key);
    if (!want) {
        ck_assert_msg(got == NULL, "%s: envelope %s: got \"%s\", want absent", file, key, got);
    } else {
        ck_assert_msg(got && strcmp(got, want) == 0, "%s: envelope %s: got \"%s\", want \"%s\"", file, key,
                      got ? got : "(absent)", want);
    }
}

/* Envelope member that carries input member `in`, or NULL. */
static const char *carrier(const char *in)
{
    static const char *const map[][2] = {
        { "session_id", "session" }, { "tool_name", "tool" }, { "tool_use_id", "tool_use_id" },
        { "agent_id", "agent_id" }, { "agent_type", "agent_type" }, { "cwd", "cwd" },
        { "permission_mode", "permission_mode" }, { "prompt_id", "prompt_id" },
        { "hook_event_name", "event" }, { "duration_ms", "duration_ms" }, { "mcp_server_name", "mcp_server" },
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(map[i][0], in) == 0) return map[i][1];
    return NULL;
}

/* Every member of the input is in the envelope, its own payload, or payload `event`. */
static void assert_nothing_lost(const st_event *ev, const char *txt, const char *file)
{
    cJSON *in = cJSON_Parse(txt);
    ck_assert_ptr_nonnull(in);
    cJSON *rest = payload_cjson(ev, "event");
    for (cJSON *m = in->child; m; m = m->next) {
        cJSON *r = rest ? cJSON_GetObjectItemCaseSensitive(rest, m->string) : NULL;
        if (r) {
            ck_assert_msg(cJSON_Compare(r, m, 1), "%s: member %s differs in payload event", file, m->string);
            continue;
        }
        cJSON *own = payload_cjson(ev, m->string);
        if (own) {
            ck_assert_msg(cJSON_Compare(own, m, 1), "%s: payload %s differs from the input", file, m->string);
            cJSON_Delete(own);
            continue;
        }
        const char *env = carrier(m->string);
        ck_assert_msg(env != NULL, "%s: member %s is lost", file, m->string);
        if (cJSON_IsString(m)) {
            assert_env(ev, env, m->valuestring, file);
        } else {
            ck_assert_msg(cJSON_IsNumber(m) && env_i(ev, env) == (int64_t)m->valuedouble, "%s: member %s lost", file,
                          m->string);
        }
    }
    /* and payload `event` holds nothing that was not in the input */
    if (rest)
        for (cJSON *r = rest->child; r; r = r->next)
            ck_assert_msg(cJSON_GetObjectItemCaseSensitive(in, r->string) != NULL, "%s: payload event has extra %s",
                          file, r->string);
    cJSON_Delete(rest);
    cJSON_Delete(in);
}

/* ---- every sample payload ---------------------------------------------------------- */

typedef struct sample {
    const char *file, *event, *status, *tool, *mcp;
    int64_t duration;
    const char *payloads, *agent_id, *error, *tool_use_id;
} sample;

static const sample samples[] = {
    { "ev-ConfigChange.json", "ConfigChange", NULL, NULL, NULL, -1, "event", NULL, NULL, NULL },
    { "ev-CwdChanged.json", "CwdChanged", NULL, NULL, NULL, -1, "event", NULL, NULL, NULL },
    { "ev-DirectoryAdded.json", "DirectoryAdded", NULL, NULL, NULL, -1, "event", NULL, NULL, NULL },
    { "ev-Elicitation.json", "Elicitation", NULL, NULL, "jira", -1, "event", NULL, NULL, NULL },
    { "ev-ElicitationResult.json", "ElicitationResult", NULL, NULL, "jira", -1, "event", NULL, NULL, NULL },
    { "ev-FileChanged.json", "FileChanged", NULL, NULL, NULL, -1, "event", NULL, NULL, NULL },
    { "ev-InstructionsLoaded.json", "InstructionsLoaded", NULL, NULL, NULL, -1, "event", NULL, NULL, NULL },
    { "ev-MessageDisplay.json", "MessageDisplay", NULL, NULL, NULL, -1, "event", NULL, NULL, NULL },
    { "ev-Notification-idle_prompt.json", "Notification", NULL, NULL, NULL, -1, "event", NULL, NULL, NULL },
    { "ev-Notification-permission_prompt.json", "Notification", NULL, NULL, NULL, -1, "event", NULL, NULL, NULL },
    { "ev-PermissionDenied-Bash.json", "PermissionDenied", "denied", "Bash", NULL, -1, "tool_input,event", NULL, NULL, "toolu_01WwungISj3r9qf4GxcfR7yK" },
    { "ev-PermissionRequest-Bash.json", "PermissionRequest", "requested", "Bash", NULL, -1, "tool_input,event", NULL, NULL, NULL },
    { "ev-PostCompact.json", "PostCompact", NULL, NULL, NULL, -1, "event", NULL, NULL, NULL },
    { "ev-PostModelSwitch.json", "PostModelSwitch", NULL, NULL, NULL, -1, "event", NULL, NULL, NULL },
    { "ev-PostToolBatch.json", "PostToolBatch", NULL, NULL, NULL, -1, "event", NULL, NULL, NULL },
    { "ev-PreCompact-auto-null.json", "PreCompact", NULL, NULL, NULL, -1, "event", NULL, NULL, NULL },
    { "ev-PreCompact-manual.json", "PreCompact", NULL, NULL, NULL, -1, "event", NULL, NULL, NULL },
    { "ev-PreModelSwitch.json", "PreModelSwitch", NULL, NULL, NULL, -1, "event", NULL, NULL, NULL },
    { "ev-SessionEnd-other.json", "SessionEnd", NULL, NULL, NULL, -1, "event", NULL, NULL, NULL },
    { "ev-SessionEnd-prompt_input_exit.json", "SessionEnd", NULL, NULL, NULL, -1, "event", NULL, NULL, NULL },
    { "ev-SessionStart-clear-no-model.json", "SessionStart", NULL, NULL, NULL, -1, "event", NULL, NULL, NULL },
    { "ev-SessionStart-resume.json", "SessionStart", NULL, NULL, NULL, -1, "event", NULL, NULL, NULL },
    { "ev-SessionStart-startup.json", "SessionStart", NULL, NULL, NULL, -1, "event", NULL, NULL, NULL },
    { "ev-Setup-init.json", "Setup", NULL, NULL, NULL, -1, "event", NULL, NULL, NULL },
    { "ev-Stop-active-with-background.json", "Stop", NULL, NULL, NULL, -1, "event", NULL, NULL, NULL },
    { "ev-Stop.json", "Stop", NULL, NULL, NULL, -1, "event", NULL, NULL, NULL },
    { "ev-StopFailure-rate_limit.json", "StopFailure", "failed", NULL, NULL, -1, "error,event", NULL, "rate_limit", NULL },
    { "ev-SubagentStart.json", "SubagentStart", NULL, NULL, NULL, -1, "event", "a5efa522d394b18c", NULL, NULL },
    { "ev-SubagentStop.json", "SubagentStop", NULL, NULL, NULL, -1, "event", "a5efa522d394b18c", NULL, NULL },
    { "ev-TaskCompleted.json", "TaskCompleted", NULL, NULL, NULL, -1, "event", NULL, NULL, NULL },
    { "ev-TaskCreated.json", "TaskCreated", NULL, NULL, NULL, -1, "event", NULL, NULL, NULL },
    { "ev-TeammateIdle.json", "TeammateIdle", NULL, NULL, NULL, -1, "event", NULL, NULL, NULL },
    { "ev-UserPromptExpansion-slash.json", "UserPromptExpansion", NULL, NULL, NULL, -1, "prompt,event", NULL, NULL, NULL },
    { "ev-UserPromptSubmit.json", "UserPromptSubmit", NULL, NULL, NULL, -1, "prompt,event", NULL, NULL, NULL },
    { "ev-WorktreeCreate.json", "WorktreeCreate", NULL, NULL, NULL, -1, "event", NULL, NULL, NULL },
    { "ev-WorktreeRemove.json", "WorktreeRemove", NULL, NULL, NULL, -1, "event", NULL, NULL, NULL },
    { "fail-PostToolUseFailure-Bash-exit1.json", "PostToolUseFailure", "failed", "Bash", NULL, 4187, "tool_input,error,event", NULL, "Exit code 1", "toolu_013MTenxsYS0bOffN8eFNzYe" },
    { "fail-PostToolUseFailure-Bash-timeout-truncated.json", "PostToolUseFailure", "failed", "Bash", NULL, 120003, "tool_input,error,event", NULL, "Exit code 143", "toolu_01zsmBqFKm65QAsnKIoXFh1J" },
    { "fail-PostToolUseFailure-Edit-not-found.json", "PostToolUseFailure", "failed", "Edit", NULL, 2, "tool_input,error,event", NULL, "<tool_use_error>String to replace not found in file.", "toolu_01JdEdyGR5LbMtpEYNyT9uOx" },
    { "fail-PostToolUseFailure-interrupt.json", "PostToolUseFailure", "interrupted", "WebFetch", NULL, 30550, "tool_input,error,event", NULL, "The operation was aborted", "toolu_01unw6oB7425xhRRhU3MeMwd" },
    { "fail-PostToolUseFailure-mcp-error.json", "PostToolUseFailure", "failed", "mcp__github__create_pull_request", "github", 905, "tool_input,error,event", NULL, "MCP error -32603: Validation Failed: A pull request already exists for acme:refunds.", "toolu_01MfEBMNbTYypZK95fxTVWWN" },
    { "legacy-1.0.38-PostToolUse-Bash.json", "PostToolUse", "succeeded", "Bash", NULL, -1, "tool_input,tool_response,event", NULL, NULL, NULL },
    { "legacy-1.0.x-PostToolUse-MultiEdit.json", "PostToolUse", "succeeded", "MultiEdit", NULL, -1, "tool_input,tool_response,event", NULL, NULL, NULL },
    { "legacy-2.0-PostToolUse-Task.json", "PostToolUse", "succeeded", "Task", NULL, -1, "tool_input,tool_response,event", NULL, NULL, "toolu_0121NyaHyWEge1VAIF31ewey" },
    { "tool-PostToolUse-Agent-async.json", "PostToolUse", "succeeded", "Agent", NULL, 35, "tool_input,tool_response,event", NULL, NULL, "toolu_01kqYHjtiKiXCipnd1RivgzJ" },
    { "tool-PostToolUse-Agent-completed.json", "PostToolUse", "succeeded", "Agent", NULL, 48230, "tool_input,tool_response,event", NULL, NULL, "toolu_01649WVVmkzF3zwjsG0k1284" },
    { "tool-PostToolUse-AskUserQuestion.json", "PostToolUse", "succeeded", "AskUserQuestion", NULL, 15234, "tool_input,tool_response,event", NULL, NULL, "toolu_01EGyLjaciIHmxrtv3x53cK8" },
    { "tool-PostToolUse-Bash-background.json", "PostToolUse", "succeeded", "Bash", NULL, 212, "tool_input,tool_response,event", NULL, NULL, "toolu_01iSmJOSQkkL7ag6OubeWl2W" },
    { "tool-PostToolUse-Bash-ok.json", "PostToolUse", "succeeded", "Bash", NULL, 41, "tool_input,tool_response,event", NULL, NULL, "toolu_01613ruoJ1dmAHpdeHW0cYBN" },
    { "tool-PostToolUse-Bash-persisted-output.json", "PostToolUse", "succeeded", "Bash", NULL, 48211, "tool_input,tool_response,event", NULL, NULL, "toolu_01ZmRsJkSxEHba2DeMh9vzyn" },
    { "tool-PostToolUse-Edit.json", "PostToolUse", "succeeded", "Edit", NULL, 4, "tool_input,tool_response,event", NULL, NULL, "toolu_01BEBACCLdjqNdFXtxfS7Umd" },
    { "tool-PostToolUse-ExitPlanMode.json", "PostToolUse", "succeeded", "ExitPlanMode", NULL, 40211, "tool_input,tool_response,event", NULL, NULL, "toolu_0111PfavlNYzXgmjPfVPt0Oj" },
    { "tool-PostToolUse-Glob.json", "PostToolUse", "succeeded", "Glob", NULL, 13, "tool_input,tool_response,event", NULL, NULL, "toolu_01DGEl3JC9c06gHZa1nO1bLt" },
    { "tool-PostToolUse-Grep-content.json", "PostToolUse", "succeeded", "Grep", NULL, 22, "tool_input,tool_response,event", NULL, NULL, "toolu_01Nz2nxCEC1eWiuNIdQevv1G" },
    { "tool-PostToolUse-ListMcpResourcesTool.json", "PostToolUse", "succeeded", "ListMcpResourcesTool", NULL, 12, "tool_input,tool_response,event", NULL, NULL, "toolu_01diqDPx3y9QvcFSYvu8fXwd" },
    { "tool-PostToolUse-NotebookEdit.json", "PostToolUse", "succeeded", "NotebookEdit", NULL, 6, "tool_input,tool_response,event", NULL, NULL, "toolu_01Bq932a7qbSjDkLluDbfhDr" },
    { "tool-PostToolUse-PowerShell-windows.json", "PostToolUse", "succeeded", "PowerShell", NULL, 733, "tool_input,tool_response,event", NULL, NULL, "toolu_01sZ2Pu9ZcAif188XkEAVVPL" },
    { "tool-PostToolUse-Read-image.json", "PostToolUse", "succeeded", "Read", NULL, 9, "tool_input,tool_response,event", NULL, NULL, "toolu_01YzM78TG2OtmKRLcez72Qah" },
    { "tool-PostToolUse-Read-text.json", "PostToolUse", "succeeded", "Read", NULL, 3, "tool_input,tool_response,event", NULL, NULL, "toolu_01HKiBgxTiQEjRMX7N9Q1epD" },
    { "tool-PostToolUse-ReadMcpResourceTool.json", "PostToolUse", "succeeded", "ReadMcpResourceTool", NULL, 31, "tool_input,tool_response,event", NULL, NULL, "toolu_014sLwsgQQ9fF5YBbZ3yk28c" },
    { "tool-PostToolUse-TaskCreate.json", "PostToolUse", "succeeded", "TaskCreate", NULL, 2, "tool_input,tool_response,event", NULL, NULL, "toolu_01em8ANXi8XIdKcwXFgdsRNw" },
    { "tool-PostToolUse-TaskStop.json", "PostToolUse", "succeeded", "TaskStop", NULL, 30, "tool_input,tool_response,event", NULL, NULL, "toolu_018Af7Y3GGDDuGXcy54GKl0E" },
    { "tool-PostToolUse-TodoWrite.json", "PostToolUse", "succeeded", "TodoWrite", NULL, 1, "tool_input,tool_response,event", NULL, NULL, "toolu_01cVsccF5nqwxA77bpSgU2Ji" },
    { "tool-PostToolUse-WebFetch.json", "PostToolUse", "succeeded", "WebFetch", NULL, 1842, "tool_input,tool_response,event", NULL, NULL, "toolu_01bOSr2XyZvaWwRBRKqoQG9q" },
    { "tool-PostToolUse-WebSearch.json", "PostToolUse", "succeeded", "WebSearch", NULL, 2320, "tool_input,tool_response,event", NULL, NULL, "toolu_01FNo00ZO1id3GdQFvnp6B8i" },
    { "tool-PostToolUse-Write-create.json", "PostToolUse", "succeeded", "Write", NULL, 5, "tool_input,tool_response,event", NULL, NULL, "toolu_01Z8a3j87ufPK3WjCSkyN5uZ" },
    { "tool-PostToolUse-Write-update.json", "PostToolUse", "succeeded", "Write", NULL, 7, "tool_input,tool_response,event", NULL, NULL, "toolu_01Z76PQkFIiaymmJEPnAbwaE" },
    { "tool-PostToolUse-mcp-github-create_issue.json", "PostToolUse", "succeeded", "mcp__github__create_issue", "github", 1203, "tool_input,tool_response,event", NULL, NULL, "toolu_01PmFI8zSCcHqBgPnYqxDr1d" },
    { "tool-PostToolUse-mcp-plugin-db-query.json", "PostToolUse", "succeeded", "mcp__plugin_acme-tools_db__query", "plugin:acme-tools:db", 88, "tool_input,tool_response,event", NULL, NULL, "toolu_01W2NcJ1s3sBMPRTigpVjKRN" },
    { "tool-PostToolUse-mcp-string-output.json", "PostToolUse", "succeeded", "mcp__memory__search_nodes", "memory", 4, "tool_input,tool_response,event", NULL, NULL, "toolu_019DckRbob8rc2fAXpvJwfXl" },
    { "tool-PreToolUse-Bash.json", "PreToolUse", "started", "Bash", NULL, -1, "tool_input,event", NULL, NULL, "toolu_01DpmGASMC5w6vFywj7hW6g3" },
    { "tool-PreToolUse-ExitPlanMode-empty-input.json", "PreToolUse", "started", "ExitPlanMode", NULL, -1, "tool_input,event", NULL, NULL, "toolu_01IrB0V9j64Wc5eCk1dWgFG0" },
    { "tool-PreToolUse-Write-windows-path.json", "PreToolUse", "started", "Write", NULL, -1, "tool_input,event", NULL, NULL, "toolu_01CKOGWNvO0RqJunOfyGKvPj" },
    { "tool-PreToolUse-in-subagent-Grep.json", "PreToolUse", "started", "Grep", NULL, -1, "tool_input,event", "a5efa522d394b18c", NULL, "toolu_016PAg4I3tUPTN6UYSCtlM4t" },
};

START_TEST(every_sample_payload)
{
    char rel[256];
    snprintf(rel, sizeof rel, "claude-code/payloads/%s", samples[_i].file);
    const char *path = tu_shared_path(rel);
    if (!path) {
        fprintf(stderr, "test_event: shared/%s absent: skipped\n", rel);
        return;
    }
    size_t len;
    char *txt = tu_read_file(path, &len);
    ck_assert_ptr_nonnull(txt);
    const sample *s = &samples[_i];
    st_event ev;
    build(&ev, txt, len);
    ck_assert_msg(!ev.malformed, "%s: malformed", s->file);
    assert_env(&ev, "kind", "event", s->file);
    assert_env(&ev, "event", s->event, s->file);
    ck_assert_str_eq(ev.event, s->event);
    assert_env(&ev, "status", s->status, s->file);
    assert_env(&ev, "tool", s->tool, s->file);
    assert_env(&ev, "mcp_server", s->mcp, s->file);
    assert_env(&ev, "agent_id", s->agent_id, s->file);
    assert_env(&ev, "error", s->error, s->file);
    assert_env(&ev, "tool_use_id", s->tool_use_id, s->file);
    assert_env(&ev, "host", "build-7", s->file);
    assert_env(&ev, "user", "dev", s->file);
    ck_assert_msg(env_i(&ev, "duration_ms") == s->duration, "%s: duration_ms %lld, want %lld", s->file,
                  (long long)env_i(&ev, "duration_ms"), (long long)s->duration);
    ck_assert_int_eq(ev.rec.time_us, 1763787173123456LL);
    ck_assert_ptr_eq(ev.rec.meta, ev.meta);

    /* payload names, in order */
    char names[256] = "";
    for (size_t i = 0; i < ev.rec.npayloads; i++) {
        if (i) strcat(names, ",");
        strcat(names, ev.rec.payloads[i].name);
        ck_assert_msg(st_payload_name_valid(ev.rec.payloads[i].name, strlen(ev.rec.payloads[i].name)), "%s", s->file);
    }
    ck_assert_msg(strcmp(names, s->payloads) == 0, "%s: payloads %s, want %s", s->file, names, s->payloads);
    const st_payload_in *ti = payload(&ev, "tool_input");
    if (ti) ck_assert_msg(ti->value && ti->value->type == ST_JSON_OBJECT, "%s: tool_input value", s->file);

    /* seal / fail-closed / duration flags */
    ck_assert_int_eq(ev.wants_seal, strcmp(s->event, "Stop") == 0 || strcmp(s->event, "StopFailure") == 0 ||
                                        strcmp(s->event, "SessionEnd") == 0);
    ck_assert_int_eq(ev.is_pretool, strcmp(s->event, "PreToolUse") == 0);
    ck_assert_int_eq(ev.needs_duration, s->duration < 0 && s->tool_use_id && strncmp(s->event, "PostToolUse", 11) == 0);

    /* the envelope is small, flat and serializes canonically */
    st_buf b = { 0 };
    st_json_write(&b, ev.meta, ST_JSON_SORT_KEYS);
    ck_assert(!b.oom && b.len < 16384);
    st_err err;
    ck_assert_msg(st_json_parse_canonical(NULL, b.data, b.len, 16, &err) == 0, "%s: %s", s->file, err.msg);
    st_buf_free(&b);

    assert_nothing_lost(&ev, txt, s->file);
    st_event_free(&ev);
    free(txt);
}
END_TEST

START_TEST(payload_bytes_keep_input_order_and_literals)
{
    st_event ev;
    build_s(&ev, "{\"hook_event_name\":\"PreToolUse\",\"tool_name\":\"Bash\",\"tool_input\":"
                 "{ \"z\": 1.50, \"a\": [1e3, -0], \"s\": \"\\u00e9\\n\\/\" }}");
    char *ti = payload_str(&ev, "tool_input");
    ck_assert_str_eq(ti, "{\"z\":1.50,\"a\":[1e3,-0],\"s\":\"\xc3\xa9\\n/\"}");
    free(ti);
    st_event_free(&ev);
}
END_TEST

/* ---- malformed input --------------------------------------------------------------- */

static void assert_malformed(const char *in, size_t len, const char *why_part)
{
    st_event ev;
    build(&ev, in, len);
    ck_assert_msg(ev.malformed, "not malformed: %.*s", (int)(len > 60 ? 60 : len), in);
    assert_env(&ev, "status", "malformed", "malformed");
    assert_env(&ev, "event", "unknown", "malformed");
    assert_env(&ev, "kind", "event", "malformed");
    const char *why = env_s(&ev, "parse_error");
    ck_assert_msg(why && strstr(why, why_part), "parse_error \"%s\" lacks \"%s\"", why ? why : "(none)", why_part);
    ck_assert_msg(strlen(why) <= ST_ENV_PARSE_ERR_MAX, "parse_error too long");
    const st_payload_in *raw = payload(&ev, "raw");
    if (len == 0) {
        ck_assert_ptr_null(raw);
    } else {
        ck_assert_ptr_nonnull(raw);
        ck_assert_uint_eq(raw->len, len);
        ck_assert(memcmp(raw->data, in, len) == 0);
    }
    ck_assert_uint_eq(ev.rec.npayloads, len ? 1 : 0);
    ck_assert(!ev.wants_seal && !ev.is_pretool && !ev.needs_duration);
    st_event_free(&ev);
}

START_TEST(malformed_inputs)
{
    assert_malformed("", 0, "empty");
    assert_malformed("{\"session_id\":\"abc\",", 20, "offset");   /* cut inside a word: truncated_input_... */
    assert_malformed("[{\"hook_event_name\":\"Stop\"}]", 28, "array");
    assert_malformed("{\"a\":1}{\"b\":2}", 14, "offset");
    assert_malformed("{\"a\":1}\n{\"b\":2}\n", 16, "offset");
    assert_malformed("{\"duration_ms\":NaN}", 19, "offset");
    assert_malformed("\"just a string\"", 15, "string");
    assert_malformed("42", 2, "number");
    assert_malformed("null", 4, "null");
    assert_malformed("\xef\xbb\xbf{}", 5, "offset");          /* a BOM is not JSON */
}
END_TEST

START_TEST(malformed_deep_nesting)
{
    size_t depth = 100000;
    char *s = malloc(2 * depth + 1);
    memset(s, '[', depth);
    memset(s + depth, ']', depth);
    assert_malformed(s, 2 * depth, "deep");
    /* objects too, and a deep value inside an otherwise good event */
    size_t n = 0;
    n += (size_t)sprintf(s, "{\"tool_input\":");
    for (size_t i = 0; i < 5000; i++) s[n++] = '[';
    for (size_t i = 0; i < 5000; i++) s[n++] = ']';
    s[n++] = '}';
    assert_malformed(s, n, "deep");
    free(s);
}
END_TEST

/* opts.withhold (the hook when redact.conf does not load): the call's
 * identity is kept, payloads and free text (cwd, error) are not. */
START_TEST(withheld_keeps_identity_only)
{
    const char *in = "{\"hook_event_name\":\"PostToolUseFailure\",\"session_id\":\"s9\",\"tool_name\":\"Bash\","
                     "\"tool_use_id\":\"toolu_9\",\"cwd\":\"/srv/x\",\"tool_input\":{\"command\":\"make\"},"
                     "\"error\":\"boom\",\"duration_ms\":12}";
    st_event ev;
    st_event_opts o = { .withhold = "rules did not load" };
    st_err err;
    ck_assert_int_eq(st_event_build(&ev, in, strlen(in), &o, &err), 0);
    ck_assert_uint_eq(ev.rec.npayloads, 0);
    ck_assert_str_eq(env_s(&ev, "withheld"), "rules did not load");
    ck_assert_str_eq(env_s(&ev, "tool"), "Bash");
    ck_assert_str_eq(env_s(&ev, "session"), "s9");
    ck_assert_str_eq(env_s(&ev, "tool_use_id"), "toolu_9");
    ck_assert_int_eq(env_i(&ev, "duration_ms"), 12);
    ck_assert_ptr_null(st_json_get(ev.meta, "cwd"));
    ck_assert_ptr_null(st_json_get(ev.meta, "error"));
    st_event_free(&ev);
    ck_assert_int_eq(st_event_build(&ev, "not json", 8, &o, &err), 0);   /* malformed: no raw bytes either */
    ck_assert(ev.malformed);
    ck_assert_uint_eq(ev.rec.npayloads, 0);
    ck_assert_str_eq(env_s(&ev, "withheld"), "rules did not load");
    st_event_free(&ev);
}
END_TEST

START_TEST(over_the_size_limit)
{
    const char *head = "{\"hook_event_name\":\"PostToolUse\",\"tool_response\":\"aaaa";
    st_event ev;
    st_event_opts o = { .input_len = 300u << 20 };
    st_err err;
    ck_assert_int_eq(st_event_build(&ev, head, strlen(head), &o, &err), 0);
    ck_assert(ev.malformed);
    ck_assert_int_eq(env_i(&ev, "input_len"), 300 << 20);
    ck_assert_ptr_nonnull(strstr(env_s(&ev, "parse_error"), "limit"));
    ck_assert_uint_eq(payload(&ev, "raw")->len, strlen(head) - 4);   /* the cut word "aaaa" goes */
    st_event_free(&ev);
}
END_TEST

/* The cap may cut a secret in two; the head's part of it, too short for
 * its rule, must not be stored: the cut word is dropped with the rest. */
START_TEST(over_the_size_limit_cut_secret_dropped)
{
    static const char *const heads[] = {
        "{\"tool_response\":{\"stdout\":\"token ghp_0123456789abcdefABCDEF",       /* 26 of 36 */
        "{\"tool_response\":{\"stdout\":\"id AKIAIOSFODNN7EX",
        "{\"tool_response\":{\"stdout\":\"ok\\nDB_PASSWORD=hunt",
        "{\"tool_input\":{\"command\":\"psql postgres://app:s3cr",
        "{\"tool_response\":{\"stdout\":\"card 4111 1111 1111 11",
        "{\"tool_response\":{\"stdout\":\"card 4111 1111 1111 ",                 /* cut after a group */
        "{\"tool_input\":{\"command\":\"<add key=\\\"ApiKey\\\" value=\\\"Hunter2x\\", /* cut at its quote */
        "{\"tool_input\":{\"command\":\"echo start\\n123456789:AAEWcisUycL0xQ56ZAwr7paMPbfxLnphCsK\\",
    };
    static const char *const leak[] = { "0123456789abcdef", "IOSFODNN", "hunt", "s3cr", "4111", "4111", "Hunter2x",
                                        "EWcisUyc" };
    for (size_t i = 0; i < sizeof heads / sizeof *heads; i++) {
        st_event ev;
        st_event_opts o = { .input_len = 300u << 20 };
        st_err err;
        ck_assert_int_eq(st_event_build(&ev, heads[i], strlen(heads[i]), &o, &err), 0);
        ck_assert(ev.malformed);
        const st_payload_in *p = payload(&ev, "raw");
        ck_assert_ptr_null(memmem(p->data, p->len, leak[i], strlen(leak[i])));
        ck_assert_uint_gt(p->len, 20);
        st_event_free(&ev);
    }
}
END_TEST

/* Input the client stopped writing early (stdin closed inside a value) may
 * end inside a secret just as a head cut at the cap does: the cut word is
 * not kept either, nor a word an escape cut short ("\\", "\\u00") may have
 * continued, and parse_error says how many bytes went. Both with and
 * without the cap. */
START_TEST(truncated_input_cut_secret_dropped)
{
    static const char *const heads[] = {
        "{\"tool_response\":{\"stdout\":\"token ghp_0123456789abcdefABCDEF0123456789",   /* 35 of 36 */
        "{\"tool_response\":{\"stdout\":\"id AKIAIOSFODNN7EX",
        "{\"tool_response\":{\"stdout\":\"ok\\nDB_PASSWORD=hunt",
        "{\"tool_response\":{\"stdout\":\"token ghp_0123456789abcdefABCDEF01234567\\",  /* 34, then a cut escape */
        "{\"tool_response\":{\"stdout\":\"token ghp_0123456789abcdefABCDEF01234567\\u00",
        "{\"tool_response\":{\"stdout\":\"token ghp_0123456789abcdefABCDEF012345\\u",
    };
    static const char *const leak[] = { "0123456789abcdef", "IOSFODNN", "hunt", "0123456789abcdef", "0123456789abcdef",
                                        "0123456789abcdef" };
    for (int cap = 0; cap < 2; cap++)
        for (size_t i = 0; i < sizeof heads / sizeof *heads; i++) {
            st_event ev;
            st_event_opts o = { .input_len = cap ? 300u << 20 : 0 };
            st_err err;
            ck_assert_int_eq(st_event_build(&ev, heads[i], strlen(heads[i]), &o, &err), 0);
            ck_assert(ev.malformed);
            const st_payload_in *p = payload(&ev, "raw");
            ck_assert_msg(!memmem(p->data, p->len, leak[i], strlen(leak[i])), "cap %d, head %zu: %.*s", cap, i,
                          (int)p->len, (const char *)p->data);
            ck_assert_uint_gt(p->len, 20);
            if (!cap) ck_assert_ptr_nonnull(strstr(env_s(&ev, "parse_error"), "not kept"));
            st_event_free(&ev);
        }
}
END_TEST

START_TEST(invalid_utf8_and_lone_surrogates_are_replaced_and_counted)
{
    st_event ev;
    /* a lone high surrogate (a tool output cut inside an emoji), a lone low one, a raw 0xff byte */
    build_s(&ev, "{\"hook_event_name\":\"PostToolUse\",\"tool_name\":\"Bash\",\"tool_use_id\":\"t1\","
                 "\"tool_response\":{\"stdout\":\"ok \\ud83d\",\"stderr\":\"\\udc00x\xff\"}}");
    ck_assert(!ev.malformed);
    ck_assert_int_eq(env_i(&ev, "utf8_replaced"), 3);
    char *r = payload_str(&ev, "tool_response");
    ck_assert_str_eq(r, "{\"stdout\":\"ok \xef\xbf\xbd\",\"stderr\":\"\xef\xbf\xbdx\xef\xbf\xbd\"}");
    free(r);
    assert_env(&ev, "status", "succeeded", "utf8");
    st_event_free(&ev);
}
END_TEST

START_TEST(nul_inside_strings_is_kept)
{
    st_event ev;
    build_s(&ev, "{\"hook_event_name\":\"UserPromptSubmit\",\"session_id\":\"a\\u0000b\",\"prompt\":\"x\\u0000y\"}");
    size_t n;
    const char *s = st_json_get_str(ev.meta, "session", &n);
    ck_assert_uint_eq(n, 3);
    ck_assert(memcmp(s, "a\0b", 3) == 0);
    char *p = payload_str(&ev, "prompt");
    ck_assert_str_eq(p, "\"x\\u0000y\"");
    free(p);
    st_event_free(&ev);
}
END_TEST

/* An event name is the whole decoded string: "Stop\u0000X" is not Stop
 * (it does not seal), "PreToolUse\u0000X" not PreToolUse (no status, not
 * blocked when failing closed), "PostToolUse\u0000X" not PostToolUse (no
 * duration looked up). The name is kept as sent, NUL included. */
START_TEST(event_names_are_length_exact)
{
    static const char *const names[] = { "Stop", "StopFailure", "SessionEnd", "PreToolUse", "PostToolUse",
                                         "PostToolUseFailure", "PermissionDenied", "PermissionRequest" };
    for (size_t k = 0; k < sizeof names / sizeof *names; k++) {
        char in[256];
        st_event ev;
        snprintf(in, sizeof in, "{\"hook_event_name\":\"%s\\u0000X\",\"tool_use_id\":\"t\",\"tool_name\":\"Bash\"}", names[k]);
        build_s(&ev, in);
        size_t n, l = strlen(names[k]);
        const char *e = st_json_get_str(ev.meta, "event", &n);
        ck_assert_uint_eq(n, l + 2);
        ck_assert(memcmp(e, names[k], l) == 0 && memcmp(e + l, "\0X", 2) == 0);
        ck_assert_uint_eq(ev.event_len, l + 2);
        ck_assert_msg(!ev.wants_seal && !ev.is_pretool && !ev.needs_duration, "%s\\u0000X", names[k]);
        ck_assert_msg(env_s(&ev, "status") == NULL, "%s\\u0000X has status %s", names[k], env_s(&ev, "status"));
        ck_assert(!st_event_is(&ev, names[k]));
        st_event_free(&ev);
        snprintf(in, sizeof in, "{\"hook_event_name\":\"%s\",\"tool_use_id\":\"t\",\"tool_name\":\"Bash\"}", names[k]);
        build_s(&ev, in);
        ck_assert(st_event_is(&ev, names[k]));
        ck_assert_int_eq(ev.wants_seal, k < 3);
        ck_assert_int_eq(ev.is_pretool, k == 3);
        st_event_free(&ev);
    }
    ck_assert(st_event_seals("Stop", 4) && !st_event_seals("Stop\0X", 6) && !st_event_seals("Sto", 3));
}
END_TEST

/* ---- envelope rules -------------------------------------------------------------------- */

START_TEST(duplicate_keys_first_wins_rest_kept)
{
    st_event ev;
    const char *in = "{\"hook_event_name\":\"PreToolUse\",\"tool_name\":\"Bash\",\"tool_name\":\"Read\","
                     "\"tool_input\":{\"a\":1},\"tool_input\":{\"b\":2}}";
    build_s(&ev, in);
    assert_env(&ev, "tool", "Bash", "dup");
    char *t = payload_str(&ev, "tool_input");
    ck_assert_str_eq(t, "{\"a\":1}");
    free(t);
    char *rest = payload_str(&ev, "event");
    ck_assert_str_eq(rest, "{\"tool_name\":\"Read\",\"tool_input\":{\"b\":2}}");
    free(rest);
    st_event_free(&ev);
}
END_TEST

START_TEST(long_strings_are_cut_and_kept_whole_in_event)
{
    char in[12000];
    char cwd[5001];
    memset(cwd, 'd', 5000);
    cwd[0] = '/';
    cwd[4095] = '\xc3';   /* a 2-byte character straddling the 4096 cut */
    cwd[4096] = '\xa9';
    cwd[5000] = 0;
    char tool[1500];
    memset(tool, 'T', 1499);
    tool[1499] = 0;
    snprintf(in, sizeof in, "{\"hook_event_name\":\"PreToolUse\",\"cwd\":\"%s\",\"tool_name\":\"%s\"}", cwd, tool);
    st_event ev;
    build_s(&ev, in);
    size_t n;
    st_json_get_str(ev.meta, "cwd", &n);
    ck_assert_uint_eq(n, 4095);
    st_json_get_str(ev.meta, "tool", &n);
    ck_assert_uint_eq(n, ST_ENV_STR_MAX);
    cJSON *rest = payload_cjson(&ev, "event");
    ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(rest, "cwd")->valuestring, cwd);
    ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(rest, "tool_name")->valuestring, tool);
    ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(rest, "hook_event_name"));
    cJSON_Delete(rest);
    st_event_free(&ev);
}
END_TEST

START_TEST(error_summary_first_line_200_bytes)
{
    char in[2000], err[600];
    memset(err, 'e', 400);
    memcpy(err + 400, "\\nsecond", 9);
    snprintf(in, sizeof in, "{\"hook_event_name\":\"PostToolUseFailure\",\"tool_name\":\"Bash\",\"error\":\"%s\"}", err);
    st_event ev;
    build_s(&ev, in);
    size_t n;
    const char *e = st_json_get_str(ev.meta, "error", &n);
    ck_assert_uint_eq(n, 200);
    ck_assert(e[0] == 'e' && e[199] == 'e');
    ck_assert_uint_eq(payload(&ev, "error")->len, 400 + 8 + 2);
    assert_env(&ev, "status", "failed", "err");
    st_event_free(&ev);

    build_s(&ev, "{\"hook_event_name\":\"PostToolUseFailure\",\"error\":\"Exit code 2\\r\\nmore\",\"is_interrupt\":true}");
    assert_env(&ev, "error", "Exit code 2", "err");
    assert_env(&ev, "status", "interrupted", "err");
    st_event_free(&ev);
}
END_TEST

START_TEST(durations)
{
    st_event ev;
    build_s(&ev, "{\"hook_event_name\":\"PostToolUse\",\"tool_use_id\":\"t\",\"duration_ms\":12.7}");
    ck_assert_int_eq(env_i(&ev, "duration_ms"), 12);
    ck_assert(!ev.needs_duration);
    char *rest = payload_str(&ev, "event");
    ck_assert_ptr_nonnull(strstr(rest, "\"duration_ms\":12.7"));
    free(rest);
    st_event_free(&ev);

    build_s(&ev, "{\"hook_event_name\":\"PostToolUse\",\"tool_use_id\":\"t\",\"duration_ms\":-5}");
    ck_assert_int_eq(env_i(&ev, "duration_ms"), -1);
    ck_assert(ev.needs_duration);
    ck_assert_int_eq(st_event_set_duration(&ev, ev.rec.time_us - 2500000), 0);
    ck_assert_int_eq(env_i(&ev, "duration_ms"), 2500);
    ck_assert(!ev.needs_duration);
    st_event_free(&ev);

    build_s(&ev, "{\"hook_event_name\":\"PostToolUseFailure\",\"tool_use_id\":\"t\"}");
    ck_assert(ev.needs_duration);
    ck_assert_int_eq(st_event_set_duration(&ev, ev.rec.time_us + 10), 0);   /* clock went back */
    ck_assert_int_eq(env_i(&ev, "duration_ms"), 0);
    st_event_free(&ev);

    build_s(&ev, "{\"hook_event_name\":\"PostToolUse\"}");   /* no tool_use_id: nothing to match */
    ck_assert(!ev.needs_duration);
    st_event_free(&ev);
}
END_TEST

START_TEST(mcp_names)
{
    const char *srv;
    size_t n;
    ck_assert_int_eq(st_mcp_server_from_tool("mcp__github__create_issue", 25, &srv, &n), 0);
    ck_assert(n == 6 && memcmp(srv, "github", 6) == 0);
    ck_assert_int_eq(st_mcp_server_from_tool("mcp__a__b__c", 12, &srv, &n), 0);
    ck_assert(n == 1 && srv[0] == 'a');
    ck_assert_int_eq(st_mcp_server_from_tool("mcp____x", 8, &srv, &n), -1);
    ck_assert_int_eq(st_mcp_server_from_tool("mcp__srv__", 10, &srv, &n), -1);
    ck_assert_int_eq(st_mcp_server_from_tool("mcp__srv", 8, &srv, &n), -1);
    ck_assert_int_eq(st_mcp_server_from_tool("Bash", 4, &srv, &n), -1);

    st_event ev;   /* mcp_server as a plain string (not the object form) */
    build_s(&ev, "{\"hook_event_name\":\"PreToolUse\",\"tool_name\":\"mcp__x__y\",\"mcp_server\":\"named\"}");
    assert_env(&ev, "mcp_server", "named", "mcp");
    st_event_free(&ev);
}
END_TEST

START_TEST(inference_without_hook_event_name)
{
    static const char *const cases[][2] = {
        { "{\"session_id\":\"s\",\"tool_name\":\"Bash\",\"tool_input\":{}}", "PreToolUse" },
        { "{\"tool_name\":\"Bash\",\"tool_input\":{},\"tool_response\":{}}", "PostToolUse" },
        { "{\"tool_name\":\"Bash\",\"tool_input\":{},\"error\":\"x\"}", "PostToolUseFailure" },
        { "{\"tool_name\":\"Bash\",\"tool_input\":{},\"reason\":\"no\"}", "PermissionDenied" },
        { "{\"session_id\":\"s\",\"prompt\":\"hi\"}", "UserPromptSubmit" },
        { "{\"session_id\":\"s\",\"message\":\"waiting\"}", "Notification" },
        { "{\"session_id\":\"s\",\"stop_hook_active\":false}", "Stop" },
        { "{\"stop_hook_active\":false,\"agent_transcript_path\":\"/x\"}", "SubagentStop" },
        { "{\"trigger\":\"auto\",\"custom_instructions\":null}", "PreCompact" },
        { "{\"reason\":\"other\"}", "SessionEnd" },
        { "{\"source\":\"startup\"}", "SessionStart" },
        { "{\"session_id\":\"s\"}", "unknown" },
        { "{}", "unknown" },
        { "{\"hook_event_name\":42,\"prompt\":\"x\"}", "UserPromptSubmit" },
        { "{\"hook_event_name\":\"BrandNewEvent2027\",\"x\":1}", "BrandNewEvent2027" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        st_event ev;
        build_s(&ev, cases[i][0]);
        ck_assert(!ev.malformed);
        assert_env(&ev, "event", cases[i][1], cases[i][0]);
        assert_nothing_lost(&ev, cases[i][0], cases[i][0]);
        st_event_free(&ev);
    }
}
END_TEST

START_TEST(interrupted_bash_output)
{
    st_event ev;
    build_s(&ev, "{\"hook_event_name\":\"PostToolUse\",\"tool_name\":\"Bash\",\"tool_response\":{\"interrupted\":true}}");
    assert_env(&ev, "status", "interrupted", "intr");
    st_event_free(&ev);
}
END_TEST

START_TEST(session_fallback_and_identity)
{
    st_event ev;
    st_event_opts o = { .session_fallback = "env-session", .host = "", .user = NULL };
    st_err err;
    ck_assert_int_eq(st_event_build(&ev, "{\"hook_event_name\":\"Stop\"}", 26, &o, &err), 0);
    assert_env(&ev, "session", "env-session", "fallback");
    assert_env(&ev, "host", NULL, "fallback");
    assert_env(&ev, "user", NULL, "fallback");
    ck_assert(ev.wants_seal);
    ck_assert(ev.rec.time_us > 1700000000000000LL);
    st_event_free(&ev);
    ck_assert_int_eq(st_event_build(&ev, "{\"session_id\":\"given\"}", 22, &o, &err), 0);
    assert_env(&ev, "session", "given", "fallback");
    st_event_free(&ev);
    ck_assert_int_eq(st_event_build(&ev, "not json", 8, &o, &err), 0);
    assert_env(&ev, "session", "env-session", "fallback");
    st_event_free(&ev);
    /* the environment is input too: a secret there is redacted and counted */
    o.session_fallback = "s-ghp_" "0123456789abcdefghijABCDEFGHIJ012345";
    for (int k = 0; k < 2; k++) {
        ck_assert_int_eq(st_event_build(&ev, k ? "not json" : "{\"hook_event_name\":\"Stop\"}", k ? 8 : 26, &o, &err), 0);
        assert_env(&ev, "session", "s-[REDACTED:github-token]", "fallback redacted");
        ck_assert_ptr_nonnull(st_json_get(st_json_get(ev.meta, "redactions"), "github-token"));
        st_event_free(&ev);
    }
    ck_assert_ptr_nonnull(st_event_host());
    ck_assert_ptr_nonnull(st_event_user());
}
END_TEST

START_TEST(utf8_cut)
{
    ck_assert_uint_eq(st_utf8_cut("abc", 3, 5), 3);
    ck_assert_uint_eq(st_utf8_cut("abc", 3, 2), 2);
    ck_assert_uint_eq(st_utf8_cut("a\xc3\xa9", 3, 2), 1);
    ck_assert_uint_eq(st_utf8_cut("\xf0\x9f\x98\x80z", 5, 3), 0);
    ck_assert_uint_eq(st_utf8_cut("\xf0\x9f\x98\x80z", 5, 4), 4);
}
END_TEST

/* ---- redaction happens before mapping ---------------------------------------------------- */

START_TEST(secrets_redacted_everywhere_before_mapping)
{
    /* the token sits in tool_input, a key, the cwd (envelope), an unknown member, the error */
    const char *tok = "ghp_0123456789abcdefghijABCDEFGHIJ012345";
    char in[2048];
    snprintf(in, sizeof in,
             "{\"hook_event_name\":\"PostToolUseFailure\",\"cwd\":\"/home/%s\",\"tool_name\":\"Bash\","
             "\"tool_input\":{\"command\":\"curl -H 'Authorization: token %s'\",\"%s\":1},"
             "\"error\":\"bad credentials %s\",\"extra\":{\"deep\":[[[\"%s\"]]]}}",
             tok, tok, tok, tok, tok);
    st_event ev;
    build_s(&ev, in);
    ck_assert(ev.redactions >= 5);
    st_buf all = { 0 };
    st_json_write(&all, ev.meta, 0);
    for (size_t i = 0; i < ev.rec.npayloads; i++) st_buf_put(&all, ev.rec.payloads[i].data, ev.rec.payloads[i].len);
    st_buf_putc(&all, 0);
    ck_assert_msg(strstr((char *)all.data, "ghp_0123456789") == NULL, "secret survived: %s", (char *)all.data);
    ck_assert_ptr_nonnull(strstr((char *)all.data, "[REDACTED:github-token]"));
    const st_json *red = st_json_get(ev.meta, "redactions");
    ck_assert_ptr_nonnull(red);
    int64_t n;
    ck_assert_int_eq(st_json_get_i64(red, "github-token", &n), 0);
    ck_assert_int_ge(n, 5);
    st_buf_free(&all);
    st_event_free(&ev);

    /* malformed input is redacted as raw bytes */
    snprintf(in, sizeof in, "{\"tool_input\":{\"command\":\"echo %s\"", tok);
    build_s(&ev, in);
    ck_assert(ev.malformed);
    char *raw = payload_str(&ev, "raw");
    ck_assert_ptr_null(strstr(raw, "ghp_0123456789"));
    free(raw);
    ck_assert_ptr_nonnull(st_json_get(ev.meta, "redactions"));
    st_event_free(&ev);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("event");
    TCase *tc = tcase_create("map");
    tcase_add_loop_test(tc, every_sample_payload, 0, (int)(sizeof samples / sizeof samples[0]));
    tcase_add_test(tc, payload_bytes_keep_input_order_and_literals);
    tcase_add_test(tc, malformed_inputs);
    tcase_add_test(tc, malformed_deep_nesting);
    tcase_add_test(tc, over_the_size_limit);
    tcase_add_test(tc, withheld_keeps_identity_only);
    tcase_add_test(tc, over_the_size_limit_cut_secret_dropped);
    tcase_add_test(tc, truncated_input_cut_secret_dropped);
    tcase_add_test(tc, invalid_utf8_and_lone_surrogates_are_replaced_and_counted);
    tcase_add_test(tc, nul_inside_strings_is_kept);
    tcase_add_test(tc, event_names_are_length_exact);
    tcase_add_test(tc, duplicate_keys_first_wins_rest_kept);
    tcase_add_test(tc, long_strings_are_cut_and_kept_whole_in_event);
    tcase_add_test(tc, error_summary_first_line_200_bytes);
    tcase_add_test(tc, durations);
    tcase_add_test(tc, mcp_names);
    tcase_add_test(tc, inference_without_hook_event_name);
    tcase_add_test(tc, interrupted_bash_output);
    tcase_add_test(tc, session_fallback_and_identity);
    tcase_add_test(tc, utf8_cut);
    tcase_add_test(tc, secrets_redacted_everywhere_before_mapping);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
