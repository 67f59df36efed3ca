#include "listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/text_list.h"
#include "ops/metrics.h"

static int is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (IN6_IS_ADDR_LOOPBACK(a))
            return 1;
        return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
    }
    return 0;
}

static const char consent[] =
    "it is not a loopback address, and whoever reaches a FastCGI socket can send any "
    "request with any parameters; give --allow-non-loopback (or ALLOW_NON_LOOPBACK=1) "
    "to listen there anyway, with FCGI_WEB_SERVER_ADDRS naming the web servers";

static int open_unix(const char *path, char *err, size_t errlen)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sun.sun_path) {
        snprintf(err, errlen, "--listen %s: the path is too long for a unix socket", path);
        return -1;
    }
    strcpy(sun.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "--listen %s: %s", path, strerror(errno));
        return -1;
    }
    /* Born 0660: a chmod after bind would leave a moment in which any
     * local user could connect. */
    mode_t old = umask(0117);
    int rc = bind(fd, (struct sockaddr *)&sun, sizeof sun);
    int saved = errno;
    umask(old);
    if (rc != 0 || listen(fd, 1024) != 0) {
        snprintf(err, errlen, "--listen %s: cannot listen there: %s", path,
                 strerror(rc ? saved : errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* "host:port", "[v6]:port" or ":port". */
static int open_tcp(const char *addr, int allow, char *err, size_t errlen)
{
    char host[256];
    const char *colon = strrchr(addr, ':');
    if (!colon || !colon[1] || (size_t)(colon - addr) >= sizeof host) {
        snprintf(err, errlen, "--listen %s: expected /path, host:port or :port", addr);
        return -1;
    }
    size_t hl = (size_t)(colon - addr);
    memcpy(host, addr, hl);
    host[hl] = '\0';
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
        memmove(host, host + 1, hl - 2);
        host[hl - 2] = '\0';
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    int gai = getaddrinfo(host[0] ? host : NULL, colon + 1, &hints, &res);
    if (gai != 0) {
        snprintf(err, errlen, "--listen %s: %s", addr, gai_strerror(gai));
        return -1;
    }
    int fd = -1;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        if (!allow && !is_loopback(ai->ai_addr)) {
            snprintf(err, errlen, "--listen %s: %s", addr, consent);
            break;
        }
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0)
            continue;
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 1024) == 0)
            break;
        snprintf(err, errlen, "--listen %s: cannot listen there: %s", addr, strerror(errno));
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

int listen_open(const char *addr, int allow_non_loopback, char *err, size_t errlen)
{
    snprintf(err, errlen, "--listen %s: no usable address", addr);
    if (addr[0] == '/')
        return open_unix(addr, err, errlen);
    return open_tcp(addr, allow_non_loopback, err, errlen);
}

int listen_check_inherited(int fd, int allow_non_loopback, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return 0;        /* not a socket we can name: the caller checks what it is */
    if (ss.ss_family != AF_INET && ss.ss_family != AF_INET6)
        return 0;
    if (allow_non_loopback || is_loopback((struct sockaddr *)&ss))
        return 0;
    snprintf(err, errlen, "the FastCGI socket on standard input listens on TCP: %s", consent);
    return -1;
}

int peer_filter_parse(struct peer_filter *f, const char *list, char *err, size_t errlen)
{
    memset(f, 0, sizeof *f);
    if (!list)
        return 0;
    const char *p = list, *s;
    size_t n;
    while ((s = text_list_next(&p, &n, 1))) {
        char one[INET6_ADDRSTRLEN + 1];
        if (n >= sizeof one || f->count == LISTEN_MAX_PEERS) {
            snprintf(err, errlen, "FCGI_WEB_SERVER_ADDRS: expected at most %d IP addresses, "
                     "got \"%.40s\"", LISTEN_MAX_PEERS, list);
            return -1;
        }
        memcpy(one, s, n);
        one[n] = '\0';
        if (inet_pton(AF_INET, one, f->peers[f->count].addr) == 1) {
            f->peers[f->count++].family = AF_INET;
        } else if (inet_pton(AF_INET6, one, f->peers[f->count].addr) == 1) {
            f->peers[f->count++].family = AF_INET6;
        } else {
            snprintf(err, errlen, "FCGI_WEB_SERVER_ADDRS: \"%s\" is not an IP address", one);
            return -1;
        }
    }
    return 0;
}

int peer_filter_allows(const struct peer_filter *f, int fd)
{
    if (f->count == 0)
        return 1;
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getpeername(fd, (struct sockaddr *)&ss, &len) != 0)
        return 0;
    const unsigned char *a;
    int family = ss.ss_family;
    if (family == AF_UNIX)
        return 1;
    if (family == AF_INET) {
        a = (const unsigned char *)&((struct sockaddr_in *)&ss)->sin_addr;
    } else if (family == AF_INET6) {
        const struct in6_addr *a6 = &((struct sockaddr_in6 *)&ss)->sin6_addr;
        a = a6->s6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a6)) {     /* an IPv4 peer on a dual-stack socket */
            family = AF_INET;
            a += 12;
        }
    } else {
        return 0;
    }
    for (int i = 0; i < f->count; i++)
        if (f->peers[i].family == family &&
            memcmp(f->peers[i].addr, a, family == AF_INET ? 4 : 16) == 0)
            return 1;
    return 0;
}

void listen_describe(int fd, struct metrics_socket *out)
{
    char *dir = out->dir, *base = out->base, *key = out->key;
    size_t dir_n = sizeof out->dir, base_n = sizeof out->base, key_n = sizeof out->key;
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
        snprintf(base, base_n, "%s", b);
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
