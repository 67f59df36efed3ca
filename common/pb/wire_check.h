/* The check every response passes before a byte of its JSON is written: a
 * streamed answer cannot take back what it has sent, so whatever would stop
 * the writer halfway is found here. It refuses exactly what protobuf's
 * parsers refuse: fields that do not read (cut values, lengths past the
 * end, field number 0, unbalanced groups), sub-messages nesting deeper
 * than CG_MAX_DEPTH, and packed runs that end inside an element. Each
 * occurrence of a message field is checked on its own, as parsers read it.
 * Fields the schema does not know, or that arrive with a wire type that is
 * not theirs, are unknown fields: stepped over, never refused. */
#ifndef CUEGW_PB_WIRE_CHECK_H
#define CUEGW_PB_WIRE_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "pb/schema.h"
#include "base/status.h"

/* 0, or -1 with st set (INTERNAL: Cuebot sent what no parser accepts). */
int pb_wire_check(const struct msg_info *mi, const uint8_t *p, size_t n,
                  struct cg_status *st);

#endif
