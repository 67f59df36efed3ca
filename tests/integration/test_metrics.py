#!/usr/bin/python3
"""Prometheus metrics summed over a pool of processes, through real fronts
started from the shipped files: lighttpd (max-procs 4), nginx + spawn-fcgi
(-F 3), Apache mod_proxy_fcgi + `cuegw --listen --workers 3`, and Apache
mod_fcgid. In each, requests spread over several workers must add up,
exactly, in one scrape served by any one of them; a worker killed with
SIGKILL loses nothing it counted. Every scrape is read by a strict parser
of the text exposition format written here.

Usage: test_metrics.py --cuegw BUILD/cuegw --schema BUILD/gen/schema.pb
"""

import os
import re
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fcgi_client  # noqa: E402
import front_apache  # noqa: E402
import front_nginx  # noqa: E402
import harness  # noqa: E402

SECRET = "metrics-secret-0123456789"
GET_SHOWS = "/show.ShowInterface/GetShows"
SERIES_200 = ("cuegw_requests_total", (("code", "OK"), ("method", "show.ShowInterface/GetShows"),
                                        ("status", "200")))


# ---- a strict reader of the text exposition format (version 0.0.4) ----------

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"'
SAMPLE = re.compile(r"^(%s)(?:\{((?:%s)(?:,%s)*)\})? (\S+)$" % (NAME, LABEL, LABEL))


class ExpositionError(Exception):
    pass


def parse_exposition(text):
    """{(name, sorted label pairs): value}. Raises on anything the format
    does not allow: a sample before its TYPE, unknown types, bad names or
    escapes, duplicate series, counters without _total, histograms whose
    buckets are not cumulative or whose +Inf bucket differs from _count."""
    if not text.endswith("\n"):
        raise ExpositionError("the text does not end with a newline")
    types, helps, out = {}, {}, {}
    for n, line in enumerate(text.split("\n")[:-1], 1):
        if line.startswith("# HELP "):
            name = line.split(" ")[2]
            if name in helps:
                raise ExpositionError("line %d: a second HELP for %s" % (n, name))
            helps[name] = line
            continue
        if line.startswith("# TYPE "):
            parts = line.split(" ")
            if len(parts) != 4 or parts[3] not in ("counter", "gauge", "histogram", "summary", "untyped"):
                raise ExpositionError("line %d: bad TYPE line %r" % (n, line))
            if parts[2] in types:
                raise ExpositionError("line %d: a second TYPE for %s" % (n, parts[2]))
            types[parts[2]] = parts[3]
            continue
        if line.startswith("#") or not line:
            raise ExpositionError("line %d: unexpected %r" % (n, line))
        m = SAMPLE.match(line)
        if not m:
            raise ExpositionError("line %d: not a sample: %r" % (n, line))
        name, value = m.group(1), m.group(m.lastindex)
        labels = tuple(sorted((k, v.replace('\\n', '\n').replace('\\"', '"').replace('\\\\', '\\'))
                              for k, v in re.findall(LABEL, m.group(2) or "")))
        if len({k for k, _ in labels}) != len(labels):
            raise ExpositionError("line %d: a label given twice" % n)
        family = name
        for suffix in ("_bucket", "_sum", "_count"):
            if name.endswith(suffix) and types.get(name[:-len(suffix)]) == "histogram":
                family = name[:-len(suffix)]
        if family not in types:
            raise ExpositionError("line %d: %s has no TYPE before it" % (n, name))
        if types[family] == "counter" and not name.endswith("_total"):
            raise ExpositionError("line %d: counter %s does not end in _total" % (n, name))
        try:
            v = float(value)
        except ValueError:
            raise ExpositionError("line %d: bad value %r" % (n, value))
        if (name, labels) in out:
            raise ExpositionError("line %d: duplicate series %s%s" % (n, name, labels))
        out[(name, labels)] = v
    for family, kind in types.items():
        if kind != "histogram":
            continue
        buckets = sorted(((float(dict(l)["le"]), v) for (nm, l), v in out.items()
                          if nm == family + "_bucket"), key=lambda b: b[0])
        if not buckets or buckets[-1][0] != float("inf"):
            raise ExpositionError("%s has no +Inf bucket" % family)
        if any(b[1] > c[1] for b, c in zip(buckets, buckets[1:])):
            raise ExpositionError("%s buckets are not cumulative" % family)
        if out.get((family + "_count", ())) != buckets[-1][1] or (family + "_sum", ()) not in out:
            raise ExpositionError("%s: _count differs from the +Inf bucket, or no _sum" % family)
    return out


def value(metrics, name, **labels):
    return metrics.get((name, tuple(sorted(labels.items()))), 0.0)


def total(metrics, name):
    return sum(v for (n, _), v in metrics.items() if n == name)


def delta(a, b, name, **labels):
    return value(b, name, **labels) - value(a, name, **labels)


# ---- traffic --------------------------------------------------------------------

def scrape(front, token, path="/metrics"):
    r = harness.request(front.port, "GET", path, headers={"Authorization": "Bearer " + token})
    if r.status != 200:
        raise RuntimeError("scrape answered %d: %s" % (r.status, r.body[:300]))
    return r, parse_exposition(r.body.decode())


def settled_scrape(front, token, ready, bound=60.0):
    """A scrape whose counters ready(metrics, k) accepts, k being the scrapes
    made here before it; returns (response, metrics, k). cuegw counts a
    request once its last byte is written, and lighttpd hands a client an
    answer whose Content-Length is met without waiting for the FastCGI
    END_REQUEST that follows the counting: so a scrape sent the moment the
    answers arrive may come a moment before the last of them are counted.
    Scraping again waits for that; bound only says when to give up (the
    last scrape is returned, and the checks then fail on it)."""
    end = time.monotonic() + bound
    k = 0
    while True:
        r, m = scrape(front, token)
        if ready(m, k) or time.monotonic() > end:
            return r, m, k
        k += 1
        time.sleep(0.01)


def spread(front, token, n, threads=8):
    """n GetShows calls from `threads` clients at once; returns (statuses,
    request body bytes sent, response body bytes received)."""
    results, lock = [], threading.Lock()
    sent = [0]

    def client(k):
        for i in range(k, n, threads):
            body = "{}" + " " * (i % 5)
            r = harness.request(front.port, "POST", GET_SHOWS, body,
                                {"Authorization": "Bearer " + token, "Content-Type": "application/json"})
            with lock:
                results.append((r.status, len(r.body)))
                sent[0] += len(body)

    ts = [threading.Thread(target=client, args=(k,)) for k in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120)
    return [s for s, _ in results], sent[0], sum(b for _, b in results)


def access_pids(front, method_path=GET_SHOWS, status=200):
    """Pid -> access lines of that method and status in the front's logs."""
    pids = {}
    pat = re.compile(r"cuegw\[(\d+)\] info: access POST %s status=%d " % (re.escape(method_path), status))
    for line in front.error_log().splitlines():
        m = pat.search(line)
        if m:
            pids[int(m.group(1))] = pids.get(int(m.group(1)), 0) + 1
    return pids


def cuegw_pids(front):
    """The live cuegw processes serving behind a front (a pool's parent,
    which serves nothing itself, left out)."""
    procs = {}
    for line in subprocess.run(["ps", "-eo", "pid=,ppid=,stat=,args="], capture_output=True,
                               text=True).stdout.splitlines():
        pid, ppid, st, args = line.strip().split(None, 3)
        if not st.startswith("Z") and args.startswith(front.cuegw_bin) and _env_has(int(pid), front):
            procs[int(pid)] = int(ppid)
    parents = set(procs.values())
    return sorted(p for p in procs if p not in parents)


def _env_has(pid, front):
    """Whether a cuegw process belongs to this front (its settings name the
    front's own stand-in port and marker)."""
    try:
        with open("/proc/%d/environ" % pid, "rb") as f:
            return ("CUEGW_TEST_FRONT=%s" % front.run_dir).encode() in f.read().split(b"\0")
    except OSError:
        return False


# ---- one deployment ------------------------------------------------------------------

def exercise(c, name, front, standin, token, workers, respawns=True, pid_labels=True):
    standin.reset()
    # A little delay per call so that the clients keep several workers busy.
    standin.script(method=GET_SHOWS, delay_ms=40)
    r = harness.request(front.port, "GET", "/metrics")
    c.check(r.status == 401, "%s: /metrics without credentials is 401" % name, r.status)
    # The baseline counts what came before it on this fresh front: the 401
    # just above, and the scrapes made while waiting for it to be counted.
    r0, m0, k0 = settled_scrape(front, token, lambda m, k: total(m, "cuegw_requests_total") == 1 + k
                                and value(m, "cuegw_request_duration_seconds_count") == 1 + k)
    c.check(total(m0, "cuegw_requests_total") == 1 + k0,
            "%s: the first scrape counts the one request before it (and %d scrapes)" % (name, k0),
            total(m0, "cuegw_requests_total"))
    c.check(r0.header("content-type", ) == "text/plain; version=0.0.4; charset=utf-8",
            "%s: the scrape is the text exposition format" % name, r0.header("content-type"))
    c.check(SECRET not in r0.body.decode() and token not in r0.body.decode(),
            "%s: no secret or token in the scrape" % name)

    n = 48
    statuses, sent, received = spread(front, token, n)
    c.check(statuses == [200] * n, "%s: %d calls answered 200" % (name, n), statuses)
    bad = harness.sign_jwt("not-the-secret")
    expired = harness.sign_jwt(SECRET, {"exp": int(time.time()) - 600})
    fails = [harness.request(front.port, "POST", GET_SHOWS, "", h).status for h in
             [{}] * 3 + [{"Authorization": "Bearer " + bad}] * 2 + [{"Authorization": "Bearer " + expired}]]
    c.check(fails == [401] * 6, "%s: bad credentials are 401" % name, fails)
    # Every request answered since m0: the calls, the 401s, the scrape of
    # m0 and the k scrapes made while waiting for them to be counted.
    answered = n + 6 + 1

    def all_counted(m, k):
        return (total(m, "cuegw_requests_total") - total(m0, "cuegw_requests_total") == answered + k
                and delta(m0, m, "cuegw_request_duration_seconds_count") == answered + k
                and delta(m0, m, "cuegw_response_bytes_total") >= received)
    _, m1, k = settled_scrape(front, token, all_counted)

    got = delta(m0, m1, *SERIES_200[:1], **dict(SERIES_200[1]))
    c.check(got == n, "%s: the %d calls spread over the workers add up to %d in one scrape" % (name, n, n), got)
    pids = access_pids(front)
    c.check(len(pids) >= 2 and sum(pids.values()) == n,
            "%s: the access log shows them spread over several processes" % name, pids)
    c.check(delta(m0, m1, "cuegw_requests_total", method="show.ShowInterface/GetShows", status="401",
                  code="UNAUTHENTICATED") == 6, "%s: the 401s are counted under the method" % name)
    for reason, want in (("missing", 3), ("bad_signature", 2), ("expired", 1)):
        c.check(delta(m0, m1, "cuegw_auth_failures_total", reason=reason) == want,
                "%s: auth failures, reason %s: %d" % (name, reason, want),
                delta(m0, m1, "cuegw_auth_failures_total", reason=reason))
    c.check(delta(m0, m1, "cuegw_requests_total", method="metrics", status="200", code="OK") == 1 + k,
            "%s: the previous scrapes are counted under method=metrics (%d)" % (name, 1 + k))
    everything = n + 6 + 1 + k
    c.check(total(m1, "cuegw_requests_total") - total(m0, "cuegw_requests_total") == everything,
            "%s: the series add up to every request in between" % name)
    c.check(delta(m0, m1, "cuegw_request_duration_seconds_count") == everything,
            "%s: the histogram counts every request" % name)
    # The stand-in held each call 40 ms: none of them can sit in a bucket below that.
    fast = delta(m0, m1, "cuegw_request_duration_seconds_bucket", le="0.025")
    c.check(fast <= everything - n, "%s: the delayed calls are above the 0.025 s bucket" % name, fast)
    c.check(delta(m0, m1, "cuegw_request_duration_seconds_sum") >= n * 0.04,
            "%s: the histogram sum holds at least the stand-in's delays" % name)
    c.check(delta(m0, m1, "cuegw_request_bytes_total") == sent,
            "%s: request bytes are the bodies sent (%d)" % (name, sent), delta(m0, m1, "cuegw_request_bytes_total"))
    out = delta(m0, m1, "cuegw_response_bytes_total")
    c.check(received <= out <= received + everything * 1024 + (1 + k) * (len(r0.body) + 2048),
            "%s: response bytes cover the bodies received" % name, (out, received))
    c.check(value(m1, "cuegw_cuebot_channel_state", state="READY") >= 1,
            "%s: some process has a READY channel" % name)
    c.check(total(m1, "cuegw_cuebot_channel_state") == value(m1, "cuegw_processes"),
            "%s: every live process is counted in one channel state" % name,
            (total(m1, "cuegw_cuebot_channel_state"), value(m1, "cuegw_processes")))

    live = cuegw_pids(front)
    if pid_labels:
        c.check(value(m1, "cuegw_processes") == workers and len(live) == workers,
                "%s: %d live processes counted" % (name, workers), (value(m1, "cuegw_processes"), live))
    labelled = sorted(int(dict(l)["pid"]) for (nm, l) in m1 if nm == "cuegw_process_start_time_seconds")
    c.check(labelled == live, "%s: one start time per live process, by pid" % name, (labelled, live))
    starts = [v for (nm, _), v in m1.items() if nm == "cuegw_process_start_time_seconds"]
    c.check(all(time.time() - 3600 < s <= time.time() for s in starts), "%s: start times are recent" % name, starts)

    # Requests in flight: two calls held by the stand-in, and the scrape.
    standin.script(method=GET_SHOWS, delay_ms=2500, times=2)
    held = [threading.Thread(target=spread, args=(front, token, 1, 1)) for _ in range(2)]
    for t in held:
        t.start()
    arrived = harness.wait_until(lambda: len(standin.calls()) >= n + 2 or None, 60)
    # A scrape answered just before may still be in flight for a moment
    # (see settled_scrape); the held calls are, until the stand-in lets go.
    _, m2, _ = settled_scrape(front, token, lambda m, k: value(m, "cuegw_requests_in_flight") == 3)
    c.check(arrived and value(m2, "cuegw_requests_in_flight") == 3,
            "%s: in flight: the two held calls and the scrape" % name, value(m2, "cuegw_requests_in_flight"))
    for t in held:
        t.join(30)

    # A worker killed with SIGKILL: what it counted stays.
    victim = max(pids, key=pids.get)
    calls_200 = value(m0, *SERIES_200[:1], **dict(SERIES_200[1])) + n + 2
    _, before, _ = settled_scrape(
        front, token, lambda m, k: value(m, *SERIES_200[:1], **dict(SERIES_200[1])) >= calls_200)
    os.kill(victim, signal.SIGKILL)
    harness.wait_until(lambda: victim not in cuegw_pids(front), 60, 0.02)
    if respawns:
        harness.wait_until(lambda: len(cuegw_pids(front)) == workers and victim not in cuegw_pids(front), 60)
    _, after = scrape(front, token)
    c.check(value(after, *SERIES_200[:1], **dict(SERIES_200[1])) == value(before, *SERIES_200[:1], **dict(SERIES_200[1])),
            "%s: counts survive a worker killed with SIGKILL" % name)
    labelled = sorted(int(dict(l)["pid"]) for (nm, l) in after if nm == "cuegw_process_start_time_seconds")
    c.check(victim not in labelled, "%s: the killed process is no longer listed" % name, (victim, labelled))
    standin.reset()
    statuses, _, _ = spread(front, token, 12, threads=3)
    _, m3, _ = settled_scrape(
        front, token, lambda m, k: delta(after, m, *SERIES_200[:1], **dict(SERIES_200[1])) >= 12)
    c.check(statuses == [200] * 12 and delta(after, m3, *SERIES_200[:1], **dict(SERIES_200[1])) == 12,
            "%s: and go on from there" % name, (statuses, delta(after, m3, *SERIES_200[:1], **dict(SERIES_200[1]))))
    c.check(value(m3, "cuegw_counters_start_time_seconds") == value(m0, "cuegw_counters_start_time_seconds"),
            "%s: the counters never restarted" % name)


def marker(front):
    return {"CUEGW_TEST_FRONT": front.run_dir}


def run_lighttpd(c, args, standin, token):
    front = harness.Lighttpd(args.cuegw, {"CUEBOT_ENDPOINT": standin.endpoint, "JWT_SECRET": SECRET},
                             workers=4)
    # lighttpd hands its own environment on to the processes it spawns.
    front.settings.update(marker(front))
    front.start()
    exercise(c, "lighttpd", front, standin, token, 4)
    files = [f for f in os.listdir(front.run_dir) if f.endswith(".metrics")]
    c.check(len(files) == 1 and stat.S_IMODE(os.stat(os.path.join(front.run_dir, files[0])).st_mode) == 0o600,
            "lighttpd: one counters file beside the sockets, mode 600", files)
    front.stop()


def run_nginx(c, args, standin, token):
    front = front_nginx.Nginx(args.cuegw, {"CUEBOT_ENDPOINT": standin.endpoint, "SETTINGS_FROM_PARAMS": "1"},
                              {"JWT_SECRET": SECRET}, workers=3)
    front.env_settings.update(marker(front))
    front.start()
    # spawn-fcgi replaces nobody: after the kill, two processes remain.
    exercise(c, "nginx+spawn-fcgi", front, standin, token, 3, respawns=False)
    front.stop()


def run_apache_proxy(c, args, standin, token):
    front = front_apache.ApacheProxyFcgi(args.cuegw, {"CUEBOT_ENDPOINT": standin.endpoint},
                                         {"JWT_SECRET": SECRET}, workers=3)
    front.env_settings.update(marker(front))
    front.start()
    exercise(c, "apache+cuegw --listen", front, standin, token, 3)
    front.stop()


def run_apache_fcgid(c, args, standin, token):
    mdir = os.path.join(tempfile.mkdtemp(prefix="cuegw-metrics-"), "m")
    front = front_apache.ApacheFcgid(args.cuegw, {"CUEBOT_ENDPOINT": standin.endpoint, "METRICS_DIR": mdir},
                                     {"JWT_SECRET": SECRET}, workers=4)
    front.env_settings.update(marker(front))
    front.set_params(front.params)       # the marker goes in as FcgidInitialEnv
    if os.geteuid() == 0:
        # mod_fcgid's processes run as Apache's user, who must own the directory.
        import pwd
        os.chmod(os.path.dirname(mdir), 0o755)
        os.mkdir(mdir, 0o700)
        pw = pwd.getpwnam(front.user)
        os.chown(mdir, pw.pw_uid, pw.pw_gid)
    front.start()
    # mod_fcgid starts processes as load needs them, so their number varies.
    exercise(c, "apache mod_fcgid", front, standin, token, None, respawns=False, pid_labels=False)
    c.check(os.path.exists(os.path.join(mdir, "cuegw.metrics")), "mod_fcgid: METRICS_DIR holds the counters")
    front.stop()


def run_separate_pools(c, args, standin, token):
    """Three pools on one host keep their own numbers: one on a unix socket
    (its file beside the socket), one on TCP (its file in
    $TMPDIR/cuegw-UID), one with METRICS_DIR (a private directory made for
    it)."""
    base = tempfile.mkdtemp(prefix="cuegw-pools-")
    env = {"PATH": os.environ.get("PATH", ""), "CUEBOT_ENDPOINT": standin.endpoint, "JWT_SECRET": SECRET,
           "LOG_LEVEL": "warn", "TMPDIR": base}
    env.update({k: os.environ[k] for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS") if k in os.environ})
    port = harness.free_port()
    mdir = os.path.join(base, "private")
    addrs = [os.path.join(base, "a.sock"), ("127.0.0.1", port), os.path.join(base, "b.sock")]
    envs = [env, dict(env, METRICS_PATH="/internal/metrics"), dict(env, METRICS_DIR=mdir, URL_PREFIX="/cue")]
    prefixes = ["", "", "/cue"]
    scrape_paths = ["/metrics", "/internal/metrics", "/cue/metrics"]
    pools = []
    try:
        for addr, e in zip(addrs, envs):
            spec = addr if isinstance(addr, str) else "%s:%d" % addr
            pools.append(subprocess.Popen([args.cuegw, "--listen", spec, "--workers", "2"], env=e,
                                          stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        call = {"REQUEST_METHOD": "POST", "HTTP_AUTHORIZATION": "Bearer " + token}

        def get(i):
            return dict(call, REQUEST_METHOD="GET", REQUEST_URI=scrape_paths[i])

        def ready(i):
            try:
                return fcgi_client.request(addrs[i], get(i), b"")[0] == 200
            except OSError:
                return False
        c.check(all(harness.wait_until(lambda i=i: ready(i), 60) for i in range(3)),
                "three pools start, scraped at /metrics, METRICS_PATH, and under URL_PREFIX")
        for i, a in enumerate(addrs):
            for _ in range(3 + i):
                fcgi_client.request(a, dict(call, REQUEST_URI=prefixes[i] + GET_SHOWS), b"{}")
        counts = []
        for i, a in enumerate(addrs):
            body = fcgi_client.request(a, get(i), b"")[2].decode()
            counts.append(value(parse_exposition(body), *SERIES_200[:1], **dict(SERIES_200[1])))
        c.check(counts == [3, 4, 5], "three pools on one host keep their own numbers", counts)
        moved = fcgi_client.request(addrs[1], dict(get(1), REQUEST_URI="/metrics"), b"")[0]
        c.check(moved == 405, "with METRICS_PATH set, /metrics is no longer the metrics", moved)
        c.check(stat.S_IMODE(os.stat(mdir).st_mode) == 0o700 and
                stat.S_IMODE(os.stat(os.path.join(mdir, "cuegw.metrics")).st_mode) == 0o600,
                "METRICS_DIR is made 700 and its file 600")
        beside = sorted(f for f in os.listdir(base) if f.endswith(".metrics"))
        c.check(len(beside) == 1 and beside[0].startswith("a.sock-"),
                "the unix-socket pool keeps its file beside its socket", beside)
        own = os.path.join(base, "cuegw-%d" % os.geteuid())
        files = os.listdir(own) if os.path.isdir(own) else []
        c.check(len(files) == 1 and files[0].endswith(".metrics") and
                stat.S_IMODE(os.stat(own).st_mode) == 0o700,
                "the TCP pool keeps its file in $TMPDIR/cuegw-UID (mode 700)", files)
    finally:
        for p in pools:
            harness.stop_process(p, 10)
    # A directory others may write to is refused, and the log says why.
    os.chmod(mdir, 0o777)
    sock = os.path.join(base, "c.sock")
    p = subprocess.Popen([args.cuegw, "--listen", sock, "--workers", "1"],
                         env=dict(env, METRICS_DIR=mdir), stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        harness.wait_until(lambda: os.path.exists(sock), 60)
        st = harness.wait_until(lambda: _status(sock, token), 60)
        ok = fcgi_client.request(sock, {"REQUEST_METHOD": "POST", "REQUEST_URI": GET_SHOWS,
                                        "HTTP_AUTHORIZATION": "Bearer " + token}, b"{}")[0]
    finally:
        harness.stop_process(p, 10)
    err = p.stderr.read()
    c.check(st and st[0] == 503 and b"see the gateway's log" in st[1] and mdir.encode() not in st[1]
            and base.encode() not in st[1],
            "a METRICS_DIR others may write to is refused: /metrics answers 503, naming no path", st)
    c.check(ok == 200, "and the API is served as usual", ok)
    c.check("METRICS_DIR: %s: it must belong to cuegw's user and be writable by it alone" % mdir in err,
            "and the log says why", err[-400:])


def _status(sock, token):
    try:
        s, _, body, _ = fcgi_client.request(sock, {"REQUEST_METHOD": "GET", "REQUEST_URI": "/metrics",
                                                   "HTTP_AUTHORIZATION": "Bearer " + token}, b"")
        return s, body
    except OSError:
        return None


def run(c, args):
    standin = harness.Standin(args.schema).start()
    token = harness.sign_jwt(SECRET, {"sub": "prometheus"})
    for part in (run_separate_pools, run_lighttpd, run_nginx, run_apache_proxy, run_apache_fcgid):
        try:
            part(c, args, standin, token)
        except Exception:
            c.check(False, "%s ran to the end" % part.__name__, traceback.format_exc())
        finally:
            # Each part's servers stop before the next starts (2 cores).
            for s in list(harness._started):
                if s is not standin:
                    try:
                        s.stop()
                    except Exception as e:
                        print("stopping %r: %s" % (s, e))
                    harness._started.remove(s)


def main():
    return harness.suite_main("metrics", run)

if __name__ == "__main__":
    sys.exit(main())
