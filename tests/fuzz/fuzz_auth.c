/* Fuzz target: the Authorization header and the JWT check
 * (common/auth/auth_header.c, jwt_check.c, jwt_cache.c,
 * auth.c).
 *
 * Input: one byte choosing the settings (bits below), then the header
 * value. The same bytes are also given to jwt_check directly as a token,
 * NULs and all.
 *   bit 0  JWT_SECRET set          bit 1  EXPIRING_JWT_SECRET set
 *   bit 2  AUTH_TOKEN set          bit 3  EXPIRING_AUTH_TOKEN set
 *   bit 4  AUTH_MODE=remote-user (the value is then the REMOTE_USER)
 *   bit 5  JWT_LEEWAY 86400 instead of 0
 *   bit 6  an unset secret is "" rather than NULL (never a usable key)
 *   bit 7  "now" is 2100-01-01 instead of 2023-11-14
 *
 * Invariants beyond "no crash, no leak, no UB":
 *  - a bearer token found in the header lies inside it, is 1 to
 *    CG_MAX_TOKEN printable bytes without spaces;
 *  - AUTH_OK for a JWT, and every verdict that is only reached after the
 *    signature was verified (expired, not yet valid, bad claim), needs a
 *    token whose HMAC the target recomputes itself with OpenSSL: the
 *    fuzzer cannot forge one, so anything else is a bypass;
 *  - a static token is accepted exactly when it is the configured one;
 *  - the JWT cache (jwt_cache.c) answers as jwt_check does, claims too. */
#include <string.h>
#include <time.h>

#include "base/arena.h"
#include "auth/auth.h"
#include "auth/auth_header.h"
#include "base/cg_limits.h"
#include "fuzz_check.h"
#include "auth/jwt_cache.h"
#include "auth/jwt_check.h"
#include "jwt_oracle.h"

/* make_seeds.py signs the seed tokens with these. The second is longer
 * than SHA-256's block, so HMAC hashes it first. */
#define SECRET_1 "fuzz-secret-one"
#define SECRET_2 "fuzz-secret-two-longer-than-one-sha256-block-of-sixty-four-bytes-0123"
#define TOKEN_1 "fuzz-static-token-1"
#define TOKEN_2 "fuzz-static-token-2"

static struct arena arena;
static char header[CG_MAX_AUTH_HEADER + 256];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    arena_init(&arena, 1u << 20);
    return 0;
}

static int in_enum(enum auth_result r)
{
    return (unsigned)r < AUTH_RESULT_COUNT && strcmp(auth_result_name(r), "unknown") != 0;
}

static int same_text(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

static int after_verification(enum auth_result r)
{
    return r == AUTH_EXPIRED || r == AUTH_NOT_YET_VALID || r == AUTH_BAD_CLAIM;
}

static void check_bearer(const char *h, enum auth_result r, const char *tok, size_t n)
{
    FUZZ_CHECK(r == AUTH_OK || r == AUTH_MISSING || r == AUTH_BAD_HEADER, auth_result_name(r));
    if (r != AUTH_OK) {
        FUZZ_CHECK(tok == NULL && n == 0, "a token handed back with a refusal");
        return;
    }
    size_t hn = strlen(h);
    FUZZ_CHECK(tok >= h && tok + n <= h + hn, "the token is not inside the header");
    FUZZ_CHECK(n >= 1 && n <= CG_MAX_TOKEN, "token length out of bounds");
    for (size_t i = 0; i < n; i++)
        FUZZ_CHECK(tok[i] > ' ' && tok[i] < 0x7f, "a space or control byte in the token");
}

/* Whether the header's token is exactly one of the static tokens. */
static int is_static(const char *tok, size_t n, const struct auth_settings *s)
{
    const char *t[2] = {s->auth_token, s->expiring_auth_token};
    for (int i = 0; i < 2; i++)
        if (t[i] && strlen(t[i]) == n && memcmp(t[i], tok, n) == 0)
            return 1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size - 1 >= sizeof header)
        return 0;
    uint8_t cfg = data[0];
    const char *unset = (cfg & 64) ? "" : NULL;
    struct auth_settings s = {
        .jwt_secret = (cfg & 1) ? SECRET_1 : unset,
        .expiring_jwt_secret = (cfg & 2) ? SECRET_2 : unset,
        .auth_token = (cfg & 4) ? TOKEN_1 : NULL,
        .expiring_auth_token = (cfg & 8) ? TOKEN_2 : NULL,
        .remote_user = (cfg & 16) != 0,
        .jwt_leeway = (cfg & 32) ? 86400 : 0,
    };
    time_t now = (cfg & 128) ? (time_t)4102444800 : (time_t)1700000000;
    const char *secrets[2] = {s.jwt_secret, s.expiring_jwt_secret};
    const char *raw = (const char *)data + 1;
    size_t raw_n = size - 1;
    memcpy(header, raw, raw_n);
    header[raw_n] = '\0';

    /* The header parser alone. */
    const char *tok;
    size_t tok_n;
    enum auth_result rb = auth_bearer_token(header, &tok, &tok_n);
    check_bearer(header, rb, tok, tok_n);

    /* The JWT check alone, on the raw bytes. */
    struct jwt_claims claims;
    enum auth_result rj = jwt_check(raw, raw_n, secrets, 2, s.jwt_leeway, now, &arena, &claims);
    FUZZ_CHECK(in_enum(rj), "verdict outside the enum");
    if (rj == AUTH_OK || after_verification(rj))
        FUZZ_CHECK(jwt_oracle_signed(raw, raw_n, secrets, 2),
                   "jwt_check verified a token that is not signed with a secret");
    if (rj != AUTH_OK)
        FUZZ_CHECK(claims.sub == NULL && claims.role == NULL, "claims left with a refusal");
    /* The per-thread memory of verified tokens must answer the same, hit
     * or miss (the seeds' valid tokens keep coming back, so it hits). */
    struct jwt_claims cached;
    enum auth_result rc = jwt_cache_check(raw, raw_n, secrets, 2, s.jwt_leeway, now, &arena,
                                          &cached);
    FUZZ_CHECK(rc == rj, "jwt_cache_check and jwt_check disagree");
    FUZZ_CHECK(same_text(cached.sub, claims.sub) && same_text(cached.role, claims.role),
               "jwt_cache_check and jwt_check give other claims");
    arena_reset(&arena);

    /* The whole check, as the gateway makes it. */
    const char *subject;
    enum auth_result ra = auth_check(&s, header, header, now, &arena, &subject, &claims);
    FUZZ_CHECK(in_enum(ra), "verdict outside the enum");
    if (s.remote_user) {
        FUZZ_CHECK((ra == AUTH_OK) == (header[0] != '\0'), auth_result_name(ra));
        FUZZ_CHECK(ra != AUTH_OK || subject == header, "remote user not the subject");
    } else if (rb != AUTH_OK) {
        FUZZ_CHECK(ra == rb, "auth_check and auth_bearer_token disagree");
    } else if (is_static(tok, tok_n, &s)) {
        FUZZ_CHECK(ra == AUTH_OK && subject && strcmp(subject, "static-token") == 0,
                   "a configured static token was refused");
    } else {
        if (ra == AUTH_OK || after_verification(ra))
            FUZZ_CHECK(jwt_oracle_signed(tok, tok_n, secrets, 2),
                       "auth_check accepted a token that is neither static nor signed");
        if (ra == AUTH_OK)
            FUZZ_CHECK(subject == claims.sub, "the subject is not the token's sub");
    }
    arena_reset(&arena);
    return 0;
}
