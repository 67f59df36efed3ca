#include "http/openapi.h"

#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json_object.h>

#include "ops/config.h"
#include "http/openapi_types.h"
#include "pb/schema.h"
#include "base/status.h"
#include "base/version.h"

#define ERROR_SCHEMA "cuegw.Error"

static const char description[] =
    "OpenCue's Cuebot API over HTTP. Each unary method of Cuebot's interfaces is "
    "`POST /<package>.<Service>/<Method>`, with the request message as the JSON body "
    "and the response message as the answer.\n\n"
    "JSON follows protobuf's canonical proto3 JSON mapping. Field names are "
    "lowerCamelCase (requests also accept the proto names). Responses carry every "
    "field, defaults included, except the fields described as written only when set; "
    "an unset message field is null. 64-bit integers are strings (requests also "
    "accept numbers). float and double values may be the strings \"NaN\", "
    "\"Infinity\" and \"-Infinity\" (requests accept them too). Enums are value names "
    "(requests also accept numbers; a value this schema does not name is written as "
    "its number). bytes are base64. In a request, null means the default, unknown "
    "fields are ignored, and an empty body means {}.\n\n"
    "Errors have the body {code, message, details}, code being the gRPC status code. "
    "A request with another HTTP method than POST is answered 405.";

/* The gateway's own reason for an error status, beside Cuebot's codes that
 * map to it (status.c's table). */
static const struct { int http; const char *reason; } own_reasons[] = {
    {400, "Malformed JSON, or a value of the wrong type (the message names the field). "},
    {401, "No or bad credentials. "},
    {403, "The method is not allowed for this caller (READ_ONLY, ACCESS_POLICY). "},
    {404, "Cuebot found no such object. "},
    {413, "The body is larger than the gateway's limit (GRPC_MAX_MESSAGE_SIZE). "},
    {503, "Cuebot is unreachable. "},
    {504, "The call's deadline (REQUEST_TIMEOUT) passed. "},
};
#define N_OWN (sizeof own_reasons / sizeof *own_reasons)

/* The error statuses an operation may answer, ascending: every status a
 * gRPC code maps to, and the body limit's (413), which no code maps to. */
static size_t error_statuses(int *out)
{
    size_t n = 0;
    for (int code = CG_CANCELLED; code <= CG_UNAUTHENTICATED; code++) {
        int http = cg_http_status(code);
        bool seen = false;
        for (size_t i = 0; i < n; i++)
            seen |= out[i] == http;
        if (!seen)
            out[n++] = http;
    }
    out[n++] = cg_errors[CG_E_BODY_TOO_LARGE].http;
    for (size_t i = 1; i < n; i++)            /* a dozen: insertion sort */
        for (size_t j = i; j > 0 && out[j - 1] > out[j]; j--) {
            int t = out[j];
            out[j] = out[j - 1];
            out[j - 1] = t;
        }
    return n;
}

/* A string value from printf's format; NULL (noted in t) when out of
 * memory. */
__attribute__((format(printf, 2, 3)))
static json_object *str_printf(struct oa_tree *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *text = n >= 0 ? malloc((size_t)n + 1) : NULL;
    json_object *s = NULL;
    if (text) {
        va_start(ap, fmt);
        vsnprintf(text, (size_t)n + 1, fmt, ap);
        va_end(ap);
        s = json_object_new_string_len(text, n);
    }
    free(text);
    t->failed |= !s;
    return s;
}

/* {"X-Request-Id":{"$ref":"#/components/headers/X-Request-Id"}}: every
 * answer carries the request's id. */
static json_object *request_id_header(struct oa_tree *t)
{
    json_object *headers = oa_object(t);
    oa_set(t, headers, "X-Request-Id", oa_ref_to(t, "#/components/headers/", "X-Request-Id"));
    return headers;
}

/* {"application/json":{"schema":{"$ref":...NAME}}} */
static json_object *json_content(struct oa_tree *t, const char *schema_name)
{
    json_object *content = oa_object(t), *media = oa_object(t);
    oa_set(t, media, "schema", oa_ref(t, schema_name));
    oa_set(t, content, "application/json", media);
    return content;
}

static void add_error_response(struct oa_tree *t, json_object *responses, int http)
{
    char name[16], text[400];
    snprintf(name, sizeof name, "Error%d", http);
    size_t n = 0;
    for (size_t i = 0; i < N_OWN; i++)
        if (own_reasons[i].http == http)
            n = (size_t)snprintf(text, sizeof text, "%s", own_reasons[i].reason);
    const char *sep = "gRPC status: ";
    for (int code = CG_CANCELLED; code <= CG_UNAUTHENTICATED; code++) {
        if (cg_http_status(code) != http)
            continue;
        n += (size_t)snprintf(text + n, sizeof text - n, "%s%s (%d)", sep, cg_code_name(code),
                              code);
        sep = ", ";
    }
    const struct cg_error_row *big = &cg_errors[CG_E_BODY_TOO_LARGE];
    if (http == big->http)
        snprintf(text + n, sizeof text - n, "%s%s (%d)", sep, cg_code_name(big->code), big->code);
    json_object *r = oa_object(t), *headers = request_id_header(t);
    oa_set_str(t, r, "description", text);
    if (http == 401) {
        json_object *auth = oa_strings(t, "description", "Bearer", NULL);
        oa_set(t, auth, "schema", oa_strings(t, "type", "string", NULL));
        oa_set(t, headers, "WWW-Authenticate", auth);
    }
    oa_set(t, r, "headers", headers);
    oa_set(t, r, "content", json_content(t, ERROR_SCHEMA));
    oa_set(t, responses, name, r);
}

static json_object *error_schema(struct oa_tree *t)
{
    json_object *o = oa_strings(t, "type", "object", NULL), *required = oa_array(t);
    static const char *const members[] = {"code", "message", "details"};
    for (size_t i = 0; i < sizeof members / sizeof *members; i++)
        oa_push(t, required, json_object_new_string(members[i]));
    oa_set(t, o, "required", required);
    json_object *props = oa_object(t);
    json_object *code = oa_strings(t, "type", "integer", "format", "int32", NULL);
    oa_set(t, code, "minimum", json_object_new_int(1));
    oa_set(t, code, "maximum", json_object_new_int(16));
    oa_set_str(t, code, "description", "gRPC status code (3 INVALID_ARGUMENT, 5 NOT_FOUND, "
                                       "16 UNAUTHENTICATED, ...)");
    oa_set(t, props, "code", code);
    oa_set(t, props, "message", oa_strings(t, "type", "string", NULL));
    json_object *details = oa_strings(t, "type", "array", NULL);
    oa_set(t, details, "items", oa_strings(t, "type", "object", NULL));
    oa_set(t, props, "details", details);
    oa_set(t, o, "properties", props);
    return o;
}

/* operationId: `<Service>_<Method>` with the service's short name, unless
 * two exposed packages have a service of that name: then the full name,
 * dots made underscores, keeps every id unique. */
static bool short_name_shared(const char *service)
{
    const char *s = strrchr(service, '.');
    s = s ? s + 1 : service;
    for (size_t i = 0; i < schema_method_count(); i++) {
        const char *other = schema_method_at(i)->service;
        const char *o = strrchr(other, '.');
        if (strcmp(other, service) != 0 && strcmp(o ? o + 1 : other, s) == 0)
            return true;
    }
    return false;
}

static json_object *operation_id(struct oa_tree *t, const struct method_info *m, bool full)
{
    const char *s = m->service;
    if (!full && strrchr(s, '.'))
        s = strrchr(s, '.') + 1;
    size_t ns = strlen(s), nm = strlen(m->name);
    char *id = malloc(ns + nm + 2);
    json_object *v = NULL;
    if (id) {
        for (size_t i = 0; i < ns; i++)
            id[i] = s[i] == '.' ? '_' : s[i];
        id[ns] = '_';
        memcpy(id + ns + 1, m->name, nm + 1);
        v = json_object_new_string(id);
    }
    free(id);
    t->failed |= !v;
    return v;
}

/* A capital starts a word after a lower-case letter or a digit, and after
 * a capital when a lower-case letter follows (the end of an acronym). */
static bool word_starts(const char *s, size_t i)
{
    const unsigned char *u = (const unsigned char *)s;
    return i > 0 && isupper(u[i]) &&
           (!isupper(u[i - 1]) || (u[i + 1] && islower(u[i + 1])));
}

/* Appends to out the words of a CamelCase name, in lower case but for
 * acronyms ("SetTimeoutLLU": "set timeout LLU"), each after a space but a
 * sentence's first word, which gets its capital. Writes at most 2n bytes
 * (a space before each letter at worst); returns past the last. */
static char *put_words(char *out, const char *s, size_t n, bool *first)
{
    size_t start = 0;
    for (size_t i = 1; i <= n; i++) {
        if (i < n && !word_starts(s, i))
            continue;
        size_t caps = 0;
        for (size_t j = start; j < i; j++)
            caps += isupper((unsigned char)s[j]) != 0;
        if (!*first)
            *out++ = ' ';
        for (size_t j = start; j < i; j++) {
            int c = (unsigned char)s[j];
            *out++ = (char)(*first && j == start ? toupper(c) : caps > 1 ? c : tolower(c));
        }
        *first = false;
        start = i;
    }
    return out;
}

/* The summary is a short sentence from the method's name ("Get shows"). A
 * name of one word ("Delete") would say nothing in a list of every
 * operation, so it names what the interface handles ("Delete frame"). */
static json_object *summary(struct oa_tree *t, const struct method_info *m)
{
    static const char suffix[] = "Interface";
    const size_t suffix_len = sizeof suffix - 1;
    size_t n = strlen(m->name);
    bool one_word = true;
    for (size_t i = 1; i < n; i++)
        one_word &= !word_starts(m->name, i);
    const char *svc = strrchr(m->service, '.');
    svc = svc ? svc + 1 : m->service;
    size_t svc_len = strlen(svc);
    if (svc_len > suffix_len && !strcmp(svc + svc_len - suffix_len, suffix))
        svc_len -= suffix_len;
    char *text = malloc(2 * (n + svc_len) + 1);
    json_object *v = NULL;
    if (text) {
        bool first = true;
        char *end = put_words(text, m->name, n, &first);
        if (one_word)
            end = put_words(end, svc, svc_len, &first);
        v = json_object_new_string_len(text, (int)(end - text));
    }
    free(text);
    t->failed |= !v;
    return v;
}

/* {"post":{...}}: one route. */
static json_object *path_item(struct oa_tree *t, const struct method_info *m, bool full_id,
                              const int *errors, size_t n_errors)
{
    json_object *item = oa_object(t), *post = oa_object(t), *tags = oa_array(t);
    oa_push(t, tags, json_object_new_string(m->service));
    oa_set(t, post, "tags", tags);
    oa_set(t, post, "summary", summary(t, m));
    /* What the operation does, for readers of the document and for linters
     * that want every operation described: the Cuebot call and its types. */
    oa_set(t, post, "description",
           str_printf(t, "Calls Cuebot's `%s/%s` with the body as its `%s`, and answers its `%s`.",
                      m->service, m->name, m->in->desc->name, m->out->desc->name));
    oa_set(t, post, "operationId", operation_id(t, m, full_id));
    json_object *params = oa_array(t);
    oa_push(t, params, oa_ref_to(t, "#/components/parameters/", "X-Request-Id"));
    oa_set(t, post, "parameters", params);
    json_object *body = oa_object(t);
    oa_set(t, body, "content", json_content(t, m->in->desc->name));
    oa_set(t, post, "requestBody", body);
    json_object *responses = oa_object(t), *ok = oa_object(t);
    oa_set_str(t, ok, "description", m->out->desc->name);
    oa_set(t, ok, "headers", request_id_header(t));
    oa_set(t, ok, "content", json_content(t, m->out->desc->name));
    oa_set(t, responses, "200", ok);
    for (size_t i = 0; i < n_errors; i++) {
        char status[16], name[16];
        snprintf(status, sizeof status, "%d", errors[i]);
        snprintf(name, sizeof name, "Error%d", errors[i]);
        oa_set(t, responses, status, oa_ref_to(t, "#/components/responses/", name));
    }
    oa_set(t, post, "responses", responses);
    oa_set(t, item, "post", post);
    return item;
}

static void add_info(struct oa_tree *t, json_object *doc, const char *prefix, size_t prefix_len)
{
    json_object *info = oa_strings(t, "title", "OpenCue REST gateway (cuegw)",
                                   "version", CUEGW_VERSION, "description", description, NULL);
    oa_set_str(t, doc, "openapi", "3.1.0");
    /* OpenCue's license: the project names no other. */
    oa_set(t, info, "license", oa_strings(t, "name", "Apache-2.0", "identifier", "Apache-2.0", NULL));
    oa_set(t, doc, "info", info);
    char url[CG_MAX_PREFIX + 2] = "/";
    if (prefix_len && prefix_len <= CG_MAX_PREFIX) {
        memcpy(url, prefix, prefix_len);
        url[prefix_len] = '\0';
    }
    json_object *servers = oa_array(t);
    oa_push(t, servers, oa_strings(t, "url", url, "description",
                                   "relative to where this document is served (URL_PREFIX)", NULL));
    oa_set(t, doc, "servers", servers);
    json_object *security = oa_array(t), *bearer = oa_object(t);
    oa_set(t, bearer, "bearer", oa_array(t));
    oa_push(t, security, bearer);
    oa_set(t, doc, "security", security);
}

/* One tag per interface, in route order (the routes are sorted by path,
 * so each interface's methods are together), described by what a reader
 * of the tag list wants to know: which calls it holds. */
static json_object *tag_list(struct oa_tree *t)
{
    json_object *tags = oa_array(t);
    size_t count = schema_method_count();
    for (size_t i = 0, next; i < count; i = next) {
        const char *s = schema_method_at(i)->service;
        for (next = i + 1; next < count && !strcmp(schema_method_at(next)->service, s); next++)
            ;
        json_object *tag = oa_object(t);
        oa_set_str(t, tag, "name", s);
        oa_set(t, tag, "description",
               str_printf(t, "Cuebot's %s: %zu %s%s/<Method>`.", s, next - i,
                          next - i == 1 ? "method, `POST /" : "methods, each `POST /", s));
        oa_push(t, tags, tag);
    }
    return tags;
}

static json_object *path_list(struct oa_tree *t, const int *errors, size_t n_errors)
{
    json_object *paths = oa_object(t);
    const char *service = NULL;
    bool full_id = false;
    for (size_t i = 0; i < schema_method_count(); i++) {
        const struct method_info *m = schema_method_at(i);
        if (!service || strcmp(service, m->service) != 0) {
            service = m->service;
            full_id = short_name_shared(service);
        }
        oa_set(t, paths, m->path, path_item(t, m, full_id, errors, n_errors));
    }
    return paths;
}

static json_object *components(struct oa_tree *t, const int *errors, size_t n_errors)
{
    json_object *c = oa_object(t);
    json_object *schemes = oa_object(t);
    oa_set(t, schemes, "bearer", oa_strings(t,
        "type", "http", "scheme", "bearer", "bearerFormat", "JWT", "description",
        "A JWT signed with JWT_SECRET (HS256, HS384 or HS512), or a static token "
        "(AUTH_TOKEN). A gateway run with AUTH_MODE=remote-user trusts the web server's "
        "own authentication instead.", NULL));
    oa_set(t, c, "securitySchemes", schemes);

    json_object *params = oa_object(t);
    json_object *param = oa_strings(t, "name", "X-Request-Id", "in", "header", NULL);
    oa_set(t, param, "required", json_object_new_boolean(0));
    oa_set(t, param, "schema", oa_strings(t, "type", "string", NULL));
    oa_set_str(t, param, "description",
               "Passed on to Cuebot and logged; a missing, long or odd one is replaced by a "
               "new one.");
    oa_set(t, params, "X-Request-Id", param);
    oa_set(t, c, "parameters", params);

    json_object *headers = oa_object(t), *header = oa_object(t);
    oa_set(t, header, "schema", oa_strings(t, "type", "string", NULL));
    oa_set_str(t, header, "description", "The request's id, as sent to Cuebot.");
    oa_set(t, headers, "X-Request-Id", header);
    oa_set(t, c, "headers", headers);

    json_object *responses = oa_object(t);
    for (size_t i = 0; i < n_errors; i++)
        add_error_response(t, responses, errors[i]);
    oa_set(t, c, "responses", responses);

    json_object *schemas = oa_object(t);
    openapi_add_types(t, schemas);
    oa_set(t, schemas, ERROR_SCHEMA, error_schema(t));
    oa_set(t, c, "schemas", schemas);
    return c;
}

/* Compact, and with '/' as itself: the document is full of paths and
 * $refs, and json-c would write each slash as "\/". Insertion order is
 * json-c's member order, so the output is the same on every build. */
#define DOC_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

int openapi_write(struct outbuf *ob, const char *url_prefix, size_t prefix_len)
{
    int errors[CG_UNAUTHENTICATED + 2];
    size_t n_errors = error_statuses(errors);
    struct oa_tree t = {false};
    json_object *doc = oa_object(&t);
    add_info(&t, doc, url_prefix, prefix_len);
    oa_set(&t, doc, "tags", tag_list(&t));
    oa_set(&t, doc, "paths", path_list(&t, errors, n_errors));
    oa_set(&t, doc, "components", components(&t, errors, n_errors));
    size_t len = 0;
    const char *text = t.failed ? NULL : json_object_to_json_string_length(doc, DOC_FLAGS, &len);
    if (text) {
        outbuf_put(ob, text, len);
        outbuf_putc(ob, '\n');
    }
    /* The text lives in the tree's print buffer: copied out, both go. */
    json_object_put(doc);
    return text && !ob->failed ? 0 : -1;
}

/* ---- the process's copy ----------------------------------------------- */

static pthread_mutex_t doc_lock = PTHREAD_MUTEX_INITIALIZER;
static struct outbuf doc;
static bool doc_ready;

const char *openapi_document(const char *url_prefix, size_t prefix_len, size_t *len)
{
    pthread_mutex_lock(&doc_lock);
    if (!doc_ready) {
        outbuf_init(&doc, CG_MAX_OPENAPI);
        if (openapi_write(&doc, url_prefix, prefix_len) == 0)
            doc_ready = true;
        else
            outbuf_free(&doc);
    }
    pthread_mutex_unlock(&doc_lock);
    /* Once ready, the document never changes: reading it needs no lock. */
    if (!doc_ready)
        return NULL;
    *len = doc.len;
    return doc.data;
}

/* ---- cuegw --openapi -------------------------------------------------- */

/* Only URL_PREFIX shapes the document; the settings code reads it, so that
 * it is checked and trimmed exactly as the gateway does, and nothing else
 * (printing needs no credential). */
int openapi_print(FILE *out)
{
    struct cg_status st;
    struct cg_config cfg;
    cg_status_clear(&st);
    if (schema_init(&st) != 0 || config_load_one(&cfg, SET_URL_PREFIX, NULL, NULL, &st) != 0) {
        fprintf(stderr, "cuegw: %s\n", st.msg);
        return 2;
    }
    struct outbuf ob;
    outbuf_init(&ob, CG_MAX_OPENAPI);
    int rc = openapi_write(&ob, cfg.url_prefix, cfg.url_prefix_len);
    config_free(&cfg);
    if (rc == 0 && (fwrite(ob.data, 1, ob.len, out) != ob.len || fflush(out) != 0))
        rc = -1;
    outbuf_free(&ob);
    if (rc != 0) {
        fprintf(stderr, "cuegw: could not write the OpenAPI document\n");
        return 2;
    }
    return 0;
}
