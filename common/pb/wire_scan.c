#include "wire_scan.h"

#include <string.h>

#include "cg_limits.h"

/* Tags and length prefixes may take at most 5 bytes: protobuf-c's unpacker
 * refuses longer (zero-padded) ones, and the JSON writer must not accept
 * what the unpacker would refuse. Values may take 10. */
#define TAG_MAX_BYTES 5
#define LENGTH_MAX_BYTES 5
#define VALUE_MAX_BYTES 10

/* Reads a varint of at most `max` bytes; returns its length, or 0 if it is
 * cut or longer. */
static size_t read_varint(const uint8_t *p, const uint8_t *end, size_t max, uint64_t *v)
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

static int scan(const struct msg_info *mi, const uint8_t *p, const uint8_t *end,
                int depth, struct cg_status *st)
{
    if (depth > CG_MAX_DEPTH)
        return cg_fail(st, CG_INTERNAL, "response nests deeper than %d levels", CG_MAX_DEPTH);
    while (p < end) {
        uint64_t tag, len;
        size_t k = read_varint(p, end, TAG_MAX_BYTES, &tag);
        if (!k || (tag >> 3) == 0 || (tag >> 3) > 536870911u)
            return cg_fail(st, CG_INTERNAL, "malformed response: bad field tag in %s",
                           mi->desc->name);
        p += k;
        switch (tag & 7) {
        case 0:
            if (!(k = read_varint(p, end, VALUE_MAX_BYTES, &len)))
                return cg_fail(st, CG_INTERNAL, "malformed response: cut varint in %s",
                               mi->desc->name);
            p += k;
            break;
        case 1:
        case 5: {
            size_t w = (tag & 7) == 1 ? 8 : 4;
            if ((size_t)(end - p) < w)
                return cg_fail(st, CG_INTERNAL, "malformed response: cut value in %s",
                               mi->desc->name);
            p += w;
            break;
        }
        case 2: {
            if (!(k = read_varint(p, end, LENGTH_MAX_BYTES, &len)) || len > (uint64_t)(end - p - k))
                return cg_fail(st, CG_INTERNAL, "malformed response: bad length in %s",
                               mi->desc->name);
            p += k;
            const ProtobufCFieldDescriptor *fd =
                protobuf_c_message_descriptor_get_field(mi->desc, (unsigned)(tag >> 3));
            if (fd && fd->type == PROTOBUF_C_TYPE_STRING && memchr(p, 0, len))
                return cg_fail(st, CG_INTERNAL,
                               "response field %s.%s holds U+0000, which cannot be carried",
                               mi->desc->name, fd->name);
            if (fd && fd->type == PROTOBUF_C_TYPE_MESSAGE) {
                const struct msg_info *sub = mi->fields[fd - mi->desc->fields].sub;
                if (scan(sub, p, p + len, depth + 1, st) != 0)
                    return -1;
            }
            p += len;
            break;
        }
        default:
            return cg_fail(st, CG_INTERNAL, "malformed response: wire type %u in %s",
                           (unsigned)(tag & 7), mi->desc->name);
        }
    }
    return 0;
}

int wire_scan(const struct msg_info *mi, const uint8_t *p, size_t n,
              struct cg_status *st)
{
    return scan(mi, p, p + n, 0, st);
}
