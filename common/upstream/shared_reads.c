#include "upstream/shared_reads.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/siphash.h"

#define BUCKETS 64u

/* One read in flight, led by the thread making the call. */
struct shared_call {
    struct shared_call *next;    /* in its bucket, while joinable */
    uint64_t hash;
    uint64_t epoch;              /* the mutation count when the call started */
    /* The leader's own, valid while the call is in the table: followers
     * compare against them only then. */
    const char *method;
    const uint8_t *req;
    size_t req_len;
    unsigned waiters;            /* followers that joined */
    unsigned refs;               /* the leader and followers still holding it */
    pthread_cond_t cond;         /* signalled once, when done is set */
    int done, rc;
    struct cg_status st;         /* rc != 0 */
    int has_bytes;               /* rc == 0: bytes hold the reply */
    uint8_t *bytes;
    size_t len;
};

struct shared_reads {
    struct upstream inner;
    struct shared_reads_hooks h;
    struct shared_reads_limits lim;
    pthread_mutex_t mu;
    struct shared_call *bucket[BUCKETS];
    unsigned calls;              /* in the table */
    size_t held;                 /* bytes of reply copies alive */
    uint64_t joins;
    unsigned waiting;            /* followers not yet woken */
};

static int inner_call(struct shared_reads *sr, const char *method, const uint8_t *req,
                      size_t req_len, int64_t timeout_ms, const char *rid, struct arena *a,
                      uint8_t **resp, size_t *resp_len, struct cg_status *st)
{
    return upstream_call(&sr->inner, method, req, req_len, timeout_ms, rid, a, resp, resp_len, st);
}

static struct timespec deadline_after(int64_t ms)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    if (ms < 1)
        ms = 1;
    if (ms > INT64_C(365) * 24 * 3600 * 1000)     /* "forever", far from overflowing */
        ms = INT64_C(365) * 24 * 3600 * 1000;
    t.tv_sec += (time_t)(ms / 1000);
    t.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}

static int64_t ms_left(const struct timespec *until)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)(until->tv_sec - now.tv_sec) * 1000 + (until->tv_nsec - now.tv_nsec) / 1000000;
}

static uint64_t key_hash(const char *method, const uint8_t *req, size_t req_len)
{
    return siphash_process(method, strlen(method)) * 0x9E3779B97F4A7C15ull ^
           siphash_process(req, req_len);
}

/* Under sr->mu. */
static struct shared_call *find(struct shared_reads *sr, uint64_t hash, uint64_t epoch,
                                const char *method, const uint8_t *req, size_t req_len)
{
    for (struct shared_call *c = sr->bucket[hash % BUCKETS]; c; c = c->next)
        if (c->hash == hash && c->epoch == epoch && c->req_len == req_len &&
            c->waiters < sr->lim.max_waiters && !strcmp(c->method, method) &&
            (req_len == 0 || !memcmp(c->req, req, req_len)))
            return c;
    return NULL;
}

static void unlink_call(struct shared_reads *sr, struct shared_call *c)
{
    struct shared_call **p = &sr->bucket[c->hash % BUCKETS];
    while (*p != c)
        p = &(*p)->next;
    *p = c->next;
    sr->calls--;
}

/* Under sr->mu: drops one hold; the last frees the call and its copy. */
static void put_call(struct shared_reads *sr, struct shared_call *c)
{
    if (--c->refs)
        return;
    if (c->has_bytes)
        sr->held -= c->len;
    free(c->bytes);
    pthread_cond_destroy(&c->cond);
    free(c);
}

static struct shared_call *new_call(void)
{
    struct shared_call *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    pthread_condattr_t attr;
    int ok = pthread_condattr_init(&attr) == 0;
    /* The wait is against a deadline that the wall clock moving must not
     * stretch or cut. */
    if (ok && (pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) ||
               pthread_cond_init(&c->cond, &attr)))
        ok = 0;
    pthread_condattr_destroy(&attr);
    if (!ok) {
        free(c);
        return NULL;
    }
    return c;
}

/* The leader: makes the call, then hands the outcome to its followers.
 * Every path ends in done being set and broadcast, so no follower waits
 * past its leader. */
static int lead(struct shared_reads *sr, struct shared_call *c, int64_t timeout_ms,
                const char *rid, struct arena *a, uint8_t **resp, size_t *resp_len,
                struct cg_status *st)
{
    int rc = inner_call(sr, c->method, c->req, c->req_len, timeout_ms, rid, a, resp, resp_len, st);
    pthread_mutex_lock(&sr->mu);
    unlink_call(sr, c);                     /* no one joins a finished call */
    int copy = rc == 0 && c->waiters > 0 && *resp_len <= sr->lim.max_held - sr->held;
    if (copy)
        sr->held += *resp_len;              /* reserved before the copy is made */
    pthread_mutex_unlock(&sr->mu);

    /* Copied outside the lock: a large reply must not stall every other
     * read of the process. Followers only wait on done meanwhile. */
    uint8_t *bytes = NULL;
    if (copy && !(bytes = malloc(*resp_len ? *resp_len : 1))) {
        pthread_mutex_lock(&sr->mu);
        sr->held -= *resp_len;
        pthread_mutex_unlock(&sr->mu);
        copy = 0;
    }
    if (copy && *resp_len)
        memcpy(bytes, *resp, *resp_len);

    pthread_mutex_lock(&sr->mu);
    c->rc = rc;
    if (rc)
        c->st = *st;
    c->has_bytes = copy;
    c->bytes = bytes;
    c->len = copy ? *resp_len : 0;
    c->done = 1;
    pthread_cond_broadcast(&c->cond);
    put_call(sr, c);
    pthread_mutex_unlock(&sr->mu);
    return rc;
}

/* A follower, holding a reference to c taken under sr->mu (held on entry,
 * released on return). */
static int follow(struct shared_reads *sr, struct shared_call *c, const char *method,
                  const uint8_t *req, size_t req_len, const struct timespec *until,
                  const char *rid, struct arena *a, uint8_t **resp, size_t *resp_len,
                  struct cg_status *st)
{
    while (!c->done)
        if (pthread_cond_timedwait(&c->cond, &sr->mu, until) == ETIMEDOUT)
            break;
    sr->waiting--;
    if (sr->h.waiting)
        sr->h.waiting(sr->h.ctx, -1);
    if (!c->done) {
        put_call(sr, c);
        pthread_mutex_unlock(&sr->mu);
        /* The same words gRPC uses when a call runs out of time itself. */
        return cg_fail(st, CG_DEADLINE_EXCEEDED, "Deadline Exceeded");
    }
    int answered = c->rc != 0 || c->has_bytes;
    if (answered)
        sr->joins++;
    pthread_mutex_unlock(&sr->mu);

    /* Done: the outcome no longer changes, and the reference keeps it. */
    int rc = 0;
    if (c->rc) {
        *st = c->st;
        rc = -1;
    } else if (c->has_bytes) {
        rc = upstream_reply_copy(c->bytes, c->len, a, resp, resp_len, st);
    }
    if (answered && sr->h.joined)
        sr->h.joined(sr->h.ctx);
    if (!answered) {
        /* The reply was too large to hold a copy of: ask for it ourselves,
         * in the time left. */
        int64_t left = ms_left(until);
        if (left <= 0)
            rc = cg_fail(st, CG_DEADLINE_EXCEEDED, "Deadline Exceeded");
        else
            rc = inner_call(sr, method, req, req_len, left, rid, a, resp, resp_len, st);
    }
    pthread_mutex_lock(&sr->mu);
    put_call(sr, c);
    pthread_mutex_unlock(&sr->mu);
    return rc;
}

static int sr_call(void *ctx, const char *method, const uint8_t *req, size_t req_len,
                   int64_t timeout_ms, const char *rid, struct arena *a, uint8_t **resp,
                   size_t *resp_len, struct cg_status *st)
{
    struct shared_reads *sr = ctx;
    *resp = NULL;
    *resp_len = 0;
    if (!sr->h.is_read(sr->h.ctx, method)) {
        int rc = inner_call(sr, method, req, req_len, timeout_ms, rid, a, resp, resp_len, st);
        /* Counted once the outcome is known and before the client hears
         * it: a read that starts after the client saw the answer sees the
         * count moved, and joins no call that started before. */
        sr->h.mutated(sr->h.ctx);
        return rc;
    }
    uint64_t epoch;
    if (req_len > sr->lim.max_request || sr->h.mutations(sr->h.ctx, &epoch))
        return inner_call(sr, method, req, req_len, timeout_ms, rid, a, resp, resp_len, st);

    struct timespec until = deadline_after(timeout_ms);
    uint64_t hash = key_hash(method, req, req_len);
    pthread_mutex_lock(&sr->mu);
    struct shared_call *c = find(sr, hash, epoch, method, req, req_len);
    if (c) {
        c->waiters++;
        c->refs++;
        sr->waiting++;
        if (sr->h.waiting)
            sr->h.waiting(sr->h.ctx, +1);
        return follow(sr, c, method, req, req_len, &until, rid, a, resp, resp_len, st);
    }
    if (sr->calls >= sr->lim.max_calls || !(c = new_call())) {
        pthread_mutex_unlock(&sr->mu);
        return inner_call(sr, method, req, req_len, timeout_ms, rid, a, resp, resp_len, st);
    }
    c->hash = hash;
    c->epoch = epoch;
    c->method = method;
    c->req = req;
    c->req_len = req_len;
    c->refs = 1;
    c->next = sr->bucket[hash % BUCKETS];
    sr->bucket[hash % BUCKETS] = c;
    sr->calls++;
    pthread_mutex_unlock(&sr->mu);
    return lead(sr, c, timeout_ms, rid, a, resp, resp_len, st);
}

static int sr_wait_usable(void *ctx, int64_t timeout_ms)
{
    struct shared_reads *sr = ctx;
    return upstream_wait_usable(&sr->inner, timeout_ms);
}

static const char *sr_state_name(void *ctx)
{
    struct shared_reads *sr = ctx;
    return upstream_state_name(&sr->inner);
}

static const char *sr_current_endpoint(void *ctx)
{
    struct shared_reads *sr = ctx;
    return upstream_current_endpoint(&sr->inner);
}

static const struct upstream_ops shared_ops = {
    .call = sr_call, .wait_usable = sr_wait_usable, .state_name = sr_state_name,
    .current_endpoint = sr_current_endpoint,
};

struct shared_reads *shared_reads_new(const struct upstream *inner,
                                      const struct shared_reads_hooks *hooks,
                                      const struct shared_reads_limits *limits)
{
    struct shared_reads *sr = calloc(1, sizeof *sr);
    if (!sr)
        return NULL;
    if (pthread_mutex_init(&sr->mu, NULL)) {
        free(sr);
        return NULL;
    }
    sr->inner = *inner;
    sr->h = *hooks;
    sr->lim = *limits;
    if (sr->lim.max_waiters == 0)
        sr->lim.max_waiters = 1;
    return sr;
}

struct upstream shared_reads_upstream(struct shared_reads *sr)
{
    struct upstream u = {.ops = &shared_ops, .ctx = sr};
    return u;
}

uint64_t shared_reads_joins(struct shared_reads *sr)
{
    pthread_mutex_lock(&sr->mu);
    uint64_t n = sr->joins;
    pthread_mutex_unlock(&sr->mu);
    return n;
}

unsigned shared_reads_waiting(struct shared_reads *sr)
{
    pthread_mutex_lock(&sr->mu);
    unsigned n = sr->waiting;
    pthread_mutex_unlock(&sr->mu);
    return n;
}

void shared_reads_free(struct shared_reads *sr)
{
    if (!sr)
        return;
    pthread_mutex_destroy(&sr->mu);
    free(sr);
}
