/* The request cases of tests/data (their format: tests/data/README), each
 * run in process through gateway_handle with a stand-in Cuebot behind the
 * upstream interface that answers the case's canned reply, and checked
 * against what the case expects.
 *
 * Then each case again under allocation torture: a case whose run made N
 * arena allocations is run N more times, the k-th allocation failing in
 * the k-th run (arena_fail_countdown). Every such run must still write a
 * complete answer: the normal one (an allocation with a fallback), or a 5xx
 * in the SPEC's error shape; under the sanitized build LeakSanitizer then
 * finds anything a failure path forgot to free. A last normal run checks
 * that the failures left nothing behind in the gateway.
 *
 * Usage: test_cases [DIR [NAME...]]: the cases of DIR (default tests/data,
 * from the top of the tree or beside the build), or only those whose file
 * names contain one of the NAMEs. CASES_VERBOSE=1 prints each case's
 * allocation count and its answers. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "auth/jwt_cache.h"
#include "base/arena.h"
#include "base/log.h"
#include "base/outbuf.h"
#include "http/gateway.h"
#include "json/json_to_pb.h"
#include "json/pb_to_json.h"
#include "ops/config.h"
#include "pb/schema.h"
#include "upstream/upstream.h"
#include "unit.h"

#define MAX_KV 48
#define MAX_EXPECT 16
#define MAX_OWNED 32

struct kvs {
    int n;
    const char *k[MAX_KV], *v[MAX_KV];
};

enum reply_kind { REPLY_NONE, REPLY_JSON, REPLY_HEX, REPLY_STATUS };

struct test_case {
    char file[300];
    char *text;                          /* the file, cut up in place */
    char *owned[MAX_OWNED];              /* heredoc values and the like */
    int n_owned;
    struct kvs env, params;
    const char *body;
    const char *upstream_state;          /* "none": no upstream at all */
    enum reply_kind reply;
    const char *reply_json;
    char *reply_hex;                     /* every reply-hex line, joined */
    int reply_code, reply_internal;
    const char *reply_msg;
    const char *expect_call, *expect_request;
    int expect_status;
    const char *headers[MAX_EXPECT], *no_headers[MAX_EXPECT], *body_has[MAX_EXPECT];
    int n_headers, n_no_headers, n_body_has;
    const char *expect_json, *expect_body;
    /* the reply's wire bytes, made before the runs */
    uint8_t *wire;
    size_t wire_len;
};

static int verbose;

static void case_fail(const struct test_case *tc, const char *what, const char *detail)
{
    char where[600];
    snprintf(where, sizeof where, "%s: %s", tc->file, what);
    unit_fail("tests/data", 0, where, detail);
}

static void case_check(const struct test_case *tc, int ok, const char *what, const char *detail)
{
    if (ok)
        unit_passed++;
    else
        case_fail(tc, what, detail);
}

static char *own(struct test_case *tc, char *p)
{
    if (p && tc->n_owned < MAX_OWNED)
        tc->owned[tc->n_owned++] = p;
    else
        free(p), p = NULL;
    return p;
}

static void case_free(struct test_case *tc)
{
    for (int i = 0; i < tc->n_owned; i++)
        free(tc->owned[i]);
    free(tc->text);
    free(tc->reply_hex);
    free(tc->wire);
}

/* ---- reading a case ------------------------------------------------------- */

static char *next_line(char **p)
{
    if (!**p)
        return NULL;
    char *line = *p, *nl = strchr(line, '\n');
    if (nl) {
        *nl = '\0';
        *p = nl + 1;
    } else {
        *p = line + strlen(line);
    }
    size_t n = strlen(line);
    if (n && line[n - 1] == '\r')
        line[n - 1] = '\0';
    return line;
}

/* "<<TAG": the lines up to one that is exactly TAG, joined by newlines. */
static char *heredoc(struct test_case *tc, char **p, const char *tag)
{
    size_t cap = 256, len = 0;
    char *buf = malloc(cap), *line;
    if (!buf)
        return NULL;
    buf[0] = '\0';
    while ((line = next_line(p)) && strcmp(line, tag)) {
        size_t n = strlen(line);
        if (len + n + 2 > cap) {
            while (len + n + 2 > cap)
                cap *= 2;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                return NULL;
            }
            buf = nb;
        }
        if (len)
            buf[len++] = '\n';
        memcpy(buf + len, line, n + 1);
        len += n;
    }
    if (!line) {
        free(buf);
        return NULL;             /* no end marker */
    }
    return own(tc, buf);
}

static int add_kv(struct kvs *kv, char *value)
{
    if (kv->n == MAX_KV)
        return -1;
    char *sp = strchr(value, ' ');
    kv->k[kv->n] = value;
    kv->v[kv->n] = sp ? sp + 1 : "";
    if (sp)
        *sp = '\0';
    kv->n++;
    return 0;
}

static int add_expect(const char **list, int *n, const char *v)
{
    if (*n == MAX_EXPECT)
        return -1;
    list[(*n)++] = v;
    return 0;
}

static int append_hex(struct test_case *tc, const char *v)
{
    size_t old = tc->reply_hex ? strlen(tc->reply_hex) : 0;
    char *p = realloc(tc->reply_hex, old + strlen(v) + 1);
    if (!p)
        return -1;
    strcpy(p + old, v);
    tc->reply_hex = p;
    return 0;
}

/* Returns 0, or -1 with why it could not be read in err. */
static int parse_case(struct test_case *tc, char *err, size_t errn)
{
    char *p = tc->text, *line;
    int lineno = 0;
    tc->expect_status = -1;
    while ((line = next_line(&p))) {
        lineno++;
        if (!*line || line[0] == '#')
            continue;
        char *key = line, *v = strchr(line, ' ');
        if (v)
            *v++ = '\0';
        else
            v = line + strlen(line);
        if (!strncmp(v, "<<", 2)) {
            if (!(v = heredoc(tc, &p, v + 2))) {
                snprintf(err, errn, "line %d: %s: no end of its <<", lineno, key);
                return -1;
            }
        }
        int bad = 0;
        if (!strcmp(key, "env"))
            bad = add_kv(&tc->env, v);
        else if (!strcmp(key, "param"))
            bad = add_kv(&tc->params, v);
        else if (!strcmp(key, "body"))
            tc->body = v;
        else if (!strcmp(key, "upstream"))
            tc->upstream_state = v;
        else if (!strcmp(key, "reply")) {
            tc->reply = REPLY_JSON;
            tc->reply_json = v;
        } else if (!strcmp(key, "reply-hex")) {
            tc->reply = REPLY_HEX;
            bad = append_hex(tc, v);
        } else if (!strcmp(key, "reply-status") || !strcmp(key, "reply-unreachable")) {
            char *end;
            tc->reply = REPLY_STATUS;
            tc->reply_internal = key[6] == 'u';
            tc->reply_code = (int)strtol(v, &end, 10);
            tc->reply_msg = *end == ' ' ? end + 1 : end;
            bad = end == v || tc->reply_code < 1 || tc->reply_code > 16;
        } else if (!strcmp(key, "expect-call"))
            tc->expect_call = v;
        else if (!strcmp(key, "expect-request"))
            tc->expect_request = v;
        else if (!strcmp(key, "expect-status"))
            bad = (tc->expect_status = atoi(v)) < 100;
        else if (!strcmp(key, "expect-header"))
            bad = add_expect(tc->headers, &tc->n_headers, v);
        else if (!strcmp(key, "expect-no-header"))
            bad = add_expect(tc->no_headers, &tc->n_no_headers, v);
        else if (!strcmp(key, "expect-body-has"))
            bad = add_expect(tc->body_has, &tc->n_body_has, v);
        else if (!strcmp(key, "expect-json"))
            tc->expect_json = v;
        else if (!strcmp(key, "expect-body"))
            tc->expect_body = v;
        else {
            snprintf(err, errn, "line %d: unknown key %s", lineno, key);
            return -1;
        }
        if (bad) {
            snprintf(err, errn, "line %d: bad or too many %s", lineno, key);
            return -1;
        }
    }
    if (tc->expect_status < 0) {
        snprintf(err, errn, "no expect-status");
        return -1;
    }
    if (tc->reply == REPLY_JSON && !tc->expect_call) {
        snprintf(err, errn, "reply needs expect-call (it names the reply's type)");
        return -1;
    }
    return 0;
}

static const char *kv_get(void *ctx, const char *name)
{
    const struct kvs *kv = ctx;
    for (int i = 0; i < kv->n; i++)
        if (!strcmp(kv->k[i], name))
            return kv->v[i];
    return NULL;
}

static int hex_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The canned reply's wire bytes, from JSON (the library's own encoder, for
 * the called method's reply type) or hex. */
static int make_reply(struct test_case *tc, char *err, size_t errn)
{
    if (tc->reply == REPLY_HEX) {
        size_t n = 0;
        tc->wire = malloc(strlen(tc->reply_hex) / 2 + 1);
        if (!tc->wire)
            return -1;
        int hi = -1;
        for (const char *s = tc->reply_hex; *s; s++) {
            if (*s == ' ' || *s == '\t')
                continue;
            int d = hex_value((unsigned char)*s);
            if (d < 0) {
                snprintf(err, errn, "reply-hex: %c is not a hex digit", *s);
                return -1;
            }
            if (hi < 0) {
                hi = d;
            } else {
                tc->wire[n++] = (uint8_t)(hi << 4 | d);
                hi = -1;
            }
        }
        if (hi >= 0) {
            snprintf(err, errn, "reply-hex: an odd number of digits");
            return -1;
        }
        tc->wire_len = n;
        return 0;
    }
    if (tc->reply != REPLY_JSON)
        return 0;
    const struct method_info *m = schema_method(tc->expect_call, strlen(tc->expect_call));
    if (!m) {
        snprintf(err, errn, "expect-call: no method %s", tc->expect_call);
        return -1;
    }
    struct arena a;
    arena_init(&a, 0);
    struct cg_status st;
    cg_status_clear(&st);
    uint8_t *w;
    size_t n;
    int rc = json_to_pb(m->out, tc->reply_json, strlen(tc->reply_json), &a, &w, &n, &st);
    if (rc)
        snprintf(err, errn, "reply: %s", st.msg);
    else if ((tc->wire = malloc(n + 1)))
        memcpy(tc->wire, w, n), tc->wire_len = n;
    arena_free(&a);
    return rc || !tc->wire ? -1 : 0;
}

/* ---- the stand-in Cuebot ---------------------------------------------------- */

struct fake_upstream {
    const struct test_case *tc;
    int calls;
    char method[200];
    char request_json[8192];             /* what the gateway sent, as JSON */
    char request_id[80];
};

static int fake_call(void *ctx, const char *method_path, const uint8_t *req, size_t req_len,
                     int64_t timeout_ms, const char *request_id, struct arena *a,
                     uint8_t **resp, size_t *resp_len, struct cg_status *st)
{
    struct fake_upstream *f = ctx;
    const struct test_case *tc = f->tc;
    (void)timeout_ms;
    *resp = NULL;
    *resp_len = 0;
    if (f->calls++ == 0) {
        snprintf(f->method, sizeof f->method, "%s", method_path);
        snprintf(f->request_id, sizeof f->request_id, "%s", request_id ? request_id : "");
        /* Decoding the request is the test's own work: it must not count
         * against the request's allocations, nor fail under torture. */
        unsigned long paused = arena_fail_countdown;
        arena_fail_countdown = 0;
        const struct method_info *m = schema_method(method_path, strlen(method_path));
        struct arena da;
        arena_init(&da, 0);
        struct outbuf ob;
        outbuf_init(&ob, sizeof f->request_json - 1);
        struct cg_status dst;
        cg_status_clear(&dst);
        if (m && pb_to_json(m->in, req, req_len, &da, &ob, &dst) == 0 && !ob.failed)
            snprintf(f->request_json, sizeof f->request_json, "%.*s", (int)ob.len, ob.data);
        else
            snprintf(f->request_json, sizeof f->request_json, "(undecodable: %s)", dst.msg);
        outbuf_free(&ob);
        arena_free(&da);
        arena_fail_countdown = paused;
    }
    if (tc->reply == REPLY_STATUS) {
        cg_fail(st, tc->reply_code, "%s", tc->reply_msg);
        st->msg_internal = tc->reply_internal;
        return -1;
    }
    if (tc->reply == REPLY_NONE)
        return cg_fail(st, CG_UNIMPLEMENTED, "the case gives no reply");
    /* As cuebot_call: the reply's bytes in one block of the request's arena. */
    uint8_t *p = arena_alloc(a, tc->wire_len);
    if (!p)
        return cg_fail(st, CG_INTERNAL, "Cuebot's %zu-byte response does not fit the request's "
                       "memory cap", tc->wire_len);
    memcpy(p, tc->wire, tc->wire_len);
    *resp = p;
    *resp_len = tc->wire_len;
    return 0;
}

static int fake_wait_usable(void *ctx, int64_t timeout_ms)
{
    struct fake_upstream *f = ctx;
    (void)timeout_ms;
    return !f->tc->upstream_state || !strcmp(f->tc->upstream_state, "READY");
}

static const char *fake_state_name(void *ctx)
{
    struct fake_upstream *f = ctx;
    return f->tc->upstream_state ? f->tc->upstream_state : "READY";
}

static const char *fake_endpoint(void *ctx)
{
    (void)ctx;
    return "stand-in:0";
}

static const struct upstream_ops fake_ops = {
    .call = fake_call, .wait_usable = fake_wait_usable, .state_name = fake_state_name,
    .current_endpoint = fake_endpoint,
};

/* ---- the web server side ------------------------------------------------------ */

struct fake_request {
    const struct test_case *tc;
    size_t body_pos;
    struct outbuf out;
};

static const char *req_param(void *ctx, const char *name)
{
    struct fake_request *r = ctx;
    return kv_get((void *)&r->tc->params, name);
}

static long req_read(void *ctx, char *buf, size_t n)
{
    struct fake_request *r = ctx;
    const char *body = r->tc->body ? r->tc->body : "";
    size_t left = strlen(body) - r->body_pos;
    size_t k = n < left ? n : left;
    if (k > 7)
        k = 7;                           /* short reads, as a socket gives them */
    memcpy(buf, body + r->body_pos, k);
    r->body_pos += k;
    return (long)k;
}

static int req_write(void *ctx, const char *p, size_t n)
{
    struct fake_request *r = ctx;
    outbuf_put(&r->out, p, n);
    return r->out.failed ? -1 : 0;
}

/* An answer taken apart. */
struct answer {
    int status;
    const char *head, *body;             /* head: "\r\n" + the header lines */
    size_t head_len, body_len;
    char *text;                          /* owns head and body */
};

static int split_answer(const struct outbuf *out, struct answer *a)
{
    memset(a, 0, sizeof *a);
    if (!(a->text = malloc(out->len + 3)))
        return -1;
    a->text[0] = '\r';
    a->text[1] = '\n';
    memcpy(a->text + 2, out->data, out->len);
    a->text[out->len + 2] = '\0';
    char *end = strstr(a->text, "\r\n\r\n");
    if (strncmp(a->text + 2, "Status: ", 8) || !end || end == a->text)
        return -1;
    a->status = atoi(a->text + 10);
    a->head = a->text;
    a->head_len = (size_t)(end - a->text) + 2;
    a->body = end + 4;
    a->body_len = strlen(a->body);
    return a->status >= 100 ? 0 : -1;
}

/* The value of header `name` (case-insensitive), or NULL. */
static const char *header_of(const struct answer *a, const char *name, size_t *len)
{
    size_t n = strlen(name);
    for (const char *p = a->head; p && p < a->head + a->head_len - 2; p = strstr(p + 2, "\r\n")) {
        const char *h = p + 2;
        if (!strncasecmp(h, name, n) && h[n] == ':') {
            h += n + 1;
            while (*h == ' ')
                h++;
            *len = strcspn(h, "\r");
            return h;
        }
    }
    return NULL;
}

/* JSON without the whitespace between tokens, so expected JSON may be laid
 * out for reading. */
static void squeeze_json(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    int in_string = 0;
    for (size_t i = 0; i < n && o + 1 < cap; i++) {
        char c = s[i];
        if (in_string) {
            out[o++] = c;
            if (c == '\\' && i + 1 < n && o + 1 < cap)
                out[o++] = s[++i];
            else if (c == '"')
                in_string = 0;
        } else if (c == '"') {
            in_string = 1;
            out[o++] = c;
        } else if (c != ' ' && c != '\n' && c != '\t' && c != '\r') {
            out[o++] = c;
        }
    }
    out[o] = '\0';
}

static int json_equal(const char *got, size_t got_len, const char *want, char *shown, size_t cap)
{
    char *a = malloc(got_len + 1), *b = malloc(strlen(want) + 1);
    int same = 0;
    if (a && b) {
        squeeze_json(got, got_len, a, got_len + 1);
        squeeze_json(want, strlen(want), b, strlen(want) + 1);
        same = !strcmp(a, b);
        snprintf(shown, cap, "got %s\n    want %s", a, b);
    }
    free(a);
    free(b);
    return same;
}

/* The SPEC's error body: {"code":N,"message":"...","details":[]} with N > 0. */
static int error_shaped(const struct answer *a)
{
    size_t len;
    const char *ct = header_of(a, "Content-Type", &len);
    static const char tail[] = ",\"details\":[]}";
    return ct && len == 16 && !strncmp(ct, "application/json", 16) &&
           !strncmp(a->body, "{\"code\":", 8) && a->body[8] >= '1' && a->body[8] <= '9' &&
           strstr(a->body, ",\"message\":\"") && a->body_len > sizeof tail &&
           !strcmp(a->body + a->body_len - (sizeof tail - 1), tail);
}

/* Runs the case once; the answer is in r->out (the caller frees it). */
static void run_once(struct gateway *g, const struct test_case *tc, struct fake_upstream *fu,
                     struct fake_request *r)
{
    memset(r, 0, sizeof *r);
    r->tc = tc;
    outbuf_init(&r->out, 1u << 22);
    memset(fu, 0, sizeof *fu);
    fu->tc = tc;
    struct cg_request_io io = {.param = req_param, .read = req_read, .write = req_write, .ctx = r};
    gateway_handle(g, &io);
}

/* A JWT check this process remembers would spare a run the allocations
 * the first run made: a check under another secret forgets them all. */
static void forget_tokens(void)
{
    static const char *const other[] = {"test-cases-flush"};
    struct arena a;
    arena_init(&a, 0);
    struct jwt_claims claims;
    jwt_cache_check("x", 1, other, 1, 0, time(NULL), &a, &claims);
    arena_free(&a);
}

/* Every expectation of the case against one normal run's answer. */
static void check_expected(const struct test_case *tc, const struct fake_upstream *fu,
                           const struct fake_request *r, const char *when)
{
    char what[200], shown[20000];
    struct answer a;
    int ok = split_answer(&r->out, &a) == 0;
    snprintf(what, sizeof what, "%s: a complete answer", when);
    case_check(tc, ok, what, r->out.len ? r->out.data : "(nothing written)");
    if (!ok) {
        free(a.text);
        return;
    }
    snprintf(what, sizeof what, "%s: expect-status %d", when, tc->expect_status);
    snprintf(shown, sizeof shown, "got %d: %.*s", a.status, (int)a.body_len, a.body);
    case_check(tc, a.status == tc->expect_status, what, shown);
    for (int i = 0; i < tc->n_headers; i++) {
        size_t n = strlen(tc->headers[i]);
        const char *h = a.head;
        int found = 0;
        while ((h = strstr(h, "\r\n")) && h < a.head + a.head_len)
            if (!strncmp(h += 2, tc->headers[i], n) && (h[n] == '\r'))
                found = 1;
        snprintf(what, sizeof what, "%s: expect-header %s", when, tc->headers[i]);
        snprintf(shown, sizeof shown, "%.*s", (int)a.head_len, a.head);
        case_check(tc, found, what, shown);
    }
    for (int i = 0; i < tc->n_no_headers; i++) {
        size_t n;
        snprintf(what, sizeof what, "%s: expect-no-header %s", when, tc->no_headers[i]);
        snprintf(shown, sizeof shown, "%.*s", (int)a.head_len, a.head);
        case_check(tc, !header_of(&a, tc->no_headers[i], &n), what, shown);
    }
    for (int i = 0; i < tc->n_body_has; i++) {
        snprintf(what, sizeof what, "%s: expect-body-has %s", when, tc->body_has[i]);
        case_check(tc, strstr(a.body, tc->body_has[i]) != NULL, what, a.body);
    }
    if (tc->expect_json) {
        snprintf(what, sizeof what, "%s: expect-json", when);
        case_check(tc, json_equal(a.body, a.body_len, tc->expect_json, shown, sizeof shown), what,
                   shown);
    }
    if (tc->expect_body) {
        snprintf(what, sizeof what, "%s: expect-body", when);
        case_check(tc, !strcmp(a.body, tc->expect_body), what, a.body);
    }
    size_t cl_len;
    const char *cl = header_of(&a, "Content-Length", &cl_len);
    if (cl) {
        snprintf(what, sizeof what, "%s: Content-Length is the body's", when);
        snprintf(shown, sizeof shown, "Content-Length %.*s, body %zu bytes", (int)cl_len, cl,
                 a.body_len);
        case_check(tc, strtoul(cl, NULL, 10) == a.body_len, what, shown);
    }
    /* Cuebot is reached exactly when the case gives it something to say. */
    snprintf(what, sizeof what, "%s: Cuebot called %s", when,
             tc->reply != REPLY_NONE ? "once" : "never");
    snprintf(shown, sizeof shown, "%d calls", fu->calls);
    case_check(tc, fu->calls == (tc->reply != REPLY_NONE), what, shown);
    if (tc->expect_call && fu->calls) {
        snprintf(what, sizeof what, "%s: expect-call %s", when, tc->expect_call);
        case_check(tc, !strcmp(fu->method, tc->expect_call), what, fu->method);
        size_t rid_len;
        const char *rid = header_of(&a, "X-Request-Id", &rid_len);
        snprintf(what, sizeof what, "%s: Cuebot gets the answer's request id", when);
        case_check(tc, rid && strlen(fu->request_id) == rid_len &&
                           !strncmp(rid, fu->request_id, rid_len), what, fu->request_id);
    }
    if (tc->expect_request && fu->calls) {
        snprintf(what, sizeof what, "%s: expect-request", when);
        case_check(tc, json_equal(fu->request_json, strlen(fu->request_json), tc->expect_request,
                                  shown, sizeof shown), what, shown);
    }
    if (verbose)
        printf("---- %s (%s)\n%.*s\n", tc->file, when, (int)r->out.len, r->out.data);
    free(a.text);
}

/* One run with the k-th allocation failing: a complete answer, either the
 * normal one or a 5xx error. Returns 1 when clean. */
static int check_tortured(const struct test_case *tc, const struct fake_request *r,
                          const struct answer *normal, unsigned long k)
{
    char what[200], shown[600];
    struct answer a;
    int ok = split_answer(&r->out, &a) == 0;
    if (ok && a.status == normal->status)
        ok = a.status >= 400 || (a.body_len == normal->body_len &&
                                  !memcmp(a.body, normal->body, a.body_len));
    else if (ok)
        ok = a.status >= 500 && error_shaped(&a);
    if (!ok) {
        snprintf(what, sizeof what, "allocation %lu failing: a clean answer (normally %d)", k,
                 normal->status);
        snprintf(shown, sizeof shown, "%.*s", (int)(r->out.len < 500 ? r->out.len : 500),
                 r->out.len ? r->out.data : "(nothing written)");
        case_fail(tc, what, shown);
    }
    free(a.text);
    return ok;
}

static unsigned long torture_runs, torture_cases;

static void run_case(struct test_case *tc)
{
    char err[300];
    if (parse_case(tc, err, sizeof err)) {
        case_fail(tc, "the case reads", err);
        return;
    }
    if (make_reply(tc, err, sizeof err)) {
        case_fail(tc, "the reply encodes", err);
        return;
    }
    struct cg_config cfg;
    struct cg_status st;
    cg_status_clear(&st);
    if (config_load(&cfg, kv_get, &tc->env, &st)) {
        case_fail(tc, "the settings load", st.msg);
        return;
    }
    struct fake_upstream fu = {.tc = tc};
    struct upstream up = {.ops = &fake_ops, .ctx = &fu};
    int none = tc->upstream_state && !strcmp(tc->upstream_state, "none");
    struct gateway g;
    if (gateway_init(&g, &cfg, none ? NULL : &up, &st)) {
        case_fail(tc, "gateway_init", st.msg);
        config_free(&cfg);
        return;
    }

    /* The normal run, counting its allocations. */
    struct fake_request r;
    forget_tokens();
    arena_fail_countdown = ULONG_MAX;
    run_once(&g, tc, &fu, &r);
    unsigned long n = ULONG_MAX - arena_fail_countdown;
    arena_fail_countdown = 0;
    check_expected(tc, &fu, &r, "normal");
    struct answer normal;
    int usable = split_answer(&r.out, &normal) == 0;
    outbuf_free(&r.out);

    /* The k-th allocation failing, for every k. */
    unsigned long clean = 0;
    for (unsigned long k = 1; usable && k <= n; k++) {
        forget_tokens();
        arena_fail_countdown = k;
        run_once(&g, tc, &fu, &r);
        int hit = arena_fail_countdown == 0;
        arena_fail_countdown = 0;
        if (!hit) {
            snprintf(err, sizeof err, "allocation %lu of %lu never came", k, n);
            case_fail(tc, "the same allocations every run", err);
        }
        clean += check_tortured(tc, &r, &normal, k);
        outbuf_free(&r.out);
        torture_runs++;
    }
    case_check(tc, usable && clean == n, "every allocation failure answered cleanly", NULL);
    torture_cases++;
    if (verbose)
        printf("%s: %lu allocations, each failed in a run of its own: %lu clean\n", tc->file, n,
               clean);

    /* Nothing the failures did stays behind (and a remembered token now
     * takes the cache's path). */
    run_once(&g, tc, &fu, &r);
    check_expected(tc, &fu, &r, "after torture");
    outbuf_free(&r.out);
    free(normal.text);
    gateway_free(&g);
    config_free(&cfg);
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t k;
    while (buf && (k = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += k;
        if (cap - len - 1 == 0) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb)
                free(buf);
            buf = nb;
        }
    }
    fclose(f);
    if (buf)
        buf[len] = '\0';
    return buf;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int wanted(const char *name, int argc, char **argv)
{
    if (argc < 3)
        return 1;
    for (int i = 2; i < argc; i++)
        if (strstr(name, argv[i]))
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    /* Access lines and the errors cases provoke on purpose would only bury
     * the verdicts: every answer is checked here instead. */
    log_setup((enum log_level)(CG_LOG_ERROR + 1), 0);
    verbose = getenv("CASES_VERBOSE") && !strcmp(getenv("CASES_VERBOSE"), "1");
    struct cg_status st;
    cg_status_clear(&st);
    CHECK(schema_init(&st) == 0);

    /* From the top of the tree (make check), or beside build/tests/. */
    char dir[4096];
    DIR *d = NULL;
    if (argc > 1) {
        snprintf(dir, sizeof dir, "%s", argv[1]);
    } else {
        snprintf(dir, sizeof dir, "tests/data");
        if (!(d = opendir(dir))) {
            const char *slash = strrchr(argv[0], '/');
            snprintf(dir, sizeof dir, "%.*s/../../tests/data",
                     slash ? (int)(slash - argv[0]) : 1, slash ? argv[0] : ".");
        }
    }
    if (!d && !(d = opendir(dir))) {
        unit_fail(__FILE__, __LINE__, "the cases' directory opens", strerror(errno));
        return unit_report("cases");
    }
    char *names[1024];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < sizeof names / sizeof *names) {
        size_t len = strlen(e->d_name);
        if (len > 5 && !strcmp(e->d_name + len - 5, ".case") && wanted(e->d_name, argc, argv))
            names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, by_name);
    CHECK(n > 0);
    for (size_t i = 0; i < n; i++) {
        struct test_case tc;
        memset(&tc, 0, sizeof tc);
        snprintf(tc.file, sizeof tc.file, "%s", names[i]);
        char path[4500];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (!(tc.text = read_file(path)))
            case_fail(&tc, "the case file reads", strerror(errno));
        else
            run_case(&tc);
        case_free(&tc);
        free(names[i]);
    }
    printf("%zu cases, %lu tortured, %lu runs with one allocation failing\n", n, torture_cases,
           torture_runs);
    return unit_report("cases");
}
