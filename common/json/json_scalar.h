/* The JSON text of one protobuf scalar, by the mapping of SPEC §1: 64-bit
 * integers as strings, enums by name (a number the enum does not name stays
 * a number), floats in their shortest round-trip form with NaN and the
 * infinities as strings, bytes as padded standard base64. Map keys are
 * always strings. */
#ifndef CUEGW_PB_JSON_SCALAR_H
#define CUEGW_PB_JSON_SCALAR_H

#include <stddef.h>
#include <stdint.h>
#include <protobuf-c/protobuf-c.h>

#include "base/outbuf.h"
#include "pb/wire.h"

/* A value of field fd (any scalar type but string and bytes). */
void json_scalar_write(struct outbuf *ob, const ProtobufCFieldDescriptor *fd,
                       const union pb_scalar *v);

/* A map key of integer or bool type kd, as a JSON string. */
void json_scalar_write_key(struct outbuf *ob, const ProtobufCFieldDescriptor *kd,
                           const union pb_scalar *v);

/* Bytes as a base64 JSON string; larger than a streaming chunk, in pieces. */
void json_bytes_write(struct outbuf *ob, const uint8_t *data, size_t len);

/* The value a proto2 field declares as its default, or proto3's zero. */
void json_scalar_default(const ProtobufCFieldDescriptor *fd, union pb_scalar *v);

#endif
