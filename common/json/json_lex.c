#include "json/json_lex.h"

#include <stdint.h>
#include <string.h>

#include "base/utf8.h"

const char *jlex_err_text(enum jlex_err e)
{
    switch (e) {
    case JLEX_OK: return "no error";
    case JLEX_UNTERMINATED: return "unterminated string";
    case JLEX_CONTROL: return "control character in string";
    case JLEX_BAD_U: return "invalid \\u escape";
    case JLEX_LONE_LOW: return "lone low surrogate in \\u escape";
    case JLEX_LONE_HIGH: return "lone high surrogate in \\u escape";
    case JLEX_BAD_ESCAPE: return "invalid escape in string";
    case JLEX_BAD_UTF8: return "invalid UTF-8 in string";
    }
    return "invalid string";
}

static int hex4(const char *p, uint32_t *v)
{
    uint32_t x = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        x <<= 4;
        if (c >= '0' && c <= '9') x |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f') x |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') x |= (uint32_t)(c - 'A' + 10);
        else return -1;
    }
    *v = x;
    return 0;
}

static bool is_low_surrogate(uint32_t v) { return v >= 0xDC00 && v <= 0xDFFF; }
static bool is_high_surrogate(uint32_t v) { return v >= 0xD800 && v <= 0xDBFF; }

static size_t utf8_len(uint32_t cp)
{
    return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

/* Checks the escape at p (its backslash); returns its length in the body
 * and adds its decoded length to *len, or returns 0 and sets *err. */
static size_t check_escape(const char *p, const char *end, size_t *len, enum jlex_err *err)
{
    char e = p[1];
    if (e != 'u') {
        if (e == '\0' || !strchr("\"\\/bfnrt", e)) {
            *err = JLEX_BAD_ESCAPE;
            return 0;
        }
        *len += 1;
        return 2;
    }
    uint32_t v, lo;
    if (end - p < 6 || hex4(p + 2, &v) != 0) {
        *err = JLEX_BAD_U;
        return 0;
    }
    if (is_low_surrogate(v)) {
        *err = JLEX_LONE_LOW;
        return 0;
    }
    if (!is_high_surrogate(v)) {
        *len += utf8_len(v);
        return 6;
    }
    if (end - p < 12 || p[6] != '\\' || p[7] != 'u' || hex4(p + 8, &lo) != 0 ||
        !is_low_surrogate(lo)) {
        *err = JLEX_LONE_HIGH;
        return 0;
    }
    *len += 4;
    return 12;
}

/* 1 for the bytes a string may hold as they are: printable ASCII but the
 * quote and the backslash. */
static const unsigned char plain_char[256] = {
    [0x20 ... 0x21] = 1, [0x23 ... 0x5B] = 1, [0x5D ... 0x7F] = 1,
};

enum jlex_err jlex_string(const char **pp, const char *end, struct jstr *s)
{
    const char *open = *pp, *p = open + 1;
    size_t len = 0;
    bool escaped = false;
    enum jlex_err err = JLEX_OK;
    for (;;) {
        /* Most of a string is printable ASCII, taken in one run. */
        const char *run = p;
        while (p < end && plain_char[(unsigned char)*p])
            p++;
        len += (size_t)(p - run);
        if (p >= end) {
            *pp = p;
            return JLEX_UNTERMINATED;
        }
        unsigned char c = (unsigned char)*p;
        if (c == '"')
            break;
        if (c < 0x20) {
            *pp = p;
            return JLEX_CONTROL;
        }
        if (c == '\\') {
            escaped = true;
            if (p + 1 >= end) {
                *pp = p + 1;
                return JLEX_UNTERMINATED;
            }
            size_t k = check_escape(p, end, &len, &err);
            if (!k) {
                *pp = p;
                return err;
            }
            p += k;
            continue;
        }
        if (c < 0x80) {
            p++;
            len++;
            continue;
        }
        uint32_t cp;
        size_t k = utf8_decode((const unsigned char *)p, (size_t)(end - p), &cp);
        if (!k) {
            *pp = p;
            return JLEX_BAD_UTF8;
        }
        p += k;
        len += k;
    }
    s->raw = open + 1;
    s->raw_n = (size_t)(p - s->raw);
    s->len = len;
    s->escaped = escaped;
    *pp = p + 1;
    return JLEX_OK;
}

/* Decodes the escape at *pp (its backslash, already checked) into out (4
 * bytes of room), moves *pp past it and returns the bytes written. */
static size_t unescape(const char **pp, char *out)
{
    const char *p = *pp;
    char e = p[1];
    if (e == 'u') {
        uint32_t v, lo;
        hex4(p + 2, &v);
        p += 6;
        if (is_high_surrogate(v)) {
            hex4(p + 2, &lo);
            v = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00);
            p += 6;
        }
        *pp = p;
        return utf8_encode(out, v);
    }
    *pp = p + 2;
    switch (e) {
    case 'b': *out = '\b'; break;
    case 'f': *out = '\f'; break;
    case 'n': *out = '\n'; break;
    case 'r': *out = '\r'; break;
    case 't': *out = '\t'; break;
    default: *out = e; break;   /* " \ / */
    }
    return 1;
}

size_t jlex_decode(const struct jstr *s, char *out, size_t cap)
{
    const char *p = s->raw, *end = s->raw + s->raw_n;
    size_t o = 0;
    while (p < end && o < cap) {
        if (*p != '\\') {
            const char *bs = s->escaped ? memchr(p, '\\', (size_t)(end - p)) : NULL;
            size_t run = (size_t)((bs ? bs : end) - p);
            if (run > cap - o)
                run = cap - o;
            memcpy(out + o, p, run);
            o += run;
            p += run;
            continue;
        }
        char tmp[4];
        const char *q = p;
        size_t k = unescape(&q, tmp);
        if (k > cap - o)
            break;
        memcpy(out + o, tmp, k);
        o += k;
        p = q;
    }
    return o;
}

/* Reads a lexed string one decoded byte at a time. */
struct cursor {
    const char *p;
    char buf[4];
    unsigned n, i;
};

static int next_byte(struct cursor *c)
{
    if (c->i < c->n)
        return (unsigned char)c->buf[c->i++];
    if (*c->p == '"')
        return -1;
    if (*c->p != '\\')
        return (unsigned char)*c->p++;
    c->n = (unsigned)unescape(&c->p, c->buf);
    c->i = 1;
    return (unsigned char)c->buf[0];
}

bool jlex_same(const char *a, const char *b)
{
    struct cursor x = {.p = a}, y = {.p = b};
    for (;;) {
        int u = next_byte(&x), v = next_byte(&y);
        if (u != v)
            return false;
        if (u < 0)
            return true;
    }
}

size_t jlex_number(const char *p, const char *end, bool *integral)
{
    const char *s = p;
    *integral = true;
    if (p < end && *p == '-')
        p++;
    if (p >= end || *p < '0' || *p > '9')
        return 0;
    if (*p == '0')
        p++;
    else
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    if (p < end && *p == '.') {
        *integral = false;
        if (++p >= end || *p < '0' || *p > '9')
            return 0;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        *integral = false;
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (p >= end || *p < '0' || *p > '9')
            return 0;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    return (size_t)(p - s);
}

size_t jlex_members_left(const char *p, const char *end)
{
    size_t n = 0, depth = 0;
    while (p < end) {
        char c = *p++;
        if (c == '"') {
            while (p < end && *p != '"') {
                if (*p == '\\' && p + 1 < end)
                    p++;
                p++;
            }
            if (p < end)
                p++;
        } else if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            if (depth == 0)
                break;
            depth--;
        } else if (c == ',' && depth == 0) {
            n++;
        }
    }
    return n;
}
