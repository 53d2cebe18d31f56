/* testutil.h: helpers shared by the Check unit tests. */
#ifndef ST_TESTUTIL_H
#define ST_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include <check.h>

/* Reads a whole file (NUL-terminated) or returns NULL. Caller frees. */
char *tu_read_file(const char *path, size_t *len_out);
/* $ST_SHARED_DIR/<rel>, or NULL when shared/ is absent (tests then skip upstream cases). */
const char *tu_shared_path(const char *rel);
/* $ST_SOURCE_DIR/<rel> */
const char *tu_source_path(const char *rel);
/* A fresh empty directory under $TMPDIR (removed by tu_rmrf). Caller frees. */
char *tu_tmpdir(void);
void tu_rmrf(const char *path);

/* Parses $ST_SHARED_DIR/<rel> with cJSON (a different parser from the one
 * under test). NULL, with a note on stderr, when shared/ is absent: the
 * caller skips those cases. Fails the test if the file does not parse. */
struct cJSON;
struct cJSON *tu_load_shared_json(const char *rel);
/* The string member k of o, or NULL. */
const char *tu_jstr(const struct cJSON *o, const char *k);

/* A fragment table in docs/FORMAT.md (the rows "| 0xNN | `text` |" between
 * the first `from` and the next `to` after it) is the code's, token for
 * token: each of 0x02..0x1F once, its text equal to frag(t). */
void tu_check_doc_fragments(const char *from, const char *to, const char *(*frag)(unsigned t));

/* A deterministic xorshift64 stream (the same in every run, from the same
 * seed in every test process), for randomised tests that must reproduce. */
uint64_t tu_rand(void);

/* The fixture most store tests share: libsodium initialised, syslog off, a
 * new store of origin `origin` in a fresh temporary directory (*dir_out:
 * tu_rmrf and free it), opened without syslog and without the seal policy. */
struct st_store;
struct st_store *tu_store_fresh(const char *origin, char **dir_out);

/* The body of every test program's main(): initializes libsodium, runs the
 * suite (Check forks per test), frees it; EXIT_SUCCESS when nothing failed. */
int tu_run_suite(Suite *s);

#endif
