#include "json/json_keys.h"

#include <string.h>

#include "base/siphash.h"

#define FIRST_CAP 16u

static uint64_t key_hash(const char *text, size_t n)
{
    return siphash_process(text, n);
}

/* The slot a hash starts at, for any table size (no power of two needed,
 * so a table taken at its final size is no larger than it must be). */
static size_t home(uint64_t h, size_t cap)
{
    return (size_t)(((h & 0xFFFFFFFFu) * (uint64_t)cap) >> 32);
}

/* The hash of a key already in the table, from the body: lexed again, and
 * decoded into scratch when it has escapes. Costs its length, once per
 * growth, so a key is read a constant number of times overall. */
static int stored_hash(const struct jkeys_env *env, uint32_t slot, uint64_t *h)
{
    const char *p = env->body + slot - 2;       /* its opening quote */
    struct jstr k;
    jlex_string(&p, env->end, &k);              /* valid: it was lexed before */
    if (!k.escaped) {
        *h = key_hash(k.raw, k.raw_n);
        return 0;
    }
    size_t cap;
    char *buf = scratch_get(env->sc, k.len, &cap);
    if (!buf)
        return -1;
    jlex_decode(&k, buf, k.len);
    *h = key_hash(buf, k.len);
    scratch_put(env->sc, buf, cap);
    return 0;
}

static void release(struct jkeys *ks, const struct jkeys_env *env)
{
    if (ks->slot && ks->block)
        scratch_put(env->sc, ks->slot, ks->block);
}

static void place(uint32_t *slot, size_t cap, uint64_t h, uint32_t off)
{
    size_t j = home(h, cap);
    while (slot[j])
        j = j + 1 == cap ? 0 : j + 1;
    slot[j] = off;
}

/* Moves the keys to a table of cap slots: a scratch block while small,
 * else exactly cap slots from the arena. */
static int grow(struct jkeys *ks, const struct jkeys_env *env, size_t cap)
{
    size_t block = 0;
    uint32_t *slot = cap <= JKEYS_SMALL ? scratch_get(env->sc, cap * sizeof *slot, &block)
                                        : arena_alloc(env->sc->a, cap * sizeof *slot);
    if (!slot)
        return -1;
    memset(slot, 0, cap * sizeof *slot);
    for (size_t i = 0; i < ks->cap; i++) {
        uint64_t h;
        if (!ks->slot[i])
            continue;
        if (stored_hash(env, ks->slot[i], &h) != 0) {
            if (block)
                scratch_put(env->sc, slot, block);
            return -1;
        }
        place(slot, cap, h, ks->slot[i]);
    }
    release(ks, env);
    ks->slot = slot;
    ks->cap = cap;
    ks->block = block;
    return 0;
}

/* The size of the next table: doubled while small; past that, the keys
 * still to come in this object are counted (once: the table then has room
 * for all of them, unless the JSON turns out broken) and room is made for
 * all at three quarters full. */
static size_t next_cap(const struct jkeys *ks, const struct jkeys_env *env, const struct jstr *k)
{
    if (ks->cap < FIRST_CAP)
        return FIRST_CAP;
    if (ks->cap * 2 <= JKEYS_SMALL)
        return ks->cap * 2;
    size_t all = ks->count + 1 + jlex_members_left(k->raw + k->raw_n + 1, env->end);
    size_t cap = all + all / 3 + 1;
    return cap > ks->cap * 2 ? cap : ks->cap * 2;
}

int jkeys_add(struct jkeys *ks, const struct jkeys_env *env, const struct jstr *k,
              const char *text)
{
    if ((ks->count + 1) * 4 > ks->cap * 3 && grow(ks, env, next_cap(ks, env, k)) != 0)
        return -1;
    uint32_t off = (uint32_t)(k->raw - env->body) + 1;
    uint64_t h = key_hash(text, k->len);
    for (size_t i = home(h, ks->cap);; i = i + 1 == ks->cap ? 0 : i + 1) {
        if (!ks->slot[i]) {
            ks->slot[i] = off;
            ks->count++;
            return 1;
        }
        if (jlex_same(env->body + ks->slot[i] - 1, k->raw))
            return 0;
    }
}

void jkeys_done(struct jkeys *ks, const struct jkeys_env *env)
{
    release(ks, env);
    memset(ks, 0, sizeof *ks);
}
