/* A memory of the JWTs a process has verified lately, so that a client
 * that sends the same token with every request (CueWeb, scripts) pays for
 * the base64, JSON parses and HMAC once instead of every time: for a small
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
 * One memory per process, shared by its request threads under a lock: a
 * farm's browsers each bring their own token (one JWT subject per user),
 * and any thread may serve any of them, so a memory per thread would have
 * to hold every token once per thread. It holds the JWT_CACHE_TOKENS
 * tokens used last. */
#ifndef CUEGW_JWT_CACHE_H
#define CUEGW_JWT_CACHE_H

#include "auth/jwt_check.h"

#define JWT_CACHE_TOKENS 512

/* jwt_check with a memory: the same contract, the same results. */
enum auth_result jwt_cache_check(const char *tok, size_t tok_len,
                                 const char *const *secrets, size_t n_secrets,
                                 long leeway, time_t now, struct arena *a,
                                 struct jwt_claims *claims);

/* 1 when tok is remembered as verified under exactly these secrets (what
 * the next jwt_cache_check of it would answer without a full check). */
int jwt_cache_holds(const char *tok, size_t tok_len, const char *const *secrets,
                    size_t n_secrets);

#endif
