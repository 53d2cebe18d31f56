/*
 * render.h: one entry as a JSON line for people and pipelines (`log`,
 * `query`, `tail`): the envelope's members, plus "content": an object
 * mapping each payload name to its decoded value (as stored, i.e. redacted).
 * A payload that is absent is rendered as null and listed in
 * "absent_payloads".
 *
 * Output only: nothing here is hashed, signed or written into a bundle
 * (export and the stored bytes use the canonical writer, store/verify/json.c).
 * So the rendering may spell a string differently from the stored bytes as
 * long as every JSON parser reads the same value: the code points a
 * terminal acts on are written as \uXXXX escapes (st_render_escape_controls).
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

/* Rewrites b from offset `from` on, which must be valid JSON text (in
 * UTF-8), so that no code point a terminal acts on appears raw: the C1
 * controls U+0080..U+009F (U+009B is CSI to some terminals), U+061C,
 * U+200E, U+200F, U+2028..U+202E and U+2066..U+2069 (line breaks and
 * bidirectional controls that reorder what follows, "Trojan Source") become
 * \u0080-style escapes. JSON text holds bytes >= 0x80 only inside strings,
 * so the value every parser reads is unchanged. C0 controls and DEL are
 * already escaped by any JSON writer (C0) or harmless (DEL). Scans for the
 * lead bytes 0xC2, 0xD8 and 0xE2 and copies nothing when none of these code
 * points is present. Sets b->oom on allocation failure. */
void st_render_escape_controls(st_buf *b, size_t from);

/* The length (2 or 3) of the UTF-8 sequence at s (n bytes left) if it
 * encodes one of the code points above, with the code point in *cp; else 0. */
size_t st_render_control_at(const uint8_t *s, size_t n, uint32_t *cp);

#endif
