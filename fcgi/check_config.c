#include "check_config.h"

#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "base/arena.h"
#include "ops/config.h"
#include "upstream/cuebot.h"
#include "ops/metrics.h"
#include "auth/policy.h"
#include "pb/schema.h"

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

/* One credential kind and the settings that give it: "JWT (JWT_SECRET,
 * EXPIRING_JWT_SECRET)". */
static void describe_kind(FILE *out, int *any, const char *kind, const char *current,
                          const char *expiring, const char *current_name,
                          const char *expiring_name)
{
    if (!current && !expiring)
        return;
    fprintf(out, "%s%s (%s%s%s)", (*any)++ ? ", " : "", kind, current ? current_name : "",
            current && expiring ? ", " : "", expiring ? expiring_name : "");
}

/* The rotation's second secret alone works, but it is the one meant to be
 * dropped: once it is, every caller is refused. */
static void warn_expiring_only(FILE *err, const char *current, const char *expiring,
                               const char *current_name, const char *expiring_name)
{
    if (expiring && !current)
        fprintf(err, "cuegw: warning: only %s is set; it is the secret on its way out of a "
                     "rotation: set %s to the current one\n", expiring_name, current_name);
}

static void describe_auth(FILE *out, FILE *err, const struct cg_config *c)
{
    const struct auth_settings *a = &c->auth;
    fprintf(out, "  authentication:  ");
    if (a->remote_user)
        fprintf(out, "the web server's REMOTE_USER (AUTH_MODE=remote-user)");
    else {
        int any = 0;
        describe_kind(out, &any, "JWT", a->jwt_secret, a->expiring_jwt_secret, "JWT_SECRET",
                      "EXPIRING_JWT_SECRET");
        describe_kind(out, &any, "static token", a->auth_token, a->expiring_auth_token,
                      "AUTH_TOKEN", "EXPIRING_AUTH_TOKEN");
        if (!any)
            fprintf(out, "none in the environment");
    }
    if (c->settings_from_params)
        fprintf(out, "; credentials per request from the web server (SETTINGS_FROM_PARAMS=1)");
    fprintf(out, "\n");
    if (!a->remote_user) {
        warn_expiring_only(err, a->jwt_secret, a->expiring_jwt_secret, "JWT_SECRET",
                           "EXPIRING_JWT_SECRET");
        warn_expiring_only(err, a->auth_token, a->expiring_auth_token, "AUTH_TOKEN",
                           "EXPIRING_AUTH_TOKEN");
    }
}

static void warn_unmatched(void *ctx, const char *path, int line, const char *pattern)
{
    fprintf((FILE *)ctx, "cuegw: warning: ACCESS_POLICY: %s:%d: pattern '%s' matches none of "
                         "the %zu methods\n", path, line, pattern, schema_method_count());
}

static void describe_metrics(FILE *out, const struct cg_config *c)
{
    if (c->metrics_off) {
        fprintf(out, "  metrics:         off\n");
        return;
    }
    /* url_prefix_len leaves out the trailing '/' of "/cue/". */
    if (c->metrics_path)
        fprintf(out, "  metrics:         %s", c->metrics_path);
    else
        fprintf(out, "  metrics:         %.*s/metrics", (int)c->url_prefix_len, c->url_prefix);
    if (c->metrics_dir) {
        fprintf(out, "; counters in %s\n", c->metrics_dir);
        return;
    }
    /* There is no socket yet: say where each way of running puts them. */
    const char *tmp = getenv("TMPDIR");
    fprintf(out, "; counters in a file beside the unix socket cuegw serves, or in "
                 "%s/cuegw-%ld for a TCP socket\n",
            tmp && tmp[0] == '/' ? tmp : "/tmp", (long)geteuid());
}

/* Every setting given a value, by the table, so that a setting added there
 * is shown here too; a secret only as set. */
static void describe_given(FILE *out, const struct cg_config *c)
{
    int any = 0;
    for (size_t i = 0; i < SETTING_COUNT; i++) {
        const struct setting *s = &settings[i];
        if (!c->given[i])
            continue;
        if (!any++)
            fprintf(out, "  set here (others are at their defaults, see cuegw --help):\n");
        fprintf(out, "    %-22s %s\n", s->name, s->flags & SF_SECRET ? "(set, not shown)" : c->given[i]);
    }
}

static void describe(FILE *out, FILE *err, const struct cg_config *c)
{
    fprintf(out, "cuegw: the settings are valid\n");
    fprintf(out, "  Cuebot:          %s (%s), deadline %lld ms\n", c->cuebot_endpoint,
            c->tls_ca ? (c->tls_cert ? "mutual TLS" : "TLS") : "plaintext",
            (long long)c->request_timeout_ms);
    describe_auth(out, err, c);
    fprintf(out, "  access policy:   %s\n", c->policy ? c->access_policy : "none");
    if (c->policy)
        policy_each_unmatched(c->policy, warn_unmatched, err);
    fprintf(out, "  read-only:       %s\n", c->auth.read_only ? "yes" : "no");
    if (c->url_prefix_len)
        fprintf(out, "  URL prefix:      %.*s\n", (int)c->url_prefix_len, c->url_prefix);
    else
        fprintf(out, "  URL prefix:      (site root)\n");
    fprintf(out, "  health path:     %s\n", or_unset(c->health_path));
    describe_metrics(out, c);
    describe_given(out, c);
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
    if (!cfg.metrics_off && cfg.metrics_dir && metrics_open(&cfg, NULL, &st)) {
        fprintf(err, "cuegw: %s\n", st.msg);
        goto out;
    }
    describe(out, err, &cfg);
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
