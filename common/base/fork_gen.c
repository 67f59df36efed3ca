#include "base/fork_gen.h"

#include <pthread.h>

static unsigned generation;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void forked(void)
{
    __atomic_add_fetch(&generation, 1, __ATOMIC_RELAXED);
}

static void watch_forks(void)
{
    pthread_atfork(NULL, NULL, forked);
}

unsigned fork_generation(void)
{
    pthread_once(&once, watch_forks);
    return __atomic_load_n(&generation, __ATOMIC_RELAXED);
}
