/* Opening and closing the Cuebot client: the endpoint list, channel
 * arguments, TLS credentials, the pool of completion queues, and the
 * channels' connectivity state. The call itself is in cuebot.c. */
#include "upstream/cuebot_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <grpc/grpc_security.h>
#include <grpc/support/log.h>
#include <grpc/support/time.h>

#include "base/cg_limits.h"
#include "base/log.h"
#include "base/text_list.h"

/* Reconnection after Cuebot comes back. gRPC waits `initial` after the first
 * failed attempt and grows the wait up to `max`, so a restarted Cuebot is
 * found again within about a second instead of gRPC's default of up to two
 * minutes. gRPC reads GRPC_ARG_MIN_RECONNECT_BACKOFF_MS as the least time a
 * connection attempt (TCP, TLS and HTTP/2 handshakes) is given; at 100 ms a
 * slow TLS handshake to a distant Cuebot would never finish, while a refused
 * connection fails at once whatever the value, so it is kept larger. */
#define RECONNECT_INITIAL_MS 100
#define RECONNECT_MAX_MS 1000
#define CONNECT_ATTEMPT_MIN_MS 2000

/* gRPC's core only notices that a connection attempt finished (refused, or
 * connected) when some thread polls. A call to a channel in
 * TRANSIENT_FAILURE fails inside grpc_call_start_batch, before its thread
 * ever polls, and between requests a worker waits in FastCGI, not in gRPC,
 * so the only poller left is gRPC's backup poller, every 5 s by default,
 * and a restarted Cuebot would be found again only seconds later. A 200 ms
 * poll finds it within the reconnect backoff above, for a small constant
 * cost to an idle worker. gRPC reads the setting from the environment once, in the first
 * grpc_init; an operator's own value wins. */
#define BACKUP_POLL_ENV "GRPC_CLIENT_CHANNEL_BACKUP_POLL_INTERVAL_MS"
#define BACKUP_POLL_MS "200"

/* gRPC's DNS resolver waits 30 s between lookups by default: a Cuebot that
 * comes back on a new address (a rescheduled container) would wait that
 * long. */
#define DNS_MIN_INTERVAL_MS 1000

/* A PEM file larger than this is not a certificate bundle. */
#define PEM_FILE_MAX (1024 * 1024)

/* When several endpoints are watched at once, how often they are looked at
 * again: a watch can only end at its deadline or at a state change of its
 * own channel. */
#define WATCH_STEP_MS 50

#define ENDPOINT_MAX 255

gpr_timespec cuebot_deadline(int64_t ms)
{
    /* A year is "forever" for a request and keeps the sum far from
     * overflowing. */
    if (ms < 1)
        ms = 1;
    if (ms > INT64_C(365) * 24 * 3600 * 1000)
        ms = INT64_C(365) * 24 * 3600 * 1000;
    return gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                        gpr_time_from_millis(ms, GPR_TIMESPAN));
}

/* ---- the endpoint list ---------------------------------------------------- */

static int is_space(char c)
{
    return c == ' ' || c == '\t';
}

static int port_ok(const char *p, const char *e)
{
    if (p == e || e - p > 5 || *p == '0')
        return 0;
    long v = 0;
    for (; p < e; p++) {
        if (*p < '0' || *p > '9')
            return 0;
        v = v * 10 + (*p - '0');
    }
    return v <= 65535;
}

static int host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '-' || c == '_';
}

static int v6_char(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
           c == ':' || c == '.';
}

static int has_prefix(const char *b, const char *e, const char *prefix)
{
    size_t n = strlen(prefix);
    return (size_t)(e - b) >= n && !strncasecmp(b, prefix, n);
}

/* One CUEBOT_ENDPOINT entry (b..e, no blanks) in a form gRPC takes and we
 * document: host:port, [IPv6]:port, dns:///host:port or unix:/absolute/path.
 * Caught here, a URL or a missing port stops start-up; gRPC itself would
 * take either and only fail to connect, request after request. */
static int check_endpoint(const char *entry, const char *e, struct cg_status *st)
{
    /* Messages quote the whole entry, even past a dns:/// prefix. */
    int n = (int)(e - entry);
    const char *b = entry;
    if (has_prefix(b, e, "unix:")) {
        if (e - b > 5 && b[5] == '/')
            return 0;
        return cg_fail(st, CG_INVALID_ARGUMENT,
                       "CUEBOT_ENDPOINT: \"%.*s\": a unix socket is unix:/absolute/path", n, entry);
    }
    if (has_prefix(b, e, "dns:///"))
        b += 7;
    else if (memmem(b, (size_t)(e - b), "://", 3))
        return cg_fail(st, CG_INVALID_ARGUMENT,
                       "CUEBOT_ENDPOINT: \"%.*s\" is a URL; write host:port (gRPC takes no "
                       "http:// or https://; CUEBOT_TLS_CA turns on TLS)", n, entry);
    const char *h = b, *colon;
    if (*h == '[') {
        const char *close = memchr(h, ']', (size_t)(e - h));
        if (!close || close == h + 1 || close + 1 == e || close[1] != ':')
            return cg_fail(st, CG_INVALID_ARGUMENT,
                           "CUEBOT_ENDPOINT: \"%.*s\": expected [IPv6 address]:port", n, entry);
        for (const char *q = h + 1; q < close; q++)
            if (!v6_char(*q))
                return cg_fail(st, CG_INVALID_ARGUMENT,
                               "CUEBOT_ENDPOINT: \"%.*s\": expected [IPv6 address]:port", n, entry);
        colon = close + 1;
    } else {
        colon = memchr(h, ':', (size_t)(e - h));
        if (!colon)
            return cg_fail(st, CG_INVALID_ARGUMENT,
                           "CUEBOT_ENDPOINT: \"%.*s\" has no port; write host:port, such as "
                           "localhost:8443", n, entry);
        if (memchr(colon + 1, ':', (size_t)(e - colon - 1)))
            return cg_fail(st, CG_INVALID_ARGUMENT,
                           "CUEBOT_ENDPOINT: \"%.*s\": an IPv6 address goes in brackets, "
                           "such as [::1]:8443", n, entry);
        for (const char *q = h; q < colon; q++)
            if (!host_char(*q))
                colon = h;          /* refused below, with the general message */
    }
    if (colon == h || !port_ok(colon + 1, e))
        return cg_fail(st, CG_INVALID_ARGUMENT,
                       "CUEBOT_ENDPOINT: \"%.*s\": expected host:port (port 1 to 65535), "
                       "[IPv6]:port, dns:///host:port or unix:/path", n, entry);
    return 0;
}

/* Splits "a:1, b:2" into cb->target[]; empty entries (a trailing comma) are
 * skipped, blanks inside an entry are an error. */
static int parse_endpoints(struct cuebot *cb, const char *list, struct cg_status *st)
{
    if (!list)
        list = "";
    const char *p = list, *b;
    size_t len;
    while ((b = text_list_next(&p, &len, 0))) {
        const char *e = b + len;
        for (const char *q = b; q < e; q++)
            if (is_space(*q) || (unsigned char)*q < 0x20)
                return cg_fail(st, CG_INVALID_ARGUMENT,
                               "CUEBOT_ENDPOINT: an entry holds a blank or a control character");
        if ((size_t)(e - b) > ENDPOINT_MAX)
            return cg_fail(st, CG_INVALID_ARGUMENT,
                           "CUEBOT_ENDPOINT: an entry is longer than %d bytes", ENDPOINT_MAX);
        if (check_endpoint(b, e, st))
            return -1;
        if (cb->n == CUEBOT_MAX_ENDPOINTS)
            return cg_fail(st, CG_INVALID_ARGUMENT,
                           "CUEBOT_ENDPOINT: more than %d endpoints", CUEBOT_MAX_ENDPOINTS);
        if (!(cb->target[cb->n] = strndup(b, (size_t)(e - b))))
            return cg_fail(st, CG_INTERNAL, "out of memory");
        cb->n++;
    }
    if (cb->n == 0)
        return cg_fail(st, CG_INVALID_ARGUMENT, "CUEBOT_ENDPOINT is empty");
    return 0;
}

/* ---- TLS -------------------------------------------------------------------- */

static int is_set(const char *s)
{
    return s && *s;
}

enum pem_kind { PEM_CA, PEM_CERT, PEM_KEY };

/* Whether a PEM text holds a block whose label ends in PRIVATE KEY (PKCS#8,
 * RSA, EC, encrypted). */
static int has_private_key(const char *pem)
{
    for (const char *p = pem; (p = strstr(p, "-----BEGIN ")); ) {
        p += 11;
        const char *end = strstr(p, "-----");
        if (!end)
            return 0;
        if (end - p >= 11 && !memcmp(end - 11, "PRIVATE KEY", 11))
            return 1;
        p = end;
    }
    return 0;
}

/* Why a file cannot serve as `kind`, or NULL. A key given as the CA (an
 * easy slip among three paths) would otherwise fail only at the first TLS
 * handshake, and would sit in a file that is often world-readable. */
static const char *pem_mismatch(const char *pem, enum pem_kind kind)
{
    int cert = strstr(pem, "-----BEGIN CERTIFICATE-----") != NULL;
    switch (kind) {
    case PEM_CA:
        if (has_private_key(pem))
            return "holds a private key; CUEBOT_TLS_CA takes the CA's certificates only";
        return cert ? NULL : "holds no certificate (-----BEGIN CERTIFICATE-----)";
    case PEM_CERT:
        return cert ? NULL : "holds no certificate (-----BEGIN CERTIFICATE-----)";
    case PEM_KEY:
        return has_private_key(pem) ? NULL
                                    : "holds no private key (-----BEGIN ... PRIVATE KEY-----)";
    }
    return NULL;
}

/* Reads a PEM file of the given kind into a NUL-terminated malloc'd string.
 * The message names the setting and the path; the contents never reach
 * it. */
static int read_pem(const char *var, const char *path, enum pem_kind kind, char **out,
                    struct cg_status *st)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cg_fail(st, CG_INVALID_ARGUMENT, "%s: cannot open %s: %s", var, path,
                       strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size > PEM_FILE_MAX) {
        close(fd);
        return cg_fail(st, CG_INVALID_ARGUMENT,
                       "%s: %s is not a regular file of at most %d bytes", var, path,
                       PEM_FILE_MAX);
    }
    size_t cap = (size_t)sb.st_size, n = 0;
    char *buf = malloc(cap + 1);
    if (!buf) {
        close(fd);
        return cg_fail(st, CG_INTERNAL, "%s: out of memory", var);
    }
    while (n < cap) {
        ssize_t k = read(fd, buf + n, cap - n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        n += (size_t)k;
    }
    int err = errno;
    close(fd);
    buf[n] = '\0';
    const char *why = n < cap ? NULL : pem_mismatch(buf, kind);
    if (n < cap || why) {
        explicit_bzero(buf, n);
        free(buf);
        if (n < cap)
            return cg_fail(st, CG_INVALID_ARGUMENT, "%s: cannot read %s: %s", var, path,
                           strerror(err));
        return cg_fail(st, CG_INVALID_ARGUMENT, "%s: %s %s", var, path, why);
    }
    *out = buf;
    return 0;
}

static void free_pem(char *s)
{
    if (s) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

struct pem_set {
    char *ca, *cert, *key;
};

/* Loads the TLS files the settings name. All unset: plaintext (*tls = 0). */
static int load_tls(const struct cuebot_settings *s, struct pem_set *pem, int *tls,
                    struct cg_status *st)
{
    memset(pem, 0, sizeof *pem);
    *tls = is_set(s->tls_ca) || is_set(s->tls_cert) || is_set(s->tls_key);
    if (!*tls)
        return 0;
    if (is_set(s->tls_cert) != is_set(s->tls_key))
        return cg_fail(st, CG_INVALID_ARGUMENT,
                       "%s is set without %s: mutual TLS needs both",
                       is_set(s->tls_cert) ? "CUEBOT_TLS_CERT" : "CUEBOT_TLS_KEY",
                       is_set(s->tls_cert) ? "CUEBOT_TLS_KEY" : "CUEBOT_TLS_CERT");
    if ((is_set(s->tls_ca) && read_pem("CUEBOT_TLS_CA", s->tls_ca, PEM_CA, &pem->ca, st) != 0) ||
        (is_set(s->tls_cert) &&
         read_pem("CUEBOT_TLS_CERT", s->tls_cert, PEM_CERT, &pem->cert, st) != 0) ||
        (is_set(s->tls_key) && read_pem("CUEBOT_TLS_KEY", s->tls_key, PEM_KEY, &pem->key, st) != 0)) {
        free_pem(pem->ca);
        free_pem(pem->cert);
        free_pem(pem->key);
        return -1;
    }
    return 0;
}

/* gRPC copies the PEM strings, so the caller frees them right after. A CA of
 * NULL means gRPC's default roots. */
static grpc_channel_credentials *make_credentials(int tls, const struct pem_set *pem)
{
    if (!tls)
        return grpc_insecure_credentials_create();
    grpc_ssl_pem_key_cert_pair pair = {.private_key = pem->key, .cert_chain = pem->cert};
    return grpc_ssl_credentials_create(pem->ca, pem->cert ? &pair : NULL, NULL, NULL);
}

/* ---- channel arguments ------------------------------------------------------ */

static int clamp_int(size_t v)
{
    return v > INT_MAX ? INT_MAX : (int)v;
}

static grpc_arg int_arg(const char *key, int value)
{
    grpc_arg a;
    memset(&a, 0, sizeof a);
    a.type = GRPC_ARG_INTEGER;
    a.key = (char *)key;
    a.value.integer = value;
    return a;
}

/* wait_for_ready is never set on a call, so a call to a channel that cannot
 * connect fails with UNAVAILABLE at once instead of waiting out its
 * deadline. Retries are off: cuegw fails over between endpoints itself, and
 * the retry filter costs time on every call. Channelz is off: nothing in
 * cuegw serves or reads it, and its per-call counting cost about 1 % of
 * the client's instructions a call (issue 15, tests/bench/README.md).
 *
 * GRPC_ARG_MINIMAL_STACK stays off, although it saved 6-9 % of those
 * instructions: gRPC 1.51 then leaves out the client's deadline and
 * message-size filters, so a call to a Cuebot that stops answering
 * outlived its deadline (an 8 s deadline, still waiting after a minute)
 * and a 2 MB answer passed a 100 KB GRPC_MAX_RECV_MSG_MB. Deadline checks
 * can be forced back on, which gave back most of the saving; the receive
 * cap cannot, and cuegw's memory bound rests on it. */
static size_t channel_args(const struct cuebot *cb, const struct cuebot_settings *s,
                           grpc_arg *args)
{
    size_t n = 0;
    args[n++] = int_arg(GRPC_ARG_MAX_SEND_MESSAGE_LENGTH, clamp_int(cb->max_send));
    args[n++] = int_arg(GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, clamp_int(cb->max_recv));
    args[n++] = int_arg(GRPC_ARG_ENABLE_RETRIES, 0);
    args[n++] = int_arg(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, RECONNECT_INITIAL_MS);
    args[n++] = int_arg(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, CONNECT_ATTEMPT_MIN_MS);
    args[n++] = int_arg(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, RECONNECT_MAX_MS);
    args[n++] = int_arg(GRPC_ARG_DNS_MIN_TIME_BETWEEN_RESOLUTIONS_MS, DNS_MIN_INTERVAL_MS);
    if (s->keepalive_time_ms > 0)
        args[n++] = int_arg(GRPC_ARG_KEEPALIVE_TIME_MS, s->keepalive_time_ms);
    if (s->keepalive_timeout_ms > 0)
        args[n++] = int_arg(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, s->keepalive_timeout_ms);
    args[n++] = int_arg(GRPC_ARG_ENABLE_CHANNELZ, 0);
    return n;
}
#define CHANNEL_ARGS_MAX 10

/* ---- the pool of completion queues ------------------------------------------ */

/* Each call gets a queue of its own, so any number of threads may call at
 * once (a shared pluck queue admits only a handful of pluckers), and a queue
 * is made once per concurrent call, not once per call. */
struct cq_node *cuebot_cq_take(struct cuebot *cb)
{
    pthread_mutex_lock(&cb->mu);
    struct cq_node *node = cb->idle;
    if (node)
        cb->idle = node->next;
    pthread_mutex_unlock(&cb->mu);
    if (node)
        return node;
    if (!(node = malloc(sizeof *node)))
        return NULL;
    node->cq = grpc_completion_queue_create_for_pluck(NULL);
    node->next = NULL;
    return node;
}

void cuebot_cq_give(struct cuebot *cb, struct cq_node *node)
{
    pthread_mutex_lock(&cb->mu);
    node->next = cb->idle;
    cb->idle = node;
    pthread_mutex_unlock(&cb->mu);
}

static void destroy_cq(grpc_completion_queue *cq)
{
    grpc_completion_queue_shutdown(cq);
    /* Nothing is pending, so this returns the shutdown event at once. */
    grpc_completion_queue_pluck(cq, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    grpc_completion_queue_destroy(cq);
}

/* ---- open and close ---------------------------------------------------------- */

static void release(struct cuebot *cb, int grpc_started)
{
    for (unsigned i = 0; i < CUEBOT_MAX_ENDPOINTS; i++) {
        if (cb->ch[i])
            grpc_channel_destroy(cb->ch[i]);
        free(cb->target[i]);
    }
    struct cq_node *node = cb->idle;
    while (node) {
        struct cq_node *next = node->next;
        destroy_cq(node->cq);
        free(node);
        node = next;
    }
    pthread_mutex_destroy(&cb->mu);
    free(cb);
    if (grpc_started)
        grpc_shutdown();
}

/* gRPC's own diagnostics (a failed TLS handshake, say) become our log
 * lines, in our format and under LOG_LEVEL, instead of raw stderr text.
 * Its errors are warnings to us: the call that failed is reported anyway. */
static void grpc_log_line(gpr_log_func_args *args)
{
    enum log_level level = args->severity == GPR_LOG_SEVERITY_ERROR ? CG_LOG_WARN : CG_LOG_DEBUG;
    log_msg(level, "grpc: %s", args->message);
}

struct cuebot *cuebot_open(const struct cuebot_settings *s, struct cg_status *st)
{
    struct cuebot *cb = calloc(1, sizeof *cb);
    if (!cb) {
        cg_fail(st, CG_INTERNAL, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&cb->mu, NULL);
    atomic_init(&cb->current, 0);
    cb->max_send = s->max_send ? s->max_send : CG_DEFAULT_MAX_REQUEST;
    cb->max_recv = s->max_recv ? s->max_recv : CG_DEFAULT_MAX_RESPONSE;
    if (cb->max_send > INT_MAX)
        cb->max_send = INT_MAX;
    if (cb->max_recv > INT_MAX)
        cb->max_recv = INT_MAX;
    if (s->keepalive_time_ms < 0 || s->keepalive_timeout_ms < 0) {
        cg_fail(st, CG_INVALID_ARGUMENT, "GRPC_KEEPALIVE_TIME and GRPC_KEEPALIVE_TIMEOUT "
                "cannot be negative");
        release(cb, 0);
        return NULL;
    }

    struct pem_set pem;
    int tls;
    if (parse_endpoints(cb, s->endpoints, st) != 0 || load_tls(s, &pem, &tls, st) != 0) {
        release(cb, 0);
        return NULL;
    }
    cb->tls_without_cert = tls && !pem.cert;

    setenv(BACKUP_POLL_ENV, BACKUP_POLL_MS, 0);
    gpr_set_log_function(grpc_log_line);
    gpr_set_log_verbosity(log_enabled(CG_LOG_DEBUG) ? GPR_LOG_SEVERITY_DEBUG : GPR_LOG_SEVERITY_ERROR);
    grpc_init();
    grpc_channel_credentials *creds = make_credentials(tls, &pem);
    free_pem(pem.ca);
    free_pem(pem.cert);
    free_pem(pem.key);
    if (!creds) {
        cg_fail(st, CG_INVALID_ARGUMENT, "gRPC refused the CUEBOT_TLS_* credentials");
        release(cb, 1);
        return NULL;
    }
    grpc_arg args[CHANNEL_ARGS_MAX];
    grpc_channel_args cargs = {.num_args = channel_args(cb, s, args), .args = args};
    for (unsigned i = 0; i < cb->n; i++)
        cb->ch[i] = grpc_channel_create(cb->target[i], creds, &cargs);
    grpc_channel_credentials_release(creds);

    /* The first queue is made now so the first request does not pay for it. */
    struct cq_node *node = cuebot_cq_take(cb);
    if (!node) {
        cg_fail(st, CG_INTERNAL, "out of memory");
        release(cb, 1);
        return NULL;
    }
    cuebot_cq_give(cb, node);
    return cb;
}

int cuebot_check_settings(const struct cuebot_settings *s, struct cg_status *st)
{
    struct cuebot *cb = calloc(1, sizeof *cb);
    if (!cb)
        return cg_fail(st, CG_INTERNAL, "out of memory");
    pthread_mutex_init(&cb->mu, NULL);
    struct pem_set pem;
    int tls, rc = -1;
    if (parse_endpoints(cb, s->endpoints, st) == 0 && load_tls(s, &pem, &tls, st) == 0) {
        free_pem(pem.ca);
        free_pem(pem.cert);
        free_pem(pem.key);
        rc = 0;
    }
    release(cb, 0);
    return rc;
}

void cuebot_close(struct cuebot *cb)
{
    if (cb)
        release(cb, 1);
}

const char *cuebot_current_endpoint(struct cuebot *cb)
{
    return cb->target[atomic_load_explicit(&cb->current, memory_order_relaxed) % cb->n];
}

/* ---- state ------------------------------------------------------------------- */

static int state_rank(grpc_connectivity_state s)
{
    switch (s) {
    case GRPC_CHANNEL_READY: return 4;
    case GRPC_CHANNEL_CONNECTING: return 3;
    case GRPC_CHANNEL_IDLE: return 2;
    case GRPC_CHANNEL_TRANSIENT_FAILURE: return 1;
    default: return 0;
    }
}

const char *cuebot_state_name(struct cuebot *cb)
{
    static const char *const names[] = {"SHUTDOWN", "TRANSIENT_FAILURE", "IDLE",
                                        "CONNECTING", "READY"};
    int best = 0;
    for (unsigned i = 0; i < cb->n; i++) {
        int r = state_rank(grpc_channel_check_connectivity_state(cb->ch[i], 0));
        if (r > best)
            best = r;
    }
    return names[best];
}

/* Looks at every channel (asking idle ones to connect); 1 if one is READY. */
static int any_ready(struct cuebot *cb, grpc_connectivity_state *seen)
{
    int ready = 0;
    for (unsigned i = 0; i < cb->n; i++) {
        seen[i] = grpc_channel_check_connectivity_state(cb->ch[i], 1);
        if (seen[i] == GRPC_CHANNEL_READY)
            ready = 1;
    }
    return ready;
}

int cuebot_wait_usable(struct cuebot *cb, int64_t timeout_ms)
{
    grpc_connectivity_state seen[CUEBOT_MAX_ENDPOINTS];
    if (any_ready(cb, seen))
        return 1;
    if (timeout_ms <= 0)
        return 0;
    struct cq_node *q = cuebot_cq_take(cb);
    if (!q)
        return 0;
    gpr_timespec end = cuebot_deadline(timeout_ms);
    int ready = 0;
    while (!ready && gpr_time_cmp(gpr_now(GPR_CLOCK_MONOTONIC), end) < 0) {
        /* One channel: its watch ends exactly when its state changes. */
        gpr_timespec until = end;
        if (cb->n > 1) {
            gpr_timespec step = cuebot_deadline(WATCH_STEP_MS);
            if (gpr_time_cmp(step, end) < 0)
                until = step;
        }
        for (unsigned i = 0; i < cb->n; i++)
            grpc_channel_watch_connectivity_state(cb->ch[i], seen[i], until, q->cq, &seen[i]);
        /* Every watch ends by `until`, and all must be collected before the
         * queue is lent to anyone else. */
        for (unsigned i = 0; i < cb->n; i++)
            grpc_completion_queue_pluck(q->cq, &seen[i], gpr_inf_future(GPR_CLOCK_REALTIME),
                                        NULL);
        ready = any_ready(cb, seen);
    }
    cuebot_cq_give(cb, q);
    return ready;
}
