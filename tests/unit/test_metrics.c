/* The metrics module on its own, in process memory: the exposition's exact
 * lines, bucket edges, the bounded series table, and counts from several
 * threads and a forked child adding up exactly. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "auth/auth_header.h"
#include "ops/metrics.h"
#include "pb/schema.h"
#include "unit.h"

static char *render(void)
{
    struct outbuf ob;
    outbuf_init(&ob, 0);
    struct cg_status st;
    cg_status_clear(&st);
    CHECK(metrics_render(&ob, "READY", &st) == 0);
    outbuf_putc(&ob, '\0');
    CHECK(!ob.failed);
    return ob.data;          /* the caller frees it */
}

static int has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; (p = strstr(p, line)); p++)
        if ((p == text || p[-1] == '\n') && p[n] == '\n')
            return 1;
    return 0;
}

static unsigned method_index(const char *path)
{
    const struct method_info *m = schema_method(path, strlen(path));
    return METRICS_FIRST_METHOD + (unsigned)(m - schema_method_at(0));
}

static void request(unsigned method, int http, int code, int64_t us)
{
    metrics_request_start();
    struct metrics_request r = {.method = method, .http = http, .code = code, .duration_us = us,
                                .bytes_in = 2, .bytes_out = 100, .channel_state = "READY"};
    metrics_request_end(&r);
}

static void test_exposition(void)
{
    unsigned shows = method_index("/show.ShowInterface/GetShows");
    request(shows, 200, 0, 5000);       /* exactly on the 0.005 edge: in it */
    request(shows, 200, 0, 5001);
    request(shows, 401, 16, 10);
    request(METRICS_OTHER, 404, 5, 10);
    request(METRICS_HEALTH, 503, 14, 10);
    metrics_auth_failure(auth_result_error(AUTH_EXPIRED));
    metrics_auth_failure(CG_E_DENY_POLICY);
    metrics_auth_failure((enum cg_error)999);   /* out of range: ignored */
    metrics_auth_failure(CG_E_METHOD_NOT_ALLOWED);   /* not a reason: ignored */
    metrics_shared_read();
    metrics_shared_read();
    metrics_read_cache_hit();
    metrics_read_cache_hit();
    metrics_read_cache_hit();
    metrics_mutation_done();
    metrics_shared_waiting(+1);
    metrics_shared_waiting(+1);
    metrics_shared_waiting(-1);
    /* Process memory is not the pool's: no process started apart sees
     * this count, so no read may be shared on it. */
    uint64_t mutations = 99;
    CHECK(metrics_mutations(&mutations) == -1 && mutations == 99);
    char *t = render();
    CHECK(has_line(t, "# TYPE cuegw_requests_total counter"));
    CHECK(has_line(t, "cuegw_requests_total{method=\"show.ShowInterface/GetShows\",status=\"200\",code=\"OK\"} 2"));
    CHECK(has_line(t, "cuegw_requests_total{method=\"show.ShowInterface/GetShows\",status=\"401\",code=\"UNAUTHENTICATED\"} 1"));
    CHECK(has_line(t, "cuegw_requests_total{method=\"other\",status=\"404\",code=\"NOT_FOUND\"} 1"));
    CHECK(has_line(t, "cuegw_requests_total{method=\"health\",status=\"503\",code=\"UNAVAILABLE\"} 1"));
    CHECK(has_line(t, "cuegw_request_duration_seconds_bucket{le=\"0.005\"} 4"));
    CHECK(has_line(t, "cuegw_request_duration_seconds_bucket{le=\"0.01\"} 5"));
    CHECK(has_line(t, "cuegw_request_duration_seconds_bucket{le=\"+Inf\"} 5"));
    CHECK(has_line(t, "cuegw_request_duration_seconds_count 5"));
    CHECK(has_line(t, "cuegw_request_duration_seconds_sum 0.010031"));
    CHECK(has_line(t, "cuegw_auth_failures_total{reason=\"expired\"} 1"));
    CHECK(has_line(t, "cuegw_auth_failures_total{reason=\"policy\"} 1"));
    CHECK(has_line(t, "cuegw_auth_failures_total{reason=\"missing\"} 0"));
    CHECK(has_line(t, "# TYPE cuegw_shared_reads_total counter"));
    CHECK(has_line(t, "cuegw_shared_reads_total 2"));
    CHECK(has_line(t, "# TYPE cuegw_read_cache_hits_total counter"));
    CHECK(has_line(t, "cuegw_read_cache_hits_total 3"));
    CHECK(has_line(t, "# TYPE cuegw_cuebot_mutations_total counter"));
    CHECK(has_line(t, "cuegw_cuebot_mutations_total 1"));
    CHECK(has_line(t, "# TYPE cuegw_shared_reads_waiting gauge"));
    CHECK(has_line(t, "cuegw_shared_reads_waiting 1"));
    CHECK(has_line(t, "cuegw_request_bytes_total 10"));
    CHECK(has_line(t, "cuegw_response_bytes_total 500"));
    CHECK(has_line(t, "cuegw_requests_in_flight 0"));
    CHECK(has_line(t, "cuegw_processes 1"));
    CHECK(has_line(t, "cuegw_cuebot_channel_state{state=\"READY\"} 1"));
    char pid_line[96];
    snprintf(pid_line, sizeof pid_line, "cuegw_process_start_time_seconds{pid=\"%ld\"}", (long)getpid());
    CHECK(strstr(t, pid_line) != NULL);
    CHECK(t[strlen(t) - 1] == '\n');
    free(t);
}

/* Far more distinct series than the table holds: the rest is counted
 * without labels, nothing is lost and nothing overflows. */
static void test_bounded(void)
{
    char *before = render();
    const char *p = strstr(before, "cuegw_request_duration_seconds_count ");
    long long count0 = p ? atoll(p + 37) : -1;
    free(before);
    size_t n = schema_method_count();
    long long sent = 0;
    for (size_t m = 0; m < n; m++)
        for (int http = 100; http < 140; http++) {
            request(METRICS_FIRST_METHOD + (unsigned)m, http, 2, 1);
            sent++;
        }
    char *t = render();
    p = strstr(t, "cuegw_request_duration_seconds_count ");
    CHECK(p && atoll(p + 37) == count0 + sent);
    p = strstr(t, "\ncuegw_requests_unlabelled_total ");
    CHECK(p && atoll(p + 33) > 0);
    /* Every labelled series plus the unlabelled ones is every request. */
    long long sum = 0;
    for (const char *q = t; (q = strstr(q, "\ncuegw_requests_total{")); q++)
        sum += atoll(strchr(q, '}') + 2);
    CHECK(sum + atoll(p + 33) == count0 + sent);
    free(t);
}

#define THREADS 4
#define PER_THREAD 20000

static void *hammer(void *arg)
{
    unsigned m = *(unsigned *)arg;
    for (int i = 0; i < PER_THREAD; i++)
        request(m, 200, 0, 100);
    return NULL;
}

static long long shows_count(void)
{
    char *t = render();
    const char *want = "cuegw_requests_total{method=\"show.ShowInterface/GetShows\",status=\"200\",code=\"OK\"} ";
    const char *p = strstr(t, want);
    long long v = p ? atoll(p + strlen(want)) : -1;
    free(t);
    return v;
}

/* Threads of one process and a forked child add into the same counters. */
static void test_concurrent(void)
{
    unsigned shows = method_index("/show.ShowInterface/GetShows");
    long long start = shows_count();
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, hammer, &shows);
    pid_t child = fork();
    if (child == 0) {
        for (int i = 0; i < 1000; i++)
            request(shows, 200, 0, 100);
        _exit(0);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    int status;
    CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status));
    CHECK(shows_count() == start + THREADS * PER_THREAD + 1000);
    char *text = render();
    CHECK(has_line(text, "cuegw_processes 1"));     /* the child is gone */
    free(text);
}

int main(void)
{
    struct cg_status st;
    cg_status_clear(&st);
    CHECK(schema_init(&st) == 0);
    metrics_ensure();
    CHECK(strcmp(metrics_location(), "process memory") == 0);
    test_exposition();
    test_bounded();
    test_concurrent();
    return unit_report("metrics");
}
