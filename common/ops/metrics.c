/* Counting requests into the shared file, and the Prometheus text
 * exposition of the whole pool's numbers. */
#include "ops/metrics.h"
#include "ops/metrics_impl.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb/schema.h"

const uint64_t metrics_bucket_us[METRICS_BUCKETS - 1] = {
    5000, 10000, 25000, 50000, 100000, 250000, 500000,
    1000000, 2500000, 5000000, 10000000, 30000000, 60000000};
static const char *const bucket_le[METRICS_BUCKETS] = {
    "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5",
    "1", "2.5", "5", "10", "30", "60", "+Inf"};

#define ADD(field, n) __atomic_fetch_add(&(field), (n), __ATOMIC_RELAXED)
#define LOAD(field) __atomic_load_n(&(field), __ATOMIC_RELAXED)

/* A series key: method, HTTP status (below 1024) and gRPC code (below 32)
 * packed so that sorting keys sorts by method first. Never 0. */
static uint32_t series_key(unsigned method, int http, int code)
{
    unsigned h = http > 0 && http < 1024 ? (unsigned)http : 0;
    unsigned c = code >= 0 && code < 32 ? (unsigned)code : 31;
    return ((uint32_t)(method + 1) << 15) | (h << 5) | c;
}

static void count_series(struct metrics_shared *m, uint32_t key)
{
    uint32_t i = (key * 2654435761u) >> (32 - METRICS_TABLE_BITS);
    for (int probe = 0; probe < METRICS_PROBES; probe++, i = (i + 1) & (METRICS_TABLE - 1)) {
        struct metrics_entry *e = &m->table[i];
        uint32_t k = __atomic_load_n(&e->key, __ATOMIC_ACQUIRE);
        if (k == 0) {
            uint32_t expect = 0;
            if (__atomic_compare_exchange_n(&e->key, &expect, key, 0, __ATOMIC_ACQ_REL,
                                            __ATOMIC_ACQUIRE))
                k = key;
            else
                k = expect;          /* someone else took it first */
        }
        if (k == key) {
            ADD(e->count, 1);
            return;
        }
    }
    ADD(m->table_overflow, 1);
}

void metrics_request_start(void)
{
    struct metrics_slot *s = metrics_my_slot();
    if (s)
        ADD(s->in_flight, 1);
}

void metrics_request_end(const struct metrics_request *r)
{
    struct metrics_shared *m = metrics_shm();
    if (!m)
        return;
    struct metrics_slot *s = metrics_my_slot();
    if (s)
        __atomic_fetch_sub(&s->in_flight, 1, __ATOMIC_RELAXED);
    metrics_channel_state(r->channel_state);
    count_series(m, series_key(r->method, r->http, r->code));
    uint64_t us = r->duration_us > 0 ? (uint64_t)r->duration_us : 0;
    int b = 0;
    while (b < METRICS_BUCKETS - 1 && us > metrics_bucket_us[b])
        b++;
    ADD(m->buckets[b], 1);
    ADD(m->duration_sum_us, us);
    ADD(m->duration_count, 1);
    ADD(m->bytes_in, r->bytes_in);
    ADD(m->bytes_out, r->bytes_out);
}

void metrics_channel_state(const char *state)
{
    struct metrics_slot *s = metrics_my_slot();
    int idx = metrics_state_index(state);
    if (s && idx)
        __atomic_store_n(&s->state, idx, __ATOMIC_RELAXED);
}

void metrics_peer_timeout(int phase)
{
    struct metrics_shared *m = metrics_shm();
    if (m && phase >= 0 && phase < METRICS_TIMEOUT_PHASES)
        ADD(m->peer_timeouts[phase], 1);
}

int metrics_mutations(uint64_t *count)
{
    struct metrics_shared *m = metrics_shm();
    if (!m || !metrics_in_file())
        return -1;
    *count = __atomic_load_n(&m->mutations, __ATOMIC_ACQUIRE);
    return 0;
}

void metrics_mutation_done(void)
{
    struct metrics_shared *m = metrics_shm();
    /* Release and acquire (not the counters' relaxed adds): a read that
     * sees the new count must not be ordered before it. */
    if (m)
        __atomic_fetch_add(&m->mutations, 1, __ATOMIC_ACQ_REL);
}

void metrics_shared_read(void)
{
    struct metrics_shared *m = metrics_shm();
    if (m)
        ADD(m->shared_reads, 1);
}

void metrics_read_cache_hit(void)
{
    struct metrics_shared *m = metrics_shm();
    if (m)
        ADD(m->read_cache_hits, 1);
}

void metrics_shared_waiting(int delta)
{
    struct metrics_slot *s = metrics_my_slot();
    if (s)
        ADD(s->shared_waiting, delta);
}

/* Whether a kind is a reason of cuegw_auth_failures_total. */
static int is_reason(enum cg_error kind)
{
    switch (cg_errors[kind].cls) {
    case CG_CLASS_AUTH:
        /* Out of memory is the gateway's failure, not a refusal. */
        return kind != CG_E_AUTH_INTERNAL;
    case CG_CLASS_DENY:
        return 1;
    case CG_CLASS_CODE:
    case CG_CLASS_GATEWAY:
        return 0;
    }
    return 0;
}

void metrics_auth_failure(enum cg_error kind)
{
    struct metrics_shared *m = metrics_shm();
    if (m && (unsigned)kind < CG_E_COUNT && is_reason(kind))
        ADD(m->auth_failures[kind], 1);
}

/* ---- exposition ---------------------------------------------------------- */

static void put(struct outbuf *ob, const char *s)
{
    outbuf_put(ob, s, strlen(s));
}

static void putf(struct outbuf *ob, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void putf(struct outbuf *ob, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n > 0)
        outbuf_put(ob, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

/* A label value, escaped as the text format wants (\\, \" and \n). */
static void label_value(struct outbuf *ob, const char *s)
{
    outbuf_putc(ob, '"');
    for (; *s; s++) {
        if (*s == '\\' || *s == '"')
            outbuf_putc(ob, '\\');
        if (*s == '\n') {
            put(ob, "\\n");
            continue;
        }
        outbuf_putc(ob, *s);
    }
    outbuf_putc(ob, '"');
}

static void family(struct outbuf *ob, const char *name, const char *type, const char *help)
{
    putf(ob, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static const char *method_label(unsigned method)
{
    if (method == METRICS_HEALTH)
        return "health";
    if (method == METRICS_SCRAPE)
        return "metrics";
    const struct method_info *mi =
        method >= METRICS_FIRST_METHOD ? schema_method_at(method - METRICS_FIRST_METHOD) : NULL;
    return mi ? mi->path + 1 : "other";
}

struct series {
    uint32_t key;
    uint64_t count;
};

static int by_key(const void *a, const void *b)
{
    uint32_t x = ((const struct series *)a)->key, y = ((const struct series *)b)->key;
    return x < y ? -1 : x > y;
}

static void requests(struct outbuf *ob, struct metrics_shared *m)
{
    family(ob, "cuegw_requests_total", "counter",
           "Requests answered, by method, HTTP status and gRPC code.");
    struct series *all = malloc(sizeof *all * METRICS_TABLE);
    size_t n = 0;
    for (uint32_t i = 0; all && i < METRICS_TABLE; i++) {
        uint32_t k = __atomic_load_n(&m->table[i].key, __ATOMIC_ACQUIRE);
        uint64_t c = LOAD(m->table[i].count);
        if (k && c)
            all[n++] = (struct series){k, c};
    }
    if (all)
        qsort(all, n, sizeof *all, by_key);
    for (size_t i = 0; i < n; i++) {
        unsigned method = (all[i].key >> 15) - 1;
        unsigned http = (all[i].key >> 5) & 1023, code = all[i].key & 31;
        put(ob, "cuegw_requests_total{method=");
        label_value(ob, method_label(method));
        putf(ob, ",status=\"%u\",code=", http);
        label_value(ob, code == 31 ? "other" : cg_code_name((int)code));
        putf(ob, "} %llu\n", (unsigned long long)all[i].count);
    }
    free(all);
    family(ob, "cuegw_requests_unlabelled_total", "counter",
           "Requests counted without labels because the series table was full.");
    putf(ob, "cuegw_requests_unlabelled_total %llu\n", (unsigned long long)LOAD(m->table_overflow));
}

static void latency(struct outbuf *ob, struct metrics_shared *m)
{
    family(ob, "cuegw_request_duration_seconds", "histogram",
           "Time from a request's arrival to the end of its answer.");
    uint64_t cum = 0;
    for (int b = 0; b < METRICS_BUCKETS; b++) {
        cum += LOAD(m->buckets[b]);
        putf(ob, "cuegw_request_duration_seconds_bucket{le=\"%s\"} %llu\n", bucket_le[b],
             (unsigned long long)cum);
    }
    uint64_t sum = LOAD(m->duration_sum_us);
    putf(ob, "cuegw_request_duration_seconds_sum %llu.%06llu\n",
         (unsigned long long)(sum / 1000000), (unsigned long long)(sum % 1000000));
    putf(ob, "cuegw_request_duration_seconds_count %llu\n", (unsigned long long)cum);
}

static void auth_failures(struct outbuf *ob, struct metrics_shared *m)
{
    family(ob, "cuegw_auth_failures_total", "counter",
           "Requests refused for their credentials (401) or their rights (403), by reason.");
    for (int k = 0; k < CG_E_COUNT; k++) {
        if (!is_reason((enum cg_error)k))
            continue;
        put(ob, "cuegw_auth_failures_total{reason=");
        label_value(ob, cg_errors[k].label);
        putf(ob, "} %llu\n", (unsigned long long)LOAD(m->auth_failures[k]));
    }
}

static void peer_timeouts(struct outbuf *ob, struct metrics_shared *m)
{
    static const char *const phases[METRICS_TIMEOUT_PHASES] = {"params", "body", "write"};
    family(ob, "cuegw_fastcgi_timeouts_total", "counter",
           "FastCGI connections the web server left past a deadline, by phase "
           "(PARAMS_TIMEOUT, BODY_TIMEOUT, WRITE_TIMEOUT).");
    for (int p = 0; p < METRICS_TIMEOUT_PHASES; p++)
        putf(ob, "cuegw_fastcgi_timeouts_total{phase=\"%s\"} %llu\n", phases[p],
             (unsigned long long)LOAD(m->peer_timeouts[p]));
}

static void processes(struct outbuf *ob, struct metrics_shared *m)
{
    int64_t in_flight = 0, waiting = 0;
    unsigned live = 0, states[6] = {0};
    for (int i = 0; i < METRICS_SLOTS; i++) {
        struct metrics_slot *s = &m->slots[i];
        if (!metrics_slot_alive(s))
            continue;
        live++;
        in_flight += LOAD(s->in_flight);
        waiting += LOAD(s->shared_waiting);
        int st = LOAD(s->state);
        states[st >= 0 && st <= 5 ? st : 0]++;
    }
    family(ob, "cuegw_requests_in_flight", "gauge",
           "Requests being served now, this scrape included.");
    putf(ob, "cuegw_requests_in_flight %lld\n", (long long)(in_flight > 0 ? in_flight : 0));
    family(ob, "cuegw_shared_reads_waiting", "gauge",
           "Reads waiting now for an identical read's Cuebot call (SHARE_READS).");
    putf(ob, "cuegw_shared_reads_waiting %lld\n", (long long)(waiting > 0 ? waiting : 0));
    family(ob, "cuegw_cuebot_channel_state", "gauge",
           "Processes whose Cuebot channel is in each state (as of each one's start or last request).");
    for (int st = 1; st <= 5; st++) {
        put(ob, "cuegw_cuebot_channel_state{state=");
        label_value(ob, metrics_state_names[st - 1]);
        putf(ob, "} %u\n", states[st]);
    }
    family(ob, "cuegw_processes", "gauge", "Live cuegw processes of this pool.");
    putf(ob, "cuegw_processes %u\n", live);
    family(ob, "cuegw_process_start_time_seconds", "gauge",
           "Start time of each live process, seconds since the Unix epoch.");
    for (int i = 0; i < METRICS_SLOTS; i++) {
        struct metrics_slot *s = &m->slots[i];
        if (!metrics_slot_alive(s))
            continue;
        int64_t ms = LOAD(s->start_ms);
        putf(ob, "cuegw_process_start_time_seconds{pid=\"%ld\"} %lld.%03lld\n",
             (long)LOAD(s->pid), (long long)(ms / 1000), (long long)(ms % 1000));
    }
}

int metrics_render(struct outbuf *ob, const char *channel_state, struct cg_status *st)
{
    struct metrics_shared *m = metrics_shm();
    /* The reason names files and directories: it went to the log at
     * start-up, and a client learns only that there are no metrics. */
    if (!m)
        return cg_fail_kind(st, CG_E_METRICS_UNAVAILABLE, NULL, NULL);
    metrics_channel_state(channel_state);
    requests(ob, m);
    latency(ob, m);
    auth_failures(ob, m);
    peer_timeouts(ob, m);
    processes(ob, m);
    family(ob, "cuegw_shared_reads_total", "counter",
           "Reads answered by an identical read's Cuebot call already in flight (SHARE_READS).");
    putf(ob, "cuegw_shared_reads_total %llu\n", (unsigned long long)LOAD(m->shared_reads));
    family(ob, "cuegw_read_cache_hits_total", "counter",
           "Reads answered from an identical read's answer kept for READ_CACHE_MS.");
    putf(ob, "cuegw_read_cache_hits_total %llu\n", (unsigned long long)LOAD(m->read_cache_hits));
    family(ob, "cuegw_cuebot_mutations_total", "counter",
           "Calls of Cuebot methods that are not reads, completed (SHARE_READS's and "
           "READ_CACHE_MS's read-your-writes).");
    putf(ob, "cuegw_cuebot_mutations_total %llu\n", (unsigned long long)LOAD(m->mutations));
    family(ob, "cuegw_request_bytes_total", "counter", "Request body bytes read.");
    putf(ob, "cuegw_request_bytes_total %llu\n", (unsigned long long)LOAD(m->bytes_in));
    family(ob, "cuegw_response_bytes_total", "counter",
           "Response bytes written to the web server, headers included.");
    putf(ob, "cuegw_response_bytes_total %llu\n", (unsigned long long)LOAD(m->bytes_out));
    family(ob, "cuegw_counters_start_time_seconds", "gauge",
           "When these counters started from zero, seconds since the Unix epoch.");
    putf(ob, "cuegw_counters_start_time_seconds %lld.%03lld\n",
         (long long)(m->created_ms / 1000), (long long)(m->created_ms % 1000));
    return 0;
}
