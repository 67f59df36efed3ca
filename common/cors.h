/* CORS (SPEC §1): which origins may call, and the preflight answer. */
#ifndef CUEGW_CORS_H
#define CUEGW_CORS_H

#include <stddef.h>

/* The Access-Control-Allow-Origin value for a request's Origin under the
 * CORS_ALLOWED_ORIGINS list `allowed`: "*" when the list holds the
 * wildcard, the origin itself when listed, NULL when not allowed (or no
 * Origin was sent). The origin must be a plain serialized origin (printable
 * ASCII, no spaces or commas) to be echoed. */
const char *cors_allow_origin(const char *allowed, const char *origin);

/* Writes into out (size n) the Access-Control-Allow-Headers value for a
 * preflight whose Access-Control-Request-Headers is `requested` (may be
 * NULL): Authorization and Content-Type always, plus each requested header
 * that the gateway reads (X-Request-Id). */
void cors_allow_headers(const char *requested, char *out, size_t n);

#endif
