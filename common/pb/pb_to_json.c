#include "pb_to_json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "json_write.h"
#include "num_format.h"
#include "utf8.h"
#include "wire_json.h"
#include "wire_scan.h"

struct enc {
    struct outbuf *ob;
    struct arena *a;
};

static void write_message(struct enc *e, const struct msg_info *mi,
                          const ProtobufCMessage *m);

static void write_int(struct outbuf *ob, int64_t v, bool quoted)
{
    if (outbuf_room(ob, NUM_FORMAT_MAX + 2) != 0)
        return;
    char *o = ob->data + ob->len;
    size_t n = 0;
    if (quoted)
        o[n++] = '"';
    n += num_format_i64(o + n, v);
    if (quoted)
        o[n++] = '"';
    ob->len += n;
}

static void write_uint(struct outbuf *ob, uint64_t v, bool quoted)
{
    if (outbuf_room(ob, NUM_FORMAT_MAX + 2) != 0)
        return;
    char *o = ob->data + ob->len;
    size_t n = 0;
    if (quoted)
        o[n++] = '"';
    n += num_format_u64(o + n, v);
    if (quoted)
        o[n++] = '"';
    ob->len += n;
}

/* NaN and the infinities are strings in protobuf's JSON. */
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

static void write_double(struct outbuf *ob, double v)
{
    if (write_nonfinite(ob, v) || outbuf_room(ob, NUM_FORMAT_MAX) != 0)
        return;
    ob->len += num_format_double(ob->data + ob->len, v);
}

static void write_float(struct outbuf *ob, float v)
{
    if (write_nonfinite(ob, v) || outbuf_room(ob, NUM_FORMAT_MAX) != 0)
        return;
    ob->len += num_format_float(ob->data + ob->len, v);
}

static void write_bytes(struct outbuf *ob, const ProtobufCBinaryData *b)
{
    size_t n = base64_encoded_len(b->len);
    /* Streaming, a value larger than the chunk cannot be reserved whole:
     * outbuf_room would mark the buffer failed. It goes out in quads. */
    bool too_big_for_chunk = ob->sink && n + 2 > ob->cap;
    if (!too_big_for_chunk && outbuf_room(ob, n + 2) == 0) {
        char *o = ob->data + ob->len;
        o[0] = '"';
        base64_encode(o + 1, b->data, b->len);
        o[n + 1] = '"';
        ob->len += n + 2;
    } else if (ob->sink && !ob->failed) {
        /* Streaming and larger than a chunk: encode in whole quads. */
        outbuf_putc(ob, '"');
        char quads[4096];
        for (size_t i = 0; i < b->len; i += 3072) {
            size_t k = b->len - i < 3072 ? b->len - i : 3072;
            base64_encode(quads, b->data + i, k);
            outbuf_put(ob, quads, base64_encoded_len(k));
        }
        outbuf_putc(ob, '"');
    }
}

static void write_enum(struct outbuf *ob, const ProtobufCEnumDescriptor *ed, int v)
{
    const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(ed, v);
    if (!ev) {
        write_int(ob, v, false);   /* open enum: an unknown value stays a number */
        return;
    }
    outbuf_putc(ob, '"');
    outbuf_put(ob, ev->name, strlen(ev->name));
    outbuf_putc(ob, '"');
}

/* One value of field fd stored at p (an element, for repeated fields). */
static void write_value(struct enc *e, const struct field_info *fi, const void *p)
{
    struct outbuf *ob = e->ob;
    const ProtobufCFieldDescriptor *fd = fi->fd;
    switch (fd->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        write_int(ob, *(const int32_t *)p, false);
        break;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        write_uint(ob, *(const uint32_t *)p, false);
        break;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        write_int(ob, *(const int64_t *)p, true);
        break;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        write_uint(ob, *(const uint64_t *)p, true);
        break;
    case PROTOBUF_C_TYPE_FLOAT:
        write_float(ob, *(const float *)p);
        break;
    case PROTOBUF_C_TYPE_DOUBLE:
        write_double(ob, *(const double *)p);
        break;
    case PROTOBUF_C_TYPE_BOOL:
        if (*(const protobuf_c_boolean *)p)
            outbuf_puts_lit(ob, "true");
        else
            outbuf_puts_lit(ob, "false");
        break;
    case PROTOBUF_C_TYPE_ENUM:
        write_enum(ob, fd->descriptor, *(const int *)p);
        break;
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *)p;
        json_write_string(ob, s ? s : "", s ? strlen(s) : 0);
        break;
    }
    case PROTOBUF_C_TYPE_BYTES:
        write_bytes(ob, p);
        break;
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *sub = *(ProtobufCMessage *const *)p;
        if (sub)
            write_message(e, fi->sub, sub);
        else
            outbuf_puts_lit(ob, "null");
        break;
    }
    }
}

void pb_to_json_value(struct outbuf *ob, struct arena *a, const struct field_info *fi,
                      const void *p)
{
    struct enc e = {ob, a};
    write_value(&e, fi, p);
}

/* A map key as JSON object member name: protobuf's JSON writes every key
 * as a string, numbers and booleans as their text. */
static void write_map_key(struct outbuf *ob, const ProtobufCFieldDescriptor *kd,
                          const void *p)
{
    switch (kd->type) {
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *)p;
        json_write_string(ob, s ? s : "", s ? strlen(s) : 0);
        break;
    }
    case PROTOBUF_C_TYPE_BOOL:
        if (*(const protobuf_c_boolean *)p)
            outbuf_puts_lit(ob, "\"true\"");
        else
            outbuf_puts_lit(ob, "\"false\"");
        break;
    case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
        write_int(ob, *(const int64_t *)p, true);
        break;
    case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64:
        write_uint(ob, *(const uint64_t *)p, true);
        break;
    case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32:
        write_uint(ob, *(const uint32_t *)p, true);
        break;
    default:
        write_int(ob, *(const int32_t *)p, true);
        break;
    }
}

static int key_cmp(const ProtobufCFieldDescriptor *kd, const void *a, const void *b)
{
    switch (kd->type) {
    case PROTOBUF_C_TYPE_STRING: {
        const char *x = *(char *const *)a, *y = *(char *const *)b;
        return strcmp(x ? x : "", y ? y : "");
    }
    case PROTOBUF_C_TYPE_BOOL: {
        protobuf_c_boolean x = *(const protobuf_c_boolean *)a, y = *(const protobuf_c_boolean *)b;
        return (x > y) - (x < y);
    }
    case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64: {
        int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
        return (x > y) - (x < y);
    }
    case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64: {
        uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
        return (x > y) - (x < y);
    }
    case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32: {
        uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
        return (x > y) - (x < y);
    }
    default: {
        int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
        return (x > y) - (x < y);
    }
    }
}

/* Orders entries a and b by key; string keys by `texts` (below). */
static int entry_cmp(const ProtobufCFieldDescriptor *kd, ProtobufCMessage **v,
                     const char *const *texts, size_t a, size_t b)
{
    if (texts)
        return strcmp(texts[a], texts[b]);
    return key_cmp(kd, (const char *)v[a] + kd->offset, (const char *)v[b] + kd->offset);
}

/* Sorts entry indexes by key, ties by wire position, so that the last of
 * equal keys can win. A bottom-up merge sort: stable, and n log n even for
 * a map of many thousands of entries; tmp holds n indexes. */
static void sort_entries(const ProtobufCFieldDescriptor *kd, ProtobufCMessage **v,
                         const char *const *texts, size_t *idx, size_t *tmp, size_t n)
{
    size_t *from = idx, *to = tmp;
    for (size_t width = 1; width < n; width *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * width) {
            size_t mid = lo + width < n ? lo + width : n;
            size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                to[k++] = entry_cmp(kd, v, texts, from[i], from[j]) <= 0 ? from[i++] : from[j++];
            while (i < mid)
                to[k++] = from[i++];
            while (j < hi)
                to[k++] = from[j++];
        }
        size_t *t = from;
        from = to;
        to = t;
    }
    if (from != idx)
        memcpy(idx, from, n * sizeof *idx);
}

/* The text each string key is written as. json_write_string turns bytes
 * that are not UTF-8 into U+FFFD, so two different keys can be written
 * alike: a map is ordered and deduplicated by this text, never by the raw
 * bytes, or the object would name one member twice. NULL: out of memory. */
static const char **key_texts(struct enc *e, const ProtobufCFieldDescriptor *kd,
                              ProtobufCMessage **v, size_t n)
{
    const char **texts = arena_alloc(e->a, n * sizeof *texts);
    for (size_t i = 0; texts && i < n; i++) {
        const char *k = *(char *const *)((const char *)v[i] + kd->offset);
        size_t len = k ? strlen(k) : 0;
        if (!k || utf8_valid(k, len)) {
            texts[i] = k ? k : "";
            continue;
        }
        char *fixed = arena_alloc(e->a, 3 * len + 1);
        if (!fixed)
            return NULL;
        fixed[utf8_repair(fixed, k, len)] = '\0';
        texts[i] = fixed;
    }
    return texts;
}

static const ProtobufCMessage *default_message(struct enc *e, const struct msg_info *mi)
{
    ProtobufCMessage *m = arena_alloc(e->a, mi->desc->sizeof_message);
    if (m)
        mi->desc->message_init(m);
    else
        e->ob->failed = OUTBUF_NOMEM;
    return m;
}

/* A map is written as an object, keys in order; when the wire repeated a
 * key, the last entry wins, as in every protobuf runtime. */
static void write_map(struct enc *e, const struct field_info *fi,
                      ProtobufCMessage **entries, size_t n)
{
    const struct msg_info *emi = fi->sub;
    const ProtobufCFieldDescriptor *kd = &emi->desc->fields[0];
    const struct field_info *vi = &emi->fields[1];
    size_t *idx = n > 1 ? arena_alloc(e->a, 2 * n * sizeof *idx) : NULL;
    if (n > 1 && !idx) {
        e->ob->failed = OUTBUF_NOMEM;
        return;
    }
    for (size_t i = 0; i < n && idx; i++)
        idx[i] = i;
    const char **texts = NULL;
    if (idx && kd->type == PROTOBUF_C_TYPE_STRING &&
        !(texts = key_texts(e, kd, entries, n))) {
        e->ob->failed = OUTBUF_NOMEM;
        return;
    }
    if (idx)
        sort_entries(kd, entries, texts, idx, idx + n, n);
    outbuf_putc(e->ob, '{');
    bool first = true;
    for (size_t i = 0; i < n; i++) {
        const ProtobufCMessage *ent = entries[idx ? idx[i] : i];
        const char *k = (const char *)ent + kd->offset;
        if (idx && i + 1 < n && entry_cmp(kd, entries, texts, idx[i], idx[i + 1]) == 0)
            continue;
        if (!first)
            outbuf_putc(e->ob, ',');
        first = false;
        write_map_key(e->ob, kd, k);
        outbuf_putc(e->ob, ':');
        const void *v = (const char *)ent + vi->fd->offset;
        if (vi->fd->type == PROTOBUF_C_TYPE_MESSAGE && !*(ProtobufCMessage *const *)v) {
            /* A map value missing from the wire is its type's default: for
             * a message, the empty message, never null. */
            const ProtobufCMessage *def = default_message(e, vi->sub);
            if (def)
                write_message(e, vi->sub, def);
            continue;
        }
        write_value(e, vi, v);
    }
    outbuf_putc(e->ob, '}');
}

static void write_repeated(struct enc *e, const struct field_info *fi,
                           const char *base)
{
    const ProtobufCFieldDescriptor *fd = fi->fd;
    size_t n = *(const size_t *)(base + fd->quantifier_offset);
    const char *arr = *(char *const *)(base + fd->offset);
    if (fi->is_map) {
        write_map(e, fi, (ProtobufCMessage **)arr, n);
        return;
    }
    size_t sz = schema_elem_size(fd->type);
    outbuf_putc(e->ob, '[');
    for (size_t i = 0; i < n; i++) {
        if (i)
            outbuf_putc(e->ob, ',');
        write_value(e, fi, arr + i * sz);
    }
    outbuf_putc(e->ob, ']');
}

static void write_message(struct enc *e, const struct msg_info *mi,
                          const ProtobufCMessage *m)
{
    const char *base = (const char *)m;
    bool first = true;
    outbuf_putc(e->ob, '{');
    for (unsigned i = 0; i < mi->desc->n_fields; i++) {
        const struct field_info *fi = &mi->fields[i];
        const ProtobufCFieldDescriptor *fd = fi->fd;
        if (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            /* A oneof member is written only when it is the one set. */
            if (*(const uint32_t *)(base + fd->quantifier_offset) != fd->id)
                continue;
        } else if (fd->label == PROTOBUF_C_LABEL_OPTIONAL &&
                   fd->type != PROTOBUF_C_TYPE_MESSAGE &&
                   fd->type != PROTOBUF_C_TYPE_STRING) {
            /* proto2 / proto3 `optional` scalars carry a has_ flag. */
            if (!*(const protobuf_c_boolean *)(base + fd->quantifier_offset))
                continue;
        }
        if (!first)
            outbuf_putc(e->ob, ',');
        first = false;
        outbuf_put(e->ob, fi->key, fi->key_len);
        if (fd->label == PROTOBUF_C_LABEL_REPEATED)
            write_repeated(e, fi, base);
        else
            write_value(e, fi, base + fd->offset);
    }
    outbuf_putc(e->ob, '}');
}

static int finish(const struct outbuf *ob, struct cg_status *st)
{
    switch (ob->failed) {
    case 0:
        return 0;
    case OUTBUF_TOO_BIG:
        return cg_fail(st, CG_RESOURCE_EXHAUSTED, "response JSON exceeds the output limit");
    case OUTBUF_SINK:
        return cg_fail(st, CG_UNAVAILABLE, "client went away while the response was written");
    default:
        return cg_fail(st, CG_RESOURCE_EXHAUSTED, "out of memory writing the response");
    }
}

int pb_to_json_status(const struct outbuf *ob, struct cg_status *st)
{
    return finish(ob, st);
}

int pb_to_json_message(const struct msg_info *mi, const ProtobufCMessage *msg,
                       struct arena *a, struct outbuf *ob, struct cg_status *st)
{
    struct enc e = {ob, a};
    write_message(&e, mi, msg);
    return finish(ob, st);
}

int pb_to_json(const struct msg_info *mi, const uint8_t *wire, size_t n,
               struct arena *a, struct outbuf *ob, struct cg_status *st)
{
    if (wire_scan(mi, wire, n, st) != 0)
        return -1;
    /* Straight from the wire: no unpacked copy of the whole answer. */
    return wire_json_write(mi, wire, n, a, ob, st);
}
