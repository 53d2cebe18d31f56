/*
 * note.h: C2SP signed notes (c2sp.org/signed-note) with Ed25519 (type 0x01),
 * C2SP verifier key strings, and tlog-checkpoint bodies
 * (c2sp.org/tlog-checkpoint). Verification only: signing lives in
 * store/sign.c, outside the verifier library.
 *
 *   note      = text (lines ending in LF) || LF || signature lines
 *   sig line  = U+2014 SP name SP base64(key_id[4] || sig[64]) LF
 *   key_id    = SHA-256(name || LF || 0x01 || pubkey)[0:4]
 *   vkey      = name "+" hex8(key_id) "+" base64(0x01 || pubkey)
 */
#ifndef ST_NOTE_H
#define ST_NOTE_H

#include <stddef.h>
#include <stdint.h>

#include "merkle.h"
#include "util.h"

#define ST_NOTE_MAX        (1u << 20) /* whole note bytes */
#define ST_NOTE_MAX_SIGS   100u       /* x/mod's cap; C2SP requires >= 16 */
#define ST_KEY_NAME_MAX    255u

typedef struct st_vkey {
    char name[ST_KEY_NAME_MAX + 1];
    uint32_t key_id;
    uint8_t pub[32];
} st_vkey;

/* Parses "name+hex8+base64(0x01||pub)" and checks the key ID. ST_EBADKEY on any defect (err says which). */
ST_NODISCARD int st_vkey_parse(st_vkey *out, const char *s, size_t len, st_err *err);
/* Formats the vkey string (NUL-terminated) into out[ST_VKEY_MAX]. */
void st_vkey_format(char out[ST_VKEY_MAX], const st_vkey *k);
uint32_t st_key_id(const char *name, size_t name_len, const uint8_t pub[32]);
/* Key name rules: non-empty, <= 255 bytes, valid UTF-8, no Unicode whitespace, no '+'. */
int st_key_name_valid(const char *name, size_t len);

typedef struct st_note_sig {
    const char *name;   /* points into the note buffer (not NUL-terminated) */
    size_t name_len;
    uint32_t key_id;
    uint8_t sig[64];
    int sig_len_ok;     /* payload was exactly 4+64 bytes */
} st_note_sig;

typedef struct st_note {
    const char *text;   /* points into the caller's buffer: the signed message, ends in LF */
    size_t text_len;
    size_t nsigs;
    st_note_sig sigs[ST_NOTE_MAX_SIGS];
} st_note;

/* Splits a note into text and signature lines; checks UTF-8, no control bytes
 * but LF, the LF structure, each signature line's form. Does not verify.
 * Exact duplicate signature lines are dropped (as x/mod does). ST_EFORMAT with err. */
ST_NODISCARD int st_note_parse(st_note *out, const char *buf, size_t len, st_err *err);

/* Verifies the note against a set of known keys. Lines from unknown (name,id)
 * are ignored; a known key whose signature fails makes the note invalid
 * (ST_EBADSIG); at least one known key must have signed (else ST_EUNTRUSTED).
 * verified_out (optional, nkeys entries) gets 1 for each key that signed. */
ST_NODISCARD int st_note_verify(const st_note *n, const st_vkey *keys, size_t nkeys,
                                int *verified_out, st_err *err);

/* A parsed tlog-checkpoint body. */
typedef struct st_checkpoint {
    char origin[ST_KEY_NAME_MAX + 1];
    uint64_t size;
    st_hash root;
    int64_t time_s;     /* from the "time <unix seconds>" extension line; -1 if absent */
    size_t n_ext;       /* extension lines (including time) */
} st_checkpoint;

/* Parses checkpoint text (the note's signed text). ST_EFORMAT with err. */
ST_NODISCARD int st_checkpoint_parse(st_checkpoint *out, const char *text, size_t len, st_err *err);
/* Writes the checkpoint text: origin LF size LF b64(root) LF ["time " secs LF]. */
void st_checkpoint_format(st_buf *out, const char *origin, uint64_t size, const st_hash root, int64_t time_s);

#endif
