/* Fuzz target: the FastCGI input decoder (fcgi/fcgi_in.c) and the params
 * table, as the I/O thread drives them: bytes as a web server (or anyone
 * who reaches the socket) sends them, in pieces of any size.
 *
 * Input: two bytes of settings, then the stream.
 *   byte 0  the body limit the "gateway" sets after each params event
 *           (0 to 255 times 16 bytes); bit 0 set: the body is dropped
 *   byte 1  seeds the sizes of the pieces the stream arrives in
 *
 * Invariants beyond "no crash, no leak, no UB":
 *  - the decoder never claims more bytes than it was given, and always
 *    moves on (a piece is used up, or an event is reported);
 *  - what it reports does not depend on how the stream was cut: the same
 *    bytes given whole and in random pieces give the same transcript
 *    (events, params, bodies);
 *  - a request's params keep at most CG_MAX_PARAMS_BYTES; the decoded
 *    table holds at most CG_MAX_PARAMS_COUNT pairs, each found again by
 *    fcgi_params_get (first one of a name wins);
 *  - a kept body is at most the limit, and body_over says when more came. */
#include <string.h>

#include "base/cg_limits.h"
#include "fcgi_in.h"
#include "fuzz_check.h"
#include "outq.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

/* FNV-1a over what the decoder reported: enough to compare two runs. */
struct transcript {
    uint64_t h;
    unsigned events;
};

static void mix(struct transcript *t, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        t->h = (t->h ^ b[i]) * 1099511628211ull;
}

static void mix_int(struct transcript *t, uint64_t v)
{
    mix(t, &v, sizeof v);
}

static void check_params(struct fcgi_in *in, struct transcript *t)
{
    FUZZ_CHECK(in->params_len <= CG_MAX_PARAMS_BYTES, "params over the cap were kept");
    const char *why = NULL;
    char **table = fcgi_params_decode(in->params, in->params_len, in->params_over, &why);
    FUZZ_CHECK(table != NULL, "decoding params failed for memory");
    size_t pairs = 0;
    for (; table[2 * pairs]; pairs++) {
        const char *name = table[2 * pairs], *value = table[2 * pairs + 1];
        FUZZ_CHECK(value != NULL, "a name without a value");
        const char *found = fcgi_params_get(table, name);
        FUZZ_CHECK(found != NULL, "a decoded name is not found again");
        mix(t, name, strlen(name) + 1);
        mix(t, value, strlen(value) + 1);
    }
    FUZZ_CHECK(pairs <= CG_MAX_PARAMS_COUNT, "more pairs than the cap");
    mix(t, why ? why : "-", why ? strlen(why) : 1);
    free(table);
}

/* Drives the decoder over the stream in pieces; returns its transcript. */
static struct transcript drive(const uint8_t *p, size_t n, unsigned limit16, int drop,
                               uint32_t seed)
{
    struct transcript t = {1469598103934665603ull, 0};
    struct fcgi_in in;
    struct outq q;
    fcgi_in_init(&in);
    outq_init(&q);
    size_t at = 0;
    while (at < n) {
        size_t piece = n - at;
        if (seed) {
            seed = seed * 1103515245u + 12345u;
            size_t k = (seed >> 16) % 97 + 1;
            if (k < piece)
                piece = k;
        }
        size_t off = 0;
        while (off < piece) {
            enum fcgi_in_event ev;
            size_t used = fcgi_in_feed(&in, (const char *)p + at + off, piece - off, &q, &ev);
            FUZZ_CHECK(used <= piece - off, "the decoder used more than it was given");
            FUZZ_CHECK(used > 0 || ev != FCGI_EV_MORE, "the decoder made no progress");
            off += used;
            if (ev == FCGI_EV_MORE)
                continue;
            t.events++;
            mix_int(&t, (uint64_t)ev);
            if (ev == FCGI_EV_ERROR)
                goto out;
            if (ev == FCGI_EV_PARAMS) {
                check_params(&in, &t);
                if (in.params_over)
                    goto out;              /* the connection is closed then */
                in.stage = FCGI_IN_HELD;
                if (drop)
                    fcgi_in_drop_body(&in);
                else
                    fcgi_in_want_body(&in, (size_t)limit16 * 16, (size_t)limit16 * 8);
            } else if (ev == FCGI_EV_BODY) {
                FUZZ_CHECK(in.body_len <= in.body_max, "a body over its limit was kept");
                mix_int(&t, in.body_len);
                mix_int(&t, (uint64_t)in.body_over);
                if (in.body_len)
                    mix(&t, in.body, in.body_len);
                if (in.body_over)
                    goto out;              /* closed after the 413 */
                fcgi_in_next(&in);         /* a kept connection's next request */
            } else if (ev == FCGI_EV_ABORT) {
                fcgi_in_next(&in);
            }
        }
        at += piece;
    }
out:
    mix_int(&t, q.queued);                 /* the replies the protocol asked for */
    fcgi_in_free(&in);
    outq_free(&q);
    return t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    unsigned limit16 = data[0] & 0xfe;
    int drop = data[0] & 1;
    uint32_t seed = (uint32_t)data[1] * 2654435761u | 1u;
    struct transcript whole = drive(data + 2, size - 2, limit16, drop, 0);
    struct transcript cut = drive(data + 2, size - 2, limit16, drop, seed);
    FUZZ_CHECK(whole.h == cut.h && whole.events == cut.events,
               "the transcript depends on how the stream was cut");
    return 0;
}
