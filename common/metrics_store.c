/* The shared metrics file: where it is, making it safely, mapping it, and
 * the per-process slots. See metrics.h for the placement rules. */
#include "metrics.h"
#include "metrics_impl.h"

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
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include "schema.h"

const char *const metrics_state_names[5] = {"IDLE", "CONNECTING", "READY",
                                             "TRANSIENT_FAILURE", "SHUTDOWN"};

static struct metrics_shared *shm;
static char where[512];               /* the path, or why there is none */
static int open_failed;
static pthread_mutex_t claim_mu = PTHREAD_MUTEX_INITIALIZER;
static struct metrics_slot *mine;     /* this process's slot */
static int hooks_done;

struct metrics_shared *metrics_shm(void)
{
    return __atomic_load_n(&shm, __ATOMIC_ACQUIRE);
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

/* The method table decides what a series' method index means, so a binary
 * built against another schema must not add into this file. */
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

/* A directory that only we may write to: ours, not writable by others.
 * Made (mode 0700) when missing. */
static int private_dir(const char *what, const char *dir, struct cg_status *st)
{
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return failed(st, "%s: cannot create the directory %s: %s", what, dir, strerror(errno));
    struct stat sb;
    if (lstat(dir, &sb) != 0)
        return failed(st, "%s: cannot use the directory %s: %s", what, dir, strerror(errno));
    if (!S_ISDIR(sb.st_mode))
        return failed(st, "%s: %s is not a directory", what, dir);
    if (sb.st_uid != geteuid() || (sb.st_mode & 0022))
        return failed(st, "%s: %s must belong to cuegw's user and be writable by it alone",
                      what, dir);
    return 0;
}

/* The socket's identity for the default placement: its path without the
 * per-process number lighttpd ("cuegw.sock-3") or mod_fcgid ("1234.5")
 * appends, or its TCP address. Empty when it has neither. */
static void socket_key(int fd, char *dir, size_t dir_n, char *base, size_t base_n,
                       char *key, size_t key_n)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    dir[0] = base[0] = key[0] = '\0';
    if (fd < 0 || getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return;
    if (ss.ss_family == AF_UNIX) {
        struct sockaddr_un *un = (struct sockaddr_un *)&ss;
        size_t n = len > offsetof(struct sockaddr_un, sun_path)
                       ? strnlen(un->sun_path, len - offsetof(struct sockaddr_un, sun_path))
                       : 0;
        if (n == 0 || un->sun_path[0] != '/')
            return;                     /* unnamed or abstract */
        char path[sizeof un->sun_path + 1];
        memcpy(path, un->sun_path, n);
        path[n] = '\0';
        char *slash = strrchr(path, '/');
        *slash = '\0';
        snprintf(dir, dir_n, "%s", slash == path ? "/" : path);
        char *b = slash + 1;
        size_t k = strlen(b);
        while (k > 0 && ((b[k - 1] >= '0' && b[k - 1] <= '9') || b[k - 1] == '-' ||
                         b[k - 1] == '.'))
            k--;
        b[k] = '\0';
        snprintf(base, base_n, "%s", k ? b : "cuegw");
        snprintf(key, key_n, "unix:%s/%s", dir, b);
    } else if (ss.ss_family == AF_INET || ss.ss_family == AF_INET6) {
        char addr[INET6_ADDRSTRLEN] = "?";
        int port;
        if (ss.ss_family == AF_INET) {
            struct sockaddr_in *in = (struct sockaddr_in *)&ss;
            inet_ntop(AF_INET, &in->sin_addr, addr, sizeof addr);
            port = ntohs(in->sin_port);
        } else {
            struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &in6->sin6_addr, addr, sizeof addr);
            port = ntohs(in6->sin6_port);
        }
        snprintf(key, key_n, "tcp:%s:%d", addr, port);
    }
}

/* A directory others may write to (/tmp) is no place for our file. */
static int dir_is_private(const char *dir)
{
    struct stat sb;
    return stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode) && sb.st_uid == geteuid() &&
           !(sb.st_mode & 0022) && access(dir, W_OK | X_OK) == 0;
}

static int choose_path(const struct cg_config *cfg, int listen_fd, char *path, size_t n,
                       char *key, size_t key_n, struct cg_status *st)
{
    if (cfg->metrics_dir) {
        if (private_dir("METRICS_DIR", cfg->metrics_dir, st))
            return -1;
        snprintf(key, key_n, "METRICS_DIR=%s", cfg->metrics_dir);
        snprintf(path, n, "%s/cuegw.metrics", cfg->metrics_dir);
        return 0;
    }
    char dir[300], base[120], sock[400];
    socket_key(listen_fd, dir, sizeof dir, base, sizeof base, sock, sizeof sock);
    /* Two gateways may share a socket directory (mod_fcgid's) or a host. */
    char full[700];
    snprintf(full, sizeof full, "%s prefix=%s cuebot=%s", sock[0] ? sock : "-",
             cfg->url_prefix ? cfg->url_prefix : "", cfg->cuebot_endpoint ? cfg->cuebot_endpoint : "");
    uint64_t h = fnv(FNV_START, full, strlen(full));
    snprintf(key, key_n, "%s", full);
    if (dir[0] && dir_is_private(dir)) {
        snprintf(path, n, "%s/%s-%08x.metrics", dir, base, (unsigned)(h & 0xffffffffu));
        return 0;
    }
    const char *tmp = getenv("TMPDIR");
    char own[300];
    snprintf(own, sizeof own, "%s/cuegw-%ld", tmp && tmp[0] == '/' ? tmp : "/tmp",
             (long)geteuid());
    if (private_dir("the metrics directory (set METRICS_DIR)", own, st))
        return -1;
    snprintf(path, n, "%s/%016llx.metrics", own, (unsigned long long)h);
    return 0;
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
static struct metrics_shared *map_file(const char *path, const char *key, struct cg_status *st)
{
    for (int attempt = 0; attempt < 4; attempt++) {
        int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0) {
            failed(st, "cannot open %s: %s", path, strerror(errno));
            return NULL;
        }
        struct stat sb, now;
        if (flock(fd, LOCK_EX) != 0 || fstat(fd, &sb) != 0) {
            failed(st, "cannot lock %s: %s", path, strerror(errno));
            close(fd);
            return NULL;
        }
        if (!S_ISREG(sb.st_mode) || sb.st_uid != geteuid()) {
            failed(st, "%s is not a file of cuegw's user", path);
            close(fd);
            return NULL;
        }
        if (lstat(path, &now) != 0 || now.st_ino != sb.st_ino || now.st_dev != sb.st_dev) {
            close(fd);          /* replaced while we waited for the lock */
            continue;
        }
        if (sb.st_mode & 077)
            fchmod(fd, 0600);
        size_t size = sizeof(struct metrics_shared);
        int fresh = sb.st_size == 0;
        if (!fresh && (size_t)sb.st_size != size) {
            unlink(path);       /* another build's file: start a new one */
            close(fd);
            continue;
        }
        if (fresh && ftruncate(fd, (off_t)size) != 0) {
            failed(st, "cannot size %s: %s", path, strerror(errno));
            close(fd);
            return NULL;
        }
        struct metrics_shared *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (m == MAP_FAILED) {
            failed(st, "cannot map %s: %s", path, strerror(errno));
            close(fd);
            return NULL;
        }
        if (!fresh && !header_ok(m)) {
            munmap(m, size);
            unlink(path);
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
    failed(st, "%s keeps being replaced by another process", path);
    return NULL;
}

int metrics_open(const struct cg_config *cfg, int listen_fd, struct cg_status *st)
{
    if (metrics_shm() || open_failed)
        return open_failed ? -1 : 0;
    if (schema_init(st))
        return -1;
    char path[700], key[700];
    if (choose_path(cfg, listen_fd, path, sizeof path, key, sizeof key, st))
        return -1;
    struct metrics_shared *m = map_file(path, key, st);
    if (!m)
        return -1;
    snprintf(where, sizeof where, "%.511s", path);
    __atomic_store_n(&shm, m, __ATOMIC_RELEASE);
    return 0;
}

void metrics_ensure(void)
{
    if (!metrics_shm() && !open_failed) {
        pthread_mutex_lock(&claim_mu);
        if (!metrics_shm()) {
            struct cg_status st;
            void *p = mmap(NULL, sizeof(struct metrics_shared), PROT_READ | PROT_WRITE,
                           MAP_SHARED | MAP_ANONYMOUS, -1, 0);
            if (p == MAP_FAILED) {
                failed(&st, "no memory for the counters: %s", strerror(errno));
            } else {
                struct metrics_shared *m = p;
                m->version = METRICS_VERSION;
                m->layout = metrics_layout();
                m->created_ms = now_ms();
                m->magic = METRICS_MAGIC;
                snprintf(where, sizeof where, "process memory");
                __atomic_store_n(&shm, m, __ATOMIC_RELEASE);
            }
        }
        pthread_mutex_unlock(&claim_mu);
    }
    metrics_my_slot();
}
