/* bench-grpc-floor: the gRPC floor of the whole-path benchmark. N threads
 * share one channel, as a cuegw process does, and each makes unary calls
 * one after the other for a fixed time: no HTTP, no JSON, no FastCGI, only
 * what any C client on the gRPC core must spend.
 *
 *   bench-grpc-floor --endpoint HOST:PORT --method /pkg.Svc/M --request FILE
 *                    [--threads N] [--seconds S] [--client core|cuegw]
 *
 * --client cuegw makes the same calls through cuegw's own Cuebot client
 * (upstream/cuebot.c: its channel arguments, its queues, the answer copied
 * into an arena that is reset after each call, as a request's is), so what
 * that client adds to, or saves from, the bare core is measured under the
 * same load, one against the other.
 *
 * Prints one JSON object: calls per second, p50/p99 latency, CPU µs per
 * call (every thread of the process, gRPC's own included, from getrusage),
 * private anonymous memory at the end, and failed calls. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <grpc/byte_buffer.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/time.h>

#include "base/arena.h"
#include "upstream/cuebot.h"

#define MAX_THREADS 256

static grpc_channel *channel;
static grpc_slice method, request;
static struct cuebot *cb;       /* --client cuegw */
static const char *method_path;
static double stop_at;

struct worker {
    pthread_t tid;
    double *lat;           /* seconds per call */
    size_t n, cap;
    long errors;
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* One unary call: the single batch of six operations, as cuegw makes it. */
static int call_once(grpc_completion_queue *cq)
{
    grpc_metadata_array initial, trailing;
    grpc_metadata_array_init(&initial);
    grpc_metadata_array_init(&trailing);
    grpc_byte_buffer *send = grpc_raw_byte_buffer_create(&request, 1), *recv = NULL;
    grpc_status_code status = GRPC_STATUS_UNKNOWN;
    grpc_slice details = grpc_empty_slice();
    grpc_call *call = grpc_channel_create_call(channel, NULL, GRPC_PROPAGATE_DEFAULTS, cq,
                                               method, NULL,
                                               gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                                                            gpr_time_from_seconds(30, GPR_TIMESPAN)),
                                               NULL);
    grpc_op ops[6];
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = send;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &initial;
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = &recv;
    ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[5].data.recv_status_on_client.trailing_metadata = &trailing;
    ops[5].data.recv_status_on_client.status = &status;
    ops[5].data.recv_status_on_client.status_details = &details;
    int ok = 0;
    if (grpc_call_start_batch(call, ops, 6, call, NULL) == GRPC_CALL_OK) {
        grpc_event ev = grpc_completion_queue_pluck(cq, call, gpr_inf_future(GPR_CLOCK_REALTIME),
                                                    NULL);
        ok = ev.success && status == GRPC_STATUS_OK && recv != NULL;
    }
    if (recv)
        grpc_byte_buffer_destroy(recv);
    grpc_byte_buffer_destroy(send);
    grpc_slice_unref(details);
    grpc_metadata_array_destroy(&initial);
    grpc_metadata_array_destroy(&trailing);
    grpc_call_unref(call);
    return ok ? 0 : -1;
}

/* The same call through cuegw's client. */
static int call_cuegw(struct arena *a)
{
    struct cg_status st;
    uint8_t *resp;
    size_t resp_len;
    int rc = cuebot_call(cb, method_path, GRPC_SLICE_START_PTR(request),
                         GRPC_SLICE_LENGTH(request), 30000, "bench", a, &resp, &resp_len, &st);
    arena_reset(a);
    return rc;
}

static void *run(void *arg)
{
    struct worker *w = arg;
    grpc_completion_queue *cq = grpc_completion_queue_create_for_pluck(NULL);
    struct arena a;
    arena_init(&a, 0);
    while (now() < stop_at) {
        double t0 = now();
        if ((cb ? call_cuegw(&a) : call_once(cq)) != 0)
            w->errors++;
        if (w->n == w->cap) {
            w->cap = w->cap ? w->cap * 2 : 4096;
            w->lat = realloc(w->lat, w->cap * sizeof *w->lat);
        }
        w->lat[w->n++] = now() - t0;
    }
    grpc_completion_queue_shutdown(cq);
    grpc_completion_queue_pluck(cq, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    grpc_completion_queue_destroy(cq);
    arena_free(&a);
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static long anon_kb(void)
{
    FILE *f = fopen("/proc/self/smaps_rollup", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "Anonymous: %ld kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb;
}

static grpc_slice read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "bench-grpc-floor: cannot open %s: %s\n", path, strerror(errno));
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    grpc_slice s = grpc_slice_malloc((size_t)n);
    if (n > 0 && fread(GRPC_SLICE_START_PTR(s), 1, (size_t)n, f) != (size_t)n)
        exit(2);
    fclose(f);
    return s;
}

int main(int argc, char **argv)
{
    const char *endpoint = NULL, *path = NULL, *req_file = NULL;
    const char *client = "core";
    int threads = 1;
    double seconds = 5;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--endpoint"))
            endpoint = argv[i + 1];
        else if (!strcmp(argv[i], "--method"))
            path = argv[i + 1];
        else if (!strcmp(argv[i], "--request"))
            req_file = argv[i + 1];
        else if (!strcmp(argv[i], "--threads"))
            threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--seconds"))
            seconds = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--client"))
            client = argv[i + 1];
    }
    if (!endpoint || !path || !req_file || threads < 1 || threads > MAX_THREADS ||
        seconds <= 0 || (strcmp(client, "core") && strcmp(client, "cuegw"))) {
        fprintf(stderr, "usage: bench-grpc-floor --endpoint E --method PATH --request FILE "
                        "[--threads 1-%d] [--seconds S] [--client core|cuegw]\n", MAX_THREADS);
        return 64;
    }
    method_path = path;
    grpc_init();
    request = read_file(req_file);
    method = grpc_slice_from_copied_string(path);
    grpc_arg args[1];
    memset(args, 0, sizeof args);
    args[0].type = GRPC_ARG_INTEGER;
    args[0].key = (char *)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
    args[0].value.integer = -1;
    grpc_channel_args cargs = {.num_args = 1, .args = args};
    grpc_channel_credentials *creds = grpc_insecure_credentials_create();
    if (!strcmp(client, "core"))
        channel = grpc_channel_create(endpoint, creds, &cargs);
    grpc_channel_credentials_release(creds);
    if (!channel) {
        struct cuebot_settings cs = {.endpoints = endpoint};
        struct cg_status st;
        if (!(cb = cuebot_open(&cs, &st))) {
            fprintf(stderr, "bench-grpc-floor: %s\n", st.msg);
            return 1;
        }
    }

    /* A first call connects the channel, so the measurement starts warm. */
    grpc_completion_queue *cq = grpc_completion_queue_create_for_pluck(NULL);
    struct arena a;
    arena_init(&a, 0);
    int warm = cb ? call_cuegw(&a) : call_once(cq);
    arena_free(&a);
    grpc_completion_queue_shutdown(cq);
    grpc_completion_queue_pluck(cq, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    grpc_completion_queue_destroy(cq);
    if (warm != 0) {
        fprintf(stderr, "bench-grpc-floor: the first call to %s%s failed\n", endpoint, path);
        return 1;
    }

    struct worker *w = calloc((size_t)threads, sizeof *w);
    double cpu0 = cpu_seconds(), t0 = now();
    stop_at = t0 + seconds;
    for (int i = 0; i < threads; i++)
        pthread_create(&w[i].tid, NULL, run, &w[i]);
    size_t total = 0;
    long errors = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(w[i].tid, NULL);
        total += w[i].n;
        errors += w[i].errors;
    }
    double wall = now() - t0, cpu = cpu_seconds() - cpu0;
    long kb = anon_kb();
    double *all = malloc((total ? total : 1) * sizeof *all);
    size_t k = 0;
    for (int i = 0; i < threads; i++) {
        memcpy(all + k, w[i].lat, w[i].n * sizeof *all);
        k += w[i].n;
        free(w[i].lat);
    }
    qsort(all, total, sizeof *all, cmp_double);
    double p50 = total ? all[total / 2] : 0, p99 = total ? all[(size_t)((double)total * 0.99)] : 0;
    printf("{\"calls\": %zu, \"rps\": %.1f, \"p50_ms\": %.3f, \"p99_ms\": %.3f, "
           "\"cpu_us_per_req\": %.1f, \"anon_kb\": %ld, \"errors\": %ld}\n",
           total, (double)total / wall, p50 * 1e3, p99 * 1e3,
           total ? cpu / (double)total * 1e6 : 0.0, kb, errors);
    free(all);
    free(w);
    cuebot_close(cb);
    if (channel)
        grpc_channel_destroy(channel);
    grpc_slice_unref(method);
    grpc_slice_unref(request);
    grpc_shutdown();
    return errors ? 1 : 0;
}
