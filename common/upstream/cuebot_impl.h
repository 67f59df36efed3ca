/* What cuebot.c (the call) and cuebot_channel.c (channels, queues, state)
 * share. Not for the rest of cuegw: use cuebot.h. */
#ifndef CUEGW_CUEBOT_IMPL_H
#define CUEGW_CUEBOT_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <grpc/grpc.h>

#include "upstream/cuebot.h"

/* A completion queue lent to one call at a time. */
struct cq_node {
    grpc_completion_queue *cq;
    struct cq_node *next;
};

struct cuebot {
    unsigned n;                          /* endpoints, 1..CUEBOT_MAX_ENDPOINTS */
    atomic_uint current;                 /* where the next call starts */
    size_t max_send, max_recv;           /* effective caps (clamped to INT_MAX) */
    int tls_without_cert;                /* TLS to Cuebot, no client certificate set */
    grpc_channel *ch[CUEBOT_MAX_ENDPOINTS];
    char *target[CUEBOT_MAX_ENDPOINTS];  /* "host:port", for messages */
    pthread_mutex_t mu;                  /* guards idle */
    struct cq_node *idle;                /* queues no call is using */
};

/* Lends a pluck queue that no other thread uses until it is given back;
 * NULL when memory runs out. Every operation started on it must have been
 * plucked before cuebot_cq_give. */
struct cq_node *cuebot_cq_take(struct cuebot *cb);
void cuebot_cq_give(struct cuebot *cb, struct cq_node *node);

/* now + ms on the monotonic clock; ms below 1 counts as 1, so a deadline is
 * always finite and never already past when it is made. */
gpr_timespec cuebot_deadline(int64_t ms);

#endif
