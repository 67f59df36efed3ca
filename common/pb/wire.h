/* The protobuf wire format, in one place: varints, tags, zigzag, the
 * fixed-width values, the wire type each field type travels as, and a
 * reader that steps over one field at a time. Every other file that reads
 * or writes protobuf bytes goes through these; none spells a wire type or
 * a varint loop of its own.
 *
 * The reader's limits: a tag or a length prefix takes at most 5 bytes (a
 * field number fits 29 bits and a length 32; longer encodings are padding
 * that no runtime writes), a varint value at most 10; field number 0 and
 * a stray end-of-group are refused. Groups (wire types 3 and 4, long
 * deprecated and absent from proto3) are stepped over whole, as unknown
 * fields, nested at most CG_MAX_DEPTH deep. */
#ifndef CUEGW_PB_WIRE_H
#define CUEGW_PB_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <protobuf-c/protobuf-c.h>

enum pb_wire_type {
    PB_WT_VARINT = 0, PB_WT_I64 = 1, PB_WT_LEN = 2, PB_WT_SGROUP = 3, PB_WT_EGROUP = 4,
    PB_WT_I32 = 5
};

#define PB_MAX_FIELD_NUMBER 536870911u     /* 2^29 - 1 */
#define PB_TAG_MAX_BYTES 5
#define PB_LEN_MAX_BYTES 5
#define PB_VARINT_MAX_BYTES 10

/* ---- writing ---------------------------------------------------------- */

static inline size_t pb_varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

/* Writes v at p (room for pb_varint_len(v) bytes); returns the end. */
static inline uint8_t *pb_put_varint(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

static inline uint64_t pb_tag(uint32_t field, enum pb_wire_type wt)
{
    return (uint64_t)field << 3 | (uint64_t)wt;
}

static inline uint8_t *pb_put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
    return p + 4;
}

static inline uint8_t *pb_put_le64(uint8_t *p, uint64_t v)
{
    pb_put_le32(p, (uint32_t)v);
    return pb_put_le32(p + 4, (uint32_t)(v >> 32));
}

static inline uint32_t pb_zigzag32(int32_t v)
{
    return ((uint32_t)v << 1) ^ (uint32_t)(v >> 31);
}

static inline uint64_t pb_zigzag64(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

/* ---- reading ---------------------------------------------------------- */

static inline int32_t pb_unzigzag32(uint32_t u)
{
    return (int32_t)(u >> 1) ^ -(int32_t)(u & 1);
}

static inline int64_t pb_unzigzag64(uint64_t u)
{
    return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

static inline uint32_t pb_get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t pb_get_le64(const uint8_t *p)
{
    return (uint64_t)pb_get_le32(p) | (uint64_t)pb_get_le32(p + 4) << 32;
}

/* Reads a varint of at most `max` bytes at p (before end). Returns its
 * length, or 0 when it is cut short or longer. */
size_t pb_get_varint(const uint8_t *p, const uint8_t *end, size_t max, uint64_t *v);

/* The wire type a value of type t travels as, unpacked. */
static inline enum pb_wire_type pb_wire_type_of(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_FIXED64: case PROTOBUF_C_TYPE_SFIXED64: case PROTOBUF_C_TYPE_DOUBLE:
        return PB_WT_I64;
    case PROTOBUF_C_TYPE_FIXED32: case PROTOBUF_C_TYPE_SFIXED32: case PROTOBUF_C_TYPE_FLOAT:
        return PB_WT_I32;
    case PROTOBUF_C_TYPE_STRING: case PROTOBUF_C_TYPE_BYTES: case PROTOBUF_C_TYPE_MESSAGE:
        return PB_WT_LEN;
    default:
        return PB_WT_VARINT;
    }
}

/* Whether a repeated field of type t may travel packed (scalars only). */
static inline bool pb_packable(ProtobufCType t)
{
    return t != PROTOBUF_C_TYPE_STRING && t != PROTOBUF_C_TYPE_BYTES &&
           t != PROTOBUF_C_TYPE_MESSAGE;
}


/* Whether a value of wire type wt is field fd's: its own wire type, or a
 * packed run for a repeated scalar. Every runtime keeps a field that
 * arrives otherwise as an unknown field, which the JSON mapping drops. */
static inline bool pb_wire_fits(const ProtobufCFieldDescriptor *fd, enum pb_wire_type wt)
{
    if (wt == pb_wire_type_of(fd->type))
        return true;
    return wt == PB_WT_LEN && fd->label == PROTOBUF_C_LABEL_REPEATED && pb_packable(fd->type);
}

/* One field as it lies on the wire. */
struct pb_field {
    uint32_t id;                 /* field number */
    enum pb_wire_type wt;
    const uint8_t *start;        /* the tag's first byte */
    const uint8_t *val;          /* the value's first byte; for LEN, the payload's */
    size_t len;                  /* LEN: the payload's length; SGROUP: the group's */
    uint64_t bits;               /* VARINT: the value; I32/I64: the bits */
};

int pb_next_field_slow(const uint8_t **pp, const uint8_t *end, struct pb_field *f);

/* Reads the field at *pp (before end) and moves *pp past it. Returns 1, 0
 * at the end, or -1 when the bytes are not a field (see the limits above).
 * Inline for the shapes nearly every field of a response has (a tag of one
 * or two bytes; a one-byte varint or length), since each field is read
 * several times: checked, surveyed, written. */
static inline int pb_next_field(const uint8_t **pp, const uint8_t *end, struct pb_field *f)
{
    const uint8_t *p = *pp;
    if (end - p < 2)
        return p >= end ? 0 : pb_next_field_slow(pp, end, f);
    uint32_t tag = p[0];
    const uint8_t *q = p + 1;
    if (tag >= 0x80) {
        if (p[1] >= 0x80 || end - p < 3)
            return pb_next_field_slow(pp, end, f);
        tag = (tag & 0x7F) | (uint32_t)p[1] << 7;
        q = p + 2;
    }
    if (tag < 8)
        return -1;
    size_t room = (size_t)(end - q);     /* at least 1 */
    f->start = p;
    f->id = tag >> 3;
    f->wt = (enum pb_wire_type)(tag & 7);
    f->val = q;
    f->len = 0;
    switch (f->wt) {
    case PB_WT_VARINT: {
        uint64_t v = q[0];
        size_t i = 0;
        if (v >= 0x80) {
            if (room < PB_VARINT_MAX_BYTES)
                return pb_next_field_slow(pp, end, f);
            v &= 0x7F;
            for (i = 1;; i++) {
                if (i == PB_VARINT_MAX_BYTES)
                    return -1;
                v |= (uint64_t)(q[i] & 0x7F) << (7 * i);
                if (q[i] < 0x80)
                    break;
            }
        }
        f->bits = v;
        *pp = q + i + 1;
        return 1;
    }
    case PB_WT_LEN: {
        uint64_t n = 0;
        size_t i = 0;
        for (;; i++) {
            if (i == room || i == PB_LEN_MAX_BYTES)
                return -1;
            n |= (uint64_t)(q[i] & 0x7F) << (7 * i);
            if (q[i] < 0x80)
                break;
        }
        if (room - i - 1 < n)
            return -1;
        f->val = q + i + 1;
        f->len = (size_t)n;
        f->bits = 0;
        *pp = f->val + f->len;
        return 1;
    }
    case PB_WT_I32:
        if (room < 4)
            return -1;
        f->bits = pb_get_le32(q);
        *pp = q + 4;
        return 1;
    case PB_WT_I64:
        if (room < 8)
            return -1;
        f->bits = pb_get_le64(q);
        *pp = q + 8;
        return 1;
    default:
        return pb_next_field_slow(pp, end, f);
    }
}

/* A scalar value from the wire, in the width of its field type: what a
 * VARINT, I32 or I64 field (or one element of a packed run) holds. */
union pb_scalar {
    int32_t i32;
    uint32_t u32;
    int64_t i64;
    uint64_t u64;
    float f;
    double d;
    bool b;
};

/* Converts the raw bits of a value of wire type wt to field type t, as
 * every runtime does (int32 keeps the low 32 bits, sint* unzigzag, bool is
 * any non-zero). Returns 0, or -1 when wt is not the type's wire type. */
static inline int pb_scalar_from_bits(ProtobufCType t, enum pb_wire_type wt, uint64_t bits,
                                      union pb_scalar *out)
{
    if (wt != pb_wire_type_of(t) || wt == PB_WT_LEN)
        return -1;
    switch (t) {
    case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_ENUM: case PROTOBUF_C_TYPE_SFIXED32:
        out->i32 = (int32_t)(uint32_t)bits;
        break;
    case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32:
        out->u32 = (uint32_t)bits;
        break;
    case PROTOBUF_C_TYPE_SINT32:
        out->i32 = pb_unzigzag32((uint32_t)bits);
        break;
    case PROTOBUF_C_TYPE_SINT64:
        out->i64 = pb_unzigzag64(bits);
        break;
    case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SFIXED64:
        out->i64 = (int64_t)bits;
        break;
    case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64:
        out->u64 = bits;
        break;
    case PROTOBUF_C_TYPE_FLOAT: {
        uint32_t u = (uint32_t)bits;
        memcpy(&out->f, &u, 4);
        break;
    }
    case PROTOBUF_C_TYPE_DOUBLE:
        memcpy(&out->d, &bits, 8);
        break;
    case PROTOBUF_C_TYPE_BOOL:
        out->b = bits != 0;
        break;
    default:
        return -1;
    }
    return 0;
}

/* Reads one element of a packed run of type t at *pp; 0, or -1 when cut. */
int pb_next_packed(ProtobufCType t, const uint8_t **pp, const uint8_t *end,
                   union pb_scalar *out);

#endif
