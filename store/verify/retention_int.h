/*
 * retention_int.h: the retention accumulator's state, shared by
 * retention_check.c (feeding) and retention_judge.c (st_rc_finish).
 */
#ifndef ST_RETENTION_INT_H
#define ST_RETENTION_INT_H

#include <stdint.h>

#include "note.h"
#include "retention_check.h"

#define CHUNK_BITS 16u
#define CHUNK ((uint64_t)1 << CHUNK_BITS)
#define MAX_BUNDLES 1024u

enum { F_COVERED = 1, F_HASPAY = 2, F_HELD = 4, F_PRESENT = 8, F_ARCH = 16, F_PRUNE = 32, F_ERASED = 64 };

typedef struct chunk {
    int64_t time[CHUNK];
    uint8_t flags[CHUNK];
} chunk;

typedef struct rroot {
    uint64_t size;
    st_hash root;
    uint32_t bundle;
} rroot;

typedef struct rbundle {
    char name[128];
    int contiguous;
    uint64_t begin, end;
    int has_sha;
    uint8_t sha[32];
} rbundle;

/* The parts of a record the judgement needs (st_rrec is large: it lists names). */
typedef struct rrec {
    int kind;
    uint64_t index, begin, end, target;
    int64_t time_us, min_us, max_us, max_time_us;
    int has_max, has_max_time;
    st_hash digest;            /* leaf hash of the record's bytes: same index, same record */
    char file[ST_RREC_FILE_MAX + 1];
    uint8_t sha256[32];
} rrec;

struct st_rc {
    st_rc_opts o;
    chunk **chunks;
    size_t nchunks;
    rroot *roots;
    size_t nroots, roots_cap;
    rbundle *bundles;
    size_t nbundles;
    rrec *recs;
    size_t nrecs, recs_cap;
    char origin[ST_KEY_NAME_MAX + 1];
    int in_bundle, ignore_entries;
    int failed;                /* a callback could not record something (out of memory) */
    char next_name[128];       /* st_rc_next_bundle */
    int64_t max_cp_time_s;
    st_rc_report pre;          /* findings raised while feeding */
};

/* Adds a finding to rep (counted always, listed while there is room). */
void st_rc_add_finding(st_rc_report *rep, int kind, int severity, uint64_t begin, uint64_t end, const char *fmt, ...)
    ST_PRINTF(6, 7);
/* Flags (F_*) and time of a log index; 0 when no bundle carried it. */
uint8_t st_rc_flags_at(const st_rc *rc, uint64_t index, int64_t *time_out);

#endif
