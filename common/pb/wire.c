#include "pb/wire.h"

#include <string.h>

#include "base/cg_limits.h"

size_t pb_get_varint(const uint8_t *p, const uint8_t *end, size_t max, uint64_t *v)
{
    uint64_t x = 0;
    for (size_t i = 0; i < max && p + i < end; i++) {
        x |= (uint64_t)(p[i] & 0x7F) << (7 * i);
        if (!(p[i] & 0x80)) {
            *v = x;
            return i + 1;
        }
    }
    return 0;
}

static int next_field(const uint8_t **pp, const uint8_t *end, struct pb_field *f, int depth);

/* The value of wire type VARINT, I64 or I32 at *pp, moving past it: 0, or
 * -1 when it is cut short (or wt is another type). */
static int read_value(enum pb_wire_type wt, const uint8_t **pp, const uint8_t *end,
                      uint64_t *bits)
{
    const uint8_t *p = *pp;
    size_t k;
    switch (wt) {
    case PB_WT_VARINT:
        if (!(k = pb_get_varint(p, end, PB_VARINT_MAX_BYTES, bits)))
            return -1;
        break;
    case PB_WT_I64:
    case PB_WT_I32:
        k = wt == PB_WT_I64 ? 8 : 4;
        if ((size_t)(end - p) < k)
            return -1;
        *bits = k == 8 ? pb_get_le64(p) : pb_get_le32(p);
        break;
    default:
        return -1;
    }
    *pp = p + k;
    return 0;
}

/* Steps over a group's fields up to its end tag (same field number). */
static int skip_group(const uint8_t **pp, const uint8_t *end, uint32_t id, int depth)
{
    if (depth > CG_MAX_DEPTH)
        return -1;
    struct pb_field f;
    for (;;) {
        const uint8_t *at = *pp;
        uint64_t tag;
        size_t k = pb_get_varint(at, end, PB_TAG_MAX_BYTES, &tag);
        if (!k)
            return -1;
        if ((tag & 7) == PB_WT_EGROUP) {
            if ((tag >> 3) != id)
                return -1;
            *pp = at + k;
            return 0;
        }
        if (next_field(pp, end, &f, depth) <= 0)
            return -1;
    }
}

int pb_next_field_slow(const uint8_t **pp, const uint8_t *end, struct pb_field *f)
{
    return next_field(pp, end, f, 0);
}

static int next_field(const uint8_t **pp, const uint8_t *end, struct pb_field *f, int depth)
{
    const uint8_t *p = *pp;
    if (p >= end)
        return 0;
    uint64_t tag, v;
    size_t k = pb_get_varint(p, end, PB_TAG_MAX_BYTES, &tag);
    if (!k || (tag >> 3) == 0 || (tag >> 3) > PB_MAX_FIELD_NUMBER)
        return -1;
    f->start = p;
    p += k;
    f->id = (uint32_t)(tag >> 3);
    f->wt = (enum pb_wire_type)(tag & 7);
    f->val = p;
    f->len = 0;
    f->bits = 0;
    switch (tag & 7) {
    case PB_WT_VARINT:
    case PB_WT_I64:
    case PB_WT_I32:
        if (read_value(f->wt, &p, end, &f->bits) != 0)
            return -1;
        break;
    case PB_WT_LEN:
        if (!(k = pb_get_varint(p, end, PB_LEN_MAX_BYTES, &v)) || v > (uint64_t)(end - p - k))
            return -1;
        f->val = p + k;
        f->len = (size_t)v;
        p += k + v;
        break;
    case PB_WT_SGROUP: {
        const uint8_t *q = p;
        if (skip_group(&q, end, f->id, depth + 1) != 0)
            return -1;
        f->len = (size_t)(q - p);
        p = q;
        break;
    }
    default:
        return -1;
    }
    *pp = p;
    return 1;
}

int pb_next_packed(ProtobufCType t, const uint8_t **pp, const uint8_t *end,
                   union pb_scalar *out)
{
    enum pb_wire_type wt = pb_wire_type_of(t);
    uint64_t bits;
    if (read_value(wt, pp, end, &bits) != 0)
        return -1;
    return pb_scalar_from_bits(t, wt, bits, out);
}
