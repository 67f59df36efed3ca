#include "base/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "base/cg_limits.h"

struct arena_chunk {
    struct arena_chunk *prev;
    size_t size;                 /* usable bytes after the header */
    int mapped;                  /* from mmap, not malloc */
    max_align_t data[];
};

#define ALIGN 16u

void arena_init(struct arena *a, size_t limit)
{
    memset(a, 0, sizeof *a);
    a->limit = limit;
}

/* Large chunks (a big response's wire bytes) are mapped with every page
 * present from the start: touching a fresh page one at a time costs a
 * fault each, which on virtual machines adds up to milliseconds for a
 * response of a few MB, and malloc would keep such blocks in its heap
 * after the request (or hand them back, only to fault them in again). */
static struct arena_chunk *new_chunk(size_t size)
{
    struct arena_chunk *c;
    if (size < CG_ARENA_MAP_MIN) {
        if (!(c = malloc(sizeof *c + size)))
            return NULL;
        c->mapped = 0;
        return c;
    }
    c = mmap(NULL, sizeof *c + size, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (c == MAP_FAILED)
        return NULL;
    c->mapped = 1;
    return c;
}

static void free_chunk(struct arena_chunk *c)
{
    if (c->mapped)
        munmap(c, sizeof *c + c->size);
    else
        free(c);
}

static int grow(struct arena *a, size_t need)
{
    size_t size = a->head ? a->head->size * 2 : CG_ARENA_FIRST_CHUNK;
    if (size > CG_ARENA_MAX_CHUNK)
        size = CG_ARENA_MAX_CHUNK;
    if (size < need)
        size = need;
    if (a->limit && (a->used + size > a->limit)) {
        /* A smaller chunk may still fit under the limit. */
        if (a->used + need > a->limit)
            return -1;
        size = a->limit - a->used;
    }
    struct arena_chunk *c = new_chunk(size);
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

unsigned long arena_fail_countdown;

void *arena_alloc(struct arena *a, size_t n)
{
    if (__builtin_expect(arena_fail_countdown != 0, 0) && --arena_fail_countdown == 0)
        return NULL;
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

struct arena_mark arena_mark(const struct arena *a)
{
    struct arena_mark m = {a->head, a->cur};
    return m;
}

void arena_release(struct arena *a, struct arena_mark m)
{
    while (a->head && a->head != m.head) {
        struct arena_chunk *c = a->head;
        a->head = c->prev;
        a->used -= c->size;
        free_chunk(c);
    }
    if (!a->head) {
        a->cur = a->end = NULL;
        return;
    }
    a->cur = m.cur;
    a->end = (char *)a->head->data + a->head->size;
}

/* Keeps one chunk, the newest that fits CG_ARENA_RETAIN (chunks only grow,
 * so it is the largest such), and frees the others. */
void arena_reset(struct arena *a)
{
    struct arena_chunk *keep = NULL;
    for (struct arena_chunk *c = a->head, *prev; c; c = prev) {
        prev = c->prev;
        if (!keep && c->size <= CG_ARENA_RETAIN)
            keep = c;
        else
            free_chunk(c);
    }
    a->head = keep;
    if (!keep) {
        a->cur = a->end = NULL;
        a->used = 0;
        return;
    }
    keep->prev = NULL;
    a->cur = (char *)keep->data;
    a->end = a->cur + keep->size;
    a->used = keep->size;
}

void arena_free(struct arena *a)
{
    struct arena_chunk *c = a->head;
    while (c) {
        struct arena_chunk *prev = c->prev;
        free_chunk(c);
        c = prev;
    }
    a->head = NULL;
    a->cur = a->end = NULL;
    a->used = 0;
}
