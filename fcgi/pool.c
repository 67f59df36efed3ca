#include "pool.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "listen.h"
#include "base/log.h"
#include "ops/metrics.h"
#include "worker.h"

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
    stop_signal = sig;
}

/* A unix socket left behind by a previous run would make bind fail; only
 * a socket is removed, never another kind of file. */
static void remove_stale_socket(const char *addr)
{
    struct stat sb;
    if (addr[0] == '/' && lstat(addr, &sb) == 0 && S_ISSOCK(sb.st_mode))
        unlink(addr);
}

/* The socket file this pool bound, so that a stop removes that file and
 * never one a newer pool (a restart overlapping this stop) bound since. */
static struct stat bound_sock;

static void remove_own_socket(const char *addr)
{
    struct stat sb;
    if (addr[0] == '/' && lstat(addr, &sb) == 0 && S_ISSOCK(sb.st_mode) &&
        sb.st_dev == bound_sock.st_dev && sb.st_ino == bound_sock.st_ino)
        unlink(addr);
}

static pid_t spawn(int fd, struct cg_config *cfg)
{
    pid_t pid = fork();
    if (pid == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = SIG_DFL;
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGUSR1, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        int rc = worker_run(fd, cfg);
        config_free(cfg);
        exit(rc);     /* not _exit: leak checkers report from exit handlers */
    }
    return pid;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int pool_run(const char *addr, int workers, struct cg_config *cfg)
{
    remove_stale_socket(addr);
    char err[512];
    int fd = listen_open(addr, cfg->allow_non_loopback, err, sizeof err);
    if (fd < 0) {
        log_msg(CG_LOG_ERROR, "%s", err);
        return 1;
    }
    if (addr[0] == '/' && lstat(addr, &bound_sock) != 0)
        memset(&bound_sock, 0, sizeof bound_sock);
    /* Mapped before the fork, so every worker, replacements included, adds
     * into the same counters. A failure leaves the API served. */
    struct cg_status st;
    struct metrics_socket sock;
    listen_describe(fd, &sock);
    if (!cfg->metrics_off && metrics_open(cfg, &sock, &st))
        log_msg(CG_LOG_ERROR, "%s", st.msg);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    pid_t *pids = calloc((size_t)workers, sizeof *pids);
    double *started = calloc((size_t)workers, sizeof *started);
    if (!pids || !started) {
        log_msg(CG_LOG_ERROR, "out of memory");
        return 1;
    }
    for (int i = 0; i < workers; i++) {
        pids[i] = spawn(fd, cfg);
        started[i] = now_s();
    }
    log_msg(CG_LOG_INFO, "listening on %s with %d workers, Cuebot at %s", addr, workers,
            cfg->cuebot_endpoint);

    while (!stop_signal) {
        int wstatus;
        pid_t dead = waitpid(-1, &wstatus, 0);
        if (dead < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (int i = 0; i < workers; i++) {
            if (pids[i] != dead)
                continue;
            if (WIFSIGNALED(wstatus))
                log_msg(CG_LOG_ERROR, "worker %ld died of signal %d; starting another",
                        (long)dead, WTERMSIG(wstatus));
            else
                log_msg(CG_LOG_WARN, "worker %ld exited with status %d; starting another",
                        (long)dead, WEXITSTATUS(wstatus));
            /* A worker that cannot even start must not become a fork loop. */
            if (now_s() - started[i] < 1.0)
                sleep(1);
            if (stop_signal)
                break;
            pids[i] = spawn(fd, cfg);
            started[i] = now_s();
        }
    }

    /* New connections are refused from now on, not left queued behind
     * workers that will not take them: the web server answers at once or
     * tries another backend. The path goes first (a unix client then gets
     * ENOENT); the socket is shut only when the workers, which close their
     * copies as they begin to stop, have closed theirs too. */
    remove_own_socket(addr);
    close(fd);
    fd = -1;
    log_msg(CG_LOG_INFO, "stopping: new connections are refused, requests in hand finish "
                         "within SHUTDOWN_TIMEOUT");
    int sig = stop_signal ? stop_signal : SIGTERM;
    if (sig == SIGINT)
        sig = SIGTERM;
    for (int i = 0; i < workers; i++)
        if (pids[i] > 0)
            kill(pids[i], sig);
    int status = 0;
    for (int i = 0; i < workers; i++) {
        int wstatus;
        if (pids[i] > 0 && waitpid(pids[i], &wstatus, 0) == pids[i] &&
            !(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0))
            status = 1;
    }
    free(pids);
    free(started);
    log_msg(CG_LOG_INFO, "stopped");
    return status;
}
