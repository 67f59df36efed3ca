#include "http/request_id.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "base/fork_gen.h"

static int usable(const char *id)
{
    size_t n = 0;
    for (const char *p = id; *p; p++, n++)
        if (n >= CG_MAX_REQUEST_ID || *p <= ' ' || *p >= 0x7f || *p == '"' || *p == '\\')
            return 0;
    return n > 0;
}

/* A generator per thread: ids only need to be unique, not secret, so one
 * seed from getrandom per thread is enough, and request threads never
 * share (and race on) a state. A forked child seeds again (fork_gen.h),
 * so pool workers never share a sequence. */
static _Thread_local uint64_t state[2];
static _Thread_local unsigned seeded_at;      /* fork_generation() + 1 when seeded */

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
    unsigned gen = fork_generation() + 1;
    if (seeded_at != gen) {
        if (getrandom(state, sizeof state, 0) != (ssize_t)sizeof state) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            state[0] = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15u;
            state[1] = (uint64_t)ts.tv_sec ^ ((uint64_t)getpid() << 32);
        }
        state[0] |= 1;
        seeded_at = gen;
    }
    uint64_t a = next(), b = next();
    snprintf(out, REQUEST_ID_SIZE, "%016llx%016llx", (unsigned long long)a,
             (unsigned long long)b);
}
