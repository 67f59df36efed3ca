/* protobuf -> JSON: one check per mapping rule and per refused response. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "department.pb-c.h"
#include "host.pb-c.h"
#include "job.pb-c.h"
#include "json/pb_to_json.h"
#include "unit.h"

static struct arena arena;
static struct outbuf ob;
static struct cg_status st;

/* A protobuf-c message through the response path: packed by protobuf-c,
 * then written from the wire, as the gateway receives it. */
static int message_json(const ProtobufCMessage *m, struct outbuf *out)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    uint8_t *wire = malloc(n ? n : 1);
    if (!wire)
        return -1;
    protobuf_c_message_pack(m, wire);
    cg_status_clear(&st);
    int rc = pb_to_json(schema_msg(m->descriptor), wire, n, &arena, out, &st);
    free(wire);
    return rc;
}

static int encode_msg(const ProtobufCMessage *m)
{
    arena_reset(&arena);
    outbuf_clear(&ob);
    return message_json(m, &ob);
}

static int encode_wire(const char *type, const void *wire, size_t n)
{
    arena_reset(&arena);
    outbuf_clear(&ob);
    cg_status_clear(&st);
    return pb_to_json(schema_msg_by_name(type), wire, n, &arena, &ob, &st);
}
/* NUL-terminates the output for strstr, without counting the NUL. */
static void terminate(void)
{
    outbuf_putc(&ob, '\0');
    ob.len--;
}

#define WIRE(type, lit) encode_wire(type, lit, sizeof(lit) - 1)

static void test_defaults(void)
{
    Job__JobStats s = JOB__JOB_STATS__INIT;
    CHECK(encode_msg(&s.base) == 0);
    CHECK_TEXT(ob.data, ob.len,
        "{\"totalLayers\":0,\"totalFrames\":0,\"waitingFrames\":0,\"runningFrames\":0,"
        "\"deadFrames\":0,\"eatenFrames\":0,\"dependFrames\":0,\"succeededFrames\":0,"
        "\"pendingFrames\":0,\"avgFrameSec\":0,\"highFrameSec\":0,\"avgCoreSec\":0,"
        "\"renderedFrameCount\":\"0\",\"failedFrameCount\":\"0\",\"remainingCoreSec\":\"0\","
        "\"totalCoreSec\":\"0\",\"renderedCoreSec\":\"0\",\"failedCoreSec\":\"0\",\"maxRss\":\"0\","
        "\"reservedCores\":0,\"totalGpuSec\":\"0\",\"renderedGpuSec\":\"0\",\"failedGpuSec\":\"0\","
        "\"reservedGpus\":0,\"maxGpuMemory\":\"0\",\"maxPss\":\"0\"}");
    /* An empty wire message: defaults, unset messages null, oneof absent. */
    CHECK(WIRE("job.Job", "") == 0);
    CHECK_TEXT(ob.data, ob.len,
        "{\"id\":\"\",\"state\":\"PENDING\",\"name\":\"\",\"shot\":\"\",\"show\":\"\",\"user\":\"\","
        "\"group\":\"\",\"facility\":\"\",\"os\":\"\",\"priority\":0,\"minCores\":0,\"maxCores\":0,"
        "\"logDir\":\"\",\"isPaused\":false,\"hasComment\":false,\"autoEat\":false,\"startTime\":0,"
        "\"stopTime\":0,\"jobStats\":null,\"minGpus\":0,\"maxGpus\":0,\"lokiUrl\":\"\",\"eligibleTime\":0}");
}

static void test_values(void)
{
    Job__Job j = JOB__JOB__INIT;
    Job__JobStats s = JOB__JOB_STATS__INIT;
    j.name = "a\"b\\c\n\x01\x7f\xc3\xa9\xf0\x9f\x98\x80";
    j.state = JOB__JOB_STATE__FINISHED;
    j.priority = INT32_MIN;
    j.min_cores = 0.1f;
    j.max_cores = NAN;
    j.min_gpus = INFINITY;
    j.max_gpus = -INFINITY;
    j.is_paused = 1;
    j.uid_optional_case = JOB__JOB__UID_OPTIONAL_UID;
    j.uid = 0;                               /* a set oneof member shows, even 0 */
    s.max_rss = INT64_MIN;
    s.total_core_sec = INT64_MAX;
    s.reserved_cores = FLT_MAX;
    j.job_stats = &s;
    CHECK(encode_msg(&j.base) == 0);
    terminate();
    CHECK(strstr(ob.data, "\"name\":\"a\\\"b\\\\c\\n\\u0001\x7f\xc3\xa9\xf0\x9f\x98\x80\",") != NULL);
    CHECK(strstr(ob.data, "\"state\":\"FINISHED\",") != NULL);
    CHECK(strstr(ob.data, "\"uid\":0,\"priority\":-2147483648,\"minCores\":0.1,\"maxCores\":\"NaN\",") != NULL);
    CHECK(strstr(ob.data, "\"isPaused\":true,") != NULL);
    CHECK(strstr(ob.data, "\"minGpus\":\"Infinity\",\"maxGpus\":\"-Infinity\",") != NULL);
    CHECK(strstr(ob.data, "\"maxRss\":\"-9223372036854775808\"") != NULL);
    CHECK(strstr(ob.data, "\"totalCoreSec\":\"9223372036854775807\"") != NULL);
    CHECK(strstr(ob.data, "\"reservedCores\":3.4028235e+38") != NULL);

    /* An enum value the schema does not name stays a number. */
    j.state = 77;
    CHECK(encode_msg(&j.base) == 0);
    terminate();
    CHECK(strstr(ob.data, "\"state\":77,") != NULL);
}

static void test_bytes_lists_maps(void)
{
    Host__Proc p = HOST__PROC__INIT;
    uint8_t raw[] = {0xfb, 0xff, 0x00};
    p.child_processes.data = raw;
    p.child_processes.len = 3;
    CHECK(encode_msg(&p.base) == 0);
    terminate();
    CHECK(strstr(ob.data, "\"childProcesses\":\"+/8A\"") != NULL);

    Job__JobSeq seq = JOB__JOB_SEQ__INIT;
    CHECK(encode_msg(&seq.base) == 0);
    CHECK_TEXT(ob.data, ob.len, "{\"jobs\":[]}");

    /* Map entries come out as an object in key order; a key repeated on the
     * wire keeps its last value. tmap = {"b":1, "a":2, "b":3} */
    CHECK(WIRE("department.DeptAddTasksRequest",
               "\x12\x05\x0a\x01" "b" "\x10\x01"
               "\x12\x05\x0a\x01" "a" "\x10\x02"
               "\x12\x05\x0a\x01" "b" "\x10\x03") == 0);
    CHECK_TEXT(ob.data, ob.len, "{\"department\":null,\"tmap\":{\"a\":2,\"b\":3}}");
    /* A map entry with nothing in it is the default key and value. */
    CHECK(WIRE("department.DeptAddTasksRequest", "\x12\x00") == 0);
    CHECK_TEXT(ob.data, ob.len, "{\"department\":null,\"tmap\":{\"\":0}}");
    /* A message-typed map value missing from the wire is the empty message:
     * report.CoreDetail.reserved_cores = {7: <no value>} */
    CHECK(WIRE("report.CoreDetail", "\x2a\x02\x08\x07") == 0);
    terminate();
    CHECK(strstr(ob.data, "\"reservedCores\":{\"7\":{\"coreid\":[]}}") != NULL);
}

static void test_refused_responses(void)
{
    /* A string holding U+0000 is carried, escaped as protojson does. */
    CHECK(WIRE("job.Job", "\x1a\x03" "a\0b") == 0);
    terminate();
    CHECK(strstr(ob.data, "\"name\":\"a\\u0000b\"") != NULL);
    /* Cut and malformed wire data: refused before a byte is written. */
    CHECK(WIRE("job.Job", "\x1a\x05" "ab") != 0 && strstr(st.msg, "does not read") != NULL);
    CHECK(st.code == CG_INTERNAL && ob.len == 0);
    CHECK(WIRE("job.Job", "\x58") != 0 && strstr(st.msg, "does not read") != NULL);
    CHECK(WIRE("job.Job", "\x00\x01") != 0 && strstr(st.msg, "does not read") != NULL);
    CHECK(WIRE("job.Job", "\x1b") != 0 && strstr(st.msg, "does not read") != NULL);
    CHECK(WIRE("job.Job", "\x1c") != 0 && strstr(st.msg, "does not read") != NULL);
    CHECK(WIRE("job.Job", "\x1b\x24") != 0 && strstr(st.msg, "does not read") != NULL);
    /* A packed run that ends inside an element. */
    CHECK(WIRE("report.CoreId", "\x0a\x02\x01\x80") != 0 && strstr(st.msg, "is cut") != NULL);
    /* A complete group, even nested, is an unknown field: stepped over. */
    CHECK(WIRE("job.Job", "\x1b\x0b\x08\x01\x0c\x1c" "\x1a\x01" "x") == 0);
    terminate();
    CHECK(strstr(ob.data, "\"name\":\"x\"") != NULL);
    /* A wire type that is not the field's: an unknown field, dropped. */
    CHECK(WIRE("job.Job", "\x1d\x01\x02\x03\x04") == 0);
    terminate();
    CHECK(strstr(ob.data, "\"name\":\"\"") != NULL);
    /* Invalid UTF-8 from Cuebot becomes U+FFFD rather than broken JSON. */
    CHECK(WIRE("job.Job", "\x1a\x02\xc0\xaf") == 0);
    terminate();
    CHECK(strstr(ob.data, "\"name\":\"\xef\xbf\xbd\xef\xbf\xbd\"") != NULL);
    /* Unknown fields on the wire are skipped. */
    CHECK(WIRE("job.Job", "\xf8\x07\x05" "\x1a\x01" "x") == 0);

    /* 10,000 nested parents: refused before protobuf-c recurses. */
    size_t depth = 10000;
    uint8_t *buf = calloc(depth, 8), *w = buf + depth * 8;
    size_t len = 0;
    for (size_t i = 0; i < depth; i++) {
        /* prepend field 10 (parent), length len */
        uint8_t hdr[8];
        size_t h = 0, v = len;
        hdr[h++] = 0x52;
        do {
            hdr[h++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
            v >>= 7;
        } while (v);
        w -= h;
        memcpy(w, hdr, h);
        len += h;
    }
    CHECK(encode_wire("job.NestedGroup", w, len) != 0);
    CHECK(strstr(st.msg, "nests deeper than 100") != NULL);
    free(buf);
}

static int sink_calls;
static size_t sink_bytes;
static int count_sink(void *ctx, const char *d, size_t n)
{
    (void)ctx; (void)d;
    sink_calls++;
    sink_bytes += n;
    return 0;
}

/* What another encoder may write, read with protobuf's parsing rules. */
static void test_merging(void)
{
    /* A singular message split in two occurrences is one message: JobSeq
     * with both jobs. */
    CHECK(WIRE("job.JobGetJobsResponse", "\x0a\x05\x0a\x03\x1a\x01" "a"
                                         "\x0a\x05\x0a\x03\x1a\x01" "b") == 0);
    terminate();
    CHECK(strstr(ob.data, "\"name\":\"a\"") && strstr(ob.data, "\"name\":\"b\""));
    CHECK(strstr(ob.data, "\"jobs\":{\"jobs\":[{") == ob.data + 1);
    /* Split inside split: job in two pieces, each holding a piece of
     * jobStats; the fields of both pieces of jobStats survive. */
    CHECK(WIRE("job.JobGetJobResponse", "\x0a\x05\xa2\x01\x02\x08\x03"
                                        "\x0a\x08\xa2\x01\x02\x10\x09\x1a\x01" "z") == 0);
    terminate();
    CHECK(strstr(ob.data, "\"name\":\"z\"") != NULL);
    CHECK(strstr(ob.data, "\"totalLayers\":3,\"totalFrames\":9,") != NULL);
    /* Scalars: the last occurrence wins; a oneof member set twice too. */
    CHECK(WIRE("job.Job", "\x1a\x01" "a" "\x50\x05" "\x1a\x01" "b" "\x50\x07") == 0);
    terminate();
    CHECK(strstr(ob.data, "\"name\":\"b\"") && strstr(ob.data, "\"uid\":7"));
    /* Repeated scalars: packed runs and single elements, in wire order. */
    CHECK(WIRE("report.CoreId", "\x0a\x02\x01\x02" "\x08\x03" "\x0a\x01\x04") == 0);
    CHECK_TEXT(ob.data, ob.len, "{\"coreid\":[\"1\",\"2\",\"3\",\"4\"]}");
    /* A map entry's fields in any order, its value given twice. */
    CHECK(WIRE("department.DeptAddTasksRequest", "\x12\x07\x10\x05\x0a\x01" "k" "\x10\x06") == 0);
    CHECK_TEXT(ob.data, ob.len, "{\"department\":null,\"tmap\":{\"k\":6}}");
    /* The key field given twice among unknown fields: the last one names
     * the entry, and the map is still ordered by it. */
    CHECK(WIRE("department.DeptAddTasksRequest",
               "\x12\x0b" "\xa0\x06\x00" "\x0a\x01" "a" "\x0a\x01" "k" "\x10\x06"
               "\x12\x05\x0a\x01" "b" "\x10\x01") == 0);
    CHECK_TEXT(ob.data, ob.len, "{\"department\":null,\"tmap\":{\"b\":1,\"k\":6}}");
}

static void test_streaming_and_limits(void)
{
    Job__JobSeq seq = JOB__JOB_SEQ__INIT;
    Job__Job jobs[200], *ptrs[200];
    for (int i = 0; i < 200; i++) {
        job__job__init(&jobs[i]);
        jobs[i].name = "a-job-name";
        ptrs[i] = &jobs[i];
    }
    seq.n_jobs = 200;
    seq.jobs = ptrs;
    CHECK(encode_msg(&seq.base) == 0);
    size_t whole = ob.len;

    struct outbuf s;
    outbuf_init(&s, 0);
    outbuf_set_sink(&s, 4096, count_sink, NULL);
    arena_reset(&arena);
    CHECK(message_json(&seq.base, &s) == 0);
    CHECK(outbuf_flush(&s) == 0);
    CHECK(sink_bytes == whole && sink_calls > 10 && s.cap == 4096);
    outbuf_free(&s);

    struct outbuf small;
    outbuf_init(&small, 1000);
    CHECK(message_json(&seq.base, &small) != 0);
    CHECK(st.code == CG_RESOURCE_EXHAUSTED);
    outbuf_free(&small);
}

int main(void)
{
    if (schema_init(&st) != 0)
        return 1;
    arena_init(&arena, 0);
    outbuf_init(&ob, 0);
    test_defaults();
    test_values();
    test_bytes_lists_maps();
    test_refused_responses();
    test_merging();
    test_streaming_and_limits();
    arena_free(&arena);
    outbuf_free(&ob);
    return unit_report("pb_to_json");
}
