#include "ops/config.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/cg_limits.h"
#include "base/origin.h"
#include "upstream/cuebot.h"
#include "auth/policy.h"

#define DAY_MS (24LL * 3600 * 1000)

static const char *env_get(void *ctx, const char *name)
{
    (void)ctx;
    return getenv(name);
}

/* Blank (empty or all spaces) counts as unset. */
static const char *unless_blank(const char *v)
{
    if (!v)
        return NULL;
    for (const char *p = v; *p; p++)
        if (*p != ' ' && *p != '\t')
            return v;
    return NULL;
}

static const char *value(config_get_fn get, void *ctx, const char *name)
{
    return unless_blank(get(ctx, name));
}

int64_t config_parse_duration(const char *s)
{
    if (!s || !*s)
        return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || !(v >= 0) || s[0] == '-' || s[0] == '+' ||
        s[0] == ' ')
        return -1;
    double scale;
    if (!*end || !strcmp(end, "s"))
        scale = 1000;
    else if (!strcmp(end, "ms"))
        scale = 1;
    else if (!strcmp(end, "m"))
        scale = 60000;
    else if (!strcmp(end, "h"))
        scale = 3600000;
    else
        return -1;
    double ms = v * scale;
    if (ms > (double)DAY_MS)
        return -1;
    return (int64_t)(ms + 0.5);
}

/* A whole decimal number in [lo, hi]. */
static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi || s[0] == ' ')
        return -1;
    *out = v;
    return 0;
}

/* Exactly the documented "1" or "0": a "yes" taken here but refused by
 * another switch (or a "2" refused while "true" passed) makes an operator
 * guess which spelling each setting wants. */
int config_parse_switch(const char *s, int *out)
{
    if (s && (!strcmp(s, "1") || !strcmp(s, "0"))) {
        *out = s[0] == '1';
        return 0;
    }
    return -1;
}

/* A path setting: starts with '/', holds no spaces, query or fragment. */
static int plain_path(const char *s)
{
    if (s[0] != '/')
        return 0;
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == '?' || *p == '#' || *p == 0x7f)
            return 0;
    return 1;
}

static int load_cuebot(struct cg_config *c, config_get_fn get, void *ctx,
                       struct cg_status *st)
{
    const char *v;
    c->cuebot_endpoint = (v = value(get, ctx, "CUEBOT_ENDPOINT")) ? v : "localhost:8443";

    if ((v = value(get, ctx, "REQUEST_TIMEOUT"))) {
        c->request_timeout_ms = config_parse_duration(v);
        if (c->request_timeout_ms <= 0)
            return cg_fail(st, CG_INVALID_ARGUMENT,
                           "REQUEST_TIMEOUT: expected a duration such as 30s, 500ms, 2m "
                           "or plain seconds (above 0, at most a day), got \"%.40s\"", v);
    }
    long n;
    if ((v = value(get, ctx, "GRPC_MAX_MESSAGE_SIZE"))) {
        if (parse_long(v, 1, INT_MAX, &n))
            return cg_fail(st, CG_INVALID_ARGUMENT,
                           "GRPC_MAX_MESSAGE_SIZE: expected a byte count from 1 to %d, got \"%.40s\"",
                           INT_MAX, v);
        c->max_request = (size_t)n;
    }
    if ((v = value(get, ctx, "GRPC_MAX_RECV_MSG_MB"))) {
        if (parse_long(v, 1, 2047, &n))
            return cg_fail(st, CG_INVALID_ARGUMENT,
                           "GRPC_MAX_RECV_MSG_MB: expected a whole number of MiB from 1 to 2047, got \"%.40s\"",
                           v);
        c->max_response = (size_t)n * 1024 * 1024;
    }
    static const struct { const char *name; size_t off; } keepalive[] = {
        {"GRPC_KEEPALIVE_TIME", offsetof(struct cg_config, keepalive_time_ms)},
        {"GRPC_KEEPALIVE_TIMEOUT", offsetof(struct cg_config, keepalive_timeout_ms)},
    };
    for (size_t i = 0; i < 2; i++) {
        if (!(v = value(get, ctx, keepalive[i].name)))
            continue;
        int64_t ms = config_parse_duration(v);
        if (ms <= 0)
            return cg_fail(st, CG_INVALID_ARGUMENT,
                           "%s: expected a duration such as 30s or 10s, got \"%.40s\"",
                           keepalive[i].name, v);
        *(int *)((char *)c + keepalive[i].off) = (int)ms;
    }
    c->tls_ca = value(get, ctx, "CUEBOT_TLS_CA");
    c->tls_cert = value(get, ctx, "CUEBOT_TLS_CERT");
    c->tls_key = value(get, ctx, "CUEBOT_TLS_KEY");
    if (!c->tls_cert != !c->tls_key)
        return cg_fail(st, CG_INVALID_ARGUMENT,
                       "%s: mutual TLS needs both CUEBOT_TLS_CERT and CUEBOT_TLS_KEY",
                       c->tls_cert ? "CUEBOT_TLS_KEY" : "CUEBOT_TLS_CERT");
    /* Here rather than when a worker opens its channel: a bad value must stop
     * start-up (and --check-config) before anything is served. */
    struct cuebot_settings cs = {.endpoints = c->cuebot_endpoint, .tls_ca = c->tls_ca,
                                 .tls_cert = c->tls_cert, .tls_key = c->tls_key};
    return cuebot_check_settings(&cs, st);
}

static int load_http(struct cg_config *c, config_get_fn get, void *ctx,
                     struct cg_status *st)
{
    const char *v;
    c->url_prefix = "";
    if ((v = value(get, ctx, "URL_PREFIX"))) {
        size_t n = strlen(v);
        while (n > 0 && v[n - 1] == '/')
            n--;               /* "/cue/" and "/cue" mount the same place */
        if (n > 0 && (!plain_path(v) || n > CG_MAX_PREFIX))
            return cg_fail(st, CG_INVALID_ARGUMENT,
                           "URL_PREFIX: expected a path such as /cue (at most %d bytes, "
                           "no spaces or '?'), got \"%.40s\"", CG_MAX_PREFIX, v);
        c->url_prefix = v;
        c->url_prefix_len = n;
    }
    if ((v = value(get, ctx, "HEALTH_PATH"))) {
        if (!plain_path(v))
            return cg_fail(st, CG_INVALID_ARGUMENT,
                           "HEALTH_PATH: expected a path such as /healthz, got \"%.40s\"", v);
        c->health_path = v;
    }
    if ((v = value(get, ctx, "OPENAPI_PATH"))) {
        if (!plain_path(v))
            return cg_fail(st, CG_INVALID_ARGUMENT,
                           "OPENAPI_PATH: expected a path such as /openapi.json, got \"%.40s\"", v);
        c->openapi_path = v;
    }
    c->cors_origins = (v = value(get, ctx, "CORS_ALLOWED_ORIGINS")) ? v : "*";
    if (origin_list_parse(&c->cors_allowed, "CORS_ALLOWED_ORIGINS", c->cors_origins, st))
        return -1;
    if ((v = value(get, ctx, "METRICS_PATH"))) {
        if (!strcmp(v, "off"))
            c->metrics_off = 1;
        else if (!plain_path(v))
            return cg_fail(st, CG_INVALID_ARGUMENT,
                           "METRICS_PATH: expected a path such as /metrics, or off, got \"%.40s\"", v);
        else
            c->metrics_path = v;
    }
    if ((v = value(get, ctx, "METRICS_DIR"))) {
        if (v[0] != '/')
            return cg_fail(st, CG_INVALID_ARGUMENT,
                           "METRICS_DIR: expected an absolute directory path, got \"%.40s\"", v);
        c->metrics_dir = v;
    }
    return 0;
}

/* The settings both the environment and a request's parameters may set. */
static int read_auth(struct auth_settings *a, config_get_fn get, void *ctx, int override,
                     struct cg_status *st)
{
    static const struct { const char *name; size_t off; } secrets[] = {
        {"JWT_SECRET", offsetof(struct auth_settings, jwt_secret)},
        {"EXPIRING_JWT_SECRET", offsetof(struct auth_settings, expiring_jwt_secret)},
        {"AUTH_TOKEN", offsetof(struct auth_settings, auth_token)},
        {"EXPIRING_AUTH_TOKEN", offsetof(struct auth_settings, expiring_auth_token)},
    };
    for (size_t i = 0; i < sizeof secrets / sizeof *secrets; i++) {
        const char *raw = get(ctx, secrets[i].name);
        if (override && !raw)
            continue;        /* not sent with this request: the process's own */
        *(const char **)((char *)a + secrets[i].off) = unless_blank(raw);
    }
    /* As for the secrets: absent keeps the current value, present but
     * blank means the default. */
    const char *raw = get(ctx, "JWT_LEEWAY"), *v = unless_blank(raw);
    if (raw && !v)
        a->jwt_leeway = 0;
    if (v && parse_long(v, 0, 86400, &a->jwt_leeway))
        return cg_fail(st, CG_INVALID_ARGUMENT,
                       "JWT_LEEWAY: expected whole seconds from 0 to 86400, got \"%.40s\"", v);
    raw = get(ctx, "READ_ONLY");
    v = unless_blank(raw);
    if (raw && !v)
        a->read_only = 0;
    if (v && config_parse_switch(v, &a->read_only))
        return cg_fail(st, CG_INVALID_ARGUMENT, "READ_ONLY: " SWITCH_EXPECTED ", got \"%.40s\"", v);
    return 0;
}

int config_request_auth(const struct cg_config *c, config_get_fn param, void *ctx,
                        struct auth_settings *out, struct cg_status *st)
{
    *out = c->auth;
    /* Opt-in: without it, whoever reaches the FastCGI socket (any local
     * user, for a loopback TCP port) could send a JWT_SECRET of their own
     * and sign their own tokens, or READ_ONLY=0. */
    if (!c->settings_from_params)
        return 0;
    return read_auth(out, param, ctx, 1, st);
}

static int load_auth(struct cg_config *c, config_get_fn get, void *ctx,
                     struct cg_status *st)
{
    const char *v;
    if (read_auth(&c->auth, get, ctx, 0, st))
        return -1;
    if ((v = value(get, ctx, "AUTH_MODE"))) {
        if (!strcmp(v, "remote-user"))
            c->auth.remote_user = 1;
        else if (strcmp(v, "token"))
            return cg_fail(st, CG_INVALID_ARGUMENT,
                           "AUTH_MODE: expected token or remote-user, got \"%.40s\"", v);
    }
    if ((v = value(get, ctx, "SETTINGS_FROM_PARAMS")) && config_parse_switch(v, &c->settings_from_params))
        return cg_fail(st, CG_INVALID_ARGUMENT,
                       "SETTINGS_FROM_PARAMS: " SWITCH_EXPECTED ", got \"%.40s\"", v);
    if (!auth_settings_usable(&c->auth) && !c->settings_from_params)
        return cg_fail(st, CG_INVALID_ARGUMENT,
                       "JWT_SECRET: no credential is configured; set JWT_SECRET or "
                       "AUTH_TOKEN, or AUTH_MODE=remote-user behind an authenticating "
                       "web server, or SETTINGS_FROM_PARAMS=1 when the web server sends "
                       "them with each request");
    if ((v = value(get, ctx, "ACCESS_POLICY")) && !(c->policy = policy_load(v, st)))
        return -1;
    return 0;
}

static int load_operation(struct cg_config *c, config_get_fn get, void *ctx,
                          struct cg_status *st)
{
    const char *v;
    if ((v = value(get, ctx, "LOG_LEVEL"))) {
        static const char *const names[] = {"debug", "info", "warn", "error"};
        int found = -1;
        for (int i = 0; i < 4; i++)
            if (!strcasecmp(v, names[i]))
                found = i;
        if (!strcasecmp(v, "warning"))
            found = CG_LOG_WARN;
        if (found < 0)
            return cg_fail(st, CG_INVALID_ARGUMENT,
                           "LOG_LEVEL: expected debug, info, warn or error, got \"%.40s\"", v);
        c->log_level = (enum log_level)found;
    }
    if ((v = value(get, ctx, "LOG_FORMAT"))) {
        if (!strcmp(v, "json"))
            c->log_json = 1;
        else if (strcmp(v, "text"))
            return cg_fail(st, CG_INVALID_ARGUMENT,
                           "LOG_FORMAT: expected text or json, got \"%.40s\"", v);
    }
    if ((v = value(get, ctx, "SHUTDOWN_TIMEOUT"))) {
        c->shutdown_timeout_ms = config_parse_duration(v);
        if (c->shutdown_timeout_ms < 0)
            return cg_fail(st, CG_INVALID_ARGUMENT,
                           "SHUTDOWN_TIMEOUT: expected a duration such as 30s, got \"%.40s\"", v);
    }
    long n;
    if ((v = value(get, ctx, "WORKER_THREADS"))) {
        if (parse_long(v, 1, CG_MAX_WORKER_THREADS, &n))
            return cg_fail(st, CG_INVALID_ARGUMENT,
                           "WORKER_THREADS: expected a number from 1 to %d, got \"%.40s\"",
                           CG_MAX_WORKER_THREADS, v);
        c->worker_threads = (int)n;
    }
    static const struct { const char *name; size_t off; } peer[] = {
        {"PARAMS_TIMEOUT", offsetof(struct cg_config, params_timeout_ms)},
        {"BODY_TIMEOUT", offsetof(struct cg_config, body_timeout_ms)},
        {"WRITE_TIMEOUT", offsetof(struct cg_config, write_timeout_ms)},
        {"IDLE_TIMEOUT", offsetof(struct cg_config, idle_timeout_ms)},
    };
    for (size_t i = 0; i < sizeof peer / sizeof *peer; i++) {
        if (!(v = value(get, ctx, peer[i].name)))
            continue;
        int64_t ms = config_parse_duration(v);
        if (ms <= 0)
            return cg_fail(st, CG_INVALID_ARGUMENT,
                           "%s: expected a duration such as 10s or 500ms (above 0), got \"%.40s\"",
                           peer[i].name, v);
        *(int64_t *)((char *)c + peer[i].off) = ms;
    }
    if ((v = value(get, ctx, "ALLOW_NON_LOOPBACK")) && config_parse_switch(v, &c->allow_non_loopback))
        return cg_fail(st, CG_INVALID_ARGUMENT,
                       "ALLOW_NON_LOOPBACK: " SWITCH_EXPECTED ", got \"%.40s\"", v);
    c->web_server_addrs = value(get, ctx, "FCGI_WEB_SERVER_ADDRS");
    return 0;
}

void config_free(struct cg_config *c)
{
    policy_free(c->policy);
    c->policy = NULL;
    origin_list_free(&c->cors_allowed);
}

int config_load(struct cg_config *c, config_get_fn get, void *ctx,
                struct cg_status *st)
{
    memset(c, 0, sizeof *c);
    c->request_timeout_ms = 30000;
    c->max_request = CG_DEFAULT_MAX_REQUEST;
    c->max_response = CG_DEFAULT_MAX_RESPONSE;
    c->log_level = CG_LOG_INFO;
    c->shutdown_timeout_ms = 30000;
    c->worker_threads = CG_DEFAULT_WORKER_THREADS;
    c->params_timeout_ms = CG_DEFAULT_PARAMS_TIMEOUT_MS;
    c->body_timeout_ms = CG_DEFAULT_BODY_TIMEOUT_MS;
    c->write_timeout_ms = CG_DEFAULT_WRITE_TIMEOUT_MS;
    c->idle_timeout_ms = CG_DEFAULT_IDLE_TIMEOUT_MS;
    if (!get)
        get = env_get;
    if (load_cuebot(c, get, ctx, st) || load_http(c, get, ctx, st) ||
        load_auth(c, get, ctx, st) || load_operation(c, get, ctx, st)) {
        config_free(c);
        return -1;
    }
    return 0;
}
