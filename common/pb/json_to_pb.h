/* JSON -> protobuf, with the mapping of SPEC §1: a strict RFC 8259 reader
 * (no comments, NaN literals, single quotes or trailing bytes; strict UTF-8,
 * lone surrogates refused; duplicate keys refused) that fills a protobuf-c
 * message in the arena directly, with no JSON tree in between. Field names
 * are accepted in lowerCamelCase or as in the proto; unknown fields are
 * ignored; null means the default.
 *
 * Errors are INVALID_ARGUMENT with a message that names the field's path,
 * for example `jobs[2].minCores: expected a number`. On error nothing that
 * was decoded escapes: it lives in the arena, which the caller resets. */
#ifndef CUEGW_JSON_TO_PB_H
#define CUEGW_JSON_TO_PB_H

#include <stddef.h>
#include <stdint.h>
#include <protobuf-c/protobuf-c.h>

#include "arena.h"
#include "schema.h"
#include "status.h"

/* Decodes `json` (n bytes; empty means {}) into a message of type mi. */
int json_to_pb_message(const struct msg_info *mi, const char *json, size_t n,
                       struct arena *a, ProtobufCMessage **out, struct cg_status *st);

/* Decodes and packs to wire bytes, both in the arena. */
int json_to_pb(const struct msg_info *mi, const char *json, size_t n,
               struct arena *a, uint8_t **wire, size_t *wire_len, struct cg_status *st);

#endif
