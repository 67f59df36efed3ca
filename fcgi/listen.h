/* Who may talk to the FastCGI socket. Whoever connects to it can send any
 * request with any parameters (REMOTE_USER, HTTPS, a forged client
 * address), so the socket is the trust boundary:
 *  - a unix socket is created mode 0660 (owner and group: the web server's
 *    group), never world-reachable even for an instant;
 *  - a TCP socket on anything but a loopback address needs the operator's
 *    explicit consent (--allow-non-loopback or ALLOW_NON_LOOPBACK=1), and
 *    then FCGI_WEB_SERVER_ADDRS, libfcgi's convention, names the web
 *    servers that may connect: others are closed at once. */
#ifndef CUEGW_LISTEN_H
#define CUEGW_LISTEN_H

#include <stddef.h>

#include "ops/metrics.h"

/* Opens a listening socket at addr: "/path" (unix), "host:port",
 * "[v6addr]:port" or ":port" (every interface). Returns the fd, or -1 with
 * a message in err. */
int listen_open(const char *addr, int allow_non_loopback, char *err, size_t errlen);

/* For a socket handed over on fd 0 (a web server or spawn-fcgi made it):
 * 0 when it may be served, -1 with a message when it is TCP on a
 * non-loopback address and consent was not given. */
int listen_check_inherited(int fd, int allow_non_loopback, char *err, size_t errlen);

/* FCGI_WEB_SERVER_ADDRS: a comma list of IPv4 or IPv6 addresses. */
#define LISTEN_MAX_PEERS 32
struct peer_filter {
    int count;                            /* 0: any peer */
    struct {
        int family;
        unsigned char addr[16];
    } peers[LISTEN_MAX_PEERS];
};

/* Parses the list (NULL or blank: any peer). -1 with a message for an
 * entry that is not an address. */
int peer_filter_parse(struct peer_filter *f, const char *list, char *err, size_t errlen);

/* Whether the peer of an accepted connection may talk to us: always for a
 * unix socket; for TCP, when the list is empty or names its address. */
int peer_filter_allows(const struct peer_filter *f, int fd);

/* Names the socket on fd for the pool's shared counters: a unix socket's
 * directory and file name without the per-process number that lighttpd
 * ("cuegw.sock-3") or mod_fcgid ("1234.5") appends, or a TCP address. All
 * empty for fd -1, an unnamed or abstract socket. */
void listen_describe(int fd, struct metrics_socket *out);

#endif
