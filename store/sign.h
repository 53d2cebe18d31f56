/*
 * sign.h: Ed25519 signing keys and signed-note signing. Outside the verifier
 * library (stverify) on purpose: auditverify must not link secret-key code.
 *
 * Key file (docs/FORMAT.md section 4, the x/mod sumdb/note signer format),
 * one line, mode 0600:
 *
 *   PRIVATE+KEY+<name>+<hex8 key_id>+<b64(0x01 || Ed25519 seed[32])> LF
 *
 * CAVEATS
 *  - The secret key lives only in sodium_malloc memory (guard pages, locked,
 *    kept PROT_NONE between signatures) and is wiped by st_signer_free. The
 *    seed is decoded straight into such memory; temporaries are wiped.
 *  - st_signer_load refuses a key file that is a symbolic link (O_NOFOLLOW),
 *    not a regular file, larger than 1 KiB, malformed, whose key ID does not
 *    match, or whose mode grants anything to group or others [KEY-1].
 *  - An st_signer belongs to one thread at a time (signing flips the page
 *    protection of its key).
 *
 * ERRORS (in addition to errno values from open/read/write)
 *  ST_EEXIST    st_signer_generate: the key file already exists
 *  ST_ENOKEY    st_signer_load: no key file at path
 *  ST_EKEYPERM  st_signer_load: mode lets group or others in (err says the fix)
 *  ST_EBADKEY   malformed key file or string, wrong key ID, bad key name
 *  ST_EINVAL    bad arguments (text not a valid note text, duplicate signers)
 *  ST_EBADSIG   a signature we just made failed to verify (never expected)
 *  ENOMEM       sodium_malloc or malloc failed
 */
#ifndef ST_SIGN_H
#define ST_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include "sealtrail.h"
#include "merkle.h"
#include "note.h"
#include "util.h"

typedef struct st_signer st_signer;

#define ST_SKEY_FILE_MAX 1024u   /* a key file is refused if it is this large or larger */

/* Generates a new Ed25519 key named `name` and writes it to `path`
 * (O_WRONLY|O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600, fsynced; removed again if
 * writing fails). *out (if out is non-NULL) receives the loaded signer. */
ST_NODISCARD int st_signer_generate(st_signer **out, const char *path, const char *name, st_err *err);

/* Loads a key file written by st_signer_generate (or x/mod's format, with or
 * without the final LF). Checks permissions, derives the public key from the
 * seed and checks the key ID. */
ST_NODISCARD int st_signer_load(st_signer **out, const char *path, st_err *err);

/* Parses a signer key string ("PRIVATE+KEY+..."; no LF). For tests and tools
 * that already hold the string; the store loads keys with st_signer_load. */
ST_NODISCARD int st_signer_from_string(st_signer **out, const char *skey, size_t len, st_err *err);

void st_signer_free(st_signer *s);              /* wipes the key; NULL is a no-op */

/* The public half (name, key ID, public key). Borrowed; valid until st_signer_free. */
const st_vkey *st_signer_vkey(const st_signer *s);
/* The C2SP verifier key string [CP-5], NUL-terminated. */
void st_signer_vkey_string(const st_signer *s, char out[ST_VKEY_MAX]);

/* Appends to out a complete signed note: text, a blank line, and one
 * signature line per signer in the given order [CP-3]. text must be valid
 * note text (non-empty UTF-8, no control bytes but LF, ending in LF).
 * Before returning, parses the note it produced and verifies every
 * signature with the verifier code; on any failure out is left as it was. */
ST_NODISCARD int st_note_sign(st_buf *out, const char *text, size_t len,
                              st_signer *const *signers, size_t n, st_err *err);

/* Formats the checkpoint text (origin, size, b64 root, "time <secs>" if
 * time_s >= 0; [CP-1], [CP-2]) and signs it as st_note_sign does. The origin
 * must obey the key-name rules; the parsed result is checked against the
 * arguments before returning. */
ST_NODISCARD int st_checkpoint_sign(st_buf *out, st_signer *const *signers, size_t n,
                                    const char *origin, uint64_t size, const st_hash root,
                                    int64_t time_s, st_err *err);

#endif
