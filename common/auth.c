#include "auth.h"

#include <pthread.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "jwt_cache.h"

/* The compare runs over HMAC-SHA256 values under a key drawn once per
 * process: both sides become 32 bytes whatever their lengths, and the key
 * keeps a caller from choosing inputs whose MACs share a prefix with the
 * configured token's. A byte-wise compare of the raw strings, even one
 * that walks the longer length, takes time that grows with the token's
 * length, which a caller can measure by sending longer guesses. */
static unsigned char mac_key[32];
static pthread_once_t mac_key_once = PTHREAD_ONCE_INIT;
static int mac_key_ok;

static void make_mac_key(void)
{
    mac_key_ok = getrandom(mac_key, sizeof mac_key, 0) == (ssize_t)sizeof mac_key ||
                 RAND_bytes(mac_key, (int)sizeof mac_key) == 1;
}

static int token_mac(const char *s, size_t n, unsigned char out[32])
{
    unsigned int len = 0;
    return HMAC(EVP_sha256(), mac_key, (int)sizeof mac_key, (const unsigned char *)s, n, out,
                &len) != NULL && len == 32;
}

int auth_equal_ct(const char *a, size_t an, const char *b, size_t bn)
{
    pthread_once(&mac_key_once, make_mac_key);
    unsigned char ma[32], mb[32];
    /* Fails closed: without a key or a MAC nothing is equal. */
    int ok = mac_key_ok && token_mac(a, an, ma) && token_mac(b, bn, mb) &&
             CRYPTO_memcmp(ma, mb, sizeof ma) == 0;
    OPENSSL_cleanse(ma, sizeof ma);
    OPENSSL_cleanse(mb, sizeof mb);
    return ok;
}

static int static_token_matches(const struct auth_settings *cfg, const char *tok, size_t n)
{
    const char *tokens[2] = {cfg->auth_token, cfg->expiring_auth_token};
    int ok = 0;
    for (int i = 0; i < 2; i++)      /* both compared: no early exit to time */
        if (tokens[i])
            ok |= auth_equal_ct(tok, n, tokens[i], strlen(tokens[i]));
    return ok;
}

enum auth_result auth_check(const struct auth_settings *cfg, const char *authorization,
                            const char *remote_user, time_t now, struct arena *a,
                            const char **subject, struct jwt_claims *claims)
{
    memset(claims, 0, sizeof *claims);
    *subject = NULL;
    if (cfg->remote_user) {
        if (!remote_user || !*remote_user)
            return AUTH_MISSING;
        *subject = remote_user;
        return AUTH_OK;
    }
    const char *tok;
    size_t n;
    enum auth_result r = auth_bearer_token(authorization, &tok, &n);
    if (r != AUTH_OK)
        return r;
    if ((cfg->auth_token || cfg->expiring_auth_token) && static_token_matches(cfg, tok, n)) {
        *subject = "static-token";
        return AUTH_OK;
    }
    const char *secrets[2] = {cfg->jwt_secret, cfg->expiring_jwt_secret};
    if (!secrets[0] && !secrets[1])
        return AUTH_BAD_SIGNATURE;    /* only static tokens are configured */
    r = jwt_cache_check(tok, n, secrets, 2, cfg->jwt_leeway, now, a, claims);
    if (r == AUTH_OK)
        *subject = claims->sub;
    return r;
}
