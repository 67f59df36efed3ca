#!/usr/bin/python3
"""SHARE_READS through a real front (lighttpd, started from the shipped
file) to the stand-in Cuebot, which holds a read until the test releases
it (its control port's "hold"), so every step waits on an event: a call
reaching the stand-in, followers counted by cuegw_shared_reads_waiting.

  - identical concurrent reads in one process make one Cuebot call, and
    every client gets the same complete answer;
  - with SHARE_READS=0 each makes its own;
  - read-your-writes across the pool: with a read held in one process, a
    Pause answered by the other process, then a read in the first process
    makes its own call and sees the job paused, and lighttpd then answers
    it paused too.

READ_CACHE_MS (with a window far longer than any step, so nothing here
depends on timing):
  - an identical read after the first is answered from the kept answer:
    one Cuebot call, counted by cuegw_read_cache_hits_total;
  - a caller the policy refuses the method gets 403, not the kept answer;
  - across the pool, a Pause answered by one process, then a read in the
    process holding the kept answer, reads the job paused (a fresh call),
    and after a Resume running again.

Usage: test_shared_reads.py --cuegw BUILD/cuegw --schema BUILD/gen/schema.pb
"""

import json
import os
import re
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import auth_matrix  # noqa: E402
import fcgi_client  # noqa: E402
import harness  # noqa: E402

SECRET = "shared-reads-secret-0123456789"
GET_JOBS = "/job.JobInterface/GetJobs"
PAUSE = "/job.JobInterface/Pause"
RESUME = "/job.JobInterface/Resume"
JOB_ID = "00000005-0000-4000-8000-000000000001"     # testing-sh01-lighting_v3, not paused
READ_BODY = json.dumps({"r": {"ids": [JOB_ID]}}).encode()
JOB_BODY = json.dumps({"job": {"id": JOB_ID}}).encode()
K = 8                        # identical requests at once
BOUND = 20                   # seconds any wait may take before it is a failure


def headers():
    return {"Authorization": "Bearer " + harness.sign_jwt(SECRET),
            "Content-Type": "application/json"}


def metric(port, name):
    r = harness.request(port, "GET", "/metrics", headers=headers())
    m = re.search(r"^%s (\d+)$" % re.escape(name), r.body.decode(), re.M)
    return int(m.group(1)) if m else None


def calls(standin, method):
    return len(standin.control("GET", "/calls?method=" + method))


def release_held(standin, n=1):
    """Releases n held calls, waiting for each to be held first: /release
    wakes only the calls already waiting, and a call can still be on its
    way to the stand-in (or between being counted and being held) when
    the test has seen what it waits for on the gateway's side."""
    released = [0]

    def more():
        released[0] += standin.control("POST", "/release")["held"]
        return released[0] >= n
    return harness.wait_until(more, BOUND)


def job_paused(body):
    jobs = json.loads(body)["jobs"]["jobs"]
    return [j.get("isPaused", j.get("is_paused", False)) for j in jobs]


def burst(port, n, path, body):
    """n requests at once, each on its own thread; returns (threads, answers)."""
    answers = [None] * n

    def one(i):
        answers[i] = harness.request(port, "POST", path, body, headers(), timeout=BOUND + 10)
    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    return threads, answers


def test_identical_reads_share(c, env):
    srv, standin = env.one_process, env.standin
    standin.reset()
    standin.script(method=GET_JOBS, hold=True, times=1)
    joined0 = metric(srv.port, "cuegw_shared_reads_total")
    threads, answers = burst(srv.port, K, GET_JOBS, READ_BODY)
    # Either every follower waits on the held call, or (without sharing)
    # the others reached the stand-in on their own.
    harness.wait_until(lambda: metric(srv.port, "cuegw_shared_reads_waiting") == K - 1 or
                       calls(standin, GET_JOBS) >= 2, BOUND)
    release_held(standin)
    for t in threads:
        t.join(BOUND + 15)
    ok = [a for a in answers if a and a.status == 200]
    c.check(len(ok) == K, "all %d identical reads answered 200" % K,
            [a and (a.status, a.body[:200]) for a in answers])
    c.check(len({a.body for a in ok}) == 1 and ok and job_paused(ok[0].body) == [False],
            "they all carry the same complete answer", [a.body[:200] for a in ok[:2]])
    n = calls(standin, GET_JOBS)
    c.check(n == 1, "%d identical concurrent reads made one Cuebot call" % K, n)
    joined = metric(srv.port, "cuegw_shared_reads_total")
    c.check(joined is not None and joined0 is not None and joined - joined0 == K - 1,
            "cuegw_shared_reads_total counted the %d that joined" % (K - 1), (joined0, joined))
    c.check(metric(srv.port, "cuegw_shared_reads_waiting") == 0, "no read is left waiting")


def test_share_reads_off(c, env):
    srv, standin = env.unshared, env.standin
    standin.reset()
    standin.script(method=GET_JOBS, hold=True, times=1)
    threads, answers = burst(srv.port, 4, GET_JOBS, READ_BODY)
    # The first is held; the other three reach the stand-in themselves.
    got = harness.wait_until(lambda: calls(standin, GET_JOBS) >= 4, BOUND)
    release_held(standin)
    for t in threads:
        t.join(BOUND + 15)
    c.check(got and all(a and a.status == 200 for a in answers),
            "SHARE_READS=0: four identical reads, four Cuebot calls, all 200",
            (calls(standin, GET_JOBS), [a and a.status for a in answers]))
    c.check(metric(srv.port, "cuegw_shared_reads_total") == 0, "and none counted as shared")


def fcgi(sock, path, body):
    params = {"REQUEST_METHOD": "POST", "REQUEST_URI": path, "CONTENT_LENGTH": str(len(body)),
              "HTTP_AUTHORIZATION": "Bearer " + harness.sign_jwt(SECRET), "JWT_SECRET": SECRET}
    status, _, out, _ = fcgi_client.request(sock, params, body, timeout=BOUND + 10)
    return status, out


def test_read_your_writes(c, env):
    """A Pause answered by one process of the pool: a read that starts
    after it in the other process must not join the read that process had
    in flight since before the Pause."""
    srv, standin = env.pool, env.standin
    socks = [os.path.join(srv.run_dir, "cuegw.sock-%d" % i) for i in range(2)]
    c.check(all(os.path.exists(s) for s in socks), "lighttpd runs two processes", socks)
    standin.reset()
    standin.script(method=GET_JOBS, hold=True, times=1)
    mutations0 = metric(srv.port, "cuegw_cuebot_mutations_total")
    first = {}
    t1 = threading.Thread(target=lambda: first.update(r=fcgi(socks[0], GET_JOBS, READ_BODY)),
                          daemon=True)
    t1.start()
    c.check(harness.wait_until(lambda: calls(standin, GET_JOBS) == 1, BOUND),
            "the first read is in flight at the stand-in")
    status, out = fcgi(socks[1], PAUSE, JOB_BODY)
    c.check(status == 200, "Pause answered by the other process", (status, out[:200]))
    second = {}
    t2 = threading.Thread(target=lambda: second.update(r=fcgi(socks[0], GET_JOBS, READ_BODY)),
                          daemon=True)
    t2.start()
    # Joined, it would wait on the held call; on its own it is answered.
    harness.wait_until(lambda: "r" in second or
                       metric(srv.port, "cuegw_shared_reads_waiting") != 0, BOUND)
    answered_alone = "r" in second
    release_held(standin)
    t1.join(BOUND + 15)
    t2.join(BOUND + 15)
    c.check(answered_alone and calls(standin, GET_JOBS) == 2,
            "the read after the Pause made its own Cuebot call, not joining one from before",
            (answered_alone, calls(standin, GET_JOBS)))
    r2 = second.get("r")
    c.check(r2 and r2[0] == 200 and job_paused(r2[1]) == [True],
            "and it reads the job paused", r2 and r2[1][:300])
    r1 = first.get("r")
    c.check(r1 and r1[0] == 200, "the read from before is answered too", r1 and r1[1][:200])
    mutations = metric(srv.port, "cuegw_cuebot_mutations_total")
    c.check(mutations0 is not None and mutations == mutations0 + 1,
            "cuegw_cuebot_mutations_total counted the Pause, pool-wide", (mutations0, mutations))
    a = harness.request(srv.port, "POST", GET_JOBS, READ_BODY, headers())
    c.check(a.status == 200 and job_paused(a.body) == [True], "through lighttpd: paused",
            a.body[:300])
    r = harness.request(srv.port, "POST", RESUME, JOB_BODY, headers())
    a = harness.request(srv.port, "POST", GET_JOBS, READ_BODY, headers())
    c.check(r.status == 200 and a.status == 200 and job_paused(a.body) == [False],
            "Resume, then a read: running again", (r.status, a.body[:300]))


def cached_headers(role):
    return {"Authorization": "Bearer " + harness.sign_jwt(SECRET, {"role": role}),
            "Content-Type": "application/json"}


def test_read_cache_hit(c, env):
    srv, standin = env.cached, env.standin
    standin.reset()
    hits0 = metric(srv.port, "cuegw_read_cache_hits_total")
    a = harness.request(srv.port, "POST", GET_JOBS, READ_BODY, cached_headers("admin"))
    b = harness.request(srv.port, "POST", GET_JOBS, READ_BODY, cached_headers("admin"))
    c.check(a.status == 200 and b.status == 200 and a.body == b.body and
            job_paused(a.body) == [False], "two identical reads, the same complete answer",
            (a.status, b.status, a.body[:200]))
    n = calls(standin, GET_JOBS)
    c.check(n == 1, "the second was answered from the kept answer: one Cuebot call", n)
    hits = metric(srv.port, "cuegw_read_cache_hits_total")
    c.check(hits0 is not None and hits == hits0 + 1, "cuegw_read_cache_hits_total counted it",
            (hits0, hits))
    other = json.dumps({"r": {"ids": [JOB_ID, JOB_ID]}}).encode()
    r = harness.request(srv.port, "POST", GET_JOBS, other, cached_headers("admin"))
    c.check(r.status == 200 and calls(standin, GET_JOBS) == 2,
            "a read with other bytes makes its own call", (r.status, calls(standin, GET_JOBS)))
    # The policy lets role viewer call show.* only: the kept GetJobs answer
    # must not reach it.
    r = harness.request(srv.port, "POST", GET_JOBS, READ_BODY, cached_headers("viewer"))
    c.check(r.status == 403, "a caller the policy refuses gets 403, not the kept answer",
            (r.status, r.body[:200]))
    c.check(metric(srv.port, "cuegw_read_cache_hits_total") == hits0 + 1,
            "and no hit is counted for it")


def test_read_cache_read_your_writes(c, env):
    """A Pause answered by one process of the pool: a read in the other
    process, which holds the answer of a read from before the Pause, must
    make a fresh call and read the job paused."""
    srv, standin = env.cached_pool, env.standin
    socks = [os.path.join(srv.run_dir, "cuegw.sock-%d" % i) for i in range(2)]
    c.check(all(os.path.exists(s) for s in socks), "lighttpd runs two processes", socks)
    standin.reset()
    s1, out1 = fcgi(socks[0], GET_JOBS, READ_BODY)
    s2, out2 = fcgi(socks[0], GET_JOBS, READ_BODY)
    c.check(s1 == 200 and s2 == 200 and job_paused(out2) == [False] and
            calls(standin, GET_JOBS) == 1,
            "process 0 keeps the answer of its first read (one Cuebot call for two)",
            (s1, s2, calls(standin, GET_JOBS)))
    status, out = fcgi(socks[1], PAUSE, JOB_BODY)
    c.check(status == 200, "Pause answered by process 1", (status, out[:200]))
    s3, out3 = fcgi(socks[0], GET_JOBS, READ_BODY)
    c.check(s3 == 200 and job_paused(out3) == [True] and calls(standin, GET_JOBS) == 2,
            "then a read in process 0 makes its own call and reads the job paused",
            (s3, out3[:300], calls(standin, GET_JOBS)))
    status, out = fcgi(socks[0], RESUME, JOB_BODY)
    s4, out4 = fcgi(socks[1], GET_JOBS, READ_BODY)
    s5, out5 = fcgi(socks[0], GET_JOBS, READ_BODY)
    c.check(status == 200 and s4 == 200 and s5 == 200 and job_paused(out4) == [False] and
            job_paused(out5) == [False], "Resume, then a read in each process: running again",
            (status, out4[:200], out5[:200]))


TESTS = [test_identical_reads_share, test_share_reads_off, test_read_your_writes,
         test_read_cache_hit, test_read_cache_read_your_writes]

POLICY = """# test_shared_reads.py: admin may call anything, viewer show.* only
role admin *
role viewer show.*
default *
"""


class Env:
    def __init__(self, args):
        self.args = args
        self.standin = harness.Standin(args.schema).start()
        self.one_process = self.lighttpd(1, {"SHARE_READS": "1"})
        self.unshared = self.lighttpd(1, {"SHARE_READS": "0"})
        self.pool = self.lighttpd(2, {"SHARE_READS": "1"})
        policy = auth_matrix.policy_file(POLICY)
        # A window far longer than the suite: a kept answer goes only when a
        # mutation makes it unusable, which is what the tests look at.
        self.cached = self.lighttpd(1, {"READ_CACHE_MS": "60000", "ACCESS_POLICY": policy})
        self.cached_pool = self.lighttpd(2, {"READ_CACHE_MS": "60000", "SHARE_READS": "1"})

    def lighttpd(self, workers, extra):
        s = {"CUEBOT_ENDPOINT": self.standin.endpoint, "JWT_SECRET": SECRET,
             "REQUEST_TIMEOUT": "%ds" % BOUND, "WORKER_THREADS": "16", "LOG_LEVEL": "warn"}
        s.update(extra)
        return harness.Lighttpd(self.args.cuegw, s, workers=workers).start()


def main():
    def run(c, args):
        harness.run_tests(c, Env(args), TESTS, args.only)
    return harness.suite_main("shared-reads", run, lambda ap: ap.add_argument(
        "--only", help="run the tests whose name contains this"))


if __name__ == "__main__":
    sys.exit(main())
