#include "base/outbuf.h"

#include <stdint.h>
#include <stdlib.h>

void outbuf_init(struct outbuf *ob, size_t limit)
{
    memset(ob, 0, sizeof *ob);
    ob->limit = limit;
}

int outbuf_set_sink(struct outbuf *ob, size_t chunk, outbuf_sink_fn sink, void *ctx)
{
    char *p = realloc(ob->data, chunk);
    if (!p)
        return -1;
    ob->data = p;
    ob->cap = chunk;
    ob->sink = sink;
    ob->sink_ctx = ctx;
    return 0;
}

void outbuf_clear(struct outbuf *ob)
{
    ob->len = 0;
    ob->flushed = 0;
    ob->failed = 0;
}

void outbuf_free(struct outbuf *ob)
{
    free(ob->data);
    ob->data = NULL;
    ob->len = ob->cap = 0;
}

int outbuf_flush(struct outbuf *ob)
{
    if (ob->failed)
        return -1;
    if (!ob->sink || ob->len == 0)
        return 0;
    if (ob->sink(ob->sink_ctx, ob->data, ob->len) != 0) {
        ob->failed = OUTBUF_SINK;
        return -1;
    }
    ob->flushed += ob->len;
    ob->len = 0;
    return 0;
}

int outbuf_make_room(struct outbuf *ob, size_t n)
{
    if (ob->failed)
        return -1;
    if (ob->sink) {
        if (n > ob->cap) {
            ob->failed = OUTBUF_NOMEM;   /* callers reserve small spans only */
            return -1;
        }
        return outbuf_flush(ob);
    }
    if (n > SIZE_MAX / 2 - ob->len) {
        ob->failed = OUTBUF_TOO_BIG;
        return -1;
    }
    size_t need = ob->len + n;
    if (ob->limit && need > ob->limit) {
        ob->failed = OUTBUF_TOO_BIG;
        return -1;
    }
    size_t cap = ob->cap ? ob->cap : 4096;
    while (cap < need)
        cap *= 2;
    if (ob->limit && cap > ob->limit)
        cap = ob->limit;
    char *p = realloc(ob->data, cap);
    if (!p) {
        ob->failed = OUTBUF_NOMEM;
        return -1;
    }
    ob->data = p;
    ob->cap = cap;
    return 0;
}

void outbuf_put_slow(struct outbuf *ob, const void *p, size_t n)
{
    const char *s = p;
    if (ob->sink) {
        /* Larger than the chunk: feed it through in chunk-sized pieces. */
        while (n > 0 && !ob->failed) {
            size_t room = ob->cap - ob->len;
            if (room == 0) {
                if (outbuf_flush(ob) != 0)
                    return;
                continue;
            }
            size_t k = n < room ? n : room;
            memcpy(ob->data + ob->len, s, k);
            ob->len += k;
            s += k;
            n -= k;
        }
        return;
    }
    if (outbuf_make_room(ob, n) != 0)
        return;
    memcpy(ob->data + ob->len, s, n);
    ob->len += n;
}
