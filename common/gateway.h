/* One request from start to end (SPEC §1): CORS preflight, health, auth,
 * routing, body limits, JSON -> protobuf, the Cuebot call, protobuf -> JSON,
 * and every error answer. It knows nothing of libfcgi: the caller hands it
 * a parameter getter, a body reader and an output writer, so the same code
 * runs under the FastCGI loop, in tests and in fuzz targets.
 *
 * Output is CGI-style: "Status:" and other header lines, a blank line, then
 * the body; the web server turns it into an HTTP response. */
#ifndef CUEGW_GATEWAY_H
#define CUEGW_GATEWAY_H

#include <stddef.h>

#include "arena.h"
#include "config.h"
#include "outbuf.h"
#include "status.h"

struct cuebot;

struct cg_request_io {
    /* A FastCGI parameter ("REQUEST_METHOD", "HTTP_AUTHORIZATION") or NULL. */
    const char *(*param)(void *ctx, const char *name);
    /* Reads up to n body bytes; returns the count, 0 at the end, -1 on error. */
    long (*read)(void *ctx, char *buf, size_t n);
    /* Writes response bytes; 0, or -1 when the client is gone. */
    int (*write)(void *ctx, const char *p, size_t n);
    void *ctx;
};

/* Per-process state, reused by every request: the settings, the Cuebot
 * client and the request arena and output buffer (reset, not freed,
 * between requests). */
struct gateway {
    const struct cg_config *cfg;
    struct cuebot *cuebot;       /* NULL: every call answers 503 */
    struct arena arena;
    struct outbuf out;
};

/* cfg and cuebot must outlive g. Needs schema_init to have run. */
int gateway_init(struct gateway *g, const struct cg_config *cfg, struct cuebot *cuebot,
                 struct cg_status *st);

/* Serves one request; always writes a complete answer unless the client
 * went away. Everything the request allocated is released before return. */
void gateway_handle(struct gateway *g, const struct cg_request_io *io);

void gateway_free(struct gateway *g);

#endif
