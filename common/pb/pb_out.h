/* The wire writer of the request decoder: protobuf bytes written straight
 * from the JSON walk, in two passes over the same calls.
 *
 * Why two passes. A nested message (and a packed list) travels behind its
 * length, whose width depends on the length, which is known only when the
 * message ends. Reserving a byte and moving the content when the length
 * needs more moves each byte once per enclosing level (up to 100 for a
 * crafted body), and the output must then grow as it goes, by copies that
 * a bump arena keeps. Instead the size pass walks the JSON once, checks
 * everything and counts bytes, noting each nested length in walk order;
 * the output is then taken once at its exact size, and the write pass
 * walks again and reads the lengths back in the same order. Each byte is
 * written once; the cost is a second walk (linear) and 4 bytes a length,
 * one for each non-empty nested message or packed list, each of which
 * takes at least 6 bytes of JSON. An empty object `{}` needs no note: its
 * length, 0, is seen before it is written. */
#ifndef CUEGW_PB_OUT_H
#define CUEGW_PB_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "pb/wire.h"

/* Protobuf's own limit on a message (and so on every length in one). */
#define PB_OUT_MAX 0x7FFFFFFFu

enum pb_out_err { PB_OUT_OK = 0, PB_OUT_NOMEM = -1, PB_OUT_TOO_BIG = -2, PB_OUT_MISMATCH = -3 };

struct pb_lens;

struct pb_out {
    struct arena *a;
    uint8_t *base, *p;           /* write pass: the output and its next byte */
    size_t pos;                  /* size pass: bytes counted so far */
    struct pb_lens *first, *last;
    struct pb_lens *rd;          /* write pass: where the next length is */
    size_t ri;
};

/* A length-delimited value being written. */
struct pb_open {
    uint32_t *cell;              /* size pass: where its length goes */
    size_t start;                /* size pass: pos at its first byte */
    const uint8_t *wstart;       /* write pass: its first byte */
    size_t len;                  /* write pass: its length */
};

/* Starts the size pass; lengths are noted in the arena. */
void pb_out_size_pass(struct pb_out *o, struct arena *a);

/* Starts the write pass into buf, which holds the size pass's o->pos bytes. */
void pb_out_write_pass(struct pb_out *o, uint8_t *buf);

static inline bool pb_out_sizing(const struct pb_out *o)
{
    return o->base == NULL;
}

static inline void pb_out_varint(struct pb_out *o, uint64_t v)
{
    if (o->p)
        o->p = pb_put_varint(o->p, v);
    else
        o->pos += pb_varint_len(v);
}

static inline void pb_out_tag(struct pb_out *o, uint32_t field, enum pb_wire_type wt)
{
    pb_out_varint(o, pb_tag(field, wt));
}

/* A scalar as its wire type carries it (VARINT, I32 or I64). */
void pb_out_scalar(struct pb_out *o, enum pb_wire_type wt, uint64_t bits);

/* Room for n bytes the caller fills: their place in the write pass, NULL
 * in the size pass (which only counts them). */
uint8_t *pb_out_take(struct pb_out *o, size_t n);

/* Opens a value whose length is noted in the size pass and read back in
 * the write pass; PB_OUT_NOMEM when the note finds no memory. */
int pb_out_open(struct pb_out *o, struct pb_open *h);

/* Opens a value whose length the write pass knows beforehand (len, unused
 * in the size pass), so nothing is noted. */
void pb_out_open_known(struct pb_out *o, struct pb_open *h, size_t len);

/* Closes h: the size pass counts its length prefix; the write pass checks
 * that the value came out as long as its prefix said (PB_OUT_MISMATCH
 * otherwise, a bug). PB_OUT_TOO_BIG past PB_OUT_MAX. */
int pb_out_close(struct pb_out *o, struct pb_open *h);

/* Write pass: the length the next pb_out_open will write. */
uint32_t pb_out_peek(const struct pb_out *o);

#endif
