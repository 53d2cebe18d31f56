/*
 * fuzz_redact_config.c: the redact.conf parser (store/redact_config.c) on
 * hostile text: a config file is written by people, copied between
 * machines and cut short by editors. Properties, any violation aborts:
 *  - a refusal is ST_EFORMAT or ST_ETOOBIG whose message names the source
 *    and, for a line error, the line ("fuzz:N: ..."), and adds nothing:
 *    the redactor keeps its rules and redacts a sample exactly as a fresh
 *    one does;
 *  - an accepted text adds at most ST_REDACT_MAX_CUSTOM rules, each with a
 *    name the rule table finds again; loading the same text a second time
 *    is refused exactly when it defined a rule (names must be new);
 *  - the rules it made redact the sample, the config text itself and a
 *    hostile mix to valid UTF-8 (when the input was) without crashing, and
 *    the counts add up to the markers written.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redact.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)

static const char SAMPLE[] =
    "export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY; mysql -u root -pS3cretPassw0rd db; "
    "acme_pin=123456 token ghp_16C7e42F292c6912E7710c838347Ae178B4a card 4111 1111 1111 1111 \xc3\xa9\xe2\x80\xae";

/* Redacts text and checks the output; returns it (caller frees). */
static char *redact(const st_redactor *r, const char *in, size_t len)
{
    char *out = NULL;
    size_t out_len = 0;
    st_redact_counts c;
    st_redact_counts_init(&c);
    int rc = st_redact_text(r, in, len, &out, &out_len, &c);
    if (rc == ENOMEM) return NULL;
    CHECK(rc == 0 && out && out[out_len] == '\0');
    if (st_utf8_valid((const uint8_t *)in, len)) CHECK(st_utf8_valid((const uint8_t *)out, out_len));
    uint64_t markers = 0;
    for (const char *p = out; (p = strstr(p, "[REDACTED:")) != NULL; p++) markers++;
    CHECK(markers >= c.total);   /* the input may hold marker-like text of its own */
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char *fresh_out;
    if (!fresh_out) CHECK((fresh_out = redact(NULL, SAMPLE, sizeof SAMPLE - 1)) != NULL);

    st_redactor *r;
    if (st_redactor_new(&r) != 0) return 0;
    size_t builtins = st_redactor_rule_count(r);
    st_err err;
    int rc = st_redactor_load_config(r, (const char *)data, size, "fuzz", &err);
    if (rc == ENOMEM) { st_redactor_free(r); return 0; }
    if (rc != 0) {
        CHECK(rc == ST_EFORMAT || rc == ST_ETOOBIG);
        CHECK(strncmp(err.msg, "fuzz:", 5) == 0);
        CHECK(st_redactor_rule_count(r) == builtins);
        char *out = redact(r, SAMPLE, sizeof SAMPLE - 1);
        CHECK(!out || strcmp(out, fresh_out) == 0);
        free(out);
        st_redactor_free(r);
        return 0;
    }
    size_t n = st_redactor_rule_count(r);
    CHECK(n >= builtins && n - builtins <= ST_REDACT_MAX_CUSTOM);
    for (size_t id = builtins; id < n; id++) {
        const char *name = st_redactor_rule_name(r, id);
        CHECK(name && name[0] && st_redactor_rule_id(r, name) >= 0);
    }
    int added = n > builtins;
    st_err err2;
    int again = st_redactor_load_config(r, (const char *)data, size, "fuzz", &err2);
    if (again != ENOMEM) {
        CHECK((again != 0) == added);
        CHECK(st_redactor_rule_count(r) == n);
    }

    free(redact(r, SAMPLE, sizeof SAMPLE - 1));
    free(redact(r, (const char *)data, size));
    /* the config's own text between the sample's halves: rules meet foreign context */
    char *mix = malloc(sizeof SAMPLE + size);
    if (mix) {
        size_t h = (sizeof SAMPLE - 1) / 2;
        memcpy(mix, SAMPLE, h);
        memcpy(mix + h, data, size);
        memcpy(mix + h + size, SAMPLE + h, sizeof SAMPLE - 1 - h);
        free(redact(r, mix, sizeof SAMPLE - 1 + size));
        free(mix);
    }
    st_redactor_free(r);
    return 0;
}
