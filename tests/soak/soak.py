#!/usr/bin/python3
"""Soak (issue 5, part 4): a bounded mixed load through nginx with a
spawn-fcgi pool (conf/) and then through lighttpd (lighttpd/), both from
the shipped configurations, in front of the stand-in Cuebot, on loopback.

For each front it prints the requests served, the errors by kind (those
the mix asks for, and unexpected ones), p50/p99 latency, and each cuegw
process's resident memory (VmRSS) at the start and at the end (the peak
of the warm-up's last 5 seconds, and of the run's). It passes
("soak: PASS") only with no unexpected answer at all (a wrong status, a
200 whose body is not JSON, a request over the time bound, a worker that
died) and every worker's RSS grown by less than 1 MB.

Latency figures depend on what else the machine runs; they are reported,
never asserted.

Usage: soak.py --cuegw BUILD/cuegw --schema BUILD/gen/schema.pb
               [--seconds N (SOAK_SECONDS, default 120, per front)]
               [--warmup N (default 20)] [--threads N (default 8)]
"""

import collections
import json
import os
import sys
import time

sys.dont_write_bytecode = True      # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))
import front_nginx  # noqa: E402
import harness  # noqa: E402
from load import Load  # noqa: E402

SECRET = "soak-secret-0123456789"
MAX_BODY = 65536                    # GRPC_MAX_MESSAGE_SIZE here: over-size bodies stay cheap
RSS_GROWTH_LIMIT_KB = 1024
TIME_BOUND = 30.0                   # seconds; a request waiting longer is unexpected
ERR_METHOD = "/show.ShowInterface/CreateShow"     # scripted: FAILED_PRECONDITION
BIG_METHOD = "/host.HostInterface/GetHosts"       # scripted: a 300 kB answer, streamed


def mix(token):
    """(kind, weight, method, path, body, headers, expected status)."""
    auth = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
    job = {"name": "pipe-sh10-comp_v12", "id": ""}
    return [
        ("GetShows", 25, "POST", "/show.ShowInterface/GetShows", b"{}", auth, 200),
        ("GetJobs", 20, "POST", "/job.JobInterface/GetJobs", b'{"r": {"includeFinished": true}}',
         auth, 200),
        ("GetFrames", 20, "POST", "/job.JobInterface/GetFrames",
         json.dumps({"job": job, "req": {}}).encode(), auth, 200),
        ("GetHosts (300 kB)", 2, "POST", BIG_METHOD, b'{"r": {}}', auth, 200),
        ("FindShow unknown: Cuebot NOT_FOUND", 5, "POST", "/show.ShowInterface/FindShow",
         b'{"name": "nope"}', auth, 404),
        ("Cuebot FAILED_PRECONDITION", 5, "POST", ERR_METHOD, b'{"name": "x"}', auth, 400),
        ("unauthenticated", 6, "POST", "/show.ShowInterface/GetShows", b"{}", {}, 401),
        ("bad token", 3, "POST", "/show.ShowInterface/GetShows", b"{}",
         {"Authorization": "Bearer x.y.z"}, 401),
        ("bad JSON", 6, "POST", "/job.JobInterface/GetJobs", b'{"r": {"includeFinished": tru}}',
         auth, 400),
        ("unknown method", 4, "POST", "/show.ShowInterface/Nope", b"{}", auth, 404),
        ("over-size body", 2, "POST", "/show.ShowInterface/FindShow",
         b'{"name": "' + b"x" * MAX_BODY + b'"}', auth, 413),
        ("GET", 2, "GET", "/show.ShowInterface/GetShows", None, auth, 405),
    ]


def picker(table):
    order = []
    for kind, weight, method, path, body, headers, want in table:
        order += [(kind, method, path, body, headers)] * weight
    # A prime stride spreads the kinds through each client's sequence.
    return lambda i: order[(i * 7919) % len(order)]


def rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def watch_rss(pids, seconds, tail=5.0):
    """Waits `seconds` (under load) reading each process's RSS every half
    second; returns each one's highest reading in the last `tail` seconds
    (None for a process that is gone). The highest, not the last: glibc
    hands freed heap back to the system in steps, so single readings
    under load swing (measured: 18.4 to 19.9 MB within 15 s, with no trend
    over 2 minutes), while the peak of a window moves only when the
    memory in use grows."""
    end = time.monotonic() + seconds
    peaks = {p: None for p in pids}
    while True:
        now = time.monotonic()
        if now >= end:
            return peaks
        if now >= end - tail:
            for p in pids:
                r = rss_kb(p)
                if r is not None and (peaks[p] is None or r > peaks[p]):
                    peaks[p] = r
        time.sleep(min(0.5, max(0.0, end - now)))


def percentile(values, p):
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100.0 * (len(s) - 1))))]


def verdict(a, expected):
    """What is kept of an answer: (kind, served, elapsed, problem), where
    problem says what was unexpected about it, or is None."""
    want = expected[a.kind]
    problem = None
    if a.status is None:
        problem = "no answer: %s" % a.error
    elif a.status != want:
        problem = "status %d, wanted %d: %s" % (a.status, want, (a.body or b"")[:120])
    elif a.elapsed > TIME_BOUND:
        problem = "took %.1fs" % a.elapsed
    elif want == 200:
        try:
            json.loads(a.body)
        except ValueError:
            problem = "a 200 whose body is not JSON (%d bytes)" % len(a.body)
    return a.kind, a.status is not None, a.elapsed, problem


def classify(verdicts, expected):
    """(expected errors by kind, unexpected answers by kind)."""
    exp = collections.Counter()
    unexp = collections.defaultdict(list)
    for kind, _, _, problem in verdicts:
        if problem:
            unexp[kind].append(problem)
        elif expected[kind] != 200:
            exp[kind] += 1
    return exp, unexp


def soak(c, name, front, pids, table, args):
    expected = {row[0]: row[6] for row in table}
    pick = picker(table)
    # Warm-up: the same mix, first. A process's RSS settles only once
    # every path has run (libraries' pages touched, glibc's malloc arenas
    # and free lists at their working size, gRPC's caches and the request
    # arena grown to its high-water mark by the largest answers); growth
    # that is a leak goes on after it, settling does not.
    def digest(a):
        return verdict(a, expected)
    warm = Load(front.port, pick, args.threads, TIME_BOUND, prefix=name + "-warm",
                digest=digest).start()
    start_pids = pids()
    start_rss = watch_rss(start_pids, args.warmup)
    warm_answers = warm.stop()
    t0 = time.monotonic()
    load = Load(front.port, pick, args.threads, TIME_BOUND, prefix=name, digest=digest).start()
    end_rss = watch_rss(start_pids, args.seconds)
    answers = load.stop()
    took = time.monotonic() - t0
    end_pids = pids()

    exp, unexp = classify(warm_answers + answers, expected)
    lat = [elapsed * 1000 for _, served, elapsed, _ in answers if served]
    served = len(lat)
    print("== %s: %d requests served in %.0fs (%.0f/s), %d threads; %d more in the %.0fs warm-up"
          % (name, served, took, served / took, args.threads, len(warm_answers), args.warmup))
    print("   latency p50 %.1f ms, p99 %.1f ms, max %.1f ms (machine shared: noisy)"
          % (percentile(lat, 50), percentile(lat, 99), max(lat) if lat else float("nan")))
    print("   expected errors by kind (warm-up included):")
    for kind in sorted(exp):
        print("     %-36s %7d  (HTTP %d)" % (kind, exp[kind], expected[kind]))
    print("   unexpected: %d" % sum(len(v) for v in unexp.values()))
    for kind in sorted(unexp):
        print("     %-36s %7d  e.g. %s" % (kind, len(unexp[kind]), unexp[kind][0]))
    c.check(served > 0, "%s: requests were served" % name, served)
    c.check(not unexp, "%s: no unexpected answer" % name,
            {k: v[:2] for k, v in unexp.items()})
    c.check(start_pids == end_pids and len(start_pids) >= 1,
            "%s: the same cuegw processes from start to end" % name, (start_pids, end_pids))
    for p in start_pids:
        a, b = start_rss.get(p), end_rss.get(p)
        grew = (b - a) if a is not None and b is not None else None
        print("   worker %d: RSS %s kB at the start, %s kB at the end (%+d kB; peaks of 5 s)"
              % (p, a, b, grew if grew is not None else 0))
        c.check(grew is not None and grew < RSS_GROWTH_LIMIT_KB,
                "%s: worker %d's RSS grew by less than 1 MB" % (name, p), (a, b))


def run(c, args):
    standin = harness.Standin(args.schema).start()
    standin.script(method=ERR_METHOD, code=9, message="scripted precondition")
    standin.script(method=BIG_METHOD, response_bytes=300_000)
    token = harness.sign_jwt(SECRET, {"exp": int(time.time()) + 24 * 3600})
    table = mix(token)
    base = {"CUEBOT_ENDPOINT": standin.endpoint, "GRPC_MAX_MESSAGE_SIZE": str(MAX_BODY),
            "REQUEST_TIMEOUT": "10s", "LOG_LEVEL": "warn"}

    ng = front_nginx.Nginx(args.cuegw, dict(base, SETTINGS_FROM_PARAMS="1"),
                           {"JWT_SECRET": SECRET}, workers=2).start()
    soak(c, "nginx", ng, lambda: sorted(ng.pool_pids()), table, args)
    ng.stop()

    lt = harness.Lighttpd(args.cuegw, dict(base, JWT_SECRET=SECRET), workers=2).start()
    soak(c, "lighttpd", lt, lambda: sorted(harness.children(lt.proc.pid)), table, args)
    lt.stop()


def main():
    def add_args(ap):
        ap.add_argument("--seconds", type=float, default=float(os.environ.get("SOAK_SECONDS") or 120))
        ap.add_argument("--warmup", type=float, default=20)
        ap.add_argument("--threads", type=int, default=8)
    rc = harness.suite_main("soak", run, add_args)
    print("soak: %s" % ("PASS" if rc == 0 else "FAIL"))
    return rc

if __name__ == "__main__":
    sys.exit(main())
