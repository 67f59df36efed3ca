/* Who is calling: the one place that turns a request's credentials into a
 * verdict, whatever kind the gateway is configured with (SPEC §2): static
 * bearer tokens, JWTs, or the front server's REMOTE_USER. */
#ifndef CUEGW_AUTH_H
#define CUEGW_AUTH_H

#include <time.h>

#include "base/arena.h"
#include "auth/jwt_check.h"

/* The settings a web server may also send with each request as FastCGI
 * parameters of the same names (nginx fastcgi_param, Apache SetEnv), so
 * that secrets rotate with a graceful reload of the web server; read from
 * parameters only under SETTINGS_FROM_PARAMS=1 (see config_request_auth). */
struct auth_settings {
    const char *jwt_secret;             /* JWT_SECRET or NULL */
    const char *expiring_jwt_secret;    /* EXPIRING_JWT_SECRET or NULL */
    long jwt_leeway;                    /* JWT_LEEWAY, seconds */
    const char *auth_token;             /* AUTH_TOKEN or NULL */
    const char *expiring_auth_token;    /* EXPIRING_AUTH_TOKEN or NULL */
    int remote_user;                    /* AUTH_MODE=remote-user */
    int read_only;                      /* READ_ONLY=1 */
};

/* Whether any credential kind is configured. */
int auth_settings_usable(const struct auth_settings *a);

/* Checks a request. `authorization` is the Authorization header (NULL when
 * absent), `remote_user` the REMOTE_USER parameter. On AUTH_OK *subject is
 * who called (the JWT's sub, the remote user, or "static-token"; may be
 * NULL for a JWT without sub) and claims->role the JWT role claim.
 * Strings live in the arena or in the request's parameters. */
enum auth_result auth_check(const struct auth_settings *cfg, const char *authorization,
                            const char *remote_user, time_t now, struct arena *a,
                            const char **subject, struct jwt_claims *claims);

#endif
