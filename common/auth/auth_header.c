#include "auth/auth_header.h"

#include <string.h>

#include "base/cg_limits.h"

/* Labels are part of the metrics interface: never rename one. */
static const char *const names[AUTH_RESULT_COUNT] = {
    [AUTH_OK] = "ok",
    [AUTH_MISSING] = "missing",
    [AUTH_BAD_HEADER] = "bad_header",
    [AUTH_MALFORMED] = "malformed",
    [AUTH_BAD_ALG] = "bad_alg",
    [AUTH_UNSUPPORTED] = "unsupported",
    [AUTH_BAD_SIGNATURE] = "bad_signature",
    [AUTH_EXPIRED] = "expired",
    [AUTH_NOT_YET_VALID] = "not_yet_valid",
    [AUTH_BAD_CLAIM] = "bad_claim",
    [AUTH_INTERNAL] = "internal",
};

const char *auth_result_name(enum auth_result r)
{
    if ((unsigned)r >= AUTH_RESULT_COUNT || !names[r])
        return "unknown";
    return names[r];
}

static int is_ows(char c) { return c == ' ' || c == '\t'; }

/* ASCII only: strncasecmp follows the locale, and the scheme is ASCII. */
static int is_bearer(const char *s)
{
    static const char want[] = "bearer";
    for (size_t i = 0; i < sizeof want - 1; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != want[i])
            return 0;
    }
    return 1;
}

enum auth_result auth_bearer_token(const char *header, const char **tok, size_t *tok_len)
{
    *tok = NULL;
    *tok_len = 0;
    if (!header)
        return AUTH_MISSING;
    /* Bounded first, so an enormous header is refused without a full scan. */
    size_t n = strnlen(header, CG_MAX_AUTH_HEADER + 1);
    if (n > CG_MAX_AUTH_HEADER)
        return AUTH_BAD_HEADER;
    size_t b = 0;
    while (b < n && is_ows(header[b]))
        b++;
    while (n > b && is_ows(header[n - 1]))
        n--;
    if (b == n)
        return AUTH_MISSING;
    const char *v = header + b;
    n -= b;
    /* A tab or any control byte left inside is refused outright rather than
     * treated as a separator: proxies disagree on what it means. */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c < 0x20 || c > 0x7e)
            return AUTH_BAD_HEADER;
    }
    if (n < 7 || !is_bearer(v) || v[6] != ' ')
        return AUTH_BAD_HEADER;
    size_t i = 7;
    while (i < n && v[i] == ' ')
        i++;
    /* Trailing spaces are gone, so the token is non-empty here. */
    const char *t = v + i;
    size_t tn = n - i;
    if (memchr(t, ' ', tn))
        return AUTH_BAD_HEADER;
    if (tn > CG_MAX_TOKEN)
        return AUTH_BAD_HEADER;
    *tok = t;
    *tok_len = tn;
    return AUTH_OK;
}
