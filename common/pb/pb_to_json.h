/* protobuf -> JSON, straight into an outbuf while walking the message (no
 * JSON tree in between), with the mapping of SPEC §1: lowerCamelCase names,
 * every field emitted with its default, unset messages as null, oneof
 * members only when set, 64-bit integers as strings, enums by name, floats
 * in their shortest round-trip form, bytes as padded standard base64. */
#ifndef CUEGW_PB_TO_JSON_H
#define CUEGW_PB_TO_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <protobuf-c/protobuf-c.h>

#include "arena.h"
#include "outbuf.h"
#include "schema.h"
#include "status.h"

/* Writes an unpacked message of type mi. Scratch memory comes from `a`.
 * Returns 0, or -1 with st set when the output buffer refused the text. */
int pb_to_json_message(const struct msg_info *mi, const ProtobufCMessage *msg,
                       struct arena *a, struct outbuf *ob, struct cg_status *st);

/* One value of field fi as protobuf-c stores it at p (an element, for a
 * repeated field); for wire_json.c, which writes scalars as this file does. */
void pb_to_json_value(struct outbuf *ob, struct arena *a, const struct field_info *fi,
                      const void *p);

/* 0 when nothing went wrong in ob, else -1 with st saying what. */
int pb_to_json_status(const struct outbuf *ob, struct cg_status *st);

/* Checks wire bytes of type mi, then writes them as JSON straight from the
 * wire (wire_json.c). On error st says why (code INTERNAL: a response
 * Cuebot should never have sent); in streaming mode part of the text may
 * have gone out already. */
int pb_to_json(const struct msg_info *mi, const uint8_t *wire, size_t n,
               struct arena *a, struct outbuf *ob, struct cg_status *st);

#endif
