#!/usr/bin/python3
"""`cuegw --listen ADDR --workers N`, the pool cuegw runs on its own, talked
to directly over FastCGI: it serves on a unix socket and on TCP, replaces a
worker killed with SIGKILL, stops on SIGTERM with status 0, refuses new
connections from the moment a stop begins while the request in flight
finishes, and refuses bad settings before it starts.

Usage: test_pool.py --cuegw BUILD/cuegw --schema BUILD/gen/schema.pb
"""

import errno
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fcgi_client  # noqa: E402
import harness  # noqa: E402

SECRET = "pool-secret"





def get_shows(address, token):
    return fcgi_client.request(address, {
        "REQUEST_METHOD": "POST", "REQUEST_URI": "/show.ShowInterface/GetShows",
        "HTTP_AUTHORIZATION": "Bearer " + token, "CONTENT_TYPE": "application/json"}, b"{}")


def start_pool(args, env, address, workers=2):
    log = tempfile.NamedTemporaryFile(prefix="cuegw-pool-", suffix=".log", delete=False)
    p = subprocess.Popen([args.cuegw, "--listen", address, "--workers", str(workers)],
                         env=env, stdout=log, stderr=log)
    return p, log.name


def wait_listening(path, timeout=60):
    """Until the pool takes connections on the unix socket at path (it
    exists from bind(), a moment before listen())."""
    def connects():
        if not os.path.exists(path):
            return False
        s = socket.socket(socket.AF_UNIX)
        try:
            s.connect(path)
            return True
        except OSError:
            return False
        finally:
            s.close()
    if not harness.wait_until(connects, timeout, 0.05):
        raise RuntimeError("the pool does not listen on %s" % path)


def wait_ready(address, token, timeout=60):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            return get_shows(address, token)
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("the pool does not answer on %r" % (address,))


def reap(pool, log):
    """Kills a pool that a failed check left running; returns its log."""
    if pool.poll() is None:
        pool.kill()
        pool.wait()
    with open(log, errors="replace") as f:
        return f.read()


def connect_refused(address):
    """The errno name when a new connection is refused, else None (the
    connection was accepted or queued: a stopping pool must not do that)."""
    try:
        s = fcgi_client.connect(address, timeout=2)
    except ConnectionResetError:
        # Queued in the moment between the first process closing its copy
        # of the listen socket and the last: reset when the last closes.
        # A refusal follows.
        return None
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e))
    s.close()
    return None


def run_stop_refuses(c, args, env, token, standin, listen, address, what):
    """A graceful stop refuses new connections at once, so the web server
    answers 502/503 or tries another backend instead of queueing a request
    behind workers that will never take it (issue 16, 13: nginx waited
    SHUTDOWN_TIMEOUT, then got a reset)."""
    pool, log = start_pool(args, env, listen)
    try:
        wait_ready(address, token)
        standin.reset()
        standin.script(method="/show.ShowInterface/GetShows", delay_ms=6000, times=1)
        rid = "rid-stop-%s" % what
        slow = {}

        def call():
            try:
                slow["result"] = fcgi_client.request(address, {
                    "REQUEST_METHOD": "POST", "REQUEST_URI": "/show.ShowInterface/GetShows",
                    "HTTP_AUTHORIZATION": "Bearer " + token, "HTTP_X_REQUEST_ID": rid}, b"{}")[:3]
            except OSError as e:
                slow["result"] = repr(e)
        t = threading.Thread(target=call)
        t.start()
        arrived = harness.wait_until(lambda: any(x["metadata"].get("x-request-id") == rid
                                                 for x in standin.calls()), 10)
        c.check(arrived, "%s stop: the slow call reached Cuebot" % what)
        t0 = time.monotonic()
        pool.send_signal(signal.SIGTERM)
        refused = harness.wait_until(lambda: connect_refused(address), 3, step=0.02)
        took = time.monotonic() - t0
        in_flight = "result" not in slow
        c.check(refused in ("ECONNREFUSED", "ENOENT") and in_flight,
                "%s stop: a new connection is refused (%s after %.2f s) while the call is in flight"
                % (what, refused, took), (refused, took, slow.get("result")))
        t.join(30)
        res = slow.get("result")
        c.check(isinstance(res, tuple) and res[0] == 200 and b'"shows"' in res[2],
                "%s stop: the call in flight still finishes with 200" % what, res)
        try:
            rc = pool.wait(15)
        except subprocess.TimeoutExpired:
            rc = "still running"
        c.check(rc == 0, "%s stop: the pool exits 0" % what, rc)
    finally:
        text = reap(pool, log)
    c.check(not any(m in text for m in harness.SANITIZER_MARKS), "%s stop: no sanitizer report" % what,
            text[-2000:])


def sockets(pid):
    """How many sockets a process holds open (its listening one included)."""
    n = 0
    try:
        for fd in os.listdir("/proc/%d/fd" % pid):
            try:
                n += os.readlink("/proc/%d/fd/%s" % (pid, fd)).startswith("socket:")
            except OSError:
                pass
    except OSError:
        pass
    return n


def run_busy_leaves_new(c, args, env, token, standin):
    """A process whose request threads all run the next requests of kept
    connections (each thread woke for its own directly, the I/O thread saw
    none of them) stops taking new connections once its I/O thread sees it
    busy, which it does at the first one it is woken for: the other
    process takes the rest, as when the I/O thread hands requests out. New
    connections go one after another, each waited for until it is answered
    or the busy process holds it (a socket more there, behind the held
    calls). Counting only the requests it handed out, that process would
    take as many as it has threads."""
    sock = os.path.join(tempfile.mkdtemp(prefix="cuegw-pool-"), "busy.sock")
    benv = dict(env, WORKER_THREADS="2", REQUEST_TIMEOUT="120s")
    pool, log = start_pool(args, benv, sock)
    kept = []
    try:
        wait_ready(sock, token)
        workers = harness.children(pool.pid)
        jobs = {"REQUEST_METHOD": "POST", "REQUEST_URI": "/job.JobInterface/GetJobs",
                "HTTP_AUTHORIZATION": "Bearer " + token}
        shows = {"REQUEST_METHOD": "POST", "REQUEST_URI": "/show.ShowInterface/GetShows",
                 "HTTP_AUTHORIZATION": "Bearer " + token}
        standin.reset()
        # Three kept connections: two of them are held by one process.
        owner, firsts = {}, []
        for _ in range(3):
            before = {w: sockets(w) for w in workers}
            k = fcgi_client.connect(sock, timeout=150)
            firsts.append(fcgi_client.request_on(k, jobs, b"{}")[0])
            rose = [w for w in workers if sockets(w) > before[w]]
            kept.append(k)
            owner[k] = rose[0] if len(rose) == 1 else None
        by = {w: [k for k in kept if owner[k] == w] for w in workers}
        busy = [w for w in workers if len(by[w]) >= 2]
        c.check(firsts == [200] * 3 and len(workers) == 2 and None not in owner.values() and busy,
                "three kept connections, two held by one process", (firsts, workers, by))
        busy = busy[0] if busy else workers[0]
        standin.script(method="/job.JobInterface/GetJobs", hold=True, times=2)
        held = {}

        def hold_one(k):
            held[k] = fcgi_client.request_on(k, jobs, b"{}")[0]
        holders = [threading.Thread(target=hold_one, args=(k,), daemon=True) for k in by.get(busy, [])[:2]]
        for h in holders:
            h.start()
        c.check(harness.wait_until(
            lambda: len(standin.control("GET", "/calls?method=/job.JobInterface/GetJobs")) == 5, 60),
            "their next requests are held at the stand-in, one on each of its 2 threads")
        base = sockets(busy)
        answers, news, taken = [None] * 8, [], 0

        def new_one(i):
            try:
                answers[i] = fcgi_client.request(sock, shows, b"{}", timeout=150)[0]
            except OSError as e:
                answers[i] = repr(e)
        for i in range(8):
            news.append(threading.Thread(target=new_one, args=(i,), daemon=True))
            news[-1].start()
            harness.wait_until(lambda: answers[i] is not None or sockets(busy) > base + taken, 60)
            if answers[i] is None:
                taken += 1
        still = not held
        c.check(taken <= 1 and still and
                all(a == 200 for i, a in enumerate(answers) if a is not None) and
                sum(a == 200 for a in answers) >= 7,
                "of 8 new connections one after another, the busy process takes one at most; "
                "the other answers the rest while the held requests run", (taken, answers, still))
        released = standin.control("POST", "/release")["held"]
        for h in holders + news:
            h.join(150)
        c.check(released == 2 and list(held.values()) == [200, 200] and answers == [200] * 8,
                "the held requests are answered once released, and any new one that waited",
                (released, list(held.values()), answers))
    finally:
        for k in kept:
            k.close()
        text = reap(pool, log)
        standin.reset()
    c.check(not any(m in text for m in harness.SANITIZER_MARKS), "the pool's log has no sanitizer report",
            text[-2000:])


def run(c, args):
    standin = harness.Standin(args.schema).start()
    token = harness.sign_jwt(SECRET)
    env = {"PATH": os.environ.get("PATH", ""), "CUEBOT_ENDPOINT": standin.endpoint,
           "JWT_SECRET": SECRET, "LOG_LEVEL": "warn"}
    for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
        if k in os.environ:
            env[k] = os.environ[k]
    sock = os.path.join(tempfile.mkdtemp(prefix="cuegw-pool-"), "cuegw.sock")

    run_busy_leaves_new(c, args, env, token, standin)

    pool, log = start_pool(args, env, sock)
    try:
        status, headers, body, _ = wait_ready(sock, token)
        c.check(status == 200 and b'"testing"' in body, "the pool answers on a unix socket",
                (status, body[:200]))
        workers = harness.children(pool.pid)
        c.check(len(workers) == 2, "--workers 2 forks two workers", workers)
        os.kill(workers[0], signal.SIGKILL)
        ok = 0
        for _ in range(20):
            status, _, _, _ = get_shows(sock, token)
            ok += status == 200
        c.check(ok == 20, "with a worker killed, requests still succeed", ok)
        harness.wait_until(lambda: len(harness.children(pool.pid)) == 2
                           and workers[0] not in harness.children(pool.pid), 60)
        now = harness.children(pool.pid)
        c.check(len(now) == 2 and workers[0] not in now, "the killed worker is replaced", now)
        status, _, body, _ = fcgi_client.request(sock, {
            "REQUEST_METHOD": "POST", "REQUEST_URI": "/show.ShowInterface/GetShows"}, b"{}")
        c.check(status == 401, "the pool checks credentials", status)
        # A connection the web server keeps open (nginx fastcgi_keep_conn)
        # carries the next request to the same worker.
        conn = fcgi_client.connect(sock, timeout=5)
        try:
            params = {"REQUEST_METHOD": "POST", "REQUEST_URI": "/show.ShowInterface/GetShows",
                      "HTTP_AUTHORIZATION": "Bearer " + token}
            kept = [fcgi_client.request_on(conn, params, b"{}", keep=True)[0] for _ in range(3)]
        except OSError as e:
            kept = [repr(e)]
        finally:
            conn.close()
        c.check(kept == [200, 200, 200], "three requests on one kept-open connection", kept)
        # Answers given before the body was read (401, 413) leave body
        # records behind on a kept connection. nginx pools the connection
        # once it has sent everything, so the next request on it must be
        # served, not refused with the connection closed under it.
        conn = fcgi_client.connect(sock, timeout=10)
        try:
            unauth = {"REQUEST_METHOD": "POST", "REQUEST_URI": "/show.ShowInterface/GetShows"}
            over = b"{" + b" " * (4194304 + 1000) + b"}"   # over GRPC_MAX_MESSAGE_SIZE
            seq = [fcgi_client.request_on(conn, unauth, b"{" + b" " * 60000 + b"}")[0],
                   fcgi_client.request_on(conn, params, over)[0],
                   fcgi_client.request_on(conn, params, b"{}")[0]]
        except OSError as e:
            seq = [repr(e)]
        finally:
            conn.close()
        c.check(seq == [401, 413, 200], "a kept connection carries on after answers that left "
                "the body unread (401 with a 60 kB body, 413 with 4 MB)", seq)
        t0 = time.monotonic()
        pool.send_signal(signal.SIGTERM)
        rc = pool.wait(10)
        c.check(rc == 0, "SIGTERM stops the pool with status 0", rc)
        c.check(time.monotonic() - t0 < 5, "and promptly", time.monotonic() - t0)
        c.check(not os.path.exists(sock), "the socket is removed on exit", sock)
        c.check(all(not os.path.exists("/proc/%d" % w) or open("/proc/%d/stat" % w).read().split()[2] == "Z"
                    for w in now), "no worker is left behind", now)
    finally:
        text = reap(pool, log)
    c.check(not any(m in text for m in harness.SANITIZER_MARKS), "the pool's log has no sanitizer report",
            text[-2000:])

    port = harness.free_port()
    pool, log = start_pool(args, env, "127.0.0.1:%d" % port, workers=1)
    try:
        status, _, body, _ = wait_ready(("127.0.0.1", port), token)
        c.check(status == 200, "the pool answers on TCP", status)
        pool.send_signal(signal.SIGUSR1)
        c.check(pool.wait(10) == 0, "SIGUSR1 stops it gracefully too")
    finally:
        if pool.poll() is None:
            pool.kill()
            pool.wait()

    # Settings per request (nginx fastcgi_param, Apache SetEnv): a pool with
    # no secret of its own takes them from each request's parameters.
    sock2 = os.path.join(tempfile.mkdtemp(prefix="cuegw-pool-"), "params.sock")
    penv = {k: v for k, v in env.items() if k != "JWT_SECRET"}
    penv["SETTINGS_FROM_PARAMS"] = "1"
    pool, log = start_pool(args, penv, sock2, workers=1)
    try:
        base = {"REQUEST_METHOD": "POST", "REQUEST_URI": "/show.ShowInterface/GetShows",
                "HTTP_AUTHORIZATION": "Bearer " + token}
        wait_listening(sock2)
        st, _, _, _ = fcgi_client.request(sock2, dict(base, JWT_SECRET=SECRET), b"{}")
        c.check(st == 200, "JWT_SECRET as a FastCGI parameter authenticates", st)
        st, _, body, _ = fcgi_client.request(sock2, base, b"{}")
        c.check(st == 500, "a request without any credential setting is refused with 500", (st, body))
        st, _, _, _ = fcgi_client.request(sock2, dict(base, HTTP_JWT_SECRET=SECRET), b"{}")
        c.check(st == 500, "HTTP_JWT_SECRET (a client header) is never read as a setting", st)
        other = harness.sign_jwt("rotated")
        st, _, _, _ = fcgi_client.request(sock2, dict(base, JWT_SECRET="rotated", EXPIRING_JWT_SECRET=SECRET), b"{}")
        c.check(st == 200, "EXPIRING_JWT_SECRET as a parameter accepts the old token", st)
        st, _, _, _ = fcgi_client.request(sock2, dict(base, JWT_SECRET="rotated", EXPIRING_JWT_SECRET=""), b"{}")
        c.check(st == 401, "a blank EXPIRING_JWT_SECRET parameter removes it", st)
        st, _, _, _ = fcgi_client.request(sock2, dict(base, HTTP_AUTHORIZATION="Bearer " + other,
                                                           JWT_SECRET="rotated"), b"{}")
        c.check(st == 200, "the new secret accepts new tokens", st)
        st, _, _, _ = fcgi_client.request(sock2, dict(base, JWT_SECRET=SECRET, READ_ONLY="1",
                                                           REQUEST_URI="/show.ShowInterface/CreateShow"), b"{}")
        c.check(st == 403, "READ_ONLY as a parameter", st)
    finally:
        pool.send_signal(signal.SIGTERM)
        pool.wait(10)
    with open(log, errors="replace") as f:
        text = f.read()
    c.check("no credential setting reached this request" in text, "the refusal is logged with what is missing",
            text[-500:])
    c.check(SECRET not in text and "rotated" not in text, "no secret reaches the log")

    renv = {k: v for k, v in env.items() if k != "JWT_SECRET"}
    renv["AUTH_MODE"] = "remote-user"
    sock3 = os.path.join(tempfile.mkdtemp(prefix="cuegw-pool-"), "ru.sock")
    pool, log = start_pool(args, renv, sock3, workers=1)
    try:
        wait_listening(sock3)
        req = {"REQUEST_METHOD": "POST", "REQUEST_URI": "/show.ShowInterface/GetShows"}
        st, _, _, _ = fcgi_client.request(sock3, dict(req, REMOTE_USER="alice"), b"{}")
        c.check(st == 200, "AUTH_MODE=remote-user trusts REMOTE_USER", st)
        st, _, _, _ = fcgi_client.request(sock3, dict(req, REMOTE_USER=""), b"{}")
        c.check(st == 401, "an empty REMOTE_USER is 401", st)
        st, _, _, _ = fcgi_client.request(sock3, dict(req, HTTP_REMOTE_USER="alice"), b"{}")
        c.check(st == 401, "a Remote-User client header is not REMOTE_USER", st)
    finally:
        pool.send_signal(signal.SIGTERM)
        pool.wait(10)

    for name, value in (("REQUEST_TIMEOUT", "soon"), ("GRPC_MAX_RECV_MSG_MB", "lots")):
        bad = dict(env, **{name: value})
        r = subprocess.run([args.cuegw, "--listen", sock], env=bad, capture_output=True, text=True, timeout=10)
        c.check(r.returncode == 2 and name in r.stderr, "a bad %s stops start-up naming it" % name,
                (r.returncode, r.stderr))
    noauth = {k: v for k, v in env.items() if k != "JWT_SECRET"}
    r = subprocess.run([args.cuegw, "--listen", sock], env=noauth, capture_output=True, text=True, timeout=10)
    c.check(r.returncode == 2 and "credential" in r.stderr, "no credential stops start-up", r.stderr)
    r = subprocess.run([args.cuegw], env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=10)
    c.check(r.returncode == 2 and "FastCGI socket" in r.stderr,
            "without --listen and no socket on stdin, a clear message", r.stderr)
    r = subprocess.run([args.cuegw, "--version"], capture_output=True, text=True, timeout=10)
    c.check(r.returncode == 0 and r.stdout.startswith("cuegw "), "--version", r.stdout)

    # The unix socket, then TCP: there no path can vanish, so only a listen
    # socket closed in every process (the workers' inherited copies too)
    # refuses.
    path = os.path.join(tempfile.mkdtemp(prefix="cuegw-pool-"), "stop.sock")
    run_stop_refuses(c, args, env, token, standin, path, path, "unix")
    port = harness.free_port()
    run_stop_refuses(c, args, env, token, standin, "127.0.0.1:%d" % port, ("127.0.0.1", port), "TCP")


def main():
    return harness.suite_main("integration-pool", run)

if __name__ == "__main__":
    sys.exit(main())
