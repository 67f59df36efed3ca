/* The settings table (common/ops/settings.def): its defaults are values
 * its own kinds accept and agree with the limits the rest of the code
 * falls back on, and what may come per request lives in the auth part. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/cg_limits.h"
#include "ops/config.h"
#include "unit.h"

static const char *only_secret(void *ctx, const char *name)
{
    (void)ctx;
    return strcmp(name, "JWT_SECRET") ? NULL : "s";
}

static void test_defaults(void)
{
    struct cg_config c;
    struct cg_status st;
    cg_status_clear(&st);
    CHECK(config_load(&c, only_secret, NULL, &st) == 0);
    /* The table's texts, read as values, are what the code assumed. */
    CHECK(c.max_request == CG_DEFAULT_MAX_REQUEST && c.max_response == CG_DEFAULT_MAX_RESPONSE);
    CHECK(c.worker_threads == CG_DEFAULT_WORKER_THREADS);
    CHECK(c.params_timeout_ms == CG_DEFAULT_PARAMS_TIMEOUT_MS &&
          c.body_timeout_ms == CG_DEFAULT_BODY_TIMEOUT_MS &&
          c.write_timeout_ms == CG_DEFAULT_WRITE_TIMEOUT_MS &&
          c.idle_timeout_ms == CG_DEFAULT_IDLE_TIMEOUT_MS);
    CHECK(c.request_timeout_ms == 30000 && c.shutdown_timeout_ms == 30000);
    CHECK(c.log_level == CG_LOG_INFO && !c.log_json && !c.auth.remote_user && !c.auth.read_only);
    CHECK_STR(c.cuebot_endpoint, "localhost:8443");
    CHECK_STR(c.url_prefix, "");
    CHECK(c.given[SET_JWT_SECRET] != NULL && c.given[SET_REQUEST_TIMEOUT] == NULL);
    config_free(&c);
}

static void test_table(void)
{
    size_t auth_lo = offsetof(struct cg_config, auth);
    size_t auth_hi = auth_lo + sizeof(struct auth_settings);
    for (size_t i = 0; i < SETTING_COUNT; i++) {
        const struct setting *s = &settings[i];
        CHECK(s->name && s->help && s->help[0] && s->def);
        /* config_request_auth writes into a copy of the auth part only. */
        if (s->flags & SF_PER_REQUEST)
            CHECK(s->off >= auth_lo && s->off + s->size <= auth_hi);
        CHECK((s->kind == KIND_ENUM) == (s->choices != NULL));
        for (size_t j = 0; j < i; j++)
            CHECK(strcmp(s->name, settings[j].name) != 0);
    }
    /* Each group's settings are together, in the groups' order, as the
     * docs list them. */
    for (size_t i = 1; i < SETTING_COUNT; i++)
        CHECK(settings[i].group >= settings[i - 1].group);
}

/* An enum's other spellings and case, where the table allows them. */
static void test_choices(void)
{
    static const struct { const char *name, *value; int ok; } cases[] = {
        {"LOG_LEVEL", "Warning", 1}, {"LOG_LEVEL", "ERROR", 1}, {"LOG_LEVEL", "warnings", 0},
        {"AUTH_MODE", "Token", 0}, {"LOG_FORMAT", "JSON", 0}, {"LOG_FORMAT", "json", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct cg_config c;
        struct cg_status st;
        cg_status_clear(&st);
        const char *name = cases[i].name, *value = cases[i].value;
        setenv(name, value, 1);
        setenv("JWT_SECRET", "s", 1);
        int rc = config_load(&c, NULL, NULL, &st);
        unsetenv(name);
        if ((rc == 0) == cases[i].ok)
            unit_passed++;
        else
            unit_fail(__FILE__, __LINE__, value, rc ? st.msg : "loaded");
        if (rc == 0)
            config_free(&c);
        else
            CHECK(strstr(st.msg, " or ") != NULL && !strncmp(st.msg, name, strlen(name)));
    }
    unsetenv("JWT_SECRET");
}

int main(void)
{
    test_defaults();
    test_table();
    test_choices();
    return unit_report("settings");
}
