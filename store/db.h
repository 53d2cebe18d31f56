/*
 * db.h: the storage layer. db.c is the only file that includes <lmdb.h>;
 * everything else sees named tables, transactions and cursors.
 *
 * Write transactions go through st_db_write(), which runs a callback and,
 * on MDB_MAP_FULL, aborts, grows the map and runs the callback again: the
 * callback must therefore be repeatable (compute everything inside it).
 */
#ifndef ST_DB_H
#define ST_DB_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* Named tables. Their names in the LMDB file are in db.c; all are created by st_db_open(create).
 *
 * SPLIT TABLES (ST_T_IX_TOOL, ST_T_IX_SESSION). Their rows are keyed
 * prefix ‖ 16 bytes, where many rows share a prefix and the 16 bytes (T I)
 * of a prefix's new rows grow. LMDB splits a page in half when a key goes
 * anywhere but the end of the whole table, so such tables stood at 55%
 * full pages. A split table is an MDB_DUPSORT table keyed by the prefix
 * alone, with the 16 bytes and then the value as the duplicate: a prefix's
 * new rows append to its own duplicates and fill their pages. Through this
 * API a split table looks exactly like any other table: keys are the whole
 * prefix ‖ 16 bytes (at least 16 bytes), values what was put, order and
 * seek are over whole keys, a put replaces the row of an equal key. The
 * caller must keep the prefixes prefix-free (no prefix is a proper prefix
 * of another; enc() in index.h is) and values at most ST_DB_SPLIT_VAL_MAX
 * bytes. st_db_update and st_db_put_reserve are not available on them. */
#define ST_DB_SPLIT_VAL_MAX 480u
typedef enum st_table {
    ST_T_META = 0,     /* ASCII key -> value */
    ST_T_ENTRIES,      /* u64be index -> canonical entry bytes */
    ST_T_TREE,         /* u8 level || u64be pos -> 32-byte hash */
    ST_T_CHECKPOINTS,  /* u64be size -> signed note */
    ST_T_PAYLOADS,     /* u64be index || name -> salt[16] || storage encoding */
    ST_T_BLOBS,        /* content-addressed payload storage (dedup); layout owned by payload.c */
    ST_T_IX_TIME,      /* secondary indexes; layouts owned by index.c */
    ST_T_IX_TOOL,
    ST_T_IX_EVENT,
    ST_T_IX_SESSION,
    ST_T_IX_STATUS,
    ST_T_IX_PATH,
    ST_T_IX_DURATION,
    ST_T_IX_TOOLUSE,   /* tool_use_id -> index of its PreToolUse (duration matching) */
    ST_T_STATS,        /* running aggregates (index.c) */
    ST_T_KEYS,         /* key history (keys.c) */
    ST_T_RETENTION,    /* retention state (retention.c) */
    ST_T_IX_TOOL_L3,   /* the tool and session tables of index layouts 1..3, emptied by reindex */
    ST_T_IX_SESSION_L3,
    ST_T_BLOB_REFS,    /* reference counts of `blobs` rows (format version 4; payload.c) */
    ST_T__COUNT
} st_table;

/* 1 if t is a split table (above). */
int st_db_split(st_table t);

typedef struct st_db st_db;
typedef struct st_txn st_txn;
typedef struct st_cursor st_cursor;

#define ST_DB_CREATE 0x1u
#define ST_DB_RDONLY 0x2u

/* Opens (or with ST_DB_CREATE creates) the LMDB environment in dir. Files 0600. */
ST_NODISCARD int st_db_open(st_db **out, const char *dir, unsigned flags, st_err *err);
void st_db_close(st_db *db);

/* Runs fn inside one write transaction and commits durably. Retries on
 * MAP_FULL after growing the map (fn must be repeatable). Returns fn's
 * non-zero result (after aborting) or the commit result. */
typedef int (*st_db_write_fn)(st_txn *txn, void *ctx);
ST_NODISCARD int st_db_write(st_db *db, st_db_write_fn fn, void *ctx, st_err *err);

/* Process-wide: when a write transaction has waited ms milliseconds for
 * LMDB's writer lock (another process is writing), fn is called once for
 * that wait, from a watchdog thread; the write goes on waiting. For the
 * command-line tools (the hook bounds its wait its own way and stays
 * silent). NULL turns it off. */
void st_db_set_lock_notice(void (*fn)(void), unsigned ms);

/* Read transactions (snapshot isolation). */
ST_NODISCARD int st_db_read_begin(st_db *db, st_txn **out, st_err *err);
void st_db_read_end(st_txn *txn);
/* Renew a read snapshot to the latest committed state (for tail -f). */
ST_NODISCARD int st_db_read_renew(st_txn *txn);

#define ST_PUT_APPEND      0x1u  /* key sorts after every existing key (MDB_APPEND) */
#define ST_PUT_NOOVERWRITE 0x2u  /* ST_EEXIST if present */

/* Values returned by get/cursor point into the map: valid until the transaction ends; never write through them. */
ST_NODISCARD int st_db_get(st_txn *txn, st_table t, const void *key, size_t klen, const void **val, size_t *vlen);
ST_NODISCARD int st_db_put(st_txn *txn, st_table t, const void *key, size_t klen, const void *val, size_t vlen, unsigned flags);
/* Reserve space for a value and fill it in place (avoids a copy for large payloads). */
ST_NODISCARD int st_db_put_reserve(st_txn *txn, st_table t, const void *key, size_t klen, size_t vlen, void **val_out);
/* Read-modify-write of one row with one descent of the tree (none when the
 * row is on the page of the previous put or update: update in key order).
 * fn gets the row's value (old NULL, oldlen 0: absent) and writes the new
 * value, vlen <= ST_DB_UPDATE_MAX bytes, into out; a nonzero return from fn
 * is returned and nothing is written. */
#define ST_DB_UPDATE_MAX 256u
ST_NODISCARD int st_db_update(st_txn *txn, st_table t, const void *key, size_t klen, size_t vlen,
                              int (*fn)(void *ctx, const void *old, size_t oldlen, uint8_t *out), void *ctx);
ST_NODISCARD int st_db_del(st_txn *txn, st_table t, const void *key, size_t klen);
/* Number of records in a table. */
ST_NODISCARD int st_db_count(st_txn *txn, st_table t, uint64_t *out);
/* Removes every record of a table (reindex). */
ST_NODISCARD int st_db_clear(st_txn *txn, st_table t);

/* Cursors. seek: first key >= key (klen 0 = first record). Return 0, ST_ENOTFOUND at the end. */
ST_NODISCARD int st_cursor_open(st_txn *txn, st_table t, st_cursor **out);
void st_cursor_close(st_cursor *c);
ST_NODISCARD int st_cursor_seek(st_cursor *c, const void *key, size_t klen, const void **k, size_t *kl, const void **v, size_t *vl);
ST_NODISCARD int st_cursor_next(st_cursor *c, const void **k, size_t *kl, const void **v, size_t *vl);
ST_NODISCARD int st_cursor_prev(st_cursor *c, const void **k, size_t *kl, const void **v, size_t *vl);
ST_NODISCARD int st_cursor_last(st_cursor *c, const void **k, size_t *kl, const void **v, size_t *vl);
/* Deletes the record under the cursor. */
ST_NODISCARD int st_cursor_del(st_cursor *c);

/* Meta helpers (u64 values stored big-endian). */
ST_NODISCARD int st_meta_get_u64(st_txn *txn, const char *name, uint64_t *out);   /* ST_ENOTFOUND if absent */
ST_NODISCARD int st_meta_put_u64(st_txn *txn, const char *name, uint64_t v);
ST_NODISCARD int st_meta_get_str(st_txn *txn, const char *name, const char **s, size_t *len);
ST_NODISCARD int st_meta_put_str(st_txn *txn, const char *name, const char *s, size_t len);

/* Environment facts for status and bench: map size, bytes in use, page size. */
void st_db_info(st_db *db, uint64_t *map_bytes, uint64_t *used_bytes, unsigned *page_size);
/* fstat of the data file the environment has open (not of the path, which
 * may name another file by now): 0 or errno. */
struct stat;
ST_NODISCARD int st_db_file_stat(st_db *db, struct stat *out);
/* Copies the environment compacted into dir2 (mdb_env_copy2 with MDB_CP_COMPACT). */
ST_NODISCARD int st_db_compact_copy(st_db *db, const char *path, st_err *err);

/* Last LMDB error text for diagnostics. */
const char *st_db_errstr(int rc);

#endif
