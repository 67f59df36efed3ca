/* The schema half of the OpenAPI document: one components.schemas entry
 * per message and enum type the routes reach, each field under its JSON
 * name with the type protobuf's JSON mapping gives it (as pb_to_json.c and
 * json_to_pb.c implement it). Also the few json-c helpers the whole
 * document shares. Internal to openapi.c: these two files are the only
 * users of json-c (the request path keeps its strict streaming reader). */
#ifndef CUEGW_OPENAPI_TYPES_H
#define CUEGW_OPENAPI_TYPES_H

#include <stdbool.h>

/* json-c's object, declared rather than included so that no other file
 * that reads this header sees json-c. */
struct json_object;

/* json-c takes a NULL value as JSON null and asserts on a NULL parent, so
 * a failed allocation would leave a silent hole or abort: every value goes
 * into the tree through these, which free what they could not add and
 * remember the failure here. */
struct oa_tree {
    bool failed;
};

/* obj[key] = val; val is consumed either way. */
void oa_set(struct oa_tree *t, struct json_object *obj, const char *key, struct json_object *val);
/* arr += val; val is consumed either way. */
void oa_push(struct oa_tree *t, struct json_object *arr, struct json_object *val);
/* obj[key] = the string s. */
void oa_set_str(struct oa_tree *t, struct json_object *obj, const char *key, const char *s);
/* A new object of string members: key, value, key, value, ..., NULL. */
__attribute__((sentinel))
struct json_object *oa_strings(struct oa_tree *t, ...);
/* A new object, or NULL (noted in t). */
struct json_object *oa_object(struct oa_tree *t);
/* A new array, or NULL (noted in t). */
struct json_object *oa_array(struct oa_tree *t);
/* {"$ref":"<prefix><name>"}, prefix being e.g. "#/components/schemas/". */
struct json_object *oa_ref_to(struct oa_tree *t, const char *prefix, const char *name);
/* {"$ref":"#/components/schemas/NAME"} */
struct json_object *oa_ref(struct oa_tree *t, const char *name);

/* Adds to schemas (components.schemas) every message and enum reachable
 * from the exposed methods, sorted by full name. Needs schema_init. An
 * allocation that fails is noted in t. */
void openapi_add_types(struct oa_tree *t, struct json_object *schemas);

#endif
