#!/usr/bin/python3
"""cuegw under valgrind memcheck (issue 5, part 2): `cuegw --listen SOCKET
--workers 1` runs under memcheck (the pool process and its forked worker
each write their own report), takes exactly --requests mixed requests
straight over FastCGI (valid calls of several kinds, a streamed large
answer, erroneous JSON, over-size bodies, unauthenticated calls, unknown
paths, Cuebot errors, deadlines and answers over the receive limit), each
of which must get its expected status, and is stopped with SIGTERM. It
passes only when memcheck reports no error and no definitely or
indirectly lost block in any process, and the pool exits 0.

No suppressions: nothing at all is suppressed. gRPC and glibc leave
"still reachable" and thread "possibly lost" blocks at exit, which are
neither counted as errors nor shown (--show-leak-kinds=definite,indirect).

Usage: run.py --cuegw BUILD/cuegw --schema BUILD/gen/schema.pb [--requests N]
Prints "valgrind: N passed, M failed".
"""

import collections
import glob
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True      # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))
import fcgi_client  # noqa: E402
import harness  # noqa: E402

SECRET = "valgrind-secret-0123456789"
MAX_BODY = 65536                 # GRPC_MAX_MESSAGE_SIZE for this run: cheap to exceed
MEMCHECK = ["--tool=memcheck", "--leak-check=full", "--show-leak-kinds=definite,indirect",
            "--errors-for-leak-kinds=definite,indirect", "--error-exitcode=99",
            "--trace-children=yes", "--num-callers=30"]

# Methods the stand-in is scripted to fail or to answer big, so that the
# valid kinds above keep their normal answers.
ERR_PRECONDITION = "/show.ShowInterface/CreateShow"
ERR_INTERNAL = "/job.JobInterface/Kill"
SLOW = "/job.JobInterface/Pause"
BIG = "/host.HostInterface/GetHosts"
TOO_BIG = "/facility.AllocationInterface/GetAll"


def kinds(token, expired, other):
    """(name, weight, params, body, expected status). The weights are out
    of 100 per round; rare kinds (deadlines cost a second each) are added
    every so many requests in mix()."""
    auth = {"HTTP_AUTHORIZATION": "Bearer " + token}

    def post(path, headers=None):
        p = {"REQUEST_METHOD": "POST", "REQUEST_URI": path, "CONTENT_TYPE": "application/json"}
        p.update(auth if headers is None else headers)
        return p

    job = {"name": "pipe-sh10-comp_v12", "id": ""}
    return [
        ("GetShows", 16, post("/show.ShowInterface/GetShows"), b"{}", 200),
        ("GetJobs", 10, post("/job.JobInterface/GetJobs"), b'{"r": {"includeFinished": true}}', 200),
        ("GetFrames", 8, post("/job.JobInterface/GetFrames"),
         json.dumps({"job": job, "req": {}}).encode(), 200),
        ("FindShow", 6, post("/show.ShowInterface/FindShow"), b'{"name": "testing"}', 200),
        ("FindShow unknown (Cuebot NOT_FOUND)", 4, post("/show.ShowInterface/FindShow"),
         b'{"name": "nope"}', 404),
        ("large streamed answer", 3, post(BIG), b'{"r": {}}', 200),
        ("preflight", 2, {"REQUEST_METHOD": "OPTIONS", "REQUEST_URI": "/show.ShowInterface/GetShows",
                          "HTTP_ORIGIN": "https://x.example",
                          "HTTP_ACCESS_CONTROL_REQUEST_METHOD": "POST"}, b"", 204),
        ("broken JSON", 5, post("/show.ShowInterface/FindShow"), b'{"name": ', 400),
        ("wrong type", 4, post("/job.JobInterface/GetJobs"), b'{"r": {"includeFinished": "yes"}}', 400),
        ("duplicate key", 3, post("/job.JobInterface/GetJobs"), b'{"r": {}, "r": {}}', 400),
        ("invalid UTF-8", 3, post("/show.ShowInterface/FindShow"), b'{"name": "\xc0\xaf"}', 400),
        ("nested 1000 deep", 2, post("/job.JobInterface/GetJobs"),
         b'{"r": ' + b"[" * 1000 + b"]" * 1000 + b"}", 400),
        ("over-size, declared", 3, post("/show.ShowInterface/FindShow"),
         b'{"name": "' + b"x" * MAX_BODY + b'"}', 413),
        ("over-size, length not given", 2,
         dict(post("/show.ShowInterface/FindShow"), CONTENT_LENGTH=""),
         b'{"name": "' + b"x" * MAX_BODY + b'"}', 413),
        ("no credentials", 5, post("/show.ShowInterface/GetShows", {}), b"{}", 401),
        ("expired token", 3, post("/show.ShowInterface/GetShows",
                                  {"HTTP_AUTHORIZATION": "Bearer " + expired}), b"{}", 401),
        ("token of another secret", 3, post("/show.ShowInterface/GetShows",
                                            {"HTTP_AUTHORIZATION": "Bearer " + other}), b"{}", 401),
        ("malformed token", 2, post("/show.ShowInterface/GetShows",
                                    {"HTTP_AUTHORIZATION": "Bearer a.b.c"}), b"{}", 401),
        ("unknown method", 4, post("/show.ShowInterface/NoSuchMethod"), b"{}", 404),
        ("odd path", 2, post("/show.ShowInterface/../show.ShowInterface/GetShows"), b"{}", 404),
        ("GET", 2, dict(post("/show.ShowInterface/GetShows"), REQUEST_METHOD="GET"), b"", 405),
        ("Cuebot FAILED_PRECONDITION", 4, post(ERR_PRECONDITION), b'{"name": "x"}', 400),
        ("Cuebot INTERNAL", 4, post(ERR_INTERNAL), b"{}", 500),
    ]


RARE = [  # (every n-th request, name, params path, expected status)
    (97, "answer over the receive limit", TOO_BIG, 500),
    (499, "deadline", SLOW, 504),
]


def mix(n, table, token):
    """Exactly n requests: the weighted table, round after round, with the
    rare kinds put in at their intervals."""
    rounds = []
    for name, weight, params, body, want in table:
        rounds += [(name, params, body, want)] * weight
    auth = {"HTTP_AUTHORIZATION": "Bearer " + token}
    out = []
    i = 0
    while len(out) < n:
        k = len(out) + 1
        rare = [r for r in RARE if k % r[0] == 0]
        if rare:
            _, name, path, want = rare[0]
            out.append((name, dict(auth, REQUEST_METHOD="POST", REQUEST_URI=path), b"{}", want))
            continue
        out.append(rounds[i % len(rounds)])
        i += 1
    return out


def leak_summary(text):
    """(errors, definitely lost bytes, indirectly lost bytes) from a report."""
    errors = re.findall(r"ERROR SUMMARY: ([\d,]+) errors", text)
    definite = re.findall(r"definitely lost: ([\d,]+) bytes", text)
    indirect = re.findall(r"indirectly lost: ([\d,]+) bytes", text)

    def num(found):
        return int(found[-1].replace(",", "")) if found else 0
    return (num(errors) if errors else None), num(definite), num(indirect)


def run(c, args):
    valgrind = harness.need("valgrind")
    standin = harness.Standin(args.schema).start()
    standin.script(method=ERR_PRECONDITION, code=9, message="scripted precondition")
    standin.script(method=ERR_INTERNAL, code=13, message="scripted internal error")
    standin.script(method=SLOW, delay_ms=3000)
    standin.script(method=BIG, response_bytes=300_000)
    standin.script(method=TOO_BIG, response_bytes=1_500_000)

    work = tempfile.mkdtemp(prefix="cuegw-valgrind-")
    sock = os.path.join(work, "cuegw.sock")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "CUEBOT_ENDPOINT": standin.endpoint,
           "JWT_SECRET": SECRET, "GRPC_MAX_MESSAGE_SIZE": str(MAX_BODY),
           "GRPC_MAX_RECV_MSG_MB": "1", "REQUEST_TIMEOUT": "1s", "SHUTDOWN_TIMEOUT": "60s",
           "LOG_LEVEL": "error"}
    cmd = [valgrind] + MEMCHECK + ["--log-file=%s/memcheck.%%p.log" % work,
                                   args.cuegw, "--listen", sock, "--workers", "1"]
    out = open(os.path.join(work, "cuegw.log"), "ab")
    pool = subprocess.Popen(cmd, env=env, stdout=out, stderr=out)
    out.close()
    print("valgrind: memcheck reports in %s" % work, flush=True)
    try:
        token = harness.sign_jwt(SECRET)
        table = kinds(token, harness.sign_jwt(SECRET, {"exp": int(time.time()) - 60}),
                      harness.sign_jwt("another-secret"))
        # Start-up under memcheck takes seconds: wait for a first answer.
        end = time.monotonic() + 120
        while True:
            try:
                fcgi_client.request(sock, table[0][2], b"{}", timeout=60)
                break
            except OSError:
                if pool.poll() is not None or time.monotonic() > end:
                    raise RuntimeError("cuegw under valgrind did not start; see %s" % work)
                time.sleep(0.2)
        requests = mix(args.requests, table, token)
        wrong = collections.defaultdict(list)
        count = collections.Counter()
        t0 = time.monotonic()
        for name, params, body, want in requests:
            count[name] += 1
            try:
                status = fcgi_client.request(sock, params, body, timeout=60)[0]
            except OSError as e:
                status = repr(e)
            if status != want:
                wrong[name].append(status)
        took = time.monotonic() - t0
        c.check(sum(count.values()) == args.requests, "exactly %d requests were sent" % args.requests,
                sum(count.values()))
        for name in sorted(count):
            c.check(not wrong[name], "%s: %d requests, each with its expected status"
                    % (name, count[name]), wrong[name][:5])
        print("valgrind: %d requests in %.0fs, %d kinds" % (args.requests, took, len(count)), flush=True)
        workers = harness.children(pool.pid)
        pool.send_signal(signal.SIGTERM)
        try:
            rc = pool.wait(180)
        except subprocess.TimeoutExpired:
            pool.kill()
            rc = "did not stop within 180 s"
        c.check(rc == 0, "the pool stops on SIGTERM with status 0 (99: memcheck found errors)", rc)
        c.check(len(workers) == 1, "one worker served them all (none died)", workers)
    finally:
        if pool.poll() is None:
            pool.kill()
            pool.wait()
        harness.stop_all()

    reports = sorted(glob.glob(os.path.join(work, "memcheck.*.log")))
    c.check(len(reports) == 2, "memcheck reports for the pool and its worker", reports)
    for path in reports:
        with open(path, errors="replace") as f:
            text = f.read()
        errors, definite, indirect = leak_summary(text)
        name = os.path.basename(path)
        c.check(errors == 0, "%s: no memcheck error" % name, "%s errors; %s" % (errors, path))
        c.check(definite == 0 and indirect == 0, "%s: nothing definitely or indirectly lost" % name,
                "%d + %d bytes; %s" % (definite, indirect, path))
        if errors or definite or indirect:
            print("\n".join(text.splitlines()[-80:]))


def main():
    t0 = time.monotonic()

    def timed(c, args):
        try:
            run(c, args)
        finally:
            print("valgrind: finished in %.0fs" % (time.monotonic() - t0))
    return harness.suite_main("valgrind", timed, lambda ap: ap.add_argument(
        "--requests", type=int, default=10000))


if __name__ == "__main__":
    sys.exit(main())
