/*
 * append.c: the write path. Before the write lock: fresh salts, payload
 * commitments and each payload's stored row (compressed), and for batches
 * of PREP_SPLIT_MIN records or more the canonical entry itself, its leaf
 * hash and its index facts, built for the index the current log size
 * predicts, on two threads. Inside one durable write transaction: the
 * entry (rebuilt there only if another writer came first and the
 * prediction went stale), the leaf and completed subtree hashes, the
 * payload rows and the index rows, with the aggregate rows summed over the
 * batch and written once each. The N/T seal policy is checked in the same
 * transaction, so a seal that the policy asks for costs no extra fsync.
 */
#include "entry.h"
#include "entry_store.h"
#include "envelope.h"
#include "index.h"
#include "payload.h"
#include "sha256.h"
#include "store_int.h"
#include "tree.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

/* 1 if key is one of the envelope members append.c writes itself (v, index, time_us, payloads). */
static int reserved_key(const char *k, size_t n)
{
    switch (n) {
    case 1: return k[0] == 'v';
    case 5: return memcmp(k, "index", 5) == 0;
    case 7: return memcmp(k, "time_us", 7) == 0;
    case 8: return memcmp(k, "payloads", 8) == 0;
    default: return 0;
    }
}

typedef struct st_prepared {
    /* What the preparation was made from: a record handed back that no
     * longer matches (other payload bytes, names or metadata) is prepared
     * again inside st_append_prepared. */
    const st_json *meta;
    size_t npayloads;
    const char *name[ST_ENTRY_MAX_PAYLOADS];
    const uint8_t *data[ST_ENTRY_MAX_PAYLOADS];
    size_t len[ST_ENTRY_MAX_PAYLOADS];
    int ready;                                    /* prepared by st_prepare_record */
    uint8_t salt[ST_ENTRY_MAX_PAYLOADS][ST_SALT_BYTES];
    st_hash commit[ST_ENTRY_MAX_PAYLOADS];
    size_t stored_len[ST_ENTRY_MAX_PAYLOADS];     /* bytes committed to and stored (head if truncated) */
    st_hash full_sha[ST_ENTRY_MAX_PAYLOADS];
    st_buf row[ST_ENTRY_MAX_PAYLOADS];            /* the payload row, built before the lock (empty: build inside) */
    st_buf lits;                                  /* the blob literals of all its payloads (st_blob_lit, payload.h) */
    uint32_t lits_end[ST_ENTRY_MAX_PAYLOADS];     /* payload i's: lits[lits_end[i - 1] .. lits_end[i]) */
    int64_t time_us;
    /* The entry as built for index `built` (UINT64_MAX: not yet): big batches
     * build it before the lock for the index the log size predicts, and the
     * transaction rebuilds it only if another writer came first. */
    uint64_t built;
    st_buf bytes;                                 /* canonical entry bytes */
    st_buf stored;                                /* its packed row (entry_store.h); empty: store bytes */
    st_hash leaf;
    st_ix_entry ix;                               /* its index facts and paths */
    /* Its index rows, recorded off the transaction for entry ixrows_for
     * (UINT64_MAX: none) as a transaction that defers path rows (an
     * import's) writes them: the import's writer then only writes. */
    st_buf ixrows;
    uint64_t ixrows_for;
    int prep_rc;                                  /* result of prepare() */
} prepared;

/* Preparation running alongside the write transaction (big batches): a
 * helper thread and the writer both claim the next unprepared record; the
 * writer takes record k as soon as it is ready and prepares records itself
 * while it would otherwise wait. So the two cores share the whole batch's
 * work instead of preparing in parallel and then writing alone. */
typedef struct prep_pipe {
    struct st_store *s;
    const st_record_in *recs;
    prepared **prep;
    size_t n;
    uint64_t first;                 /* predicted index of record 0, or UINT64_MAX */
    atomic_size_t claim;            /* next record to prepare */
    atomic_int *done;               /* per record: prepared (prep_rc is set) */
    atomic_int waiting;             /* the writer sleeps on cv */
    pthread_mutex_t mu;
    pthread_cond_t cv;
} prep_pipe;

typedef struct append_ctx {
    st_store *s;
    const st_record_in *recs;
    size_t n;
    prepared **prep;
    uint64_t first;
    int sealed;
    st_ix_batch *ix;
    st_tree_edge edge;              /* the tree's right edge, so siblings are not read back */
    prep_pipe *pipe;                /* NULL: every record was prepared before the transaction */
} append_ctx;

/* Cuts len back so that data[0..len) does not end inside a UTF-8 sequence. */
static size_t utf8_cut(const uint8_t *data, size_t len)
{
    size_t back = 0;
    while (back < 4 && back < len && (data[len - 1 - back] & 0xc0) == 0x80) back++;
    if (back < len) {
        uint8_t lead = data[len - 1 - back];
        size_t need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
        if (need > back + 1) return len - 1 - back;   /* incomplete sequence: drop it */
    }
    return len;
}

static int validate(st_err *e, const st_record_in *r)
{
    if (r->npayloads > ST_ENTRY_MAX_PAYLOADS)
        return st_fail(e, ST_EINVAL, "record has %zu payloads (at most %u)", r->npayloads, ST_ENTRY_MAX_PAYLOADS);
    if (r->meta && r->meta->type != ST_JSON_OBJECT) return st_fail(e, ST_EINVAL, "record metadata is not an object");
    if (r->meta) {
        for (const st_json *m = r->meta->child; m; m = m->next)
            if (reserved_key(m->key, m->key_len))
                return st_fail(e, ST_EINVAL, "record metadata sets reserved member \"%.*s\"", (int)m->key_len, m->key);
        if (!st_json_get(r->meta, "kind")) return st_fail(e, ST_EINVAL, "record metadata has no \"kind\"");
    } else {
        return st_fail(e, ST_EINVAL, "record has no metadata");
    }
    /* [ENTRY-4]: every envelope integer must be within +-(2^53 - 1). */
    const int64_t max_us = ((int64_t)1 << 53) - 1;
    if (r->time_us < -max_us || r->time_us > max_us)
        return st_fail(e, ST_EINVAL, "record time %lld us is outside the representable range +-(2^53-1)",
                             (long long)r->time_us);
    for (size_t i = 0; i < r->npayloads; i++) {
        const char *name = r->payloads[i].name;
        if (!name || !st_payload_name_valid(name, strlen(name)))
            return st_fail(e, ST_EINVAL, "payload %zu: invalid name", i);
        for (size_t j = 0; j < i; j++)
            if (strcmp(name, r->payloads[j].name) == 0)
                return st_fail(e, ST_EINVAL, "payload \"%s\" given twice", name);
    }
    return 0;
}

static int build_entry(const st_record_in *r, prepared *p, uint64_t index, int record);

/* The packed row of a built entry (entry_store.h), made where the entry is. */
static int entry_row(prepared *p)
{
    if (p->built == UINT64_MAX) return 0;
    return st_entry_row_pack(&p->stored, p->bytes.data, p->bytes.len);
}

/* The stored length of each of r's payloads: all of it, or its head when it
 * is over the store's cap ([PAYLOAD-3]: then full_sha is its whole hash). */
static void payload_lens(const st_store *s, const st_record_in *r, prepared *p)
{
    for (size_t i = 0; i < r->npayloads; i++) {
        const st_payload_in *pl = &r->payloads[i];
        size_t len = pl->len;
        if (len > s->payload_cap) {
            st_sha256(p->full_sha[i], pl->data, pl->len);
            len = utf8_cut(pl->data, s->payload_cap);
        }
        p->stored_len[i] = len;
    }
}

/* The blob literals of each of r's stored payloads (digests not yet computed). */
static int find_lits(const st_record_in *r, prepared *p)
{
    st_buf_reset(&p->lits);
    uint32_t n = 0;
    for (size_t i = 0; i < r->npayloads; i++) {
        int k = st_payload_blob_lits(r->payloads[i].data, p->stored_len[i], &p->lits);
        if (k < 0) return ENOMEM;
        p->lits_end[i] = n += (uint32_t)k;
    }
    return 0;
}

static size_t lits_start(const prepared *p, size_t i) { return i ? p->lits_end[i - 1] : 0; }
static size_t nlits(const prepared *p, size_t i) { return p->lits_end[i] - lits_start(p, i); }
static st_blob_lit *lits_of(prepared *p, size_t i)
{
    return p->lits.data ? (st_blob_lit *)(void *)p->lits.data + lits_start(p, i) : NULL;
}

/* The stored row (compressed) of each of r's payloads, blob literals hashed. */
static int payload_rows(const st_record_in *r, prepared *p, st_payload_zctx *z)
{
    for (size_t i = 0; i < r->npayloads; i++) {
        int rc = st_payload_row_build_lits(&p->row[i], p->salt[i], r->payloads[i].data, p->stored_len[i], z,
                                           lits_of(p, i), nlits(p, i));
        if (rc) return rc;
    }
    return 0;
}

/* Salts and time must already be set. z: the thread's compression context
 * (NULL: the calling thread's own). index: the predicted index of the entry,
 * or UINT64_MAX to build it inside the transaction. */
static void commit_and_hash_lits(const st_record_in *r, prepared *p, size_t i);

static int prepare(const st_store *s, const st_record_in *r, prepared *p, st_payload_zctx *z, uint64_t index)
{
    payload_lens(s, r, p);
    int rc = find_lits(r, p);
    if (rc) return rc;
    for (size_t i = 0; i < r->npayloads; i++) commit_and_hash_lits(r, p, i);
    rc = payload_rows(r, p, z);
    if (rc) return rc;
    return index == UINT64_MAX ? 0 : build_entry(r, p, index, s->defer_paths);
}

/* Wakes the writer if it sleeps in pipe_wait (seq_cst with its waiting/done
 * stores: no lost wake-up). */
static void wake_writer(prep_pipe *pp)
{
    if (atomic_load(&pp->waiting)) {
        pthread_mutex_lock(&pp->mu);
        pthread_cond_broadcast(&pp->cv);
        pthread_mutex_unlock(&pp->mu);
    }
}

static void pipe_work(prep_pipe *pp, size_t k, st_payload_zctx *z)
{
    prepared *p = pp->prep[k];
    p->prep_rc = prepare(pp->s, &pp->recs[k], p, z, pp->first == UINT64_MAX ? UINT64_MAX : pp->first + k);
    atomic_store(&pp->done[k], 1);
    wake_writer(pp);
}

static void *pipe_thread(void *arg)
{
    prep_pipe *pp = arg;
    st_payload_zctx *z = st_payload_zctx_new();
    for (size_t k; (k = atomic_fetch_add(&pp->claim, 1)) < pp->n;) {
        if (pp->prep[k]->ready) continue;
        if (!z) {
            pp->prep[k]->prep_rc = ENOMEM;
            atomic_store(&pp->done[k], 1);
            continue;
        }
        pipe_work(pp, k, z);
    }
    wake_writer(pp);
    st_payload_zctx_free(z);
    return NULL;
}

/* The writer: record k prepared (by whichever thread claimed it); prepare_rc. */
static int pipe_wait(prep_pipe *pp, size_t k)
{
    while (!atomic_load(&pp->done[k])) {
        size_t j = atomic_fetch_add(&pp->claim, 1);
        if (j < pp->n) {
            if (!pp->prep[j]->ready) pipe_work(pp, j, NULL);
            continue;
        }
        pthread_mutex_lock(&pp->mu);
        atomic_store(&pp->waiting, 1);
        while (!atomic_load(&pp->done[k])) pthread_cond_wait(&pp->cv, &pp->mu);
        atomic_store(&pp->waiting, 0);
        pthread_mutex_unlock(&pp->mu);
    }
    return pp->prep[k]->prep_rc;
}

/* Below this many records everything is prepared before the transaction by
 * the calling thread, and entries are built inside it (a thread and a read
 * transaction cost more than they save). */
#define PREP_SPLIT_MIN 64u

/* Starts preparing a big batch: predicts the first index from the current
 * log size and starts the helper thread. 0 or ENOMEM; *thread_out says
 * whether a thread runs (without one the writer prepares every record). */
static int pipe_start(prep_pipe *pp, st_store *s, const st_record_in *recs, prepared **prep, size_t n,
                      pthread_t *th, int *thread_out)
{
    memset(pp, 0, sizeof *pp);
    pp->s = s;
    pp->recs = recs;
    pp->prep = prep;
    pp->n = n;
    pp->first = UINT64_MAX;
    *thread_out = 0;
    if (!(pp->done = calloc(n, sizeof *pp->done))) return ENOMEM;
    for (size_t k = 0; k < n; k++) atomic_init(&pp->done[k], prep[k]->ready);
    atomic_init(&pp->claim, 0);
    atomic_init(&pp->waiting, 0);
    pthread_mutex_init(&pp->mu, NULL);
    pthread_cond_init(&pp->cv, NULL);
    st_txn *rt;
    if (st_db_read_begin(s->db, &rt, NULL) == 0) {
        if (st_size_txn(rt, &pp->first) != 0) pp->first = UINT64_MAX;
        st_db_read_end(rt);
    }
    *thread_out = pthread_create(th, NULL, pipe_thread, pp) == 0;
    return 0;
}

/* Stops claiming, waits for the helper, releases the pipe. */
static void pipe_end(prep_pipe *pp, pthread_t th, int thread)
{
    atomic_store(&pp->claim, pp->n);
    if (thread) pthread_join(th, NULL);
    pthread_cond_destroy(&pp->cv);
    pthread_mutex_destroy(&pp->mu);
    free(pp->done);
}

/* The index reads `index`, `time_us` and metadata members from the
 * envelope: it gets a view of it, two number nodes linked in front of the
 * metadata's own members (shared, not copied). The metadata holds no
 * reserved member (validate), so every lookup finds what it would find in
 * the whole envelope; the facts point into the metadata, which outlives
 * the preparation. */
static int ix_prepare(st_ix_entry *ix, const st_json *meta, uint64_t index, int64_t time_us, const st_json *tool_input)
{
    char ib[24], tb[24], ik[] = "index", tk[] = "time_us";
    st_json idx = { .type = ST_JSON_NUMBER, .str = ib, .key = ik, .key_len = 5 };
    st_json t = { .type = ST_JSON_NUMBER, .str = tb, .key = tk, .key_len = 7 };
    st_json view = { .type = ST_JSON_OBJECT, .child = &idx, .last = meta->last ? meta->last : &t, .count = meta->count + 2 };
    idx.len = st_envelope_int(ib, (int64_t)index);
    t.len = st_envelope_int(tb, time_us);
    idx.next = &t;
    t.next = meta->child;
    return st_ix_entry_prepare(ix, &view, tool_input);
}

/* Record r's entry for `index` up to its leaf hash: the canonical bytes. */
static int entry_bytes(const st_record_in *r, prepared *p, uint64_t index)
{
    st_envelope_payload pl[ST_ENTRY_MAX_PAYLOADS];
    p->built = UINT64_MAX;
    st_buf_reset(&p->bytes);
    st_buf_reset(&p->stored);
    for (size_t i = 0; i < r->npayloads; i++) {
        const st_payload_in *in = &r->payloads[i];
        pl[i] = (st_envelope_payload){ in->name, p->commit[i], p->stored_len[i], p->stored_len[i] != in->len, in->len,
                                       p->full_sha[i] };
    }
    return st_envelope_write(&p->bytes, r->meta, index, p->time_us, pl, r->npayloads);
}

/* After the leaf hash: the index facts. The entry is then built for index.
 * record: also record its index rows as a transaction that defers path
 * rows writes them (an import's store defers them). */
static int entry_facts(const st_record_in *r, prepared *p, uint64_t index, int record)
{
    const st_json *tool_input = NULL;
    for (size_t i = 0; i < r->npayloads; i++)
        if (strcmp(r->payloads[i].name, "tool_input") == 0) tool_input = r->payloads[i].value;
    p->ixrows_for = UINT64_MAX;
    int rc = ix_prepare(&p->ix, r->meta, index, p->time_us, tool_input);
    if (rc) return rc;
    if (record) {
        if ((rc = st_ix_rows_record(&p->ixrows, &p->ix, 1)) != 0) return rc;
        p->ixrows_for = index;
    }
    p->built = index;
    return 0;
}

/* Builds record r's entry for `index`: canonical bytes, leaf hash, index facts, packed row. */
static int build_entry(const st_record_in *r, prepared *p, uint64_t index, int record)
{
    int rc = entry_bytes(r, p, index);
    if (rc) return rc;
    st_leaf_hash(p->leaf, p->bytes.data, p->bytes.len);
    if ((rc = entry_facts(r, p, index, record)) != 0) return rc;
    return entry_row(p);
}

/* ---- two records at once ---------------------------------------------------
 * With the SHA extensions two SHA-256 computations interleave at nearly
 * twice the throughput of one after the other (st_sha256_2), and hashing was
 * the largest part of preparing a record: the import's converting thread
 * prepares its records in pairs. */

#define COMMIT_PREFIX (sizeof ST_PAYLOAD_TAG + ST_SALT_BYTES)   /* tag, 0x00, salt [PAYLOAD-1] */

static void commit_prefix(uint8_t out[COMMIT_PREFIX], const uint8_t salt[ST_SALT_BYTES])
{
    memcpy(out, ST_PAYLOAD_TAG, sizeof ST_PAYLOAD_TAG);   /* with its NUL: the 0x00 separator */
    memcpy(out + sizeof ST_PAYLOAD_TAG, salt, ST_SALT_BYTES);
}

/* The payload commitments of two records: the i-th payloads of both (as a
 * rule the same kind, of similar size) hashed together. */
static void commits_two(const st_record_in *const r[2], prepared *const p[2])
{
    size_t both = r[0]->npayloads < r[1]->npayloads ? r[0]->npayloads : r[1]->npayloads;
    uint8_t pre[2][COMMIT_PREFIX];
    for (size_t i = 0; i < both; i++) {
        const uint8_t *a = r[0]->payloads[i].data, *b = r[1]->payloads[i].data;
        size_t al = p[0]->stored_len[i], bl = p[1]->stored_len[i];
        if (!al || !bl) {                            /* no data pointer to hand on */
            st_payload_commit(p[0]->commit[i], p[0]->salt[i], a, al);
            st_payload_commit(p[1]->commit[i], p[1]->salt[i], b, bl);
            continue;
        }
        commit_prefix(pre[0], p[0]->salt[i]);
        commit_prefix(pre[1], p[1]->salt[i]);
        st_sha256_2(p[0]->commit[i], pre[0], COMMIT_PREFIX, a, al, p[1]->commit[i], pre[1], COMMIT_PREFIX, b, bl);
    }
    sodium_memzero(pre, sizeof pre);                 /* salts */
    for (int k = 0; k < 2; k++)
        for (size_t i = both; i < r[k]->npayloads; i++)
            st_payload_commit(p[k]->commit[i], p[k]->salt[i], r[k]->payloads[i].data, p[k]->stored_len[i]);
}

/* Payload i's commitment and its blob literals' digests: a payload with a
 * blob literal (a file Written or Read, as a rule) is hashed together with
 * its first, nearly all of it (st_sha256_2). */
static void commit_and_hash_lits(const st_record_in *r, prepared *p, size_t i)
{
    const uint8_t *d = r->payloads[i].data;
    size_t n = nlits(p, i);
    st_blob_lit *l = lits_of(p, i);
    if (!n) {
        st_payload_commit(p->commit[i], p->salt[i], d, p->stored_len[i]);
        return;
    }
    uint8_t pre[COMMIT_PREFIX];
    commit_prefix(pre, p->salt[i]);
    st_sha256_2(p->commit[i], pre, COMMIT_PREFIX, d, p->stored_len[i], l[0].digest, NULL, 0, d + l[0].off, l[0].len);
    sodium_memzero(pre, sizeof pre);             /* salt */
    st_payload_blob_hash(d, l + 1, n - 1);
}

/* prepare() for two records (salts and time set). */
static int prepare_two(const st_store *s, const st_record_in *const r[2], prepared *const p[2], st_payload_zctx *z,
                       const uint64_t index[2])
{
    static const uint8_t leaf_prefix = 0x00;         /* as st_leaf_hash */
    int rc;
    for (int k = 0; k < 2; k++) {
        payload_lens(s, r[k], p[k]);
        if ((rc = find_lits(r[k], p[k])) != 0) return rc;
    }
    commits_two(r, p);
    for (int k = 0; k < 2; k++)                      /* rare in an import: one at a time */
        for (size_t i = 0; i < r[k]->npayloads; i++) st_payload_blob_hash(r[k]->payloads[i].data, lits_of(p[k], i), nlits(p[k], i));
    for (int k = 0; k < 2; k++)
        if ((rc = payload_rows(r[k], p[k], z)) != 0) return rc;
    if (index[0] == UINT64_MAX || index[1] == UINT64_MAX) {
        for (int k = 0; k < 2; k++)
            if (index[k] != UINT64_MAX && (rc = build_entry(r[k], p[k], index[k], s->defer_paths)) != 0) return rc;
        return 0;
    }
    for (int k = 0; k < 2; k++)
        if ((rc = entry_bytes(r[k], p[k], index[k])) != 0) return rc;
    st_sha256_2(p[0]->leaf, &leaf_prefix, 1, p[0]->bytes.data, p[0]->bytes.len,
                p[1]->leaf, &leaf_prefix, 1, p[1]->bytes.data, p[1]->bytes.len);
    for (int k = 0; k < 2; k++)
        if ((rc = entry_facts(r[k], p[k], index[k], s->defer_paths)) != 0 || (rc = entry_row(p[k])) != 0) return rc;
    return 0;
}

static void prepared_free(prepared *p)
{
    sodium_memzero(p->salt, sizeof p->salt);     /* the rest is public or wiped below */
    for (size_t i = 0; i < ST_ENTRY_MAX_PAYLOADS; i++) {   /* a reused preparation may have had more rows */
        if (p->row[i].data) sodium_memzero(p->row[i].data, p->row[i].cap);   /* salts */
        st_buf_free(&p->row[i]);
    }
    st_buf_free(&p->lits);
    st_buf_free(&p->bytes);
    st_buf_free(&p->stored);
    st_buf_free(&p->ixrows);
    st_ix_entry_free(&p->ix);
}

/* Empties a preparation for another record, keeping its buffers (rows,
 * entry bytes, index paths): an import prepares a million records in a
 * few thousand of them. */
static void prepared_reset(prepared *p)
{
    /* Only the rows and salts of the record it held: a row past npayloads
     * was emptied by an earlier reset (rows are filled only below
     * npayloads), and touching all ST_ENTRY_MAX_PAYLOADS of them cost cache
     * misses on every record of an import. */
    size_t used = p->npayloads <= ST_ENTRY_MAX_PAYLOADS ? p->npayloads : ST_ENTRY_MAX_PAYLOADS;
    sodium_memzero(p->salt, used * ST_SALT_BYTES);
    for (size_t i = 0; i < used; i++) {
        if (p->row[i].len) sodium_memzero(p->row[i].data, p->row[i].len);   /* what the row held (salt first) */
        st_buf_reset(&p->row[i]);
    }
    st_buf_reset(&p->lits);
    st_buf_reset(&p->bytes);
    st_buf_reset(&p->stored);
    st_buf_reset(&p->ix.paths);
    st_buf_reset(&p->ixrows);
    p->ixrows_for = UINT64_MAX;
    p->ready = 0;
    p->prep_rc = 0;
}

static int append_one(st_txn *txn, append_ctx *c, size_t k, uint64_t index)
{
    const st_record_in *r = &c->recs[k];
    prepared *p = c->prep[k];
    int rc;
    if (c->pipe && (rc = pipe_wait(c->pipe, k)) != 0) return rc;
    if (p->built != index && (rc = build_entry(r, p, index, 0)) != 0) return rc;
    if (p->bytes.len > ST_ENTRY_MAX)
        return st_store_fail(c->s, ST_ETOOBIG, "entry %llu: envelope is %zu bytes (at most %u)",
                             (unsigned long long)index, p->bytes.len, ST_ENTRY_MAX);
    uint8_t key[8];
    st_be64_put(key, index);
    const st_buf *row = p->stored.len ? &p->stored : &p->bytes;
    if ((rc = st_db_put(txn, ST_T_ENTRIES, key, 8, row->data, row->len, ST_PUT_APPEND)) != 0) {
        if (rc == ST_EEXIST || rc == ST_EDB) rc = st_store_fail(c->s, rc, "entry %llu: cannot append", (unsigned long long)index);
        return rc;
    }
    if ((rc = st_tree_append_leaf_edge(txn, index, p->leaf, &c->edge)) != 0) return rc;
    /* Payload rows in key (name) order: each sorts after every existing row, so they append. */
    size_t order[ST_ENTRY_MAX_PAYLOADS];
    for (size_t i = 0; i < r->npayloads; i++) {
        size_t j = i;
        for (; j > 0 && strcmp(r->payloads[order[j - 1]].name, r->payloads[i].name) > 0; j--) order[j] = order[j - 1];
        order[j] = i;
    }
    for (size_t o = 0; o < r->npayloads; o++) {
        size_t i = order[o];
        const st_payload_in *pl = &r->payloads[i];
        if (!p->row[i].len)
            rc = st_payload_put_flags(txn, index, pl->name, p->salt[i], pl->data, p->stored_len[i], ST_PUT_APPEND);
        else if ((rc = st_payload_blobs_ref(txn, pl->data, lits_of(p, i), nlits(p, i))) == 0)
            rc = st_payload_put_row(txn, index, pl->name, p->row[i].data, p->row[i].len, ST_PUT_APPEND);
        if (rc) return rc;
    }
    return p->ixrows_for == index ? st_index_add_recorded(txn, c->ix, &p->ix, &p->ixrows, 1)
                                  : st_index_add_entry(txn, c->ix, &p->ix);
}

/* A preparation was made on another core: ask for the lines append_one
 * reads first (the build stamp, the payload rows, the leaf, the index rows)
 * one record ahead, instead of missing the cache on each. */
static void prefetch_prepared(const prepared *p)
{
    if (!p) return;
    __builtin_prefetch(&p->row[0]);
    __builtin_prefetch(&p->built);
    __builtin_prefetch(&p->leaf);
    __builtin_prefetch(&p->ixrows);
}

static int append_txn(st_txn *txn, void *arg)
{
    append_ctx *c = arg;
    uint64_t size, sealed, unsealed_us;
    int rc;
    c->sealed = 0;
    if ((rc = st_size_txn(txn, &size)) || (rc = st_meta_get_u64(txn, ST_META_SEALED, &sealed)) ||
        (rc = st_meta_get_u64(txn, ST_META_UNSEALED_US, &unsealed_us)))
        return rc;
    c->first = size;
    if ((rc = st_store_format_upgrade(txn)) != 0) return rc;   /* packed rows, no leaf rows */
    if ((rc = st_ix_batch_begin(txn, c->ix, size, c->s->defer_paths)) != 0) return rc;   /* a retry starts over */
    memset(&c->edge, 0, sizeof c->edge);
    for (size_t k = 0; k < c->n; k++) {
        if (k + 1 < c->n) prefetch_prepared(c->prep[k + 1]);
        if ((rc = append_one(txn, c, k, size + k)) != 0) return rc;
    }
    if ((rc = st_ix_batch_flush(txn, c->ix)) != 0) return rc;
    if ((rc = st_meta_put_u64(txn, ST_META_SIZE, size + c->n)) != 0) return rc;
    if (sealed == size && c->n) {               /* first unsealed entry: start the T clock */
        int64_t t = st_now_us();
        if ((rc = st_meta_put_u64(txn, ST_META_UNSEALED_US, (uint64_t)t)) != 0) return rc;
    }
    if (!(c->s->flags & ST_OPEN_NOSEAL)) {
        /* A failed policy seal (key missing, say) must not lose the append. */
        int src = st_seal_txn(c->s, txn, 0, &c->sealed);
        if (src == ST_EDB) return src;           /* map full: retry the whole transaction */
        if (src) c->sealed = -1;
    }
    return 0;
}

/* Salts (from z's pool; NULL: drawn directly), time and the record binding of a fresh preparation. */
static void prepared_init_z(prepared *p, const st_record_in *r, st_payload_zctx *z)
{
    p->meta = r->meta;
    p->npayloads = r->npayloads;
    for (size_t i = 0; i < r->npayloads; i++) {
        p->name[i] = r->payloads[i].name;
        p->data[i] = r->payloads[i].data;
        p->len[i] = r->payloads[i].len;
    }
    st_payload_salts(z, &p->salt[0][0], r->npayloads * ST_SALT_BYTES);
    p->time_us = r->time_us ? r->time_us : st_now_us();
    p->built = UINT64_MAX;
    p->ixrows_for = UINT64_MAX;
}

static void prepared_init(prepared *p, const st_record_in *r)
{
    prepared_init_z(p, r, NULL);
}

/* The preparation was made from r as it is now. */
static int prepared_matches(const prepared *p, const st_record_in *r)
{
    if (!p || !p->ready || p->meta != r->meta || p->npayloads != r->npayloads || (r->time_us && p->time_us != r->time_us))
        return 0;
    for (size_t i = 0; i < r->npayloads; i++)
        if (p->name[i] != r->payloads[i].name || p->data[i] != r->payloads[i].data || p->len[i] != r->payloads[i].len)
            return 0;
    return 1;
}

int st_prepare_record_reuse(const st_store *s, const st_record_in *r, uint64_t index, st_payload_zctx *z, st_prepared **io)
{
    st_err e;
    prepared *p = *io;
    int rc = validate(&e, r);
    if (rc == 0 && !p && !(p = calloc(1, sizeof *p))) rc = ENOMEM;
    if (rc == 0) {
        if (*io) prepared_reset(p);
        prepared_init_z(p, r, z);
        rc = prepare(s, r, p, z, index);
    }
    if (rc) {
        st_prepared_free(p);
        *io = NULL;
        return rc;
    }
    p->ready = 1;
    *io = p;
    return 0;
}

int st_prepare_record_pair(const st_store *s, const st_record_in *const r[2], const uint64_t index[2], st_payload_zctx *z,
                           st_prepared *io[2])
{
    st_err e;
    prepared *p[2] = { io[0], io[1] };
    int rc = validate(&e, r[0]) || validate(&e, r[1]);
    for (int k = 0; k < 2 && !rc; k++) {
        if (p[k]) prepared_reset(p[k]);
        else if (!(p[k] = calloc(1, sizeof *p[k]))) rc = ENOMEM;
        io[k] = p[k];
    }
    if (!rc) {
        for (int k = 0; k < 2; k++) prepared_init_z(p[k], r[k], z);
        rc = prepare_two(s, r, p, z, index);
    }
    if (!rc) {
        p[0]->ready = p[1]->ready = 1;
        return 0;
    }
    /* One at a time: each record's own result (and preparation, if it has one). */
    int rc0 = st_prepare_record_reuse(s, r[0], index[0], z, &io[0]);
    int rc1 = st_prepare_record_reuse(s, r[1], index[1], z, &io[1]);
    return rc0 ? rc0 : rc1;
}

int st_prepare_record(const st_store *s, const st_record_in *r, uint64_t index, st_payload_zctx *z, st_prepared **out)
{
    *out = NULL;
    return st_prepare_record_reuse(s, r, index, z, out);
}

void st_prepared_free(st_prepared *p)
{
    if (!p) return;
    prepared_free(p);
    free(p);
}

int st_append_prepared(st_store *s, const st_record_in *recs, st_prepared *const *given, size_t n, uint64_t *first_index_out)
{
    if (s->flags & ST_OPEN_RDONLY) return st_store_fail(s, ST_ERDONLY, "store opened read-only");
    if (n == 0) return st_store_fail(s, ST_EINVAL, "no records to append");
    prepared **prep = calloc(n, sizeof *prep);  /* given[k] if it still matches recs[k], else NULL for now */
    if (!prep) return ENOMEM;
    size_t own_n = 0;
    for (size_t k = 0; k < n; k++) {
        if (given && prepared_matches(given[k], &recs[k])) { prep[k] = given[k]; continue; }
        int rc = validate(&s->err, &recs[k]);
        if (rc) { free(prep); return rc; }
        own_n++;
    }
    prepared *own = own_n ? calloc(own_n, sizeof *own) : NULL;
    if (own_n && !own) { free(prep); return ENOMEM; }
    for (size_t k = 0, o = 0; k < n; k++) {
        if (prep[k]) continue;
        prep[k] = &own[o++];
        prepared_init(prep[k], &recs[k]);       /* in index order, before any thread */
    }
    append_ctx c = { .s = s, .recs = recs, .n = n, .prep = prep, .ix = st_ix_batch_new() };
    s->err.msg[0] = 0;
    int rc = c.ix ? 0 : ENOMEM;
    prep_pipe pp;
    pthread_t th;
    /* No helper thread when the caller prepared (nearly) everything: it has its own. */
    int thread = 0, piped = rc == 0 && own_n >= PREP_SPLIT_MIN;
    if (piped && (rc = pipe_start(&pp, s, recs, prep, n, &th, &thread)) == 0) c.pipe = &pp;
    for (size_t k = 0; rc == 0 && !piped && k < n; k++)
        if (!prep[k]->ready) rc = prepare(s, &recs[k], prep[k], NULL, UINT64_MAX);
    if (rc == 0) rc = st_db_write(s->db, append_txn, &c, &s->err);
    if (c.pipe) pipe_end(&pp, th, thread);
    st_ix_batch_free(c.ix);
    for (size_t o = 0; o < own_n; o++) prepared_free(&own[o]);
    free(own);
    free(prep);
    if (rc) return rc;
    if (c.sealed == 1) st_seal_publish(s);
    if (first_index_out) *first_index_out = c.first;
    return 0;
}

int st_append_records(st_store *s, const st_record_in *recs, size_t n, uint64_t *first_index_out)
{
    return st_append_prepared(s, recs, NULL, n, first_index_out);
}
