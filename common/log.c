#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "outbuf.h"
#include "json_write.h"

static enum log_level threshold = LOG_INFO;
static int as_json;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

/* getpid is a system call, and every access line names the pid: it is read
 * once, and again in a forked child (the pool's workers). */
static pid_t pid_cache;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void forget_pid(void)
{
    __atomic_store_n(&pid_cache, 0, __ATOMIC_RELAXED);
}

static void watch_forks(void)
{
    pthread_atfork(NULL, NULL, forget_pid);
}

static long self_pid(void)
{
    pthread_once(&atfork_once, watch_forks);
    pid_t p = __atomic_load_n(&pid_cache, __ATOMIC_RELAXED);
    if (!p) {
        p = getpid();
        __atomic_store_n(&pid_cache, p, __ATOMIC_RELAXED);
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

/* Lines are capped: a log line is a diagnosis, not a payload. The outbuf
 * over a stack array has limit == cap, so it refuses to grow (it never
 * reallocs the array) and one byte stays free for the newline. */
#define LINE_MAX_BYTES 2048
#define LINE_BUF(mem) {.data = (mem), .cap = sizeof(mem) - 1, .limit = sizeof(mem) - 1}

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
            json_write_string(&ob, request_id, strlen(request_id));
        }
        outbuf_puts_lit(&ob, ",\"msg\":");
        json_write_string(&ob, text, strlen(text));
        outbuf_putc(&ob, '}');
    } else {
        if (request_id) {
            outbuf_puts_lit(&ob, "request ");
            outbuf_put(&ob, request_id, strlen(request_id));
            outbuf_puts_lit(&ob, ": ");
        }
        outbuf_put(&ob, text, strlen(text));
    }
    emit(&ob);
}

__attribute__((format(printf, 3, 0)))
static void log_text(enum log_level level, const char *request_id, const char *fmt, va_list ap)
{
    char text[1024];
    vsnprintf(text, sizeof text, fmt, ap);
    write_line(level, request_id, text);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    if (level < threshold)
        return;
    va_list ap;
    va_start(ap, fmt);
    log_text(level, NULL, fmt, ap);
    va_end(ap);
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

/* Text lines quote nothing, so a value must not carry spaces or control
 * characters that would break the fields apart. */
static void put_field(struct outbuf *ob, const char *s, size_t n)
{
    if (!s || n == 0) {
        outbuf_putc(ob, '-');
        return;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        outbuf_putc(ob, (c <= ' ' || c >= 0x7f || c == '"') ? '?' : (char)c);
    }
}

void log_access(const struct access_entry *e)
{
    if (LOG_INFO < threshold)
        return;
    char mem[LINE_MAX_BYTES];
    struct outbuf ob = LINE_BUF(mem);
    size_t plen = e->path_len > 256 ? 256 : e->path_len;
    char num[256];
    int n;
    line_start(&ob, LOG_INFO);
    if (as_json) {
        outbuf_puts_lit(&ob, ",\"msg\":\"access\",\"method\":");
        json_write_string(&ob, e->http_method ? e->http_method : "", e->http_method ? strlen(e->http_method) : 0);
        outbuf_puts_lit(&ob, ",\"path\":");
        json_write_string(&ob, e->path ? e->path : "", e->path ? plen : 0);
        n = snprintf(num, sizeof num,
                     ",\"status\":%d,\"code\":%d,\"duration_ms\":%.3f,\"bytes_in\":%zu,\"bytes_out\":%zu,\"request_id\":",
                     e->http, e->code, (double)e->duration_us / 1000.0, e->bytes_in, e->bytes_out);
        outbuf_put(&ob, num, (size_t)n);
        json_write_string(&ob, e->request_id ? e->request_id : "", e->request_id ? strlen(e->request_id) : 0);
        outbuf_puts_lit(&ob, ",\"subject\":");
        if (e->subject)
            json_write_string(&ob, e->subject, strlen(e->subject));
        else
            outbuf_puts_lit(&ob, "null");
        if (e->error) {
            outbuf_puts_lit(&ob, ",\"error\":");
            json_write_string(&ob, e->error, strlen(e->error));
        }
        outbuf_putc(&ob, '}');
    } else {
        outbuf_puts_lit(&ob, "access ");
        put_field(&ob, e->http_method, e->http_method ? strlen(e->http_method) : 0);
        outbuf_putc(&ob, ' ');
        put_field(&ob, e->path, plen);
        n = snprintf(num, sizeof num, " status=%d code=%s duration_ms=%.3f in=%zu out=%zu rid=",
                     e->http, cg_code_name(e->code), (double)e->duration_us / 1000.0,
                     e->bytes_in, e->bytes_out);
        outbuf_put(&ob, num, (size_t)n);
        put_field(&ob, e->request_id, e->request_id ? strlen(e->request_id) : 0);
        outbuf_puts_lit(&ob, " sub=");
        put_field(&ob, e->subject, e->subject ? strlen(e->subject) : 0);
        if (e->error) {
            outbuf_puts_lit(&ob, " error=\"");
            for (const char *p = e->error; *p; p++)
                outbuf_putc(&ob, (*p == '"' || (unsigned char)*p < ' ') ? '\'' : *p);
            outbuf_putc(&ob, '"');
        }
    }
    emit(&ob);
}
