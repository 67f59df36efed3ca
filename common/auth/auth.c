#include "auth/auth.h"

#include <string.h>

#include "auth/jwt_cache.h"
#include "base/ct_equal.h"

static int static_token_matches(const struct auth_settings *cfg, const char *tok, size_t n)
{
    const char *tokens[2] = {cfg->auth_token, cfg->expiring_auth_token};
    int ok = 0;
    for (int i = 0; i < 2; i++)      /* both compared: no early exit to time */
        if (tokens[i])
            ok |= ct_equal(tok, n, tokens[i], strlen(tokens[i]));
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

int auth_settings_usable(const struct auth_settings *a)
{
    return a->remote_user || a->jwt_secret || a->expiring_jwt_secret || a->auth_token ||
           a->expiring_auth_token;
}
