/* The gRPC client to Cuebot, on the gRPC C core. One struct cuebot holds a
 * channel per configured endpoint (they connect lazily and reconnect on
 * their own) and is shared by every request of a process.
 *
 * gRPC starts threads in grpc_init, and a forked child cannot use them, so a
 * process opens its cuebot only after it has stopped forking.
 *
 * cuebot_call, cuebot_wait_usable and cuebot_state_name may run from several
 * threads at once; cuebot_open and cuebot_close may not overlap anything.
 * Nothing here prints: every failure is reported through a cg_status, and no
 * message ever holds a key or certificate's contents. */
#ifndef CUEGW_CUEBOT_H
#define CUEGW_CUEBOT_H

#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/status.h"
#include "upstream/upstream.h"

/* More endpoints than this in CUEBOT_ENDPOINT is a configuration error. */
#define CUEBOT_MAX_ENDPOINTS 16

struct cuebot_settings {
    const char *endpoints;      /* "host:port[,host:port...]" (CUEBOT_ENDPOINT) */
    int keepalive_time_ms;      /* 0: gRPC's default (GRPC_KEEPALIVE_TIME) */
    int keepalive_timeout_ms;   /* 0: gRPC's default (GRPC_KEEPALIVE_TIMEOUT) */
    size_t max_send;            /* request cap, bytes (GRPC_MAX_MESSAGE_SIZE); 0: default */
    size_t max_recv;            /* response cap, bytes (GRPC_MAX_RECV_MSG_MB); 0: default */
    const char *tls_ca;         /* PEM file paths; all NULL or empty: plaintext */
    const char *tls_cert;       /* cert and key go together (mutual TLS) */
    const char *tls_key;
};

struct cuebot;

/* What cuebot_open would refuse in `s`, found without starting gRPC, so that
 * config_load stops start-up on it: each CUEBOT_ENDPOINT entry must be
 * host:port, [IPv6]:port, dns:///host:port or unix:/absolute/path (a URL
 * such as http://h:1, or a missing port, is refused); each TLS file must be
 * readable and hold what it is for (the CA and the cert a PEM certificate,
 * the key a PEM private key; a private key in the CA file is refused).
 * Returns 0, or -1 with st naming the setting. */
int cuebot_check_settings(const struct cuebot_settings *s, struct cg_status *st);

/* Calls grpc_init and creates one channel per endpoint (no connection is
 * made yet); run it in the process that will make the calls, after any
 * fork. The settings are copied, so the caller may free them after. Before
 * grpc_init it sets GRPC_CLIENT_CHANNEL_BACKUP_POLL_INTERVAL_MS in the
 * environment (unless already set), so call it while the process has one
 * thread.
 * Returns NULL with st set on a bad endpoint list, on TLS settings that
 * cannot be used (the message names CUEBOT_TLS_CA, CUEBOT_TLS_CERT or
 * CUEBOT_TLS_KEY and the path, never the file's contents), or when memory
 * runs out; gRPC is then shut down again. */
struct cuebot *cuebot_open(const struct cuebot_settings *s, struct cg_status *st);

/* One unary call of method_path ("/show.ShowInterface/GetShows") with the
 * request's wire bytes req/req_len, which stay the caller's. The deadline is
 * now + timeout_ms (at least 1 ms) and covers every endpoint tried: the call
 * starts at the current endpoint and, only when an endpoint answers
 * UNAVAILABLE, goes on to the next, each at most once; one that answers
 * anything else becomes the current endpoint. request_id, when non-NULL and
 * non-empty, is sent as `x-request-id` metadata; it must be a legal
 * metadata value (printable ASCII) or the call is refused with
 * INVALID_ARGUMENT before anything is sent.
 *
 * Returns 0 with the response's wire bytes in one block allocated from `a`
 * (*resp, *resp_len; valid until the arena is reset). Returns -1 with st
 * holding Cuebot's (or gRPC's) code and message, cut to fit, except:
 *  - a request over the send cap: RESOURCE_EXHAUSTED with HTTP 413;
 *  - a response over the receive cap, or OK without a message, or no arena
 *    memory for the response: INTERNAL (HTTP 500), so a size overflow is not
 *    mistaken for a client rate limit (429).
 * When the channel itself failed (UNAVAILABLE that Cuebot did not send: a
 * refused connection, a failed lookup), st->msg_internal is set: gRPC's
 * message names addresses and socket errors, for the log only. With TLS
 * and no client certificate, a connection closed in or right after the
 * handshake gets a first clause suggesting CUEBOT_TLS_CERT and
 * CUEBOT_TLS_KEY: that is how a Cuebot requiring mutual TLS refuses. */
int cuebot_call(struct cuebot *cb, const char *method_path,
                const uint8_t *req, size_t req_len, int64_t timeout_ms,
                const char *request_id, struct arena *a,
                uint8_t **resp, size_t *resp_len, struct cg_status *st);

/* For health checks: 1 when some endpoint's channel is READY now or becomes
 * READY within timeout_ms (idle channels are asked to connect); 0 otherwise.
 * With timeout_ms <= 0 it only looks. */
int cuebot_wait_usable(struct cuebot *cb, int64_t timeout_ms);

/* The best state among the endpoints' channels, READY first, then
 * CONNECTING, IDLE, TRANSIENT_FAILURE, SHUTDOWN: a static string for metrics
 * and logs. It never asks a channel to connect. */
const char *cuebot_state_name(struct cuebot *cb);

/* The endpoint calls start at now ("host:port", owned by cb). */
const char *cuebot_current_endpoint(struct cuebot *cb);

/* cb behind the interface the gateway calls through; cb must outlive it. */
struct upstream cuebot_upstream(struct cuebot *cb);

/* Destroys the channels and calls grpc_shutdown. No call may be in flight.
 * NULL is allowed. */
void cuebot_close(struct cuebot *cb);

#endif
