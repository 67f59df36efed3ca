#!/usr/bin/python3
"""Issue 13 at the gateway: a Cuebot answer that is small on the wire but
sends a singular message field as many occurrences (which protobuf merges)
must cost a worker memory in proportion to the answer, and be answered 200
with the JSON of the merged message.

A `cuegw --listen` pool of one worker, no web server in front, a stand-in
Cuebot scripted to answer raw wire bytes (response_b64). Each hostile
answer is paired with a control: the same message sent plainly (one
occurrence), whose JSON the hostile one must give byte for byte. The
worker's growth is measured per request as VmHWM after the answer minus
VmRSS before it, the high-water mark reset (/proc/PID/clear_refs, 5) just
before; the hostile answer may grow the worker by at most what the
control did plus 1.2 x its wire bytes + 1 MiB (issue 13's response
target) plus 4 MiB for what malloc happens to keep or give back between
two requests.

  GetShows: 64 KB of the bytes 0a 02 0a 00 (16,384 occurrences of
            `shows`, each one empty Show);
  GetJobs:  2,000 jobs as 1,808 occurrences of `jobs` (issue 13's
            45,197 per 50,000).

Usage: test_codec_memory.py --cuegw BUILD/cuegw --schema BUILD/gen/schema.pb
Prints "codec-memory: N passed, M failed".
"""

import base64
import json
import os
import random
import sys

sys.dont_write_bytecode = True      # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "bench"))
import fcgi_client  # noqa: E402
import harness  # noqa: E402
import make_farm  # noqa: E402
from test_hostile import FastCgiPool  # noqa: E402

SECRET = "codec-memory-secret-0123456789"
MiB = 1 << 20
SLACK = 4 * MiB
GET_SHOWS = "/show.ShowInterface/GetShows"
GET_JOBS = "/job.JobInterface/GetJobs"


def shows_case():
    n = 16384
    hostile = b"\x0a\x02\x0a\x00" * n
    plain = make_farm.field(1, b"\x0a\x00" * n)
    return "GetShows, 0a 02 0a 00 x %d" % n, GET_SHOWS, plain, hostile


def jobs_case(schema):
    cls = make_farm.classes(schema)
    rnd = random.Random(13)
    jobs = cls("job.JobGetJobsResponse")()
    for i in range(2000):
        make_farm.fill_job(jobs.jobs.jobs.add(), rnd, i)
    one = [make_farm.field(1, j.SerializeToString()) for j in jobs.jobs.jobs]
    k, hostile = make_farm.split_jobs(one, len(one))
    plain = make_farm.field(1, b"".join(one))
    return "GetJobs, %d jobs in %d occurrences" % (len(one), k), GET_JOBS, plain, hostile


def vm(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return 0


def measured(pid, send):
    """send()'s answer and how much the worker grew while it ran."""
    with open("/proc/%d/clear_refs" % pid, "w") as f:
        f.write("5")
    before = vm(pid, "VmRSS")
    answer = send()
    return answer, vm(pid, "VmHWM") - before


def run(c, args):
    standin = harness.Standin(args.schema).start()
    pool = FastCgiPool(args.cuegw, {"CUEBOT_ENDPOINT": standin.endpoint, "JWT_SECRET": SECRET,
                                    "REQUEST_TIMEOUT": "60s", "LOG_LEVEL": "warn"})
    token = harness.sign_jwt(SECRET)
    workers = harness.children(pool.proc.pid)
    c.check(len(workers) == 1, "the pool runs one worker", workers)
    pid = workers[0]

    def send(path):
        params = {"REQUEST_METHOD": "POST", "REQUEST_URI": path,
                  "CONTENT_TYPE": "application/json", "HTTP_AUTHORIZATION": "Bearer " + token}
        status, _, body, _ = fcgi_client.request(pool.socket, params, b"{}", timeout=120)
        return status, body

    for name, path, plain, hostile in (shows_case(), jobs_case(args.schema)):
        standin.script(method=path, response_b64=base64.b64encode(plain).decode(), times=2)
        warm = send(path)        # the worker's buffers as a like answer leaves them
        (status0, json0), grew0 = measured(pid, lambda: send(path))
        c.check(warm[0] == 200 and status0 == 200, "%s: the plain answer is 200" % name,
                (warm[0], status0, json0[:200]))
        standin.script(method=path, response_b64=base64.b64encode(hostile).decode(), times=1)
        (status, body), grew = measured(pid, lambda: send(path))
        c.check(status == 200, "%s: answered 200" % name, (status, body[:300]))
        c.check(status != 200 or body == json0,
                "%s: the JSON of the merged message (%d bytes)" % (name, len(json0)),
                "%d bytes, first difference at %d" % (
                    len(body), next((i for i, (a, b) in enumerate(zip(body, json0)) if a != b),
                                    min(len(body), len(json0)))))
        if path == GET_SHOWS and status == 200:
            shows = json.loads(body)["shows"]["shows"]
            c.check(len(shows) == 16384, "%s: 16,384 shows" % name, len(shows))
        bound = max(grew0, 0) + 1.2 * len(hostile) + MiB + SLACK
        print("%s: %d bytes of wire; the worker grew %.1f MB (the plain answer: %.1f MB; "
              "bound %.1f MB)" % (name, len(hostile), grew / 1e6, grew0 / 1e6, bound / 1e6),
              flush=True)
        c.check(grew <= bound, "%s: the worker grows at most %.1f MB" % (name, bound / 1e6),
                "it grew %.1f MB" % (grew / 1e6))
    c.check(harness.children(pool.proc.pid) == [pid], "the worker is still the same process",
            harness.children(pool.proc.pid))


def main():
    return harness.suite_main("codec-memory", run)


if __name__ == "__main__":
    sys.exit(main())
