/* The keys of one JSON object, to refuse a key given twice. A key is
 * remembered as its offset in the body (4 bytes), never copied. Keys
 * compare by their decoded text ("y" and "\u0079" are the same key),
 * hashed with the process's SipHash key, so a client cannot choose keys
 * that collide (linear time).
 *
 * Memory: a table is at most three quarters full. Small tables come from
 * scratch memory and go back when the object closes, so a list of many
 * small objects costs one table. A table that must outgrow JKEYS_SMALL
 * slots is not doubled on: the rest of the object is counted once and the
 * table taken at its final size, about 5.3 bytes a key (and a key takes at
 * least 5 bytes of JSON), so an object of many keys leaves no trail of
 * outgrown tables behind. */
#ifndef CUEGW_JSON_KEYS_H
#define CUEGW_JSON_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "json/json_lex.h"
#include "json/scratch.h"

/* Keys are offsets into one body, which must be under 4 GiB. */
#define JKEYS_MAX_BODY 0xFFFFFFFEu

/* Where keys come from: the body (keys are offsets into it) and the scratch
 * memory their tables take. */
struct jkeys_env {
    struct scratch *sc;
    const char *body, *end;
};

#define JKEYS_SMALL 1024u

struct jkeys {
    uint32_t *slot;      /* 0: empty; else 1 + the key's offset in the body */
    size_t cap;          /* slots */
    size_t count;
    size_t block;        /* bytes of the scratch block; 0: from the arena */
};

/* Adds key k, a string lexed in env's body; `text` is its decoded text
 * (k->len bytes). Returns 1 when it is new, 0 when the object already has
 * it, -1 when scratch memory runs out. */
int jkeys_add(struct jkeys *ks, const struct jkeys_env *env, const struct jstr *k,
              const char *text);

/* Gives the table back; ks is empty again. */
void jkeys_done(struct jkeys *ks, const struct jkeys_env *env);

#endif
