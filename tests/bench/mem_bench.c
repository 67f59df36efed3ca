/* transcode-mem: one adversarial case (tests/bench/shapes.h) transcoded
 * once, in this fresh process, with its peak memory measured three ways:
 *
 *   arena_peak  the arena's own `peak` (chunk bytes held at the worst);
 *   rss_delta   VmHWM after the transcoding minus VmRSS before it, with the
 *               high-water mark reset (/proc/self/clear_refs, 5) once the
 *               input was made and malloc's free memory given back: what
 *               the transcoding added to the process, arena, malloc and
 *               output buffer together, the input not counted;
 *   peak        what the gateway would hold for the request: requests,
 *               the body (it reads it into the arena) plus rss_delta;
 *               responses, the wire bytes plus rss_delta.
 *
 * Responses are written, as the gateway writes them, to a streaming
 * outbuf of CG_RESPONSE_CHUNK bytes whose sink keeps only a hash, so the
 * output costs one chunk; the hash is then checked against the JSON of
 * the shape's plain form. Requests are checked against their expected
 * wire bytes. Prints one JSON object on stdout; exit 0 whether or not the
 * transcoding succeeded (the object says), 2 on a usage or setup error.
 *
 *   transcode-mem SHAPE SIZE [--farm FILE] [--arena-cap BYTES]
 *   transcode-mem --list */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/cg_limits.h"
#include "json/json_to_pb.h"
#include "json/pb_to_json.h"
#include "shapes.h"

static double clock_s(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A "Vm...:" figure of /proc/self/status, in bytes; 0 when absent. */
static size_t vm_bytes(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    size_t kb = 0, k = strlen(key);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, key, k) == 0 && line[k] == ':')
            kb = strtoull(line + k + 1, NULL, 10);
    if (f)
        fclose(f);
    return kb * 1024;
}

static int reset_hwm(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (!f)
        return -1;
    int rc = fputs("5", f) < 0;
    return fclose(f) || rc ? -1 : 0;
}

/* s as a JSON string's content (the error messages: printable ASCII is
 * all that is kept). */
static void json_text(const char *s)
{
    for (; *s; s++)
        putchar(*s == '"' || *s == '\\' || *s < 0x20 || *s > 0x7e ? '?' : *s);
}

int main(int argc, char **argv)
{
    struct cg_status st;
    if (schema_init(&st) != 0) {
        fprintf(stderr, "transcode-mem: %s\n", st.msg);
        return 2;
    }
    if (argc == 2 && strcmp(argv[1], "--list") == 0) {
        for (const struct shape_kind *k = shape_kinds; k->name; k++)
            printf("%s\t%s\t%s\t%s\n", k->name, k->dir == SHAPE_REQUEST ? "request" : "response",
                   k->type, k->what);
        return 0;
    }
    const char *farm_path = NULL;
    size_t cap = (size_t)1 << 30;
    for (int i = 3; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--farm"))
            farm_path = argv[i + 1];
        else if (!strcmp(argv[i], "--arena-cap"))
            cap = strtoull(argv[i + 1], NULL, 10);
        else
            argc = 0;
    }
    if (argc < 3 || argc % 2 == 0) {
        fprintf(stderr, "usage: transcode-mem SHAPE SIZE [--farm FILE] [--arena-cap BYTES]\n"
                        "       transcode-mem --list\n");
        return 2;
    }
    size_t farm_len = 0;
    uint8_t *farm = NULL;
    if (farm_path && !(farm = shape_read_file(farm_path, &farm_len))) {
        perror(farm_path);
        return 2;
    }
    struct shape s;
    if (shape_make(argv[1], strtoull(argv[2], NULL, 10), farm, farm_len, &s) != 0)
        return 2;
    free(farm);
    int response = s.kind->dir == SHAPE_RESPONSE;

    /* The output buffer's chunk exists before the request, as in a worker. */
    struct outbuf ob;
    struct text_hash got;
    text_hash_init(&got);
    outbuf_init(&ob, 0);
    if (outbuf_set_sink(&ob, CG_RESPONSE_CHUNK, text_hash_sink, &got) != 0)
        return 2;
    memset(ob.data, 0, ob.cap);

    malloc_trim(0);
    int hwm_ok = reset_hwm() == 0;
    size_t base = vm_bytes("VmRSS");
    struct arena a;
    arena_init(&a, cap);
    cg_status_clear(&st);
    uint8_t *wire = NULL;
    size_t wire_len = 0;
    double c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID), t0 = clock_s(CLOCK_MONOTONIC);
    int rc;
    if (response) {
        rc = pb_to_json(s.mi, s.in, s.in_len, &a, &ob, &st);
        if (rc == 0 && outbuf_flush(&ob) != 0)
            rc = -1;
    } else {
        rc = json_to_pb(s.mi, (const char *)s.in, s.in_len, &a, &wire, &wire_len, &st);
    }
    double cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0, wall = clock_s(CLOCK_MONOTONIC) - t0;
    size_t hwm = vm_bytes("VmHWM");
    size_t delta = hwm > base ? hwm - base : 0;
    size_t arena_peak = a.peak, out_len = response ? got.n : wire_len;

    /* Was the answer right? */
    const char *verified = "not checked (failed)";
    if (rc == 0 && response) {
        struct text_hash want;
        if (shape_json_hash(s.mi, s.want, s.want_len, &want) != 0)
            verified = "no (the plain form does not transcode)";
        else
            verified = text_hash_value(&got) == text_hash_value(&want) ? "yes" : "NO";
    } else if (rc == 0) {
        verified = shape_same_message(s.mi, wire, wire_len, s.want, s.want_len) ? "yes" : "NO";
    }
    printf("{\"shape\":\"%s\",\"dir\":\"%s\",\"type\":\"%s\",\"in_bytes\":%zu,\"out_bytes\":%zu,"
           "\"units\":%zu,\"note\":\"", s.kind->name, response ? "response" : "request",
           s.kind->type, s.in_len, out_len, s.units);
    json_text(s.note);
    printf("\",\"ok\":%s,\"error\":\"", rc == 0 ? "true" : "false");
    json_text(rc == 0 ? "" : st.msg);
    printf("\",\"arena_peak\":%zu,\"arena_cap\":%zu,\"rss_delta\":%zu,\"hwm_reset\":%s,"
           "\"peak\":%zu,\"cpu_s\":%.6f,\"wall_s\":%.6f,\"verified\":\"%s\"}\n",
           arena_peak, cap, delta, hwm_ok ? "true" : "false", s.in_len + delta, cpu, wall,
           verified);
    arena_free(&a);
    outbuf_free(&ob);
    shape_free(&s);
    return 0;
}
