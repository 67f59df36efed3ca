/* Scratch memory a request gives back and takes again: blocks of a power
 * of two bytes carved from the request arena, each returned block kept on
 * a free list of its size for the next taker. The arena itself only grows,
 * so without this every duplicate-key table of every JSON object would stay
 * until the request ends; with it, the memory held is what the blocks in
 * use at one time need, rounded up to powers of two. */
#ifndef CUEGW_SCRATCH_H
#define CUEGW_SCRATCH_H

#include <stddef.h>

#include "base/arena.h"

#define SCRATCH_CLASSES 48

struct scratch {
    struct arena *a;
    void *free[SCRATCH_CLASSES];     /* one list per size, 16 << class bytes */
};

void scratch_init(struct scratch *s, struct arena *a);

/* A block of at least n bytes; *cap gets its size. NULL when the arena
 * refuses. */
void *scratch_get(struct scratch *s, size_t n, size_t *cap);

/* Gives back a block that scratch_get returned with this cap. */
void scratch_put(struct scratch *s, void *p, size_t cap);

#endif
