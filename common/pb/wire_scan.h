/* A check of protobuf wire bytes before protobuf-c unpacks them. protobuf-c
 * recurses without a depth limit and keeps strings NUL-terminated without a
 * length, so this pass refuses what it cannot carry safely: nesting deeper
 * than CG_MAX_DEPTH, string fields holding U+0000 (they would be cut short),
 * groups, and lengths that run past the end. */
#ifndef CUEGW_WIRE_SCAN_H
#define CUEGW_WIRE_SCAN_H

#include <stddef.h>
#include <stdint.h>

#include "schema.h"
#include "status.h"

int wire_scan(const struct msg_info *mi, const uint8_t *p, size_t n,
              struct cg_status *st);

#endif
