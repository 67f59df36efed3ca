#include "json_to_pb.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "keyset.h"
#include "pb_pack.h"
#include "cg_limits.h"
#include "utf8.h"

/* One step of the path to the value being read, for error messages. */
struct seg {
    enum { SEG_FIELD, SEG_INDEX, SEG_KEY } kind;
    const char *s;     /* field JSON name, or map key text */
    size_t n;
    size_t index;
};

struct dec {
    const char *start, *p, *end;
    struct arena *a;
    struct cg_status *st;
    int depth;
    int npath;
    struct seg path[CG_MAX_DEPTH * 2 + 2];
};

/* A scanned JSON token of the kinds a scalar can be. */
struct tok {
    enum { T_STRING, T_NUMBER, T_TRUE, T_FALSE, T_NULL, T_OBJECT, T_ARRAY } kind;
    const char *s;     /* string: decoded text; number: its text */
    size_t n;
    bool integral;     /* number written without fraction or exponent */
    bool terminated;   /* s is NUL-terminated (a decoded copy in the arena) */
};

static void path_push_field(struct dec *d, const char *name)
{
    d->path[d->npath++] = (struct seg){SEG_FIELD, name, strlen(name), 0};
}

static void path_push_index(struct dec *d, size_t i)
{
    d->path[d->npath++] = (struct seg){SEG_INDEX, NULL, 0, i};
}

static void path_push_key(struct dec *d, const char *k, size_t n)
{
    d->path[d->npath++] = (struct seg){SEG_KEY, k, n, 0};
}

/* Fails with "path: message"; the path is cut to fit, the message never. */
static int bad(struct dec *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(struct dec *d, const char *fmt, ...)
{
    char path[CG_STATUS_MSG_MAX / 2];
    size_t o = 0;
    path[0] = '\0';
    for (int i = 0; i < d->npath && o < sizeof path - 1; i++) {
        const struct seg *g = &d->path[i];
        int k;
        if (g->kind == SEG_FIELD)
            k = snprintf(path + o, sizeof path - o, "%s%.*s", o ? "." : "", (int)g->n, g->s);
        else if (g->kind == SEG_INDEX)
            k = snprintf(path + o, sizeof path - o, "[%zu]", g->index);
        else
            k = snprintf(path + o, sizeof path - o, "[\"%.*s\"]", (int)(g->n > 40 ? 40 : g->n), g->s);
        if (k < 0)
            break;
        o += (size_t)k;
    }
    if (o >= sizeof path)
        o = sizeof path - 1;
    char msg[CG_STATUS_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (o)
        return cg_fail(d->st, CG_INVALID_ARGUMENT, "%s: %s", path, msg);
    return cg_fail(d->st, CG_INVALID_ARGUMENT, "%s", msg);
}

static int bad_syntax(struct dec *d, const char *what)
{
    if (d->p >= d->end)
        return bad(d, "invalid JSON: unexpected end of input (%s)", what);
    return bad(d, "invalid JSON at byte %zu: %s", (size_t)(d->p - d->start), what);
}

static void skip_ws(struct dec *d)
{
    while (d->p < d->end &&
           (*d->p == ' ' || *d->p == '\n' || *d->p == '\r' || *d->p == '\t'))
        d->p++;
}

static int expect_literal(struct dec *d, const char *lit, size_t n)
{
    if ((size_t)(d->end - d->p) < n || memcmp(d->p, lit, n) != 0)
        return bad_syntax(d, "unexpected character");
    d->p += n;
    return 0;
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

/* Reads a string at d->p (the opening quote) and validates all of it. When
 * `out` is given it gets the text: a pointer into the input when the string
 * has no escapes (not NUL-terminated: most keys and values are only looked
 * at), else a decoded, NUL-terminated copy in the arena; *terminated says
 * which. U+0000 is refused: protobuf-c strings end at the first NUL, and a
 * string must never be cut short. */
static int read_string(struct dec *d, const char **out, size_t *out_n, bool *terminated)
{
    const char *p = ++d->p;
    bool escaped = false;
    /* Pass 1: validate and find the closing quote. */
    for (;;) {
        if (p >= d->end) {
            d->p = p;
            return bad_syntax(d, "unterminated string");
        }
        unsigned char c = (unsigned char)*p;
        if (c == '"')
            break;
        if (c < 0x20) {
            d->p = p;
            return bad_syntax(d, "control character in string");
        }
        if (c == '\\') {
            escaped = true;
            if (p + 1 >= d->end) {
                d->p = p + 1;
                return bad_syntax(d, "unterminated string");
            }
            char e = p[1];
            if (e == 'u') {
                uint32_t v, lo;
                if (d->end - p < 6 || hex4(p + 2, &v) != 0) {
                    d->p = p;
                    return bad_syntax(d, "invalid \\u escape");
                }
                if (v == 0) {
                    d->p = p;
                    return bad(d, "U+0000 in a string is not supported");
                }
                if (v >= 0xDC00 && v <= 0xDFFF) {
                    d->p = p;
                    return bad_syntax(d, "lone low surrogate in \\u escape");
                }
                if (v >= 0xD800 && v <= 0xDBFF) {
                    if (d->end - p < 12 || p[6] != '\\' || p[7] != 'u' ||
                        hex4(p + 8, &lo) != 0 || lo < 0xDC00 || lo > 0xDFFF) {
                        d->p = p;
                        return bad_syntax(d, "lone high surrogate in \\u escape");
                    }
                    p += 12;
                } else {
                    p += 6;
                }
                continue;
            }
            if (!strchr("\"\\/bfnrt", e) || e == '\0') {
                d->p = p;
                return bad_syntax(d, "invalid escape in string");
            }
            p += 2;
            continue;
        }
        if (c < 0x80) {
            p++;
            continue;
        }
        uint32_t cp;
        size_t k = utf8_decode((const unsigned char *)p, (size_t)(d->end - p), &cp);
        if (!k) {
            d->p = p;
            return bad(d, "invalid UTF-8 in string at byte %zu", (size_t)(p - d->start));
        }
        p += k;
    }
    const char *raw = d->p;
    size_t raw_n = (size_t)(p - raw);
    d->p = p + 1;
    if (!out)
        return 0;
    if (!escaped) {
        *out = raw;
        *out_n = raw_n;
        *terminated = false;
        return 0;
    }
    *terminated = true;
    /* Pass 2: decode escapes; the text only shrinks. */
    char *buf = arena_alloc(d->a, raw_n + 1), *o = buf;
    if (!buf)
        return cg_fail(d->st, CG_RESOURCE_EXHAUSTED, "request too large to decode");
    for (const char *q = raw; q < p;) {
        if (*q != '\\') {
            *o++ = *q++;
            continue;
        }
        char e = q[1];
        if (e == 'u') {
            uint32_t v, lo;
            hex4(q + 2, &v);
            q += 6;
            if (v >= 0xD800 && v <= 0xDBFF) {
                hex4(q + 2, &lo);
                v = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00);
                q += 6;
            }
            o += utf8_encode(o, v);
            continue;
        }
        switch (e) {
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        default: *o++ = e; break;   /* " \ / */
        }
        q += 2;
    }
    *o = '\0';
    *out = buf;
    *out_n = (size_t)(o - buf);
    return 0;
}

/* Length of the JSON number at p (RFC 8259 grammar), or 0 if there is
 * none; *integral tells whether it has neither fraction nor exponent. */
static size_t scan_number(const char *p, const char *end, bool *integral)
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

static int read_number(struct dec *d, struct tok *t)
{
    size_t n = scan_number(d->p, d->end, &t->integral);
    if (n == 0)
        return bad_syntax(d, "invalid number");
    t->kind = T_NUMBER;
    t->s = d->p;
    t->n = n;
    d->p += n;
    return 0;
}

/* Reads a scalar token, or notes that an object or array starts here. */
static int read_token(struct dec *d, struct tok *t)
{
    t->terminated = false;
    skip_ws(d);
    if (d->p >= d->end)
        return bad_syntax(d, "value expected");
    switch (*d->p) {
    case '"':
        t->kind = T_STRING;
        return read_string(d, &t->s, &t->n, &t->terminated);
    case '{':
        t->kind = T_OBJECT;
        return 0;
    case '[':
        t->kind = T_ARRAY;
        return 0;
    case 't':
        t->kind = T_TRUE;
        return expect_literal(d, "true", 4);
    case 'f':
        t->kind = T_FALSE;
        return expect_literal(d, "false", 5);
    case 'n':
        t->kind = T_NULL;
        return expect_literal(d, "null", 4);
    default:
        return read_number(d, t);
    }
}

static int skip_value(struct dec *d);

static int check_new_key(struct dec *d, struct keyset *keys, const char *k, size_t n)
{
    int r = keyset_add(keys, d->a, k, n);
    if (r < 0)
        return cg_fail(d->st, CG_RESOURCE_EXHAUSTED, "request too large to decode");
    if (r == 0)
        return bad(d, "key \"%.*s\" given more than once", (int)(n > 60 ? 60 : n), k);
    return 0;
}

/* Walks an object or array at d->p, calling nothing: for ignored fields. */
static int skip_container(struct dec *d)
{
    char close = *d->p == '{' ? '}' : ']';
    bool object = close == '}';
    if (++d->depth > CG_MAX_DEPTH)
        return bad(d, "JSON nests deeper than %d levels", CG_MAX_DEPTH);
    d->p++;
    skip_ws(d);
    if (d->p < d->end && *d->p == close) {
        d->p++;
        d->depth--;
        return 0;
    }
    struct keyset keys = {0};
    for (;;) {
        skip_ws(d);
        if (object) {
            const char *k;
            size_t kn;
            bool kt;
            if (d->p >= d->end || *d->p != '"')
                return bad_syntax(d, "object key expected");
            if (read_string(d, &k, &kn, &kt) != 0 || check_new_key(d, &keys, k, kn) != 0)
                return -1;
            skip_ws(d);
            if (d->p >= d->end || *d->p != ':')
                return bad_syntax(d, "':' expected");
            d->p++;
        }
        if (skip_value(d) != 0)
            return -1;
        skip_ws(d);
        if (d->p < d->end && *d->p == ',') {
            d->p++;
            continue;
        }
        if (d->p < d->end && *d->p == close) {
            d->p++;
            d->depth--;
            return 0;
        }
        return bad_syntax(d, object ? "',' or '}' expected" : "',' or ']' expected");
    }
}

static int skip_value(struct dec *d)
{
    struct tok t;
    skip_ws(d);
    if (d->p < d->end && (*d->p == '{' || *d->p == '['))
        return skip_container(d);
    if (d->p < d->end && *d->p == '"')
        return read_string(d, NULL, NULL, NULL);
    return read_token(d, &t);
}

/* ---- scalar conversion --------------------------------------------------- */

static const char *type_name(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_INT32: return "int32";
    case PROTOBUF_C_TYPE_SINT32: return "sint32";
    case PROTOBUF_C_TYPE_SFIXED32: return "sfixed32";
    case PROTOBUF_C_TYPE_INT64: return "int64";
    case PROTOBUF_C_TYPE_SINT64: return "sint64";
    case PROTOBUF_C_TYPE_SFIXED64: return "sfixed64";
    case PROTOBUF_C_TYPE_UINT32: return "uint32";
    case PROTOBUF_C_TYPE_FIXED32: return "fixed32";
    case PROTOBUF_C_TYPE_UINT64: return "uint64";
    case PROTOBUF_C_TYPE_FIXED64: return "fixed64";
    case PROTOBUF_C_TYPE_FLOAT: return "float";
    case PROTOBUF_C_TYPE_DOUBLE: return "double";
    case PROTOBUF_C_TYPE_BOOL: return "bool";
    case PROTOBUF_C_TYPE_ENUM: return "enum";
    case PROTOBUF_C_TYPE_STRING: return "string";
    case PROTOBUF_C_TYPE_BYTES: return "bytes";
    case PROTOBUF_C_TYPE_MESSAGE: return "message";
    }
    return "value";
}

/* The text of a number token (or of a string holding one) as a C string. */
static const char *number_cstr(struct dec *d, const struct tok *t, char *buf, size_t cap)
{
    if (t->terminated)
        return t->s;
    if (t->n < cap) {
        memcpy(buf, t->s, t->n);
        buf[t->n] = '\0';
        return buf;
    }
    return arena_strndup(d->a, t->s, t->n);
}

/* A string that stands for a number must be one, in JSON's own grammar. */
static int number_in_string(struct tok *t)
{
    return t->n != 0 && scan_number(t->s, t->s + t->n, &t->integral) == t->n ? 0 : -1;
}

/* Reads an integer of the given range from a number or numeric string. A
 * number with a fraction or exponent is accepted when it is whole. */
static int to_integer(struct dec *d, struct tok *t, ProtobufCType ty, bool is_unsigned,
                      int64_t min, uint64_t max, int64_t *sv, uint64_t *uv)
{
    if (t->kind != T_NUMBER && t->kind != T_STRING)
        return bad(d, "expected a number (%s)", type_name(ty));
    if (t->kind == T_STRING && number_in_string(t) != 0)
        return bad(d, "expected a number (%s), got a string that is not one", type_name(ty));
    const char *s = t->s;
    size_t n = t->n;
    if (t->integral) {
        bool neg = s[0] == '-';
        uint64_t mag = 0;
        for (size_t i = neg; i < n; i++) {
            unsigned dgt = (unsigned)(s[i] - '0');
            if (mag > (UINT64_MAX - dgt) / 10)
                return bad(d, "value out of range for %s", type_name(ty));
            mag = mag * 10 + dgt;
        }
        if (is_unsigned) {
            if (neg && mag != 0)
                return bad(d, "value out of range for %s", type_name(ty));
            if (mag > max)
                return bad(d, "value out of range for %s", type_name(ty));
            *uv = mag;
            return 0;
        }
        if (neg) {
            if (mag > (uint64_t)0 - (uint64_t)min)
                return bad(d, "value out of range for %s", type_name(ty));
            *sv = (int64_t)((uint64_t)0 - mag);
        } else {
            if (mag > max)
                return bad(d, "value out of range for %s", type_name(ty));
            *sv = (int64_t)mag;
        }
        return 0;
    }
    char buf[64];
    const char *c = number_cstr(d, t, buf, sizeof buf);
    if (!c)
        return cg_fail(d->st, CG_RESOURCE_EXHAUSTED, "request too large to decode");
    double v = strtod(c, NULL);
    if (!isfinite(v))
        return bad(d, "value out of range for %s", type_name(ty));
    if (v != floor(v))
        return bad(d, "expected a whole number (%s)", type_name(ty));
    /* Compare in double before converting: an out-of-range conversion is UB. */
    if (is_unsigned) {
        if (v < 0 || v >= 18446744073709551616.0 || (uint64_t)v > max)
            return bad(d, "value out of range for %s", type_name(ty));
        *uv = (uint64_t)v;
    } else {
        if (v < -9223372036854775808.0 || v >= 9223372036854775808.0 ||
            (int64_t)v < min || ((int64_t)v > 0 && (uint64_t)(int64_t)v > max))
            return bad(d, "value out of range for %s", type_name(ty));
        *sv = (int64_t)v;
    }
    return 0;
}

static bool text_is(const struct tok *t, const char *lit)
{
    return t->n == strlen(lit) && memcmp(t->s, lit, t->n) == 0;
}

static int to_double(struct dec *d, struct tok *t, ProtobufCType ty, double *out)
{
    if (t->kind == T_STRING) {
        if (text_is(t, "NaN")) { *out = NAN; return 0; }
        if (text_is(t, "Infinity")) { *out = INFINITY; return 0; }
        if (text_is(t, "-Infinity")) { *out = -INFINITY; return 0; }
        if (number_in_string(t) != 0)
            return bad(d, "expected a number (%s), got a string that is not one", type_name(ty));
    } else if (t->kind != T_NUMBER) {
        return bad(d, "expected a number (%s)", type_name(ty));
    }
    char buf[64];
    const char *c = number_cstr(d, t, buf, sizeof buf);
    if (!c)
        return cg_fail(d->st, CG_RESOURCE_EXHAUSTED, "request too large to decode");
    double v = strtod(c, NULL);
    /* Underflow to zero is a value; overflow is not. */
    if (!isfinite(v))
        return bad(d, "value out of range for %s", type_name(ty));
    if (ty == PROTOBUF_C_TYPE_FLOAT && fabs(v) > FLT_MAX) {
        /* As Go's protojson: refused only when it would round to infinity
         * (at or past FLT_MAX + half an ulp), so the text we print for
         * FLT_MAX, 3.4028235e+38, reads back. Clamped here because
         * converting a double beyond FLT_MAX to float is undefined. */
        if (fabs(v) >= 0x1.ffffffp+127)
            return bad(d, "value out of range for %s", type_name(ty));
        v = v > 0 ? FLT_MAX : -FLT_MAX;
    }
    *out = v;
    return 0;
}

static int find_enum(const ProtobufCEnumDescriptor *ed, const char *s, size_t n)
{
    unsigned lo = 0, hi = ed->n_value_names;
    while (lo < hi) {
        unsigned mid = (lo + hi) / 2;
        const char *name = ed->values_by_name[mid].name;
        int c = strncmp(name, s, n);
        if (c == 0 && name[n] != '\0')
            c = 1;
        if (c == 0)
            return (int)ed->values_by_name[mid].index;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* Stores one scalar (not a message) of field fd at dst from token t. */
static int store_scalar(struct dec *d, const ProtobufCFieldDescriptor *fd,
                        struct tok *t, void *dst)
{
    int64_t sv = 0;
    uint64_t uv = 0;
    switch (fd->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        if (to_integer(d, t, fd->type, false, INT32_MIN, INT32_MAX, &sv, &uv) != 0)
            return -1;
        *(int32_t *)dst = (int32_t)sv;
        return 0;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        if (to_integer(d, t, fd->type, false, INT64_MIN, INT64_MAX, &sv, &uv) != 0)
            return -1;
        *(int64_t *)dst = sv;
        return 0;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        if (to_integer(d, t, fd->type, true, 0, UINT32_MAX, &sv, &uv) != 0)
            return -1;
        *(uint32_t *)dst = (uint32_t)uv;
        return 0;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        if (to_integer(d, t, fd->type, true, 0, UINT64_MAX, &sv, &uv) != 0)
            return -1;
        *(uint64_t *)dst = uv;
        return 0;
    case PROTOBUF_C_TYPE_FLOAT: {
        double v;
        if (to_double(d, t, fd->type, &v) != 0)
            return -1;
        *(float *)dst = (float)v;
        return 0;
    }
    case PROTOBUF_C_TYPE_DOUBLE:
        return to_double(d, t, fd->type, (double *)dst);
    case PROTOBUF_C_TYPE_BOOL:
        if (t->kind != T_TRUE && t->kind != T_FALSE)
            return bad(d, "expected true or false");
        *(protobuf_c_boolean *)dst = t->kind == T_TRUE;
        return 0;
    case PROTOBUF_C_TYPE_ENUM: {
        const ProtobufCEnumDescriptor *ed = fd->descriptor;
        if (t->kind == T_STRING) {
            int i = find_enum(ed, t->s, t->n);
            if (i < 0)
                return bad(d, "\"%.*s\" is not a value of %s", (int)(t->n > 60 ? 60 : t->n),
                           t->s, ed->name);
            *(int *)dst = ed->values[i].value;
            return 0;
        }
        if (t->kind != T_NUMBER)
            return bad(d, "expected an enum name or number (%s)", ed->name);
        /* Enums are open in proto3: any int32 number is kept. */
        if (to_integer(d, t, PROTOBUF_C_TYPE_INT32, false, INT32_MIN, INT32_MAX, &sv, &uv) != 0)
            return -1;
        *(int *)dst = (int)sv;
        return 0;
    }
    case PROTOBUF_C_TYPE_STRING: {
        if (t->kind != T_STRING)
            return bad(d, "expected a string");
        const char *v = t->terminated ? t->s : arena_strndup(d->a, t->s, t->n);
        if (!v)
            return cg_fail(d->st, CG_RESOURCE_EXHAUSTED, "request too large to decode");
        *(const char **)dst = v;
        return 0;
    }
    case PROTOBUF_C_TYPE_BYTES: {
        if (t->kind != T_STRING)
            return bad(d, "expected a base64 string");
        ProtobufCBinaryData *b = dst;
        uint8_t *buf = arena_alloc(d->a, t->n / 4 * 3 + 3);
        if (!buf)
            return cg_fail(d->st, CG_RESOURCE_EXHAUSTED, "request too large to decode");
        if (base64_decode(t->s, t->n, buf, &b->len) != 0)
            return bad(d, "invalid base64");
        b->data = buf;
        return 0;
    }
    case PROTOBUF_C_TYPE_MESSAGE:
        break;
    }
    return bad(d, "unsupported field type");
}

/* ---- messages ------------------------------------------------------------ */

static int read_message(struct dec *d, const struct msg_info *mi, ProtobufCMessage **out);

/* Reads one value for field fi (a singular field, or one array element)
 * into dst. `t` has been read; objects and arrays are still at d->p. */
static int read_value(struct dec *d, const struct field_info *fi, struct tok *t, void *dst)
{
    if (fi->fd->type == PROTOBUF_C_TYPE_MESSAGE) {
        if (t->kind != T_OBJECT)
            return bad(d, "expected an object (%s)", fi->sub->desc->name);
        return read_message(d, fi->sub, (ProtobufCMessage **)dst);
    }
    if (t->kind == T_OBJECT || t->kind == T_ARRAY)
        return bad(d, "expected a %s, not an %s", type_name(fi->fd->type),
                   t->kind == T_OBJECT ? "object" : "array");
    return store_scalar(d, fi->fd, t, dst);
}

/* A growable array in the arena. Outgrown copies stay in the arena until
 * the request ends: at most as much again as the final array. */
struct vec {
    char *data;
    size_t n, cap, elem;
};

static void *vec_push(struct dec *d, struct vec *v)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 8;
        char *p = arena_alloc(d->a, cap * v->elem);
        if (!p)
            return NULL;
        if (v->n)
            memcpy(p, v->data, v->n * v->elem);
        v->data = p;
        v->cap = cap;
    }
    return v->data + v->n++ * v->elem;
}

static int enter(struct dec *d)
{
    if (++d->depth > CG_MAX_DEPTH)
        return bad(d, "JSON nests deeper than %d levels", CG_MAX_DEPTH);
    d->p++;                                  /* the '{' or '[' */
    return 0;
}

/* After a member or element: ',' (returns 1) or the closing char (0). */
static int next_or_close(struct dec *d, char close)
{
    skip_ws(d);
    if (d->p < d->end && *d->p == ',') {
        d->p++;
        return 1;
    }
    if (d->p < d->end && *d->p == close) {
        d->p++;
        d->depth--;
        return 0;
    }
    return bad_syntax(d, close == '}' ? "',' or '}' expected" : "',' or ']' expected");
}

static int read_array(struct dec *d, const struct field_info *fi, char *base)
{
    struct vec v = {NULL, 0, 0, schema_elem_size(fi->fd->type)};
    if (enter(d) != 0)
        return -1;
    skip_ws(d);
    if (d->p < d->end && *d->p == ']') {
        d->p++;
        d->depth--;
    } else {
        for (size_t i = 0;; i++) {
            struct tok t;
            path_push_index(d, i);
            if (read_token(d, &t) != 0)
                return -1;
            if (t.kind == T_NULL)
                return bad(d, "null is not allowed in a list");
            void *slot = vec_push(d, &v);
            if (!slot)
                return cg_fail(d->st, CG_RESOURCE_EXHAUSTED, "request too large to decode");
            if (read_value(d, fi, &t, slot) != 0)
                return -1;
            d->npath--;
            int r = next_or_close(d, ']');
            if (r < 0)
                return -1;
            if (r == 0)
                break;
        }
    }
    *(size_t *)(base + fi->fd->quantifier_offset) = v.n;
    *(void **)(base + fi->fd->offset) = v.data;
    return 0;
}

/* A map key arrives as JSON object member text; it is converted to the
 * key field's type as a string holding a value of that type would be. */
static int store_map_key(struct dec *d, const ProtobufCFieldDescriptor *kd,
                         const char *k, size_t n, bool terminated, void *dst)
{
    struct tok t = {T_STRING, k, n, true, terminated};
    if (kd->type == PROTOBUF_C_TYPE_STRING)
        return store_scalar(d, kd, &t, dst);
    if (kd->type == PROTOBUF_C_TYPE_BOOL) {
        if (n == 4 && memcmp(k, "true", 4) == 0)
            *(protobuf_c_boolean *)dst = 1;
        else if (n == 5 && memcmp(k, "false", 5) == 0)
            *(protobuf_c_boolean *)dst = 0;
        else
            return bad(d, "map key must be \"true\" or \"false\"");
        return 0;
    }
    return store_scalar(d, kd, &t, dst);
}

static int read_map(struct dec *d, const struct field_info *fi, char *base)
{
    const struct msg_info *emi = fi->sub;
    const ProtobufCFieldDescriptor *kd = &emi->desc->fields[0];
    const struct field_info *vi = &emi->fields[1];
    struct vec v = {NULL, 0, 0, sizeof(ProtobufCMessage *)};
    struct keyset keys = {0};
    if (enter(d) != 0)
        return -1;
    skip_ws(d);
    if (d->p < d->end && *d->p == '}') {
        d->p++;
        d->depth--;
    } else {
        for (;;) {
            const char *k;
            size_t kn;
            bool kt;
            skip_ws(d);
            if (d->p >= d->end || *d->p != '"')
                return bad_syntax(d, "object key expected");
            if (read_string(d, &k, &kn, &kt) != 0 || check_new_key(d, &keys, k, kn) != 0)
                return -1;
            path_push_key(d, k, kn);
            skip_ws(d);
            if (d->p >= d->end || *d->p != ':')
                return bad_syntax(d, "':' expected");
            d->p++;
            ProtobufCMessage *ent = arena_alloc(d->a, emi->desc->sizeof_message);
            ProtobufCMessage **slot = vec_push(d, &v);
            if (!ent || !slot)
                return cg_fail(d->st, CG_RESOURCE_EXHAUSTED, "request too large to decode");
            emi->desc->message_init(ent);
            *slot = ent;
            if (store_map_key(d, kd, k, kn, kt, (char *)ent + kd->offset) != 0)
                return -1;
            struct tok t;
            if (read_token(d, &t) != 0)
                return -1;
            if (t.kind == T_NULL)
                return bad(d, "null is not allowed as a map value");
            if (read_value(d, vi, &t, (char *)ent + vi->fd->offset) != 0)
                return -1;
            d->npath--;
            int r = next_or_close(d, '}');
            if (r < 0)
                return -1;
            if (r == 0)
                break;
        }
    }
    *(size_t *)(base + fi->fd->quantifier_offset) = v.n;
    *(void **)(base + fi->fd->offset) = v.data;
    return 0;
}

/* The value of member fi of the message at base. */
static int read_field(struct dec *d, const struct field_info *fi, char *base)
{
    const ProtobufCFieldDescriptor *fd = fi->fd;
    struct tok t;
    if (read_token(d, &t) != 0)
        return -1;
    if (t.kind == T_NULL)
        return 0;                             /* null: the default */
    if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
        if (fi->is_map) {
            if (t.kind != T_OBJECT)
                return bad(d, "expected an object (map)");
            return read_map(d, fi, base);
        }
        if (t.kind != T_ARRAY)
            return bad(d, "expected a list");
        return read_array(d, fi, base);
    }
    if (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
        uint32_t *which = (uint32_t *)(base + fd->quantifier_offset);
        if (*which != 0 && *which != fd->id)
            return bad(d, "another member of the same oneof is already set");
        *which = fd->id;
    } else if (fd->label == PROTOBUF_C_LABEL_OPTIONAL &&
               fd->type != PROTOBUF_C_TYPE_MESSAGE && fd->type != PROTOBUF_C_TYPE_STRING) {
        *(protobuf_c_boolean *)(base + fd->quantifier_offset) = 1;
    }
    return read_value(d, fi, &t, base + fd->offset);
}

static int read_message(struct dec *d, const struct msg_info *mi, ProtobufCMessage **out)
{
    const ProtobufCMessageDescriptor *desc = mi->desc;
    ProtobufCMessage *m = arena_alloc(d->a, desc->sizeof_message);
    unsigned char *seen = arena_alloc(d->a, desc->n_fields / 8 + 1);
    if (!m || !seen)
        return cg_fail(d->st, CG_RESOURCE_EXHAUSTED, "request too large to decode");
    desc->message_init(m);
    memset(seen, 0, desc->n_fields / 8 + 1);
    struct keyset unknown = {0};
    if (enter(d) != 0)
        return -1;
    skip_ws(d);
    if (d->p < d->end && *d->p == '}') {
        d->p++;
        d->depth--;
        *out = m;
        return 0;
    }
    for (;;) {
        const char *k;
        size_t kn;
        bool kt;
        skip_ws(d);
        if (d->p >= d->end || *d->p != '"')
            return bad_syntax(d, "object key expected");
        if (read_string(d, &k, &kn, &kt) != 0)
            return -1;
        skip_ws(d);
        if (d->p >= d->end || *d->p != ':')
            return bad_syntax(d, "':' expected");
        d->p++;
        const struct field_info *fi = schema_field_by_name(mi, k, kn);
        if (!fi) {
            /* Unknown fields are ignored, but must still be valid JSON. */
            if (check_new_key(d, &unknown, k, kn) != 0 || skip_value(d) != 0)
                return -1;
        } else {
            unsigned idx = (unsigned)(fi - mi->fields);
            path_push_field(d, fi->json_name);
            if (seen[idx / 8] & (1u << (idx % 8)))
                return bad(d, "field given more than once");
            seen[idx / 8] |= (unsigned char)(1u << (idx % 8));
            if (read_field(d, fi, (char *)m) != 0)
                return -1;
            d->npath--;
        }
        int r = next_or_close(d, '}');
        if (r < 0)
            return -1;
        if (r == 0)
            break;
    }
    *out = m;
    return 0;
}

int json_to_pb_message(const struct msg_info *mi, const char *json, size_t n,
                       struct arena *a, ProtobufCMessage **out, struct cg_status *st)
{
    struct dec d = {.start = json, .p = json, .end = json + n, .a = a, .st = st};
    skip_ws(&d);
    if (d.p == d.end) {
        /* An empty body is the empty message. */
        ProtobufCMessage *m = arena_alloc(a, mi->desc->sizeof_message);
        if (!m)
            return cg_fail(st, CG_RESOURCE_EXHAUSTED, "request too large to decode");
        mi->desc->message_init(m);
        *out = m;
        return 0;
    }
    if (*d.p != '{')
        return cg_fail(st, CG_INVALID_ARGUMENT, "the request body must be a JSON object");
    ProtobufCMessage *m;
    if (read_message(&d, mi, &m) != 0)
        return -1;
    skip_ws(&d);
    if (d.p != d.end)
        return bad_syntax(&d, "trailing bytes after the JSON value");
    *out = m;
    return 0;
}

int json_to_pb(const struct msg_info *mi, const char *json, size_t n,
               struct arena *a, uint8_t **wire, size_t *wire_len, struct cg_status *st)
{
    ProtobufCMessage *m;
    if (json_to_pb_message(mi, json, n, a, &m, st) != 0)
        return -1;
    return pb_pack(m, a, wire, wire_len, st);
}
