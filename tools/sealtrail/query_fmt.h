/*
 * query_fmt.h: output formats shared by `query` and `tail`: JSON lines (the
 * `log` rendering, optionally with an inclusion proof), the "seed" audit-log
 * line, RFC 4180 CSV, and an aligned terminal table (its cells: query_fmt_cell.c).
 */
#ifndef ST_QUERY_FMT_H
#define ST_QUERY_FMT_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "merkle.h"
#include "util.h"

typedef enum qf_format { QF_JSONL = 0, QF_JSON, QF_SEED, QF_CSV, QF_TABLE } qf_format;

/* Parses a --format value; -1 if unknown. */
int qf_parse_format(const char *s, qf_format *out);

/* Proofs against the latest checkpoint, read in the query's transaction. */
typedef struct qf_proof {
    int have;            /* a checkpoint exists */
    uint64_t size;
    st_hash root;
    uint64_t unsealed;   /* results past the checkpoint (no proof) */
} qf_proof;

/* Loads the latest checkpoint (have = 0 if the store was never sealed) and
 * checks that its root equals the stored tree's. 0 or ST_ECORRUPT (err). */
int qf_proof_init(qf_proof *p, st_txn *txn, st_err *err);
/* Appends the FORMAT.md 3.1 inclusion proof of `index` as a JSON object, or
 * null when the entry is past the checkpoint. The proof is verified with
 * st_verify_inclusion before it is written. */
int qf_proof_json(st_buf *out, qf_proof *p, st_txn *txn, uint64_t index, const uint8_t *entry, size_t len);

/* One entry as a JSON line (the `log` shape); with proof_json (non-NULL) a
 * "proof" member is added. Ends with LF. */
int qf_jsonl(st_buf *out, st_txn *txn, uint64_t index, const uint8_t *entry, size_t len, const st_buf *proof_json);

/* {"timestamp","toolName","input","output","executionTimeMs","error","errorMessage","status"} + LF */
int qf_seed(st_buf *out, st_txn *txn, uint64_t index, const uint8_t *entry, size_t len);

void qf_csv_header(st_buf *out);
int qf_csv_row(st_buf *out, st_txn *txn, uint64_t index, const uint8_t *entry, size_t len);
/* Appends one RFC 4180 field (quoted when it holds , " CR or LF); a field
 * starting with = + - @ TAB or CR (a spreadsheet formula) gets a leading '. */
void qf_csv_field(st_buf *out, const char *s, size_t n);

/* Table: fixed columns, the last one filling `width` (terminal columns). */
void qf_table_header(st_buf *out, unsigned width);
int qf_table_row(st_buf *out, st_txn *txn, uint64_t index, const uint8_t *entry, size_t len, unsigned width);
/* Appends s with each code point qf_cell shows as a space (C0 and C1
 * controls, DEL, bidirectional and line controls) and each byte that is not
 * UTF-8 replaced by U+FFFD: text a terminal shows as it is (CSV cells). */
void qf_text_safe(st_buf *out, const char *s, size_t n);
/* Appends s cut to at most w terminal columns (with an ellipsis when cut; wide
 * characters count 2, controls print as a space), padded to w if pad. */
void qf_cell(st_buf *out, const char *s, size_t n, unsigned w, int pad);

#endif
