#include "http/cors.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/text_list.h"

const char *cors_allow_origin(const struct origin_list *allowed, const char *origin)
{
    switch (origin_list_find(allowed, origin)) {
    case ORIGIN_LISTED: return origin;
    case ORIGIN_BY_WILDCARD: return "*";
    case ORIGIN_NOT_LISTED: return NULL;
    }
    return NULL;
}

/* ---- cross-site requests --------------------------------------------- */

/* The origin the request was sent to, as the front received it. */
static int own_origin(const char *(*param)(void *, const char *), void *ctx, struct origin_site *out,
                      char *buf, size_t bufsize)
{
    const char *https = param(ctx, "HTTPS"), *scheme = param(ctx, "REQUEST_SCHEME");
    out->https = (https && *https && strcasecmp(https, "off")) ||
                 (scheme && !strcasecmp(scheme, "https"));
    const char *host = param(ctx, "HTTP_HOST");
    if (!host || !*host) {
        const char *name = param(ctx, "SERVER_NAME"), *port = param(ctx, "SERVER_PORT");
        if (!name || !*name)
            return -1;
        int n = port && *port ? snprintf(buf, bufsize, "%s:%s", name, port)
                              : snprintf(buf, bufsize, "%s", name);
        if (n < 0 || (size_t)n >= bufsize)
            return -1;
        host = buf;
    }
    return origin_host_port(host, strlen(host), out);
}

static int is_own_origin(const char *origin, const char *(*param)(void *, const char *),
                         void *ctx)
{
    struct origin_site o, self;
    char buf[600];
    return origin_parse(origin, &o) == 0 && own_origin(param, ctx, &self, buf, sizeof buf) == 0 &&
           origin_same(&o, &self);
}

int cors_cross_site(const struct origin_list *allowed, int wildcard_allows,
                    const char *(*param)(void *ctx, const char *name), void *ctx)
{
    const char *origin = param(ctx, "HTTP_ORIGIN");
    const char *fetch_site = param(ctx, "HTTP_SEC_FETCH_SITE");
    int marked_cross_site = fetch_site && !strcasecmp(fetch_site, "cross-site");
    if (!origin)
        return marked_cross_site;
    enum origin_listed how = origin_list_find(allowed, origin);
    if (how == ORIGIN_LISTED)
        return 0;
    if (how == ORIGIN_BY_WILDCARD && wildcard_allows && strcmp(origin, "null"))
        return 0;
    return marked_cross_site || !is_own_origin(origin, param, ctx);
}

/* ---- preflight -------------------------------------------------------- */

/* Headers a browser may send beyond the always-allowed two. */
static const char *const extra_headers[] = {"X-Request-Id"};

void cors_allow_headers(const char *requested, char *out, size_t n)
{
    int k = snprintf(out, n, "Authorization, Content-Type");
    if (!requested || k < 0 || (size_t)k >= n)
        return;
    for (size_t i = 0; i < sizeof extra_headers / sizeof *extra_headers; i++) {
        const char *name = extra_headers[i];
        size_t len = strlen(name);
        const char *p = requested, *s;
        size_t sn;
        while ((s = text_list_next(&p, &sn, 1))) {
            if (sn == len && !strncasecmp(s, name, len)) {
                int m = snprintf(out + k, n - (size_t)k, ", %s", name);
                if (m > 0 && (size_t)m < n - (size_t)k)
                    k += m;
                break;
            }
        }
    }
}
