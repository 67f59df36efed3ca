#include "http/gateway.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/auth.h"
#include "http/cors.h"
#include "json/json_to_pb.h"
#include "json/json_write.h"
#include "base/log.h"
#include "ops/metrics.h"
#include "http/openapi.h"
#include "json/pb_to_json.h"
#include "auth/policy.h"
#include "http/request_id.h"
#include "pb/schema.h"

static const char *param(const struct cg_exchange *x, const char *name)
{
    return x->io->param(x->io->ctx, name);
}

static int send_bytes_with(struct cg_exchange *x, const char *p, size_t n,
                           int (*write)(void *, const char *, size_t))
{
    if (x->client_gone)
        return -1;
    if (write(x->io->ctx, p, n) != 0) {
        x->client_gone = 1;
        return -1;
    }
    x->bytes_out += n;
    return 0;
}

static int send_bytes(struct cg_exchange *x, const char *p, size_t n)
{
    return send_bytes_with(x, p, n, x->io->write);
}

/* Writes the header block. content_length < 0: unknown (streamed body);
 * `extra` holds complete header lines or is NULL. */
static int send_head(struct cg_exchange *x, int http, const char *phrase,
                     long long content_length, const char *extra)
{
    char h[CG_MAX_HEADERS];
    int n = snprintf(h, sizeof h, "Status: %d %s\r\n", http, phrase);
    if (http != 204)
        n += snprintf(h + n, sizeof h - (size_t)n, "Content-Type: %s\r\n",
                      x->content_type ? x->content_type : "application/json");
    if (content_length >= 0)
        n += snprintf(h + n, sizeof h - (size_t)n, "Content-Length: %lld\r\n", content_length);
    n += snprintf(h + n, sizeof h - (size_t)n, "X-Request-Id: %s\r\n", x->rid);
    /* Every answer depends on Origin: an allowed one gets
     * Access-Control-Allow-Origin, a request without one gets none, and one
     * not allowed may be refused. A cache must not hand an answer made for
     * one origin (or for none) to another, so Vary is on every answer, not
     * only those that carry CORS headers. The cross-site check also reads
     * Sec-Fetch-Site, except for an origin the list allows outright (named,
     * or under the wildcard in a token mode). */
    int sec_fetch_matters = !x->allow_origin ||
                            (x->g->cfg->auth.remote_user && !strcmp(x->allow_origin, "*"));
    if (x->allow_origin)
        n += snprintf(h + n, sizeof h - (size_t)n, "Access-Control-Allow-Origin: %s\r\n",
                      x->allow_origin);
    n += snprintf(h + n, sizeof h - (size_t)n, "Vary: Origin%s\r\n",
                  sec_fetch_matters ? ", Sec-Fetch-Site" : "");
    if (extra)
        n += snprintf(h + n, sizeof h - (size_t)n, "%s", extra);
    n += snprintf(h + n, sizeof h - (size_t)n, "\r\n");
    if (n < 0 || (size_t)n >= sizeof h)
        return -1;          /* cannot happen: every part above is bounded */
    x->head_sent = 1;
    x->http = http;
    return send_bytes(x, h, (size_t)n);
}

/* The SPEC's error answer: {"code": N, "message": "...", "details": []}. */
static void send_error(struct cg_exchange *x, const struct cg_status *st, const char *extra)
{
    char mem[CG_STATUS_MSG_MAX * 6 + 64];   /* worst case: every byte escaped */
    struct outbuf ob = {.data = mem, .cap = sizeof mem, .limit = sizeof mem};
    char num[32];
    int n = snprintf(num, sizeof num, "{\"code\":%d,\"message\":", st->code);
    outbuf_put(&ob, num, (size_t)n);
    /* The detail is in the log line of the request (call() below). */
    const char *msg = st->msg_internal ? "Cuebot is unavailable" : st->msg;
    json_write_string(&ob, msg, strlen(msg));
    outbuf_puts_lit(&ob, ",\"details\":[]}");
    x->code = st->code;
    const struct cg_error_row *row = &cg_errors[cg_status_kind(st)];
    /* Every 401 says how to authenticate, as grpc-gateway's do: Cuebot's own
     * UNAUTHENTICATED as much as ours. */
    if (row->http == 401 && !extra)
        extra = "WWW-Authenticate: Bearer\r\n";
    if (send_head(x, row->http, row->phrase, (long long)ob.len, extra) == 0)
        send_bytes(x, ob.data, ob.len);
}

/* Answers with an error of the table: a and b fill the %s of its message. */
static void fail(struct cg_exchange *x, enum cg_error kind, const char *extra, const char *a,
                 const char *b)
{
    cg_fail_kind(&x->st, kind, a, b);
    send_error(x, &x->st, extra);
}

static void not_allowed(struct cg_exchange *x, const char *allow, const char *use)
{
    fail(x, CG_E_METHOD_NOT_ALLOWED, allow, x->http_method[0] ? x->http_method : "-", use);
}

/* ---- pieces of the request ------------------------------------------- */

static int is_method(const struct cg_exchange *x, const char *m)
{
    return strcmp(x->http_method, m) == 0;
}

static int path_is(const struct cg_exchange *x, const char *p)
{
    size_t n = strlen(p);
    return n == x->path_len && memcmp(x->path, p, n) == 0;
}

/* The path for messages: cut, and shown as sent (JSON escaping keeps it
 * safe in the body). */
static const char *path_for_message(struct cg_exchange *x)
{
    size_t n = x->path_len > 120 ? 120 : x->path_len;
    char *p = arena_strndup(x->arena, x->path, n);
    return p ? p : "";
}

static void preflight(struct cg_exchange *x)
{
    if (!x->allow_origin) {         /* a disallowed origin learns nothing */
        send_head(x, 204, "No Content", -1, NULL);
        x->code = CG_OK;
        return;
    }
    char allow[256], extra[512];
    cors_allow_headers(param(x, "HTTP_ACCESS_CONTROL_REQUEST_HEADERS"), allow, sizeof allow);
    snprintf(extra, sizeof extra,
             "Access-Control-Allow-Methods: POST, OPTIONS\r\n"
             "Access-Control-Allow-Headers: %s\r\n"
             "Access-Control-Max-Age: 600\r\n", allow);
    send_head(x, 204, "No Content", -1, extra);
    x->code = CG_OK;
}

static void health(struct cg_exchange *x)
{
    struct gateway *g = x->g;
    int64_t wait = g->cfg->request_timeout_ms < 1000 ? g->cfg->request_timeout_ms : 1000;
    int present = upstream_present(&g->upstream);
    if (present && upstream_wait_usable(&g->upstream, wait)) {
        static const char body[] = "{\"status\":\"SERVING\"}";
        x->code = CG_OK;
        if (send_head(x, 200, "OK", (long long)sizeof body - 1, NULL) == 0)
            send_bytes(x, body, sizeof body - 1);
        return;
    }
    fail(x, CG_E_CUEBOT_NOT_USABLE, NULL,
         present ? upstream_state_name(&g->upstream) : "no client", NULL);
}

/* OPENAPI_PATH: the document, without credentials, like HEALTH_PATH: it
 * describes the public OpenCue schema, and client generators fetch it
 * without a token. A site that wants it private leaves OPENAPI_PATH unset
 * or guards the path in the web server. */
static void openapi_doc(struct cg_exchange *x)
{
    if (!is_method(x, "GET") && !is_method(x, "HEAD")) {
        not_allowed(x, "Allow: GET, HEAD\r\n", "GET");
        return;
    }
    const struct cg_config *cfg = x->g->cfg;
    size_t len;
    const char *doc = openapi_document(cfg->url_prefix, cfg->url_prefix_len, &len);
    if (!doc) {
        fail(x, CG_E_OPENAPI_NO_MEMORY, NULL, NULL, NULL);
        return;
    }
    x->code = CG_OK;
    if (send_head(x, 200, "OK", (long long)len, NULL) == 0 && !is_method(x, "HEAD"))
        send_bytes_with(x, doc, len, x->io->write_static ? x->io->write_static : x->io->write);
}

static int authenticate(struct cg_exchange *x)
{
    if (config_request_auth(x->g->cfg, x->io->param, x->io->ctx, &x->auth, &x->st)) {
        log_request(CG_LOG_ERROR, x->rid, "the web server sent an invalid setting: %s",
                    x->st.msg);
        metrics_auth_failure(CG_E_DENY_BAD_SETTING);
        fail(x, CG_E_DENY_BAD_SETTING, NULL, NULL, NULL);
        return -1;
    }
    if (!auth_settings_usable(&x->auth)) {
        /* SETTINGS_FROM_PARAMS, and this request came without any: never
         * let it through, and tell the operator what is missing. */
        log_request(CG_LOG_ERROR, x->rid, "no credential setting reached this request: the web "
                    "server must send JWT_SECRET or AUTH_TOKEN as FastCGI parameters "
                    "(SETTINGS_FROM_PARAMS=1)");
        metrics_auth_failure(CG_E_DENY_NO_CREDENTIAL);
        fail(x, CG_E_DENY_NO_CREDENTIAL, NULL, NULL, NULL);
        return -1;
    }
    struct jwt_claims claims;
    const char *remote_user = param(x, "REMOTE_USER");
    enum auth_result r = auth_check(&x->auth, param(x, "HTTP_AUTHORIZATION"), remote_user,
                                    time(NULL), x->arena, &x->subject, &claims);
    if (r == AUTH_OK) {
        x->role = claims.role;
        x->user = x->auth.remote_user ? remote_user : claims.sub;
        return 0;
    }
    if (r != AUTH_INTERNAL) {
        log_request(CG_LOG_DEBUG, x->rid, "authentication failed: %s", auth_result_name(r));
        metrics_auth_failure(auth_result_error(r));
    }
    fail(x, auth_result_error(r), NULL, NULL, NULL);
    return -1;
}

static int read_only_allows(const char *name)
{
    static const char *const prefixes[] = {"Get", "Find", "Is", "Has"};
    for (size_t i = 0; i < 4; i++)
        if (!strncmp(name, prefixes[i], strlen(prefixes[i])))
            return 1;
    return 0;
}

int gateway_method_is_read(const char *method_path)
{
    const char *name = strrchr(method_path, '/');
    return read_only_allows(name ? name + 1 : method_path);
}

static int share_is_read(void *ctx, const char *method_path)
{
    (void)ctx;
    return gateway_method_is_read(method_path);
}

static int share_mutations(void *ctx, uint64_t *count)
{
    (void)ctx;
    return metrics_mutations(count);
}

static void share_mutated(void *ctx)
{
    (void)ctx;
    metrics_mutation_done();
}

static void share_joined(void *ctx)
{
    (void)ctx;
    metrics_shared_read();
}

static void share_waiting(void *ctx, int delta)
{
    (void)ctx;
    metrics_shared_waiting(delta);
}

struct shared_reads *gateway_share_reads(const struct upstream *inner)
{
    static const struct shared_reads_hooks hooks = {
        .is_read = share_is_read, .mutations = share_mutations,
        .mutated = share_mutated, .joined = share_joined, .waiting = share_waiting,
    };
    static const struct shared_reads_limits limits = {
        .max_request = SHARED_READS_MAX_REQUEST, .max_held = SHARED_READS_MAX_HELD,
        .max_calls = SHARED_READS_MAX_CALLS, .max_waiters = SHARED_READS_MAX_WAITERS,
    };
    return shared_reads_new(inner, &hooks, &limits);
}

static void cache_hit(void *ctx)
{
    (void)ctx;
    metrics_read_cache_hit();
}

struct read_cache *gateway_read_cache(const struct upstream *inner, int64_t ttl_ms,
                                      int count_mutations)
{
    struct read_cache_hooks hooks = {
        .is_read = share_is_read, .mutations = share_mutations,
        .mutated = count_mutations ? share_mutated : NULL, .hit = cache_hit,
    };
    struct read_cache_limits limits = {
        .ttl_ms = ttl_ms, .max_request = READ_CACHE_MAX_REQUEST,
        .max_bytes = READ_CACHE_MAX_BYTES, .max_entries = READ_CACHE_MAX_ENTRIES,
    };
    return read_cache_new(inner, &hooks, &limits);
}

/* The method at the request's path under URL_PREFIX, or NULL. */
static const struct method_info *find_method(const struct cg_exchange *x)
{
    const struct cg_config *cfg = x->g->cfg;
    const char *p = x->path;
    size_t n = x->path_len;
    if (cfg->url_prefix_len) {
        if (n <= cfg->url_prefix_len || memcmp(p, cfg->url_prefix, cfg->url_prefix_len) ||
            p[cfg->url_prefix_len] != '/')
            return NULL;
        p += cfg->url_prefix_len;
        n -= cfg->url_prefix_len;
    }
    return schema_method(p, n);
}

static const struct method_info *route(struct cg_exchange *x)
{
    if (!x->method)
        fail(x, CG_E_UNKNOWN_METHOD, NULL, path_for_message(x), NULL);
    return x->method;
}

/* METRICS_PATH, or by default "/metrics" under URL_PREFIX (where the front
 * sends cuegw its requests). */
static int is_metrics_path(const struct cg_exchange *x)
{
    const struct cg_config *cfg = x->g->cfg;
    if (cfg->metrics_off)
        return 0;
    if (cfg->metrics_path)
        return path_is(x, cfg->metrics_path);
    static const char tail[] = "/metrics";
    size_t k = cfg->url_prefix_len;
    return x->path_len == k + sizeof tail - 1 && memcmp(x->path, cfg->url_prefix, k) == 0 &&
           memcmp(x->path + k, tail, sizeof tail - 1) == 0;
}

/* The pool's counters in Prometheus' text format, for an authenticated
 * GET by a caller ACCESS_POLICY allows METRICS_PERMISSION: the series name
 * every caller's methods and outcomes, and the worker pids. Large pools
 * stream through the output buffer like a large answer. */
static void scrape(struct cg_exchange *x)
{
    struct gateway *g = x->g;
    static const char perm[] = METRICS_PERMISSION;
    if (g->cfg->policy && !policy_allows(g->cfg->policy, x->role, x->user, perm, sizeof perm - 1)) {
        metrics_auth_failure(CG_E_DENY_POLICY);
        fail(x, CG_E_DENY_POLICY, NULL, "metrics", "are");
        return;
    }
    if (!is_method(x, "GET")) {
        not_allowed(x, "Allow: GET\r\n", "GET");
        return;
    }
    x->content_type = "text/plain; version=0.0.4; charset=utf-8";
    outbuf_clear(&g->out);
    g->out.sink_ctx = x;
    if (metrics_render(&g->out, upstream_present(&g->upstream) ? upstream_state_name(&g->upstream) : NULL, &x->st)) {
        x->content_type = NULL;
        send_error(x, &x->st, NULL);
        return;
    }
    x->code = CG_OK;
    if (!x->head_sent) {
        if (send_head(x, 200, "OK", (long long)g->out.len, NULL) == 0)
            send_bytes(x, g->out.data, g->out.len);
        return;
    }
    outbuf_flush(&g->out);
}

/* Strict: digits only, no sign, no spaces. -1 when absent or odd. */
static long long parse_length(const char *s)
{
    if (!s || !*s || strlen(s) > 18)
        return -1;
    long long v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (*s - '0');
    }
    return v;
}

static void body_too_big(struct cg_exchange *x)
{
    char limit[24];
    snprintf(limit, sizeof limit, "%zu", x->g->cfg->max_request);
    fail(x, CG_E_BODY_TOO_LARGE, NULL, "request body", limit);
}

/* What the body may be: refused with 413 before a byte of it is read when
 * CONTENT_LENGTH already says it is too large. Returns -1 when answered;
 * else the limit, and the declared length in *hint (0: not declared). */
static int body_limits(struct cg_exchange *x, size_t *hint)
{
    size_t limit = x->g->cfg->max_request;
    const char *cl = param(x, "CONTENT_LENGTH");
    long long declared = parse_length(cl);
    if (cl && *cl && declared < 0) {
        fail(x, CG_E_BAD_CONTENT_LENGTH, NULL, NULL, NULL);
        return -1;
    }
    if (declared > (long long)limit) {
        body_too_big(x);
        return -1;
    }
    x->body_limit = limit;
    *hint = declared > 0 ? (size_t)declared : 0;
    return 0;
}

/* For gateway_handle: reads the whole body into the arena through
 * io->read, up to one byte past the limit (which makes it too big). Returns
 * -1 when the arena has no room for it: the gateway's failure, not a
 * broken connection. */
static int read_body(struct cg_exchange *x, size_t hint, char **body, size_t *len,
                     enum cg_body *how)
{
    size_t limit = x->body_limit;
    size_t cap = hint ? hint + 1 : 16384;
    if (cap > limit + 1)
        cap = limit + 1;
    char *buf = arena_alloc(x->arena, cap);
    size_t n = 0;
    *how = CG_BODY_OK;
    for (;;) {
        if (!buf)
            return -1;
        if (n == cap) {
            if (cap > limit) {
                *how = CG_BODY_TOO_BIG;
                return 0;
            }
            size_t bigger = cap * 2 > limit + 1 ? limit + 1 : cap * 2;
            char *nb = arena_alloc(x->arena, bigger);
            if (nb)
                memcpy(nb, buf, n);
            buf = nb;
            cap = bigger;
            continue;
        }
        long r = x->io->read(x->io->ctx, buf + n, cap - n);
        if (r < 0) {
            *how = CG_BODY_BROKEN;
            return 0;
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (n > limit) {
            *how = CG_BODY_TOO_BIG;
            return 0;
        }
    }
    *body = buf;
    *len = n;
    return 0;
}

/* The first chunk of a large response goes out after a header block
 * without Content-Length; the web server then streams the rest. */
static int stream_sink(void *ctx, const char *p, size_t n)
{
    struct cg_exchange *x = ctx;
    if (!x->head_sent && send_head(x, 200, "OK", -1, NULL) != 0)
        return -1;
    return send_bytes(x, p, n);
}

/* The codecs say RESOURCE_EXHAUSTED when the request's arena refuses. A
 * body within its limit and a response within GRPC_MAX_RECV_MSG_MB fit
 * gateway_arena_limit, so that is this process out of memory, or a
 * response's scratch over its cap: the gateway's failure (500), never a
 * rate limit the client should wait out (429), as cuebot_call answers a
 * response it has no room for. */
static void memory_is_internal(struct cg_status *st)
{
    if (st->code == CG_RESOURCE_EXHAUSTED && st->kind == 0)
        st->code = CG_INTERNAL;
}

static void call(struct cg_exchange *x, const struct method_info *m, const char *body,
                 size_t body_len)
{
    struct gateway *g = x->g;
    uint8_t *req, *resp;
    size_t req_len, resp_len;
    if (json_to_pb(m->in, body, body_len, x->arena, &req, &req_len, &x->st)) {
        memory_is_internal(&x->st);
        send_error(x, &x->st, NULL);
        return;
    }
    if (!upstream_present(&g->upstream)) {
        fail(x, CG_E_NO_CUEBOT, NULL, NULL, NULL);
        return;
    }
    if (upstream_call(&g->upstream, m->path, req, req_len, g->cfg->request_timeout_ms, x->rid,
                      x->arena, &resp, &resp_len, &x->st)) {
        if (x->st.code != CG_NOT_FOUND && x->st.code != CG_INVALID_ARGUMENT)
            log_request(CG_LOG_WARN, x->rid, "%s: %s %s: %s", m->path,
                        x->st.msg_internal ? "Cuebot unreachable," : "Cuebot answered",
                        cg_code_name(x->st.code), x->st.msg);
        send_error(x, &x->st, NULL);
        return;
    }
    outbuf_clear(&g->out);
    g->out.sink_ctx = x;
    if (pb_to_json(m->out, resp, resp_len, x->arena, &g->out, &x->st)) {
        memory_is_internal(&x->st);
        /* Past the first chunk the answer can only be cut short. A client
         * that went away (UNAVAILABLE) is the access line's to tell. */
        if (x->st.code != CG_UNAVAILABLE)
            log_request(CG_LOG_ERROR, x->rid, "%s: %s%s: %s", m->path,
                        x->st.code == CG_INTERNAL ? "bad response from Cuebot" :
                                                    "response not written",
                        x->head_sent ? " (answer cut short)" : "", x->st.msg);
        if (!x->head_sent)
            send_error(x, &x->st, NULL);
        return;
    }
    x->code = CG_OK;
    if (!x->head_sent) {                  /* it all fit in one chunk */
        if (send_head(x, 200, "OK", (long long)g->out.len, NULL) == 0)
            send_bytes(x, g->out.data, g->out.len);
        return;
    }
    outbuf_flush(&g->out);
}

/* ---- the request ------------------------------------------------------ */

/* SPEC §2 "Cross-site requests". Before authentication: a request a page
 * of another site made with the browser's ambient credentials (Basic auth,
 * client certificates) never reaches Cuebot, and its answer says nothing
 * about whether those credentials were good. */
static int refuse_cross_site(struct cg_exchange *x)
{
    const struct cg_config *cfg = x->g->cfg;
    if (!cors_cross_site(&cfg->cors_allowed, !cfg->auth.remote_user, x->io->param, x->io->ctx))
        return 0;
    const char *origin = param(x, "HTTP_ORIGIN");
    x->allow_origin = NULL;          /* the page may not even read the refusal */
    metrics_auth_failure(CG_E_DENY_CROSS_SITE);
    char why[160];
    if (origin)
        snprintf(why, sizeof why, "%.100s is not allowed", origin);
    else
        snprintf(why, sizeof why, "is not allowed (Sec-Fetch-Site: cross-site, no Origin)");
    fail(x, CG_E_DENY_CROSS_SITE, NULL, why, NULL);
    return 1;
}

/* Everything before the body. Returns 1 with x->waiting set when the call
 * needs its body; 0 when the answer has been written. */
static int serve(struct cg_exchange *x, size_t *hint)
{
    const struct cg_config *cfg = x->g->cfg;
    if (is_method(x, "OPTIONS") && param(x, "HTTP_ORIGIN") &&
        param(x, "HTTP_ACCESS_CONTROL_REQUEST_METHOD")) {
        preflight(x);
        return 0;
    }
    if (cfg->health_path && path_is(x, cfg->health_path)) {
        health(x);
        return 0;
    }
    if (cfg->openapi_path && path_is(x, cfg->openapi_path)) {
        openapi_doc(x);
        return 0;
    }
    if (refuse_cross_site(x) || authenticate(x))
        return 0;
    if (is_metrics_path(x)) {
        scrape(x);
        return 0;
    }
    if (!is_method(x, "POST")) {
        not_allowed(x, "Allow: POST, OPTIONS\r\n", "POST");
        return 0;
    }
    const struct method_info *m = route(x);
    if (!m)
        return 0;
    if (x->auth.read_only && !read_only_allows(m->name)) {
        metrics_auth_failure(CG_E_DENY_READ_ONLY);
        fail(x, CG_E_DENY_READ_ONLY, NULL, m->path, NULL);
        return 0;
    }
    if (cfg->policy &&
        !policy_allows(cfg->policy, x->role, x->user, m->path + 1, m->path_len - 1)) {
        metrics_auth_failure(CG_E_DENY_POLICY);
        fail(x, CG_E_DENY_POLICY, NULL, m->path, "is");
        return 0;
    }
    if (body_limits(x, hint))
        return 0;
    x->waiting = m;
    return 1;
}

/* NULL when the arena has no room to rebuild it. */
static const char *request_path(struct cg_exchange *x)
{
    const char *uri = param(x, "REQUEST_URI");
    if (uri)
        return uri;
    /* Without REQUEST_URI, rebuild it from the CGI split. */
    const char *sn = param(x, "SCRIPT_NAME"), *pi = param(x, "PATH_INFO");
    size_t a = sn ? strlen(sn) : 0, b = pi ? strlen(pi) : 0;
    char *p = arena_alloc(x->arena, a + b + 1);
    if (!p)
        return NULL;
    memcpy(p, sn ? sn : "", a);
    memcpy(p + a, pi ? pi : "", b);
    p[a + b] = '\0';
    return p;
}

/* The "method" label of a request's series: bounded by the schema. */
static unsigned metrics_method(const struct cg_exchange *x)
{
    const struct cg_config *cfg = x->g->cfg;
    if (cfg->health_path && path_is(x, cfg->health_path))
        return METRICS_HEALTH;
    if (is_metrics_path(x))
        return METRICS_SCRAPE;
    const struct method_info *m = x->method;
    return m ? METRICS_FIRST_METHOD + (unsigned)(m - schema_method_at(0)) : METRICS_OTHER;
}

static void refuse(struct cg_exchange *x, enum cg_refusal why)
{
    switch (why) {
    case CG_REFUSE_PARAMS_TOO_BIG: {
        char bytes[16], count[16];
        snprintf(bytes, sizeof bytes, "%u", CG_MAX_PARAMS_BYTES);
        snprintf(count, sizeof count, "%u", CG_MAX_PARAMS_COUNT);
        fail(x, CG_E_HEADERS_TOO_LARGE, NULL, bytes, count);
        return;
    }
    case CG_REFUSE_PARAMS_BAD:
        fail(x, CG_E_PARAMS_MALFORMED, NULL, NULL, NULL);
        return;
    case CG_REFUSE_NONE:
        return;
    }
}

int gateway_begin(struct gateway *g, struct cg_exchange *x, struct arena *a,
                  const struct cg_request_io *io, enum cg_refusal refusal,
                  size_t *body_max, size_t *body_hint)
{
    memset(x, 0, sizeof *x);
    x->g = g;
    x->arena = a;
    x->io = io;
    x->code = CG_OK;
    cg_status_clear(&x->st);
    metrics_request_start();

    const char *m = param(x, "REQUEST_METHOD");
    x->http_method = m ? m : "";
    x->path = request_path(x);
    int no_path = !x->path;          /* answered below, once the head can be */
    if (no_path)
        x->path = "";
    x->path_len = strcspn(x->path, "?");
    x->method = find_method(x);      /* once: routing and the metrics label */
    x->allow_origin = cors_allow_origin(&g->cfg->cors_allowed, param(x, "HTTP_ORIGIN"));
    request_id_make(param(x, "HTTP_X_REQUEST_ID"), x->rid);

    if (refusal != CG_REFUSE_NONE) {
        refuse(x, refusal);
        return 0;
    }
    if (no_path) {
        fail(x, CG_E_OUT_OF_MEMORY, NULL, "the request's path", NULL);
        return 0;
    }
    *body_hint = 0;
    if (!serve(x, body_hint))
        return 0;
    *body_max = x->body_limit;
    return 1;
}

void gateway_resume(struct gateway *g, struct cg_exchange *x, const struct cg_request_io *io,
                    const char *body, size_t len, enum cg_body how)
{
    x->g = g;
    x->io = io;
    switch (how) {
    case CG_BODY_OK:
        x->bytes_in = len;
        call(x, x->waiting, body, len);
        return;
    case CG_BODY_TOO_BIG:
        body_too_big(x);
        return;
    case CG_BODY_TIMEOUT:
        fail(x, CG_E_BODY_TIMEOUT, NULL, NULL, NULL);
        return;
    case CG_BODY_BROKEN:
        fail(x, CG_E_BODY_UNREADABLE, NULL, NULL, NULL);
        return;
    }
}

void gateway_end(struct cg_exchange *x, int64_t duration_us, enum cg_delivery how)
{
    struct gateway *g = x->g;
    struct access_entry e = {
        .http_method = x->http_method, .path = x->path, .path_len = x->path_len,
        .http = x->http, .code = x->code, .duration_us = duration_us,
        .bytes_in = x->bytes_in, .bytes_out = x->bytes_out, .request_id = x->rid,
        .subject = x->subject, .error = x->code != CG_OK ? x->st.msg : NULL,
    };
    if (how == CG_DELIVERY_TIMEOUT)
        e.error = "the web server did not take the answer in time (WRITE_TIMEOUT)";
    else if (x->client_gone || how == CG_DELIVERY_GONE)
        e.error = "client went away";
    log_access(&e);
    struct metrics_request mr = {
        .method = metrics_method(x), .http = x->http, .code = x->code,
        .duration_us = duration_us, .bytes_in = x->bytes_in, .bytes_out = x->bytes_out,
        .channel_state = upstream_present(&g->upstream) ? upstream_state_name(&g->upstream) : NULL,
    };
    metrics_request_end(&mr);
}

void gateway_handle(struct gateway *g, const struct cg_request_io *io)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct cg_exchange x;
    size_t max = 0, hint = 0;
    if (gateway_begin(g, &x, &g->arena, io, CG_REFUSE_NONE, &max, &hint)) {
        char *body = NULL;
        size_t len = 0;
        enum cg_body how;
        if (read_body(&x, hint, &body, &len, &how))
            fail(&x, CG_E_OUT_OF_MEMORY, NULL, "the request body", NULL);
        else
            gateway_resume(g, &x, io, body, len, how);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    gateway_end(&x, (t1.tv_sec - t0.tv_sec) * 1000000LL + (t1.tv_nsec - t0.tv_nsec) / 1000,
                CG_DELIVERED);
    arena_reset(&g->arena);
}

static size_t saturating_add(size_t a, size_t b)
{
    return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

size_t gateway_arena_limit(const struct cg_config *cfg)
{
    size_t limit = saturating_add(cfg->max_request, cfg->max_request);
    limit = saturating_add(limit, cfg->max_response / 2 > SIZE_MAX / 8 ? SIZE_MAX : cfg->max_response * 4);
    return saturating_add(limit, 16u << 20);
}

int gateway_init(struct gateway *g, const struct cg_config *cfg, const struct upstream *up,
                 struct cg_status *st)
{
    memset(g, 0, sizeof *g);
    g->cfg = cfg;
    if (up)
        g->upstream = *up;
    metrics_ensure();
    if (upstream_present(&g->upstream))
        metrics_channel_state(upstream_state_name(&g->upstream));
    arena_init(&g->arena, gateway_arena_limit(cfg));
    outbuf_init(&g->out, 0);
    if (outbuf_set_sink(&g->out, CG_RESPONSE_CHUNK, stream_sink, NULL))
        return cg_fail(st, CG_RESOURCE_EXHAUSTED, "out of memory for the output buffer");
    return 0;
}

void gateway_free(struct gateway *g)
{
    arena_free(&g->arena);
    outbuf_free(&g->out);
}
