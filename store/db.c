/*
 * db.c: the LMDB environment behind a store. This is the only file that
 * includes <lmdb.h>. It maps LMDB's errors into the st_ error space, opens
 * the named tables, and runs write transactions with automatic map growth:
 * on MDB_MAP_FULL the transaction is aborted, the map doubled, and the
 * caller's callback run again.
 *
 * Durability: every write transaction is committed with LMDB's default
 * synchronous flush; MDB_NOSYNC, MDB_NOMETASYNC and MDB_NOMEMINIT are never
 * used (NOMETASYNC saved no measurable CPU in import). Nor is MDB_WRITEMAP:
 * the map would be writable, so a stray write through a pointer returned
 * by a get would corrupt the store, and LMDB forbids mixing processes with
 * and without it (a hook of another release appending during an import).
 */
#include "db.h"

#include <errno.h>
#include <unistd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include <lmdb.h>

#define ST_MAP_INITIAL ((size_t)64 << 20)
#define ST_MAP_MAX     ((size_t)1 << 40)   /* 1 TiB of address space */
#define ST_WRITE_RETRIES 40

struct st_db {
    MDB_env *env;
    MDB_dbi dbi[ST_T__COUNT];
    int have[ST_T__COUNT];
    unsigned flags;
};

struct st_txn {
    st_db *db;
    MDB_txn *txn;
    int write;
    int map_full;
    /* Per table, a cursor kept at the table's last row by ST_PUT_APPEND puts:
     * LMDB then checks the new key against that row instead of descending
     * the tree again (entries, tree nodes, payloads and time rows append
     * several times per entry). Any other change to the table drops it.
     * LMDB frees a write transaction's cursors when it ends. */
    MDB_cursor *app[ST_T__COUNT];
    /* Per table, a cursor kept where the last other put or update left
     * it: LMDB first looks whether the next key falls on that leaf page
     * and only then descends from the root, so keys written in sorted
     * order (stats rows, merged path rows) mostly skip the descent. A
     * delete or clear of the table drops it. Gets from a split table use it
     * too, in read transactions as well (closed when they end or renew). */
    MDB_cursor *put[ST_T__COUNT];
};

/* A split table's row (db.h: SPLIT TABLES): LMDB key = the row's key but
 * its last SPLIT_TAIL bytes; duplicate = those bytes, then the value. */
#define SPLIT_TAIL 16u
#define SPLIT_KEY_MAX (511u + SPLIT_TAIL)   /* LMDB keys are at most 511 bytes */

struct st_cursor {
    st_txn *t;
    st_table tb;
    MDB_cursor *c;
    uint8_t key[SPLIT_KEY_MAX];   /* a split table's whole key, put back together */
};

static const struct { const char *name; unsigned flags; int split; } table_def[ST_T__COUNT] = {
    [ST_T_META]        = { "meta", 0, 0 },
    [ST_T_ENTRIES]     = { "entries", 0, 0 },
    [ST_T_TREE]        = { "tree", 0, 0 },
    [ST_T_CHECKPOINTS] = { "checkpoints", 0, 0 },
    [ST_T_PAYLOADS]    = { "payloads", 0, 0 },
    [ST_T_BLOBS]       = { "blobs", 0, 0 },
    [ST_T_IX_TIME]     = { "ix_time", 0, 0 },
    [ST_T_IX_TOOL]     = { "ix_tool4", MDB_DUPSORT, 1 },
    [ST_T_IX_EVENT]    = { "ix_event", 0, 0 },
    [ST_T_IX_SESSION]  = { "ix_session4", MDB_DUPSORT, 1 },
    [ST_T_IX_STATUS]   = { "ix_status", 0, 0 },
    [ST_T_IX_PATH]     = { "ix_path", 0, 0 },
    [ST_T_IX_DURATION] = { "ix_duration", 0, 0 },
    [ST_T_IX_TOOLUSE]  = { "ix_tooluse", 0, 0 },
    [ST_T_STATS]       = { "stats", 0, 0 },
    [ST_T_KEYS]        = { "keys", 0, 0 },
    [ST_T_RETENTION]   = { "retention", 0, 0 },
    [ST_T_IX_TOOL_L3]  = { "ix_tool", 0, 0 },
    [ST_T_IX_SESSION_L3] = { "ix_session", 0, 0 },
    [ST_T_BLOB_REFS]   = { "blob_refs", 0, 0 },
};

const char *st_db_errstr(int rc) { return mdb_strerror(rc); }

int st_db_split(st_table t) { return t >= 0 && t < ST_T__COUNT && table_def[t].split; }

/* LMDB and system codes -> ours. */
static int map_rc(st_txn *t, int rc)
{
    switch (rc) {
    case MDB_SUCCESS: return 0;
    case MDB_NOTFOUND: return ST_ENOTFOUND;
    case MDB_KEYEXIST: return ST_EEXIST;
    case MDB_BAD_VALSIZE: return ST_EINVAL;   /* a key or value this record makes too long: the record's fault */
    case MDB_MAP_FULL:
        if (t) t->map_full = 1;
        return ST_EDB;
    case EACCES:
    case EROFS: return ST_ERDONLY;
    default: return rc > 0 ? rc : ST_EDB;
    }
}

/* The map size to open with. The data file's size says how much is in use:
 * map half as much again (at least ST_MAP_INITIAL), so that a store that
 * other processes grew neither needs a remap right after opening (adopting
 * the size recorded in the meta page costs an munmap and an mmap, per hook)
 * nor fills its map on the first append. A map that still proves too small
 * is handled where it shows: MDB_MAP_RESIZED at begin, MDB_MAP_FULL in
 * st_db_write (grow_map). */
static size_t initial_mapsize(const char *dir)
{
    const char *ms = getenv("SEALTRAIL_MAPSIZE"); /* tests exercise map growth with a tiny map */
    if (ms && *ms) {
        uint64_t v;
        if (st_parse_u64(ms, strlen(ms), ST_MAP_MAX, &v) == 0 && v >= 65536) return (size_t)v;
    }
    size_t mapsize = ST_MAP_INITIAL;
    char path[4096];
    struct stat st;
    if (snprintf(path, sizeof path, "%s/data.mdb", dir) < (int)sizeof path && stat(path, &st) == 0 && st.st_size > 0) {
        uint64_t want = (uint64_t)st.st_size + (uint64_t)st.st_size / 2;
        while (mapsize < want && mapsize < ST_MAP_MAX) mapsize *= 2;
    }
    return mapsize;
}

/* Opens the tables not open yet, creating them if create; *missing: how
 * many are still absent. A table counts as open only once the transaction
 * that opened it committed. */
static int open_tables(st_db *db, int create, int *missing)
{
    MDB_txn *txn;
    MDB_dbi dbi[ST_T__COUNT];
    int got[ST_T__COUNT] = { 0 }, rc;
    for (int attempt = 0;; attempt++) {
        rc = mdb_txn_begin(db->env, NULL, create ? 0 : MDB_RDONLY, &txn);
        if (rc == MDB_MAP_RESIZED && attempt < 4) { mdb_env_set_mapsize(db->env, 0); continue; }
        break;
    }
    if (rc) return rc;
    for (int i = 0; i < ST_T__COUNT; i++) {
        if (db->have[i]) continue;
        rc = mdb_dbi_open(txn, table_def[i].name, table_def[i].flags | (create ? MDB_CREATE : 0), &dbi[i]);
        if (rc == MDB_NOTFOUND && !create) continue;  /* older store: table absent */
        if (rc) { mdb_txn_abort(txn); return rc; }
        got[i] = 1;
    }
    if ((rc = mdb_txn_commit(txn)) != 0) return rc;
    *missing = 0;
    for (int i = 0; i < ST_T__COUNT; i++) {
        if (got[i]) {
            db->dbi[i] = dbi[i];
            db->have[i] = 1;
        }
        *missing += !db->have[i];
    }
    return 0;
}

/* A data file shorter than the pages its meta page counts (cut by a full disk,
 * a partial copy or restore) would fault (SIGBUS) on the first read past its
 * end: refuse it at open instead, naming both sizes. LMDB writes every page of
 * a transaction before the meta page that counts it, so a sound file is never
 * shorter than that. */
static int check_file_size(MDB_env *env, const char *dir, st_err *err)
{
    MDB_envinfo info;
    MDB_stat est;
    mdb_filehandle_t fd;
    struct stat st;
    if (mdb_env_info(env, &info) || mdb_env_stat(env, &est) || mdb_env_get_fd(env, &fd) || fstat(fd, &st))
        return 0;                                   /* nothing to compare: the first read will tell */
    uint64_t need = ((uint64_t)info.me_last_pgno + 1) * est.ms_psize;
    if ((uint64_t)st.st_size >= need) return 0;
    return st_fail(err, ST_ECORRUPT, "%s/data.mdb is truncated: %llu bytes, but its last transaction needs %llu "
                   "(restore the store from a copy)", dir, (unsigned long long)st.st_size, (unsigned long long)need);
}

/* An empty data file would be taken by LMDB for a new environment and given
 * fresh meta pages: say what it is instead (only 'init' creates a store). */
static int check_not_empty(const char *dir, st_err *err)
{
    char path[4096];
    struct stat st;
    if (snprintf(path, sizeof path, "%s/data.mdb", dir) >= (int)sizeof path || stat(path, &st) != 0 || st.st_size > 0)
        return 0;                                   /* absent: mdb_env_open says so */
    return st_fail(err, ST_ECORRUPT, "%s is empty (truncated, or 'sealtrail init' is still creating it)", path);
}

/* Which of the store's files a permission error is about (LMDB says only
 * "Permission denied"), else the directory. */
static const char *denied_file(const char *dir, unsigned flags, int rc)
{
    static _Thread_local char path[4200];
    static const char *const files[] = { "lock.mdb", "data.mdb" };   /* LMDB's order */
    if (rc != EACCES && rc != EPERM && rc != EROFS) return dir;
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        if (snprintf(path, sizeof path, "%s/%s", dir, files[i]) >= (int)sizeof path) return dir;
        /* lock.mdb is written even by readers */
        int mode = R_OK | (i == 0 || !(flags & ST_DB_RDONLY) ? W_OK : 0);
        if (st_eaccess(path, F_OK) == 0 && st_eaccess(path, mode) != 0) return path;
    }
    return dir;
}

int st_db_open(st_db **out, const char *dir, unsigned flags, st_err *err)
{
    *out = NULL;
    st_db *db = calloc(1, sizeof *db);
    if (!db) return ENOMEM;
    db->flags = flags;
    int rc = mdb_env_create(&db->env);
    if (rc) { free(db); return st_fail(err, ST_EDB, "lmdb: %s", mdb_strerror(rc)); }
    mdb_env_set_maxdbs(db->env, 32);
    mdb_env_set_maxreaders(db->env, 254);
    mdb_env_set_mapsize(db->env, initial_mapsize(dir));
    unsigned eflags = MDB_NOTLS | (flags & ST_DB_RDONLY ? MDB_RDONLY : 0);
    if (!(flags & ST_DB_CREATE) && (rc = check_not_empty(dir, err)) != 0) {
        mdb_env_close(db->env);
        free(db);
        return rc;
    }
    rc = mdb_env_open(db->env, dir, eflags, 0600);
    if (rc) {
        int code = rc == ENOENT ? ST_ENOTFOUND : map_rc(NULL, rc);
        st_fail(err, code, "%s: cannot open store: %s", denied_file(dir, flags, rc), mdb_strerror(rc));
        mdb_env_close(db->env);
        free(db);
        return code;
    }
    if ((rc = check_file_size(db->env, dir, err)) != 0) {
        mdb_env_close(db->env);
        free(db);
        return rc;
    }
    int write = (flags & ST_DB_CREATE) && !(flags & ST_DB_RDONLY), missing = 0;
    if ((rc = open_tables(db, write, &missing)) != 0) goto fail;
    /* A store of an older release lacks the tables added since (ix_tool4 and
     * ix_session4, index layout 4; blob_refs, format version 4): a writable
     * open creates them, once, in a write transaction of its own. Without
     * write access they stay absent: reads find nothing there, writes to
     * them fail. */
    if (missing && !(flags & ST_DB_RDONLY)) (void)open_tables(db, 1, &missing);
    *out = db;
    return 0;
fail:;
    int code = map_rc(NULL, rc);
    st_fail(err, code, "%s: cannot open tables: %s", dir, mdb_strerror(rc));
    mdb_env_close(db->env);
    free(db);
    return code;
}

void st_db_close(st_db *db)
{
    if (!db) return;
    mdb_env_close(db->env);
    free(db);
}

static int grow_map(st_db *db)
{
    MDB_envinfo info;
    mdb_env_info(db->env, &info);
    size_t cur = info.me_mapsize;
    /* Another process may have grown the map already: adopt the size in the meta page first. */
    if (mdb_env_set_mapsize(db->env, 0) == 0) {
        mdb_env_info(db->env, &info);
        if (info.me_mapsize > cur) return 0;
    }
    if (cur >= ST_MAP_MAX) return ST_ETOOBIG;
    size_t next = cur * 2 > ST_MAP_MAX ? ST_MAP_MAX : cur * 2;
    return mdb_env_set_mapsize(db->env, next) ? ST_EDB : 0;
}

/* ---- writer-lock notice (st_db_set_lock_notice) ----------------------------------------
 * LMDB's writer lock is a mutex in lock.mdb with no timed or try variant,
 * so a watchdog thread (started on first use) times each wait instead:
 * st_db_write marks the wait around mdb_txn_begin, the thread calls the
 * notice once when a wait outlasts the bound. */
static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    void (*fn)(void);
    unsigned ms;
    int started, waiting;
    uint64_t gen;
} ln = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, 0, 0, 0, 0 };

static void *ln_watch(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&ln.mu);
    for (;;) {
        while (!ln.waiting) pthread_cond_wait(&ln.cv, &ln.mu);
        uint64_t g = ln.gen;
        struct timespec dl;
        clock_gettime(CLOCK_REALTIME, &dl);
        dl.tv_sec += ln.ms / 1000;
        dl.tv_nsec += (long)(ln.ms % 1000) * 1000000L;
        if (dl.tv_nsec >= 1000000000L) { dl.tv_sec++; dl.tv_nsec -= 1000000000L; }
        int rc = 0;
        while (ln.waiting && ln.gen == g && rc != ETIMEDOUT) rc = pthread_cond_timedwait(&ln.cv, &ln.mu, &dl);
        if (!ln.waiting || ln.gen != g) continue;
        void (*fn)(void) = ln.fn;
        pthread_mutex_unlock(&ln.mu);
        if (fn) fn();
        pthread_mutex_lock(&ln.mu);
        while (ln.waiting && ln.gen == g) pthread_cond_wait(&ln.cv, &ln.mu);   /* once per wait */
    }
    return NULL;
}

void st_db_set_lock_notice(void (*fn)(void), unsigned ms)
{
    pthread_mutex_lock(&ln.mu);
    ln.fn = fn;
    ln.ms = ms;
    pthread_mutex_unlock(&ln.mu);
}

static void ln_mark(int waiting)
{
    pthread_mutex_lock(&ln.mu);
    if (waiting && !ln.started) {
        pthread_t t;
        pthread_attr_t a;
        pthread_attr_init(&a);
        pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
        ln.started = pthread_create(&t, &a, ln_watch, NULL) == 0;
        pthread_attr_destroy(&a);
    }
    ln.waiting = waiting;
    if (waiting) ln.gen++;
    pthread_cond_signal(&ln.cv);
    pthread_mutex_unlock(&ln.mu);
}

/* A commit whose page write ran into a file size limit (ulimit -f; SIGXFSZ
 * ignored, as the CLI does): a write that starts past the limit fails with
 * EFBIG, but one that straddles it is cut short, which LMDB reports as EIO.
 * With data.mdb grown to the limit, that EIO is the same EFBIG: say so. */
static int commit_rc(st_db *db, int rc)
{
    struct rlimit rl;
    mdb_filehandle_t fd;
    struct stat st;
    if (rc != EIO || getrlimit(RLIMIT_FSIZE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return rc;
    if (mdb_env_get_fd(db->env, &fd) != 0 || fstat(fd, &st) != 0 || st.st_size < 0) return rc;
    return (rlim_t)st.st_size >= rl.rlim_cur ? EFBIG : rc;
}

int st_db_write(st_db *db, st_db_write_fn fn, void *ctx, st_err *err)
{
    if (db->flags & ST_DB_RDONLY) return st_fail(err, ST_ERDONLY, "store opened read-only");
    for (int attempt = 0; attempt < ST_WRITE_RETRIES; attempt++) {
        st_txn t = { .db = db, .write = 1 };
        int notice = ln.fn != NULL;             /* set once by the CLI before any write */
        if (notice) ln_mark(1);
        int rc = mdb_txn_begin(db->env, NULL, 0, &t.txn);
        if (notice) ln_mark(0);
        if (rc == MDB_MAP_RESIZED) { mdb_env_set_mapsize(db->env, 0); continue; }
        if (rc) return st_fail(err, map_rc(NULL, rc), "lmdb: begin write: %s", mdb_strerror(rc));
        rc = fn(&t, ctx);
        if (rc == 0 && !t.map_full) {
            int crc = mdb_txn_commit(t.txn);
            if (crc == 0) return 0;
            if (crc == MDB_MAP_FULL) t.map_full = 1;
            else {
                crc = commit_rc(db, crc);
                return st_fail(err, map_rc(NULL, crc), "lmdb: commit: %s", mdb_strerror(crc));
            }
        } else {
            mdb_txn_abort(t.txn);
        }
        if (!t.map_full) return rc;
        int grc = grow_map(db);
        if (grc) return st_fail(err, grc, "lmdb: store map is full and cannot grow");
    }
    return st_fail(err, ST_EDB, "lmdb: write did not fit after growing the map %d times", ST_WRITE_RETRIES);
}

int st_db_read_begin(st_db *db, st_txn **out, st_err *err)
{
    *out = NULL;
    st_txn *t = calloc(1, sizeof *t);
    if (!t) return ENOMEM;
    t->db = db;
    int rc;
    for (int attempt = 0;; attempt++) {
        rc = mdb_txn_begin(db->env, NULL, MDB_RDONLY, &t->txn);
        if (rc == MDB_MAP_RESIZED && attempt < 4) { mdb_env_set_mapsize(db->env, 0); continue; }
        break;
    }
    if (rc) {
        free(t);
        return st_fail(err, map_rc(NULL, rc), "lmdb: begin read: %s", mdb_strerror(rc));
    }
    *out = t;
    return 0;
}

/* A read transaction's kept cursors (LMDB frees a write transaction's itself). */
static void close_kept(st_txn *t)
{
    for (int i = 0; i < ST_T__COUNT; i++)
        if (t->put[i]) {
            mdb_cursor_close(t->put[i]);
            t->put[i] = NULL;
        }
}

void st_db_read_end(st_txn *t)
{
    if (!t) return;
    close_kept(t);
    if (t->txn) mdb_txn_abort(t->txn);
    free(t);
}

int st_db_read_renew(st_txn *t)
{
    close_kept(t);
    mdb_txn_reset(t->txn);
    int rc = mdb_txn_renew(t->txn);
    if (rc == MDB_MAP_RESIZED) {
        /* The map grew in another process: a renewed txn cannot adopt it; start a fresh one. */
        mdb_txn_abort(t->txn);
        t->txn = NULL;
        mdb_env_set_mapsize(t->db->env, 0);
        rc = mdb_txn_begin(t->db->env, NULL, MDB_RDONLY, &t->txn);
        if (rc) t->txn = NULL;
    }
    return map_rc(t, rc);
}

static int table_ok(st_txn *t, st_table tb)
{
    return tb >= 0 && tb < ST_T__COUNT && t->db->have[tb];
}

/* Positions c on the split-table row of the whole key: 0 with d = its
 * duplicate, MDB_NOTFOUND, or an LMDB error. */
static int split_find(MDB_cursor *c, const void *key, size_t klen, MDB_val *d)
{
    if (klen <= SPLIT_TAIL || klen > SPLIT_KEY_MAX) return MDB_NOTFOUND;
    const uint8_t *tail = (const uint8_t *)key + klen - SPLIT_TAIL;
    MDB_val k = { klen - SPLIT_TAIL, (void *)key };
    *d = (MDB_val){ SPLIT_TAIL, (void *)tail };
    int rc = mdb_cursor_get(c, &k, d, MDB_GET_BOTH_RANGE);   /* the first duplicate >= the tail */
    if (rc == 0 && (d->mv_size < SPLIT_TAIL || memcmp(d->mv_data, tail, SPLIT_TAIL) != 0)) rc = MDB_NOTFOUND;
    return rc;
}

static MDB_cursor *put_cursor(st_txn *t, st_table tb, int *rc);
static void put_drop(st_txn *t, st_table tb);

static int split_get(st_txn *t, st_table tb, const void *key, size_t klen, const void **val, size_t *vlen)
{
    MDB_val d;
    int rc = 0;
    MDB_cursor *c = put_cursor(t, tb, &rc);
    if (!c) return map_rc(t, rc);
    if ((rc = split_find(c, key, klen, &d)) != 0 && rc != MDB_NOTFOUND) put_drop(t, tb);
    if (rc) return map_rc(t, rc);
    *val = (const uint8_t *)d.mv_data + SPLIT_TAIL;
    *vlen = d.mv_size - SPLIT_TAIL;
    return 0;
}

int st_db_get(st_txn *t, st_table tb, const void *key, size_t klen, const void **val, size_t *vlen)
{
    *val = NULL;
    *vlen = 0;
    if (!table_ok(t, tb)) return ST_ENOTFOUND;
    if (table_def[tb].split) return split_get(t, tb, key, klen, val, vlen);
    MDB_val k = { klen, (void *)key }, v;
    int rc = mdb_get(t->txn, t->db->dbi[tb], &k, &v);
    if (rc) return map_rc(t, rc);
    *val = v.mv_data;
    *vlen = v.mv_size;
    return 0;
}

/* A change other than an append through t->app[tb]: the cursor may no longer be at the last row. */
static void app_drop(st_txn *t, st_table tb)
{
    if (t->app[tb]) {
        mdb_cursor_close(t->app[tb]);
        t->app[tb] = NULL;
    }
}

static void put_drop(st_txn *t, st_table tb)
{
    if (t->put[tb]) {
        mdb_cursor_close(t->put[tb]);
        t->put[tb] = NULL;
    }
}

/* The table's kept put cursor (opened on first use), or NULL with *rc set. */
static MDB_cursor *put_cursor(st_txn *t, st_table tb, int *rc)
{
    if (!t->put[tb] && (*rc = mdb_cursor_open(t->txn, t->db->dbi[tb], &t->put[tb])) != 0) {
        t->put[tb] = NULL;
        return NULL;
    }
    return t->put[tb];
}

/* A put into a split table: append the duplicate when it sorts last among
 * its prefix's (the usual case), else insert it; either way replace the
 * row of the same whole key, if any. */
static int split_put(st_txn *t, st_table tb, const void *key, size_t klen, const void *val, size_t vlen, unsigned flags)
{
    uint8_t dup[SPLIT_TAIL + ST_DB_SPLIT_VAL_MAX];
    if (klen <= SPLIT_TAIL || klen > SPLIT_KEY_MAX || vlen > ST_DB_SPLIT_VAL_MAX) return ST_EINVAL;
    memcpy(dup, (const uint8_t *)key + klen - SPLIT_TAIL, SPLIT_TAIL);
    if (vlen) memcpy(dup + SPLIT_TAIL, val, vlen);
    MDB_val k = { klen - SPLIT_TAIL, (void *)key }, d = { SPLIT_TAIL + vlen, dup }, d2;
    if (!t->write) return map_rc(t, mdb_put(t->txn, t->db->dbi[tb], &k, &d, 0));   /* LMDB refuses it */
    app_drop(t, tb);
    int rc = 0;
    MDB_cursor *c = put_cursor(t, tb, &rc);
    if (!c) return map_rc(t, rc);
    if (flags & ST_PUT_NOOVERWRITE) {
        rc = split_find(c, key, klen, &d2);
        if (rc != MDB_NOTFOUND) {
            if (rc) put_drop(t, tb);
            return rc ? map_rc(t, rc) : ST_EEXIST;
        }
    }
    rc = mdb_cursor_put(c, &k, &d, MDB_APPENDDUP);
    if (rc == 0) {
        /* Appended: a row of the same key would be the duplicate just before. */
        MDB_val k2;
        int prc = mdb_cursor_get(c, &k2, &d2, MDB_PREV_DUP);
        if (prc == 0 && d2.mv_size >= SPLIT_TAIL && memcmp(d2.mv_data, dup, SPLIT_TAIL) == 0) rc = mdb_cursor_del(c, 0);
        else if (prc != 0 && prc != MDB_NOTFOUND) rc = prc;
    } else if (rc == MDB_KEYEXIST) {           /* sorts before the prefix's last row */
        rc = split_find(c, key, klen, &d2);
        if (rc == 0 && d2.mv_size == d.mv_size && memcmp(d2.mv_data, dup, d.mv_size) == 0) return 0;
        if (rc == 0) rc = mdb_cursor_del(c, 0);
        else if (rc == MDB_NOTFOUND) rc = 0;
        if (rc == 0) {
            k = (MDB_val){ klen - SPLIT_TAIL, (void *)key };
            d = (MDB_val){ SPLIT_TAIL + vlen, dup };
            rc = mdb_cursor_put(c, &k, &d, 0);
        }
    }
    if (rc) put_drop(t, tb);
    return map_rc(t, rc);
}

int st_db_put(st_txn *t, st_table tb, const void *key, size_t klen, const void *val, size_t vlen, unsigned flags)
{
    if (!table_ok(t, tb)) return ST_EINVAL;
    if (table_def[tb].split) return split_put(t, tb, key, klen, val, vlen, flags);
    MDB_val k = { klen, (void *)key }, v = { vlen, (void *)val };
    unsigned f = (flags & ST_PUT_APPEND ? MDB_APPEND : 0) | (flags & ST_PUT_NOOVERWRITE ? MDB_NOOVERWRITE : 0);
    if ((flags & ST_PUT_APPEND) && t->write) {
        if (!t->app[tb]) {
            int rc = mdb_cursor_open(t->txn, t->db->dbi[tb], &t->app[tb]);
            if (rc) {
                t->app[tb] = NULL;
                return map_rc(t, rc);
            }
        }
        int rc = mdb_cursor_put(t->app[tb], &k, &v, f);
        if (rc && rc != MDB_KEYEXIST) app_drop(t, tb);   /* a failed put may leave it anywhere */
        return map_rc(t, rc);
    }
    app_drop(t, tb);
    if (!t->write) return map_rc(t, mdb_put(t->txn, t->db->dbi[tb], &k, &v, f));   /* LMDB refuses it */
    int rc = 0;
    MDB_cursor *c = put_cursor(t, tb, &rc);
    if (!c) return map_rc(t, rc);
    rc = mdb_cursor_put(c, &k, &v, f & ~(unsigned)MDB_APPEND);
    if (rc && rc != MDB_KEYEXIST) put_drop(t, tb);
    return map_rc(t, rc);
}

int st_db_update(st_txn *t, st_table tb, const void *key, size_t klen, size_t vlen,
                 int (*fn)(void *ctx, const void *old, size_t oldlen, uint8_t *out), void *ctx)
{
    uint8_t nv[ST_DB_UPDATE_MAX];
    if (!table_ok(t, tb) || table_def[tb].split) return ST_EINVAL;
    if (!t->write || vlen > sizeof nv) return ST_EINVAL;
    int rc = 0;
    MDB_cursor *c = put_cursor(t, tb, &rc);
    if (!c) return map_rc(t, rc);
    app_drop(t, tb);
    MDB_val k = { klen, (void *)key }, v;
    rc = mdb_cursor_get(c, &k, &v, MDB_SET_KEY);
    if (rc && rc != MDB_NOTFOUND) {
        put_drop(t, tb);
        return map_rc(t, rc);
    }
    int found = rc == 0;
    if ((rc = fn(ctx, found ? v.mv_data : NULL, found ? v.mv_size : 0, nv)) != 0) return rc;
    k = (MDB_val){ klen, (void *)key };
    v = (MDB_val){ vlen, nv };
    rc = mdb_cursor_put(c, &k, &v, found ? MDB_CURRENT : 0);
    if (rc) put_drop(t, tb);
    return map_rc(t, rc);
}

int st_db_put_reserve(st_txn *t, st_table tb, const void *key, size_t klen, size_t vlen, void **val_out)
{
    if (!table_ok(t, tb) || table_def[tb].split) return ST_EINVAL;
    MDB_val k = { klen, (void *)key }, v = { vlen, NULL };
    app_drop(t, tb);
    put_drop(t, tb);
    int rc = mdb_put(t->txn, t->db->dbi[tb], &k, &v, MDB_RESERVE);
    if (rc) return map_rc(t, rc);
    *val_out = v.mv_data;
    return 0;
}

int st_db_del(st_txn *t, st_table tb, const void *key, size_t klen)
{
    if (!table_ok(t, tb)) return ST_ENOTFOUND;
    MDB_val k = { klen, (void *)key };
    app_drop(t, tb);
    if (!table_def[tb].split) {
        put_drop(t, tb);
        return map_rc(t, mdb_del(t->txn, t->db->dbi[tb], &k, NULL));
    }
    MDB_val d;                                    /* through the kept cursor, as a split get or put */
    int rc = 0;
    MDB_cursor *c = put_cursor(t, tb, &rc);
    if (!c) return map_rc(t, rc);
    rc = split_find(c, key, klen, &d);
    if (rc == 0) rc = mdb_cursor_del(c, 0);       /* this duplicate only */
    if (rc && rc != MDB_NOTFOUND) put_drop(t, tb);
    return map_rc(t, rc);
}

int st_db_count(st_txn *t, st_table tb, uint64_t *out)
{
    *out = 0;
    if (!table_ok(t, tb)) return 0;
    MDB_stat st;
    int rc = mdb_stat(t->txn, t->db->dbi[tb], &st);
    if (rc) return map_rc(t, rc);
    *out = st.ms_entries;
    return 0;
}

int st_db_clear(st_txn *t, st_table tb)
{
    if (!table_ok(t, tb)) return 0;
    app_drop(t, tb);
    put_drop(t, tb);
    return map_rc(t, mdb_drop(t->txn, t->db->dbi[tb], 0));
}

/* ---- cursors ---------------------------------------------------------------- */

int st_cursor_open(st_txn *t, st_table tb, st_cursor **out)
{
    *out = NULL;
    if (!table_ok(t, tb)) return ST_ENOTFOUND;
    st_cursor *c = calloc(1, sizeof *c);
    if (!c) return ENOMEM;
    c->t = t;
    c->tb = tb;
    int rc = mdb_cursor_open(t->txn, t->db->dbi[tb], &c->c);
    if (rc) { free(c); return map_rc(t, rc); }
    *out = c;
    return 0;
}

void st_cursor_close(st_cursor *c)
{
    if (!c) return;
    mdb_cursor_close(c->c);
    free(c);
}

/* Returns the row under the cursor (k, v as LMDB gave them): a split
 * table's whole key is put back together in c->key. */
static int cursor_row(st_cursor *c, MDB_val *k, MDB_val *v, const void **kp, size_t *kl, const void **vp, size_t *vl)
{
    if (table_def[c->tb].split) {
        if (v->mv_size < SPLIT_TAIL || k->mv_size > SPLIT_KEY_MAX - SPLIT_TAIL) return ST_ECORRUPT;
        memcpy(c->key, k->mv_data, k->mv_size);
        memcpy(c->key + k->mv_size, v->mv_data, SPLIT_TAIL);
        k->mv_data = c->key;
        k->mv_size += SPLIT_TAIL;
        v->mv_data = (uint8_t *)v->mv_data + SPLIT_TAIL;
        v->mv_size -= SPLIT_TAIL;
    }
    if (kp) *kp = k->mv_data;
    if (kl) *kl = k->mv_size;
    if (vp) *vp = v->mv_data;
    if (vl) *vl = v->mv_size;
    return 0;
}

static int cursor_op(st_cursor *c, MDB_val *k, MDB_cursor_op op, const void **kp, size_t *kl, const void **vp, size_t *vl)
{
    MDB_val v;
    int rc = mdb_cursor_get(c->c, k, &v, op);
    if (rc) return map_rc(c->t, rc);
    return cursor_row(c, k, &v, kp, kl, vp, vl);
}

/* The first split-table row whose whole key is >= key: the first prefix
 * >= key, unless the prefix just before is a proper prefix of key; then
 * key's place may be among that prefix's rows. */
static int split_seek(st_cursor *c, const void *key, size_t klen, MDB_val *k, MDB_val *v)
{
    MDB_val pk, pv;
    *k = (MDB_val){ klen, (void *)key };
    int rc = mdb_cursor_get(c->c, k, v, MDB_SET_RANGE);
    if (rc && rc != MDB_NOTFOUND) return rc;
    int prc = mdb_cursor_get(c->c, &pk, &pv, rc == 0 ? MDB_PREV_NODUP : MDB_LAST);
    if (prc && prc != MDB_NOTFOUND) return prc;
    if (prc == 0 && pk.mv_size < klen && memcmp(pk.mv_data, key, pk.mv_size) == 0) {
        *v = (MDB_val){ klen - pk.mv_size, (uint8_t *)key + pk.mv_size };
        *k = pk;
        int brc = mdb_cursor_get(c->c, k, v, MDB_GET_BOTH_RANGE);
        if (brc != MDB_NOTFOUND) return brc;
    }
    if (rc) return rc;
    *k = (MDB_val){ klen, (void *)key };
    return mdb_cursor_get(c->c, k, v, MDB_SET_RANGE);
}

int st_cursor_seek(st_cursor *c, const void *key, size_t klen, const void **k, size_t *kl, const void **v, size_t *vl)
{
    MDB_val mk = { klen, (void *)key }, mv;
    if (!klen || !table_def[c->tb].split) return cursor_op(c, &mk, klen ? MDB_SET_RANGE : MDB_FIRST, k, kl, v, vl);
    int rc = split_seek(c, key, klen, &mk, &mv);
    if (rc) return map_rc(c->t, rc);
    return cursor_row(c, &mk, &mv, k, kl, v, vl);
}

int st_cursor_next(st_cursor *c, const void **k, size_t *kl, const void **v, size_t *vl)
{
    MDB_val mk;
    return cursor_op(c, &mk, MDB_NEXT, k, kl, v, vl);
}

int st_cursor_prev(st_cursor *c, const void **k, size_t *kl, const void **v, size_t *vl)
{
    MDB_val mk;
    return cursor_op(c, &mk, MDB_PREV, k, kl, v, vl);
}

int st_cursor_last(st_cursor *c, const void **k, size_t *kl, const void **v, size_t *vl)
{
    MDB_val mk;
    return cursor_op(c, &mk, MDB_LAST, k, kl, v, vl);
}

int st_cursor_del(st_cursor *c)
{
    app_drop(c->t, c->tb);
    put_drop(c->t, c->tb);
    return map_rc(c->t, mdb_cursor_del(c->c, 0));
}

/* ---- meta ------------------------------------------------------------------- */

int st_meta_get_u64(st_txn *t, const char *name, uint64_t *out)
{
    const void *v = NULL;
    size_t vl = 0;
    int rc = st_db_get(t, ST_T_META, name, strlen(name), &v, &vl);
    if (rc) return rc;
    if (vl != 8) return ST_ECORRUPT;
    *out = st_be64_get(v);
    return 0;
}

int st_meta_put_u64(st_txn *t, const char *name, uint64_t val)
{
    uint8_t b[8];
    st_be64_put(b, val);
    return st_db_put(t, ST_T_META, name, strlen(name), b, 8, 0);
}

int st_meta_get_str(st_txn *t, const char *name, const char **s, size_t *len)
{
    const void *v = NULL;
    int rc = st_db_get(t, ST_T_META, name, strlen(name), &v, len);
    if (rc) return rc;
    *s = v;
    return 0;
}

int st_meta_put_str(st_txn *t, const char *name, const char *s, size_t len)
{
    return st_db_put(t, ST_T_META, name, strlen(name), s, len, 0);
}

void st_db_info(st_db *db, uint64_t *map_bytes, uint64_t *used_bytes, unsigned *page_size)
{
    MDB_envinfo info;
    MDB_stat st;
    mdb_env_info(db->env, &info);
    mdb_env_stat(db->env, &st);
    if (map_bytes) *map_bytes = info.me_mapsize;
    if (used_bytes) *used_bytes = (uint64_t)(info.me_last_pgno + 1) * st.ms_psize;
    if (page_size) *page_size = st.ms_psize;
}

int st_db_file_stat(st_db *db, struct stat *out)
{
    mdb_filehandle_t fd;
    if (mdb_env_get_fd(db->env, &fd) != 0) return EBADF;
    return fstat(fd, out) == 0 ? 0 : errno;
}

int st_db_compact_copy(st_db *db, const char *path, st_err *err)
{
    int rc = mdb_env_copy2(db->env, path, MDB_CP_COMPACT);
    if (rc) return st_fail(err, map_rc(NULL, rc), "%s: compacting copy failed: %s", path, mdb_strerror(rc));
    return 0;
}
