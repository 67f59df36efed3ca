#include "http/openapi.h"

#include <ctype.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

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

static void put_int(struct outbuf *ob, long v)
{
    char num[24];
    int n = snprintf(num, sizeof num, "%ld", v);
    outbuf_put(ob, num, (size_t)n);
}

static void write_error_response(struct outbuf *ob, int http)
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
    oa_key(ob, name);
    outbuf_putc(ob, '{');
    oa_member(ob, "description", text);
    outbuf_puts_lit(ob, "\"headers\":{\"X-Request-Id\":"
                        "{\"$ref\":\"#/components/headers/X-Request-Id\"}");
    if (http == 401)
        outbuf_puts_lit(ob, ",\"WWW-Authenticate\":{\"description\":\"Bearer\","
                            "\"schema\":{\"type\":\"string\"}}");
    outbuf_puts_lit(ob, "},\"content\":{\"application/json\":{\"schema\":");
    oa_ref(ob, ERROR_SCHEMA);
    outbuf_puts_lit(ob, "}}}");
}

static void write_error_schema(struct outbuf *ob)
{
    oa_key(ob, ERROR_SCHEMA);
    outbuf_puts_lit(ob,
        "{\"type\":\"object\",\"required\":[\"code\",\"message\",\"details\"],"
        "\"properties\":{"
        "\"code\":{\"type\":\"integer\",\"format\":\"int32\",\"minimum\":1,\"maximum\":16,"
        "\"description\":\"gRPC status code (3 INVALID_ARGUMENT, 5 NOT_FOUND, "
        "16 UNAUTHENTICATED, ...)\"},"
        "\"message\":{\"type\":\"string\"},"
        "\"details\":{\"type\":\"array\",\"items\":{\"type\":\"object\"}}}}");
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

static void write_operation_id(struct outbuf *ob, const struct method_info *m, bool full)
{
    const char *s = m->service;
    if (!full && strrchr(s, '.'))
        s = strrchr(s, '.') + 1;
    outbuf_putc(ob, '"');
    for (; *s; s++)
        outbuf_putc(ob, *s == '.' ? '_' : *s);
    outbuf_putc(ob, '_');
    outbuf_put(ob, m->name, strlen(m->name));
    outbuf_putc(ob, '"');
}

/* A capital starts a word after a lower-case letter or a digit, and after
 * a capital when a lower-case letter follows (the end of an acronym). */
static bool word_starts(const char *s, size_t i)
{
    const unsigned char *u = (const unsigned char *)s;
    return i > 0 && isupper(u[i]) &&
           (!isupper(u[i - 1]) || (u[i + 1] && islower(u[i + 1])));
}

/* The words of a CamelCase name, in lower case but for acronyms
 * ("SetTimeoutLLU": "set timeout LLU"), each after a space but a sentence's
 * first word, which gets its capital. Names are protobuf identifiers
 * ([A-Za-z0-9_]): nothing in them needs a JSON escape. */
static void put_words(struct outbuf *ob, const char *s, size_t n, bool *first)
{
    size_t start = 0;
    for (size_t i = 1; i <= n; i++) {
        if (i < n && !word_starts(s, i))
            continue;
        size_t caps = 0;
        for (size_t j = start; j < i; j++)
            caps += isupper((unsigned char)s[j]) != 0;
        if (!*first)
            outbuf_putc(ob, ' ');
        for (size_t j = start; j < i; j++) {
            int c = (unsigned char)s[j];
            outbuf_putc(ob, (char)(*first && j == start ? toupper(c) : caps > 1 ? c : tolower(c)));
        }
        *first = false;
        start = i;
    }
}

/* The summary is a short sentence from the method's name ("Get shows"). A
 * name of one word ("Delete") would say nothing in a list of every
 * operation, so it names what the interface handles ("Delete frame"). */
static void write_summary(struct outbuf *ob, const struct method_info *m)
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
    bool first = true;
    outbuf_puts_lit(ob, "\"summary\":\"");
    put_words(ob, m->name, n, &first);
    if (one_word)
        put_words(ob, svc, svc_len, &first);
    outbuf_puts_lit(ob, "\",");
}

/* What the operation does, for readers of the document and for linters
 * that want every operation described: the Cuebot call and its types. */
static void write_description(struct outbuf *ob, const struct method_info *m)
{
    outbuf_puts_lit(ob, "\"description\":\"Calls Cuebot's `");
    outbuf_put(ob, m->service, strlen(m->service));
    outbuf_putc(ob, '/');
    outbuf_put(ob, m->name, strlen(m->name));
    outbuf_puts_lit(ob, "` with the body as its `");
    outbuf_put(ob, m->in->desc->name, strlen(m->in->desc->name));
    outbuf_puts_lit(ob, "`, and answers its `");
    outbuf_put(ob, m->out->desc->name, strlen(m->out->desc->name));
    outbuf_puts_lit(ob, "`.\",");
}

static void write_operation(struct outbuf *ob, const struct method_info *m, bool full_id,
                            const int *errors, size_t n_errors)
{
    oa_key(ob, m->path);
    outbuf_puts_lit(ob, "{\"post\":{\"tags\":[");
    oa_str(ob, m->service);
    outbuf_puts_lit(ob, "],");
    write_summary(ob, m);
    write_description(ob, m);
    outbuf_puts_lit(ob, "\"operationId\":");
    write_operation_id(ob, m, full_id);
    outbuf_puts_lit(ob, ",\"parameters\":[{\"$ref\":\"#/components/parameters/X-Request-Id\"}],"
                        "\"requestBody\":{\"content\":{\"application/json\":{\"schema\":");
    oa_ref(ob, m->in->desc->name);
    outbuf_puts_lit(ob, "}}},\"responses\":{\"200\":{");
    oa_member(ob, "description", m->out->desc->name);
    outbuf_puts_lit(ob, "\"headers\":{\"X-Request-Id\":"
                        "{\"$ref\":\"#/components/headers/X-Request-Id\"}},"
                        "\"content\":{\"application/json\":{\"schema\":");
    oa_ref(ob, m->out->desc->name);
    outbuf_puts_lit(ob, "}}}");
    for (size_t i = 0; i < n_errors; i++) {
        outbuf_puts_lit(ob, ",\"");
        put_int(ob, errors[i]);
        outbuf_puts_lit(ob, "\":{\"$ref\":\"#/components/responses/Error");
        put_int(ob, errors[i]);
        outbuf_puts_lit(ob, "\"}");
    }
    outbuf_puts_lit(ob, "}}}");
}

static void write_info(struct outbuf *ob, const char *prefix, size_t prefix_len)
{
    outbuf_puts_lit(ob, "{\"openapi\":\"3.1.0\",\"info\":{");
    oa_member(ob, "title", "OpenCue REST gateway (cuegw)");
    oa_member(ob, "version", CUEGW_VERSION);
    oa_member(ob, "description", description);
    /* OpenCue's license: the project names no other. */
    outbuf_puts_lit(ob, "\"license\":{\"name\":\"Apache-2.0\",\"identifier\":\"Apache-2.0\"}"
                        "},\"servers\":[{\"url\":");
    char url[CG_MAX_PREFIX + 2] = "/";
    if (prefix_len && prefix_len <= CG_MAX_PREFIX) {
        memcpy(url, prefix, prefix_len);
        url[prefix_len] = '\0';
    }
    oa_str(ob, url);
    outbuf_puts_lit(ob, ",\"description\":\"relative to where this document is served "
                        "(URL_PREFIX)\"}],\"security\":[{\"bearer\":[]}],");
}

/* One tag per interface, in route order (the routes are sorted by path,
 * so each interface's methods are together), described by what a reader
 * of the tag list wants to know: which calls it holds. */
static void write_tags(struct outbuf *ob)
{
    outbuf_puts_lit(ob, "\"tags\":[");
    size_t count = schema_method_count();
    for (size_t i = 0, next; i < count; i = next) {
        const char *s = schema_method_at(i)->service;
        for (next = i + 1; next < count && !strcmp(schema_method_at(next)->service, s); next++)
            ;
        if (i)
            outbuf_putc(ob, ',');
        outbuf_putc(ob, '{');
        oa_member(ob, "name", s);
        /* Service names are protobuf names ([A-Za-z0-9_.]): no escape. */
        outbuf_puts_lit(ob, "\"description\":\"Cuebot's ");
        outbuf_put(ob, s, strlen(s));
        outbuf_puts_lit(ob, ": ");
        put_int(ob, (long)(next - i));
        const char *each = next - i == 1 ? " method, `POST /" : " methods, each `POST /";
        outbuf_put(ob, each, strlen(each));
        outbuf_put(ob, s, strlen(s));
        outbuf_puts_lit(ob, "/<Method>`.\"}");
    }
    outbuf_puts_lit(ob, "],");
}

static void write_paths(struct outbuf *ob, const int *errors, size_t n_errors)
{
    outbuf_puts_lit(ob, "\"paths\":{");
    const char *service = NULL;
    bool full_id = false;
    for (size_t i = 0; i < schema_method_count(); i++) {
        const struct method_info *m = schema_method_at(i);
        if (!service || strcmp(service, m->service) != 0) {
            service = m->service;
            full_id = short_name_shared(service);
        }
        if (i)
            outbuf_putc(ob, ',');
        write_operation(ob, m, full_id, errors, n_errors);
    }
    outbuf_puts_lit(ob, "},");
}

static void write_components_head(struct outbuf *ob, const int *errors, size_t n_errors)
{
    outbuf_puts_lit(ob,
        "\"components\":{\"securitySchemes\":{\"bearer\":{\"type\":\"http\","
        "\"scheme\":\"bearer\",\"bearerFormat\":\"JWT\",\"description\":"
        "\"A JWT signed with JWT_SECRET (HS256, HS384 or HS512), or a static token "
        "(AUTH_TOKEN). A gateway run with AUTH_MODE=remote-user trusts the web server's "
        "own authentication instead.\"}},"
        "\"parameters\":{\"X-Request-Id\":{\"name\":\"X-Request-Id\",\"in\":\"header\","
        "\"required\":false,\"schema\":{\"type\":\"string\"},\"description\":"
        "\"Passed on to Cuebot and logged; a missing, long or odd one is replaced by a "
        "new one.\"}},"
        "\"headers\":{\"X-Request-Id\":{\"schema\":{\"type\":\"string\"},\"description\":"
        "\"The request's id, as sent to Cuebot.\"}},"
        "\"responses\":{");
    for (size_t i = 0; i < n_errors; i++) {
        if (i)
            outbuf_putc(ob, ',');
        write_error_response(ob, errors[i]);
    }
    outbuf_puts_lit(ob, "},");
}

int openapi_write(struct outbuf *ob, const char *url_prefix, size_t prefix_len)
{
    int errors[CG_UNAUTHENTICATED + 2];
    size_t n_errors = error_statuses(errors);
    write_info(ob, url_prefix, prefix_len);
    write_tags(ob);
    write_paths(ob, errors, n_errors);
    write_components_head(ob, errors, n_errors);
    outbuf_puts_lit(ob, "\"schemas\":{");
    if (openapi_write_types(ob) != 0)
        return -1;
    write_error_schema(ob);
    outbuf_puts_lit(ob, "}}}\n");
    return ob->failed ? -1 : 0;
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
