#include "auth/jwt_check.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <jwt.h>

#include "base/cg_limits.h"

/* jwt_get_grant_int returns long; claims are 64-bit times. */
_Static_assert(sizeof(long) >= sizeof(long long), "long must hold a JSON integer");

/* Exact header spellings, because libjwt's jwt_str_alg ignores case. The
 * length is that of the unpadded base64url MAC, so a signature of another
 * size is refused before any HMAC is computed. */
static const struct {
    const char *name;
    jwt_alg_t alg;
    size_t sig_len;
} hmac_algs[] = {
    {"HS256", JWT_ALG_HS256, 43},
    {"HS384", JWT_ALG_HS384, 64},
    {"HS512", JWT_ALG_HS512, 86},
};

static int b64url_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
}

/* libjwt decodes with libb64, which skips characters outside the alphabet
 * and tolerates padding, so several spellings would decode alike. Only the
 * canonical one is let through: unpadded, and with the unused low bits of
 * the last character zero (RFC 4648 §3.5). Empty is allowed where the
 * caller says so: an unsigned token then reaches the alg check and is
 * counted as what it is. */
static int segment_ok(const char *s, size_t n, int may_be_empty)
{
    if (n == 0)
        return may_be_empty;
    if (n % 4 == 1)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (b64url_value((unsigned char)s[i]) < 0)
            return 0;
    int last = b64url_value((unsigned char)s[n - 1]);
    if (n % 4 == 2 && (last & 15))
        return 0;
    if (n % 4 == 3 && (last & 3))
        return 0;
    return 1;
}

/* libjwt's int getters set errno to ENOENT only when the member is absent,
 * and read any other JSON type as 0; this tells presence apart without
 * allocating. */
static int header_present(jwt_t *j, const char *name)
{
    errno = 0;
    (void)jwt_get_header_int(j, name);
    return errno != ENOENT;
}

static int grant_present(jwt_t *j, const char *name)
{
    errno = 0;
    (void)jwt_get_grant_int(j, name);
    return errno != ENOENT;
}

/* libjwt itself refuses a string typ other than "JWT" in any case, but lets
 * a number or null through; we want one rule: absent, or that string. */
static int typ_ok(jwt_t *j)
{
    if (!header_present(j, "typ"))
        return 1;
    const char *t = jwt_get_header(j, "typ");
    if (!t || strlen(t) != 3)
        return 0;
    for (int i = 0; i < 3; i++)
        if ((t[i] | 0x20) != "jwt"[i])
            return 0;
    return 1;
}

static int is_json_integer(const char *s)
{
    if (*s == '-')
        s++;
    if (!*s)
        return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return 0;
    return 1;
}

/* Reads an optional integer claim. jwt_get_grant_int alone cannot tell
 * "exp": "123" or 1.5 from 0, and a string exp read as 0 would make an nbf
 * pass, so the claim's JSON text is inspected first. */
static enum auth_result int_claim(jwt_t *j, const char *name, int *present, long long *v)
{
    *present = grant_present(j, name);
    if (!*present)
        return AUTH_OK;
    char *js = jwt_get_grants_json(j, name);
    if (!js)
        return AUTH_INTERNAL;
    int ok = is_json_integer(js);
    free(js);
    if (!ok)
        return AUTH_BAD_CLAIM;
    /* jansson refuses integers outside long long, so this is exact. */
    *v = jwt_get_grant_int(j, name);
    return AUTH_OK;
}

/* Saturating, so a huge leeway or "now" can never wrap into "valid". */
static long long sat_add(long long x, long long y)
{
    return x > LLONG_MAX - y ? LLONG_MAX : x + y;
}

static long long sat_sub(long long x, long long y)
{
    return x < LLONG_MIN + y ? LLONG_MIN : x - y;
}

enum auth_result jwt_check_times(const struct jwt_claims *c, long leeway, time_t now)
{
    long long lw = leeway > 0 ? leeway : 0;
    long long t = (long long)now;
    if (c->has_exp && c->exp <= sat_sub(t, lw))
        return AUTH_EXPIRED;
    if (c->has_nbf && c->nbf > sat_add(t, lw))
        return AUTH_NOT_YET_VALID;
    return AUTH_OK;
}

static enum auth_result check_times(jwt_t *j, long leeway, time_t now, struct jwt_claims *c)
{
    enum auth_result r = int_claim(j, "exp", &c->has_exp, &c->exp);
    if (r == AUTH_OK)
        r = int_claim(j, "nbf", &c->has_nbf, &c->nbf);
    return r != AUTH_OK ? r : jwt_check_times(c, leeway, now);
}

/* The checks made on the unverified parse: which algorithm, and whether we
 * understand the header and payload at all. Verification is only tried
 * once these pass, so no key is ever handed to an RSA or EC code path. */
static enum auth_result check_unverified(jwt_t *j, size_t sig_len, size_t *alg_ix)
{
    const char *alg = jwt_get_header(j, "alg");
    if (!alg)
        return AUTH_BAD_ALG;
    size_t i = 0;
    while (i < sizeof hmac_algs / sizeof hmac_algs[0] && strcmp(alg, hmac_algs[i].name) != 0)
        i++;
    if (i == sizeof hmac_algs / sizeof hmac_algs[0])
        return AUTH_BAD_ALG;
    /* RFC 7515 §4.1.11: an unknown critical extension must be refused, and
     * we implement none (b64=false among them). */
    if (header_present(j, "crit"))
        return AUTH_UNSUPPORTED;
    if (!typ_ok(j))
        return AUTH_MALFORMED;
    char *all = jwt_get_grants_json(j, NULL);
    if (!all)
        return AUTH_INTERNAL;
    int is_object = all[0] == '{';
    free(all);
    if (!is_object)
        return AUTH_MALFORMED;
    if (sig_len != hmac_algs[i].sig_len)
        return AUTH_BAD_SIGNATURE;
    *alg_ix = i;
    return AUTH_OK;
}

/* Tries each usable secret; libjwt compares the MACs in constant time
 * (Debian's fix for CVE-2024-25189). */
static enum auth_result verify(const char *copy, const char *const *secrets,
                               size_t n_secrets, jwt_t **out)
{
    int oom = 0;
    *out = NULL;
    for (size_t i = 0; secrets && i < n_secrets; i++) {
        const char *k = secrets[i];
        size_t kn = k ? strlen(k) : 0;
        /* jwt_decode with an empty key skips verification entirely. */
        if (kn == 0 || kn > INT_MAX)
            continue;
        jwt_t *v = NULL;
        int rc = jwt_decode(&v, copy, (const unsigned char *)k, (int)kn);
        if (rc == 0 && v) {
            *out = v;
            return AUTH_OK;
        }
        jwt_free(v);
        if (rc == ENOMEM)
            oom = 1;
    }
    return oom ? AUTH_INTERNAL : AUTH_BAD_SIGNATURE;
}

const char *jwt_claim_copy(const char *s, struct arena *a, int *oom)
{
    if (!s)
        return NULL;
    char *c = arena_strndup(a, s, strlen(s));
    if (!c)
        *oom = 1;
    return c;
}

enum auth_result jwt_check(const char *tok, size_t tok_len,
                           const char *const *secrets, size_t n_secrets,
                           long leeway, time_t now, struct arena *a,
                           struct jwt_claims *claims)
{
    memset(claims, 0, sizeof *claims);
    if (!tok || tok_len > CG_MAX_TOKEN)
        return AUTH_MALFORMED;
    const char *d1 = memchr(tok, '.', tok_len);
    const char *d2 = d1 ? memchr(d1 + 1, '.', tok_len - (size_t)(d1 + 1 - tok)) : NULL;
    if (!d2)
        return AUTH_MALFORMED;
    size_t sig_len = tok_len - (size_t)(d2 + 1 - tok);
    /* segment_ok refuses '.', so a fourth segment fails here too. */
    if (!segment_ok(tok, (size_t)(d1 - tok), 0) ||
        !segment_ok(d1 + 1, (size_t)(d2 - d1 - 1), 0) ||
        !segment_ok(d2 + 1, sig_len, 1))
        return AUTH_MALFORMED;

    /* jwt_decode wants a C string; the segments hold no NUL by now. */
    char *copy = arena_strndup(a, tok, tok_len);
    if (!copy)
        return AUTH_INTERNAL;

    /* Parsed once without a key: that verifies nothing, and is only read
     * to decide whether verifying is worth trying. */
    jwt_t *j = NULL;
    int rc = jwt_decode(&j, copy, NULL, 0);
    if (rc != 0 || !j) {
        jwt_free(j);
        return rc == ENOMEM ? AUTH_INTERNAL : AUTH_MALFORMED;
    }
    size_t alg_ix = 0;
    enum auth_result r = check_unverified(j, sig_len, &alg_ix);
    jwt_free(j);
    if (r != AUTH_OK)
        return r;

    jwt_t *v;
    r = verify(copy, secrets, n_secrets, &v);
    if (r != AUTH_OK)
        return r;
    /* Same text, same parser, so this cannot differ; it costs nothing to
     * make sure the verified object used the algorithm we approved. */
    if (jwt_get_alg(v) != hmac_algs[alg_ix].alg)
        r = AUTH_BAD_ALG;
    if (r == AUTH_OK)
        r = check_times(v, leeway, now, claims);
    if (r == AUTH_OK) {
        int oom = 0;
        claims->sub = jwt_claim_copy(jwt_get_grant(v, "sub"), a, &oom);
        claims->role = jwt_claim_copy(jwt_get_grant(v, "role"), a, &oom);
        if (oom) {
            memset(claims, 0, sizeof *claims);
            r = AUTH_INTERNAL;
        }
    }
    jwt_free(v);
    return r;
}
