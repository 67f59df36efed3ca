/* Web origins (RFC 6454): reading "scheme://host[:port]" and lists of them
 * (CORS_ALLOWED_ORIGINS). A text format only: what an origin is allowed to
 * do is the HTTP layer's business (http/cors.h). */
#ifndef CUEGW_ORIGIN_H
#define CUEGW_ORIGIN_H

#include <stddef.h>

#include "base/status.h"

/* One site: scheme, host and port, as compared for "same origin". */
struct origin_site {
    int https;
    const char *host;           /* not NUL-terminated */
    size_t host_len;
    long port;                  /* the scheme's default when none is written */
};

/* Reads "host[:port]" of n bytes (host may be an IPv6 "[...]") into out,
 * whose `https` must already be set (it picks the default port).
 * Returns 0, or -1 when it is not a host and port. */
int origin_host_port(const char *s, size_t n, struct origin_site *out);

/* Reads a serialized http or https origin, nothing after the port. */
int origin_parse(const char *o, struct origin_site *out);

/* Whether two sites are the same origin (host case-insensitively). */
int origin_same(const struct origin_site *a, const struct origin_site *b);

/* A list as CORS_ALLOWED_ORIGINS writes it, read once at start-up. */
struct origin_list {
    size_t n;                   /* named origins ("null" included) */
    struct { const char *s; size_t len; } *entry;   /* spans of the text */
    int wildcard;               /* "*" is listed */
};

/* Reads `text` (which must outlive the list): each entry is "*", "null" or
 * scheme://host[:port] with no path. An entry such as "example.com" or
 * "https://example.com/" would match no Origin a browser sends, so it is
 * refused rather than left to refuse the site it was meant to allow.
 * Returns 0, or -1 with st naming `setting` and quoting the entry. */
int origin_list_parse(struct origin_list *l, const char *setting, const char *text,
                      struct cg_status *st);
void origin_list_free(struct origin_list *l);

/* How a list names an origin a browser sent. */
enum origin_listed { ORIGIN_NOT_LISTED = 0, ORIGIN_LISTED, ORIGIN_BY_WILDCARD };

/* By itself wins over the wildcard, wherever each stands in the list.
 * Only a plain origin (printable ASCII, no blank, comma or quote, at most
 * 512 bytes) can be listed, so what is echoed back is always safe in a
 * header. Scheme and host compare case-insensitively. */
enum origin_listed origin_list_find(const struct origin_list *l, const char *origin);

#endif
