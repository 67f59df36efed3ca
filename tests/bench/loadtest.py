#!/usr/bin/python3
"""The CueWeb-shaped load test (`make loadtest`, issue 15): N simulated
browsers poll cuegw through each shipped front, started from the shipped
configurations the way the integration tests start them, in front of the C
stand-in Cuebot (bench-standin) holding make_farm.py's load-test farm
(400 jobs by default).

Each browser has its own JWT subject (an HS256 token made at run time,
under the JWT_SECRET the front gives cuegw) and, as CueWeb does:
  - every 5 s, GetJobs once per monitored job (20 jobs), all at once;
  - every 10 s, GetActiveShows (CueWeb's health probe);
  - one browser in ten has a job detail open: GetLayers and GetFrames
    (page 1, 100 frames) every 5 s;
  - now and then (every --act-every s on average) it acts on a job of its
    own: Pause, read it back, Resume, read it back.
Each browser starts at a random phase. Requests go through one pool of
kept-alive connections shared by every browser, opened as needed (as one
server-side client keeps them), at most --max-conns.

A stale read: a read of a browser's own job, started after its Pause (or
Resume) was answered and before its next action, that reports the other
state. The stand-in keeps each job's paused flag (standin_c.c). Once an
action on a job has failed (an error answer, or no answer in time), that
job is no longer checked for the rest of the run, later rows included:
the front may still carry out the abandoned call later, after a newer
one, which is no stale read of the gateway's. Such browsers are counted
("unchecked").

Per front, per N and per SHARE_READS setting it reports: requests/s, p50
and p99 per kind of call (from the request's start to its answer's last
byte), the tier's CPU per client request (the web server's and the cuegw
processes, from /proc/<pid>/stat; processes that exit during a row take
their CPU with them), Cuebot calls per client request (the stand-in's
counters), errors and stale reads; the generator's own CPU, the
stand-in's, and the whole machine's busy time (/proc/stat), so that other
work on a shared machine shows. Prints the table, writes
BUILD/loadtest/loadtest.json and, with gnuplot, BUILD/loadtest/p99.png
(p99 of all calls against N, one line per front and setting).

With --floors, each lighttpd, nginx and mod_fcgid front also runs every
row with bench-trivial-fcgi (the responder that answers every request
with the same small JSON, tests/bench/trivial_fcgi.c) in cuegw's place,
behind the same shipped configuration: the web server's and the FastCGI
hop's CPU under the same load, before any gateway work ("... floor"
rows; their answers are not checked, their Cuebot calls are 0).

Usage: loadtest.py --build BUILD [--quick] [--floors] [--fronts lighttpd,nginx,fcgid,proxy-fcgi]
                   [--clients 10,100,300] [--seconds S] [--warmup S]
                   [--fcgid-warmup S] [--share-reads on,off] [--workers N] [--max-conns N]
                   [--read-cache-ms MS] [--act-every S] [--out DIR] [--farm DIR]
Exit status: 1 when a row could not be run, answered errors or saw a stale
read; timings are reported, never asserted.
"""

import argparse
import asyncio
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))
import harness  # noqa: E402
import front_nginx  # noqa: E402
import front_apache  # noqa: E402
from bench import StandinC, threaded_trivial_nginx, cpu_ticks, comm, TICK  # noqa: E402

SECRET = "loadtest-" + os.urandom(12).hex()
JOBS_PERIOD, SHOWS_PERIOD, DETAIL_PERIOD = 5.0, 10.0, 5.0
MONITORED = 20
HOT_JOBS = 100          # the monitored jobs come from the first HOT_JOBS
REQUEST_TIMEOUT = 60.0
# Jobs an action failed on, this run: their state is unknown from then on.
ABANDONED = set()
KINDS = ("GetJobs", "GetActiveShows", "GetLayers", "GetFrames", "Pause", "Resume")
FRONTS = ("lighttpd", "nginx", "fcgid", "proxy-fcgi")
# cuegw processes per front unless --workers: the integration tests' 2,
# but mod_fcgid's class as apache/cuegw-fcgid.conf asks for a hundred
# CueWeb browsers (one request per process; see "The pool" there).
FRONT_WORKERS = {"lighttpd": 2, "nginx": 2, "fcgid": 64, "proxy-fcgi": 2}
P99_TARGET_MS = 50


# ---- HTTP/1.1 over asyncio ----------------------------------------------------

class Conn(asyncio.Protocol):
    """One kept-alive HTTP/1.1 connection, one request at a time; answers
    with Content-Length or chunked bodies."""

    def __init__(self):
        self.transport = None
        self.buf = bytearray()
        self.waiter = None
        self.closed = False
        self.got_bytes = False

    def connection_made(self, transport):
        self.transport = transport

    def connection_lost(self, exc):
        self.closed = True
        if self.waiter and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("connection closed"))

    def data_received(self, data):
        self.got_bytes = True
        self.buf += data
        if self.waiter and not self.waiter.done():
            r = self._parse()
            if r is not None:
                self.waiter.set_result(r)

    def _parse(self):
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return None
        head = bytes(self.buf[:end]).decode("latin-1").split("\r\n")
        status = int(head[0].split(" ", 2)[1])
        hdr = {}
        for line in head[1:]:
            k, _, v = line.partition(":")
            hdr[k.strip().lower()] = v.strip()
        pos = end + 4
        if "content-length" in hdr:
            n = int(hdr["content-length"])
            if len(self.buf) < pos + n:
                return None
            body = bytes(self.buf[pos:pos + n])
            del self.buf[:pos + n]
        elif hdr.get("transfer-encoding", "").lower() == "chunked":
            body, at = bytearray(), pos
            while True:
                eol = self.buf.find(b"\r\n", at)
                if eol < 0:
                    return None
                size = int(bytes(self.buf[at:eol]).split(b";")[0], 16)
                if size == 0:
                    fin = self.buf.find(b"\r\n\r\n", eol)
                    if fin < 0:
                        return None
                    del self.buf[:fin + 4]
                    body = bytes(body)
                    break
                if len(self.buf) < eol + 2 + size + 2:
                    return None
                body += self.buf[eol + 2:eol + 2 + size]
                at = eol + 2 + size + 2
        else:
            return None     # read to close: never sent by these fronts
        keep = hdr.get("connection", "").lower() != "close"
        return status, body, keep

    async def request(self, raw):
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(raw)
        status, body, keep = await self.waiter
        self.waiter = None
        if not keep:
            self.transport.close()
            self.closed = True
        return status, body


class Pool:
    """Kept-alive connections shared by every browser, opened on demand.
    As browsers and fetch do, a request sent on a kept connection that the
    server closed before answering a byte (its keep-alive timeout racing
    the request) is sent again once on a new connection: "retries"."""

    def __init__(self, port, max_conns):
        self.port = port
        self.idle = []
        self.sem = asyncio.Semaphore(max_conns)
        self.opened = 0
        self.retries = 0

    async def _send(self, raw, fresh):
        conn = None
        while self.idle and not fresh:
            c = self.idle.pop()
            if not c.closed:
                conn = c
                break
        reused = conn is not None
        if conn is None:
            loop = asyncio.get_running_loop()
            _, conn = await loop.create_connection(Conn, "127.0.0.1", self.port)
            self.opened += 1
        conn.got_bytes = False
        try:
            r = await asyncio.wait_for(conn.request(raw), REQUEST_TIMEOUT)
        except ConnectionError:
            conn.transport.close()
            if reused and not conn.got_bytes:
                return None
            raise
        except BaseException:
            conn.transport.close()
            raise
        if not conn.closed:
            self.idle.append(conn)
        return r

    async def request(self, raw):
        async with self.sem:
            r = await self._send(raw, False)
            if r is None:
                self.retries += 1
                r = await self._send(raw, True)
            return r

    def close(self):
        for c in self.idle:
            c.transport.close()
        self.idle = []


# ---- the browsers ---------------------------------------------------------------

class Stats:
    def __init__(self):
        self.lat = {k: [] for k in KINDS}
        self.errors = {k: 0 for k in KINDS}
        self.statuses = {}
        self.stale = 0
        self.checked = 0
        self.unchecked = 0
        self.stale_reads = []
        self.lag = []
        self.measuring = False
        # Off for a floor row: the trivial responder's answers are no
        # jobs, so only their status and timing count.
        self.checking = True

    def add(self, kind, seconds, ok, status):
        if not self.measuring:
            return
        self.lat[kind].append(seconds)
        if not ok:
            self.errors[kind] += 1
            self.statuses[str(status)] = self.statuses.get(str(status), 0) + 1


def request_bytes(path, body, token):
    return ("POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
            "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
            % (path, token, len(body), body)).encode()


class Browser:
    def __init__(self, index, farm, pool, stats, rnd, args, stop):
        self.pool, self.stats, self.stop, self.args = pool, stats, stop, args
        self.rnd = random.Random(rnd.getrandbits(64))
        token = harness.sign_jwt(SECRET, {"sub": "browser-%d" % index,
                                          "exp": int(time.time()) + 24 * 3600})
        jobs = farm["jobs"]
        bodies = farm["bodies"]
        # Its own job (only it acts on it) when the farm has one for it.
        self.own = index if index < len(jobs) else None
        hot = [j for j in range(min(HOT_JOBS, len(jobs))) if j != self.own]
        watched = self.rnd.sample(hot, min(MONITORED - 1, len(hot)))
        if self.own is not None:
            watched.append(self.own)
        self.detail = self.rnd.choice(watched) if index % 10 == 0 else None

        def raw(kind, k):
            path, body = bodies[kind]
            text = json.dumps(body, separators=(",", ":")).replace("{id}", jobs[k] if k is not None else "")
            return request_bytes(path, text, token)
        self.get_jobs = {k: raw("GetJobs", k) for k in watched}
        self.shows = raw("GetActiveShows", None)
        if self.detail is not None:
            self.layers, self.frames = raw("GetLayers", self.detail), raw("GetFrames", self.detail)
        if self.own is not None:
            self.pause, self.resume = raw("Pause", self.own), raw("Resume", self.own)
        # (action number, paused?) once the last action was answered;
        # paused is None while one is under way.
        self.action = 0
        self.paused = False
        self.unsettled = False
        self.index = index

    async def call(self, kind, raw):
        t = time.monotonic()
        try:
            status, body = await self.pool.request(raw)
        except asyncio.TimeoutError:
            status, body = "timeout", b""
        except (OSError, ConnectionError):
            status, body = "closed", b""
        except (ValueError, IndexError):
            status, body = "garbled", b""
        self.stats.add(kind, time.monotonic() - t, status == 200, status)
        return status, body

    async def read_job(self, k):
        """GetJobs of job k; checks the answer against this browser's last
        action when k is its own job and no action began meanwhile."""
        seq, expect, t0 = self.action, self.paused, time.monotonic()
        status, body = await self.call("GetJobs", self.get_jobs[k])
        if (not self.stats.checking or k != self.own or expect is None or status != 200 or seq != self.action
                or self.unsettled or k in ABANDONED):
            return
        if b'"isPaused":true' in body:
            got = True
        elif b'"isPaused":false' in body:
            got = False
        else:
            got = json.loads(body)["jobs"]["jobs"][0]["isPaused"]
        if self.stats.measuring:
            self.stats.checked += 1
            self.stats.stale += got != expect
            if got != expect:
                self.stats.stale_reads.append({
                    "browser": self.index, "job": k, "expected_paused": expect,
                    "read_started_after_answer_ms": (t0 - self.answered) * 1e3,
                    "read_ms": (time.monotonic() - t0) * 1e3})

    async def every(self, period, work):
        next_at = time.monotonic() + self.rnd.uniform(0, period)
        while not self.stop.is_set():
            delay = next_at - time.monotonic()
            if delay > 0:
                try:
                    await asyncio.wait_for(self.stop.wait(), delay)
                    return
                except asyncio.TimeoutError:
                    pass
            next_at += period
            await work()

    async def burst(self):
        await asyncio.gather(*(self.read_job(k) for k in self.get_jobs))

    async def show_probe(self):
        await self.call("GetActiveShows", self.shows)

    async def detail_page(self):
        await asyncio.gather(self.call("GetLayers", self.layers), self.call("GetFrames", self.frames))

    async def act(self):
        for kind, raw, state in (("Pause", self.pause, True), ("Resume", self.resume, False)):
            self.action += 1
            self.paused = None
            status, _ = await self.call(kind, raw)
            self.answered = time.monotonic()
            if status != 200:
                # A failed call may still be carried out, at any time:
                # this browser's job is no longer checked.
                if not self.unsettled and self.stats.measuring:
                    self.stats.unchecked += 1
                self.unsettled = True
                ABANDONED.add(self.own)
            self.paused = state if status == 200 else None
            await self.read_job(self.own)

    async def run(self):
        tasks = [self.every(JOBS_PERIOD, self.burst), self.every(SHOWS_PERIOD, self.show_probe)]
        if self.detail is not None:
            tasks.append(self.every(DETAIL_PERIOD, self.detail_page))
        if self.own is not None and self.args.act_every > 0:
            tasks.append(self.every(self.args.act_every, self.act))
        await asyncio.gather(*tasks)


async def loop_lag(stats, stop):
    """How late the generator's own event loop wakes from 10 ms sleeps:
    a floor under every latency it measures (its own CPU, and the
    machine's other work delaying it)."""
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        t = loop.time()
        await asyncio.sleep(0.01)
        if stats.measuring:
            stats.lag.append(loop.time() - t - 0.01)


async def drive(port, farm, n, args, warmup, on_measure, checking=True):
    """Runs n browsers: warm-up, then the measured window, during which
    on_measure(start|stop) samples the counters. Returns the stats."""
    stats = Stats()
    stats.checking = checking
    stop = asyncio.Event()
    pool = Pool(port, args.max_conns)
    rnd = random.Random(1500 + n)
    browsers = [Browser(i, farm, pool, stats, rnd, args, stop) for i in range(n)]
    runs = [asyncio.ensure_future(b.run()) for b in browsers]
    runs.append(asyncio.ensure_future(loop_lag(stats, stop)))
    await asyncio.sleep(warmup)
    on_measure("start")
    stats.measuring = True
    t0 = time.monotonic()
    await asyncio.sleep(args.seconds)
    stats.seconds = time.monotonic() - t0
    stats.measuring = False
    on_measure("stop")
    stop.set()
    await asyncio.gather(*runs)
    pool.close()
    stats.connections = pool.opened
    stats.retries = pool.retries
    return stats


# ---- the fronts -----------------------------------------------------------------

def setting_label(r):
    if r.get("floor"):
        return "%s floor" % r["front"]
    label = "%s SR=%d" % (r["front"], r["share_reads"])
    return label + (" RC=%d" % r["read_cache_ms"] if r.get("read_cache_ms") else "")


def make_front(kind, build, standin, share, workers, cache_ms=0):
    cuegw = os.path.join(build, "cuegw")
    env = {"CUEBOT_ENDPOINT": standin.endpoint, "SHARE_READS": "1" if share else "0",
           "READ_CACHE_MS": str(cache_ms)}
    params = {"JWT_SECRET": SECRET}
    kw = {"workers": workers or FRONT_WORKERS[kind]}
    if kind == "lighttpd":
        env.update(params)
        return harness.Lighttpd(cuegw, env, **kw)
    if kind == "nginx":
        env["SETTINGS_FROM_PARAMS"] = "1"
        return front_nginx.Nginx(cuegw, env, params, **kw)
    if kind == "fcgid":
        return front_apache.ApacheFcgid(cuegw, env, params, **kw)
    if kind == "proxy-fcgi":
        return front_apache.ApacheProxyFcgi(cuegw, env, params, **kw)
    raise ValueError(kind)


FLOOR_FRONTS = ("lighttpd", "nginx", "fcgid")


def make_floor(kind, build, workers):
    """The front `kind` with bench-trivial-fcgi in cuegw's place."""
    trivial = os.path.join(build, "tests", "bench-trivial-fcgi")
    kw = {"workers": workers or FRONT_WORKERS[kind]}
    if kind == "lighttpd":
        # lighttpd opens a connection per request: one thread serves it.
        return harness.Lighttpd(trivial, {}, **kw)
    if kind == "nginx":
        return threaded_trivial_nginx(trivial, {}, **kw)
    if kind == "fcgid":
        # mod_fcgid gives each process one request at a time, as to cuegw.
        return front_apache.ApacheFcgid(trivial, {}, {}, **kw)
    raise ValueError(kind)


def descendants(pid):
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        kids = harness.children(p)
        out += kids
        todo += kids
    return out


def tier_pids(front):
    """(web server pids, cuegw pids) of a running front, now."""
    pids = [front.proc.pid] + descendants(front.proc.pid)
    if isinstance(front, front_nginx.Nginx):
        pids += front.pool_pids()
    if isinstance(front, front_apache.ApacheProxyFcgi) and front.pool:
        pids += [front.pool.pid] + descendants(front.pool.pid)
    pids = sorted(set(pids))
    gw = [p for p in pids if comm(p) == "cuegw"]
    return [p for p in pids if p not in gw], gw


def machine_busy():
    """(busy, total) jiffies of the whole machine."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return sum(v[:8]) - idle, sum(v[:8])


def standin_counters(endpoint):
    import grpc
    with grpc.insecure_channel(endpoint) as ch:
        text = ch.unary_unary("/bench.Standin/Counters")(b"", timeout=10).decode()
    out = {}
    for line in text.splitlines():
        name, _, n = line.rpartition(" ")
        out[name] = int(n)
    return out


def pct(values, q):
    if not values:
        return None
    v = sorted(values)
    return v[min(len(v) - 1, int(len(v) * q))] * 1e3


def run_row(front, standin, farm, n, args, warmup, checking=True):
    snap = {}

    def on_measure(what):
        web, gw = tier_pids(front)
        snap[what] = {
            "web": {p: cpu_ticks(p) for p in web}, "gw": {p: cpu_ticks(p) for p in gw},
            "standin": cpu_ticks(standin.proc.pid), "self": resource.getrusage(resource.RUSAGE_SELF),
            "machine": machine_busy(), "counters": standin_counters(standin.endpoint),
        }
    stats = asyncio.run(drive(front.port, farm, n, args, warmup, on_measure, checking))
    a, b = snap["start"], snap["stop"]
    requests = sum(len(v) for v in stats.lat.values())
    per = 1e6 / TICK / max(requests, 1)
    web = sum(b["web"][p] - a["web"].get(p, 0) for p in b["web"]) * per
    gw = sum(b["gw"][p] - a["gw"].get(p, 0) for p in b["gw"]) * per
    gen_s = (b["self"].ru_utime + b["self"].ru_stime) - (a["self"].ru_utime + a["self"].ru_stime)
    busy = (b["machine"][0] - a["machine"][0]) / TICK
    calls = {k: b["counters"].get(k, 0) - a["counters"].get(k, 0) for k in b["counters"]}
    cuebot = sum(v for k, v in calls.items() if k != "unanswered")
    tier_s = (web + gw) * requests / 1e6
    standin_s = (b["standin"] - a["standin"]) / TICK
    row = {
        "requests": requests, "rps": requests / stats.seconds, "seconds": stats.seconds,
        "kinds": {k: {"n": len(stats.lat[k]), "p50_ms": pct(stats.lat[k], 0.5),
                      "p99_ms": pct(stats.lat[k], 0.99), "errors": stats.errors[k]} for k in KINDS},
        "p99_all_ms": pct([x for v in stats.lat.values() for x in v], 0.99),
        # mod_fcgid's floor: a request that found every process busy slept
        # a whole second (apache/cuegw-fcgid.conf, "The pool").
        "over_900ms": sum(1 for v in stats.lat.values() for x in v if x >= 0.9),
        "lag_p50_ms": pct(stats.lag, 0.5), "lag_p99_ms": pct(stats.lag, 0.99),
        "cpu_us": web + gw, "cpu_web_us": web, "cpu_gw_us": gw,
        "cuebot_calls": cuebot, "cuebot_per_request": cuebot / max(requests, 1),
        "cuebot_by_method": calls, "unanswered": calls.get("unanswered", 0),
        "errors": sum(stats.errors.values()), "statuses": stats.statuses,
        "stale": stats.stale, "checked_reads": stats.checked, "stale_reads": stats.stale_reads[:50],
        "unchecked_browsers": stats.unchecked,
        "gen_cpu_pct": 100 * gen_s / stats.seconds, "gen_cpu_us": gen_s * 1e6 / max(requests, 1),
        "standin_cpu_pct": 100 * standin_s / stats.seconds,
        "tier_cpu_pct": 100 * tier_s / stats.seconds,
        "machine_busy_pct": 100 * busy / stats.seconds,
        "others_cpu_pct": 100 * (busy - tier_s - standin_s - gen_s) / stats.seconds,
        "connections": stats.connections, "retries": stats.retries, "warmup_s": warmup, "gw_processes": len(b["gw"]),
        "loadavg": os.getloadavg()[0],
    }
    return row


# ---- the report -------------------------------------------------------------

def cell(k):
    if not k["n"]:
        return "%11s" % "-"
    return "%5.1f/%-5.0f" % (k["p50_ms"], k["p99_ms"]) if k["p99_ms"] >= 10 else \
        "%5.1f/%-5.1f" % (k["p50_ms"], k["p99_ms"])


HEADER = ("%-26s %4s %6s " % ("front", "N", "req/s") +
          " ".join("%11s" % k[:11] for k in ("GetJobs", "ActiveShows", "GetLayers", "GetFrames", "Pause", "Resume")) +
          " %7s %8s %6s %5s %5s %5s %5s %5s %5s" % ("CPUus/r", "cuebot/r", "errors", "stale", "gen%", "tier%",
                                                  "busy%", "other%", "lag99"))


def fmt(label, n, r):
    return ("%-26s %4d %6.0f " % (label, n, r["rps"]) +
            " ".join(cell(r["kinds"][k]) for k in KINDS) +
            " %7.0f %8.3f %6d %5d %5.0f %5.0f %5.0f %5.0f %5.1f" % (
                r["cpu_us"], r["cuebot_per_request"], r["errors"], r["stale"], r["gen_cpu_pct"],
                r["tier_cpu_pct"], r["machine_busy_pct"], r["others_cpu_pct"], r["lag_p99_ms"] or 0))


def plot(rows, out_dir):
    gnuplot = shutil.which("gnuplot")
    if not gnuplot:
        print("loadtest: gnuplot is not installed (tools/install-deps.sh): no plot", file=sys.stderr)
        return None
    series = {}
    for r in rows:
        if r.get("p99_all_ms") is not None and not r.get("floor"):
            series.setdefault(setting_label(r).replace("SR=", "SHARE_READS=").replace("RC=", "READ_CACHE_MS="), []).append(
                (r["clients"], r["p99_all_ms"]))
    png = os.path.join(out_dir, "p99.png")
    data = os.path.join(out_dir, "p99.dat")
    with open(data, "w") as f:
        for name, pts in series.items():
            f.write('"%s"\n' % name)
            for n, p in sorted(pts):
                f.write("%d %.3f\n" % (n, p))
            f.write("\n\n")
    plots = ", ".join('"%s" index %d using 1:2 with linespoints title columnheader(1)' % (data, i)
                      for i in range(len(series)))
    script = "\n".join([
        "set terminal png noenhanced size 1000,640",
        'set output "%s"' % png,
        'set title "cuegw load test: p99 of all calls against browsers"',
        'set xlabel "browsers (N)"', 'set ylabel "p99 ms (log)"',
        "set logscale y", "set key outside right", "set grid",
        "set arrow from graph 0, first %d to graph 1, first %d nohead dt 2" % (P99_TARGET_MS, P99_TARGET_MS),
        "plot " + plots, ""])
    r = subprocess.run([gnuplot], input=script, text=True, capture_output=True, timeout=60)
    if r.returncode != 0:
        print("loadtest: gnuplot failed: %s" % r.stderr[-500:], file=sys.stderr)
        return None
    return png


def run_front(front, kind, standin, farm, clients, args, rows, setting):
    """Starts front, runs a row per N into rows (printed as they come),
    stops it; True when it failed. A floor's answers are not checked."""
    try:
        front.start()
        for n in clients:
            r = run_row(front, standin, farm, n, args,
                        args.fcgid_warmup if kind == "fcgid" else args.warmup,
                        checking=not setting.get("floor"))
            r.update(front=kind, clients=n, **setting)
            rows.append(r)
            print(fmt(setting_label(r), n, r), flush=True)
        return False
    except Exception as e:
        print("loadtest: %s%s: %s" % (kind, " floor" if setting.get("floor") else "", e), file=sys.stderr)
        return True
    finally:
        front.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", required=True)
    ap.add_argument("--fronts", default=",".join(FRONTS))
    ap.add_argument("--clients", default="10,100,300")
    ap.add_argument("--seconds", type=float, default=15.0, help="measured seconds per row")
    ap.add_argument("--warmup", type=float, default=5.0, help="unmeasured seconds before each row")
    ap.add_argument("--fcgid-warmup", type=float, default=20.0,
                    help="the same behind mod_fcgid, whose class grows only by requests that slept 1 s")
    ap.add_argument("--share-reads", default="on,off", help="SHARE_READS settings to run: on, off or both")
    ap.add_argument("--read-cache-ms", type=int, default=0,
                    help="READ_CACHE_MS of every row (default 0: no cache)")
    ap.add_argument("--workers", type=int, default=0,
                    help="cuegw processes of every front (default: 2, mod_fcgid's class 64)")
    ap.add_argument("--max-conns", type=int, default=256, help="connections of the shared pool at most")
    ap.add_argument("--act-every", type=float, default=20.0, help="mean seconds between a browser's actions (0: never)")
    ap.add_argument("--quick", action="store_true", help="N=10,100, 5 s rows, 2 s warm-up, SHARE_READS on")
    ap.add_argument("--floors", action="store_true",
                    help="also run each lighttpd, nginx and mod_fcgid row with a trivial responder in cuegw's place")
    ap.add_argument("--out", help="directory of loadtest.json and the plot (default BUILD/loadtest)")
    ap.add_argument("--farm", help="the farm make_farm.py --loadtest wrote (default BUILD/loadtest/farm)")
    args = ap.parse_args()
    if args.quick:
        args.clients, args.seconds, args.warmup, args.share_reads = "10,100", 5.0, 2.0, "on"
        args.fcgid_warmup = 5.0
    fronts = [f for f in args.fronts.split(",") if f]
    for f in fronts:
        if f not in FRONTS:
            ap.error("unknown front %s (one of %s)" % (f, ", ".join(FRONTS)))
    clients = [int(x) for x in args.clients.split(",") if x]
    shares = [{"on": 1, "off": 0}[s] for s in args.share_reads.split(",") if s]
    out_dir = args.out or os.path.join(args.build, "loadtest")
    os.makedirs(out_dir, exist_ok=True)
    farm_dir = args.farm or os.path.join(args.build, "loadtest", "farm")
    with open(os.path.join(farm_dir, "farm.json")) as f:
        farm = json.load(f)
    rows, failed = [], False
    print("loadtest: %d jobs in the farm, fronts %s, N %s, %.0f s rows after %.0f s warm-up "
          "(%.0f s behind mod_fcgid), SHARE_READS %s; load average %.2f on %d CPUs" % (
              len(farm["jobs"]), ",".join(fronts), args.clients, args.seconds, args.warmup,
              args.fcgid_warmup, args.share_reads, os.getloadavg()[0], os.cpu_count()), flush=True)
    print(HEADER, flush=True)
    standin = StandinC(args.build)
    standin.manifest = os.path.join(farm_dir, "manifest.txt")
    try:
        standin.start()
        for share in shares:
            for kind in fronts:
                front = make_front(kind, args.build, standin, share, args.workers, args.read_cache_ms)
                failed |= run_front(front, kind, standin, farm, clients, args, rows,
                                    {"share_reads": share, "read_cache_ms": args.read_cache_ms})
        for kind in (f for f in fronts if args.floors and f in FLOOR_FRONTS):
            failed |= run_front(make_floor(kind, args.build, args.workers), kind, standin, farm,
                                clients, args, rows, {"floor": True})
    finally:
        harness.stop_all()
    print()
    print(HEADER)
    for r in rows:
        print(fmt(setting_label(r), r["clients"], r))
    print("per kind: p50/p99 ms; CPUus/r: the tier's CPU (web server + cuegw) per client request; "
          "cuebot/r: Cuebot calls per client\nrequest; gen%, tier%: the generator's and the tier's "
          "CPU in % of one core; busy%: the whole machine's; other%: busy minus\nthe tier, the "
          "stand-in and the generator (other work on the machine); lag99: p99 ms the generator's own event loop woke\nlate from a 10 ms sleep (a floor under its latencies). SR: SHARE_READS; RC: READ_CACHE_MS.")
    for r in rows:
        worst = max((k["p99_ms"] for k in r["kinds"].values() if k["p99_ms"] is not None), default=0)
        if r["clients"] == 100 and not r.get("floor"):
            print("  %s %s N=100: worst p99 %.1f ms (target <= %d)" % (
                "meets " if worst <= P99_TARGET_MS else "MISSES", setting_label(r),
                worst, P99_TARGET_MS))
    png = plot(rows, out_dir)
    with open(os.path.join(out_dir, "loadtest.json"), "w") as f:
        json.dump({"seconds": args.seconds, "warmup": args.warmup, "cpus": os.cpu_count(),
                   "jobs": len(farm["jobs"]), "rows": rows}, f, indent=1)
    print("wrote %s%s" % (os.path.join(out_dir, "loadtest.json"), " and %s" % png if png else ""))
    bad = sum(r["errors"] + r["stale"] for r in rows)
    if failed or bad:
        print("loadtest: %s" % ("a row failed" if failed else "%d errors or stale reads" % bad),
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
