/* The short cache of reads (upstream/read_cache.c), in process: a stand-in
 * upstream answers every call with a text naming the request and how many
 * calls it has had, so a kept answer and a fresh one differ; time comes
 * from a clock the test moves, never from sleeping. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "upstream/read_cache.h"
#include "unit.h"

#define READ "/t.Svc/GetThing"
#define OTHER_READ "/t.Svc/FindThing"
#define WRITE "/t.Svc/Pause"
#define TTL 500

/* ---- the stand-in upstream and the hooks ---------------------------------- */

static int calls;                /* calls that reached the stand-in */
static int fail_next;            /* 1: the next call answers UNAVAILABLE */
static int mutate_during_read;   /* 1: a read's call sees another process's mutation */
static size_t pad;               /* answer bytes added after the text */
static uint64_t mutations;       /* the pool's count */
static int no_pool_count;
static int64_t clock_ms = 1000;

static int is_read(const char *m)
{
    return !strcmp(m, READ) || !strcmp(m, OTHER_READ);
}

static int stub_call(void *ctx, const char *method, const uint8_t *req, size_t req_len,
                     int64_t timeout_ms, const char *rid, struct arena *a, uint8_t **resp,
                     size_t *resp_len, struct cg_status *st)
{
    (void)ctx, (void)timeout_ms, (void)rid;
    int n = __atomic_add_fetch(&calls, 1, __ATOMIC_RELAXED);
    if (fail_next) {
        fail_next = 0;
        return cg_fail(st, CG_UNAVAILABLE, "boom");
    }
    if (is_read(method) && mutate_during_read)
        __atomic_fetch_add(&mutations, 1, __ATOMIC_ACQ_REL);
    char text[128];
    int k = snprintf(text, sizeof text, "%s %.*s #%d", method, (int)req_len, (const char *)req, n);
    uint8_t *p = arena_alloc(a, (size_t)k + pad);
    if (!p)
        return cg_fail(st, CG_INTERNAL, "no memory");
    memcpy(p, text, (size_t)k);
    memset(p + k, 'x', pad);
    *resp = p;
    *resp_len = (size_t)k + pad;
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

static uint64_t hit_hook;

static void h_hit(void *ctx)
{
    (void)ctx;
    __atomic_fetch_add(&hit_hook, 1, __ATOMIC_RELAXED);
}

static int64_t h_now(void *ctx)
{
    (void)ctx;
    return __atomic_load_n(&clock_ms, __ATOMIC_RELAXED);
}

static const struct read_cache_hooks hooks = {
    .is_read = h_is_read, .mutations = h_mutations, .mutated = h_mutated, .hit = h_hit,
    .now_ms = h_now,
};

static struct read_cache *make_with(size_t max_bytes, unsigned max_entries)
{
    static const struct upstream inner = {.ops = &stub_ops, .ctx = NULL};
    struct read_cache_limits lim = {.ttl_ms = TTL, .max_request = 1024,
                                    .max_bytes = max_bytes, .max_entries = max_entries};
    calls = fail_next = mutate_during_read = no_pool_count = 0;
    pad = 0;
    hit_hook = 0;
    return read_cache_new(&inner, &hooks, &lim);
}

static struct read_cache *make(void)
{
    return make_with(1 << 20, 64);
}

/* One call through the cache; the answer's text into got (NUL-terminated,
 * the padding left out). Returns the call's result. */
static int call(struct read_cache *rc, const char *method, const char *req, char *got,
                size_t got_size)
{
    struct upstream up = read_cache_upstream(rc);
    struct arena a;
    arena_init(&a, 0);
    struct cg_status st;
    cg_status_clear(&st);
    uint8_t *resp = NULL;
    size_t len = 0;
    int r = upstream_call(&up, method, (const uint8_t *)req, strlen(req), 1000, "rid", &a, &resp,
                          &len, &st);
    got[0] = '\0';
    if (r == 0) {
        /* The answer is not NUL-terminated; its padding starts at the first 'x'. */
        const uint8_t *x = memchr(resp, 'x', len);
        size_t n = x ? (size_t)(x - resp) : len;
        if (n >= got_size)
            n = got_size - 1;
        memcpy(got, resp, n);
        got[n] = '\0';
    }
    arena_free(&a);
    return r;
}

/* ---- tests ------------------------------------------------------------------ */

static void test_hit_within_window(void)
{
    struct read_cache *rc = make();
    char a[128], b[128];
    CHECK(call(rc, READ, "job-1", a, sizeof a) == 0);
    clock_ms += TTL - 1;
    CHECK(call(rc, READ, "job-1", b, sizeof b) == 0);
    CHECK(calls == 1);
    CHECK_STR(b, a);
    CHECK(read_cache_usage(rc).hits == 1 && hit_hook == 1);
    read_cache_free(rc);
}

static void test_miss_after_expiry(void)
{
    struct read_cache *rc = make();
    char a[128], b[128];
    CHECK(call(rc, READ, "job-1", a, sizeof a) == 0);
    clock_ms += TTL;
    CHECK(call(rc, READ, "job-1", b, sizeof b) == 0);
    CHECK(calls == 2);
    CHECK(strcmp(a, b) != 0);
    CHECK(read_cache_usage(rc).hits == 0);
    /* The fresh answer is kept in its turn, for a window of its own. */
    clock_ms += TTL - 1;
    CHECK(call(rc, READ, "job-1", a, sizeof a) == 0);
    CHECK(calls == 2 && !strcmp(a, b));
    CHECK(read_cache_usage(rc).entries == 1);
    read_cache_free(rc);
}

static void test_no_hit_after_mutation(void)
{
    struct read_cache *rc = make();
    char a[128], b[128];
    CHECK(call(rc, READ, "job-1", a, sizeof a) == 0);
    /* A Pause through this cache: counted once it completes. */
    uint64_t m0 = mutations;
    CHECK(call(rc, WRITE, "job-1", b, sizeof b) == 0);
    CHECK(mutations == m0 + 1);
    CHECK(call(rc, READ, "job-1", b, sizeof b) == 0);
    CHECK(calls == 3 && strcmp(a, b) != 0);
    /* A mutation another process of the pool completed moves the same count. */
    __atomic_fetch_add(&mutations, 1, __ATOMIC_ACQ_REL);
    CHECK(call(rc, READ, "job-1", a, sizeof a) == 0);
    CHECK(calls == 4 && strcmp(a, b) != 0);
    CHECK(read_cache_usage(rc).hits == 0);
    read_cache_free(rc);
}

/* A mutation that completes while a read's call is in flight: that read's
 * answer may be from before it, so it must answer no later read. */
static void test_mutation_during_call(void)
{
    struct read_cache *rc = make();
    char a[128], b[128];
    mutate_during_read = 1;
    CHECK(call(rc, READ, "job-1", a, sizeof a) == 0);
    mutate_during_read = 0;
    CHECK(call(rc, READ, "job-1", b, sizeof b) == 0);
    CHECK(calls == 2 && strcmp(a, b) != 0);
    read_cache_free(rc);
}

static void test_different_reads_do_not_share(void)
{
    struct read_cache *rc = make();
    char a[128], b[128], c[128];
    CHECK(call(rc, READ, "job-1", a, sizeof a) == 0);
    CHECK(call(rc, READ, "job-2", b, sizeof b) == 0);
    CHECK(call(rc, OTHER_READ, "job-1", c, sizeof c) == 0);
    CHECK(call(rc, READ, "job-1\n", c, sizeof c) == 0);
    CHECK(calls == 4);
    CHECK(strcmp(a, b) != 0);
    CHECK(read_cache_usage(rc).hits == 0 && read_cache_usage(rc).entries == 4);
    read_cache_free(rc);
}

static void test_writes_and_errors_not_kept(void)
{
    struct read_cache *rc = make();
    char a[128];
    CHECK(call(rc, WRITE, "job-1", a, sizeof a) == 0);
    CHECK(call(rc, WRITE, "job-1", a, sizeof a) == 0);
    CHECK(calls == 2);
    fail_next = 1;
    CHECK(call(rc, READ, "job-1", a, sizeof a) != 0);
    CHECK(call(rc, READ, "job-1", a, sizeof a) == 0);
    CHECK(calls == 4);
    CHECK(read_cache_usage(rc).entries == 1);
    read_cache_free(rc);
}

static void test_no_pool_count(void)
{
    struct read_cache *rc = make();
    char a[128];
    no_pool_count = 1;
    CHECK(call(rc, READ, "job-1", a, sizeof a) == 0);
    CHECK(call(rc, READ, "job-1", a, sizeof a) == 0);
    CHECK(calls == 2 && read_cache_usage(rc).entries == 0);
    read_cache_free(rc);
}

static void test_entry_cap_evicts_oldest(void)
{
    struct read_cache *rc = make_with(1 << 20, 2);
    char a[128];
    CHECK(call(rc, READ, "job-1", a, sizeof a) == 0);
    CHECK(call(rc, READ, "job-2", a, sizeof a) == 0);
    CHECK(call(rc, READ, "job-3", a, sizeof a) == 0);
    CHECK(read_cache_usage(rc).entries == 2);
    CHECK(call(rc, READ, "job-3", a, sizeof a) == 0);      /* kept */
    CHECK(calls == 3);
    CHECK(call(rc, READ, "job-1", a, sizeof a) == 0);      /* evicted: called again */
    CHECK(calls == 4);
    read_cache_free(rc);
}

static void test_byte_cap_evicts(void)
{
    /* Each entry costs its bookkeeping, its key and about 2,030 answer
     * bytes (under a quarter of the cap, so it is kept), so three fit in
     * 8,200 bytes and a fourth pushes the oldest out. */
    const size_t cap = 8200;
    struct read_cache *rc = make_with(cap, 64);
    pad = 2000;
    char a[128];
    for (int i = 0; i < 8; i++) {
        char req[16];
        snprintf(req, sizeof req, "job-%d", i);
        CHECK(call(rc, READ, req, a, sizeof a) == 0);
        struct read_cache_usage u = read_cache_usage(rc);
        CHECK(u.bytes <= cap && u.entries <= 3 && u.entries >= 1);
    }
    CHECK(read_cache_usage(rc).entries == 3);
    CHECK(call(rc, READ, "job-7", a, sizeof a) == 0);      /* the newest are kept */
    CHECK(call(rc, READ, "job-5", a, sizeof a) == 0);
    CHECK(calls == 8);
    CHECK(call(rc, READ, "job-0", a, sizeof a) == 0);      /* the oldest is gone */
    CHECK(calls == 9);
    /* An answer over a quarter of the cap is never kept. */
    pad = cap / 4;
    CHECK(call(rc, READ, "big", a, sizeof a) == 0);
    CHECK(call(rc, READ, "big", a, sizeof a) == 0);
    CHECK(calls == 11);
    read_cache_free(rc);
}

/* A hit copies into the request's arena: one too small for the answer gets
 * INTERNAL, and the entry stays for the next. */
static void test_hit_arena_cap(void)
{
    struct read_cache *rc = make();
    pad = 100000;
    char a[128];
    CHECK(call(rc, READ, "job-1", a, sizeof a) == 0);
    struct upstream up = read_cache_upstream(rc);
    struct arena small;
    arena_init(&small, 4096);
    struct cg_status st;
    cg_status_clear(&st);
    uint8_t *resp;
    size_t len;
    CHECK(upstream_call(&up, READ, (const uint8_t *)"job-1", 5, 1000, "rid", &small, &resp, &len,
                        &st) == -1);
    CHECK(st.code == CG_INTERNAL);
    arena_free(&small);
    CHECK(read_cache_usage(rc).hits == 0 && read_cache_usage(rc).entries == 1);
    CHECK(call(rc, READ, "job-1", a, sizeof a) == 0);
    CHECK(calls == 1 && read_cache_usage(rc).hits == 1);
    read_cache_free(rc);
}

/* Threads reading, writing and evicting at once (five keys, room for
 * three); run under the sanitizers and valgrind, it shows no race on an
 * entry a reader still copies and no leak. How many hit depends on the
 * scheduling, so only the sum is checked. */
struct mixer {
    pthread_t tid;
    struct read_cache *rc;
    int id, failed;
};

static void *mix(void *arg)
{
    struct mixer *m = arg;
    char got[128], req[16];
    for (int i = 0; i < 2000; i++) {
        snprintf(req, sizeof req, "job-%d", (i * 7 + m->id) % 5);
        const char *method = i % 50 == 49 ? WRITE : READ;
        if (call(m->rc, method, req, got, sizeof got) != 0 || strncmp(got, method, strlen(method)))
            m->failed++;
        if (i % 100 == 0)
            __atomic_fetch_add(&clock_ms, TTL, __ATOMIC_RELAXED);
    }
    return NULL;
}

static void test_threads(void)
{
    struct read_cache *rc = make_with(4 * (sizeof(void *) * 16 + 200), 3);
    struct mixer m[4];
    for (int i = 0; i < 4; i++) {
        m[i] = (struct mixer){.rc = rc, .id = i};
        pthread_create(&m[i].tid, NULL, mix, &m[i]);
    }
    int failed = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(m[i].tid, NULL);
        failed += m[i].failed;
    }
    CHECK(failed == 0);
    struct read_cache_usage u = read_cache_usage(rc);
    CHECK(u.entries <= 3);
    /* Every call was answered once: by the stand-in or from the cache. */
    CHECK((uint64_t)calls + u.hits == 4 * 2000);
    read_cache_free(rc);
}

static void test_bad_ttl(void)
{
    static const struct upstream inner = {.ops = &stub_ops, .ctx = NULL};
    struct read_cache_limits lim = {.ttl_ms = 0, .max_request = 1024, .max_bytes = 1 << 20,
                                    .max_entries = 4};
    CHECK(read_cache_new(&inner, &hooks, &lim) == NULL);
}

int main(void)
{
    test_hit_within_window();
    test_miss_after_expiry();
    test_no_hit_after_mutation();
    test_mutation_during_call();
    test_different_reads_do_not_share();
    test_writes_and_errors_not_kept();
    test_no_pool_count();
    test_entry_cap_evicts_oldest();
    test_byte_cap_evicts();
    test_hit_arena_cap();
    test_threads();
    test_bad_ttl();
    return unit_report("read_cache");
}
