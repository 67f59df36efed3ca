#include "pb/wire_check.h"

#include "base/cg_limits.h"
#include "pb/wire.h"

static int check(const struct msg_info *mi, const uint8_t *p, const uint8_t *end, int depth,
                 struct cg_status *st)
{
    if (depth > CG_MAX_DEPTH)
        return cg_fail(st, CG_INTERNAL, "response nests deeper than %d levels", CG_MAX_DEPTH);
    const ProtobufCMessageDescriptor *d = mi->desc;
    struct pb_field f;
    int r;
    while ((r = pb_next_field(&p, end, &f)) > 0) {
        if (f.wt != PB_WT_LEN)
            continue;
        int i = schema_field_index(mi, f.id);
        const ProtobufCFieldDescriptor *fd = i < 0 ? NULL : &d->fields[i];
        if (!fd || !pb_wire_fits(fd, f.wt))
            continue;
        if (fd->type == PROTOBUF_C_TYPE_MESSAGE) {
            if (check(mi->fields[i].sub, f.val, f.val + f.len, depth + 1, st))
                return -1;
        } else if (pb_packable(fd->type)) {
            const uint8_t *q = f.val, *qend = f.val + f.len;
            union pb_scalar v;
            while (q < qend)
                if (pb_next_packed(fd->type, &q, qend, &v) != 0)
                    return cg_fail(st, CG_INTERNAL, "malformed response: packed %s.%s is cut",
                                   d->name, fd->name);
        }
    }
    if (r < 0)
        return cg_fail(st, CG_INTERNAL, "malformed response: a field of %s does not read",
                       d->name);
    return 0;
}

int pb_wire_check(const struct msg_info *mi, const uint8_t *p, size_t n,
                  struct cg_status *st)
{
    return check(mi, p, p + n, 0, st);
}
