/* CORS (SPEC §1) and cross-site requests (SPEC §2): which origins may
 * call, the preflight answer, and which requests a browser made for
 * another site. */
#ifndef CUEGW_CORS_H
#define CUEGW_CORS_H

#include <stddef.h>

#include "base/origin.h"

/* The Access-Control-Allow-Origin value for a request's Origin under the
 * CORS_ALLOWED_ORIGINS list `allowed`: the origin itself when listed, "*"
 * when the list holds the wildcard, NULL when not allowed (or no Origin
 * was sent). The origin must be a plain serialized origin (printable
 * ASCII, no spaces or commas) to be echoed. */
const char *cors_allow_origin(const struct origin_list *allowed, const char *origin);

/* Writes into out (size n) the Access-Control-Allow-Headers value for a
 * preflight whose Access-Control-Request-Headers is `requested` (may be
 * NULL): Authorization and Content-Type always, plus each requested header
 * that the gateway reads (X-Request-Id). */
void cors_allow_headers(const char *requested, char *out, size_t n);

/* Whether a browser sent this request on behalf of a page the gateway
 * must not serve (SPEC §2 "Cross-site requests"), from the request's
 * parameters (`param`, as gateway.h's getter):
 *   - an Origin (HTTP_ORIGIN) that is neither allowed nor the request's
 *     own origin: refused;
 *   - Sec-Fetch-Site: cross-site (HTTP_SEC_FETCH_SITE): refused unless its
 *     Origin is allowed; being "own" does not count then, since the
 *     browser says the initiator is another site (a redirect, say);
 *   - neither header (curl, scripts, old browsers' same-origin GETs): let
 *     through.
 * Allowed means named in `allowed`, or any origin when the list holds "*"
 * and `wildcard_allows` (token modes: a bearer token is not ambient, so a
 * page cannot borrow it). "Origin: null" (a sandboxed frame, a data: or
 * file: page, a redirect chain) can be anyone: allowed only when "null" is
 * listed, never by the wildcard.
 *
 * The request's own origin is scheme://host[:port] from HTTPS (any value
 * but "off") or REQUEST_SCHEME, and HTTP_HOST (else SERVER_NAME and
 * SERVER_PORT), compared with the Origin case-insensitively, default ports
 * (80, 443) written or not. Behind a proxy that ends TLS, the front sees
 * http: list the public origin in CORS_ALLOWED_ORIGINS there.
 *
 * Returns 1 to refuse, 0 to go on. */
int cors_cross_site(const struct origin_list *allowed, int wildcard_allows,
                    const char *(*param)(void *ctx, const char *name), void *ctx);

#endif
