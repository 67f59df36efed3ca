#include "json_valid.h"

#include <stdint.h>

struct jv {
    const unsigned char *p, *end;
    int depth;
};

static void ws(struct jv *v)
{
    while (v->p < v->end && (*v->p == ' ' || *v->p == '\t' || *v->p == '\n' || *v->p == '\r'))
        v->p++;
}

static int is_hex(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* \uXXXX at p (the backslash); -1 if it is not one. */
static long unit_at(const unsigned char *p, const unsigned char *end)
{
    if (end - p < 6 || p[0] != '\\' || p[1] != 'u')
        return -1;
    long u = 0;
    for (int i = 2; i < 6; i++) {
        if (!is_hex(p[i]))
            return -1;
        u = u * 16 + (p[i] <= '9' ? p[i] - '0' : (p[i] | 0x20) - 'a' + 10);
    }
    return u;
}

/* Length of the UTF-8 sequence at p (RFC 3629 table 3.7), 0 if invalid. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
    unsigned char c = p[0];
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF;     /* range of the second byte */
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;           /* no encoded surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else {
        return 0;
    }
    if ((size_t)(end - p) < len || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (p[i] < 0x80 || p[i] > 0xBF)
            return 0;
    return len;
}

static int string(struct jv *v)
{
    v->p++;                                  /* the opening quote */
    while (v->p < v->end) {
        unsigned char c = *v->p;
        if (c == '"') {
            v->p++;
            return 1;
        }
        if (c < 0x20)
            return 0;
        if (c == '\\') {
            if (v->end - v->p < 2)
                return 0;
            unsigned char e = v->p[1];
            if (e == 'u') {
                long u = unit_at(v->p, v->end);
                if (u < 0 || (u >= 0xDC00 && u <= 0xDFFF))
                    return 0;
                v->p += 6;
                if (u >= 0xD800 && u <= 0xDBFF) {
                    long lo = unit_at(v->p, v->end);
                    if (lo < 0xDC00 || lo > 0xDFFF)
                        return 0;
                    v->p += 6;
                }
                continue;
            }
            if (e != '"' && e != '\\' && e != '/' && e != 'b' && e != 'f' && e != 'n' &&
                e != 'r' && e != 't')
                return 0;
            v->p += 2;
            continue;
        }
        if (c < 0x80) {
            v->p++;
            continue;
        }
        size_t k = utf8_len(v->p, v->end);
        if (!k)
            return 0;
        v->p += k;
    }
    return 0;
}

static int digits(struct jv *v)
{
    const unsigned char *s = v->p;
    while (v->p < v->end && *v->p >= '0' && *v->p <= '9')
        v->p++;
    return v->p > s;
}

static int number(struct jv *v)
{
    if (v->p < v->end && *v->p == '-')
        v->p++;
    if (v->p >= v->end)
        return 0;
    if (*v->p == '0')
        v->p++;
    else if (!digits(v))
        return 0;
    if (v->p < v->end && *v->p == '.') {
        v->p++;
        if (!digits(v))
            return 0;
    }
    if (v->p < v->end && (*v->p == 'e' || *v->p == 'E')) {
        v->p++;
        if (v->p < v->end && (*v->p == '+' || *v->p == '-'))
            v->p++;
        if (!digits(v))
            return 0;
    }
    return 1;
}

static int literal(struct jv *v, const char *lit)
{
    for (; *lit; lit++, v->p++)
        if (v->p >= v->end || *v->p != (unsigned char)*lit)
            return 0;
    return 1;
}

static int value(struct jv *v);

/* An object or array, its opening character at v->p. */
static int container(struct jv *v)
{
    unsigned char close = *v->p == '{' ? '}' : ']';
    if (++v->depth > JSON_VALID_DEPTH)
        return 0;
    v->p++;
    ws(v);
    if (v->p < v->end && *v->p == close) {
        v->p++;
        v->depth--;
        return 1;
    }
    for (;;) {
        ws(v);
        if (close == '}') {
            if (v->p >= v->end || *v->p != '"' || !string(v))
                return 0;
            ws(v);
            if (v->p >= v->end || *v->p != ':')
                return 0;
            v->p++;
        }
        if (!value(v))
            return 0;
        ws(v);
        if (v->p < v->end && *v->p == ',') {
            v->p++;
            continue;
        }
        if (v->p < v->end && *v->p == close) {
            v->p++;
            v->depth--;
            return 1;
        }
        return 0;
    }
}

static int value(struct jv *v)
{
    ws(v);
    if (v->p >= v->end)
        return 0;
    switch (*v->p) {
    case '{':
    case '[':
        return container(v);
    case '"':
        return string(v);
    case 't':
        return literal(v, "true");
    case 'f':
        return literal(v, "false");
    case 'n':
        return literal(v, "null");
    default:
        return number(v);
    }
}

int json_valid(const char *s, size_t n, size_t *at)
{
    struct jv v = {(const unsigned char *)s, (const unsigned char *)s + n, 0};
    int ok = value(&v);
    if (ok) {
        ws(&v);
        ok = v.p == v.end;
    }
    if (!ok && at)
        *at = (size_t)((const char *)v.p - s);
    return ok;
}
