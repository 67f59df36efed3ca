/* protobuf wire bytes -> JSON with no unpacked message in between: each
 * message is read twice from the wire (once to find where each field's
 * last value is, once to write the fields in schema order), so a response
 * costs its wire bytes and one output chunk, not its unpacked form, which
 * for a GetJobs answer is twice the wire size again, one malloc'd string
 * per field.
 *
 * The output is byte for byte what pb_to_json_message writes for the same
 * message unpacked by protobuf-c (the same value writers are used). A
 * message this reader does not handle itself is unpacked by protobuf-c and
 * written by pb_to_json_message instead, so protobuf-c's rules stay the
 * reference: a map field (its keys are sorted and deduplicated), a singular
 * message field that occurs more than once (occurrences merge), a wire type
 * that does not fit the field's type, and a field with a declared default. */
#ifndef CUEGW_WIRE_JSON_H
#define CUEGW_WIRE_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "outbuf.h"
#include "schema.h"
#include "status.h"

/* The wire bytes must have passed wire_scan (lengths inside the buffer,
 * nesting bounded, no U+0000 in strings). Writes the message of type mi;
 * returns 0, or -1 with st set (the message could not be decoded, or the
 * output buffer refused the text). */
int wire_json_write(const struct msg_info *mi, const uint8_t *p, size_t n,
                    struct arena *a, struct outbuf *ob, struct cg_status *st);

#endif
