/* What a web server sends on one FastCGI connection, decoded as it
 * arrives, in pieces of any size: the records of one request at a time
 * (BEGIN_REQUEST, PARAMS, STDIN, ABORT_REQUEST) and the management records
 * (GET_VALUES). It never reads a socket and never blocks: the I/O thread
 * hands it the bytes a read gave and acts on what it reports.
 *
 * Bounds: a request's params keep at most CG_MAX_PARAMS_BYTES of their
 * stream (more is reported, not stored); its body keeps at most the limit
 * the gateway set, plus one byte that tells it was larger. Nothing else
 * grows with the input. */
#ifndef CUEGW_FCGI_IN_H
#define CUEGW_FCGI_IN_H

#include <stddef.h>

struct outq;

enum fcgi_in_stage {
    FCGI_IN_BEGIN = 0,       /* waiting for BEGIN_REQUEST */
    FCGI_IN_PARAMS,          /* reading PARAMS */
    FCGI_IN_HELD,            /* params complete; the gateway decides */
    FCGI_IN_BODY,            /* reading STDIN into the body */
    FCGI_IN_DROP,            /* reading STDIN and dropping it */
    FCGI_IN_ENDED            /* STDIN complete: nothing more is read */
};

enum fcgi_in_event {
    FCGI_EV_MORE = 0,        /* everything given was used; send more */
    FCGI_EV_PARAMS,          /* the params are complete (or over the cap) */
    FCGI_EV_BODY,            /* STDIN is complete (or over the limit) */
    FCGI_EV_ABORT,           /* the web server aborted the request */
    FCGI_EV_ERROR            /* not FastCGI we can follow: close */
};

struct fcgi_in {
    /* framing of the record being read */
    unsigned char head[8];
    unsigned head_len;
    unsigned type, id;
    size_t left, pad;        /* content and padding still to come */
    unsigned char small[8];  /* a BEGIN_REQUEST body being gathered */
    unsigned small_len;

    /* the request */
    enum fcgi_in_stage stage;
    unsigned id_active;      /* its request id */
    int keep_conn;           /* FCGI_KEEP_CONN was set */
    char *params;            /* the raw PARAMS stream, capped */
    size_t params_len, params_cap;
    int params_over;         /* more than CG_MAX_PARAMS_BYTES came */
    char *body;
    size_t body_len, body_cap, body_max;
    int body_over;           /* more than body_max came */
    size_t dropped;          /* STDIN bytes dropped in FCGI_IN_DROP */
    const char *error;       /* why FCGI_EV_ERROR, for the log */
};

void fcgi_in_init(struct fcgi_in *in);

/* Frees the buffers and starts over at FCGI_IN_BEGIN (a kept connection's
 * next request). */
void fcgi_in_next(struct fcgi_in *in);

void fcgi_in_free(struct fcgi_in *in);

/* Decodes up to n bytes; stops at the first event. Returns the bytes used
 * (the rest belongs to later events and must be given again) and sets
 * *ev. Answers that the protocol asks for on the spot (GET_VALUES, a second
 * request on the connection, an unknown role or type) are queued on q. */
size_t fcgi_in_feed(struct fcgi_in *in, const char *p, size_t n, struct outq *q,
                    enum fcgi_in_event *ev);

/* After FCGI_EV_PARAMS: keep the body, at most max bytes (hint: the
 * declared length, for one allocation), or drop it. */
void fcgi_in_want_body(struct fcgi_in *in, size_t max, size_t hint);
void fcgi_in_drop_body(struct fcgi_in *in);

/* The params, decoded: a NULL-terminated table of "NAME", "VALUE" string
 * pairs in one allocation, which the caller frees; NULL when memory
 * failed. *why is NULL for a clean stream, else the table holds the pairs
 * before the fault and *why says it: "too big" (over the byte cap, or more
 * than CG_MAX_PARAMS_COUNT pairs), "malformed", or "nul" (a NUL byte in a
 * name or value). */
char **fcgi_params_decode(const char *stream, size_t n, int over, const char **why);

/* A decoded table's value for name, or NULL. */
const char *fcgi_params_get(char *const *table, const char *name);

#endif
