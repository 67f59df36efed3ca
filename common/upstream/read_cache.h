/* A short cache of reads (READ_CACHE_MS). An upstream that wraps another:
 * a read answered OK is kept for ttl_ms after its answer came, and an
 * identical read (the same method and the same request bytes) in that
 * window gets a copy of the kept bytes instead of calling Cuebot. Errors
 * are never kept, and other calls pass straight through.
 *
 * Who asks does not enter the key, for the reason shared_reads.h gives:
 * the wrapped call sends Cuebot only the method, the bytes and the request
 * id, so its answer cannot depend on the caller, and every request has
 * passed its own authentication, READ_ONLY and ACCESS_POLICY before it
 * reaches this upstream. A request refused there never sees a kept answer.
 *
 * Read-your-writes: an entry remembers the pool's mutation count read
 * before its call started, and is used only while the count has not moved
 * since. So a read that starts after a mutation completed anywhere in the
 * pool is never answered from a call that started before that mutation:
 * the mutation moved the count, which made the entry unusable. The count
 * is the one shared_reads.h keeps; without a count every process shares,
 * nothing is kept.
 *
 * Bounds: at most max_entries entries and max_bytes bytes (each entry's
 * key, answer and bookkeeping counted), the oldest evicted first; an
 * answer over max_bytes / 4 is not kept, so one large answer cannot empty
 * the cache; a request over max_request bytes is not kept either. The
 * memory is the process's own heap, freed by read_cache_free. */
#ifndef CUEGW_READ_CACHE_H
#define CUEGW_READ_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "upstream/upstream.h"

struct read_cache_hooks {
    void *ctx;
    /* 1 when a call of method_path changes nothing (see shared_reads.h). */
    int (*is_read)(void *ctx, const char *method_path);
    /* The pool's count of completed mutating calls into *count, with
     * acquire ordering; -1 when there is none, and then nothing is kept. */
    int (*mutations)(void *ctx, uint64_t *count);
    /* A mutating call has completed; NULL when the wrapped upstream counts
     * them itself (shared reads on), so that none is counted twice. */
    void (*mutated)(void *ctx);
    /* A read was answered from the cache (may be NULL). */
    void (*hit)(void *ctx);
    /* Milliseconds on a clock that never goes back; NULL: CLOCK_MONOTONIC.
     * Tests drive time through it. */
    int64_t (*now_ms)(void *ctx);
};

struct read_cache_limits {
    int64_t ttl_ms;         /* how long after its answer an entry serves; > 0 */
    size_t max_request;     /* larger request bytes are never kept */
    size_t max_bytes;       /* everything kept, at once */
    unsigned max_entries;
};

/* Defaults for a gateway process. 32 MiB holds fifteen answers of a
 * 5,000-job GetJobs (2 MB each) next to thousands of small ones, a small
 * part of what a worker's request arenas may take; 1,024 entries cover a
 * farm's worth of per-job polls (CueWeb asks GetJobs once per monitored
 * job) while keeping a lookup's chains short. Requests of reads are ids and
 * filters; a larger one is rarely repeated. */
#define READ_CACHE_MAX_REQUEST (64u << 10)
#define READ_CACHE_MAX_BYTES ((size_t)32 << 20)
#define READ_CACHE_MAX_ENTRIES 1024u

struct read_cache;

/* Wraps `inner` (copied; it must outlive the result). hooks and limits are
 * copied. NULL when memory runs out or ttl_ms < 1. */
struct read_cache *read_cache_new(const struct upstream *inner,
                                  const struct read_cache_hooks *hooks,
                                  const struct read_cache_limits *limits);

/* The upstream to call through; valid until read_cache_free. */
struct upstream read_cache_upstream(struct read_cache *rc);

/* What is kept now, for tests. */
struct read_cache_usage {
    unsigned entries;
    size_t bytes;
    uint64_t hits;
};
struct read_cache_usage read_cache_usage(struct read_cache *rc);

/* When no call is in flight: frees every entry. NULL does nothing. */
void read_cache_free(struct read_cache *rc);

#endif
