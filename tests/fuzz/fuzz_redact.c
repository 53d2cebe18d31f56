/*
 * fuzz_redact.c: the redaction engine on arbitrary bytes (store/redact*.c).
 *
 * For each input: raw-buffer redaction, text redaction (built-in rules, and
 * built-in plus custom PCRE2 rules), and, when the input parses as JSON,
 * tree redaction. Besides "no crash, no sanitizer report", it checks:
 *   - valid UTF-8 in, valid UTF-8 out (spans never split a character);
 *   - token rules are idempotent: scanning the output again finds no token,
 *     so no marker or leftover completes a new secret;
 *   - the counts add up to the markers in the output;
 *   - a redacted tree still serializes to JSON that parses;
 *   - every candidate classifier of the scanner finds the same spans as
 *     its byte-at-a-time reference loop.
 * Corpus: tests/fuzz/corpus/redact/ (replayed by ctest).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "redact.h"
#include "redact_int.h"

#define CHECK(c)                     \
    do {                             \
        if (!(c)) abort();           \
    } while (0)

static st_redactor *custom;

static size_t count_markers(const uint8_t *s, size_t n)
{
    size_t k = 0;
    for (const uint8_t *p = s; (p = memmem(p, n - (size_t)(p - s), "[REDACTED:", 10)) != NULL; p += 10) k++;
    return k;
}

static void text_mode(const st_redactor *r, const uint8_t *data, size_t size, int utf8)
{
    char *out = NULL, *again = NULL;
    size_t ol = 0, al = 0;
    st_redact_counts c, c2;
    st_redact_counts_init(&c);
    if (st_redact_text(r, (const char *)data, size, &out, &ol, &c) != 0) return; /* ENOMEM only */
    CHECK(out && out[ol] == '\0');
    if (utf8) CHECK(st_utf8_valid((const uint8_t *)out, ol));
    size_t mo = count_markers((const uint8_t *)out, ol), mi = count_markers(data, size);
    CHECK(mo >= c.total && mo <= c.total + mi);
    st_redact_counts_init(&c2);
    /* (custom rules can match inside a word and so move the boundaries of a
     * built-in token: the check is for the built-in rules alone) */
    if (!r && st_redact_text(r, out, ol, &again, &al, &c2) == 0) {
        /* Token rules are idempotent. The key-aware heuristics look at a
         * whole value, which a first pass may have changed ("password=
         * password: x"), so only they may fire again on garbage; so may
         * twilio-auth-token, a proximity rule: a first pass that shortens
         * the text between an account SID and a 32-hex value (a 38-byte
         * token becomes a 24-byte marker) can bring them within its 256
         * bytes. */
        uint64_t ctx = c2.n[ST_RULE_PASSWORD_ASSIGNMENT] + c2.n[ST_RULE_AUTH_HEADER] + c2.n[ST_RULE_URL_CREDENTIALS] +
                       c2.n[ST_RULE_TWILIO_AUTH_TOKEN];
        CHECK(c2.total == ctx);
        if (c2.total == 0) CHECK(al == ol && memcmp(again, out, ol) == 0);
    }
    free(again);
    free(out);
}

/* The scanner's classifiers against its reference loop, in both modes. */
static void scanners_agree(const uint8_t *data, size_t size)
{
    for (unsigned mode = 0; mode <= RD_RAW; mode += RD_RAW) {
        rd_scan ref, sc;
        rd_scan_init(&ref, NULL);
        ref.s = data, ref.n = size, ref.mode = mode;
        if (size) rd_scan_builtin_isa(&ref, RD_ISA_REF);
        for (int isa = RD_ISA_REF + 1; isa < RD_ISA_COUNT; isa++) {
            if (!rd_isa_available(isa)) continue;
            rd_scan_init(&sc, NULL);
            sc.s = data, sc.n = size, sc.mode = mode;
            if (size) rd_scan_builtin_isa(&sc, isa);
            if (!sc.oom && !ref.oom) {
                CHECK(sc.nm == ref.nm);
                for (size_t i = 0; i < sc.nm; i++)
                    CHECK(sc.m[i].start == ref.m[i].start && sc.m[i].end == ref.m[i].end && sc.m[i].rule == ref.m[i].rule &&
                          sc.m[i].prio == ref.m[i].prio);
            }
            rd_scan_free(&sc);
        }
        rd_scan_free(&ref);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1u << 20)) return 0;
    if (!custom) {
        static const char conf[] = "rule acme acme_[a-z0-9]{8}\n"
                                   "rule pin (?i)pin=(?<secret>\\d{4,8})\n"
                                   "rule lookahead (?=zz)z\n";
        st_err err;
        if (st_redactor_new(&custom) != 0 || st_redactor_load_config(custom, conf, sizeof conf - 1, "fuzz", &err) != 0)
            abort();
    }
    int utf8 = st_utf8_valid(data, size);
    scanners_agree(data, size);

    /* raw bytes */
    st_buf b = { 0 };
    st_redact_counts c;
    st_redact_counts_init(&c);
    if (st_redact_bytes(NULL, data, size, &b, &c) == 0 && !b.oom) {
        if (c.total == 0) CHECK(b.len <= size); /* only printable \u00XX escapes were decoded */
    }
    st_buf_free(&b);

    /* text, with and without custom rules */
    text_mode(NULL, data, size, utf8);
    text_mode(custom, data, size, utf8);

    /* JSON tree */
    st_json_doc *doc = NULL;
    st_err err;
    st_json_opts o = { ST_JSON_ALLOW_WS | ST_JSON_LENIENT_UTF8 | ST_JSON_ALLOW_DUP_KEYS, 64, 0 };
    if (st_json_parse(&doc, (const char *)data, size, &o, NULL, &err) == 0) {
        st_redact_counts_init(&c);
        if (st_redact_json(custom, doc, st_json_doc_root(doc), &c) == 0) {
            st_buf out = { 0 };
            st_json_write(&out, st_json_doc_root(doc), 0);
            if (!out.oom) {
                CHECK(st_utf8_valid(out.data, out.len));
                st_json_doc *d2 = NULL;
                st_json_opts o2 = { ST_JSON_ALLOW_DUP_KEYS, 64, 0 };
                CHECK(st_json_parse(&d2, (const char *)out.data, out.len, &o2, NULL, &err) == 0);
                st_json_doc_free(d2);
            }
            st_buf_free(&out);
        }
        st_json_doc_free(doc);
    }
    return 0;
}
