#include "pb_pack.h"

#include <string.h>

#include "schema.h"

/* Fixed-width values are copied as they lie in memory, which is the wire's
 * little-endian order only on little-endian hosts (x86-64, arm64). */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "pb_pack assumes a little-endian host");

/* Length prefixes (sub-message sizes and packed-field body sizes), recorded
 * in preorder by the size pass and read back in the same order by the write
 * pass, so no size is computed twice. */
struct sizes {
    size_t *v;
    size_t n, cap, next;
    struct arena *a;
    int failed;
};

static size_t varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static uint8_t *put_varint(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

static uint64_t zigzag32(int32_t v) { return (uint32_t)(((uint32_t)v << 1) ^ (uint32_t)(v >> 31)); }
static uint64_t zigzag64(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }

static int wire_type(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_SFIXED32: case PROTOBUF_C_TYPE_FIXED32: case PROTOBUF_C_TYPE_FLOAT:
        return 5;
    case PROTOBUF_C_TYPE_SFIXED64: case PROTOBUF_C_TYPE_FIXED64: case PROTOBUF_C_TYPE_DOUBLE:
        return 1;
    case PROTOBUF_C_TYPE_STRING: case PROTOBUF_C_TYPE_BYTES: case PROTOBUF_C_TYPE_MESSAGE:
        return 2;
    default:
        return 0;
    }
}

/* The varint a varint-typed scalar is written as. int32 and enums are
 * sign-extended to 64 bits, as the wire format requires. */
static uint64_t varint_value(ProtobufCType t, const void *p)
{
    switch (t) {
    case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_ENUM:
        return (uint64_t)(int64_t)*(const int32_t *)p;
    case PROTOBUF_C_TYPE_SINT32: return zigzag32(*(const int32_t *)p);
    case PROTOBUF_C_TYPE_UINT32: return *(const uint32_t *)p;
    case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_UINT64: return *(const uint64_t *)p;
    case PROTOBUF_C_TYPE_SINT64: return zigzag64(*(const int64_t *)p);
    case PROTOBUF_C_TYPE_BOOL: return *(const protobuf_c_boolean *)p ? 1 : 0;
    default: return 0;
    }
}

/* True when a proto3 (no presence) value is its default: all bits zero, so
 * -0.0 counts as set. */
static int is_default(ProtobufCType t, const void *p)
{
    switch (t) {
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *)p;
        return !s || !*s;
    }
    case PROTOBUF_C_TYPE_BYTES: return ((const ProtobufCBinaryData *)p)->len == 0;
    case PROTOBUF_C_TYPE_MESSAGE: return *(ProtobufCMessage *const *)p == NULL;
    case PROTOBUF_C_TYPE_BOOL: return !*(const protobuf_c_boolean *)p;
    default: {
        size_t n = schema_elem_size(t);
        static const uint8_t zero[8];
        return memcmp(p, zero, n) == 0;
    }
    }
}

static size_t message_size(const ProtobufCMessage *m, struct sizes *sz);

static size_t reserve_slot(struct sizes *sz)
{
    if (sz->n == sz->cap) {
        size_t cap = sz->cap ? sz->cap * 2 : 64;
        size_t *v = arena_alloc(sz->a, cap * sizeof *v);
        if (!v) {
            sz->failed = 1;
            return (size_t)-1;
        }
        if (sz->n)
            memcpy(v, sz->v, sz->n * sizeof *v);
        sz->v = v;
        sz->cap = cap;
    }
    return sz->n++;
}

/* Bytes of one value's payload (no tag). */
static size_t value_size(const ProtobufCFieldDescriptor *fd, const void *p, struct sizes *sz)
{
    switch (wire_type(fd->type)) {
    case 5: return 4;
    case 1: return 8;
    case 0: return varint_len(varint_value(fd->type, p));
    default: break;
    }
    size_t n;
    if (fd->type == PROTOBUF_C_TYPE_STRING) {
        const char *s = *(char *const *)p;
        n = s ? strlen(s) : 0;
    } else if (fd->type == PROTOBUF_C_TYPE_BYTES) {
        n = ((const ProtobufCBinaryData *)p)->len;
    } else {
        size_t slot = reserve_slot(sz);
        const ProtobufCMessage *sub = *(ProtobufCMessage *const *)p;
        n = sub ? message_size(sub, sz) : 0;
        if (slot != (size_t)-1)
            sz->v[slot] = n;
    }
    return varint_len(n) + n;
}

static int is_packed(const ProtobufCFieldDescriptor *fd)
{
    return (fd->flags & PROTOBUF_C_FIELD_FLAG_PACKED) && wire_type(fd->type) != 2;
}

/* Whether a singular field is written at all. */
static int present(const ProtobufCFieldDescriptor *fd, const char *base)
{
    if (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
        return *(const uint32_t *)(base + fd->quantifier_offset) == fd->id;
    if (fd->label == PROTOBUF_C_LABEL_OPTIONAL) {
        if (fd->type == PROTOBUF_C_TYPE_MESSAGE || fd->type == PROTOBUF_C_TYPE_STRING)
            return *(void *const *)(base + fd->offset) != NULL;
        return *(const protobuf_c_boolean *)(base + fd->quantifier_offset);
    }
    if (fd->label == PROTOBUF_C_LABEL_REQUIRED)
        return 1;
    return !is_default(fd->type, base + fd->offset);
}

static size_t message_size(const ProtobufCMessage *m, struct sizes *sz)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    const char *base = (const char *)m;
    size_t total = 0;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *fd = &d->fields[i];
        size_t tag = varint_len((uint64_t)fd->id << 3);
        if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)(base + fd->quantifier_offset);
            const char *arr = *(char *const *)(base + fd->offset);
            size_t es = schema_elem_size(fd->type);
            if (n == 0)
                continue;
            if (is_packed(fd)) {
                size_t slot = reserve_slot(sz), body = 0;
                for (size_t k = 0; k < n; k++)
                    body += value_size(fd, arr + k * es, sz);
                if (slot != (size_t)-1)
                    sz->v[slot] = body;
                total += tag + varint_len(body) + body;
            } else {
                for (size_t k = 0; k < n; k++)
                    total += tag + value_size(fd, arr + k * es, sz);
            }
        } else if (present(fd, base)) {
            total += tag + value_size(fd, base + fd->offset, sz);
        }
    }
    return total;
}

static uint8_t *write_message(const ProtobufCMessage *m, uint8_t *p, struct sizes *sz);

static uint8_t *write_value(const ProtobufCFieldDescriptor *fd, const void *v, uint8_t *p,
                            struct sizes *sz)
{
    switch (wire_type(fd->type)) {
    case 5:
        memcpy(p, v, 4);
        return p + 4;
    case 1:
        memcpy(p, v, 8);
        return p + 8;
    case 0:
        return put_varint(p, varint_value(fd->type, v));
    default:
        break;
    }
    if (fd->type == PROTOBUF_C_TYPE_STRING) {
        const char *s = *(char *const *)v;
        size_t n = s ? strlen(s) : 0;
        p = put_varint(p, n);
        memcpy(p, s, n);
        return p + n;
    }
    if (fd->type == PROTOBUF_C_TYPE_BYTES) {
        const ProtobufCBinaryData *b = v;
        p = put_varint(p, b->len);
        if (b->len)
            memcpy(p, b->data, b->len);
        return p + b->len;
    }
    const ProtobufCMessage *sub = *(ProtobufCMessage *const *)v;
    p = put_varint(p, sz->v[sz->next++]);
    return sub ? write_message(sub, p, sz) : p;
}

static uint8_t *write_message(const ProtobufCMessage *m, uint8_t *p, struct sizes *sz)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    const char *base = (const char *)m;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *fd = &d->fields[i];
        uint64_t key = ((uint64_t)fd->id << 3);
        if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)(base + fd->quantifier_offset);
            const char *arr = *(char *const *)(base + fd->offset);
            size_t es = schema_elem_size(fd->type);
            if (n == 0)
                continue;
            if (is_packed(fd)) {
                p = put_varint(p, key | 2);
                p = put_varint(p, sz->v[sz->next++]);
                for (size_t k = 0; k < n; k++)
                    p = write_value(fd, arr + k * es, p, sz);
            } else {
                for (size_t k = 0; k < n; k++) {
                    p = put_varint(p, key | (uint64_t)wire_type(fd->type));
                    p = write_value(fd, arr + k * es, p, sz);
                }
            }
        } else if (present(fd, base)) {
            p = put_varint(p, key | (uint64_t)wire_type(fd->type));
            p = write_value(fd, base + fd->offset, p, sz);
        }
    }
    return p;
}

int pb_pack(const ProtobufCMessage *msg, struct arena *a, uint8_t **out, size_t *len,
            struct cg_status *st)
{
    struct sizes sz = {.a = a};
    size_t n = message_size(msg, &sz);
    uint8_t *buf = sz.failed ? NULL : arena_alloc(a, n ? n : 1);
    if (!buf)
        return cg_fail(st, CG_RESOURCE_EXHAUSTED, "request too large to encode");
    uint8_t *end = write_message(msg, buf, &sz);
    if ((size_t)(end - buf) != n)
        return cg_fail(st, CG_INTERNAL, "packing %s: size mismatch", msg->descriptor->name);
    *out = buf;
    *len = n;
    return 0;
}
