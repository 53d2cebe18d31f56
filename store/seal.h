/*
 * seal.h: sealing as part of an append, for the hook. On Stop, StopFailure
 * and SessionEnd the hook records the event and seals it: in one write
 * transaction, so one durable commit (two syncs) instead of two. st_seal()
 * (sealtrail.h) is the stand-alone seal; st_seal_txn() (store_int.h) the seal
 * inside a transaction.
 */
#ifndef ST_SEAL_H
#define ST_SEAL_H

#include <stdint.h>

#include "sealtrail.h"

/* on = 1: every st_append_records() of s also seals (forces a checkpoint)
 * inside its transaction, until called again with on = 0. A seal that fails
 * there (a missing key, say) does not fail the append: the entries stay
 * unsealed, which st_sealed_size() shows; the caller then runs st_seal() for
 * the error. Set it just around the append that should seal (not around a
 * spool replay, whose records would each get a checkpoint). */
void st_seal_on_append(st_store *s, int on);

/* The size of the latest checkpoint (0 if none) from the store's meta. 0 or an st error. */
ST_NODISCARD int st_sealed_size(st_store *s, uint64_t *sealed_out);

#endif
