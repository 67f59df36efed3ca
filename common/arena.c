#include "arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cg_limits.h"

struct arena_chunk {
    struct arena_chunk *prev;
    size_t size;                 /* usable bytes after the header */
    max_align_t data[];
};

#define ALIGN 16u

static void *pb_alloc(void *ctx, size_t n) { return arena_alloc(ctx, n); }
/* Arena memory is released all at once, never piece by piece. */
static void pb_free(void *ctx, void *p) { (void)ctx; (void)p; }

void arena_init(struct arena *a, size_t limit)
{
    memset(a, 0, sizeof *a);
    a->limit = limit;
    a->pb.alloc = pb_alloc;
    a->pb.free = pb_free;
    a->pb.allocator_data = a;
}

static int grow(struct arena *a, size_t need)
{
    size_t size = a->head ? a->head->size * 2 : CG_ARENA_FIRST_CHUNK;
    if (size < need)
        size = need;
    if (a->limit && (a->used + size > a->limit)) {
        /* A smaller chunk may still fit under the limit. */
        if (a->used + need > a->limit)
            return -1;
        size = a->limit - a->used;
    }
    struct arena_chunk *c = malloc(sizeof *c + size);
    if (!c)
        return -1;
    c->prev = a->head;
    c->size = size;
    a->head = c;
    a->cur = (char *)c->data;
    a->end = a->cur + size;
    a->used += size;
    if (a->used > a->peak)
        a->peak = a->used;
    return 0;
}

void *arena_alloc(struct arena *a, size_t n)
{
    if (n == 0)
        n = 1;
    if (n > SIZE_MAX - ALIGN)
        return NULL;
    n = (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    if ((size_t)(a->end - a->cur) < n && grow(a, n) != 0)
        return NULL;
    void *p = a->cur;
    a->cur += n;
    return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
    char *p = arena_alloc(a, n + 1);
    if (!p)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void arena_reset(struct arena *a)
{
    struct arena_chunk *c = a->head;
    if (!c)
        return;
    while (c->prev) {
        struct arena_chunk *prev = c->prev;
        free(c);
        c = prev;
    }
    a->head = c;
    a->cur = (char *)c->data;
    a->end = a->cur + c->size;
    a->used = c->size;
}

void arena_free(struct arena *a)
{
    struct arena_chunk *c = a->head;
    while (c) {
        struct arena_chunk *prev = c->prev;
        free(c);
        c = prev;
    }
    a->head = NULL;
    a->cur = a->end = NULL;
    a->used = 0;
}
