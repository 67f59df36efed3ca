/* Strict UTF-8: no overlong forms, no surrogates (U+D800..U+DFFF), nothing
 * past U+10FFFF. */
#ifndef CUEGW_UTF8_H
#define CUEGW_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Decodes one code point at s (n > 0 bytes available). Returns its length
 * (1..4) and sets *cp, or 0 when the bytes are not valid UTF-8. */
size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);

/* Encodes cp (a valid scalar value) into out (4 bytes); returns the length. */
size_t utf8_encode(char *out, uint32_t cp);

/* Copies s[0..n) to out (room for 3 * n bytes) with each byte that does
 * not start a valid sequence replaced by U+FFFD, as json_write_string
 * writes it; returns the length written. */
size_t utf8_repair(char *out, const char *s, size_t n);

/* Whether s[0..n) is valid UTF-8 as a whole. */
int utf8_valid(const char *s, size_t n);

#endif
