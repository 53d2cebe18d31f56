/*
 * forks.h: several bundles given together (without --retention) are checked
 * against each other: two verified bundles of one log that hold different
 * roots at the same size prove that the log showed two histories (a fork).
 * Each bundle alone cannot show this (docs/VERIFYING.md, "Several bundles").
 */
#ifndef AV_FORKS_H
#define AV_FORKS_H

#include <stddef.h>

#include "verifier.h"

typedef struct av_forks av_forks;

av_forks *av_forks_new(void);                  /* NULL on ENOMEM */
void av_forks_free(av_forks *f);               /* NULL is a no-op */
/* Fills obs so that the verifier reports each bundle's origin and roots to f. */
void av_forks_observer(av_forks *f, st_verify_observer *obs);
/* After each bundle: keeps the roots it reported if it verified, else drops them. */
void av_forks_bundle_done(av_forks *f, const char *name, int verified);
/* 0: no two kept roots conflict. 1: a fork, described in msg. 2: out of memory while recording. */
int av_forks_check(av_forks *f, char *msg, size_t cap);

#endif
