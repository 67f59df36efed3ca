#include "json/json_to_scalar.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb/wire.h"

const char *json_type_name(ProtobufCType t)
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

static int fail(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(char *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, JSCALAR_ERR_MAX, fmt, ap);
    va_end(ap);
    return -1;
}

/* The value being converted. */
struct in {
    enum jkind kind;
    const char *s;
    size_t n;
    bool integral;      /* a number without fraction or exponent */
};

static bool text_is(const struct in *v, const char *lit)
{
    return v->n == strlen(lit) && memcmp(v->s, lit, v->n) == 0;
}

/* A number, or a string that holds one in JSON's own grammar. */
static int numeric(struct in *v, ProtobufCType ty, char *err)
{
    if (v->kind != J_NUMBER && v->kind != J_STRING)
        return fail(err, "expected a number (%s)", json_type_name(ty));
    if (v->n == 0 || jlex_number(v->s, v->s + v->n, &v->integral) != v->n)
        return fail(err, "expected a number (%s), got a string that is not one",
                    json_type_name(ty));
    return 0;
}

static int out_of_range(char *err, ProtobufCType ty)
{
    return fail(err, "value out of range for %s", json_type_name(ty));
}

/* An integer in [min, max] (signed) or [0, max] (unsigned). A number with a
 * fraction or exponent is accepted when it is whole. */
static int to_integer(struct in *v, ProtobufCType ty, bool is_unsigned, int64_t min,
                      uint64_t max, int64_t *sv, uint64_t *uv, char *err)
{
    if (numeric(v, ty, err) != 0)
        return -1;
    if (v->integral) {
        bool neg = v->s[0] == '-';
        uint64_t mag = 0;
        for (size_t i = neg; i < v->n; i++) {
            unsigned dgt = (unsigned)(v->s[i] - '0');
            if (mag > (UINT64_MAX - dgt) / 10)
                return out_of_range(err, ty);
            mag = mag * 10 + dgt;
        }
        if (is_unsigned) {
            if ((neg && mag != 0) || mag > max)
                return out_of_range(err, ty);
            *uv = mag;
        } else if (neg) {
            if (mag > (uint64_t)0 - (uint64_t)min)
                return out_of_range(err, ty);
            *sv = (int64_t)((uint64_t)0 - mag);
        } else {
            if (mag > max)
                return out_of_range(err, ty);
            *sv = (int64_t)mag;
        }
        return 0;
    }
    double d = strtod(v->s, NULL);
    if (!isfinite(d))
        return out_of_range(err, ty);
    if (d != floor(d))
        return fail(err, "expected a whole number (%s)", json_type_name(ty));
    /* Compared in double before converting: an out-of-range conversion is UB. */
    if (is_unsigned) {
        if (d < 0 || d >= 18446744073709551616.0 || (uint64_t)d > max)
            return out_of_range(err, ty);
        *uv = (uint64_t)d;
    } else {
        if (d < -9223372036854775808.0 || d >= 9223372036854775808.0 ||
            (int64_t)d < min || ((int64_t)d > 0 && (uint64_t)(int64_t)d > max))
            return out_of_range(err, ty);
        *sv = (int64_t)d;
    }
    return 0;
}

static int to_double(struct in *v, ProtobufCType ty, double *out, char *err)
{
    if (v->kind == J_STRING) {
        if (text_is(v, "NaN")) { *out = NAN; return 0; }
        if (text_is(v, "Infinity")) { *out = INFINITY; return 0; }
        if (text_is(v, "-Infinity")) { *out = -INFINITY; return 0; }
    }
    if (numeric(v, ty, err) != 0)
        return -1;
    double d = strtod(v->s, NULL);
    /* Underflow to zero is a value; overflow is not. */
    if (!isfinite(d))
        return out_of_range(err, ty);
    if (ty == PROTOBUF_C_TYPE_FLOAT && fabs(d) > FLT_MAX) {
        /* As Go's protojson: refused only when it would round to infinity
         * (at or past FLT_MAX + half an ulp), so the text we print for
         * FLT_MAX, 3.4028235e+38, reads back. Clamped here because
         * converting a double beyond FLT_MAX to float is undefined. */
        if (fabs(d) >= 0x1.ffffffp+127)
            return out_of_range(err, ty);
        d = d > 0 ? FLT_MAX : -FLT_MAX;
    }
    *out = d;
    return 0;
}

/* The enum value named s (n bytes, which may hold a NUL), or -1. */
static int find_enum(const ProtobufCEnumDescriptor *ed, const char *s, size_t n)
{
    unsigned lo = 0, hi = ed->n_value_names;
    while (lo < hi) {
        unsigned mid = (lo + hi) / 2;
        const char *name = ed->values_by_name[mid].name;
        size_t len = strlen(name);
        int c = memcmp(name, s, len < n ? len : n);
        if (c == 0)
            c = len < n ? -1 : len > n ? 1 : 0;
        if (c == 0)
            return (int)ed->values_by_name[mid].index;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static int to_enum(const ProtobufCEnumDescriptor *ed, struct in *v, int32_t *out, char *err)
{
    if (v->kind == J_STRING) {
        int i = find_enum(ed, v->s, v->n);
        if (i < 0)
            return fail(err, "\"%.*s\" is not a value of %s", (int)(v->n > 60 ? 60 : v->n),
                        v->s, ed->name);
        *out = ed->values[i].value;
        return 0;
    }
    if (v->kind != J_NUMBER)
        return fail(err, "expected an enum name or number (%s)", ed->name);
    int64_t sv;
    uint64_t uv;
    if (to_integer(v, PROTOBUF_C_TYPE_INT32, false, INT32_MIN, INT32_MAX, &sv, &uv, err) != 0)
        return -1;
    *out = (int32_t)sv;
    return 0;
}

int json_to_scalar(const ProtobufCFieldDescriptor *fd, enum jkind kind, const char *text,
                size_t n, uint64_t *bits, char err[JSCALAR_ERR_MAX])
{
    struct in v = {kind, text, n, true};
    ProtobufCType ty = fd->type;
    int64_t sv = 0;
    uint64_t uv = 0;
    switch (ty) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        if (to_integer(&v, ty, false, INT32_MIN, INT32_MAX, &sv, &uv, err) != 0)
            return -1;
        *bits = ty == PROTOBUF_C_TYPE_SINT32 ? pb_zigzag32((int32_t)sv)
              : ty == PROTOBUF_C_TYPE_SFIXED32 ? (uint32_t)(int32_t)sv
              : (uint64_t)sv;
        return 0;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        if (to_integer(&v, ty, false, INT64_MIN, INT64_MAX, &sv, &uv, err) != 0)
            return -1;
        *bits = ty == PROTOBUF_C_TYPE_SINT64 ? pb_zigzag64(sv) : (uint64_t)sv;
        return 0;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        if (to_integer(&v, ty, true, 0, UINT32_MAX, &sv, &uv, err) != 0)
            return -1;
        *bits = uv;
        return 0;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        if (to_integer(&v, ty, true, 0, UINT64_MAX, &sv, &uv, err) != 0)
            return -1;
        *bits = uv;
        return 0;
    case PROTOBUF_C_TYPE_FLOAT: {
        double d;
        if (to_double(&v, ty, &d, err) != 0)
            return -1;
        float f = (float)d;
        uint32_t u;
        memcpy(&u, &f, sizeof u);
        *bits = u;
        return 0;
    }
    case PROTOBUF_C_TYPE_DOUBLE: {
        double d;
        if (to_double(&v, ty, &d, err) != 0)
            return -1;
        memcpy(bits, &d, sizeof d);
        return 0;
    }
    case PROTOBUF_C_TYPE_BOOL:
        if (kind != J_TRUE && kind != J_FALSE)
            return fail(err, "expected true or false");
        *bits = kind == J_TRUE;
        return 0;
    case PROTOBUF_C_TYPE_ENUM: {
        int32_t e = 0;
        if (to_enum(fd->descriptor, &v, &e, err) != 0)
            return -1;
        *bits = (uint64_t)(int64_t)e;
        return 0;
    }
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_BYTES:
    case PROTOBUF_C_TYPE_MESSAGE:
        break;
    }
    return fail(err, "unsupported field type");
}
