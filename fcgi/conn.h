/* One FastCGI connection of a worker process, and the hand-offs between
 * the process's I/O thread and its request threads. Not for the rest of
 * cuegw: worker.h is the process's interface.
 *
 * Ownership: a connection belongs to the I/O thread, except while it is
 * in CONN_RUN: then exactly one request thread (or the run queue) has it,
 * reads its socket when the body is there already and writes its answer,
 * and the I/O thread touches nothing in it until it comes back through
 * the done queue, but for its epoll registration (events, watched: the
 * I/O thread's alone), which it changes under the queues' lock, as it
 * sets wants_bell; a request thread closing fd sets fd_closed under it.
 *
 * A kept connection between requests is parked instead (CONN_IDLE): out of
 * the I/O thread's epoll set, armed once (EPOLLONESHOT) in the set idle
 * request threads wait on, so the thread its next request wakes reads the
 * params and runs it, with no hand-off. Who has it then is its park word,
 * under the queues' lock: PARK_IDLE, nobody (the request thread woken for
 * it takes it, PARK_BUSY; the I/O thread may only ask for it back,
 * PARK_DOOMED, by shutting the socket, which wakes one); PARK_BUSY, that
 * request thread, which parks it again or hands it back; PARK_OFF, handed
 * back through the done queue. The I/O thread keeps it in its IDLE list
 * throughout, for the deadline and a stop, and frees it only once handed
 * back. Each arming is taken by exactly one request thread before the
 * connection can come back, so no thread ever holds a connection the I/O
 * thread has freed, and none reads one another runs. */
#ifndef CUEGW_CONN_H
#define CUEGW_CONN_H

#include <stdint.h>
#include <time.h>

#include "fcgi_in.h"
#include "http/gateway.h"
#include "outq.h"

enum conn_state {
    CONN_HEAD = 0,       /* reading a request's BEGIN_REQUEST and params */
    CONN_IDLE,           /* kept: parked for the next request's first byte */
    CONN_BODY,           /* reading the body the gateway asked for */
    CONN_WRITE,          /* writing the answer (and dropping unread body) */
    CONN_LINGER,         /* not kept: answered, our side shut, dropping input */
    CONN_RUN,            /* queued for, or on, a request thread */
    CONN_STATES
};

/* What the request thread does with the connection next. */
enum conn_step {
    STEP_BEGIN = 0,      /* gateway_begin on the params */
    STEP_RESUME,         /* gateway_resume with the body (or why there is none) */
};

/* What a request thread hands back. */
enum conn_outcome {
    OUTCOME_WANTS_BODY = 0,
    OUTCOME_ANSWERED,
    OUTCOME_HEAD,        /* parked: no complete params in the first read (head_event) */
    OUTCOME_IDLE,        /* parked and given back unused: the I/O thread asked, it closes */
};

enum conn_park { PARK_OFF = 0, PARK_IDLE, PARK_BUSY, PARK_DOOMED };

struct conn {
    int fd;
    enum conn_state state;
    struct conn *prev, *next;      /* in its state's list, oldest first */
    int64_t since_ms;              /* entered the list: its deadline counts from here */
    int64_t start_us;              /* the request's first byte (accept, for a new one) */
    uint32_t events;               /* what epoll watches for it now */
    int watched;                   /* in the epoll set */
    int read_eof;                  /* the web server shut its side */
    int closed;                    /* waiting to be freed (reactor.c) */
    int write_timed_out;           /* a request thread gave up on the reader */
    int end_held;                  /* END_REQUEST waits for the answer's last byte */

    struct fcgi_in in;
    struct outq out;
    char *pending;                 /* bytes read past the last event */
    size_t pending_len, pending_off;

    /* The request in hand. */
    int has_exchange;              /* gateway_begin ran: gateway_end is owed */
    struct cg_exchange x;
    struct arena *arena;
    char **params;                 /* decoded, owned */
    struct cg_request_io io;
    enum cg_refusal refusal;
    enum conn_step step;
    enum cg_body body_how;
    enum conn_outcome outcome;
    size_t body_max, body_hint;
    enum fcgi_in_event body_event;  /* what a request thread met instead of the body */

    struct conn *qnext;            /* run queue or done queue */
    int wants_bell;                /* under the queues' lock: its return must ring the bell */
    int fd_closed;                 /* under the queues' lock: a request thread closed fd */

    enum conn_park park;           /* under the queues' lock: see the top */
    int64_t idle_since_ms;         /* under the queues' lock: parked since */
    int in_idle_set;               /* registered in the parked set (its parker's) */
    int direct;                    /* taken from the parked set: not in R.running */
    enum fcgi_in_event head_event; /* OUTCOME_HEAD: where the decoder stopped */
};

/* The monotonic clock, in microseconds: a request's first byte, its end. */
static inline int64_t conn_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Keeps what a read gave past the event that stopped the decoder (p may
 * point into the pending bytes themselves): 0, or -1 when memory failed.
 * For whoever owns c (reactor.c). */
int conn_keep_pending(struct conn *c, const char *p, size_t n);

/* STDIN is complete, or over the limit the gateway set: how the body
 * goes to gateway_resume. For whoever owns c. */
static inline void conn_body_arrived(struct conn *c)
{
    if (c->in.body_over) {
        c->body_how = CG_BODY_TOO_BIG;
        c->in.keep_conn = 0;           /* the rest of the body stays unread */
    } else {
        c->body_how = CG_BODY_OK;
    }
}

/* For whoever owns c, between the I/O thread's states and a request
 * thread running a parked connection (reactor.c): the params decoded (-1:
 * out of memory); the request in hand finished and c ready for the next. */
int conn_take_params(struct conn *c);
void conn_next_request(struct conn *c);

/* The request threads' side (worker.c). */
void conn_run_push(struct conn *c);          /* I/O thread: hand c to a request thread */
struct conn *conn_done_pop(void);            /* I/O thread: a connection handed back */
void conn_done_heard(void);                  /* I/O thread: the bell rang; reset it */
/* I/O thread, before it sleeps: -1 when connections came back meanwhile
 * (take them first); else the request threads running parked
 * connections' requests (conn_direct_busy), and from now on whether every
 * return must ring the bell (the I/O thread has to act on one at once),
 * and the requests it has handed out and whether it takes new
 * connections: a request thread going idle rings when every thread was
 * busy and it does not. */
int conn_done_arm(int ring_always, int running, int listening);
/* The request threads running parked connections' requests: busy, though
 * the I/O thread handed them nothing. */
int conn_direct_busy(void);
/* The lock of the run and done queues, for what the I/O thread does to a
 * connection a request thread has: wants_bell, fd_closed. */
void conn_queues_lock(void);
void conn_queues_unlock(void);
/* Whoever owns c, out of the I/O thread's epoll set: parks it (PARK_IDLE).
 * 0, or -1 when it could not be armed or the process is stopping: it stays
 * the caller's. */
int conn_park(struct conn *c);
/* I/O thread, stopping: nothing is parked from now on. */
void conn_parking_stop(void);

/* The I/O thread (reactor.c): serves listen_fd until stopped. Runs in the
 * calling thread; returns when every connection is finished. */
struct cg_config;
struct peer_filter;
int reactor_run(int listen_fd, int wake_fd, int done_fd, int threads,
                const struct cg_config *cfg, const struct peer_filter *peers);

/* An arena for a request, from the process's pool (NULL: out of memory). */
struct arena *conn_arena_get(void);
void conn_arena_put(struct arena *a);

#endif
