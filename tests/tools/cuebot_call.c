/* cuebot-call: one Cuebot method from the command line, through the same
 * gRPC client the gateway uses.
 *
 *   cuebot-call [--endpoint E] [--timeout-ms N] [--request-id X] [--json]
 *               [--repeat N] [--max-recv BYTES] /pkg.Svc/Method
 *
 * The request comes on stdin, the response goes to stdout: wire bytes, or
 * JSON with --json. An error prints `status <code> <NAME>: <message>` on
 * stderr, and the exit status is the gRPC code (0 OK; 64 for bad usage).
 * --repeat N makes N calls in a row with the same request and prints the
 * CPU time per call (all of gRPC's threads included), for measuring the
 * client's own cost. The endpoint defaults to $CUEBOT_ENDPOINT, then
 * localhost:8443; CUEBOT_TLS_CA, CUEBOT_TLS_CERT and CUEBOT_TLS_KEY are
 * read from the environment. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "base/arena.h"
#include "upstream/cuebot.h"
#include "json/json_to_pb.h"
#include "base/outbuf.h"
#include "json/pb_to_json.h"
#include "pb/schema.h"

#define EXIT_USAGE 64
#define STDIN_MAX (512u * 1024 * 1024)

struct options {
    const char *endpoint, *request_id, *path;
    int64_t timeout_ms;
    long repeat;
    size_t max_recv;
    int json;
};

static int usage(void)
{
    fputs("usage: cuebot-call [--endpoint E] [--timeout-ms N] [--request-id X] [--json]\n"
          "                   [--repeat N] [--max-recv BYTES] /pkg.Svc/Method\n", stderr);
    return EXIT_USAGE;
}

static int parse_num(const char *s, long long low, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < low)
        return -1;
    *out = v;
    return 0;
}

static int parse_options(int argc, char **argv, struct options *o)
{
    memset(o, 0, sizeof *o);
    o->endpoint = getenv("CUEBOT_ENDPOINT");
    if (!o->endpoint || !*o->endpoint)
        o->endpoint = "localhost:8443";
    o->timeout_ms = 30000;
    o->repeat = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        long long v;
        if (strcmp(a, "--json") == 0) {
            o->json = 1;
        } else if (a[0] == '-' && a[1] == '-') {
            if (i + 1 >= argc)
                return -1;
            const char *val = argv[++i];
            if (strcmp(a, "--endpoint") == 0)
                o->endpoint = val;
            else if (strcmp(a, "--request-id") == 0)
                o->request_id = val;
            else if (strcmp(a, "--timeout-ms") == 0 && parse_num(val, 1, &v) == 0)
                o->timeout_ms = v;
            else if (strcmp(a, "--repeat") == 0 && parse_num(val, 1, &v) == 0 && v <= 100000000)
                o->repeat = (long)v;
            else if (strcmp(a, "--max-recv") == 0 && parse_num(val, 1, &v) == 0)
                o->max_recv = (size_t)v;
            else
                return -1;
        } else if (!o->path) {
            o->path = a;
        } else {
            return -1;
        }
    }
    return o->path ? 0 : -1;
}

/* All of stdin, in one malloc'd block (never NULL on success). */
static char *read_stdin(size_t *len)
{
    size_t cap = 64 * 1024, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, stdin);
        if (n < cap)
            break;
        if (cap >= STDIN_MAX) {
            free(buf);
            return NULL;
        }
        char *bigger = realloc(buf, cap * 2);
        if (!bigger)
            free(buf);
        buf = bigger;
        cap *= 2;
    }
    if (!buf || ferror(stdin)) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

static int report(const struct cg_status *st)
{
    fprintf(stderr, "status %d %s: %s\n", st->code, cg_code_name(st->code), st->msg);
    return st->code ? st->code : 1;
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static double wall_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Writes the response as wire bytes or as JSON. */
static int write_response(const struct options *o, const struct method_info *m,
                          const uint8_t *resp, size_t resp_len, struct arena *a,
                          struct cg_status *st)
{
    if (!o->json)
        return fwrite(resp, 1, resp_len, stdout) == resp_len ? 0
               : cg_fail(st, CG_INTERNAL, "writing stdout failed");
    struct outbuf ob;
    outbuf_init(&ob, 0);
    int rc = pb_to_json(m->out, resp, resp_len, a, &ob, st);
    if (rc == 0) {
        outbuf_putc(&ob, '\n');
        if (ob.failed)
            rc = cg_fail(st, CG_INTERNAL, "out of memory for the JSON response");
        else if (fwrite(ob.data, 1, ob.len, stdout) != ob.len)
            rc = cg_fail(st, CG_INTERNAL, "writing stdout failed");
    }
    outbuf_free(&ob);
    return rc;
}

static int run(const struct options *o, struct cuebot *cb, const struct method_info *m,
               const uint8_t *req, size_t req_len, struct arena *a, struct cg_status *st)
{
    uint8_t *resp = NULL;
    size_t resp_len = 0;
    double cpu0 = cpu_seconds(), wall0 = wall_seconds();
    for (long i = 0; i < o->repeat; i++) {
        if (i)
            arena_reset(a);
        if (cuebot_call(cb, o->path, req, req_len, o->timeout_ms, o->request_id, a, &resp,
                        &resp_len, st) != 0)
            return -1;
    }
    if (o->repeat > 1) {
        double n = (double)o->repeat;
        fprintf(stderr, "calls %ld, cpu_us_per_call %.1f\n", o->repeat,
                (cpu_seconds() - cpu0) * 1e6 / n);
        fprintf(stderr, "wall_us_per_call %.1f\n", (wall_seconds() - wall0) * 1e6 / n);
    }
    return write_response(o, m, resp, resp_len, a, st);
}

int main(int argc, char **argv)
{
    struct options o;
    if (parse_options(argc, argv, &o) != 0)
        return usage();
    struct cg_status st;
    cg_status_clear(&st);

    const struct method_info *m = NULL;
    if (o.json) {
        if (schema_init(&st) != 0)
            return report(&st);
        if (!(m = schema_method(o.path, strlen(o.path)))) {
            cg_fail(&st, CG_NOT_FOUND, "no method %s in the schema", o.path);
            return report(&st);
        }
    }
    size_t in_len;
    char *in = read_stdin(&in_len);
    if (!in) {
        fputs("cuebot-call: cannot read stdin\n", stderr);
        return EXIT_USAGE;
    }

    /* The request lives in its own arena: the call's arena is reset before
     * every call, the request is sent again each time. */
    struct arena req_arena, call_arena;
    arena_init(&req_arena, 0);
    arena_init(&call_arena, 0);
    const uint8_t *req = (const uint8_t *)in;
    size_t req_len = in_len;
    int rc = 0;
    if (o.json) {
        uint8_t *wire = NULL;
        if (json_to_pb(m->in, in, in_len, &req_arena, &wire, &req_len, &st) != 0)
            rc = -1;
        req = wire;
    }

    struct cuebot *cb = NULL;
    if (rc == 0) {
        struct cuebot_settings cs = {
            .endpoints = o.endpoint,
            .max_recv = o.max_recv,
            .max_send = 0,
            .tls_ca = getenv("CUEBOT_TLS_CA"),
            .tls_cert = getenv("CUEBOT_TLS_CERT"),
            .tls_key = getenv("CUEBOT_TLS_KEY"),
        };
        if (!(cb = cuebot_open(&cs, &st)))
            rc = -1;
    }
    if (rc == 0)
        rc = run(&o, cb, m, req, req_len, &call_arena, &st);
    fflush(stdout);

    cuebot_close(cb);
    arena_free(&call_arena);
    arena_free(&req_arena);
    free(in);
    return rc == 0 ? 0 : report(&st);
}
