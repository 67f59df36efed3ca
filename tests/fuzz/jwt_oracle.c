#include "jwt_oracle.h"

#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

static size_t b64url(char *out, const unsigned char *in, size_t n)
{
    static const char abc[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0;
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        acc = (acc << 8) | in[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out[o++] = abc[(acc >> bits) & 63];
        }
    }
    if (bits > 0)
        out[o++] = abc[(acc << (6 - bits)) & 63];
    return o;
}

int jwt_oracle_signed(const char *tok, size_t n, const char *const *secrets, size_t n_secrets)
{
    const char *d1 = memchr(tok, '.', n);
    const char *d2 = d1 ? memchr(d1 + 1, '.', n - (size_t)(d1 + 1 - tok)) : NULL;
    if (!d2)
        return 0;
    const char *sig = d2 + 1;
    size_t sig_n = n - (size_t)(sig - tok);
    size_t signed_n = (size_t)(d2 - tok);
    const EVP_MD *mds[3] = {EVP_sha256(), EVP_sha384(), EVP_sha512()};
    for (size_t s = 0; s < n_secrets; s++) {
        if (!secrets[s] || !secrets[s][0])
            continue;
        for (int m = 0; m < 3; m++) {
            unsigned char mac[EVP_MAX_MD_SIZE];
            unsigned mac_n = 0;
            if (!HMAC(mds[m], secrets[s], (int)strlen(secrets[s]),
                      (const unsigned char *)tok, signed_n, mac, &mac_n))
                continue;
            char enc[2 * EVP_MAX_MD_SIZE];
            size_t enc_n = b64url(enc, mac, mac_n);
            if (enc_n == sig_n && memcmp(enc, sig, sig_n) == 0)
                return 1;
        }
    }
    return 0;
}
