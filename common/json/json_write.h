/* Small JSON writing primitives shared by the encoder and the error bodies. */
#ifndef CUEGW_JSON_WRITE_H
#define CUEGW_JSON_WRITE_H

#include <stddef.h>

#include "base/outbuf.h"

/* Writes s (n bytes) as a quoted JSON string. Quotes, backslashes and
 * control characters are escaped; bytes that are not valid UTF-8 become
 * U+FFFD, so the output is always valid UTF-8. */
void json_write_string(struct outbuf *ob, const char *s, size_t n);

#endif
