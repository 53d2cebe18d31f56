/*
 * verify_int.h: the verifier's internal state, shared by verifier.c (the
 * header records, the in-order merge, the report), verify_items.c (per-entry
 * checks run on worker threads) and verify_pool.c (batches and threads).
 */
#ifndef ST_VERIFY_INT_H
#define ST_VERIFY_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "bundle.h"
#include "entry.h"
#include "verifier.h"

enum { SEL_FULL, SEL_RANGE, SEL_TIME, SEL_FILTER };
enum { SUP_OTHER, SUP_ERASURE, SUP_ARCHIVE, SUP_PRUNE, SUP_POLICY };

#define VF_MAX_VALUES 16u
#define VF_VALUE_MAX  1024u

/* A list filter (tool, event, session, status): any value matches. */
typedef struct vlist {
    size_t n;
    char *v[VF_MAX_VALUES];
    size_t len[VF_MAX_VALUES];
} vlist;

/* The selection stated by the manifest [BUNDLE-6]. */
typedef struct vsel {
    int kind;
    vlist tool, event, session, status;
    int has_since, has_until;
    int64_t since_us, until_us;
    char *path;                 /* not re-checked (see VERIFYING.md step 11) */
    char *text;                 /* substring of a present payload */
    size_t text_len;
    char *text_esc;             /* text JSON-escaped */
    size_t text_esc_len;
    int has_min_duration;
    uint64_t min_duration_ms;
} vsel;

typedef struct vcp {
    uint64_t size;
    st_hash root;
    int64_t time_s;
} vcp;

/* A support entry (a record the bundle refers to), parsed for what it covers. */
typedef struct vsup {
    uint64_t index;
    st_hash leaf;
    int kind;                   /* SUP_* */
    uint64_t target;            /* erasure: the entry whose payloads were erased */
    uint64_t begin, end;        /* archive, prune: the entries covered */
    int all_names;              /* erasure without a "payloads" list: every payload */
    size_t nnames;
    char names[ST_ENTRY_MAX_PAYLOADS][ST_PAYLOAD_NAME_MAX + 1];
} vsup;

/* One record of an item, as copied into a batch. */
typedef struct vrec {
    uint8_t type;
    uint8_t hlen;               /* of h below (kept in the first cache line, which the reader writes) */
    uint32_t len;
    uint64_t seq, offset;
    size_t off;                 /* body offset in the batch arena (not streamed, ext NULL) */
    const uint8_t *ext;         /* or the body in the reader's memory source (rec->inplace), not copied */
    int streamed;               /* PAYLOAD hashed while streaming by the reader */
    int text_hit;               /* streamed: the selection's text occurs in its data (step 11.5) */
    st_brec_payload head;       /* streamed: the decoded head */
    st_hash commit;             /* streamed: the commitment computed by the reader */
    uint8_t h[8 + 1 + 32 + 32]; /* H for the trailer chain, set by the worker (or the reader) */
} vrec;

/* One entry with its inclusion proof and payload records, and what the worker found. */
typedef struct vitem {
    size_t rec_first, nrec;
    uint64_t index;
    st_hash leaf;
    int64_t time_us;
    int has_duration;
    uint64_t duration_ms;
    char tool[ST_VR_NAME_MAX + 1], event[ST_VR_NAME_MAX + 1];
    char status[ST_VR_NAME_MAX + 1], kind[ST_VR_NAME_MAX + 1];
    int has_tool, has_event, has_status, has_session;
    uint64_t session_hash;
    uint64_t npay, paybytes;
    uint32_t nabsent;           /* ABSENT records (the merge reports them) */
    int in_window;
    int is_policy;
    /* step 13 (verify_tree.c): the perfect subtree of the frontier that ends
     * at this entry, or tree_skip: its leaf is in one that ends at a later entry */
    uint8_t tree_level;         /* 0: append the leaf itself */
    uint8_t tree_skip;
    st_hash tree;
} vitem;

/* A record's body: in the batch arena, or in place in the source. */
static inline const uint8_t *vrec_body(const uint8_t *arena, const vrec *r)
{
    return r->ext ? r->ext : arena + r->off;
}

/* A worker's private copies of record bodies (see verify_items.c): the
 * entry being checked, and a payload searched for a filter's text. */
typedef struct vscratch {
    uint8_t *ent[2], *pay;      /* two entries: their leaf hashes are computed together */
    size_t ent_cap[2], pay_cap;
    uint8_t *tree;              /* the nodes of verify_tree.c */
    size_t tree_cap;
} vscratch;

enum { B_FREE, B_FILLING, B_QUEUED, B_DONE };

typedef struct vbatch {
    int state;
    uint8_t *arena;
    size_t arena_len, arena_cap;
    size_t bytes;               /* record bytes, copied or in place (bounds a batch's work) */
    uint64_t end_offset;        /* file offset just after the batch's last record */
    vrec *recs;
    size_t nrec, rec_cap;
    vitem *items;
    size_t nitem, item_cap;
    int has_tree;               /* items carry subtrees (verify_tree.c) */
    uint8_t *chain;             /* has_chain: the records' trailer-chain input, in order (vchain_build) */
    size_t chain_len, chain_cap;
    int has_chain;
    /* the first failure in this batch (items after it are not checked) */
    int failed;
    size_t fail_item;
    int verdict;
    unsigned step;
    uint64_t fail_offset;
    char msg[1024];
} vbatch;

/* A batch's records: small enough that the bytes the reader just touched
 * (and prefetched) are still in cache when a worker checks them. With the
 * ring of verify_pool.c (2 x threads slots) the reader runs at most ~1 MiB
 * ahead of the workers on 2 threads: the bytes come from the reader's L2,
 * not from memory a second time (512 KiB batches in 17 slots put ~8 MiB
 * between the reader and the workers: ~8% more CPU and wall on 2 cores). */
#define VB_MAX_ITEMS  2048u
#define VB_MAX_BYTES  ((size_t)128 << 10)
/* Records are counted too (an empty-bodied record adds no bytes), and an
 * item holds at most its ENTRY, an INCLUSION and one record per payload:
 * so a hostile bundle of tiny records cannot grow a slot past ~4 MB. */
#define VB_MAX_RECS   8192u
#define VB_ITEM_MAX_RECS (2u + ST_ENTRY_MAX_PAYLOADS)

typedef struct vctx vctx;

/* The thread pool (verify_pool.c). */
typedef struct vpool {
    pthread_mutex_t mu;
    pthread_cond_t work, done;
    vbatch *slots;
    size_t nslots;
    size_t head;                /* next slot the reader fills */
    size_t tail;                /* oldest slot not merged */
    size_t queued_next;         /* next slot a worker should take */
    size_t in_use;
    unsigned nthreads;
    unsigned started;           /* workers that took their scratch */
    pthread_t *threads;
    vscratch *scratch;          /* one per worker, and [nthreads] for the reader */
    int quit;
    vctx *v;
} vpool;

struct vctx {
    const st_verify_opts *opts;
    st_verify_report *rep;
    st_bundle_reader *r;
    st_bundle_chain chain;
    atomic_int stop;            /* a failure was found */

    /* manifest */
    vsel sel;
    uint64_t m_begin, m_end, m_entries, m_checkpoints, m_final;
    int m_has_prev;
    uint64_t m_prev_size;

    /* checkpoints */
    vcp *cps;
    size_t ncp, cp_cap;
    size_t ncons;               /* consistency proofs between consecutive checkpoints */
    size_t cp_next;             /* next checkpoint whose root the frontier will reach */
    uint64_t final_size;
    st_hash final_root;

    /* previous (PREVIOUS record) and --previous (the auditor's) */
    int have_prev_rec;
    vcp prev_rec;
    int have_auditor_prev, auditor_prev_linked;
    vcp auditor_prev;

    /* supports */
    vsup *sups;
    size_t nsup, sup_cap;
    int pending_support;        /* a SUPPORT read, its INCLUSION not yet */

    /* entries */
    int contiguous;
    int have_frontier, have_right, header_done;
    st_frontier fr;
    uint64_t next_index;        /* contiguous: expected; filter: last + 1 */
    uint64_t seen;              /* entries merged */
    size_t sup_cursor;          /* next support whose index the stream may reach */
    uint64_t *sessions;         /* hash set of session hashes (0 = empty slot) */
    size_t sess_cap, sess_n;

    /* key history (step 5): trust anchors, the bundle's KEYNOTE records, --key-note files */
    st_keyhist *kh;
    struct vkn { uint64_t index; st_hash note_hash; uint8_t type; int matched; } *kns;
    size_t nkn, kn_cap;
    int kn_done;                /* every KEYNOTE was matched by its support entry */
    int prev_verified;          /* --previous: signature checked against the key history */

    int expect_link;            /* a PREVIOUS was read: its CONSISTENCY comes next */
    char prev_origin[ST_KEY_NAME_MAX + 1];
    int last_in_window;
    uint64_t last_offset;
    vbatch *cur;                /* the batch being filled */
    uint8_t *stream_buf;        /* VSTREAM_BUF bytes for streamed payloads */
    vpool pool;
};

#define VSTREAM_BUF ((size_t)256 << 10)

/* verifier.c */
int vfail(vctx *v, int verdict, unsigned step, uint64_t offset, const char *fmt, ...) ST_PRINTF(5, 6);
void vhex(char out[65], const st_hash h);
/* retention (issue 7): a root for opts->observer, if it wants roots */
void vobserve_root(vctx *v, uint64_t size, const st_hash root, int64_t time_s);
void vmerge_batch(vctx *v, vbatch *b);

/* verify_header.c: steps 5-10 (each 0, or -1 after vfail) */
int vh_key(vctx *v, const st_brec *rec);
int vh_checkpoint(vctx *v, const st_brec *rec);
int vh_consistency(vctx *v, const st_brec *rec, int *link);
int vh_previous(vctx *v, const st_brec *rec);
int vh_link_auditor(vctx *v, const st_hash root, uint64_t size, const char *how, uint64_t offset);
int vh_header_finish(vctx *v, uint64_t offset);
int vh_support(vctx *v, const st_brec *rec);
int vh_support_inclusion(vctx *v, const st_brec *rec);
int vh_frontier(vctx *v, const st_brec *rec);
int vh_frontier_reached(vctx *v, uint64_t offset);

/* verify_merge.c: batches in, merge out, step 14 */
int vm_item_record(vctx *v, const st_brec *rec);
int vm_right(vctx *v, const st_brec *rec);
void vm_table_add(st_vr_table *t, const char *name);
void vm_session_add(vctx *v, uint64_t h);

/* verify_keys.c: step 5 (key history) and the checkpoint signatures of steps 1.2, 6.2, 8.1 */
struct vkn;
int vk_begin(vctx *v, uint64_t offset);                       /* after the manifest: trust anchors, --key-note */
int vk_keynote(vctx *v, const st_brec *rec);                  /* a KEYNOTE record */
int vk_checkpoint_note(vctx *v, const char *what, const st_note *note, const st_checkpoint *cp, unsigned step,
                       uint64_t offset);                      /* signed by a key valid for it */
int vk_support(vctx *v, uint64_t index, const char *kind, const st_json *root, uint64_t offset);
int vk_done(vctx *v, uint64_t offset);                        /* after the supports: every KEYNOTE matched */
const struct vkn *vk_find(const vctx *v, uint64_t index);
/* Worker side: an entry of a key-history kind in the selection must be one of
 * the bundle's KEYNOTE records, byte for byte. 0, or -1 with the reason in why. */
int vk_entry_check(const vctx *v, uint64_t index, const uint8_t *bytes, size_t len, char *why, size_t cap);
void vk_end(vctx *v);                                         /* stats into the report; frees */

/* verify_manifest.c: step 4 (0, or -1 after vfail) */
int vmanifest_parse(vctx *v, const uint8_t *body, size_t len, uint64_t offset);
void vsel_free(vsel *s);

/* verify_hash.c: the workers' hashing and private copies */
/* A PAYLOAD record's head, decoded once, and its commitment. */
typedef struct vpay {
    int ok;                     /* 0: not a whole PAYLOAD record, or its head does not decode */
    st_brec_payload ph;
    st_hash c;
} vpay;

/* An entry record decoded, its bytes copied, maybe its leaf hash computed. */
typedef struct vprep {
    st_brec_entry be;
    st_hash leaf;
    int hashed;
} vprep;

uint8_t *vscratch_get(uint8_t **buf, size_t *cap, size_t n);   /* room for n bytes; NULL if out of memory */
void vcommit_hash(st_hash out, const uint8_t salt[16], const uint8_t *p, size_t n);
size_t vcommit_ahead(const vbatch *b, const vrec *recs, size_t nrec, size_t n, vpay *out);
int vprep_entry(vbatch *b, vscratch *sc, unsigned slot, size_t k, vprep *o, st_err *err);
void vprep_leaves(vprep *a, vprep *b);                     /* both leaf hashes, together */
/* A checked batch's trailer-chain input in one piece: the merge then feeds
 * it with one call (st_bundle_chain_add_run) instead of two per record. */
void vchain_build(vbatch *b);

/* verify_items.c: checks one batch (worker side), with the thread's scratch. */
void vitems_check(vctx *v, vbatch *b, vscratch *s);
const vsup *vsup_find(const vctx *v, uint64_t index);
int vsup_covers(const vsup *s, uint64_t index, const char *name);
uint64_t vhash64(const char *s, size_t n);

/* verify_tree.c: the subtrees of a checked batch, for the merge (step 13) */
void vtree_build(const vctx *v, vbatch *b, vscratch *s);

/* verify_pool.c */
int vpool_start(vctx *v, unsigned threads);
/* The batch the reader should fill next (merging older batches as needed). NULL when stopped. */
vbatch *vpool_fill_slot(vctx *v);
void vpool_submit(vctx *v, vbatch *b);
void vpool_drain(vctx *v);     /* merges every outstanding batch, in order */
void vpool_stop(vctx *v);      /* joins the threads and frees the slots */

#endif
