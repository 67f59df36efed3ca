/* wire -> JSON straight from the wire (wire_json.c) against the reference
 * path (protobuf-c unpacks, pb_to_json_message writes): same text, same
 * success, for the encodings where the two could part ways: repeated and
 * merged occurrences, packed and unpacked elements, unknown fields, wire
 * types that do not fit, maps, and output streamed in small chunks. */
#include <stdio.h>

#include "pb_to_json.h"
#include "unit.h"
#include "wire_json.h"
#include "wire_scan.h"

static struct arena arena;

struct text {
    char buf[8192];
    size_t len;
};

static int collect(void *ctx, const char *p, size_t n)
{
    struct text *t = ctx;
    if (t->len + n > sizeof t->buf)
        return -1;
    memcpy(t->buf + t->len, p, n);
    t->len += n;
    return 0;
}

/* Writes through a 64-byte streaming buffer, so every value also crosses
 * chunk boundaries. Returns the rc; the text lands in *t. */
static int run(int reference, const char *type, const void *wire, size_t n, struct text *t)
{
    const struct msg_info *mi = schema_msg_by_name(type);
    struct outbuf ob;
    struct cg_status st;
    cg_status_clear(&st);
    outbuf_init(&ob, 0);
    outbuf_set_sink(&ob, 64, collect, t);
    t->len = 0;
    arena_reset(&arena);
    int rc = wire_scan(mi, wire, n, &st);
    if (rc == 0 && reference) {
        ProtobufCMessage *m = protobuf_c_message_unpack(mi->desc, &arena.pb, n, wire);
        rc = m ? pb_to_json_message(mi, m, &arena, &ob, &st) : -1;
    } else if (rc == 0) {
        rc = wire_json_write(mi, wire, n, &arena, &ob, &st);
    }
    if (rc == 0)
        outbuf_flush(&ob);
    outbuf_free(&ob);
    return rc;
}

static void same(int line, const char *type, const void *wire, size_t n, int want_rc)
{
    static struct text a, b;
    int ra = run(0, type, wire, n, &a), rb = run(1, type, wire, n, &b);
    char what[96];
    snprintf(what, sizeof what, "line %d: %s", line, type);
    if (ra != want_rc || rb != want_rc)
        unit_fail(__FILE__, line, what, "unexpected result");
    else
        unit_passed++;
    if (ra == 0 && rb == 0) {
        b.buf[b.len < sizeof b.buf ? b.len : sizeof b.buf - 1] = '\0';
        unit_check_text(__FILE__, line, a.buf, a.len, b.buf);
    }
}

#define SAME(type, lit) same(__LINE__, type, lit, sizeof(lit) - 1, 0)
#define BOTH_FAIL(type, lit) same(__LINE__, type, lit, sizeof(lit) - 1, -1)

int main(void)
{
    struct cg_status st;
    if (schema_init(&st) != 0) {
        fprintf(stderr, "schema_init: %s\n", st.msg);
        return 1;
    }
    arena_init(&arena, 0);

    /* job.Job: 1 id, 2 state (enum), 10 uid (oneof), 12 min_cores (float),
     * 20 job_stats (message: 1 total_layers, 2 total_frames). */
    SAME("job.Job", "");
    SAME("job.Job", "\x0a\x01" "a" "\x10\x01" "\x50\x05" "\x65\x00\x00\xc0\x3f");
    SAME("job.Job", "\x0a\x01" "a" "\x0a\x02" "bb");                 /* last one wins */
    SAME("job.Job", "\x50\x00");                                     /* oneof set to 0 */
    SAME("job.Job", "\xa2\x01\x02\x08\x03" "\xa2\x01\x02\x10\x04");  /* stats merge */
    SAME("job.Job", "\xa2\x01\x00" "\x10\x02");                      /* empty stats */
    SAME("job.Job", "\xb8\x06\x07" "\x0a\x01" "x");                  /* unknown field 103 */
    SAME("job.Job", "\x10\xff\xff\xff\xff\x0f");                     /* enum out of range */
    BOTH_FAIL("job.Job", "\x12\x01" "x");                            /* state as bytes */
    BOTH_FAIL("job.Job", "\x0d\x00\x00\x00\x00");                    /* id as fixed32 */

    /* report.CoreId: 1 coreid, repeated int64: packed, unpacked, mixed. */
    SAME("report.CoreId", "\x0a\x03\x01\x02\x7f");
    SAME("report.CoreId", "\x08\x05" "\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01");
    SAME("report.CoreId", "\x08\x05" "\x0a\x02\x06\x07" "\x08\x08");
    SAME("report.CoreId", "\x0a\x00");
    BOTH_FAIL("report.CoreId", "\x0a\x02\x80\x80");                  /* cut packed varint */

    /* report.CoreDetail: 5 reserved_cores, map<int64, CoreId>: absent,
     * then present (unsorted, a repeated key, a missing value). */
    SAME("report.CoreDetail", "\x08\x04");
    SAME("report.CoreDetail", "\x2a\x06\x08\x09\x12\x02\x08\x01" "\x2a\x02\x08\x02"
                              "\x2a\x06\x08\x09\x12\x02\x08\x03");

    /* department.DeptAddTasksRequest: 1 department (message), 2 tmap. */
    SAME("department.DeptAddTasksRequest", "\x12\x05\x0a\x01" "b" "\x10\x02" "\x12\x00");
    SAME("department.DeptAddTasksRequest", "\x0a\x00");

    arena_free(&arena);
    return unit_report("wire_json");
}
