/*
 * fuzz_signer.c: the signing-key string parser (store/sign.c,
 * st_signer_from_string: "PRIVATE+KEY+<name>+<hex8 id>+<b64(0x01||seed)>",
 * the format of a store's key files) on hostile bytes: a key file can be
 * damaged, hand-edited or replaced. Properties, any violation aborts:
 *  - a refusal is ST_EBADKEY (or ENOMEM) with a message;
 *  - an accepted key's verifier key formats to a string st_vkey_parse reads
 *    back to the same name, ID and public key, and the ID is the one the
 *    string named (it is derived from the key; a mismatch is refused);
 *  - a note it signs parses and verifies under that verifier key, and
 *    fails under a different one.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "note.h"
#include "sign.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)

static const char OTHER_VKEY[] = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    st_signer *s = NULL;
    st_err err;
    int rc = st_signer_from_string(&s, (const char *)data, size, &err);
    if (rc != 0) {
        CHECK(rc == ST_EBADKEY || rc == ENOMEM);
        CHECK(s == NULL && (rc == ENOMEM || err.msg[0] != '\0'));
        return 0;
    }
    const st_vkey *vk = st_signer_vkey(s);
    char vs[ST_VKEY_MAX];
    st_signer_vkey_string(s, vs);
    st_vkey back;
    CHECK(st_vkey_parse(&back, vs, strlen(vs), NULL) == 0);
    CHECK(strcmp(back.name, vk->name) == 0 && back.key_id == vk->key_id);
    CHECK(memcmp(back.pub, vk->pub, sizeof back.pub) == 0);
    /* the string's own name and ID: "PRIVATE+KEY+" name "+" id */
    size_t nl = strlen(vk->name);
    CHECK(size > 12 + nl + 9 && memcmp(data + 12, vk->name, nl) == 0 && data[12 + nl] == '+');
    uint8_t id[4];
    CHECK(st_hex_decode(id, 4, (const char *)data + 13 + nl, 8) == 0);
    CHECK(st_be32_get(id) == vk->key_id);

    static const char text[] = "example.com/fuzz\n7\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
    st_buf note = { 0 };
    st_signer *const one[1] = { s };
    if (st_note_sign(&note, text, sizeof text - 1, one, 1, &err) == 0) {
        st_note *n = malloc(sizeof *n);
        CHECK(n);
        CHECK(st_note_parse(n, (const char *)note.data, note.len, NULL) == 0);
        int ver[1];
        CHECK(st_note_verify(n, &back, 1, ver, NULL) == 0 && ver[0]);
        st_vkey other;
        CHECK(st_vkey_parse(&other, OTHER_VKEY, sizeof OTHER_VKEY - 1, NULL) == 0);
        if (other.key_id != back.key_id || strcmp(other.name, back.name) != 0) CHECK(st_note_verify(n, &other, 1, ver, NULL) != 0);
        free(n);
    }
    st_buf_free(&note);
    st_signer_free(s);
    return 0;
}
