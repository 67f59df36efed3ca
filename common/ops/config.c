#include "ops/config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
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

/* A string in LO's place is an enum's choices, a number is a bound: one
 * column each would leave one of them empty on every other row. */
#define BOUND(x) _Generic((x), char *: 0LL, const char *: 0LL, default: (x))
#define CHOICES(x) _Generic((x), char *: (x), const char *: (x), default: NULL)

const struct setting settings[SETTING_COUNT] = {
#define SETTING_GROUP(ID, TITLE)
#define SETTING(NAME, GROUP, KIND, FIELD, LO, HI, FLAGS, DEFAULT, HELP)                   \
    [SET_##NAME] = {#NAME, GROUP_##GROUP, KIND, offsetof(struct cg_config, FIELD),          \
                    sizeof(((struct cg_config *)0)->FIELD), BOUND(LO), HI, CHOICES(LO),   \
                    FLAGS, DEFAULT, HELP},
#include "ops/settings.def"
#undef SETTING_GROUP
#undef SETTING
};

const char *const setting_group_titles[GROUP_COUNT] = {
#define SETTING_GROUP(ID, TITLE) [GROUP_##ID] = TITLE,
#define SETTING(...)
#include "ops/settings.def"
#undef SETTING_GROUP
#undef SETTING
};

const char *setting_kind_name(enum setting_kind kind)
{
    static const char *const names[] = {
        [KIND_STRING] = "string", [KIND_FILE] = "file", [KIND_ENDPOINT] = "endpoints",
        [KIND_ADDRS] = "addresses", [KIND_POLICY] = "file", [KIND_PREFIX] = "path",
        [KIND_PATH] = "path", [KIND_PATH_OR_OFF] = "path|off", [KIND_DIR] = "directory",
        [KIND_ORIGINS] = "origins", [KIND_DURATION] = "duration", [KIND_BYTES] = "bytes",
        [KIND_MIB] = "MiB", [KIND_SECONDS] = "seconds", [KIND_INT] = "number",
        [KIND_SWITCH] = "switch", [KIND_ENUM] = "choice",
    };
    return names[kind];
}

/* The refusal of value v: "NAME: expected <what>, got "v"", except that a
 * secret's value is never quoted. */
static int refuse(struct cg_status *st, const struct setting *s, const char *v, const char *fmt,
                  ...) __attribute__((format(printf, 4, 5)));
static int refuse(struct cg_status *st, const struct setting *s, const char *v, const char *fmt,
                  ...)
{
    char what[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (s->flags & SF_SECRET)
        return cg_fail(st, CG_INVALID_ARGUMENT, "%s: expected %s", s->name, what);
    return cg_fail(st, CG_INVALID_ARGUMENT, "%s: expected %s, got \"%.40s\"", s->name, what, v);
}

/* The choice v names, by index, or -1. */
static int find_choice(const struct setting *s, const char *v)
{
    size_t n = strlen(v);
    int index = 0;
    for (const char *p = s->choices; *p; index++) {
        for (;;) {           /* the spellings of one choice, '|' apart */
            size_t len = strcspn(p, "| ");
            if (len == n && !((s->flags & SF_ANYCASE) ? strncasecmp(p, v, n) : strncmp(p, v, n)))
                return index;
            p += len;
            if (*p != '|')
                break;
            p++;
        }
        p += *p == ' ';
    }
    return -1;
}

/* "a, b, c or d": the first spelling of each choice. */
static void list_choices(const struct setting *s, char *out, size_t n)
{
    size_t len = 0, count = 1;
    for (const char *p = s->choices; *p; p++)
        count += *p == ' ';
    const char *p = s->choices;
    for (size_t i = 0; i < count && len < n; i++) {
        size_t word = strcspn(p, "| ");
        len += (size_t)snprintf(out + len, n - len, "%s%.*s", i == 0 ? "" : i + 1 == count ? " or " : ", ",
                                (int)word, p);
        p += strcspn(p, " ");
        p += *p == ' ';
    }
}

/* Numbers of every width go through one reader, so the table need not say
 * each field's type: only its size. */
static void store_number(char *field, size_t size, long long v)
{
    if (size == sizeof(int32_t)) {
        int32_t x = (int32_t)v;
        memcpy(field, &x, sizeof x);
    } else {
        int64_t x = (int64_t)v;
        memcpy(field, &x, sizeof x);
    }
}

/* Reads v into `field` (the setting's field in c, or in a request's copy
 * of the auth settings, where c is NULL). */
static int parse_value(const struct setting *s, const char *v, struct cg_config *c, char *field,
                       struct cg_status *st)
{
    long n;
    switch (s->kind) {
    case KIND_STRING: case KIND_FILE: case KIND_ENDPOINT: case KIND_ADDRS: case KIND_POLICY:
        *(const char **)field = v;
        return 0;
    case KIND_PREFIX: {
        size_t len = strlen(v);
        while (len > 0 && v[len - 1] == '/')
            len--;               /* "/cue/" and "/cue" mount the same place */
        if (len > 0 && (!plain_path(v) || len > (size_t)s->hi))
            return refuse(st, s, v, "a path such as /cue (at most %lld bytes, no spaces or '?')",
                          s->hi);
        c->url_prefix = v;
        c->url_prefix_len = len;
        return 0;
    }
    case KIND_PATH_OR_OFF:
        if (!strcmp(v, "off")) {
            c->metrics_off = 1;
            return 0;
        }
        /* fall through */
    case KIND_PATH:
        if (!plain_path(v))
            return refuse(st, s, v, "a path that starts with '/', without spaces, '?' or '#'%s",
                          s->kind == KIND_PATH_OR_OFF ? ", or off" : "");
        *(const char **)field = v;
        return 0;
    case KIND_DIR:
        if (v[0] != '/')
            return refuse(st, s, v, "an absolute directory path");
        *(const char **)field = v;
        return 0;
    case KIND_ORIGINS:
        origin_list_free(&c->cors_allowed);     /* the default's, when one is given */
        *(const char **)field = v;
        return origin_list_parse(&c->cors_allowed, s->name, v, st);
    case KIND_DURATION: {
        int64_t ms = config_parse_duration(v);
        if (ms < s->lo)
            return refuse(st, s, v, "a duration such as 30s, 500ms, 2m or plain seconds (%sat most "
                          "a day)", s->lo > 0 ? "above 0, " : "");
        store_number(field, s->size, ms);
        return 0;
    }
    case KIND_BYTES: case KIND_MIB: case KIND_SECONDS: case KIND_INT: {
        static const char *const unit[] = {[KIND_BYTES] = "a byte count",
                                           [KIND_MIB] = "a whole number of MiB",
                                           [KIND_SECONDS] = "whole seconds",
                                           [KIND_INT] = "a number"};
        if (parse_long(v, (long)s->lo, (long)s->hi, &n))
            return refuse(st, s, v, "%s from %lld to %lld", unit[s->kind], s->lo, s->hi);
        store_number(field, s->size, s->kind == KIND_MIB ? (long long)n << 20 : n);
        return 0;
    }
    case KIND_SWITCH: {
        int on;
        if (config_parse_switch(v, &on))
            return refuse(st, s, v, SWITCH_EXPECTED);
        store_number(field, s->size, on);
        return 0;
    }
    case KIND_ENUM: {
        int i = find_choice(s, v);
        if (i < 0) {
            char list[120];
            list_choices(s, list, sizeof list);
            return refuse(st, s, v, "%s", list);
        }
        store_number(field, s->size, i);
        return 0;
    }
    }
    return refuse(st, s, v, "a value");
}

/* Whether the default text is a value to read (else it only describes). */
static int has_default(const struct setting *s)
{
    return s->def[0] && !(s->flags & SF_DERIVED);
}

static int load_defaults(struct cg_config *c, struct cg_status *st)
{
    memset(c, 0, sizeof *c);
    c->url_prefix = "";
    for (size_t i = 0; i < SETTING_COUNT; i++)
        if (has_default(&settings[i]) &&
            parse_value(&settings[i], settings[i].def, c, (char *)c + settings[i].off, st))
            return -1;
    return 0;
}

/* Reads setting i from `get` over its default. */
static int load_setting(struct cg_config *c, size_t i, config_get_fn get, void *ctx,
                        struct cg_status *st)
{
    const struct setting *s = &settings[i];
    const char *v = value(get, ctx, s->name);
    c->given[i] = v;
    return v ? parse_value(s, v, c, (char *)c + s->off, st) : 0;
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
    for (size_t i = 0; i < SETTING_COUNT; i++) {
        const struct setting *s = &settings[i];
        if (!(s->flags & SF_PER_REQUEST))
            continue;
        const char *raw = param(ctx, s->name);
        if (!raw)
            continue;        /* not sent with this request: the process's own */
        /* Present but blank means the default, as in the environment. */
        char *field = (char *)out + (s->off - offsetof(struct cg_config, auth));
        const char *v = unless_blank(raw);
        if (!v && !has_default(s)) {
            memset(field, 0, s->size);
            continue;
        }
        if (parse_value(s, v ? v : s->def, NULL, field, st))
            return -1;
    }
    return 0;
}

/* What no single setting can say: pairs, credentials, files. */
static int check_across(struct cg_config *c, struct cg_status *st)
{
    if (!c->tls_cert != !c->tls_key)
        return cg_fail(st, CG_INVALID_ARGUMENT,
                       "%s: mutual TLS needs both CUEBOT_TLS_CERT and CUEBOT_TLS_KEY",
                       c->tls_cert ? "CUEBOT_TLS_KEY" : "CUEBOT_TLS_CERT");
    /* Here rather than when a worker opens its channel: a bad value must stop
     * start-up (and --check-config) before anything is served. */
    struct cuebot_settings cs = {.endpoints = c->cuebot_endpoint, .tls_ca = c->tls_ca,
                                 .tls_cert = c->tls_cert, .tls_key = c->tls_key};
    if (cuebot_check_settings(&cs, st))
        return -1;
    if (!auth_settings_usable(&c->auth) && !c->settings_from_params)
        return cg_fail(st, CG_INVALID_ARGUMENT,
                       "JWT_SECRET: no credential is configured; set JWT_SECRET or "
                       "AUTH_TOKEN, or AUTH_MODE=remote-user behind an authenticating "
                       "web server, or SETTINGS_FROM_PARAMS=1 when the web server sends "
                       "them with each request");
    if (c->access_policy && !(c->policy = policy_load(c->access_policy, st)))
        return -1;
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
    if (!get)
        get = env_get;
    int rc = load_defaults(c, st);
    for (size_t i = 0; i < SETTING_COUNT && !rc; i++)
        rc = load_setting(c, i, get, ctx, st);
    if (rc || check_across(c, st)) {
        config_free(c);
        return -1;
    }
    return 0;
}

int config_load_one(struct cg_config *c, enum setting_id id, config_get_fn get, void *ctx,
                    struct cg_status *st)
{
    if (load_defaults(c, st) || load_setting(c, id, get ? get : env_get, ctx, st)) {
        config_free(c);
        return -1;
    }
    return 0;
}
