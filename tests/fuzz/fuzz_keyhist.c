/*
 * fuzz_keyhist.c: libFuzzer target for the key-note parsers and the key
 * history (store/verify/keyhist*.c): st_keynote_parse on the whole input
 * and st_keynote_text_parse on it as bare text; a parsed note formats back
 * to exactly its signed text (abort() otherwise); its signature checks
 * return one of their documented codes; it is added to a history with a
 * fixed root and pinned key (the test keys of tests/unit/test_keyhist.c),
 * and a fixed checkpoint is verified against that history, so the decision
 * code runs on whatever the note granted, revoked or retired. Every call
 * gets an error buffer, and a refusal must fill it: the messages quote the
 * input, so formatting them is part of what is fuzzed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "keyhist.h"
#include "note.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ROOT_VKEY "example.com/root+5e7062d4+ASASy5DKYOjl2Nr2biJy0iM+BIbVV+jGYUHtiSAXfX63"
#define LOG_VKEY  "example.com/log+9be5d3c6+AYqI4910CfGV/VLbLTy6XXLKZwm/HZQSG/N0iAG0D29c"
/* A checkpoint of example.com/log at size 5, time 1763683300, signed by the 0x02 log key. */
#define CP_TEXT "example.com/log\n5\nBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQU=\ntime 1763683300\n"

static int allowed(int rc, const int *ok, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (rc == ok[i]) return 1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static st_vkey root, logk;
    static int init;
    if (!init) {
        if (st_vkey_parse(&root, ROOT_VKEY, strlen(ROOT_VKEY), NULL) || st_vkey_parse(&logk, LOG_VKEY, strlen(LOG_VKEY), NULL))
            abort();
        init = 1;
    }
    const char *buf = (const char *)data;
    st_keynote *kn = malloc(sizeof *kn);
    if (!kn) return 0;

    st_err err;
    err.msg[0] = 0;
    if (st_keynote_text_parse(kn, buf, size, &err) == 0) {
        st_buf b = { 0 };
        st_keynote_format_text(&b, kn);
        if (!b.oom && (b.len != size || memcmp(b.data, buf, size) != 0)) abort();
        st_buf_free(&b);
    } else if (err.msg[0] == 0) {
        abort();
    }

    err.msg[0] = 0;
    int prc = st_keynote_parse(kn, buf, size, &err);
    if (prc != 0 && err.msg[0] == 0) abort();
    if (prc == 0) {
        if (kn->note.text != buf || kn->nkeys == 0 || kn->nkeys > ST_KN_MAX_EPOCHS) abort();
        st_buf b = { 0 };
        st_keynote_format_text(&b, kn);
        if (!b.oom && (b.len != kn->note.text_len || memcmp(b.data, kn->note.text, b.len) != 0)) abort();
        st_buf_free(&b);
        static const int self_ok[] = { 0, ST_EUNTRUSTED, ST_EBADSIG, ST_EINVAL };
        static const int add_ok[] = { 0, ST_EBADSIG, ST_EINVAL, ST_EUNTRUSTED };
        if (!allowed(st_keynote_verify_self(kn, &err), self_ok, 4)) abort();
        if (!allowed(st_keynote_verify_root(kn, &root, 1, NULL, &err), self_ok, 4)) abort();
        st_keyhist *h = st_keyhist_new("example.com/log");
        if (h && st_keyhist_add_root(h, &root, NULL) == 0 && st_keyhist_add_pinned(h, &logk, NULL) == 0) {
            int rc = st_keyhist_add_keynote(h, 7, kn, &err);
            if (!allowed(rc, add_ok, 4)) abort();
            st_note cpn;
            st_checkpoint cp;
            static const char cpnote[] = CP_TEXT "\n\xE2\x80\x94 example.com/log sH+8dwAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
            if (st_note_parse(&cpn, cpnote, sizeof cpnote - 1, NULL) == 0 &&
                st_checkpoint_parse(&cp, cpn.text, cpn.text_len, NULL) == 0) {
                int v = st_keyhist_verify_checkpoint(h, &cpn, &cp, 0, NULL, NULL);
                if (v != ST_EUNTRUSTED && v != ST_EBADSIG && v != 0) abort();
                st_vkey out[4];
                size_t n;
                if (st_keyhist_keys_for(h, 5, 1763683300, 0, out, 4, &n) != 0 || n > 4) abort();
            }
        }
        st_keyhist_free(h);
    }
    free(kn);
    return 0;
}
