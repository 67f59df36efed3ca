#include "worker.h"

#include <errno.h>
#include <fcgiapp.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "cuebot.h"
#include "gateway.h"
#include "log.h"
#include "schema.h"

static volatile sig_atomic_t stopping;
static int wake_pipe[2] = {-1, -1};
static int64_t hard_stop_ms;

/* SIGTERM/SIGUSR1: finish the request in hand, take no new one. The pipe
 * wakes the poll below; the alarm bounds how long the request may take. */
static void on_stop(int sig)
{
    (void)sig;
    if (!stopping) {
        stopping = 1;
        unsigned secs = (unsigned)((hard_stop_ms + 999) / 1000);
        alarm(secs ? secs : 1);
    }
    int saved = errno;
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

static int fcgi_write(void *ctx, const char *p, size_t n)
{
    FCGX_Request *r = ctx;
    while (n > 0) {
        int k = n > INT_MAX ? INT_MAX : (int)n;
        if (FCGX_PutStr(p, k, r->out) != k)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Waits until there is a request to take: a new connection on the shared
 * socket, or the next request on a connection the web server keeps open
 * (nginx fastcgi_keep_conn), which libfcgi reads before it accepts again.
 * The socket is non-blocking, so a process that loses the race for a
 * connection comes back here instead of sleeping in accept(2), where a stop
 * signal could not reach it. */
static int wait_for_request(int listen_fd, int kept_fd)
{
    struct pollfd p[2] = {{.fd = kept_fd >= 0 ? kept_fd : listen_fd, .events = POLLIN},
                          {.fd = wake_pipe[0], .events = POLLIN}};
    while (!stopping) {
        int n = poll(p, 2, -1);
        if (n < 0 && errno != EINTR)
            return -1;
        if (n > 0 && (p[0].revents & (POLLIN | POLLERR | POLLHUP)))
            return 0;
    }
    return -1;
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
    struct gateway g;
    if (gateway_init(&g, cfg, cb, &st)) {
        log_msg(LOG_ERROR, "%s", st.msg);
        cuebot_close(cb);
        return 1;
    }
    log_msg(LOG_DEBUG, "worker ready, Cuebot at %s", cfg->cuebot_endpoint);

    FCGX_Request req;
    FCGX_InitRequest(&req, listen_fd, FCGI_FAIL_ACCEPT_ON_INTR);
    struct cg_request_io io = {.param = fcgi_param, .read = fcgi_read, .write = fcgi_write,
                               .ctx = &req};
    int status = 0;
    while (!stopping) {
        if (wait_for_request(listen_fd, req.ipcFd))
            break;
        if (FCGX_Accept_r(&req) < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ||
                errno == ECONNABORTED || stopping)
                continue;
            log_msg(LOG_ERROR, "accepting a FastCGI connection failed: %s", strerror(errno));
            status = 1;
            break;
        }
        gateway_handle(&g, &io);
        FCGX_Finish_r(&req);
    }
    FCGX_Free(&req, 1);
    gateway_free(&g);
    cuebot_close(cb);
    log_msg(LOG_DEBUG, "worker stopped");
    return status;
}
