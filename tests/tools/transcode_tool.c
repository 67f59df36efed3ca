/* A framed transcoding service for the differential test (tests/oracle):
 * reads `<op> <type> <length>\n` + bytes on stdin, answers `ok <length>\n` +
 * bytes or `err <length>\n` + message on stdout. op is `tojson` (protobuf
 * wire bytes in) or `topb` (JSON in). One arena per frame, reset after it,
 * exactly as the gateway handles one request. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "json/json_to_pb.h"
#include "base/outbuf.h"
#include "json/pb_to_json.h"
#include "pb/schema.h"

static void reply(const char *kind, const void *data, size_t n)
{
    printf("%s %zu\n", kind, n);
    fwrite(data, 1, n, stdout);
    fflush(stdout);
}

int main(void)
{
    struct cg_status st;
    if (schema_init(&st) != 0) {
        fprintf(stderr, "transcode-tool: %s\n", st.msg);
        return 1;
    }
    struct arena a;
    arena_init(&a, 0);
    struct outbuf ob;
    outbuf_init(&ob, 0);
    char op[16], type[256];
    size_t len;
    while (scanf("%15s %255s %zu", op, type, &len) == 3) {
        if (getchar() != '\n')
            return 2;
        char *in = malloc(len ? len : 1);
        if (!in || fread(in, 1, len, stdin) != len)
            return 2;
        cg_status_clear(&st);
        const struct msg_info *mi = schema_msg_by_name(type);
        if (!mi) {
            char m[300];
            int k = snprintf(m, sizeof m, "unknown type %s", type);
            reply("err", m, (size_t)k);
        } else if (strcmp(op, "tojson") == 0) {
            outbuf_clear(&ob);
            if (pb_to_json(mi, (const uint8_t *)in, len, &a, &ob, &st) == 0)
                reply("ok", ob.data, ob.len);
            else
                reply("err", st.msg, strlen(st.msg));
        } else if (strcmp(op, "topb") == 0) {
            uint8_t *wire;
            size_t wlen;
            if (json_to_pb(mi, in, len, &a, &wire, &wlen, &st) == 0)
                reply("ok", wire, wlen);
            else
                reply("err", st.msg, strlen(st.msg));
        } else {
            reply("err", "unknown op", 10);
        }
        arena_reset(&a);
        free(in);
    }
    arena_free(&a);
    outbuf_free(&ob);
    return 0;
}
