#include "outq.h"

#include <errno.h>
#include <fastcgi.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

struct outq_block {
    struct outq_block *next;
    size_t off;              /* written from the front */
    size_t len;              /* bytes held */
    size_t cap;              /* 0: the bytes are the caller's, at ref */
    const char *ref;
    char data[];
};

static const char *bytes_of(const struct outq_block *b)
{
    return b->ref ? b->ref : b->data;
}

static void link_block(struct outq *q, struct outq_block *b)
{
    if (q->tail)
        q->tail->next = b;
    else
        q->head = b;
    q->tail = b;
}

#define BLOCK_MIN (16u * 1024)
#define BLOCK_MAX (1024u * 1024)
#define FLUSH_IOV 16

void outq_init(struct outq *q)
{
    memset(q, 0, sizeof *q);
}

void outq_free(struct outq *q)
{
    struct outq_block *b = q->head;
    while (b) {
        struct outq_block *next = b->next;
        free(b);
        b = next;
    }
    q->head = q->tail = NULL;
    q->queued = 0;
}

/* Copies n bytes behind what is queued, into blocks of at least `least`
 * bytes. */
static int put(struct outq *q, const char *p, size_t n, size_t least)
{
    while (n > 0) {
        struct outq_block *t = q->tail;
        if (!t || t->ref || t->len == t->cap) {
            size_t cap = n < least ? least : n > BLOCK_MAX ? BLOCK_MAX : n;
            struct outq_block *b = malloc(sizeof *b + cap);
            if (!b) {
                q->failed = 1;
                return -1;
            }
            *b = (struct outq_block){.cap = cap};
            link_block(q, b);
            t = b;
        }
        size_t k = t->cap - t->len < n ? t->cap - t->len : n;
        memcpy(t->data + t->len, p, k);
        t->len += k;
        q->queued += k;
        p += k;
        n -= k;
    }
    return 0;
}

/* Sends what it can of iov without blocking: the bytes written, or -1
 * when the socket failed for good. */
static ssize_t try_send(int fd, struct iovec *iov, int n)
{
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)n};
    for (;;) {
        /* MSG_NOSIGNAL: a web server gone is an error return, not SIGPIPE. */
        ssize_t w = sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w >= 0)
            return w;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 0;
        return -1;
    }
}

/* Queues the caller's bytes by reference. */
static int put_ref(struct outq *q, const char *p, size_t n)
{
    if (n == 0)
        return 0;
    struct outq_block *b = malloc(sizeof *b);
    if (!b) {
        q->failed = 1;
        return -1;
    }
    *b = (struct outq_block){.len = n, .ref = p};
    link_block(q, b);
    q->queued += n;
    return 0;
}

static int record(struct outq *q, int fd, unsigned type, unsigned id, const char *p, size_t n,
                  int by_ref)
{
    unsigned char h[FCGI_HEADER_LEN] = {
        FCGI_VERSION_1, (unsigned char)type, (unsigned char)(id >> 8), (unsigned char)id,
        (unsigned char)(n >> 8), (unsigned char)n, 0, 0,
    };
    size_t done = 0;
    /* A web server that reads promptly keeps taking the answer straight
     * from the writer: what is queued goes first, and once it is out the
     * new bytes are sent without a copy. */
    if (q->queued > 0 && fd >= 0 && outq_flush(q, fd) < 0)
        return -1;
    if (q->queued == 0 && fd >= 0) {
        struct iovec iov[2] = {{h, sizeof h}, {(void *)p, n}};
        ssize_t w = try_send(fd, iov, n ? 2 : 1);
        if (w < 0) {
            q->failed = 1;
            return -1;
        }
        done = (size_t)w;
        q->written += done;
    }
    if (done < sizeof h) {
        if (put(q, (const char *)h + done, sizeof h - done, by_ref ? 64 : BLOCK_MIN))
            return -1;
        done = sizeof h;
    }
    size_t left = n - (done - sizeof h);
    if (left == 0)
        return 0;                          /* p may be NULL for an empty record */
    const char *rest = p + (done - sizeof h);
    return by_ref ? put_ref(q, rest, left) : put(q, rest, left, BLOCK_MIN);
}

static int records(struct outq *q, int fd, unsigned type, unsigned id, const void *data,
                   size_t n, int by_ref)
{
    const char *p = data;
    if (q->failed)
        return -1;
    do {
        size_t k = n > FCGI_MAX_LENGTH ? FCGI_MAX_LENGTH : n;
        if (record(q, fd, type, id, p, k, by_ref))
            return -1;
        p += k;
        n -= k;
    } while (n > 0);
    return 0;
}

int outq_records(struct outq *q, int fd, unsigned type, unsigned id, const void *data,
                 size_t n)
{
    return records(q, fd, type, id, data, n, 0);
}

int outq_records_static(struct outq *q, int fd, unsigned type, unsigned id, const void *data,
                        size_t n)
{
    return records(q, fd, type, id, data, n, 1);
}

int outq_end_request(struct outq *q, int fd, unsigned id, unsigned app_status,
                     unsigned protocol_status)
{
    unsigned char body[8] = {
        (unsigned char)(app_status >> 24), (unsigned char)(app_status >> 16),
        (unsigned char)(app_status >> 8), (unsigned char)app_status,
        (unsigned char)protocol_status, 0, 0, 0,
    };
    if (q->failed)
        return -1;
    return record(q, fd, FCGI_END_REQUEST, id, (const char *)body, sizeof body, 0);
}

int outq_flush(struct outq *q, int fd)
{
    while (q->head) {
        if (q->failed)
            return -1;
        struct iovec iov[FLUSH_IOV];
        int n = 0;
        for (struct outq_block *b = q->head; b && n < FLUSH_IOV; b = b->next)
            iov[n++] = (struct iovec){(char *)bytes_of(b) + b->off, b->len - b->off};
        ssize_t w = try_send(fd, iov, n);
        if (w < 0) {
            q->failed = 1;
            return -1;
        }
        if (w == 0)
            return 0;
        q->written += (size_t)w;
        q->queued -= (size_t)w;
        while (w > 0) {
            struct outq_block *b = q->head;
            size_t left = b->len - b->off;
            if ((size_t)w < left) {
                b->off += (size_t)w;
                break;
            }
            w -= (ssize_t)left;
            q->head = b->next;
            if (!q->head)
                q->tail = NULL;
            free(b);
        }
    }
    return q->failed ? -1 : 1;
}
