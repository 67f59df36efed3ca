#include "http/openapi_types.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "json/json_write.h"
#include "pb/schema.h"

void oa_key(struct outbuf *ob, const char *k)
{
    oa_str(ob, k);
    outbuf_putc(ob, ':');
}

void oa_str(struct outbuf *ob, const char *s)
{
    json_write_string(ob, s, strlen(s));
}

void oa_member(struct outbuf *ob, const char *k, const char *v)
{
    oa_key(ob, k);
    oa_str(ob, v);
    outbuf_putc(ob, ',');
}

void oa_ref(struct outbuf *ob, const char *name)
{
    outbuf_puts_lit(ob, "{\"$ref\":\"#/components/schemas/");
    outbuf_put(ob, name, strlen(name));   /* full proto names: [A-Za-z0-9_.] */
    outbuf_puts_lit(ob, "\"}");
}

/* ---- which types the routes reach ------------------------------------- */

/* The reachable types, in discovery order; the message list doubles as
 * the work list. A few hundred types, found once per process: linear
 * membership tests cost less than any index would to write. */
struct reach {
    const struct msg_info **msgs;
    size_t n_msgs;
    const ProtobufCEnumDescriptor **enums;
    size_t n_enums;
};

static void add_msg(struct reach *r, const struct msg_info *mi)
{
    for (size_t i = 0; i < r->n_msgs; i++)
        if (r->msgs[i] == mi)
            return;
    r->msgs[r->n_msgs++] = mi;     /* sized for every message of the schema */
}

static int add_enum(struct reach *r, const ProtobufCEnumDescriptor *ed)
{
    for (size_t i = 0; i < r->n_enums; i++)
        if (r->enums[i] == ed)
            return 0;
    const ProtobufCEnumDescriptor **grown =
        realloc(r->enums, (r->n_enums + 1) * sizeof *r->enums);
    if (!grown)
        return -1;
    r->enums = grown;
    r->enums[r->n_enums++] = ed;
    return 0;
}

/* A field's value type: for a map, its entry's value field (the entry
 * itself is no component: it is written as a JSON object). */
static const struct field_info *value_field(const struct field_info *fi)
{
    return fi->is_map ? &fi->sub->fields[1] : fi;
}

static int collect(struct reach *r)
{
    r->msgs = calloc(schema_msg_count() + 1, sizeof *r->msgs);
    if (!r->msgs)
        return -1;
    for (size_t i = 0; i < schema_method_count(); i++) {
        add_msg(r, schema_method_at(i)->in);
        add_msg(r, schema_method_at(i)->out);
    }
    for (size_t m = 0; m < r->n_msgs; m++) {
        const struct msg_info *mi = r->msgs[m];
        for (unsigned f = 0; f < mi->desc->n_fields; f++) {
            const struct field_info *vi = value_field(&mi->fields[f]);
            if (vi->fd->type == PROTOBUF_C_TYPE_MESSAGE)
                add_msg(r, vi->sub);
            else if (vi->fd->type == PROTOBUF_C_TYPE_ENUM && add_enum(r, vi->fd->descriptor))
                return -1;
        }
    }
    return 0;
}

static int cmp_msg(const void *a, const void *b)
{
    const struct msg_info *const *x = a, *const *y = b;
    return strcmp((*x)->desc->name, (*y)->desc->name);
}

static int cmp_enum(const void *a, const void *b)
{
    const ProtobufCEnumDescriptor *const *x = a, *const *y = b;
    return strcmp((*x)->name, (*y)->name);
}

/* ---- one field -------------------------------------------------------- */

/* Enum and message values are references to their components. */
static bool is_ref(const ProtobufCFieldDescriptor *fd)
{
    return fd->type == PROTOBUF_C_TYPE_ENUM || fd->type == PROTOBUF_C_TYPE_MESSAGE;
}

static const char *ref_name(const ProtobufCFieldDescriptor *fd)
{
    return fd->type == PROTOBUF_C_TYPE_ENUM
               ? ((const ProtobufCEnumDescriptor *)fd->descriptor)->name
               : ((const ProtobufCMessageDescriptor *)fd->descriptor)->name;
}

/* The members describing a scalar's JSON form (not for enums and
 * messages). 64-bit integers are strings; uint32 needs more than int32, so
 * it is an int64 with bounds, as grpc-gateway's OpenAPI generator does. */
static void write_scalar_members(struct outbuf *ob, const ProtobufCFieldDescriptor *fd)
{
    switch (fd->type) {
    case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32: case PROTOBUF_C_TYPE_SFIXED32:
        outbuf_puts_lit(ob, "\"type\":\"integer\",\"format\":\"int32\"");
        break;
    case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32:
        outbuf_puts_lit(ob, "\"type\":\"integer\",\"format\":\"int64\","
                            "\"minimum\":0,\"maximum\":4294967295");
        break;
    case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
        outbuf_puts_lit(ob, "\"type\":\"string\",\"format\":\"int64\"");
        break;
    case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64:
        outbuf_puts_lit(ob, "\"type\":\"string\",\"format\":\"uint64\"");
        break;
    case PROTOBUF_C_TYPE_FLOAT:
        outbuf_puts_lit(ob, "\"type\":\"number\",\"format\":\"float\"");
        break;
    case PROTOBUF_C_TYPE_DOUBLE:
        outbuf_puts_lit(ob, "\"type\":\"number\",\"format\":\"double\"");
        break;
    case PROTOBUF_C_TYPE_BOOL:
        outbuf_puts_lit(ob, "\"type\":\"boolean\"");
        break;
    case PROTOBUF_C_TYPE_STRING:
        outbuf_puts_lit(ob, "\"type\":\"string\"");
        break;
    case PROTOBUF_C_TYPE_BYTES:
        outbuf_puts_lit(ob, "\"type\":\"string\",\"format\":\"byte\"");
        break;
    case PROTOBUF_C_TYPE_ENUM: case PROTOBUF_C_TYPE_MESSAGE:
        break;                     /* references: see write_value */
    }
}

/* One value (an array item, a map value): a whole schema object. */
static void write_value(struct outbuf *ob, const ProtobufCFieldDescriptor *fd)
{
    if (is_ref(fd)) {
        oa_ref(ob, ref_name(fd));
        return;
    }
    outbuf_putc(ob, '{');
    write_scalar_members(ob, fd);
    outbuf_putc(ob, '}');
}

/* A map key's text form, for the description (JSON keys are strings). */
static const char *map_key_text(const ProtobufCFieldDescriptor *kd)
{
    switch (kd->type) {
    case PROTOBUF_C_TYPE_STRING: return NULL;
    case PROTOBUF_C_TYPE_BOOL: return "Keys are \"true\" or \"false\".";
    case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64:
        return "Keys are 64-bit integers written as decimal text.";
    default: return "Keys are 32-bit integers written as decimal text.";
    }
}

static void write_field(struct outbuf *ob, const struct field_info *fi)
{
    const ProtobufCFieldDescriptor *fd = fi->fd;
    bool deprecated = (fd->flags & PROTOBUF_C_FIELD_FLAG_DEPRECATED) != 0;
    bool presence = fi->has_presence;
    bool single = fd->label != PROTOBUF_C_LABEL_REPEATED;
    /* An unset message field is written as null. */
    bool nullable = single && fd->type == PROTOBUF_C_TYPE_MESSAGE;
    oa_key(ob, fi->json_name);
    if (single && is_ref(fd) && !deprecated && !presence && !nullable) {
        oa_ref(ob, ref_name(fd));
        return;
    }
    outbuf_putc(ob, '{');
    const char *note = NULL;
    if (fi->is_map) {
        const ProtobufCFieldDescriptor *kd = &fi->sub->desc->fields[0];
        outbuf_puts_lit(ob, "\"type\":\"object\",\"additionalProperties\":");
        write_value(ob, fi->sub->fields[1].fd);
        note = map_key_text(kd);
    } else if (!single) {
        outbuf_puts_lit(ob, "\"type\":\"array\",\"items\":");
        write_value(ob, fd);
    } else if (nullable) {
        /* JSON Schema's null type, not 3.0's `nullable`: beside a $ref that
         * has no effect, and generated clients then never expect null. */
        outbuf_puts_lit(ob, "\"oneOf\":[");
        oa_ref(ob, ref_name(fd));
        outbuf_puts_lit(ob, ",{\"type\":\"null\"}]");
    } else if (is_ref(fd)) {
        /* 3.1 allows members beside a $ref, but generators written for 3.0
         * drop them: wrap it. */
        outbuf_puts_lit(ob, "\"allOf\":[");
        oa_ref(ob, ref_name(fd));
        outbuf_putc(ob, ']');
    } else {
        write_scalar_members(ob, fd);
    }
    if (deprecated)
        outbuf_puts_lit(ob, ",\"deprecated\":true");
    if (presence)
        note = "Written only when set (then even when it is 0, false or empty); "
               "left out otherwise.";
    if (note) {
        outbuf_putc(ob, ',');
        oa_key(ob, "description");
        oa_str(ob, note);
    }
    outbuf_putc(ob, '}');
}

/* ---- components ------------------------------------------------------- */

static void write_message(struct outbuf *ob, const struct msg_info *mi)
{
    oa_key(ob, mi->desc->name);
    outbuf_puts_lit(ob, "{\"type\":\"object\",\"properties\":{");
    for (unsigned f = 0; f < mi->desc->n_fields; f++) {
        if (f)
            outbuf_putc(ob, ',');
        write_field(ob, &mi->fields[f]);
    }
    outbuf_puts_lit(ob, "}},");
}

/* Value names, by number as they are written; then any alias names, which
 * input accepts too. */
static void write_enum(struct outbuf *ob, const ProtobufCEnumDescriptor *ed)
{
    oa_key(ob, ed->name);
    outbuf_puts_lit(ob, "{\"type\":\"string\",\"enum\":[");
    for (unsigned i = 0; i < ed->n_values; i++) {
        if (i)
            outbuf_putc(ob, ',');
        oa_str(ob, ed->values[i].name);
    }
    for (unsigned i = 0; i < ed->n_value_names; i++) {
        const char *name = ed->values_by_name[i].name;
        const ProtobufCEnumValue *v = &ed->values[ed->values_by_name[i].index];
        if (strcmp(v->name, name) != 0) {
            outbuf_putc(ob, ',');
            oa_str(ob, name);
        }
    }
    outbuf_puts_lit(ob, "]},");
}

int openapi_write_types(struct outbuf *ob)
{
    struct reach r = {0};
    int rc = collect(&r);
    if (rc == 0) {
        qsort(r.msgs, r.n_msgs, sizeof *r.msgs, cmp_msg);
        qsort(r.enums, r.n_enums, sizeof *r.enums, cmp_enum);
        /* Merge the two sorted lists: one namespace, one order. */
        size_t m = 0, e = 0;
        while (m < r.n_msgs || e < r.n_enums) {
            if (e == r.n_enums ||
                (m < r.n_msgs && strcmp(r.msgs[m]->desc->name, r.enums[e]->name) < 0))
                write_message(ob, r.msgs[m++]);
            else
                write_enum(ob, r.enums[e++]);
        }
    }
    free(r.msgs);
    free(r.enums);
    return rc;
}
