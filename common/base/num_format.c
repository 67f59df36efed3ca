#include "base/num_format.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char digit_pairs[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

size_t num_format_u64(char *out, uint64_t v)
{
    char tmp[24];
    char *p = tmp + sizeof tmp;
    while (v >= 100) {
        unsigned i = (unsigned)(v % 100) * 2;
        v /= 100;
        *--p = digit_pairs[i + 1];
        *--p = digit_pairs[i];
    }
    if (v >= 10) {
        *--p = digit_pairs[v * 2 + 1];
        *--p = digit_pairs[v * 2];
    } else {
        *--p = (char)('0' + v);
    }
    size_t n = (size_t)(tmp + sizeof tmp - p);
    memcpy(out, p, n);
    return n;
}

size_t num_format_i64(char *out, int64_t v)
{
    if (v >= 0)
        return num_format_u64(out, (uint64_t)v);
    out[0] = '-';
    return 1 + num_format_u64(out + 1, (uint64_t)0 - (uint64_t)v);
}

/* Lays out significant digits `dig` (n of them, value = 0.dig × 10^(exp10))
 * in protojson's style. `exp10` here is the position of the decimal point:
 * the value is d1.d2... × 10^(point-1). */
static size_t layout(char *out, bool neg, const char *dig, int n, int point)
{
    char *o = out;
    if (neg)
        *o++ = '-';
    int e = point - 1;                 /* scientific exponent */
    if (e >= -6 && e < 21) {
        if (point <= 0) {
            *o++ = '0';
            *o++ = '.';
            for (int i = point; i < 0; i++)
                *o++ = '0';
            memcpy(o, dig, (size_t)n);
            o += n;
        } else if (point >= n) {
            memcpy(o, dig, (size_t)n);
            o += n;
            for (int i = n; i < point; i++)
                *o++ = '0';
        } else {
            memcpy(o, dig, (size_t)point);
            o += point;
            *o++ = '.';
            memcpy(o, dig + point, (size_t)(n - point));
            o += n - point;
        }
        return (size_t)(o - out);
    }
    *o++ = dig[0];
    if (n > 1) {
        *o++ = '.';
        memcpy(o, dig + 1, (size_t)(n - 1));
        o += n - 1;
    }
    *o++ = 'e';
    if (e < 0) {
        *o++ = '-';
        e = -e;
    } else {
        *o++ = '+';
        if (e < 10)
            *o++ = '0';                /* Go pads positive exponents to two */
    }
    o += num_format_u64(o, (uint64_t)e);
    return (size_t)(o - out);
}

/* Splits "%.*e" output ("-d.ddde-XX") into digits and decimal point. */
static size_t layout_from_e(char *out, const char *txt)
{
    bool neg = txt[0] == '-';
    const char *p = txt + neg;
    char dig[24];
    int n = 0;
    for (; *p && *p != 'e'; p++)
        if (*p != '.')
            dig[n++] = *p;
    int e = atoi(p + 1);
    while (n > 1 && dig[n - 1] == '0')
        n--;
    return layout(out, neg, dig, n, e + 1);
}

/* Integral values print exactly; below 2^53 (2^24 for float) the integer is
 * also the shortest form, since neighbouring values are at most 1 apart. */
static size_t integral(char *out, double v)
{
    if (v == 0)
        return signbit(v) ? (memcpy(out, "-0", 2), 2) : (out[0] = '0', 1);
    return num_format_i64(out, (int64_t)v);
}

size_t num_format_double(char *out, double v)
{
    /* Range first: converting an out-of-range double to an integer is UB. */
    if (fabs(v) < 9007199254740992.0 && v == (double)(int64_t)v)
        return integral(out, v);
    char txt[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(txt, sizeof txt, "%.*e", prec - 1, v);
        if (prec == 17 || strtod(txt, NULL) == v)
            break;
    }
    return layout_from_e(out, txt);
}

size_t num_format_float(char *out, float v)
{
    if (fabsf(v) < 16777216.0f && v == (float)(int32_t)v)
        return integral(out, (double)v);
    char txt[40];
    for (int prec = 1; prec <= 9; prec++) {
        snprintf(txt, sizeof txt, "%.*e", prec - 1, (double)v);
        if (prec == 9 || strtof(txt, NULL) == v)
            break;
    }
    return layout_from_e(out, txt);
}
