/* Fuzz target: one whole request through gateway_handle (common/http/gateway.c):
 * FastCGI parameters, the URI's path and query, URL_PREFIX, CORS, health,
 * per-request settings, authentication, routing, body limits and the JSON
 * body, with no Cuebot client (a request that passes every check is
 * answered 503 "no Cuebot client").
 *
 * Input: a settings byte, an I/O byte, then parameter lines NAME=VALUE
 * ending in '\n', an empty line, and the body.
 *   settings bits 0-1  credentials: 0 JWT_SECRET + AUTH_TOKEN,
 *                      1 JWT_SECRET + EXPIRING_JWT_SECRET,
 *                      2 AUTH_MODE=remote-user, 3 SETTINGS_FROM_PARAMS=1
 *            bit 2     URL_PREFIX=/cue        bit 3  HEALTH_PATH
 *            bit 4     ACCESS_POLICY          bit 5  READ_ONLY=1
 *            bit 6     CORS_ALLOWED_ORIGINS is a list, not *
 *            bit 7     GRPC_MAX_MESSAGE_SIZE=64
 *   I/O bits 0-3       the body arrives in reads of 2^n bytes
 *            bit 4     reading fails at the end of the body
 *            bit 5     the client goes away after the first write
 *
 * FUZZ_SHOW_ANSWERS=1 in the environment prints each answer to stderr.
 *
 * Every answer is checked: a complete CGI head of printable lines, one
 * Status, X-Request-Id and Content-Type, a Content-Length that matches, a
 * JSON body in the error shape with the status its code maps to. And the
 * target keeps its own account of what the settings allow (written apart
 * from config.c and auth.c): any answer given after authentication needs
 * credentials that really are valid (static tokens compared, JWT HMACs
 * recomputed with OpenSSL), and a call that reaches Cuebot must be a POST
 * to an exact method path under the prefix, within the body limit, and
 * allowed by READ_ONLY and the access policy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "ops/config.h"
#include "fuzz_check.h"
#include "http/gateway.h"
#include "json_valid.h"
#include "jwt_oracle.h"
#include "base/log.h"
#include "pb/schema.h"

/* make_seeds.py signs the seed tokens with these. */
#define SECRET_1 "fuzz-request-secret-1"
#define SECRET_2 "fuzz-request-secret-2"
#define TOKEN_1 "fuzz-request-token-1"
#define ORIGINS "https://app.example, https://Other.example:8443"
#define SMALL_LIMIT 64
#define MAX_PARAMS 64

static const char policy_text[] =
    "role admin *\n"
    "user alice show.ShowInterface/*\n"
    "default */Get* */Find*\n";

static struct cg_config configs[256];
static struct gateway gateways[256];
static int gateway_ready[256];
static int show_answers;      /* FUZZ_SHOW_ANSWERS=1: print each answer */

/* ---- settings ---------------------------------------------------------- */

/* Settings as "NAME=value" strings, the way an environment holds them. */
static const char *setting_get(void *ctx, const char *name)
{
    size_t n = strlen(name);
    for (const char *const *p = ctx; *p; p++)
        if (!strncmp(*p, name, n) && (*p)[n] == '=')
            return *p + n + 1;
    return NULL;
}

static void load_config(unsigned bits, const char *policy_setting)
{
    static const char *const credentials[4][3] = {
        {"JWT_SECRET=" SECRET_1, "AUTH_TOKEN=" TOKEN_1, NULL},
        {"JWT_SECRET=" SECRET_1, "EXPIRING_JWT_SECRET=" SECRET_2, NULL},
        {"AUTH_MODE=remote-user", NULL, NULL},
        {"SETTINGS_FROM_PARAMS=1", NULL, NULL},
    };
    const char *vars[16];
    size_t n = 0;
    for (const char *const *c = credentials[bits & 3]; *c; c++)
        vars[n++] = *c;
    if (bits & 4)
        vars[n++] = "URL_PREFIX=/cue";
    if (bits & 8)
        vars[n++] = (bits & 4) ? "HEALTH_PATH=/cue/healthz" : "HEALTH_PATH=/healthz";
    if (bits & 16)
        vars[n++] = policy_setting;
    if (bits & 32)
        vars[n++] = "READ_ONLY=1";
    if (bits & 64)
        vars[n++] = "CORS_ALLOWED_ORIGINS=" ORIGINS;
    if (bits & 128)
        vars[n++] = "GRPC_MAX_MESSAGE_SIZE=64";
    vars[n] = NULL;
    struct cg_status st;
    cg_status_clear(&st);
    FUZZ_SETUP(config_load(&configs[bits], setting_get, vars, &st) == 0, st.msg);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    struct cg_status st;
    FUZZ_SETUP(schema_init(&st) == 0, st.msg);
    /* Thousands of requests a second: the access lines would drown the
     * fuzzer's own output. A threshold above CG_LOG_ERROR silences them all. */
    log_setup((enum log_level)(CG_LOG_ERROR + 1), 0);
    show_answers = getenv("FUZZ_SHOW_ANSWERS") != NULL;
    const char *tmp = getenv("TMPDIR");
    char path[512];
    snprintf(path, sizeof path, "%s/cuegw-fuzz-policy-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    int fd = mkstemp(path);
    FUZZ_SETUP(fd >= 0, "cannot create the policy file");
    FUZZ_SETUP(write(fd, policy_text, sizeof policy_text - 1) == (ssize_t)(sizeof policy_text - 1),
               "cannot write the policy file");
    close(fd);
    /* The policy is read when a setting is loaded, so every variant is
     * loaded now and the file removed at once. */
    char policy_setting[600];
    snprintf(policy_setting, sizeof policy_setting, "ACCESS_POLICY=%s", path);
    for (unsigned i = 0; i < 256; i++)
        load_config(i, policy_setting);
    unlink(path);
    return 0;
}

/* ---- the fake FastCGI request -------------------------------------------- */

struct fake {
    struct { const char *name, *value; } p[MAX_PARAMS];
    size_t np;
    const char *body;
    size_t body_n, body_off, chunk;
    int read_fails, client_leaves, writes, gone;
    struct outbuf out;
};

/* The first parameter of that name, as a FastCGI library hands it out. */
static const char *lookup(const struct fake *f, const char *name)
{
    for (size_t i = 0; i < f->np; i++)
        if (!strcmp(f->p[i].name, name))
            return f->p[i].value;
    return NULL;
}

static const char *fake_param(void *ctx, const char *name)
{
    return lookup(ctx, name);
}

static long fake_read(void *ctx, char *buf, size_t n)
{
    struct fake *f = ctx;
    if (f->body_off == f->body_n)
        return f->read_fails ? -1 : 0;
    size_t k = f->body_n - f->body_off;
    if (k > n)
        k = n;
    if (k > f->chunk)
        k = f->chunk;
    memcpy(buf, f->body + f->body_off, k);
    f->body_off += k;
    return (long)k;
}

static int fake_write(void *ctx, const char *p, size_t n)
{
    struct fake *f = ctx;
    if (f->client_leaves && f->writes > 0) {
        f->gone = 1;
        return -1;
    }
    f->writes++;
    outbuf_put(&f->out, p, n);
    return 0;
}

/* Splits the input (a NUL-terminated copy the caller owns) into
 * parameters and body. */
static void parse_input(struct fake *f, char *s, size_t n)
{
    char *end = s + n;
    while (s < end) {
        char *nl = memchr(s, '\n', (size_t)(end - s));
        if (nl == s) {               /* the empty line: the body follows */
            s++;
            break;
        }
        if (!nl)
            nl = end;
        *nl = '\0';
        char *eq = strchr(s, '=');
        if (f->np < MAX_PARAMS) {
            f->p[f->np].name = s;
            f->p[f->np].value = eq ? eq + 1 : "";
            f->np++;
        }
        if (eq)
            *eq = '\0';
        s = nl + 1;
    }
    f->body = s < end ? s : end;
    f->body_n = s < end ? (size_t)(end - s) : 0;
}

/* ---- the target's own account of the settings ---------------------------- */

static int blank(const char *v)
{
    if (!v)
        return 1;
    for (; *v; v++)
        if (*v != ' ' && *v != '\t')
            return 0;
    return 1;
}

/* A setting for this request: its parameter when sent (blank: unset),
 * else the process's own. */
static const char *effective(const struct fake *f, unsigned bits, const char *name,
                             const char *own)
{
    if ((bits & 3) != 3)
        return own;          /* parameters are settings only under SETTINGS_FROM_PARAMS=1 */
    const char *v = lookup(f, name);
    if (!v)
        return own;
    return blank(v) ? NULL : v;
}

struct account {
    int remote_user;
    const char *secrets[2], *tokens[2];
    int usable;          /* some credential is configured for this request */
    int odd_setting;     /* JWT_LEEWAY or READ_ONLY sent: may be invalid */
    int read_only;       /* -1: unknown (an odd value) */
};

static void account_for(const struct fake *f, unsigned bits, struct account *a)
{
    unsigned mode = bits & 3;
    memset(a, 0, sizeof *a);
    a->remote_user = mode == 2;
    a->secrets[0] = effective(f, bits, "JWT_SECRET", mode <= 1 ? SECRET_1 : NULL);
    a->secrets[1] = effective(f, bits, "EXPIRING_JWT_SECRET", mode == 1 ? SECRET_2 : NULL);
    a->tokens[0] = effective(f, bits, "AUTH_TOKEN", mode == 0 ? TOKEN_1 : NULL);
    a->tokens[1] = effective(f, bits, "EXPIRING_AUTH_TOKEN", NULL);
    a->usable = a->remote_user || a->secrets[0] || a->secrets[1] || a->tokens[0] || a->tokens[1];
    const char *lw = mode == 3 ? lookup(f, "JWT_LEEWAY") : NULL;
    const char *ro = mode == 3 ? lookup(f, "READ_ONLY") : NULL;
    a->odd_setting = !blank(lw) || !blank(ro);
    a->read_only = (bits & 32) != 0;
    if (ro) {
        if (blank(ro))
            a->read_only = 0;
        else if (!strcmp(ro, "1") || !strcasecmp(ro, "true") || !strcasecmp(ro, "yes") ||
                 !strcasecmp(ro, "on"))
            a->read_only = 1;
        else if (!strcmp(ro, "0") || !strcasecmp(ro, "false") || !strcasecmp(ro, "no") ||
                 !strcasecmp(ro, "off"))
            a->read_only = 0;
        else
            a->read_only = -1;
    }
}

enum credential { CRED_NONE, CRED_REMOTE_USER, CRED_STATIC, CRED_JWT };

/* Which credential the request carries that the account accepts: any word
 * of the Authorization value that is a static token or carries a valid
 * HMAC (a superset of what a strict parser takes). For a JWT, *tok and *n
 * give the word. */
static enum credential credential_of(const struct fake *f, const struct account *a,
                                     const char **tok, size_t *n)
{
    if (a->remote_user) {
        const char *u = lookup(f, "REMOTE_USER");
        return u && *u ? CRED_REMOTE_USER : CRED_NONE;
    }
    const char *h = lookup(f, "HTTP_AUTHORIZATION");
    for (const char *p = h; p && *p;) {
        size_t k = strcspn(p, " \t");
        for (int i = 0; i < 2; i++)
            if (k && a->tokens[i] && strlen(a->tokens[i]) == k && !memcmp(a->tokens[i], p, k))
                return CRED_STATIC;
        if (k && jwt_oracle_signed(p, k, a->secrets, 2)) {
            *tok = p;
            *n = k;
            return CRED_JWT;
        }
        p += k;
        p += strspn(p, " \t");
    }
    return CRED_NONE;
}

static int credentials_valid(const struct fake *f, const struct account *a)
{
    const char *tok;
    size_t n;
    return credential_of(f, a, &tok, &n) != CRED_NONE;
}

/* A string claim of a JWT the target verified, into out ("" when absent).
 * Only the seeds' tokens verify, and make_seeds.py writes their payloads
 * as compact JSON without escapes, so a plain search finds the member.
 * -1 when the payload cannot be read that way. */
static int jwt_claim(const char *tok, size_t n, const char *name, char *out, size_t cap)
{
    const char *d1 = memchr(tok, '.', n);
    const char *d2 = d1 ? memchr(d1 + 1, '.', n - (size_t)(d1 + 1 - tok)) : NULL;
    if (!d2)
        return -1;
    char json[2048];
    size_t o = 0;
    unsigned acc = 0;
    int bits = 0;
    for (const char *p = d1 + 1; p < d2; p++) {
        const char *abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        const char *c = strchr(abc, *p);
        if (!c || o + 1 >= sizeof json)
            return -1;
        acc = (acc << 6) | (unsigned)(c - abc);
        if ((bits += 6) >= 8) {
            bits -= 8;
            json[o++] = (char)((acc >> bits) & 0xFF);
        }
    }
    json[o] = '\0';
    char key[64];
    snprintf(key, sizeof key, "\"%s\":\"", name);
    const char *v = strstr(json, key);
    out[0] = '\0';
    if (v) {
        v += strlen(key);
        size_t len = strcspn(v, "\"\\");
        if (len >= cap || v[len] != '"')
            return -1;
        memcpy(out, v, len);
        out[len] = '\0';
    }
    return 0;
}

/* The request's path as the gateway must see it: REQUEST_URI, or
 * SCRIPT_NAME + PATH_INFO, up to the query. */
static size_t request_path(const struct fake *f, char *out, size_t cap)
{
    const char *uri = lookup(f, "REQUEST_URI");
    if (uri) {
        snprintf(out, cap, "%s", uri);
    } else {
        const char *sn = lookup(f, "SCRIPT_NAME"), *pi = lookup(f, "PATH_INFO");
        snprintf(out, cap, "%s%s", sn ? sn : "", pi ? pi : "");
    }
    return strcspn(out, "?");
}

/* ---- the answer ------------------------------------------------------------ */

struct answer {
    int status;
    const char *body;
    size_t body_n;
    long long content_length;       /* -1: absent */
    const char *request_id, *allow_origin, *www_auth, *allow, *type;
    size_t request_id_n, allow_origin_n, www_auth_n, allow_n, type_n;
    int n_status, n_type, n_rid, n_vary;
    int code;                       /* error bodies: the gRPC code */
    const char *message;            /* error bodies: the message's text */
    size_t message_n;
    int cross_site;                 /* refused as a cross-site request */
};

static int header_is(const char *line, size_t n, const char *name, const char **v, size_t *vn)
{
    size_t k = strlen(name);
    if (n < k + 2 || strncasecmp(line, name, k) || line[k] != ':' || line[k + 1] != ' ')
        return 0;
    *v = line + k + 2;
    *vn = n - k - 2;
    return 1;
}

static int text_is(const char *v, size_t n, const char *want)
{
    return strlen(want) == n && !memcmp(v, want, n);
}

/* Reads the CGI head and checks its shape. */
static void parse_answer(const struct outbuf *ob, struct answer *a)
{
    memset(a, 0, sizeof *a);
    a->content_length = -1;
    const char *o = ob->data, *end = ob->data + ob->len;
    FUZZ_CHECK(ob->len > 13 && !memcmp(o, "Status: ", 8), "no Status line first");
    FUZZ_CHECK(o[8] >= '1' && o[8] <= '5' && o[9] >= '0' && o[9] <= '9' && o[10] >= '0' &&
               o[10] <= '9' && o[11] == ' ', "a malformed Status line");
    a->status = (o[8] - '0') * 100 + (o[9] - '0') * 10 + (o[10] - '0');
    const char *head_end = memmem(o, ob->len, "\r\n\r\n", 4);
    FUZZ_CHECK(head_end != NULL, "the head never ends");
    for (const char *line = o; line < head_end + 2;) {
        const char *eol = memmem(line, (size_t)(head_end + 2 - line), "\r\n", 2);
        size_t n = (size_t)(eol - line);
        const char *colon = memchr(line, ':', n);
        FUZZ_CHECK(colon && colon > line && colon + 1 < eol && colon[1] == ' ',
                   "a header line that is not `Name: value`");
        for (const char *c = line; c < colon; c++)
            FUZZ_CHECK((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || *c == '-',
                       "a header name with odd characters");
        for (const char *c = line; c < eol; c++)
            FUZZ_CHECK(*c >= 0x20 && *c < 0x7f, "a control or non-ASCII byte in the head");
        const char *v;
        size_t vn;
        if (header_is(line, n, "Status", &v, &vn))
            a->n_status++;
        else if (header_is(line, n, "Content-Type", &v, &vn)) {
            a->n_type++;
            a->type = v;
            a->type_n = vn;
        }
        else if (header_is(line, n, "Content-Length", &v, &vn)) {
            FUZZ_CHECK(a->content_length < 0 && vn > 0 && vn < 19, "a second or odd Content-Length");
            a->content_length = 0;
            for (size_t i = 0; i < vn; i++) {
                FUZZ_CHECK(v[i] >= '0' && v[i] <= '9', "Content-Length is not a number");
                a->content_length = a->content_length * 10 + (v[i] - '0');
            }
        } else if (header_is(line, n, "X-Request-Id", &v, &vn)) {
            a->n_rid++;
            a->request_id = v;
            a->request_id_n = vn;
        } else if (header_is(line, n, "Access-Control-Allow-Origin", &v, &vn)) {
            FUZZ_CHECK(!a->allow_origin, "Access-Control-Allow-Origin twice");
            a->allow_origin = v;
            a->allow_origin_n = vn;
        } else if (header_is(line, n, "Vary", &v, &vn)) {
            a->n_vary++;
        } else if (header_is(line, n, "WWW-Authenticate", &v, &vn)) {
            a->www_auth = v;
            a->www_auth_n = vn;
        } else if (header_is(line, n, "Allow", &v, &vn)) {
            a->allow = v;
            a->allow_n = vn;
        }
        line = eol + 2;
    }
    FUZZ_CHECK(a->n_status == 1 && a->n_rid == 1, "Status and X-Request-Id must appear once");
    a->body = head_end + 4;
    a->body_n = (size_t)(end - a->body);
}

/* An error body: {"code":N,"message":"...","details":[]}. */
static void parse_error_body(struct answer *a)
{
    static const char pre[] = "{\"code\":", mid[] = ",\"message\":\"", post[] = "\",\"details\":[]}";
    const char *b = a->body, *end = a->body + a->body_n;
    FUZZ_CHECK(a->body_n > sizeof pre + sizeof mid + sizeof post &&
               !memcmp(b, pre, sizeof pre - 1), "an error body of another shape");
    b += sizeof pre - 1;
    a->code = 0;
    while (b < end && *b >= '0' && *b <= '9')
        a->code = a->code * 10 + (*b++ - '0');
    FUZZ_CHECK(a->code >= 1 && a->code <= 16, "an error code outside gRPC's");
    FUZZ_CHECK((size_t)(end - b) >= sizeof mid - 1 + sizeof post - 1 &&
               !memcmp(b, mid, sizeof mid - 1) &&
               !memcmp(end - (sizeof post - 1), post, sizeof post - 1),
               "an error body of another shape");
    a->message = b + sizeof mid - 1;
    a->message_n = (size_t)(end - (sizeof post - 1) - a->message);
}

static int message_has(const struct answer *a, const char *s)
{
    return a->message && memmem(a->message, a->message_n, s, strlen(s)) != NULL;
}

/* 1 to max bytes of printable ASCII, without spaces or any of `refused`. */
static int printable_token(const char *s, size_t max, const char *refused)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= ' ' || *p >= 0x7f || strchr(refused, *p))
            return 0;
    return 1;
}

/* SPEC §2's cross-site rule, as far as it can be told without working out
 * the request's own origin: an origin the list allows (the wildcard only
 * in token modes, and never for "null"). */
static int origin_allowed(unsigned bits, const char *origin)
{
    if (bits & 64)
        return !strcasecmp(origin, "https://app.example") ||
               !strcasecmp(origin, "https://Other.example:8443");
    return (bits & 3) != 2 && printable_token(origin, 512, ",\"") && strcmp(origin, "null");
}

static int marked_cross_site(const struct fake *f)
{
    const char *s = lookup(f, "HTTP_SEC_FETCH_SITE");
    return s && !strcasecmp(s, "cross-site");
}

static void check_cors(const struct fake *f, unsigned bits, const struct answer *a)
{
    const char *origin = lookup(f, "HTTP_ORIGIN");
    int listed = origin && printable_token(origin, 512, ",\"") &&
                 (!(bits & 64) || !strcasecmp(origin, "https://app.example") ||
                  !strcasecmp(origin, "https://Other.example:8443"));
    if (!a->allow_origin) {
        FUZZ_CHECK(!listed || a->cross_site, "an allowed origin got no Access-Control-Allow-Origin");
        return;
    }
    FUZZ_CHECK(listed, "Access-Control-Allow-Origin for an origin not allowed");
    FUZZ_CHECK(!a->cross_site, "a refused cross-site request carries Access-Control-Allow-Origin");
    FUZZ_CHECK(a->n_vary == 1, "Access-Control-Allow-Origin without Vary");
    if (bits & 64)
        FUZZ_CHECK(text_is(a->allow_origin, a->allow_origin_n, origin),
                   "the allowed origin is not echoed as sent");
    else
        FUZZ_CHECK(text_is(a->allow_origin, a->allow_origin_n, "*"), "wildcard origins answer *");
}

static void check_request_id(const struct fake *f, const struct answer *a)
{
    const char *sent = lookup(f, "HTTP_X_REQUEST_ID");
    if (sent && printable_token(sent, 128, "\"\\")) {
        FUZZ_CHECK(text_is(a->request_id, a->request_id_n, sent), "the client's X-Request-Id is lost");
        return;
    }
    FUZZ_CHECK(a->request_id_n == 32, "a generated request id is 32 hex digits");
    for (size_t i = 0; i < 32; i++)
        FUZZ_CHECK((a->request_id[i] >= '0' && a->request_id[i] <= '9') ||
                   (a->request_id[i] >= 'a' && a->request_id[i] <= 'f'),
                   "a generated request id is 32 hex digits");
}

static int starts_with(const char *s, size_t n, const char *p)
{
    size_t k = strlen(p);
    return n >= k && !memcmp(s, p, k);
}

/* The request got as far as the Cuebot call: check it should have. */
static void check_call(const struct fake *f, unsigned bits, const struct account *acc)
{
    char path[16384];
    size_t n = request_path(f, path, sizeof path);
    const char *m = lookup(f, "REQUEST_METHOD");
    FUZZ_CHECK(m && !strcmp(m, "POST"), "a call that was not a POST");
    const char *p = path;
    if (bits & 4) {
        FUZZ_CHECK(starts_with(p, n, "/cue/"), "a call outside URL_PREFIX");
        p += 4;
        n -= 4;
    }
    for (size_t i = 0; i < n; i++)
        FUZZ_CHECK((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z') ||
                   (p[i] >= '0' && p[i] <= '9') || p[i] == '.' || p[i] == '/',
                   "a call through a path with odd characters");
    const struct method_info *mi = schema_method(p, n);
    FUZZ_CHECK(mi != NULL, "a call to a path that is not a method");
    const char *origin = lookup(f, "HTTP_ORIGIN");
    FUZZ_CHECK(!marked_cross_site(f) || (origin && origin_allowed(bits, origin)),
               "a request marked cross-site reached Cuebot from an origin not allowed");
    FUZZ_CHECK(!origin || origin_allowed(bits, origin) || !strncasecmp(origin, "http://", 7) ||
               !strncasecmp(origin, "https://", 8),
               "a request from an origin that cannot be its own reached Cuebot");
    size_t limit = (bits & 128) ? SMALL_LIMIT : CG_DEFAULT_MAX_REQUEST;
    FUZZ_CHECK(f->body_n <= limit, "a call with a body over the limit");
    int reading = starts_with(mi->name, strlen(mi->name), "Get") ||
                  starts_with(mi->name, strlen(mi->name), "Find") ||
                  starts_with(mi->name, strlen(mi->name), "Is") ||
                  starts_with(mi->name, strlen(mi->name), "Has");
    FUZZ_CHECK(acc->read_only == 0 || reading, "READ_ONLY let a change through");
    if (bits & 16) {
        /* Who the policy sees: the remote user, or the JWT's sub and role;
         * a static token has neither, so only the default rule applies. */
        char user[256] = "", role[256] = "";
        const char *tok;
        size_t tok_n;
        enum credential c = credential_of(f, acc, &tok, &tok_n);
        if (c == CRED_REMOTE_USER)
            snprintf(user, sizeof user, "%s", lookup(f, "REMOTE_USER"));
        if (c == CRED_JWT && (jwt_claim(tok, tok_n, "sub", user, sizeof user) ||
                              jwt_claim(tok, tok_n, "role", role, sizeof role)))
            return;                  /* not a payload the target can read */
        int allowed = !strcmp(role, "admin") ||
                      (!strcmp(user, "alice") && !strcmp(mi->service, "show.ShowInterface")) ||
                      starts_with(mi->name, strlen(mi->name), "Get") ||
                      starts_with(mi->name, strlen(mi->name), "Find");
        FUZZ_CHECK(allowed, "ACCESS_POLICY let a call through");
    }
}

static long long declared_length(const struct fake *f)
{
    const char *cl = lookup(f, "CONTENT_LENGTH");
    if (!cl || !*cl || strlen(cl) > 18 || strspn(cl, "0123456789") != strlen(cl))
        return -1;
    return atoll(cl);
}

static void check_answer(const struct fake *f, unsigned bits)
{
    struct answer a;
    struct account acc;
    parse_answer(&f->out, &a);
    account_for(f, bits, &acc);
    check_request_id(f, &a);
    if (a.status == 403 && a.body_n) {
        parse_error_body(&a);
        a.cross_site = message_has(&a, "cross-site request refused");
    }
    check_cors(f, bits, &a);
    const char *method = lookup(f, "REQUEST_METHOD");
    char path[16384];
    size_t path_n = request_path(f, path, sizeof path);
    /* The metrics scrape: an authenticated GET of URL_PREFIX/metrics. */
    const char *mp = (bits & 4) ? "/cue/metrics" : "/metrics";
    int metrics = path_n == strlen(mp) && !memcmp(path, mp, path_n);

    FUZZ_CHECK(a.n_type == (a.status == 204 ? 0 : 1), "Content-Type must appear once");
    if (a.status == 204) {
        FUZZ_CHECK(a.body_n == 0 && a.content_length < 0, "a 204 with a body");
        FUZZ_CHECK(method && !strcmp(method, "OPTIONS") && lookup(f, "HTTP_ORIGIN") &&
                   lookup(f, "HTTP_ACCESS_CONTROL_REQUEST_METHOD"),
                   "204 for something other than a preflight");
        return;
    }
    if (a.status == 200) {
        /* Without Cuebot, nothing else succeeds. */
        FUZZ_CHECK(metrics && method && !strcmp(method, "GET"), "200 without a Cuebot");
        FUZZ_CHECK(a.type_n > 10 && !memcmp(a.type, "text/plain", 10), "metrics are text/plain");
        FUZZ_CHECK(a.content_length < 0 || (size_t)a.content_length == a.body_n,
                   "Content-Length does not match the body");
        FUZZ_CHECK(acc.usable && credentials_valid(f, &acc), "metrics without valid credentials");
        return;
    }
    FUZZ_CHECK(text_is(a.type, a.type_n, "application/json"), "an error that is not JSON");
    /* Every error has a length. */
    FUZZ_CHECK(a.content_length >= 0 && (size_t)a.content_length == a.body_n,
               "Content-Length does not match the body");
    FUZZ_CHECK(json_valid(a.body, a.body_n, NULL), "the body is not valid JSON");
    parse_error_body(&a);
    if (a.status == 405)
        FUZZ_CHECK(a.code == CG_UNIMPLEMENTED && a.allow &&
                   text_is(a.allow, a.allow_n, metrics ? "GET" : "POST, OPTIONS"),
                   "405 needs code 12 and the right Allow");
    else if (a.status == 413)
        FUZZ_CHECK(a.code == CG_RESOURCE_EXHAUSTED, "413 needs code 8");
    else
        FUZZ_CHECK(a.status == cg_http_status(a.code), "the status is not the code's");
    if (a.status == 401)
        FUZZ_CHECK(a.www_auth && text_is(a.www_auth, a.www_auth_n, "Bearer"),
                   "401 without WWW-Authenticate: Bearer");

    int health = a.status == 503 && message_has(&a, "Cuebot channel is not usable");
    if (health) {
        const char *hp = (bits & 4) ? "/cue/healthz" : "/healthz";
        FUZZ_CHECK((bits & 8) && path_n == strlen(hp) && !memcmp(path, hp, path_n),
                   "a health answer for a path that is not HEALTH_PATH");
        return;
    }
    if (a.cross_site) {
        const char *origin = lookup(f, "HTTP_ORIGIN");
        FUZZ_CHECK(origin ? !origin_allowed(bits, origin) : marked_cross_site(f),
                   "an allowed request refused as cross-site");
        return;
    }
    if (a.status == 500) {
        FUZZ_CHECK(acc.odd_setting || !acc.usable, "500 with sound settings");
        return;
    }
    FUZZ_CHECK(acc.usable, "no credential configured, yet not 500");
    if (a.status == 401) {
        if (acc.remote_user) {
            const char *u = lookup(f, "REMOTE_USER");
            FUZZ_CHECK(!u || !*u, "401 for a remote user");
        }
        return;
    }
    /* Every other answer comes after authentication. */
    FUZZ_CHECK(acc.usable && credentials_valid(f, &acc),
               "an answer past authentication without valid credentials");
    if (a.status == 413) {
        size_t limit = (bits & 128) ? SMALL_LIMIT : CG_DEFAULT_MAX_REQUEST;
        FUZZ_CHECK(f->body_n > limit || declared_length(f) > (long long)limit,
                   "413 for a body within the limit");
    }
    if (a.status == 503) {
        FUZZ_CHECK(message_has(&a, "no Cuebot client"), "an unexpected 503");
        check_call(f, bits, &acc);
    }
}

/* ---- the entry point -------------------------------------------------------- */

static char input[1u << 20];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || size - 2 >= sizeof input)
        return 0;
    unsigned bits = data[0];
    if (!gateway_ready[bits]) {
        struct cg_status st;
        FUZZ_SETUP(gateway_init(&gateways[bits], &configs[bits], NULL, &st) == 0, st.msg);
        gateway_ready[bits] = 1;
    }
    static struct fake f;
    memset(&f, 0, sizeof f);
    outbuf_init(&f.out, 1u << 20);
    f.chunk = (size_t)1 << (data[1] & 15);
    f.read_fails = (data[1] & 16) != 0;
    f.client_leaves = (data[1] & 32) != 0;
    memcpy(input, data + 2, size - 2);
    input[size - 2] = '\0';
    parse_input(&f, input, size - 2);

    struct cg_request_io io = {.param = fake_param, .read = fake_read, .write = fake_write, .ctx = &f};
    gateway_handle(&gateways[bits], &io);
    FUZZ_CHECK(!f.out.failed, "the answer outgrew the capture buffer");
    if (show_answers)
        fprintf(stderr, "---- %zu bytes%s\n%.*s\n", f.out.len, f.gone ? " (client gone)" : "",
                (int)f.out.len, f.out.data);
    if (!f.gone)
        check_answer(&f, bits);
    outbuf_free(&f.out);
    return 0;
}
