/* The I/O thread of a worker process: every read and write on the FastCGI
 * socket happens here or, while a request thread holds a connection, as a
 * non-blocking write from that thread. No thread ever waits on a web
 * server: a connection that sends nothing, sends a byte a second or never
 * reads costs a slot and a deadline, not a thread.
 *
 * A request goes:  HEAD (params) -> RUN (gateway_begin, and the body when
 * it is there already) -> BODY (when the call wants a body that is still
 * coming) -> RUN (gateway_resume) -> WRITE -> IDLE (kept) or LINGER (not
 * kept) -> closed. A kept connection whose answer the request thread wrote
 * whole comes back to IDLE without waking this thread (worker.c
 * done_push): it is taken before the next events are handled, and within
 * CG_DONE_CHECK_MS when none come. It is then parked (conn.h): its next
 * requests wake a request thread directly, and come back here only when
 * that thread cannot finish them alone. Each state but RUN has a deadline
 * that counts from when the connection entered it; since every connection
 * in a state has the same timeout, a list per state kept in order of entry
 * is also in order of deadline, and the next deadline is at a list's head.
 * IDLE is the exception: a request thread re-parks a connection without
 * telling this thread, so that list is scanned (idle_due). */
#include <errno.h>
#include <fastcgi.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/cg_limits.h"
#include "conn.h"
#include "listen.h"
#include "base/log.h"
#include "ops/metrics.h"

static struct {
    int ep;
    int listen_fd;
    int listening;                   /* listen_fd is in ep */
    int full;                        /* every slot taken, none can be freed */
    int stopping;
    int open;                        /* connections held */
    int running;                     /* of them, with a request thread (CONN_RUN) */
    int direct;                      /* request threads on parked ones, when last armed */
    int threads;                     /* request threads */
    struct conn *graveyard;          /* closed during this batch of events */
    struct { struct conn *head, *tail; } list[CONN_STATES];
    int64_t timeout_ms[CONN_STATES];
    int64_t idle_check_ms;           /* no parked connection is due before */
    const struct cg_config *cfg;
    const struct peer_filter *peers;
    char scratch[64 * 1024];
} R;

/* epoll tags that are not connections. */
static char tag_listen, tag_wake, tag_done;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


/* ---- the state lists ------------------------------------------------------ */

static void unlink_conn(struct conn *c)
{
    if (c->state == CONN_RUN)
        return;
    if (c->prev)
        c->prev->next = c->next;
    else
        R.list[c->state].head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        R.list[c->state].tail = c->prev;
    c->prev = c->next = NULL;
}

static void set_events(struct conn *c, uint32_t events)
{
    if (c->watched && c->events == events)
        return;
    struct epoll_event ev = {.events = events, .data.ptr = c};
    if (epoll_ctl(R.ep, c->watched ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd, &ev) == 0) {
        c->watched = 1;
        c->events = events;
    }
}

static int update_listening(void);

/* Moves c to state s, whose deadline starts now. */
static void enter(struct conn *c, enum conn_state s)
{
    unlink_conn(c);
    c->state = s;
    c->since_ms = now_ms();
    if (s == CONN_RUN)
        return;                     /* still watched: see on_run_event */
    if (R.full && (s == CONN_HEAD || s == CONN_IDLE)) {
        R.full = 0;                 /* it can make room for a new one */
        update_listening();
    }
    c->prev = R.list[s].tail;
    c->next = NULL;
    if (c->prev)
        c->prev->next = c;
    else
        R.list[s].head = c;
    R.list[s].tail = c;
}

/* ---- ends ---------------------------------------------------------------- */

/* New connections are taken only while a request thread is free: with
 * every thread busy, the other processes of a pool take them (a burst is
 * spread over the pool, as when each thread accepted its own). Requests on
 * connections already held go on regardless. */
static int update_listening(void)
{
    int want = !R.stopping && !R.full && R.listen_fd >= 0 && R.running + R.direct < R.threads;
    if (want == R.listening)
        return 0;
    if (want) {
        /* EPOLLEXCLUSIVE: a new connection wakes one process of the pool. */
        struct epoll_event ev = {.events = EPOLLIN | EPOLLEXCLUSIVE, .data.ptr = &tag_listen};
        if (epoll_ctl(R.ep, EPOLL_CTL_ADD, R.listen_fd, &ev) != 0)
            return 0;
    } else {
        epoll_ctl(R.ep, EPOLL_CTL_DEL, R.listen_fd, NULL);
    }
    R.listening = want;
    return 1;
}

static void release_request(struct conn *c)
{
    if (c->arena)
        conn_arena_put(c->arena);
    c->arena = NULL;
    free(c->params);
    c->params = NULL;
    c->has_exchange = 0;
    c->end_held = 0;
    c->refusal = CG_REFUSE_NONE;
}

/* The access line and the metrics of the request in hand, if any. */
static void end_request(struct conn *c, enum cg_delivery how)
{
    if (c->has_exchange)
        gateway_end(&c->x, conn_now_us() - c->start_us, how);
    release_request(c);
}

/* Freed once the batch of events that closed it is handled: a later event
 * of the same batch may still name it. */
static void close_conn(struct conn *c)
{
    if (c->closed)
        return;
    end_request(c, CG_DELIVERY_GONE);
    unlink_conn(c);
    c->state = CONN_RUN;        /* in no list */
    if (!c->fd_closed)
        close(c->fd);           /* leaves the epoll set with it */
    c->closed = 1;
    fcgi_in_free(&c->in);
    outq_free(&c->out);
    free(c->pending);
    c->pending = NULL;
    c->pending_len = c->pending_off = 0;
    c->qnext = R.graveyard;
    R.graveyard = c;
    R.open--;
    if (R.full) {
        R.full = 0;
        update_listening();
    }
}

static void bury(void)
{
    while (R.graveyard) {
        struct conn *c = R.graveyard;
        R.graveyard = c->qnext;
        free(c);
    }
}

static void count_timeout(int phase, const char *what, struct conn *c)
{
    metrics_peer_timeout(phase);
    log_msg(CG_LOG_DEBUG, "FastCGI connection %d: %s", c->fd, what);
}

/* ---- input ---------------------------------------------------------------- */

static void start_run(struct conn *c, enum conn_step step)
{
    c->step = step;
    enter(c, CONN_RUN);
    if (++R.running == R.threads)
        update_listening();
    conn_run_push(c);
}

int conn_keep_pending(struct conn *c, const char *p, size_t n)
{
    if (n == 0)
        return 0;
    char *b = malloc(n);
    if (!b)
        return -1;
    memcpy(b, p, n);
    free(c->pending);
    c->pending = b;
    c->pending_len = n;
    c->pending_off = 0;
    return 0;
}

int conn_take_params(struct conn *c)
{
    const char *why = NULL;
    c->params = fcgi_params_decode(c->in.params, c->in.params_len, c->in.params_over, &why);
    if (!c->params)
        return -1;
    if (why) {
        /* The rest of this request's records are not read: the connection
         * cannot carry another one. */
        c->refusal = !strcmp(why, "too big") ? CG_REFUSE_PARAMS_TOO_BIG : CG_REFUSE_PARAMS_BAD;
        c->in.keep_conn = 0;
    }
    c->in.stage = FCGI_IN_HELD;
    return 0;
}

void conn_next_request(struct conn *c)
{
    end_request(c, CG_DELIVERED);
    fcgi_in_next(&c->in);
    outq_free(&c->out);
}

static void params_done(struct conn *c)
{
    if (conn_take_params(c)) {
        close_conn(c);
        return;
    }
    start_run(c, STEP_BEGIN);
}

static void after_answer(struct conn *c);
static int flush_replies(struct conn *c);
static int on_event(struct conn *c, enum fcgi_in_event ev);

/* The web server sent what the decoder cannot follow. */
static void close_broken(struct conn *c)
{
    log_msg(CG_LOG_DEBUG, "FastCGI connection %d: %s; closing it", c->fd,
            c->in.error ? c->in.error : "protocol error");
    close_conn(c);
}

static void on_abort(struct conn *c)
{
    /* The web server gave up on the request (its client went away). */
    end_request(c, CG_DELIVERY_GONE);
    outq_end_request(&c->out, -1, c->in.id_active, 0, FCGI_REQUEST_COMPLETE);
    c->in.stage = FCGI_IN_ENDED;
    after_answer(c);
}

/* Feeds input to the decoder while the connection is in a reading state.
 * Returns 0 while c lives and stays with the I/O thread, 1 when it was
 * handed to a request thread or closed. */
static int feed(struct conn *c, const char *p, size_t n)
{
    while (n > 0) {
        if (c->state == CONN_IDLE) {
            c->start_us = conn_now_us();        /* the next request's first byte */
            enter(c, CONN_HEAD);
        }
        if (c->state == CONN_LINGER ||
            (c->state == CONN_WRITE && c->in.stage != FCGI_IN_DROP)) {
            if (c->state == CONN_LINGER && (c->in.dropped += n) > CG_LINGER_MAX) {
                close_conn(c);
                return 1;
            }
            return 0;                      /* dropped */
        }
        enum fcgi_in_event ev;
        size_t used = fcgi_in_feed(&c->in, p, n, &c->out, &ev);
        p += used;
        n -= used;
        if (ev != FCGI_EV_MORE && ev != FCGI_EV_ERROR && conn_keep_pending(c, p, n)) {
            close_conn(c);
            return 1;
        }
        if (on_event(c, ev))
            return 1;
        if (c->state == CONN_WRITE && c->in.dropped > CG_LINGER_MAX) {
            c->in.keep_conn = 0;           /* too much to drop: not worth keeping */
            c->in.stage = FCGI_IN_ENDED;
        }
    }
    return 0;
}

/* What the decoder stopped at, in a reading state: 1 when c was handed to
 * a request thread or closed. */
static int on_event(struct conn *c, enum fcgi_in_event ev)
{
    switch (ev) {
    case FCGI_EV_MORE:
        return flush_replies(c);
    case FCGI_EV_PARAMS:
        params_done(c);
        return 1;
    case FCGI_EV_BODY:
        if (c->state == CONN_BODY) {
            conn_body_arrived(c);
            start_run(c, STEP_RESUME);
            return 1;
        }
        /* The body an early answer left unread has all been dropped. */
        after_answer(c);
        return 1;
    case FCGI_EV_ABORT:
        if (c->state == CONN_WRITE) {
            c->in.stage = FCGI_IN_ENDED;   /* answered already: nothing to drop */
            after_answer(c);
        } else {
            on_abort(c);
        }
        return 1;
    case FCGI_EV_ERROR:
        close_broken(c);
        return 1;
    }
    return 1;
}

/* Bytes a previous read gave beyond an event, used before reading more. */
static int feed_pending(struct conn *c)
{
    while (!c->closed && c->pending && c->pending_off < c->pending_len) {
        char *p = c->pending + c->pending_off;
        size_t n = c->pending_len - c->pending_off;
        c->pending_off = c->pending_len;
        int handed = feed(c, p, n);
        if (c->pending_off == c->pending_len) {
            free(c->pending);
            c->pending = NULL;
            c->pending_len = c->pending_off = 0;
        }
        if (handed)
            return 1;
    }
    return c->closed;
}

static void on_readable(struct conn *c)
{
    if (feed_pending(c))
        return;
    for (int rounds = 0; rounds < 16; rounds++) {
        ssize_t got = recv(c->fd, R.scratch, sizeof R.scratch, MSG_DONTWAIT);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (got <= 0) {
            c->read_eof = 1;
            if (c->state == CONN_WRITE && c->out.queued > 0) {
                /* Still owed an answer: finish writing, read no more. */
                c->in.keep_conn = 0;
                set_events(c, EPOLLOUT);
                return;
            }
            close_conn(c);
            return;
        }
        if (feed(c, R.scratch, (size_t)got))
            return;
    }
}

/* ---- output ---------------------------------------------------------------- */

static void finish_write(struct conn *c);

/* The answer's bytes are all written: the request is counted, then its
 * END_REQUEST goes out (worker.c end_answer). 1 when that is written too,
 * 0 when it waits for the socket, -1 when the socket failed. */
static int release_end(struct conn *c)
{
    if (!c->end_held)
        return 1;
    c->end_held = 0;
    end_request(c, CG_DELIVERED);
    if (outq_end_request(&c->out, c->fd, c->in.id_active, 0, FCGI_REQUEST_COMPLETE) != 0)
        return -1;
    return c->out.queued == 0;
}

static void on_writable(struct conn *c)
{
    int r = outq_flush(&c->out, c->fd);
    if (r > 0 && c->state == CONN_WRITE)
        r = release_end(c);
    if (r < 0) {
        close_conn(c);
        return;
    }
    if (r > 0 && c->state == CONN_WRITE)
        finish_write(c);
    else if (r > 0)
        set_events(c, c->events & ~(uint32_t)EPOLLOUT);   /* control replies are out */
}

/* Replies the decoder queued on its own (GET_VALUES, CANT_MPX_CONN) while
 * no answer is being written. */
static int flush_replies(struct conn *c)
{
    if (c->out.queued == 0 || c->state == CONN_WRITE || c->state == CONN_LINGER)
        return 0;
    int r = outq_flush(&c->out, c->fd);
    if (r < 0 || c->out.queued > CG_MAX_QUEUED_REPLIES) {
        /* A peer that keeps asking (GET_VALUES, a second BEGIN_REQUEST)
         * and never reads the replies is not a web server. */
        close_conn(c);
        return 1;
    }
    set_events(c, (c->events & ~(uint32_t)EPOLLOUT) | (r == 0 ? EPOLLOUT : 0));
    return 0;
}

/* What is left of a request once its answer is queued: write it, drop any
 * body it left unread (kept connections), and move on. */
static void after_answer(struct conn *c)
{
    int dropping = c->in.keep_conn && c->in.stage != FCGI_IN_ENDED;
    if (dropping && c->in.stage != FCGI_IN_DROP)
        fcgi_in_drop_body(&c->in);
    if (c->state != CONN_WRITE)
        enter(c, CONN_WRITE);
    int r = outq_flush(&c->out, c->fd);
    if (r > 0)
        r = release_end(c);
    if (r < 0) {
        close_conn(c);
        return;
    }
    if (r > 0 && !dropping) {
        finish_write(c);
        return;
    }
    set_events(c, (r == 0 ? EPOLLOUT : 0) | (dropping && !c->read_eof ? EPOLLIN : 0));
    if (dropping)
        feed_pending(c);
}

/* The answer is all written. */
static void finish_write(struct conn *c)
{
    if (c->in.keep_conn && c->in.stage != FCGI_IN_ENDED) {
        set_events(c, EPOLLIN);            /* still dropping the unread body */
        return;
    }
    if (c->in.keep_conn && !R.stopping && !c->read_eof) {
        conn_next_request(c);
        if (c->pending) {
            /* The next request came with this one's last bytes. */
            c->start_us = conn_now_us();
            enter(c, CONN_HEAD);
            set_events(c, EPOLLIN);
            feed_pending(c);
            return;
        }
        enter(c, CONN_IDLE);
        if (c->watched && epoll_ctl(R.ep, EPOLL_CTL_DEL, c->fd, NULL) == 0) {
            c->watched = 0;
            c->events = 0;
        }
        if (conn_park(c))
            close_conn(c);
        return;
    }
    end_request(c, CG_DELIVERED);
    /* Not kept. With its input all read, the connection just closes (no
     * reset can follow). Else our side is shut at once, and what the web
     * server still sends is read and dropped until it closes (bounded:
     * CG_LINGER_*). */
    if (c->read_eof || (c->in.stage == FCGI_IN_ENDED && !c->pending)) {
        close_conn(c);
        return;
    }
    shutdown(c->fd, SHUT_WR);
    c->in.dropped = 0;
    enter(c, CONN_LINGER);
    set_events(c, EPOLLIN);
    free(c->pending);
    c->pending = NULL;
    c->pending_len = c->pending_off = 0;
}

/* An event on a connection a request thread has. It stays in the epoll set
 * while a request runs, so the usual request (params and body in one read,
 * an answer the socket takes at once) costs no epoll_ctl at all; the web
 * server sends nothing more before the answer. When it does (a body still
 * arriving, an abort, a reset), the connection leaves the set until it
 * comes back (set_events adds it again), so the I/O thread does not wake
 * over and over for bytes only the request's end will read. */
static void on_run_event(struct conn *c)
{
    conn_queues_lock();
    if (!c->fd_closed && c->watched && epoll_ctl(R.ep, EPOLL_CTL_DEL, c->fd, NULL) == 0) {
        c->watched = 0;
        c->events = 0;
    }
    c->wants_bell = 1;              /* no event of its own will say it is back */
    conn_queues_unlock();
}

/* A request thread handed c back. */
static void on_done(struct conn *c)
{
    /* Without its params a request is not in hand yet: on a stop such a
     * connection closes, as close_quiet closed those in CONN_HEAD (a
     * request thread woken for it before the stop got here after). */
    if (c->out.failed || c->fd_closed || c->outcome == OUTCOME_IDLE ||
        (c->outcome == OUTCOME_HEAD && R.stopping)) {
        close_conn(c);
        return;
    }
    if (c->outcome == OUTCOME_HEAD) {
        /* A parked connection's request needs more than its first read:
         * go on as if this thread had read it. */
        enter(c, CONN_HEAD);
        set_events(c, EPOLLIN);
        if (!on_event(c, c->head_event) && !feed_pending(c))
            on_readable(c);
        return;
    }
    if (c->outcome == OUTCOME_WANTS_BODY) {
        enter(c, CONN_BODY);
        set_events(c, EPOLLIN);
        if (c->body_event == FCGI_EV_ABORT) {
            on_abort(c);
            return;
        }
        if (c->body_event == FCGI_EV_ERROR) {
            close_broken(c);
            return;
        }
        /* Replies the decoder queued meanwhile (GET_VALUES) go out, or
         * the connection closes, as anywhere else. */
        if (flush_replies(c))
            return;
        if (!feed_pending(c))
            on_readable(c);
        return;
    }
    after_answer(c);
}

/* Every connection the request threads have handed back. */
static void take_done(void)
{
    struct conn *c;
    while ((c = conn_done_pop())) {
        if (!c->direct && R.running-- == R.threads)
            update_listening();
        c->direct = 0;
        on_done(c);
    }
}

/* ---- connections ------------------------------------------------------------ */

/* Under the queues' lock: asks for a parked connection nobody is running
 * back, to close it. Shutting the socket wakes the request thread that
 * takes it (its arming is pending, or taken and about to find it doomed),
 * which hands it back; it is not closed here, where that thread may still
 * hold it. 1 when asked. */
static int ask_back(struct conn *c)
{
    if (c->park != PARK_IDLE)
        return 0;
    c->park = PARK_DOOMED;
    shutdown(c->fd, SHUT_RDWR);
    return 1;
}

/* Makes room for a new connection by closing the one that has waited
 * longest without a request in hand. 0 when there is room. */
static int make_room(void)
{
    if (R.open < CG_MAX_CONNS)
        return 0;
    int asked = 0;
    conn_queues_lock();
    for (struct conn *c = R.list[CONN_IDLE].head; c && !asked; c = c->next)
        asked = ask_back(c);
    conn_queues_unlock();
    if (asked)
        return -1;                  /* room once it is back and closed */
    if (!R.list[CONN_HEAD].head)
        return -1;
    close_conn(R.list[CONN_HEAD].head);
    return 0;
}

static void accept_new(void)
{
    /* No more at once than there are free threads: the rest is left to the
     * other processes of a pool, or to the next turn. */
    R.direct = conn_direct_busy();  /* they do not ring when they start */
    int take = R.threads - R.running - R.direct;
    if (R.listen_fd < 0)
        return;                     /* stopped in this same batch of events */
    for (int i = 0; i < (take > 1 ? take : 1); i++) {
        if (make_room()) {
            R.full = 1;             /* until a connection closes or can be evicted */
            update_listening();
            return;
        }
        int fd = accept4(R.listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                log_msg(CG_LOG_WARN, "accepting a FastCGI connection failed: %s", strerror(errno));
            return;
        }
        if (!peer_filter_allows(R.peers, fd)) {
            log_msg(CG_LOG_WARN, "refused a FastCGI connection from an address not in "
                              "FCGI_WEB_SERVER_ADDRS");
            close(fd);
            continue;
        }
        struct conn *c = calloc(1, sizeof *c);
        if (!c) {
            close(fd);
            return;
        }
        c->fd = fd;
        fcgi_in_init(&c->in);
        outq_init(&c->out);
        c->start_us = conn_now_us();
        c->state = CONN_RUN;               /* not in a list yet */
        enter(c, CONN_HEAD);
        set_events(c, EPOLLIN);
        R.open++;
    }
    update_listening();             /* busy with parked connections' requests */
}

/* ---- deadlines ----------------------------------------------------------------- */

static void expire(struct conn *c)
{
    switch (c->state) {
    case CONN_HEAD:
        count_timeout(METRICS_TIMEOUT_PARAMS, "no complete request in PARAMS_TIMEOUT", c);
        close_conn(c);
        return;
    case CONN_BODY:
        count_timeout(METRICS_TIMEOUT_BODY, "no complete body in BODY_TIMEOUT", c);
        c->body_how = CG_BODY_TIMEOUT;
        c->in.keep_conn = 0;
        start_run(c, STEP_RESUME);
        return;
    case CONN_WRITE:
        count_timeout(METRICS_TIMEOUT_WRITE, "answer not taken in WRITE_TIMEOUT", c);
        end_request(c, CG_DELIVERY_TIMEOUT);
        close_conn(c);
        return;
    case CONN_LINGER:
        close_conn(c);
        return;
    case CONN_IDLE:                 /* idle_due */
    case CONN_RUN:
    case CONN_STATES:
        return;
    }
}

/* Handles every deadline that has passed; returns the ms to the next one
 * (-1: none). */
/* Parked connections past IDLE_TIMEOUT are asked back. One re-parked by
 * a request thread since the last scan is due IDLE_TIMEOUT after that
 * scan at the earliest, so the next scan is due then at the latest. */
static void idle_due(int64_t now)
{
    if (now < R.idle_check_ms)
        return;
    R.idle_check_ms = now + R.timeout_ms[CONN_IDLE];
    conn_queues_lock();
    for (struct conn *c = R.list[CONN_IDLE].head; c; c = c->next) {
        int64_t due = c->idle_since_ms + R.timeout_ms[CONN_IDLE];
        if (c->park != PARK_IDLE)
            continue;
        if (due <= now)
            ask_back(c);
        else if (due < R.idle_check_ms)
            R.idle_check_ms = due;
    }
    conn_queues_unlock();
}

static int expire_due(void)
{
    int64_t now = now_ms(), next = -1;
    if (R.list[CONN_IDLE].head) {
        idle_due(now);
        next = R.idle_check_ms - now;
    }
    for (int s = 0; s < CONN_RUN; s++) {
        struct conn *c;
        if (s == CONN_IDLE)
            continue;
        while ((c = R.list[s].head) && c->since_ms + R.timeout_ms[s] <= now)
            expire(c);
        if (c) {
            int64_t wait = c->since_ms + R.timeout_ms[s] - now;
            if (next < 0 || wait < next)
                next = wait;
        }
    }
    return next < 0 ? -1 : next > 60000 ? 60000 : (int)next + 1;
}

/* On a stop, connections with no request in hand close now, or as soon
 * as a request thread hands them back (parked ones). */
static void close_quiet(void)
{
    conn_parking_stop();
    while (R.list[CONN_HEAD].head)
        close_conn(R.list[CONN_HEAD].head);
    conn_queues_lock();
    for (struct conn *c = R.list[CONN_IDLE].head; c; c = c->next)
        ask_back(c);
    conn_queues_unlock();
}

int reactor_run(int listen_fd, int wake_fd, int done_fd, int threads,
                const struct cg_config *cfg, const struct peer_filter *peers)
{
    R.listen_fd = listen_fd;
    R.threads = threads;
    R.cfg = cfg;
    R.peers = peers;
    R.timeout_ms[CONN_HEAD] = cfg->params_timeout_ms;
    R.timeout_ms[CONN_IDLE] = cfg->idle_timeout_ms;
    R.timeout_ms[CONN_BODY] = cfg->body_timeout_ms;
    R.timeout_ms[CONN_WRITE] = cfg->write_timeout_ms;
    R.timeout_ms[CONN_LINGER] = CG_LINGER_MS;
    if ((R.ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
        return -1;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &tag_wake};
    if (epoll_ctl(R.ep, EPOLL_CTL_ADD, wake_fd, &ev) != 0)
        return -1;
    ev.data.ptr = &tag_done;
    if (epoll_ctl(R.ep, EPOLL_CTL_ADD, done_fd, &ev) != 0)
        return -1;
    update_listening();

    struct epoll_event evs[64];
    for (;;) {
        take_done();
        int wait = expire_due();
        if (R.stopping && R.open == 0)
            break;
        /* A connection back without the bell would otherwise wait for the
         * next event to be taken: a stop must not wait, a full table needs
         * it as the one to evict, and new connections are not accepted
         * while every thread seems busy (which matters once one is idle).
         * Threads running parked connections' requests count as busy too
         * (accept_new counts them afresh): the number comes with the
         * arming, so that one going idle after knows what this thread saw,
         * and rings if listening stopped for want of a free thread. */
        int direct = conn_done_arm(R.stopping || R.full, R.running, R.listening);
        if (direct < 0)
            continue;
        R.direct = direct;
        if (update_listening())
            continue;                      /* armed with what no longer holds */
        if (R.running > 0 && (wait < 0 || wait > CG_DONE_CHECK_MS))
            wait = CG_DONE_CHECK_MS;       /* its IDLE_TIMEOUT starts when it is taken */
        int n = epoll_wait(R.ep, evs, 64, wait);
        if (n < 0 && errno != EINTR) {
            log_msg(CG_LOG_ERROR, "waiting for FastCGI input failed: %s", strerror(errno));
            break;
        }
        /* Before the events: the next request on a connection that came
         * back quietly finds it out of CONN_RUN. */
        take_done();
        for (int i = 0; i < n; i++) {
            void *tag = evs[i].data.ptr;
            if (tag == &tag_listen) {
                accept_new();
            } else if (tag == &tag_wake) {
                /* The pipe stays readable (nothing drains it): watch it no more. */
                epoll_ctl(R.ep, EPOLL_CTL_DEL, wake_fd, NULL);
                R.stopping = 1;
                update_listening();
                /* Our copy of the listen socket closes too: while any
                 * process holds it, the kernel queues new connections that
                 * nobody will accept (a pool's master closes its own). */
                if (R.listen_fd >= 0)
                    close(R.listen_fd);
                R.listen_fd = -1;
                close_quiet();
            } else if (tag == &tag_done) {
                conn_done_heard();
                take_done();
            } else {
                struct conn *c = tag;
                if (c->closed || c->state == CONN_IDLE)
                    continue;               /* parked meanwhile: a request thread's to read */
                if (c->state == CONN_RUN) {
                    on_run_event(c);
                    continue;
                }
                uint32_t e = evs[i].events;
                if (e & EPOLLOUT)
                    on_writable(c);
                if (!c->closed && c->state != CONN_RUN && (c->events & EPOLLIN) &&
                    (e & (EPOLLIN | EPOLLHUP | EPOLLERR)))
                    on_readable(c);
                else if (!c->closed && !(c->events & (EPOLLIN | EPOLLOUT)) && c->state != CONN_RUN &&
                         (e & (EPOLLHUP | EPOLLERR)))
                    close_conn(c);
            }
        }
        bury();
    }
    close(R.ep);
    return 0;
}
