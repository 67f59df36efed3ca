#include "auth.h"

#include <string.h>

#include "jwt_cache.h"

int auth_equal_ct(const char *a, size_t an, const char *b, size_t bn)
{
    /* Walk the longer length so a short guess cannot learn where the
     * secret ends; a length mismatch still fails at the end. */
    size_t n = an > bn ? an : bn;
    unsigned char diff = (unsigned char)(an != bn);
    for (size_t i = 0; i < n; i++) {
        unsigned char x = i < an ? (unsigned char)a[i] : 0;
        unsigned char y = i < bn ? (unsigned char)b[i] : 0;
        diff |= (unsigned char)(x ^ y);
    }
    return diff == 0;
}

static int static_token_matches(const struct auth_settings *cfg, const char *tok, size_t n)
{
    const char *tokens[2] = {cfg->auth_token, cfg->expiring_auth_token};
    int ok = 0;
    for (int i = 0; i < 2; i++)      /* both compared: no early exit to time */
        if (tokens[i])
            ok |= auth_equal_ct(tok, n, tokens[i], strlen(tokens[i]));
    return ok;
}

enum auth_result auth_check(const struct auth_settings *cfg, const char *authorization,
                            const char *remote_user, time_t now, struct arena *a,
                            const char **subject, struct jwt_claims *claims)
{
    memset(claims, 0, sizeof *claims);
    *subject = NULL;
    if (cfg->remote_user) {
        if (!remote_user || !*remote_user)
            return AUTH_MISSING;
        *subject = remote_user;
        return AUTH_OK;
    }
    const char *tok;
    size_t n;
    enum auth_result r = auth_bearer_token(authorization, &tok, &n);
    if (r != AUTH_OK)
        return r;
    if ((cfg->auth_token || cfg->expiring_auth_token) && static_token_matches(cfg, tok, n)) {
        *subject = "static-token";
        return AUTH_OK;
    }
    const char *secrets[2] = {cfg->jwt_secret, cfg->expiring_jwt_secret};
    if (!secrets[0] && !secrets[1])
        return AUTH_BAD_SIGNATURE;    /* only static tokens are configured */
    r = jwt_cache_check(tok, n, secrets, 2, cfg->jwt_leeway, now, a, claims);
    if (r == AUTH_OK)
        *subject = claims->sub;
    return r;
}
