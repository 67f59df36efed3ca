/* Identical reads share one Cuebot call (SHARE_READS). An upstream that
 * wraps another: while a read is in flight, a second call of the same
 * method with the same request bytes waits for that call's answer instead
 * of making its own, and gets a copy of the reply bytes (or the same
 * error) to transcode itself. Other calls pass straight through.
 *
 * Who asks does not enter the key: the wrapped call sends Cuebot nothing
 * of the caller (only the method, the bytes and the request id), so its
 * answer cannot depend on who the caller is. Each request has passed its
 * own authentication, READ_ONLY and ACCESS_POLICY before it calls, so a
 * follower only ever gets an answer it was allowed to ask for. Were the
 * call ever to send something of the caller to Cuebot, that would have to
 * join the key.
 *
 * Read-your-writes: what a read could see is decided by the mutations that
 * completed before it started, so a read joins a call only when no
 * mutation has completed, anywhere in the pool, since that call started.
 * The hooks keep that count in memory every process of the pool shares,
 * and this upstream moves it on after every call of a method that is not a
 * read, whatever its outcome (a failed call may still have changed the
 * farm).
 *
 * Bounds: the calls in flight and the followers per call are capped; a
 * reply is copied for the followers only when some joined, once, into one
 * heap block that the last of them frees, and only while the process holds
 * less than max_held bytes of such copies: past that the followers make
 * their own calls. A follower waits no longer than its own timeout_ms; a
 * leader wakes every follower when its call ends, whatever the outcome. */
#ifndef CUEGW_SHARED_READS_H
#define CUEGW_SHARED_READS_H

#include <stddef.h>
#include <stdint.h>

#include "upstream/upstream.h"

struct shared_reads_hooks {
    void *ctx;
    /* 1 when a call of method_path ("/pkg.Svc/Method") changes nothing:
     * its answer depends only on its bytes and the farm. */
    int (*is_read)(void *ctx, const char *method_path);
    /* The pool's count of completed mutating calls into *count, read with
     * acquire ordering; -1 when there is no count every process shares,
     * and then nothing is shared. */
    int (*mutations)(void *ctx, uint64_t *count);
    /* A mutating call has completed (count it, with release ordering). */
    void (*mutated)(void *ctx);
    /* A read was answered by another's call (may be NULL). */
    void (*joined)(void *ctx);
    /* Followers waiting changed by delta, +1 or -1 (may be NULL; called
     * with the decorator's lock held, so it must not call back). */
    void (*waiting)(void *ctx, int delta);
};

struct shared_reads_limits {
    size_t max_request;     /* larger request bytes are never shared */
    size_t max_held;        /* reply bytes held for followers at once */
    unsigned max_calls;     /* shared calls in flight at once */
    unsigned max_waiters;   /* followers of one call */
};

/* Defaults for a gateway process: requests of reads are small (ids and
 * filters); the held copies stay far below the arenas' own caps. */
#define SHARED_READS_MAX_REQUEST (64u << 10)
#define SHARED_READS_MAX_HELD ((size_t)64 << 20)
#define SHARED_READS_MAX_CALLS 256u
#define SHARED_READS_MAX_WAITERS 1024u

struct shared_reads;

/* Wraps `inner` (copied; it must outlive the result). hooks and limits are
 * copied. NULL when memory runs out. */
struct shared_reads *shared_reads_new(const struct upstream *inner,
                                      const struct shared_reads_hooks *hooks,
                                      const struct shared_reads_limits *limits);

/* The upstream to call through; valid until shared_reads_free. */
struct upstream shared_reads_upstream(struct shared_reads *sr);

/* Calls answered by another's so far, and followers waiting now: for
 * tests, which wait on these instead of sleeping. */
uint64_t shared_reads_joins(struct shared_reads *sr);
unsigned shared_reads_waiting(struct shared_reads *sr);

/* When no call is in flight. NULL does nothing. */
void shared_reads_free(struct shared_reads *sr);

#endif
