#include "json/json_to_pb.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "base/base64.h"
#include "base/cg_limits.h"
#include "json/json_keys.h"
#include "json/json_lex.h"
#include "json/json_to_scalar.h"
#include "pb/pb_out.h"
#include "json/scratch.h"
#include "pb/wire.h"

/* One step of the path to the value being read, for error messages. */
struct seg {
    enum { SEG_FIELD, SEG_INDEX, SEG_KEY } kind;
    const char *name;          /* field: its JSON name */
    struct jstr key;           /* map key, as it lies in the body */
    size_t index;
};

/* The walk. It runs twice over the same body (pb_out.h says why): the size
 * pass checks everything and measures, the write pass writes. Checks that
 * need memory (duplicate keys, fields given twice, oneofs) run in the size
 * pass only; the write pass meets nothing it could refuse. */
struct dec {
    const char *start, *p, *end;
    struct arena *a;
    struct cg_status *st;
    struct pb_out out;
    struct scratch sc;
    struct jkeys_env env;
    char *text;                /* decoded token text, reused for each token */
    size_t text_cap;
    int depth, npath;
    struct seg path[CG_MAX_DEPTH * 2 + 2];
};

static bool sizing(const struct dec *d)
{
    return pb_out_sizing(&d->out);
}

static void path_push_field(struct dec *d, const char *name)
{
    d->path[d->npath++] = (struct seg){.kind = SEG_FIELD, .name = name};
}

static void path_push_index(struct dec *d, size_t i)
{
    d->path[d->npath++] = (struct seg){.kind = SEG_INDEX, .index = i};
}

static void path_push_key(struct dec *d, const struct jstr *k)
{
    d->path[d->npath++] = (struct seg){.kind = SEG_KEY, .key = *k};
}

/* ---- errors ----------------------------------------------------------- */

static size_t format_path(const struct dec *d, char *path, size_t cap)
{
    size_t o = 0;
    path[0] = '\0';
    for (int i = 0; i < d->npath && o < cap - 1; i++) {
        const struct seg *g = &d->path[i];
        int k;
        if (g->kind == SEG_FIELD) {
            k = snprintf(path + o, cap - o, "%s%s", o ? "." : "", g->name);
        } else if (g->kind == SEG_INDEX) {
            k = snprintf(path + o, cap - o, "[%zu]", g->index);
        } else {
            char key[40];
            size_t n = jlex_decode(&g->key, key, sizeof key);
            k = snprintf(path + o, cap - o, "[\"%.*s\"]", (int)n, key);
        }
        if (k < 0)
            break;
        o += (size_t)k;
    }
    return o >= cap ? cap - 1 : o;
}

/* Fails with "path: message"; the path is cut to fit, the message never. */
static int bad(struct dec *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(struct dec *d, const char *fmt, ...)
{
    char path[CG_STATUS_MSG_MAX / 2];
    size_t o = format_path(d, path, sizeof path);
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

/* The arena refused: the request's memory cap is spent, which is not the
 * client's JSON being wrong. */
static int no_memory(struct dec *d)
{
    if (d->a->limit)
        return cg_fail(d->st, CG_RESOURCE_EXHAUSTED,
                       "decoding the request body needs more than the request's memory cap "
                       "(%zu bytes)", d->a->limit);
    return cg_fail(d->st, CG_RESOURCE_EXHAUSTED, "out of memory decoding the request body");
}

static int out_fail(struct dec *d, int rc)
{
    switch ((enum pb_out_err)rc) {
    case PB_OUT_OK:
        return 0;
    case PB_OUT_NOMEM:
        return no_memory(d);
    case PB_OUT_TOO_BIG:
        return cg_fail(d->st, CG_RESOURCE_EXHAUSTED,
                       "the request's protobuf message would pass protobuf's 2 GiB limit");
    case PB_OUT_MISMATCH:
        break;
    }
    return cg_fail(d->st, CG_INTERNAL, "json_to_pb: the write pass strayed from the size pass");
}

/* ---- tokens ----------------------------------------------------------- */

static void skip_ws(struct dec *d)
{
    d->p = jlex_ws(d->p, d->end);
}

static int read_string(struct dec *d, struct jstr *s)
{
    enum jlex_err e = jlex_string(&d->p, d->end, s);
    if (e == JLEX_OK)
        return 0;
    if (e == JLEX_BAD_UTF8)
        return bad(d, "invalid UTF-8 in string at byte %zu", (size_t)(d->p - d->start));
    return bad_syntax(d, jlex_err_text(e));
}

static int expect_literal(struct dec *d, const char *lit, size_t n)
{
    if ((size_t)(d->end - d->p) < n || memcmp(d->p, lit, n) != 0)
        return bad_syntax(d, "unexpected character");
    d->p += n;
    return 0;
}

/* Reads a scalar token, or notes that an object or array starts here. */
static int read_token(struct dec *d, struct jtok *t)
{
    skip_ws(d);
    if (d->p >= d->end)
        return bad_syntax(d, "value expected");
    switch (*d->p) {
    case '"':
        t->kind = J_STRING;
        return read_string(d, &t->str);
    case '{':
        t->kind = J_OBJECT;
        return 0;
    case '[':
        t->kind = J_ARRAY;
        return 0;
    case 't':
        t->kind = J_TRUE;
        return expect_literal(d, "true", 4);
    case 'f':
        t->kind = J_FALSE;
        return expect_literal(d, "false", 5);
    case 'n':
        t->kind = J_NULL;
        return expect_literal(d, "null", 4);
    default: {
        bool integral;
        size_t n = jlex_number(d->p, d->end, &integral);
        if (n == 0)
            return bad_syntax(d, "invalid number");
        t->kind = J_NUMBER;
        t->num = d->p;
        t->num_n = n;
        d->p += n;
        return 0;
    }
    }
}

/* Room for n bytes and a NUL in d->text, which the next token may reuse. */
static char *text_room(struct dec *d, size_t n)
{
    if (n + 1 > d->text_cap) {
        size_t cap;
        char *t = scratch_get(&d->sc, n + 1, &cap);
        if (!t) {
            no_memory(d);
            return NULL;
        }
        if (d->text)
            scratch_put(&d->sc, d->text, d->text_cap);
        d->text = t;
        d->text_cap = cap;
    }
    return d->text;
}

/* A string's decoded text: in the body when it has no escapes, else in
 * d->text. NULL when memory runs out (the status is set). */
static const char *str_text(struct dec *d, const struct jstr *s)
{
    if (!s->escaped)
        return s->raw;
    char *t = text_room(d, s->len);
    if (t)
        jlex_decode(s, t, s->len);
    return t;
}

/* A scalar token's text, NUL-terminated (strtod stops at the NUL) in
 * d->text; "" for true and false. */
static const char *tok_cstr(struct dec *d, const struct jtok *t, size_t *n)
{
    *n = t->kind == J_NUMBER ? t->num_n : t->kind == J_STRING ? t->str.len : 0;
    char *s = text_room(d, *n);
    if (!s)
        return NULL;
    if (t->kind == J_NUMBER)
        memcpy(s, t->num, *n);
    else if (t->kind == J_STRING)
        jlex_decode(&t->str, s, *n);
    s[*n] = '\0';
    return s;
}

/* ---- containers ------------------------------------------------------- */

static int enter(struct dec *d)
{
    if (++d->depth > CG_MAX_DEPTH)
        return bad(d, "JSON nests deeper than %d levels", CG_MAX_DEPTH);
    d->p++;                                  /* the '{' or '[' */
    return 0;
}

/* Right after enter: closes the container when it is empty. */
static bool close_if_empty(struct dec *d, char close)
{
    skip_ws(d);
    if (d->p < d->end && *d->p == close) {
        d->p++;
        d->depth--;
        return true;
    }
    return false;
}

/* Whether the object at d->p (its '{') is empty, before entering it: what
 * close_if_empty will find. */
static bool object_is_empty(const struct dec *d)
{
    const char *p = jlex_ws(d->p + 1, d->end);
    return p < d->end && *p == '}';
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

/* Refuses a key the object already has (size pass; keys may be NULL when
 * the caller checks later). */
static int check_key(struct dec *d, struct jkeys *keys, const struct jstr *k, const char *text)
{
    if (!keys || !sizing(d))
        return 0;
    int r = jkeys_add(keys, &d->env, k, text);
    if (r < 0)
        return no_memory(d);
    if (r == 0)
        return bad(d, "key \"%.*s\" given more than once", (int)(k->len > 60 ? 60 : k->len),
                   text);
    return 0;
}

/* Reads `"key":` at d->p; *text gets the key's decoded text, valid until
 * the next token is read. */
static int read_key(struct dec *d, struct jkeys *keys, struct jstr *k, const char **text)
{
    skip_ws(d);
    if (d->p >= d->end || *d->p != '"')
        return bad_syntax(d, "object key expected");
    if (read_string(d, k) != 0 || !(*text = str_text(d, k)) ||
        check_key(d, keys, k, *text) != 0)
        return -1;
    skip_ws(d);
    if (d->p >= d->end || *d->p != ':')
        return bad_syntax(d, "':' expected");
    d->p++;
    return 0;
}

/* What each_item calls for one member (k: its key, text: the key's decoded
 * text) or one element (k and text NULL), with d->p at its value. */
typedef int (*item_fn)(struct dec *d, void *ctx, const struct jstr *k, const char *text);

/* The items of the object or array just entered (and not empty), through
 * its closing char; keys, when given, refuses a key given twice. */
static int each_item(struct dec *d, char close, struct jkeys *keys, item_fn fn, void *ctx)
{
    for (;;) {
        struct jstr k;
        const char *text = NULL;
        if (close == '}' && read_key(d, keys, &k, &text) != 0)
            return -1;
        if (fn(d, ctx, close == '}' ? &k : NULL, text) != 0)
            return -1;
        int r = next_or_close(d, close);
        if (r <= 0)
            return r;
    }
}

static int skip_value(struct dec *d);

static int skip_item(struct dec *d, void *ctx, const struct jstr *k, const char *text)
{
    (void)ctx;
    (void)k;
    (void)text;
    return skip_value(d);
}

/* An object or array of an unknown field: checked, never written. */
static int skip_container(struct dec *d)
{
    char close = *d->p == '{' ? '}' : ']';
    if (enter(d) != 0)
        return -1;
    if (close_if_empty(d, close))
        return 0;
    struct jkeys keys = {0};
    if (each_item(d, close, &keys, skip_item, NULL) != 0)
        return -1;
    jkeys_done(&keys, &d->env);
    return 0;
}

static int skip_value(struct dec *d)
{
    struct jtok t;
    skip_ws(d);
    if (d->p < d->end && (*d->p == '{' || *d->p == '['))
        return skip_container(d);
    return read_token(d, &t);
}

/* ---- values ----------------------------------------------------------- */

/* One value of a field, converted and checked, its size known, not yet
 * written. */
struct val {
    enum { VAL_SCALAR, VAL_STRING, VAL_BYTES, VAL_MESSAGE } kind;
    uint64_t bits;             /* VAL_SCALAR: as its wire type carries it */
    struct jstr str;           /* VAL_STRING */
    const char *b64;           /* VAL_BYTES: the base64 text */
    size_t b64_n;
    size_t len;                /* payload bytes; VAL_MESSAGE: write pass only */
    bool is_default;           /* what a field without presence leaves out */
};

/* Whether a singular field leaves out its default: a proto3 field with no
 * presence (field_info.has_presence). proto2 fields are written when given. */
static bool plain(const struct field_info *fi)
{
    return fi->fd->label == PROTOBUF_C_LABEL_NONE && !fi->has_presence;
}

/* Converts token t (already read; an object is still at d->p) for fi. */
static int prepare(struct dec *d, const struct field_info *fi, const struct jtok *t,
                   struct val *v)
{
    const ProtobufCFieldDescriptor *fd = fi->fd;
    memset(v, 0, sizeof *v);
    if (fd->type == PROTOBUF_C_TYPE_MESSAGE) {
        if (t->kind != J_OBJECT)
            return bad(d, "expected an object (%s)", fi->sub->desc->name);
        v->kind = VAL_MESSAGE;
        if (!sizing(d))
            v->len = object_is_empty(d) ? 0 : pb_out_peek(&d->out);
        return 0;
    }
    if (t->kind == J_OBJECT || t->kind == J_ARRAY)
        return bad(d, "expected a %s, not an %s", json_type_name(fd->type),
                   t->kind == J_OBJECT ? "object" : "array");
    if (fd->type == PROTOBUF_C_TYPE_STRING) {
        if (t->kind != J_STRING)
            return bad(d, "expected a string");
        v->kind = VAL_STRING;
        v->str = t->str;
        v->len = t->str.len;
        v->is_default = v->len == 0;
        return 0;
    }
    if (fd->type == PROTOBUF_C_TYPE_BYTES) {
        if (t->kind != J_STRING)
            return bad(d, "expected a base64 string");
        v->kind = VAL_BYTES;
        if (!(v->b64 = str_text(d, &t->str)))
            return -1;
        v->b64_n = t->str.len;
        if (base64_decoded_len(v->b64, v->b64_n, &v->len) != 0)
            return bad(d, "invalid base64");
        v->is_default = v->len == 0;
        return 0;
    }
    size_t n;
    const char *text = tok_cstr(d, t, &n);
    char err[JSCALAR_ERR_MAX];
    if (!text)
        return -1;
    if (json_to_scalar(fd, t->kind, text, n, &v->bits, err) != 0)
        return bad(d, "%s", err);
    v->kind = VAL_SCALAR;
    v->is_default = v->bits == 0;
    return 0;
}

/* Bytes v takes on the wire, its tag included when `tagged` (write pass). */
static size_t val_size(const ProtobufCFieldDescriptor *fd, const struct val *v, bool tagged)
{
    enum pb_wire_type wt = pb_wire_type_of(fd->type);
    size_t n = tagged ? pb_varint_len(pb_tag(fd->id, wt)) : 0;
    if (v->kind != VAL_SCALAR)
        return n + pb_varint_len(v->len) + v->len;
    return n + (wt == PB_WT_I32 ? 4 : wt == PB_WT_I64 ? 8 : pb_varint_len(v->bits));
}

static int read_submessage(struct dec *d, const struct msg_info *mi);

/* Writes v, with its tag unless it is an element of a packed list. */
static int emit(struct dec *d, const struct field_info *fi, const struct val *v, bool tagged)
{
    const ProtobufCFieldDescriptor *fd = fi->fd;
    enum pb_wire_type wt = pb_wire_type_of(fd->type);
    if (tagged)
        pb_out_tag(&d->out, fd->id, wt);
    if (v->kind == VAL_SCALAR) {
        pb_out_scalar(&d->out, wt, v->bits);
        return 0;
    }
    if (v->kind == VAL_MESSAGE)
        return read_submessage(d, fi->sub);
    pb_out_varint(&d->out, v->len);
    uint8_t *p = pb_out_take(&d->out, v->len);
    size_t got;
    if (p && v->kind == VAL_STRING)
        jlex_decode(&v->str, (char *)p, v->len);
    else if (p && (base64_decode(v->b64, v->b64_n, p, &got) != 0 || got != v->len))
        return out_fail(d, PB_OUT_MISMATCH);
    return 0;
}

enum how { SINGULAR, ELEMENT, PACKED_ELEMENT };

static int write_value(struct dec *d, const struct field_info *fi, const struct jtok *t,
                       enum how how)
{
    struct val v;
    if (prepare(d, fi, t, &v) != 0)
        return -1;
    if (how == SINGULAR && plain(fi) && v.is_default)
        return 0;
    return emit(d, fi, &v, how != PACKED_ELEMENT);
}

/* ---- messages, lists, maps -------------------------------------------- */

static int read_members(struct dec *d, const struct msg_info *mi);

/* A nested message at d->p (its '{'): its length, then its fields. */
static int read_submessage(struct dec *d, const struct msg_info *mi)
{
    if (enter(d) != 0)
        return -1;
    if (close_if_empty(d, '}')) {
        pb_out_varint(&d->out, 0);
        return 0;
    }
    struct pb_open h;
    int rc = pb_out_open(&d->out, &h);
    if (rc != 0)
        return out_fail(d, rc);
    if (read_members(d, mi) != 0)
        return -1;
    return out_fail(d, pb_out_close(&d->out, &h));
}

struct list {
    const struct field_info *fi;
    bool packed;
    size_t index;
};

static int list_item(struct dec *d, void *ctx, const struct jstr *k, const char *text)
{
    struct list *l = ctx;
    struct jtok t;
    (void)k;
    (void)text;
    path_push_index(d, l->index++);
    if (read_token(d, &t) != 0)
        return -1;
    if (t.kind == J_NULL)
        return bad(d, "null is not allowed in a list");
    if (write_value(d, l->fi, &t, l->packed ? PACKED_ELEMENT : ELEMENT) != 0)
        return -1;
    d->npath--;
    return 0;
}

static int read_list(struct dec *d, const struct field_info *fi)
{
    const ProtobufCFieldDescriptor *fd = fi->fd;
    struct list l = {fi, (fd->flags & PROTOBUF_C_FIELD_FLAG_PACKED) && pb_packable(fd->type), 0};
    struct pb_open h;
    if (enter(d) != 0)
        return -1;
    if (close_if_empty(d, ']'))
        return 0;
    if (l.packed) {
        pb_out_tag(&d->out, fd->id, PB_WT_LEN);
        int rc = pb_out_open(&d->out, &h);
        if (rc != 0)
            return out_fail(d, rc);
    }
    if (each_item(d, ']', NULL, list_item, &l) != 0)
        return -1;
    return l.packed ? out_fail(d, pb_out_close(&d->out, &h)) : 0;
}

/* A map key arrives as member text; it is converted as a string holding a
 * value of the key field's type would be, bool keys from their text. */
static int map_key(struct dec *d, const struct field_info *ki, const struct jstr *k,
                   const char *text, struct val *v)
{
    if (ki->fd->type != PROTOBUF_C_TYPE_BOOL) {
        struct jtok t = {.kind = J_STRING, .str = *k};
        return prepare(d, ki, &t, v);
    }
    memset(v, 0, sizeof *v);
    v->kind = VAL_SCALAR;
    if (k->len == 4 && memcmp(text, "true", 4) == 0)
        v->bits = 1;
    else if (!(k->len == 5 && memcmp(text, "false", 5) == 0))
        return bad(d, "map key must be \"true\" or \"false\"");
    v->is_default = v->bits == 0;
    return 0;
}

/* One map entry, a message of key (1) and value (2). The write pass knows
 * its length before writing it: the key and a scalar value are converted
 * first, and a message value's length is the next one noted. */
static int read_entry(struct dec *d, const struct field_info *fi, const struct jstr *k,
                      const char *text)
{
    const struct field_info *ki = &fi->sub->fields[0], *vi = &fi->sub->fields[1];
    struct val kv, vv;
    struct jtok t;
    if (map_key(d, ki, k, text, &kv) != 0 || read_token(d, &t) != 0)
        return -1;
    if (t.kind == J_NULL)
        return bad(d, "null is not allowed as a map value");
    if (prepare(d, vi, &t, &vv) != 0)
        return -1;
    bool with_key = !(plain(ki) && kv.is_default);
    bool with_value = !(plain(vi) && vv.is_default);
    size_t len = 0;
    if (!sizing(d))
        len = (with_key ? val_size(ki->fd, &kv, true) : 0) +
              (with_value ? val_size(vi->fd, &vv, true) : 0);
    struct pb_open h;
    pb_out_tag(&d->out, fi->fd->id, PB_WT_LEN);
    pb_out_open_known(&d->out, &h, len);
    if ((with_key && emit(d, ki, &kv, true) != 0) || (with_value && emit(d, vi, &vv, true) != 0))
        return -1;
    return out_fail(d, pb_out_close(&d->out, &h));
}

static int map_item(struct dec *d, void *ctx, const struct jstr *k, const char *text)
{
    path_push_key(d, k);
    if (read_entry(d, ctx, k, text) != 0)
        return -1;
    d->npath--;
    return 0;
}

static int read_map(struct dec *d, const struct field_info *fi)
{
    struct jkeys keys = {0};
    if (enter(d) != 0)
        return -1;
    if (close_if_empty(d, '}'))
        return 0;
    if (each_item(d, '}', &keys, map_item, (void *)fi) != 0)
        return -1;
    jkeys_done(&keys, &d->env);
    return 0;
}

/* Whether another member of fd's oneof was given a value already; the
 * members of one oneof share protobuf-c's case word. */
static bool oneof_taken(const struct msg_info *mi, const ProtobufCFieldDescriptor *fd,
                        const unsigned char *set)
{
    const ProtobufCMessageDescriptor *desc = mi->desc;
    for (unsigned j = 0; j < desc->n_fields; j++) {
        const ProtobufCFieldDescriptor *o = &desc->fields[j];
        if (o != fd && (o->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
            o->quantifier_offset == fd->quantifier_offset && (set[j / 8] & (1u << (j % 8))))
            return true;
    }
    return false;
}

/* The value of member fi of a message of type mi. `set` (size pass only)
 * marks the fields given a value that is not null. */
static int read_field(struct dec *d, const struct msg_info *mi, const struct field_info *fi,
                      unsigned char *set)
{
    const ProtobufCFieldDescriptor *fd = fi->fd;
    struct jtok t;
    if (read_token(d, &t) != 0)
        return -1;
    if (t.kind == J_NULL)
        return 0;                             /* null: the default */
    if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
        if (fi->is_map) {
            if (t.kind != J_OBJECT)
                return bad(d, "expected an object (map)");
            return read_map(d, fi);
        }
        if (t.kind != J_ARRAY)
            return bad(d, "expected a list");
        return read_list(d, fi);
    }
    if (set && (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)) {
        unsigned idx = (unsigned)(fi - mi->fields);
        if (oneof_taken(mi, fd, set))
            return bad(d, "another member of the same oneof is already set");
        set[idx / 8] |= (unsigned char)(1u << (idx % 8));
    }
    return write_value(d, fi, &t, SINGULAR);
}

/* A message being read: its type and, in the size pass, two bitmaps of
 * its fields (given; given a value that is not null) and the keys of its
 * unknown fields, kept while the object is open. */
struct members {
    const struct msg_info *mi;
    unsigned char *given, *set;
    struct jkeys unknown;
    unsigned next;             /* the field after the last one named */
};

/* The field a key names. Keys mostly come in schema order (this gateway's
 * own answers sent back, CueWeb's requests), so the field after the last
 * one is tried before the search. */
static const struct field_info *member_field(struct members *m, const char *text, size_t n)
{
    const struct msg_info *mi = m->mi;
    const struct field_info *fi = NULL;
    if (m->next < mi->desc->n_fields) {
        const struct field_info *g = &mi->fields[m->next];
        if (g->key_len - 3 == n && memcmp(g->json_name, text, n) == 0)
            fi = g;
    }
    if (!fi)
        fi = schema_field_by_name(mi, text, n);
    if (fi)
        m->next = (unsigned)(fi - mi->fields) + 1;
    return fi;
}

static int member_item(struct dec *d, void *ctx, const struct jstr *k, const char *text)
{
    struct members *m = ctx;
    const struct field_info *fi = member_field(m, text, k->len);
    if (!fi) {
        /* Unknown fields are ignored, but must still be valid JSON. */
        return check_key(d, &m->unknown, k, text) != 0 || skip_value(d) != 0 ? -1 : 0;
    }
    unsigned idx = (unsigned)(fi - m->mi->fields);
    path_push_field(d, fi->json_name);
    if (m->given) {
        if (m->given[idx / 8] & (1u << (idx % 8)))
            return bad(d, "field given more than once");
        m->given[idx / 8] |= (unsigned char)(1u << (idx % 8));
    }
    if (read_field(d, m->mi, fi, m->set) != 0)
        return -1;
    d->npath--;
    return 0;
}

/* The members of a message, after its '{' (entered, not empty) through its
 * '}'. */
static int read_members(struct dec *d, const struct msg_info *mi)
{
    size_t bm = (mi->desc->n_fields + 7) / 8, cap = 0;
    struct members m = {.mi = mi};
    if (sizing(d)) {
        if (!(m.given = scratch_get(&d->sc, 2 * bm, &cap)))
            return no_memory(d);
        memset(m.given, 0, 2 * bm);
        m.set = m.given + bm;
    }
    if (each_item(d, '}', NULL, member_item, &m) != 0)
        return -1;
    jkeys_done(&m.unknown, &d->env);
    if (m.given)
        scratch_put(&d->sc, m.given, cap);
    return 0;
}

/* One walk over the body, whose first non-blank byte `open` is its '{'.
 * The top message has no length prefix. */
static int walk(struct dec *d, const struct msg_info *mi, const char *open)
{
    d->p = open;
    d->depth = 0;
    d->npath = 0;
    if (enter(d) != 0)
        return -1;
    if (close_if_empty(d, '}'))
        return 0;
    return read_members(d, mi);
}

int json_to_pb(const struct msg_info *mi, const char *json, size_t n,
               struct arena *a, uint8_t **wire, size_t *wire_len, struct cg_status *st)
{
    struct dec d;
    d.start = json;
    d.end = json + n;
    d.a = a;
    d.st = st;
    d.text = NULL;
    d.text_cap = 0;
    scratch_init(&d.sc, a);
    d.env = (struct jkeys_env){&d.sc, json, json + n};
    d.npath = 0;
    const char *open = jlex_ws(json, json + n);
    if (open == d.end) {
        /* An empty body is the empty message. */
        if (!(*wire = arena_alloc(a, 1)))
            return no_memory(&d);
        *wire_len = 0;
        return 0;
    }
    if (*open != '{')
        return cg_fail(st, CG_INVALID_ARGUMENT, "the request body must be a JSON object");
    if (n > JKEYS_MAX_BODY)
        return cg_fail(st, CG_RESOURCE_EXHAUSTED, "the request body is over 4 GiB");

    pb_out_size_pass(&d.out, a);
    if (walk(&d, mi, open) != 0)
        return -1;
    skip_ws(&d);
    if (d.p != d.end)
        return bad_syntax(&d, "trailing bytes after the JSON value");
    size_t total = d.out.pos;
    if (total > PB_OUT_MAX)
        return out_fail(&d, PB_OUT_TOO_BIG);
    uint8_t *buf = arena_alloc(a, total ? total : 1);
    if (!buf)
        return no_memory(&d);

    pb_out_write_pass(&d.out, buf);
    if (walk(&d, mi, open) != 0)
        return -1;
    if ((size_t)(d.out.p - buf) != total)
        return out_fail(&d, PB_OUT_MISMATCH);
    *wire = buf;
    *wire_len = total;
    return 0;
}
