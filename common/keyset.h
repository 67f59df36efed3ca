/* A set of JSON object keys, to refuse a key given twice in one object. It
 * lives in the request arena and hashes, so a hostile object with many keys
 * costs linear time, not quadratic. Keys are not copied: they must outlive
 * the set (they do: decoded keys are in the same arena). */
#ifndef CUEGW_KEYSET_H
#define CUEGW_KEYSET_H

#include <stddef.h>

#include "arena.h"

struct keyset {
    struct keyset_slot { const char *s; size_t n; } *slots;
    size_t mask;       /* slots - 1; 0 before the first insert */
    size_t count;
};

/* Adds a key. Returns 1 if it was new, 0 if it was already there, -1 when
 * the arena is exhausted. */
int keyset_add(struct keyset *ks, struct arena *a, const char *s, size_t n);

#endif
