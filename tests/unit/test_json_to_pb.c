/* JSON -> protobuf: one check per mapping rule and per error (SPEC §1).
 * The decoder writes wire bytes; the checks read them back with protobuf-c
 * (in the arena), or compare the bytes where the wire form is the point. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "job.pb-c.h"
#include "department.pb-c.h"
#include "host.pb-c.h"
#include "criterion.pb-c.h"
#include "report.pb-c.h"
#include "json/json_to_pb.h"
#include "unit.h"

static struct arena arena;

/* protobuf-c unpacks what a test inspects into the arena, freed with it. */
static void *arena_pb_alloc(void *ctx, size_t n)
{
    return arena_alloc(ctx, n);
}

static void arena_pb_free(void *ctx, void *p)
{
    (void)ctx;
    (void)p;
}

static ProtobufCAllocator arena_pb = {arena_pb_alloc, arena_pb_free, &arena};
static struct cg_status st;

static uint8_t *wire;
static size_t wire_n;

/* Decodes to wire bytes (in wire, wire_n); 0 or -1. */
static int to_wire(const char *type, const char *json, size_t n)
{
    const struct msg_info *mi = schema_msg_by_name(type);
    arena_reset(&arena);
    cg_status_clear(&st);
    wire = NULL;
    wire_n = 0;
    if (!mi) {
        fprintf(stderr, "no type %s\n", type);
        return -1;
    }
    if (json_to_pb(mi, json, n, &arena, &wire, &wire_n, &st) != 0) {
        CHECK(st.code == CG_INVALID_ARGUMENT || st.code == CG_RESOURCE_EXHAUSTED);
        CHECK(st.msg[0] != '\0');
        return -1;
    }
    return 0;
}

/* Decodes, then unpacks the wire bytes, which must be valid. */
static ProtobufCMessage *decode(const char *type, const char *json, size_t n)
{
    if (to_wire(type, json, n) != 0)
        return NULL;
    ProtobufCMessage *m = protobuf_c_message_unpack(schema_msg_by_name(type)->desc, &arena_pb,
                                                    wire_n, wire);
    CHECK(m != NULL);
    return m;
}

/* Expects the wire bytes of a decode to be exactly `want`. */
static void check_wire(const char *type, const char *json, size_t n, const char *want,
                       size_t want_n, int line)
{
    if (to_wire(type, json, n) != 0) {
        unit_fail(__FILE__, line, "expected wire bytes", st.msg);
        return;
    }
    if (wire_n != want_n || memcmp(wire, want, want_n) != 0) {
        char got[256];
        size_t o = 0;
        for (size_t i = 0; i < wire_n && o + 4 < sizeof got; i++)
            o += (size_t)snprintf(got + o, sizeof got - o, "%02x ", wire[i]);
        unit_fail(__FILE__, line, "wire bytes differ", got);
        return;
    }
    unit_passed++;
}
#define WIRE(type, lit, want) \
    check_wire(type, lit, sizeof(lit) - 1, want, sizeof(want) - 1, __LINE__)
#define DEC(type, lit) decode(type, lit, sizeof(lit) - 1)

/* Expects an error whose message is exactly `want`. */
static void check_error(const char *type, const char *json, size_t n, const char *want, int line)
{
    ProtobufCMessage *m = decode(type, json, n);
    if (m) {
        unit_fail(__FILE__, line, "expected an error", want);
        return;
    }
    unit_check_text(__FILE__, line, st.msg, strlen(st.msg), want);
}
#define ERR(type, lit, want) check_error(type, lit, sizeof(lit) - 1, want, __LINE__)

static void test_names_and_values(void)
{
    Job__Job *j = (Job__Job *)DEC("job.Job",
        "{\"name\":\"a\\\"b\\u00e9\\ud83d\\ude00\",\"min_cores\":1.5,\"maxCores\":\"2.25\","
        "\"state\":\"FINISHED\",\"priority\":-3,\"uid\":0,\"isPaused\":true,"
        "\"jobStats\":{\"maxRss\":\"9223372036854775807\",\"total_core_sec\":-9223372036854775808}}");
    CHECK(j != NULL);
    if (!j)
        return;
    CHECK_STR(j->name, "a\"b\xc3\xa9\xf0\x9f\x98\x80");
    CHECK(j->min_cores == 1.5f && j->max_cores == 2.25f);
    CHECK(j->state == JOB__JOB_STATE__FINISHED);
    CHECK(j->priority == -3 && j->is_paused);
    CHECK(j->uid_optional_case == JOB__JOB__UID_OPTIONAL_UID && j->uid == 0);
    CHECK(j->job_stats && j->job_stats->max_rss == INT64_MAX && j->job_stats->total_core_sec == INT64_MIN);
}

static void test_defaults_and_null(void)
{
    Job__Job *j = (Job__Job *)DEC("job.Job", "{\"name\":null,\"jobStats\":null,\"state\":null,\"uid\":null}");
    CHECK(j && strcmp(j->name, "") == 0 && j->job_stats == NULL && j->state == 0 &&
          j->uid_optional_case == 0);
    /* Empty body and whitespace are the empty message. */
    CHECK(decode("job.Job", "", 0) != NULL);
    CHECK(DEC("job.Job", " \n\t") != NULL);
    /* Unknown fields are ignored, whatever they hold. */
    j = (Job__Job *)DEC("job.Job", "{\"bogus\":{\"x\":[1,{\"y\":null}]},\"name\":\"n\",\"z\":\"s\"}");
    CHECK(j && strcmp(j->name, "n") == 0);
}

static void test_enums(void)
{
    Job__Job *j = (Job__Job *)DEC("job.Job", "{\"state\":2}");
    CHECK(j && j->state == 2);
    j = (Job__Job *)DEC("job.Job", "{\"state\":99}");          /* open enum */
    CHECK(j && j->state == 99);
    ERR("job.Job", "{\"state\":\"NOPE\"}", "state: \"NOPE\" is not a value of job.JobState");
    ERR("job.Job", "{\"state\":true}", "state: expected an enum name or number (job.JobState)");
    ERR("job.Job", "{\"state\":1.5}", "state: expected a whole number (int32)");
}

static void test_integers(void)
{
    Job__Job *j = (Job__Job *)DEC("job.Job", "{\"priority\":1.0,\"startTime\":\"12\",\"stopTime\":1e3}");
    CHECK(j && j->priority == 1 && j->start_time == 12 && j->stop_time == 1000);
    j = (Job__Job *)DEC("job.Job", "{\"priority\":-0,\"startTime\":2147483647,\"stopTime\":-2147483648}");
    CHECK(j && j->priority == 0 && j->start_time == INT32_MAX && j->stop_time == INT32_MIN);
    ERR("job.Job", "{\"priority\":2147483648}", "priority: value out of range for int32");
    ERR("job.Job", "{\"priority\":-2147483649}", "priority: value out of range for int32");
    ERR("job.Job", "{\"priority\":1.5}", "priority: expected a whole number (int32)");
    ERR("job.Job", "{\"priority\":1e999999}", "priority: value out of range for int32");
    ERR("job.Job", "{\"priority\":\"12 \"}", "priority: expected a number (int32), got a string that is not one");
    ERR("job.Job", "{\"priority\":\"0x10\"}", "priority: expected a number (int32), got a string that is not one");
    ERR("job.Job", "{\"priority\":true}", "priority: expected a number (int32)");
    ERR("job.Job", "{\"priority\":[]}", "priority: expected a int32, not an array");
    ERR("job.Job", "{\"jobStats\":{\"maxRss\":\"9223372036854775808\"}}",
        "jobStats.maxRss: value out of range for int64");
    ERR("job.Job", "{\"jobStats\":{\"maxRss\":99999999999999999999999}}",
        "jobStats.maxRss: value out of range for int64");
    ERR("job.Job", "{\"jobStats\":{\"maxRss\":1e19}}", "jobStats.maxRss: value out of range for int64");
    /* sint64 through a criterion */
    Criterion__GreaterThanIntegerSearchCriterion *c = (Criterion__GreaterThanIntegerSearchCriterion *)
        DEC("criterion.GreaterThanIntegerSearchCriterion", "{\"value\":\"-9223372036854775808\"}");
    CHECK(c && c->value == INT64_MIN);
}

static void test_floats(void)
{
    Job__Job *j = (Job__Job *)DEC("job.Job", "{\"minCores\":\"NaN\",\"maxCores\":\"-Infinity\",\"minGpus\":\"Infinity\",\"maxGpus\":-0}");
    CHECK(j && isnan(j->min_cores) && isinf(j->max_cores) && j->max_cores < 0 && isinf(j->min_gpus));
    CHECK(j && j->max_gpus == 0 && signbit(j->max_gpus));
    j = (Job__Job *)DEC("job.Job", "{\"minCores\":3.4028234663852886e38,\"maxCores\":1e-50}");
    CHECK(j && j->min_cores == FLT_MAX && j->max_cores == 0);
    ERR("job.Job", "{\"minCores\":3.5e38}", "minCores: value out of range for float");
    ERR("job.Job", "{\"minCores\":-3.4028236e38}", "minCores: value out of range for float");
    /* What the encoder prints for FLT_MAX reads back as FLT_MAX. */
    j = (Job__Job *)DEC("job.Job", "{\"minCores\":3.4028235e+38,\"maxCores\":-3.4028235e+38}");
    CHECK(j && j->min_cores == FLT_MAX && j->max_cores == -FLT_MAX);
    ERR("job.Job", "{\"minCores\":\"nan\"}", "minCores: expected a number (float), got a string that is not one");
    ERR("job.Job", "{\"minCores\":NaN}", "minCores: invalid JSON at byte 12: invalid number");
    ERR("job.JobSeq", "{\"jobs\":[{},{},{\"minCores\":\"x\"}]}",
        "jobs[2].minCores: expected a number (float), got a string that is not one");
}

static void test_bytes_and_maps(void)
{
    Host__Proc *p = (Host__Proc *)DEC("host.Proc", "{\"childProcesses\":\"-_8\"}");
    CHECK(p && p->child_processes.len == 2 && p->child_processes.data[0] == 0xfb);
    p = (Host__Proc *)DEC("host.Proc", "{\"childProcesses\":\"+/8=\"}");
    CHECK(p && p->child_processes.len == 2 && p->child_processes.data[1] == 0xff);
    ERR("host.Proc", "{\"childProcesses\":\"***\"}", "childProcesses: invalid base64");
    ERR("host.Proc", "{\"childProcesses\":12}", "childProcesses: expected a base64 string");

    Department__DeptAddTasksRequest *t = (Department__DeptAddTasksRequest *)
        DEC("department.DeptAddTasksRequest", "{\"tmap\":{\"a\":1,\"b\":\"2\"}}");
    CHECK(t && t->n_tmap == 2 && strcmp(t->tmap[0]->key, "a") == 0 && t->tmap[1]->value == 2);
    ERR("department.DeptAddTasksRequest", "{\"tmap\":{\"a\":1,\"a\":2}}", "tmap: key \"a\" given more than once");
    ERR("department.DeptAddTasksRequest", "{\"tmap\":{\"a\":null}}", "tmap[\"a\"]: null is not allowed as a map value");
    ERR("department.DeptAddTasksRequest", "{\"tmap\":[1]}", "tmap: expected an object (map)");
    ERR("department.DeptAddTasksRequest", "{\"tmap\":{\"a\":1.5}}", "tmap[\"a\"]: expected a whole number (int32)");

    /* An int64 map key is the key's text. */
    Report__CoreDetail *cd = (Report__CoreDetail *)
        DEC("report.CoreDetail", "{\"reservedCores\":{\"-5\":{\"coreid\":[1]},\"7\":{}}}");
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    CHECK(cd && cd->n_reserved_cores == 2 && cd->reserved_cores[0]->key == -5);
#pragma GCC diagnostic pop
    ERR("report.CoreDetail", "{\"reservedCores\":{\"x\":{}}}",
        "reservedCores[\"x\"]: expected a number (int64), got a string that is not one");
}

static void test_lists(void)
{
    Job__JobSeq *s = (Job__JobSeq *)DEC("job.JobSeq", "{\"jobs\":[{\"name\":\"a\"},{\"name\":\"b\"}]}");
    CHECK(s && s->n_jobs == 2 && strcmp(s->jobs[1]->name, "b") == 0);
    s = (Job__JobSeq *)DEC("job.JobSeq", "{\"jobs\":[]}");
    CHECK(s && s->n_jobs == 0);
    ERR("job.JobSeq", "{\"jobs\":[null]}", "jobs[0]: null is not allowed in a list");
    ERR("job.JobSeq", "{\"jobs\":{}}", "jobs: expected a list");
    ERR("job.JobSeq", "{\"jobs\":[1]}", "jobs[0]: expected an object (job.Job)");
    /* A list long enough to outgrow its first blocks keeps every element. */
    char buf[40000] = "{\"jobs\":[";
    for (int i = 0; i < 3000; i++)
        strcat(buf, i ? ",{}" : "{}");
    strcat(buf, "]}");
    s = (Job__JobSeq *)decode("job.JobSeq", buf, strlen(buf));
    CHECK(s && s->n_jobs == 3000 && s->jobs[2999] != NULL);
}

static void test_duplicates_and_oneofs(void)
{
    ERR("job.Job", "{\"name\":\"a\",\"name\":\"b\"}", "name: field given more than once");
    ERR("job.Job", "{\"minCores\":1,\"min_cores\":2}", "minCores: field given more than once");
    ERR("job.Job", "{\"x\":1,\"x\":2}", "key \"x\" given more than once");
    ERR("job.Job", "{\"x\":{\"y\":1,\"\\u0079\":2}}", "key \"y\" given more than once");
    ERR("job.Job", "{\"jobStats\":{\"maxRss\":\"1\",\"maxRss\":\"2\"}}", "jobStats.maxRss: field given more than once");
}

static void test_syntax(void)
{
    ERR("job.Job", "[]", "the request body must be a JSON object");
    ERR("job.Job", "\"x\"", "the request body must be a JSON object");
    ERR("job.Job", "{\"name\":\"a\"} x", "invalid JSON at byte 13: trailing bytes after the JSON value");
    ERR("job.Job", "{\"name\":\"a\"}{}", "invalid JSON at byte 12: trailing bytes after the JSON value");
    ERR("job.Job", "{\"name\":\"a\"", "invalid JSON: unexpected end of input (',' or '}' expected)");
    ERR("job.Job", "{\"name\":\"a", "name: invalid JSON: unexpected end of input (unterminated string)");
    ERR("job.Job", "{\"name\":", "name: invalid JSON: unexpected end of input (value expected)");
    ERR("job.Job", "{\"name\":\"a\",}", "invalid JSON at byte 12: object key expected");
    ERR("job.Job", "{'name':1}", "invalid JSON at byte 1: object key expected");
    ERR("job.Job", "{/*c*/}", "invalid JSON at byte 1: object key expected");
    ERR("job.Job", "{\"priority\":01}", "invalid JSON at byte 13: ',' or '}' expected");
    ERR("job.Job", "{\"priority\":1.}", "priority: invalid JSON at byte 12: invalid number");
    ERR("job.Job", "{\"priority\":+1}", "priority: invalid JSON at byte 12: invalid number");
    ERR("job.Job", "{\"isPaused\":True}", "isPaused: invalid JSON at byte 12: invalid number");
    ERR("job.Job", "{\"isPaused\":tru}", "isPaused: invalid JSON at byte 12: unexpected character");
    ERR("job.Job", "{\"isPaused\":1}", "isPaused: expected true or false");
    ERR("job.Job", "{\"isPaused\":\"true\"}", "isPaused: expected true or false");
    ERR("job.Job", "{\"name\":123}", "name: expected a string");
    ERR("job.Job", "{\"jobStats\":[]}", "jobStats: expected an object (job.JobStats)");
}

static void test_strings(void)
{
    ERR("job.Job", "{\"name\":\"\xc0\xaf\"}", "name: invalid UTF-8 in string at byte 9");
    ERR("job.Job", "{\"name\":\"\xed\xa0\x80\"}", "name: invalid UTF-8 in string at byte 9");
    ERR("job.Job", "{\"name\":\"\xf4\x90\x80\x80\"}", "name: invalid UTF-8 in string at byte 9");
    ERR("job.Job", "{\"name\":\"\xff\"}", "name: invalid UTF-8 in string at byte 9");
    ERR("job.Job", "{\"name\":\"\\ud800\"}", "name: invalid JSON at byte 9: lone high surrogate in \\u escape");
    ERR("job.Job", "{\"name\":\"\\udc00\"}", "name: invalid JSON at byte 9: lone low surrogate in \\u escape");
    ERR("job.Job", "{\"name\":\"\\ud800\\u0041\"}", "name: invalid JSON at byte 9: lone high surrogate in \\u escape");
    ERR("job.Job", "{\"name\":\"\\x\"}", "name: invalid JSON at byte 9: invalid escape in string");
    ERR("job.Job", "{\"name\":\"\\u12\"}", "name: invalid JSON at byte 9: invalid \\u escape");
    ERR("job.Job", "{\"name\":\"a\tb\"}", "name: invalid JSON at byte 10: control character in string");
    ERR("job.Job", "{\"name\":\"a\nb\"}", "name: invalid JSON at byte 10: control character in string");
    /* A raw NUL byte is a control character too. */
    ERR("job.Job", "{\"name\":\"a\0b\"}", "name: invalid JSON at byte 10: control character in string");
    Job__Job *j = (Job__Job *)DEC("job.Job", "{\"name\":\"\\/\\b\\f\\n\\r\\t\\\\\\u001f\"}");
    CHECK(j && strcmp(j->name, "/\b\f\n\r\t\\\x1f") == 0);
}

static void test_depth(void)
{
    /* Nesting 10,000 levels deep, through a recursive type and through an
     * unknown field: refused, with no crash. */
    size_t depth = 10000;
    char *buf = malloc(depth * 14 + 16), *p = buf;
    for (size_t i = 0; i < depth; i++)
        p += sprintf(p, "{\"parent\":");
    p += sprintf(p, "{}");
    for (size_t i = 0; i < depth; i++)
        *p++ = '}';
    ProtobufCMessage *m = decode("job.NestedGroup", buf, (size_t)(p - buf));
    CHECK(m == NULL && strstr(st.msg, "JSON nests deeper than 100 levels") != NULL);
    p = buf + sprintf(buf, "{\"x\":");
    for (size_t i = 0; i < depth; i++)
        *p++ = '[';
    for (size_t i = 0; i < depth; i++)
        *p++ = ']';
    *p++ = '}';
    m = decode("job.Job", buf, (size_t)(p - buf));
    CHECK(m == NULL && strcmp(st.msg, "JSON nests deeper than 100 levels") == 0);
    /* 30 levels of real groups (90 JSON levels: group, seq, list) are fine. */
    p = buf;
    for (int i = 0; i < 30; i++)
        p += sprintf(p, "{\"groups\":{\"nestedGroups\":[");
    for (int i = 0; i < 30; i++)
        p += sprintf(p, "]}}");
    CHECK(decode("job.NestedGroup", buf, (size_t)(p - buf)) != NULL);
    free(buf);
}

static void test_wire(void)
{
    /* field 3 (name) "ab", field 11 (priority) 1 */
    WIRE("job.Job", "{\"name\":\"ab\",\"priority\":1}", "\x1a\x02" "ab" "\x58\x01");
    /* U+0000 is carried intact, escaped or next to other escapes. */
    WIRE("job.Job", "{\"name\":\"a\\u0000b\"}", "\x1a\x03" "a\0b");
    WIRE("job.Job", "{\"name\":\"\\u0000\"}", "\x1a\x01" "\0");
    WIRE("job.Job", "{\"name\":\"\\u0000\\u00e9\\n\"}", "\x1a\x04" "\0\xc3\xa9\n");
    /* proto3 defaults are left out; -0.0 is not a default. */
    WIRE("job.Job", "{\"name\":\"\",\"priority\":0,\"isPaused\":false,\"minCores\":0,"
         "\"state\":\"PENDING\",\"jobStats\":null}", "");
    WIRE("job.Job", "{\"maxGpus\":-0}", "\xb5\x01\x00\x00\x00\x80");
    WIRE("job.Job", "{\"minCores\":1e-50}", "");
    /* A oneof member given is written even at 0; null leaves it unset. */
    WIRE("job.Job", "{\"uid\":0}", "\x50\x00");
    WIRE("job.Job", "{\"uid\":null}", "");
    /* A message given as {} is written, empty. */
    WIRE("job.Job", "{\"jobStats\":{}}", "\xa2\x01\x00");
    /* int32 is sign-extended to ten bytes. */
    WIRE("job.Job", "{\"priority\":-1}", "\x58\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01");
    /* Repeated scalars are packed; an empty list writes nothing. */
    WIRE("report.CoreId", "{\"coreid\":[1,300,-1]}",
         "\x0a\x0d\x01\xac\x02\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01");
    WIRE("report.CoreId", "{\"coreid\":[]}", "");
    /* Map entries: key then value, defaults left out as in any message. */
    WIRE("department.DeptAddTasksRequest", "{\"tmap\":{\"a\":1,\"\":0,\"b\\u0000\":2}}",
         "\x12\x05\x0a\x01" "a" "\x10\x01" "\x12\x00" "\x12\x06\x0a\x02" "b\0" "\x10\x02");
    /* Nested lengths in several levels, past one byte. */
    char buf[600];
    int o = sprintf(buf, "{\"groups\":{\"nestedGroups\":[{\"name\":\"");
    memset(buf + o, 'x', 200);
    o += 200;
    o += sprintf(buf + o, "\"},{},{\"parent\":{\"level\":3}}]}}");
    ProtobufCMessage *m = decode("job.NestedGroup", buf, (size_t)o);
    Job__NestedGroup *g = (Job__NestedGroup *)m;
    CHECK(g && g->groups && g->groups->n_nested_groups == 3 &&
          strlen(g->groups->nested_groups[0]->name) == 200 &&
          g->groups->nested_groups[2]->parent && g->groups->nested_groups[2]->parent->level == 3);
}

static void test_arena_limit(void)
{
    struct arena small;
    arena_init(&small, 20000);
    const struct msg_info *mi = schema_msg_by_name("job.JobSeq");
    char buf[70000] = "{\"jobs\":[";
    for (int i = 0; i < 3000; i++)
        strcat(buf, i ? ",{\"name\":\"abcdefgh\"}" : "{\"name\":\"abcdefgh\"}");
    strcat(buf, "]}");
    uint8_t *w;
    size_t n;
    CHECK(json_to_pb(mi, buf, strlen(buf), &small, &w, &n, &st) != 0);
    CHECK(st.code == CG_RESOURCE_EXHAUSTED && strstr(st.msg, "memory cap") != NULL);
    arena_free(&small);
}

/* A body of about `size` bytes: head, then item (its %u gets a running
 * number) repeated with commas, then tail. */
static char *shape(size_t size, const char *head, const char *item, const char *tail, size_t *n)
{
    char *b = malloc(size + 256), *p = b;
    p += sprintf(p, "%s", head);
    for (unsigned i = 0; (size_t)(p - b) < size - strlen(tail) - 64; i++) {
        if (i)
            *p++ = ',';
        p += sprintf(p, item, i);
    }
    p += sprintf(p, "%s", tail);
    *n = (size_t)(p - b);
    return b;
}

/* Memory stays within twice the body (plus the arena's last chunk, which
 * it takes whole), whatever the body's shape: the decoder keeps no
 * structs, no copies of strings or keys, and gives tables back. */
static void test_memory_bounds(void)
{
    static const struct {
        const char *type, *head, *item, *tail;
    } shapes[] = {
        {"job.JobGetUpdatedFramesRequest", "{\"layerFilter\":{\"layers\":[", "{}", "]}}"},
        {"job.JobGetUpdatedFramesRequest", "{\"layerFilter\":{\"layers\":[", "{\"x\":%u}", "]}}"},
        {"job.JobSearchCriteria", "{\"ids\":[", "\"a\"", "]}"},
        {"job.Job", "{", "\"%x\":0", "}"},
        {"job.Job", "{\"x\":{", "\"\\u0061%x\":[]", "}}"},
        {"department.DeptAddTasksRequest", "{\"tmap\":{", "\"%x\":1", "}}"},
        {"job.NestedGroup", "{\"groups\":{\"nestedGroups\":[",
         "{\"parent\":{\"parent\":{\"parent\":{\"parent\":{\"parent\":{\"level\":%u}}}}}}", "]}}"},
    };
    size_t size = 2u << 20;
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        size_t n;
        char *body = shape(size, shapes[i].head, shapes[i].item, shapes[i].tail, &n);
        struct arena a;
        arena_init(&a, 0);
        uint8_t *w;
        size_t wn;
        cg_status_clear(&st);
        int rc = json_to_pb(schema_msg_by_name(shapes[i].type), body, n, &a, &w, &wn, &st);
        CHECK(rc == 0);
        if (rc != 0 || a.peak > 2 * n + CG_ARENA_MAX_CHUNK) {
            char what[512];
            snprintf(what, sizeof what, "%s %s: peak %zu for a body of %zu: %s", shapes[i].type,
                     shapes[i].item, a.peak, n, st.msg);
            unit_fail(__FILE__, __LINE__, "memory within 2x the body", what);
        }
        arena_free(&a);
        free(body);
    }
}

/* An object with more keys than a small table holds is counted and its
 * table taken once; a duplicate is still found, in any spelling. */
static void test_many_keys(void)
{
    size_t n;
    char *body = shape(200000, "{\"x\":{", "\"k%u\":0", ",\"k\\u00317\":1}}", &n);
    CHECK(decode("job.Job", body, n) == NULL &&
          strcmp(st.msg, "key \"k17\" given more than once") == 0);
    CHECK(memcmp(body + n - 11, "u0031", 5) == 0);
    body[n - 8] = '4';                       /* "k\u00417" is "kA7": new */
    CHECK(decode("job.Job", body, n) != NULL);
    free(body);
    body = shape(200000, "{\"tmap\":{", "\"k%u\":1", ",\"k5\":2}}", &n);
    CHECK(decode("department.DeptAddTasksRequest", body, n) == NULL &&
          strcmp(st.msg, "tmap: key \"k5\" given more than once") == 0);
    free(body);
    ERR("department.DeptAddTasksRequest", "{\"tmap\":{\"\\u0061\":1.5}}",
        "tmap[\"a\"]: expected a whole number (int32)");
}

int main(void)
{
    if (schema_init(&st) != 0)
        return 1;
    arena_init(&arena, 0);
    test_names_and_values();
    test_defaults_and_null();
    test_enums();
    test_integers();
    test_floats();
    test_bytes_and_maps();
    test_lists();
    test_duplicates_and_oneofs();
    test_syntax();
    test_strings();
    test_depth();
    test_wire();
    test_arena_limit();
    test_memory_bounds();
    test_many_keys();
    arena_free(&arena);
    return unit_report("json_to_pb");
}
