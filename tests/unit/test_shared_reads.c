/* Identical reads sharing one call (upstream/shared_reads.c), in process:
 * a stand-in upstream holds every read until the test releases it, and
 * threads call through the shared upstream at once. Every wait is on an
 * event the code under test causes (a call entering the stand-in, a
 * follower waiting), bounded so that a broken build fails instead of
 * hanging. */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http/gateway.h"
#include "upstream/shared_reads.h"
#include "unit.h"

#define READ "/t.Svc/GetThing"
#define OTHER_READ "/t.Svc/FindThing"
#define WRITE "/t.Svc/Pause"

/* ---- the stand-in upstream -------------------------------------------- */

struct stub {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int calls;                  /* reads and writes that reached it */
    int held;                   /* reads inside it now */
    int released;               /* 1: reads go through */
    int fail;                   /* 1: reads answer UNAVAILABLE */
    const char *reply;
};

static struct stub S = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static void stub_reset(const char *reply)
{
    pthread_mutex_lock(&S.mu);
    S.calls = S.held = S.released = S.fail = 0;
    S.reply = reply;
    pthread_mutex_unlock(&S.mu);
}

static int is_read(const char *m)
{
    return !strcmp(m, READ) || !strcmp(m, OTHER_READ);
}

static int stub_call(void *ctx, const char *method, const uint8_t *req, size_t req_len,
                     int64_t timeout_ms, const char *rid, struct arena *a, uint8_t **resp,
                     size_t *resp_len, struct cg_status *st)
{
    (void)ctx, (void)req, (void)req_len, (void)timeout_ms, (void)rid;
    pthread_mutex_lock(&S.mu);
    S.calls++;
    int fail = 0;
    if (is_read(method)) {
        S.held++;
        pthread_cond_broadcast(&S.cv);
        while (!S.released)
            pthread_cond_wait(&S.cv, &S.mu);
        S.held--;
        fail = S.fail;
    }
    const char *reply = S.reply;
    pthread_mutex_unlock(&S.mu);
    if (fail)
        return cg_fail(st, CG_UNAVAILABLE, "boom");
    size_t n = strlen(reply);
    uint8_t *p = arena_alloc(a, n ? n : 1);
    if (!p)
        return cg_fail(st, CG_INTERNAL, "no memory");
    memcpy(p, reply, n);
    *resp = p;
    *resp_len = n;
    return 0;
}

static int stub_usable(void *ctx, int64_t ms)
{
    (void)ctx, (void)ms;
    return 1;
}

static const char *stub_name(void *ctx)
{
    (void)ctx;
    return "READY";
}

static const struct upstream_ops stub_ops = {
    .call = stub_call, .wait_usable = stub_usable, .state_name = stub_name,
    .current_endpoint = stub_name,
};

/* Waits until the stand-in holds n reads (an event it signals). */
static int wait_held(int n)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    pthread_mutex_lock(&S.mu);
    int r = 0;
    while (S.held < n && r == 0)
        r = pthread_cond_timedwait(&S.cv, &S.mu, &until);
    int ok = S.held >= n;
    pthread_mutex_unlock(&S.mu);
    return ok;
}

static void release(int fail)
{
    pthread_mutex_lock(&S.mu);
    S.released = 1;
    S.fail = fail;
    pthread_cond_broadcast(&S.cv);
    pthread_mutex_unlock(&S.mu);
}

static int stub_calls(void)
{
    pthread_mutex_lock(&S.mu);
    int n = S.calls;
    pthread_mutex_unlock(&S.mu);
    return n;
}

/* ---- hooks: the pool's mutation count, here one process's --------------- */

static uint64_t mutations, joined_count;
static int no_pool_count;

static int h_is_read(void *ctx, const char *m)
{
    (void)ctx;
    return is_read(m);
}

static int h_mutations(void *ctx, uint64_t *n)
{
    (void)ctx;
    if (no_pool_count)
        return -1;
    *n = __atomic_load_n(&mutations, __ATOMIC_ACQUIRE);
    return 0;
}

static void h_mutated(void *ctx)
{
    (void)ctx;
    __atomic_fetch_add(&mutations, 1, __ATOMIC_ACQ_REL);
}

static void h_joined(void *ctx)
{
    (void)ctx;
    __atomic_fetch_add(&joined_count, 1, __ATOMIC_RELAXED);
}

static int64_t waiting_gauge;

static void h_waiting(void *ctx, int delta)
{
    (void)ctx;
    __atomic_fetch_add(&waiting_gauge, delta, __ATOMIC_RELAXED);
}

static const struct shared_reads_hooks hooks = {
    .is_read = h_is_read, .mutations = h_mutations, .mutated = h_mutated, .joined = h_joined,
    .waiting = h_waiting,
};

static struct shared_reads *make(size_t max_held)
{
    static const struct upstream inner = {.ops = &stub_ops, .ctx = NULL};
    struct shared_reads_limits lim = {.max_request = 1024, .max_held = max_held,
                                      .max_calls = 16, .max_waiters = 64};
    __atomic_store_n(&joined_count, 0, __ATOMIC_RELAXED);
    no_pool_count = 0;
    return shared_reads_new(&inner, &hooks, &lim);
}

/* ---- callers ------------------------------------------------------------ */

struct caller {
    pthread_t tid;
    struct upstream up;
    const char *method;
    const char *req;
    int64_t timeout_ms;
    size_t arena_limit;
    int rc;
    struct cg_status st;
    char got[64];
    size_t got_len;
};

static void *caller_run(void *arg)
{
    struct caller *c = arg;
    struct arena a;
    arena_init(&a, c->arena_limit);
    uint8_t *resp = NULL;
    size_t len = 0;
    cg_status_clear(&c->st);
    c->rc = upstream_call(&c->up, c->method, (const uint8_t *)c->req, strlen(c->req),
                          c->timeout_ms ? c->timeout_ms : 10000, "rid", &a, &resp, &len, &c->st);
    if (c->rc == 0 && len < sizeof c->got) {
        memcpy(c->got, resp, len);
        c->got_len = len;
    }
    arena_free(&a);
    return NULL;
}

/* timeout_ms 0: 10 s; arena_limit 0: none. */
static void start_with(struct caller *c, struct shared_reads *sr, const char *method,
                       const char *req, int64_t timeout_ms, size_t arena_limit)
{
    memset(c, 0, sizeof *c);
    c->up = shared_reads_upstream(sr);
    c->method = method;
    c->req = req;
    c->timeout_ms = timeout_ms;
    c->arena_limit = arena_limit;
    pthread_create(&c->tid, NULL, caller_run, c);
}

static void start(struct caller *c, struct shared_reads *sr, const char *method,
                  const char *req)
{
    start_with(c, sr, method, req, 0, 0);
}

/* Waits until n followers wait on a call: they are counted as they join. */
static int wait_waiters(struct shared_reads *sr, unsigned n)
{
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        if (shared_reads_waiting(sr) >= n)
            return 1;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - t0.tv_sec > 10)
            return 0;
        sched_yield();
    }
}

/* A stand-in answering `reply`, and a leader's read of "job-1" held in it. */
static struct shared_reads *held_leader(const char *reply, size_t max_held,
                                        struct caller *leader)
{
    stub_reset(reply);
    struct shared_reads *sr = make(max_held);
    start(leader, sr, READ, "job-1");
    CHECK(wait_held(1));
    return sr;
}

/* Releases the stand-in and waits for both callers. */
static void release_both(struct caller *a, struct caller *b)
{
    release(0);
    pthread_join(a->tid, NULL);
    pthread_join(b->tid, NULL);
}

/* ---- the cases ----------------------------------------------------------- */

static void test_identical_reads_share(void)
{
    enum { N = 8 };
    struct caller c[N];
    struct shared_reads *sr = held_leader("reply-bytes", 1 << 20, &c[0]);
    for (int i = 1; i < N; i++)
        start(&c[i], sr, READ, "job-1");
    CHECK(wait_waiters(sr, N - 1));
    CHECK(waiting_gauge == N - 1);
    release(0);
    for (int i = 0; i < N; i++) {
        pthread_join(c[i].tid, NULL);
        CHECK(c[i].rc == 0);
        CHECK_TEXT(c[i].got, c[i].got_len, "reply-bytes");
    }
    CHECK(stub_calls() == 1);
    CHECK(shared_reads_joins(sr) == N - 1);
    CHECK(joined_count == N - 1);
    CHECK(shared_reads_waiting(sr) == 0);
    shared_reads_free(sr);
}

static void test_different_reads_do_not(void)
{
    stub_reset("r");
    struct shared_reads *sr = make(1 << 20);
    struct caller c[3];
    start(&c[0], sr, READ, "job-1");
    start(&c[1], sr, READ, "job-2");          /* other bytes */
    start(&c[2], sr, OTHER_READ, "job-1");    /* another method, same bytes */
    CHECK(wait_held(3));                      /* three calls reached the stand-in */
    release(0);
    for (int i = 0; i < 3; i++) {
        pthread_join(c[i].tid, NULL);
        CHECK(c[i].rc == 0);
    }
    CHECK(stub_calls() == 3);
    CHECK(shared_reads_joins(sr) == 0);
    shared_reads_free(sr);
}

/* A mutation that completes while a read is in flight: a read that starts
 * after it makes its own call; one after that joins the new call. */
static void test_mutation_between(void)
{
    struct caller before, write, after, later;
    struct shared_reads *sr = held_leader("state", 1 << 20, &before);
    uint64_t m0 = mutations;
    start(&write, sr, WRITE, "job-1");        /* writes are not held */
    pthread_join(write.tid, NULL);
    CHECK(write.rc == 0);
    CHECK(mutations == m0 + 1);
    start(&after, sr, READ, "job-1");
    CHECK(wait_held(2));                      /* its own call, not a join */
    start(&later, sr, READ, "job-1");
    CHECK(wait_waiters(sr, 1));               /* joins the call that began after */
    release(0);
    pthread_join(before.tid, NULL);
    pthread_join(after.tid, NULL);
    pthread_join(later.tid, NULL);
    CHECK(before.rc == 0 && after.rc == 0 && later.rc == 0);
    CHECK(stub_calls() == 3);                 /* two reads and the write */
    CHECK(shared_reads_joins(sr) == 1);
    shared_reads_free(sr);
}

static void test_leader_error_wakes_all(void)
{
    enum { N = 5 };
    struct caller c[N];
    struct shared_reads *sr = held_leader("x", 1 << 20, &c[0]);
    for (int i = 1; i < N; i++)
        start(&c[i], sr, READ, "job-1");
    CHECK(wait_waiters(sr, N - 1));
    release(1);
    for (int i = 0; i < N; i++) {
        pthread_join(c[i].tid, NULL);
        CHECK(c[i].rc == -1);
        CHECK(c[i].st.code == CG_UNAVAILABLE);
        CHECK_STR(c[i].st.msg, "boom");
    }
    CHECK(stub_calls() == 1);
    shared_reads_free(sr);
}

/* A follower's own deadline ends its wait while the leader still waits. */
static void test_follower_deadline(void)
{
    struct caller leader, follower;
    struct shared_reads *sr = held_leader("slow", 1 << 20, &leader);
    start_with(&follower, sr, READ, "job-1", 50, 0);
    pthread_join(follower.tid, NULL);         /* returns with the leader held */
    CHECK(follower.rc == -1);
    CHECK(follower.st.code == CG_DEADLINE_EXCEEDED);
    CHECK(shared_reads_waiting(sr) == 0 && waiting_gauge == 0);
    release(0);
    pthread_join(leader.tid, NULL);
    CHECK(leader.rc == 0);
    CHECK_TEXT(leader.got, leader.got_len, "slow");
    CHECK(stub_calls() == 1);
    CHECK(shared_reads_joins(sr) == 0);
    shared_reads_free(sr);
}

/* A reply larger than the bytes the process may hold for followers: each
 * follower makes its own call instead. */
static void test_reply_over_budget(void)
{
    struct caller leader, follower;
    struct shared_reads *sr = held_leader("a-reply-of-22-bytes...", 8, &leader);
    start(&follower, sr, READ, "job-1");
    CHECK(wait_waiters(sr, 1));
    release_both(&leader, &follower);
    CHECK(leader.rc == 0 && follower.rc == 0);
    CHECK_TEXT(follower.got, follower.got_len, "a-reply-of-22-bytes...");
    CHECK(stub_calls() == 2);
    CHECK(shared_reads_joins(sr) == 0);
    shared_reads_free(sr);
}

/* The follower's own arena cap still applies to its copy. */
static void test_follower_arena_cap(void)
{
    struct caller leader, follower;
    struct shared_reads *sr =
        held_leader("0123456789abcdef0123456789abcdef0123456789", 1 << 20, &leader);
    start_with(&follower, sr, READ, "job-1", 0, 16);
    CHECK(wait_waiters(sr, 1));
    release_both(&leader, &follower);
    CHECK(leader.rc == 0);
    CHECK(follower.rc == -1 && follower.st.code == CG_INTERNAL);
    CHECK(stub_calls() == 1);
    shared_reads_free(sr);
}

/* Without a count every process shares, nothing is shared. */
static void test_no_pool_count(void)
{
    stub_reset("r");
    struct shared_reads *sr = make(1 << 20);
    no_pool_count = 1;
    struct caller c[2];
    start(&c[0], sr, READ, "job-1");
    start(&c[1], sr, READ, "job-1");
    CHECK(wait_held(2));
    release(0);
    pthread_join(c[0].tid, NULL);
    pthread_join(c[1].tid, NULL);
    CHECK(stub_calls() == 2);
    shared_reads_free(sr);
}

static void test_read_methods(void)
{
    CHECK(gateway_method_is_read("/job.JobInterface/GetJobs"));
    CHECK(gateway_method_is_read("/show.ShowInterface/FindShow"));
    CHECK(gateway_method_is_read("/job.JobInterface/IsJobPending"));
    CHECK(gateway_method_is_read("/host.HostInterface/HasComment"));
    CHECK(!gateway_method_is_read("/job.JobInterface/Pause"));
    CHECK(!gateway_method_is_read("/job.JobInterface/SetMaxCores"));
}

int main(void)
{
    test_identical_reads_share();
    test_different_reads_do_not();
    test_mutation_between();
    test_leader_error_wakes_all();
    test_follower_deadline();
    test_reply_over_budget();
    test_follower_arena_cap();
    test_no_pool_count();
    test_read_methods();
    CHECK(waiting_gauge == 0);
    return unit_report("shared_reads");
}
