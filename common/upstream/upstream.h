/* What the gateway sees of Cuebot: one call, a health wait, a state name.
 * The gRPC client (cuebot.h, cuebot_upstream) is the implementation cuegw
 * ships; tests put a stand-in with canned replies behind the same table, so
 * every answer the gateway makes, successes included, can be checked in
 * process without a network, a web server or gRPC.
 *
 * The functions keep the contracts cuebot.h documents for cuebot_call,
 * cuebot_wait_usable, cuebot_state_name and cuebot_current_endpoint; an
 * implementation shared by threads must allow calls from several at once. */
#ifndef CUEGW_UPSTREAM_H
#define CUEGW_UPSTREAM_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/arena.h"
#include "base/status.h"

struct upstream_ops {
    /* One unary call; the reply's wire bytes in one block from `a`.
     * Returns 0, or -1 with st set (see cuebot_call). */
    int (*call)(void *ctx, const char *method_path, const uint8_t *req, size_t req_len,
                int64_t timeout_ms, const char *request_id, struct arena *a,
                uint8_t **resp, size_t *resp_len, struct cg_status *st);
    /* 1 when a call could be made now or within timeout_ms. */
    int (*wait_usable)(void *ctx, int64_t timeout_ms);
    /* A static string for metrics and logs ("READY", ...). */
    const char *(*state_name)(void *ctx);
    /* Where calls go now, for messages. */
    const char *(*current_endpoint)(void *ctx);
};

/* A value: copied freely, the ops and ctx it names outlive every copy.
 * ops NULL is "no upstream" (every call answers 503). */
struct upstream {
    const struct upstream_ops *ops;
    void *ctx;
};

static inline int upstream_present(const struct upstream *u)
{
    return u->ops != NULL;
}

static inline int upstream_call(const struct upstream *u, const char *method_path,
                                const uint8_t *req, size_t req_len, int64_t timeout_ms,
                                const char *request_id, struct arena *a, uint8_t **resp,
                                size_t *resp_len, struct cg_status *st)
{
    return u->ops->call(u->ctx, method_path, req, req_len, timeout_ms, request_id, a, resp,
                        resp_len, st);
}

static inline int upstream_wait_usable(const struct upstream *u, int64_t timeout_ms)
{
    return u->ops->wait_usable(u->ctx, timeout_ms);
}

static inline const char *upstream_state_name(const struct upstream *u)
{
    return u->ops->state_name(u->ctx);
}

static inline const char *upstream_current_endpoint(const struct upstream *u)
{
    return u->ops->current_endpoint(u->ctx);
}

/* A reply kept outside the request (a shared call's, a cached one) copied
 * into the request's arena, as an implementation's call must return it:
 * one block, never NULL, even for an empty reply. */
static inline int upstream_reply_copy(const uint8_t *bytes, size_t len, struct arena *a,
                                      uint8_t **resp, size_t *resp_len, struct cg_status *st)
{
    uint8_t *p = arena_alloc(a, len ? len : 1);
    if (!p)
        return cg_fail(st, CG_INTERNAL,
                       "Cuebot's %zu-byte response does not fit the request's memory cap", len);
    if (len)
        memcpy(p, bytes, len);
    *resp = p;
    *resp_len = len;
    return 0;
}

#endif
