/* One unary call to Cuebot: a single batch of the six client operations on
 * a completion queue of the call's own, failing over to the next endpoint
 * when one is unavailable. */
#include "upstream/cuebot_impl.h"

#include <stdio.h>
#include <string.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include "base/utf8.h"

/* How gRPC's message-size filter words a response over the receive cap. A
 * status Cuebot sends itself has no reason to start so, so a genuine
 * RESOURCE_EXHAUSTED from Cuebot still passes through. */
static const char too_big_prefix[] = "Received message larger than max";

/* The outcome of one attempt on one channel. */
struct attempt {
    grpc_status_code code;
    grpc_slice details;
    grpc_byte_buffer *resp;
    int from_peer;          /* the status came from Cuebot, not the channel */
};

/* How gRPC core (1.51, and since 1.2x) begins the debug string of a status
 * that arrived in the peer's trailers. Any other failing status was made
 * on this side: a refused or dropped connection, a failed DNS lookup. */
static const char from_peer_marker[] = "Error received from peer";

/* Copies a status message into st->msg, whole code points only, so that a
 * cut never leaves half a UTF-8 sequence; invalid bytes become '?'. */
static void copy_message(struct cg_status *st, const char *prefix, grpc_slice s)
{
    const unsigned char *p = GRPC_SLICE_START_PTR(s);
    size_t n = GRPC_SLICE_LENGTH(s);
    size_t out = strlen(prefix);
    if (out >= sizeof st->msg)
        out = sizeof st->msg - 1;
    memmove(st->msg, prefix, out);
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t k = utf8_decode(p + i, n - i, &cp);
        const unsigned char *src = p + i;
        if (k == 0) {
            src = (const unsigned char *)"?";
            k = 1;
            i += 1;
        } else {
            i += k;
        }
        if (out + k >= sizeof st->msg)
            break;
        memcpy(st->msg + out, src, k);
        out += k;
    }
    st->msg[out] = '\0';
}

static int starts_with(grpc_slice s, const char *prefix, size_t len)
{
    return GRPC_SLICE_LENGTH(s) >= len && memcmp(GRPC_SLICE_START_PTR(s), prefix, len) == 0;
}

static int slice_has(grpc_slice s, const char *needle)
{
    size_t n = strlen(needle);
    return memmem(GRPC_SLICE_START_PTR(s), GRPC_SLICE_LENGTH(s), needle, n) != NULL;
}

/* A Cuebot that requires client certificates ends the connection of a
 * client that sent none, during the TLS handshake or (TLS 1.3, where the
 * client's side of the handshake is over first) just after it. gRPC then
 * reports only "Socket closed", a failed handshake or a TLS alert, which
 * does not name the missing certificate; a connection that was never made
 * (refused, no route, no such host) says so in other words and gets no
 * hint. */
static int looks_like_tls_refusal(grpc_slice details)
{
    static const char *const signs[] = {"Socket closed", "andshake", "certificate",
                                        "Connection reset", "alert"};
    for (size_t i = 0; i < sizeof signs / sizeof *signs; i++)
        if (slice_has(details, signs[i]))
            return 1;
    return 0;
}

/* Runs one call on channel ch and fills *at. The request slice is only
 * referenced, so a failed attempt leaves it for the next. */
static void attempt_call(grpc_channel *ch, grpc_completion_queue *cq, grpc_slice method,
                         grpc_slice req, grpc_metadata *md, size_t n_md,
                         gpr_timespec deadline, struct attempt *at)
{
    grpc_metadata_array initial_md, trailing_md;
    grpc_metadata_array_init(&initial_md);
    grpc_metadata_array_init(&trailing_md);
    grpc_byte_buffer *send = grpc_raw_byte_buffer_create(&req, 1);
    at->code = GRPC_STATUS_UNKNOWN;
    at->details = grpc_empty_slice();
    at->resp = NULL;

    grpc_call *call = grpc_channel_create_call(ch, NULL, GRPC_PROPAGATE_DEFAULTS, cq, method,
                                               NULL, deadline, NULL);
    grpc_op ops[6];
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[0].data.send_initial_metadata.count = n_md;
    ops[0].data.send_initial_metadata.metadata = md;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = send;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &initial_md;
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = &at->resp;
    ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[5].data.recv_status_on_client.trailing_metadata = &trailing_md;
    ops[5].data.recv_status_on_client.status = &at->code;
    ops[5].data.recv_status_on_client.status_details = &at->details;
    const char *debug = NULL;
    ops[5].data.recv_status_on_client.error_string = &debug;

    /* The tag only has to be unique on this queue, which no one else uses
     * until it is given back. */
    grpc_call_error err = call ? grpc_call_start_batch(call, ops, 6, at, NULL)
                               : GRPC_CALL_ERROR;
    if (err == GRPC_CALL_OK) {
        /* The deadline guarantees the batch completes. */
        grpc_completion_queue_pluck(cq, at, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    } else {
        at->code = GRPC_STATUS_INTERNAL;
        grpc_slice_unref(at->details);
        at->details = grpc_slice_from_static_string("gRPC refused to start the call");
    }
    /* Without a debug string, trust the status as Cuebot's: only a status
     * known to be the channel's own has its message kept from clients. */
    at->from_peer = !debug || strstr(debug, from_peer_marker) != NULL;
    gpr_free((void *)debug);

    grpc_metadata_array_destroy(&initial_md);
    grpc_metadata_array_destroy(&trailing_md);
    grpc_byte_buffer_destroy(send);
    if (call)
        grpc_call_unref(call);
}

static void attempt_free(struct attempt *at)
{
    if (at->resp)
        grpc_byte_buffer_destroy(at->resp);
    grpc_slice_unref(at->details);
}

/* Copies the response's slices, once, into one arena block. */
static int copy_response(grpc_byte_buffer *bb, struct arena *a, uint8_t **out,
                         size_t *out_len, struct cg_status *st)
{
    grpc_byte_buffer_reader r;
    if (!grpc_byte_buffer_reader_init(&r, bb))
        return cg_fail(st, CG_INTERNAL, "Cuebot's response could not be decompressed");
    size_t n = grpc_byte_buffer_length(r.buffer_out);
    uint8_t *p = arena_alloc(a, n);
    if (!p) {
        grpc_byte_buffer_reader_destroy(&r);
        return cg_fail(st, CG_INTERNAL,
                       "Cuebot's %zu-byte response does not fit the request's memory cap", n);
    }
    size_t off = 0;
    grpc_slice *s;
    while (grpc_byte_buffer_reader_peek(&r, &s)) {
        size_t k = GRPC_SLICE_LENGTH(*s);
        if (k > n - off)
            break;
        memcpy(p + off, GRPC_SLICE_START_PTR(*s), k);
        off += k;
    }
    grpc_byte_buffer_reader_destroy(&r);
    if (off != n)
        return cg_fail(st, CG_INTERNAL, "Cuebot's response changed size while read");
    *out = p;
    *out_len = n;
    return 0;
}

/* Turns a finished attempt into cuebot_call's result. */
static int finish(struct cuebot *cb, const struct attempt *at, int all_unavailable,
                  struct arena *a, uint8_t **resp, size_t *resp_len, struct cg_status *st)
{
    if (at->code == GRPC_STATUS_OK) {
        if (!at->resp)
            return cg_fail(st, CG_INTERNAL, "Cuebot answered OK without a response message");
        return copy_response(at->resp, a, resp, resp_len, st);
    }
    if (at->code == GRPC_STATUS_RESOURCE_EXHAUSTED &&
        starts_with(at->details, too_big_prefix, sizeof too_big_prefix - 1))
        return cg_fail(st, CG_INTERNAL,
                       "Cuebot's response is larger than the %zu-byte limit "
                       "(GRPC_MAX_RECV_MSG_MB)", cb->max_recv);
    int code = (int)at->code;
    if (code < CG_CANCELLED || code > CG_UNAUTHENTICATED)
        code = CG_UNKNOWN;
    st->code = code;
    st->kind = 0;
    int channel_failed = code == CG_UNAVAILABLE && !at->from_peer;
    /* The hint comes first: gRPC's own words may fill the rest. */
    const char *hint = channel_failed && cb->tls_without_cert &&
                               looks_like_tls_refusal(at->details)
                           ? "the TLS connection failed: if Cuebot requires a client "
                             "certificate (mutual TLS), set CUEBOT_TLS_CERT and "
                             "CUEBOT_TLS_KEY; "
                           : "";
    char prefix[64 + 160];
    if (all_unavailable && cb->n > 1)
        snprintf(prefix, sizeof prefix, "all %u Cuebot endpoints are unavailable; %s", cb->n, hint);
    else
        snprintf(prefix, sizeof prefix, "%s", hint);
    if (GRPC_SLICE_LENGTH(at->details) == 0)
        cg_fail(st, code, "%sCuebot call failed: %s", prefix, cg_code_name(code));
    else
        copy_message(st, prefix, at->details);
    st->msg_internal = channel_failed;
    return -1;
}

int cuebot_call(struct cuebot *cb, const char *method_path,
                const uint8_t *req, size_t req_len, int64_t timeout_ms,
                const char *request_id, struct arena *a,
                uint8_t **resp, size_t *resp_len, struct cg_status *st)
{
    *resp = NULL;
    *resp_len = 0;
    if (req_len > cb->max_send) {
        char what[48], limit[24];
        snprintf(what, sizeof what, "the %zu-byte request", req_len);
        snprintf(limit, sizeof limit, "%zu", cb->max_send);
        return cg_fail_kind(st, CG_E_BODY_TOO_LARGE, what, limit);
    }

    grpc_metadata md;
    size_t n_md = 0;
    if (request_id && *request_id) {
        memset(&md, 0, sizeof md);
        md.key = grpc_slice_from_static_string("x-request-id");
        md.value = grpc_slice_from_copied_string(request_id);
        if (!grpc_header_nonbin_value_is_legal(md.value)) {
            grpc_slice_unref(md.value);
            return cg_fail(st, CG_INVALID_ARGUMENT,
                           "the request id is not a legal gRPC metadata value");
        }
        n_md = 1;
    }
    struct cq_node *q = cuebot_cq_take(cb);
    if (!q) {
        if (n_md)
            grpc_slice_unref(md.value);
        return cg_fail(st, CG_RESOURCE_EXHAUSTED, "out of memory for a Cuebot call's queue");
    }

    /* gRPC may still hold the method and request slices for a moment after
     * the call is released, so they are gRPC's own copies, not the
     * caller's memory. */
    grpc_slice method = grpc_slice_from_copied_string(method_path);
    grpc_slice body = grpc_slice_from_copied_buffer((const char *)req, req_len);
    gpr_timespec deadline = cuebot_deadline(timeout_ms);
    unsigned start = atomic_load_explicit(&cb->current, memory_order_relaxed) % cb->n;
    struct attempt at;
    unsigned k = 0;
    for (;;) {
        unsigned i = (start + k) % cb->n;
        attempt_call(cb->ch[i], q->cq, method, body, n_md ? &md : NULL, n_md, deadline, &at);
        k++;
        if (at.code != GRPC_STATUS_UNAVAILABLE) {
            /* An endpoint that answered is where the next call starts; one
             * that only ran out the clock proves nothing. */
            if (i != start && at.code != GRPC_STATUS_DEADLINE_EXCEEDED)
                atomic_store_explicit(&cb->current, i, memory_order_relaxed);
            break;
        }
        if (k == cb->n || gpr_time_cmp(gpr_now(GPR_CLOCK_MONOTONIC), deadline) >= 0)
            break;
        attempt_free(&at);
    }
    cuebot_cq_give(cb, q);

    cg_status_clear(st);
    int rc = finish(cb, &at, k == cb->n && at.code == GRPC_STATUS_UNAVAILABLE, a, resp,
                    resp_len, st);
    attempt_free(&at);
    grpc_slice_unref(method);
    grpc_slice_unref(body);
    if (n_md)
        grpc_slice_unref(md.value);
    return rc;
}

/* ---- the upstream interface -------------------------------------------------- */

static int up_call(void *ctx, const char *method_path, const uint8_t *req, size_t req_len,
                   int64_t timeout_ms, const char *request_id, struct arena *a,
                   uint8_t **resp, size_t *resp_len, struct cg_status *st)
{
    return cuebot_call(ctx, method_path, req, req_len, timeout_ms, request_id, a, resp,
                       resp_len, st);
}

static int up_wait_usable(void *ctx, int64_t timeout_ms)
{
    return cuebot_wait_usable(ctx, timeout_ms);
}

static const char *up_state_name(void *ctx)
{
    return cuebot_state_name(ctx);
}

static const char *up_current_endpoint(void *ctx)
{
    return cuebot_current_endpoint(ctx);
}

static const struct upstream_ops cuebot_ops = {
    .call = up_call, .wait_usable = up_wait_usable, .state_name = up_state_name,
    .current_endpoint = up_current_endpoint,
};

struct upstream cuebot_upstream(struct cuebot *cb)
{
    struct upstream u = {.ops = cb ? &cuebot_ops : NULL, .ctx = cb};
    return u;
}
