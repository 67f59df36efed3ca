/* The byte buffer JSON is written into. Two modes:
 *  - growable: the whole text is kept, up to `limit` bytes;
 *  - streaming: with a sink set, the buffer keeps at most `chunk` bytes and
 *    hands full chunks to the sink (the FastCGI output), so a response of
 *    tens of MB costs one chunk of memory.
 * Failure is sticky: after a refused growth or a sink error every write is
 * dropped and `failed` stays set, so writers check once at the end. */
#ifndef CUEGW_OUTBUF_H
#define CUEGW_OUTBUF_H

#include <stddef.h>
#include <string.h>

typedef int (*outbuf_sink_fn)(void *ctx, const char *data, size_t n);

struct outbuf {
    char *data;
    size_t len;          /* bytes in data */
    size_t cap;          /* allocated size of data */
    size_t limit;        /* growable mode: most bytes kept; 0: no limit */
    size_t flushed;      /* streaming mode: bytes already given to the sink */
    outbuf_sink_fn sink;
    void *sink_ctx;
    int failed;          /* 0, or OUTBUF_TOO_BIG / OUTBUF_NOMEM / OUTBUF_SINK */
};

enum { OUTBUF_TOO_BIG = 1, OUTBUF_NOMEM = 2, OUTBUF_SINK = 3 };

void outbuf_init(struct outbuf *ob, size_t limit);
/* Switches to streaming mode with a buffer of `chunk` bytes. */
int outbuf_set_sink(struct outbuf *ob, size_t chunk, outbuf_sink_fn sink, void *ctx);
/* Empties the buffer, keeping its memory. */
void outbuf_clear(struct outbuf *ob);
void outbuf_free(struct outbuf *ob);
/* Streaming mode: gives what is buffered to the sink. */
int outbuf_flush(struct outbuf *ob);
/* Total bytes written so far, in either mode. */
static inline size_t outbuf_total(const struct outbuf *ob) { return ob->flushed + ob->len; }

/* Slow path of outbuf_room: grows or flushes. */
int outbuf_make_room(struct outbuf *ob, size_t n);

/* Ensures n bytes can be written at data+len; 0 on success. */
static inline int outbuf_room(struct outbuf *ob, size_t n)
{
    if (ob->cap - ob->len >= n)
        return 0;
    return outbuf_make_room(ob, n);
}

/* Writes n bytes. In streaming mode n may exceed the chunk size. */
void outbuf_put_slow(struct outbuf *ob, const void *p, size_t n);
static inline void outbuf_put(struct outbuf *ob, const void *p, size_t n)
{
    if (ob->cap - ob->len >= n) {
        memcpy(ob->data + ob->len, p, n);
        ob->len += n;
        return;
    }
    outbuf_put_slow(ob, p, n);
}

static inline void outbuf_putc(struct outbuf *ob, char c)
{
    if (ob->len < ob->cap || outbuf_make_room(ob, 1) == 0)
        ob->data[ob->len++] = c;
}

/* `"" lit` refuses to compile unless lit is a string literal: sizeof of a
 * pointer would silently write 7 bytes. */
#define outbuf_puts_lit(ob, lit) outbuf_put((ob), "" lit, sizeof("" lit) - 1)

#endif
