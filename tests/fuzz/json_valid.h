/* A strict RFC 8259 checker, written apart from common/json/json_lex.c so the
 * fuzz targets can judge the gateway's JSON with a second opinion: what the
 * encoder writes must pass it, and whatever the decoder accepts must too. */
#ifndef CUEGW_FUZZ_JSON_VALID_H
#define CUEGW_FUZZ_JSON_VALID_H

#include <stddef.h>

/* 1 when s[0..n) is exactly one JSON value (with surrounding whitespace):
 * strings are valid UTF-8 with no raw control characters, escapes are
 * well formed and surrogates paired. Nesting beyond JSON_VALID_DEPTH counts
 * as invalid. On failure *at (when given) is the offending byte's offset. */
#define JSON_VALID_DEPTH 400
int json_valid(const char *s, size_t n, size_t *at);

#endif
