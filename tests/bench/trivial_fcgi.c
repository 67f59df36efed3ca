/* bench-trivial-fcgi: the FastCGI floor of the whole-path benchmark and of
 * the load test. A libfcgi responder that answers every request with the
 * same small JSON, run under spawn-fcgi behind the shipped nginx
 * configuration (or as lighttpd's or mod_fcgid's bin-path): what the web
 * server and the FastCGI hop cost before cuegw does any work. It reads the
 * body (libfcgi would otherwise drain it in FCGX_Finish_r anyway) so that
 * the hop carries what a real call does.
 *
 * TRIVIAL_THREADS=N (default 1) serves N connections at once, each thread
 * with its own accept loop. nginx keeps up to `keepalive` idle connections
 * per worker to its upstream (conf/nginx.conf), and a libfcgi thread keeps
 * serving the connection it accepted until nginx closes it: with fewer
 * threads than kept connections, requests nginx sends down the others wait
 * in the listen queue, which the load test's bursts would measure instead
 * of the hop.
 *
 * TRIVIAL_CUEBOT=HOST:PORT makes it the floor of a small call as a whole:
 * before answering, each request makes one GetShows call with an empty
 * request (the small call's) through cuegw's own Cuebot
 * client (upstream/cuebot.c, one channel per process, as in cuegw), and
 * throws the answer away. The FastCGI hop plus the gRPC call, in one
 * thread, with no gateway work between them: what is left above it is
 * cuegw's own (tokens, JSON, routing, its reactor, its log). */
#include <fcgiapp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "upstream/cuebot.h"

#define THREADS_MAX 256

static const char answer[] =
    "Status: 200 OK\r\n"
    "Content-Type: application/json\r\n"
    "Content-Length: 53\r\n"
    "\r\n"
    "{\"shows\":{\"shows\":[{\"id\":\"bench\",\"name\":\"trivial\"}]}}";

static const char failed[] =
    "Status: 502 Bad Gateway\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

static struct cuebot *cuebot;   /* TRIVIAL_CUEBOT set */

/* The call of a TRIVIAL_CUEBOT request; 0 when it was answered OK. */
static int call(struct arena *a)
{
    struct cg_status st;
    uint8_t *resp;
    size_t resp_len;
    int rc = cuebot_call(cuebot, "/show.ShowInterface/GetShows", (const uint8_t *)"", 0, 30000,
                         "floor", a, &resp, &resp_len, &st);
    arena_reset(a);
    return rc;
}

static void *serve(void *unused)
{
    FCGX_Request req;
    char buf[4096];
    struct arena a;
    (void)unused;
    if (FCGX_InitRequest(&req, 0, 0) != 0)
        return NULL;
    arena_init(&a, 0);
    while (FCGX_Accept_r(&req) >= 0) {
        while (FCGX_GetStr(buf, sizeof buf, req.in) > 0)
            ;
        if (cuebot && call(&a) != 0)
            FCGX_PutStr(failed, (int)sizeof failed - 1, req.out);
        else
            FCGX_PutStr(answer, (int)sizeof answer - 1, req.out);
        FCGX_Finish_r(&req);
    }
    arena_free(&a);
    return NULL;
}

int main(void)
{
    const char *env = getenv("TRIVIAL_THREADS");
    const char *endpoint = getenv("TRIVIAL_CUEBOT");
    long n = env ? strtol(env, NULL, 10) : 1;
    if (n < 1 || n > THREADS_MAX || FCGX_Init() != 0)
        return 1;
    if (endpoint && *endpoint) {
        struct cuebot_settings cs = {.endpoints = endpoint};
        struct cg_status st;
        if (!(cuebot = cuebot_open(&cs, &st))) {
            fprintf(stderr, "bench-trivial-fcgi: %s\n", st.msg);
            return 1;
        }
    }
    /* Never joined: the threads serve until the process is stopped. */
    for (long i = 1; i < n; i++) {
        pthread_t t;
        if (pthread_create(&t, NULL, serve, NULL) != 0)
            return 1;
    }
    serve(NULL);
    return 1;
}
