/* Number formatting, base64, UTF-8, the key set, the arena and the output
 * buffer: the pieces every mapping rule is built from. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/arena.h"
#include "base/base64.h"
#include "base/num_format.h"
#include "base/outbuf.h"
#include "base/siphash.h"
#include "unit.h"
#include "base/utf8.h"

static void check_double(double v, const char *want)
{
    char buf[NUM_FORMAT_MAX];
    size_t n = num_format_double(buf, v);
    CHECK_TEXT(buf, n, want);
    buf[n] = '\0';
    CHECK(strtod(buf, NULL) == v);
}

static void check_float(float v, const char *want)
{
    char buf[NUM_FORMAT_MAX];
    size_t n = num_format_float(buf, v);
    CHECK_TEXT(buf, n, want);
    buf[n] = '\0';
    CHECK(strtof(buf, NULL) == v);
}

static void test_integers(void)
{
    char buf[NUM_FORMAT_MAX];
    CHECK_TEXT(buf, num_format_i64(buf, INT64_MIN), "-9223372036854775808");
    CHECK_TEXT(buf, num_format_i64(buf, INT64_MAX), "9223372036854775807");
    CHECK_TEXT(buf, num_format_u64(buf, UINT64_MAX), "18446744073709551615");
    CHECK_TEXT(buf, num_format_i64(buf, 0), "0");
    CHECK_TEXT(buf, num_format_i64(buf, -7), "-7");
    CHECK_TEXT(buf, num_format_i64(buf, 10), "10");
}

static void test_floats(void)
{
    check_float(0.1f, "0.1");
    check_float(1.0f, "1");
    check_float(-1.5f, "-1.5");
    check_float(0.0f, "0");
    check_float(-0.0f, "-0");
    check_float(1e-45f, "1e-45");
    check_float(FLT_MAX, "3.4028235e+38");
    check_float(16777216.0f, "16777216");
    check_float(123456792.0f, "123456790");
    check_float(1e-6f, "0.000001");
    check_float(3.0e-7f, "3e-7");
    check_float(100.25f, "100.25");
    check_double(0.1, "0.1");
    check_double(0.3, "0.3");
    check_double(5e-324, "5e-324");
    check_double(DBL_MAX, "1.7976931348623157e+308");
    check_double(1e21, "1e+21");
    check_double(1e20, "100000000000000000000");
    check_double(1e-7, "1e-7");
    check_double(123456789.125, "123456789.125");
    check_double(9007199254740992.0, "9007199254740992");
    check_double(-2.5e-300, "-2.5e-300");
}

static void test_base64(void)
{
    const char *plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    const char *enc[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (int i = 0; i < 7; i++) {
        char out[16];
        size_t n = strlen(plain[i]);
        base64_encode(out, (const uint8_t *)plain[i], n);
        CHECK_TEXT(out, base64_encoded_len(n), enc[i]);
        uint8_t back[16];
        size_t bn;
        CHECK(base64_decode(enc[i], strlen(enc[i]), back, &bn) == 0);
        CHECK_TEXT((const char *)back, bn, plain[i]);
    }
    uint8_t out[16];
    size_t n;
    /* URL-safe and unpadded are accepted. */
    CHECK(base64_decode("-_8", 3, out, &n) == 0 && n == 2 && out[0] == 0xfb && out[1] == 0xff);
    CHECK(base64_decode("+/8=", 4, out, &n) == 0 && n == 2 && out[0] == 0xfb);
    CHECK(base64_decode("Zg", 2, out, &n) == 0 && n == 1 && out[0] == 'f');
    /* Not base64. */
    CHECK(base64_decode("Zg=", 3, out, &n) != 0);
    CHECK(base64_decode("Z", 1, out, &n) != 0);
    CHECK(base64_decode("Zm9v!", 5, out, &n) != 0);
    CHECK(base64_decode("Zm 9", 4, out, &n) != 0);
    CHECK(base64_decode("Z===", 4, out, &n) != 0);
}

static void test_utf8(void)
{
    uint32_t cp;
    CHECK(utf8_decode((const unsigned char *)"\xF0\x9F\x98\x80", 4, &cp) == 4 && cp == 0x1F600);
    CHECK(utf8_decode((const unsigned char *)"\xC3\xA9", 2, &cp) == 2 && cp == 0xE9);
    CHECK(utf8_decode((const unsigned char *)"\xC0\xAF", 2, &cp) == 0);          /* overlong */
    CHECK(utf8_decode((const unsigned char *)"\xE0\x80\xAF", 3, &cp) == 0);      /* overlong */
    CHECK(utf8_decode((const unsigned char *)"\xED\xA0\x80", 3, &cp) == 0);      /* surrogate */
    CHECK(utf8_decode((const unsigned char *)"\xF4\x90\x80\x80", 4, &cp) == 0);  /* > U+10FFFF */
    CHECK(utf8_decode((const unsigned char *)"\xF0\x9F\x98", 3, &cp) == 0);      /* cut */
    CHECK(utf8_decode((const unsigned char *)"\x80", 1, &cp) == 0);
    char out[4];
    CHECK(utf8_encode(out, 0x1F600) == 4 && memcmp(out, "\xF0\x9F\x98\x80", 4) == 0);
}

static void test_arena(void)
{
    struct arena a;

    /* The limit holds, and a reset keeps one chunk for the next request. */
    arena_init(&a, 64 * 1024);
    CHECK(arena_alloc(&a, 40 * 1024) != NULL);
    CHECK(arena_alloc(&a, 40 * 1024) == NULL);
    CHECK(a.used <= 64 * 1024);
    arena_reset(&a);
    CHECK(a.used > 0 && a.used <= 64 * 1024);
    void *p = arena_alloc(&a, 100);
    CHECK(p != NULL && ((uintptr_t)p & 15) == 0);
    arena_free(&a);
}

struct sink_log { size_t calls, bytes; int fail_at; };
static int sink(void *ctx, const char *data, size_t n)
{
    struct sink_log *l = ctx;
    (void)data;
    if (l->fail_at && (int)l->calls + 1 == l->fail_at)
        return -1;
    l->calls++;
    l->bytes += n;
    return 0;
}

static void test_outbuf(void)
{
    struct outbuf ob;
    outbuf_init(&ob, 10);
    outbuf_put(&ob, "0123456789", 10);
    CHECK(ob.failed == 0 && ob.len == 10);
    outbuf_putc(&ob, 'x');
    CHECK(ob.failed == OUTBUF_TOO_BIG);
    outbuf_free(&ob);

    struct sink_log log = {0, 0, 0};
    outbuf_init(&ob, 0);
    CHECK(outbuf_set_sink(&ob, 64, sink, &log) == 0);
    char big[1000];
    memset(big, 'a', sizeof big);
    for (int i = 0; i < 10; i++)
        outbuf_put(&ob, big, sizeof big);
    CHECK(outbuf_flush(&ob) == 0);
    CHECK(log.bytes == 10000 && outbuf_total(&ob) == 10000 && ob.cap == 64);
    outbuf_free(&ob);

    struct sink_log failing = {0, 0, 3};
    outbuf_init(&ob, 0);
    outbuf_set_sink(&ob, 64, sink, &failing);
    outbuf_put(&ob, big, sizeof big);
    CHECK(ob.failed == OUTBUF_SINK);
    outbuf_free(&ob);
}

/* The reference vectors of the SipHash paper: key 00..0f, message 00..n-1. */
static void test_siphash(void)
{
    uint8_t key[16], msg[64];
    for (int i = 0; i < 16; i++)
        key[i] = (uint8_t)i;
    for (int i = 0; i < 64; i++)
        msg[i] = (uint8_t)i;
    CHECK(siphash24(key, msg, 0) == 0x726fdb47dd0e0e31ull);
    CHECK(siphash24(key, msg, 15) == 0xa129ca6149be45e5ull);
    /* The process key is fixed for the process, and not the all-zero one. */
    uint8_t zero[16] = {0};
    CHECK(siphash_process("showId", 6) == siphash_process("showId", 6));
    CHECK(siphash_process("showId", 6) != siphash24(zero, "showId", 6));
}

int main(void)
{
    test_integers();
    test_floats();
    test_base64();
    test_utf8();
    test_arena();
    test_outbuf();
    test_siphash();
    return unit_report("primitives");
}
