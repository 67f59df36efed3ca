/* `cuegw --listen ADDR --workers N`: our own pre-forked pool, for when no
 * web server spawns us (nginx, Apache mod_proxy_fcgi, systemd). */
#ifndef CUEGW_POOL_H
#define CUEGW_POOL_H

#include "ops/config.h"

/* Opens ADDR ("host:port", ":port" or a unix socket path), forks N workers
 * that each run worker_run, restarts any that die, and on SIGTERM/SIGUSR1
 * passes the signal on and waits for them. The parent never touches gRPC
 * (gRPC starts threads, and threads do not survive fork). Returns the exit
 * status. Each worker frees cfg's allocations before it exits, so leak
 * checkers see a clean exit. */
int pool_run(const char *addr, int workers, struct cg_config *cfg);

#endif
