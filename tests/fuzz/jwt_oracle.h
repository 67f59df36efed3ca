/* The fuzz targets' own answer to "was this token signed with one of our
 * secrets?", computed with OpenSSL's HMAC and no JWT library. A fuzzer
 * cannot forge an HMAC, so any token the gateway accepts must pass this:
 * an acceptance that does not is an authentication bypass. */
#ifndef CUEGW_FUZZ_JWT_ORACLE_H
#define CUEGW_FUZZ_JWT_ORACLE_H

#include <stddef.h>

/* 1 when tok[0..n) is `header.payload.signature` and signature is the
 * unpadded base64url HMAC-SHA256, -384 or -512 of `header.payload` under
 * one of the non-empty secrets (NULL entries are skipped). */
int jwt_oracle_signed(const char *tok, size_t n, const char *const *secrets, size_t n_secrets);

#endif
