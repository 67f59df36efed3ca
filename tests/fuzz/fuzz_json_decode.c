/* Fuzz target: JSON -> protobuf (common/json/json_to_pb.c), for request bodies.
 *
 * Input: one selector byte, then the JSON text. A selector below 0xC0
 * picks one of the request types listed below (selector modulo their
 * count); from 0xC0 up, (selector & 0x3F) << 8 | the next byte numbers any
 * message type of the schema (fuzz_types.h), and the JSON starts after it.
 *
 * Invariants beyond "no crash, no leak, no UB":
 *  - a refusal is INVALID_ARGUMENT (or RESOURCE_EXHAUSTED) with a message;
 *  - whatever the decoder accepts (other than a blank body) is valid JSON
 *    by the independent checker: the decoder is never laxer than RFC 8259;
 *  - what it accepts packs to bytes the encoder turns into valid JSON,
 *    which the decoder accepts again and which encodes to the same text:
 *    one trip through the gateway's mapping normalises, a second changes
 *    nothing. */
#include <string.h>

#include "base/arena.h"
#include "fuzz_check.h"
#include "fuzz_types.h"
#include "json/json_to_pb.h"
#include "json_valid.h"
#include "json/json_write.h"
#include "base/outbuf.h"
#include "json/pb_to_json.h"

/* Request types with the shapes that matter: empty, search criteria with
 * repeated strings and enums, floats, 64-bit integers, maps, bytes, and a
 * oneof. A type missing from a site's own schema is skipped. */
static const char *const request_types[] = {
    "show.ShowGetShowsRequest",
    "job.JobGetJobsRequest",
    "job.JobGetFramesRequest",
    "host.HostGetHostsRequest",
    "filter.FilterCreateActionRequest",
    "job.JobSetMinCoresRequest",
    "job.LayerSetMinMemoryRequest",
    "job.FrameSetCheckpointStateRequest",
    "department.DeptAddTasksRequest",
    "host.ProcKillRequest",
    "report.RqdReportStatusRequest",
    "job.JobAddCommentRequest",
};
#define N_REQUEST_TYPES (sizeof request_types / sizeof *request_types)

static const struct msg_info *requests[N_REQUEST_TYPES];
static size_t n_requests;
static struct arena arena;
static struct outbuf first, second, scratch;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_types_init();
    for (size_t i = 0; i < N_REQUEST_TYPES; i++) {
        const struct msg_info *mi = schema_msg_by_name(request_types[i]);
        if (mi)
            requests[n_requests++] = mi;
    }
    arena_init(&arena, 256u << 20);
    outbuf_init(&first, 64u << 20);
    outbuf_init(&second, 64u << 20);
    outbuf_init(&scratch, 1u << 20);
    return 0;
}

static int blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
            return 0;
    return 1;
}

/* Encodes wire bytes of type mi into ob, which must succeed. */
static void encode(const struct msg_info *mi, const uint8_t *wire, size_t n, struct outbuf *ob)
{
    struct cg_status st;
    cg_status_clear(&st);
    outbuf_clear(ob);
    int rc = pb_to_json(mi, wire, n, &arena, ob, &st);
    FUZZ_CHECK(rc == 0, st.msg);
    FUZZ_CHECK(json_valid(ob->data, ob->len, NULL), "the encoder wrote invalid JSON");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const struct msg_info *mi;
    size_t skip = 1;
    if (data[0] < 0xC0 && n_requests) {
        mi = requests[data[0] % n_requests];
    } else {
        if (size < 2)
            return 0;
        mi = fuzz_type_pick(data[0] & 0x3F, data[1]);
        skip = 2;
    }
    const char *json = (const char *)data + skip;
    size_t n = size - skip;

    struct cg_status st;
    cg_status_clear(&st);
    uint8_t *wire;
    size_t wire_n;
    if (json_to_pb(mi, json, n, &arena, &wire, &wire_n, &st) != 0) {
        FUZZ_CHECK(st.code == CG_INVALID_ARGUMENT || st.code == CG_RESOURCE_EXHAUSTED, st.msg);
        FUZZ_CHECK(st.msg[0] != '\0', "a refusal without a message");
        /* The message goes into an error body: it must stay valid JSON. */
        outbuf_clear(&scratch);
        json_write_string(&scratch, st.msg, strlen(st.msg));
        FUZZ_CHECK(json_valid(scratch.data, scratch.len, NULL), st.msg);
        arena_reset(&arena);
        return 0;
    }
    FUZZ_CHECK(blank(json, n) || json_valid(json, n, NULL),
               "the decoder accepted text that is not JSON");

    encode(mi, wire, wire_n, &first);
    uint8_t *again;
    size_t again_n;
    cg_status_clear(&st);
    FUZZ_CHECK(json_to_pb(mi, first.data, first.len, &arena, &again, &again_n, &st) == 0,
               st.msg);
    encode(mi, again, again_n, &second);
    FUZZ_CHECK(first.len == second.len && memcmp(first.data, second.data, first.len) == 0,
               "a second trip through JSON changed the message");
    arena_reset(&arena);
    return 0;
}
