/* testutil.h: helpers shared by the Check unit tests. */
#ifndef ST_TESTUTIL_H
#define ST_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

/* Reads a whole file (NUL-terminated) or returns NULL. Caller frees. */
char *tu_read_file(const char *path, size_t *len_out);
/* $ST_SHARED_DIR/<rel>, or NULL when shared/ is absent (tests then skip upstream cases). */
const char *tu_shared_path(const char *rel);
/* $ST_SOURCE_DIR/<rel> */
const char *tu_source_path(const char *rel);
/* A fresh empty directory under $TMPDIR (removed by tu_rmrf). Caller frees. */
char *tu_tmpdir(void);
void tu_rmrf(const char *path);

#endif
