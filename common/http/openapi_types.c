#include "http/openapi_types.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json_object.h>

#include "pb/schema.h"

void oa_set(struct oa_tree *t, json_object *obj, const char *key, json_object *val)
{
    if (!obj || !val || json_object_object_add(obj, key, val) != 0) {
        json_object_put(val);
        t->failed = true;
    }
}

void oa_push(struct oa_tree *t, json_object *arr, json_object *val)
{
    if (!arr || !val || json_object_array_add(arr, val) != 0) {
        json_object_put(val);
        t->failed = true;
    }
}

void oa_set_str(struct oa_tree *t, json_object *obj, const char *key, const char *s)
{
    oa_set(t, obj, key, json_object_new_string(s));
}

json_object *oa_object(struct oa_tree *t)
{
    json_object *o = json_object_new_object();
    t->failed |= !o;
    return o;
}

json_object *oa_strings(struct oa_tree *t, ...)
{
    json_object *o = oa_object(t);
    va_list ap;
    va_start(ap, t);
    for (const char *k; (k = va_arg(ap, const char *)) != NULL;)
        oa_set_str(t, o, k, va_arg(ap, const char *));
    va_end(ap);
    return o;
}

json_object *oa_array(struct oa_tree *t)
{
    json_object *a = json_object_new_array();
    t->failed |= !a;
    return a;
}

json_object *oa_ref_to(struct oa_tree *t, const char *prefix, const char *name)
{
    size_t p = strlen(prefix), n = strlen(name);
    char *target = malloc(p + n + 1);
    json_object *ref = oa_object(t);
    if (target) {
        memcpy(target, prefix, p);
        memcpy(target + p, name, n + 1);
        oa_set(t, ref, "$ref", json_object_new_string_len(target, (int)(p + n)));
    } else {
        t->failed = true;
    }
    free(target);
    return ref;
}

json_object *oa_ref(struct oa_tree *t, const char *name)
{
    return oa_ref_to(t, "#/components/schemas/", name);
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

/* A scalar's JSON form (enums and messages are references instead).
 * 64-bit integers are strings; uint32 needs more than int32, so it is an
 * int64 with bounds, as grpc-gateway's OpenAPI generator does. */
static const struct scalar_form {
    const char *type, *format;
    bool uint32_bounds;
} scalar_forms[] = {
    [PROTOBUF_C_TYPE_INT32] = {"integer", "int32", false},
    [PROTOBUF_C_TYPE_SINT32] = {"integer", "int32", false},
    [PROTOBUF_C_TYPE_SFIXED32] = {"integer", "int32", false},
    [PROTOBUF_C_TYPE_UINT32] = {"integer", "int64", true},
    [PROTOBUF_C_TYPE_FIXED32] = {"integer", "int64", true},
    [PROTOBUF_C_TYPE_INT64] = {"string", "int64", false},
    [PROTOBUF_C_TYPE_SINT64] = {"string", "int64", false},
    [PROTOBUF_C_TYPE_SFIXED64] = {"string", "int64", false},
    [PROTOBUF_C_TYPE_UINT64] = {"string", "uint64", false},
    [PROTOBUF_C_TYPE_FIXED64] = {"string", "uint64", false},
    [PROTOBUF_C_TYPE_FLOAT] = {"number", "float", false},
    [PROTOBUF_C_TYPE_DOUBLE] = {"number", "double", false},
    [PROTOBUF_C_TYPE_BOOL] = {"boolean", NULL, false},
    [PROTOBUF_C_TYPE_STRING] = {"string", NULL, false},
    [PROTOBUF_C_TYPE_BYTES] = {"string", "byte", false},
};

static void add_scalar_members(struct oa_tree *t, json_object *o, const ProtobufCFieldDescriptor *fd)
{
    if ((size_t)fd->type >= sizeof scalar_forms / sizeof *scalar_forms ||
        !scalar_forms[fd->type].type)
        return;                    /* enums, messages: see value_schema */
    const struct scalar_form *f = &scalar_forms[fd->type];
    oa_set_str(t, o, "type", f->type);
    if (f->format)
        oa_set_str(t, o, "format", f->format);
    if (f->uint32_bounds) {
        oa_set(t, o, "minimum", json_object_new_int(0));
        oa_set(t, o, "maximum", json_object_new_int64(4294967295));
    }
}

/* One value (an array item, a map value): a whole schema object. */
static json_object *value_schema(struct oa_tree *t, const ProtobufCFieldDescriptor *fd)
{
    if (is_ref(fd))
        return oa_ref(t, ref_name(fd));
    json_object *o = oa_object(t);
    add_scalar_members(t, o, fd);
    return o;
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

static json_object *field_schema(struct oa_tree *t, const struct field_info *fi)
{
    const ProtobufCFieldDescriptor *fd = fi->fd;
    bool deprecated = (fd->flags & PROTOBUF_C_FIELD_FLAG_DEPRECATED) != 0;
    bool presence = fi->has_presence;
    bool single = fd->label != PROTOBUF_C_LABEL_REPEATED;
    /* An unset message field is written as null. */
    bool nullable = single && fd->type == PROTOBUF_C_TYPE_MESSAGE;
    if (single && is_ref(fd) && !deprecated && !presence && !nullable)
        return oa_ref(t, ref_name(fd));
    json_object *o = oa_object(t);
    const char *note = NULL;
    if (fi->is_map) {
        const ProtobufCFieldDescriptor *kd = &fi->sub->desc->fields[0];
        oa_set_str(t, o, "type", "object");
        oa_set(t, o, "additionalProperties", value_schema(t, fi->sub->fields[1].fd));
        note = map_key_text(kd);
    } else if (!single) {
        oa_set_str(t, o, "type", "array");
        oa_set(t, o, "items", value_schema(t, fd));
    } else if (nullable) {
        /* JSON Schema's null type, not 3.0's `nullable`: beside a $ref that
         * has no effect, and generated clients then never expect null. */
        json_object *one_of = oa_array(t);
        oa_push(t, one_of, oa_ref(t, ref_name(fd)));
        oa_push(t, one_of, oa_strings(t, "type", "null", NULL));
        oa_set(t, o, "oneOf", one_of);
    } else if (is_ref(fd)) {
        /* 3.1 allows members beside a $ref, but generators written for 3.0
         * drop them: wrap it. */
        json_object *all_of = oa_array(t);
        oa_push(t, all_of, oa_ref(t, ref_name(fd)));
        oa_set(t, o, "allOf", all_of);
    } else {
        add_scalar_members(t, o, fd);
    }
    if (deprecated)
        oa_set(t, o, "deprecated", json_object_new_boolean(1));
    if (presence)
        note = "Written only when set (then even when it is 0, false or empty); "
               "left out otherwise.";
    if (note)
        oa_set_str(t, o, "description", note);
    return o;
}

/* ---- components ------------------------------------------------------- */

static json_object *message_schema(struct oa_tree *t, const struct msg_info *mi)
{
    json_object *o = oa_strings(t, "type", "object", NULL), *props = oa_object(t);
    for (unsigned f = 0; f < mi->desc->n_fields; f++)
        oa_set(t, props, mi->fields[f].json_name, field_schema(t, &mi->fields[f]));
    oa_set(t, o, "properties", props);
    return o;
}

/* Value names, by number as they are written; then any alias names, which
 * input accepts too. */
static json_object *enum_schema(struct oa_tree *t, const ProtobufCEnumDescriptor *ed)
{
    json_object *o = oa_strings(t, "type", "string", NULL), *names = oa_array(t);
    for (unsigned i = 0; i < ed->n_values; i++)
        oa_push(t, names, json_object_new_string(ed->values[i].name));
    for (unsigned i = 0; i < ed->n_value_names; i++) {
        const char *name = ed->values_by_name[i].name;
        const ProtobufCEnumValue *v = &ed->values[ed->values_by_name[i].index];
        if (strcmp(v->name, name) != 0)
            oa_push(t, names, json_object_new_string(name));
    }
    oa_set(t, o, "enum", names);
    return o;
}

void openapi_add_types(struct oa_tree *t, json_object *schemas)
{
    struct reach r = {0};
    if (collect(&r) == 0) {
        qsort(r.msgs, r.n_msgs, sizeof *r.msgs, cmp_msg);
        qsort(r.enums, r.n_enums, sizeof *r.enums, cmp_enum);
        /* Merge the two sorted lists: one namespace, one order. */
        size_t m = 0, e = 0;
        while (m < r.n_msgs || e < r.n_enums) {
            if (e == r.n_enums ||
                (m < r.n_msgs && strcmp(r.msgs[m]->desc->name, r.enums[e]->name) < 0)) {
                oa_set(t, schemas, r.msgs[m]->desc->name, message_schema(t, r.msgs[m]));
                m++;
            } else {
                oa_set(t, schemas, r.enums[e]->name, enum_schema(t, r.enums[e]));
                e++;
            }
        }
    } else {
        t->failed = true;
    }
    free(r.msgs);
    free(r.enums);
}
