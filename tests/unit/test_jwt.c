/* Bearer header parsing and JWT verification, including the libjwt traps
 * (STYLE.md): tokens are minted here, by libjwt for the valid ones and by
 * hand (base64url + OpenSSL HMAC) for every attack libjwt would not build. */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "base/arena.h"
#include "base/base64.h"
#include "base/cg_limits.h"
#include "auth/jwt_check.h"
#include "unit.h"

#define NOW ((time_t)1700000000)

static struct arena A;
static const char *const SECRET[] = {"s3cret-key"};

/* ---- token minting ------------------------------------------------------- */

static char *b64url(const void *p, size_t n)
{
    char *out = arena_alloc(&A, base64_encoded_len(n) + 1);
    base64_encode(out, p, n);
    size_t len = base64_encoded_len(n);
    while (len && out[len - 1] == '=')
        len--;
    for (size_t i = 0; i < len; i++) {
        if (out[i] == '+') out[i] = '-';
        if (out[i] == '/') out[i] = '_';
    }
    out[len] = '\0';
    return out;
}

static char *join3(const char *h, const char *p, const char *s)
{
    size_t n = strlen(h) + strlen(p) + strlen(s) + 3;
    char *t = arena_alloc(&A, n);
    snprintf(t, n, "%s.%s.%s", h, p, s);
    return t;
}

/* Segments given as they travel, signed over "h.p" with md and key; no md:
 * an empty signature. */
static char *raw_token(const char *h, const char *p, const EVP_MD *md, const char *key)
{
    char *input = join3(h, p, "");
    size_t in_len = strlen(input) - 1;          /* without the last '.' */
    if (!md)
        return input;
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned mac_len = 0;
    HMAC(md, key, (int)strlen(key), (const unsigned char *)input, in_len, mac, &mac_len);
    return join3(h, p, b64url(mac, mac_len));
}

static char *hand_token(const char *hdr, const char *payload, const EVP_MD *md, const char *key)
{
    return raw_token(b64url(hdr, strlen(hdr)), b64url(payload, strlen(payload)), md, key);
}

static char *hs256(const char *payload)
{
    return hand_token("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", payload, EVP_sha256(), SECRET[0]);
}

/* A token as libjwt mints it; exp 0 means none. */
static char *lib_token(jwt_alg_t alg, const char *key, const char *sub, const char *role, long exp)
{
    jwt_t *j = NULL;
    CHECK(jwt_new(&j) == 0);
    if (sub) CHECK(jwt_add_grant(j, "sub", sub) == 0);
    if (role) CHECK(jwt_add_grant(j, "role", role) == 0);
    if (exp) CHECK(jwt_add_grant_int(j, "exp", exp) == 0);
    CHECK(jwt_set_alg(j, alg, (const unsigned char *)key, (int)strlen(key)) == 0);
    char *t = jwt_encode_str(j);
    jwt_free(j);
    CHECK(t != NULL);
    char *copy = arena_strndup(&A, t ? t : "", t ? strlen(t) : 0);
    free(t);
    return copy;
}

static enum auth_result check_with(const char *tok, const char *const *secrets, size_t n,
                                   long leeway, struct jwt_claims *c)
{
    return jwt_check(tok, strlen(tok), secrets, n, leeway, NOW, &A, c);
}

static enum auth_result check1(const char *tok)
{
    struct jwt_claims c;
    return check_with(tok, SECRET, 1, 0, &c);
}

/* ---- the Authorization header ------------------------------------------- */

static enum auth_result bearer(const char *h, const char *want_tok)
{
    const char *t = (const char *)1;
    size_t n = 99;
    enum auth_result r = auth_bearer_token(h, &t, &n);
    if (r == AUTH_OK && want_tok)
        CHECK_TEXT(t, n, want_tok);
    if (r != AUTH_OK)
        CHECK(t == NULL && n == 0);
    return r;
}

static void test_header(void)
{
    CHECK(bearer(NULL, NULL) == AUTH_MISSING);
    CHECK(bearer("", NULL) == AUTH_MISSING);
    CHECK(bearer(" \t ", NULL) == AUTH_MISSING);
    CHECK(bearer("Bearer abc.def", "abc.def") == AUTH_OK);
    CHECK(bearer("Bearer  abc", "abc") == AUTH_OK);
    CHECK(bearer("bearer abc", "abc") == AUTH_OK);
    CHECK(bearer("BEARER abc", "abc") == AUTH_OK);
    CHECK(bearer("bEaReR abc", "abc") == AUTH_OK);
    CHECK(bearer(" Bearer abc \t", "abc") == AUTH_OK);      /* OWS around the value */
    CHECK(bearer("Bearer a~+/=!", "a~+/=!") == AUTH_OK);
    CHECK(bearer("Basic abc", NULL) == AUTH_BAD_HEADER);
    CHECK(bearer("Bearer", NULL) == AUTH_BAD_HEADER);
    CHECK(bearer("Bearer   ", NULL) == AUTH_BAD_HEADER);
    CHECK(bearer("Bearerabc", NULL) == AUTH_BAD_HEADER);
    CHECK(bearer("BearerX abc", NULL) == AUTH_BAD_HEADER);
    CHECK(bearer("Bear abc", NULL) == AUTH_BAD_HEADER);
    CHECK(bearer("Bearer abc extra", NULL) == AUTH_BAD_HEADER);
    CHECK(bearer("Bearer\tabc", NULL) == AUTH_BAD_HEADER);
    CHECK(bearer("Bearer ab\tc", NULL) == AUTH_BAD_HEADER);
    CHECK(bearer("Bearer ab\x01" "c", NULL) == AUTH_BAD_HEADER);
    CHECK(bearer("Bearer ab\x7f" "c", NULL) == AUTH_BAD_HEADER);
    CHECK(bearer("Bearer ab\r\nc", NULL) == AUTH_BAD_HEADER);
    CHECK(bearer("Bearer ab\xc3\xa9", NULL) == AUTH_BAD_HEADER);
    CHECK(bearer("B\xc3\xa9" "arer abc", NULL) == AUTH_BAD_HEADER);
    /* The value is a C string: an embedded NUL ends it. */
    static const char with_nul[] = "Bearer abc\0def";
    CHECK(bearer(with_nul, "abc") == AUTH_OK);
    static const char nul_first[] = "\0Bearer abc";
    CHECK(bearer(nul_first, NULL) == AUTH_MISSING);

    /* Length: exactly CG_MAX_TOKEN passes, one more does not. */
    size_t big = 12 * 1024 * 1024;
    char *h = malloc(big + 1);
    memcpy(h, "Bearer ", 7);
    memset(h + 7, 'a', CG_MAX_TOKEN);
    h[7 + CG_MAX_TOKEN] = '\0';
    const char *t;
    size_t n;
    CHECK(auth_bearer_token(h, &t, &n) == AUTH_OK && n == CG_MAX_TOKEN && t == h + 7);
    h[7 + CG_MAX_TOKEN] = 'a';
    h[8 + CG_MAX_TOKEN] = '\0';
    CHECK(auth_bearer_token(h, &t, &n) == AUTH_BAD_HEADER);
    memset(h + 7, 'a', 10 * 1024);                            /* a 10 KB token */
    h[7 + 10 * 1024] = '\0';
    CHECK(auth_bearer_token(h, &t, &n) == AUTH_BAD_HEADER);
    /* Spaces before the token count towards the header cap. */
    memset(h + 7, ' ', CG_MAX_AUTH_HEADER);
    memcpy(h + 7 + CG_MAX_AUTH_HEADER, "abc", 4);
    CHECK(auth_bearer_token(h, &t, &n) == AUTH_BAD_HEADER);
    memset(h + 7, ' ', 40);
    memcpy(h + 47, "abc", 4);
    CHECK(auth_bearer_token(h, &t, &n) == AUTH_OK && n == 3);
    /* 12 MB of token: refused, and the bound keeps the scan short. */
    memset(h + 7, 'a', big - 7);
    h[big] = '\0';
    CHECK(auth_bearer_token(h, &t, &n) == AUTH_BAD_HEADER);
    free(h);
}

static void test_names(void)
{
    CHECK_STR(auth_result_name(AUTH_OK), "ok");
    CHECK_STR(auth_result_name(AUTH_MISSING), "missing");
    CHECK_STR(auth_result_name(AUTH_EXPIRED), "expired");
    CHECK_STR(auth_result_name(AUTH_BAD_SIGNATURE), "bad_signature");
    CHECK_STR(auth_result_name(AUTH_RESULT_COUNT), "unknown");
    CHECK_STR(auth_result_name((enum auth_result)-1), "unknown");
    /* Every label distinct and a safe metric label. */
    for (int i = 0; i < AUTH_RESULT_COUNT; i++) {
        const char *s = auth_result_name((enum auth_result)i);
        CHECK(strcmp(s, "unknown") != 0 && strspn(s, "abcdefghijklmnopqrstuvwxyz_") == strlen(s));
        for (int k = 0; k < i; k++)
            CHECK(strcmp(s, auth_result_name((enum auth_result)k)) != 0);
    }
}

/* ---- valid tokens --------------------------------------------------------- */

static void test_valid(void)
{
    struct jwt_claims c;
    const jwt_alg_t algs[] = {JWT_ALG_HS256, JWT_ALG_HS384, JWT_ALG_HS512};
    for (int i = 0; i < 3; i++) {
        const char *tok = lib_token(algs[i], SECRET[0], "alice", "admin", NOW + 60);
        c.sub = c.role = "junk";
        CHECK(check_with(tok, SECRET, 1, 0, &c) == AUTH_OK);
        CHECK(c.sub && strcmp(c.sub, "alice") == 0);
        CHECK(c.role && strcmp(c.role, "admin") == 0);
    }
    /* No exp at all is accepted (SPEC §2), and absent claims read NULL. */
    const char *tok = lib_token(JWT_ALG_HS256, SECRET[0], NULL, NULL, 0);
    c.sub = c.role = "junk";
    CHECK(check_with(tok, SECRET, 1, 0, &c) == AUTH_OK);
    CHECK(c.sub == NULL && c.role == NULL);
    /* Claims that are not strings are not claims. */
    CHECK(check_with(hs256("{\"sub\":42,\"role\":[\"admin\"]}"), SECRET, 1, 0, &c) == AUTH_OK);
    CHECK(c.sub == NULL && c.role == NULL);
    CHECK(check_with(hs256("{\"sub\":\"b\\u00e9a\",\"role\":\"\"}"), SECRET, 1, 0, &c) == AUTH_OK);
    CHECK(c.sub && strcmp(c.sub, "b\xc3\xa9" "a") == 0);
    CHECK(c.role && strcmp(c.role, "") == 0);
    /* typ is optional, and "JWT" in any case. */
    const char *typs[] = {"JWT", "jwt", "jWt"};
    for (int i = 0; i < 3; i++) {
        char hdr[100];
        snprintf(hdr, sizeof hdr, "{\"alg\":\"HS256\",\"typ\":\"%s\"}", typs[i]);
        CHECK(check1(hand_token(hdr, "{}", EVP_sha256(), SECRET[0])) == AUTH_OK);
    }
    CHECK(check1(hand_token("{\"alg\":\"HS256\"}", "{}", EVP_sha256(), SECRET[0])) == AUTH_OK);
    CHECK(check1(hand_token("{\"alg\":\"HS256\",\"kid\":\"k1\"}", "{}", EVP_sha256(), SECRET[0])) == AUTH_OK);
    /* The token need not be NUL-terminated: tok_len is what counts. */
    const char *good = hs256("{\"sub\":\"x\"}");
    size_t n = strlen(good);
    char *padded = arena_alloc(&A, n + 5);
    memcpy(padded, good, n);
    memcpy(padded + n, "XXXXX", 5);
    CHECK(jwt_check(padded, n, SECRET, 1, 0, NOW, &A, &c) == AUTH_OK);
    CHECK(c.sub && strcmp(c.sub, "x") == 0);
}

/* ---- secrets --------------------------------------------------------------- */

static void test_secrets(void)
{
    struct jwt_claims c;
    const char *old_new[] = {"current", "expiring"};
    const char *tok = lib_token(JWT_ALG_HS384, "expiring", "bob", NULL, 0);
    CHECK(check_with(tok, old_new, 2, 0, &c) == AUTH_OK);
    CHECK(c.sub && strcmp(c.sub, "bob") == 0);
    CHECK(check_with(tok, old_new, 1, 0, &c) == AUTH_BAD_SIGNATURE);
    const char *holes[] = {NULL, "", "expiring"};
    CHECK(check_with(tok, holes, 3, 0, &c) == AUTH_OK);
    CHECK(check_with(tok, SECRET, 1, 0, &c) == AUTH_BAD_SIGNATURE);
    /* Failure clears claims the caller left behind. */
    c.sub = c.role = "junk";
    CHECK(check_with(tok, SECRET, 1, 0, &c) == AUTH_BAD_SIGNATURE);
    CHECK(c.sub == NULL && c.role == NULL);
    /* Wrong secret that shares a prefix with the right one. */
    const char *prefix[] = {"expirin"};
    CHECK(check_with(tok, prefix, 1, 0, &c) == AUTH_BAD_SIGNATURE);

    /* A token signed with the empty key: libjwt would skip verification if
     * handed "" as the key, so it must never be accepted. */
    const char *empty_signed = hand_token("{\"alg\":\"HS256\"}", "{\"sub\":\"eve\"}", EVP_sha256(), "");
    const char *empty[] = {""};
    const char *nul[] = {NULL};
    CHECK(check_with(empty_signed, empty, 1, 0, &c) == AUTH_BAD_SIGNATURE);
    CHECK(check_with(empty_signed, nul, 1, 0, &c) == AUTH_BAD_SIGNATURE);
    CHECK(check_with(empty_signed, SECRET, 0, 0, &c) == AUTH_BAD_SIGNATURE);
    CHECK(jwt_check(empty_signed, strlen(empty_signed), NULL, 2, 0, NOW, &A, &c) == AUTH_BAD_SIGNATURE);
    CHECK(check_with(empty_signed, SECRET, 1, 0, &c) == AUTH_BAD_SIGNATURE);
    CHECK(c.sub == NULL);
    /* The same with any random signature. */
    CHECK(check_with(hand_token("{\"alg\":\"HS256\"}", "{}", EVP_sha256(), "x"), empty, 1, 0, &c) == AUTH_BAD_SIGNATURE);
}

/* ---- algorithms ------------------------------------------------------------ */

static void test_algorithms(void)
{
    /* alg none, with and without a signature, in any case. */
    CHECK(check1(hand_token("{\"alg\":\"none\"}", "{\"sub\":\"eve\"}", NULL, NULL)) == AUTH_BAD_ALG);
    CHECK(check1(hand_token("{\"alg\":\"none\",\"typ\":\"JWT\"}", "{}", NULL, NULL)) == AUTH_BAD_ALG);
    CHECK(check1(hand_token("{\"alg\":\"None\"}", "{}", NULL, NULL)) == AUTH_BAD_ALG);
    CHECK(check1(hand_token("{\"alg\":\"nOnE\"}", "{}", NULL, NULL)) == AUTH_BAD_ALG);
    CHECK(check1(hand_token("{\"alg\":\"NONE\"}", "{}", EVP_sha256(), SECRET[0])) == AUTH_BAD_ALG);
    CHECK(check1(hand_token("{\"alg\":\"none\"}", "{}", EVP_sha256(), SECRET[0])) == AUTH_BAD_ALG);
    /* Confusion: an asymmetric alg "signed" with the secret as an HMAC key.
     * Names libjwt knows reach our check; the others fail its parse. */
    const char *asym[] = {"RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "rs256"};
    for (int i = 0; i < 7; i++) {
        char hdr[64];
        snprintf(hdr, sizeof hdr, "{\"alg\":\"%s\"}", asym[i]);
        CHECK(check1(hand_token(hdr, "{}", EVP_sha256(), SECRET[0])) == AUTH_BAD_ALG);
        CHECK(check1(hand_token(hdr, "{}", EVP_sha512(), SECRET[0])) == AUTH_BAD_ALG);
    }
    const char *unknown[] = {"PS256", "EdDSA", "HS1", "HS256 ", "", "HS256\\u0000"};
    for (int i = 0; i < 6; i++) {
        char hdr[64];
        snprintf(hdr, sizeof hdr, "{\"alg\":\"%s\"}", unknown[i]);
        CHECK(check1(hand_token(hdr, "{}", EVP_sha256(), SECRET[0])) == AUTH_MALFORMED);
    }
    /* libjwt matches alg names in any case; we do not. */
    CHECK(check1(hand_token("{\"alg\":\"hs256\"}", "{}", EVP_sha256(), SECRET[0])) == AUTH_BAD_ALG);
    CHECK(check1(hand_token("{\"alg\":\"Hs512\"}", "{}", EVP_sha512(), SECRET[0])) == AUTH_BAD_ALG);
    /* alg missing or not a string. */
    enum auth_result r = check1(hand_token("{\"typ\":\"JWT\"}", "{}", EVP_sha256(), SECRET[0]));
    CHECK(r == AUTH_MALFORMED || r == AUTH_BAD_ALG);
    r = check1(hand_token("{\"alg\":256}", "{}", EVP_sha256(), SECRET[0]));
    CHECK(r == AUTH_MALFORMED || r == AUTH_BAD_ALG);
    r = check1(hand_token("{\"alg\":[\"HS256\"]}", "{}", EVP_sha256(), SECRET[0]));
    CHECK(r == AUTH_MALFORMED || r == AUTH_BAD_ALG);
    /* Duplicate members: the check and the verification read the same
     * parse, so the last one wins in both. */
    CHECK(check1(hand_token("{\"alg\":\"HS256\",\"alg\":\"none\"}", "{}", NULL, NULL)) == AUTH_BAD_ALG);
    CHECK(check1(hand_token("{\"alg\":\"none\",\"alg\":\"HS256\"}", "{}", EVP_sha256(), SECRET[0])) == AUTH_OK);
    /* Header and signature algorithms disagree. */
    CHECK(check1(hand_token("{\"alg\":\"HS256\"}", "{}", EVP_sha512(), SECRET[0])) == AUTH_BAD_SIGNATURE);
    CHECK(check1(hand_token("{\"alg\":\"HS512\"}", "{}", EVP_sha256(), SECRET[0])) == AUTH_BAD_SIGNATURE);
    CHECK(check1(hand_token("{\"alg\":\"HS384\"}", "{}", EVP_sha512(), SECRET[0])) == AUTH_BAD_SIGNATURE);
    /* HS256 header with an empty signature. */
    CHECK(check1(hand_token("{\"alg\":\"HS256\"}", "{}", NULL, NULL)) == AUTH_BAD_SIGNATURE);
    /* crit and typ. */
    CHECK(check1(hand_token("{\"alg\":\"HS256\",\"crit\":[\"b64\"],\"b64\":false}", "{}", EVP_sha256(), SECRET[0])) == AUTH_UNSUPPORTED);
    CHECK(check1(hand_token("{\"alg\":\"HS256\",\"crit\":null}", "{}", EVP_sha256(), SECRET[0])) == AUTH_UNSUPPORTED);
    CHECK(check1(hand_token("{\"alg\":\"HS256\",\"crit\":[]}", "{}", EVP_sha256(), SECRET[0])) == AUTH_UNSUPPORTED);
    /* A token minted for something else (DPoP proof, logout token, RFC 9068
     * access token) says so in typ. libjwt refuses the strings itself; the
     * number and null are ours to refuse. */
    const char *bad_typs[] = {"\"JWE\"", "\"dpop+jwt\"", "\"logout+jwt\"", "\"at+jwt\"",
                              "\"application/jwt\"", "\"\"", "\"JWT \"", "\"JW\"",
                              "\"jwtx\"", "5", "null", "[\"JWT\"]", "true"};
    for (int i = 0; i < 13; i++) {
        char hdr[100];
        snprintf(hdr, sizeof hdr, "{\"alg\":\"HS256\",\"typ\":%s}", bad_typs[i]);
        CHECK(check1(hand_token(hdr, "{}", EVP_sha256(), SECRET[0])) == AUTH_MALFORMED);
    }
}

/* ---- signatures -------------------------------------------------------------- */

static void test_signatures(void)
{
    char *tok = hs256("{\"sub\":\"alice\",\"role\":\"user\"}");
    CHECK(check1(tok) == AUTH_OK);
    /* Payload swapped for another, signature kept. */
    char *forged = hand_token("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", "{\"sub\":\"alice\",\"role\":\"admin\"}", EVP_sha256(), "guess");
    char *sig = strrchr(tok, '.');
    char *fsig = strrchr(forged, '.');
    CHECK(strlen(sig) == strlen(fsig));
    memcpy(fsig, sig, strlen(sig));
    CHECK(check1(forged) == AUTH_BAD_SIGNATURE);
    /* One signature character changed, keeping it canonical. */
    char *flip = arena_strndup(&A, tok, strlen(tok));
    char *s = strrchr(flip, '.') + 1;
    s[5] = s[5] == 'A' ? 'B' : 'A';
    CHECK(check1(flip) == AUTH_BAD_SIGNATURE);
    /* Signature truncated or extended by a character. */
    char *cut = arena_strndup(&A, tok, strlen(tok) - 1);
    CHECK(check1(cut) != AUTH_OK);
    char *longer = join3(tok, "", "");
    longer[strlen(tok)] = 'A';
    longer[strlen(tok) + 1] = '\0';
    CHECK(check1(longer) != AUTH_OK);
    /* Non-canonical last character (unused bits set) would decode alike in
     * libjwt's decoder; refused as malformed. 43 characters leave 2 bits. */
    char *odd = arena_strndup(&A, tok, strlen(tok));
    char *last = odd + strlen(odd) - 1;
    static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    int v = (int)(strchr(al, *last) - al);
    *last = al[v | 1];
    CHECK(check1(odd) == AUTH_MALFORMED);
}

/* ---- time claims ----------------------------------------------------------- */

static enum auth_result timed(const char *claims, long leeway)
{
    struct jwt_claims c;
    return check_with(hs256(claims), SECRET, 1, leeway, &c);
}

static void test_times(void)
{
    char p[128];
#define T(fmt, val, lw) (snprintf(p, sizeof p, fmt, (long long)(val)), timed(p, (lw)))
    CHECK(T("{\"exp\":%lld}", NOW + 60, 0) == AUTH_OK);
    CHECK(T("{\"exp\":%lld}", NOW + 1, 0) == AUTH_OK);
    CHECK(T("{\"exp\":%lld}", NOW, 0) == AUTH_EXPIRED);        /* "on or after" */
    CHECK(T("{\"exp\":%lld}", NOW - 10, 0) == AUTH_EXPIRED);
    CHECK(T("{\"exp\":%lld}", NOW - 5, 10) == AUTH_OK);
    CHECK(T("{\"exp\":%lld}", NOW - 9, 10) == AUTH_OK);
    CHECK(T("{\"exp\":%lld}", NOW - 10, 10) == AUTH_EXPIRED);
    CHECK(T("{\"exp\":%lld}", NOW + 1, -100) == AUTH_OK);      /* negative leeway is 0 */
    CHECK(T("{\"exp\":%lld}", NOW, -100) == AUTH_EXPIRED);
    CHECK(T("{\"exp\":%lld}", 0, 0) == AUTH_EXPIRED);
    CHECK(T("{\"exp\":%lld}", -1, 0) == AUTH_EXPIRED);
    CHECK(T("{\"exp\":%lld}", 0, LONG_MAX) == AUTH_OK);
    CHECK(T("{\"exp\":%lld}", INT64_MIN, 0) == AUTH_EXPIRED);
    CHECK(T("{\"exp\":%lld}", INT64_MAX, 0) == AUTH_OK);
    CHECK(T("{\"nbf\":%lld}", NOW + 10, 0) == AUTH_NOT_YET_VALID);
    CHECK(T("{\"nbf\":%lld}", NOW + 1, 0) == AUTH_NOT_YET_VALID);
    CHECK(T("{\"nbf\":%lld}", NOW, 0) == AUTH_OK);
    CHECK(T("{\"nbf\":%lld}", NOW + 10, 10) == AUTH_OK);
    CHECK(T("{\"nbf\":%lld}", NOW + 11, 10) == AUTH_NOT_YET_VALID);
    CHECK(T("{\"nbf\":%lld}", INT64_MAX, LONG_MAX) == AUTH_OK);  /* saturates */
    CHECK(T("{\"nbf\":%lld}", INT64_MAX, 0) == AUTH_NOT_YET_VALID);
    CHECK(T("{\"nbf\":%lld}", INT64_MIN, 0) == AUTH_OK);
    CHECK(T("{\"exp\":%lld,\"nbf\":0}", NOW + 5, 0) == AUTH_OK);
#undef T
    /* now - leeway below the range of long long saturates, never wraps. */
    struct jwt_claims c0;
    char *e0 = hs256("{\"exp\":0}");
    CHECK(jwt_check(e0, strlen(e0), SECRET, 1, LONG_MAX, (time_t)-100, &A, &c0) == AUTH_OK);
    /* Present but not an integer: refused, not read as absent or as 0. */
    const char *bad[] = {
        "{\"exp\":\"123\"}", "{\"exp\":\"9999999999\"}", "{\"exp\":1.5}", "{\"exp\":1.0}",
        "{\"exp\":9999999999.0}", "{\"exp\":1e11}", "{\"exp\":true}", "{\"exp\":null}",
        "{\"exp\":[1]}", "{\"exp\":{}}", "{\"nbf\":\"0\"}", "{\"nbf\":0.0}", "{\"nbf\":null}",
        "{\"exp\":9999999999,\"nbf\":\"1\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        enum auth_result r = timed(bad[i], 0);
        CHECK(r == AUTH_BAD_CLAIM);
        if (r != AUTH_BAD_CLAIM)
            fprintf(stderr, "     claim %s -> %s\n", bad[i], auth_result_name(r));
    }
    /* Beyond 64 bits: jansson refuses the whole payload. */
    CHECK(timed("{\"exp\":99999999999999999999}", 0) == AUTH_MALFORMED);
    /* Time is judged only after the signature: a forged expired token is
     * a bad signature, not "expired". */
    char *exp_forged = hand_token("{\"alg\":\"HS256\"}", "{\"exp\":1}", EVP_sha256(), "guess");
    CHECK(check1(exp_forged) == AUTH_BAD_SIGNATURE);
    char *str_forged = hand_token("{\"alg\":\"HS256\"}", "{\"exp\":\"x\"}", EVP_sha256(), "guess");
    CHECK(check1(str_forged) == AUTH_BAD_SIGNATURE);
    /* A libjwt-minted expired token, with claims left empty. */
    struct jwt_claims c = {.sub = "junk", .role = "junk"};
    CHECK(check_with(lib_token(JWT_ALG_HS512, SECRET[0], "al", "r", NOW - 1), SECRET, 1, 0, &c) == AUTH_EXPIRED);
    CHECK(c.sub == NULL && c.role == NULL);
}

/* ---- shape ------------------------------------------------------------------ */

static void test_shape(void)
{
    char *good = hs256("{}");
    CHECK(check1(good) == AUTH_OK);
    const char *bad[] = {
        "", ".", "..", "...", "a.b", "a", "e30.e30", "e30.e30.e30.e30",
        "eyJhbGciOiJub25lIn0.e30..",
        "eyJhbGciOiJIUzI1NiJ9..e30", ".e30.e30",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(check1(bad[i]) == AUTH_MALFORMED);
    /* A fourth part or a trailing dot after a valid token. */
    CHECK(check1(join3(good, "", "")) == AUTH_MALFORMED);
    char *four = join3(good, "e30", "");
    four[strlen(four) - 1] = '\0';
    CHECK(check1(four) == AUTH_MALFORMED);
    /* Characters outside base64url anywhere: libb64 would skip them. */
    const char *junk = "!+/= \x80*";
    for (const char *j = junk; *j; j++) {
        for (int part = 0; part < 3; part++) {
            size_t n = strlen(good);
            char *t = arena_alloc(&A, n + 2);
            const char *dot = good;
            for (int k = 0; k < part; k++)
                dot = strchr(dot, '.') + 1;
            size_t at = (size_t)(dot - good) + 1;          /* inside the part */
            memcpy(t, good, at);
            t[at] = *j;
            memcpy(t + at + 1, good + at, n - at + 1);
            CHECK(check1(t) == AUTH_MALFORMED);
        }
    }
    /* Padding, though base64 allows it, is not base64url in a JWS. */
    char *h = b64url("{\"alg\":\"HS256\"}", 15);             /* 20 chars: "=" fits */
    CHECK(strlen(h) % 4 == 0);
    CHECK(check1(raw_token(h, "e30", EVP_sha256(), SECRET[0])) == AUTH_OK);
    CHECK(check1(raw_token(h, "e30=", EVP_sha256(), SECRET[0])) == AUTH_MALFORMED);
    CHECK(check1(raw_token(h, "e30==", EVP_sha256(), SECRET[0])) == AUTH_MALFORMED);
    char *padded = arena_strndup(&A, good, strlen(good));
    padded = join3(padded, "", "");
    padded[strlen(padded) - 2] = '=';
    padded[strlen(padded) - 1] = '\0';
    CHECK(check1(padded) == AUTH_MALFORMED);
    /* Non-canonical spelling of "{}" ("e31" decodes alike in libb64). */
    CHECK(check1(raw_token(h, "e31", EVP_sha256(), SECRET[0])) == AUTH_MALFORMED);
    /* A segment one character past a multiple of four is never base64. */
    CHECK(check1(raw_token(h, "e30aa", EVP_sha256(), SECRET[0])) == AUTH_MALFORMED);
    /* Embedded NUL inside tok_len. */
    struct jwt_claims c;
    size_t n = strlen(good);
    char *nul = arena_strndup(&A, good, n);
    nul[3] = '\0';
    CHECK(jwt_check(nul, n, SECRET, 1, 0, NOW, &A, &c) == AUTH_MALFORMED);
    CHECK(jwt_check(good, 0, SECRET, 1, 0, NOW, &A, &c) == AUTH_MALFORMED);
    CHECK(jwt_check(NULL, 0, SECRET, 1, 0, NOW, &A, &c) == AUTH_MALFORMED);
    /* Over CG_MAX_TOKEN, even when otherwise valid. */
    char pay[CG_MAX_TOKEN];
    memset(pay, 0, sizeof pay);
    memcpy(pay, "{\"sub\":\"", 8);
    memset(pay + 8, 'x', 6200);
    memcpy(pay + 8 + 6200, "\"}", 3);
    char *big = hs256(pay);
    CHECK(strlen(big) > CG_MAX_TOKEN);
    CHECK(check1(big) == AUTH_MALFORMED);
    pay[8 + 5000] = '"';
    pay[8 + 5001] = '}';
    pay[8 + 5002] = '\0';
    big = hs256(pay);
    CHECK(strlen(big) <= CG_MAX_TOKEN);
    CHECK(check1(big) == AUTH_OK);
    /* JSON that is not a JSON object. */
    CHECK(check1(hs256("[1]")) == AUTH_MALFORMED);
    CHECK(check1(hs256("[{\"sub\":\"a\"}]")) == AUTH_MALFORMED);
    CHECK(check1(hs256("\"x\"")) == AUTH_MALFORMED);
    CHECK(check1(hs256("1")) == AUTH_MALFORMED);
    CHECK(check1(hs256("null")) == AUTH_MALFORMED);
    CHECK(check1(hs256("{} x")) == AUTH_MALFORMED);
    CHECK(check1(hs256("{\"sub\":\"a\\u0000b\"}")) == AUTH_MALFORMED);
    CHECK(check1(hs256("{\"sub\":\"\xff\"}")) == AUTH_MALFORMED);
    CHECK(check1(hs256("{/*c*/}")) == AUTH_MALFORMED);
    CHECK(check1(hand_token("[\"HS256\"]", "{}", EVP_sha256(), SECRET[0])) == AUTH_MALFORMED);
    CHECK(check1(hand_token("{\"alg\":\"HS256\"", "{}", EVP_sha256(), SECRET[0])) == AUTH_MALFORMED);
}

/* ---- memory ------------------------------------------------------------------ */

static void test_memory(void)
{
    char *good = hs256("{\"sub\":\"alice\"}");
    struct arena tiny;
    arena_init(&tiny, 1);
    struct jwt_claims c = {.sub = "junk", .role = "junk"};
    CHECK(jwt_check(good, strlen(good), SECRET, 1, 0, NOW, &tiny, &c) == AUTH_INTERNAL);
    CHECK(c.sub == NULL && c.role == NULL);
    arena_free(&tiny);
    /* Many checks, each freeing its libjwt objects (LeakSanitizer watches). */
    for (int i = 0; i < 200; i++) {
        CHECK(check1(good) == AUTH_OK);
        CHECK(check1(hand_token("{\"alg\":\"none\"}", "{}", NULL, NULL)) == AUTH_BAD_ALG);
    }
}

int main(void)
{
    arena_init(&A, 0);
    test_header();
    test_names();
    test_valid();
    test_secrets();
    test_algorithms();
    test_signatures();
    test_times();
    test_shape();
    test_memory();
    arena_free(&A);
    return unit_report("jwt");
}
