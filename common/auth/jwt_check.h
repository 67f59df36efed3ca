/* Verification of an HMAC-signed JWT (SPEC §2) on top of libjwt 1.10.
 *
 * libjwt trusts the token too much to be used alone (STYLE.md, Known
 * traps): it picks the algorithm from the token's own header and matches
 * its name in any case, skips verification when the key is NULL or empty,
 * decodes base64 with a decoder that silently drops stray characters,
 * accepts a JSON array as the payload, and reads a non-integer claim as 0.
 * So the token's shape, the exact algorithm, the header members and the
 * claim types are checked here; libjwt parses the JSON and checks the MAC. */
#ifndef CUEGW_JWT_CHECK_H
#define CUEGW_JWT_CHECK_H

#include <stddef.h>
#include <time.h>

#include "base/arena.h"
#include "auth/auth_header.h"

/* Claims a verified token carries. Arena copies; NULL when the claim is
 * absent or not a JSON string. */
struct jwt_claims {
    const char *sub;
    const char *role;
    /* The time claims as read (for jwt_cache.c, which re-checks them at
     * every later use of the same token). */
    int has_exp, has_nbf;
    long long exp, nbf;
};

/* Verifies the compact JWT tok[0..tok_len) against any of n_secrets
 * secrets; NULL and empty secrets are skipped, never used as a key, and with
 * no usable secret the answer is AUTH_BAD_SIGNATURE.
 *
 * In order: the token must be three canonical unpadded base64url segments
 * (at most CG_MAX_TOKEN bytes), JSON that libjwt parses, with a typ, if
 * any, of "JWT" in any case and a payload that is an object, else
 * AUTH_MALFORMED (an alg name libjwt does not know at all, such as "PS256",
 * fails its parse and lands here too); the header's alg must be exactly
 * "HS256", "HS384" or "HS512" (AUTH_BAD_ALG) and carry no "crit" member
 * (AUTH_UNSUPPORTED); the signature must verify with one of the secrets.
 * Only then are the claims read: "exp" and "nbf", when present, must be
 * JSON integers (AUTH_BAD_CLAIM); the token is expired once
 * now >= exp + leeway and not yet valid while now < nbf - leeway (negative
 * leeway counts as 0). A token without exp is accepted.
 *
 * *claims is always cleared, and filled from the arena on AUTH_OK. The
 * arena also receives a NUL-terminated copy of the token. Nothing is
 * logged. AUTH_INTERNAL means memory ran out: the token is refused. */
enum auth_result jwt_check(const char *tok, size_t tok_len,
                           const char *const *secrets, size_t n_secrets,
                           long leeway, time_t now, struct arena *a,
                           struct jwt_claims *claims);

/* The exp/nbf verdict for claims already read: AUTH_OK, AUTH_EXPIRED or
 * AUTH_NOT_YET_VALID, by the rule above. */
enum auth_result jwt_check_times(const struct jwt_claims *c, long leeway, time_t now);

/* A claim's string copied into the arena; NULL for none (s NULL), or with
 * *oom set when memory ran out. */
const char *jwt_claim_copy(const char *s, struct arena *a, int *oom);

#endif
