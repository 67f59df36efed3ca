/* Keeps secrets out of core dumps (SPEC §4). JWT_SECRET and AUTH_TOKEN sit
 * in every process's environment and memory; a core file written when a
 * process crashes would carry them to wherever the host's core_pattern
 * sends cores (a file any admin tool collects, systemd-coredump, apport).
 * A process that is not dumpable also refuses ptrace and the reading of
 * its /proc/PID/{environ,mem,fd} by other processes of the same user;
 * its /proc/PID files belong to root. Forked workers inherit both. */
#ifndef CUEGW_CORE_GUARD_H
#define CUEGW_CORE_GUARD_H

#include <stddef.h>

/* Unless `allow` (ALLOW_CORE_DUMPS) is "1": marks the process not dumpable
 * and sets RLIMIT_CORE (soft and hard) to 0. With "1" it changes nothing.
 * Returns 0; or -1 with msg (n bytes) naming the problem: a value other
 * than blank, "0" or "1", or a guard the kernel refused. */
int core_guard(const char *allow, char *msg, size_t n);

#endif
