/* The layout of the shared metrics file, and what metrics_store.c (the
 * file and the slots) gives metrics.c (counting and the exposition). Not for
 * the rest of cuegw: use metrics.h.
 *
 * Every field below is updated only with __atomic builtins: several
 * processes and threads write to it at once, and a process may die at any
 * instruction without leaving anything half written. */
#ifndef CUEGW_METRICS_IMPL_H
#define CUEGW_METRICS_IMPL_H

#include <stdint.h>

#include "base/errors.h"

#define METRICS_MAGIC 0x31574743u    /* "CGW1", written last when a file is made */
#define METRICS_VERSION 2u

/* Processes that can hold a slot at once (--workers goes up to 1024). */
#define METRICS_SLOTS 1024
/* (method, status, code) series: 273 methods times the dozen outcomes a
 * method really meets fit with room; a power of two for the probe. */
#define METRICS_TABLE_BITS 13
#define METRICS_TABLE (1u << METRICS_TABLE_BITS)
#define METRICS_PROBES 64
/* Refusals are counted by error kind; only the reason kinds are shown. */
#define METRICS_REASONS CG_E_COUNT
/* Latency buckets, in microseconds; the last one is +Inf. */
#define METRICS_BUCKETS 14
extern const uint64_t metrics_bucket_us[METRICS_BUCKETS - 1];

struct metrics_slot {
    int32_t pid;                 /* 0: free */
    int32_t state;               /* Cuebot channel state index + 1; 0: unknown */
    int64_t in_flight;
    uint64_t start_ticks;        /* /proc/<pid>/stat start time: tells a reused pid */
    int64_t start_ms;            /* wall clock, for process_start_time_seconds */
    int64_t shared_waiting;      /* reads waiting on another's Cuebot call */
    char pad[24];                /* one cache line per slot */
};

struct metrics_entry {
    uint32_t key;                /* 0: free; claimed once, never changed */
    uint32_t pad;
    uint64_t count;
};

struct metrics_shared {
    uint32_t magic;
    uint32_t version;
    uint64_t layout;             /* hash of the method table and the sizes */
    int64_t created_ms;          /* when the counters started from zero */
    char key[256];               /* which pool this is, for a person reading it */
    uint64_t bytes_in, bytes_out;
    uint64_t buckets[METRICS_BUCKETS];   /* per bucket, not cumulative */
    uint64_t duration_sum_us, duration_count;
    uint64_t auth_failures[METRICS_REASONS];   /* by enum cg_error */
    uint64_t table_overflow;
    uint64_t peer_timeouts[4];           /* by METRICS_TIMEOUT_* */
    /* Mutating Cuebot calls completed: SHARE_READS's read-your-writes
     * (metrics_mutations); acquire and release, not relaxed. */
    uint64_t mutations;
    uint64_t shared_reads;               /* reads answered by another's call */
    uint64_t read_cache_hits;            /* reads answered from READ_CACHE_MS's cache */
    struct metrics_slot slots[METRICS_SLOTS];
    struct metrics_entry table[METRICS_TABLE];
};

/* The mapped file (or process memory); NULL until metrics_ensure, and when
 * the file could not be used. */
struct metrics_shared *metrics_shm(void);

/* 1 when the mapping is the pool's file, which every process of the pool
 * maps, rather than memory that processes started apart do not share. */
int metrics_in_file(void);

/* Why there is no mapping (empty when there is one). */
const char *metrics_failure(void);

/* This process's slot, claimed on first use; NULL when every slot is held
 * by a live process. */
struct metrics_slot *metrics_my_slot(void);

/* Whether the process holding a slot is still there. */
int metrics_slot_alive(const struct metrics_slot *s);

/* The layout hash this build writes and expects. */
uint64_t metrics_layout(void);

/* "IDLE", ... -> 1.., as kept in metrics_slot.state; 0 for anything else. */
int metrics_state_index(const char *name);
extern const char *const metrics_state_names[5];

#endif
