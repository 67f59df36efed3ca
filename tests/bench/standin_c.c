/* bench-standin: the benchmark's stand-in Cuebot, a gRPC server on the C
 * core that answers from canned wire bytes, so that it costs little CPU
 * and never becomes the bottleneck of a whole-path run (the Python stand-in
 * of the integration tests spends milliseconds per large answer).
 *
 *   bench-standin --manifest FILE [--listen 127.0.0.1:0] [--threads N]
 *                 [--ports-file FILE]
 *
 * The manifest (written by make_farm.py) has one answer a line:
 *   <method path> <request .pb file> <response .pb file>
 * paths relative to the manifest's directory. A call is answered with the
 * response of the line whose method and request bytes both match exactly;
 * anything else gets NOT_FOUND, which the benchmark counts as an error. The
 * port actually bound is written to the ports file as {"grpc": N}.
 * SIGTERM or SIGINT stops it. */
#include <errno.h>
#include <pthread.h>
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

#define MAX_ANSWERS 64
#define SLOTS_PER_THREAD 64   /* calls a thread can have under way at once */
#define MAX_THREADS 16

struct answer {
    grpc_slice method, request, response;
};

static struct answer answers[MAX_ANSWERS];
static size_t n_answers;
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
    char method[512], req[1024], resp[1024];
    while (fscanf(f, "%511s %1023s %1023s", method, req, resp) == 3) {
        if (n_answers == MAX_ANSWERS) {
            fprintf(stderr, "bench-standin: more than %d answers\n", MAX_ANSWERS);
            exit(2);
        }
        struct answer *a = &answers[n_answers++];
        a->method = grpc_slice_from_copied_string(method);
        a->request = read_file(dir, req);
        a->response = read_file(dir, resp);
    }
    fclose(f);
    if (!n_answers) {
        fprintf(stderr, "bench-standin: %s holds no answers\n", path);
        exit(2);
    }
}

static const struct answer *find_answer(grpc_slice method, grpc_byte_buffer *req)
{
    grpc_slice body = grpc_empty_slice();
    if (req) {
        grpc_byte_buffer_reader r;
        if (grpc_byte_buffer_reader_init(&r, req)) {
            body = grpc_byte_buffer_reader_readall(&r);
            grpc_byte_buffer_reader_destroy(&r);
        }
    }
    const struct answer *found = NULL;
    for (size_t i = 0; i < n_answers && !found; i++)
        if (grpc_slice_eq(answers[i].method, method) && grpc_slice_eq(answers[i].request, body))
            found = &answers[i];
    grpc_slice_unref(body);
    return found;
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
    const struct answer *a = find_answer(s->details.method, s->req);
    grpc_op ops[3];
    memset(ops, 0, sizeof ops);
    size_t n = 0;
    grpc_slice details = grpc_empty_slice();
    if (a) {
        grpc_slice resp = grpc_slice_ref(a->response);
        s->resp = grpc_raw_byte_buffer_create(&resp, 1);
        grpc_slice_unref(resp);
        ops[n].op = GRPC_OP_SEND_MESSAGE;
        ops[n++].data.send_message.send_message = s->resp;
    } else {
        details = grpc_slice_from_static_string("bench-standin: no canned answer for this request");
    }
    ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    ops[n].data.send_status_from_server.status = a ? GRPC_STATUS_OK : GRPC_STATUS_NOT_FOUND;
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
    }
    grpc_shutdown();
    return 0;
}
