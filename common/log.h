/* Logging to stderr, which every web server we run under turns into its
 * error log. Each line is formatted in full and written with one write(2),
 * so lines from the workers of a pool never interleave.
 *
 * Nothing secret may be passed here: callers log names of settings and
 * reasons, never values of secrets or tokens. */
#ifndef CUEGW_LOG_H
#define CUEGW_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* Sets the threshold and the format (text or JSON lines). Before the first
 * call, info and above are written as text. */
void log_setup(enum log_level level, int json);

int log_enabled(enum log_level level);

void log_msg(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A message about one request: "request <id>: <text>" as text, and a
 * separate "request_id" member in JSON, so either form can be searched by
 * the id the client saw in X-Request-Id. */
void log_request(enum log_level level, const char *request_id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* One request, as written to the access line at info. */
struct access_entry {
    const char *http_method;      /* "POST" */
    const char *path;             /* as requested, cut for the log */
    size_t path_len;
    int http;                     /* HTTP status sent */
    int code;                     /* gRPC code of the answer */
    int64_t duration_us;
    size_t bytes_in, bytes_out;
    const char *request_id;
    const char *subject;          /* token subject or remote user; may be NULL */
    const char *error;            /* error message for failed calls; may be NULL */
};

void log_access(const struct access_entry *e);

#endif
