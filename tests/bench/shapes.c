/* Adversarial input shapes; see shapes.h. The wire bytes are put together
 * here field by field (with wire.h's varints), never by the packer under
 * test, so a shape is what it says whatever the codec does. */
#include "shapes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json/json_to_pb.h"
#include "json/pb_to_json.h"
#include "pb/wire.h"


/* Nesting used by the deep shapes: 99 levels, one under CG_MAX_DEPTH
 * (100), so a codec counting from 0 or from 1 accepts them alike. */
#define DEEP_LEVELS 99


/* ---- a growable byte buffer; aborts when malloc refuses -------------------- */

struct bb {
    uint8_t *p;
    size_t n, cap;
};

static void bb_need(struct bb *b, size_t more)
{
    if (b->cap - b->n >= more)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->n < more)
        cap *= 2;
    uint8_t *p = realloc(b->p, cap);
    if (!p) {
        fprintf(stderr, "shapes: out of memory (%zu bytes)\n", cap);
        abort();
    }
    b->p = p;
    b->cap = cap;
}

static void bb_put(struct bb *b, const void *p, size_t n)
{
    if (n == 0)
        return;              /* an empty piece may come as NULL */
    bb_need(b, n);
    memcpy(b->p + b->n, p, n);
    b->n += n;
}

static void bb_str(struct bb *b, const char *s)
{
    bb_put(b, s, strlen(s));
}

static void bb_byte(struct bb *b, uint8_t c)
{
    bb_put(b, &c, 1);
}

static void bb_varint(struct bb *b, uint64_t v)
{
    bb_need(b, PB_VARINT_MAX_BYTES);
    b->n = (size_t)(pb_put_varint(b->p + b->n, v) - b->p);
}

/* A length-delimited field: tag, length, payload. */
static void bb_field(struct bb *b, uint32_t field, const void *p, size_t n)
{
    bb_varint(b, (uint64_t)field << 3 | 2);
    bb_varint(b, n);
    bb_put(b, p, n);
}

static void bb_repeat(struct bb *b, const void *p, size_t n, size_t times)
{
    bb_need(b, n * times);
    for (size_t i = 0; i < times; i++)
        bb_put(b, p, n);
}

/* A deterministic generator, so every run makes the same bytes. */
static uint64_t rnd_state;
static uint32_t rnd(void)
{
    rnd_state = rnd_state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rnd_state >> 33);
}

static uint32_t rnd_below(uint32_t n)
{
    return n ? rnd() % n : 0;
}

/* ---- requests --------------------------------------------------------------- */

/* `{"layerFilter":{"layers":[E,E,...]}}` with as many elements as fit in
 * size; the wire is `1a len (0a 00)*n`, whatever the (ignored) content. */
static void layers_of(struct shape *s, size_t size, const char *elem)
{
    static const char head[] = "{\"layerFilter\":{\"layers\":[", tail[] = "]}}";
    size_t fixed = sizeof head - 1 + sizeof tail - 1, e = strlen(elem);
    size_t n = size > fixed + e ? (size - fixed + 1) / (e + 1) : 1;
    struct bb j = {0}, w = {0};
    bb_need(&j, fixed + n * (e + 1));
    bb_str(&j, head);
    for (size_t i = 0; i < n; i++) {
        if (i)
            bb_byte(&j, ',');
        bb_put(&j, elem, e);
    }
    bb_str(&j, tail);
    bb_varint(&w, 3u << 3 | 2);
    bb_varint(&w, 2 * n);
    bb_repeat(&w, "\x0a\x00", 2, n);
    s->in = j.p, s->in_len = j.n, s->want = w.p, s->want_len = w.n, s->units = n;
    snprintf(s->note, sizeof s->note, "%zu layers", n);
}

static int req_empty_objects(struct shape *s, size_t size)
{
    layers_of(s, size, "{}");
    return 0;
}

static int req_short_strings(struct shape *s, size_t size)
{
    static const char head[] = "{\"r\":{\"shows\":[", tail[] = "]}}";
    size_t fixed = sizeof head - 1 + sizeof tail - 1;
    size_t n = size > fixed + 3 ? (size - fixed + 1) / 4 : 1;
    struct bb j = {0}, w = {0};
    bb_need(&j, fixed + 4 * n);
    bb_str(&j, head);
    for (size_t i = 0; i < n; i++)
        bb_put(&j, i ? ",\"a\"" : "\"a\"", i ? 4 : 3);
    bb_str(&j, tail);
    bb_varint(&w, 1u << 3 | 2);
    bb_varint(&w, 3 * n);
    bb_repeat(&w, "\x3a\x01" "a", 3, n);          /* shows = 7 */
    s->in = j.p, s->in_len = j.n, s->want = w.p, s->want_len = w.n, s->units = n;
    snprintf(s->note, sizeof s->note, "%zu strings", n);
    return 0;
}

static int req_unknown_keys(struct shape *s, size_t size)
{
    size_t n = size > 15 ? (size - 1) / 13 : 1;      /* "k0000000":0, */
    struct bb j = {0};
    bb_need(&j, 2 + 13 * n);
    bb_byte(&j, '{');
    char m[32];
    for (size_t i = 0; i < n; i++) {
        int k = snprintf(m, sizeof m, "%s\"k%07zx\":0", i ? "," : "", i);
        bb_put(&j, m, (size_t)k);
    }
    bb_byte(&j, '}');
    s->in = j.p, s->in_len = j.n, s->units = n;
    s->want = malloc(1), s->want_len = 0;
    snprintf(s->note, sizeof s->note, "%zu keys", n);
    return 0;
}

/* Each layer is {"u": ...} holding containers down to DEEP_LEVELS levels
 * (the body's object, layerFilter, layers and the layer take 4),
 * alternately arrays and objects of one key. */
static int req_deep(struct shape *s, size_t size)
{
    struct bb e = {0};
    int inner = DEEP_LEVELS - 4;
    bb_str(&e, "{\"u\":");
    for (int i = 0; i < inner; i++)
        bb_str(&e, i % 2 ? "{\"v\":" : "[");
    if (inner % 2 == 0)                 /* the innermost is an object: a value */
        bb_byte(&e, '0');
    for (int i = inner - 1; i >= 0; i--)
        bb_byte(&e, i % 2 ? '}' : ']');
    bb_byte(&e, '}');
    bb_byte(&e, 0);
    layers_of(s, size, (const char *)e.p);
    free(e.p);
    snprintf(s->note, sizeof s->note, "%zu layers, %d levels", s->units, DEEP_LEVELS);
    return 0;
}

static int req_map(struct shape *s, size_t size)
{
    size_t n = size > 12 ? (size - 11) / 13 : 1;    /* "k0000000":1, */
    struct bb j = {0}, w = {0};
    bb_str(&j, "{\"tmap\":{");
    char m[32];
    for (size_t i = 0; i < n; i++) {
        int k = snprintf(m, sizeof m, "%s\"k%07zx\":1", i ? "," : "", i);
        bb_put(&j, m, (size_t)k);
        snprintf(m, sizeof m, "k%07zx", i);
        struct bb entry = {0};
        bb_field(&entry, 1, m, 8);
        bb_put(&entry, "\x10\x01", 2);
        bb_field(&w, 2, entry.p, entry.n);          /* tmap = 2 */
        free(entry.p);
    }
    bb_str(&j, "}}");
    s->in = j.p, s->in_len = j.n, s->want = w.p, s->want_len = w.n, s->units = n;
    snprintf(s->note, sizeof s->note, "%zu entries", n);
    return 0;
}

/* ---- responses -------------------------------------------------------------- */

/* shape_make's farm, for resp_split_jobs. */
static const uint8_t *farm_bytes;
static size_t farm_n;

/* Reads one length-delimited field at *p; 0 with its payload, or -1. */
static int next_len_field(const uint8_t **p, const uint8_t *end, uint32_t *field,
                          const uint8_t **val, size_t *len)
{
    uint64_t v[2];
    for (int k = 0; k < 2; k++) {
        v[k] = 0;
        for (int shift = 0;; shift += 7) {
            if (*p >= end || shift > 63)
                return -1;
            uint8_t c = *(*p)++;
            v[k] |= (uint64_t)(c & 0x7f) << shift;
            if (!(c & 0x80))
                break;
        }
    }
    if ((v[0] & 7) != 2 || v[1] > (size_t)(end - *p))
        return -1;
    *field = (uint32_t)(v[0] >> 3);
    *val = *p;
    *len = (size_t)v[1];
    *p += *len;
    return 0;
}

static const char *const SHOWS[] = {"pipeline", "aurora", "kestrel", "marmot"};
static const char *const USERS[] = {"alice", "bruno", "chen", "dana", "emeka"};
static const char *const STATES[] = {"PENDING", "FINISHED", "STARTUP"};
static const char *const CORES[] = {"1.0", "2.0", "4.0", "0.5", "100.0", "250.0", "37.5"};

/* n jobs shaped like make_farm.py's, as JobGetJobsResponse wire bytes
 * (packed by json_to_pb in a private arena). */
static int generated_jobs(size_t n, struct bb *wire)
{
    struct bb j = {0};
    bb_str(&j, "{\"jobs\":{\"jobs\":[");
    char m[2048];
    for (size_t i = 0; i < n; i++) {
        const char *show = SHOWS[rnd_below(4)], *user = USERS[rnd_below(5)];
        unsigned sq = rnd_below(100), sh = rnd_below(10000), start = 1763000000 + rnd_below(1000000);
        unsigned total = 1 + rnd_below(2000), avg = 30 + rnd_below(20000);
        char id[40];
        snprintf(id, sizeof id, "%08x-%04x-4%03x-8%03x-%08x%04x", rnd(), rnd_below(65536),
                 rnd_below(4096), rnd_below(4096), rnd(), rnd_below(65536));
        int k = snprintf(m, sizeof m,
            "%s{\"id\":\"%s\",\"state\":\"%s\",\"name\":\"%s-sq%03u_sh%04u-%s_render_lighting_v%03zu\","
            "\"shot\":\"sq%03u_sh%04u\",\"show\":\"%s\",\"user\":\"%s\",\"group\":\"%s_lighting\","
            "\"facility\":\"%s\",\"os\":\"rhel9\",\"uid\":%u,\"priority\":%u,\"minCores\":%s,"
            "\"maxCores\":%s,\"logDir\":\"/shots/%s/sq%03u_sh%04u/logs/%s\",\"isPaused\":%s,"
            "\"hasComment\":%s,\"autoEat\":false,\"startTime\":%u,\"stopTime\":%u,\"maxGpus\":%u,"
            "\"lokiUrl\":\"http://loki.farm.example:3100\",\"eligibleTime\":%u,\"jobStats\":{"
            "\"totalLayers\":%u,\"totalFrames\":%u,\"waitingFrames\":%u,\"runningFrames\":%u,"
            "\"deadFrames\":%u,\"succeededFrames\":%u,\"pendingFrames\":%u,\"avgFrameSec\":%u,"
            "\"highFrameSec\":%u,\"avgCoreSec\":%u,\"renderedFrameCount\":\"%u\","
            "\"failedFrameCount\":\"%u\",\"remainingCoreSec\":\"%u\",\"totalCoreSec\":\"%u%03u\","
            "\"maxRss\":\"%u\",\"reservedCores\":%s,\"maxPss\":\"%u\"}}",
            i ? "," : "", id, STATES[rnd_below(3)], show, sq, sh, user, i % 1000, sq, sh, show,
            user, show, rnd_below(2) ? "local" : "cloud", 1000 + rnd_below(5000),
            1 + rnd_below(300), CORES[rnd_below(4)], CORES[4 + rnd_below(3)], show, sq, sh, id,
            rnd_below(10) ? "false" : "true", rnd_below(5) ? "false" : "true", start,
            start + rnd_below(100000), rnd_below(3), start + 5, 1 + rnd_below(12), total,
            rnd_below(total + 1), rnd_below(200), rnd_below(20), rnd_below(total + 1),
            rnd_below(total + 1), avg, avg * 3, avg * 8, rnd_below(total + 1), rnd_below(100),
            rnd(), rnd_below(10000000), rnd_below(1000), rnd_below(100000000),
            CORES[rnd_below(7)], rnd_below(100000000));
        bb_put(&j, m, (size_t)k);
    }
    bb_str(&j, "]}}");
    struct arena a;
    struct cg_status st;
    arena_init(&a, 0);
    uint8_t *w;
    size_t wn;
    int rc = json_to_pb(schema_msg_by_name("job.JobGetJobsResponse"), (const char *)j.p, j.n,
                        &a, &w, &wn, &st);
    if (rc == 0)
        bb_put(wire, w, wn);
    else
        fprintf(stderr, "shapes: generated jobs do not pack: %s\n", st.msg);
    arena_free(&a);
    free(j.p);
    return rc;
}

/* The jobs of a JobGetJobsResponse (0a len JobSeq{ 0a len Job ... }). */
struct job_ref {
    const uint8_t *p;
    size_t n;
};

static int jobs_of(const uint8_t *wire, size_t n, struct job_ref **jobs, size_t *count)
{
    const uint8_t *p = wire, *end = wire + n, *seq, *job;
    size_t seq_len, job_len, cap = 1024;
    uint32_t f;
    *count = 0;
    *jobs = malloc(cap * sizeof **jobs);
    while (p < end) {
        if (next_len_field(&p, end, &f, &seq, &seq_len) || f != 1)
            return -1;
        const uint8_t *q = seq, *qe = seq + seq_len;
        while (q < qe) {
            if (next_len_field(&q, qe, &f, &job, &job_len) || f != 1)
                return -1;
            if (*count == cap)
                *jobs = realloc(*jobs, (cap *= 2) * sizeof **jobs);
            (*jobs)[(*count)++] = (struct job_ref){job, job_len};
        }
    }
    return *count ? 0 : -1;
}

/* Jobs to fill about `size` bytes, cycled from the farm's (or generated
 * ones), sent as K occurrences of `jobs` for every n jobs with
 * K/n = 45197/50000 (issue 13's answer): groups of one and two jobs. */
static int resp_split_jobs(struct shape *s, size_t size)
{
    const uint8_t *farm = farm_bytes;
    size_t farm_len = farm_n;
    struct bb src = {0};
    if (!farm) {
        /* Generated jobs weigh about 420 bytes each; make what is needed
         * (up to 5,000, then cycle them, as with the farm). */
        size_t want = size / 420 + 1;
        if (generated_jobs(want < 5000 ? want : 5000, &src))
            return -1;
        farm = src.p, farm_len = src.n;
    }
    struct job_ref *jobs;
    size_t m, total = 0;
    if (jobs_of(farm, farm_len, &jobs, &m)) {
        fprintf(stderr, "shapes: the farm is not a JobGetJobsResponse\n");
        free(src.p);
        return -1;
    }
    for (size_t i = 0; i < m; i++)
        total += jobs[i].n + 1 + pb_varint_len(jobs[i].n);
    double avg = (double)total / (double)m + 3.0 * 45197 / 50000;   /* 0a, 2-byte length */
    size_t n = (size_t)((double)size / avg);
    if (n < 1)
        n = 1;
    size_t k = (size_t)((double)n * 45197 / 50000 + 0.5);
    if (k < 1)
        k = 1;
    struct bb in = {0}, all = {0}, group = {0}, want = {0};
    for (size_t g = 0; g < k; g++) {
        group.n = 0;
        for (size_t i = g * n / k; i < (g + 1) * n / k; i++)
            bb_field(&group, 1, jobs[i % m].p, jobs[i % m].n);
        bb_field(&in, 1, group.p, group.n);
        bb_put(&all, group.p, group.n);
    }
    bb_field(&want, 1, all.p, all.n);
    free(all.p);
    free(group.p);
    free(jobs);
    free(src.p);
    s->in = in.p, s->in_len = in.n, s->want = want.p, s->want_len = want.n, s->units = k;
    snprintf(s->note, sizeof s->note, "%zu jobs in %zu occurrences", n, k);
    return 0;
}

static void resp_repeat(struct shape *s, size_t size, const char *unit, size_t unit_len,
                        const char *what)
{
    size_t n = size / unit_len ? size / unit_len : 1;
    struct bb in = {0};
    bb_repeat(&in, unit, unit_len, n);
    s->in = in.p, s->in_len = in.n, s->units = n;
    snprintf(s->note, sizeof s->note, "%zu %s", n, what);
}

static int resp_shows(struct shape *s, size_t size)
{
    resp_repeat(s, size, "\x0a\x02\x0a\x00", 4, "occurrences");
    struct bb w = {0};
    bb_varint(&w, 1u << 3 | 2);
    bb_varint(&w, 2 * s->units);
    bb_repeat(&w, "\x0a\x00", 2, s->units);
    s->want = w.p, s->want_len = w.n;
    return 0;
}

static int resp_empty_msgs(struct shape *s, size_t size)
{
    resp_repeat(s, size, "\x0a\x00", 2, "occurrences");
    s->want = malloc(2);
    memcpy(s->want, "\x0a\x00", 2);
    s->want_len = 2;
    return 0;
}

static int resp_empty_jobs(struct shape *s, size_t size)
{
    size_t n = size > 8 ? (size - 6) / 2 : 1;
    struct bb w = {0};
    bb_varint(&w, 1u << 3 | 2);
    bb_varint(&w, 2 * n);
    bb_repeat(&w, "\x0a\x00", 2, n);
    s->in = w.p, s->in_len = w.n, s->units = n;
    s->want = malloc(w.n);
    memcpy(s->want, w.p, w.n);
    s->want_len = w.n;
    snprintf(s->note, sizeof s->note, "%zu empty jobs", n);
    return 0;
}

/* The response (level 1) holds the whiteboard (2), its groups (3), each
 * a NestedGroup (4) with a chain of parents down to DEEP_LEVELS. Sent,
 * each parent comes as two occurrences, an empty one and the rest of the
 * chain, which merge into the plain chain. */
static int resp_deep(struct shape *s, size_t size)
{
    struct bb split = {0}, plain = {0}, tmp = {0};
    for (int d = 0; d < DEEP_LEVELS - 4; d++) {
        tmp.n = 0;
        bb_put(&tmp, "\x52\x00", 2);                 /* parent = 10 */
        bb_field(&tmp, 10, split.p, split.n);
        split.n = 0;
        bb_put(&split, tmp.p, tmp.n);
        tmp.n = 0;
        bb_field(&tmp, 10, plain.p, plain.n);
        plain.n = 0;
        bb_put(&plain, tmp.p, tmp.n);
    }
    size_t elem = split.n + 1 + pb_varint_len(split.n);
    size_t n = size > elem + 12 ? (size - 12) / elem : 1;
    struct bb seq_in = {0}, seq_want = {0};
    for (size_t i = 0; i < n; i++) {
        bb_field(&seq_in, 1, split.p, split.n);      /* nested_groups = 1 */
        bb_field(&seq_want, 1, plain.p, plain.n);
    }
    struct bb *seqs[2] = {&seq_in, &seq_want}, out[2] = {{0}, {0}};
    for (int k = 0; k < 2; k++) {
        tmp.n = 0;
        bb_field(&tmp, 11, seqs[k]->p, seqs[k]->n);  /* groups = 11 */
        bb_field(&out[k], 1, tmp.p, tmp.n);          /* whiteboard = 1 */
    }
    free(split.p), free(plain.p), free(tmp.p), free(seq_in.p), free(seq_want.p);
    s->in = out[0].p, s->in_len = out[0].n, s->want = out[1].p, s->want_len = out[1].n;
    s->units = n;
    snprintf(s->note, sizeof s->note, "%zu chains, %d levels", n, DEEP_LEVELS);
    return 0;
}

/* One environment entry; `junk` unknown varint fields (field 100) come
 * before its key, which the JSON mapping drops but a reader must step over. */
static void env_entry(struct bb *b, size_t i, int second, unsigned junk)
{
    char key[32], val[80];
    int kn = snprintf(key, sizeof key, "RENDER_ENV_%07zu", i);
    int vn = snprintf(val, sizeof val, "/shots/aurora/sq%03zu/sh%04zu/env/%s%07zu",
                      i % 1000, i % 10000, second ? "v2/" : "", i);
    struct bb e = {0};
    for (unsigned k = 0; k < junk; k++) {
        bb_varint(&e, 100u << 3);
        bb_byte(&e, 0);
    }
    bb_field(&e, 1, key, (size_t)kn);
    bb_field(&e, 2, val, (size_t)vn);
    bb_field(b, 21, e.p, e.n);                       /* environment = 21 */
    free(e.p);
}

static int map_of(struct shape *s, size_t size, unsigned junk)
{
    struct bb one = {0};
    env_entry(&one, 0, 0, junk);
    size_t n = size / (one.n + one.n / 10 + 1);
    if (n < 1)
        n = 1;
    free(one.p);
    size_t *perm = malloc(n * sizeof *perm);
    for (size_t i = 0; i < n; i++)
        perm[i] = i;
    for (size_t i = n; i > 1; i--) {
        size_t j = rnd_below((uint32_t)i), t = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = t;
    }
    struct bb in = {0}, want = {0};
    for (size_t i = 0; i < n; i++)
        env_entry(&in, perm[i], 0, junk);
    for (size_t i = 0; i < n; i++) {
        if (perm[i] % 10 == 0)
            env_entry(&in, perm[i], 1, junk);
        env_entry(&want, i, i % 10 == 0, 0);
    }
    free(perm);
    s->in = in.p, s->in_len = in.n, s->want = want.p, s->want_len = want.n, s->units = n;
    snprintf(s->note, sizeof s->note, "%zu keys, %zu sent twice%s", n, (n + 9) / 10,
             junk ? ", 60 unknown fields each" : "");
    return 0;
}

static int resp_map(struct shape *s, size_t size)
{
    return map_of(s, size, 0);
}

/* Entries fat with unknown fields: ordering them must not read every
 * entry whole at each comparison. */
static int resp_map_fat(struct shape *s, size_t size)
{
    return map_of(s, size, 60);
}

/* ---- the table ------------------------------------------------------------------ */

const struct shape_kind shape_kinds[] = {
    {"req-empty-objects", req_empty_objects, SHAPE_REQUEST, "job.JobGetUpdatedFramesRequest",
     "{\"layerFilter\":{\"layers\":[{},{},...]}}"},
    {"req-short-strings", req_short_strings, SHAPE_REQUEST, "job.JobGetJobsRequest",
     "{\"r\":{\"shows\":[\"a\",\"a\",...]}}: a repeated string field"},
    {"req-unknown-keys", req_unknown_keys, SHAPE_REQUEST, "show.ShowGetShowsRequest",
     "{\"k0000000\":0,\"k0000001\":0,...}: distinct unknown keys"},
    {"req-deep", req_deep, SHAPE_REQUEST, "job.JobGetUpdatedFramesRequest",
     "layers of {\"u\":[{\"v\":[...]}]}: each 99 levels deep (arrays and objects)"},
    {"req-map", req_map, SHAPE_REQUEST, "department.DeptAddTasksRequest",
     "{\"tmap\":{\"k0000000\":1,...}}: a map<string,int32>"},
    {"resp-split-jobs", resp_split_jobs, SHAPE_RESPONSE, "job.JobGetJobsResponse",
     "jobs (a JobSeq) split: 45,197 occurrences per 50,000 jobs"},
    {"resp-shows-0a020a00", resp_shows, SHAPE_RESPONSE, "show.ShowGetShowsResponse",
     "the bytes 0a 02 0a 00 repeated: one empty Show per occurrence"},
    {"resp-empty-msgs", resp_empty_msgs, SHAPE_RESPONSE, "job.JobGetJobsResponse",
     "the bytes 0a 00 repeated: an empty JobSeq, over and over"},
    {"resp-empty-jobs", resp_empty_jobs, SHAPE_RESPONSE, "job.JobGetJobsResponse",
     "one JobSeq of empty Jobs (0a 00 each)"},
    {"resp-deep", resp_deep, SHAPE_RESPONSE, "show.ShowGetJobWhiteboardResponse",
     "NestedGroup.parent chains 99 levels deep, each parent split in two"},
    {"resp-map", resp_map, SHAPE_RESPONSE, "rqd.RunFrame",
     "environment map<string,string>: shuffled keys, every 10th twice"},
    {"resp-map-fat", resp_map_fat, SHAPE_RESPONSE, "rqd.RunFrame",
     "the same map, 60 unknown fields before each key"},
    {NULL, NULL, 0, NULL, NULL},
};

const struct shape_kind *shape_kind(const char *name)
{
    for (const struct shape_kind *k = shape_kinds; k->name; k++)
        if (strcmp(k->name, name) == 0)
            return k;
    return NULL;
}

int shape_make(const char *name, size_t size, const uint8_t *farm, size_t farm_len,
               struct shape *s)
{
    memset(s, 0, sizeof *s);
    rnd_state = 20261123;
    s->kind = shape_kind(name);
    if (!s->kind) {
        fprintf(stderr, "shapes: no shape %s\n", name);
        return -1;
    }
    s->mi = schema_msg_by_name(s->kind->type);
    if (!s->mi) {
        fprintf(stderr, "shapes: %s is not in the schema\n", s->kind->type);
        return -1;
    }
    farm_bytes = farm;
    farm_n = farm_len;
    return s->kind->make(s, size);
}

void shape_free(struct shape *s)
{
    free(s->in);
    free(s->want);
    s->in = s->want = NULL;
}

/* ---- comparing outputs ---------------------------------------------------------- */

void text_hash_init(struct text_hash *t)
{
    memset(t, 0, sizeof *t);
    t->h = 0x9e3779b97f4a7c15ull;
}

static uint64_t mix(uint64_t h, uint64_t w)
{
    h = (h ^ w) * 0xff51afd7ed558ccdull;
    return h ^ (h >> 32);
}

/* Eight bytes at a time (cheap next to the transcoding it checks); the
 * bytes of a word cut by a chunk's end wait in `pend`. */
int text_hash_sink(void *ctx, const char *p, size_t n)
{
    struct text_hash *t = ctx;
    t->n += n;
    while (n && t->npend) {
        t->pend[t->npend++] = (uint8_t)*p++;
        n--;
        if (t->npend == 8) {
            uint64_t w;
            memcpy(&w, t->pend, 8);
            t->h = mix(t->h, w);
            t->npend = 0;
        }
    }
    uint64_t h = t->h, w;
    for (; n >= 8; p += 8, n -= 8) {
        memcpy(&w, p, 8);
        h = mix(h, w);
    }
    t->h = h;
    memcpy(t->pend, p, n);
    t->npend = (unsigned)n;
    return 0;
}

/* The hash of everything given so far, the length included. */
uint64_t text_hash_value(const struct text_hash *t)
{
    uint8_t last[8] = {0};
    memcpy(last, t->pend, t->npend);
    uint64_t w;
    memcpy(&w, last, 8);
    return mix(mix(t->h, w), t->n);
}

int shape_json_hash(const struct msg_info *mi, const uint8_t *wire, size_t n,
                    struct text_hash *out)
{
    struct arena a;
    struct outbuf ob;
    struct cg_status st;
    text_hash_init(out);
    arena_init(&a, 0);
    outbuf_init(&ob, 0);
    int rc = outbuf_set_sink(&ob, 64 * 1024, text_hash_sink, out);
    if (rc == 0)
        rc = pb_to_json(mi, wire, n, &a, &ob, &st);
    if (rc == 0)
        rc = outbuf_flush(&ob);
    outbuf_free(&ob);
    arena_free(&a);
    return rc ? -1 : 0;
}

uint8_t *shape_read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(len > 0 ? (size_t)len : 1);
    if (buf && fread(buf, 1, (size_t)len, f) != (size_t)len) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *n = (size_t)len;
    return buf;
}

int shape_same_message(const struct msg_info *mi, const uint8_t *got, size_t got_len,
                       const uint8_t *want, size_t want_len)
{
    if (got_len == want_len && memcmp(got, want, got_len) == 0)
        return 1;
    struct text_hash a, b;
    if (shape_json_hash(mi, got, got_len, &a) || shape_json_hash(mi, want, want_len, &b))
        return 0;
    return text_hash_value(&a) == text_hash_value(&b);
}
