/*
 * render.h: one entry as a JSON line for people and pipelines (`log`,
 * `query`, `tail`): the envelope's members, plus "content": an object
 * mapping each payload name to its decoded value (as stored, i.e. redacted).
 * A payload that is absent is rendered as null and listed in
 * "absent_payloads".
 */
#ifndef ST_RENDER_H
#define ST_RENDER_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "util.h"

/* Appends the rendering of entry `index` (bytes = its canonical entry bytes)
 * followed by LF. with_payloads = 0 renders the envelope alone. */
ST_NODISCARD int st_render_entry(st_buf *out, st_txn *txn, uint64_t index, const uint8_t *bytes, size_t len,
                                 int with_payloads);

/* Appends bytes as a JSON string, replacing invalid UTF-8 with U+FFFD. */
void st_render_lossy_string(st_buf *out, const uint8_t *bytes, size_t len);

#endif
