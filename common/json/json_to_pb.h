/* JSON -> protobuf wire bytes, with the mapping of SPEC §1: a strict RFC
 * 8259 reader (no comments, NaN literals, single quotes or trailing bytes;
 * strict UTF-8, lone surrogates refused; duplicate keys refused) that
 * writes the wire bytes straight from the JSON, with no JSON tree and no
 * protobuf-c message in between: the schema's descriptors say what each
 * member is, and pb_out.h writes it. Field names are accepted in
 * lowerCamelCase or as in the proto; unknown fields are ignored; null means
 * the default; a string may hold U+0000.
 *
 * What is written: fields in the order the JSON gives them (any order is
 * valid protobuf); a proto3 singular scalar, string or bytes only when it
 * is not its default (all bits zero, so a float's -0.0 is written); oneof
 * members and fields with presence (proto3 `optional`) whenever given, even
 * at their default; a message field whenever given as an object; repeated
 * scalars packed where the schema says so.
 *
 * Memory, all from the arena: the output itself, 4 bytes for each non-empty
 * nested message or packed list, and while an object is open its field
 * bitmap and duplicate-key table (json_keys.h): about twice the body at
 * worst, whatever its shape. Time: linear (two walks of the body).
 *
 * Errors are INVALID_ARGUMENT with a message that names the field's path,
 * for example `jobs[2].minCores: expected a number`; RESOURCE_EXHAUSTED
 * when the arena's cap (the request's memory cap) runs out. On error
 * nothing escapes but arena memory, which the caller resets. */
#ifndef CUEGW_JSON_TO_PB_H
#define CUEGW_JSON_TO_PB_H

#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "pb/schema.h"
#include "base/status.h"

/* Decodes `json` (n bytes; empty means {}) as a message of type mi into
 * wire bytes in the arena: *wire (never NULL on success) and *wire_len. */
int json_to_pb(const struct msg_info *mi, const char *json, size_t n,
               struct arena *a, uint8_t **wire, size_t *wire_len, struct cg_status *st);

#endif
