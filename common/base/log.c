#include "base/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/fork_gen.h"
#include "base/outbuf.h"
#include "base/status.h"
#include "base/utf8.h"

static enum log_level threshold = CG_LOG_INFO;
static int as_json;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

/* Every line names the pid: read once per process (fork_gen.h). */
static pid_t pid_cache;
static unsigned pid_generation;

static long self_pid(void)
{
    unsigned gen = fork_generation();
    pid_t p = __atomic_load_n(&pid_cache, __ATOMIC_RELAXED);
    if (!p || __atomic_load_n(&pid_generation, __ATOMIC_RELAXED) != gen) {
        p = getpid();
        __atomic_store_n(&pid_cache, p, __ATOMIC_RELAXED);
        __atomic_store_n(&pid_generation, gen, __ATOMIC_RELAXED);
    }
    return (long)p;
}

void log_setup(enum log_level level, int json)
{
    threshold = level;
    as_json = json;
}

int log_enabled(enum log_level level)
{
    return level >= threshold;
}

/* A line is at most PIPE_BUF bytes, newline included: one write(2) of it
 * to a pipe is atomic. The outbuf over a stack array has limit == cap, so
 * it refuses to grow (it never reallocs the array) and one byte stays free
 * for the newline. */
#define LINE_MAX_BYTES 4096
#define LINE_BUF(mem) {.data = (mem), .cap = sizeof(mem) - 1, .limit = sizeof(mem) - 1}

/* Room for what is not a capped field: the head (time, level, pid), the
 * field names, the numbers (formatted into 256 bytes) and the quotes. The
 * caps are chosen so that a line of every field at its cap still fits. */
#define LINE_FIXED_MAX 700
_Static_assert(LINE_FIXED_MAX + LOG_CAP_METHOD + LOG_CAP_PATH + LOG_CAP_REQUEST_ID +
               LOG_CAP_SUBJECT + LOG_CAP_ERROR < LINE_MAX_BYTES,
               "an access line with every field at its cap must fit");
_Static_assert(LINE_FIXED_MAX + LOG_CAP_REQUEST_ID + LOG_CAP_MSG < LINE_MAX_BYTES,
               "a message line with every field at its cap must fit");

/* ---- escaping ---------------------------------------------------------- */

/* Characters that a terminal or a log viewer may act on rather than show:
 * the C1 controls (U+0085 is a line break to some), the line and paragraph
 * separators, and the bidirectional formatting characters, which reorder
 * what is shown around them. */
static int unicode_control(uint32_t cp)
{
    return (cp >= 0x80 && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029 || cp == 0x200E ||
           cp == 0x200F || (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

static const char hex_digits[] = "0123456789abcdef";

/* Writes `lead` and then v as `digits` hex digits into e. */
static size_t put_hex(char *e, const char *lead, uint32_t v, int digits)
{
    size_t k = strlen(lead);
    memcpy(e, lead, k);
    for (int d = digits - 1; d >= 0; d--)
        e[k++] = hex_digits[(v >> (4 * d)) & 15];
    return k;
}

/* The escaped form of one byte below 0x80 (or of a byte that starts no
 * valid UTF-8 sequence, when `invalid`), into e (8 bytes); 0 when the byte
 * is written as itself. */
static size_t escape_byte(char *e, unsigned char c, int invalid, enum log_escape how)
{
    if (how == LOG_ESC_JSON) {
        if (invalid)
            return put_hex(e, "\\u", 0xFFFD, 4);
        switch (c) {
        case '"': return put_hex(e, "\\\"", 0, 0);
        case '\\': return put_hex(e, "\\\\", 0, 0);
        case '\n': return put_hex(e, "\\n", 0, 0);
        case '\r': return put_hex(e, "\\r", 0, 0);
        case '\t': return put_hex(e, "\\t", 0, 0);
        default: return c < 0x20 || c == 0x7F ? put_hex(e, "\\u", c, 4) : 0;
        }
    }
    if (invalid || c < 0x20 || c == 0x7F || (c == ' ' && how == LOG_ESC_BARE) ||
        (c == '"' && how != LOG_ESC_TEXT))
        return put_hex(e, "\\x", c, 2);
    return c == '\\' ? put_hex(e, "\\\\", 0, 0) : 0;
}

size_t log_escape(char *out, size_t cap, const char *s, size_t n, enum log_escape how)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    size_t len = 0, safe = 0;       /* safe: a cut point with room for "..." */
    while (p < end) {
        char e[8];
        const void *unit = e;
        size_t in = 1, k;
        uint32_t cp;
        if (*p < 0x80) {
            k = escape_byte(e, *p, 0, how);
        } else if (!(in = utf8_decode(p, (size_t)(end - p), &cp))) {
            in = 1;
            k = escape_byte(e, *p, 1, how);
        } else if (unicode_control(cp)) {
            k = put_hex(e, "\\u", cp, 4);
        } else {
            k = 0;
        }
        if (k == 0) {               /* the character as it is */
            unit = p;
            k = in;
        }
        if (len + k > cap)
            break;
        memcpy(out + len, unit, k);
        len += k;
        p += in;
        if (len + 3 <= cap)
            safe = len;
    }
    if (p == end)
        return len;
    memcpy(out + safe, "...", 3);
    return safe + 3;
}

/* Appends s[0..n) escaped, at most cap bytes of it (less when the line
 * has less room left, which the caps above rule out). */
static void put_escaped(struct outbuf *ob, const char *s, size_t n, size_t cap,
                        enum log_escape how)
{
    size_t room = ob->cap - ob->len;
    if (!s || room < 3)
        return;
    ob->len += log_escape(ob->data + ob->len, cap < room ? cap : room, s, n, how);
}

/* A JSON string member's value, or null for NULL. */
static void put_json(struct outbuf *ob, const char *s, size_t cap)
{
    if (!s) {
        outbuf_puts_lit(ob, "null");
        return;
    }
    outbuf_putc(ob, '"');
    put_escaped(ob, s, strlen(s), cap, LOG_ESC_JSON);
    outbuf_putc(ob, '"');
}

/* An unquoted text field: "-" for none, so the fields never run together. */
static void put_bare(struct outbuf *ob, const char *s, size_t n, size_t cap)
{
    if (!s || n == 0)
        outbuf_putc(ob, '-');
    else
        put_escaped(ob, s, n, cap, LOG_ESC_BARE);
}

/* Builders leave the last byte of the line buffer free, and a line the cap
 * cut short keeps what fitted: the newline goes in here. */
static void emit(struct outbuf *ob)
{
    ob->data[ob->len++] = '\n';
    ssize_t w = write(STDERR_FILENO, ob->data, ob->len);
    (void)w;                          /* nowhere left to report a failure */
}

static void timestamp(char *out, size_t n)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t k = strftime(out, n, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + k, n - k, ".%03ldZ", ts.tv_nsec / 1000000);
}

/* Writes the common start of a line: time, level, pid. */
static void line_start(struct outbuf *ob, enum log_level level)
{
    char ts[40], head[128];
    timestamp(ts, sizeof ts);
    int n;
    if (as_json)
        n = snprintf(head, sizeof head, "{\"time\":\"%s\",\"level\":\"%s\",\"pid\":%ld",
                     ts, level_names[level], self_pid());
    else
        n = snprintf(head, sizeof head, "%s cuegw[%ld] %s: ", ts, self_pid(),
                     level_names[level]);
    outbuf_put(ob, head, (size_t)n);
}

/* One line holding `text`, about request_id when it is not NULL. */
static void write_line(enum log_level level, const char *request_id, const char *text)
{
    char mem[LINE_MAX_BYTES];
    struct outbuf ob = LINE_BUF(mem);
    line_start(&ob, level);
    if (as_json) {
        if (request_id) {
            outbuf_puts_lit(&ob, ",\"request_id\":");
            put_json(&ob, request_id, LOG_CAP_REQUEST_ID);
        }
        outbuf_puts_lit(&ob, ",\"msg\":");
        put_json(&ob, text, LOG_CAP_MSG);
        outbuf_putc(&ob, '}');
    } else {
        if (request_id) {
            outbuf_puts_lit(&ob, "request ");
            put_bare(&ob, request_id, strlen(request_id), LOG_CAP_REQUEST_ID);
            outbuf_puts_lit(&ob, ": ");
        }
        put_escaped(&ob, text, strlen(text), LOG_CAP_MSG, LOG_ESC_TEXT);
    }
    emit(&ob);
}

__attribute__((format(printf, 3, 0)))
static void log_text(enum log_level level, const char *request_id, const char *fmt, va_list ap)
{
    /* One byte over the cap, so a message vsnprintf cut still ends in
     * log_escape's "...". */
    char text[LOG_CAP_MSG + 2];
    vsnprintf(text, sizeof text, fmt, ap);
    write_line(level, request_id, text);
}

void log_request(enum log_level level, const char *request_id, const char *fmt, ...)
{
    if (level < threshold)
        return;
    va_list ap;
    va_start(ap, fmt);
    log_text(level, request_id, fmt, ap);
    va_end(ap);
}

static size_t len_or_0(const char *s)
{
    return s ? strlen(s) : 0;
}

void log_access(const struct access_entry *e)
{
    if (CG_LOG_INFO < threshold)
        return;
    char mem[LINE_MAX_BYTES];
    struct outbuf ob = LINE_BUF(mem);
    char num[256];
    int n;
    line_start(&ob, CG_LOG_INFO);
    if (as_json) {
        outbuf_puts_lit(&ob, ",\"msg\":\"access\",\"method\":\"");
        put_escaped(&ob, e->http_method, len_or_0(e->http_method), LOG_CAP_METHOD, LOG_ESC_JSON);
        outbuf_puts_lit(&ob, "\",\"path\":\"");
        put_escaped(&ob, e->path, e->path ? e->path_len : 0, LOG_CAP_PATH, LOG_ESC_JSON);
        n = snprintf(num, sizeof num,
                     "\",\"status\":%d,\"code\":%d,\"duration_ms\":%.3f,\"bytes_in\":%zu,\"bytes_out\":%zu,\"request_id\":",
                     e->http, e->code, (double)e->duration_us / 1000.0, e->bytes_in, e->bytes_out);
        outbuf_put(&ob, num, (size_t)n);
        put_json(&ob, e->request_id ? e->request_id : "", LOG_CAP_REQUEST_ID);
        outbuf_puts_lit(&ob, ",\"subject\":");
        put_json(&ob, e->subject, LOG_CAP_SUBJECT);
        if (e->error) {
            outbuf_puts_lit(&ob, ",\"error\":");
            put_json(&ob, e->error, LOG_CAP_ERROR);
        }
        outbuf_putc(&ob, '}');
    } else {
        outbuf_puts_lit(&ob, "access ");
        put_bare(&ob, e->http_method, len_or_0(e->http_method), LOG_CAP_METHOD);
        outbuf_putc(&ob, ' ');
        put_bare(&ob, e->path, e->path ? e->path_len : 0, LOG_CAP_PATH);
        n = snprintf(num, sizeof num, " status=%d code=%s duration_ms=%.3f in=%zu out=%zu rid=",
                     e->http, cg_code_name(e->code), (double)e->duration_us / 1000.0,
                     e->bytes_in, e->bytes_out);
        outbuf_put(&ob, num, (size_t)n);
        put_bare(&ob, e->request_id, len_or_0(e->request_id), LOG_CAP_REQUEST_ID);
        outbuf_puts_lit(&ob, " sub=");
        put_bare(&ob, e->subject, len_or_0(e->subject), LOG_CAP_SUBJECT);
        if (e->error) {
            outbuf_puts_lit(&ob, " error=\"");
            put_escaped(&ob, e->error, strlen(e->error), LOG_CAP_ERROR, LOG_ESC_QUOTED);
            outbuf_putc(&ob, '"');
        }
    }
    emit(&ob);
}
