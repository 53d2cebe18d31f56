/*
 * prefault.h: the data file's page cache made ready ahead of a bulk append
 * (prefault.c).
 *
 * A commit writes its new pages with pwrite. On a virtual machine whose host
 * takes back the guest's free memory, a page-cache page the file has never
 * had costs a fault in the host: measured here, writing 400 MB into new pages
 * took 0.55 s, into pages already cached 0.05-0.08 s. A bulk import's commits
 * write nearly only new pages, and the writing thread is the import's serial
 * stage. So a thread of its own allocates the file ahead of the data
 * (fallocate, which never overwrites nor shrinks) and reads that range once,
 * which caches zero-filled pages; the commits then copy into cached pages.
 *
 * Nothing here changes stored data: LMDB ignores the file beyond its last
 * page, and the range is only read. Where fallocate is not supported the
 * thread stops and appends go on as before. When it stops, the next write
 * transaction cuts the file back to LMDB's last page.
 */
#ifndef ST_PREFAULT_H
#define ST_PREFAULT_H

#include <stdint.h>

#include "db.h"

typedef struct st_prefault st_prefault;

/* Starts the thread, which keeps `ahead` bytes past the data ready. NULL
 * (nothing started) when no thread or descriptor is available. */
st_prefault *st_prefault_start(st_db *db, uint64_t ahead);
/* After a commit, from the committing thread: moves the range along. */
void st_prefault_note(st_prefault *pf);
/* Stops and frees (NULL: nothing); the next write transaction of this
 * process cuts off what was allocated and not used (st_db_trim_at_next_write). */
void st_prefault_stop(st_prefault *pf);

#endif
