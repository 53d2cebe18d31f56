/*
 * note.c: C2SP signed notes with Ed25519 signatures: parsing, verification,
 * verifier key strings, and tlog-checkpoint bodies (st_checkpoint_*, at the
 * end of this file). Signing is store/sign.c, outside the verifier library.
 *
 * Wire layout (c2sp.org/signed-note; golang.org/x/mod/sumdb/note):
 *
 *   text        one or more lines, each ending in LF   <- the signed message
 *   LF          blank line: the LAST "\n\n" of the note splits text from sigs
 *   E2 80 94 20 <key name> 20 <b64(key_id[4] || signature)> LF   (1..100 lines)
 *
 * Verification semantics, exactly as x/mod Open, with one deliberate
 * tightening: lines from a (name, key ID) we do not know are ignored; a known
 * key whose line does not verify rejects the whole note; at least one known
 * key must have signed. x/mod verifies only the first line of each known key
 * and skips later ones; we drop exact duplicate lines (as x/mod does) but
 * verify every remaining line of a known key, so a second, different line
 * from a trusted key is a bad signature, not something silently ignored.
 */
#include "note.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "util.h"

#define SIG_PREFIX     "\xE2\x80\x94 " /* U+2014 EM DASH, SP */
#define SIG_PREFIX_LEN 4u
#define SIG_MAX_BYTES  4100u           /* decoded line payload cap (ML-DSA cosigs fit) */
#define ALG_ED25519    0x01

/* ---- names and key IDs ------------------------------------------------------------ */

/* Unicode White_Space as Go's unicode.IsSpace sees it, for a code point. */
static int is_unicode_space(uint32_t cp)
{
    switch (cp) {
    case 0x09: case 0x0A: case 0x0B: case 0x0C: case 0x0D: case 0x20:
    case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029:
    case 0x202F: case 0x205F: case 0x3000:
        return 1;
    default:
        return cp >= 0x2000 && cp <= 0x200A;
    }
}

int st_key_name_valid(const char *name, size_t len)
{
    if (name == NULL || len == 0 || len > ST_KEY_NAME_MAX) return 0;
    const uint8_t *s = (const uint8_t *)name;
    if (!st_utf8_valid(s, len)) return 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        i += st_utf8_next(s + i, len - i, &cp);   /* > 0: the name is valid UTF-8 */
        if (cp < 0x20 || cp == '+' || is_unicode_space(cp)) return 0;
    }
    return 1;
}

/* key_id = SHA-256(name || LF || 0x01 || pub)[0:4], big-endian [CP-4] */
uint32_t st_key_id(const char *name, size_t name_len, const uint8_t pub[32])
{
    static const uint8_t sep_alg[2] = { 0x0A, ALG_ED25519 };
    uint8_t h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const uint8_t *)name, name_len);
    crypto_hash_sha256_update(&st, sep_alg, 2);
    crypto_hash_sha256_update(&st, pub, 32);
    crypto_hash_sha256_final(&st, h);
    return st_be32_get(h);
}

static int parse_hex8(const char *s, uint32_t *out)
{
    uint32_t v = 0;
    for (int i = 0; i < 8; i++) {
        char c = s[i];
        if (c >= '0' && c <= '9') v = v << 4 | (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f') v = v << 4 | (uint32_t)(c - 'a' + 10);
        else return -1;
    }
    *out = v;
    return 0;
}

/* ---- verifier keys [CP-5] --------------------------------------------------------- */

int st_vkey_parse(st_vkey *out, const char *s, size_t len, st_err *err)
{
    memset(out, 0, sizeof *out);
    if (s == NULL) return st_fail(err, ST_EBADKEY, "verifier key: missing");
    const char *p1 = memchr(s, '+', len);
    if (!p1) return st_fail(err, ST_EBADKEY, "verifier key: expected name+keyid+key");
    size_t name_len = (size_t)(p1 - s);
    if (!st_key_name_valid(s, name_len))
        return st_fail(err, ST_EBADKEY, "verifier key: invalid key name");
    size_t rest = len - name_len - 1;
    const char *h = p1 + 1;
    if (rest < 9 || h[8] != '+')
        return st_fail(err, ST_EBADKEY, "verifier key: key ID must be 8 hex digits");
    uint32_t id;
    if (parse_hex8(h, &id) != 0)
        return st_fail(err, ST_EBADKEY, "verifier key: key ID must be 8 lowercase hex digits");
    const char *b64 = h + 9;
    size_t b64_len = rest - 9;
    uint8_t key[33];
    long n = st_b64_decode(key, sizeof key, b64, b64_len);
    if (n < 1) return st_fail(err, ST_EBADKEY, "verifier key: key is not canonical base64 of 33 bytes");
    if (key[0] != ALG_ED25519)
        return st_fail(err, ST_EBADKEY, "verifier key: unknown signature algorithm 0x%02x (want 0x01, Ed25519)", key[0]);
    if (n != 33) return st_fail(err, ST_EBADKEY, "verifier key: Ed25519 public key must be 32 bytes, got %ld", n - 1);
    uint32_t want = st_key_id(s, name_len, key + 1);
    if (want != id)
        return st_fail(err, ST_EBADKEY, "verifier key: key ID %08x does not match the key (computed %08x)", id, want);
    memcpy(out->name, s, name_len);
    out->name[name_len] = 0;
    out->key_id = id;
    memcpy(out->pub, key + 1, 32);
    return 0;
}

void st_vkey_format(char out[ST_VKEY_MAX], const st_vkey *k)
{
    uint8_t key[33];
    char b64[64];
    key[0] = ALG_ED25519;
    memcpy(key + 1, k->pub, 32);
    st_b64_encode(b64, key, sizeof key);
    snprintf(out, ST_VKEY_MAX, "%s+%08x+%s", k->name, (unsigned)k->key_id, b64);
}

/* ---- parsing notes ------------------------------------------------------------------ */

/* The whole note: valid UTF-8, and no byte below 0x20 but LF. */
static int note_bytes_ok(const uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x20 && s[i] != '\n') return 0;
    return st_utf8_valid(s, n);
}

/* Offset of the last "\n\n" in buf, or -1. */
static long last_blank_line(const char *buf, size_t len)
{
    for (size_t i = len; i-- > 1;)
        if (buf[i] == '\n' && buf[i - 1] == '\n') return (long)(i - 1);
    return -1;
}

int st_note_parse(st_note *out, const char *buf, size_t len, st_err *err)
{
    out->text = NULL;
    out->text_len = 0;
    out->nsigs = 0;
    if (buf == NULL) return st_fail(err, ST_EFORMAT, "note: missing");
    if (len > ST_NOTE_MAX) return st_fail(err, ST_EFORMAT, "note: %zu bytes, over the limit of %u", len, ST_NOTE_MAX);
    if (!note_bytes_ok((const uint8_t *)buf, len))
        return st_fail(err, ST_EFORMAT, "note: invalid UTF-8 or a control character");
    long split = last_blank_line(buf, len);
    if (split < 0) return st_fail(err, ST_EFORMAT, "note: no blank line before signatures");
    size_t text_len = (size_t)split + 1;        /* text keeps its final LF */
    size_t pos = text_len + 1;                  /* first signature line */
    if (pos >= len || buf[len - 1] != '\n')
        return st_fail(err, ST_EFORMAT, "note: signature block missing or not ending in a newline");

    /* Line starts and lengths, to drop exact duplicates. */
    size_t line_off[ST_NOTE_MAX_SIGS], line_len[ST_NOTE_MAX_SIGS];
    size_t nlines = 0, nsigs = 0;
    while (pos < len) {
        const char *line = buf + pos;
        const char *nl = memchr(line, '\n', len - pos);  /* found: buf ends in LF */
        size_t ll = (size_t)(nl - line);
        size_t lineno = nlines + 1;
        pos += ll + 1;
        if (++nlines > ST_NOTE_MAX_SIGS)
            return st_fail(err, ST_EFORMAT, "note: more than %u signature lines", ST_NOTE_MAX_SIGS);
        if (ll < SIG_PREFIX_LEN || memcmp(line, SIG_PREFIX, SIG_PREFIX_LEN) != 0)
            return st_fail(err, ST_EFORMAT, "note: signature line %zu does not start with an em dash and a space", lineno);
        const char *name = line + SIG_PREFIX_LEN;
        size_t rest = ll - SIG_PREFIX_LEN;
        const char *sp = memchr(name, ' ', rest);
        if (!sp) return st_fail(err, ST_EFORMAT, "note: signature line %zu has no signature", lineno);
        size_t name_len = (size_t)(sp - name);
        const char *b64 = sp + 1;
        size_t b64_len = rest - name_len - 1;
        if (!st_key_name_valid(name, name_len))
            return st_fail(err, ST_EFORMAT, "note: signature line %zu: invalid key name", lineno);
        uint8_t payload[SIG_MAX_BYTES];
        long pn = b64_len > 0 && b64_len <= st_b64_encoded_len(SIG_MAX_BYTES)
                      ? st_b64_decode(payload, sizeof payload, b64, b64_len) : -1;
        if (pn < 5)
            return st_fail(err, ST_EFORMAT, "note: signature line %zu: signature is not canonical base64 of 5..%u bytes",
                           lineno, SIG_MAX_BYTES);

        int dup = 0;
        for (size_t k = 0; k < nsigs && !dup; k++)
            dup = line_len[k] == ll && memcmp(buf + line_off[k], line, ll) == 0;
        if (dup) continue;                       /* x/mod drops identical lines */

        st_note_sig *sg = &out->sigs[nsigs];
        memset(sg, 0, sizeof *sg);
        sg->name = name;
        sg->name_len = name_len;
        sg->key_id = st_be32_get(payload);
        sg->sig_len_ok = (pn == 4 + 64);
        if (sg->sig_len_ok) memcpy(sg->sig, payload + 4, 64);
        line_off[nsigs] = (size_t)(line - buf);
        line_len[nsigs] = ll;
        nsigs++;
    }
    out->text = buf;
    out->text_len = text_len;
    out->nsigs = nsigs;
    return 0;
}

/* ---- verification ------------------------------------------------------------------ */

int st_note_verify(const st_note *n, const st_vkey *keys, size_t nkeys, int *verified_out, st_err *err)
{
    if (verified_out)
        for (size_t k = 0; k < nkeys; k++) verified_out[k] = 0;
    if (n == NULL || n->text == NULL) return st_fail(err, ST_EINVAL, "note: not parsed");
    if (nkeys > 0 && keys == NULL) return st_fail(err, ST_EINVAL, "note: no key array");
    if (sodium_init() < 0) return st_fail(err, ST_EINVAL, "note: libsodium failed to initialize");
    size_t good = 0;
    for (size_t i = 0; i < n->nsigs; i++) {
        const st_note_sig *sg = &n->sigs[i];
        for (size_t k = 0; k < nkeys; k++) {
            const st_vkey *key = &keys[k];
            if (key->key_id != sg->key_id || strlen(key->name) != sg->name_len ||
                memcmp(key->name, sg->name, sg->name_len) != 0)
                continue;
            if (!sg->sig_len_ok ||
                crypto_sign_verify_detached(sg->sig, (const unsigned char *)n->text, n->text_len, key->pub) != 0)
                return st_fail(err, ST_EBADSIG, "note: signature %zu by %s+%08x does not verify",
                               i + 1, key->name, (unsigned)key->key_id);
            if (verified_out) verified_out[k] = 1;
            good++;
            break;      /* one key per (name, id); duplicates in keys[] are not re-checked */
        }
    }
    if (good == 0) return st_fail(err, ST_EUNTRUSTED, "note: no signature by a trusted key (%zu lines from unknown keys)", n->nsigs);
    return 0;
}

/* ---- checkpoints [CP-1], [CP-2] ------------------------------------------------------ */

/*
 * origin LF, size LF, b64(root) LF, then extension lines (each non-empty).
 * The origin follows [CP-1], which is stricter than C2SP: the key-name rules
 * (no whitespace, no '+'). "time <secs>" may appear once; other extension
 * lines are counted and otherwise ignored, as C2SP requires, however many
 * there are (the note's size limit bounds them).
 */
int st_checkpoint_parse(st_checkpoint *out, const char *text, size_t len, st_err *err)
{
    memset(out, 0, sizeof *out);
    out->time_s = -1;
    if (text == NULL) return st_fail(err, ST_EFORMAT, "checkpoint: missing");
    if (len > ST_NOTE_MAX) return st_fail(err, ST_EFORMAT, "checkpoint: too large");
    if (!note_bytes_ok((const uint8_t *)text, len))
        return st_fail(err, ST_EFORMAT, "checkpoint: invalid UTF-8 or a control character");
    if (len == 0 || text[len - 1] != '\n') return st_fail(err, ST_EFORMAT, "checkpoint: text does not end in a newline");
    size_t pos = 0, lineno = 0;
    while (pos < len) {
        const char *line = text + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t ll = (size_t)(nl - line);
        pos += ll + 1;
        lineno++;
        if (lineno == 1) {
            if (!st_key_name_valid(line, ll))
                return st_fail(err, ST_EFORMAT, "checkpoint: line 1: invalid origin (empty, whitespace, '+' or too long)");
            memcpy(out->origin, line, ll);
            out->origin[ll] = 0;
        } else if (lineno == 2) {
            if (st_parse_u64(line, ll, UINT64_MAX, &out->size) != 0)
                return st_fail(err, ST_EFORMAT, "checkpoint: line 2: tree size is not a canonical decimal");
        } else if (lineno == 3) {
            uint8_t root[ST_HASH_BYTES + 1];
            if (ll != 44 || st_b64_decode(root, sizeof root, line, ll) != (long)ST_HASH_BYTES)
                return st_fail(err, ST_EFORMAT, "checkpoint: line 3: root is not base64 of 32 bytes");
            memcpy(out->root, root, ST_HASH_BYTES);
        } else {
            if (ll == 0) return st_fail(err, ST_EFORMAT, "checkpoint: line %zu: empty extension line", lineno);
            out->n_ext++;
            if (ll >= 5 && memcmp(line, "time ", 5) == 0) {
                uint64_t t;
                if (out->time_s >= 0) return st_fail(err, ST_EFORMAT, "checkpoint: line %zu: second time line", lineno);
                if (st_parse_u64(line + 5, ll - 5, INT64_MAX, &t) != 0)
                    return st_fail(err, ST_EFORMAT, "checkpoint: line %zu: time is not canonical decimal seconds", lineno);
                out->time_s = (int64_t)t;
            }
        }
    }
    if (lineno < 3) return st_fail(err, ST_EFORMAT, "checkpoint: %zu lines, need origin, size and root", lineno);
    return 0;
}

void st_checkpoint_format(st_buf *out, const char *origin, uint64_t size, const st_hash root, int64_t time_s)
{
    char b64[48];
    st_b64_encode(b64, root, ST_HASH_BYTES);
    st_buf_printf(out, "%s\n%llu\n%s\n", origin, (unsigned long long)size, b64);
    if (time_s >= 0) st_buf_printf(out, "time %lld\n", (long long)time_s);
}
