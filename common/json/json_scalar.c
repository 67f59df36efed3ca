#include "json/json_scalar.h"

#include <math.h>
#include <string.h>

#include "base/base64.h"
#include "base/num_format.h"

/* An integer, signed or not, quoted (64-bit kinds, map keys) or bare. */
static void write_number(struct outbuf *ob, bool is_signed, uint64_t bits, bool quoted)
{
    if (outbuf_room(ob, NUM_FORMAT_MAX + 2) != 0)
        return;
    char *o = ob->data + ob->len;
    size_t n = 0;
    if (quoted)
        o[n++] = '"';
    n += is_signed ? num_format_i64(o + n, (int64_t)bits) : num_format_u64(o + n, bits);
    if (quoted)
        o[n++] = '"';
    ob->len += n;
}

/* The integer kinds: 64-bit ones always quoted, the others when
 * `quote_all` (map keys). false for any other kind. */
static bool write_integer(struct outbuf *ob, ProtobufCType t, const union pb_scalar *v,
                          bool quote_all)
{
    switch (t) {
    case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32: case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_ENUM:
        write_number(ob, true, (uint64_t)(int64_t)v->i32, quote_all);
        return true;
    case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32:
        write_number(ob, false, v->u32, quote_all);
        return true;
    case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
        write_number(ob, true, (uint64_t)v->i64, true);
        return true;
    case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64:
        write_number(ob, false, v->u64, true);
        return true;
    default:
        return false;
    }
}

static bool write_nonfinite(struct outbuf *ob, double v)
{
    if (isnan(v))
        outbuf_puts_lit(ob, "\"NaN\"");
    else if (isinf(v) && v > 0)
        outbuf_puts_lit(ob, "\"Infinity\"");
    else if (isinf(v))
        outbuf_puts_lit(ob, "\"-Infinity\"");
    else
        return false;
    return true;
}

static void write_enum(struct outbuf *ob, const ProtobufCFieldDescriptor *fd, int32_t v)
{
    const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(fd->descriptor, v);
    if (!ev) {
        union pb_scalar n = {.i32 = v};
        write_integer(ob, fd->type, &n, false);
        return;
    }
    outbuf_putc(ob, '"');
    outbuf_put(ob, ev->name, strlen(ev->name));
    outbuf_putc(ob, '"');
}

void json_scalar_write(struct outbuf *ob, const ProtobufCFieldDescriptor *fd,
                       const union pb_scalar *v)
{
    switch (fd->type) {
    case PROTOBUF_C_TYPE_FLOAT:
        if (!write_nonfinite(ob, v->f) && outbuf_room(ob, NUM_FORMAT_MAX) == 0)
            ob->len += num_format_float(ob->data + ob->len, v->f);
        break;
    case PROTOBUF_C_TYPE_DOUBLE:
        if (!write_nonfinite(ob, v->d) && outbuf_room(ob, NUM_FORMAT_MAX) == 0)
            ob->len += num_format_double(ob->data + ob->len, v->d);
        break;
    case PROTOBUF_C_TYPE_BOOL:
        if (v->b)
            outbuf_puts_lit(ob, "true");
        else
            outbuf_puts_lit(ob, "false");
        break;
    case PROTOBUF_C_TYPE_ENUM:
        write_enum(ob, fd, v->i32);
        break;
    default:
        /* Strings, bytes and messages have writers of their own. */
        if (!write_integer(ob, fd->type, v, false))
            outbuf_puts_lit(ob, "null");
        break;
    }
}

void json_scalar_write_key(struct outbuf *ob, const ProtobufCFieldDescriptor *kd,
                           const union pb_scalar *v)
{
    if (kd->type != PROTOBUF_C_TYPE_BOOL)
        write_integer(ob, kd->type, v, true);
    else if (v->b)
        outbuf_puts_lit(ob, "\"true\"");
    else
        outbuf_puts_lit(ob, "\"false\"");
}

void json_bytes_write(struct outbuf *ob, const uint8_t *data, size_t len)
{
    size_t n = base64_encoded_len(len);
    /* Streaming, a value larger than the chunk cannot be reserved whole
     * (outbuf_room would mark the buffer failed): it goes out in quads. */
    bool too_big_for_chunk = ob->sink && n + 2 > ob->cap;
    if (!too_big_for_chunk) {
        if (outbuf_room(ob, n + 2) != 0)
            return;
        char *o = ob->data + ob->len;
        o[0] = '"';
        base64_encode(o + 1, data, len);
        o[n + 1] = '"';
        ob->len += n + 2;
        return;
    }
    if (ob->failed)
        return;
    outbuf_putc(ob, '"');
    char quads[4096];
    for (size_t i = 0; i < len; i += 3072) {
        size_t k = len - i < 3072 ? len - i : 3072;
        base64_encode(quads, data + i, k);
        outbuf_put(ob, quads, base64_encoded_len(k));
    }
    outbuf_putc(ob, '"');
}

void json_scalar_default(const ProtobufCFieldDescriptor *fd, union pb_scalar *v)
{
    memset(v, 0, sizeof *v);
    const void *d = fd->default_value;
    if (!d)
        return;
    switch (fd->type) {
    case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64: case PROTOBUF_C_TYPE_DOUBLE:
        memcpy(v, d, 8);
        break;
    case PROTOBUF_C_TYPE_BOOL:
        v->b = *(const protobuf_c_boolean *)d != 0;
        break;
    case PROTOBUF_C_TYPE_STRING: case PROTOBUF_C_TYPE_BYTES: case PROTOBUF_C_TYPE_MESSAGE:
        break;
    default:                     /* the 32-bit kinds and enums (an int) */
        memcpy(v, d, 4);
        break;
    }
}
