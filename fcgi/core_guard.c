#include "core_guard.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "ops/config.h"

int core_guard(const char *allow, char *msg, size_t n)
{
    int on = 0;
    if (allow && allow[strspn(allow, " \t")] && config_parse_switch(allow, &on)) {
        snprintf(msg, n, "ALLOW_CORE_DUMPS: " SWITCH_EXPECTED ", got \"%.40s\"", allow);
        return -1;
    }
    if (on)
        return 0;          /* the operator asked for cores (to debug a crash) */
    /* Both, because either alone leaves a way: RLIMIT_CORE does not bind a
     * core_pattern pipe (systemd-coredump, apport) nor keep the same user
     * from reading /proc/PID/environ; with fs.suid_dumpable=2 a process
     * that is not dumpable is still dumped (for root), which the limit of
     * 0 stops when cores go to files. The hard limit too, so nothing this
     * process runs can raise it again. */
    struct rlimit none = {0, 0};
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0 || setrlimit(RLIMIT_CORE, &none) != 0) {
        snprintf(msg, n, "cannot keep secrets out of core dumps: %s (ALLOW_CORE_DUMPS=1 "
                 "starts without this guard)", strerror(errno));
        return -1;
    }
    return 0;
}
