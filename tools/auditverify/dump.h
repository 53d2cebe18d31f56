/* dump.h: `auditverify --list`: print a bundle's records without verifying them. */
#ifndef AV_DUMP_H
#define AV_DUMP_H

#include <stdio.h>

/* Returns 0 (framing and trailer sound) or 2; prints to f, errors to stderr. */
int dump_bundle(FILE *f, int fd);

#endif
