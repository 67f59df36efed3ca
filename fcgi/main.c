/* cuegw: OpenCue's REST gateway as a FastCGI responder.
 *
 *   cuegw                              spawned by a web server: the FastCGI
 *                                      socket is fd 0 (lighttpd bin-path,
 *                                      mod_fcgid, spawn-fcgi)
 *   cuegw --listen ADDR [--workers N]  our own pre-forked pool
 *   cuegw --check-config               check the settings, reach Cuebot once
 *
 * Settings come from the environment (see README); a bad one stops
 * start-up, before any worker exists, with a message naming it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_config.h"
#include "ops/config.h"
#include "core_guard.h"
#include "help.h"
#include "listen.h"
#include "ops/metrics.h"
#include "base/log.h"
#include "http/openapi.h"
#include "pool.h"
#include "base/version.h"
#include "worker.h"

static int parse_workers(const char *s)
{
    char *end;
    errno = 0;
    long n = strtol(s, &end, 10);
    if (errno || end == s || *end || n < 1 || n > 1024)
        return -1;
    return (int)n;
}

int main(int argc, char **argv)
{
    /* First of all: the secrets are in the environment already, and the
     * settings below copy them into memory a core would hold. */
    char why[200];
    if (core_guard(getenv("ALLOW_CORE_DUMPS"), why, sizeof why)) {
        fprintf(stderr, "cuegw: %s\n", why);
        return 2;
    }
    const char *listen_addr = NULL;
    int allow_non_loopback = 0;
    int workers = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (workers < 1)
        workers = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--version")) {
            printf("cuegw %s\n", CUEGW_VERSION);
            return 0;
        } else if (!strcmp(a, "--check-config")) {
            return check_config(stdout, stderr);
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            help_print(stdout);
            return 0;
        } else if (!strcmp(a, "--list-settings")) {
            settings_list_print(stdout);
            return 0;
        } else if (!strcmp(a, "--openapi")) {
            return openapi_print(stdout);
        } else if (!strcmp(a, "--listen") && i + 1 < argc) {
            listen_addr = argv[++i];
        } else if (!strcmp(a, "--allow-non-loopback")) {
            allow_non_loopback = 1;
        } else if (!strcmp(a, "--workers") && i + 1 < argc) {
            if ((workers = parse_workers(argv[++i])) < 0) {
                fprintf(stderr, "cuegw: --workers: expected a number from 1 to 1024\n");
                return 2;
            }
        } else {
            /* One line: the whole help would scroll the mistake out of a
             * terminal or bury it in a web server's error log. */
            if (!strcmp(a, "--listen") || !strcmp(a, "--workers"))
                fprintf(stderr, "cuegw: %s needs a value; see cuegw --help\n", a);
            else
                fprintf(stderr, "cuegw: unknown argument %s; see cuegw --help\n", a);
            return 2;
        }
    }

    struct cg_config cfg;
    struct cg_status st;
    cg_status_clear(&st);
    if (config_load(&cfg, NULL, NULL, &st)) {
        fprintf(stderr, "cuegw: %s\n", st.msg);
        return 2;
    }
    log_setup(cfg.log_level, cfg.log_json);
    if (allow_non_loopback)
        cfg.allow_non_loopback = 1;
    struct peer_filter peers;
    char err[512];
    if (peer_filter_parse(&peers, cfg.web_server_addrs, err, sizeof err)) {
        fprintf(stderr, "cuegw: %s\n", err);
        config_free(&cfg);
        return 2;
    }

    int rc;
    if (listen_addr) {
        rc = pool_run(listen_addr, workers, &cfg);
        config_free(&cfg);
        return rc;
    }

    struct stat sb;
    if (fstat(0, &sb) != 0 || !S_ISSOCK(sb.st_mode)) {
        fprintf(stderr, "cuegw: standard input is not a FastCGI socket; run cuegw from a web "
                        "server or spawn-fcgi, or give --listen ADDR\n");
        config_free(&cfg);
        return 2;
    }
    if (listen_check_inherited(0, cfg.allow_non_loopback, err, sizeof err)) {
        fprintf(stderr, "cuegw: %s\n", err);
        config_free(&cfg);
        return 2;
    }
    /* Not fatal: the API is served without metrics (they answer 503). */
    struct metrics_socket sock;
    listen_describe(0, &sock);
    if (!cfg.metrics_off && metrics_open(&cfg, &sock, &st))
        log_msg(CG_LOG_ERROR, "%s", st.msg);
    rc = worker_run(0, &cfg);
    config_free(&cfg);
    return rc;
}
