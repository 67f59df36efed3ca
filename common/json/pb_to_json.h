/* protobuf wire bytes -> JSON, straight from the wire into an outbuf, with
 * the mapping of SPEC §1: lowerCamelCase names, every field written with
 * its default, unset messages as null, oneof members only when set, 64-bit
 * integers as strings, enums by name, floats in their shortest round-trip
 * form, bytes as padded standard base64, maps as objects ordered by key,
 * U+0000 in a string as \u0000.
 *
 * It reads what any protobuf encoder may write, with protobuf's parsing
 * rules: the occurrences of a singular message field are one message (their
 * payloads concatenated), for other singular fields the last occurrence
 * wins, repeated fields concatenate (packed runs or not), the last member of
 * a oneof on the wire is the one set, the last of a map's equal keys wins,
 * and unknown fields (or fields with a wire type not theirs) are dropped.
 *
 * Cost: time linear in the wire bytes (each message is read once to see
 * where its fields are, then once per repeated field of its type); memory
 * the caller's wire bytes, one table of field positions per level of
 * nesting, and the output chunk. Scratch beyond that (a map's order; the
 * bytes of a split message nested inside another split message) is given
 * back as soon as its part is written and is capped at a fifth of the wire
 * size plus 1 MiB: past that the answer is RESOURCE_EXHAUSTED. */
#ifndef CUEGW_PB_TO_JSON_H
#define CUEGW_PB_TO_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/outbuf.h"
#include "pb/schema.h"
#include "base/status.h"

/* Writes the message of type mi held in wire[0..n) as JSON into ob, with
 * scratch from `a`. Returns 0, or -1 with st set: INTERNAL when the bytes
 * are not protobuf (nothing was written then), RESOURCE_EXHAUSTED when a
 * cap was reached, UNAVAILABLE when the sink failed. Streaming, part of the
 * text may have gone out before a cap or the sink failed. */
int pb_to_json(const struct msg_info *mi, const uint8_t *wire, size_t n,
               struct arena *a, struct outbuf *ob, struct cg_status *st);

#endif
