/* Adversarial input shapes for the transcoder's memory bench
 * (tests/bench/mem_bench.c) and its regression tests
 * (tests/unit/test_codec_memory.c): inputs that are small on the wire or
 * in JSON but were expensive to transcode (issue 13), each made at a
 * chosen size, together with what a correct transcoding must give.
 *
 * Requests (JSON -> wire, json_to_pb): `in` is the JSON body; `want` the
 * wire bytes it must pack to (a packer may order fields differently, so a
 * mismatch is judged by decoding both: shape_same_message).
 * Responses (wire -> JSON, pb_to_json): `in` is the wire bytes Cuebot
 * would send; `want` wire bytes of the same message in its plain form (a
 * split field merged, duplicate map keys resolved, ...): the JSON of `in`
 * must be the JSON of `want`.
 *
 * Everything is malloc'd and owned by the shape (shape_free). Nothing
 * here uses the transcoder except the job generator, which packs its
 * JSON with json_to_pb in a private, unlimited arena, and the comparison
 * helpers. */
#ifndef CUEGW_BENCH_SHAPES_H
#define CUEGW_BENCH_SHAPES_H

#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/outbuf.h"
#include "pb/schema.h"

enum shape_dir { SHAPE_REQUEST, SHAPE_RESPONSE };

struct shape;

struct shape_kind {
    const char *name;
    int (*make)(struct shape *s, size_t size);
    enum shape_dir dir;
    const char *type;            /* the message type transcoded */
    const char *what;            /* one line, for tables */
};

/* Every shape, in table order; NULL-terminated by name. */
extern const struct shape_kind shape_kinds[];

struct shape {
    const struct shape_kind *kind;
    const struct msg_info *mi;
    uint8_t *in;
    size_t in_len;
    uint8_t *want;
    size_t want_len;
    size_t units;                /* elements, occurrences or entries made */
    char note[96];               /* what `units` counts, and any detail */
};

const struct shape_kind *shape_kind(const char *name);

/* Makes shape `name` with an input of about `size` bytes (never over it
 * for requests, so a 4194304-byte request fits the default body limit).
 * farm: NULL, or a job.JobGetJobsResponse's wire bytes (make_farm.py's
 * 5,000 jobs) whose jobs the split-jobs shape repeats; without it the
 * jobs are generated here. Returns 0, or -1 with a message on stderr. */
int shape_make(const char *name, size_t size, const uint8_t *farm, size_t farm_len,
               struct shape *s);
void shape_free(struct shape *s);

/* A sink for a streaming outbuf that keeps only a running hash and the
 * length of the text, so outputs of hundreds of MB compare in no memory. */
struct text_hash {
    uint64_t h;
    size_t n;                    /* bytes seen */
    uint8_t pend[8];
    unsigned npend;
};
void text_hash_init(struct text_hash *t);
int text_hash_sink(void *ctx, const char *p, size_t n);
uint64_t text_hash_value(const struct text_hash *t);

/* The JSON of wire bytes of type mi, hashed: a fresh unlimited arena, a
 * streaming outbuf of 64 KiB. Returns 0, or -1 when pb_to_json fails. */
int shape_json_hash(const struct msg_info *mi, const uint8_t *wire, size_t n,
                    struct text_hash *out);

/* A whole file, malloc'd; NULL when it cannot be read. */
uint8_t *shape_read_file(const char *path, size_t *n);

/* For requests: 1 when wire bytes `got` are the message `want` is (equal
 * bytes, or the same JSON once both are decoded), else 0. */
int shape_same_message(const struct msg_info *mi, const uint8_t *got, size_t got_len,
                       const uint8_t *want, size_t want_len);

#endif
