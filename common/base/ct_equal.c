#include "base/ct_equal.h"

#include <pthread.h>
#include <sys/random.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

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

int ct_equal(const char *a, size_t an, const char *b, size_t bn)
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
