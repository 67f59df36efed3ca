/* Transcoder benchmark: for each sample response in DIR (<type>.pb, written
 * by make_farm.py), times wire -> JSON (decode: pb_to_json) and JSON ->
 * wire (encode: json_to_pb) and reports throughput in MB/s of each
 * direction's input (wire bytes in, JSON bytes in), the JSON rate beside
 * it, and the memory one request holds at its peak; then the issue-13
 * throughput targets, met or missed. Prints figures; asserts nothing.
 * BENCH_SECONDS (default 1.5) is the least time spent per direction. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "base/arena.h"
#include "json/json_to_pb.h"
#include "base/outbuf.h"
#include "json/pb_to_json.h"
#include "pb/schema.h"
#include "shapes.h"

#define MIN_ROUNDS 5
static double min_seconds = 1.5;

/* Issue 13's throughput targets, MB/s of input. */
#define TARGET_ENCODE_MBS 500.0     /* JSON -> wire */
#define TARGET_DECODE_MBS 300.0     /* wire -> JSON */
struct verdict {
    char type[256];
    double enc_mbs, dec_mbs;
};
static struct verdict verdicts[16];
static int n_verdicts;

static double now(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int discard(void *ctx, const char *d, size_t n)
{
    (void)ctx; (void)d; (void)n;
    return 0;
}

/* BENCH_ONLY=encode|decode runs one direction, for profiling. */
static int skip(const char *dir)
{
    const char *only = getenv("BENCH_ONLY");
    return only && strcmp(only, dir) != 0;
}

static int bench_one(const char *dir, const char *file)
{
    char path[4608], type[256];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    snprintf(type, sizeof type, "%.*s", (int)(strlen(file) - 3), file);
    const struct msg_info *mi = schema_msg_by_name(type);
    size_t wire_n;
    char *wire = (char *)shape_read_file(path, &wire_n);
    if (!mi || !wire) {
        fprintf(stderr, "bench: cannot load %s as %s\n", path, type);
        return 1;
    }
    struct cg_status st;
    struct arena a;
    struct outbuf ob;
    arena_init(&a, 0);
    outbuf_init(&ob, 0);

    /* protobuf -> JSON into a growable buffer (the buffer is kept between
     * rounds, as a worker keeps it between requests). */
    int rounds = 0;
    double t0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_PROCESS_CPUTIME_ID), t;
    size_t enc_arena_peak = 0;
    do {
        arena_reset(&a);
        a.peak = 0;
        outbuf_clear(&ob);
        if (pb_to_json(mi, (const uint8_t *)wire, wire_n, &a, &ob, &st) != 0) {
            fprintf(stderr, "bench: encode failed: %s\n", st.msg);
            return 1;
        }
        if (a.peak > enc_arena_peak)
            enc_arena_peak = a.peak;
        rounds++;
    } while (((t = now(CLOCK_MONOTONIC)) - t0 < min_seconds || rounds < MIN_ROUNDS) && !skip("encode"));
    double enc_cpu = now(CLOCK_PROCESS_CPUTIME_ID) - c0;
    size_t json_n = ob.len;
    double enc_mbs = (double)json_n * rounds / (t - t0) / 1e6;
    double wire_in_mbs = (double)wire_n * rounds / (t - t0) / 1e6;
    double enc_ms = enc_cpu / rounds * 1e3;

    /* The same, streamed through a 64 KiB buffer as the gateway writes. */
    struct outbuf sb;
    outbuf_init(&sb, 0);
    outbuf_set_sink(&sb, 64 * 1024, discard, NULL);
    arena_reset(&a);
    a.peak = 0;
    pb_to_json(mi, (const uint8_t *)wire, wire_n, &a, &sb, &st);
    size_t stream_peak = wire_n + a.peak + sb.cap;
    outbuf_free(&sb);

    /* JSON -> protobuf from the JSON just written. */
    char *json = malloc(json_n);
    memcpy(json, ob.data, json_n);
    size_t enc_peak = wire_n + enc_arena_peak + ob.cap;
    outbuf_free(&ob);
    rounds = 0;
    size_t dec_arena_peak = 0, packed = 0;
    t0 = now(CLOCK_MONOTONIC);
    c0 = now(CLOCK_PROCESS_CPUTIME_ID);
    do {
        uint8_t *out;
        arena_reset(&a);
        a.peak = 0;
        if (json_to_pb(mi, json, json_n, &a, &out, &packed, &st) != 0) {
            fprintf(stderr, "bench: decode failed: %s\n", st.msg);
            return 1;
        }
        if (a.peak > dec_arena_peak)
            dec_arena_peak = a.peak;
        rounds++;
    } while (((t = now(CLOCK_MONOTONIC)) - t0 < min_seconds || rounds < MIN_ROUNDS) && !skip("decode"));
    double dec_cpu = now(CLOCK_PROCESS_CPUTIME_ID) - c0;
    double dec_mbs = (double)json_n * rounds / (t - t0) / 1e6;
    size_t dec_peak = json_n + dec_arena_peak;
    if (packed != wire_n)
        printf("note: %s repacked to %zu bytes from %zu\n", type, packed, wire_n);

    printf("%-26s %8.2f MB JSON %6.2f MB wire\n", type, json_n / 1e6, wire_n / 1e6);
    printf("  wire->JSON (decode) %7.0f MB/s of wire in (%4.0f MB/s of JSON out)  %7.2f ms CPU/resp"
           "  peak %6.1f MB = %.2fx JSON (streamed: %.1f MB = %.2fx)\n",
           wire_in_mbs, enc_mbs, enc_ms, enc_peak / 1e6, (double)enc_peak / json_n,
           stream_peak / 1e6, (double)stream_peak / json_n);
    printf("  JSON->wire (encode) %7.0f MB/s of JSON in  %7.2f ms CPU/req   peak %6.1f MB = %.2fx JSON\n",
           dec_mbs, dec_cpu / rounds * 1e3, dec_peak / 1e6, (double)dec_peak / json_n);
    if (n_verdicts < 16) {
        struct verdict *v = &verdicts[n_verdicts++];
        snprintf(v->type, sizeof v->type, "%s", type);
        v->enc_mbs = dec_mbs;
        v->dec_mbs = wire_in_mbs;
    }
    free(json);
    free(wire);
    arena_free(&a);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: transcode-bench DIR\n");
        return 2;
    }
    struct cg_status st;
    if (schema_init(&st) != 0)
        return 1;
    DIR *d = opendir(argv[1]);
    if (!d) {
        perror(argv[1]);
        return 1;
    }
    char names[16][256];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 16) {
        size_t l = strlen(e->d_name);
        if (l > 3 && strcmp(e->d_name + l - 3, ".pb") == 0)
            snprintf(names[n++], sizeof names[0], "%s", e->d_name);
    }
    closedir(d);
    int rc = 0;
    const char *secs = getenv("BENCH_SECONDS");
    if (secs && atof(secs) > 0)
        min_seconds = atof(secs);
    printf("transcoder benchmark (figures, not assertions)\n");
    for (int i = 0; i < n; i++)
        rc |= bench_one(argv[1], names[i]);
    printf("Throughput targets (issue 13), MB/s of input:\n");
    for (int i = 0; i < n_verdicts; i++) {
        struct verdict *v = &verdicts[i];
        printf("  %-6s %s: encode JSON->wire %.0f MB/s (target >= %.0f)\n",
               v->enc_mbs >= TARGET_ENCODE_MBS ? "meets" : "MISSES", v->type, v->enc_mbs,
               TARGET_ENCODE_MBS);
        printf("  %-6s %s: decode wire->JSON %.0f MB/s (target >= %.0f)\n",
               v->dec_mbs >= TARGET_DECODE_MBS ? "meets" : "MISSES", v->type, v->dec_mbs,
               TARGET_DECODE_MBS);
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("process max RSS %.1f MB\n", ru.ru_maxrss / 1024.0);
    return rc;
}
