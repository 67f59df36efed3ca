/* The order a map is written in: by key, as protojson writes maps, and
 * for equal keys the last entry on the wire wins. A map is the one part of
 * a response whose scratch memory grows with its size, so an entry costs 4
 * bytes (where its field starts) and its key is read again from the wire
 * whenever two are compared. */
#ifndef CUEGW_PB_MAP_ORDER_H
#define CUEGW_PB_MAP_ORDER_H

#include <stddef.h>
#include <stdint.h>
#include <protobuf-c/protobuf-c.h>

#include "wire.h"

struct map_key {
    const uint8_t *s;            /* string keys: the bytes on the wire */
    size_t n;
    union pb_scalar num;         /* other keys */
};

/* The key of the entry message in [p, end): its last key field, or the
 * key type's default when there is none. */
void map_key_read(const ProtobufCFieldDescriptor *kd, const uint8_t *p, const uint8_t *end,
                  struct map_key *k);

/* Orders two keys as their JSON texts order (string keys: bytes that are
 * not UTF-8 count as the U+FFFD they are written as). */
int map_key_cmp(const ProtobufCFieldDescriptor *kd, const struct map_key *a,
                const struct map_key *b);

/* Sorts the entries whose fields start at base + offs[i] (all before end)
 * by key, and entries of equal keys by where they are: in place, in
 * n log n comparisons. */
void map_order(const ProtobufCFieldDescriptor *kd, const uint8_t *base, const uint8_t *end,
               uint32_t *offs, size_t n);

/* The key of the entry whose field starts at `at`; its bytes in *entry. */
void map_entry_at(const ProtobufCFieldDescriptor *kd, const uint8_t *at, const uint8_t *end,
                  struct map_key *k, const uint8_t **entry, const uint8_t **entry_end);

#endif
