/* Memory per request bounded by the request's own size, in both
 * directions, on the adversarial shapes of issue 13 (tests/bench/shapes.c):
 * each case transcodes in an arena whose limit is the target, and must
 * succeed with the right output.
 *
 *   requests (json_to_pb): the body is read into the arena first, as the
 *     gateway reads it, and the arena may hold 3 x body + 1 MiB in all;
 *     the wire bytes must be the expected message.
 *   responses (pb_to_json): the wire bytes are the caller's; the arena may
 *     hold 0.2 x wire + 1 MiB; the JSON streams through a 64 KiB buffer
 *     (as the gateway streams it) into a hash, which must equal the hash of
 *     the JSON of the same message in its plain form (the split field
 *     merged, duplicate map keys resolved).
 *
 * Memory only, never time: a case that is slow is slow, not failed. */
#include <stdio.h>
#include <stdlib.h>

#include "base/cg_limits.h"
#include "json/json_to_pb.h"
#include "json/pb_to_json.h"
#include "../bench/shapes.h"
#include "unit.h"

#define MiB ((size_t)1 << 20)

static void fail_case(int line, const char *shape, size_t size, const char *why)
{
    char what[128];
    snprintf(what, sizeof what, "%s, %zu bytes", shape, size);
    unit_fail(__FILE__, line, what, why);
}

static void request_case(int line, const char *name, size_t size)
{
    struct shape s;
    if (shape_make(name, size, NULL, 0, &s) != 0) {
        fail_case(line, name, size, "the shape could not be made");
        return;
    }
    size_t limit = 3 * s.in_len + MiB;
    struct arena a;
    struct cg_status st;
    char why[400];
    arena_init(&a, limit);
    cg_status_clear(&st);
    char *body = arena_alloc(&a, s.in_len);
    uint8_t *wire = NULL;
    size_t wire_len = 0;
    int rc = -1;
    if (body) {
        memcpy(body, s.in, s.in_len);
        rc = json_to_pb(s.mi, body, s.in_len, &a, &wire, &wire_len, &st);
    }
    if (rc != 0) {
        snprintf(why, sizeof why, "json_to_pb failed within 3 x %zu + 1 MiB = %zu bytes of arena "
                 "(peak %zu): %s", s.in_len, limit, a.peak, body ? st.msg : "no room for the body");
        fail_case(line, name, size, why);
    } else if (!shape_same_message(s.mi, wire, wire_len, s.want, s.want_len)) {
        snprintf(why, sizeof why, "wrong wire bytes: %zu bytes, %zu expected", wire_len, s.want_len);
        fail_case(line, name, size, why);
    } else {
        unit_passed++;
        printf("  %-20s %8zu bytes: arena peak %9zu of %9zu (%s)\n", name, s.in_len, a.peak,
               limit, s.note);
    }
    arena_free(&a);
    shape_free(&s);
}

static void response_case(int line, const char *name, size_t size)
{
    struct shape s;
    if (shape_make(name, size, NULL, 0, &s) != 0) {
        fail_case(line, name, size, "the shape could not be made");
        return;
    }
    size_t limit = s.in_len / 5 + MiB;
    struct arena a;
    struct outbuf ob;
    struct cg_status st;
    struct text_hash got, want;
    char why[400];
    arena_init(&a, limit);
    outbuf_init(&ob, 0);
    text_hash_init(&got);
    cg_status_clear(&st);
    int rc = outbuf_set_sink(&ob, CG_RESPONSE_CHUNK, text_hash_sink, &got);
    if (rc == 0)
        rc = pb_to_json(s.mi, s.in, s.in_len, &a, &ob, &st);
    if (rc == 0)
        rc = outbuf_flush(&ob);
    if (rc != 0) {
        snprintf(why, sizeof why, "pb_to_json failed within 0.2 x %zu + 1 MiB = %zu bytes of "
                 "arena (peak %zu): %s", s.in_len, limit, a.peak, st.msg);
        fail_case(line, name, size, why);
    } else if (shape_json_hash(s.mi, s.want, s.want_len, &want) != 0) {
        fail_case(line, name, size, "the plain form does not transcode");
    } else if (text_hash_value(&got) != text_hash_value(&want)) {
        snprintf(why, sizeof why, "wrong JSON: %zu bytes, not the plain form's %zu bytes (or "
                 "not the same text)", got.n, want.n);
        fail_case(line, name, size, why);
    } else {
        unit_passed++;
        printf("  %-20s %8zu bytes: arena peak %9zu of %9zu, %zu bytes of JSON (%s)\n", name,
               s.in_len, a.peak, limit, got.n, s.note);
    }
    outbuf_free(&ob);
    arena_free(&a);
    shape_free(&s);
}

#define REQUEST(name, size) request_case(__LINE__, name, size)
#define RESPONSE(name, size) response_case(__LINE__, name, size)

int main(void)
{
    struct cg_status st;
    if (schema_init(&st) != 0) {
        fprintf(stderr, "schema_init: %s\n", st.msg);
        return 1;
    }
    printf("requests, arena <= 3 x body + 1 MiB (the body included):\n");
    REQUEST("req-empty-objects", 4194304);       /* the body, at the limit */
    REQUEST("req-empty-objects", MiB);
    REQUEST("req-short-strings", MiB);
    REQUEST("req-unknown-keys", MiB);
    REQUEST("req-deep", MiB);
    REQUEST("req-map", MiB);

    printf("responses, arena <= 0.2 x wire + 1 MiB (the wire bytes are the caller's):\n");
    RESPONSE("resp-split-jobs", 2 * MiB);        /* 5,736 jobs, 5,185 occurrences */
    RESPONSE("resp-shows-0a020a00", 64 * 1024);  /* the hostile GetShows */
    RESPONSE("resp-shows-0a020a00", MiB);
    RESPONSE("resp-empty-msgs", MiB);
    RESPONSE("resp-empty-jobs", 256 * 1024);     /* meets its bound today: a guard */
    RESPONSE("resp-deep", 256 * 1024);
    RESPONSE("resp-map", 2 * MiB);
    return unit_report("codec_memory");
}
