/* A per-request bump allocator. Everything a request needs (decoded
 * messages, strings, packed bytes) comes from one arena, and one reset or
 * free releases it all, so no request can leak into the next.
 *
 * Invariants: allocations are 16-byte aligned; memory stays valid until the
 * next arena_reset or arena_free; the total handed out never exceeds the
 * limit given to arena_init (allocation then returns NULL). arena_reset keeps
 * the first chunk, so a steady stream of small requests does not malloc. */
#ifndef CUEGW_ARENA_H
#define CUEGW_ARENA_H

#include <stddef.h>
#include <protobuf-c/protobuf-c.h>

struct arena_chunk;

struct arena {
    struct arena_chunk *head;    /* chunk being filled; list to older ones */
    char *cur, *end;             /* free space in head */
    size_t used;                 /* bytes of all chunks, for the limit */
    size_t limit;                /* 0: no limit */
    size_t peak;                 /* highest `used` seen, for measurements */
    ProtobufCAllocator pb;       /* protobuf-c view of this arena */
};

void arena_init(struct arena *a, size_t limit);

/* Returns n bytes, or NULL when the limit or malloc refuses. */
void *arena_alloc(struct arena *a, size_t n);

/* Copies n bytes and appends a NUL. */
char *arena_strndup(struct arena *a, const char *s, size_t n);

/* Releases every chunk but the first and rewinds it. */
void arena_reset(struct arena *a);

void arena_free(struct arena *a);

#endif
