#include "upstream/read_cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/siphash.h"

#define BUCKETS 256u

/* One kept answer, in one heap block: the struct, then the method (with
 * its NUL), the request bytes and the answer bytes. */
struct entry {
    struct entry *next;             /* in its bucket */
    struct entry *older, *newer;    /* in the order they were kept */
    uint64_t hash;
    uint64_t epoch;                 /* the mutation count before its call */
    int64_t expires_ms;
    size_t cost;                    /* what it counts against max_bytes */
    unsigned refs;                  /* the table's (while in it) and readers' */
    const char *method;
    const uint8_t *req;
    size_t req_len;
    const uint8_t *bytes;
    size_t len;
};

struct read_cache {
    struct upstream inner;
    struct read_cache_hooks h;
    struct read_cache_limits lim;
    pthread_mutex_t mu;
    struct entry *bucket[BUCKETS];
    struct entry *oldest, *newest;
    unsigned entries;
    size_t bytes;
    uint64_t hits;
};

static int64_t now_ms(const struct read_cache *rc)
{
    if (rc->h.now_ms)
        return rc->h.now_ms(rc->h.ctx);
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static uint64_t key_hash(const char *method, const uint8_t *req, size_t req_len)
{
    return siphash_process(method, strlen(method)) * 0x9E3779B97F4A7C15ull ^
           siphash_process(req, req_len);
}

static int same_key(const struct entry *e, uint64_t hash, const char *method,
                    const uint8_t *req, size_t req_len)
{
    return e->hash == hash && e->req_len == req_len && !strcmp(e->method, method) &&
           (req_len == 0 || !memcmp(e->req, req, req_len));
}

/* Under rc->mu. */
static struct entry *find(struct read_cache *rc, uint64_t hash, const char *method,
                          const uint8_t *req, size_t req_len)
{
    for (struct entry *e = rc->bucket[hash % BUCKETS]; e; e = e->next)
        if (same_key(e, hash, method, req, req_len))
            return e;
    return NULL;
}

/* Under rc->mu: drops one hold; the last frees the entry. */
static void put(struct entry *e)
{
    if (--e->refs == 0)
        free(e);
}

/* Under rc->mu: takes e out of the table (readers copying it keep it
 * alive) and gives its bytes back to the budget. */
static void unlink_entry(struct read_cache *rc, struct entry *e)
{
    struct entry **p = &rc->bucket[e->hash % BUCKETS];
    while (*p != e)
        p = &(*p)->next;
    *p = e->next;
    if (e->older)
        e->older->newer = e->newer;
    else
        rc->oldest = e->newer;
    if (e->newer)
        e->newer->older = e->older;
    else
        rc->newest = e->older;
    rc->entries--;
    rc->bytes -= e->cost;
    put(e);
}

/* Under rc->mu: whether e may answer a read made now, with the pool's
 * count at `epoch`. */
static int usable(const struct entry *e, uint64_t epoch, int64_t now)
{
    return e->epoch == epoch && now < e->expires_ms;
}

/* Under rc->mu: room for `cost` more bytes and one more entry. Entries
 * that can no longer answer go first, from the oldest, then live ones,
 * also from the oldest (kept first, so first to expire). */
static void make_room(struct read_cache *rc, size_t cost, uint64_t epoch, int64_t now)
{
    while (rc->oldest && !usable(rc->oldest, epoch, now))
        unlink_entry(rc, rc->oldest);
    while (rc->oldest && (rc->entries >= rc->lim.max_entries ||
                          cost > rc->lim.max_bytes - rc->bytes))
        unlink_entry(rc, rc->oldest);
}

/* A new entry holding the key and the answer; NULL when memory runs out. */
static struct entry *make_entry(uint64_t hash, uint64_t epoch, const char *method,
                                const uint8_t *req, size_t req_len, const uint8_t *bytes,
                                size_t len)
{
    size_t mlen = strlen(method) + 1;
    size_t cost = sizeof(struct entry) + mlen + req_len + len;
    struct entry *e = malloc(cost);
    if (!e)
        return NULL;
    memset(e, 0, sizeof *e);
    char *m = (char *)(e + 1);
    uint8_t *r = (uint8_t *)m + mlen, *b = r + req_len;
    memcpy(m, method, mlen);
    if (req_len)
        memcpy(r, req, req_len);
    if (len)
        memcpy(b, bytes, len);
    e->hash = hash;
    e->epoch = epoch;
    e->cost = cost;
    e->refs = 1;
    e->method = m;
    e->req = r;
    e->req_len = req_len;
    e->bytes = b;
    e->len = len;
    return e;
}

/* Keeps a fresh answer unless a mutation completed since its call started
 * (it could never answer then). An entry of the same key is replaced. */
static void keep(struct read_cache *rc, uint64_t hash, uint64_t epoch, const char *method,
                 const uint8_t *req, size_t req_len, const uint8_t *bytes, size_t len)
{
    if (len > rc->lim.max_bytes / 4)
        return;
    /* Built outside the lock: a large answer's copy must not stall the
     * other threads' lookups. */
    struct entry *e = make_entry(hash, epoch, method, req, req_len, bytes, len);
    if (!e)
        return;
    uint64_t current;
    int64_t now = now_ms(rc);
    e->expires_ms = now + rc->lim.ttl_ms;
    pthread_mutex_lock(&rc->mu);
    if (rc->h.mutations(rc->h.ctx, &current) != 0 || current != epoch ||
        e->cost > rc->lim.max_bytes) {
        pthread_mutex_unlock(&rc->mu);
        free(e);
        return;
    }
    struct entry *old = find(rc, hash, method, req, req_len);
    if (old)
        unlink_entry(rc, old);
    make_room(rc, e->cost, epoch, now);
    e->next = rc->bucket[hash % BUCKETS];
    rc->bucket[hash % BUCKETS] = e;
    e->older = rc->newest;
    if (rc->newest)
        rc->newest->newer = e;
    else
        rc->oldest = e;
    rc->newest = e;
    rc->entries++;
    rc->bytes += e->cost;
    pthread_mutex_unlock(&rc->mu);
}

static int rc_call(void *ctx, const char *method, const uint8_t *req, size_t req_len,
                   int64_t timeout_ms, const char *rid, struct arena *a, uint8_t **resp,
                   size_t *resp_len, struct cg_status *st)
{
    struct read_cache *rc = ctx;
    *resp = NULL;
    *resp_len = 0;
    if (!rc->h.is_read(rc->h.ctx, method)) {
        int rv = upstream_call(&rc->inner, method, req, req_len, timeout_ms, rid, a, resp,
                               resp_len, st);
        /* Counted before the client hears the outcome (see shared_reads.c). */
        if (rc->h.mutated)
            rc->h.mutated(rc->h.ctx);
        return rv;
    }
    uint64_t epoch;
    if (req_len > rc->lim.max_request || rc->h.mutations(rc->h.ctx, &epoch) != 0)
        return upstream_call(&rc->inner, method, req, req_len, timeout_ms, rid, a, resp,
                             resp_len, st);

    uint64_t hash = key_hash(method, req, req_len);
    int64_t now = now_ms(rc);
    pthread_mutex_lock(&rc->mu);
    struct entry *e = find(rc, hash, method, req, req_len);
    if (e && !usable(e, epoch, now)) {
        /* Dead for good when expired or older than the count; one newer
         * than this read's count (kept after a mutation this read started
         * before) only cannot answer it. */
        if (e->epoch < epoch || now >= e->expires_ms)
            unlink_entry(rc, e);
        e = NULL;
    }
    if (e) {
        e->refs++;
        pthread_mutex_unlock(&rc->mu);
        /* Copied outside the lock; the reference keeps e alive. */
        int rv = upstream_reply_copy(e->bytes, e->len, a, resp, resp_len, st);
        pthread_mutex_lock(&rc->mu);
        if (rv == 0)
            rc->hits++;
        put(e);
        pthread_mutex_unlock(&rc->mu);
        if (rv == 0 && rc->h.hit)
            rc->h.hit(rc->h.ctx);
        return rv;
    }
    pthread_mutex_unlock(&rc->mu);

    /* `epoch` was read before this call started, so it is at most the
     * count when the answer was made: an entry under it is never newer
     * than it claims. */
    int rv = upstream_call(&rc->inner, method, req, req_len, timeout_ms, rid, a, resp, resp_len,
                           st);
    if (rv == 0)
        keep(rc, hash, epoch, method, req, req_len, *resp, *resp_len);
    return rv;
}

static int rc_wait_usable(void *ctx, int64_t timeout_ms)
{
    struct read_cache *rc = ctx;
    return upstream_wait_usable(&rc->inner, timeout_ms);
}

static const char *rc_state_name(void *ctx)
{
    struct read_cache *rc = ctx;
    return upstream_state_name(&rc->inner);
}

static const char *rc_current_endpoint(void *ctx)
{
    struct read_cache *rc = ctx;
    return upstream_current_endpoint(&rc->inner);
}

static const struct upstream_ops cache_ops = {
    .call = rc_call, .wait_usable = rc_wait_usable, .state_name = rc_state_name,
    .current_endpoint = rc_current_endpoint,
};

struct read_cache *read_cache_new(const struct upstream *inner,
                                  const struct read_cache_hooks *hooks,
                                  const struct read_cache_limits *limits)
{
    if (limits->ttl_ms < 1)
        return NULL;
    struct read_cache *rc = calloc(1, sizeof *rc);
    if (!rc)
        return NULL;
    if (pthread_mutex_init(&rc->mu, NULL)) {
        free(rc);
        return NULL;
    }
    rc->inner = *inner;
    rc->h = *hooks;
    rc->lim = *limits;
    if (rc->lim.max_entries == 0)
        rc->lim.max_entries = 1;
    return rc;
}

struct upstream read_cache_upstream(struct read_cache *rc)
{
    struct upstream u = {.ops = &cache_ops, .ctx = rc};
    return u;
}

struct read_cache_usage read_cache_usage(struct read_cache *rc)
{
    pthread_mutex_lock(&rc->mu);
    struct read_cache_usage u = {.entries = rc->entries, .bytes = rc->bytes, .hits = rc->hits};
    pthread_mutex_unlock(&rc->mu);
    return u;
}

void read_cache_free(struct read_cache *rc)
{
    if (!rc)
        return;
    while (rc->oldest)
        unlink_entry(rc, rc->oldest);
    pthread_mutex_destroy(&rc->mu);
    free(rc);
}
