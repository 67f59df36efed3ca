#include "pb/pb_out.h"

#include <string.h>

/* Noted lengths, in blocks that double up to a cap, so a request with few
 * nested messages notes them in one small block and a large one wastes at
 * most one block's tail. */
struct pb_lens {
    struct pb_lens *next;
    size_t cap, n;
    uint32_t v[];
};

#define LENS_FIRST 64u
#define LENS_MAX 16384u

void pb_out_size_pass(struct pb_out *o, struct arena *a)
{
    memset(o, 0, sizeof *o);
    o->a = a;
}

void pb_out_write_pass(struct pb_out *o, uint8_t *buf)
{
    o->base = o->p = buf;
    o->rd = o->first;
    o->ri = 0;
}

void pb_out_scalar(struct pb_out *o, enum pb_wire_type wt, uint64_t bits)
{
    if (wt == PB_WT_VARINT) {
        pb_out_varint(o, bits);
    } else if (wt == PB_WT_I32) {
        if (o->p)
            o->p = pb_put_le32(o->p, (uint32_t)bits);
        else
            o->pos += 4;
    } else {
        if (o->p)
            o->p = pb_put_le64(o->p, bits);
        else
            o->pos += 8;
    }
}

uint8_t *pb_out_take(struct pb_out *o, size_t n)
{
    uint8_t *at = o->p;
    if (at)
        o->p += n;
    else
        o->pos += n;
    return at;
}

static uint32_t *note(struct pb_out *o)
{
    struct pb_lens *b = o->last;
    if (!b || b->n == b->cap) {
        size_t cap = b ? b->cap * 2 : LENS_FIRST;
        if (cap > LENS_MAX)
            cap = LENS_MAX;
        struct pb_lens *nb = arena_alloc(o->a, sizeof *nb + cap * sizeof nb->v[0]);
        if (!nb)
            return NULL;
        nb->next = NULL;
        nb->cap = cap;
        nb->n = 0;
        if (b)
            b->next = nb;
        else
            o->first = nb;
        o->last = b = nb;
    }
    return &b->v[b->n++];
}

uint32_t pb_out_peek(const struct pb_out *o)
{
    const struct pb_lens *b = o->rd;
    size_t i = o->ri;
    if (b && i == b->n) {
        b = b->next;
        i = 0;
    }
    return b ? b->v[i] : 0;
}

int pb_out_open(struct pb_out *o, struct pb_open *h)
{
    if (!o->p) {
        if (!(h->cell = note(o)))
            return PB_OUT_NOMEM;
        h->start = o->pos;
        return PB_OUT_OK;
    }
    if (o->rd && o->ri == o->rd->n) {
        o->rd = o->rd->next;
        o->ri = 0;
    }
    if (!o->rd)
        return PB_OUT_MISMATCH;
    pb_out_open_known(o, h, o->rd->v[o->ri++]);
    return PB_OUT_OK;
}

void pb_out_open_known(struct pb_out *o, struct pb_open *h, size_t len)
{
    if (!o->p) {
        h->cell = NULL;
        h->start = o->pos;
        return;
    }
    o->p = pb_put_varint(o->p, len);
    h->wstart = o->p;
    h->len = len;
}

int pb_out_close(struct pb_out *o, struct pb_open *h)
{
    if (o->p)
        return (size_t)(o->p - h->wstart) == h->len ? PB_OUT_OK : PB_OUT_MISMATCH;
    size_t len = o->pos - h->start;
    if (len > PB_OUT_MAX)
        return PB_OUT_TOO_BIG;
    if (h->cell)
        *h->cell = (uint32_t)len;
    o->pos += pb_varint_len(len);
    return PB_OUT_OK;
}
