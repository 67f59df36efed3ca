/* jwt_cache.c: a remembered token gives the same verdict as a full check,
 * at every later time and under every later set of secrets; the process's
 * threads share one memory, which keeps the tokens used last. */
#include <jwt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "auth/jwt_cache.h"
#include "unit.h"

#define NOW ((time_t)1700000000)

static struct arena A;

static char *token(const char *key, const char *sub, const char *role, long exp, long nbf)
{
    jwt_t *j = NULL;
    CHECK(jwt_new(&j) == 0);
    if (sub) CHECK(jwt_add_grant(j, "sub", sub) == 0);
    if (role) CHECK(jwt_add_grant(j, "role", role) == 0);
    if (exp) CHECK(jwt_add_grant_int(j, "exp", exp) == 0);
    if (nbf) CHECK(jwt_add_grant_int(j, "nbf", nbf) == 0);
    CHECK(jwt_set_alg(j, JWT_ALG_HS256, (const unsigned char *)key, (int)strlen(key)) == 0);
    char *t = jwt_encode_str(j);
    jwt_free(j);
    char *copy = arena_strndup(&A, t ? t : "", t ? strlen(t) : 0);
    free(t);
    return copy;
}

/* Cached and uncached verdicts (and claims) for one check. */
static void agree(int line, const char *tok, const char *s0, const char *s1, long leeway,
                  time_t now)
{
    const char *secrets[2] = {s0, s1};
    struct jwt_claims a, b;
    enum auth_result ra = jwt_cache_check(tok, strlen(tok), secrets, 2, leeway, now, &A, &a);
    enum auth_result rb = jwt_check(tok, strlen(tok), secrets, 2, leeway, now, &A, &b);
    if (ra != rb)
        unit_fail(__FILE__, line, "cached verdict", auth_result_name(ra));
    else
        unit_passed++;
    int same = (!a.sub) == (!b.sub) && (!a.sub || !strcmp(a.sub, b.sub)) &&
               (!a.role) == (!b.role) && (!a.role || !strcmp(a.role, b.role));
    if (!same)
        unit_fail(__FILE__, line, "cached claims", NULL);
    else
        unit_passed++;
}
#define AGREE(tok, s0, s1, lw, now) agree(__LINE__, tok, s0, s1, lw, now)

static const char *const K1[] = {"k1"};

static int held(const char *tok)
{
    return jwt_cache_holds(tok, strlen(tok), K1, 1);
}

/* One browser's token per index, as a farm's CueWeb users bring them. */
static const char *user_token(int i)
{
    char sub[32];
    snprintf(sub, sizeof sub, "browser-%d", i);
    return token("k1", sub, NULL, NOW + 600, 0);
}

#define BROWSERS 300
#define THREADS 4
static const char *browsers[BROWSERS];

/* A request thread serving every browser, in its own order. */
static void *serve_all(void *arg)
{
    int start = (int)(size_t)arg;
    struct arena a;
    arena_init(&a, 0);
    int ok = 1;
    for (int k = 0; k < BROWSERS; k++) {
        const char *t = browsers[(start * 77 + k) % BROWSERS];
        struct jwt_claims c;
        ok &= jwt_cache_check(t, strlen(t), K1, 1, 0, NOW, &a, &c) == AUTH_OK;
    }
    arena_free(&a);
    return (void *)(size_t)ok;
}

/* Tokens checked on any thread are remembered for all of them. */
static void shared_by_threads(void)
{
    for (int i = 0; i < BROWSERS; i++)
        browsers[i] = user_token(i);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        CHECK(pthread_create(&t[i], NULL, serve_all, (void *)(size_t)i) == 0);
    for (int i = 0; i < THREADS; i++) {
        void *ok = NULL;
        CHECK(pthread_join(t[i], &ok) == 0);
        CHECK(ok == (void *)1);
    }
    int n = 0;
    for (int i = 0; i < BROWSERS; i++)
        n += held(browsers[i]);
    CHECK(n == BROWSERS);
}

/* Full, the memory lets go of the token used least recently, and only it. */
static void least_recently_used_goes(void)
{
    static const char *t[JWT_CACHE_TOKENS + 1];
    for (int i = 0; i <= JWT_CACHE_TOKENS; i++)
        t[i] = user_token(1000 + i);
    for (int i = 0; i < JWT_CACHE_TOKENS; i++)
        AGREE(t[i], "k1", NULL, 0, NOW);
    int n = 0;
    for (int i = 0; i < JWT_CACHE_TOKENS; i++)
        n += held(t[i]);
    CHECK(n == JWT_CACHE_TOKENS);
    AGREE(t[0], "k1", NULL, 0, NOW);                 /* t[1] is now the oldest */
    AGREE(t[JWT_CACHE_TOKENS], "k1", NULL, 0, NOW);  /* one more than it holds */
    CHECK(held(t[0]));
    CHECK(!held(t[1]));
    CHECK(held(t[2]));
    CHECK(held(t[JWT_CACHE_TOKENS]));
    /* A rotation forgets them all. */
    const char *k2[] = {"k2"};
    AGREE(t[0], "k2", NULL, 0, NOW);
    CHECK(!jwt_cache_holds(t[0], strlen(t[0]), k2, 1));
    CHECK(!held(t[0]));
    /* A failed token is not remembered. */
    AGREE(t[2], "k2", NULL, 0, NOW);
    CHECK(!jwt_cache_holds(t[2], strlen(t[2]), k2, 1));
}

int main(void)
{
    arena_init(&A, 0);
    const char *t = token("k1", "alice", "admin", NOW + 60, NOW - 60);
    AGREE(t, "k1", NULL, 0, NOW);            /* verified, remembered */
    AGREE(t, "k1", NULL, 0, NOW);            /* from memory */
    AGREE(t, "k1", NULL, 0, NOW + 60);       /* expired since */
    AGREE(t, "k1", NULL, 30, NOW + 60);      /* within the leeway */
    AGREE(t, "k1", NULL, 0, NOW - 61);       /* not yet valid */
    AGREE(t, "k2", NULL, 0, NOW);            /* secret rotated away */
    AGREE(t, "k2", "k1", 0, NOW);            /* as the expiring secret */
    AGREE(t, "k2", NULL, 0, NOW);            /* and gone again */
    AGREE(t, NULL, NULL, 0, NOW);            /* no secret at all */

    const char *u = token("k1", NULL, NULL, 0, 0);   /* no claims, no exp */
    AGREE(u, "k1", NULL, 0, NOW);
    AGREE(u, "k1", NULL, 0, NOW + 1000000);
    /* A token one byte off a remembered one is checked in full. */
    char *bad = arena_strndup(&A, t, strlen(t));
    bad[strlen(bad) - 1] ^= 1;
    AGREE(t, "k1", NULL, 0, NOW);
    AGREE(bad, "k1", NULL, 0, NOW);
    /* Many tokens: slots are reused without mixing them up. */
    for (int i = 0; i < 40; i++) {
        char sub[16];
        snprintf(sub, sizeof sub, "user%d", i);
        const char *ti = token("k1", sub, NULL, NOW + 60, 0);
        AGREE(ti, "k1", NULL, 0, NOW);
        AGREE(ti, "k1", NULL, 0, NOW);
    }
    shared_by_threads();
    least_recently_used_goes();
    arena_free(&A);
    return unit_report("jwt_cache");
}
