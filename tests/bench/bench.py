#!/usr/bin/python3
"""The whole-path benchmark (`make bench`): wrk -> nginx or lighttpd, both
started from the shipped configurations -> cuegw -> a C stand-in Cuebot
(bench-standin) on loopback, next to two floors measured the same way:

  grpc floor  bench-grpc-floor: a bare C client on the gRPC core calling the
              stand-in with the same methods and concurrency (no HTTP, JSON
              or FastCGI);
  fcgi floor  bench-trivial-fcgi: a libfcgi responder with a fixed answer,
              4 processes under spawn-fcgi, behind the same nginx config
              (fcgi-floor), and 4 as the bin-path of the same lighttpd
              config (fcgi-floor-lighttpd): each front's own hop.
  call floor  fcgi-call-floor (with nginx): the same responder making the
              request's Cuebot call through cuegw's client before its
              fixed answer (TRIVIAL_CUEBOT), as many processes as cuegw,
              FLOOR_THREADS (64) threads each: the hop and the call together, in one
              thread, with no gateway work between them. Printed under
              the table as "us above fcgi-call-floor" for nginx's small
              calls.

Each row: requests/s, p50/p99 latency (wrk), CPU µs per request of the
gateway tier (the web server's processes plus the cuegw processes, from
/proc/<pid>/stat), the stand-in's CPU separately, the private anonymous
memory of a cuegw process (smaps_rollup "Anonymous") idle and at its peak,
and error answers (non-200 plus socket errors). The table is printed and
written as JSON to BUILD/bench/bench.json, with the issue's targets checked
underneath. It asserts nothing about timings; it fails (exit 1) only when a
run could not be made or answered errors.

The row jobssplit is issue 13's hostile GetJobs answer (make_farm.py: 50,000
jobs, about 20 MB of protobuf, the singular field `jobs` sent as 45,197
occurrences): one connection, requests sent one after another by this
script (not wrk: a request may take seconds), at least one per row. Its
error answers are reported against its targets but do not fail the run.

Usage: bench.py --build BUILD [--seconds S] [--warmup S] [--quick]
                [--fronts nginx,lighttpd] [--workers N] [--threads N]
                [--cases shows16,shows64,jobs200,jobs5000,jobssplit] [--no-floors]
"""

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))
import harness  # noqa: E402
import front_nginx  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
SECRET = "bench-" + os.urandom(12).hex()
MEM_SAMPLE_S = 0.02
IDLE_WAIT_S = 1.5

# name, case files (BUILD/bench/cases/<case>.*), method path, connections
CASES = [
    ("shows16", "shows", "/show.ShowInterface/GetShows", 16),
    ("shows64", "shows", "/show.ShowInterface/GetShows", 64),
    ("jobs200", "jobs200", "/job.JobInterface/GetJobs", 16),
    ("jobs5000", "jobs5000", "/job.JobInterface/GetJobs", 1),
    ("jobssplit", "jobssplit", "/job.JobInterface/GetJobs", 1),
]
# Rows driven by run_sequential instead of wrk; their errors are figures.
SEQUENTIAL = {"jobssplit"}

# Each front's FastCGI floor: the trivial responder behind the same web
# server and configuration.
FCGI_FLOOR_OF = {"nginx": "fcgi-floor", "lighttpd": "fcgi-floor-lighttpd"}

# Targets of issue 7 on a 2-core machine (gateway-tier figures).
SMALL_CPU_US = 110
SMALL_ABOVE_FLOORS_US = 25
SMALL_P99_MS_C64 = 10
LARGE_CPU_US = 25000
# Issue 13: cuegw's own CPU per request (the cuegw column).
LARGE_GW_CPU_US = 15000          # jobs5000
SPLIT_GW_CPU_US = 1000000        # jobssplit: under 1 s
LARGE_PEAK_FACTOR = 1.5
IDLE_ANON_KB = 4096


# ---- /proc ------------------------------------------------------------------

def cpu_ticks(pid):
    """utime + stime of a process, every thread included; 0 when gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (OSError, IndexError, ValueError):
        return 0


def anon_kb(pid):
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            m = re.search(r"^Anonymous:\s+(\d+) kB", f.read(), re.M)
        return int(m.group(1)) if m else 0
    except OSError:
        return 0


def comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return ""


class MemSampler:
    """Samples the anonymous memory of some processes until stopped; keeps
    each one's peak."""

    def __init__(self, pids):
        self.pids = list(pids)
        self.peak = {p: anon_kb(p) for p in self.pids}
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.wait(MEM_SAMPLE_S):
            for p in self.pids:
                self.peak[p] = max(self.peak[p], anon_kb(p))

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()


# ---- the servers ------------------------------------------------------------

class StandinC:
    """bench-standin with the cases' manifest, on a free port."""

    def __init__(self, build, threads=2):
        self.bin = os.path.join(build, "tests", "bench-standin")
        self.manifest = os.path.join(build, "bench", "cases", "manifest.txt")
        self.threads = threads
        self.dir = tempfile.mkdtemp(prefix="cuegw-bench-standin-")
        self.proc = None
        harness._started.append(self)

    def start(self):
        ports = os.path.join(self.dir, "ports.json")
        log = open(os.path.join(self.dir, "standin.log"), "ab")
        self.proc = subprocess.Popen([self.bin, "--manifest", self.manifest, "--threads",
                                      str(self.threads), "--ports-file", ports],
                                     stdout=log, stderr=subprocess.STDOUT)
        log.close()
        end = time.monotonic() + 15
        while not os.path.exists(ports):
            if self.proc.poll() is not None or time.monotonic() > end:
                raise RuntimeError("bench-standin did not start; see %s" % self.dir)
            time.sleep(0.02)
        with open(ports) as f:
            self.port = json.load(f)["grpc"]
        return self

    @property
    def endpoint(self):
        return "127.0.0.1:%d" % self.port

    def stop(self):
        harness.stop_process(self.proc, 5)
        self.proc = None


# Threads of each trivial responder in the floors that stand for cuegw
# behind nginx (fcgi-call-floor here, the load test's nginx floor): more
# than the idle connections nginx keeps to its upstream (keepalive 16 per
# worker, a worker per CPU in conf/nginx.conf). A libfcgi thread serves the
# connection it accepted until nginx closes it, so with fewer, requests
# wait behind connections other threads hold (trivial_fcgi.c).
FLOOR_THREADS = 64


def threaded_trivial_nginx(trivial, token_settings, cuebot=None, **kw):
    """bench-trivial-fcgi behind the shipped nginx with FLOOR_THREADS
    threads a process; with cuebot (an endpoint), making each request's
    Cuebot call (TRIVIAL_CUEBOT)."""
    front = TrivialNginx(trivial, {}, token_settings, **kw)
    front.threads = FLOOR_THREADS
    if cuebot:
        front.extra_env = {"TRIVIAL_CUEBOT": cuebot}
    return front


class TrivialNginx(front_nginx.Nginx):
    """The shipped nginx configuration in front of bench-trivial-fcgi under
    spawn-fcgi (not conf/spawn-fcgi.sh: that one starts cuegw only)."""

    name = "nginx+trivial-fcgi"
    threads = 1     # TRIVIAL_THREADS of each responder (trivial_fcgi.c)
    extra_env = {}  # TRIVIAL_CUEBOT for the call floor

    def pool(self, action):
        pid_file = os.path.join(self.pool_dir, "cuegw.pid")
        if action == "start":
            os.makedirs(self.pool_dir, exist_ok=True)
            os.chmod(self.pool_dir, 0o711)   # nginx's workers may be "nobody"
            r = subprocess.run([harness.need("spawn-fcgi"), "-s", self.socket, "-M", "0666",
                                "-F", str(self.workers), "-P", pid_file, "--", self.cuegw_bin],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               timeout=30, env=dict(os.environ, TRIVIAL_THREADS=str(self.threads), **self.extra_env))
            return r.returncode, r.stdout
        for pid in self.pool_pids():
            try:
                os.kill(pid, signal.SIGTERM)
            except OSError:
                pass
        end = time.monotonic() + 5
        while any(comm(p) for p in self.pool_pids()) and time.monotonic() < end:
            time.sleep(0.05)
        return 0, ""


class TrivialNginxNoKeep(TrivialNginx):
    """The same, with the shipped nginx files edited to close every
    connection to the responders (no fastcgi_keep_conn, no upstream
    keepalive): the reference for a responder that serves one connection
    per process, which kept connections pin."""

    name = "nginx+trivial-fcgi, no keep-alive"

    def _write_nginx_files(self):
        super()._write_nginx_files()
        for name, old, new in (("nginx-cuegw-fastcgi.conf", "fastcgi_keep_conn on;", "fastcgi_keep_conn off;"),
                               ("nginx.conf", re.compile(r"^\s*keepalive \d+;\s*$", re.M), "")):
            path = os.path.join(self.run_dir, name)
            with open(path) as f:
                text = f.read()
            edited = old.sub(new, text) if hasattr(old, "sub") else text.replace(old, new)
            if edited == text:
                raise RuntimeError("bench: %s no longer holds %r" % (name, getattr(old, "pattern", old)))
            os.unlink(path)
            with open(path, "w") as f:
                f.write(edited)


def tier_pids(front):
    """(web server pids, cuegw pids) of a running front."""
    web = [front.proc.pid] + [p for p in harness.children(front.proc.pid)]
    if isinstance(front, front_nginx.Nginx):
        return web, front.pool_pids()
    workers = [p for p in web if comm(p) not in ("lighttpd", "")]
    return [p for p in web if p not in workers], workers


def make_front(kind, args, standin, token_settings):
    settings = {"CUEBOT_ENDPOINT": standin.endpoint}
    if args.threads:
        settings["WORKER_THREADS"] = str(args.threads)
    cuegw = os.path.join(args.build, "cuegw")
    if kind == "nginx":
        settings["SETTINGS_FROM_PARAMS"] = "1"
        kw = {"workers": args.workers} if args.workers else {}
        return front_nginx.Nginx(cuegw, settings, token_settings, **kw)
    if kind == "lighttpd":
        settings.update(token_settings)
        kw = {"workers": args.workers} if args.workers else {}
        return harness.Lighttpd(cuegw, settings, **kw)
    trivial = os.path.join(args.build, "tests", "bench-trivial-fcgi")
    if kind in ("fcgi-floor", "fcgi-floor-nokeep"):
        cls = TrivialNginx if kind == "fcgi-floor" else TrivialNginxNoKeep
        return cls(trivial, {}, token_settings, workers=4)
    if kind == "fcgi-call-floor":
        # The small call's floor as a whole: the trivial responder making
        # the request's Cuebot call through cuegw's client, behind the same
        # nginx, as many processes as cuegw's.
        kw = {"workers": args.workers} if args.workers else {}
        return threaded_trivial_nginx(trivial, token_settings, cuebot=standin.endpoint, **kw)
    if kind == "fcgi-floor-lighttpd":
        # The shipped lighttpd configuration with the trivial responder as
        # its bin-path: lighttpd's own cost of the hop (a connection per
        # request: its FastCGI module does not keep them).
        return harness.Lighttpd(trivial, {}, workers=4)
    raise ValueError(kind)


# ---- one run ----------------------------------------------------------------

def run_wrk(port, case, seconds, token, build):
    name, files, path, conns = case
    with open(os.path.join(build, "bench", "cases", files + ".json")) as f:
        body = f.read()
    env = dict(os.environ, BENCH_PATH=path, BENCH_BODY=body, BENCH_TOKEN=token)
    cmd = [harness.need("wrk"), "-t", str(min(2, conns)), "-c", str(conns),
           "-d", "%ds" % max(1, round(seconds)), "--timeout", "30s", "-s", os.path.join(HERE, "post.lua"),
           "http://127.0.0.1:%d%s" % (port, path)]
    r = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=seconds + 60)
    m = re.search(r"^BENCH (\{.*\})$", r.stdout, re.M)
    if r.returncode != 0 or not m:
        raise RuntimeError("wrk failed (%d): %s" % (r.returncode, r.stdout[-800:]))
    return json.loads(m.group(1))


def run_sequential(port, case, seconds, token, build):
    """One request after another on one kept connection for `seconds`
    (at least one request), each answer read whole; figures shaped like
    run_wrk's."""
    name, files, path, conns = case
    with open(os.path.join(build, "bench", "cases", files + ".json")) as f:
        body = f.read().encode()
    headers = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
    lat, errors, nbytes = [], 0, 0
    conn = None
    t0 = time.monotonic()
    while not lat or time.monotonic() - t0 < seconds:
        t = time.monotonic()
        try:
            conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=300)
            conn.request("POST", path, body, headers)
            r = conn.getresponse()
            data = r.read()
            nbytes += len(data)
            errors += r.status != 200
        except (OSError, http.client.HTTPException):
            errors += 1
            if conn:
                conn.close()
            conn = None
        lat.append(time.monotonic() - t)
    elapsed = time.monotonic() - t0
    if conn:
        conn.close()
    lat.sort()
    return {"requests": len(lat), "seconds": elapsed, "p50_us": lat[len(lat) // 2] * 1e6,
            "p99_us": lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1e6,
            "non200": errors, "socket_errors": 0, "bytes": nbytes}


def measure_http(front, standin, case, args, token):
    """Warm-up, then one measured wrk run with CPU and memory sampled."""
    run = run_sequential if case[0] in SEQUENTIAL else run_wrk
    if args.warmup > 0:
        run(front.port, case, args.warmup, token, args.build)
    web, workers = tier_pids(front)
    tier = web + workers
    c0 = {p: cpu_ticks(p) for p in tier}
    s0 = cpu_ticks(standin.proc.pid)
    w0 = {p: cpu_ticks(p) for p in workers}
    with MemSampler(workers) as mem:
        w = run(front.port, case, args.seconds, token, args.build)
    c1 = {p: cpu_ticks(p) for p in tier}
    s1 = cpu_ticks(standin.proc.pid)
    n = max(w["requests"], 1)
    us = 1e6 / TICK / n
    tier_cpu = sum(c1[p] - c0[p] for p in tier) * us
    gw_cpu = sum(c1[p] - w0[p] for p in workers) * us
    return {
        "rps": w["requests"] / w["seconds"],
        "p50_ms": w["p50_us"] / 1e3, "p99_ms": w["p99_us"] / 1e3,
        "cpu_us": tier_cpu, "cpu_web_us": tier_cpu - gw_cpu, "cpu_gw_us": gw_cpu,
        "standin_cpu_us": (s1 - s0) * us,
        "peak_anon_kb": max(mem.peak.values()) if mem.peak else 0,
        "errors": w["non200"] + w["socket_errors"], "requests": w["requests"],
        "mb_per_s": w["bytes"] / w["seconds"] / 1e6,
    }


def measure_grpc_floor(standin, case, args):
    name, files, path, conns = case
    d = os.path.join(args.build, "bench", "cases")
    s0 = cpu_ticks(standin.proc.pid)
    r = subprocess.run([os.path.join(args.build, "tests", "bench-grpc-floor"), "--endpoint",
                        standin.endpoint, "--method", path, "--request",
                        os.path.join(d, files + ".req.pb"), "--threads", str(conns),
                        "--seconds", str(args.seconds)],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=args.seconds + 60)
    s1 = cpu_ticks(standin.proc.pid)
    try:
        out = json.loads(r.stdout)
    except ValueError:
        raise RuntimeError("bench-grpc-floor failed (%d): %s" % (r.returncode, r.stderr[-400:]))
    return {
        "rps": out["rps"], "p50_ms": out["p50_ms"], "p99_ms": out["p99_ms"],
        "cpu_us": out["cpu_us_per_req"], "cpu_web_us": 0.0, "cpu_gw_us": out["cpu_us_per_req"],
        "standin_cpu_us": (s1 - s0) * 1e6 / TICK / max(out["calls"], 1),
        "peak_anon_kb": out["anon_kb"], "errors": out["errors"], "requests": out["calls"],
    }


# ---- the report -------------------------------------------------------------

def fmt_row(label, r):
    idle = r.get("idle_anon_kb")
    mem = "%s / %.1f" % ("-" if idle is None else "%.1f" % (idle / 1024), r["peak_anon_kb"] / 1024)
    above = r.get("above_floors_us")
    if not r["requests"]:                # per request of nothing: no figure
        return "%-24s %9.0f %8s %8s %9s %7s %7s %8s %8s %13s %6d" % (
            label, 0, "-", "-", "-", "-", "-", "-", "-", mem, r["errors"])
    return ("%-24s %9.0f %8.2f %8.2f %9.0f %7.0f %7.0f %8s %8.0f %13s %6d" % (
        label, r["rps"], r["p50_ms"], r["p99_ms"], r["cpu_us"], r["cpu_web_us"],
        r["cpu_gw_us"], "-" if above is None else "%.0f" % above, r["standin_cpu_us"],
        mem, r["errors"]))


HEADER = ("%-24s %9s %8s %8s %9s %7s %7s %8s %8s %13s %6s" % (
    "row", "req/s", "p50 ms", "p99 ms", "CPU us/r", "web", "cuegw", "+floors",
    "standin", "anon MB i/pk", "errors"))


def check_targets(rows, json_sizes):
    """The issue's targets, row by row: (ok, text) pairs."""
    out = []
    for r in rows:
        if r["front"] not in ("nginx", "lighttpd"):
            continue
        label = "%s %s" % (r["front"], r["case"])
        if not r["requests"]:
            out.append((False, "%s: no request was answered" % label))
            continue
        if r["case"].startswith("shows"):
            out.append((r["cpu_us"] <= SMALL_CPU_US,
                        "%s: %.0f us CPU/request (target <= %d)" % (label, r["cpu_us"], SMALL_CPU_US)))
            if r.get("above_floors_us") is not None:
                out.append((r["above_floors_us"] <= SMALL_ABOVE_FLOORS_US,
                            "%s: %.0f us above the floors (%s; target <= %d)" % (
                                label, r["above_floors_us"], r["floors_text"],
                                SMALL_ABOVE_FLOORS_US)))
            if r["case"] == "shows64":
                out.append((r["p99_ms"] <= SMALL_P99_MS_C64,
                            "%s: p99 %.2f ms (target <= %d ms)" % (label, r["p99_ms"], SMALL_P99_MS_C64)))
        if r["case"] == "jobssplit":
            out.append((r["cpu_gw_us"] < SPLIT_GW_CPU_US and not r["errors"],
                        "%s: cuegw %.0f ms CPU/request, %d of %d answers errors (issue 13 target "
                        "< %.0f ms, all 200); peak %.1f MB above idle per worker for %.1f MB of "
                        "protobuf, %.1f MB of JSON" % (
                            label, r["cpu_gw_us"] / 1e3, r["errors"], r["requests"],
                            SPLIT_GW_CPU_US / 1e3, (r["peak_anon_kb"] - r["idle_anon_kb"]) / 1024,
                            wire_mb(r), json_sizes.get("jobssplit", 0) / 1e6)))
            continue
        if r["case"] == "jobs5000":
            out.append((r["cpu_us"] <= LARGE_CPU_US,
                        "%s: %.1f ms CPU/request (target <= %.0f ms)" % (label, r["cpu_us"] / 1e3, LARGE_CPU_US / 1e3)))
            out.append((r["cpu_gw_us"] <= LARGE_GW_CPU_US,
                        "%s: cuegw %.1f ms CPU/request (issue 13 target <= %.0f ms)" % (
                            label, r["cpu_gw_us"] / 1e3, LARGE_GW_CPU_US / 1e3)))
            grow = r["peak_anon_kb"] - r["idle_anon_kb"]
            limit = LARGE_PEAK_FACTOR * json_sizes.get("jobs5000", 0) / 1024
            out.append((grow <= limit,
                        "%s: peak %.1f MB above idle per worker (target <= 1.5 x %.1f MB JSON = %.1f MB)" % (
                            label, grow / 1024, json_sizes.get("jobs5000", 0) / 2**20, limit / 1024)))
        out.append((r["idle_anon_kb"] <= IDLE_ANON_KB,
                    "%s: idle %.1f MB per worker (target <= 4 MB)" % (label, r["idle_anon_kb"] / 1024)))
        out.append((r["errors"] == 0, "%s: %d error answers (target 0)" % (label, r["errors"])))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", required=True)
    ap.add_argument("--seconds", type=float, default=10.0, help="measured seconds per row (whole seconds: wrk's unit)")
    ap.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds before each row")
    ap.add_argument("--quick", action="store_true", help="2 s rows, no warm-up: a smoke test")
    ap.add_argument("--fronts", default="nginx,lighttpd")
    ap.add_argument("--workers", type=int, default=0, help="cuegw processes (default: the shipped configs')")
    ap.add_argument("--threads", type=int, default=0, help="request threads per cuegw process (default: cuegw's)")
    ap.add_argument("--cases", default=",".join(c[0] for c in CASES))
    ap.add_argument("--no-floors", action="store_true")
    args = ap.parse_args()
    if args.quick:
        args.seconds, args.warmup = 2.0, 0
    for tool in ("wrk", "nginx", "lighttpd", "spawn-fcgi"):
        harness.need(tool if shutil.which(tool) else "/usr/sbin/" + tool)
    cases = [c for c in CASES if c[0] in args.cases.split(",")]
    fronts = [f for f in args.fronts.split(",") if f]
    token = harness.sign_jwt(SECRET, {"sub": "bench", "exp": int(time.time()) + 24 * 3600})
    rows = []
    failed = False
    print(HEADER, flush=True)
    try:
        standin = StandinC(args.build).start()
        floors = dict.fromkeys([FCGI_FLOOR_OF[f] for f in fronts] + ["fcgi-floor-nokeep"] +
                               (["fcgi-call-floor"] if "nginx" in fronts else []))
        for kind in fronts + ([] if args.no_floors else list(floors)):
            floor = "floor" in kind
            front = make_front(kind, args, standin, {"JWT_SECRET": SECRET}).start()
            try:
                # Idle: after a second of each small case, so every worker
                # has its channel up and its buffers as ordinary traffic
                # leaves them. What a large answer leaves behind is
                # measured at the end ("idle_after_anon_kb").
                for c in cases:
                    if c[1] == "shows" or (not floor and c[1] == "jobs200"):
                        run_wrk(front.port, (c[0], c[1], c[2], 2), 1, token, args.build)
                # cuegw hands back what malloc kept for the next burst once a
                # thread has been quiet for a second (fcgi/worker.c).
                time.sleep(IDLE_WAIT_S)
                web, workers = tier_pids(front)
                idle = max(anon_kb(p) for p in workers)
                for c in cases:
                    if floor and c[1] != "shows":
                        continue
                    r = measure_http(front, standin, c, args, token)
                    r.update(front=kind, case=c[0], idle_anon_kb=idle, build=args.build,
                             workers=len(workers), web_processes=len(web))
                    rows.append(r)
                    print(fmt_row("%s %s" % (kind, c[0]), r), flush=True)
                time.sleep(IDLE_WAIT_S)
                after = max(anon_kb(p) for p in workers)
                for r in rows:
                    if r["front"] == kind:
                        r["idle_after_anon_kb"] = after
            finally:
                front.stop()
        if not args.no_floors:
            for c in cases:
                r = measure_grpc_floor(standin, c, args)
                r.update(front="grpc-floor", case=c[0])
                rows.append(r)
                print(fmt_row("grpc-floor %s" % c[0], r), flush=True)
    except Exception as e:
        print("bench: %s" % e, file=sys.stderr)
        failed = True
    finally:
        harness.stop_all()

    # What the gateway adds above the two floors, for the small calls.
    floor = {(r["front"], r["case"]): r for r in rows}
    for r in rows:
        g = floor.get(("grpc-floor", r["case"]))
        f = floor.get((FCGI_FLOOR_OF.get(r["front"]), r["case"]))
        if r["front"] in ("nginx", "lighttpd") and g and f and g["requests"] and f["requests"]:
            r["above_floors_us"] = r["cpu_us"] - g["cpu_us"] - f["cpu_us"]
            r["floors_text"] = "grpc %.0f + %s %.0f" % (g["cpu_us"], f["front"], f["cpu_us"])
        c = floor.get(("fcgi-call-floor", r["case"]))
        if r["front"] == "nginx" and c and c["requests"]:
            r["above_call_floor_us"] = r["cpu_us"] - c["cpu_us"]
    json_sizes = json_bytes(args.build, cases)

    print()
    print(HEADER)
    for r in rows:
        print(fmt_row("%s %s" % (r["front"], r["case"]), r))
    print("CPU us/r: the gateway tier's CPU per request (web server + cuegw processes; "
          "floors: the floor's own);\nweb, cuegw: its two parts; +floors: CPU above the grpc "
          "floor plus the front's fcgi floor (same web server\nand config, same connections; fcgi-floor: nginx, fcgi-floor-lighttpd: lighttpd); standin: the stand-in "
          "Cuebot's CPU per request; anon MB: private anonymous memory of\nthe largest cuegw "
          "process (floors: the floor's process), idle / peak. fcgi-floor-nokeep: the trivial\n"
          "responder with keep-alive turned off in a copy of the shipped nginx files, for "
          "reference.")
    for kind in fronts:
        mine = [r for r in rows if r["front"] == kind]
        if mine:
            print("%s: %d cuegw processes, %d web server processes; idle %.1f MB per cuegw "
                  "process after the small calls, %.1f MB after every row" % (
                      kind, mine[0]["workers"], mine[0]["web_processes"],
                      mine[0]["idle_anon_kb"] / 1024, mine[0]["idle_after_anon_kb"] / 1024))
    for r in rows:
        if r.get("above_call_floor_us") is not None:
            print("nginx %s: %.0f us above fcgi-call-floor (the trivial responder making the "
                  "same Cuebot call)" % (r["case"], r["above_call_floor_us"]))
    for r in rows:
        if "floor" in r["front"] and not r["requests"]:
            print("%s %s answered no request in %.0f s: no +floors from it"
                  % (r["front"], r["case"], args.seconds))
    targets = check_targets(rows, json_sizes) if not failed else []
    if targets:
        print("\nTargets (issues 7 and 13):")
        for ok, text in targets:
            print("  %s %s" % ("meets" if ok else "MISSES", text))
    out_dir = os.path.join(args.build, "bench")
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "bench.json"), "w") as f:
        json.dump({"seconds": args.seconds, "cpus": os.cpu_count(), "json_bytes": json_sizes,
                   "rows": rows, "targets": [{"ok": ok, "text": t} for ok, t in targets]},
                  f, indent=1)
    print("\nwrote %s" % os.path.join(out_dir, "bench.json"))
    # The gateway's own rows decide; a floor's stalls are its figures.
    gateway = [r for r in rows if r["front"] in ("nginx", "lighttpd")]
    errors = sum(r["errors"] for r in gateway if r["case"] not in SEQUENTIAL)
    failed = failed or any(not r["requests"] for r in gateway)
    if failed or errors:
        print("bench: %s" % ("a run failed" if failed else "%d error answers" % errors),
              file=sys.stderr)
        return 1
    return 0


def wire_mb(row):
    p = os.path.join(row["build"], "bench", "cases", row["case"] + ".resp.pb")
    return os.path.getsize(p) / 1e6 if os.path.exists(p) else 0.0


def json_bytes(build, cases):
    """Size of each case's answer as compact JSON, as make_farm.py wrote it
    down (<case>.resp.json-size)."""
    sizes = {}
    for c in cases:
        p = os.path.join(build, "bench", "cases", c[1] + ".resp.json-size")
        try:
            with open(p) as f:
                sizes[c[0]] = int(f.read())
        except (OSError, ValueError):
            sizes[c[0]] = 0
    return sizes


if __name__ == "__main__":
    sys.exit(main())
