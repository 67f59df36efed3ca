/* The order a map is written in: by key, as protojson writes maps, and
 * for equal keys the last entry on the wire wins. A map is the one part of
 * a response whose scratch memory grows with its size, so an entry costs 8
 * bytes: where its field starts and where its key field starts (found in
 * one pass over the entry, the last key field winning). A comparison reads
 * the two key fields again, so its cost is the keys' length whatever else
 * an entry holds. */
#ifndef CUEGW_PB_MAP_ORDER_H
#define CUEGW_PB_MAP_ORDER_H

#include <stddef.h>
#include <stdint.h>
#include <protobuf-c/protobuf-c.h>

#include "pb/wire.h"

/* Offsets from the map's base: the entry's field, and its key field or
 * MAP_NO_KEY when the entry has none (the key type's default). */
struct map_slot {
    uint32_t at, key_at;
};

#define MAP_NO_KEY UINT32_MAX

struct map_key {
    const uint8_t *s;            /* string keys: the bytes on the wire */
    size_t n;
    union pb_scalar num;         /* other keys */
};

/* Fills slot for the entry whose field f starts `at` bytes past base. */
void map_slot_fill(const ProtobufCFieldDescriptor *kd, const uint8_t *base,
                   const struct pb_field *f, struct map_slot *slot);

/* The key of slot (all its bytes lie before end). */
void map_slot_key(const ProtobufCFieldDescriptor *kd, const uint8_t *base, const uint8_t *end,
                  const struct map_slot *slot, struct map_key *k);

/* Orders two keys as their JSON texts order (string keys: bytes that are
 * not UTF-8 count as the U+FFFD they are written as). */
int map_key_cmp(const ProtobufCFieldDescriptor *kd, const struct map_key *a,
                const struct map_key *b);

/* Sorts slots by key, and slots of equal keys by where they are: in
 * place, in n log n comparisons. */
void map_order(const ProtobufCFieldDescriptor *kd, const uint8_t *base, const uint8_t *end,
               struct map_slot *slots, size_t n);

#endif
