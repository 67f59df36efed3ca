#include "json/scratch.h"

#include <string.h>

#define MIN_BLOCK 16u

void scratch_init(struct scratch *s, struct arena *a)
{
    memset(s, 0, sizeof *s);
    s->a = a;
}

static unsigned class_of(size_t n, size_t *cap)
{
    unsigned c = 0;
    size_t size = MIN_BLOCK;
    while (size < n && c + 1 < SCRATCH_CLASSES) {
        size <<= 1;
        c++;
    }
    *cap = size;
    return size < n ? SCRATCH_CLASSES : c;
}

void *scratch_get(struct scratch *s, size_t n, size_t *cap)
{
    unsigned c = class_of(n, cap);
    if (c >= SCRATCH_CLASSES)
        return NULL;
    void *p = s->free[c];
    if (p) {
        s->free[c] = *(void **)p;
        return p;
    }
    return arena_alloc(s->a, *cap);
}

void scratch_put(struct scratch *s, void *p, size_t cap)
{
    size_t size;
    unsigned c = class_of(cap, &size);
    if (!p || c >= SCRATCH_CLASSES || size != cap)
        return;
    *(void **)p = s->free[c];
    s->free[c] = p;
}
