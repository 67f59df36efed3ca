/* Logging to stderr, which every web server we run under turns into its
 * error log. Each line is formatted in full and written with one write(2)
 * of at most PIPE_BUF bytes, so lines from the workers of a pool never
 * interleave.
 *
 * Nothing a client or Cuebot sends can forge or break a line (SPEC §4):
 * every value goes through log_escape, and each field has a cap of its own
 * (LOG_CAP_*), so whatever one field holds, every other field of the line
 * still appears in full. In text lines the escapes are
 *   \xHH     a byte below 0x20, DEL (0x7f), or a byte that is not valid UTF-8
 *   \uHHHH   a C1 control (U+0080..U+009F), a line or paragraph separator
 *            (U+2028, U+2029) or a bidirectional formatting character
 *   \\       a backslash
 * and, where a space or a quote would end the field, \x20 and \x22. None
 * holds a space, a quote or a line break. JSON lines escape the same
 * characters as \uHHHH (\n, \r, \t for those three) and write an invalid
 * byte as \ufffd; they are valid JSON whatever the input. A value cut at
 * its cap ends in "...".
 *
 * Nothing secret may be passed here: callers log names of settings and
 * reasons, never values of secrets or tokens. */
#ifndef CUEGW_LOG_H
#define CUEGW_LOG_H

#include <stddef.h>
#include <stdint.h>

enum log_level { CG_LOG_DEBUG = 0, CG_LOG_INFO, CG_LOG_WARN, CG_LOG_ERROR };

/* Sets the threshold and the format (text or JSON lines). Before the first
 * call, info and above are written as text. */
void log_setup(enum log_level level, int json);

int log_enabled(enum log_level level);

/* A message about one request: "request <id>: <text>" as text, and a
 * separate "request_id" member in JSON, so either form can be searched by
 * the id the client saw in X-Request-Id. A NULL id: a message about the
 * process (log_msg). */
void log_request(enum log_level level, const char *request_id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_msg(level, ...) log_request((level), NULL, __VA_ARGS__)

/* One request, as written to the access line at info. */
struct access_entry {
    const char *http_method;      /* "POST" */
    const char *path;             /* as requested; escaped and cut for the log */
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

/* Output caps of the fields, in bytes as written (escapes included). */
#define LOG_CAP_METHOD 48
#define LOG_CAP_PATH 1024
#define LOG_CAP_REQUEST_ID 264        /* CG_MAX_REQUEST_ID, every byte doubled */
#define LOG_CAP_SUBJECT 264
#define LOG_CAP_ERROR 1024
#define LOG_CAP_MSG 2048

/* Where a value goes, which decides what besides the always-escaped
 * characters must be escaped. */
enum log_escape {
    LOG_ESC_TEXT,       /* a free-text message: spaces and quotes are kept */
    LOG_ESC_QUOTED,     /* inside "...": a quote is escaped */
    LOG_ESC_BARE,       /* an unquoted field: spaces and quotes are escaped */
    LOG_ESC_JSON        /* the inside of a JSON string */
};

/* Writes s[0..n) escaped into out, at most cap bytes (cap >= 3), and
 * returns the length written. A value that does not fit is cut between two
 * characters and ends in "...". No terminating NUL is written. */
size_t log_escape(char *out, size_t cap, const char *s, size_t n, enum log_escape how);

#endif
