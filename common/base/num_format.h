/* Number to text, as protobuf's JSON mapping prints numbers. Each function
 * writes into `out` (at least NUM_FORMAT_MAX bytes), returns the length and
 * does not NUL-terminate. */
#ifndef CUEGW_NUM_FORMAT_H
#define CUEGW_NUM_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#define NUM_FORMAT_MAX 32

size_t num_format_u64(char *out, uint64_t v);
size_t num_format_i64(char *out, int64_t v);

/* The shortest decimal that reads back as the same value at the given width
 * (a float holding 0.1f prints "0.1"), laid out as Go's protojson does: plain
 * digits for 1e-6 <= |v| < 1e21, otherwise d.ddde±X. NaN and infinities are
 * the caller's business (they are JSON strings). */
size_t num_format_double(char *out, double v);
size_t num_format_float(char *out, float v);

#endif
