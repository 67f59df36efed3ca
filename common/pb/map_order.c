#include "map_order.h"

#include "utf8.h"

void map_key_read(const ProtobufCFieldDescriptor *kd, const uint8_t *p, const uint8_t *end,
                  struct map_key *k)
{
    struct pb_field f, last = {0};
    bool have = false;
    while (pb_next_field(&p, end, &f) > 0)
        if (f.id == kd->id && pb_wire_fits(kd, f.wt)) {
            last = f;
            have = true;
        }
    k->s = (const uint8_t *)"";
    k->n = 0;
    k->num.u64 = 0;
    if (!have)
        return;
    if (kd->type == PROTOBUF_C_TYPE_STRING) {
        k->s = last.val;
        k->n = last.len;
    } else if (pb_scalar_from_bits(kd->type, last.wt, last.bits, &k->num) != 0) {
        k->num.u64 = 0;
    }
}

void map_entry_at(const ProtobufCFieldDescriptor *kd, const uint8_t *at, const uint8_t *end,
                  struct map_key *k, const uint8_t **entry, const uint8_t **entry_end)
{
    struct pb_field f;
    const uint8_t *p = at;
    if (pb_next_field(&p, end, &f) <= 0) {
        f.val = at;              /* cannot happen: the bytes were checked */
        f.len = 0;
    }
    *entry = f.val;
    *entry_end = f.val + f.len;
    map_key_read(kd, *entry, *entry_end, k);
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
static int entry_cmp(const struct order *o, uint32_t a, uint32_t b)
{
    struct map_key ka, kb;
    const uint8_t *e, *ee;
    map_entry_at(o->kd, o->base + a, o->end, &ka, &e, &ee);
    map_entry_at(o->kd, o->base + b, o->end, &kb, &e, &ee);
    int c = map_key_cmp(o->kd, &ka, &kb);
    return c ? c : (a > b) - (a < b);
}

static void sift_down(const struct order *o, uint32_t *v, size_t root, size_t n)
{
    for (;;) {
        size_t child = 2 * root + 1;
        if (child >= n)
            return;
        if (child + 1 < n && entry_cmp(o, v[child], v[child + 1]) < 0)
            child++;
        if (entry_cmp(o, v[root], v[child]) >= 0)
            return;
        uint32_t t = v[root];
        v[root] = v[child];
        v[child] = t;
        root = child;
    }
}

/* Heapsort: in place, so the order costs no memory beyond the offsets. */
void map_order(const ProtobufCFieldDescriptor *kd, const uint8_t *base, const uint8_t *end,
               uint32_t *offs, size_t n)
{
    struct order o = {kd, base, end};
    for (size_t i = n / 2; i-- > 0;)
        sift_down(&o, offs, i, n);
    for (size_t i = n; i-- > 1;) {
        uint32_t t = offs[0];
        offs[0] = offs[i];
        offs[i] = t;
        sift_down(&o, offs, 0, i);
    }
}
