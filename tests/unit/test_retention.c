/*
 * test_retention.c: retention on a real store (store/retention.h) with the
 * synthetic clock (SEALTRAIL_FAKE_TIME): the signed policy and the refusal
 * of changes that would shorten protection; erasure (payload and salt gone,
 * proofs and check intact, the bytes absent from every file of the store,
 * raw and decompressed, with a positive control); a forged retention row
 * caught by check; eight years of monthly entries archived, verified and
 * pruned, with a premature prune refused; a premature prune written behind
 * the command's back caught by the auditor's retention judgement (the
 * bundle still verifies); recovery of an interrupted erase;
 * and compaction while other processes append (nothing lost).
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>
#include <zstd.h>

#include "export.h"
#include "retention_ops.h"
#include "store_int.h"
#include "testutil.h"
#include "verifier.h"

#define Y ((int64_t)365 * 86400)
#define MONTH ((int64_t)2628000)
#define T0 ((int64_t)1483228800)   /* 2017-01-01, seconds */

static char *dir;

static void setup(void)
{
    ck_assert(sodium_init() >= 0);
    setenv("SEALTRAIL_NO_SYSLOG", "1", 1);
    dir = tu_tmpdir();
    ck_assert_ptr_nonnull(dir);
}

static void teardown(void)
{
    unsetenv("SEALTRAIL_FAKE_TIME");
    tu_rmrf(dir);
    free(dir);
}

static void at(int64_t secs)
{
    char b[32];
    snprintf(b, sizeof b, "%lld", (long long)secs);
    setenv("SEALTRAIL_FAKE_TIME", b, 1);
}

static st_store *make_store(void)
{
    char vkey[ST_VKEY_MAX];
    st_init_opts o = { .origin = "retention.example/log", .seal_max_age_us = 60LL * 1000000 };
    ck_assert_int_eq(st_store_init(dir, &o, vkey), 0);
    st_store *s;
    ck_assert_int_eq(st_store_open(&s, dir, ST_OPEN_NOSYSLOG), 0);
    return s;
}

static uint64_t event(st_store *s, const char *tool, const char *path, const char *secret)
{
    char j[1024];
    int n = snprintf(j, sizeof j,
                     "{\"hook_event_name\":\"PostToolUse\",\"session_id\":\"s\",\"tool_name\":\"%s\","
                     "\"tool_input\":{\"file_path\":\"%s\",\"content\":\"%s\"},\"tool_response\":{\"ok\":\"%s-out\"}}",
                     tool, path, secret, secret);
    uint64_t idx;
    ck_assert_int_eq(st_append_event(s, j, (size_t)n, &idx), 0);
    return idx;
}

static void seal(st_store *s)
{
    char *note;
    size_t len;
    ck_assert_int_eq(st_seal(s, &note, &len), 0);
    free(note);
}

/* ---- searching the store's files ------------------------------------------------------------------ */

static int mem_has(const uint8_t *h, size_t hl, const char *needle)
{
    return memmem(h, hl, needle, strlen(needle)) != NULL;
}

/* needle in the bytes, or in any zstd frame found in them (decompressed) */
static int bytes_have(const uint8_t *d, size_t n, const char *needle)
{
    if (mem_has(d, n, needle)) return 1;
    static const uint8_t magic[4] = { 0x28, 0xb5, 0x2f, 0xfd };
    for (size_t i = 0; i + 4 <= n; i++) {
        if (memcmp(d + i, magic, 4) != 0) continue;
        unsigned long long sz = ZSTD_getFrameContentSize(d + i, n - i);
        if (sz == ZSTD_CONTENTSIZE_ERROR || sz == ZSTD_CONTENTSIZE_UNKNOWN || sz > (16u << 20)) continue;
        size_t fl = ZSTD_findFrameCompressedSize(d + i, n - i);
        if (ZSTD_isError(fl)) continue;
        uint8_t *out = malloc(sz ? sz : 1);
        size_t got = ZSTD_decompress(out, sz, d + i, fl);
        int hit = !ZSTD_isError(got) && mem_has(out, got, needle);
        free(out);
        if (hit) return 1;
    }
    return 0;
}

/* Every regular file under the store directory (recursively). */
static int store_files_have(const char *path, const char *needle)
{
    DIR *d = opendir(path);
    ck_assert_ptr_nonnull(d);
    struct dirent *e;
    int hit = 0;
    while (!hit && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", path, e->d_name);
        struct stat st;
        ck_assert_int_eq(lstat(p, &st), 0);
        if (S_ISDIR(st.st_mode)) {
            hit = store_files_have(p, needle);
        } else if (S_ISREG(st.st_mode)) {
            size_t n;
            char *b = tu_read_file(p, &n);
            ck_assert_ptr_nonnull(b);
            hit = bytes_have((const uint8_t *)b, n, needle);
            free(b);
        }
    }
    closedir(d);
    return hit;
}

/* ---- policy ----------------------------------------------------------------------------------------- */

START_TEST(policy_set_and_refusals)
{
    at(T0);
    st_store *s = make_store();
    st_rrec *p = calloc(1, sizeof *p);
    ck_assert_int_eq(st_retention_policy(s, p), 0);
    ck_assert_int_eq(p->kind, ST_RREC_NONE);
    st_policy_in in = { 7 * Y * 1000000, 1, 8 * Y * 1000000, 1, Y * 1000000, "SOX 802" };
    uint64_t idx;
    ck_assert_int_eq(st_retention_set(s, &in, &idx), 0);
    ck_assert_int_eq(st_retention_policy(s, p), 0);
    ck_assert(p->kind == ST_RREC_POLICY && p->index == idx && p->min_us == 7 * Y * 1000000 && p->has_max);
    ck_assert_str_eq(p->reason, "SOX 802");
    event(s, "Write", "/a", "one");
    /* a year later: lowering the minimum to 5 y would end protection of live entries */
    at(T0 + Y);
    st_policy_in lower = { 5 * Y * 1000000, 0, 0, 0, 0, NULL };
    ck_assert_int_eq(st_retention_set(s, &lower, NULL), ST_EPOLICY);
    ck_assert_ptr_nonnull(strstr(st_store_error(s), "refused"));
    ck_assert_ptr_nonnull(strstr(st_store_error(s), "7y"));
    st_policy_in inverted = { 9 * Y * 1000000, 1, 8 * Y * 1000000, 0, 0, NULL };
    ck_assert_int_eq(st_retention_set(s, &inverted, NULL), ST_EINVAL);
    ck_assert_int_eq(st_retention_policy(s, p), 0);
    ck_assert_uint_eq(p->index, idx);                 /* nothing changed */
    /* raising is always allowed; the record names the one it replaces */
    st_policy_in raise = { 10 * Y * 1000000, 0, 0, 0, 0, NULL };
    uint64_t idx2;
    ck_assert_int_eq(st_retention_set(s, &raise, &idx2), 0);
    ck_assert_int_eq(st_retention_policy(s, p), 0);
    ck_assert(p->index == idx2 && p->has_previous && p->previous == idx && !p->has_max);
    /* twenty years on nothing is protected any more: lowering is allowed */
    at(T0 + 20 * Y);
    ck_assert_int_eq(st_retention_set(s, &lower, NULL), 0);
    ck_assert_int_eq(st_check(s), 0);
    free(p);
    st_store_close(s);
}
END_TEST

/* ---- erasure ------------------------------------------------------------------------------------------ */

START_TEST(erase_removes_bytes_keeps_proofs)
{
    at(T0);
    st_store *s = make_store();
    event(s, "Write", "/keep/a.txt", "KEEP-ME-7c1e9a");
    event(s, "Write", "/leak/b.txt", "LEAKED-SECRET-4f2d8b");
    event(s, "Bash", "/c", "ALSO-KEPT-91be");
    seal(s);
    uint8_t root_before[32];
    ck_assert_int_eq(st_tree_root(s, 3, root_before), 0);
    ck_assert(store_files_have(dir, "LEAKED-SECRET-4f2d8b"));

    st_erase_opts o = { .index = 1, .reason = "leaked credential, ticket SEC-1" };
    st_erase_result r;
    ck_assert_int_eq(st_erase(s, &o, &r), 0);
    ck_assert_uint_eq(r.nnames, 2);
    ck_assert_uint_eq(r.record, 3);
    ck_assert(r.compacted && r.bytes_after <= r.bytes_before);
    uint8_t *b = NULL, salt[16];
    size_t bl;
    ck_assert_int_eq(st_payload_get(s, 1, "tool_input", &b, &bl, salt), ST_ENOTFOUND);
    ck_assert_int_eq(st_payload_get(s, 0, "tool_input", &b, &bl, salt), 0);
    free(b);
    ck_assert_int_eq(st_check(s), 0);
    uint8_t root_after[32];
    ck_assert_int_eq(st_tree_root(s, 3, root_after), 0);
    ck_assert_mem_eq(root_before, root_after, 32);
    /* the erased bytes are in no file of the store, raw or decompressed; the others are */
    ck_assert(!store_files_have(dir, "LEAKED-SECRET-4f2d8b"));
    ck_assert(!store_files_have(dir, "/leak/b.txt"));          /* the path index row went too */
    ck_assert(store_files_have(dir, "KEEP-ME-7c1e9a"));
    ck_assert(store_files_have(dir, "ALSO-KEPT-91be"));
    /* the record, signed and sealed */
    uint8_t *rb;
    size_t rl;
    ck_assert_int_eq(st_entry_get(s, 3, &rb, &rl), 0);
    st_rrec *rec = calloc(1, sizeof *rec);
    ck_assert_int_eq(st_rrec_parse_bytes(rec, rb, rl, NULL), 0);
    ck_assert(rec->kind == ST_RREC_ERASURE && rec->target == 1 && rec->nnames == 2);
    ck_assert_str_eq(rec->reason, "leaked credential, ticket SEC-1");
    free(rb);
    free(rec);
    /* refusals */
    ck_assert_int_eq(st_erase(s, &o, &r), ST_EEXIST);
    const char *bad[] = { "nope" };
    st_erase_opts o2 = { .index = 0, .names = bad, .nnames = 1, .reason = "x" };
    ck_assert_int_eq(st_erase(s, &o2, &r), ST_EINVAL);
    ck_assert_ptr_nonnull(strstr(st_store_error(s), "tool_input"));
    st_erase_opts o3 = { .index = 0, .reason = "" };
    ck_assert_int_eq(st_erase(s, &o3, &r), ST_EINVAL);
    st_erase_opts o4 = { .index = 99, .reason = "x" };
    ck_assert_int_eq(st_erase(s, &o4, &r), ST_EINVAL);
    /* the reason: one line of UTF-8, no control characters, at most 1000 bytes (as a policy's) */
    st_status sb, sa;
    ck_assert_int_eq(st_store_status(s, &sb), 0);
    st_erase_opts o6 = { .index = 0, .reason = "two\nlines" };
    ck_assert_int_eq(st_erase(s, &o6, &r), ST_EINVAL);
    ck_assert_ptr_nonnull(strstr(st_store_error(s), "control character (byte 0x0a at offset 3)"));
    st_erase_opts o7 = { .index = 0, .reason = "\x1b[2Jcleared" };
    ck_assert_int_eq(st_erase(s, &o7, &r), ST_EINVAL);
    ck_assert_ptr_nonnull(strstr(st_store_error(s), "byte 0x1b at offset 0"));
    st_erase_opts o8 = { .index = 0, .reason = "del\x7f" };
    ck_assert_int_eq(st_erase(s, &o8, &r), ST_EINVAL);
    st_erase_opts o9 = { .index = 0, .reason = "bad \xff utf-8" };
    ck_assert_int_eq(st_erase(s, &o9, &r), ST_EINVAL);
    char longr[1002];
    memset(longr, 'r', 1001);
    longr[1001] = 0;
    st_erase_opts o10 = { .index = 0, .reason = longr };
    ck_assert_int_eq(st_erase(s, &o10, &r), ST_EINVAL);
    ck_assert_ptr_nonnull(strstr(st_store_error(s), "at most 1000 bytes (it has 1001)"));
    ck_assert_int_eq(st_store_status(s, &sa), 0);
    ck_assert_uint_eq(sa.size, sb.size);
    /* one payload only */
    const char *one[] = { "tool_response" };
    st_erase_opts o5 = { .index = 2, .names = one, .nnames = 1, .reason = "GDPR" };
    ck_assert_int_eq(st_erase(s, &o5, &r), 0);
    ck_assert_int_eq(st_payload_get(s, 2, "tool_input", &b, &bl, salt), 0);
    free(b);
    ck_assert_int_eq(st_payload_get(s, 2, "tool_response", &b, &bl, salt), ST_ENOTFOUND);
    ck_assert_int_eq(st_check(s), 0);
    st_store_close(s);
}
END_TEST

typedef struct forge {
    uint64_t index, record;
} forge;

static int forge_row(st_txn *txn, void *arg)
{
    forge *f = arg;
    uint8_t key[8 + 10], v[8];
    st_be64_put(key, f->index);
    memcpy(key + 8, "tool_input", 10);
    st_be64_put(v, f->record);
    int rc = st_payload_delete(txn, f->index, "tool_input");
    return rc ? rc : st_db_put(txn, ST_T_RETENTION, key, 18, v, 8, 0);
}

/* A payload deleted with a retention row that names a record not covering it: tampering. */
START_TEST(forged_retention_row_caught)
{
    at(T0);
    st_store *s = make_store();
    for (int i = 0; i < 3; i++) event(s, "Write", "/f", "x");
    seal(s);
    st_erase_opts o = { .index = 0, .reason = "r", .no_compact = 1 };
    st_erase_result r;
    ck_assert_int_eq(st_erase(s, &o, &r), 0);           /* record 3 erases entry 0 */
    forge f = { 2, 3 };                                   /* entry 2 "explained" by the erasure of entry 0 */
    ck_assert_int_eq(st_db_write(s->db, forge_row, &f, NULL), 0);
    ck_assert_int_eq(st_check(s), ST_ECORRUPT);
    ck_assert_ptr_nonnull(strstr(st_store_error(s), "entry 2"));
    st_store_close(s);
}
END_TEST

/* ---- eight years: archive, verify, prune -------------------------------------------------------- */

START_TEST(eight_years_archive_and_prune)
{
    at(T0);
    st_store *s = make_store();
    st_policy_in in = { 7 * Y * 1000000, 1, 8 * Y * 1000000, 1, Y * 1000000, NULL };
    ck_assert_int_eq(st_retention_set(s, &in, NULL), 0);
    for (int m = 0; m < 97; m++) {                        /* one entry a month for eight years */
        at(T0 + m * MONTH);
        char secret[32];
        snprintf(secret, sizeof secret, "month-%02d-secret", m);
        event(s, "Write", "/p", secret);
    }
    at(T0 + 97 * MONTH);
    seal(s);
    char adir[4096];
    snprintf(adir, sizeof adir, "%s/arch", dir);
    st_archive_opts ao = { .dir = adir, .max_entries = 40 };
    st_archive_result ar;
    unsigned files = 0;
    uint64_t prev_end = 0;
    for (;;) {
        ck_assert_int_eq(st_archive_one(s, &ao, &ar), 0);
        if (!ar.archived) break;
        files++;
        ck_assert_uint_eq(ar.begin, prev_end);            /* no gap between archives */
        prev_end = ar.end;
        st_verify_report *rep = calloc(1, sizeof *rep);
        uint8_t fs[32], bs[32];
        uint64_t bb;
        ck_assert_int_eq(st_archive_verify_file(ar.path, s, rep, fs, bs, &bb), 0);
        ck_assert_mem_eq(fs, ar.sha256, 32);             /* the file, byte for byte, as recorded */
        ck_assert_mem_eq(bs, ar.bundle_sha256, 32);
        ck_assert_uint_eq(rep->entries, ar.end - ar.begin);
        free(rep);
    }
    ck_assert_uint_ge(files, 2);
    st_retention_state st;
    ck_assert_int_eq(st_retention_state_get(s, &st), 0);
    ck_assert_uint_eq(st.archived_end, prev_end);
    ck_assert_uint_eq(st.archives, files);
    ck_assert_uint_gt(st.removed_rows, 100);
    ck_assert_int_eq(st_check(s), 0);
    uint8_t *b = NULL, salt[16];
    size_t bl;
    ck_assert_int_eq(st_payload_get(s, 1, "tool_input", &b, &bl, salt), ST_ENOTFOUND);
    /* a prune younger than the minimum is refused */
    st_prune_opts po = { 1, 5 * Y * 1000000, adir };
    st_prune_result pr;
    ck_assert_int_eq(st_prune(s, &po, &pr), ST_EPOLICY);
    ck_assert_ptr_nonnull(strstr(st_store_error(s), "minimum retention"));
    /* at 12 years the first archive is past the 8 y maximum: pruned, file deleted */
    at(T0 + 12 * Y);
    st_prune_opts pd = { 0, 0, adir };
    ck_assert_int_eq(st_prune(s, &pd, &pr), 0);
    ck_assert(pr.pruned && pr.begin == 0 && pr.narchives >= 1 && pr.deleted == pr.narchives);
    char first[4096 + ST_RREC_FILE_MAX + 2];
    snprintf(first, sizeof first, "%s/%s", adir, pr.archives[0]);
    ck_assert_int_eq(access(first, F_OK), -1);
    ck_assert_int_eq(st_check(s), 0);
    uint64_t before, after;
    ck_assert_int_eq(st_store_compact(s, 0, &before, &after), 0);
    ck_assert_int_eq(st_check(s), 0);
    ck_assert(!store_files_have(dir, "month-00-secret"));
    st_store_close(s);
}
END_TEST

/* ---- what an auditor sees: export, verify with the retention observer, judge ------------------------- */

static st_rc_report *audit_store(st_store *s, int *verdict)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/audit.stb", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_ge(fd, 0);
    st_export_opts eo;
    memset(&eo, 0, sizeof eo);
    eo.kind = ST_SEL_FULL;
    st_export_stats xs;
    ck_assert_int_eq(st_export_store(s, &eo, fd, &xs), 0);
    ck_assert_int_eq((int)lseek(fd, 0, SEEK_SET), 0);
    st_rc *rc;
    ck_assert_int_eq(st_rc_new(&rc, NULL), 0);
    st_verify_observer obs;
    st_rc_observer(rc, &obs);
    st_rc_next_bundle(rc, "audit.stb");
    st_verify_opts vo = { .trust = &s->verifier, .ntrust = 1, .threads = 1, .observer = &obs };
    st_verify_report *rep = calloc(1, sizeof *rep);
    *verdict = st_verify_bundle_fd(fd, &vo, rep);
    close(fd);
    st_rc_bundle_end(rc);
    st_rc_report *rr = calloc(1, sizeof *rr);
    ck_assert_int_eq(st_rc_finish(rc, rr), 0);
    st_rc_free(rc);
    free(rep);
    return rr;
}

static int has_kind(const st_rc_report *r, int kind)
{
    for (size_t i = 0; i < r->nfindings; i++)
        if (r->findings[i].kind == kind) return 1;
    return 0;
}

/* A prune record written behind the store's back (the command refuses it) before the minimum:
 * the bundle still verifies (the record is signed), and retention judges it a violation. */
START_TEST(premature_prune_caught_by_auditor)
{
    at(T0);
    st_store *s = make_store();
    st_policy_in in = { 7 * Y * 1000000, 0, 0, 0, 0, NULL };
    ck_assert_int_eq(st_retention_set(s, &in, NULL), 0);
    for (int m = 0; m < 36; m++) {
        at(T0 + m * MONTH);
        event(s, "Write", "/p", "x");
    }
    at(T0 + 36 * MONTH);
    seal(s);
    int verdict;
    st_rc_report *r = audit_store(s, &verdict);
    ck_assert_int_eq(verdict, 0);
    ck_assert_int_eq(r->verdict, ST_RC_COMPLIANT);
    ck_assert_uint_eq(r->records_policy, 1);
    free(r);
    /* the rogue prune: entries 1..19, one to two years old, under a 7-year minimum */
    st_json_doc *doc = st_json_doc_new();
    st_json *data = st_json_new_object(doc);
    ck_assert_int_eq(st_json_object_add(doc, data, "begin", 5, st_json_new_int(doc, 1)), 0);
    ck_assert_int_eq(st_json_object_add(doc, data, "end", 3, st_json_new_int(doc, 20)), 0);
    uint64_t idx;
    ck_assert_int_eq(st_ret_append_record(s, "prune", doc, data, &idx), 0);
    st_json_doc_free(doc);
    st_rrec *rec = calloc(1, sizeof *rec);
    rec->kind = ST_RREC_PRUNE;
    rec->index = idx;
    rec->begin = 1;
    rec->end = 20;
    ck_assert_int_eq(st_ret_apply(s, rec, NULL), 0);
    free(rec);
    ck_assert_int_eq(st_check(s), 0);              /* the store itself is consistent: the record explains it */
    r = audit_store(s, &verdict);
    ck_assert_int_eq(verdict, 0);                   /* integrity: verified */
    ck_assert_int_eq(r->verdict, ST_RC_VIOLATED);   /* retention: violated */
    ck_assert(has_kind(r, ST_RCF_PREMATURE_PRUNE));
    ck_assert_uint_eq(r->payload_entries_pruned, 19);
    free(r);
    st_store_close(s);
}
END_TEST

/* ---- recovery -------------------------------------------------------------------------------------- */

/* A crash in `erase --index 0` after its record was appended, before the
 * payload was removed: the journal is pending. Returns the record's index. */
static uint64_t interrupted_erase_of_0(st_store *s)
{
    st_json_doc *doc = st_json_doc_new();
    st_json *j = st_json_new_object(doc), *data = st_json_new_object(doc);
    ck_assert_int_eq(st_json_object_add(doc, j, "op", 2, st_json_new_str(doc, "erase")), 0);
    ck_assert_int_eq(st_json_object_add(doc, j, "index", 5, st_json_new_int(doc, 0)), 0);
    ck_assert_int_eq(st_json_object_add(doc, data, "index", 5, st_json_new_int(doc, 0)), 0);
    ck_assert_int_eq(st_json_object_add(doc, data, "reason", 6, st_json_new_str(doc, "crash test")), 0);
    ck_assert_int_eq(st_ret_journal_begin(s, doc, j), 0);
    uint64_t rec;
    ck_assert_int_eq(st_ret_append_record(s, "erasure", doc, data, &rec), 0);
    st_json_doc_free(doc);
    return rec;
}

START_TEST(recovery_finishes_interrupted_erase)
{
    at(T0);
    st_store *s = make_store();
    event(s, "Write", "/f", "SECRET-ONE");
    event(s, "Write", "/g", "SECRET-TWO");
    seal(s);
    (void)interrupted_erase_of_0(s);
    st_store_close(s);
    ck_assert_int_eq(st_store_open(&s, dir, ST_OPEN_NOSYSLOG), 0);
    st_retention_state st;
    ck_assert_int_eq(st_retention_state_get(s, &st), 0);
    ck_assert_int_eq(st.journal_pending, 1);
    ck_assert_int_eq(st_retention_recover(s), 0);
    ck_assert_int_eq(st_retention_state_get(s, &st), 0);
    ck_assert_int_eq(st.journal_pending, 0);
    uint8_t *b = NULL, salt[16];
    size_t bl;
    ck_assert_int_eq(st_payload_get(s, 0, "tool_input", &b, &bl, salt), ST_ENOTFOUND);
    ck_assert_int_eq(st_payload_get(s, 1, "tool_input", &b, &bl, salt), 0);
    free(b);
    ck_assert_int_eq(st_check(s), 0);
    /* a journal whose record never made it is dropped, nothing removed */
    st_json_doc *doc = st_json_doc_new();
    st_json *j = st_json_new_object(doc);
    ck_assert_int_eq(st_json_object_add(doc, j, "op", 2, st_json_new_str(doc, "erase")), 0);
    ck_assert_int_eq(st_json_object_add(doc, j, "index", 5, st_json_new_int(doc, 1)), 0);
    ck_assert_int_eq(st_ret_journal_begin(s, doc, j), 0);
    st_json_doc_free(doc);
    ck_assert_int_eq(st_retention_recover(s), 0);
    ck_assert_int_eq(st_payload_get(s, 1, "tool_input", &b, &bl, salt), 0);
    free(b);
    ck_assert_int_eq(st_retention_state_get(s, &st), 0);
    ck_assert_int_eq(st.journal_pending, 0);
    st_store_close(s);
}
END_TEST

static int damage_row(st_txn *txn, void *ctx)
{
    uint8_t key[8];
    st_be64_put(key, *(uint64_t *)ctx);
    return st_db_put(txn, ST_T_ENTRIES, key, 8, "\x02{}", 3, 0);   /* an unknown row tag */
}

/* A pending journal whose record cannot be read is kept, and recovery says
 * why, rather than taking the record for one that never made it. */
START_TEST(recovery_keeps_journal_when_record_is_damaged)
{
    at(T0);
    st_store *s = make_store();
    event(s, "Write", "/f", "SECRET-ONE");
    seal(s);
    uint64_t rec = interrupted_erase_of_0(s);
    st_store_close(s);
    st_db *db;
    ck_assert_int_eq(st_db_open(&db, dir, 0, NULL), 0);
    ck_assert_int_eq(st_db_write(db, damage_row, &rec, NULL), 0);
    st_db_close(db);
    ck_assert_int_eq(st_store_open(&s, dir, ST_OPEN_NOSYSLOG), 0);
    ck_assert_int_eq(st_retention_recover(s), ST_ECORRUPT);
    ck_assert_msg(strstr(st_store_error(s), "interrupted erase") && strstr(st_store_error(s), "damaged"), "%s",
                  st_store_error(s));
    st_retention_state st;
    ck_assert_int_eq(st_retention_state_get(s, &st), 0);
    ck_assert_int_eq(st.journal_pending, 1);
    uint8_t *b = NULL, salt[16];
    size_t bl;
    ck_assert_int_eq(st_payload_get(s, 0, "tool_input", &b, &bl, salt), 0);   /* nothing removed */
    free(b);
    st_store_close(s);
}
END_TEST

/* ---- compaction under concurrent appends ---------------------------------------------------------- */

START_TEST(compaction_loses_no_concurrent_append)
{
    unsetenv("SEALTRAIL_FAKE_TIME");
    st_store *s = make_store();
    for (int i = 0; i < 20; i++) event(s, "Write", "/f", "seed");
    seal(s);
    setenv("SEALTRAIL_GATE_WAIT_MS", "60000", 1);
    pid_t pids[2];
    for (int p = 0; p < 2; p++) {
        pids[p] = fork();
        ck_assert_int_ge(pids[p], 0);
        if (pids[p] == 0) {
            for (int i = 0; i < 60; i++) {            /* a hook-like process per event */
                st_store *cs;
                if (st_store_open(&cs, dir, ST_OPEN_NOSYSLOG) != 0) _exit(1);
                char j[256];
                int n = snprintf(j, sizeof j, "{\"hook_event_name\":\"Stop\",\"session_id\":\"c%d-%d\"}", p, i);
                uint64_t idx;
                if (st_append_event(cs, j, (size_t)n, &idx) != 0) _exit(2);
                st_store_close(cs);
            }
            _exit(0);
        }
    }
    unsigned erased = 0;
    for (uint64_t i = 0; i < 6; i++) {
        st_erase_opts o = { .index = i, .reason = "concurrency test" };
        st_erase_result r;
        ck_assert_int_eq(st_erase(s, &o, &r), 0);
        ck_assert(r.compacted);
        erased++;
    }
    for (int p = 0; p < 2; p++) {
        int status;
        ck_assert_int_eq(waitpid(pids[p], &status, 0), pids[p]);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child %d: status %d", p, status);
    }
    unsetenv("SEALTRAIL_GATE_WAIT_MS");
    st_status st;
    ck_assert_int_eq(st_store_status(s, &st), 0);
    ck_assert_uint_eq(st.size, 20 + 120 + erased);
    seal(s);
    ck_assert_int_eq(st_check(s), 0);
    st_store_close(s);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("retention");
    TCase *tc = tcase_create("retention");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, policy_set_and_refusals);
    tcase_add_test(tc, erase_removes_bytes_keeps_proofs);
    tcase_add_test(tc, forged_retention_row_caught);
    tcase_add_test(tc, eight_years_archive_and_prune);
    tcase_add_test(tc, premature_prune_caught_by_auditor);
    tcase_add_test(tc, recovery_finishes_interrupted_erase);
    tcase_add_test(tc, recovery_keeps_journal_when_record_is_damaged);
    tcase_add_test(tc, compaction_loses_no_concurrent_append);
    suite_add_tcase(su, tc);
    return tu_run_suite(su);
}
