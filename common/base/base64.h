/* Base64 for protobuf `bytes` fields: standard alphabet with padding out;
 * standard or URL-safe, padded or not, in. */
#ifndef CUEGW_BASE64_H
#define CUEGW_BASE64_H

#include <stddef.h>
#include <stdint.h>

static inline size_t base64_encoded_len(size_t n) { return (n + 2) / 3 * 4; }

/* Writes base64_encoded_len(n) bytes to out. */
void base64_encode(char *out, const uint8_t *in, size_t n);

/* Decodes n characters into out (room for n * 3 / 4 + 3 bytes). Returns 0
 * and sets *outlen, or -1 when the text is not base64. */
int base64_decode(const char *in, size_t n, uint8_t *out, size_t *outlen);

/* What base64_decode would say of the same text, without decoding: 0 and
 * the decoded length (exactly the bytes it writes), or -1. */
int base64_decoded_len(const char *in, size_t n, size_t *outlen);

#endif
