/* The descriptor lists generated at build time from the schema's headers
 * (tools/gen-schema-index.sh). Both arrays end with NULL. */
#ifndef CUEGW_SCHEMA_INDEX_H
#define CUEGW_SCHEMA_INDEX_H
#include <protobuf-c/protobuf-c.h>

extern const ProtobufCMessageDescriptor *const schema_index_messages[];
extern const ProtobufCServiceDescriptor *const schema_index_services[];

#endif
