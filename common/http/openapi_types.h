/* The schema half of the OpenAPI document: one components.schemas entry
 * per message and enum type the routes reach, each field under its JSON
 * name with the type protobuf's JSON mapping gives it (as pb_to_json.c and
 * json_to_pb.c implement it). Also the few JSON writing helpers the whole
 * document shares. Internal to openapi.c. */
#ifndef CUEGW_OPENAPI_TYPES_H
#define CUEGW_OPENAPI_TYPES_H

#include "base/outbuf.h"

/* `"k":` */
void oa_key(struct outbuf *ob, const char *k);
/* `"s"`, escaped. */
void oa_str(struct outbuf *ob, const char *s);
/* `"k":"v",` -- a member followed by a comma. */
void oa_member(struct outbuf *ob, const char *k, const char *v);
/* `{"$ref":"#/components/schemas/NAME"}` */
void oa_ref(struct outbuf *ob, const char *name);

/* Writes the members of components.schemas for every message and enum
 * reachable from the exposed methods, sorted by full name, each followed by
 * a comma (the caller writes the last member). Needs schema_init. Returns
 * -1 when out of memory. */
int openapi_write_types(struct outbuf *ob);

#endif
