#include "json/json_write.h"

#include "base/utf8.h"

/* 1 for bytes the fast loop must stop at: controls, '"', '\\', non-ASCII. */
static const unsigned char special[256] = {
    [0 ... 0x1F] = 1, ['"'] = 1, ['\\'] = 1, [0x80 ... 0xFF] = 1,
};

static void write_escape(struct outbuf *ob, unsigned char c)
{
    static const char hex[] = "0123456789abcdef";
    char esc[6] = {'\\', 0, 0, 0, 0, 0};
    size_t n = 2;
    switch (c) {
    case '"': esc[1] = '"'; break;
    case '\\': esc[1] = '\\'; break;
    case '\b': esc[1] = 'b'; break;
    case '\f': esc[1] = 'f'; break;
    case '\n': esc[1] = 'n'; break;
    case '\r': esc[1] = 'r'; break;
    case '\t': esc[1] = 't'; break;
    default:
        esc[1] = 'u'; esc[2] = '0'; esc[3] = '0';
        esc[4] = hex[c >> 4]; esc[5] = hex[c & 15];
        n = 6;
    }
    outbuf_put(ob, esc, n);
}

void json_write_string(struct outbuf *ob, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    outbuf_putc(ob, '"');
    while (p < end) {
        const unsigned char *run = p;
        while (p < end && !special[*p])
            p++;
        if (p > run)
            outbuf_put(ob, run, (size_t)(p - run));
        if (p == end)
            break;
        if (*p < 0x80) {
            write_escape(ob, *p++);
            continue;
        }
        uint32_t cp;
        size_t len = utf8_decode(p, (size_t)(end - p), &cp);
        if (len) {
            outbuf_put(ob, p, len);
            p += len;
        } else {
            outbuf_put(ob, "\xEF\xBF\xBD", 3);
            p++;
        }
    }
    outbuf_putc(ob, '"');
}
