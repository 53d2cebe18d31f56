/*
 * test_bundle_store.c: export from a real store (LMDB, store/export_store.c)
 * and verify in-process, at 100,000 entries, for every kind of selection.
 * The store is built fast with batched st_append_records (10,000 entries per
 * transaction, no per-append seal policy) and sealed at 25,000, 50,000,
 * 75,000 and 100,000. Also: unsealed entries refused, --seal, and a
 * --from-checkpoint export linked with --previous.
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "export.h"
#include "record.h"
#include "retention.h"
#include "sealtrail.h"
#include "store_int.h"
#include "testutil.h"
#include "verifier.h"

#define N_BIG 100000u
#define T0_US 1761955200000000LL    /* 2025-11-01T00:00:00Z */

static char *g_dir;
static st_store *g_s;
static st_vkey g_key;

/* Appends entries [from, to): tool Bash/Edit/Read in turn, one second apart. */
static void append_range(st_store *s, uint64_t from, uint64_t to)
{
    static const char *const tools[] = { "Bash", "Edit", "Read" };
    const size_t batch = 10000;
    st_record_in *recs = calloc(batch, sizeof *recs);
    char (*in)[64] = calloc(batch, 64);
    char (*out)[64] = calloc(batch, 64);
    for (uint64_t i = from; i < to;) {
        st_json_doc *doc = st_json_doc_new();
        size_t n = 0;
        for (; n < batch && i < to; n++, i++) {
            st_json *m = st_json_new_object(doc);
            char sess[32];
            snprintf(sess, sizeof sess, "s%llu", (unsigned long long)(i / 10));
            ck_assert_int_eq(st_json_object_add(doc, m, "event", 5, st_json_new_str(doc, "PostToolUse")), 0);
            ck_assert_int_eq(st_json_object_add(doc, m, "kind", 4, st_json_new_str(doc, "event")), 0);
            ck_assert_int_eq(st_json_object_add(doc, m, "tool", 4, st_json_new_str(doc, tools[i % 3])), 0);
            ck_assert_int_eq(st_json_object_add(doc, m, "session", 7, st_json_new_str(doc, sess)), 0);
            ck_assert_int_eq(st_json_object_add(doc, m, "status", 6,
                                                st_json_new_str(doc, i % 7 == 0 ? "failed" : "succeeded")), 0);
            int il = snprintf(in[n], 64, "{\"command\":\"echo %llu\"}", (unsigned long long)i);
            int ol = snprintf(out[n], 64, "\"line %llu ok\"", (unsigned long long)i);
            st_record_in *r = &recs[n];
            memset(r, 0, sizeof *r);
            r->meta = m;
            r->time_us = T0_US + (int64_t)i * 1000000;
            r->npayloads = 2;
            r->payloads[0] = (st_payload_in){ "tool_input", (const uint8_t *)in[n], (size_t)il, NULL };
            r->payloads[1] = (st_payload_in){ "tool_response", (const uint8_t *)out[n], (size_t)ol, NULL };
        }
        uint64_t first;
        int rc = st_append_records(s, recs, n, &first);
        ck_assert_msg(rc == 0, "append: %s: %s", st_strerror(rc), st_store_error(s));
        st_json_doc_free(doc);
    }
    free(recs);
    free(in);
    free(out);
}

static void seal(st_store *s)
{
    char *note = NULL;
    size_t len;
    int rc = st_seal(s, &note, &len);
    ck_assert_msg(rc == 0, "seal: %s: %s", st_strerror(rc), st_store_error(s));
    free(note);
}

/* Builds the 100,000-entry store once (unchecked fixture: in the parent,
 * before the tests fork); each test opens its own handle, as LMDB wants. */
static void build_once(void)
{
    g_dir = tu_tmpdir();
    char vk[ST_VKEY_MAX];
    st_init_opts io;
    memset(&io, 0, sizeof io);
    io.origin = "unit.test/export";
    ck_assert_int_eq(st_store_init(g_dir, &io, vk), 0);
    ck_assert_int_eq(st_store_open(&g_s, g_dir, ST_OPEN_NOSYSLOG | ST_OPEN_NOSEAL), 0);
    st_err err;
    ck_assert_int_eq(st_vkey_parse(&g_key, vk, strlen(vk), &err), 0);
    for (uint64_t x = 0; x < N_BIG; x += 25000) {
        append_range(g_s, x, x + 25000);
        seal(g_s);
    }
    st_store_close(g_s);
    g_s = NULL;
}

static void remove_once(void)
{
    tu_rmrf(g_dir);
    free(g_dir);
}

static void setup(void)
{
    ck_assert_int_eq(st_store_open(&g_s, g_dir, ST_OPEN_NOSYSLOG | ST_OPEN_NOSEAL), 0);
}

static void teardown(void)
{
    st_store_close(g_s);
    g_s = NULL;
}

/* Exports with o into a temp file and verifies it; returns the verdict, report in rep. */
static int export_verify(const st_export_opts *o, const char *prev, st_verify_report *rep, int *export_rc)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/b.stb", g_dir);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_ge(fd, 0);
    st_export_stats stats;
    *export_rc = st_export_store(g_s, o, fd, &stats);
    if (*export_rc) {
        close(fd);
        return -1;
    }
    lseek(fd, 0, SEEK_SET);
    st_verify_opts vo = { .trust = &g_key, .ntrust = 1, .previous = prev, .previous_len = prev ? strlen(prev) : 0 };
    int v = st_verify_bundle_fd(fd, &vo, rep);
    close(fd);
    return v;
}

START_TEST(test_store_100k_every_kind)
{
    st_verify_report *rep = calloc(1, sizeof *rep);
    st_export_opts o;
    int erc;
    struct { st_sel_kind kind; uint64_t want; } cases[] = {
        { ST_SEL_FULL, N_BIG }, { ST_SEL_RANGE, 75309 }, { ST_SEL_TIME, 75309 }, { ST_SEL_FILTER, 4762 },
    };
    for (size_t c = 0; c < 4; c++) {
        memset(&o, 0, sizeof o);
        o.kind = cases[c].kind;
        o.from = 12345;
        o.to = 87653;
        if (o.kind == ST_SEL_TIME) {
            o.has_since = o.has_until = 1;
            o.since_us = T0_US + 12345 * 1000000LL;
            o.until_us = T0_US + 87654 * 1000000LL;
        }
        if (o.kind == ST_SEL_FILTER) {
            o.tool = "Read";
            o.status = "failed";
        }
        int v = export_verify(&o, NULL, rep, &erc);
        ck_assert_msg(erc == 0, "kind %d: export: %s: %s", (int)o.kind, st_strerror(erc), st_store_error(g_s));
        ck_assert_msg(v == 0, "kind %d: verdict %d step %u: %s", (int)o.kind, v, rep->step, rep->failure);
        ck_assert_uint_eq(rep->entries, cases[c].want);
        ck_assert_uint_eq(rep->payloads, 2 * cases[c].want);
        ck_assert_uint_eq(rep->cp_final_size, N_BIG);
        ck_assert_uint_eq(rep->consistency_proofs, rep->checkpoints - 1);
        if (o.kind == ST_SEL_FULL) {
            ck_assert_uint_eq(rep->checkpoints, 4);
            ck_assert_uint_eq(rep->roots_recomputed, 4);
            ck_assert_uint_eq(rep->sessions, N_BIG / 10);
        }
        if (o.kind == ST_SEL_FILTER) {
            ck_assert_uint_eq(rep->inclusion_proofs, cases[c].want);
            ck_assert_uint_eq(rep->tools.n, 1);
            ck_assert_str_eq(rep->tools.v[0].name, "Read");
        }
    }
    free(rep);
}
END_TEST

START_TEST(test_store_unsealed_and_previous)
{
    st_verify_report *rep = calloc(1, sizeof *rep);
    st_export_opts o;
    int erc;
    char *cp = NULL;
    size_t cplen;
    ck_assert_int_eq(st_checkpoint_get(g_s, 50000, ST_CP_EXACT, NULL, &cp, &cplen), 0);
    append_range(g_s, N_BIG, N_BIG + 10);          /* 10 unsealed entries */
    memset(&o, 0, sizeof o);
    ck_assert_int_eq(export_verify(&o, NULL, rep, &erc), -1);
    ck_assert_int_eq(erc, ST_ENOTSEALED);
    o.seal = 1;                                    /* --seal */
    ck_assert_int_eq(export_verify(&o, NULL, rep, &erc), 0);
    ck_assert_uint_eq(rep->entries, N_BIG + 10);
    /* --from-checkpoint 50000 with a range after it; --previous links through the bundle */
    memset(&o, 0, sizeof o);
    o.kind = ST_SEL_RANGE;
    o.from = 90000;
    o.to = UINT64_MAX;
    o.from_checkpoint = cp;
    o.from_checkpoint_len = cplen;
    int v = export_verify(&o, cp, rep, &erc);
    ck_assert_msg(v == 0, "verdict %d: %s", v, rep->failure);
    ck_assert_int_eq(rep->previous_checked, 1);
    ck_assert_uint_eq(rep->previous_size, 50000);
    ck_assert_str_eq(rep->previous_how, "previous checkpoint");
    free(cp);
    free(rep);
}
END_TEST

/* A payload erased with the retention code (issue 7) is exported as ABSENT,
 * explained by the erasure record carried as a support entry [BUNDLE-9]. */
START_TEST(test_store_erased_payload)
{
    const char *names[1] = { "tool_response" };
    st_erase_opts eo;
    memset(&eo, 0, sizeof eo);
    eo.index = 10;
    eo.names = names;
    eo.nnames = 1;
    eo.reason = "test: personal data";
    eo.no_compact = 1;
    st_erase_result er;
    int rc = st_erase(g_s, &eo, &er);
    ck_assert_msg(rc == 0, "erase: %s: %s", st_strerror(rc), st_store_error(g_s));
    st_verify_report *rep = calloc(1, sizeof *rep);
    st_export_opts o;
    memset(&o, 0, sizeof o);
    o.kind = ST_SEL_RANGE;
    o.from = 0;
    o.to = 19;
    o.seal = 1;
    int erc;
    int v = export_verify(&o, NULL, rep, &erc);
    ck_assert_msg(erc == 0, "export: %s: %s", st_strerror(erc), st_store_error(g_s));
    ck_assert_msg(v == 0, "verdict %d step %u: %s", v, rep->step, rep->failure);
    ck_assert_uint_eq(rep->absent, 1);
    ck_assert_uint_eq(rep->absent_erasure, 1);
    ck_assert_uint_eq(rep->absent_list[0].index, 10);
    ck_assert_str_eq(rep->absent_list[0].name, "tool_response");
    ck_assert_uint_eq(rep->absent_list[0].record, er.record);
    ck_assert_uint_eq(rep->supports, 1);
    ck_assert_uint_eq(rep->payloads, 2 * 20 - 1);
    /* the same through a filter that selects entry 10 */
    memset(&o, 0, sizeof o);
    o.kind = ST_SEL_FILTER;
    o.tool = "Edit";
    o.has_until = 1;
    o.until_us = T0_US + 30 * 1000000LL;
    v = export_verify(&o, NULL, rep, &erc);
    ck_assert_msg(erc == 0 && v == 0, "filter: export %d verdict %d: %s", erc, v, rep->failure);
    ck_assert_uint_eq(rep->entries, 10);
    ck_assert_uint_eq(rep->absent, 1);
    free(rep);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("bundle_store");
    TCase *tc = tcase_create("store");
    tcase_set_timeout(tc, 300);
    tcase_add_unchecked_fixture(tc, build_once, remove_once);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_store_100k_every_kind);
    tcase_add_test(tc, test_store_unsealed_and_previous);
    tcase_add_test(tc, test_store_erased_payload);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
