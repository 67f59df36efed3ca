#include "pb/map_order.h"

#include "base/utf8.h"

void map_slot_fill(const ProtobufCFieldDescriptor *kd, const uint8_t *base,
                   const struct pb_field *f, struct map_slot *slot)
{
    slot->at = (uint32_t)(f->start - base);
    slot->key_at = MAP_NO_KEY;
    const uint8_t *p = f->val, *end = f->val + f->len;
    struct pb_field g;
    const uint8_t *at = p;
    while (pb_next_field(&p, end, &g) > 0) {
        if (g.id == kd->id && pb_wire_fits(kd, g.wt))
            slot->key_at = (uint32_t)(at - base);
        at = p;
    }
}

void map_slot_key(const ProtobufCFieldDescriptor *kd, const uint8_t *base, const uint8_t *end,
                  const struct map_slot *slot, struct map_key *k)
{
    struct pb_field f;
    const uint8_t *p = base + slot->key_at;
    k->s = (const uint8_t *)"";
    k->n = 0;
    k->num.u64 = 0;
    if (slot->key_at == MAP_NO_KEY || pb_next_field(&p, end, &f) <= 0)
        return;
    if (kd->type == PROTOBUF_C_TYPE_STRING) {
        k->s = f.val;
        k->n = f.len;
    } else if (pb_scalar_from_bits(kd->type, f.wt, f.bits, &k->num) != 0) {
        k->num.u64 = 0;
    }
}

/* The next code point of a key as json_write_string writes it: a byte
 * that does not begin valid UTF-8 is U+FFFD. UTF-8's byte order is its
 * code points' order, so comparing code points compares the texts. */
static uint32_t next_written(const uint8_t **p, const uint8_t *end)
{
    if (**p < 0x80)
        return *(*p)++;
    uint32_t cp;
    size_t n = utf8_decode(*p, (size_t)(end - *p), &cp);
    if (!n) {
        (*p)++;
        return 0xFFFD;
    }
    *p += n;
    return cp;
}

int map_key_cmp(const ProtobufCFieldDescriptor *kd, const struct map_key *a,
                const struct map_key *b)
{
    switch (kd->type) {
    case PROTOBUF_C_TYPE_STRING: {
        const uint8_t *p = a->s, *pe = a->s + a->n, *q = b->s, *qe = b->s + b->n;
        while (p < pe && q < qe) {
            uint32_t x = next_written(&p, pe), y = next_written(&q, qe);
            if (x != y)
                return x < y ? -1 : 1;
        }
        return (p < pe) - (q < qe);
    }
    case PROTOBUF_C_TYPE_BOOL:
        return (a->num.b > b->num.b) - (a->num.b < b->num.b);
    case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
        return (a->num.i64 > b->num.i64) - (a->num.i64 < b->num.i64);
    case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64:
        return (a->num.u64 > b->num.u64) - (a->num.u64 < b->num.u64);
    case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32:
        return (a->num.u32 > b->num.u32) - (a->num.u32 < b->num.u32);
    default:
        return (a->num.i32 > b->num.i32) - (a->num.i32 < b->num.i32);
    }
}

struct order {
    const ProtobufCFieldDescriptor *kd;
    const uint8_t *base, *end;
};

/* Key first, then place on the wire: a total order, so a sort need not be
 * stable for the last of equal keys to end up last. */
static int slot_cmp(const struct order *o, const struct map_slot *a, const struct map_slot *b)
{
    struct map_key ka, kb;
    map_slot_key(o->kd, o->base, o->end, a, &ka);
    map_slot_key(o->kd, o->base, o->end, b, &kb);
    int c = map_key_cmp(o->kd, &ka, &kb);
    return c ? c : (a->at > b->at) - (a->at < b->at);
}

static void sift_down(const struct order *o, struct map_slot *v, size_t root, size_t n)
{
    for (;;) {
        size_t child = 2 * root + 1;
        if (child >= n)
            return;
        if (child + 1 < n && slot_cmp(o, &v[child], &v[child + 1]) < 0)
            child++;
        if (slot_cmp(o, &v[root], &v[child]) >= 0)
            return;
        struct map_slot t = v[root];
        v[root] = v[child];
        v[child] = t;
        root = child;
    }
}

/* Heapsort: in place, so the order costs no memory beyond the slots. */
void map_order(const ProtobufCFieldDescriptor *kd, const uint8_t *base, const uint8_t *end,
               struct map_slot *slots, size_t n)
{
    struct order o = {kd, base, end};
    for (size_t i = n / 2; i-- > 0;)
        sift_down(&o, slots, i, n);
    for (size_t i = n; i-- > 1;) {
        struct map_slot t = slots[0];
        slots[0] = slots[i];
        slots[i] = t;
        sift_down(&o, slots, 0, i);
    }
}
