/* The verdicts every credential check answers with (SPEC §2), and the first
 * check: finding the bearer token in an Authorization header value.
 *
 * Nothing here logs or copies the credential: the token handed back points
 * into the header, and a verdict's name never contains any of it. */
#ifndef CUEGW_AUTH_HEADER_H
#define CUEGW_AUTH_HEADER_H

#include <stddef.h>

enum auth_result {
    AUTH_OK = 0,
    AUTH_MISSING,           /* no Authorization header, or an empty one */
    AUTH_BAD_HEADER,        /* not "Bearer <token>": other scheme, spaces in the
                             * token, bytes outside printable ASCII, too long */
    AUTH_MALFORMED,         /* not a compact JWS: bad base64url, bad JSON, a
                             * payload that is not an object, a typ other
                             * than JWT */
    AUTH_BAD_ALG,           /* alg other than exactly HS256, HS384 or HS512 */
    AUTH_UNSUPPORTED,       /* a "crit" header member: an extension we do
                             * not implement */
    AUTH_BAD_SIGNATURE,     /* no configured secret verifies it */
    AUTH_EXPIRED,           /* exp (with leeway) has passed */
    AUTH_NOT_YET_VALID,     /* nbf (with leeway) is still ahead */
    AUTH_BAD_CLAIM,         /* exp or nbf present but not a JSON integer */
    AUTH_INTERNAL,          /* out of memory: answer 5xx, never let through */
    AUTH_RESULT_COUNT
};

/* A short, stable, lower-case label for metrics and logs ("missing",
 * "expired", ...); "unknown" for a value outside the enum. */
const char *auth_result_name(enum auth_result r);

/* Finds the token in an Authorization header value: the scheme "Bearer" in
 * any case, one or more spaces, then the token, which is printable ASCII
 * without spaces. Spaces and tabs around the whole value are ignored, as
 * HTTP says they are not part of it. On AUTH_OK *tok points into header
 * and *tok_len is at most CG_MAX_TOKEN. NULL, empty or blank -> AUTH_MISSING;
 * anything else that does not fit, including a value longer than
 * CG_MAX_AUTH_HEADER -> AUTH_BAD_HEADER. A C string cannot carry a NUL, so
 * the value ends at the first one. */
enum auth_result auth_bearer_token(const char *header, const char **tok, size_t *tok_len);

#endif
