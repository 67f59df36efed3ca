#include "base/base64.h"

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void base64_encode(char *out, const uint8_t *in, size_t n)
{
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        *out++ = alphabet[v >> 18];
        *out++ = alphabet[(v >> 12) & 63];
        *out++ = alphabet[(v >> 6) & 63];
        *out++ = alphabet[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        *out++ = alphabet[v >> 18];
        *out++ = alphabet[(v >> 12) & 63];
        *out++ = '=';
        *out++ = '=';
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        *out++ = alphabet[v >> 18];
        *out++ = alphabet[(v >> 12) & 63];
        *out++ = alphabet[(v >> 6) & 63];
        *out++ = '=';
    }
}

/* Value of a character in either alphabet, or -1. */
static int sextet(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
}

/* Strips the padding of in[0..*n); -1 when what is left cannot be base64
 * (padding that does not make whole quads, or a lone trailing sextet). */
static int unpad(const char *in, size_t *n)
{
    size_t pad = 0;
    while (pad < 2 && *n > 0 && in[*n - 1] == '=') {
        (*n)--;
        pad++;
    }
    if (pad && (*n + pad) % 4 != 0)
        return -1;
    return *n % 4 == 1 ? -1 : 0;
}

int base64_decoded_len(const char *in, size_t n, size_t *outlen)
{
    if (unpad(in, &n) != 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (sextet((unsigned char)in[i]) < 0)
            return -1;
    *outlen = n * 6 / 8;
    return 0;
}

int base64_decode(const char *in, size_t n, uint8_t *out, size_t *outlen)
{
    if (unpad(in, &n) != 0)
        return -1;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = sextet((unsigned char)in[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    *outlen = o;
    return 0;
}
