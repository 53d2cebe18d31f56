/* testutil.c: file and directory helpers for the unit tests. */
#include "testutil.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <cjson/cJSON.h>
#include <sodium.h>

#include "sealtrail.h"

char *tu_read_file(const char *path, size_t *len_out)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap + 1);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) {
            cap *= 2;
            char *nb = realloc(buf, cap + 1);
            if (!nb) { free(buf); buf = NULL; }
            else buf = nb;
        }
    }
    fclose(f);
    if (!buf) return NULL;
    buf[len] = 0;
    if (len_out) *len_out = len;
    return buf;
}

static const char *join(const char *env, const char *dflt, const char *rel)
{
    static char path[8][4096];
    static int slot;
    const char *base = getenv(env);
    if (!base || !*base) base = dflt;
    if (!base) return NULL;
    char *p = path[slot++ & 7];
    snprintf(p, 4096, "%s/%s", base, rel);
    return p;
}

const char *tu_shared_path(const char *rel)
{
    const char *p = join("ST_SHARED_DIR", NULL, rel);
    if (!p || access(p, R_OK) != 0) return NULL;
    return p;
}

const char *tu_source_path(const char *rel) { return join("ST_SOURCE_DIR", ".", rel); }

char *tu_tmpdir(void)
{
    const char *t = getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/sealtrail-test-XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(tmpl)) return NULL;
    return strdup(tmpl);
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb; (void)flag; (void)ftw;
    return remove(p);
}

void tu_rmrf(const char *path)
{
    if (path) nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

cJSON *tu_load_shared_json(const char *rel)
{
    const char *p = tu_shared_path(rel);
    if (!p) {
        fprintf(stderr, "shared/%s absent: skipping its cases\n", rel);
        return NULL;
    }
    char *txt = tu_read_file(p, NULL);
    ck_assert_ptr_nonnull(txt);
    cJSON *j = cJSON_Parse(txt);
    free(txt);
    ck_assert_ptr_nonnull(j);
    return j;
}

const char *tu_jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

uint64_t tu_rand(void)
{
    static uint64_t rng = 0x9E3779B97F4A7C15ULL;
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

int tu_run_suite(Suite *s)
{
    if (sodium_init() < 0) return EXIT_FAILURE;
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

struct st_store *tu_store_fresh(const char *origin, char **dir_out)
{
    ck_assert(sodium_init() >= 0);
    setenv("SEALTRAIL_NO_SYSLOG", "1", 1);
    *dir_out = tu_tmpdir();
    char vkey[ST_VKEY_MAX];
    st_init_opts o = { .origin = origin };
    ck_assert_int_eq(st_store_init(*dir_out, &o, vkey), 0);
    st_store *s;
    ck_assert_int_eq(st_store_open(&s, *dir_out, ST_OPEN_NOSYSLOG | ST_OPEN_NOSEAL), 0);
    return s;
}

void tu_check_doc_fragments(const char *from_text, const char *to_text, const char *(*frag)(unsigned t))
{
    size_t dl;
    char *doc = tu_read_file(tu_source_path("docs/FORMAT.md"), &dl);
    ck_assert_ptr_nonnull(doc);
    char *from = strstr(doc, from_text), *to = from ? strstr(from, to_text) : NULL;
    ck_assert_msg(from && to, "FORMAT.md lacks the section from \"%s\" to \"%s\"", from_text, to_text);
    *to = 0;
    int seen[0x20] = { 0 };
    for (char *p = from; (p = strstr(p, "| 0x")) != NULL; p++) {
        unsigned t;
        int at = -1;                   /* set only when the whole "| 0xNN | `" matched */
        if (sscanf(p, "| 0x%2x | `%n", &t, &at) != 1 || at < 0 || t < 0x02 || t > 0x1F) continue;
        char *open = p + at - 1, *close = strchr(open + 1, '`');
        ck_assert_ptr_nonnull(close);
        const char *f = frag(t);
        ck_assert_ptr_nonnull(f);
        ck_assert_msg(strlen(f) == (size_t)(close - open - 1) && memcmp(f, open + 1, strlen(f)) == 0,
                      "token 0x%02x: FORMAT.md has %.*s, the code %s", t, (int)(close - open - 1), open + 1, f);
        seen[t]++;
    }
    for (unsigned t = 0x02; t <= 0x1F; t++) ck_assert_msg(seen[t] == 1, "token 0x%02x appears %d times in FORMAT.md", t, seen[t]);
    free(doc);
}
