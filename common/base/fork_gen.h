/* Which process this is, cheaply: per-process caches (the pid for log
 * lines, the request-id generator's seed) must be refreshed in a forked
 * child (the pool's workers), and asking getpid each time is a system call
 * a request. */
#ifndef CUEGW_FORK_GEN_H
#define CUEGW_FORK_GEN_H

/* A number that changes in a child each time the process forks (counted
 * from the first call: call it before forking for the count to see it). */
unsigned fork_generation(void);

#endif
