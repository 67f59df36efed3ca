/* The schema registry: everything the transcoder and the router need to
 * know about Cuebot's schema, computed once at start-up from the descriptors
 * protoc-c generated (never from a hand-kept list of methods).
 *
 * protobuf-c keeps neither json_name nor the map-entry flag, so both are
 * derived here by protoc's own rules: the JSON name is the proto name with
 * each `_x` turned into `X`; a map field is a repeated field whose message
 * type is the nested `<FieldInCamelCase>Entry` with fields key=1, value=2.
 *
 * All returned pointers stay valid for the life of the process. */
#ifndef CUEGW_SCHEMA_H
#define CUEGW_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <protobuf-c/protobuf-c.h>

#include "base/status.h"

struct msg_info;

struct field_info {
    const ProtobufCFieldDescriptor *fd;
    const char *json_name;        /* lowerCamelCase */
    const char *key;              /* the JSON member prefix `"jsonName":` */
    unsigned key_len;
    bool is_map;
    /* Set apart from its value: a oneof member, or a scalar with explicit
     * presence (proto3 `optional`, proto2; protobuf-c gives those a has_
     * flag). JSON names it only when set; the wire carries it whenever it
     * is set, its zero value too. Other singular fields are always named
     * in JSON and travel only when not zero. */
    bool has_presence;
    const struct msg_info *sub;   /* message-typed fields: their type */
};

struct name_slot {
    const char *name;
    unsigned len;
    unsigned field;               /* index into msg_info.fields */
};

struct msg_info {
    const ProtobufCMessageDescriptor *desc;
    struct field_info *fields;    /* parallel to desc->fields */
    struct name_slot *names;      /* JSON and proto names, sorted */
    unsigned n_names;
    /* Field numbers 1..n_dense: index + 1 of the field, 0 for none. A
     * response reads a field number per value on the wire; this answers
     * it with one load. */
    uint16_t *dense;
    uint32_t n_dense;
};

struct method_info {
    const char *path;             /* "/job.JobInterface/GetJobs" */
    size_t path_len;
    const char *service;          /* "job.JobInterface" */
    const char *name;             /* "GetJobs" */
    const struct msg_info *in, *out;
};

/* Builds the registry; safe to call more than once. */
int schema_init(struct cg_status *st);

/* The info of a message type; NULL for a type not in the schema. */
const struct msg_info *schema_msg(const ProtobufCMessageDescriptor *d);
const struct msg_info *schema_msg_by_name(const char *full_name);
size_t schema_msg_count(void);
const struct msg_info *schema_msg_at(size_t i);

/* A field of a message by JSON or proto name; NULL if there is none. */
const struct field_info *schema_field_by_name(const struct msg_info *mi,
                                              const char *name, size_t len);

/* The index of field number id in mi->fields, or -1 when mi has none. */
static inline int schema_field_index(const struct msg_info *mi, uint32_t id)
{
    if (id <= mi->n_dense)
        return (int)mi->dense[id - 1] - 1;
    const ProtobufCFieldDescriptor *fd = protobuf_c_message_descriptor_get_field(mi->desc, id);
    return fd ? (int)(fd - mi->desc->fields) : -1;
}

/* The exposed method at a path such as "/show.ShowInterface/GetShows";
 * NULL when no exposed interface has it. */
const struct method_info *schema_method(const char *path, size_t len);
size_t schema_method_count(void);
const struct method_info *schema_method_at(size_t i);

/* Bytes one element of a repeated field of type t takes in protobuf-c's
 * array. */
size_t schema_elem_size(ProtobufCType t);

#endif
