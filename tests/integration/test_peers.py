#!/usr/bin/python3
"""The FastCGI peer as an attacker (issue 12): who may reach the socket,
what a request's params may cost, and peers that are silent, slow or never
read. Talks FastCGI straight to a `cuegw --listen` pool, where no web
server filters anything first.

Each case fails on a gateway whose threads read and write the socket
themselves: there a handful of silent connections hold every thread.

Usage: test_peers.py --cuegw BUILD/cuegw --schema BUILD/gen/schema.pb
Prints "peers: N passed, M failed".
"""

import base64
import json
import os
import re
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fcgi_client  # noqa: E402
import front_apache  # noqa: E402
import front_nginx  # noqa: E402
import harness  # noqa: E402

SECRET = "peers-secret-0123456789"
GET_SHOWS = "/show.ShowInterface/GetShows"
GET_JOBS = "/job.JobInterface/GetJobs"
HOSTILE_EACH = 50                   # connections of each hostile kind
LEGIT_TIMEOUT = 10                  # a blocked gateway never answers; this one must


def status_kb(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def rss_kb(pid):
    return status_kb(pid, "VmRSS")


def begin(keep=False, request_id=1):
    return fcgi_client._record(fcgi_client.BEGIN_REQUEST,
                               struct.pack(">HB5x", 1, 1 if keep else 0), request_id)


def params_record(params, request_id=1):
    return (fcgi_client._record(fcgi_client.PARAMS, fcgi_client._params(params), request_id) +
            fcgi_client._record(fcgi_client.PARAMS, b"", request_id))


def stdin_records(body, request_id=1):
    return ((fcgi_client._record(fcgi_client.STDIN, body, request_id) if body else b"") +
            fcgi_client._record(fcgi_client.STDIN, b"", request_id))


def call_params(token=None, path=GET_SHOWS, length=2):
    p = {"REQUEST_METHOD": "POST", "REQUEST_URI": path, "CONTENT_TYPE": "application/json",
         "CONTENT_LENGTH": str(length)}
    if token:
        p["HTTP_AUTHORIZATION"] = "Bearer " + token
    return p


def read_answer(s):
    """Reads records until END_REQUEST: (status, headers, body); raises
    ConnectionError when the connection closes first."""
    out = b""
    for kind, _, content in fcgi_client.records(s):
        if kind == fcgi_client.STDOUT:
            out += content
        elif kind == fcgi_client.END_REQUEST:
            return fcgi_client._parse(out)
    raise ConnectionError("closed before END_REQUEST")


def closed_by_peer(s, timeout):
    """Whether the other side closes s within timeout (reading and dropping
    whatever it sends first)."""
    s.settimeout(timeout)
    try:
        while s.recv(65536):
            pass
        return True
    except (socket.timeout, TimeoutError):
        return False
    except OSError:
        return True


class Pool:
    def __init__(self, args, env, address, workers=2, extra=()):
        self.address = address
        self.log = tempfile.NamedTemporaryFile(prefix="cuegw-peers-", suffix=".log", delete=False).name
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [args.cuegw, "--listen", address if isinstance(address, str) else "%s:%d" % address,
                 "--workers", str(workers)] + list(extra), env=env, stdout=log, stderr=log)
        harness._started.append(self)

    def wait_ready(self, token):
        def up():
            try:
                return get_shows(self.address, token)[0] == 200
            except OSError:
                return False
        return harness.wait_until(up, 60, 0.05)

    def workers(self):
        return harness.children(self.proc.pid)

    def text(self):
        with open(self.log, errors="replace") as f:
            return f.read()

    def stop(self):
        if self.proc:
            harness.stop_process(self.proc, 10)
            self.proc = None


def get_shows(address, token, timeout=LEGIT_TIMEOUT):
    return fcgi_client.request(address, call_params(token), b"{}", timeout=timeout)


def base_env(standin, **more):
    env = {"PATH": os.environ.get("PATH", ""), "CUEBOT_ENDPOINT": standin.endpoint,
           "JWT_SECRET": SECRET, "LOG_LEVEL": "info"}
    for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
        if k in os.environ:
            env[k] = os.environ[k]
    if "ASAN_OPTIONS" in env:
        # AddressSanitizer keeps freed blocks in a quarantine (256 MB by
        # default) to catch late uses: that is the sanitizer's memory, not
        # the gateway's, and the RSS checks here are about the gateway's.
        env["ASAN_OPTIONS"] += ":quarantine_size_mb=1:thread_local_quarantine_size_kb=64"
    env.update({k: str(v) for k, v in more.items()})
    return env


# ---- who may reach the socket -------------------------------------------------

def test_listen_consent(c, env):
    port = harness.free_port()
    for addr in ("0.0.0.0:%d" % port, ":%d" % port):
        p = subprocess.run([env.args.cuegw, "--listen", addr, "--workers", "1"],
                           env=env.env, capture_output=True, text=True, timeout=30)
        c.check(p.returncode != 0 and "--allow-non-loopback" in p.stderr,
                "--listen %s is refused without consent, naming the flag" % addr,
                (p.returncode, p.stderr[-400:]))
    # With consent it serves; FCGI_WEB_SERVER_ADDRS then decides who may talk.
    token = harness.sign_jwt(SECRET)
    pool = Pool(env.args, dict(env.env, FCGI_WEB_SERVER_ADDRS="127.0.0.9"), ("0.0.0.0", port),
                workers=1, extra=["--allow-non-loopback"])
    try:
        ok = harness.wait_until(lambda: port_open(port), 60, 0.05)
        c.check(ok, "with --allow-non-loopback the pool listens on every interface")
        s = fcgi_client.connect(("127.0.0.1", port), 10)
        s.sendall(begin() + params_record(call_params(token)) + stdin_records(b"{}"))
        c.check(closed_by_peer(s, 10), "a peer not in FCGI_WEB_SERVER_ADDRS is closed unanswered")
        s.close()
        c.check(harness.wait_until(lambda: "FCGI_WEB_SERVER_ADDRS" in pool.text(), 60),
                "the refusal is logged", pool.text()[-400:])
    finally:
        pool.stop()
    port = harness.free_port()
    pool = Pool(env.args, dict(env.env, FCGI_WEB_SERVER_ADDRS="127.0.0.9, 127.0.0.1"),
                ("127.0.0.1", port), workers=1)
    try:
        c.check(pool.wait_ready(token), "a peer listed in FCGI_WEB_SERVER_ADDRS is served")
    finally:
        pool.stop()
    p = subprocess.run([env.args.cuegw, "--listen", "127.0.0.1:%d" % port],
                       env=dict(env.env, FCGI_WEB_SERVER_ADDRS="not-an-address"),
                       capture_output=True, text=True, timeout=30)
    c.check(p.returncode == 2 and "not an IP address" in p.stderr,
            "a bad FCGI_WEB_SERVER_ADDRS is named", p.stderr[-300:])


def test_inherited_tcp_socket(c, env):
    """Spawned with a socket on fd 0 (spawn-fcgi -a 0.0.0.0): the same rule."""
    for host, allowed in (("0.0.0.0", False), ("127.0.0.1", True)):
        ls = socket.socket()
        ls.bind((host, 0))
        ls.listen(8)
        p = subprocess.Popen([env.args.cuegw], stdin=ls.fileno(), env=env.env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            if allowed:
                s = fcgi_client.connect(("127.0.0.1", ls.getsockname()[1]), LEGIT_TIMEOUT)
                s.sendall(begin() + params_record(call_params(harness.sign_jwt(SECRET))) +
                          stdin_records(b"{}"))
                status = read_answer(s)[0]
                s.close()
                c.check(status == 200, "spawned on a loopback TCP socket, it serves", status)
            else:
                rc = p.wait(timeout=30)
                err = p.stderr.read().decode(errors="replace")
                c.check(rc != 0 and "--allow-non-loopback" in err,
                        "spawned on a TCP socket of every interface, it refuses to start",
                        (rc, err[-300:]))
        finally:
            if p.poll() is None:
                harness.stop_process(p, 10)
            ls.close()


def test_unix_socket_mode(c, env):
    d = tempfile.mkdtemp(prefix="cuegw-peers-")
    path = os.path.join(d, "cuegw.sock")
    pool = Pool(env.args, env.env, path, workers=1)
    try:
        c.check(pool.wait_ready(harness.sign_jwt(SECRET)), "the pool serves on a unix socket")
        mode = stat.S_IMODE(os.stat(path).st_mode)
        c.check(mode == 0o660, "the unix socket is mode 0660", oct(mode))
    finally:
        pool.stop()


def port_open(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


# ---- what params may cost ----------------------------------------------------

def test_params_caps(c, env):
    pool, token = env.pool, env.token
    c.check(warm(pool, env.standin, token), "every worker has served a call")
    before = {p: rss_kb(p) for p in pool.workers()}
    # 50 MB in one param: answered 431 once 64 KiB arrived; the rest is never read.
    s = fcgi_client.connect(pool.address, 60)
    s.sendall(begin())
    big = b"X" * (50 << 20)
    head = fcgi_client._length(6) + fcgi_client._length(len(big)) + b"HTTP_X"
    stream = head + big
    sender_error = []

    def send_all():
        try:
            for i in range(0, len(stream), 65535):
                s.sendall(fcgi_client._record(fcgi_client.PARAMS, stream[i:i + 65535]))
        except OSError as e:
            sender_error.append(e)
    t = threading.Thread(target=send_all, daemon=True)
    t.start()
    status, headers, body = read_answer(s)
    t.join(60)
    s.close()
    c.check(status == 431 and json.loads(body).get("code") == 8,
            "params of 50 MB: 431 with code 8", (status, body[:200]))
    c.check(bool(sender_error), "the rest of the params was never read (the sender saw the close)")
    grown = {p: rss_kb(p) - before.get(p, 0) for p in pool.workers()}
    c.check(all(g < 8 * 1024 for g in grown.values()),
            "params of 50 MB grow no worker by 8 MB", grown)

    many = {"HTTP_X_%05d" % i: "v" for i in range(10000)}
    many.update(call_params(token))
    status, _, body = fcgi_client.request(pool.address, many, b"{}")[:3]
    c.check(status == 431, "10,000 params: 431", (status, body[:200]))

    s = fcgi_client.connect(pool.address, 30)
    p = call_params(token)
    p["HTTP_X_NUL"] = "a\0b"
    s.sendall(begin() + params_record(p) + stdin_records(b"{}"))
    status, _, body = read_answer(s)
    s.close()
    c.check(status == 400 and json.loads(body).get("code") == 3,
            "a param holding a NUL byte: 400", (status, body[:200]))
    c.check(get_shows(pool.address, token)[0] == 200, "the pool serves on after each")


# ---- silent, slow and non-reading peers ------------------------------------------

class Hostile:
    """HOSTILE_EACH connections of each kind, held open; the slow ones get a
    byte every half second from one pacing thread until stop()."""

    def __init__(self, address, token):
        self.conns, self.slow, self.stopping = [], [], threading.Event()
        self.address, self.token = address, token

    def open(self, n):
        out = []
        for _ in range(n):
            s = fcgi_client.connect(self.address, 30)
            self.conns.append(s)
            out.append(s)
        return out

    def start(self):
        for _ in self.open(HOSTILE_EACH):       # idle: never a byte
            pass
        # Slow params: a BEGIN_REQUEST, then the params a byte at a time.
        stream = fcgi_client._record(fcgi_client.PARAMS, fcgi_client._params(call_params(self.token)))
        for s in self.open(HOSTILE_EACH):
            s.sendall(begin())
            self.slow.append([s, stream, 0])
        # Slow bodies, without credentials and with them: a 100 kB body that
        # comes a byte at a time.
        for tok in (None, self.token):
            for s in self.open(HOSTILE_EACH // 2):
                s.sendall(begin() + params_record(call_params(tok, length=100000)))
                self.slow.append([s, fcgi_client._record(fcgi_client.STDIN, b" " * 100000), 0])
        # Never reading: whole requests whose answers are never read, on
        # connections that also keep sending nothing more.
        for s in self.open(HOSTILE_EACH):
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.sendall(begin(keep=True) + params_record(call_params(self.token)) + stdin_records(b"{}"))
        self.pacer = threading.Thread(target=self.pace, daemon=True)
        self.pacer.start()
        return self

    def pace(self):
        for _ in range(2000):                   # bounded: at most ~1000 s
            if self.stopping.wait(0.5):
                return
            for item in self.slow:
                s, data, at = item
                if at < len(data):
                    try:
                        s.send(data[at:at + 1])
                        item[2] += 1
                    except OSError:
                        item[2] = len(data)

    def still_open(self):
        """Connections the gateway has not closed."""
        n = 0
        for s in self.conns:
            try:
                s.setblocking(False)
                data = s.recv(1, socket.MSG_PEEK)
                n += data != b""          # b"": closed; data: open, an answer waits
            except BlockingIOError:
                n += 1
            except OSError:
                pass
        return n

    def stop(self):
        self.stopping.set()
        for s in self.conns:
            s.close()


def legit_series(c, what, hostile, call):
    """20 GetShows in a row while the hostile connections are held: each
    must answer 200 (a gateway whose threads the hostile ones hold never
    answers). The times are printed, not asserted."""
    times, status = [], None
    for _ in range(20):
        t0 = time.monotonic()
        try:
            status = call()
        except OSError as e:
            status = repr(e)
        times.append(time.monotonic() - t0)
        if status != 200:
            break
    c.check(len(times) == 20 and status == 200,
            "%s: with %d hostile connections held, 20 GetShows in a row answer 200"
            % (what, hostile), (len(times), status))
    print("  %s: GetShows under %d hostile connections: median %.1f ms, max %.1f ms"
          % (what, hostile, 1000 * sorted(times)[len(times) // 2], 1000 * max(times)))


def warm(pool, standin, token):
    """Makes every worker serve a call: a worker's first call sets up its
    Cuebot channel, which is not what the RSS checks measure. Calls held
    by the stand-in keep one worker's threads busy, and a worker with no
    free thread leaves new connections to the others."""
    def served():
        text = pool.text()
        return all("cuegw[%d] info: access" % p in text for p in pool.workers())
    for _ in range(5):
        if served():
            return True
        n = 4 * 4 * len(pool.workers())            # WORKER_THREADS is 4
        standin.script(method=GET_SHOWS, delay_ms=300, times=n)
        ts = [threading.Thread(target=get_shows, args=(pool.address, token)) for _ in range(n)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(60)
        standin.reset()
    return served()


def hold_and_serve(c, env, pool, what):
    token = env.token
    c.check(warm(pool, env.standin, token), "%s: every worker has served a call" % what)
    before = {p: rss_kb(p) for p in pool.workers()}
    hostile = Hostile(pool.address, token).start()
    try:
        total = len(hostile.conns)
        legit_series(c, what, total, lambda: get_shows(pool.address, token)[0])
        held = hostile.still_open()
        c.check(held >= total - HOSTILE_EACH // 2,
                "%s: the hostile connections were still held meanwhile (%d of %d)"
                % (what, held, total), held)
        grown = {p: rss_kb(p) - before.get(p, 0) for p in pool.workers()}
        c.check(all(g < 8 * 1024 for g in grown.values()),
                "%s: no worker grew by 8 MB" % what, grown)
    finally:
        hostile.stop()
    c.check(get_shows(pool.address, token)[0] == 200, "%s: the pool serves on" % what)


def test_hostile_tcp(c, env):
    hold_and_serve(c, env, env.pool, "TCP pool of 2")


def test_hostile_unix(c, env):
    d = tempfile.mkdtemp(prefix="cuegw-peers-")
    pool = Pool(env.args, env.long_env, os.path.join(d, "cuegw.sock"), workers=2)
    try:
        c.check(pool.wait_ready(env.token), "the unix pool starts")
        # One byte each is enough to start a request on a unix socket.
        ones = []
        for _ in range(100):
            s = fcgi_client.connect(pool.address, 30)
            s.sendall(b"\x01")
            ones.append(s)
        try:
            status = get_shows(pool.address, env.token)[0]
        except OSError as e:
            status = repr(e)
        c.check(status == 200, "unix pool of 2: 100 connections that sent one byte hold nothing",
                status)
        for s in ones:
            s.close()
        hold_and_serve(c, env, pool, "unix pool of 2")
    finally:
        pool.stop()


def test_never_read_openapi(c, env):
    """The OpenAPI document is served without credentials: connections that
    ask for it and never read must not each hold a copy of it."""
    d = tempfile.mkdtemp(prefix="cuegw-peers-")
    pool = Pool(env.args, dict(env.long_env, OPENAPI_PATH="/openapi.json"),
                os.path.join(d, "cuegw.sock"), workers=1)
    conns = []
    try:
        c.check(pool.wait_ready(env.token), "the pool with OPENAPI_PATH starts")
        s = fcgi_client.connect(pool.address, 30)
        status, _, doc = fcgi_client.request_on(s, {"REQUEST_METHOD": "GET",
                                                    "REQUEST_URI": "/openapi.json"}, b"", keep=False)[:3]
        s.close()
        c.check(status == 200 and len(doc) > 200_000, "the document is served", (status, len(doc)))
        c.check(warm(pool, env.standin, env.token), "every worker has served a call")
        before = {p: rss_kb(p) for p in pool.workers()}
        for _ in range(100):
            s = fcgi_client.connect(pool.address, 30)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.sendall(begin() + params_record({"REQUEST_METHOD": "GET",
                                               "REQUEST_URI": "/openapi.json"}) + stdin_records(b""))
            conns.append(s)
        # All of them are in flight: each answer was written as far as its
        # socket took it, and the rest waits for the reader.
        def in_flight():
            status, _, body = fcgi_client.request(pool.address, {
                "REQUEST_METHOD": "GET", "REQUEST_URI": "/metrics",
                "HTTP_AUTHORIZATION": "Bearer " + env.token}, b"", timeout=LEGIT_TIMEOUT)[:3]
            m = re.search(rb"^cuegw_requests_in_flight (\d+)$", body, re.M)
            return status == 200 and m and int(m.group(1)) >= 101
        c.check(harness.wait_until(in_flight, 60), "the 100 requests are all in flight")
        c.check(get_shows(pool.address, env.token)[0] == 200, "served while they are held")
        grown = {p: rss_kb(p) - before.get(p, 0) for p in pool.workers()}
        c.check(all(g < 8 * 1024 for g in grown.values()),
                "100 unread copies of a %d-byte document grow no worker by 8 MB" % len(doc), grown)
    finally:
        for s in conns:
            s.close()
        pool.stop()


def hwm_kb(pid):
    return status_kb(pid, "VmHWM")


def test_never_read_large_answer(c, env):
    """An answer far larger than its response (1 MB of protobuf that is
    57 MB of JSON) to a peer that never reads: the worker holds at most
    CG_MAX_QUEUED_ANSWER of it, not the whole text, and gives up on the
    peer after WRITE_TIMEOUT without progress."""
    d = tempfile.mkdtemp(prefix="cuegw-peers-")
    pool = Pool(env.args, dict(env.env, WRITE_TIMEOUT="2s", METRICS_DIR=d),
                os.path.join(d, "cuegw.sock"), workers=1)
    s = None
    try:
        c.check(pool.wait_ready(env.token), "the pool starts")
        c.check(warm(pool, env.standin, env.token), "the worker has served a call")
        pid = pool.workers()[0]
        with open("/proc/%d/clear_refs" % pid, "w") as f:
            f.write("5")                  # the peak RSS starts again from now
        before = hwm_kb(pid)
        wire = bytes.fromhex("0a020a00") * (256 * 1024)
        env.standin.script(method=GET_SHOWS, response_b64=base64.b64encode(wire).decode(), times=1)
        s = fcgi_client.connect(pool.address, 30)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.sendall(begin() + params_record(call_params(env.token)) + stdin_records(b"{}"))
        c.check(harness.wait_until(lambda: "WRITE_TIMEOUT" in pool.text(), 60),
                "the answer never read is given up after WRITE_TIMEOUT", pool.text()[-600:])
        c.check(closed_by_peer(s, 30), "and its connection is closed")
        grown = hwm_kb(pid) - before
        c.check(grown < 16 * 1024,
                "a 57 MB answer never read raised the worker's peak by less than 16 MB",
                "%d kB" % grown)
        c.check(get_shows(pool.address, env.token)[0] == 200, "the pool serves on")
    finally:
        if s:
            s.close()
        env.standin.reset()
        pool.stop()


# ---- deadlines -----------------------------------------------------------------

def scrape(address, token):
    status, _, body = fcgi_client.request(address, {
        "REQUEST_METHOD": "GET", "REQUEST_URI": "/metrics",
        "HTTP_AUTHORIZATION": "Bearer " + token}, b"", timeout=LEGIT_TIMEOUT)[:3]
    out = {}
    for m in re.finditer(r'^cuegw_fastcgi_timeouts_total\{phase="(\w+)"\} (\d+)$',
                         body.decode(), re.M):
        out[m.group(1)] = int(m.group(2))
    return status, out


def test_deadlines(c, env):
    d = tempfile.mkdtemp(prefix="cuegw-peers-")
    short = dict(env.env, PARAMS_TIMEOUT="1s", BODY_TIMEOUT="1s", WRITE_TIMEOUT="1s",
                 METRICS_DIR=d)
    pool = Pool(env.args, short, os.path.join(d, "cuegw.sock"), workers=1)
    token = env.token
    try:
        c.check(pool.wait_ready(token), "the pool with 1 s deadlines starts")
        _, start = scrape(pool.address, token)

        s = fcgi_client.connect(pool.address, 30)           # silent
        c.check(closed_by_peer(s, 30), "a silent connection is closed after PARAMS_TIMEOUT")
        s.close()

        s = fcgi_client.connect(pool.address, 30)           # params cut short
        s.sendall(begin() + fcgi_client._record(fcgi_client.PARAMS, b"\x0e"))
        c.check(closed_by_peer(s, 30), "params that stop coming are closed after PARAMS_TIMEOUT")
        s.close()

        s = fcgi_client.connect(pool.address, 30)           # a body that stops coming
        t0 = time.monotonic()
        s.sendall(begin() + params_record(call_params(token, length=100)) +
                  fcgi_client._record(fcgi_client.STDIN, b"{"))
        status, _, body = read_answer(s)
        waited = time.monotonic() - t0
        c.check(status == 408 and json.loads(body).get("code") == 4,
                "a body that stops coming: 408 with code 4 after BODY_TIMEOUT", (status, body[:200]))
        c.check(closed_by_peer(s, 30), "and the connection is closed")
        s.close()

        # The access line of that request shows the time it held the process.
        def line():
            m = re.findall(r"access POST %s status=408 code=DEADLINE_EXCEEDED duration_ms=([0-9.]+)"
                           % re.escape(GET_SHOWS), pool.text())
            return m and float(m[-1])
        ms = harness.wait_until(line, 60)
        c.check(bool(ms) and ms >= 1000 and ms <= waited * 1000 + 50,
                "the access line shows the whole time the body took (%s ms of %.0f)"
                % (ms, waited * 1000), pool.text()[-600:])

        # An answer never read: 2 MB, on a socket with a small receive buffer.
        env.standin.script(method=GET_JOBS, response_bytes=2_000_000, times=1)
        s = fcgi_client.connect(pool.address, 30)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.sendall(begin() + params_record(call_params(token, GET_JOBS)) + stdin_records(b"{}"))
        c.check(harness.wait_until(lambda: "WRITE_TIMEOUT" in pool.text(), 60),
                "an answer never read is given up after WRITE_TIMEOUT, with an access line",
                pool.text()[-600:])
        c.check(closed_by_peer(s, 30), "and its connection is closed")
        s.close()

        status, end = scrape(pool.address, token)
        grew = {k: end.get(k, 0) - start.get(k, 0) for k in ("params", "body", "write")}
        c.check(status == 200 and grew["params"] >= 2 and grew["body"] >= 1 and grew["write"] >= 1,
                "the metrics count the timeouts by phase", (status, grew))
        c.check(get_shows(pool.address, token)[0] == 200, "the pool serves on")
    finally:
        pool.stop()


def test_early_answer_closes(c, env):
    """A request refused before its body, on a connection the web server
    does not keep: answered and closed without waiting for the body."""
    s = fcgi_client.connect(env.pool.address, 30)
    s.sendall(begin() + params_record(call_params(None, length=10_000_000)) +
              fcgi_client._record(fcgi_client.STDIN, b"{" * 1000))
    status, _, _ = read_answer(s)
    c.check(status == 401, "an unauthenticated call with a 10 MB body is answered 401 at once", status)
    c.check(closed_by_peer(s, 15), "and the connection is closed, the body never waited for")
    s.close()

    # Kept: the same answer, and the connection then carries the next request.
    s = fcgi_client.connect(env.pool.address, 30)
    body = b"{" + b" " * 60000 + b"}"
    s.sendall(begin(keep=True) + params_record(call_params(None, length=len(body))) +
              stdin_records(body))
    status = read_answer(s)[0]
    again = fcgi_client.request_on(s, call_params(env.token), b"{}")[0]
    s.close()
    c.check(status == 401 and again == 200,
            "on a kept connection the unread body is dropped and the next request served",
            (status, again))


def test_management_records(c, env):
    """FCGI_GET_VALUES is answered; a second request on a busy connection is
    refused with CANT_MPX_CONN; the first one is still served."""
    s = fcgi_client.connect(env.pool.address, 30)
    s.sendall(fcgi_client._record(9, fcgi_client._params({"FCGI_MPXS_CONNS": ""}), 0))
    head = s.recv(8)
    c.check(len(head) == 8 and head[1] == 10, "GET_VALUES is answered", head)
    s.close()
    s = fcgi_client.connect(env.pool.address, 30)
    s.sendall(begin(request_id=1) + begin(request_id=2) + params_record(call_params(env.token)) +
              stdin_records(b"{}"))
    s.settimeout(LEGIT_TIMEOUT)
    ends = {}
    for kind, rid, content in fcgi_client.records(s):
        if kind == fcgi_client.END_REQUEST:
            ends[rid] = content[4]
            if len(ends) == 2:
                break
    s.close()
    c.check(ends == {2: 1, 1: 0}, "request 2 gets CANT_MPX_CONN, request 1 completes", ends)


MAX_CONNS = 1024     # CG_MAX_CONNS


def thread_names(pid):
    """The names of a process's threads, its main thread first."""
    tids = sorted(int(t) for t in os.listdir("/proc/%d/task" % pid))
    names = []
    for t in tids:
        with open("/proc/%d/task/%d/comm" % (pid, t)) as f:
            names.append(f.read().strip())
    return names


def test_full_table(c, env):
    """A process holding CG_MAX_CONNS kept connections, each parked between
    requests (none with the I/O thread), still takes a new one: a parked
    connection is asked back and closed to make room."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 2 * MAX_CONNS + 100
    if soft < want and (hard == resource.RLIM_INFINITY or hard >= want):
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))   # the worker inherits it
    elif soft < want:
        # A limit this suite cannot raise is a machine it cannot check.
        c.check(False, "full table: RLIMIT_NOFILE's hard limit %d is under the %d it needs"
                % (hard, want))
        return
    d = tempfile.mkdtemp(prefix="cuegw-peers-")
    pool = Pool(env.args, dict(env.env, WORKER_THREADS="2", IDLE_TIMEOUT="60s"),
                os.path.join(d, "cuegw.sock"), workers=1)
    conns = []
    try:
        c.check(pool.wait_ready(env.token), "the pool of one process starts")
        names = [thread_names(w) for w in pool.workers()]
        c.check(len(names) == 1 and names[0][0] == "cuegw" and
                names[0].count("cuegw-request") == 2,
                "its worker is named cuegw and its 2 request threads cuegw-request (top -H, perf)",
                names)
        served = 0
        for _ in range(MAX_CONNS + 6):
            s = fcgi_client.connect(pool.address, 30)
            conns.append(s)
            served += fcgi_client.request_on(s, call_params(env.token), b"{}")[0] == 200
        c.check(served == MAX_CONNS + 6, "past CG_MAX_CONNS kept connections, each new one is "
                "served", served)
        c.check(get_shows(pool.address, env.token)[0] == 200,
                "and a new connection after them too")
        c.check(any(closed_by_peer(s, 0.2) for s in conns[:20]),
                "room was made by closing one of the oldest idle kept connections")
        c.check(fcgi_client.request_on(conns[-1], call_params(env.token), b"{}")[0] == 200,
                "the newest kept connection serves on")
    finally:
        for s in conns:
            s.close()
        pool.stop()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_request_thread_paths(c, env):
    """What a request thread does without the I/O thread (fcgi/worker.c):
    it takes a body that came with the params or is in the socket already,
    and hands a kept connection back without waking the I/O thread when
    nothing is left to do. Each way out of that path, on a pool of one
    process with one request thread, on kept connections."""
    d = tempfile.mkdtemp(prefix="cuegw-peers-")
    pool = Pool(env.args, dict(env.env, WORKER_THREADS="1", IDLE_TIMEOUT="1s",
                               METRICS_DIR=d), os.path.join(d, "cuegw.sock"), workers=1)
    token = env.token
    abort = fcgi_client._record(2, b"")                          # FCGI_ABORT_REQUEST
    get_values = fcgi_client._record(9, fcgi_client._params({"FCGI_MPXS_CONNS": ""}), 0)
    try:
        c.check(pool.wait_ready(token), "the pool of one request thread starts")

        s = fcgi_client.connect(pool.address, 30)
        s.sendall(begin(keep=True) + params_record(call_params(token, length=100)) +
                  fcgi_client._record(fcgi_client.STDIN, b"{") + abort)
        s.settimeout(LEGIT_TIMEOUT)
        ends = []
        for kind, _, content in fcgi_client.records(s):
            if kind == fcgi_client.END_REQUEST:
                ends.append(content)
                break
        again = fcgi_client.request_on(s, call_params(token), b"{}")[0]
        s.close()
        c.check(len(ends) == 1 and again == 200,
                "an abort in the body is an END_REQUEST, and the kept connection serves on",
                (ends, again))

        s = fcgi_client.connect(pool.address, 30)
        s.sendall(begin(keep=True) + params_record(call_params(token, length=2)) +
                  b"\x07" + b"\0" * 15)                    # not FastCGI version 1
        c.check(closed_by_peer(s, 30), "a broken record in the body closes the connection")
        s.close()

        s = fcgi_client.connect(pool.address, 30)
        s.sendall(begin(keep=True) + params_record(call_params(token, length=2)) +
                  get_values + stdin_records(b"{}"))
        s.settimeout(LEGIT_TIMEOUT)
        kinds, out = [], b""
        for kind, _, content in fcgi_client.records(s):
            kinds.append(kind)
            out += content if kind == fcgi_client.STDOUT else b""
            if kind == fcgi_client.END_REQUEST:
                break
        status = fcgi_client._parse(out)[0]
        c.check(10 in kinds and status == 200,
                "GET_VALUES amid the body is answered, and so is the request", (kinds, status))

        # The same, asked again and again amid the body by a peer that
        # never reads: the replies stay under the I/O thread's cap.
        flood = fcgi_client.connect(pool.address, 30)
        flood.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        flood.sendall(begin(keep=True) + params_record(call_params(token, length=100)) +
                      fcgi_client._record(fcgi_client.STDIN, b"{"))
        try:
            for _ in range(256):                        # at most 32 MB of requests
                flood.sendall(get_values * 4096)
        except OSError:
            pass
        c.check(closed_by_peer(flood, 15), "GET_VALUES never read amid a body: closed")
        flood.close()

        body = b'{"r": {}' + b" " * 1_500_000 + b"}"             # more than one read takes
        status, _, answer, _ = fcgi_client.request_on(s, call_params(token, length=len(body)), body)
        c.check(status == 200 and b"shows" in answer,
                "a 1.5 MB body on the kept connection is answered 200", (status, answer[:200]))
        again = fcgi_client.request_on(s, call_params(token), b"{}")[0]
        c.check(again == 200, "and the next request on it too", again)
        c.check(closed_by_peer(s, 30), "a kept connection left silent after its answer is "
                "closed after IDLE_TIMEOUT")
        s.close()

        s = fcgi_client.connect(pool.address, 30)
        first = fcgi_client.request_on(s, call_params(token), b"{}")[0]
        other = get_shows(pool.address, token)[0]
        s.close()
        c.check(first == 200 and other == 200, "after an answer on a kept connection, with "
                "its one request thread free again, a new connection is served", (first, other))
        c.check("ERROR" not in pool.text() and "runtime error" not in pool.text(),
                "no error in the log", pool.text()[-600:])
    finally:
        pool.stop()


# ---- the same through each shipped front ---------------------------------------

class HostileHttp:
    """HOSTILE_EACH HTTP connections of each kind to a front: idle, headers a
    byte at a time, an unauthenticated body a byte at a time, and requests
    whose answers are never read."""

    def __init__(self, port, token):
        self.port, self.token = port, token
        self.conns, self.slow, self.stopping = [], [], threading.Event()

    def open(self, n):
        out = []
        for _ in range(n):
            s = socket.create_connection(("127.0.0.1", self.port), timeout=30)
            self.conns.append(s)
            out.append(s)
        return out

    def start(self):
        self.open(HOSTILE_EACH)
        head = ("POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                "Content-Length: 2\r\nAuthorization: Bearer %s\r\n\r\n{}" % (GET_SHOWS, self.token)).encode()
        for s in self.open(HOSTILE_EACH):
            self.slow.append([s, head, 0])
        body_head = ("POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     "Content-Length: 100000\r\n\r\n" % GET_SHOWS).encode()
        for s in self.open(HOSTILE_EACH):
            s.sendall(body_head)
            self.slow.append([s, b" " * 100000, 0])
        req = ("POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
               "Content-Length: 2\r\nAuthorization: Bearer %s\r\n\r\n{}" % (GET_SHOWS, self.token)).encode()
        for s in self.open(HOSTILE_EACH):
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.sendall(req)
        self.pacer = threading.Thread(target=Hostile.pace, args=(self,), daemon=True)
        self.pacer.start()
        return self

    def stop(self):
        self.stopping.set()
        for s in self.conns:
            s.close()


def front_hold(c, env, name, front):
    try:
        front.start()
        token = env.token
        def up():
            try:
                return harness.request(front.port, "POST", GET_SHOWS, b"{}",
                                       {"Authorization": "Bearer " + token}, timeout=10).status == 200
            except OSError:
                return False
        c.check(harness.wait_until(up, 20, 0.1), "%s: serves" % name)
        before = len(env.standin.calls())
        hostile = HostileHttp(front.port, token).start()
        try:
            # The never-reading clients' requests have been answered (a burst
            # of them is load, not what this measures); their connections
            # stay open with the answers unread.
            # mod_fcgid gives each of its processes one request at a time and
            # polls about once a second for a free one: a burst of 50 can
            # take tens of seconds there.
            c.check(harness.wait_until(
                lambda: len(env.standin.calls()) >= before + HOSTILE_EACH, 120),
                "%s: the never-reading clients' calls were all answered" % name)
            legit_series(c, name, len(hostile.conns), lambda: harness.request(
                front.port, "POST", GET_SHOWS, b"{}", {"Authorization": "Bearer " + token},
                timeout=LEGIT_TIMEOUT).status)
        finally:
            hostile.stop()
    finally:
        front.stop()


def test_fronts(c, env):
    base = {"CUEBOT_ENDPOINT": env.standin.endpoint, "LOG_LEVEL": "warn"}
    front_hold(c, env, "lighttpd", harness.Lighttpd(env.args.cuegw, dict(base, JWT_SECRET=SECRET),
                                                    workers=2))
    front_hold(c, env, "nginx + spawn-fcgi",
               front_nginx.Nginx(env.args.cuegw, dict(base, SETTINGS_FROM_PARAMS="1"),
                                 {"JWT_SECRET": SECRET}, workers=2))
    front_hold(c, env, "Apache mod_proxy_fcgi",
               front_apache.ApacheProxyFcgi(env.args.cuegw, base, {"JWT_SECRET": SECRET}, workers=2))
    front_hold(c, env, "Apache mod_fcgid",
               front_apache.ApacheFcgid(env.args.cuegw, base, {"JWT_SECRET": SECRET}, workers=2))


def test_unread_replies(c, env):
    """GET_VALUES asked again and again by a peer that never reads the
    replies: the connection is closed, its replies do not pile up."""
    pool = env.pool
    c.check(warm(pool, env.standin, env.token), "every worker has served a call")
    before = {p: rss_kb(p) for p in pool.workers()}
    s = fcgi_client.connect(pool.address, 30)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    ask = fcgi_client._record(9, fcgi_client._params({"FCGI_MPXS_CONNS": ""}), 0) * 4096
    sent = 0
    try:
        for _ in range(256):                    # at most 32 MB of requests
            s.sendall(ask)
            sent += len(ask)
    except OSError:
        pass
    grown = {p: rss_kb(p) - before.get(p, 0) for p in pool.workers()}
    c.check(all(g < 8 * 1024 for g in grown.values()),
            "the unread replies grow no worker by 8 MB", grown)
    c.check(closed_by_peer(s, 15), "a peer that never reads its GET_VALUES replies is closed "
            "(after %d bytes of requests)" % sent)
    s.close()
    c.check(get_shows(pool.address, env.token)[0] == 200, "the pool serves on")


def run(c, args):
    standin = harness.Standin(args.schema).start()

    class Env:
        pass
    env = Env()
    env.args, env.standin = args, standin
    env.token = harness.sign_jwt(SECRET)
    env.env = base_env(standin)
    # Deadlines longer than the test: the hostile connections stay held.
    env.long_env = base_env(standin, PARAMS_TIMEOUT="120s", BODY_TIMEOUT="120s",
                            WRITE_TIMEOUT="120s")
    port = harness.free_port()
    env.pool = Pool(args, env.long_env, ("127.0.0.1", port), workers=2)
    if not env.pool.wait_ready(env.token):
        raise RuntimeError("the pool did not start: " + env.pool.text()[-800:])
    pids = env.pool.workers()
    harness.run_tests(c, env, [
        test_listen_consent, test_inherited_tcp_socket, test_unix_socket_mode,
        test_params_caps, test_early_answer_closes, test_management_records, test_unread_replies,
        test_hostile_tcp, test_hostile_unix, test_never_read_openapi,
        test_never_read_large_answer, test_deadlines, test_request_thread_paths,
        test_full_table, test_fronts,
    ], os.environ.get("ONLY"))
    c.check(env.pool.workers() == pids, "no worker of the TCP pool was replaced",
            (pids, env.pool.workers()))


if __name__ == "__main__":
    sys.exit(harness.suite_main("peers", run))
