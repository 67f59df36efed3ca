/* JSON -> protobuf: one check per mapping rule and per error (SPEC §1). */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "job.pb-c.h"
#include "department.pb-c.h"
#include "host.pb-c.h"
#include "criterion.pb-c.h"
#include "report.pb-c.h"
#include "json_to_pb.h"
#include "unit.h"

static struct arena arena;
static struct cg_status st;

static ProtobufCMessage *decode(const char *type, const char *json, size_t n)
{
    const struct msg_info *mi = schema_msg_by_name(type);
    ProtobufCMessage *m = NULL;
    arena_reset(&arena);
    cg_status_clear(&st);
    if (!mi) {
        fprintf(stderr, "no type %s\n", type);
        return NULL;
    }
    if (json_to_pb_message(mi, json, n, &arena, &m, &st) != 0) {
        CHECK(m == NULL);                /* nothing partial escapes */
        CHECK(st.code == CG_INVALID_ARGUMENT || st.code == CG_RESOURCE_EXHAUSTED);
        return NULL;
    }
    return m;
}
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
    ERR("job.Job", "{\"name\":\"a\\u0000b\"}", "name: U+0000 in a string is not supported");
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

static void test_pack(void)
{
    const struct msg_info *mi = schema_msg_by_name("job.Job");
    uint8_t *wire;
    size_t n;
    arena_reset(&arena);
    CHECK(json_to_pb(mi, "{\"name\":\"ab\",\"priority\":1}", 26, &arena, &wire, &n, &st) == 0);
    /* field 3 (name) "ab", field 11 (priority) 1 */
    CHECK(n == 6 && memcmp(wire, "\x1a\x02" "ab" "\x58\x01", 6) == 0);
}

static void test_arena_limit(void)
{
    struct arena small;
    arena_init(&small, 20000);
    const struct msg_info *mi = schema_msg_by_name("job.JobSeq");
    char buf[40000] = "{\"jobs\":[";
    for (int i = 0; i < 3000; i++)
        strcat(buf, i ? ",{}" : "{}");
    strcat(buf, "]}");
    ProtobufCMessage *m = NULL;
    CHECK(json_to_pb_message(mi, buf, strlen(buf), &small, &m, &st) != 0);
    CHECK(m == NULL && st.code == CG_RESOURCE_EXHAUSTED);
    arena_free(&small);
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
    test_pack();
    test_arena_limit();
    arena_free(&arena);
    return unit_report("json_to_pb");
}
