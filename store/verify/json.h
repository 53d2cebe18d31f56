/*
 * json.h: a strict, length-aware JSON parser and serializer for hostile input.
 *
 * Why not cJSON for this: cJSON strings stop at NUL (a redaction bypass and a
 * silent data loss), it accepts duplicate keys (two readers, two meanings),
 * it turns every number into a double, and its key lookup ignores case. This
 * module keeps strings with their lengths, numbers as their literal text,
 * members in input order, and enforces depth and size limits. cJSON is still
 * used where input is our own or the user's config (settings.json merging).
 *
 * Memory: every node and string of a parse lives in the document's arena and
 * is freed with st_json_doc_free. Nodes built with st_json_new_* live in the
 * document passed to them.
 */
#ifndef ST_JSON_H
#define ST_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

typedef enum {
    ST_JSON_NULL = 0,
    ST_JSON_FALSE,
    ST_JSON_TRUE,
    ST_JSON_NUMBER, /* str/len = the number's literal text, exactly as in the input */
    ST_JSON_STRING, /* str/len = decoded UTF-8; may contain NUL bytes */
    ST_JSON_ARRAY,
    ST_JSON_OBJECT
} st_json_type;

typedef struct st_json st_json;
struct st_json {
    st_json_type type;
    char *str;       /* NUMBER, STRING: NUL-terminated for convenience, but use len */
    size_t len;
    char *key;       /* set when this node is an object member: decoded key */
    size_t key_len;
    st_json *child;  /* ARRAY/OBJECT: first element/member, input order */
    st_json *last;   /* ARRAY/OBJECT: last element/member (O(1) append) */
    st_json *next;   /* next sibling */
    size_t count;    /* ARRAY/OBJECT: number of children */
};

typedef struct st_json_doc st_json_doc;

/* Parse flags */
#define ST_JSON_ALLOW_WS        0x01u /* allow whitespace around and inside (RFC 8259). Without it, none anywhere. */
#define ST_JSON_LENIENT_UTF8    0x02u /* invalid UTF-8 bytes and lone surrogate escapes become U+FFFD (counted) instead of an error */
#define ST_JSON_ALLOW_DUP_KEYS  0x04u /* keep duplicate keys (both members, in order) instead of an error */
#define ST_JSON_INTEGERS_ONLY   0x08u /* numbers must be integers in [-(2^53-1), 2^53-1] with no fraction/exponent, no -0 */

typedef struct st_json_opts {
    unsigned flags;
    unsigned max_depth;   /* 0 = ST_JSON_DEFAULT_DEPTH; arrays/objects nested deeper are an error */
    size_t   max_bytes;   /* 0 = no limit beyond the input length */
} st_json_opts;

#define ST_JSON_DEFAULT_DEPTH 512u

typedef struct st_json_info {
    size_t replaced;      /* U+FFFD substitutions made under ST_JSON_LENIENT_UTF8 */
    size_t error_offset;  /* byte offset of the first error */
    int duplicate_key;    /* the error (ST_EJSON) is a key given twice in one object */
} st_json_info;

/* Parses exactly one JSON value from buf[0..len). Trailing bytes (other than
 * whitespace with ALLOW_WS) are an error. NaN/Infinity, comments, single quotes,
 * leading zeros, control characters in strings are errors. Returns 0, ST_EJSON
 * (err names the offset and the problem), ST_ETOOBIG, ST_EDEPTH or ENOMEM. */
int st_json_parse(st_json_doc **out, const char *buf, size_t len, const st_json_opts *opts,
                  st_json_info *info, st_err *err);

/* st_json_parse into *io: a document already there (one whose nodes and
 * strings the caller no longer uses) is emptied and its memory reused, NULL
 * gets a new one (when it is too small or far too big for len it is replaced
 * too). On error *io holds an empty document (or NULL if none could be made);
 * the caller frees it with st_json_doc_free either way. For a loop over many
 * inputs (an import's lines): no allocation per input in the steady state. */
int st_json_parse_reuse(st_json_doc **io, const char *buf, size_t len, const st_json_opts *opts,
                        st_json_info *info, st_err *err);

/* A new empty document for building values. NULL on ENOMEM. */
st_json_doc *st_json_doc_new(void);
void st_json_doc_free(st_json_doc *doc);        /* NULL is a no-op */
/* Empties doc (root NULL): every node and string in it is gone; its first
 * chunk of memory is kept for what is built or parsed next. NULL: no-op. */
void st_json_doc_reset(st_json_doc *doc);
st_json *st_json_doc_root(st_json_doc *doc);
void st_json_doc_set_root(st_json_doc *doc, st_json *v);
/* Arena allocation inside the document (lives until st_json_doc_free). */
void *st_json_doc_alloc(st_json_doc *doc, size_t n);

/* Object lookup: exact, case-sensitive, length-aware; first match; NULL if absent or obj not an object. */
const st_json *st_json_get(const st_json *obj, const char *key);
const st_json *st_json_getn(const st_json *obj, const char *key, size_t key_len);
/* Convenience typed getters: return NULL / -1 if absent or of another type. */
const char *st_json_get_str(const st_json *obj, const char *key, size_t *len_out);
int st_json_get_i64(const st_json *obj, const char *key, int64_t *out);
int st_json_as_i64(const st_json *v, int64_t *out); /* integer literal within int64 -> 0, else -1 */

/* Builders (nodes live in doc; NULL on ENOMEM). Strings are copied. */
st_json *st_json_new_null(st_json_doc *doc);
st_json *st_json_new_bool(st_json_doc *doc, int b);
st_json *st_json_new_int(st_json_doc *doc, int64_t v);
st_json *st_json_new_strn(st_json_doc *doc, const char *s, size_t len);
st_json *st_json_new_str(st_json_doc *doc, const char *s);
st_json *st_json_new_raw_number(st_json_doc *doc, const char *literal, size_t len);
st_json *st_json_new_array(st_json_doc *doc);
st_json *st_json_new_object(st_json_doc *doc);
/* Appends v to array/object (key copied for objects). 0 or -1 (ENOMEM / wrong type). */
int st_json_array_add(st_json_doc *doc, st_json *arr, st_json *v);
int st_json_object_add(st_json_doc *doc, st_json *obj, const char *key, size_t key_len, st_json *v);
/* Deep copy of v into doc. */
st_json *st_json_clone(st_json_doc *doc, const st_json *v);

/* Serialization. Output is compact (no whitespace). Strings use minimal
 * escaping: \" \\ \b \f \n \r \t, other bytes < 0x20 as \u00xx (lowercase hex),
 * everything else as raw UTF-8. */
#define ST_JSON_SORT_KEYS 0x01u  /* members sorted by key bytes (unsigned memcmp, shorter first on tie): canonical order */
void st_json_write(st_buf *out, const st_json *v, unsigned flags);
void st_json_write_string(st_buf *out, const char *s, size_t len);
/* Writes object obj without the members listed in skip (compared by
 * address), in input order. Returns how many members it wrote. */
size_t st_json_write_object_except(st_buf *out, const st_json *obj, const st_json *const *skip, size_t nskip);

/* Canonical entry check [ENTRY-1..]: parses with INTEGERS_ONLY, no whitespace,
 * no duplicates, strict UTF-8, then re-serializes with SORT_KEYS and requires
 * identical bytes. Returns 0 or ST_ENONCANON / ST_EJSON with err naming the
 * first difference. On success *doc_out (if non-NULL) receives the parse. */
int st_json_parse_canonical(st_json_doc **doc_out, const uint8_t *buf, size_t len,
                            unsigned max_depth, st_err *err);

#endif
