/* A worker process: serves FastCGI requests on a listening socket until it
 * is told to stop. The process model (spawned by a web server, or forked by
 * our own pool) is decided elsewhere; this is the same in every case. */
#ifndef CUEGW_WORKER_H
#define CUEGW_WORKER_H

#include "ops/config.h"

/* Serves requests on listen_fd with WORKER_THREADS threads until SIGTERM
 * or SIGUSR1, finishing the requests in flight (bounded by
 * SHUTDOWN_TIMEOUT). Creates the Cuebot channel itself, so it must run in
 * the process that serves (after any fork), and it sets malloc options, so
 * before any other thread exists. Returns the process exit status. */
int worker_run(int listen_fd, const struct cg_config *cfg);

#endif
