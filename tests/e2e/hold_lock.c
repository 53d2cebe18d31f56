/*
 * hold_lock.c: test helper for test_hook_spool.sh. Opens the LMDB
 * environment of a store, begins a write transaction (so it holds LMDB's
 * writer lock, as a long import or a stuck writer would), prints "locked",
 * and waits until its stdin reaches EOF; then aborts and exits. Compiled by
 * the test script itself (cc ... -llmdb); not part of the build.
 */
#include <stdio.h>
#include <unistd.h>

#include <lmdb.h>

int main(int argc, char **argv)
{
    if (argc != 2) { fprintf(stderr, "usage: hold_lock STORE_DIR\n"); return 2; }
    MDB_env *env;
    MDB_txn *txn;
    int rc = mdb_env_create(&env);
    if (!rc) rc = mdb_env_set_maxdbs(env, 32);
    if (!rc) rc = mdb_env_open(env, argv[1], 0, 0600);
    if (!rc) rc = mdb_txn_begin(env, NULL, 0, &txn);
    if (rc) { fprintf(stderr, "hold_lock: %s\n", mdb_strerror(rc)); return 1; }
    printf("locked\n");
    fflush(stdout);
    char buf[64];
    while (read(0, buf, sizeof buf) > 0) {}
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return 0;
}
