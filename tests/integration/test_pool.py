#!/usr/bin/python3
"""`cuegw --listen ADDR --workers N`, the pool cuegw runs on its own, talked
to directly over FastCGI: it serves on a unix socket and on TCP, replaces a
worker killed with SIGKILL, stops on SIGTERM with status 0, and refuses bad
settings before it starts.

Usage: test_pool.py --cuegw BUILD/cuegw --schema BUILD/gen/schema.pb
"""

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fcgi_client  # noqa: E402
import harness  # noqa: E402

SECRET = "pool-secret"


class Checks:
    def __init__(self):
        self.passed = self.failed = 0

    def check(self, ok, what, detail=""):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            print("FAIL %s%s" % (what, (": " + str(detail)[:600]) if detail else ""))
        return ok


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def get_shows(address, token):
    return fcgi_client.request(address, {
        "REQUEST_METHOD": "POST", "REQUEST_URI": "/show.ShowInterface/GetShows",
        "HTTP_AUTHORIZATION": "Bearer " + token, "CONTENT_TYPE": "application/json"}, b"{}")


def start_pool(args, env, address, workers=2):
    log = tempfile.NamedTemporaryFile(prefix="cuegw-pool-", suffix=".log", delete=False)
    p = subprocess.Popen([args.cuegw, "--listen", address, "--workers", str(workers)],
                         env=env, stdout=log, stderr=log)
    return p, log.name


def wait_ready(address, token, timeout=10):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            return get_shows(address, token)
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("the pool does not answer on %r" % (address,))


def run(c, args):
    standin = harness.Standin(args.schema).start()
    token = harness.sign_jwt(SECRET)
    env = {"PATH": os.environ.get("PATH", ""), "CUEBOT_ENDPOINT": standin.endpoint,
           "JWT_SECRET": SECRET, "LOG_LEVEL": "warn"}
    for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
        if k in os.environ:
            env[k] = os.environ[k]
    sock = os.path.join(tempfile.mkdtemp(prefix="cuegw-pool-"), "cuegw.sock")

    pool, log = start_pool(args, env, sock)
    try:
        status, headers, body, _ = wait_ready(sock, token)
        c.check(status == 200 and b'"testing"' in body, "the pool answers on a unix socket",
                (status, body[:200]))
        workers = children(pool.pid)
        c.check(len(workers) == 2, "--workers 2 forks two workers", workers)
        os.kill(workers[0], signal.SIGKILL)
        ok = 0
        for _ in range(20):
            status, _, _, _ = get_shows(sock, token)
            ok += status == 200
        c.check(ok == 20, "with a worker killed, requests still succeed", ok)
        end = time.monotonic() + 5
        while time.monotonic() < end and (len(children(pool.pid)) != 2 or workers[0] in children(pool.pid)):
            time.sleep(0.1)
        now = children(pool.pid)
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
        t0 = time.monotonic()
        pool.send_signal(signal.SIGTERM)
        rc = pool.wait(10)
        c.check(rc == 0, "SIGTERM stops the pool with status 0", rc)
        c.check(time.monotonic() - t0 < 5, "and promptly", time.monotonic() - t0)
        c.check(not os.path.exists(sock), "the socket is removed on exit", sock)
        c.check(all(not os.path.exists("/proc/%d" % w) or open("/proc/%d/stat" % w).read().split()[2] == "Z"
                    for w in now), "no worker is left behind", now)
    finally:
        if pool.poll() is None:
            pool.kill()
            pool.wait()
    with open(log, errors="replace") as f:
        text = f.read()
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cuegw", required=True)
    ap.add_argument("--schema", required=True)
    args = ap.parse_args()
    c = Checks()
    try:
        run(c, args)
    except Exception:
        c.check(False, "the pool test ran to the end", traceback.format_exc())
    finally:
        harness.stop_all()
    print("integration-pool: %d passed, %d failed" % (c.passed, c.failed))
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
