/* Trust boundaries: the log escaper on every class of byte, whole access
 * and message lines with hostile fields (in text and JSON), and the static
 * token compare. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/auth.h"
#include "base/ct_equal.h"
#include "base/log.h"
#include "unit.h"

static void check_escape(const char *in, size_t n, enum log_escape how, const char *want)
{
    char out[256];
    size_t k = log_escape(out, sizeof out, in, n, how);
    CHECK_TEXT(out, k, want);
}

#define ESC(lit, how, want) check_escape((lit), sizeof(lit) - 1, (how), (want))

static void test_escape_classes(void)
{
    /* Plain printable ASCII and valid UTF-8 pass as they are. */
    ESC("GetShows", LOG_ESC_BARE, "GetShows");
    ESC("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x8e\xac", LOG_ESC_TEXT, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x8e\xac");
    /* C0 controls, CR, LF, ESC, NUL and DEL: \xHH in every text form. */
    ESC("a\rb\nc\x1b[31md", LOG_ESC_TEXT, "a\\x0db\\x0ac\\x1b[31md");
    ESC("\t\x01\x1f", LOG_ESC_QUOTED, "\\x09\\x01\\x1f");
    ESC("x\0y", LOG_ESC_BARE, "x\\x00y");
    ESC("del\x7f", LOG_ESC_TEXT, "del\\x7f");
    /* C1 controls as UTF-8 (U+0085 NEL, U+009B CSI, U+0080, U+009F). */
    ESC("a\xc2\x85z", LOG_ESC_TEXT, "a\\u0085z");
    ESC("\xc2\x9b" "2J\xc2\x80\xc2\x9f", LOG_ESC_BARE, "\\u009b2J\\u0080\\u009f");
    /* U+00A0 is past the C1 range: kept. */
    ESC("\xc2\xa0", LOG_ESC_TEXT, "\xc2\xa0");
    /* Line and paragraph separators, bidirectional overrides. */
    ESC("\xe2\x80\xa8\xe2\x80\xa9\xe2\x80\xae\xe2\x81\xa6", LOG_ESC_TEXT,
        "\\u2028\\u2029\\u202e\\u2066");
    /* Invalid UTF-8: stray continuation, overlong, surrogate, truncated, F5+. */
    ESC("\x80", LOG_ESC_TEXT, "\\x80");
    ESC("\xc0\xaf", LOG_ESC_TEXT, "\\xc0\\xaf");
    ESC("\xed\xa0\x80", LOG_ESC_TEXT, "\\xed\\xa0\\x80");
    ESC("ok\xe2\x82", LOG_ESC_TEXT, "ok\\xe2\\x82");
    ESC("\xff\xf5", LOG_ESC_BARE, "\\xff\\xf5");
    /* A backslash is doubled, so "\x0a" typed by a client stays tellable
     * from an escaped line feed. */
    ESC("a\\x0a", LOG_ESC_TEXT, "a\\\\x0a");
    /* Spaces and quotes: kept in free text, escaped where they would end
     * the field. */
    ESC("say \"hi\"", LOG_ESC_TEXT, "say \"hi\"");
    ESC("say \"hi\"", LOG_ESC_QUOTED, "say \\x22hi\\x22");
    ESC("a b=c", LOG_ESC_BARE, "a\\x20b=c");
    /* JSON: the same characters as JSON escapes; invalid bytes as U+FFFD. */
    ESC("q\"b\\\r\n\t\x1b\x7f", LOG_ESC_JSON, "q\\\"b\\\\\\r\\n\\t\\u001b\\u007f");
    ESC("\xc2\x85\xe2\x80\xa8\xff", LOG_ESC_JSON, "\\u0085\\u2028\\ufffd");
    ESC("caf\xc3\xa9 ok", LOG_ESC_JSON, "caf\xc3\xa9 ok");
}

static void test_escape_caps(void)
{
    char out[64];
    /* Fits exactly: no marker. */
    CHECK_TEXT(out, log_escape(out, 5, "abcde", 5, LOG_ESC_BARE), "abcde");
    /* One over: cut, with room made for "...". */
    CHECK_TEXT(out, log_escape(out, 5, "abcdef", 6, LOG_ESC_BARE), "ab...");
    /* An escape is never cut in half, nor a UTF-8 sequence. */
    CHECK_TEXT(out, log_escape(out, 8, "a\x1b\x1b\x1b", 4, LOG_ESC_TEXT), "a\\x1b...");
    CHECK_TEXT(out, log_escape(out, 7, "a\x1b\x1b\x1b", 4, LOG_ESC_TEXT), "a...");
    CHECK_TEXT(out, log_escape(out, 7, "ab\xe2\x82\xac\xe2\x82\xac", 8, LOG_ESC_TEXT), "ab...");
    CHECK_TEXT(out, log_escape(out, 9, "ab\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac", 11, LOG_ESC_TEXT),
               "ab\xe2\x82\xac...");
    CHECK_TEXT(out, log_escape(out, 10, "", 0, LOG_ESC_JSON), "");
    /* Never past cap, whatever the input. */
    char big[600];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)(i * 37);
    for (size_t cap = 3; cap < sizeof out; cap++)
        for (int how = LOG_ESC_TEXT; how <= LOG_ESC_JSON; how++)
            CHECK(log_escape(out, cap, big, sizeof big, (enum log_escape)how) <= cap);
}

/* What log_* wrote to stderr while fn ran (NUL-terminated). */
static char *capture(void (*fn)(void), size_t *len)
{
    FILE *f = tmpfile();
    int saved = dup(2);
    dup2(fileno(f), 2);
    fn();
    dup2(saved, 2);
    close(saved);
    off_t n = lseek(fileno(f), 0, SEEK_END);
    char *buf = calloc(1, (size_t)n + 1);
    *len = pread(fileno(f), buf, (size_t)n, 0) == n ? (size_t)n : 0;
    fclose(f);
    return buf;
}

static char long_method[3001];
static const char hostile_sub[] = "eve\r\n2026-01-01T00:00:00.000Z cuegw[1] info: access POST / status=200\x1b[2J \"x\xc2\x85\xff";
static const char hostile_err[] = "bad\r\ncuegw[1] info: access forged\x7f\xc2\x9b\xc0 \"quoted\"";

static void write_hostile_access(void)
{
    struct access_entry e = {
        .http_method = long_method, .path = "/show.ShowInterface/GetShows\nx", .path_len = 30,
        .http = 405, .code = 12, .duration_us = 1234, .bytes_in = 1, .bytes_out = 2,
        .request_id = "rid-hostile", .subject = hostile_sub, .error = hostile_err,
    };
    log_access(&e);
}

static void write_hostile_message(void)
{
    log_request(CG_LOG_WARN, "rid-msg", "Cuebot answered INTERNAL: %s", hostile_err);
}

static int count_char(const char *s, size_t n, char c)
{
    int k = 0;
    for (size_t i = 0; i < n; i++)
        k += s[i] == c;
    return k;
}

static int all_printable_ascii_or_utf8_text(const char *s, size_t n)
{
    for (size_t i = 0; i + 1 < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f || (c == 0xc2 && (unsigned char)s[i + 1] < 0xa0))
            return 0;
    }
    return 1;
}

static void test_lines(void)
{
    memset(long_method, 'M', 3000);
    size_t n;
    log_setup(CG_LOG_INFO, 0);
    char *line = capture(write_hostile_access, &n);
    CHECK(n > 0 && n < 4096 && count_char(line, n, '\n') == 1 && line[n - 1] == '\n');
    CHECK(all_printable_ascii_or_utf8_text(line, n));
    /* Every field is there, in order, after a method cut to its cap. */
    CHECK(strstr(line, " info: access MMMM") != NULL);
    CHECK(strstr(line, "M... /show.ShowInterface/GetShows\\x0ax status=405 code=UNIMPLEMENTED "
                       "duration_ms=1.234 in=1 out=2 rid=rid-hostile sub=eve\\x0d\\x0a") != NULL);
    CHECK(strstr(line, "\\x1b[2J\\x20\\x22x\\u0085\\xff error=\"bad\\x0d\\x0acuegw[1] info: "
                       "access forged\\x7f\\u009b\\xc0 \\x22quoted\\x22\"\n") != NULL);
    free(line);

    log_setup(CG_LOG_INFO, 1);
    line = capture(write_hostile_access, &n);
    CHECK(n > 0 && n < 4096 && count_char(line, n, '\n') == 1);
    CHECK(all_printable_ascii_or_utf8_text(line, n));
    CHECK(strstr(line, "\"method\":\"MMMM") != NULL && strstr(line, "M...\",\"path\":") != NULL);
    CHECK(strstr(line, "\"subject\":\"eve\\r\\n2026") != NULL);
    CHECK(strstr(line, "\\u001b[2J \\\"x\\u0085\\ufffd\",\"error\":\"bad\\r\\ncuegw[1] info: access "
                       "forged\\u007f\\u009b\\ufffd \\\"quoted\\\"\"}\n") != NULL);
    free(line);

    line = capture(write_hostile_message, &n);
    CHECK(count_char(line, n, '\n') == 1 && all_printable_ascii_or_utf8_text(line, n));
    CHECK(strstr(line, "\"request_id\":\"rid-msg\",\"msg\":\"Cuebot answered INTERNAL: bad\\r\\n") != NULL);
    free(line);

    log_setup(CG_LOG_INFO, 0);
    line = capture(write_hostile_message, &n);
    CHECK(count_char(line, n, '\n') == 1 && all_printable_ascii_or_utf8_text(line, n));
    CHECK(strstr(line, " warn: request rid-msg: Cuebot answered INTERNAL: bad\\x0d\\x0acuegw[1] "
                       "info: access forged\\x7f\\u009b\\xc0 \"quoted\"\n") != NULL);
    free(line);
}

static void test_token_compare(void)
{
    CHECK(ct_equal("s3cret-token", 12, "s3cret-token", 12));
    CHECK(!ct_equal("s3cret-token", 12, "s3cret-tokem", 12));
    CHECK(!ct_equal("s3cret", 6, "s3cret-token", 12));          /* a prefix */
    CHECK(!ct_equal("s3cret-token-and-more", 21, "s3cret-token", 12));
    CHECK(!ct_equal("", 0, "s3cret-token", 12));
    CHECK(!ct_equal("s3cret-token", 12, "", 0));
    CHECK(ct_equal("", 0, "", 0));
    CHECK(!ct_equal("a", 1, "b", 1));
    /* Bytes after the length given are not compared; NULs inside are. */
    CHECK(ct_equal("abcX", 3, "abcY", 3));
    CHECK(!ct_equal("a\0b", 3, "a\0c", 3));
    CHECK(!ct_equal("a\0", 2, "a", 1));
    char big1[10000], big2[10000];
    memset(big1, 'k', sizeof big1);
    memcpy(big2, big1, sizeof big2);
    CHECK(ct_equal(big1, sizeof big1, big2, sizeof big2));
    big2[9999] = 'j';
    CHECK(!ct_equal(big1, sizeof big1, big2, sizeof big2));
    CHECK(!ct_equal(big1, 64, big2, 65));
}

int main(void)
{
    test_escape_classes();
    test_escape_caps();
    test_lines();
    test_token_compare();
    return unit_report("trust");
}
