#include "pb/schema.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb/schema_index.h"

/* The Cuebot interfaces a REST gateway serves (SPEC §1), as OpenCue's own
 * gateway registers them. RQD's API, its report channel, monitoring and the
 * remaining internal interfaces stay private. The methods of each interface
 * come from its descriptor. */
static const char *const exposed_services[] = {
    "show.ShowInterface", "job.JobInterface", "job.FrameInterface",
    "job.LayerInterface", "job.GroupInterface", "host.HostInterface",
    "host.DeedInterface", "host.OwnerInterface", "host.ProcInterface",
    "comment.CommentInterface", "facility.FacilityInterface",
    "facility.AllocationInterface", "filter.FilterInterface",
    "filter.ActionInterface", "filter.MatcherInterface",
    "depend.DependInterface", "subscription.SubscriptionInterface",
    "limit.LimitInterface", "service.ServiceInterface",
    "service.ServiceOverrideInterface", "task.TaskInterface",
    "department.DepartmentInterface",
};

static struct {
    bool ready;
    struct msg_info *msgs;
    size_t n_msgs;
    const struct msg_info **by_ptr;   /* open-addressed, keyed by descriptor */
    size_t ptr_mask;
    const struct msg_info **by_name;  /* sorted by full name */
    struct method_info *methods;      /* sorted by path */
    size_t n_methods;
} reg;

static char *xstrdup_json_name(const char *proto)
{
    size_t n = strlen(proto);
    char *out = malloc(n + 1), *o = out;
    if (!out)
        return NULL;
    bool up = false;
    for (const char *p = proto; *p; p++) {
        if (*p == '_') {
            up = true;
        } else {
            *o++ = (up && *p >= 'a' && *p <= 'z') ? (char)(*p - 'a' + 'A') : *p;
            up = false;
        }
    }
    *o = '\0';
    return out;
}

/* protoc names a map field's entry type after the field: each letter after
 * an underscore (and the first) upper-cased, underscores dropped, "Entry". */
static bool entry_name_matches(const char *field, const char *entry_short)
{
    bool up = true;
    const char *e = entry_short;
    for (const char *p = field; *p; p++) {
        if (*p == '_') {
            up = true;
            continue;
        }
        char c = (up && *p >= 'a' && *p <= 'z') ? (char)(*p - 'a' + 'A') : *p;
        up = false;
        if (*e++ != c)
            return false;
    }
    return strcmp(e, "Entry") == 0;
}

static bool is_map_field(const ProtobufCMessageDescriptor *owner,
                         const ProtobufCFieldDescriptor *fd)
{
    if (fd->label != PROTOBUF_C_LABEL_REPEATED || fd->type != PROTOBUF_C_TYPE_MESSAGE)
        return false;
    const ProtobufCMessageDescriptor *e = fd->descriptor;
    size_t on = strlen(owner->name);
    if (e->n_fields != 2 || e->fields[0].id != 1 || e->fields[1].id != 2 ||
        strcmp(e->fields[0].name, "key") != 0 || strcmp(e->fields[1].name, "value") != 0)
        return false;
    /* The entry must be nested directly in the owner. */
    if (strncmp(e->name, owner->name, on) != 0 || e->name[on] != '.' ||
        strchr(e->name + on + 1, '.'))
        return false;
    return entry_name_matches(fd->name, e->short_name);
}

static size_t ptr_hash(const void *p)
{
    uintptr_t x = (uintptr_t)p;
    x ^= x >> 17;
    x *= (uintptr_t)0x9E3779B97F4A7C15ull;
    return (size_t)(x ^ (x >> 29));
}

const struct msg_info *schema_msg(const ProtobufCMessageDescriptor *d)
{
    for (size_t i = ptr_hash(d) & reg.ptr_mask;; i = (i + 1) & reg.ptr_mask) {
        const struct msg_info *mi = reg.by_ptr[i];
        if (!mi || mi->desc == d)
            return mi;
    }
}

static int cmp_name_slot(const void *a, const void *b)
{
    const struct name_slot *x = a, *y = b;
    unsigned n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->name, y->name, n);
    return c ? c : (int)x->len - (int)y->len;
}

static int build_msg(struct msg_info *mi, const ProtobufCMessageDescriptor *d)
{
    unsigned n = d->n_fields;
    mi->desc = d;
    mi->fields = calloc(n ? n : 1, sizeof *mi->fields);
    mi->names = calloc(n ? 2 * n : 1, sizeof *mi->names);
    if (!mi->fields || !mi->names)
        return -1;
    for (unsigned i = 0; i < n; i++) {
        const ProtobufCFieldDescriptor *fd = &d->fields[i];
        struct field_info *fi = &mi->fields[i];
        fi->fd = fd;
        fi->json_name = xstrdup_json_name(fd->name);
        if (!fi->json_name)
            return -1;
        size_t jl = strlen(fi->json_name);
        char *key = malloc(jl + 4);
        if (!key)
            return -1;
        key[0] = '"';
        memcpy(key + 1, fi->json_name, jl);
        memcpy(key + 1 + jl, "\":", 3);
        fi->key = key;
        fi->key_len = (unsigned)(jl + 3);
        fi->is_map = is_map_field(d, fd);
        fi->has_presence = (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) ||
                           (fd->label == PROTOBUF_C_LABEL_OPTIONAL &&
                            fd->type != PROTOBUF_C_TYPE_MESSAGE &&
                            fd->type != PROTOBUF_C_TYPE_STRING);
        mi->names[mi->n_names++] = (struct name_slot){fi->json_name, (unsigned)jl, i};
        if (strcmp(fi->json_name, fd->name) != 0)
            mi->names[mi->n_names++] =
                (struct name_slot){fd->name, (unsigned)strlen(fd->name), i};
    }
    qsort(mi->names, mi->n_names, sizeof *mi->names, cmp_name_slot);
    /* Dense up to a bound proportional to the field count, so a schema's
     * sparse numbers (one field numbered 10000) cost nothing. */
    uint32_t top = 0;
    for (unsigned i = 0; i < n; i++)
        if (d->fields[i].id <= 4 * n + 16 && d->fields[i].id > top)
            top = d->fields[i].id;
    if (top) {
        if (!(mi->dense = calloc(top, sizeof *mi->dense)))
            return -1;
        for (unsigned i = 0; i < n; i++)
            if (d->fields[i].id <= top)
                mi->dense[d->fields[i].id - 1] = (uint16_t)(i + 1);
        mi->n_dense = top;
    }
    return 0;
}

const struct field_info *schema_field_by_name(const struct msg_info *mi,
                                              const char *name, size_t len)
{
    struct name_slot key = {name, (unsigned)len, 0};
    const struct name_slot *s =
        bsearch(&key, mi->names, mi->n_names, sizeof key, cmp_name_slot);
    return s ? &mi->fields[s->field] : NULL;
}

static int cmp_msg_by_name(const void *a, const void *b)
{
    const struct msg_info *const *x = a, *const *y = b;
    return strcmp((*x)->desc->name, (*y)->desc->name);
}

static int cmp_method(const void *a, const void *b)
{
    const struct method_info *x = a, *y = b;
    return strcmp(x->path, y->path);
}

static bool service_exposed(const char *name)
{
    for (size_t i = 0; i < sizeof exposed_services / sizeof *exposed_services; i++)
        if (strcmp(exposed_services[i], name) == 0)
            return true;
    return false;
}

static int build_methods(struct cg_status *st)
{
    size_t n = 0;
    for (size_t s = 0; schema_index_services[s]; s++)
        if (service_exposed(schema_index_services[s]->name))
            n += schema_index_services[s]->n_methods;
    reg.methods = calloc(n ? n : 1, sizeof *reg.methods);
    if (!reg.methods)
        return cg_fail(st, CG_INTERNAL, "out of memory building the route table");
    for (size_t s = 0; schema_index_services[s]; s++) {
        const ProtobufCServiceDescriptor *sd = schema_index_services[s];
        if (!service_exposed(sd->name))
            continue;
        for (unsigned m = 0; m < sd->n_methods; m++) {
            const ProtobufCMethodDescriptor *md = &sd->methods[m];
            struct method_info *mi = &reg.methods[reg.n_methods++];
            size_t len = 1 + strlen(sd->name) + 1 + strlen(md->name);
            char *path = malloc(len + 1);
            if (!path)
                return cg_fail(st, CG_INTERNAL, "out of memory building the route table");
            snprintf(path, len + 1, "/%s/%s", sd->name, md->name);
            mi->path = path;
            mi->path_len = len;
            mi->service = sd->name;
            mi->name = md->name;
            mi->in = schema_msg(md->input);
            mi->out = schema_msg(md->output);
            if (!mi->in || !mi->out)
                return cg_fail(st, CG_INTERNAL, "method %s has a type outside the schema", path);
        }
    }
    qsort(reg.methods, reg.n_methods, sizeof *reg.methods, cmp_method);
    return 0;
}

int schema_init(struct cg_status *st)
{
    if (reg.ready)
        return 0;
    size_t n = 0;
    while (schema_index_messages[n])
        n++;
    reg.n_msgs = n;
    reg.msgs = calloc(n ? n : 1, sizeof *reg.msgs);
    size_t slots = 16;
    while (slots < 2 * n)
        slots *= 2;
    reg.by_ptr = calloc(slots, sizeof *reg.by_ptr);
    reg.ptr_mask = slots - 1;
    reg.by_name = calloc(n ? n : 1, sizeof *reg.by_name);
    if (!reg.msgs || !reg.by_ptr || !reg.by_name)
        return cg_fail(st, CG_INTERNAL, "out of memory building the schema");
    for (size_t i = 0; i < n; i++) {
        struct msg_info *mi = &reg.msgs[i];
        if (build_msg(mi, schema_index_messages[i]) != 0)
            return cg_fail(st, CG_INTERNAL, "out of memory building the schema");
        size_t h = ptr_hash(mi->desc) & reg.ptr_mask;
        while (reg.by_ptr[h])
            h = (h + 1) & reg.ptr_mask;
        reg.by_ptr[h] = mi;
        reg.by_name[i] = mi;
    }
    qsort(reg.by_name, n, sizeof *reg.by_name, cmp_msg_by_name);
    for (size_t i = 0; i < n; i++) {
        struct msg_info *mi = &reg.msgs[i];
        for (unsigned f = 0; f < mi->desc->n_fields; f++) {
            const ProtobufCFieldDescriptor *fd = &mi->desc->fields[f];
            if (fd->type != PROTOBUF_C_TYPE_MESSAGE)
                continue;
            mi->fields[f].sub = schema_msg(fd->descriptor);
            if (!mi->fields[f].sub)
                return cg_fail(st, CG_INTERNAL, "field %s.%s has a type outside the schema",
                               mi->desc->name, fd->name);
        }
    }
    if (build_methods(st) != 0)
        return -1;
    reg.ready = true;
    return 0;
}

const struct msg_info *schema_msg_by_name(const char *full_name)
{
    size_t lo = 0, hi = reg.n_msgs;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(reg.by_name[mid]->desc->name, full_name);
        if (c == 0)
            return reg.by_name[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

size_t schema_msg_count(void) { return reg.n_msgs; }
const struct msg_info *schema_msg_at(size_t i) { return i < reg.n_msgs ? &reg.msgs[i] : NULL; }

const struct method_info *schema_method(const char *path, size_t len)
{
    size_t lo = 0, hi = reg.n_methods;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const struct method_info *m = &reg.methods[mid];
        size_t n = len < m->path_len ? len : m->path_len;
        int c = memcmp(m->path, path, n);
        if (c == 0)
            c = (m->path_len > len) - (m->path_len < len);
        if (c == 0)
            return m;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

size_t schema_method_count(void) { return reg.n_methods; }
const struct method_info *schema_method_at(size_t i)
{
    return i < reg.n_methods ? &reg.methods[i] : NULL;
}

size_t schema_elem_size(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32: case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32: case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_ENUM:
        return 4;
    case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64: case PROTOBUF_C_TYPE_DOUBLE:
        return 8;
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_STRING:
        return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(ProtobufCMessage *);
    }
    return 0;
}
