#include "worker.h"

#include <errno.h>
#include <fastcgi.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/arena.h"
#include "conn.h"
#include "upstream/cuebot.h"
#include "upstream/read_cache.h"
#include "upstream/shared_reads.h"
#include "http/gateway.h"
#include "listen.h"
#include "base/log.h"
#include "ops/metrics.h"
#include "pb/schema.h"

/* A worker process: one I/O thread (reactor.c) owns every FastCGI
 * connection, and WORKER_THREADS request threads run the gateway on
 * requests whose params the I/O thread has read (and their body, when it
 * was not there yet for the request thread to take), or, on a kept
 * connection, that woke them directly (conn.h, parked). All share
 * the process's one Cuebot channel, so while one request thread waits for
 * Cuebot another works. None waits on the web server, but for one case: an
 * answer the web server has left CG_MAX_QUEUED_ANSWER bytes behind on. The
 * thread then waits for it to take some, WRITE_TIMEOUT at most without
 * progress: a thread for a while is the price of memory bounded whatever
 * the reader's pace. */

static int wake_pipe[2] = {-1, -1};
static int64_t hard_stop_ms;

/* SIGTERM/SIGUSR1: finish the requests in hand, take no new one. The pipe
 * wakes the I/O thread; the alarm bounds how long the requests in flight
 * may take. */
static void on_stop(int sig)
{
    (void)sig;
    int saved = errno;
    static atomic_int once;
    if (!atomic_exchange(&once, 1)) {
        unsigned secs = (unsigned)((hard_stop_ms + 999) / 1000);
        alarm(secs ? secs : 1);
    }
    ssize_t w = write(wake_pipe[1], "x", 1);
    (void)w;
    errno = saved;
}

/* SHUTDOWN_TIMEOUT passed with a request still running: give up on it. */
static void on_alarm(int sig)
{
    (void)sig;
    _exit(0);
}

static int install_signals(void)
{
    if (pipe2(wake_pipe, O_CLOEXEC | O_NONBLOCK))
        return -1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_stop;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    /* A web server gone mid-answer is an error return, not a death. */
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    return 0;
}

/* ---- hand-offs between the I/O thread and the request threads ---------- */

/* Idle request threads all wait in one epoll set (idle_ep): on the parked
 * connections (conn.h), and on run_fd, rung for the run queue. run_fd is
 * edge-triggered and never read: each ring is one event for one thread,
 * which rings again when it leaves more queued. */
static char tag_run;

static struct {
    pthread_mutex_t lock;
    int idle_ep;
    int run_fd;                           /* eventfd: the run queue's bell */
    /* Request threads in (or about to enter) epoll_wait: counted in under
     * the lock, where they found the run queue empty, so a push that sees
     * none needs no bell (a busy thread looks at the queue before it
     * waits); out when they wake, so a stale count only rings once more. */
    atomic_int waiting;
    int stopping;                         /* park nothing more */
    struct conn *run_head, *run_tail;     /* waiting for a request thread */
    struct conn *done;                    /* handed back, for the I/O thread */
    int done_fd;                          /* eventfd: the I/O thread's bell */
    int bell_rung;                        /* and not yet heard */
    int ring_always;                      /* the I/O thread wants every return rung */
    /* What the I/O thread saw when it last armed (conn_done_arm): the
     * requests it had handed out, whether it was taking new connections.
     * With direct_busy, the request threads running parked connections'
     * requests, they tell when every thread is busy (saturated), and so
     * when a thread going idle must ring for listening to resume. */
    int io_running, io_listening;
    int direct_busy;
    int threads;
    int quit;                             /* request threads: leave */
    struct arena *arenas[CG_MAX_WORKER_THREADS * 2];
    int free_arenas, keep_arenas;
    size_t arena_limit;
    int64_t write_timeout_ms;
} Q = {.lock = PTHREAD_MUTEX_INITIALIZER, .idle_ep = -1, .run_fd = -1, .done_fd = -1};

/* The I/O thread's bell; the caller set bell_rung under the lock. */
static void ring_io(void)
{
    uint64_t one = 1;
    ssize_t w = write(Q.done_fd, &one, sizeof one);
    (void)w;
}

static void ring_run(void)
{
    uint64_t one = 1;
    ssize_t w = write(Q.run_fd, &one, sizeof one);
    (void)w;
}

int conn_direct_busy(void)
{
    pthread_mutex_lock(&Q.lock);
    int n = Q.direct_busy;
    pthread_mutex_unlock(&Q.lock);
    return n;
}

/* Under the lock: every request thread busy, as the I/O thread counts. */
static int saturated(void)
{
    return Q.io_running + Q.direct_busy >= Q.threads;
}

/* Under the lock: whether a thread that is about to go idle must ring,
 * so that the I/O thread takes new connections again (it stopped when
 * every thread was busy). Counts the thread out of direct_busy when it
 * ran a parked connection (c->direct). */
static int leaving_saturation(struct conn *c)
{
    int was = saturated();
    if (c->direct)
        Q.direct_busy--;
    return was && !Q.io_listening && !Q.run_head;
}

void conn_run_push(struct conn *c)
{
    c->qnext = NULL;
    pthread_mutex_lock(&Q.lock);
    if (Q.run_tail)
        Q.run_tail->qnext = c;
    else
        Q.run_head = c;
    Q.run_tail = c;
    int ring = atomic_load(&Q.waiting) > 0;
    pthread_mutex_unlock(&Q.lock);
    if (ring)
        ring_run();
}

int conn_park(struct conn *c)
{
    struct epoll_event ev = {.events = EPOLLIN | EPOLLONESHOT, .data.ptr = c};
    pthread_mutex_lock(&Q.lock);
    /* Armed under the lock: a thread woken at once waits for it, then
     * finds it PARK_IDLE; a stop sets stopping under it too, then asks
     * back every connection parked by then. */
    int ok = !Q.stopping &&
             epoll_ctl(Q.idle_ep, c->in_idle_set ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd, &ev) == 0;
    int ring = 0;
    if (ok) {
        c->in_idle_set = 1;
        c->park = PARK_IDLE;
        c->idle_since_ms = conn_now_us() / 1000;
        ring = leaving_saturation(c) && !Q.bell_rung;
        c->direct = 0;
        if (ring)
            Q.bell_rung = 1;
    }
    pthread_mutex_unlock(&Q.lock);
    if (ring)
        ring_io();
    return ok ? 0 : -1;
}

void conn_parking_stop(void)
{
    pthread_mutex_lock(&Q.lock);
    Q.stopping = 1;
    pthread_mutex_unlock(&Q.lock);
}

struct conn *conn_done_pop(void)
{
    pthread_mutex_lock(&Q.lock);
    struct conn *c = Q.done;
    if (c) {
        Q.done = c->qnext;
        c->wants_bell = 0;                /* only events of its next run count */
    }
    pthread_mutex_unlock(&Q.lock);
    return c;
}

void conn_done_heard(void)
{
    uint64_t k;
    ssize_t r = read(Q.done_fd, &k, sizeof k);
    (void)r;
    pthread_mutex_lock(&Q.lock);
    Q.bell_rung = 0;
    pthread_mutex_unlock(&Q.lock);
}

int conn_done_arm(int ring_always, int running, int listening)
{
    pthread_mutex_lock(&Q.lock);
    int direct = Q.done ? -1 : Q.direct_busy;
    if (!Q.done) {
        Q.ring_always = ring_always;
        Q.io_running = running;
        Q.io_listening = listening;
    }
    pthread_mutex_unlock(&Q.lock);
    return direct;
}

void conn_queues_lock(void)
{
    pthread_mutex_lock(&Q.lock);
}

void conn_queues_unlock(void)
{
    pthread_mutex_unlock(&Q.lock);
}

/* A request is over with nothing left for the I/O thread to do at once:
 * the answer all written, the input all read. A kept connection then
 * waits for its next request; one not kept is closed here (fd_closed), as
 * the I/O thread would close it. Either goes back without the bell; the
 * I/O thread takes it before it handles its next events, and within
 * CG_DONE_CHECK_MS anyway (reactor.c). */
static int quiet_return(const struct conn *c)
{
    return c->outcome == OUTCOME_ANSWERED && c->in.stage == FCGI_IN_ENDED &&
           c->out.queued == 0 && !c->out.failed && !c->end_held &&
           !(c->pending && c->pending_off < c->pending_len);
}

/* Rings the I/O thread's bell unless it is rung already, or the
 * connection can come back quietly while the I/O thread has said it needs
 * no bell for that (conn_done_arm), and nothing happened on the
 * connection meanwhile (wants_bell). A bell costs a write here and a
 * wake-up and a read there. */
static void done_push(struct conn *c)
{
    int quiet = quiet_return(c);
    pthread_mutex_lock(&Q.lock);
    if (quiet && !c->in.keep_conn) {
        /* Under the lock: the I/O thread may be about to take it out of
         * its epoll set (reactor.c on_run_event), and after the close the
         * number may be a new connection's. */
        close(c->fd);
        c->fd_closed = 1;
    }
    c->qnext = Q.done;
    Q.done = c;
    c->park = PARK_OFF;
    int idle = leaving_saturation(c);     /* c->direct stays: take_done reads it */
    int ring = !Q.bell_rung && (!quiet || Q.ring_always || c->wants_bell || idle);
    if (ring)
        Q.bell_rung = 1;
    pthread_mutex_unlock(&Q.lock);
    if (ring)
        ring_io();
}

/* Arenas outlive requests: a few are kept reset (with their first chunk)
 * for the next requests, the rest go back to malloc. */
struct arena *conn_arena_get(void)
{
    pthread_mutex_lock(&Q.lock);
    struct arena *a = Q.free_arenas ? Q.arenas[--Q.free_arenas] : NULL;
    pthread_mutex_unlock(&Q.lock);
    if (!a && (a = malloc(sizeof *a)))
        arena_init(a, Q.arena_limit);
    return a;
}

void conn_arena_put(struct arena *a)
{
    arena_reset(a);
    pthread_mutex_lock(&Q.lock);
    if (Q.free_arenas < Q.keep_arenas) {
        Q.arenas[Q.free_arenas++] = a;
        a = NULL;
    }
    pthread_mutex_unlock(&Q.lock);
    if (a) {
        arena_free(a);
        free(a);
    }
}

static void arenas_free(void)
{
    while (Q.free_arenas > 0) {
        struct arena *a = Q.arenas[--Q.free_arenas];
        arena_free(a);
        free(a);
    }
}

/* ---- the gateway's view of a connection ---------------------------------- */

static const char *conn_param(void *ctx, const char *name)
{
    struct conn *c = ctx;
    return fcgi_params_get(c->params, name);
}

/* The web server has left too much of the answer unread: wait until it has
 * taken half, or until WRITE_TIMEOUT passes without it taking a byte. */
static int wait_for_reader(struct conn *c)
{
    int64_t deadline = conn_now_us() / 1000 + Q.write_timeout_ms;
    while (c->out.queued > CG_MAX_QUEUED_ANSWER / 2) {
        size_t before = c->out.queued;
        int r = outq_flush(&c->out, c->fd);
        if (r != 0)
            return r > 0 ? 0 : -1;
        int64_t now = conn_now_us() / 1000;
        if (c->out.queued < before)
            deadline = now + Q.write_timeout_ms;
        if (now >= deadline) {
            metrics_peer_timeout(METRICS_TIMEOUT_WRITE);
            log_msg(CG_LOG_DEBUG, "FastCGI connection %d: answer not taken in WRITE_TIMEOUT",
                    c->fd);
            c->write_timed_out = 1;
            c->out.failed = 1;
            return -1;
        }
        struct pollfd pfd = {.fd = c->fd, .events = POLLOUT};
        if (poll(&pfd, 1, (int)(deadline - now)) < 0 && errno != EINTR) {
            c->out.failed = 1;
            return -1;
        }
    }
    return 0;
}

/* An answer's first bytes are held back until CORK_BYTES are queued or
 * the answer ends, so a small answer (headers, body, the end of the
 * stream) leaves in one write instead of one per piece: on this kind of
 * machine each system call costs more than copying a few KiB. A larger
 * answer streams as before once it passes the mark. */
#define CORK_BYTES (16u * 1024)

static int out_fd(const struct conn *c, size_t n)
{
    return c->out.queued + n < CORK_BYTES ? -1 : c->fd;
}

/* Answer bytes leave as FCGI_STDOUT records: straight to the socket while
 * it takes them, queued for the I/O thread when it does not. */
static int conn_write(void *ctx, const char *p, size_t n)
{
    struct conn *c = ctx;
    if (outq_records(&c->out, out_fd(c, n), FCGI_STDOUT, c->in.id_active, p, n) != 0)
        return -1;
    return c->out.queued > CG_MAX_QUEUED_ANSWER ? wait_for_reader(c) : 0;
}

static int conn_write_static(void *ctx, const char *p, size_t n)
{
    struct conn *c = ctx;
    return outq_records_static(&c->out, out_fd(c, n), FCGI_STDOUT, c->in.id_active, p, n);
}

static long no_read(void *ctx, char *buf, size_t n)
{
    (void)ctx;
    (void)buf;
    (void)n;
    return -1;
}

/* The end of the stdout stream and of the request, as the protocol wants.
 * The request is counted (access line, metrics) before END_REQUEST lets
 * the client see its answer complete, so a client that looks next finds it
 * there. What is still corked leaves with the end of the stdout stream in
 * one write; when the web server has taken it all, the request is counted
 * here, before END_REQUEST is written: a web server that has the
 * Content-Length it was promised may close the connection without waiting
 * for END_REQUEST (lighttpd does), which is no client gone. Else
 * END_REQUEST is held back (end_held) until the I/O thread has written
 * the rest and counted the request. */
static void end_answer(struct conn *c)
{
    /* Behind corked bytes it joins them; alone (a streamed answer) it is
     * written as it comes. */
    outq_records(&c->out, c->out.queued ? -1 : c->fd, FCGI_STDOUT, c->in.id_active, "", 0);
    if (c->out.queued > 0 && !c->out.failed && outq_flush(&c->out, c->fd) < 0)
        c->out.failed = 1;
    if (c->has_exchange && c->out.queued == 0 && !c->out.failed) {
        gateway_end(&c->x, conn_now_us() - c->start_us, CG_DELIVERED);
        c->has_exchange = 0;
    }
    if (c->has_exchange && c->write_timed_out) {
        gateway_end(&c->x, conn_now_us() - c->start_us, CG_DELIVERY_TIMEOUT);
        c->has_exchange = 0;
    }
    if (c->has_exchange && !c->out.failed) {
        c->end_held = 1;
        return;
    }
    outq_end_request(&c->out, c->fd, c->in.id_active, 0, FCGI_REQUEST_COMPLETE);
}

/* The body the gateway asked for, taken here when it needs no waiting:
 * it usually came in the same read as the params (pending), or is in the
 * socket already. Saves handing the connection to the I/O thread and back.
 * 1: complete (body_how set). 0: the rest is the I/O thread's, which
 * waits for more under BODY_TIMEOUT, or acts on what came instead of the
 * body (body_event: an abort, an error), or finds the end of the stream
 * or a socket error by reading again, or writes the replies the decoder
 * queued (GET_VALUES) under its own cap; the decoder's state and the bytes
 * past its event (pending) are as it leaves them itself. Bounded like the
 * I/O thread's reads: a sender that never pauses is read 16 times. */
static int take_body_here(struct conn *c, char *buf, size_t cap)
{
    c->body_event = FCGI_EV_MORE;
    for (int rounds = 0; rounds < 16; rounds++) {
        const char *p;
        size_t n;
        char *held = NULL;                 /* the pending bytes, freed once used */
        if (c->pending && c->pending_off < c->pending_len) {
            held = c->pending;
            p = c->pending + c->pending_off;
            n = c->pending_len - c->pending_off;
            c->pending = NULL;
            c->pending_len = c->pending_off = 0;
        } else {
            ssize_t got = recv(c->fd, buf, cap, MSG_DONTWAIT);
            if (got <= 0)
                return 0;
            p = buf;
            n = (size_t)got;
        }
        enum fcgi_in_event ev;
        size_t used = fcgi_in_feed(&c->in, p, n, &c->out, &ev);
        int kept = ev == FCGI_EV_MORE || ev == FCGI_EV_ERROR ||
                   !conn_keep_pending(c, p + used, n - used);
        free(held);
        if (ev == FCGI_EV_MORE) {
            if (c->out.queued > 0)
                return 0;                  /* replies to write: the I/O thread's */
            continue;
        }
        c->body_event = kept ? ev : FCGI_EV_ERROR;
        if (c->body_event != FCGI_EV_BODY)
            return 0;
        c->body_event = FCGI_EV_MORE;
        conn_body_arrived(c);
        return 1;
    }
    return 0;
}

static void run_step(struct gateway *g, struct conn *c, char *buf, size_t cap)
{
    c->io = (struct cg_request_io){.param = conn_param, .read = no_read, .write = conn_write,
                                   .write_static = conn_write_static, .ctx = c};
    if (c->step == STEP_BEGIN) {
        c->arena = conn_arena_get();
        if (!c->arena) {
            c->out.failed = 1;             /* nothing can be done: close it */
            return;
        }
        c->has_exchange = 1;
        if (gateway_begin(g, &c->x, c->arena, &c->io, c->refusal, &c->body_max,
                          &c->body_hint)) {
            fcgi_in_want_body(&c->in, c->body_max, c->body_hint);
            if (!take_body_here(c, buf, cap)) {
                c->outcome = OUTCOME_WANTS_BODY;
                return;
            }
            gateway_resume(g, &c->x, &c->io, c->in.body, c->in.body_len, c->body_how);
        }
    } else {
        gateway_resume(g, &c->x, &c->io, c->in.body, c->in.body_len, c->body_how);
    }
    end_answer(c);
    c->outcome = OUTCOME_ANSWERED;
}

/* A parked connection whose next request woke this thread: read it, and
 * run it when its params came whole, as they do from a web server that
 * writes a request at once; else (or at the end) hand it to the I/O
 * thread, unless it can be parked again with nothing left to do. */
static void run_direct(struct gateway *g, struct conn *c, char *buf, size_t cap)
{
    pthread_mutex_lock(&Q.lock);
    int doomed = c->park == PARK_DOOMED;
    c->park = PARK_BUSY;
    c->direct = 1;
    /* Not rung for: the I/O thread reads it when it next accepts. */
    Q.direct_busy++;
    pthread_mutex_unlock(&Q.lock);
    if (doomed) {
        c->outcome = OUTCOME_IDLE;
        done_push(c);
        return;
    }
    c->start_us = conn_now_us();           /* the request's first byte */
    enum fcgi_in_event ev = FCGI_EV_MORE;
    ssize_t got = recv(c->fd, buf, cap, MSG_DONTWAIT);
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && conn_park(c) == 0)
        return;                            /* woken for nothing */
    if (got > 0) {
        /* End of stream, errors and EAGAIN are the I/O thread's to find:
         * it reads again. */
        size_t used = fcgi_in_feed(&c->in, buf, (size_t)got, &c->out, &ev);
        if (ev != FCGI_EV_MORE && ev != FCGI_EV_ERROR &&
            conn_keep_pending(c, buf + used, (size_t)got - used))
            c->out.failed = 1;
    }
    if (ev != FCGI_EV_PARAMS || c->out.failed || conn_take_params(c)) {
        if (ev == FCGI_EV_PARAMS)
            c->out.failed = 1;             /* no memory: close it */
        c->head_event = ev;
        c->outcome = OUTCOME_HEAD;
        done_push(c);
        return;
    }
    c->step = STEP_BEGIN;
    run_step(g, c, buf, cap);
    if (c->in.keep_conn && quiet_return(c)) {
        conn_next_request(c);
        if (conn_park(c) == 0)
            return;
        c->outcome = OUTCOME_IDLE;         /* stopping: the I/O thread closes it */
    }
    done_push(c);
}

/* ---- request threads -------------------------------------------------------- */

/* Under AddressSanitizer every allocation is ASan's, and glibc's own heap
 * is never set up; glibc sets it up in the first malloc_trim or mallopt
 * without a lock, so two threads trimming at once could walk it half-made
 * (a sanitized worker died of it in mtrim). Its knobs would tune an
 * allocator nobody uses anyway. */
#if defined(__SANITIZE_ADDRESS__)
#define GLIBC_MALLOC 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GLIBC_MALLOC 0
#endif
#endif
#ifndef GLIBC_MALLOC
#define GLIBC_MALLOC 1
#endif

/* A thread that has had nothing to do for this long hands free memory back. */
#define IDLE_TRIM_MS 1000

struct thread_ctx {
    pthread_t tid;
    const struct cg_config *cfg;
    const struct upstream *up;
    int failed;
};

static void *serve(void *arg)
{
    struct thread_ctx *t = arg;
    struct cg_status st;
    struct gateway g;
    /* Told apart from the I/O thread and gRPC's own in top -H, perf and
     * /proc (the main thread keeps the process's name). */
    pthread_setname_np(pthread_self(), "cuegw-request");
    cg_status_clear(&st);
    if (gateway_init(&g, t->cfg, t->up, &st)) {
        log_msg(CG_LOG_ERROR, "%s", st.msg);
        t->failed = 1;
        on_stop(0);                        /* the supervisor starts a fresh process */
        return NULL;
    }
    int busy = 0;                          /* served since the last trim */
    char body_buf[16 * 1024];              /* take_body_here's and run_direct's reads */
    for (;;) {
        pthread_mutex_lock(&Q.lock);
        struct conn *c = Q.run_head;
        if (c && !(Q.run_head = c->qnext))
            Q.run_tail = NULL;
        int quit = !c && Q.quit;
        int pass = (Q.run_head || quit) && atomic_load(&Q.waiting) > 0;
        if (!c && !quit)
            atomic_fetch_add(&Q.waiting, 1);
        pthread_mutex_unlock(&Q.lock);
        if (pass)
            ring_run();                    /* the next thread takes the rest, or leaves too */
        if (c) {
            busy = 1;
            run_step(&g, c, body_buf, sizeof body_buf);
            done_push(c);
            continue;
        }
        if (quit)
            break;                         /* nothing left to do */
        struct epoll_event ev;
        int n = epoll_wait(Q.idle_ep, &ev, 1, busy ? IDLE_TRIM_MS : -1);
        atomic_fetch_sub(&Q.waiting, 1);
        if (n == 0) {
            /* Quiet for a while: what malloc keeps for the next burst
             * (tune_malloc) goes back to the system now. */
            if (GLIBC_MALLOC)
                malloc_trim(0);
            busy = 0;
        }
        if (n <= 0 || ev.data.ptr == &tag_run)
            continue;
        busy = 1;
        run_direct(&g, ev.data.ptr, body_buf, sizeof body_buf);
    }
    gateway_free(&g);
    return NULL;
}

/* Before any thread starts. One malloc arena for the whole process, not
 * one per thread: what a large answer freed (gRPC's receive slices are
 * allocated by whichever thread polls) is then reused by the next one
 * instead of sitting in another arena. While requests keep coming, freed
 * memory goes back to the system only past 4 MiB, and blocks up to 1 MiB
 * come from the heap: otherwise those buffers are unmapped after every
 * request and faulted in again page by page for the next, a large share
 * of the CPU of a large answer (tests/bench/README.md, "Large call").
 * A thread idle for IDLE_TRIM_MS trims it all (serve). */
static void tune_malloc(void)
{
    if (!GLIBC_MALLOC)
        return;
    mallopt(M_ARENA_MAX, 1);
    mallopt(M_TRIM_THRESHOLD, 4 << 20);
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
}

int worker_run(int listen_fd, const struct cg_config *cfg)
{
    struct cg_status st;
    cg_status_clear(&st);
    hard_stop_ms = cfg->shutdown_timeout_ms;
    if (install_signals()) {
        log_msg(CG_LOG_ERROR, "cannot set up signal handling: %s", strerror(errno));
        return 1;
    }
    int fl = fcntl(listen_fd, F_GETFL);
    if (fl < 0 || fcntl(listen_fd, F_SETFL, fl | O_NONBLOCK) < 0) {
        log_msg(CG_LOG_ERROR, "the FastCGI socket is not usable: %s", strerror(errno));
        return 1;
    }
    char err[256];
    struct peer_filter peers;
    if (peer_filter_parse(&peers, cfg->web_server_addrs, err, sizeof err)) {
        log_msg(CG_LOG_ERROR, "%s", err);
        return 1;
    }
    tune_malloc();
    if (schema_init(&st) != 0) {
        log_msg(CG_LOG_ERROR, "start-up failed: %s", st.msg);
        return 1;
    }
    struct cuebot_settings cs = {
        .endpoints = cfg->cuebot_endpoint,
        .keepalive_time_ms = cfg->keepalive_time_ms,
        .keepalive_timeout_ms = cfg->keepalive_timeout_ms,
        .max_send = cfg->max_request,
        .max_recv = cfg->max_response,
        .tls_ca = cfg->tls_ca, .tls_cert = cfg->tls_cert, .tls_key = cfg->tls_key,
    };
    struct cuebot *cb = cuebot_open(&cs, &st);
    if (!cb) {
        log_msg(CG_LOG_ERROR, "cannot set up the Cuebot client: %s", st.msg);
        return 1;
    }
    struct upstream up = cuebot_upstream(cb);
    struct shared_reads *shared = NULL;
    if (cfg->share_reads) {
        /* Without it requests are served as before, only each by its own call. */
        shared = gateway_share_reads(&up);
        if (shared)
            up = shared_reads_upstream(shared);
        else
            log_msg(CG_LOG_WARN, "no memory to share reads: SHARE_READS is off in this process");
    }
    struct read_cache *cache = NULL;
    if (cfg->read_cache_ms > 0) {
        /* Outside the sharing, so a kept answer costs no lookup there; the
         * mutations are counted by whichever layer is innermost. */
        cache = gateway_read_cache(&up, cfg->read_cache_ms, shared == NULL);
        if (cache)
            up = read_cache_upstream(cache);
        else
            log_msg(CG_LOG_WARN, "no memory for the read cache: READ_CACHE_MS is off in this process");
    }
    int n = cfg->worker_threads > 0 ? cfg->worker_threads : 1;
    Q.keep_arenas = n;
    Q.arena_limit = gateway_arena_limit(cfg);
    Q.write_timeout_ms = cfg->write_timeout_ms;
    Q.threads = n;
    struct thread_ctx *t = calloc((size_t)n, sizeof *t);
    Q.done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    Q.run_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    Q.idle_ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event rev = {.events = EPOLLIN | EPOLLET, .data.ptr = &tag_run};
    if (!t || Q.done_fd < 0 || Q.run_fd < 0 || Q.idle_ep < 0 ||
        epoll_ctl(Q.idle_ep, EPOLL_CTL_ADD, Q.run_fd, &rev) != 0) {
        log_msg(CG_LOG_ERROR, "cannot set up the request threads: %s", strerror(errno));
        free(t);
        read_cache_free(cache);
        shared_reads_free(shared);
        cuebot_close(cb);
        return 1;
    }
    int started = 0;
    for (int i = 0; i < n; i++) {
        t[i] = (struct thread_ctx){.cfg = cfg, .up = &up};
        if (pthread_create(&t[i].tid, NULL, serve, &t[i]) != 0)
            break;
        started++;
    }
    int rc = 0;
    if (started == 0) {
        log_msg(CG_LOG_ERROR, "cannot start a request thread");
        rc = 1;
    } else {
        if (started < n)
            log_msg(CG_LOG_WARN, "could start only %d of %d request threads", started, n);
        log_msg(CG_LOG_DEBUG, "worker ready with %d threads, Cuebot at %s", started,
                cfg->cuebot_endpoint);
        if (reactor_run(listen_fd, wake_pipe[0], Q.done_fd, started, cfg, &peers) != 0) {
            log_msg(CG_LOG_ERROR, "the FastCGI loop failed: %s", strerror(errno));
            rc = 1;
        }
    }
    pthread_mutex_lock(&Q.lock);
    Q.quit = 1;
    pthread_mutex_unlock(&Q.lock);
    ring_run();
    for (int i = 0; i < started; i++) {
        pthread_join(t[i].tid, NULL);
        if (t[i].failed)
            rc = 1;
    }
    arenas_free();
    close(Q.done_fd);
    close(Q.run_fd);
    close(Q.idle_ep);
    free(t);
    read_cache_free(cache);
    shared_reads_free(shared);
    cuebot_close(cb);
    log_msg(CG_LOG_DEBUG, "worker stopped");
    return rc;
}
