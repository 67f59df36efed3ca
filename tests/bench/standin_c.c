/* bench-standin: the benchmark's stand-in Cuebot, a gRPC server on the C
 * core that answers from canned wire bytes, so that it costs little CPU
 * and never becomes the bottleneck of a whole-path run (the Python stand-in
 * of the integration tests spends milliseconds per large answer).
 *
 *   bench-standin --manifest FILE [--listen 127.0.0.1:0] [--threads N]
 *                 [--ports-file FILE]
 *
 * The manifest (written by make_farm.py) has one answer a line:
 *   <method path> <request .pb file> <response .pb file> [<effect>]
 * paths relative to the manifest's directory. A call is answered with the
 * response of the line whose method and request bytes both match exactly
 * (a hash of both finds it);
 * anything else gets NOT_FOUND, which the benchmark counts as an error. The
 * port actually bound is written to the ports file as {"grpc": N}.
 * SIGTERM or SIGINT stops it.
 *
 * The load test's farm (make_farm.py --loadtest) keeps one piece of state,
 * each job's paused flag, through the optional effect:
 *   pause:K            the call pauses job K (0 <= K < MAX_JOBS)
 *   resume:K           the call resumes job K
 *   read:K:FILE        the call reads job K: answered with FILE (the same
 *                      job, paused) while job K is paused
 * A pause or resume takes effect before its answer is sent, so a read that
 * starts after the caller saw the answer sees it.
 *
 * Counters: the method /bench.Standin/Counters (any request bytes) answers
 * text, one "<method path> <calls>" line per method of the manifest and
 * "unanswered <calls>" for the calls no line matched, counted since start
 * (the counter call itself is not counted). */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/time.h>

#define MAX_ANSWERS 65536
#define MAX_METHODS 64
#define MAX_JOBS 65536
#define SLOTS_PER_THREAD 64   /* calls a thread can have under way at once */
#define MAX_THREADS 16
#define COUNTERS_METHOD "/bench.Standin/Counters"

enum effect { EFFECT_NONE, EFFECT_PAUSE, EFFECT_RESUME, EFFECT_READ };

struct answer {
    grpc_slice method, request, response;
    grpc_slice paused_response;   /* EFFECT_READ: the answer while paused */
    enum effect effect;
    unsigned job;                 /* the job an effect names */
    unsigned method_index;        /* into methods[] */
    uint64_t hash;
};

static struct answer *answers;
static size_t n_answers;
/* Open addressing over answers[], indexes + 1 (0: empty); a power of two. */
static uint32_t *table;
static size_t table_size;

static struct {
    grpc_slice path;
    atomic_ulong calls;
} methods[MAX_METHODS];
static unsigned n_methods;
static atomic_ulong unanswered;
static atomic_uchar paused[MAX_JOBS];
static grpc_server *server;

enum stage { WAIT_CALL, WAIT_REQUEST, WAIT_DONE };

/* One call in progress; each thread owns SLOTS_PER_THREAD of them. */
struct slot {
    enum stage stage;
    grpc_completion_queue *cq;
    grpc_call *call;
    grpc_call_details details;
    grpc_metadata_array md;
    grpc_byte_buffer *req, *resp;
    int cancelled;
};

static grpc_slice read_file(const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "bench-standin: cannot open %s: %s\n", path, strerror(errno));
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    grpc_slice s = grpc_slice_malloc((size_t)n);
    if (n > 0 && fread(GRPC_SLICE_START_PTR(s), 1, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "bench-standin: cannot read %s\n", path);
        exit(2);
    }
    fclose(f);
    return s;
}

static uint64_t hash_call(grpc_slice method, grpc_slice body)
{
    uint64_t h = 1469598103934665603u;     /* FNV-1a */
    const grpc_slice parts[2] = {method, body};
    for (int p = 0; p < 2; p++) {
        const unsigned char *b = GRPC_SLICE_START_PTR(parts[p]);
        for (size_t i = 0; i < GRPC_SLICE_LENGTH(parts[p]); i++)
            h = (h ^ b[i]) * 1099511628211u;
        h = (h ^ 0xff) * 1099511628211u;   /* separates method from body */
    }
    return h;
}

static unsigned method_index(grpc_slice method)
{
    for (unsigned i = 0; i < n_methods; i++)
        if (grpc_slice_eq(methods[i].path, method))
            return i;
    if (n_methods == MAX_METHODS) {
        fprintf(stderr, "bench-standin: more than %d methods\n", MAX_METHODS);
        exit(2);
    }
    methods[n_methods].path = grpc_slice_ref(method);
    return n_methods++;
}

static void parse_effect(struct answer *a, const char *dir, const char *text)
{
    char file[1024];
    unsigned job;
    if (sscanf(text, "pause:%u", &job) == 1)
        a->effect = EFFECT_PAUSE;
    else if (sscanf(text, "resume:%u", &job) == 1)
        a->effect = EFFECT_RESUME;
    else if (sscanf(text, "read:%u:%1023s", &job, file) == 2) {
        a->effect = EFFECT_READ;
        a->paused_response = read_file(dir, file);
    } else {
        fprintf(stderr, "bench-standin: unknown effect %s\n", text);
        exit(2);
    }
    if (job >= MAX_JOBS) {
        fprintf(stderr, "bench-standin: job %u of %s is beyond %d\n", job, text, MAX_JOBS);
        exit(2);
    }
    a->job = job;
}

static void index_answers(void)
{
    table_size = 16;
    while (table_size < 2 * n_answers)
        table_size *= 2;
    table = calloc(table_size, sizeof *table);
    if (!table) {
        fprintf(stderr, "bench-standin: out of memory\n");
        exit(2);
    }
    for (size_t i = 0; i < n_answers; i++) {
        size_t at = answers[i].hash & (table_size - 1);
        while (table[at])
            at = (at + 1) & (table_size - 1);
        table[at] = (uint32_t)(i + 1);
    }
}

static void load_manifest(const char *path)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "bench-standin: cannot open %s: %s\n", path, strerror(errno));
        exit(2);
    }
    answers = calloc(MAX_ANSWERS, sizeof *answers);
    if (!answers) {
        fprintf(stderr, "bench-standin: out of memory\n");
        exit(2);
    }
    char line[4096], method[512], req[1024], resp[1024], effect[1100];
    while (fgets(line, sizeof line, f)) {
        int n = sscanf(line, "%511s %1023s %1023s %1099s", method, req, resp, effect);
        if (n <= 0)
            continue;
        if (n < 3) {
            fprintf(stderr, "bench-standin: %s: bad line %s", path, line);
            exit(2);
        }
        if (n_answers == MAX_ANSWERS) {
            fprintf(stderr, "bench-standin: more than %d answers\n", MAX_ANSWERS);
            exit(2);
        }
        struct answer *a = &answers[n_answers++];
        a->method = grpc_slice_from_copied_string(method);
        a->request = read_file(dir, req);
        a->response = read_file(dir, resp);
        a->paused_response = grpc_empty_slice();
        if (n == 4)
            parse_effect(a, dir, effect);
        a->method_index = method_index(a->method);
        a->hash = hash_call(a->method, a->request);
    }
    fclose(f);
    if (!n_answers) {
        fprintf(stderr, "bench-standin: %s holds no answers\n", path);
        exit(2);
    }
    index_answers();
}

static grpc_slice request_bytes(grpc_byte_buffer *req)
{
    grpc_slice body = grpc_empty_slice();
    if (req) {
        grpc_byte_buffer_reader r;
        if (grpc_byte_buffer_reader_init(&r, req)) {
            body = grpc_byte_buffer_reader_readall(&r);
            grpc_byte_buffer_reader_destroy(&r);
        }
    }
    return body;
}

static const struct answer *find_answer(grpc_slice method, grpc_slice body)
{
    uint64_t h = hash_call(method, body);
    for (size_t at = h & (table_size - 1); table[at]; at = (at + 1) & (table_size - 1)) {
        const struct answer *a = &answers[table[at] - 1];
        if (a->hash == h && grpc_slice_eq(a->method, method) && grpc_slice_eq(a->request, body))
            return a;
    }
    return NULL;
}

/* The counters as text, in a new slice. */
static grpc_slice counters_text(void)
{
    /* Each line: the path, a space, at most 20 digits, a newline. */
    size_t cap = sizeof "unanswered \n" + 20 + 1, len = 0;
    for (unsigned i = 0; i < n_methods; i++)
        cap += GRPC_SLICE_LENGTH(methods[i].path) + 1 + 20 + 1;
    char *text = malloc(cap);
    if (!text)
        return grpc_empty_slice();
    for (unsigned i = 0; i < n_methods; i++)
        len += (size_t)snprintf(text + len, cap - len, "%.*s %lu\n",
                                (int)GRPC_SLICE_LENGTH(methods[i].path),
                                (const char *)GRPC_SLICE_START_PTR(methods[i].path),
                                atomic_load(&methods[i].calls));
    len += (size_t)snprintf(text + len, cap - len, "unanswered %lu\n", atomic_load(&unanswered));
    grpc_slice s = grpc_slice_from_copied_buffer(text, len);
    free(text);
    return s;
}

/* The answer to a call, with its effect done: a new reference, or an empty
 * slice with *found 0 when no line matches. */
static grpc_slice respond(grpc_slice method, grpc_byte_buffer *req, int *found)
{
    *found = 1;
    if (!grpc_slice_str_cmp(method, COUNTERS_METHOD))
        return counters_text();
    grpc_slice body = request_bytes(req);
    const struct answer *a = find_answer(method, body);
    grpc_slice_unref(body);
    if (!a) {
        atomic_fetch_add(&unanswered, 1);
        *found = 0;
        return grpc_empty_slice();
    }
    atomic_fetch_add(&methods[a->method_index].calls, 1);
    switch (a->effect) {
    case EFFECT_PAUSE:
        atomic_store(&paused[a->job], 1);
        break;
    case EFFECT_RESUME:
        atomic_store(&paused[a->job], 0);
        break;
    case EFFECT_READ:
        if (atomic_load(&paused[a->job]))
            return grpc_slice_ref(a->paused_response);
        break;
    case EFFECT_NONE:
        break;
    }
    return grpc_slice_ref(a->response);
}

static void request_call(struct slot *s)
{
    s->stage = WAIT_CALL;
    grpc_call_details_init(&s->details);
    grpc_metadata_array_init(&s->md);
    /* Refused only once the server shuts down; the slot then rests. */
    grpc_server_request_call(server, &s->call, &s->details, &s->md, s->cq, s->cq, s);
}

static void release_call(struct slot *s)
{
    if (s->req)
        grpc_byte_buffer_destroy(s->req);
    if (s->resp)
        grpc_byte_buffer_destroy(s->resp);
    s->req = s->resp = NULL;
    if (s->call)
        grpc_call_unref(s->call);
    s->call = NULL;
    grpc_call_details_destroy(&s->details);
    grpc_metadata_array_destroy(&s->md);
}

static void start_reading(struct slot *s)
{
    grpc_op ops[2];
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_RECV_MESSAGE;
    ops[1].data.recv_message.recv_message = &s->req;
    s->stage = WAIT_REQUEST;
    if (grpc_call_start_batch(s->call, ops, 2, s, NULL) != GRPC_CALL_OK) {
        release_call(s);
        request_call(s);
    }
}

static void answer(struct slot *s)
{
    int found;
    grpc_slice resp = respond(s->details.method, s->req, &found);
    grpc_op ops[3];
    memset(ops, 0, sizeof ops);
    size_t n = 0;
    grpc_slice details = grpc_empty_slice();
    if (found) {
        s->resp = grpc_raw_byte_buffer_create(&resp, 1);
        grpc_slice_unref(resp);
        ops[n].op = GRPC_OP_SEND_MESSAGE;
        ops[n++].data.send_message.send_message = s->resp;
    } else {
        details = grpc_slice_from_static_string("bench-standin: no canned answer for this request");
    }
    ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    ops[n].data.send_status_from_server.status = found ? GRPC_STATUS_OK : GRPC_STATUS_NOT_FOUND;
    ops[n++].data.send_status_from_server.status_details = &details;
    ops[n].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    ops[n++].data.recv_close_on_server.cancelled = &s->cancelled;
    s->stage = WAIT_DONE;
    if (grpc_call_start_batch(s->call, ops, n, s, NULL) != GRPC_CALL_OK) {
        release_call(s);
        request_call(s);
    }
}

static void *serve(void *arg)
{
    grpc_completion_queue *cq = arg;
    struct slot *slots = calloc(SLOTS_PER_THREAD, sizeof *slots);
    for (int i = 0; i < SLOTS_PER_THREAD; i++) {
        slots[i].cq = cq;
        request_call(&slots[i]);
    }
    for (;;) {
        grpc_event ev = grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        if (ev.type == GRPC_QUEUE_SHUTDOWN)
            break;
        struct slot *s = ev.tag;
        if (s->stage == WAIT_CALL) {
            if (ev.success)
                start_reading(s);
            else
                release_call(s);      /* the server is shutting down */
            continue;
        }
        if (s->stage == WAIT_REQUEST && ev.success) {
            answer(s);
            continue;
        }
        release_call(s);
        request_call(s);
    }
    free(slots);
    return NULL;
}

static void write_ports(const char *path, int port)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f || fprintf(f, "{\"grpc\": %d}\n", port) < 0 || fclose(f) != 0 ||
        rename(tmp, path) != 0) {
        fprintf(stderr, "bench-standin: cannot write %s\n", path);
        exit(2);
    }
}

int main(int argc, char **argv)
{
    const char *manifest = NULL, *listen_addr = "127.0.0.1:0", *ports_file = NULL;
    int threads = 2;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--manifest"))
            manifest = argv[i + 1];
        else if (!strcmp(argv[i], "--listen"))
            listen_addr = argv[i + 1];
        else if (!strcmp(argv[i], "--ports-file"))
            ports_file = argv[i + 1];
        else if (!strcmp(argv[i], "--threads"))
            threads = atoi(argv[i + 1]);
    }
    if (!manifest || threads < 1 || threads > MAX_THREADS) {
        fprintf(stderr, "usage: bench-standin --manifest FILE [--listen ADDR] "
                        "[--threads 1-%d] [--ports-file FILE]\n", MAX_THREADS);
        return 64;
    }
    load_manifest(manifest);

    /* Signals are taken by sigwait below, never by gRPC's threads. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);

    grpc_init();
    grpc_arg args[1];
    memset(args, 0, sizeof args);
    args[0].type = GRPC_ARG_INTEGER;
    args[0].key = (char *)GRPC_ARG_MAX_SEND_MESSAGE_LENGTH;
    args[0].value.integer = -1;
    grpc_channel_args cargs = {.num_args = 1, .args = args};
    server = grpc_server_create(&cargs, NULL);
    grpc_completion_queue *cqs[MAX_THREADS];
    for (int i = 0; i < threads; i++) {
        cqs[i] = grpc_completion_queue_create_for_next(NULL);
        grpc_server_register_completion_queue(server, cqs[i], NULL);
    }
    grpc_completion_queue *shutdown_cq = grpc_completion_queue_create_for_pluck(NULL);
    grpc_server_register_completion_queue(server, shutdown_cq, NULL);
    grpc_server_credentials *creds = grpc_insecure_server_credentials_create();
    int port = grpc_server_add_http2_port(server, listen_addr, creds);
    grpc_server_credentials_release(creds);
    if (port <= 0) {
        fprintf(stderr, "bench-standin: cannot listen on %s\n", listen_addr);
        return 2;
    }
    grpc_server_start(server);
    pthread_t tid[MAX_THREADS];
    for (int i = 0; i < threads; i++)
        pthread_create(&tid[i], NULL, serve, cqs[i]);
    if (ports_file)
        write_ports(ports_file, port);
    fprintf(stderr, "bench-standin: %zu answers on port %d, %d threads\n", n_answers, port,
            threads);

    int sig;
    sigwait(&stop, &sig);
    grpc_server_shutdown_and_notify(server, shutdown_cq, NULL);
    grpc_server_cancel_all_calls(server);
    grpc_completion_queue_pluck(shutdown_cq, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    for (int i = 0; i < threads; i++)
        grpc_completion_queue_shutdown(cqs[i]);
    for (int i = 0; i < threads; i++) {
        pthread_join(tid[i], NULL);
        grpc_completion_queue_destroy(cqs[i]);
    }
    grpc_server_destroy(server);
    grpc_completion_queue_shutdown(shutdown_cq);
    grpc_completion_queue_pluck(shutdown_cq, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    grpc_completion_queue_destroy(shutdown_cq);
    for (size_t i = 0; i < n_answers; i++) {
        grpc_slice_unref(answers[i].method);
        grpc_slice_unref(answers[i].request);
        grpc_slice_unref(answers[i].response);
        grpc_slice_unref(answers[i].paused_response);
    }
    for (unsigned i = 0; i < n_methods; i++)
        grpc_slice_unref(methods[i].path);
    free(answers);
    free(table);
    grpc_shutdown();
    return 0;
}
