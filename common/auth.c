#include "auth.h"

#include <pthread.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "jwt_cache.h"

/* The compare runs over HMAC-SHA256 values under a key drawn once per
 * process: both sides become 32 bytes whatever their lengths, and the key
 * keeps a caller from choosing inputs whose MACs share a prefix with the
 * configured token's. A byte-wise compare of the raw strings, even one
 * that walks the longer length, takes time that grows with the token's
 * length, which a caller can measure by sending longer guesses.
 *
 * HMAC is spelt out over SHA-256 states that have absorbed the padded key
 * once (the ipad and opad blocks): OpenSSL's one-shot HMAC() looks the
 * algorithm up on every call, several microseconds a request. */
static EVP_MD_CTX *mac_inner, *mac_outer;
static pthread_once_t mac_once = PTHREAD_ONCE_INIT;
static int mac_ready;

static void mac_setup(void)
{
    unsigned char key[64] = {0}, pad[64];
    if (getrandom(key, 32, 0) != 32 && RAND_bytes(key, 32) != 1)
        return;
    const EVP_MD *md = EVP_sha256();
    mac_inner = EVP_MD_CTX_new();
    mac_outer = EVP_MD_CTX_new();
    int ok = md && mac_inner && mac_outer;
    for (int i = 0; i < 64; i++)
        pad[i] = key[i] ^ 0x36;
    ok = ok && EVP_DigestInit_ex(mac_inner, md, NULL) && EVP_DigestUpdate(mac_inner, pad, 64);
    for (int i = 0; i < 64; i++)
        pad[i] = key[i] ^ 0x5c;
    ok = ok && EVP_DigestInit_ex(mac_outer, md, NULL) && EVP_DigestUpdate(mac_outer, pad, 64);
    OPENSSL_cleanse(key, sizeof key);
    OPENSSL_cleanse(pad, sizeof pad);
    mac_ready = ok;
}

static int token_mac(EVP_MD_CTX *work, const char *s, size_t n, unsigned char out[32])
{
    unsigned char in[32];
    unsigned int len = 0;
    return EVP_MD_CTX_copy_ex(work, mac_inner) && EVP_DigestUpdate(work, s, n) &&
           EVP_DigestFinal_ex(work, in, &len) && len == 32 &&
           EVP_MD_CTX_copy_ex(work, mac_outer) && EVP_DigestUpdate(work, in, 32) &&
           EVP_DigestFinal_ex(work, out, &len) && len == 32;
}

int auth_equal_ct(const char *a, size_t an, const char *b, size_t bn)
{
    pthread_once(&mac_once, mac_setup);
    unsigned char ma[32], mb[32];
    EVP_MD_CTX *work = mac_ready ? EVP_MD_CTX_new() : NULL;
    /* Fails closed: without a key or a MAC nothing is equal. */
    int ok = work && token_mac(work, a, an, ma) && token_mac(work, b, bn, mb) &&
             CRYPTO_memcmp(ma, mb, sizeof ma) == 0;
    EVP_MD_CTX_free(work);
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
