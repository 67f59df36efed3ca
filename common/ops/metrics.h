/* Prometheus metrics summed over every process of a pool (SPEC §1).
 *
 * The counters live in one small file that every process of the pool maps
 * (MAP_SHARED) and updates with lock-free atomic adds, so a scrape served by
 * any process sees the whole pool, and a process that dies (even by
 * SIGKILL) loses nothing it counted. What belongs to one process (requests
 * in flight, its Cuebot channel state, its start time) sits in a slot the
 * process claims by pid; a slot whose process is gone is left out of a
 * scrape and reused by the next process.
 *
 * Where the file is (metrics_store.c):
 *   METRICS_DIR set          METRICS_DIR/cuegw.metrics
 *   else a unix socket       beside the FastCGI socket, named after it
 *                            (a trailing "-N" or ".N" of lighttpd's and
 *                            mod_fcgid's per-process sockets dropped)
 *   else (TCP, no name)      ${TMPDIR:-/tmp}/cuegw-<uid>/<hash>.metrics
 *   when that directory is not ours (another local user made it first, or
 *                            made it a symbolic link): process memory,
 *                            shared with the children forked later, and
 *                            an error in the log
 * The name carries a hash of the socket, URL_PREFIX and CUEBOT_ENDPOINT, so
 * two gateways of one host never add up each other's numbers. Files are
 * mode 0600 and directories made here 0700.
 *
 * Every function may run from several threads at once, except
 * metrics_open, which runs once before the process (or pool) serves. */
#ifndef CUEGW_METRICS_H
#define CUEGW_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "ops/config.h"
#include "base/outbuf.h"
#include "base/status.h"

/* The "method" label: a schema method is METRICS_FIRST_METHOD + its index
 * in the schema's method table; anything the router does not know is
 * "other". */
enum {
    METRICS_OTHER = 0,
    METRICS_HEALTH = 1,
    METRICS_SCRAPE = 2,
    METRICS_FIRST_METHOD = 3
};

/* The ACCESS_POLICY permission a caller needs to scrape: named like a
 * method, so a policy line allows it on purpose ("cuegw.Metrics/Scrape",
 * "cuegw.*") or with everything ("*"), and never with an interface's
 * methods. READ_ONLY does not refuse it: a scrape changes nothing. */
#define METRICS_PERMISSION "cuegw.Metrics/Scrape"

/* The FastCGI socket a pool serves, as fcgi/listen.c describes it: by
 * default the pool's file is placed beside a unix socket and named after it,
 * so that the processes a web server starts on one socket count together. */
struct metrics_socket {
    char dir[300];              /* a unix socket's directory, or "" */
    char base[120];             /* its file name, the per-process number cut */
    char key[400];              /* "unix:DIR/BASE", "tcp:ADDR:PORT", or "" */
};

/* Maps the pool's file for a process (or pool parent) about to serve on
 * `sock` (NULL: none). Children forked later share the mapping. Returns 0;
 * or -1 with st saying why the file cannot be used (for the log: it names
 * the path), and metrics then answer 503 with a body that does not
 * (requests are served as usual). Directories are opened without
 * following a symbolic link and checked on the opened descriptor. A second call does nothing.
 * Needs nothing else; it builds the schema registry itself. */
int metrics_open(const struct cg_config *cfg, const struct metrics_socket *sock,
                 struct cg_status *st);

/* For a process that never called metrics_open (unit tests, tools): keeps
 * its counters in its own memory. Then claims this process's slot. Called
 * by gateway_init; cheap after the first call in a process. */
void metrics_ensure(void);

/* Where the counters are kept (a path, "process memory", or why there are
 * none), for logs and --check-config. */
const char *metrics_location(void);

/* A request starts / ends. channel_state is cuebot_state_name()'s answer
 * (NULL: unknown). */
void metrics_request_start(void);
struct metrics_request {
    unsigned method;                 /* METRICS_OTHER, ..., METRICS_FIRST_METHOD + i */
    int http;                        /* HTTP status sent (0: none) */
    int code;                        /* gRPC code */
    int64_t duration_us;
    size_t bytes_in, bytes_out;
    const char *channel_state;
};
void metrics_request_end(const struct metrics_request *r);

/* This process's Cuebot channel state now (cuebot_state_name's answer), so
 * that a process which has served nothing yet is counted too. */
void metrics_channel_state(const char *state);

/* A FastCGI peer missed a deadline: PARAMS_TIMEOUT, BODY_TIMEOUT or
 * WRITE_TIMEOUT. */
enum { METRICS_TIMEOUT_PARAMS = 0, METRICS_TIMEOUT_BODY, METRICS_TIMEOUT_WRITE,
       METRICS_TIMEOUT_PHASES };
void metrics_peer_timeout(int phase);

/* A refusal, counted under its kind's label: a kind of class AUTH (but
 * AUTH_INTERNAL) or DENY in base/errors.def. Other kinds are ignored. */
void metrics_auth_failure(enum cg_error kind);

/* SHARE_READS's read-your-writes: the count of mutating Cuebot calls the
 * whole pool has completed. metrics_mutations reads it into *count (with
 * acquire ordering: what a counted call's process did before counting is
 * seen) and returns 0; it returns -1 when the counters are not in the
 * pool's file (METRICS_PATH=off, or the file could not be used: process
 * memory is not shared with processes the web server started apart), and
 * then no read may be shared. */
int metrics_mutations(uint64_t *count);
/* A mutating call completed, whatever its outcome. */
void metrics_mutation_done(void);
/* A read was answered by another request's Cuebot call. */
void metrics_shared_read(void);
/* A read was answered from the process's READ_CACHE_MS cache. */
void metrics_read_cache_hit(void);
/* Reads of this process waiting on another's call: delta +1 as one joins,
 * -1 as it wakes. */
void metrics_shared_waiting(int delta);

/* Writes the text exposition format (version 0.0.4). channel_state: the
 * calling process's Cuebot channel state now. Returns -1 with st set when
 * there are no metrics to show (the file could not be opened). */
int metrics_render(struct outbuf *ob, const char *channel_state, struct cg_status *st);

#endif
