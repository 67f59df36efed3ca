#include "json/pb_to_json.h"

#include <string.h>

#include "base/cg_limits.h"
#include "json/json_scalar.h"
#include "json/json_write.h"
#include "pb/map_order.h"
#include "pb/wire.h"
#include "pb/wire_check.h"

/* Where one field of a message lies: its first and last occurrence (the
 * last one as read, with its end) and how often it occurs. Only `count` is
 * cleared for each message; the rest is valid when it is not 0. */
struct seen {
    size_t count;
    const uint8_t *first, *last_end;
    struct pb_field last;
};

/* A message's content: its bytes [p, end), or, with fid set, the payloads
 * of every occurrence of field fid within its parent's bytes [p, end). The
 * second is a split singular message read as one, without a copy. Views
 * only ever lie in one buffer, in address order, so positions compare. */
struct view {
    const uint8_t *p, *end;
    uint32_t fid;
};

struct cursor {
    const uint8_t *op, *oend;    /* fid set: the parent's bytes left to search */
    const uint8_t *p, *end;      /* the bytes being read */
    uint32_t fid;
};

#define LEVELS (CG_MAX_DEPTH + 3)

struct ctx {
    struct outbuf *ob;
    struct arena *a;             /* scratch, taken and given back by marks */
    struct arena tables;         /* the field tables, one per level, reused */
    struct seen *level[LEVELS];
    unsigned level_cap[LEVELS];
    size_t scratch_base;         /* a->used when the call began */
    size_t scratch_cap;          /* growth of a->used allowed past it */
    struct cg_status *st;
    int failed;                  /* st holds why */
};

static void write_msg(struct ctx *x, const struct msg_info *mi, const struct view *v,
                      int depth);

static void cursor_init(struct cursor *c, const struct view *v)
{
    c->fid = v->fid;
    if (v->fid) {
        c->op = v->p;
        c->oend = v->end;
        c->p = c->end = v->p;
    } else {
        c->op = c->oend = v->end;
        c->p = v->p;
        c->end = v->end;
    }
}

/* The next field of the view. The bytes passed pb_wire_check, so a field
 * that does not read cannot happen; it would end the view. */
static bool cursor_next(struct cursor *c, struct pb_field *f)
{
    while (c->p == c->end) {
        struct pb_field g;
        do {
            if (c->op == c->oend || pb_next_field(&c->op, c->oend, &g) <= 0)
                return false;
        } while (g.id != c->fid || g.wt != PB_WT_LEN);
        c->p = g.val;
        c->end = g.val + g.len;
    }
    return pb_next_field(&c->p, c->end, f) > 0;
}

static int fail(struct ctx *x, int code, const char *what)
{
    if (!x->failed) {
        x->failed = 1;
        cg_fail(x->st, code, "%s", what);
    }
    return -1;
}

/* Scratch memory for a while (the caller holds a mark), within the cap. */
static void *scratch(struct ctx *x, size_t n, const char *why)
{
    size_t grown = x->a->used > x->scratch_base ? x->a->used - x->scratch_base : 0;
    if (n > x->scratch_cap || grown > x->scratch_cap - n) {
        if (!x->failed) {
            x->failed = 1;
            cg_fail(x->st, CG_RESOURCE_EXHAUSTED,
                    "the response needs more scratch memory to %s than its cap allows "
                    "(%zu bytes: a fifth of its size plus 1 MiB)", why, x->scratch_cap);
        }
        return NULL;
    }
    void *p = arena_alloc(x->a, n);
    if (!p && !x->failed) {
        x->failed = 1;
        cg_fail(x->st, CG_RESOURCE_EXHAUSTED,
                "the request's memory cap was reached while the response was written (to %s)",
                why);
    }
    return p;
}

/* The field table of level `depth`, cleared, for a message of n fields. */
static struct seen *table(struct ctx *x, int depth, unsigned n)
{
    if (depth < 0 || depth >= LEVELS) {
        fail(x, CG_INTERNAL, "response nests too deep");
        return NULL;
    }
    if (!x->level[depth] || x->level_cap[depth] < n) {
        struct seen *t = arena_alloc(&x->tables, (n ? n : 1) * sizeof *t);
        if (!t) {
            fail(x, CG_RESOURCE_EXHAUSTED, "out of memory reading the response");
            return NULL;
        }
        x->level[depth] = t;
        x->level_cap[depth] = n;
    }
    struct seen *t = x->level[depth];
    for (unsigned i = 0; i < n; i++)
        t[i].count = 0;
    return t;
}

static void survey(const struct msg_info *mi, const struct view *v, struct seen *seen)
{
    const ProtobufCMessageDescriptor *d = mi->desc;
    struct cursor c;
    struct pb_field f;
    cursor_init(&c, v);
    while (cursor_next(&c, &f)) {
        int i = schema_field_index(mi, f.id);
        if (i < 0 || !pb_wire_fits(&d->fields[i], f.wt))
            continue;                /* unknown: the JSON mapping drops it */
        struct seen *s = &seen[i];
        if (!s->count++)
            s->first = f.start;
        s->last = f;
        s->last_end = c.p;
    }
}

/* Whether oneof member i is the one set: no other member of its oneof
 * occurs after its last occurrence. *after: where the last other member
 * occurred (NULL: none did); a message member is only what follows it,
 * since setting another member cleared it. */
static bool oneof_set(const ProtobufCMessageDescriptor *d, const struct seen *seen, unsigned i,
                      const uint8_t **after)
{
    const ProtobufCFieldDescriptor *fd = &d->fields[i];
    *after = NULL;
    for (unsigned k = 0; k < d->n_fields; k++) {
        const ProtobufCFieldDescriptor *o = &d->fields[k];
        if (k == i || !seen[k].count || !(o->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) ||
            o->quantifier_offset != fd->quantifier_offset)
            continue;
        if (seen[k].last.start > seen[i].last.start)
            return false;
        if (!*after || seen[k].last.start > *after)
            *after = seen[k].last.start;
    }
    return true;
}

/* The bytes to search for a repeated field's occurrences. */
static struct view field_range(const struct view *v, const struct seen *s)
{
    if (v->fid)
        return *v;
    struct view r = {s->first, s->last_end, 0};
    return r;
}

/* The payloads of field fid's occurrences in v from `from` on, copied into
 * one buffer: a split message inside a split message, which a view cannot
 * describe without a list of pieces as long as the copy. */
static int merge_copy(struct ctx *x, const struct view *v, uint32_t fid, const uint8_t *from,
                      struct view *out)
{
    struct cursor c;
    struct pb_field f;
    size_t total = 0;
    cursor_init(&c, v);
    while (cursor_next(&c, &f))
        if (f.id == fid && f.wt == PB_WT_LEN && f.start >= from)
            total += f.len;
    uint8_t *buf = scratch(x, total, "merge a split message");
    if (!buf)
        return -1;
    size_t n = 0;
    cursor_init(&c, v);
    while (cursor_next(&c, &f))
        if (f.id == fid && f.wt == PB_WT_LEN && f.start >= from) {
            memcpy(buf + n, f.val, f.len);
            n += f.len;
        }
    out->p = buf;
    out->end = buf + n;
    out->fid = 0;
    return 0;
}

/* Singular message field fi of the message viewed by v: null when absent
 * (the empty message when `empty_default`, for map values), else every
 * occurrence from `after` on, merged. */
static void write_sub(struct ctx *x, const struct field_info *fi, const struct view *v,
                      const struct seen *s, const uint8_t *after, bool empty_default, int depth)
{
    if (!s->count) {
        if (empty_default) {
            struct view none = {NULL, NULL, 0};
            write_msg(x, fi->sub, &none, depth + 1);
        } else {
            outbuf_puts_lit(x->ob, "null");
        }
        return;
    }
    const uint8_t *from = after && after > s->first ? after : s->first;
    if (from == s->first && s->count == 1) {
        struct view one = {s->last.val, s->last.val + s->last.len, 0};
        write_msg(x, fi->sub, &one, depth + 1);
        return;
    }
    if (!v->fid) {
        struct view merged = {from, s->last_end, fi->fd->id};
        write_msg(x, fi->sub, &merged, depth + 1);
        return;
    }
    struct arena_mark m = arena_mark(x->a);
    struct view copy;
    if (merge_copy(x, v, fi->fd->id, from, &copy) == 0)
        write_msg(x, fi->sub, &copy, depth + 1);
    arena_release(x->a, m);
}

/* One occurrence of field fi (not a packed run). */
static void write_value(struct ctx *x, const struct field_info *fi, const struct pb_field *f,
                        int depth)
{
    const ProtobufCFieldDescriptor *fd = fi->fd;
    union pb_scalar u;
    switch (fd->type) {
    case PROTOBUF_C_TYPE_MESSAGE: {
        struct view one = {f->val, f->val + f->len, 0};
        write_msg(x, fi->sub, &one, depth + 1);
        break;
    }
    case PROTOBUF_C_TYPE_STRING:
        json_write_string(x->ob, (const char *)f->val, f->len);
        break;
    case PROTOBUF_C_TYPE_BYTES:
        json_bytes_write(x->ob, f->val, f->len);
        break;
    default:
        if (pb_scalar_from_bits(fd->type, f->wt, f->bits, &u) != 0)
            json_scalar_default(fd, &u);
        json_scalar_write(x->ob, fd, &u);
        break;
    }
}

static void write_default(struct ctx *x, const ProtobufCFieldDescriptor *fd)
{
    union pb_scalar u;
    switch (fd->type) {
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = fd->default_value;
        json_write_string(x->ob, s ? s : "", s ? strlen(s) : 0);
        break;
    }
    case PROTOBUF_C_TYPE_BYTES: {
        const ProtobufCBinaryData *b = fd->default_value;
        json_bytes_write(x->ob, b ? b->data : NULL, b ? b->len : 0);
        break;
    }
    default:
        json_scalar_default(fd, &u);
        json_scalar_write(x->ob, fd, &u);
        break;
    }
}

static void write_singular(struct ctx *x, const struct field_info *fi, const struct view *v,
                           const struct seen *s, const uint8_t *after, bool empty_default,
                           int depth)
{
    if (fi->fd->type == PROTOBUF_C_TYPE_MESSAGE) {
        write_sub(x, fi, v, s, after, empty_default, depth);
    } else if (!s->count) {
        write_default(x, fi->fd);
    } else {
        write_value(x, fi, &s->last, depth);
    }
}

static void write_list(struct ctx *x, const struct field_info *fi, const struct view *v,
                       const struct seen *s, int depth)
{
    const ProtobufCFieldDescriptor *fd = fi->fd;
    bool first = true;
    outbuf_putc(x->ob, '[');
    if (s->count) {
        struct view r = field_range(v, s);
        struct cursor c;
        struct pb_field f;
        cursor_init(&c, &r);
        while (!x->failed && !x->ob->failed && cursor_next(&c, &f)) {
            if (f.id != fd->id || !pb_wire_fits(fd, f.wt))
                continue;
            if (f.wt == PB_WT_LEN && pb_packable(fd->type)) {
                const uint8_t *q = f.val, *qend = f.val + f.len;
                union pb_scalar u;
                while (q < qend && pb_next_packed(fd->type, &q, qend, &u) == 0) {
                    if (!first)
                        outbuf_putc(x->ob, ',');
                    first = false;
                    json_scalar_write(x->ob, fd, &u);
                }
                continue;
            }
            if (!first)
                outbuf_putc(x->ob, ',');
            first = false;
            write_value(x, fi, &f, depth);
        }
    }
    outbuf_putc(x->ob, ']');
}

/* ---- maps ------------------------------------------------------------- */

static void write_entry(struct ctx *x, const struct msg_info *emi, const uint8_t *base,
                        const uint8_t *end, const struct map_slot *slot, int depth)
{
    const ProtobufCFieldDescriptor *kd = &emi->desc->fields[0];
    const struct field_info *vi = &emi->fields[1];
    struct map_key k;
    map_slot_key(kd, base, end, slot, &k);
    if (kd->type == PROTOBUF_C_TYPE_STRING)
        json_write_string(x->ob, (const char *)k.s, k.n);
    else
        json_scalar_write_key(x->ob, kd, &k.num);
    outbuf_putc(x->ob, ':');
    struct pb_field f;
    const uint8_t *p = base + slot->at;
    if (pb_next_field(&p, end, &f) <= 0) {
        f.val = p;                       /* cannot happen: the bytes were checked */
        f.len = 0;
    }
    const uint8_t *q = f.val, *qe = f.val + f.len;
    struct view ev = {q, qe, 0};
    struct seen vs = {0};
    while (pb_next_field(&q, qe, &f) > 0)
        if (f.id == vi->fd->id && pb_wire_fits(vi->fd, f.wt)) {
            if (!vs.count++)
                vs.first = f.start;
            vs.last = f;
            vs.last_end = q;
        }
    /* A value missing from the wire is its type's default: for a message,
     * the empty message, never null. */
    write_singular(x, vi, &ev, &vs, NULL, true, depth + 1);
}

static bool same_key(const ProtobufCFieldDescriptor *kd, const uint8_t *base,
                     const uint8_t *end, const struct map_slot *a, const struct map_slot *b)
{
    struct map_key ka, kb;
    map_slot_key(kd, base, end, a, &ka);
    map_slot_key(kd, base, end, b, &kb);
    return map_key_cmp(kd, &ka, &kb) == 0;
}

static void write_map(struct ctx *x, const struct field_info *fi, const struct view *v,
                      const struct seen *s, int depth)
{
    const struct msg_info *emi = fi->sub;
    const ProtobufCFieldDescriptor *kd = &emi->desc->fields[0];
    uint32_t id = fi->fd->id;
    struct view r = field_range(v, s);
    struct cursor c;
    struct pb_field f;
    size_t n = 0;
    if (s->count) {
        cursor_init(&c, &r);
        while (cursor_next(&c, &f))
            n += f.id == id && f.wt == PB_WT_LEN;
    }
    if (!n) {
        outbuf_puts_lit(x->ob, "{}");
        return;
    }
    /* Every entry lies in the view's bytes [r.p, r.end), a merged view's
     * pieces included, at 32-bit offsets (responses are far below 4 GiB). */
    struct arena_mark m = arena_mark(x->a);
    struct map_slot *slots = n < UINT32_MAX ? scratch(x, n * sizeof *slots, "order a map")
                                            : NULL;
    if (slots) {
        size_t k = 0;
        cursor_init(&c, &r);
        while (k < n && cursor_next(&c, &f))
            if (f.id == id && f.wt == PB_WT_LEN)
                map_slot_fill(kd, r.p, &f, &slots[k++]);
        map_order(kd, r.p, r.end, slots, n);
        outbuf_putc(x->ob, '{');
        bool first = true;
        for (size_t i = 0; i < n && !x->failed && !x->ob->failed; i++) {
            if (i + 1 < n && same_key(kd, r.p, r.end, &slots[i], &slots[i + 1]))
                continue;            /* a later entry has this key */
            if (!first)
                outbuf_putc(x->ob, ',');
            first = false;
            write_entry(x, emi, r.p, r.end, &slots[i], depth + 1);
        }
        outbuf_putc(x->ob, '}');
    } else if (!x->failed) {
        fail(x, CG_RESOURCE_EXHAUSTED, "a map of the response has too many entries");
    }
    arena_release(x->a, m);
}

/* ---- messages --------------------------------------------------------- */

static void write_msg(struct ctx *x, const struct msg_info *mi, const struct view *v,
                      int depth)
{
    const ProtobufCMessageDescriptor *d = mi->desc;
    struct seen *seen = table(x, depth, d->n_fields);
    if (!seen)
        return;
    survey(mi, v, seen);
    bool first = true;
    outbuf_putc(x->ob, '{');
    for (unsigned i = 0; i < d->n_fields && !x->failed && !x->ob->failed; i++) {
        const struct field_info *fi = &mi->fields[i];
        const ProtobufCFieldDescriptor *fd = fi->fd;
        const struct seen *s = &seen[i];
        const uint8_t *after = NULL;
        if (fi->has_presence && !s->count)
            continue;
        if ((fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) && !oneof_set(d, seen, i, &after))
            continue;
        if (!first)
            outbuf_putc(x->ob, ',');
        first = false;
        outbuf_put(x->ob, fi->key, fi->key_len);
        if (fd->label != PROTOBUF_C_LABEL_REPEATED)
            write_singular(x, fi, v, s, after, false, depth);
        else if (fi->is_map)
            write_map(x, fi, v, s, depth);
        else
            write_list(x, fi, v, s, depth);
    }
    outbuf_putc(x->ob, '}');
}

static int finish(const struct outbuf *ob, struct cg_status *st)
{
    switch (ob->failed) {
    case 0:
        return 0;
    case OUTBUF_TOO_BIG:
        return cg_fail(st, CG_RESOURCE_EXHAUSTED, "response JSON exceeds the output limit");
    case OUTBUF_SINK:
        return cg_fail(st, CG_UNAVAILABLE, "client went away while the response was written");
    default:
        return cg_fail(st, CG_RESOURCE_EXHAUSTED, "out of memory writing the response");
    }
}

int pb_to_json(const struct msg_info *mi, const uint8_t *wire, size_t n,
               struct arena *a, struct outbuf *ob, struct cg_status *st)
{
    if (pb_wire_check(mi, wire, n, st) != 0)
        return -1;
    struct ctx x = {.ob = ob, .a = a, .st = st};
    arena_init(&x.tables, 0);
    x.scratch_base = a->used;
    x.scratch_cap = n / 5 + (1u << 20);
    struct view v = {wire, wire + n, 0};
    write_msg(&x, mi, &v, 0);
    arena_free(&x.tables);
    if (x.failed)
        return -1;
    return finish(ob, st);
}
