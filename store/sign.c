/*
 * sign.c: Ed25519 signing keys (generate, load, wipe) and signed-note
 * signing, checked by the verifier before anything leaves this file.
 *
 * Secret handling: the 32-byte seed and the 64-byte libsodium secret key
 * exist only in sodium_malloc memory. The key file is read into such memory,
 * its base64 decoded into such memory, and the key is kept PROT_NONE except
 * for the few microseconds of a signature. The st_signer struct itself holds
 * only public data and the pointer.
 *
 * Key files follow OpenSSH's and signify's habits: created O_EXCL|O_NOFOLLOW
 * with mode 0600, opened O_NOFOLLOW, refused when group or others have any
 * access ("permissions 0644 are too open"), read with a hard cap.
 */
#include "sign.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#define SKEY_PREFIX     "PRIVATE+KEY+"
#define SKEY_PREFIX_LEN (sizeof SKEY_PREFIX - 1)
#define ALG_ED25519     0x01
#define SEED_B64_LEN    44u   /* b64 of 0x01 || seed[32] */

struct st_signer {
    st_vkey vk;               /* public: name, key ID, public key */
    unsigned char *sk;        /* sodium_malloc'd crypto_sign_SECRETKEYBYTES; PROT_NONE while idle */
};

/* ---- construction ------------------------------------------------------------ */

void st_signer_free(st_signer *s)
{
    if (s == NULL) return;
    if (s->sk) sodium_free(s->sk);     /* unprotects, wipes, unmaps */
    free(s);
}

/* seed33 = 0x01 || seed, in sodium memory. want_id < 0: no ID to check. */
static int signer_from_seed(st_signer **out, const char *name, size_t name_len,
                            const unsigned char *seed33, int64_t want_id, st_err *err)
{
    if (!st_key_name_valid(name, name_len)) return st_fail(err, ST_EBADKEY, "signing key: invalid key name");
    if (seed33[0] != ALG_ED25519)
        return st_fail(err, ST_EBADKEY, "signing key: unknown algorithm 0x%02x (want 0x01, Ed25519)", seed33[0]);
    st_signer *s = calloc(1, sizeof *s);
    if (!s) return st_fail(err, ENOMEM, "signing key: out of memory");
    s->sk = sodium_malloc(crypto_sign_SECRETKEYBYTES);
    if (!s->sk) {
        free(s);
        return st_fail(err, ENOMEM, "signing key: sodium_malloc failed");
    }
    crypto_sign_seed_keypair(s->vk.pub, s->sk, seed33 + 1);
    memcpy(s->vk.name, name, name_len);
    s->vk.name[name_len] = 0;
    s->vk.key_id = st_key_id(name, name_len, s->vk.pub);
    if (want_id >= 0 && (uint32_t)want_id != s->vk.key_id) {
        uint32_t got = s->vk.key_id;
        st_signer_free(s);
        return st_fail(err, ST_EBADKEY, "signing key: key ID %08x does not match the key (computed %08x)",
                       (unsigned)want_id, (unsigned)got);
    }
    sodium_mprotect_noaccess(s->sk);
    *out = s;
    return 0;
}

static int hex8(const char *p, uint32_t *out)
{
    uint32_t v = 0;
    for (int i = 0; i < 8; i++) {
        char c = p[i];
        if (c >= '0' && c <= '9') v = v << 4 | (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f') v = v << 4 | (uint32_t)(c - 'a' + 10);
        else return -1;
    }
    *out = v;
    return 0;
}

/* PRIVATE+KEY+<name>+<hex8>+<b64(0x01||seed)>, exactly. s may be sodium memory. */
int st_signer_from_string(st_signer **out, const char *s, size_t len, st_err *err)
{
    *out = NULL;
    if (sodium_init() < 0) return st_fail(err, ST_EINVAL, "libsodium failed to initialize");
    if (s == NULL || len < SKEY_PREFIX_LEN || memcmp(s, SKEY_PREFIX, SKEY_PREFIX_LEN) != 0)
        return st_fail(err, ST_EBADKEY, "signing key: does not start with PRIVATE+KEY+");
    const char *name = s + SKEY_PREFIX_LEN;
    size_t rest = len - SKEY_PREFIX_LEN;
    const char *plus = memchr(name, '+', rest);
    if (!plus) return st_fail(err, ST_EBADKEY, "signing key: expected PRIVATE+KEY+name+keyid+key");
    size_t name_len = (size_t)(plus - name);
    rest -= name_len + 1;
    const char *id = plus + 1;
    uint32_t key_id;
    if (rest < 9 || id[8] != '+' || hex8(id, &key_id) != 0)
        return st_fail(err, ST_EBADKEY, "signing key: key ID must be 8 lowercase hex digits");
    const char *b64 = id + 9;
    size_t b64_len = rest - 9;
    if (b64_len != SEED_B64_LEN)
        return st_fail(err, ST_EBADKEY, "signing key: key must be base64 of 33 bytes (0x01 and a 32-byte seed)");
    unsigned char *seed33 = sodium_malloc(33);
    if (!seed33) return st_fail(err, ENOMEM, "signing key: sodium_malloc failed");
    int rc;
    if (st_b64_decode(seed33, 33, b64, b64_len) != 33)
        rc = st_fail(err, ST_EBADKEY, "signing key: key is not canonical base64 of 33 bytes");
    else
        rc = signer_from_seed(out, name, name_len, seed33, key_id, err);
    sodium_free(seed33);
    return rc;
}

const st_vkey *st_signer_vkey(const st_signer *s) { return &s->vk; }

void st_signer_vkey_string(const st_signer *s, char out[ST_VKEY_MAX]) { st_vkey_format(out, &s->vk); }

/* ---- key files ------------------------------------------------------------------- */

static int write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

int st_signer_generate(st_signer **out, const char *path, const char *name, st_err *err)
{
    if (out) *out = NULL;
    if (path == NULL || name == NULL) return st_fail(err, ST_EINVAL, "key generation: missing path or name");
    size_t name_len = strlen(name);
    if (!st_key_name_valid(name, name_len))
        return st_fail(err, ST_EBADKEY, "%s: invalid key name (empty, whitespace, '+' or over %u bytes)", path, ST_KEY_NAME_MAX);
    if (sodium_init() < 0) return st_fail(err, ST_EINVAL, "libsodium failed to initialize");

    int rc = 0, fd = -1, created = 0;
    st_signer *s = NULL;
    unsigned char *seed33 = sodium_malloc(33);
    char *line = sodium_malloc(ST_SKEY_FILE_MAX);
    if (!seed33 || !line) { rc = st_fail(err, ENOMEM, "%s: sodium_malloc failed", path); goto out; }
    seed33[0] = ALG_ED25519;
    randombytes_buf(seed33 + 1, 32);
    if ((rc = signer_from_seed(&s, name, name_len, seed33, -1, err)) != 0) goto out;

    /* PRIVATE+KEY+<name>+<hex8>+<b64> LF, built in sodium memory. */
    size_t n = 0;
    memcpy(line, SKEY_PREFIX, SKEY_PREFIX_LEN); n += SKEY_PREFIX_LEN;
    memcpy(line + n, name, name_len); n += name_len;
    line[n++] = '+';
    static const char hexd[] = "0123456789abcdef";
    for (int i = 7; i >= 0; i--) line[n++] = hexd[(s->vk.key_id >> (4 * i)) & 15];
    line[n++] = '+';
    st_b64_encode(line + n, seed33, 33); n += SEED_B64_LEN;
    line[n++] = '\n';

    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        int e = errno;
        rc = e == EEXIST ? ST_EEXIST : e;
        st_fail(err, rc, "%s: cannot create key file: %s", path, e == EEXIST ? "it already exists" : strerror(e));
        goto out;
    }
    created = 1;
    if (fchmod(fd, 0600) != 0 || (rc = write_all(fd, line, n)) != 0 || fsync(fd) != 0) {
        if (rc == 0) rc = errno;
        st_fail(err, rc, "%s: cannot write key file: %s", path, strerror(rc));
        goto out;
    }
    if (close(fd) != 0) {
        fd = -1;
        rc = errno;
        st_fail(err, rc, "%s: cannot write key file: %s", path, strerror(rc));
        goto out;
    }
    fd = -1;
    if (out) { *out = s; s = NULL; }
out:
    if (fd >= 0) close(fd);
    if (rc != 0 && created) unlink(path);
    st_signer_free(s);
    if (seed33) sodium_free(seed33);
    if (line) sodium_free(line);
    return rc;
}

int st_signer_load(st_signer **out, const char *path, st_err *err)
{
    *out = NULL;
    if (path == NULL) return st_fail(err, ST_EINVAL, "signing key: no path");
    if (sodium_init() < 0) return st_fail(err, ST_EINVAL, "libsodium failed to initialize");
    int rc = 0;
    char *buf = NULL;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        int e = errno;
        if (e == ENOENT) return st_fail(err, ST_ENOKEY, "%s: no signing key", path);
        if (e == ELOOP) return st_fail(err, e, "%s: is a symbolic link; refusing to follow it for a key file", path);
        return st_fail(err, e, "%s: %s", path, strerror(e));
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0) { rc = st_fail(err, errno, "%s: %s", path, strerror(errno)); goto out; }
    if (!S_ISREG(sb.st_mode)) { rc = st_fail(err, ST_EBADKEY, "%s: not a regular file", path); goto out; }
    if (sb.st_mode & 077) {   /* [KEY-1] */
        rc = st_fail(err, ST_EKEYPERM,
                     "%s: permissions %04o are too open; the key must be readable by its owner only (chmod 600 %s)",
                     path, (unsigned)(sb.st_mode & 07777), path);
        goto out;
    }
    if (sb.st_size >= (off_t)ST_SKEY_FILE_MAX) {
        rc = st_fail(err, ST_EBADKEY, "%s: %lld bytes, too large for a key file", path, (long long)sb.st_size);
        goto out;
    }
    buf = sodium_malloc(ST_SKEY_FILE_MAX);
    if (!buf) { rc = st_fail(err, ENOMEM, "%s: sodium_malloc failed", path); goto out; }
    size_t n = 0;
    while (n < ST_SKEY_FILE_MAX) {
        ssize_t r = read(fd, buf + n, ST_SKEY_FILE_MAX - n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) { rc = st_fail(err, errno, "%s: %s", path, strerror(errno)); goto out; }
        if (r == 0) break;
        n += (size_t)r;
    }
    if (n >= ST_SKEY_FILE_MAX) { rc = st_fail(err, ST_EBADKEY, "%s: too large for a key file", path); goto out; }
    if (n > 0 && buf[n - 1] == '\n') n--;          /* one final LF, as we write it */
    rc = st_signer_from_string(out, buf, n, err);
    if (rc != 0) {
        char inner[sizeof err->msg];
        if (err) {
            memcpy(inner, err->msg, sizeof inner);
            st_fail(err, rc, "%s: %.400s", path, inner);
        }
    }
out:
    close(fd);
    if (buf) sodium_free(buf);
    return rc;
}

/* ---- signing ---------------------------------------------------------------------- */

static int signer_sign(st_signer *s, uint8_t sig[crypto_sign_BYTES], const char *m, size_t mlen)
{
    if (sodium_mprotect_readonly(s->sk) != 0) return errno ? errno : ST_EINVAL;
    int rc = crypto_sign_detached(sig, NULL, (const unsigned char *)m, mlen, s->sk);
    sodium_mprotect_noaccess(s->sk);
    return rc == 0 ? 0 : ST_EINVAL;
}

/* Note text: non-empty, ends in LF, valid UTF-8, no control byte but LF. */
static int text_ok(const char *t, size_t len)
{
    if (t == NULL || len == 0 || t[len - 1] != '\n' || len > ST_NOTE_MAX / 2) return 0;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)t[i] < 0x20 && t[i] != '\n') return 0;
    return st_utf8_valid((const uint8_t *)t, len);
}

/* Parses what we produced and verifies every line with the verifier code. */
static int check_signed(const st_buf *out, size_t start, const char *text, size_t len,
                        st_signer *const *signers, size_t n, st_err *err)
{
    st_note *note = malloc(sizeof *note);
    st_vkey *keys = malloc(n * sizeof *keys);
    int *ok = calloc(n, sizeof *ok);
    int rc = 0;
    if (!note || !keys || !ok) { rc = st_fail(err, ENOMEM, "sign: out of memory"); goto out; }
    if ((rc = st_note_parse(note, (const char *)out->data + start, out->len - start, err)) != 0) goto out;
    if (note->text_len != len || memcmp(note->text, text, len) != 0 || note->nsigs != n) {
        rc = st_fail(err, ST_EBADSIG, "sign: the signed note does not parse back to its text and %zu signatures", n);
        goto out;
    }
    for (size_t i = 0; i < n; i++) keys[i] = signers[i]->vk;
    if ((rc = st_note_verify(note, keys, n, ok, err)) != 0) goto out;
    for (size_t i = 0; i < n; i++) {
        const st_note_sig *sg = &note->sigs[i];
        if (!ok[i] || sg->key_id != keys[i].key_id || sg->name_len != strlen(keys[i].name) ||
            memcmp(sg->name, keys[i].name, sg->name_len) != 0) {
            rc = st_fail(err, ST_EBADSIG, "sign: signature %zu by %s does not verify", i + 1, keys[i].name);
            goto out;
        }
    }
out:
    free(note);
    free(keys);
    free(ok);
    return rc;
}

int st_note_sign(st_buf *out, const char *text, size_t len, st_signer *const *signers, size_t n, st_err *err)
{
    if (out == NULL || signers == NULL || n == 0 || n > ST_NOTE_MAX_SIGS)
        return st_fail(err, ST_EINVAL, "sign: need 1..%u signers", ST_NOTE_MAX_SIGS);
    if (!text_ok(text, len))
        return st_fail(err, ST_EINVAL, "sign: text must be non-empty UTF-8 without control characters, ending in a newline");
    for (size_t i = 0; i < n; i++) {
        if (signers[i] == NULL) return st_fail(err, ST_EINVAL, "sign: signer %zu is NULL", i + 1);
        for (size_t j = 0; j < i; j++)
            if (signers[j]->vk.key_id == signers[i]->vk.key_id && strcmp(signers[j]->vk.name, signers[i]->vk.name) == 0)
                return st_fail(err, ST_EINVAL, "sign: signer %s given twice", signers[i]->vk.name);
    }
    size_t start = out->len;
    int rc = 0;
    st_buf_put(out, text, len);
    st_buf_putc(out, '\n');
    for (size_t i = 0; i < n && rc == 0; i++) {
        const st_signer *s = signers[i];
        uint8_t payload[4 + crypto_sign_BYTES];
        char b64[128];
        st_be32_put(payload, s->vk.key_id);
        if ((rc = signer_sign(signers[i], payload + 4, text, len)) != 0) {
            st_fail(err, rc, "sign: signing with %s failed", s->vk.name);
            break;
        }
        st_b64_encode(b64, payload, sizeof payload);
        st_buf_puts(out, "\xE2\x80\x94 ");    /* U+2014, SP [CP-3] */
        st_buf_puts(out, s->vk.name);
        st_buf_putc(out, ' ');
        st_buf_puts(out, b64);
        st_buf_putc(out, '\n');
    }
    if (rc == 0 && out->oom) rc = st_fail(err, ENOMEM, "sign: out of memory");
    if (rc == 0) rc = check_signed(out, start, text, len, signers, n, err);
    if (rc != 0 && !out->oom) out->len = start;
    return rc;
}

int st_checkpoint_sign(st_buf *out, st_signer *const *signers, size_t n, const char *origin, uint64_t size,
                       const st_hash root, int64_t time_s, st_err *err)
{
    if (out == NULL || origin == NULL || !st_key_name_valid(origin, strlen(origin)))
        return st_fail(err, ST_EINVAL, "checkpoint: invalid origin [CP-1]");
    st_buf text = { 0 };
    st_checkpoint_format(&text, origin, size, root, time_s);
    if (text.oom) { st_buf_free(&text); return st_fail(err, ENOMEM, "checkpoint: out of memory"); }
    size_t start = out->len;
    int rc = st_note_sign(out, (const char *)text.data, text.len, signers, n, err);
    if (rc == 0) {
        st_checkpoint cp;
        rc = st_checkpoint_parse(&cp, (const char *)out->data + start, text.len, err);
        if (rc == 0 && (strcmp(cp.origin, origin) != 0 || cp.size != size || memcmp(cp.root, root, ST_HASH_BYTES) != 0 ||
                        cp.time_s != (time_s >= 0 ? time_s : -1) || cp.n_ext != (time_s >= 0 ? 1u : 0u)))
            rc = st_fail(err, ST_EFORMAT, "checkpoint: signed text does not parse back to its values");
        if (rc != 0) out->len = start;
    }
    st_buf_free(&text);
    return rc;
}
