/* The shared metrics file: where it is, making it safely, mapping it, and
 * the per-process slots. See metrics.h for the placement rules. */
#include "ops/metrics.h"
#include "ops/metrics_impl.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "pb/schema.h"

const char *const metrics_state_names[5] = {"IDLE", "CONNECTING", "READY",
                                             "TRANSIENT_FAILURE", "SHUTDOWN"};

static struct metrics_shared *shm;
static char where[512];               /* the path, or why there is none */
static int open_failed;
static int in_file;                   /* shm is the pool's file */
static pthread_mutex_t claim_mu = PTHREAD_MUTEX_INITIALIZER;
static struct metrics_slot *mine;     /* this process's slot */
static int hooks_done;

struct metrics_shared *metrics_shm(void)
{
    return __atomic_load_n(&shm, __ATOMIC_ACQUIRE);
}

int metrics_in_file(void)
{
    return __atomic_load_n(&in_file, __ATOMIC_ACQUIRE);
}

const char *metrics_failure(void)
{
    return open_failed ? where : "";
}

const char *metrics_location(void)
{
    return where[0] ? where : "not set up";
}

int metrics_state_index(const char *name)
{
    for (int i = 0; name && i < 5; i++)
        if (!strcmp(name, metrics_state_names[i]))
            return i + 1;
    return 0;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

#define FNV_START 14695981039346656037ull

/* The method table decides what a series' method index means, and the
 * error table what a refusal's index means, so a binary built against
 * another schema or another error table must not add into this file. */
uint64_t metrics_layout(void)
{
    uint64_t h = FNV_START;
    uint32_t sizes[] = {METRICS_VERSION, METRICS_SLOTS, METRICS_TABLE, METRICS_REASONS,
                        METRICS_BUCKETS, (uint32_t)sizeof(struct metrics_shared)};
    h = fnv(h, sizes, sizeof sizes);
    for (size_t i = 0; i < schema_method_count(); i++) {
        const struct method_info *m = schema_method_at(i);
        h = fnv(h, m->path, m->path_len + 1);
    }
    for (int k = 0; k < CG_E_COUNT; k++)
        h = fnv(h, cg_errors[k].label, strlen(cg_errors[k].label) + 1);
    return h;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Field 22 of /proc/<pid>/stat: when the process started, in clock ticks
 * since boot; 0 when /proc cannot tell. *gone: the process is a zombie (it
 * died and its parent, spawn-fcgi's being init, has not reaped it yet). */
static uint64_t proc_start(long pid, int *gone)
{
    *gone = 0;
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    char *p = strrchr(buf, ')');     /* the command name may hold spaces */
    if (!p)
        return 0;
    *gone = p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
    /* After ")": state is field 3; start time is field 22. */
    int field = 2;
    for (p++; *p && field < 22; p++)
        if (*p == ' ')
            field++;
    return strtoull(p, NULL, 10);
}

int metrics_slot_alive(const struct metrics_slot *s)
{
    int32_t pid = __atomic_load_n(&s->pid, __ATOMIC_ACQUIRE);
    if (pid <= 0)
        return 0;
    if (pid == getpid())
        return 1;
    if (kill(pid, 0) != 0 && errno == ESRCH)
        return 0;
    uint64_t want = __atomic_load_n(&s->start_ticks, __ATOMIC_RELAXED);
    int gone;
    uint64_t have = proc_start(pid, &gone);
    return !gone && !(want && have && want != have);    /* same pid, another process */
}

static void release_slot(void)
{
    struct metrics_slot *s = mine;
    if (s && __atomic_load_n(&s->pid, __ATOMIC_RELAXED) == getpid()) {
        __atomic_store_n(&s->in_flight, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&s->pid, 0, __ATOMIC_RELEASE);
    }
    mine = NULL;
}

/* A forked child is a new process: it claims a slot of its own. */
static void after_fork_child(void)
{
    mine = NULL;
    pthread_mutex_init(&claim_mu, NULL);
}

static void install_hooks(void)
{
    if (hooks_done)
        return;
    hooks_done = 1;
    pthread_atfork(NULL, NULL, after_fork_child);
    atexit(release_slot);     /* _exit skips it: scrapes then see a dead pid */
}

static int take(struct metrics_slot *s, int32_t expect, int32_t pid)
{
    return __atomic_compare_exchange_n(&s->pid, &expect, pid, 0, __ATOMIC_ACQ_REL,
                                       __ATOMIC_RELAXED);
}

struct metrics_slot *metrics_my_slot(void)
{
    struct metrics_slot *s = __atomic_load_n(&mine, __ATOMIC_ACQUIRE);
    struct metrics_shared *m = metrics_shm();
    if (s || !m)
        return s;
    pthread_mutex_lock(&claim_mu);
    if (!mine) {
        int32_t pid = (int32_t)getpid();
        struct metrics_slot *got = NULL;
        for (int i = 0; i < METRICS_SLOTS && !got; i++)
            if (take(&m->slots[i], 0, pid))
                got = &m->slots[i];
        for (int i = 0; i < METRICS_SLOTS && !got; i++) {
            int32_t old = __atomic_load_n(&m->slots[i].pid, __ATOMIC_ACQUIRE);
            if (old != pid && !metrics_slot_alive(&m->slots[i]) && take(&m->slots[i], old, pid))
                got = &m->slots[i];
        }
        if (got) {
            __atomic_store_n(&got->in_flight, 0, __ATOMIC_RELAXED);
            __atomic_store_n(&got->shared_waiting, 0, __ATOMIC_RELAXED);
            __atomic_store_n(&got->state, 0, __ATOMIC_RELAXED);
            int zombie;
            __atomic_store_n(&got->start_ticks, proc_start(pid, &zombie), __ATOMIC_RELAXED);
            __atomic_store_n(&got->start_ms, now_ms(), __ATOMIC_RELAXED);
            install_hooks();
            __atomic_store_n(&mine, got, __ATOMIC_RELEASE);
        }
    }
    s = mine;
    pthread_mutex_unlock(&claim_mu);
    return s;
}

/* ---- where the file goes ------------------------------------------------ */

static int failed(struct cg_status *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int failed(struct cg_status *st, const char *fmt, ...)
{
    char msg[sizeof where];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(where, sizeof where, "%s", msg);
    open_failed = 1;
    return cg_fail(st, CG_UNAVAILABLE, "metrics: %s", msg);
}

/* Where the file goes: a directory, opened and verified once, and the
 * file's name in it. Everything after the check works on the directory's
 * descriptor, so nobody can swap a path component in between. */
struct place {
    int dirfd;
    char name[160];
    char path[700];        /* for the log and --check-config only */
};

/* Opens name under at (AT_FDCWD for a path) as a directory that only we
 * may write to, made mode 0700 when missing; never through a symbolic
 * link, and checked on the opened descriptor. `ours_by_name`: the
 * directory is our default one, named after our uid, so one of ours that
 * others may read is made 0700; else (METRICS_DIR, the operator's) one
 * that others may write to is refused. Returns the descriptor, or -1 with
 * why[0..n) saying why not. */
static int open_private_dir(int at, const char *name, int ours_by_name, char *why, size_t n)
{
    if (mkdirat(at, name, 0700) != 0 && errno != EEXIST) {
        snprintf(why, n, "cannot create the directory: %s", strerror(errno));
        return -1;
    }
    int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        struct stat sb;
        int link = fstatat(at, name, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(sb.st_mode);
        snprintf(why, n, "%s", link ? "it is a symbolic link" : errno == ENOTDIR
                 ? "it is not a directory" : strerror(errno));
        return -1;
    }
    struct stat sb;
    const char *bad = NULL;
    if (fstat(fd, &sb) != 0)
        bad = strerror(errno);
    else if (!S_ISDIR(sb.st_mode))
        bad = "it is not a directory";
    else if (sb.st_uid != geteuid())
        bad = "it belongs to another user";
    else if ((sb.st_mode & 0077) && ours_by_name && fchmod(fd, 0700) != 0)
        bad = strerror(errno);
    else if ((sb.st_mode & 0022) && !ours_by_name)
        bad = "it must belong to cuegw's user and be writable by it alone";
    if (bad) {
        snprintf(why, n, "%s", bad);
        close(fd);
        return -1;
    }
    return fd;
}

/* A directory of ours that others cannot write to (not /tmp), opened;
 * -1 otherwise. */
static int open_socket_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    struct stat sb;
    if (fd >= 0 && (fstat(fd, &sb) != 0 || sb.st_uid != geteuid() || (sb.st_mode & 0022) ||
                    faccessat(fd, ".", W_OK | X_OK, 0) != 0)) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* Fills *pl. Returns 0; 1 when the default directory cannot be had
 * safely (the counters then go to memory, see metrics_open); or -1 with
 * st set, for a METRICS_DIR that cannot be used. */
static int choose_path(const struct cg_config *cfg, const struct metrics_socket *sock,
                       struct place *pl,
                       char *key, size_t key_n, struct cg_status *st)
{
    char why[160];
    if (cfg->metrics_dir) {
        pl->dirfd = open_private_dir(AT_FDCWD, cfg->metrics_dir, 0, why, sizeof why);
        if (pl->dirfd < 0)
            return failed(st, "METRICS_DIR: %s: %s", cfg->metrics_dir, why);
        snprintf(key, key_n, "METRICS_DIR=%s", cfg->metrics_dir);
        snprintf(pl->name, sizeof pl->name, "cuegw.metrics");
        snprintf(pl->path, sizeof pl->path, "%s/cuegw.metrics", cfg->metrics_dir);
        return 0;
    }
    static const struct metrics_socket none;
    if (!sock)
        sock = &none;
    const char *dir = sock->dir, *base = sock->base[0] ? sock->base : "cuegw";
    /* Two gateways may share a socket directory (mod_fcgid's) or a host. */
    char full[700];
    snprintf(full, sizeof full, "%s prefix=%s cuebot=%s", sock->key[0] ? sock->key : "-",
             cfg->url_prefix ? cfg->url_prefix : "", cfg->cuebot_endpoint ? cfg->cuebot_endpoint : "");
    uint64_t h = fnv(FNV_START, full, strlen(full));
    snprintf(key, key_n, "%s", full);
    if (dir[0] && (pl->dirfd = open_socket_dir(dir)) >= 0) {
        snprintf(pl->name, sizeof pl->name, "%s-%08x.metrics", base, (unsigned)(h & 0xffffffffu));
        snprintf(pl->path, sizeof pl->path, "%s/%s", dir, pl->name);
        return 0;
    }
    /* ${TMPDIR:-/tmp} is shared with every local user, who may make
     * cuegw-<uid> first, as a directory of theirs or a symbolic link. */
    const char *tmp = getenv("TMPDIR");
    tmp = tmp && tmp[0] == '/' ? tmp : "/tmp";
    char own[40];
    snprintf(own, sizeof own, "cuegw-%ld", (long)geteuid());
    snprintf(pl->path, sizeof pl->path, "%s/%s", tmp, own);
    int parent = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (parent < 0) {
        snprintf(why, sizeof why, "%s", strerror(errno));
    } else {
        pl->dirfd = open_private_dir(parent, own, 1, why, sizeof why);
        close(parent);
        if (pl->dirfd >= 0) {
            snprintf(pl->name, sizeof pl->name, "%016llx.metrics", (unsigned long long)h);
            snprintf(pl->path + strlen(pl->path), sizeof pl->path - strlen(pl->path), "/%s",
                     pl->name);
            return 0;
        }
    }
    log_msg(CG_LOG_ERROR, "metrics: cannot use %s (%s): the counters are kept in memory "
            "instead, so a pool the web server starts shows each process's own numbers "
            "only, and they start again from zero with the process (a --listen pool "
            "still adds up its workers); set METRICS_DIR to a private directory",
            pl->path, why);
    return 1;
}

/* ---- the file ------------------------------------------------------------ */

static int header_ok(const struct metrics_shared *m)
{
    return m->magic == METRICS_MAGIC && m->version == METRICS_VERSION &&
           m->layout == metrics_layout();
}

/* Opens (making it when needed) and maps the file. Another process may be
 * doing the same at the same moment: the one holding the lock sets the file
 * up; one built for another layout is replaced, never added into. */
static struct metrics_shared *map_file(const struct place *pl, const char *key,
                                       struct cg_status *st)
{
    for (int attempt = 0; attempt < 4; attempt++) {
        int fd = openat(pl->dirfd, pl->name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0) {
            failed(st, "cannot open %s: %s", pl->path, strerror(errno));
            return NULL;
        }
        struct stat sb, now;
        if (flock(fd, LOCK_EX) != 0 || fstat(fd, &sb) != 0) {
            failed(st, "cannot lock %s: %s", pl->path, strerror(errno));
            close(fd);
            return NULL;
        }
        if (!S_ISREG(sb.st_mode) || sb.st_uid != geteuid()) {
            failed(st, "%s is not a file of cuegw's user", pl->path);
            close(fd);
            return NULL;
        }
        if (fstatat(pl->dirfd, pl->name, &now, AT_SYMLINK_NOFOLLOW) != 0 ||
            now.st_ino != sb.st_ino || now.st_dev != sb.st_dev) {
            close(fd);          /* replaced while we waited for the lock */
            continue;
        }
        if (sb.st_mode & 077)
            fchmod(fd, 0600);
        size_t size = sizeof(struct metrics_shared);
        int fresh = sb.st_size == 0;
        if (!fresh && (size_t)sb.st_size != size) {
            unlinkat(pl->dirfd, pl->name, 0);   /* another build's file: start a new one */
            close(fd);
            continue;
        }
        if (fresh && ftruncate(fd, (off_t)size) != 0) {
            failed(st, "cannot size %s: %s", pl->path, strerror(errno));
            close(fd);
            return NULL;
        }
        struct metrics_shared *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (m == MAP_FAILED) {
            failed(st, "cannot map %s: %s", pl->path, strerror(errno));
            close(fd);
            return NULL;
        }
        if (!fresh && !header_ok(m)) {
            munmap(m, size);
            unlinkat(pl->dirfd, pl->name, 0);
            close(fd);
            continue;
        }
        if (fresh) {
            m->version = METRICS_VERSION;
            m->layout = metrics_layout();
            m->created_ms = now_ms();
            snprintf(m->key, sizeof m->key, "%.255s", key);
            __atomic_store_n(&m->magic, METRICS_MAGIC, __ATOMIC_RELEASE);
        }
        /* Unlocked by hand: the mapping keeps the open file alive, and
         * with it a flock lock that close alone would not release. */
        flock(fd, LOCK_UN);
        close(fd);
        return m;
    }
    failed(st, "%s keeps being replaced by another process", pl->path);
    return NULL;
}

/* Counters in this process's memory, shared with the children it forks
 * later. Called with claim_mu held or before any thread exists. */
static void map_memory(const char *what)
{
    struct cg_status st;
    void *p = mmap(NULL, sizeof(struct metrics_shared), PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        failed(&st, "no memory for the counters: %s", strerror(errno));
        return;
    }
    struct metrics_shared *m = p;
    m->version = METRICS_VERSION;
    m->layout = metrics_layout();
    m->created_ms = now_ms();
    m->magic = METRICS_MAGIC;
    snprintf(where, sizeof where, "%s", what);
    __atomic_store_n(&shm, m, __ATOMIC_RELEASE);
}

int metrics_open(const struct cg_config *cfg, const struct metrics_socket *sock,
                 struct cg_status *st)
{
    if (metrics_shm() || open_failed)
        return open_failed ? -1 : 0;
    if (schema_init(st))
        return -1;
    char key[700];
    struct place pl = {.dirfd = -1};
    int r = choose_path(cfg, sock, &pl, key, sizeof key, st);
    if (r < 0)
        return -1;
    if (r > 0) {
        map_memory("process memory (the default directory could not be used safely)");
        return metrics_shm() ? 0 : cg_fail(st, CG_UNAVAILABLE, "metrics: %s", where);
    }
    struct metrics_shared *m = map_file(&pl, key, st);
    close(pl.dirfd);
    if (!m)
        return -1;
    snprintf(where, sizeof where, "%.511s", pl.path);
    __atomic_store_n(&in_file, 1, __ATOMIC_RELEASE);
    __atomic_store_n(&shm, m, __ATOMIC_RELEASE);
    return 0;
}

void metrics_ensure(void)
{
    if (!metrics_shm() && !open_failed) {
        pthread_mutex_lock(&claim_mu);
        if (!metrics_shm())
            map_memory("process memory");
        pthread_mutex_unlock(&claim_mu);
    }
    metrics_my_slot();
}
