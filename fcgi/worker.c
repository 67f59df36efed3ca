#include "worker.h"

#include <errno.h>
#include <fcgiapp.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/uio.h>
#include <unistd.h>

#include "cuebot.h"
#include "gateway.h"
#include "log.h"
#include "schema.h"

/* A process serves up to WORKER_THREADS requests at once, one per thread,
 * and any number of FastCGI connections: each thread watches the
 * connections it has accepted and the listening socket together. Each
 * thread has its own arena and output buffer; all share the process's one
 * Cuebot channel, so while one thread waits for Cuebot another works. */

/* Set by the signal handler, read by every thread: a lock-free atomic is
 * safe in both places. */
static atomic_int stopping;
static int wake_pipe[2] = {-1, -1};
static int64_t hard_stop_ms;
static atomic_int failed;

/* SIGTERM/SIGUSR1: finish the requests in hand, take no new one. Whichever
 * thread the signal lands on, the pipe wakes every thread's epoll (nothing
 * ever reads it, so it stays readable); the alarm bounds how long the
 * requests in flight may take. */
static void on_stop(int sig)
{
    (void)sig;
    int saved = errno;
    if (!atomic_exchange(&stopping, 1)) {
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
    /* A client gone mid-response is an error return, not a death. */
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    return 0;
}

/* A thread that fails for good stops the whole process: its exit status
 * tells the supervisor, which starts a fresh one. */
static void fail_all(void)
{
    atomic_store(&failed, 1);
    on_stop(0);
}

/* ---- libfcgi <-> gateway ----------------------------------------------- */

static const char *fcgi_param(void *ctx, const char *name)
{
    FCGX_Request *r = ctx;
    return FCGX_GetParam(name, r->envp);
}

static long fcgi_read(void *ctx, char *buf, size_t n)
{
    FCGX_Request *r = ctx;
    int want = n > INT_MAX ? INT_MAX : (int)n;
    int got = FCGX_GetStr(buf, want, r->in);
    if (got < want && FCGX_GetError(r->in))
        return -1;
    return got;
}

/* Body bytes in FCGI_STDOUT records written straight to the connection,
 * several records per writev. libfcgi's own writer copies everything
 * through an 8 KiB buffer and writes one record per 8 KiB: for a GetJobs
 * answer of tens of MB that is thousands of writes (and as many wake-ups
 * of the web server) where this makes one per 64 KiB chunk. */
#define FCGI_VERSION_1 1
#define FCGI_TYPE_STDOUT 6
#define RECORD_MAX 65535                 /* a record's content length is 16 bits */
#define RECORDS_PER_WRITE 4

static int write_all(int fd, struct iovec *iov, int n)
{
    while (n > 0) {
        ssize_t w = writev(fd, iov, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        while (n > 0 && (size_t)w >= iov->iov_len) {
            w -= (ssize_t)iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (char *)iov->iov_base + w;
            iov->iov_len -= (size_t)w;
        }
    }
    return 0;
}

static int write_records(FCGX_Request *r, const char *p, size_t n)
{
    /* What libfcgi holds goes first, so the records stay in order. */
    if (FCGX_FFlush(r->out) != 0)
        return -1;
    unsigned char head[RECORDS_PER_WRITE][8];
    struct iovec iov[2 * RECORDS_PER_WRITE];
    while (n > 0) {
        int k = 0;
        for (; k < RECORDS_PER_WRITE && n > 0; k++) {
            size_t len = n > RECORD_MAX ? RECORD_MAX : n;
            unsigned char *h = head[k];
            h[0] = FCGI_VERSION_1;
            h[1] = FCGI_TYPE_STDOUT;
            h[2] = (unsigned char)(r->requestId >> 8);
            h[3] = (unsigned char)r->requestId;
            h[4] = (unsigned char)(len >> 8);
            h[5] = (unsigned char)len;
            h[6] = h[7] = 0;                  /* no padding, reserved */
            iov[2 * k] = (struct iovec){.iov_base = h, .iov_len = 8};
            iov[2 * k + 1] = (struct iovec){.iov_base = (char *)p, .iov_len = len};
            p += len;
            n -= len;
        }
        if (write_all(r->ipcFd, iov, 2 * k))
            return -1;
    }
    return 0;
}

/* Small writes (headers, a whole small answer) are gathered by libfcgi
 * and leave in one write at the end of the request. */
#define DIRECT_WRITE_MIN (16 * 1024)

static int fcgi_write(void *ctx, const char *p, size_t n)
{
    FCGX_Request *r = ctx;
    if (n >= DIRECT_WRITE_MIN)
        return write_records(r, p, n);
    return FCGX_PutStr(p, (int)n, r->out) == (int)n ? 0 : -1;
}

/* Reads what is left of the request's body. 0: all of it, at most max
 * bytes; -1: more than that, or the connection failed. */
static int drain_input(FCGX_Request *req, size_t max)
{
    char buf[4096];
    size_t total = 0;
    int got;
    while ((got = FCGX_GetStr(buf, sizeof buf, req->in)) > 0)
        if ((total += (size_t)got) > max)
            return -1;
    return FCGX_GetError(req->in) ? -1 : 0;
}

/* Ends a request.
 *
 * A connection the web server keeps (nginx fastcgi_keep_conn) must be left
 * at the start of the next request: body records an early answer left
 * unread (401, 413) would make libfcgi refuse that request and close the
 * connection, and a web server that already took the connection back into
 * its pool then fails a request that was sent on it ("upstream prematurely
 * closed"). So the rest of the body is read and dropped. KEPT_DRAIN_MAX is
 * above any body the shipped fronts pass (nginx client_max_body_size 5m);
 * past it the connection is closed, while the web server is still
 * sending, so it cannot have pooled it. The answer stays buffered until
 * then: nginx stops sending the body once an answer has begun, and would
 * wait for its end while we waited for the body.
 *
 * A connection the web server does not keep is closed at once when its
 * input has been read to the end: libfcgi's own close otherwise
 * half-closes it and waits, with the thread blocked, for the web server to
 * close its side, one more round trip per request. Input left unread is
 * read here first, up to a bound; past it libfcgi's careful close stays. */
#define DRAIN_MAX (64 * 1024)
#define KEPT_DRAIN_MAX ((size_t)16 << 20)
static void finish_request(FCGX_Request *req)
{
    if (req->keepConnection) {
        if (!req->in->isClosed && drain_input(req, KEPT_DRAIN_MAX) != 0)
            req->keepConnection = 0;
    } else if (drain_input(req, DRAIN_MAX) == 0) {
        FCGX_Detach(req);
    }
    FCGX_Finish_r(req);
}

/* ---- the process's connections ----------------------------------------- */

/* Every connection the process has accepted sits in one epoll that all its
 * threads wait on, registered one-shot: the next request on a connection
 * goes to whichever thread is free, and to only one. So a connection the
 * web server keeps open between requests (nginx fastcgi_keep_conn) holds
 * nothing but a slot, and no request waits behind a slow one while a
 * thread is idle. (With one connection per process, nginx's idle kept
 * connections left new ones waiting in the listen queue for seconds; with
 * connections owned by threads, a request waited for its thread's slow
 * Cuebot call.) */
#define MAX_CONNS 256
#define TAG_LISTEN 0xFFFFFFF0u
#define TAG_WAKE 0xFFFFFFF1u

struct conns {
    int ep;
    int listen_fd;
    pthread_mutex_t lock;                    /* guards the fields below */
    int listening;                           /* listen_fd is in ep */
    int open;                                /* slots holding a connection */
    unsigned char used[MAX_CONNS];           /* slot taken (connection or accept) */
    unsigned char watched[MAX_CONNS];        /* its connection is in ep; only
                                              * the slot's own thread touches it */
    FCGX_Request req[MAX_CONNS];
};

static struct conns conns;

struct thread_ctx {
    pthread_t tid;
    const struct cg_config *cfg;
    struct cuebot *cb;
};

static int ep_ctl(int op, int fd, uint32_t tag, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.u32 = tag};
    return epoll_ctl(conns.ep, op, fd, &ev);
}

/* New connections are taken only while a slot is free. EPOLLEXCLUSIVE: a
 * new connection wakes one waiting process of the pool, not all. Called
 * with the lock held. */
static void update_listening(void)
{
    int want = conns.open < MAX_CONNS;
    if (want == conns.listening)
        return;
    if (want)
        ep_ctl(EPOLL_CTL_ADD, conns.listen_fd, TAG_LISTEN, EPOLLIN | EPOLLEXCLUSIVE);
    else
        epoll_ctl(conns.ep, EPOLL_CTL_DEL, conns.listen_fd, NULL);
    conns.listening = want;
}

static int conns_init(int listen_fd)
{
    conns.listen_fd = listen_fd;
    pthread_mutex_init(&conns.lock, NULL);
    if ((conns.ep = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
        ep_ctl(EPOLL_CTL_ADD, wake_pipe[0], TAG_WAKE, EPOLLIN))
        return -1;
    for (int i = 0; i < MAX_CONNS; i++)
        FCGX_InitRequest(&conns.req[i], listen_fd, FCGI_FAIL_ACCEPT_ON_INTR);
    update_listening();
    return 0;
}

static void conns_free(void)
{
    for (int i = 0; i < MAX_CONNS; i++)
        FCGX_Free(&conns.req[i], conns.req[i].ipcFd >= 0);
    if (conns.ep >= 0)
        close(conns.ep);
    pthread_mutex_destroy(&conns.lock);
}

/* A free slot for a new connection, taken; -1 when none. */
static int take_slot(void)
{
    int got = -1;
    pthread_mutex_lock(&conns.lock);
    for (int i = 0; i < MAX_CONNS && got < 0; i++)
        if (!conns.used[i])
            got = i;
    if (got >= 0) {
        conns.used[got] = 1;
        conns.open++;
        update_listening();
    }
    pthread_mutex_unlock(&conns.lock);
    return got;
}

static void release_slot(int i)
{
    conns.watched[i] = 0;
    pthread_mutex_lock(&conns.lock);
    conns.used[i] = 0;
    conns.open--;
    update_listening();
    pthread_mutex_unlock(&conns.lock);
}

/* Takes the next request of slot i: the next one on its kept connection,
 * or, for a new slot, a new connection. 1: a request is in hand; 0: none
 * this time (another process took the connection, the web server closed
 * the kept one); -1: the process must stop. */
static int take_request(int i)
{
    FCGX_Request *req = &conns.req[i];
    int had_conn = req->ipcFd >= 0;
    /* On a kept connection libfcgi, finding it closed, would go on to
     * accept a new one into this slot behind our back; without a listening
     * socket it just reports the end. */
    req->listen_sock = had_conn ? -1 : conns.listen_fd;
    int rc = FCGX_Accept_r(req);
    req->listen_sock = conns.listen_fd;
    if (rc >= 0 || had_conn)
        return rc >= 0;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ECONNABORTED ||
        stopping)
        return 0;
    log_msg(LOG_ERROR, "accepting a FastCGI connection failed: %s", strerror(errno));
    fail_all();
    return -1;
}

/* After slot i's turn: a connection the web server keeps is watched again
 * for its next request; one it closed, or that cuegw closed, frees the
 * slot (a closed descriptor has left the epoll by itself). */
static void after_turn(int i)
{
    FCGX_Request *req = &conns.req[i];
    if (req->ipcFd >= 0) {
        int op = conns.watched[i] ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
        if (ep_ctl(op, req->ipcFd, (uint32_t)i, EPOLLIN | EPOLLONESHOT) == 0) {
            conns.watched[i] = 1;
            return;
        }
        FCGX_Free(req, 1);                   /* cannot watch it: let it go */
    }
    release_slot(i);
}

static void serve_slot(int i, struct gateway *g, struct cg_request_io *io)
{
    int r = take_request(i);
    if (r > 0) {
        io->ctx = &conns.req[i];
        gateway_handle(g, io);
        finish_request(&conns.req[i]);
    }
    if (r >= 0)
        after_turn(i);
}

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

static void *serve(void *arg)
{
    struct thread_ctx *t = arg;
    struct cg_status st;
    struct gateway g;
    cg_status_clear(&st);
    if (gateway_init(&g, t->cfg, t->cb, &st)) {
        log_msg(LOG_ERROR, "%s", st.msg);
        fail_all();
        return NULL;
    }
    struct cg_request_io io = {.param = fcgi_param, .read = fcgi_read, .write = fcgi_write};
    int busy = 0;                            /* served since the last trim */
    while (!stopping) {
        struct epoll_event ev;
        int n = epoll_wait(conns.ep, &ev, 1, busy ? IDLE_TRIM_MS : -1);
        if (n == 0) {
            /* Quiet for a while: what malloc keeps for the next burst
             * (tune_malloc) goes back to the system now. */
            if (GLIBC_MALLOC)
                malloc_trim(0);
            busy = 0;
            continue;
        }
        if (n < 0) {
            if (errno == EINTR)
                continue;
            log_msg(LOG_ERROR, "waiting for requests failed: %s", strerror(errno));
            fail_all();
            break;
        }
        busy = 1;
        uint32_t tag = ev.data.u32;
        if (tag == TAG_WAKE)
            break;
        int i = tag == TAG_LISTEN ? take_slot() : (int)tag;
        if (i >= 0 && i < MAX_CONNS)
            serve_slot(i, &g, &io);
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
 * request and faulted in again page by page for the next, which measured
 * ~20 µs a page on a 2-core VM, a third of the CPU of a 5,000-job
 * GetJobs. A thread idle for IDLE_TRIM_MS trims it all (serve). */
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
        log_msg(LOG_ERROR, "cannot set up signal handling: %s", strerror(errno));
        return 1;
    }
    int fl = fcntl(listen_fd, F_GETFL);
    if (fl < 0 || fcntl(listen_fd, F_SETFL, fl | O_NONBLOCK) < 0) {
        log_msg(LOG_ERROR, "the FastCGI socket is not usable: %s", strerror(errno));
        return 1;
    }
    tune_malloc();
    if (FCGX_Init() != 0 || schema_init(&st) != 0) {
        log_msg(LOG_ERROR, "start-up failed: %s", st.msg[0] ? st.msg : "FCGX_Init");
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
        log_msg(LOG_ERROR, "cannot set up the Cuebot client: %s", st.msg);
        return 1;
    }
    int n = cfg->worker_threads > 0 ? cfg->worker_threads : 1;
    struct thread_ctx *t = calloc((size_t)n, sizeof *t);
    if (!t || conns_init(listen_fd)) {
        log_msg(LOG_ERROR, "cannot set up the request threads: %s", strerror(errno));
        free(t);
        cuebot_close(cb);
        return 1;
    }
    log_msg(LOG_DEBUG, "worker ready with %d threads, Cuebot at %s", n, cfg->cuebot_endpoint);

    /* Thread 0 is this one. */
    int started = 1;
    for (int i = 0; i < n; i++)
        t[i] = (struct thread_ctx){.cfg = cfg, .cb = cb};
    while (started < n && pthread_create(&t[started].tid, NULL, serve, &t[started]) == 0)
        started++;
    if (started < n)
        log_msg(LOG_WARN, "could start only %d of %d request threads", started, n);
    serve(&t[0]);
    for (int i = 1; i < started; i++)
        pthread_join(t[i].tid, NULL);
    conns_free();
    free(t);
    cuebot_close(cb);
    log_msg(LOG_DEBUG, "worker stopped");
    return atomic_load(&failed) ? 1 : 0;
}
