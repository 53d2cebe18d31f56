/*
 * textscan.c: a substring search over chunked input (textscan.h).
 */
#include "textscan.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int st_textscan_init(st_textscan *t, const char *a, size_t alen, const char *b, size_t blen)
{
    memset(t, 0, sizeof *t);
    t->a = a;
    t->alen = alen;
    t->b = blen ? b : NULL;
    t->blen = blen;
    size_t longest = alen > blen ? alen : blen;
    t->keep = longest ? longest - 1 : 0;
    if (t->keep && !(t->tail = malloc(2 * t->keep))) return ENOMEM;
    return 0;
}

int st_text_either_in(const uint8_t *p, size_t n, const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen && n >= alen && memmem(p, n, a, alen)) return 1;
    return b && blen && n >= blen && memmem(p, n, b, blen) != NULL;
}

static int found(const st_textscan *t, const uint8_t *p, size_t n)
{
    return st_text_either_in(p, n, t->a, t->alen, t->b, t->blen);
}

void st_textscan_feed(st_textscan *t, const uint8_t *p, size_t n)
{
    if (t->hit || n == 0) return;
    if (found(t, p, n)) { t->hit = 1; return; }
    if (t->keep == 0) return;
    size_t head = n < t->keep ? n : t->keep;      /* the junction: kept tail || head of p */
    memcpy(t->tail + t->tl, p, head);
    if (t->tl && found(t, t->tail, t->tl + head)) { t->hit = 1; return; }
    size_t all = t->tl + head, drop = all > t->keep ? all - t->keep : 0;
    if (n >= t->keep) {
        memcpy(t->tail, p + n - t->keep, t->keep);
        t->tl = t->keep;
    } else {                                      /* the last keep bytes of tail || p (p is all in the junction) */
        memmove(t->tail, t->tail + drop, all - drop);
        t->tl = all - drop;
    }
}

void st_textscan_free(st_textscan *t)
{
    free(t->tail);
    t->tail = NULL;
}
