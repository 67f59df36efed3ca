/* A per-request bump allocator. Everything a request needs (the
 * response's bytes, scratch, the request's wire bytes) comes from one arena, and one reset or
 * free releases it all, so no request can leak into the next.
 *
 * Invariants: allocations are 16-byte aligned; memory stays valid until the
 * next arena_reset or arena_free; the total handed out never exceeds the
 * limit given to arena_init (allocation then returns NULL). arena_reset keeps
 * up to CG_ARENA_RETAIN bytes of chunks, so a steady stream of ordinary
 * requests does not malloc, and gives the rest back.
 */
#ifndef CUEGW_ARENA_H
#define CUEGW_ARENA_H

#include <stddef.h>

struct arena_chunk;

struct arena {
    struct arena_chunk *head;    /* chunk being filled; list to older ones */
    char *cur, *end;             /* free space in head */
    size_t used;                 /* bytes of all chunks, for the limit */
    size_t limit;                /* 0: no limit */
    size_t peak;                 /* highest `used` seen, for measurements */
};

void arena_init(struct arena *a, size_t limit);

/* Returns n bytes, or NULL when the limit or malloc refuses. */
void *arena_alloc(struct arena *a, size_t n);

/* Test hook, which cuegw itself never sets: while nonzero, every
 * arena_alloc (of any arena) counts it down, and the one that brings it to
 * 0 returns NULL as if memory ran out; it then stays 0, so later ones
 * succeed. A test sets k to fail a request's k-th allocation, or a large
 * value to count how many the request made (what it went down by). Only
 * single-threaded tests may set it. Shipped code pays one load and a
 * branch never taken. */
extern unsigned long arena_fail_countdown;

/* Copies n bytes and appends a NUL. */
char *arena_strndup(struct arena *a, const char *s, size_t n);

/* A point in the arena to come back to. Memory taken after a mark is given
 * back by arena_release (chunks opened since are freed), so scratch space
 * that one part of a request needs for a while (a map's sort order, the
 * merged bytes of a split message) does not add up over a large answer. */
struct arena_mark {
    struct arena_chunk *head;
    char *cur;
};

struct arena_mark arena_mark(const struct arena *a);
/* Everything allocated since m is invalid afterwards. */
void arena_release(struct arena *a, struct arena_mark m);

/* Releases every chunk but the first and rewinds it. */
void arena_reset(struct arena *a);

void arena_free(struct arena *a);

#endif
