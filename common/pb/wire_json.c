#include "wire_json.h"

#include <string.h>

#include "json_write.h"
#include "pb_to_json.h"

/* Fields of one message, at most this many kept on the stack; larger
 * messages take their table from the arena. */
#define STACK_FIELDS 48

struct wctx {
    struct outbuf *ob;
    struct arena *a;
    struct cg_status *st;
    int failed;                  /* decode failure already in st */
};


static size_t get_varint(const uint8_t *p, const uint8_t *end, uint64_t *v)
{
    uint64_t x = 0;
    for (size_t i = 0; i < 10 && p + i < end; i++) {
        x |= (uint64_t)(p[i] & 0x7F) << (7 * i);
        if (!(p[i] & 0x80)) {
            *v = x;
            return i + 1;
        }
    }
    return 0;
}

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_le64(const uint8_t *p)
{
    return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

/* The wire type a value of this field type travels as (2: length). */
static unsigned wire_type_of(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_FIXED64: case PROTOBUF_C_TYPE_SFIXED64: case PROTOBUF_C_TYPE_DOUBLE:
        return 1;
    case PROTOBUF_C_TYPE_FIXED32: case PROTOBUF_C_TYPE_SFIXED32: case PROTOBUF_C_TYPE_FLOAT:
        return 5;
    case PROTOBUF_C_TYPE_STRING: case PROTOBUF_C_TYPE_BYTES: case PROTOBUF_C_TYPE_MESSAGE:
        return 2;
    default:
        return 0;
    }
}

/* One field as it sits on the wire. */
struct field {
    uint32_t id;
    unsigned wt;                 /* wire type */
    const uint8_t *val;          /* the value's first byte (after the tag) */
    size_t len;                  /* the value's length, when length-delimited */
};

/* Reads the field at *pp and moves past it: 1, or 0 at the end. wire_scan
 * has checked the bounds of every message; -1 means the bytes end early
 * all the same. */
/* Where a field's value is: for a singular field, its last occurrence
 * (protobuf's "last one wins"); for a repeated one, only the count. */
struct seen {
    struct field last;
    unsigned count;
};

static int next_field(const uint8_t **pp, const uint8_t *end, struct field *f)
{
    const uint8_t *p = *pp;
    if (p >= end)
        return 0;
    uint64_t tag, v;
    size_t k = get_varint(p, end, &tag);
    if (!k)
        return -1;
    p += k;
    f->id = (uint32_t)(tag >> 3);
    f->wt = (unsigned)(tag & 7);
    f->val = p;
    f->len = 0;
    switch (f->wt) {
    case 0:
        if (!(k = get_varint(p, end, &v)))
            return -1;
        p += k;
        break;
    case 1:
    case 5: {
        size_t w = f->wt == 1 ? 8 : 4;
        if ((size_t)(end - p) < w)
            return -1;
        p += w;
        break;
    }
    case 2:
        if (!(k = get_varint(p, end, &v)) || v > (uint64_t)(end - p - k))
            return -1;
        f->val = p + k;
        f->len = (size_t)v;
        p += k + v;
        break;
    default:
        return -1;
    }
    *pp = p;
    return 1;
}

/* Decodes one scalar at *pp (wire type wt) into protobuf-c's in-memory
 * form of fd's type, as protobuf-c's own parser would; advances *pp. */
static int get_scalar(const ProtobufCFieldDescriptor *fd, unsigned wt, const uint8_t **pp,
                      const uint8_t *end, void *out)
{
    const uint8_t *p = *pp;
    uint64_t v = 0;
    if (wt == 0) {
        size_t k = get_varint(p, end, &v);
        if (!k)
            return -1;
        p += k;
    } else if (wt == 5) {
        if (end - p < 4)
            return -1;
        v = get_le32(p);
        p += 4;
    } else if (wt == 1) {
        if (end - p < 8)
            return -1;
        v = get_le64(p);
        p += 8;
    } else {
        return -1;
    }
    *pp = p;
    switch (fd->type) {
    case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_ENUM:
    case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32: case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_FLOAT: {
        uint32_t u = (uint32_t)v;
        memcpy(out, &u, 4);
        break;
    }
    case PROTOBUF_C_TYPE_SINT32: {
        uint32_t u = (uint32_t)v;
        int32_t s = (int32_t)(u >> 1) ^ -(int32_t)(u & 1);
        memcpy(out, &s, 4);
        break;
    }
    case PROTOBUF_C_TYPE_SINT64: {
        int64_t s = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
        memcpy(out, &s, 8);
        break;
    }
    case PROTOBUF_C_TYPE_BOOL: {
        protobuf_c_boolean b = v != 0;
        memcpy(out, &b, sizeof b);
        break;
    }
    default:              /* the 64-bit kinds and double: the bits as they are */
        memcpy(out, &v, 8);
        break;
    }
    return 0;
}

static int write_msg(struct wctx *c, const struct msg_info *mi, const uint8_t *p,
                     const uint8_t *end, int depth);

/* protobuf-c's reading of this message, written by pb_to_json_message. */
static int write_unpacked(struct wctx *c, const struct msg_info *mi, const uint8_t *p,
                          const uint8_t *end)
{
    ProtobufCMessage *m = protobuf_c_message_unpack(mi->desc, &c->a->pb, (size_t)(end - p), p);
    if (!m) {
        c->failed = 1;
        return cg_fail(c->st, CG_INTERNAL, "response could not be decoded as %s",
                       mi->desc->name);
    }
    /* The unpacked copy lives in the arena until the request ends; freeing
     * it through protobuf-c would only hand the blocks back to the arena.
     * An output failure stays in the outbuf, reported at the end. */
    pb_to_json_message(mi, m, c->a, c->ob, c->st);
    return 0;
}

/* One value of field fi at val (length len when length-delimited). */
static int write_one(struct wctx *c, const struct field_info *fi, unsigned wt,
                     const uint8_t *val, size_t len, const uint8_t *end, int depth)
{
    const ProtobufCFieldDescriptor *fd = fi->fd;
    switch (fd->type) {
    case PROTOBUF_C_TYPE_STRING:
        json_write_string(c->ob, (const char *)val, len);
        return 0;
    case PROTOBUF_C_TYPE_BYTES: {
        ProtobufCBinaryData b = {.len = len, .data = (uint8_t *)val};
        pb_to_json_value(c->ob, c->a, fi, &b);
        return 0;
    }
    case PROTOBUF_C_TYPE_MESSAGE:
        return write_msg(c, fi->sub, val, val + len, depth + 1);
    default: {
        uint64_t tmp = 0;
        const uint8_t *q = val;
        if (get_scalar(fd, wt, &q, end, &tmp))
            return -1;
        pb_to_json_value(c->ob, c->a, fi, &tmp);
        return 0;
    }
    }
}

/* The default of an absent singular field: what protobuf-c's
 * message_init leaves there (no declared defaults reach this point). */
static void write_default(struct wctx *c, const struct field_info *fi)
{
    switch (fi->fd->type) {
    case PROTOBUF_C_TYPE_MESSAGE:
        outbuf_puts_lit(c->ob, "null");
        break;
    case PROTOBUF_C_TYPE_STRING:
        outbuf_puts_lit(c->ob, "\"\"");
        break;
    default: {
        uint64_t zero[2] = {0, 0};     /* BinaryData {0, NULL} for bytes */
        pb_to_json_value(c->ob, c->a, fi, zero);
        break;
    }
    }
}

/* Every element of repeated field fi, in wire order, packed or not. */
static int write_repeated(struct wctx *c, const struct field_info *fi, const uint8_t *p,
                          const uint8_t *end, int depth)
{
    const ProtobufCFieldDescriptor *fd = fi->fd;
    unsigned want = wire_type_of(fd->type);
    bool first = true;
    outbuf_putc(c->ob, '[');
    struct field f;
    int more;
    while ((more = next_field(&p, end, &f)) > 0) {
        if (f.id != fd->id)
            continue;
        if (f.wt == 2 && want != 2) {        /* packed scalars */
            const uint8_t *q = f.val, *qend = f.val + f.len;
            while (q < qend) {
                uint64_t tmp = 0;
                if (get_scalar(fd, want, &q, qend, &tmp))
                    return -1;
                if (!first)
                    outbuf_putc(c->ob, ',');
                first = false;
                pb_to_json_value(c->ob, c->a, fi, &tmp);
            }
            continue;
        }
        if (!first)
            outbuf_putc(c->ob, ',');
        first = false;
        if (write_one(c, fi, f.wt, f.val, f.len, end, depth))
            return -1;
    }
    if (more < 0)
        return -1;
    outbuf_putc(c->ob, ']');
    return 0;
}

/* protoc-c points every string field at an empty default; anything else
 * is a default the schema declares (proto2), left to protobuf-c. */
static bool declared_default(const ProtobufCFieldDescriptor *fd)
{
    if (!fd->default_value)
        return false;
    return fd->type != PROTOBUF_C_TYPE_STRING || *(const char *)fd->default_value != '\0';
}

/* First pass: where each field is, and whether this reader can write the
 * message itself (0) or must leave it to protobuf-c (1). -1: the bytes
 * end early. */
static int survey(const struct msg_info *mi, const uint8_t *p, const uint8_t *end,
                  struct seen *seen)
{
    const ProtobufCMessageDescriptor *d = mi->desc;
    struct field f;
    int more;
    while ((more = next_field(&p, end, &f)) > 0) {
        const ProtobufCFieldDescriptor *fd = protobuf_c_message_descriptor_get_field(d, f.id);
        if (!fd)
            continue;                        /* unknown: not written */
        unsigned i = (unsigned)(fd - d->fields);
        const struct field_info *fi = &mi->fields[i];
        unsigned want = wire_type_of(fd->type);
        if (fi->is_map || declared_default(fd))
            return 1;
        if (f.wt != want && !(f.wt == 2 && fd->label == PROTOBUF_C_LABEL_REPEATED))
            return 1;
        if (fd->type == PROTOBUF_C_TYPE_MESSAGE && fd->label != PROTOBUF_C_LABEL_REPEATED &&
            seen[i].count)
            return 1;
        seen[i].last = f;
        seen[i].count++;
        if (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            /* The last member of a oneof on the wire is the one set: the
             * others of the same oneof (same case word) are forgotten. */
            for (unsigned k = 0; k < d->n_fields; k++)
                if (k != i && (d->fields[k].flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
                    d->fields[k].quantifier_offset == fd->quantifier_offset)
                    seen[k].count = 0;
        }
    }
    return more < 0 ? -1 : 0;
}

static int write_msg(struct wctx *c, const struct msg_info *mi, const uint8_t *p,
                     const uint8_t *end, int depth)
{
    const ProtobufCMessageDescriptor *d = mi->desc;
    struct seen stack_seen[STACK_FIELDS], *seen = stack_seen;
    if (d->n_fields > STACK_FIELDS &&
        !(seen = arena_alloc(c->a, d->n_fields * sizeof *seen))) {
        c->ob->failed = OUTBUF_NOMEM;
        return 0;
    }
    memset(seen, 0, d->n_fields * sizeof *seen);
    int r = survey(mi, p, end, seen);
    if (r < 0 || c->ob->failed)
        return r < 0 ? -1 : 0;
    if (r > 0)
        return write_unpacked(c, mi, p, end);

    bool first = true;
    outbuf_putc(c->ob, '{');
    for (unsigned i = 0; i < d->n_fields; i++) {
        const struct field_info *fi = &mi->fields[i];
        const ProtobufCFieldDescriptor *fd = fi->fd;
        if (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            if (!seen[i].count)
                continue;
        } else if (fd->label == PROTOBUF_C_LABEL_OPTIONAL &&
                   fd->type != PROTOBUF_C_TYPE_MESSAGE &&
                   fd->type != PROTOBUF_C_TYPE_STRING) {
            if (!seen[i].count)              /* has_ flag unset */
                continue;
        }
        if (!first)
            outbuf_putc(c->ob, ',');
        first = false;
        outbuf_put(c->ob, fi->key, fi->key_len);
        int rc;
        if (fi->is_map)                      /* present ones went to protobuf-c */
            outbuf_puts_lit(c->ob, "{}"), rc = 0;
        else if (fd->label == PROTOBUF_C_LABEL_REPEATED)
            rc = write_repeated(c, fi, p, end, depth);
        else if (!seen[i].count)
            write_default(c, fi), rc = 0;
        else
            rc = write_one(c, fi, seen[i].last.wt, seen[i].last.val, seen[i].last.len, end,
                           depth);
        if (rc)
            return rc;
        if (c->ob->failed)
            return 0;
    }
    outbuf_putc(c->ob, '}');
    return 0;
}

int wire_json_write(const struct msg_info *mi, const uint8_t *p, size_t n,
                    struct arena *a, struct outbuf *ob, struct cg_status *st)
{
    struct wctx c = {.ob = ob, .a = a, .st = st};
    int rc = write_msg(&c, mi, p, p + n, 0);
    if (c.failed)
        return -1;
    if (rc)
        return cg_fail(st, CG_INTERNAL, "response could not be decoded as %s",
                       mi->desc->name);
    return pb_to_json_status(ob, st);
}
