#include "keyset.h"

#include "siphash.h"

#include <string.h>

/* Keyed, so a client cannot choose keys that collide (see siphash.h). */
static size_t hash(const char *s, size_t n)
{
    return (size_t)siphash_process(s, n);
}

static void place(struct keyset_slot *slots, size_t mask, const char *s, size_t n)
{
    size_t i = hash(s, n) & mask;
    while (slots[i].s)
        i = (i + 1) & mask;
    slots[i].s = s;
    slots[i].n = n;
}

static int grow(struct keyset *ks, struct arena *a)
{
    size_t cap = ks->mask ? (ks->mask + 1) * 2 : 16;
    struct keyset_slot *slots = arena_alloc(a, cap * sizeof *slots);
    if (!slots)
        return -1;
    memset(slots, 0, cap * sizeof *slots);
    for (size_t i = 0; ks->mask && i <= ks->mask; i++)
        if (ks->slots[i].s)
            place(slots, cap - 1, ks->slots[i].s, ks->slots[i].n);
    ks->slots = slots;
    ks->mask = cap - 1;
    return 0;
}

int keyset_add(struct keyset *ks, struct arena *a, const char *s, size_t n)
{
    /* Keep the table at most half full. */
    if ((ks->count + 1) * 2 > (ks->mask ? ks->mask + 1 : 0) && grow(ks, a) != 0)
        return -1;
    for (size_t i = hash(s, n) & ks->mask;; i = (i + 1) & ks->mask) {
        struct keyset_slot *sl = &ks->slots[i];
        if (!sl->s) {
            sl->s = s;
            sl->n = n;
            ks->count++;
            return 1;
        }
        if (sl->n == n && memcmp(sl->s, s, n) == 0)
            return 0;
    }
}
