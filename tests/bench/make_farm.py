#!/usr/bin/python3
"""Writes the benchmark's sample responses as protobuf wire bytes: a
job.JobGetJobsResponse with 5,000 fully populated jobs (JobStats included) and
a job.JobGetFramesResponse with 50,000 frames, with values shaped like a busy
farm's (ids, names, paths, core counts, epoch times, memory figures).

For the whole-path benchmark it also writes the stand-in's answers
in DIR/cases (bench-standin's manifest.txt: method, request file, response file): GetShows
with one show, and GetJobs with 200 and with --jobs jobs, told apart by the
request (criteria naming the show "bench200" or "bench<N>"), plus the JSON
bodies the HTTP client sends for them (<case>.json).

The case "jobssplit" (show "benchsplit") is issue 13's hostile GetJobs
answer: --split-copies copies of the farm's jobs (10: 50,000 jobs, about
20.8 MB) sent as 45,197 occurrences of the singular field `jobs` per
50,000 jobs (groups of one and two jobs), which protobuf merges into one
JobSeq. Its JSON is the JSON of the same jobs sent once.

With --loadtest DIR it writes instead the load test's farm (`make
loadtest`, loadtest.py) in DIR: --loadtest-jobs jobs (400 by default),
each answerable one at a time as CueWeb polls them (GetJobs with criteria
{"ids": [id], "includeFinished": true}, paused and not), with 6 layers
(GetLayers) and the first page of 100 frames (GetFrames, page 1, limit
100), Pause and Resume changing its paused flag in the stand-in (the
manifest's effects, see standin_c.c), and GetActiveShows with four shows.
DIR/farm.json lists the job ids and each method's JSON request shape.

Usage: make_farm.py --schema build/gen/schema.pb --out DIR [--jobs N] [--frames N]
                    [--split-copies N]
       make_farm.py --schema build/gen/schema.pb --loadtest DIR [--loadtest-jobs N]
"""
import argparse
import json
import os
import random
import uuid

from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory


def classes(schema):
    fds = descriptor_pb2.FileDescriptorSet()
    with open(schema, 'rb') as f:
        fds.ParseFromString(f.read())
    pool = descriptor_pool.DescriptorPool()
    for fd in fds.file:
        pool.Add(fd)
    factory = message_factory.MessageFactory(pool)

    def cls(name):
        return factory.GetPrototype(pool.FindMessageTypeByName(name))
    cls.pool = pool
    return cls


def fill_job(j, rnd, i):
    show = rnd.choice(['pipeline', 'aurora', 'kestrel', 'marmot'])
    shot = 'sq%03d_sh%04d' % (rnd.randrange(100), rnd.randrange(10000))
    user = rnd.choice(['alice', 'bruno', 'chen', 'dana', 'emeka'])
    j.id = str(uuid.UUID(int=rnd.getrandbits(128)))
    j.state = rnd.choice([0, 1, 2])
    j.name = '%s-%s-%s_render_lighting_v%03d' % (show, shot, user, i % 1000)
    j.shot, j.show, j.user = shot, show, user
    j.group = '%s_lighting' % show
    j.facility = rnd.choice(['local', 'cloud'])
    j.os = 'rhel9'
    j.uid = 1000 + rnd.randrange(5000)
    j.priority = rnd.randrange(1, 300)
    j.min_cores = rnd.choice([1.0, 2.0, 4.0, 0.5])
    j.max_cores = rnd.choice([100.0, 250.0, 1000.0, 37.5])
    j.log_dir = '/shots/%s/%s/logs/%s' % (show, shot, j.id)
    j.is_paused = rnd.random() < 0.1
    j.has_comment = rnd.random() < 0.2
    j.auto_eat = rnd.random() < 0.05
    j.start_time = 1763000000 + rnd.randrange(1000000)
    j.stop_time = j.start_time + rnd.randrange(100000) if j.state == 1 else 0
    j.min_gpus = 0.0
    j.max_gpus = rnd.choice([0.0, 1.0, 2.0])
    j.loki_url = 'http://loki.farm.example:3100'
    j.eligible_time = j.start_time + 5
    s = j.job_stats
    total = rnd.randrange(1, 2000)
    s.total_layers = rnd.randrange(1, 12)
    s.total_frames = total
    s.waiting_frames = rnd.randrange(total + 1)
    s.running_frames = rnd.randrange(200)
    s.dead_frames = rnd.randrange(20)
    s.eaten_frames = rnd.randrange(5)
    s.depend_frames = rnd.randrange(50)
    s.succeeded_frames = rnd.randrange(total + 1)
    s.pending_frames = rnd.randrange(total + 1)
    s.avg_frame_sec = rnd.randrange(30, 20000)
    s.high_frame_sec = s.avg_frame_sec * 3
    s.avg_core_sec = s.avg_frame_sec * 8
    s.rendered_frame_count = s.succeeded_frames
    s.failed_frame_count = rnd.randrange(100)
    s.remaining_core_sec = rnd.randrange(10 ** 9)
    s.total_core_sec = rnd.randrange(10 ** 10)
    s.rendered_core_sec = rnd.randrange(10 ** 10)
    s.failed_core_sec = rnd.randrange(10 ** 8)
    s.max_rss = rnd.randrange(10 ** 8)
    s.reserved_cores = rnd.choice([0.0, 8.0, 24.5, 112.0, 3.25])
    s.total_gpu_sec = rnd.randrange(10 ** 6)
    s.rendered_gpu_sec = rnd.randrange(10 ** 6)
    s.failed_gpu_sec = rnd.randrange(10 ** 4)
    s.reserved_gpus = rnd.choice([0.0, 1.0])
    s.max_gpu_memory = rnd.randrange(10 ** 7)
    s.max_pss = rnd.randrange(10 ** 8)


def fill_frame(f, rnd, i):
    f.id = str(uuid.UUID(int=rnd.getrandbits(128)))
    f.name = '%04d-render_beauty' % (i % 10000)
    f.layer_name = 'render_beauty'
    f.number = i % 10000
    f.state = rnd.randrange(0, 7)
    f.retry_count = rnd.randrange(4)
    f.exit_status = rnd.choice([0, 0, 0, 1, 137])
    f.dispatch_order = i
    f.start_time = 1763000000 + rnd.randrange(1000000)
    f.stop_time = f.start_time + rnd.randrange(20000)
    f.max_rss = rnd.randrange(10 ** 8)
    f.used_memory = rnd.randrange(10 ** 8)
    f.reserved_memory = 8388608
    f.reserved_gpu_memory = 0
    f.last_resource = 'render%03d.farm/8.00/0' % rnd.randrange(500)
    f.checkpoint_state = 0
    f.checkpoint_count = 0
    f.total_core_time = rnd.randrange(10 ** 6)
    f.llu_time = f.stop_time
    f.total_gpu_time = 0
    f.max_gpu_memory = 0
    f.used_gpu_memory = 0
    f.max_pss = rnd.randrange(10 ** 8)
    f.used_pss = rnd.randrange(10 ** 8)
    f.eligible_time = f.start_time - 10
    f.submission_time = f.start_time - 60


def fill_show(s, rnd):
    s.id = str(uuid.UUID(int=rnd.getrandbits(128)))
    s.name = 'pipeline'
    s.default_min_cores, s.default_max_cores = 1.0, 2000.0
    s.comment_email = 'pipeline-leads@studio.example'
    s.booking_enabled = s.dispatch_enabled = s.active = True
    s.default_min_gpus, s.default_max_gpus = 0.0, 8.0
    s.scheduler_managed = True
    st = s.show_stats
    st.running_frames, st.dead_frames, st.pending_frames, st.pending_jobs = 812, 14, 40211, 37
    st.created_job_count, st.created_frame_count = 18423, 9034112
    st.rendered_frame_count, st.failed_frame_count = 8712003, 22410
    st.reserved_cores, st.reserved_gpus = 3248.5, 12.0


def write_cases(cls, out, jobs_msg, rnd, split_copies=10):
    """The stand-in's answers and the HTTP bodies that ask for them."""
    cases = []
    shows = cls('show.ShowGetShowsResponse')()
    fill_show(shows.shows.shows.add(), rnd)
    cases.append(('shows', '/show.ShowInterface/GetShows', {}, shows))
    n = len(jobs_msg.jobs.jobs)
    small = cls('job.JobGetJobsResponse')()
    small.jobs.jobs.extend(jobs_msg.jobs.jobs[:200])
    for name, msg in (('jobs200', small), ('jobs%d' % n, jobs_msg)):
        body = {'r': {'shows': ['bench' + name[4:]]}}
        cases.append((name, '/job.JobInterface/GetJobs', body, msg))
    lines = []
    sizes = {}
    for name, path, body, resp in cases:
        service, method = path[1:].split('/')
        req_cls = cls(_input_type(cls, service, method))
        req = req_cls()
        if body:
            json_format.ParseDict(body, req)
        for suffix, data in (('.req.pb', req.SerializeToString()),
                             ('.resp.pb', resp.SerializeToString())):
            with open(os.path.join(out, name + suffix), 'wb') as f:
                f.write(data)
        with open(os.path.join(out, name + '.json'), 'w') as f:
            json.dump(body, f)
        lines.append('%s %s.req.pb %s.resp.pb' % (path, name, name))
        js = json.dumps(json_format.MessageToDict(resp, including_default_value_fields=True),
                        separators=(',', ':'), ensure_ascii=False)
        print('case %s: %s, %d bytes of protobuf, %d bytes of compact JSON'
              % (name, path, resp.ByteSize(), len(js.encode())))
        with open(os.path.join(out, name + '.resp.json-size'), 'w') as f:
            f.write('%d\n' % len(js.encode()))
        sizes[name] = len(js.encode())
    if split_copies > 0:
        lines.append(write_split_case(cls, out, jobs_msg, split_copies,
                                      sizes['jobs%d' % n]))
    with open(os.path.join(out, 'manifest.txt'), 'w') as f:
        f.write('\n'.join(lines) + '\n')


def varint(v):
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7f) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def field(number, payload):
    return varint(number << 3 | 2) + varint(len(payload)) + payload


SPLIT_OCCURRENCES, SPLIT_JOBS = 45197, 50000


def split_jobs(elements, n):
    """n jobs, cycled from elements (each a JobSeq `jobs` field, tag and
    length included), as the wire bytes of a JobGetJobsResponse sending
    them in k occurrences of `jobs` (K/n = 45,197/50,000, groups of one and
    two jobs): (k, wire)."""
    k = max(1, round(n * SPLIT_OCCURRENCES / SPLIT_JOBS))
    return k, b''.join(
        field(1, b''.join(elements[i % len(elements)] for i in range(g * n // k, (g + 1) * n // k)))
        for g in range(k))


def write_split_case(cls, out, jobs_msg, copies, json_size_once):
    """The jobssplit case's files; returns its manifest line."""
    one = [field(1, j.SerializeToString()) for j in jobs_msg.jobs.jobs]
    n = len(one) * copies
    k, wire = split_jobs(one, n)
    req = cls('job.JobGetJobsRequest')()
    body = {'r': {'shows': ['benchsplit']}}
    json_format.ParseDict(body, req)
    with open(os.path.join(out, 'jobssplit.req.pb'), 'wb') as f:
        f.write(req.SerializeToString())
    with open(os.path.join(out, 'jobssplit.resp.pb'), 'wb') as f:
        f.write(wire)
    with open(os.path.join(out, 'jobssplit.json'), 'w') as f:
        json.dump(body, f)
    # The JSON of n jobs is the JSON of the farm's jobs `copies` times:
    # {"jobs":{"jobs":[ (17 bytes), the jobs, commas, ]}} (3 bytes).
    each = json_size_once - 17 - 3 - (len(one) - 1)
    json_size = 17 + 3 + each * copies + (n - 1)
    with open(os.path.join(out, 'jobssplit.resp.json-size'), 'w') as f:
        f.write('%d\n' % json_size)
    print('case jobssplit: /job.JobInterface/GetJobs, %d bytes of protobuf (%d jobs in %d '
          'occurrences of jobs), %d bytes of compact JSON' % (len(wire), n, k, json_size))
    return '/job.JobInterface/GetJobs jobssplit.req.pb jobssplit.resp.pb'


def fill_layer(layer, rnd, job, i):
    layer.id = str(uuid.UUID(int=rnd.getrandbits(128)))
    layer.name = '%02d_%s' % (i, rnd.choice(['render_beauty', 'render_fx', 'comp', 'denoise']))
    layer.range = '1-%d' % rnd.randrange(24, 400)
    layer.tags.extend(['general', rnd.choice(['gpu', 'highmem'])])
    layer.min_cores, layer.max_cores = 1.0, 16.0
    layer.min_memory = 8388608
    layer.chunk_size = 1
    layer.dispatch_order = i
    layer.services.append('katana')
    layer.parent_id = job.id
    layer.command = '/shots/%s/bin/render -f #IFRAME#' % job.show
    st = layer.layer_stats
    st.total_frames = rnd.randrange(24, 400)
    st.waiting_frames = rnd.randrange(st.total_frames)
    st.running_frames = rnd.randrange(20)
    st.avg_frame_sec = rnd.randrange(30, 5000)
    st.max_rss = rnd.randrange(10 ** 8)


# The load test's requests, as loadtest.py sends them ("{id}": a job id).
LOADTEST_BODIES = {
    'GetActiveShows': ('/show.ShowInterface/GetActiveShows', {}),
    'GetJobs': ('/job.JobInterface/GetJobs', {'r': {'ids': ['{id}'], 'includeFinished': True}}),
    'GetLayers': ('/job.JobInterface/GetLayers', {'job': {'id': '{id}'}}),
    'GetFrames': ('/job.JobInterface/GetFrames',
                  {'job': {'id': '{id}'}, 'req': {'page': 1, 'limit': 100, 'includeFinished': True}}),
    'Pause': ('/job.JobInterface/Pause', {'job': {'id': '{id}'}}),
    'Resume': ('/job.JobInterface/Resume', {'job': {'id': '{id}'}}),
}


def write_loadtest_farm(cls, out, n_jobs, rnd):
    """The load test's farm in out (see the module's doc)."""
    os.makedirs(out, exist_ok=True)
    lines, ids = [], []

    def request(kind, job_id):
        path, body = LOADTEST_BODIES[kind]
        service, method = path[1:].split('/')
        req = cls(_input_type(cls, service, method))()
        json_format.ParseDict(json.loads(json.dumps(body).replace('{id}', job_id)), req)
        return path, req.SerializeToString()

    def put(name, data):
        with open(os.path.join(out, name), 'wb') as f:
            f.write(data)
        return name

    shows = cls('show.ShowGetActiveShowsResponse')()
    for name in ('pipeline', 'aurora', 'kestrel', 'marmot'):
        s = shows.shows.shows.add()
        fill_show(s, rnd)
        s.name = name
    path, req = request('GetActiveShows', '')
    lines.append('%s %s %s' % (path, put('shows.req.pb', req), put('shows.resp.pb', shows.SerializeToString())))
    empty = put('empty.pb', b'')
    for k in range(n_jobs):
        jobs = cls('job.JobGetJobsResponse')()
        job = jobs.jobs.jobs.add()
        fill_job(job, rnd, k)
        job.is_paused = False
        ids.append(job.id)
        path, req = request('GetJobs', job.id)
        running = put('j%d.resp.pb' % k, jobs.SerializeToString())
        job.is_paused = True
        paused = put('j%d.paused.pb' % k, jobs.SerializeToString())
        lines.append('%s %s %s read:%d:%s' % (path, put('j%d.req.pb' % k, req), running, k, paused))
        layers = cls('job.JobGetLayersResponse')()
        for i in range(6):
            fill_layer(layers.layers.layers.add(), rnd, job, i)
        path, req = request('GetLayers', job.id)
        lines.append('%s %s %s' % (path, put('l%d.req.pb' % k, req), put('l%d.resp.pb' % k, layers.SerializeToString())))
        frames = cls('job.JobGetFramesResponse')()
        for i in range(100):
            fill_frame(frames.frames.frames.add(), rnd, i)
        path, req = request('GetFrames', job.id)
        lines.append('%s %s %s' % (path, put('f%d.req.pb' % k, req), put('f%d.resp.pb' % k, frames.SerializeToString())))
        for kind in ('Pause', 'Resume'):
            path, req = request(kind, job.id)
            lines.append('%s %s %s %s:%d' % (path, put('%s%d.req.pb' % (kind[0].lower(), k), req),
                                             empty, kind.lower(), k))
    with open(os.path.join(out, 'manifest.txt'), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    with open(os.path.join(out, 'farm.json'), 'w') as f:
        json.dump({'jobs': ids, 'bodies': LOADTEST_BODIES}, f)
    print('loadtest farm: %d jobs, %d answers in %s' % (n_jobs, len(lines), out))


def _input_type(cls, service, method):
    return cls.pool.FindServiceByName(service).FindMethodByName(method).input_type.full_name


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--schema', required=True)
    ap.add_argument('--out')
    ap.add_argument('--loadtest', help="write the load test's farm here instead")
    ap.add_argument('--loadtest-jobs', type=int, default=400)
    ap.add_argument('--jobs', type=int, default=5000)
    ap.add_argument('--frames', type=int, default=50000)
    ap.add_argument('--split-copies', type=int, default=10,
                    help='copies of the jobs in the jobssplit case (0: no such case)')
    args = ap.parse_args()
    cls = classes(args.schema)
    rnd = random.Random(20261123)
    if args.loadtest:
        write_loadtest_farm(cls, args.loadtest, args.loadtest_jobs, rnd)
        return
    if not args.out:
        ap.error('--out or --loadtest is required')
    os.makedirs(args.out, exist_ok=True)

    jobs = cls('job.JobGetJobsResponse')()
    for i in range(args.jobs):
        fill_job(jobs.jobs.jobs.add(), rnd, i)
    frames = cls('job.JobGetFramesResponse')()
    for i in range(args.frames):
        fill_frame(frames.frames.frames.add(), rnd, i)
    for name, msg in (('job.JobGetJobsResponse', jobs), ('job.JobGetFramesResponse', frames)):
        path = os.path.join(args.out, name + '.pb')
        with open(path, 'wb') as f:
            f.write(msg.SerializeToString())
        print('wrote %s (%d bytes)' % (path, os.path.getsize(path)))
    cases = os.path.join(args.out, 'cases')
    os.makedirs(cases, exist_ok=True)
    write_cases(cls, cases, jobs, rnd, args.split_copies)


if __name__ == '__main__':
    main()
