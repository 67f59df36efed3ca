/* The bytes a connection owes the web server: whole FastCGI records, queued
 * in blocks and written without ever blocking. Whoever owns the connection
 * at the moment (a request thread during a phase, the I/O thread between
 * phases) is the only one to touch its queue, so it needs no lock.
 *
 * A write to the socket is tried first whenever the queue is empty, so a
 * web server that reads promptly takes a large answer straight from the
 * writer's chunk; only what the socket would not take is copied here. */
#ifndef CUEGW_OUTQ_H
#define CUEGW_OUTQ_H

#include <stddef.h>

struct outq_block;

struct outq {
    struct outq_block *head, *tail;
    size_t queued;           /* bytes not yet written */
    size_t written;          /* bytes written since outq_init */
    int failed;              /* the socket refused a write for good */
};

void outq_init(struct outq *q);

/* Frees every block; the queue is empty again. */
void outq_free(struct outq *q);

/* Appends data as records of `type` for request `id` (several records when
 * n exceeds a record's 65,535 bytes; n == 0 gives one empty record). fd >=
 * 0: the socket is tried first when nothing is queued. Returns 0, or -1
 * when memory or the socket failed (then failed is set). */
int outq_records(struct outq *q, int fd, unsigned type, unsigned id, const void *data,
                 size_t n);

/* Like outq_records, but what the socket does not take at once is queued
 * by reference, not copied: data must stay valid until the queue is freed
 * (memory that lives as long as the process). */
int outq_records_static(struct outq *q, int fd, unsigned type, unsigned id, const void *data,
                        size_t n);

/* FCGI_END_REQUEST for request id. */
int outq_end_request(struct outq *q, int fd, unsigned id, unsigned app_status,
                     unsigned protocol_status);

/* Writes what is queued, as far as the socket takes it. 1: all written;
 * 0: some remains (wait for EPOLLOUT); -1: the socket failed. */
int outq_flush(struct outq *q, int fd);

#endif
