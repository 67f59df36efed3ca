#include "base/origin.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/text_list.h"

int origin_host_port(const char *s, size_t n, struct origin_site *out)
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

int origin_parse(const char *o, struct origin_site *out)
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
    return origin_host_port(o + skip, strlen(o + skip), out);
}

int origin_same(const struct origin_site *a, const struct origin_site *b)
{
    return a->https == b->https && a->port == b->port && a->host_len == b->host_len &&
           !strncasecmp(a->host, b->host, a->host_len);
}

/* An entry of the list: "*", "null", or any scheme (an app's custom one
 * too) followed by "://host[:port]". */
static int entry_ok(const char *e, size_t n)
{
    if (n == 4 && !strncmp(e, "null", 4))
        return 1;
    size_t scheme = 0;
    while (scheme < n && (isalnum((unsigned char)e[scheme]) || e[scheme] == '+' ||
                          e[scheme] == '-' || e[scheme] == '.'))
        scheme++;
    struct origin_site s = {0};
    return scheme > 0 && isalpha((unsigned char)e[0]) && n - scheme >= 4 &&
           !memcmp(e + scheme, "://", 3) &&
           origin_host_port(e + scheme + 3, n - scheme - 3, &s) == 0;
}

int origin_list_parse(struct origin_list *l, const char *setting, const char *text,
                      struct cg_status *st)
{
    memset(l, 0, sizeof *l);
    size_t cap = 0, n;
    const char *p = text, *e;
    while ((e = text_list_next(&p, &n, 0))) {
        if (n == 1 && *e == '*') {
            l->wildcard = 1;
            continue;
        }
        if (!entry_ok(e, n)) {
            origin_list_free(l);
            return cg_fail(st, CG_INVALID_ARGUMENT,
                           "%s: \"%.*s\" is not an origin; write scheme://host[:port] with no "
                           "path, such as https://cueweb.example.com (or * or null)",
                           setting, (int)(n > 80 ? 80 : n), e);
        }
        if (l->n == cap) {
            cap = cap ? cap * 2 : 4;
            void *grown = realloc(l->entry, cap * sizeof *l->entry);
            if (!grown) {
                origin_list_free(l);
                return cg_fail(st, CG_INTERNAL, "%s: out of memory", setting);
            }
            l->entry = grown;
        }
        l->entry[l->n].s = e;
        l->entry[l->n].len = n;
        l->n++;
    }
    return 0;
}

void origin_list_free(struct origin_list *l)
{
    free(l->entry);
    memset(l, 0, sizeof *l);
}

static int plain_origin(const char *o)
{
    if (!*o || strlen(o) > 512)
        return 0;
    for (const char *p = o; *p; p++)
        if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f || *p == ',' || *p == '"')
            return 0;
    return 1;
}

enum origin_listed origin_list_find(const struct origin_list *l, const char *origin)
{
    if (!origin || !l || !plain_origin(origin))
        return ORIGIN_NOT_LISTED;
    size_t olen = strlen(origin);
    for (size_t i = 0; i < l->n; i++)
        if (l->entry[i].len == olen && !strncasecmp(l->entry[i].s, origin, olen))
            return ORIGIN_LISTED;
    return l->wildcard ? ORIGIN_BY_WILDCARD : ORIGIN_NOT_LISTED;
}
