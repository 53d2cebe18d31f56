/*
 * fuzz_note.c: libFuzzer target for the signed-note side of the verifier:
 * st_note_parse + st_note_verify (against a fixed set of known keys, so the
 * bad-signature and untrusted paths run too), st_checkpoint_parse on the
 * whole input and on a parsed note's text, and st_vkey_parse. Invariants
 * that must hold for every input are checked with abort(): a parsed note's
 * text lies inside the input and ends in LF, a parsed checkpoint formats
 * back to the same bytes when it has no unknown extension lines, and a
 * parsed vkey formats back to the input. Every parser gets an error
 * buffer and a refusal must fill it, so message formatting is fuzzed too.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "note.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const known_vkeys[] = {
    "example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx",  /* Tessera */
    "astra+cad5a3d2+AZJqeuyE/GnknsCNh1eCtDtwdAwKBddOlS8M2eI1Jt4b",                       /* serverless-log */
    "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",              /* x/mod */
};
#define NKEYS (sizeof known_vkeys / sizeof *known_vkeys)

static void check_checkpoint(const char *text, size_t len)
{
    st_checkpoint cp;
    st_err err;
    err.msg[0] = 0;
    if (st_checkpoint_parse(&cp, text, len, &err) != 0) {
        if (err.msg[0] == 0) abort();
        return;
    }
    if (cp.n_ext > len || cp.origin[0] == 0) abort();
    /* Only origin, size, root and at most a time line: formatting is the inverse. */
    if (cp.n_ext == (cp.time_s >= 0 ? 1u : 0u)) {
        st_buf b = { 0 };
        st_checkpoint_format(&b, cp.origin, cp.size, cp.root, cp.time_s);
        if (!b.oom && (b.len != len || memcmp(b.data, text, len) != 0)) abort();
        st_buf_free(&b);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static st_vkey keys[NKEYS];
    static int init;
    if (!init) {
        for (size_t i = 0; i < NKEYS; i++)
            if (st_vkey_parse(&keys[i], known_vkeys[i], strlen(known_vkeys[i]), NULL) != 0) abort();
        init = 1;
    }
    const char *buf = (const char *)data;

    st_note *note = malloc(sizeof *note);
    st_err err;
    err.msg[0] = 0;
    int prc = note ? st_note_parse(note, buf, size, &err) : -1;
    if (note && prc != 0 && err.msg[0] == 0) abort();
    if (note && prc == 0) {
        if (note->text != buf || note->text_len == 0 || note->text_len >= size) abort();
        if (buf[note->text_len - 1] != '\n' || note->nsigs == 0 || note->nsigs > ST_NOTE_MAX_SIGS) abort();
        int ver[NKEYS];
        int rc = st_note_verify(note, keys, NKEYS, ver, &err);
        if (rc != 0 && rc != ST_EBADSIG && rc != ST_EUNTRUSTED) abort();
        check_checkpoint(note->text, note->text_len);
    }
    free(note);

    check_checkpoint(buf, size);

    st_vkey k;
    err.msg[0] = 0;
    int vrc = st_vkey_parse(&k, buf, size, &err);
    if (vrc != 0 && err.msg[0] == 0) abort();
    if (vrc == 0) {
        char back[ST_VKEY_MAX];
        st_vkey_format(back, &k);
        if (strlen(back) != size || memcmp(back, buf, size) != 0) abort();
    }
    return 0;
}
