/* Fuzz target: protobuf -> JSON (common/pb/wire_check.c, pb_to_json.c),
 * fed arbitrary bytes as the response of any schema type.
 *
 * Input: two bytes numbering the message type (fuzz_types.h), one byte
 * setting the streaming chunk size (40 + its value), then the wire bytes.
 *
 * Invariants beyond "no crash, no leak, no UB":
 *  - bytes that do not decode are refused with INTERNAL;
 *  - bytes that protobuf-c's unpacker accepts too give the text of
 *    protobuf-c's canonical form of them (unpacked and packed again: last
 *    values kept, packed runs joined, unknown fields and order as protobuf-c
 *    keeps them), an independent reading. Two known differences are left out:
 *    protobuf-c cuts strings at U+0000 and drops a proto3 float holding
 *    -0.0 when it packs. protobuf-c also reads some bytes its own way
 *    where every other runtime agrees with us (a field number 0 written as
 *    a padded varint; a bool arriving as a fixed-width value; a split
 *    message whose merge loses numbers), so those inputs are not compared:
 *    the oracle holds them to Python's reading;
 *  - written whole or streamed through a sink in small chunks (as the
 *    gateway streams large answers), the text is the same;
 *  - the text is valid JSON by the independent checker, the decoder
 *    accepts it for the same type, and encoding what it decoded gives the
 *    same text again. */
#include <stdbool.h>
#include <string.h>

#include "base/arena.h"
#include "fuzz_check.h"
#include "fuzz_types.h"
#include "json/json_to_pb.h"
#include "json_valid.h"
#include "base/outbuf.h"
#include "json/pb_to_json.h"
#include "pb/wire.h"

/* Far above what an input of make fuzz's -max_len (8 KiB) expands to:
 * each 2-byte empty sub-message can become a few KiB of defaults. */
#define OUT_LIMIT (64u << 20)

static struct arena arena;
static struct outbuf whole, streamed, collected, again, reference;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_types_init();
    arena_init(&arena, 512u << 20);
    outbuf_init(&whole, OUT_LIMIT);
    outbuf_init(&collected, OUT_LIMIT);
    outbuf_init(&again, OUT_LIMIT);
    outbuf_init(&reference, OUT_LIMIT);
    return 0;
}

/* The two cases where protobuf-c's canonical form is not the message:
 * a string holding U+0000 and a float or double holding -0.0. */
static bool reference_differs(const struct outbuf *ob)
{
    for (size_t i = 0; i + 2 < ob->len; i++) {
        const char *p = ob->data + i;
        if (p[0] == '\\' && i + 6 <= ob->len && !memcmp(p, "\\u0000", 6))
            return true;
        if (p[0] == '-' && p[1] == '0' && (p[2] == ',' || p[2] == '}' || p[2] == ']'))
            return true;
    }
    return false;
}

/* Whether a singular message field occurs again after `after`. */
static bool occurs_again(const uint8_t *after, const uint8_t *end, uint32_t id)
{
    struct pb_field f;
    while (pb_next_field(&after, end, &f) > 0)
        if (f.id == id && f.wt == PB_WT_LEN)
            return true;
    return false;
}

/* Whether protobuf-c reads these bytes its own way: a known field arriving
 * with a wire type not its own (it takes a bool from a fixed64, where the
 * other runtimes keep an unknown field), or a singular message field given
 * more than once (its merge forgets the numbers that only the earlier
 * occurrences set). The oracle checks both shapes against Python. */
static bool protobuf_c_differs(const struct msg_info *mi, const uint8_t *p, const uint8_t *end,
                               int depth)
{
    struct pb_field f;
    while (depth < 200 && pb_next_field(&p, end, &f) > 0) {
        int i = schema_field_index(mi, f.id);
        if (i < 0)
            continue;
        const ProtobufCFieldDescriptor *fd = &mi->desc->fields[i];
        if (!pb_wire_fits(fd, f.wt))
            return true;
        if (fd->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        if (fd->label != PROTOBUF_C_LABEL_REPEATED && occurs_again(p, end, f.id))
            return true;
        if (protobuf_c_differs(mi->fields[i].sub, f.val, f.val + f.len, depth + 1))
            return true;
    }
    return false;
}

static int collect(void *ctx, const char *p, size_t n)
{
    outbuf_put(ctx, p, n);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    const struct msg_info *mi = fuzz_type_pick(data[0], data[1]);
    size_t chunk = 40 + (size_t)data[2];
    const uint8_t *wire = data + 3;
    size_t n = size - 3;

    struct cg_status st;
    cg_status_clear(&st);
    outbuf_clear(&whole);
    int rc = pb_to_json(mi, wire, n, &arena, &whole, &st);
    if (rc != 0)
        FUZZ_CHECK(st.code == CG_INTERNAL, st.msg);

    /* The reference: protobuf-c's canonical form of the same bytes. */
    ProtobufCMessage *msg = protobuf_c_message_unpack(mi->desc, NULL, n, wire);
    if (msg && rc == 0 && !reference_differs(&whole) &&
        !protobuf_c_differs(mi, wire, wire + n, 0)) {
        size_t cn = protobuf_c_message_get_packed_size(msg);
        uint8_t *canon = arena_alloc(&arena, cn ? cn : 1);
        FUZZ_SETUP(canon != NULL, "out of memory");
        protobuf_c_message_pack(msg, canon);
        struct cg_status st_ref;
        cg_status_clear(&st_ref);
        outbuf_clear(&reference);
        FUZZ_CHECK(pb_to_json(mi, canon, cn, &arena, &reference, &st_ref) == 0, st_ref.msg);
        FUZZ_CHECK(reference.len == whole.len && !memcmp(reference.data, whole.data, whole.len),
                   "the text differs from that of protobuf-c's canonical form");
    }
    if (msg)
        protobuf_c_message_free_unpacked(msg, NULL);

    /* The same bytes again, through a sink as the gateway streams them. */
    struct cg_status st2;
    cg_status_clear(&st2);
    outbuf_init(&streamed, 0);
    FUZZ_SETUP(outbuf_set_sink(&streamed, chunk, collect, &collected) == 0, "out of memory");
    outbuf_clear(&collected);
    int rc2 = pb_to_json(mi, wire, n, &arena, &streamed, &st2);
    if (rc2 == 0)
        rc2 = outbuf_flush(&streamed);
    outbuf_free(&streamed);
    FUZZ_CHECK(rc2 == rc, rc ? st.msg : st2.msg);
    if (rc != 0) {
        arena_reset(&arena);
        return 0;
    }
    FUZZ_CHECK(collected.len == whole.len && memcmp(collected.data, whole.data, whole.len) == 0,
               "streamed output differs from the whole output");

    size_t at = 0;
    FUZZ_CHECK(json_valid(whole.data, whole.len, &at), "the encoder wrote invalid JSON");
    uint8_t *wire2;
    size_t wire2_n;
    cg_status_clear(&st);
    FUZZ_CHECK(json_to_pb(mi, whole.data, whole.len, &arena, &wire2, &wire2_n, &st) == 0,
               st.msg);
    outbuf_clear(&again);
    FUZZ_CHECK(pb_to_json(mi, wire2, wire2_n, &arena, &again, &st) == 0, st.msg);
    FUZZ_CHECK(again.len == whole.len && memcmp(again.data, whole.data, whole.len) == 0,
               "JSON -> protobuf -> JSON changed the text");
    arena_reset(&arena);
    return 0;
}
