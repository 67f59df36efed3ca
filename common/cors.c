#include "cors.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static int plain_origin(const char *o)
{
    if (!*o || strlen(o) > 512)
        return 0;
    for (const char *p = o; *p; p++)
        if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f || *p == ',' || *p == '"')
            return 0;
    return 1;
}

enum listed { NOT_LISTED = 0, LISTED, WILDCARD };

/* The next entry of a comma list, blanks around it trimmed; NULL at the
 * end. Empty entries (",,", a trailing comma) are skipped. */
static const char *next_entry(const char **p, size_t *n)
{
    const char *s = *p;
    while (*s == ' ' || *s == ',')
        s++;
    if (!*s)
        return NULL;
    const char *start = s;
    while (*s && *s != ',')
        s++;
    *p = s;
    while (s > start && s[-1] == ' ')
        s--;
    *n = (size_t)(s - start);
    return start;
}

/* How the list names `origin`: by itself wins over the wildcard, wherever
 * each stands in the list. */
static enum listed find_origin(const char *allowed, const char *origin)
{
    if (!origin || !allowed || !plain_origin(origin))
        return NOT_LISTED;
    size_t olen = strlen(origin);
    enum listed found = NOT_LISTED;
    const char *p = allowed, *start;
    size_t n;
    while ((start = next_entry(&p, &n))) {
        if (n == 1 && *start == '*')
            found = WILDCARD;
        /* Scheme and host are case-insensitive in an origin. */
        else if (n == olen && n > 0 && !strncasecmp(start, origin, n))
            return LISTED;
    }
    return found;
}

const char *cors_allow_origin(const char *allowed, const char *origin)
{
    switch (find_origin(allowed, origin)) {
    case LISTED: return origin;
    case WILDCARD: return "*";
    case NOT_LISTED: return NULL;
    }
    return NULL;
}

/* ---- cross-site requests --------------------------------------------- */

/* One side of the comparison: scheme, host and port, each normalised. */
struct site {
    int https;
    const char *host;
    size_t host_len;
    long port;
};

/* Reads "host[:port]" (host may be an IPv6 "[...]") of n bytes; the port
 * defaults to the scheme's. */
static int parse_host_port(const char *s, size_t n, struct site *out)
{
    size_t host_end = n;
    if (n > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', n);
        if (!close)
            return -1;
        host_end = (size_t)(close - s) + 1;
        if (host_end < n && s[host_end] != ':')
            return -1;
    } else {
        const char *colon = memchr(s, ':', n);
        if (colon)
            host_end = (size_t)(colon - s);
    }
    if (host_end == 0)
        return -1;
    for (size_t i = 0; i < host_end; i++)
        if ((unsigned char)s[i] <= ' ' || s[i] == '/' || s[i] == '@' || s[i] == '\\' ||
            (unsigned char)s[i] >= 0x7f)
            return -1;
    out->host = s;
    out->host_len = host_end;
    out->port = out->https ? 443 : 80;
    if (host_end == n)
        return 0;
    size_t i = host_end + 1;
    if (i == n || n - i > 5)
        return -1;
    long port = 0;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        port = port * 10 + (s[i] - '0');
    }
    if (port < 1 || port > 65535)
        return -1;
    out->port = port;
    return 0;
}

/* A serialized origin: "http://" or "https://", then host[:port], nothing
 * after it. */
static int parse_origin(const char *o, struct site *out)
{
    static const char http[] = "http://", https[] = "https://";
    size_t skip;
    if (!strncasecmp(o, https, sizeof https - 1)) {
        out->https = 1;
        skip = sizeof https - 1;
    } else if (!strncasecmp(o, http, sizeof http - 1)) {
        out->https = 0;
        skip = sizeof http - 1;
    } else {
        return -1;
    }
    return parse_host_port(o + skip, strlen(o + skip), out);
}

int cors_check_origins(const char *allowed, struct cg_status *st)
{
    const char *p = allowed, *e;
    size_t n;
    while ((e = next_entry(&p, &n))) {
        if ((n == 1 && *e == '*') || (n == 4 && !strncmp(e, "null", 4)))
            continue;
        size_t scheme = 0;
        while (scheme < n && (isalnum((unsigned char)e[scheme]) || e[scheme] == '+' ||
                              e[scheme] == '-' || e[scheme] == '.'))
            scheme++;
        struct site s = {0};
        if (scheme == 0 || !isalpha((unsigned char)e[0]) || n - scheme < 4 ||
            memcmp(e + scheme, "://", 3) || parse_host_port(e + scheme + 3, n - scheme - 3, &s))
            return cg_fail(st, CG_INVALID_ARGUMENT,
                           "CORS_ALLOWED_ORIGINS: \"%.*s\" is not an origin; write "
                           "scheme://host[:port] with no path, such as https://cueweb.example.com "
                           "(or * or null)", (int)(n > 80 ? 80 : n), e);
    }
    return 0;
}

static int same_site(const struct site *a, const struct site *b)
{
    return a->https == b->https && a->port == b->port && a->host_len == b->host_len &&
           !strncasecmp(a->host, b->host, a->host_len);
}

/* The origin the request was sent to, as the front received it. */
static int own_origin(const char *(*param)(void *, const char *), void *ctx, struct site *out,
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
    return parse_host_port(host, strlen(host), out);
}

static int is_own_origin(const char *origin, const char *(*param)(void *, const char *),
                         void *ctx)
{
    struct site o, self;
    char buf[600];
    return parse_origin(origin, &o) == 0 && own_origin(param, ctx, &self, buf, sizeof buf) == 0 &&
           same_site(&o, &self);
}

int cors_cross_site(const char *allowed, int wildcard_allows,
                    const char *(*param)(void *ctx, const char *name), void *ctx)
{
    const char *origin = param(ctx, "HTTP_ORIGIN");
    const char *fetch_site = param(ctx, "HTTP_SEC_FETCH_SITE");
    int marked_cross_site = fetch_site && !strcasecmp(fetch_site, "cross-site");
    if (!origin)
        return marked_cross_site;
    enum listed how = find_origin(allowed, origin);
    if (how == LISTED)
        return 0;
    if (how == WILDCARD && wildcard_allows && strcmp(origin, "null"))
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
        for (const char *p = requested; *p;) {
            while (*p == ' ' || *p == ',')
                p++;
            const char *s = p;
            while (*p && *p != ',' && *p != ' ')
                p++;
            if ((size_t)(p - s) == len && !strncasecmp(s, name, len)) {
                int m = snprintf(out + k, n - (size_t)k, ", %s", name);
                if (m > 0 && (size_t)m < n - (size_t)k)
                    k += m;
                break;
            }
        }
    }
}
