/* SipHash-2-4 with a per-process random key, for hash tables whose keys
 * come from clients (JSON object keys): with an unkeyed hash a client can
 * pick keys that all land in one bucket and make a request cost quadratic
 * time. The key is drawn from getrandom(2) on first use. */
#ifndef CUEGW_SIPHASH_H
#define CUEGW_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

/* SipHash-2-4 of p[0..n) under the 16-byte key k. */
uint64_t siphash24(const uint8_t k[16], const void *p, size_t n);

/* siphash24 under this process's secret key. Thread-safe. */
uint64_t siphash_process(const void *p, size_t n);

#endif
