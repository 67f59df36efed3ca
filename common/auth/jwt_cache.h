/* A memory of the JWTs a thread has verified lately, so that a client that
 * sends the same token with every request (CueWeb, scripts) pays for the
 * base64, JSON parses and HMAC once instead of every time: for a small
 * call that check is a large part of the gateway's own work
 * (tests/bench/README.md has the figures).
 *
 * What is remembered is only what a full check proved: this exact token
 * verified under this exact set of secrets, with these claims. A hit still
 * re-checks exp and nbf against the current time and leeway; a change of
 * either secret (a rotation, per request from the web server) forgets
 * everything. Failed tokens are never remembered. The token is compared in
 * constant time, so a caller cannot learn a remembered token by timing.
 *
 * Each thread has its own memory (thread-local): no lock, nothing shared. */
#ifndef CUEGW_JWT_CACHE_H
#define CUEGW_JWT_CACHE_H

#include "auth/jwt_check.h"

/* jwt_check with a memory: the same contract, the same results. */
enum auth_result jwt_cache_check(const char *tok, size_t tok_len,
                                 const char *const *secrets, size_t n_secrets,
                                 long leeway, time_t now, struct arena *a,
                                 struct jwt_claims *claims);

#endif
