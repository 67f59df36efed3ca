#include "auth/auth_header.h"

#include <string.h>

#include "base/cg_limits.h"

static const enum cg_error kinds[AUTH_RESULT_COUNT] = {
    [AUTH_OK] = CG_E_OK,
#define CG_ERROR(cls, kind, code, http, phrase, label, message) KIND_OF_##cls(kind)
#define KIND_OF_CODE(kind)
#define KIND_OF_AUTH(kind) [kind] = CG_E_##kind,
#define KIND_OF_DENY(kind)
#define KIND_OF_GATEWAY(kind)
#include "base/errors.def"
#undef CG_ERROR
};

enum cg_error auth_result_error(enum auth_result r)
{
    return (unsigned)r < AUTH_RESULT_COUNT ? kinds[r] : CG_E_UNKNOWN;
}

const char *auth_result_name(enum auth_result r)
{
    if (r == AUTH_OK)
        return "ok";        /* not an error, so not in the table */
    if ((unsigned)r >= AUTH_RESULT_COUNT)
        return "unknown";
    return cg_errors[kinds[r]].label;
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
