/* JSON scalars to protobuf scalars, by SPEC §1: integers from numbers or
 * numeric strings, whole and in the field's range; floats from numbers or
 * "NaN", "Infinity", "-Infinity", refused past the type's range; enums by
 * name or by number (open: any int32); bools from true and false only.
 * Strings, bytes and messages are the walker's (json_to_pb.c). */
#ifndef CUEGW_JSON_TO_SCALAR_H
#define CUEGW_JSON_TO_SCALAR_H

#include <stddef.h>
#include <stdint.h>
#include <protobuf-c/protobuf-c.h>

#include "json/json_lex.h"

#define JSCALAR_ERR_MAX 160

/* The schema's name of a field type ("int32"), for messages. */
const char *json_type_name(ProtobufCType t);

/* Converts a value given as `kind` (J_NUMBER: text is the number; J_STRING:
 * text is the decoded string; J_TRUE, J_FALSE: text unused) for a field of
 * fd's type. text[n] must be a NUL (strtod reads up to it), though the
 * text itself may hold NULs. On success *bits is what the wire carries for
 * the field's wire type: the varint (int32 and enums sign-extended, sint*
 * zigzagged), or the 32 or 64 bits of a fixed-width value; so a value is
 * its type's default exactly when *bits is 0 (a float's -0.0 is not).
 * Returns 0, or -1 with the reason in err. */
int json_to_scalar(const ProtobufCFieldDescriptor *fd, enum jkind kind, const char *text,
                size_t n, uint64_t *bits, char err[JSCALAR_ERR_MAX]);

#endif
