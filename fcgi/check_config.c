#include "check_config.h"

#include <stdlib.h>
#include <time.h>

#include "arena.h"
#include "config.h"
#include "cuebot.h"
#include "metrics.h"
#include "schema.h"

/* The call that proves Cuebot is there and speaks its API: a read that
 * every Cuebot serves and that costs it one small query. */
#define PROBE_METHOD "/show.ShowInterface/GetShows"
/* However long REQUEST_TIMEOUT is, a check should not hang for long on a
 * host that drops packets. */
#define PROBE_MAX_MS 10000

static const char *or_unset(const char *v)
{
    return v ? v : "(unset)";
}

static void describe_auth(FILE *out, const struct cg_config *c)
{
    const struct auth_settings *a = &c->auth;
    fprintf(out, "  authentication:  ");
    if (a->remote_user)
        fprintf(out, "the web server's REMOTE_USER (AUTH_MODE=remote-user)");
    else {
        int any = 0;
        if (a->jwt_secret || a->expiring_jwt_secret)
            fprintf(out, "%sJWT (%s%s)", any++ ? ", " : "", a->jwt_secret ? "JWT_SECRET" : "",
                    a->expiring_jwt_secret ? " EXPIRING_JWT_SECRET" : "");
        if (a->auth_token || a->expiring_auth_token)
            fprintf(out, "%sstatic token", any++ ? ", " : "");
        if (!any)
            fprintf(out, "none in the environment");
    }
    if (c->settings_from_params)
        fprintf(out, "; credentials per request from the web server (SETTINGS_FROM_PARAMS=1)");
    fprintf(out, "\n");
}

static void describe(FILE *out, const struct cg_config *c)
{
    fprintf(out, "cuegw: the settings are valid\n");
    fprintf(out, "  Cuebot:          %s (%s), deadline %lld ms\n", c->cuebot_endpoint,
            c->tls_ca ? (c->tls_cert ? "mutual TLS" : "TLS") : "plaintext",
            (long long)c->request_timeout_ms);
    describe_auth(out, c);
    const char *policy = c->policy ? getenv("ACCESS_POLICY") : NULL;
    fprintf(out, "  access policy:   %s\n", policy ? policy : "none");
    fprintf(out, "  read-only:       %s\n", c->auth.read_only ? "yes" : "no");
    fprintf(out, "  URL prefix:      %s\n", c->url_prefix_len ? c->url_prefix : "(site root)");
    fprintf(out, "  health path:     %s\n", or_unset(c->health_path));
    if (c->metrics_off)
        fprintf(out, "  metrics:         off\n");
    else
        fprintf(out, "  metrics:         %s%s, kept in %s\n",
                c->metrics_path ? c->metrics_path : c->url_prefix,
                c->metrics_path ? "" : "/metrics",
                c->metrics_dir ? c->metrics_dir
                               : "beside the FastCGI socket (TCP: ${TMPDIR:-/tmp}/cuegw-UID)");
}

int check_config(FILE *out, FILE *err)
{
    struct cg_config cfg;
    struct cg_status st;
    cg_status_clear(&st);
    if (config_load(&cfg, NULL, NULL, &st)) {
        fprintf(err, "cuegw: %s\n", st.msg);
        return CHECK_SETTINGS;
    }
    int rc = CHECK_SETTINGS;
    struct cuebot *cb = NULL;
    if (schema_init(&st)) {
        fprintf(err, "cuegw: the schema registry: %s\n", st.msg);
        goto out;
    }
    if (!cfg.metrics_off && cfg.metrics_dir && metrics_open(&cfg, -1, &st)) {
        fprintf(err, "cuegw: %s\n", st.msg);
        goto out;
    }
    describe(out, &cfg);
    fflush(out);
    struct cuebot_settings cs = {
        .endpoints = cfg.cuebot_endpoint,
        .keepalive_time_ms = cfg.keepalive_time_ms,
        .keepalive_timeout_ms = cfg.keepalive_timeout_ms,
        .max_send = cfg.max_request,
        .max_recv = cfg.max_response,
        .tls_ca = cfg.tls_ca, .tls_cert = cfg.tls_cert, .tls_key = cfg.tls_key,
    };
    if (!(cb = cuebot_open(&cs, &st))) {
        fprintf(err, "cuegw: %s\n", st.msg);
        goto out;
    }
    struct arena a;
    arena_init(&a, cfg.max_response + (16u << 20));
    uint8_t *resp;
    size_t resp_len;
    int64_t timeout = cfg.request_timeout_ms < PROBE_MAX_MS ? cfg.request_timeout_ms : PROBE_MAX_MS;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    static const uint8_t empty_request[1];     /* GetShows takes an empty message */
    int failed = cuebot_call(cb, PROBE_METHOD, empty_request, 0, timeout, "cuegw-check-config", &a,
                             &resp, &resp_len, &st);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (long)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
    if (failed) {
        fprintf(err, "cuegw: Cuebot at %s did not answer %s: %s: %s\n", cfg.cuebot_endpoint,
                PROBE_METHOD + 1, cg_code_name(st.code), st.msg);
        rc = CHECK_CUEBOT;
    } else {
        fprintf(out, "cuegw: Cuebot answered at %s: %s OK, %zu bytes in %ld ms\n",
                cuebot_current_endpoint(cb), PROBE_METHOD + 1, resp_len, ms);
        rc = CHECK_OK;
    }
    arena_free(&a);
out:
    cuebot_close(cb);
    config_free(&cfg);
    return rc;
}
