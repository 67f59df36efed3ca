/* Who is calling: the one place that turns a request's credentials into a
 * verdict, whatever kind the gateway is configured with (SPEC §2): static
 * bearer tokens, JWTs, or the front server's REMOTE_USER. */
#ifndef CUEGW_AUTH_H
#define CUEGW_AUTH_H

#include <time.h>

#include "arena.h"
#include "config.h"
#include "jwt_check.h"

/* Checks a request. `authorization` is the Authorization header (NULL when
 * absent), `remote_user` the REMOTE_USER parameter. On AUTH_OK *subject is
 * who called (the JWT's sub, the remote user, or "static-token"; may be
 * NULL for a JWT without sub) and claims->role the JWT role claim.
 * Strings live in the arena or in the request's parameters. */
enum auth_result auth_check(const struct auth_settings *cfg, const char *authorization,
                            const char *remote_user, time_t now, struct arena *a,
                            const char **subject, struct jwt_claims *claims);

/* Whether two byte strings are equal, in time that depends on neither's
 * content nor (beyond SHA-256's 64-byte blocks) its length: it compares
 * keyed MACs of fixed size. Any failure of the MAC answers "not equal". */
int auth_equal_ct(const char *a, size_t an, const char *b, size_t bn);

#endif
