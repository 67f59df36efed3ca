/* Serializes a protobuf-c message to wire bytes. protobuf-c's own packer
 * treats a proto3 float or double holding -0.0 as unset (it compares the
 * value, not its bits) and drops it; every other runtime keeps it. This one
 * follows the wire rules of the reference runtimes: fields in number order,
 * proto3 scalars skipped only when all their bits are zero, oneof members
 * written whenever set, repeated scalars packed where the schema says so. */
#ifndef CUEGW_PB_PACK_H
#define CUEGW_PB_PACK_H

#include <stddef.h>
#include <stdint.h>
#include <protobuf-c/protobuf-c.h>

#include "arena.h"
#include "status.h"

/* Packs msg into the arena. Returns 0 and sets *out and *len. */
int pb_pack(const ProtobufCMessage *msg, struct arena *a, uint8_t **out, size_t *len,
            struct cg_status *st);

#endif
