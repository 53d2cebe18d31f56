/*
 * entry.h: the leaf data. An entry is a canonical JSON object (docs/FORMAT.md
 * section "Entries"): metadata auditors filter on plus a salted commitment
 * for each payload. This module parses and checks entries; building them is
 * store/envelope.c's job.
 *
 *   commit = SHA-256("sealtrail/payload/v1" || 0x00 || salt[16] || payload bytes)
 */
#ifndef ST_ENTRY_H
#define ST_ENTRY_H

#include <stddef.h>
#include <stdint.h>

#include "json.h"
#include "merkle.h"

#define ST_ENTRY_VERSION      1
#define ST_ENTRY_MAX_PAYLOADS 16u
#define ST_PAYLOAD_NAME_MAX   32u   /* [a-z0-9_], 1..32 bytes */
#define ST_PAYLOAD_TAG        "sealtrail/payload/v1"

typedef struct st_entry_payload {
    char name[ST_PAYLOAD_NAME_MAX + 1];
    uint64_t len;           /* payload bytes committed to */
    st_hash commit;
    int truncated;          /* the stored payload is the head of a longer content */
    uint64_t full_len;      /* when truncated: length of the full redacted content */
    st_hash full_sha256;    /* when truncated: SHA-256 of the full redacted content */
} st_entry_payload;

typedef struct st_entry {
    st_json_doc *doc;       /* owns the parse; root below points into it */
    const st_json *root;
    uint64_t index;
    int64_t time_us;
    const char *kind;       /* "event", "import", or a record kind; NUL-terminated, in doc */
    size_t npayloads;
    st_entry_payload payloads[ST_ENTRY_MAX_PAYLOADS];
} st_entry;

/* Parses and validates entry bytes [ENTRY-1..ENTRY-9]: canonical encoding,
 * required members with the right types, v == 1, payload table well-formed.
 * ST_ENONCANON / ST_EJSON / ST_EFORMAT / ST_EVERSION / ST_ETOOBIG with err. */
ST_NODISCARD int st_entry_parse(st_entry *out, const uint8_t *bytes, size_t len, st_err *err);
void st_entry_free(st_entry *e);   /* frees e->doc; NULL-safe; e itself is the caller's */

/* Finds a payload by name; NULL if absent. */
const st_entry_payload *st_entry_find_payload(const st_entry *e, const char *name);

/* commit = SHA-256(tag || 0x00 || salt || bytes) */
void st_payload_commit(st_hash out, const uint8_t salt[ST_SALT_BYTES], const uint8_t *bytes, size_t len);
int  st_payload_name_valid(const char *name, size_t len);

#endif
