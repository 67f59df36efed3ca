#!/usr/bin/python3
"""Fault tests (issue 5, part 3) through real web servers started from the
shipped configurations, in front of the stand-in Cuebot, with concurrent
clients running while each fault happens:

  - Cuebot killed (SIGKILL) mid-load, then started again;
  - Cuebot slower than REQUEST_TIMEOUT;
  - Cuebot that stops answering at all (SIGSTOP) on open connections;
  - Cuebot answering over the receive limit (GRPC_MAX_RECV_MSG_MB);
  - a cuegw process killed with SIGKILL under load, behind lighttpd (which
    spawns a new one) and in the nginx-fronted pool (which forks one);
  - a client that disconnects in the middle of a large response;
  - SIGTERM to the `cuegw --listen` pool under load.

lighttpd (lighttpd/lighttpd.conf) spawns its cuegw processes itself;
nginx (conf/nginx.conf) fronts `cuegw --listen SOCKET --workers N` run as
conf/cuegw.service runs it, the pool that replaces a worker that dies.

Every request of the load has a bound (HANG_BOUND); a client that waits
longer records a hang, which fails the test. "A complete 200" means status
200 and a body that parses as JSON and holds the sample farm's two shows;
anything else with status 200 is a broken body and fails.

Usage: test_faults.py --cuegw BUILD/cuegw --schema BUILD/gen/schema.pb
Prints "faults: N passed, M failed".
"""

import json
import os
import pwd
import re
import signal
import socket
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True      # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import front_nginx  # noqa: E402
import harness  # noqa: E402
import load  # noqa: E402
from load import Load  # noqa: E402

SECRET = "faults-secret-0123456789"
GET_SHOWS = "/show.ShowInterface/GetShows"
GET_JOBS = "/job.JobInterface/GetJobs"
HANG_BOUND = 15.0          # seconds; no request may take longer
EVENT_BOUND = 60.0         # seconds; only when to give up waiting for something to happen


def auth_headers():
    return {"Authorization": "Bearer " + harness.sign_jwt(SECRET),
            "Content-Type": "application/json"}


def get_shows_load(headers):
    return lambda i: ("GetShows", "POST", GET_SHOWS, b"{}", headers)


def complete_shows(a):
    """A 200 whose body is the whole GetShows answer."""
    if a.status != 200:
        return False
    try:
        names = sorted(s["name"] for s in json.loads(a.body)["shows"]["shows"])
    except (ValueError, KeyError, TypeError):
        return False
    return names == ["pipe", "testing"]


def error_body(a, codes):
    """The SPEC's error body with one of the gRPC codes."""
    try:
        b = json.loads(a.body)
    except (ValueError, TypeError):
        return False
    return (isinstance(b, dict) and set(b) == {"code", "message", "details"}
            and b["code"] in codes and b["details"] == [])


def pids_of(front):
    return sorted(harness.children(front.proc.pid)) if isinstance(front, harness.Lighttpd) \
        else sorted(front.pool_pids())


def settled_pids(front, n):
    """The front's n cuegw processes, once they are all there (a web
    server may still be spawning them when its port opens)."""
    harness.wait_until(lambda: len(pids_of(front)) == n, EVENT_BOUND, 0.05)
    return pids_of(front)


def grpc_ports(pid, server_port):
    """The local ports of pid's TCP connections to server_port on loopback
    (its gRPC channel to the stand-in), from /proc."""
    inodes = set()
    try:
        for fd in os.listdir("/proc/%d/fd" % pid):
            try:
                target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    except OSError:
        return set()
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):   # gRPC may use a dual-stack socket
        with open(table) as f:
            for line in f.read().splitlines()[1:]:
                cols = line.split()
                local, remote, inode = cols[1], cols[2], cols[9]
                if inode in inodes and int(remote.split(":")[1], 16) == server_port:
                    ports.add(int(local.split(":")[1], 16))
    return ports


def client_of(call):
    """Which Load client sent a call: its request id is prefix-client-serial."""
    parts = call["metadata"].get("x-request-id", "").split("-")
    return parts[1] if len(parts) == 3 else None


def peer_port(call):
    """The client port in the stand-in's record of a call ("ipv4:127.0.0.1:P")."""
    try:
        return int(call.get("peer", "").rsplit(":", 1)[1])
    except (IndexError, ValueError):
        return None


def kill_standin(standin):
    standin.proc.kill()
    standin.proc.wait()
    standin.proc = None


class NginxPool(front_nginx.Nginx):
    """nginx from the shipped conf/ in front of `cuegw --listen SOCKET
    --workers N`, as conf/cuegw.service runs it. The pool's stderr goes to
    the same cuegw.log as spawn-fcgi's, so error_log() and the crash checks
    read it."""

    name = "nginx-pool"

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.pool_proc = None
        self.pool_env = None

    def pool(self, action):
        if action == "start":
            os.makedirs(self.pool_dir, exist_ok=True)
            env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
            env.update({k: str(v) for k, v in self.env_settings.items()})
            for k in front_nginx.SANITIZER_ENV:
                if k in os.environ:
                    env[k] = os.environ[k]
            log = open(os.path.join(self.pool_dir, "cuegw.log"), "ab")
            self.pool_proc = subprocess.Popen(
                [self.cuegw_bin, "--listen", self.socket, "--workers", str(self.workers)],
                env=env, stdout=log, stderr=log)
            log.close()
            end = time.monotonic() + EVENT_BOUND
            while not (os.path.exists(self.socket) and len(self.pool_pids()) == self.workers):
                if self.pool_proc.poll() is not None or time.monotonic() > end:
                    return 1, "the pool did not start; see %s/cuegw.log" % self.pool_dir
                time.sleep(0.05)
            if os.geteuid() == 0:
                # nginx's workers run as nobody: share the socket through
                # nobody's group, as the unit's Group= does with www-data.
                gid = pwd.getpwnam("nobody").pw_gid
                os.chown(self.pool_dir, -1, gid)
                os.chmod(self.pool_dir, 0o710)
                os.chown(self.socket, -1, gid)
            return 0, "pool %d" % self.pool_proc.pid
        if action == "stop":
            harness.stop_process(self.pool_proc, 30)
            return 0, ""
        raise ValueError(action)

    def pool_pids(self):
        if self.pool_proc is None or self.pool_proc.poll() is not None:
            return []
        return harness.children(self.pool_proc.pid)


# ---- the tests -----------------------------------------------------------------

def test_slow_cuebot(c, env):
    """Cuebot slower than REQUEST_TIMEOUT (1 s here): 504 with code 4, for
    each of four concurrent calls, one per client; the workers serve on."""
    srv = env.lighttpd
    before = settled_pids(srv, srv.workers)
    env.standin.script(method=GET_SHOWS, delay_ms=4000, times=4)
    answers = []
    lock = threading.Lock()

    def client(n):
        a = load.one(srv.port, "slow", "POST", GET_SHOWS, b"{}",
                     dict(env.headers, **{"X-Request-Id": "slow-%d" % n}), HANG_BOUND, "slow-%d" % n)
        with lock:
            answers.append(a)
    clients = [threading.Thread(target=client, args=(n,)) for n in range(4)]
    for t in clients:
        t.start()
    for t in clients:
        t.join(HANG_BOUND + 5)
    env.standin.reset()
    for a in answers:
        c.check(a.status == 504 and error_body(a, {4}),
                "a Cuebot slower than REQUEST_TIMEOUT -> 504 with code 4", a)
    c.check(len(answers) == 4, "four slow calls were answered", answers)
    a = env.fetch(srv, GET_SHOWS)
    c.check(complete_shows(a), "after the 504s the next request is a complete 200", a)
    c.check(pids_of(srv) == before, "no worker died or restarted", (before, pids_of(srv)))


def test_cuebot_frozen(c, env):
    """Cuebot stopped (SIGSTOP) with the workers' connections open: it
    answers nothing, not even a deadline error, so only cuegw's own side of
    the deadline can end each call: 504 with code 4 after REQUEST_TIMEOUT
    (1 s here), not a wait for HANG_BOUND. gRPC's minimal stack
    (GRPC_ARG_MINIMAL_STACK) leaves that client-side check out; a slow
    Cuebot (test_slow_cuebot) cannot show it, as it ends the call at the
    deadline itself."""
    srv = env.lighttpd
    before = settled_pids(srv, srv.workers)
    warm = [env.fetch(srv, GET_SHOWS) for _ in range(4)]
    c.check(all(complete_shows(a) for a in warm), "complete 200s before the stop", warm)
    os.kill(env.standin.proc.pid, signal.SIGSTOP)
    try:
        t0 = time.monotonic()
        load = Load(srv.port, get_shows_load(env.headers), threads=2, timeout=HANG_BOUND,
                    prefix="frozen").start()
        time.sleep(2.5)
        answers = load.stop()
        took = time.monotonic() - t0
    finally:
        os.kill(env.standin.proc.pid, signal.SIGCONT)
    c.check(answers and all(a.status == 504 and error_body(a, {4}) for a in answers),
            "a Cuebot that answers nothing -> 504 with code 4 at REQUEST_TIMEOUT", answers[:4])
    c.check(took < 6, "every call ended within REQUEST_TIMEOUT and a margin (%.1f s)" % took)
    a = env.fetch(srv, GET_SHOWS)
    c.check(complete_shows(a), "once Cuebot runs again the next request is a complete 200", a)
    c.check(pids_of(srv) == before, "no worker died or restarted", (before, pids_of(srv)))


def test_receive_limit(c, env):
    """Cuebot answering more than GRPC_MAX_RECV_MSG_MB (1 MiB here): a
    clear 500 naming the setting, with other requests running alongside;
    the worker survives."""
    srv = env.lighttpd
    before = settled_pids(srv, srv.workers)
    env.standin.script(method=GET_JOBS, response_bytes=2_000_000)
    load = Load(srv.port, get_shows_load(env.headers), threads=2, timeout=HANG_BOUND,
                prefix="beside").start()
    for i in range(4):
        a = env.fetch(srv, GET_JOBS)
        ok = a.status in (500, 502) and error_body(a, {8, 13})
        c.check(ok and "GRPC_MAX_RECV_MSG_MB" in json.loads(a.body)["message"],
                "a response over the receive limit -> a clear 500 naming GRPC_MAX_RECV_MSG_MB "
                "(try %d)" % i, a)
    beside = load.stop()
    env.standin.reset()
    bad = [a for a in beside if not complete_shows(a)]
    c.check(beside and not bad, "requests running alongside are complete 200s (%d)" % len(beside),
            bad[:3])
    a = env.fetch(srv, GET_JOBS)
    c.check(a.status == 200, "the worker serves GetJobs on after the over-size answers", a)
    c.check(pids_of(srv) == before, "no worker died or restarted", (before, pids_of(srv)))


def test_cuebot_killed(c, env):
    """Cuebot killed with SIGKILL while 6 clients run calls that Cuebot
    holds 300 ms each. Every answer is a complete 200 or a 503/504 error
    body, none hangs. A request still in flight at the kill may be a 200
    only if Cuebot had answered it already, that is, if it started at
    least 300 ms before the kill; requests sent after the kill get 503
    within a second. Cuebot started again on the same port serves again
    with the same cuegw processes."""
    srv = env.lighttpd
    before = settled_pids(srv, srv.workers)
    delay = 0.3
    env.standin.script(method=GET_SHOWS, delay_ms=int(delay * 1000))
    load = Load(srv.port, get_shows_load(env.headers), threads=6, timeout=HANG_BOUND,
                prefix="kill").start()
    # The kill comes once the load is going (some answers back) and calls
    # are at Cuebot; the load stops once a dozen requests sent after the
    # kill are answered.
    harness.wait_until(lambda: len(load.answered()) >= 6 and
                       any(x["done"] is None for x in env.standin.calls()[-12:]), EVENT_BOUND, 0.02)
    kill_standin(env.standin)
    t_kill = time.time()
    harness.wait_until(lambda: len([a for a in load.answered() if a.start >= t_kill]) >= 12,
                       EVENT_BOUND, 0.02)
    answers = load.stop()

    hung = [a for a in answers if a.status is None]
    c.check(not hung, "no request hangs or loses its connection (bound %.0fs)" % HANG_BOUND, hung[:3])
    odd = [a for a in answers if not (complete_shows(a) or
                                      (a.status in (503, 504) and error_body(a, {14, 4})))]
    c.check(not odd, "every answer is a complete 200 or a 503/504 error body", odd[:3])
    in_flight = [a for a in answers if a.start < t_kill < a.end]
    failed = [a for a in in_flight if a.status in (503, 504)]
    early_200 = [a for a in in_flight if a.status == 200 and a.start > t_kill - delay]
    c.check(failed, "requests in flight at the kill were cut (503/504)", len(in_flight))
    c.check(not early_200, "no 200 for a request Cuebot could not have answered before the kill",
            early_200[:3])
    print("  Cuebot killed: %d answers, %d in flight at the kill (%d cut)"
          % (len(answers), len(in_flight), len(failed)))
    after = [a for a in answers if a.start >= t_kill]
    slow = [a for a in after if a.status != 503 or a.elapsed >= 1.0]
    c.check(after and not slow, "requests sent after the kill get 503 within a second (%d)"
            % len(after), slow[:3])

    env.standin.start()              # the same gRPC port
    # Each process finds Cuebot again at its next reconnection attempt
    # (backoff of at most a second): recovered means a window of load, 40
    # requests from 4 clients, of only complete 200s. Windows are tried
    # until one is, or EVENT_BOUND passes.
    t_back = time.monotonic()
    window = []
    while time.monotonic() - t_back < EVENT_BOUND:
        load = Load(srv.port, get_shows_load(env.headers), threads=4, timeout=HANG_BOUND,
                    prefix="back").start()
        harness.wait_until(lambda: len(load.answered()) >= 40, EVENT_BOUND, 0.02)
        window = load.stop()
        if window and all(complete_shows(x) for x in window):
            break
    bad = [x for x in window if not complete_shows(x)]
    c.check(len(window) >= 40 and not bad, "Cuebot back: a window of load (%d requests) is all "
            "complete 200s (after %.1fs)" % (len(window), time.monotonic() - t_back), bad[:3])
    c.check(pids_of(srv) == before, "with the same cuegw processes: no restart", (before, pids_of(srv)))


# How long a front may go on sending requests to a process that has died
# (lighttpd notices by SIGCHLD or a refused connect, nginx by its kept
# connection's end): a request sent within it may fail with the process.
FRONT_NOTICE = 0.5


def kill_a_worker(c, env, srv, name, threads, lost_ok, lost_what):
    """A cuegw process of srv (3 of them) killed with SIGKILL while
    `threads` clients run calls that Cuebot holds 500 ms. The front
    replaces it; the requests that fail are at most those the killed
    process had in flight, counted by the stand-in from that process's own
    gRPC connection, those it may have held waiting for a thread, and those
    the front sent to it before seeing it die; none had reached Cuebot
    through another process; each is the front's error answer (lost_ok), every
    other answer is a complete 200, and none hangs."""
    delay = 0.5
    env.standin.reset()
    env.standin.script(method=GET_SHOWS, delay_ms=int(delay * 1000))
    load = Load(srv.port, get_shows_load(env.headers), threads=threads, timeout=HANG_BOUND,
                prefix="wkill").start()
    harness.wait_until(lambda: len(load.answered()) >= threads, EVENT_BOUND, 0.02)
    workers = settled_pids(srv, 3)
    # The victim: a process that holds a call right now (found by its own
    # gRPC connection in /proc). Threaded workers with kept connections do
    # not spread the load evenly, so a given process may hold none.
    victim, ports = None, set()
    end = time.monotonic() + EVENT_BOUND
    while victim is None and time.monotonic() < end:
        now = time.time()
        recent = env.standin.calls()[-40:]
        for pid in workers:
            p = grpc_ports(pid, env.standin.grpc_port)
            if any(peer_port(x) in p and x["done"] is None and 0.1 < now - x["at"] < delay / 2
                   for x in recent):
                victim, ports = pid, p
                break
        else:
            time.sleep(0.02)
    c.check(victim is not None, "%s: a worker holding a call is found by its gRPC connection"
            % name, workers)
    if victim is None:
        load.stop()
        srv.stop()
        return
    os.kill(victim, signal.SIGKILL)
    t_kill = time.time()
    # Until every client has had answers to requests sent after the kill.
    harness.wait_until(lambda: len({a.rid.split("-")[1] for a in load.answered()
                                    if a.start > t_kill + FRONT_NOTICE}) == threads, EVENT_BOUND, 0.02)
    answers = load.stop()
    calls = env.standin.calls()
    env.standin.reset()

    # The victim's calls in flight at the kill: they reached the stand-in
    # from its connection before it, and the victim had not written their
    # answers out: no access line of its own (written once the last byte
    # is out), or an answer that left the stand-in less than 100 ms before
    # the kill (the access line comes a moment before END_REQUEST). A busy
    # machine may hold an answer in the victim for longer than that: its
    # access line says whether it went out.
    def in_flight(x, grace):
        return x["at"] <= t_kill and (x["done"] is None or x["done"] > t_kill - grace)
    written = {m.group(1) for m in re.finditer(r"cuegw\[%d\] info: access .* rid=(\S+)" % victim,
                                               srv.error_log())}
    victim_in_flight = len([x for x in calls if peer_port(x) in ports and
                            (in_flight(x, 0.1) or (x["at"] <= t_kill and
                                                   x["metadata"].get("x-request-id") not in written))])
    # A threaded process may also hold requests it has taken from the
    # front but not yet sent on (all its threads busy): those die with it
    # too. Each client has one request outstanding, so at most the clients
    # that had no call at the stand-in at the kill can be such (a client is
    # named in its request ids: prefix-client-serial).
    at_cuebot = {client_of(x) for x in calls if in_flight(x, 0)} - {None}
    waiting = max(0, threads - len(at_cuebot))
    via = {}
    for x in calls:
        rid = x["metadata"].get("x-request-id")
        if rid:
            via.setdefault(rid, set()).add("victim" if peer_port(x) in ports else "other")
    hung = [a for a in answers if a.status is None]
    c.check(not hung, "%s: no request hangs (bound %.0fs)" % (name, HANG_BOUND), hung[:3])
    failures = [a for a in answers if not complete_shows(a)]
    cut = [a for a in failures if not lost_ok(a)]
    c.check(not cut, "%s: a request lost with the worker is %s, never a broken 200"
            % (name, lost_what), cut[:3])

    # Every failure must be one the victim took down with it:
    #  - a call it had at Cuebot (never one another process sent);
    #  - a request it held waiting for a thread (sent before the kill);
    #  - a request the front sent to it in the moment before the front
    #    saw it die (lighttpd still had its socket; nginx a kept
    #    connection to it): sent after the kill, within FRONT_NOTICE.
    def story(a):
        return (a.rid, "started %+.3fs from the kill" % (a.start - t_kill),
                "/".join(sorted(via.get(a.rid, ()))) or "not at Cuebot", a.status)
    at_victim = [a for a in failures if via.get(a.rid) == {"victim"}]
    elsewhere = [a for a in failures if "other" in via.get(a.rid, ())]
    unsent = [a for a in failures if a.rid not in via]
    held = [a for a in unsent if a.start <= t_kill]
    late = [a for a in unsent if a.start > t_kill + FRONT_NOTICE]
    print("  %s, worker killed: %d answers, %d failed: %d of the victim's %d calls at Cuebot, "
          "%d unsent (%d before the kill, at most %d possible)"
          % (name, len(answers), len(failures), len(at_victim), victim_in_flight,
             len(unsent), len(held), waiting))
    c.check(failures, "%s: the killed worker's requests fail" % name)
    c.check(not elsewhere, "%s: no failed request had reached Cuebot through another process"
            % name, [story(a) for a in elsewhere])
    c.check(len(at_victim) <= victim_in_flight,
            "%s: the failed calls are among the %d the victim had at Cuebot"
            % (name, victim_in_flight), [story(a) for a in at_victim])
    c.check(len(held) <= waiting and not late,
            "%s: a failed request that never reached Cuebot was held by the victim (at most "
            "%d) or sent within %.1fs after the kill" % (name, waiting, FRONT_NOTICE),
            [story(a) for a in unsent])
    harness.wait_until(lambda: len(pids_of(srv)) == 3 and victim not in pids_of(srv), EVENT_BOUND, 0.05)
    now = pids_of(srv)
    c.check(len(now) == 3 and victim not in now and set(workers) - {victim} <= set(now),
            "%s: the killed worker is replaced, and only it" % name, (workers, now))
    ok = all(complete_shows(env.fetch(srv, GET_SHOWS)) for _ in range(10))
    c.check(ok, "%s: after the respawn every request is a complete 200" % name)
    srv.stop()


def test_worker_killed_pool(c, env):
    """The `cuegw --listen` pool behind nginx, 6 clients: the pool forks a
    new worker; nginx turns the lost connection into its 503 JSON."""
    kill_a_worker(c, env, env.nginx_pool(workers=3, extra={"LOG_LEVEL": "info"}), "nginx + pool", 6,
                  lambda a: a.status == 503 and error_body(a, {14}), "nginx's 503 JSON answer")


def test_worker_killed_lighttpd(c, env):
    """lighttpd's bin-path processes, 3 clients for 3 processes: lighttpd
    hands each new request to its least busy process, so each holds one
    and none has another waiting in its socket's queue; lighttpd spawns a
    new process in place of the dead one. A request lighttpd had given
    to the dead process gets lighttpd's own HTML error page (500), unless
    lighttpd sends it on to another process."""
    kill_a_worker(c, env, env.extra_lighttpd(workers=3, extra={"LOG_LEVEL": "info"}), "lighttpd", 3,
                  lambda a: a.status in (500, 502, 503) and b"<html" in (a.body or b""),
                  "lighttpd's own error page")


def access_line(srv, rid):
    """The access line of the request with X-Request-Id rid, or None."""
    for line in srv.error_log().splitlines():
        if " access " in line and ("rid=%s " % rid) in line + " ":
            return line
    return None


def test_client_disconnect(c, env):
    """A client that closes its connection in the middle of a 20 MB answer,
    three times, through lighttpd with a single cuegw process (so the next
    request surely lands on the same one): that process carries on and
    serves the next requests.

    "In the middle" is made sure of rather than hoped for: lighttpd reads
    an answer as fast as cuegw writes it (stream-response-body 1), so on a
    busy machine the whole answer could be in lighttpd before the client
    gets to close. Once the answer has reached the client, lighttpd is
    stopped (SIGSTOP) while the client closes, and let go on (SIGCONT)
    afterwards: cuegw keeps at most 4 MiB unread, so it cannot finish a
    20 MB answer while lighttpd is stopped, and its access line, written
    once the answer is out, is not there yet. A round where it is there
    (lighttpd had taken the whole answer before it was stopped) is not
    one of the three and is said so; the answer is scripted for every
    call until the reset."""
    # No deadline that a busy machine could meet first: this is about
    # clients going away, not about Cuebot's speed.
    srv = env.extra_lighttpd(workers=1, extra={"GRPC_MAX_RECV_MSG_MB": "", "LOG_LEVEL": "info",
                                               "REQUEST_TIMEOUT": "%ds" % EVENT_BOUND})
    before = settled_pids(srv, srv.workers)
    env.standin.script(method=GET_JOBS, response_bytes=20_000_000)
    lighttpd = srv.proc.pid
    mid, finished, lines = [], [], []
    for n in range(10):
        if len(mid) == 3:
            break
        rid = "gone-%d" % n
        head = ("POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: %s\r\nX-Request-Id: %s\r\n"
                "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
                % (GET_JOBS, env.headers["Authorization"], rid)).encode()
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=EVENT_BOUND)
        try:
            s.sendall(head)
            got = b""
            while b"\r\n" not in got:        # the status line: the answer has started
                more = s.recv(64)
                if not more:
                    break
                got += more
            os.kill(lighttpd, signal.SIGSTOP)
            try:
                done_before = access_line(srv, rid)
            finally:
                s.close()
                os.kill(lighttpd, signal.SIGCONT)
        except BaseException:
            os.kill(lighttpd, signal.SIGCONT)
            s.close()
            raise
        c.check(got.startswith(b"HTTP/1.1 200 "), "the large answer had started (%s)" % rid, got)
        line = harness.wait_until(lambda: access_line(srv, rid), EVENT_BOUND, 0.05)
        if done_before:
            print("  %s: lighttpd had taken the whole answer before it was stopped: %s"
                  % (rid, done_before))
            finished.append(rid)
        else:
            mid.append(rid)
            lines.append(line)
    c.check(len(mid) == 3, "three clients went away in the middle of their answers "
            "(%d rounds where lighttpd had the whole answer first)" % len(finished), finished)
    ok = [complete_shows(env.fetch(srv, GET_SHOWS)) for _ in range(5)]
    c.check(all(ok), "the same process serves the next requests", ok)
    # Its access lines: the disconnect reached it while it was writing.
    c.check(lines and all(line and " status=200 " in line and 'error="client went away"' in line
                          for line in lines),
            "the process saw each client go away mid-response", lines)
    c.check(pids_of(srv) == before and len(before) == 1, "it is the same process, still running",
            (before, pids_of(srv)))
    env.standin.reset()
    srv.stop()


def test_sigterm_under_load(c, env):
    """SIGTERM to the `cuegw --listen` pool while 4 clients run calls that
    Cuebot holds 2 s (SHUTDOWN_TIMEOUT 10 s). Every request that had
    reached Cuebot before the signal completes as a complete 200; the pool
    exits 0 within SHUTDOWN_TIMEOUT; requests that had not reached a
    worker get a clean answer (200 or nginx's 503 JSON), none hangs."""
    srv = env.nginx_pool(workers=2, extra={"SHUTDOWN_TIMEOUT": "10s"})
    env.standin.reset()
    env.standin.script(method=GET_SHOWS, delay_ms=2000)
    load = Load(srv.port, get_shows_load(env.headers), threads=4, timeout=HANG_BOUND,
                prefix="term").start()
    harness.wait_until(lambda: len(env.standin.calls()) >= 2, EVENT_BOUND, 0.02)
    pool = srv.pool_proc
    pool.send_signal(signal.SIGTERM)
    t_sig = time.time()
    try:
        rc = pool.wait(15)
    except subprocess.TimeoutExpired:
        rc = "still running after 15 s"
    t_exit = time.time()
    answers = load.stop()
    reached = {x["metadata"].get("x-request-id") for x in env.standin.calls() if x["at"] < t_sig}
    env.standin.reset()
    print("  SIGTERM: %d requests had reached Cuebot, exit after %.1fs"
          % (len(reached), t_exit - t_sig))
    c.check(rc == 0, "the pool exits 0 after SIGTERM", rc)
    c.check(t_exit - t_sig <= 10.0, "within SHUTDOWN_TIMEOUT (10 s)", "%.1fs" % (t_exit - t_sig))
    in_flight = [a for a in answers if a.rid in reached]
    c.check(len(in_flight) >= 2, "requests were in flight at the signal", len(in_flight))
    bad = [a for a in in_flight if not complete_shows(a)]
    c.check(not bad, "every request in flight at SIGTERM completes with a complete 200", bad[:3])
    rest = [a for a in answers if a.rid not in reached]
    odd = [a for a in rest if not (complete_shows(a) or (a.status == 503 and error_body(a, {14})))]
    c.check(not odd, "the others get a clean answer, none hangs (%d)" % len(rest), odd[:3])
    srv.stop()


TESTS = [test_slow_cuebot, test_cuebot_frozen, test_receive_limit, test_cuebot_killed, test_worker_killed_pool,
         test_worker_killed_lighttpd,
         test_client_disconnect, test_sigterm_under_load]


class Env:
    def __init__(self, args):
        self.args = args
        self.standin = harness.Standin(args.schema).start()
        self.headers = auth_headers()
        self.lighttpd = self.extra_lighttpd(workers=2)

    def settings(self, extra=None):
        s = {"CUEBOT_ENDPOINT": self.standin.endpoint, "JWT_SECRET": SECRET,
             "REQUEST_TIMEOUT": "1s", "GRPC_MAX_RECV_MSG_MB": "1", "LOG_LEVEL": "warn"}
        s.update(extra or {})
        return s

    def extra_lighttpd(self, workers, extra=None):
        return harness.Lighttpd(self.args.cuegw, self.settings(extra), workers=workers).start()

    def nginx_pool(self, workers, extra=None):
        env = self.settings(extra)
        env.pop("JWT_SECRET")
        env.update(SETTINGS_FROM_PARAMS="1", REQUEST_TIMEOUT="5s", GRPC_MAX_RECV_MSG_MB="")
        return NginxPool(self.args.cuegw, env, {"JWT_SECRET": SECRET}, workers=workers).start()

    def fetch(self, srv, path, timeout=HANG_BOUND):
        return load.one(srv.port, "one", "POST", path, b"{}", self.headers, timeout)


def main():
    def run(c, args):
        harness.run_tests(c, Env(args), TESTS, args.only)
    return harness.suite_main("faults", run, lambda ap: ap.add_argument(
        "--only", help="run the tests whose name contains this"))

if __name__ == "__main__":
    sys.exit(main())
