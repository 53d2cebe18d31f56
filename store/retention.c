/*
 * retention.c: the store side of retention. The `retention` table records,
 * for every payload removed by a signed erasure or archive record, the key
 * u64be index || payload name -> u64be index of the record that removed it.
 * check and export use it to tell an explained absence from tampering.
 */
#include "store_int.h"

#include <string.h>

int st_retention_payload_absent_ok(st_txn *txn, uint64_t index, const char *name)
{
    size_t nl = strlen(name);
    if (nl == 0 || nl > ST_PAYLOAD_NAME_MAX) return 0;
    uint8_t key[8 + ST_PAYLOAD_NAME_MAX];
    st_be64_put(key, index);
    memcpy(key + 8, name, nl);
    const void *v;
    size_t vl;
    return st_db_get(txn, ST_T_RETENTION, key, 8 + nl, &v, &vl) == 0 && vl == 8;
}
