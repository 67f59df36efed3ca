#include "auth/jwt_cache.h"

#include <stdint.h>
#include <string.h>

#include "base/ct_equal.h"
#include "base/siphash.h"

#define SLOTS 8                 /* tokens remembered per thread */
#define TOKEN_MAX 1024          /* longer tokens are checked every time */
#define TEXT_MAX 256            /* secrets and claims longer than this: likewise */
#define SECRETS 2

struct slot {
    uint64_t hash;              /* 0: empty */
    size_t len;
    char tok[TOKEN_MAX];
    struct jwt_claims c;        /* sub and role point into the texts below */
    char sub[TEXT_MAX], role[TEXT_MAX];
};

struct cache {
    /* The secrets every slot was verified under; NUL-terminated copies,
     * with `set` telling an unset secret from an empty one. */
    char secret[SECRETS][TEXT_MAX];
    int set[SECRETS];
    struct slot slot[SLOTS];
};

static _Thread_local struct cache cache;

/* Only picks the slot (never 0, which marks it empty); the token itself
 * is compared in full. Keyed, so a client cannot aim at a slot. */
static uint64_t hash_of(const char *p, size_t n)
{
    return siphash_process(p, n) | 1;
}

static int fits(const char *s)
{
    return !s || strlen(s) < TEXT_MAX;
}

/* 1 when the secrets are those the cache holds tokens for. */
static int same_secrets(const char *const *secrets, size_t n)
{
    for (size_t i = 0; i < SECRETS; i++) {
        const char *s = i < n ? secrets[i] : NULL;
        if ((s != NULL) != cache.set[i] || (s && strcmp(s, cache.secret[i])))
            return 0;
    }
    return 1;
}

static void remember_secrets(const char *const *secrets, size_t n)
{
    memset(cache.secret, 0, sizeof cache.secret);
    memset(cache.set, 0, sizeof cache.set);
    for (size_t s = 0; s < SLOTS; s++)
        cache.slot[s].hash = 0;
    for (size_t i = 0; i < SECRETS && i < n; i++) {
        if (secrets[i]) {
            cache.set[i] = 1;
            strcpy(cache.secret[i], secrets[i]);
        }
    }
}

enum auth_result jwt_cache_check(const char *tok, size_t tok_len,
                                 const char *const *secrets, size_t n_secrets,
                                 long leeway, time_t now, struct arena *a,
                                 struct jwt_claims *claims)
{
    int cacheable = tok && tok_len <= TOKEN_MAX && n_secrets <= SECRETS;
    for (size_t i = 0; cacheable && i < n_secrets; i++)
        cacheable = fits(secrets[i]);
    if (!cacheable)
        return jwt_check(tok, tok_len, secrets, n_secrets, leeway, now, a, claims);

    if (!same_secrets(secrets, n_secrets))
        remember_secrets(secrets, n_secrets);
    uint64_t h = hash_of(tok, tok_len);
    struct slot *sl = &cache.slot[h % SLOTS];
    if (sl->hash == h && ct_equal(tok, tok_len, sl->tok, sl->len)) {
        enum auth_result r = jwt_check_times(&sl->c, leeway, now);
        memset(claims, 0, sizeof *claims);
        if (r != AUTH_OK)
            return r;
        int oom = 0;
        *claims = sl->c;
        claims->sub = jwt_claim_copy(sl->c.sub, a, &oom);
        claims->role = jwt_claim_copy(sl->c.role, a, &oom);
        if (oom) {
            memset(claims, 0, sizeof *claims);
            return AUTH_INTERNAL;
        }
        return AUTH_OK;
    }

    enum auth_result r = jwt_check(tok, tok_len, secrets, n_secrets, leeway, now, a, claims);
    if (r == AUTH_OK && fits(claims->sub) && fits(claims->role)) {
        sl->hash = h;
        sl->len = tok_len;
        memcpy(sl->tok, tok, tok_len);
        sl->c = *claims;
        sl->c.sub = claims->sub ? strcpy(sl->sub, claims->sub) : NULL;
        sl->c.role = claims->role ? strcpy(sl->role, claims->role) : NULL;
    }
    return r;
}
