#include "fcgi_in.h"

#include <fastcgi.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/cg_limits.h"
#include "outq.h"

void fcgi_in_init(struct fcgi_in *in)
{
    memset(in, 0, sizeof *in);
}

void fcgi_in_next(struct fcgi_in *in)
{
    free(in->params);
    free(in->body);
    in->params = in->body = NULL;
    in->params_len = in->params_cap = 0;
    in->body_len = in->body_cap = in->body_max = 0;
    in->params_over = in->body_over = 0;
    in->dropped = 0;
    in->stage = FCGI_IN_BEGIN;
    in->id_active = 0;
    in->keep_conn = 0;
}

void fcgi_in_free(struct fcgi_in *in)
{
    fcgi_in_next(in);
}

/* Appends to a buffer that may grow to max bytes; past max only *over is
 * set. Doubling keeps the copies linear in what arrives. */
static int append(char **buf, size_t *len, size_t *cap, size_t max, int *over,
                  const char *p, size_t n)
{
    if (*over)
        return 0;
    if (n > max - *len) {
        n = max - *len;
        *over = 1;
    }
    if (*len + n > *cap) {
        size_t c = *cap ? *cap : 1024;
        while (c < *len + n)
            c = c > max / 2 ? max : c * 2;
        char *nb = realloc(*buf, c);
        if (!nb)
            return -1;
        *buf = nb;
        *cap = c;
    }
    memcpy(*buf + *len, p, n);
    *len += n;
    return 0;
}

/* FCGI_GET_VALUES: what cuegw is, whatever was asked (the names it does not
 * know are left out, as the protocol allows). One request at a time per
 * connection. */
static void answer_get_values(struct outq *q)
{
    static const char *const pairs[][2] = {
        {FCGI_MAX_CONNS, "1024"}, {FCGI_MAX_REQS, "1024"}, {FCGI_MPXS_CONNS, "0"},
    };
    char buf[128];
    size_t n = 0;
    for (size_t i = 0; i < 3; i++) {
        size_t a = strlen(pairs[i][0]), b = strlen(pairs[i][1]);
        buf[n++] = (char)a;
        buf[n++] = (char)b;
        memcpy(buf + n, pairs[i][0], a);
        memcpy(buf + n + a, pairs[i][1], b);
        n += a + b;
    }
    outq_records(q, -1, FCGI_GET_VALUES_RESULT, 0, buf, n);
}

static void answer_unknown_type(struct outq *q, unsigned type)
{
    unsigned char body[8] = {(unsigned char)type};
    outq_records(q, -1, FCGI_UNKNOWN_TYPE, 0, body, sizeof body);
}

/* A BEGIN_REQUEST record is complete. */
static enum fcgi_in_event on_begin(struct fcgi_in *in, struct outq *q)
{
    unsigned role = (unsigned)in->small[0] << 8 | in->small[1];
    int keep = in->small[2] & FCGI_KEEP_CONN;
    if (in->stage != FCGI_IN_BEGIN) {
        /* One request at a time: a second one is refused, the first goes on. */
        outq_end_request(q, -1, in->id, 0, FCGI_CANT_MPX_CONN);
        return FCGI_EV_MORE;
    }
    if (role != FCGI_RESPONDER) {
        outq_end_request(q, -1, in->id, 0, FCGI_UNKNOWN_ROLE);
        if (!keep) {
            in->error = "a role other than responder";
            return FCGI_EV_ERROR;
        }
        return FCGI_EV_MORE;
    }
    in->stage = FCGI_IN_PARAMS;
    in->id_active = in->id;
    in->keep_conn = keep;
    return FCGI_EV_MORE;
}

/* The content of a record of the active request, n bytes at p. */
static enum fcgi_in_event content(struct fcgi_in *in, const char *p, size_t n)
{
    if (in->type == FCGI_PARAMS && in->stage == FCGI_IN_PARAMS) {
        if (append(&in->params, &in->params_len, &in->params_cap, CG_MAX_PARAMS_BYTES,
                   &in->params_over, p, n)) {
            in->error = "out of memory for the params";
            return FCGI_EV_ERROR;
        }
        /* Over the cap: reported now, the rest is never read. */
        return in->params_over ? FCGI_EV_PARAMS : FCGI_EV_MORE;
    }
    if (in->type == FCGI_STDIN && in->stage == FCGI_IN_BODY) {
        if (append(&in->body, &in->body_len, &in->body_cap, in->body_max + 1, &in->body_over,
                   p, n)) {
            in->error = "out of memory for the body";
            return FCGI_EV_ERROR;
        }
        if (in->body_len > in->body_max) {
            in->body_over = 1;
            in->body_len = in->body_max;
            return FCGI_EV_BODY;
        }
        return FCGI_EV_MORE;
    }
    if (in->type == FCGI_STDIN && in->stage == FCGI_IN_DROP)
        in->dropped += n;
    return FCGI_EV_MORE;
}

/* The end of a record's content (an empty PARAMS or STDIN ends its stream). */
static enum fcgi_in_event record_end(struct fcgi_in *in, size_t content_len, struct outq *q)
{
    if (in->type == FCGI_BEGIN_REQUEST)
        return on_begin(in, q);
    if (in->id != in->id_active || in->id == 0)
        return FCGI_EV_MORE;          /* not the request in hand: ignored */
    if (in->type == FCGI_ABORT_REQUEST && in->stage != FCGI_IN_BEGIN)
        return FCGI_EV_ABORT;
    if (content_len != 0)
        return FCGI_EV_MORE;
    if (in->type == FCGI_PARAMS && in->stage == FCGI_IN_PARAMS)
        return FCGI_EV_PARAMS;
    if (in->type == FCGI_STDIN && (in->stage == FCGI_IN_BODY || in->stage == FCGI_IN_DROP)) {
        in->stage = FCGI_IN_ENDED;
        return FCGI_EV_BODY;
    }
    return FCGI_EV_MORE;
}

size_t fcgi_in_feed(struct fcgi_in *in, const char *p, size_t n, struct outq *q,
                    enum fcgi_in_event *ev)
{
    size_t used = 0;
    *ev = FCGI_EV_MORE;
    while (used < n) {
        if (in->head_len < FCGI_HEADER_LEN) {
            size_t k = FCGI_HEADER_LEN - in->head_len;
            if (k > n - used)
                k = n - used;
            memcpy(in->head + in->head_len, p + used, k);
            in->head_len += (unsigned)k;
            used += k;
            if (in->head_len < FCGI_HEADER_LEN)
                break;
            if (in->head[0] != FCGI_VERSION_1) {
                in->error = "not FastCGI version 1";
                *ev = FCGI_EV_ERROR;
                return used;
            }
            in->type = in->head[1];
            in->id = (unsigned)in->head[2] << 8 | in->head[3];
            in->left = (size_t)in->head[4] << 8 | in->head[5];
            in->pad = in->head[6];
            in->small_len = 0;
            /* Management records (id 0) are answered once their content is in. */
            if (in->id != FCGI_NULL_REQUEST_ID && in->type == FCGI_BEGIN_REQUEST &&
                in->left != 8) {
                in->error = "a BEGIN_REQUEST record of the wrong size";
                *ev = FCGI_EV_ERROR;
                return used;
            }
        }
        /* Content. */
        size_t k = in->left < n - used ? in->left : n - used;
        if (k > 0) {
            if (in->type == FCGI_BEGIN_REQUEST && in->id != 0) {
                memcpy(in->small + in->small_len, p + used, k);
                in->small_len += (unsigned)k;
            } else if (in->id != 0 && in->id == in->id_active) {
                enum fcgi_in_event e = content(in, p + used, k);
                if (e != FCGI_EV_MORE) {
                    in->left -= k;
                    used += k;
                    *ev = e;
                    return used;
                }
            }
            in->left -= k;
            used += k;
        }
        if (in->left > 0)
            break;
        /* Padding. */
        k = in->pad < n - used ? in->pad : n - used;
        in->pad -= k;
        used += k;
        if (in->pad > 0)
            break;
        /* The record is complete. */
        in->head_len = 0;
        size_t content_len = (size_t)in->head[4] << 8 | in->head[5];
        enum fcgi_in_event e;
        if (in->id == FCGI_NULL_REQUEST_ID) {
            if (in->type == FCGI_GET_VALUES)
                answer_get_values(q);
            else
                answer_unknown_type(q, in->type);
            e = FCGI_EV_MORE;
        } else {
            e = record_end(in, content_len, q);
        }
        if (e != FCGI_EV_MORE) {
            *ev = e;
            return used;
        }
    }
    return used;
}

void fcgi_in_want_body(struct fcgi_in *in, size_t max, size_t hint)
{
    in->stage = FCGI_IN_BODY;
    in->body_max = max;
    if (hint && hint <= max) {
        /* One allocation for a declared length; the extra byte tells a
         * body longer than it declared. */
        char *b = malloc(hint + 1);
        if (b) {
            in->body = b;
            in->body_cap = hint + 1;
        }
    }
}

void fcgi_in_drop_body(struct fcgi_in *in)
{
    in->stage = FCGI_IN_DROP;
}

/* A FastCGI length: one byte below 128, else four with the top bit set. */
static int read_len(const unsigned char **p, const unsigned char *end, size_t *out)
{
    if (*p >= end)
        return -1;
    if (**p < 0x80) {
        *out = *(*p)++;
        return 0;
    }
    if (end - *p < 4)
        return -1;
    const unsigned char *b = *p;
    *out = ((size_t)(b[0] & 0x7f) << 24) | ((size_t)b[1] << 16) | ((size_t)b[2] << 8) | b[3];
    *p += 4;
    return 0;
}

char **fcgi_params_decode(const char *stream, size_t n, int over, const char **why)
{
    /* Each pair costs at least 2 bytes of the stream, so this bounds the
     * table; names and values are copied with their NULs after it. */
    size_t max_pairs = n / 2 < CG_MAX_PARAMS_COUNT ? n / 2 : CG_MAX_PARAMS_COUNT;
    size_t table = (2 * max_pairs + 1) * sizeof(char *);
    char **t = malloc(table + n + 2 * max_pairs + 1);
    if (!t)
        return NULL;
    char *text = (char *)t + table;
    if (!stream)
        stream = "";                       /* no params at all */
    const unsigned char *p = (const unsigned char *)stream, *end = p + n;
    size_t pairs = 0;
    *why = over ? "too big" : NULL;
    while (p < end) {
        size_t a, b;
        if (read_len(&p, end, &a) || read_len(&p, end, &b) || a > (size_t)(end - p) ||
            b > (size_t)(end - p) - a) {
            /* A stream cut at the cap ends mid-pair: that is not a fault. */
            if (!over)
                *why = "malformed";
            break;
        }
        if (pairs == CG_MAX_PARAMS_COUNT) {
            *why = "too big";
            break;
        }
        if (memchr(p, 0, a + b)) {
            *why = "nul";
            break;
        }
        t[2 * pairs] = text;
        memcpy(text, p, a);
        text[a] = '\0';
        text += a + 1;
        t[2 * pairs + 1] = text;
        memcpy(text, p + a, b);
        text[b] = '\0';
        text += b + 1;
        p += a + b;
        pairs++;
    }
    t[2 * pairs] = NULL;
    return t;
}

const char *fcgi_params_get(char *const *table, const char *name)
{
    if (!table)
        return NULL;
    for (size_t i = 0; table[i]; i += 2)
        if (strcmp(table[i], name) == 0)
            return table[i + 1];
    return NULL;
}
