#include "cors.h"

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

const char *cors_allow_origin(const char *allowed, const char *origin)
{
    if (!origin || !allowed || !plain_origin(origin))
        return NULL;
    size_t olen = strlen(origin);
    const char *p = allowed;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *start = p;
        while (*p && *p != ',')
            p++;
        const char *end = p;
        while (end > start && end[-1] == ' ')
            end--;
        size_t n = (size_t)(end - start);
        if (n == 1 && *start == '*')
            return "*";
        /* Scheme and host are case-insensitive in an origin. */
        if (n == olen && n > 0 && !strncasecmp(start, origin, n))
            return origin;
    }
    return NULL;
}

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
