#include "auth/jwt_cache.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "base/ct_equal.h"
#include "base/siphash.h"

#define TOKEN_MAX 1024          /* longer tokens are checked every time */
#define TEXT_MAX 256            /* secrets and claims longer than this: likewise */
#define SECRETS 2

struct slot {
    size_t len;
    char tok[TOKEN_MAX];
    struct jwt_claims c;        /* sub and role point into the texts below */
    char sub[TEXT_MAX], role[TEXT_MAX];
};

/* The whole memory: about 1.6 KiB a token, touched only as tokens come.
 * Any token may take any slot, the least recently used one going first,
 * so the memory holds the last JWT_CACHE_TOKENS tokens used whatever their
 * hashes: a lookup scans the hashes (4 KiB), compared in full only on a
 * match. */
static struct {
    pthread_mutex_t lock;
    /* The secrets every slot was verified under; NUL-terminated copies,
     * with `set` telling an unset secret from an empty one. */
    char secret[SECRETS][TEXT_MAX];
    int set[SECRETS];
    uint64_t clock;
    uint64_t hash[JWT_CACHE_TOKENS];    /* 0: an empty slot */
    uint64_t used[JWT_CACHE_TOKENS];    /* the clock at its last hit or fill */
    struct slot slot[JWT_CACHE_TOKENS];
} cache = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* Only picks the candidates (never 0, which marks a slot empty); the token
 * itself is compared in full. */
static uint64_t hash_of(const char *p, size_t n)
{
    return siphash_process(p, n) | 1;
}

static int fits(const char *s)
{
    return !s || strlen(s) < TEXT_MAX;
}

static int cacheable(const char *tok, size_t tok_len, const char *const *secrets, size_t n)
{
    if (!tok || tok_len > TOKEN_MAX || n > SECRETS)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!fits(secrets[i]))
            return 0;
    return 1;
}

/* 1 when the secrets are those the cache holds tokens for. Lock held. */
static int same_secrets(const char *const *secrets, size_t n)
{
    for (size_t i = 0; i < SECRETS; i++) {
        const char *s = i < n ? secrets[i] : NULL;
        if ((s != NULL) != cache.set[i] || (s && strcmp(s, cache.secret[i])))
            return 0;
    }
    return 1;
}

/* Forgets every token and takes these secrets as the ones to hold tokens
 * for. Lock held. */
static void remember_secrets(const char *const *secrets, size_t n)
{
    memset(cache.secret, 0, sizeof cache.secret);
    memset(cache.set, 0, sizeof cache.set);
    memset(cache.hash, 0, sizeof cache.hash);
    for (size_t i = 0; i < SECRETS && i < n; i++) {
        if (secrets[i]) {
            cache.set[i] = 1;
            strcpy(cache.secret[i], secrets[i]);
        }
    }
}

/* The index of the slot holding tok, or -1. Lock held. */
static int find(uint64_t h, const char *tok, size_t tok_len)
{
    for (int i = 0; i < JWT_CACHE_TOKENS; i++)
        if (cache.hash[i] == h && ct_equal(tok, tok_len, cache.slot[i].tok, cache.slot[i].len))
            return i;
    return -1;
}

/* An empty slot, else the least recently used. Lock held. */
static int victim(void)
{
    int v = 0;
    for (int i = 0; i < JWT_CACHE_TOKENS; i++) {
        if (!cache.hash[i])
            return i;
        if (cache.used[i] < cache.used[v])
            v = i;
    }
    return v;
}

/* The answer from a remembered slot: the times re-checked, the claims
 * copied into the caller's arena. Lock held (the slot may be refilled
 * once it is released). */
static enum auth_result answer(const struct slot *sl, long leeway, time_t now, struct arena *a,
                               struct jwt_claims *claims)
{
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

/* Remembers a token the full check just verified, unless the secrets
 * changed meanwhile (it was verified under the old ones) or another thread
 * remembered it first. Lock held. */
static void fill(uint64_t h, const char *tok, size_t tok_len, const char *const *secrets,
                 size_t n_secrets, const struct jwt_claims *claims)
{
    if (!same_secrets(secrets, n_secrets) || find(h, tok, tok_len) >= 0)
        return;
    int i = victim();
    struct slot *sl = &cache.slot[i];
    cache.hash[i] = h;
    cache.used[i] = ++cache.clock;
    sl->len = tok_len;
    memcpy(sl->tok, tok, tok_len);
    sl->c = *claims;
    sl->c.sub = claims->sub ? strcpy(sl->sub, claims->sub) : NULL;
    sl->c.role = claims->role ? strcpy(sl->role, claims->role) : NULL;
}

enum auth_result jwt_cache_check(const char *tok, size_t tok_len,
                                 const char *const *secrets, size_t n_secrets,
                                 long leeway, time_t now, struct arena *a,
                                 struct jwt_claims *claims)
{
    if (!cacheable(tok, tok_len, secrets, n_secrets))
        return jwt_check(tok, tok_len, secrets, n_secrets, leeway, now, a, claims);

    uint64_t h = hash_of(tok, tok_len);
    pthread_mutex_lock(&cache.lock);
    if (!same_secrets(secrets, n_secrets))
        remember_secrets(secrets, n_secrets);
    int i = find(h, tok, tok_len);
    if (i >= 0) {
        cache.used[i] = ++cache.clock;
        enum auth_result r = answer(&cache.slot[i], leeway, now, a, claims);
        pthread_mutex_unlock(&cache.lock);
        return r;
    }
    pthread_mutex_unlock(&cache.lock);

    /* The full check runs unlocked: it is the cost the memory saves, and
     * other threads' hits need not wait for it. */
    enum auth_result r = jwt_check(tok, tok_len, secrets, n_secrets, leeway, now, a, claims);
    if (r == AUTH_OK && fits(claims->sub) && fits(claims->role)) {
        pthread_mutex_lock(&cache.lock);
        fill(h, tok, tok_len, secrets, n_secrets, claims);
        pthread_mutex_unlock(&cache.lock);
    }
    return r;
}

int jwt_cache_holds(const char *tok, size_t tok_len, const char *const *secrets,
                    size_t n_secrets)
{
    if (!cacheable(tok, tok_len, secrets, n_secrets))
        return 0;
    uint64_t h = hash_of(tok, tok_len);
    pthread_mutex_lock(&cache.lock);
    int held = same_secrets(secrets, n_secrets) && find(h, tok, tok_len) >= 0;
    pthread_mutex_unlock(&cache.lock);
    return held;
}
