/* One request from start to end (SPEC §1): CORS preflight, health, auth,
 * routing, body limits, JSON -> protobuf, the Cuebot call, protobuf -> JSON,
 * and every error answer. It knows nothing of FastCGI: the caller hands it
 * a parameter getter, a body reader and an output writer, so the same code
 * runs under the FastCGI loop, in tests and in fuzz targets.
 *
 * Output is CGI-style: "Status:" and other header lines, a blank line, then
 * the body; the web server turns it into an HTTP response. */
#ifndef CUEGW_GATEWAY_H
#define CUEGW_GATEWAY_H

#include <stddef.h>

#include "base/arena.h"
#include "ops/config.h"
#include "base/outbuf.h"
#include "http/request_id.h"
#include "base/status.h"
#include "upstream/read_cache.h"
#include "upstream/shared_reads.h"
#include "upstream/upstream.h"

struct method_info;

struct cg_request_io {
    /* A FastCGI parameter ("REQUEST_METHOD", "HTTP_AUTHORIZATION") or NULL. */
    const char *(*param)(void *ctx, const char *name);
    /* Reads up to n body bytes; returns the count, 0 at the end, -1 on error. */
    long (*read)(void *ctx, char *buf, size_t n);
    /* Writes response bytes; 0, or -1 when the client is gone. */
    int (*write)(void *ctx, const char *p, size_t n);
    void *ctx;
    /* Optional: writes bytes that stay valid as long as the process (the
     * OpenAPI document), which a transport may then send without copying:
     * an answer nobody reads then costs no copy of it. NULL: write. */
    int (*write_static)(void *ctx, const char *p, size_t n);
};

/* Per-thread state, reused by every request the thread serves: the
 * settings, Cuebot (through the upstream interface), an arena for gateway_handle's requests and
 * the streaming output buffer (reset, not freed, between requests). */
struct gateway {
    const struct cg_config *cfg;
    struct upstream upstream;    /* ops NULL: every call answers 503 */
    struct arena arena;
    struct outbuf out;
};

/* What the transport found wrong with a request before the gateway saw
 * it: the gateway answers these with its usual error body and access line. */
enum cg_refusal {
    CG_REFUSE_NONE = 0,
    CG_REFUSE_PARAMS_TOO_BIG,    /* params over CG_MAX_PARAMS_BYTES or _COUNT */
    CG_REFUSE_PARAMS_BAD         /* malformed, or a param holds a NUL byte */
};

/* How the body of a request that wanted one arrived. */
enum cg_body {
    CG_BODY_OK = 0,              /* all of it */
    CG_BODY_TOO_BIG,             /* more than body_max: 413 */
    CG_BODY_TIMEOUT,             /* BODY_TIMEOUT passed: 408 */
    CG_BODY_BROKEN               /* the connection failed: 400 */
};

/* One request between its phases. The transport owns it (and the arena it
 * points to) from gateway_begin to gateway_end; its fields are the
 * gateway's. Strings it holds point into the arena or into the params. */
struct cg_exchange {
    struct gateway *g;           /* the thread serving the current phase */
    struct arena *arena;         /* everything the request allocates */
    const struct cg_request_io *io;
    const char *http_method;
    const char *path;            /* the request URI without its query */
    size_t path_len;
    const char *allow_origin;    /* CORS answer, NULL for none */
    char rid[REQUEST_ID_SIZE];
    const char *subject;
    const char *role;            /* the JWT role claim, for ACCESS_POLICY */
    const char *user;            /* REMOTE_USER or the JWT sub, for ACCESS_POLICY */
    struct auth_settings auth;   /* this request's: process settings + parameters */
    size_t bytes_in, bytes_out;
    int http, code;
    int head_sent, client_gone;
    const char *content_type;    /* NULL: application/json */
    const struct method_info *method;   /* the path's method, or NULL */
    const struct method_info *waiting;  /* the call that waits for its body */
    size_t body_limit;
    struct cg_status st;
};

/* cfg and what up names must outlive g; up is copied, and NULL means no
 * upstream (every call answers 503). Needs schema_init to have run. */
int gateway_init(struct gateway *g, const struct cg_config *cfg, const struct upstream *up,
                 struct cg_status *st);

/* SHARE_READS: `inner` (which must outlive it) wrapped so that identical
 * reads share one Cuebot call (upstream/shared_reads.h), a read being what
 * READ_ONLY allows, the mutations counted pool-wide in the metrics file.
 * NULL when memory runs out. Free with shared_reads_free. */
struct shared_reads *gateway_share_reads(const struct upstream *inner);

/* READ_CACHE_MS: `inner` (which must outlive it) wrapped so that a read's
 * answer serves identical reads for ttl_ms (upstream/read_cache.h), with
 * the same reads and the same pool-wide mutation count as
 * gateway_share_reads. count_mutations: 1 when `inner` does not count
 * mutations itself (no shared reads under it). NULL when memory runs out.
 * Free with read_cache_free. */
struct read_cache *gateway_read_cache(const struct upstream *inner, int64_t ttl_ms,
                                      int count_mutations);

/* 1 when READ_ONLY allows method_path ("/pkg.Svc/Method"). */
int gateway_method_is_read(const char *method_path);

/* The most a request's arena may hand out under cfg: its body and packed
 * request, the response's wire bytes and their unpacked form. */
size_t gateway_arena_limit(const struct cg_config *cfg);

/* Phase one: everything the params decide (CORS, health, auth, routing,
 * policy, the declared length). x is the caller's, filled here; a must
 * stay valid until gateway_end. Returns 0 when the answer is complete, or
 * 1 when the request waits for its body: at most *body_max bytes, and
 * *body_hint is what CONTENT_LENGTH declared (0: unknown). io->read is not
 * used: the body is the caller's to read, without holding a thread. */
int gateway_begin(struct gateway *g, struct cg_exchange *x, struct arena *a,
                  const struct cg_request_io *io, enum cg_refusal refusal,
                  size_t *body_max, size_t *body_hint);

/* Phase two, for a request gateway_begin left waiting: the body (when how
 * is CG_BODY_OK) is called through to Cuebot and the answer written. g may
 * be another thread's gateway than phase one's. */
void gateway_resume(struct gateway *g, struct cg_exchange *x, const struct cg_request_io *io,
                    const char *body, size_t len, enum cg_body how);

/* What happened to a request's answer after the gateway wrote it. */
enum cg_delivery {
    CG_DELIVERED = 0,
    CG_DELIVERY_GONE,            /* the web server closed or aborted */
    CG_DELIVERY_TIMEOUT          /* WRITE_TIMEOUT passed */
};

/* The end: the access line and the metrics, with the time the request held
 * the process from its first byte to its last. Callable from any thread;
 * the caller then releases the arena. */
void gateway_end(struct cg_exchange *x, int64_t duration_us, enum cg_delivery how);

/* All three phases for one request whose body io->read gives (tests, fuzz
 * targets, tools): always writes a complete answer unless the client went
 * away. Everything the request allocated is released before return. */
void gateway_handle(struct gateway *g, const struct cg_request_io *io);

void gateway_free(struct gateway *g);

#endif
