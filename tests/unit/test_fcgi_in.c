/* The FastCGI decoder (fcgi/fcgi_in.c) and output queue (fcgi/outq.c):
 * records cut anywhere, the params caps, and a queue that a socket takes a
 * little at a time. */
#include <fastcgi.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/cg_limits.h"
#include "fcgi_in.h"
#include "outq.h"
#include "unit.h"

static size_t record(unsigned char *out, unsigned type, unsigned id, const void *p, size_t n)
{
    unsigned char h[8] = {1, (unsigned char)type, (unsigned char)(id >> 8), (unsigned char)id,
                          (unsigned char)(n >> 8), (unsigned char)n, 3, 0};
    memcpy(out, h, 8);
    if (n)
        memcpy(out + 8, p, n);
    memset(out + 8 + n, 0, 3);            /* three bytes of padding */
    return 8 + n + 3;
}

static size_t pair(unsigned char *out, const char *name, const char *value)
{
    size_t a = strlen(name), b = strlen(value), k = 0;
    out[k++] = (unsigned char)a;
    if (b < 128) {
        out[k++] = (unsigned char)b;
    } else {
        out[k++] = (unsigned char)(0x80 | b >> 24);
        out[k++] = (unsigned char)(b >> 16);
        out[k++] = (unsigned char)(b >> 8);
        out[k++] = (unsigned char)b;
    }
    memcpy(out + k, name, a);
    memcpy(out + k + a, value, b);
    return k + a + b;
}

/* A whole request, its params and body, fed a byte at a time. */
static void test_one_byte_at_a_time(void)
{
    static unsigned char s[4096];
    unsigned char body[8] = {0, FCGI_RESPONDER, FCGI_KEEP_CONN};
    unsigned char pp[512];
    size_t n = record(s, FCGI_BEGIN_REQUEST, 7, body, 8);
    size_t k = pair(pp, "REQUEST_URI", "/show.ShowInterface/GetShows");
    /* Over 127 bytes: its length takes the four-byte form. */
    static const char long_value[] = "0123456789012345678901234567890123456789"
                                     "0123456789012345678901234567890123456789"
                                     "0123456789012345678901234567890123456789";
    k += pair(pp + k, "LONG", long_value);
    n += record(s + n, FCGI_PARAMS, 7, pp, k);
    n += record(s + n, FCGI_PARAMS, 7, NULL, 0);
    n += record(s + n, FCGI_STDIN, 7, "{}", 2);
    n += record(s + n, FCGI_STDIN, 7, NULL, 0);

    struct fcgi_in in;
    struct outq q;
    fcgi_in_init(&in);
    outq_init(&q);
    int params = 0, bodies = 0;
    for (size_t i = 0; i < n; i++) {
        enum fcgi_in_event ev;
        size_t used = fcgi_in_feed(&in, (const char *)s + i, 1, &q, &ev);
        CHECK(used == 1);
        if (ev == FCGI_EV_PARAMS) {
            params++;
            CHECK(in.keep_conn && in.id_active == 7);
            const char *why = "x";
            char **t = fcgi_params_decode(in.params, in.params_len, in.params_over, &why);
            CHECK(t && !why);
            CHECK(t && !strcmp(fcgi_params_get(t, "REQUEST_URI"), "/show.ShowInterface/GetShows"));
            CHECK(t && !strcmp(fcgi_params_get(t, "LONG"), long_value));
            CHECK(t && !fcgi_params_get(t, "NOPE"));
            free(t);
            in.stage = FCGI_IN_HELD;
            fcgi_in_want_body(&in, 100, 2);
        } else if (ev == FCGI_EV_BODY) {
            bodies++;
            CHECK_TEXT(in.body, in.body_len, "{}");
            CHECK(!in.body_over);
        } else {
            CHECK(ev == FCGI_EV_MORE);
        }
    }
    CHECK(params == 1 && bodies == 1);
    CHECK(q.queued == 0);
    fcgi_in_free(&in);
    outq_free(&q);
}

/* Params past the cap are reported at once, with what fitted. */
static void test_params_cap(void)
{
    size_t total = CG_MAX_PARAMS_BYTES + 70000;
    unsigned char *s = malloc(total + 1024);
    unsigned char body[8] = {0, FCGI_RESPONDER, 0};
    size_t n = record(s, FCGI_BEGIN_REQUEST, 1, body, 8);
    static unsigned char chunk[60000];
    memset(chunk, 'a', sizeof chunk);
    size_t sent = 0;
    while (sent < total && n + sizeof chunk + 16 < total + 1024) {
        n += record(s + n, FCGI_PARAMS, 1, chunk, sizeof chunk);
        sent += sizeof chunk;
    }
    struct fcgi_in in;
    struct outq q;
    fcgi_in_init(&in);
    outq_init(&q);
    enum fcgi_in_event ev;
    size_t used = fcgi_in_feed(&in, (const char *)s, n, &q, &ev);
    CHECK(ev == FCGI_EV_PARAMS && in.params_over);
    CHECK(in.params_len == CG_MAX_PARAMS_BYTES);
    CHECK(used < n);                      /* the rest is never read */
    const char *why = NULL;
    char **t = fcgi_params_decode(in.params, in.params_len, in.params_over, &why);
    CHECK(t && why && !strcmp(why, "too big"));
    free(t);
    fcgi_in_free(&in);
    outq_free(&q);
    free(s);

    /* More pairs than the count cap. */
    size_t cap = (CG_MAX_PARAMS_COUNT + 10) * 2;
    char *many = malloc(cap);
    memset(many, 0, cap);                 /* each pair: empty name, empty value */
    why = NULL;
    t = fcgi_params_decode(many, cap, 0, &why);
    CHECK(t && why && !strcmp(why, "too big"));
    free(t);
    free(many);

    /* A NUL in a value, and a pair cut short. */
    unsigned char bad[16] = {1, 3, 'A', 'x', 0, 'y'};
    t = fcgi_params_decode((const char *)bad, 6, 0, &why);
    CHECK(t && why && !strcmp(why, "nul"));
    free(t);
    t = fcgi_params_decode((const char *)bad, 4, 0, &why);
    CHECK(t && why && !strcmp(why, "malformed"));
    free(t);
}

/* GET_VALUES is answered; a second BEGIN_REQUEST gets CANT_MPX_CONN. */
static void test_replies(void)
{
    unsigned char s[256];
    unsigned char body[8] = {0, FCGI_RESPONDER, 0};
    size_t n = record(s, FCGI_GET_VALUES, 0, NULL, 0);
    n += record(s + n, FCGI_BEGIN_REQUEST, 1, body, 8);
    n += record(s + n, FCGI_BEGIN_REQUEST, 2, body, 8);
    struct fcgi_in in;
    struct outq q;
    fcgi_in_init(&in);
    outq_init(&q);
    enum fcgi_in_event ev;
    CHECK(fcgi_in_feed(&in, (const char *)s, n, &q, &ev) == n && ev == FCGI_EV_MORE);
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    CHECK(outq_flush(&q, sv[0]) == 1);
    unsigned char got[512];
    ssize_t r = read(sv[1], got, sizeof got);
    CHECK(r > 16 && got[1] == FCGI_GET_VALUES_RESULT);
    CHECK(r > 0 && memmem(got, (size_t)r, "FCGI_MPXS_CONNS0", 16) != NULL);
    size_t first = 8 + ((size_t)got[4] << 8 | got[5]) + got[6];
    CHECK((size_t)r == first + 16);
    CHECK(got[first + 1] == FCGI_END_REQUEST && got[first + 3] == 2 &&
          got[first + 8 + 4] == FCGI_CANT_MPX_CONN);
    close(sv[0]);
    close(sv[1]);
    fcgi_in_free(&in);
    outq_free(&q);
}

/* A large answer to a socket that takes a little at a time: everything
 * arrives, in order, as records of at most 65,535 bytes. */
static void test_outq_partial(void)
{
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    int small = 4096;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    size_t n = 300000;
    char *data = malloc(n);
    for (size_t i = 0; i < n; i++)
        data[i] = (char)(i * 7);
    struct outq q;
    outq_init(&q);
    CHECK(outq_records(&q, sv[0], FCGI_STDOUT, 1, data, n) == 0);
    CHECK(q.queued > 0);                  /* the socket did not take it all */
    CHECK(outq_end_request(&q, sv[0], 1, 0, FCGI_REQUEST_COMPLETE) == 0);
    char *got = malloc(n + 1000);
    size_t have = 0, payload = 0;
    unsigned char buf[70000];
    size_t held = 0;
    int ended = 0;
    for (int rounds = 0; rounds < 100000 && !ended; rounds++) {
        int fr = outq_flush(&q, sv[0]);
        CHECK(fr >= 0);
        ssize_t r = recv(sv[1], buf + held, sizeof buf - held, MSG_DONTWAIT);
        if (r > 0)
            held += (size_t)r;
        while (held >= 8) {
            size_t clen = (size_t)buf[4] << 8 | buf[5], plen = buf[6];
            if (held < 8 + clen + plen)
                break;
            if (buf[1] == FCGI_STDOUT) {
                memcpy(got + payload, buf + 8, clen);
                payload += clen;
            } else if (buf[1] == FCGI_END_REQUEST) {
                ended = 1;
            }
            memmove(buf, buf + 8 + clen + plen, held - 8 - clen - plen);
            held -= 8 + clen + plen;
        }
        have = payload;
    }
    CHECK(ended && have == n && memcmp(got, data, n) == 0);
    CHECK(q.queued == 0 && q.head == NULL);
    outq_free(&q);
    free(got);
    free(data);
    close(sv[0]);
    close(sv[1]);
}

int main(void)
{
    test_one_byte_at_a_time();
    test_params_cap();
    test_replies();
    test_outq_partial();
    return unit_report("fcgi_in");
}
