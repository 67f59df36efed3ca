#include "request_id.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static int usable(const char *id)
{
    size_t n = 0;
    for (const char *p = id; *p; p++, n++)
        if (n >= CG_MAX_REQUEST_ID || *p <= ' ' || *p >= 0x7f || *p == '"' || *p == '\\')
            return 0;
    return n > 0;
}

/* A per-process generator: ids only need to be unique, not secret, so one
 * seed from getrandom per process is enough (and it is taken after the
 * fork, so pool workers never share a sequence). */
static uint64_t state[2];
static pid_t seeded_pid;

static uint64_t next(void)
{
    uint64_t s1 = state[0];
    const uint64_t s0 = state[1];
    const uint64_t r = s0 + s1;
    state[0] = s0;
    s1 ^= s1 << 23;
    state[1] = s1 ^ s0 ^ (s1 >> 18) ^ (s0 >> 5);
    return r;
}

void request_id_make(const char *client_id, char out[REQUEST_ID_SIZE])
{
    if (client_id && usable(client_id)) {
        strcpy(out, client_id);
        return;
    }
    if (seeded_pid != getpid()) {
        if (getrandom(state, sizeof state, 0) != (ssize_t)sizeof state) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            state[0] = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15u;
            state[1] = (uint64_t)ts.tv_sec ^ ((uint64_t)getpid() << 32);
        }
        state[0] |= 1;
        seeded_pid = getpid();
    }
    uint64_t a = next(), b = next();
    snprintf(out, REQUEST_ID_SIZE, "%016llx%016llx", (unsigned long long)a,
             (unsigned long long)b);
}
