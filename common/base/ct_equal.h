/* Comparing secrets (tokens) without leaking them through time. */
#ifndef CUEGW_CT_EQUAL_H
#define CUEGW_CT_EQUAL_H

#include <stddef.h>

/* Whether two byte strings are equal, in time that depends on neither's
 * content nor (beyond SHA-256's 64-byte blocks) its length: it compares
 * keyed MACs of fixed size. Any failure of the MAC answers "not equal". */
int ct_equal(const char *a, size_t an, const char *b, size_t bn);

#endif
