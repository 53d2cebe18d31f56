/*
 * import_int.h: what the two halves of `sealtrail import` share.
 *
 * import_conv.c is the converting side: it reads lines (a bounded line
 * reader), turns them into events (st_import_line), matches hook durations
 * among the lines of this import, and fills segments. import.c is the
 * appending side: it takes segments in order, reports what they carry and
 * appends one transaction per batch, while (in a second thread) the next
 * segment is being converted.
 *
 * A segment is the unit handed from one side to the other: the events of
 * consecutive lines, the notes (malformed lines, progress points) of those
 * lines in line order, and the counters of those lines. It ends when a
 * transaction is complete (batch full), when NOTE_CAP notes wait (a long run
 * of malformed lines; the transaction then continues in the next segment),
 * at the end of the input, or at an error that stops the import.
 */
#ifndef ST_IMPORT_INT_H
#define ST_IMPORT_INT_H

#include "import.h"
#include "payload.h"
#include "record.h"

/* ---- the line reader ------------------------------------------------------- */

typedef struct imp_reader {
    int fd;                /* -1: memory only */
    char *buf;
    size_t cap, start, end;
    int eof;
    size_t max_line;
    uint64_t bytes;        /* consumed */
    /* drop: fd is a regular file read once, from offset pos on; what has
     * been read is dropped from the page cache (up to `dropped`) every
     * IMP_DROP_EVERY bytes, so that a large import neither evicts the rest
     * of the cache nor makes the kernel find fresh pages for every read. */
    int drop;
    int64_t pos, dropped;
} imp_reader;

#define IMP_DROP_EVERY ((int64_t)8 << 20)

/* Sets r->drop when fd is a regular file at a known offset. */
void imp_reader_drop_cache(imp_reader *r);

/* Next line (without LF) in *line and *len. 1 = a line, 0 = end, else an
 * errno value. *toolong is set for a line over max_line (its bytes are skipped). */
int imp_next_line(imp_reader *r, const char **line, size_t *len, int *toolong);

/* ---- one line --------------------------------------------------------------------- */

/* st_import_line with the document and payload buffer of an earlier line
 * (which the caller no longer uses), or NULL / an empty buffer: when the line
 * becomes an event it takes them (*spare_doc NULL, *spare_buf emptied),
 * otherwise they stay the caller's (a malformed line leaves an empty
 * document). The import then allocates neither per line. */
ST_NODISCARD int st_import_line_reuse(st_event *ev, int *kind, const char *line, size_t len,
                                      const st_import_line_opts *o, st_err *why, st_json_doc **spare_doc,
                                      st_buf *spare_buf);

/* ---- segments ------------------------------------------------------------------ */

#define IMP_NOTE_CAP 64u

typedef struct imp_note {
    uint64_t line;
    int bad;               /* 1: malformed line (msg); 0: progress point */
    uint64_t good, bytes;  /* progress: entries converted so far, input bytes consumed */
    char msg[sizeof ((st_err *)0)->msg];
} imp_note;

typedef struct imp_seg {
    st_event *evs;         /* capacity: the batch size */
    st_prepared **prep;    /* per event: its record prepared for the append, or NULL */
    uint64_t *at;          /* per event: the entry index it is prepared for (UINT64_MAX: payloads only) */
    size_t n;
    /* Preparing the segment's records is shared: the converter converts
     * events [0, parsed), each preparer (the converter, and the appender
     * while it waits: imp_help_prepare) takes the next pair from `claim` and
     * counts it in `prepared` when done; `closed`: no more events come, so
     * an odd last one is taken alone. Release stores publish the events and
     * the preparations. */
    _Atomic size_t parsed, claim, prepared;
    _Atomic int closed;
    size_t done;           /* or: evs[0..done) are finished with (appended, or checked by the
                            * strict pass); the converter frees them */
    int end_txn;           /* evs complete a transaction (batch full, or end of input) */
    int last;              /* nothing follows: end of input, or rc */
    int rc;                /* nonzero: the import stops with err, after the notes */
    st_err err;
    imp_note notes[IMP_NOTE_CAP];
    size_t nnotes;
    uint64_t lines;        /* number of the last line read (0: none) */
    uint64_t bytes;        /* input consumed through that line */
    uint64_t bad, blank, seed, hook, redactions;
} imp_seg;

/* ---- the converting side --------------------------------------------------------- */

typedef struct imp_pre_map {                 /* tool_use_id -> PreToolUse time */
    struct imp_pre_slot { uint64_t h; size_t off; uint32_t len; int64_t t; } *s;
    size_t cap, used;
    st_buf keys;
} imp_pre_map;

typedef struct imp_conv {
    imp_reader *r;
    st_import_line_opts lo;
    int strict;            /* a malformed line stops the import */
    int progress;          /* note a progress point every 65536 lines */
    size_t batch, batch_bytes;
    uint64_t lineno, good; /* lines read, events converted */
    size_t in_txn;         /* events of the current transaction converted so far */
    size_t in_txn_bytes;   /* and the length of their lines */
    imp_pre_map pre;
    /* Record preparation (st_prepare_record_pair) off the append's write
     * transaction: by the converting thread, and by the appending thread
     * while it waits (imp_help_prepare). s NULL: none (the strict check
     * pass); z: the converting thread's context. Entries are built for next_index + good, the index the store
     * size at the start predicts (UINT64_MAX: unknown, payloads only). */
    const struct st_store *s;
    st_payload_zctx *z;
    uint64_t next_index;
    /* Preparations of appended events, kept for reuse (their buffers): the
     * import then allocates a few thousand, not one per line. */
    st_prepared **spare;
    size_t nspare, spare_cap;
    /* The same for the documents and payload buffers of appended events
     * (st_import_line_reuse): no malloc and free (nor fresh pages after the
     * heap is trimmed) per line. One pair is with fill at any time. */
    struct imp_spare_ev { st_json_doc *doc; st_buf buf; } *sev;
    size_t nsev, sev_cap;
    /* Sharing the preparation (import.c): publish(ctx, sg) when sg starts
     * taking events and publish(ctx, NULL) when it is complete; wake(ctx)
     * now and then while records wait for a preparer. NULL: nobody helps. */
    void (*publish)(void *ctx, imp_seg *sg);
    void (*wake)(void *ctx);
    void *share_ctx;
} imp_conv;

/* The per-event arrays of a segment for `batch` events (0 or ENOMEM), and their release. */
int imp_seg_alloc(imp_seg *sg, size_t batch);
void imp_seg_release(imp_seg *sg);

/* Converts lines into sg (emptied first) until the segment ends (see above),
 * its records prepared. Events (and their preparations) the appender handed
 * back in sg are freed here, in the thread that allocated them and off the
 * appender's path. */
void imp_produce(imp_conv *c, imp_seg *sg);
void imp_conv_free(imp_conv *c);   /* the duration map and spare preparations; c can be reused */

/* Prepares records of sg, a segment being produced, that wait for a
 * preparer, with z (the calling thread's own context) until none waits.
 * Any thread; sg stays valid because imp_produce returns only when every
 * record taken is prepared. 1: prepared some; 0: none waited. */
int imp_help_prepare(const imp_conv *c, imp_seg *sg, st_payload_zctx *z);

/* Lowers the calling thread's scheduling priority by IMP_PREPARER_NICE
 * (nice, capped at 19), leaving the rest of the process as it is: on Linux
 * nice is per thread; elsewhere nothing is done. The thread's nice value
 * after the call (as before it when nothing could be done). */
#define IMP_PREPARER_NICE 10
int imp_lower_thread_priority(void);

#endif
