/* The schema's message types in order of full name, so that an input's
 * type-selecting bytes mean the same type whatever order protoc-c wrote
 * the descriptors in (tests/fuzz/make_seeds.py numbers them the same way). */
#ifndef CUEGW_FUZZ_TYPES_H
#define CUEGW_FUZZ_TYPES_H

#include <stddef.h>
#include <stdint.h>

#include "pb/schema.h"

/* Builds the registry and the sorted table; exits on failure. */
void fuzz_types_init(void);

size_t fuzz_type_count(void);

/* The type numbered (hi << 8 | lo) modulo the count. */
const struct msg_info *fuzz_type_pick(uint8_t hi, uint8_t lo);

#endif
