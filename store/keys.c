/*
 * keys.c: which verifier keys may sign a checkpoint. In simple mode (no
 * root, no rotation recorded) that is the store's one log key. Key history
 * (certificates, rotations, revocations, epochs: docs/KEYS.md) extends this
 * table-driven lookup without changing its callers.
 */
#include "store_int.h"

#include <string.h>

int st_keys_for_checkpoint(st_txn *txn, const st_store *s, const st_checkpoint *cp, st_vkey keys_out[ST_KEYS_MAX],
                           size_t *n_out)
{
    (void)txn;
    (void)cp;
    keys_out[0] = s->verifier;
    *n_out = 1;
    return 0;
}
