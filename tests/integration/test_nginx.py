#!/usr/bin/python3
"""A smoke test of the nginx deployment as shipped: nginx started from
conf/nginx.conf (which includes conf/nginx-cuegw*.conf) in front of a pool
that conf/spawn-fcgi.sh starts with a settings file made from
conf/cuegw.env, and the stand-in Cuebot behind it (front_nginx.Nginx).

The credentials go where the shipped files put them, in nginx's
fastcgi_param include with SETTINGS_FROM_PARAMS=1 for the pool, when this
cuegw supports per-request settings; otherwise in the pool's environment.
The first line of output says which.

Usage: test_nginx.py --cuegw BUILD/cuegw --schema BUILD/gen/schema.pb
Prints one line per failed check and "integration-nginx: N passed, N failed".
"""

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import front_nginx  # noqa: E402
import auth_matrix  # noqa: E402
import rotation  # noqa: E402
import harness  # noqa: E402
from harness import request, sign_jwt  # noqa: E402

import grpc  # noqa: E402

SECRET = "nginx-secret-0123456789abcdef"
NEW_SECRET = "nginx-secret-rotated-fedcba9876543210"

# SPEC §2-§4 and the README: every setting cuegw reads.
SETTINGS = [
    "CUEBOT_ENDPOINT", "REQUEST_TIMEOUT", "GRPC_MAX_MESSAGE_SIZE", "GRPC_MAX_RECV_MSG_MB",
    "SHARE_READS", "READ_CACHE_MS", "GRPC_KEEPALIVE_TIME", "GRPC_KEEPALIVE_TIMEOUT", "CUEBOT_TLS_CA", "CUEBOT_TLS_CERT",
    "CUEBOT_TLS_KEY", "URL_PREFIX", "HEALTH_PATH", "CORS_ALLOWED_ORIGINS", "METRICS_PATH",
    "METRICS_DIR", "OPENAPI_PATH",
    "JWT_SECRET", "EXPIRING_JWT_SECRET", "JWT_LEEWAY", "AUTH_TOKEN", "EXPIRING_AUTH_TOKEN",
    "AUTH_MODE", "READ_ONLY", "ACCESS_POLICY", "SETTINGS_FROM_PARAMS", "LOG_LEVEL",
    "LOG_FORMAT", "SHUTDOWN_TIMEOUT", "WORKER_THREADS", "ALLOW_CORE_DUMPS", "PARAMS_TIMEOUT", "BODY_TIMEOUT",
    "WRITE_TIMEOUT", "IDLE_TIMEOUT", "ALLOW_NON_LOOPBACK", "FCGI_WEB_SERVER_ADDRS",
]

# Lines nginx logs at warn or above in a healthy run: a large answer spills
# into the temp file (by design, see nginx-cuegw-fastcgi.conf), and the 6 MB body
# test_bodies sends on purpose.
EXPECTED_LOG = ("buffered to a temporary file", "client intended to send too large body")

WRK_LUA = """-- POST GetShows on every connection (wrk keeps them alive), counting
-- every answer that is not 2xx across all threads.
wrk.method = "POST"
wrk.body = "{}"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %s"

local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) non2xx = 0 end
function response(status, headers, body)
  if status < 200 or status > 299 then non2xx = non2xx + 1 end
end
function done(summary, latency, requests)
  local bad = 0
  for _, t in ipairs(threads) do bad = bad + t:get("non2xx") end
  local e = summary.errors
  io.write(string.format("RESULT requests=%%d non2xx=%%d errors=%%d p50_us=%%d p99_us=%%d\\n",
    summary.requests, bad, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""



def per_request_settings(cuegw):
    """Whether this cuegw starts with SETTINGS_FROM_PARAMS=1 and no
    credential in its environment (a cuegw without per-request settings
    refuses to start at once)."""
    env = {"PATH": os.environ.get("PATH", ""), "SETTINGS_FROM_PARAMS": "1",
           "CUEBOT_ENDPOINT": "127.0.0.1:1", "LOG_LEVEL": "error"}
    for k in front_nginx.SANITIZER_ENV:
        if k in os.environ:
            env[k] = os.environ[k]
    sock = os.path.join(tempfile.mkdtemp(prefix="cuegw-probe-"), "probe.sock")
    p = subprocess.Popen([cuegw, "--listen", sock, "--workers", "1"], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    end = time.monotonic() + 1.5
    while time.monotonic() < end:
        if p.poll() is not None:
            return False
        time.sleep(0.05)
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    return True


class Env:
    def __init__(self, args):
        self.args = args
        self.standin = harness.Standin(args.schema).start()
        self.params_mode = per_request_settings(args.cuegw)
        env_settings = {"CUEBOT_ENDPOINT": self.standin.endpoint, "LOG_LEVEL": "info",
                        "REQUEST_TIMEOUT": "20s"}
        if self.params_mode:
            env_settings["SETTINGS_FROM_PARAMS"] = "1"
            print("credentials: nginx fastcgi_param, pool started with SETTINGS_FROM_PARAMS=1")
        else:
            env_settings["JWT_SECRET"] = SECRET
            print("credentials: the pool's environment (this cuegw has no per-request settings)")
        self.nginx = front_nginx.Nginx(args.cuegw, env_settings, {"JWT_SECRET": SECRET},
                                       workers=2).start()
        self.token = sign_jwt(SECRET)

    def post(self, path, body="{}", headers=None, token=None, timeout=60):
        h = {"Content-Type": "application/json",
             "Authorization": "Bearer " + (token or self.token)}
        h.update(headers or {})
        return request(self.nginx.port, "POST", path, body, h, timeout=timeout)


def error_body(r):
    try:
        body = json.loads(r.body)
        return body.get("code") if isinstance(body, dict) and body.get("details") == [] else None
    except ValueError:
        return None


def test_env_file(c, env):
    names = front_nginx.env_names()
    c.check(sorted(names) == sorted(SETTINGS) and len(names) == len(set(names)),
            "conf/cuegw.env lists every setting once", sorted(set(names) ^ set(SETTINGS)))
    missing = {n for n in harness.cuegw_settings_names() if not n.startswith("CUEGW_")} - set(names)
    c.check(not missing, "every setting lighttpd/cuegw.conf passes is in conf/cuegw.env", missing)
    with open(front_nginx.ENV_TEMPLATE) as f:
        values = re.findall(r"^[A-Z_][A-Z0-9_]*=(.*)$", f.read(), re.M)
    c.check(all(v == "" for v in values), "every value in conf/cuegw.env is blank (the default)")
    r = subprocess.run(["/bin/sh", "-c", 'set -a; . "$1"; set +a; env', "sh", front_nginx.ENV_TEMPLATE],
                       env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True, timeout=10)
    seen = {line.split("=", 1)[0] for line in r.stdout.splitlines()}
    c.check(r.returncode == 0 and set(SETTINGS) <= seen, "sh reads conf/cuegw.env",
            (r.returncode, r.stderr))


def test_basics(c, env):
    r = env.post("/show.ShowInterface/GetShows")
    names = []
    if r.status == 200:
        names = sorted(s["name"] for s in r.json()["shows"]["shows"])
    c.check(r.status == 200 and names == ["pipe", "testing"], "GetShows -> 200 with the farm's two shows",
            (r.status, r.body[:300]))
    c.check((r.header("content-type") or "").startswith("application/json"), "as application/json",
            r.header("content-type"))

    r = request(env.nginx.port, "POST", "/show.ShowInterface/GetShows", "{}", {})
    c.check(r.status == 401 and error_body(r) == 16 and r.header("www-authenticate") == "Bearer",
            "no token -> 401, code 16, WWW-Authenticate", (r.status, r.body[:200], r.headers))

    r = request(env.nginx.port, "GET", "/show.ShowInterface/GetShows", None,
                {"Authorization": "Bearer " + env.token})
    c.check(r.status == 405 and error_body(r) == 12 and "POST" in (r.header("allow") or ""),
            "GET -> 405 with Allow", (r.status, r.body[:200], r.header("allow")))

    r = env.post("/show.ShowInterface/NoSuchMethod")
    c.check(r.status == 404 and error_body(r) == 5, "unknown method -> 404", (r.status, r.body[:200]))
    r = env.post("/no.SuchInterface/GetShows")
    c.check(r.status == 404 and error_body(r) == 5, "unknown service -> 404", (r.status, r.body[:200]))

    r = env.post("/show.ShowInterface/GetShows", headers={"X-Request-Id": "nginx-rid-42"})
    c.check(r.header("x-request-id") == "nginx-rid-42", "X-Request-Id passes through nginx both ways",
            r.header("x-request-id"))
    calls = env.standin.calls()
    c.check(calls and calls[-1]["metadata"].get("x-request-id") == "nginx-rid-42",
            "and reaches Cuebot", calls[-1]["metadata"] if calls else None)


def test_bodies(c, env):
    # 5,000,000 bytes: over cuegw's 4 MiB, under nginx's 5m, so cuegw answers.
    body = '{"x":"' + "a" * (5_000_000 - 8) + '"}'
    r = env.post("/show.ShowInterface/GetShows", body)
    # cuegw's answers carry X-Request-Id; nginx's own do not.
    c.check(r.status == 413 and error_body(r) == 8 and r.header("x-request-id"),
            "a 5 MB body -> cuegw's 413, code 8", (r.status, r.body[:200], r.headers))
    # Over nginx's own limit: nginx answers, in cuegw's shape.
    body = '{"x":"' + "a" * (6_000_000 - 8) + '"}'
    r = env.post("/show.ShowInterface/GetShows", body)
    c.check(r.status == 413 and error_body(r) == 8 and not r.header("x-request-id"),
            "a 6 MB body -> nginx's 413, as JSON code 8", (r.status, r.body[:200], r.headers))
    r = env.post("/show.ShowInterface/GetShows")
    c.check(r.status == 200, "served on after refused bodies", r.status)


def test_client_headers_are_not_settings(c, env):
    """Client headers reach cuegw as HTTP_* parameters, which are never
    settings: a token signed with a secret the client names stays refused."""
    bad = sign_jwt("x")
    for headers in ({"JWT-Secret": "x"}, {"Jwt-Secret": "x", "Expiring-Jwt-Secret": "x"},
                    {"JWT_SECRET": "x"}):
        r = env.post("/show.ShowInterface/GetShows", headers=headers, token=bad)
        c.check(r.status == 401, "a token signed with 'x' and %s -> 401" % sorted(headers), r.status)
    for headers in ({"Auth-Token": "x"}, {"Expiring-Auth-Token": "x"}):
        r = env.post("/show.ShowInterface/GetShows", headers=headers, token="x")
        c.check(r.status == 401, "bearer 'x' with %s -> 401" % sorted(headers), r.status)
    r = env.post("/show.ShowInterface/GetShows", headers={"Read-Only": "1", "JWT-Secret": "x"})
    c.check(r.status == 200, "the real token with those headers still works", r.status)
    r = env.post("/show.ShowInterface/SetActive", '{"show": {"id": "x"}}', headers={"Read-Only": "1"})
    c.check(r.status != 403, "a Read-Only header does not make the gateway read-only", r.status)




def test_large_response(c, env):
    path = "/job.JobInterface/GetJobs"
    env.standin.script(method=path, response_bytes=50_000_000, times=2)
    req_cls, resp_cls = harness.method_classes(env.args.schema, "job.JobInterface", "GetJobs")
    channel = grpc.insecure_channel(env.standin.endpoint,
                                    options=[("grpc.max_receive_message_length", -1)])
    try:
        want = channel.unary_unary(path, request_serializer=lambda m: m.SerializeToString(),
                                   response_deserializer=resp_cls.FromString)(req_cls(), timeout=60)
    finally:
        channel.close()
    n = len(want.jobs.jobs)
    t0 = time.monotonic()
    r = env.post(path, timeout=120)
    took = time.monotonic() - t0
    c.check(r.status == 200, "a 50 MB response through nginx -> 200", (r.status, r.body[:200]))
    if r.status == 200:
        jobs = json.loads(r.body)["jobs"]["jobs"]
        c.check(len(jobs) == n and n > 0, "the 50 MB response arrives whole (%d jobs, %.0f MB of JSON, %.1fs)"
                % (n, len(r.body) / 1e6, took), (len(jobs), n))
        c.check(jobs[-1]["id"] == want.jobs.jobs[-1].id, "its last job is the stand-in's last job")
    env.standin.reset()
    r = env.post("/show.ShowInterface/GetShows")
    c.check(r.status == 200, "served on after the large response", r.status)


def test_reload(c, env):
    ng = env.nginx
    old_token, new_token = env.token, sign_jwt(NEW_SECRET)
    ng.set_params({"JWT_SECRET": NEW_SECRET, "EXPIRING_JWT_SECRET": SECRET})
    t0 = time.monotonic()
    ng.reload()
    c.check(time.monotonic() - t0 < 5, "nginx -s reload takes effect promptly", time.monotonic() - t0)
    r_old = env.post("/show.ShowInterface/GetShows", token=old_token)
    c.check(r_old.status == 200, "after a reload, the old token still works", r_old.status)
    if env.params_mode:
        r = env.post("/show.ShowInterface/GetShows", token=new_token)
        c.check(r.status == 200, "rotation: a token of the new secret works after the reload", r.status)
        ng.set_params({"JWT_SECRET": NEW_SECRET})
        ng.reload()
        r = env.post("/show.ShowInterface/GetShows", token=old_token)
        c.check(r.status == 401, "rotation done: the old secret is refused", r.status)
        r = env.post("/show.ShowInterface/GetShows", token=new_token)
        c.check(r.status == 200, "and the new one works", r.status)
        env.token = new_token
        # SETTINGS_FROM_PARAMS=1 and no credential sent: refused, never let through.
        ng.set_params({})
        ng.reload()
        r = env.post("/show.ShowInterface/GetShows")
        c.check(r.status == 500, "no credential parameter at all -> 500, not a pass", (r.status, r.body[:200]))
        ng.set_params({"JWT_SECRET": NEW_SECRET})
        ng.reload()
    # A configuration nginx refuses leaves the running one in place.
    ng.set_params({"JWT_SECRET": "ok"})
    with open(os.path.join(ng.run_dir, "cuegw-secrets.conf"), "a") as f:
        f.write("fastcgi_param BROKEN;\n")
    try:
        ng.reload(timeout=5)
        refused = False
    except RuntimeError:
        refused = True
    c.check(refused, "reload() reports a configuration nginx refused")
    r = env.post("/show.ShowInterface/GetShows")
    c.check(r.status == 200, "and the old configuration serves on", r.status)
    ng.set_params({"JWT_SECRET": NEW_SECRET} if env.params_mode else {"JWT_SECRET": SECRET})
    ng.reload()


def test_pool_script(c, env):
    ng = env.nginx
    rc, out = ng.pool("status")
    c.check(rc == 0, "spawn-fcgi.sh status: every process runs", out)
    rc, out = ng.pool("stop")
    c.check(rc == 0 and not os.path.exists(ng.socket), "spawn-fcgi.sh stop removes the socket", out)
    r = env.post("/show.ShowInterface/GetShows")
    c.check(r.status == 503 and error_body(r) == 14, "pool stopped -> 503 code 14 from nginx, as JSON",
            (r.status, r.body[:200]))
    rc, out = ng.pool("status")
    c.check(rc == 3, "spawn-fcgi.sh status says it is not running (3)", (rc, out))
    rc, out = ng.pool("start")
    c.check(rc == 0 and len(ng.pool_pids()) == ng.workers, "spawn-fcgi.sh start brings it back", out)
    r = env.post("/show.ShowInterface/GetShows")
    c.check(r.status == 200, "and nginx reaches it again", r.status)


def test_wrk(c, env):
    wrk = harness.need("wrk")
    lua = os.path.join(env.nginx.run_dir, "getshows.lua")
    with open(lua, "w") as f:
        f.write(WRK_LUA % env.token)
    r = subprocess.run([wrk, "-t2", "-c16", "-d3s", "-s", lua, env.nginx.url("/show.ShowInterface/GetShows")],
                       capture_output=True, text=True, timeout=60)
    m = re.search(r"RESULT requests=(\d+) non2xx=(\d+) errors=(\d+) p50_us=(\d+) p99_us=(\d+)", r.stdout)
    if not c.check(r.returncode == 0 and m, "wrk ran", r.stdout + r.stderr):
        return
    requests, non2xx, errors, p50, p99 = (int(x) for x in m.groups())
    print("wrk 16 keep-alive connections, 3 s, %d cuegw processes: %d requests (%.0f/s), p50 %.1f ms, "
          "p99 %.1f ms, %d non-2xx, %d socket errors"
          % (env.nginx.workers, requests, requests / 3.0, p50 / 1000, p99 / 1000, non2xx, errors))
    c.check(requests > 0 and non2xx == 0 and errors == 0, "under wrk, every answer is 2xx with no socket error",
            (requests, non2xx, errors))


def test_logs(c, env, pool_down):
    """The pool's processes all survived; nginx logged nothing unexpected
    (outside the window where the pool was stopped on purpose)."""
    ng = env.nginx
    pids = ng.pool_pids()
    alive = [p for p in pids if os.path.exists("/proc/%d" % p)
             and open("/proc/%d/stat" % p).read().split()[2] != "Z"]
    c.check(len(pids) == ng.workers and alive == pids, "no cuegw process died", (pids, alive))
    with open(os.path.join(ng.run_dir, "error.log"), errors="replace") as f:
        text = f.read()
    text = text[:pool_down[0]] + text[pool_down[1]:]
    bad = [line for line in text.splitlines()
           if re.search(r"\[(warn|error|crit|alert|emerg)\]", line) and not any(e in line for e in EXPECTED_LOG)]
    c.check(not bad, "nginx's error log has no unexpected warning or error", "\n".join(bad[:5]))


def log_size(env):
    try:
        return os.path.getsize(os.path.join(env.nginx.run_dir, "error.log"))
    except OSError:
        return 0


def test_auth_matrix(c, env):
    settings = {"CUEBOT_ENDPOINT": env.standin.endpoint, "LOG_LEVEL": "debug",
                "SETTINGS_FROM_PARAMS": "1", "ACCESS_POLICY": auth_matrix.policy_file()}
    srv = front_nginx.Nginx(env.args.cuegw, settings, dict(auth_matrix.SETTINGS), workers=2).start()
    auth_matrix.run(c, "nginx", lambda path, h: request(srv.port, "POST", path, "{}", h))
    srv.stop()
    auth_matrix.check_logs_clean(c, "nginx", srv.error_log())


def test_rotation_under_load(c, env):
    settings = {"CUEBOT_ENDPOINT": env.standin.endpoint, "LOG_LEVEL": "warn", "SETTINGS_FROM_PARAMS": "1"}
    srv = front_nginx.Nginx(env.args.cuegw, settings, rotation.initial_params(), workers=2).start()
    rotation.run(c, "nginx", srv, lambda path, h: request(srv.port, "POST", path, "{}", h))
    srv.stop()


def test_socket_permission(c, env):
    """A pool socket the nginx workers may not connect to (here its mode
    taken away; on a site, a socket whose group is not theirs): nginx logs
    "connect() ... failed (13: Permission denied)" and answers through the
    shipped error page, which must point at the socket's permissions and
    CUEGW_SOCKET_GROUP rather than only say the gateway is not running."""
    settings = {"CUEBOT_ENDPOINT": env.standin.endpoint, "LOG_LEVEL": "warn",
                "SETTINGS_FROM_PARAMS": "1"}
    srv = front_nginx.Nginx(env.args.cuegw, settings, {"JWT_SECRET": SECRET}, workers=1).start()
    try:
        headers = {"Authorization": "Bearer " + sign_jwt(SECRET)}
        mode = os.stat(srv.socket).st_mode & 0o777
        os.chmod(srv.socket, 0)
        r = request(srv.port, "POST", "/show.ShowInterface/GetShows", "{}", headers)
        logged = harness.wait_until(
            lambda: "(13: Permission denied)" in srv._error_log_from(0), 60)
        c.check(logged, "a socket nginx may not reach: nginx logs Permission denied",
                srv._error_log_from(0)[-500:])
        message = ""
        try:
            message = r.json().get("message", "")
        except ValueError:
            pass
        c.check(r.status == 503 and error_body(r) == 14 and "permission" in message.lower()
                and "CUEGW_SOCKET_GROUP" in message,
                "and the 503 says to look at the socket's permissions and CUEGW_SOCKET_GROUP",
                (r.status, r.body[:400]))
        os.chmod(srv.socket, mode)
        r = request(srv.port, "POST", "/show.ShowInterface/GetShows", "{}", headers)
        c.check(r.status == 200, "with the mode back, the same nginx reaches the pool", (r.status, r.body[:200]))
    finally:
        srv.stop()


def test_kept_connections_pin_nothing(c, env):
    """nginx keeps its connections to the pool open (fastcgi_keep_conn,
    keepalive in the upstream), each nginx worker its own. With one cuegw
    process of one thread, a connection one nginx worker holds idle must
    not keep another worker's new connection waiting (before, it waited in
    the listen queue until nginx dropped the idle one, 60 s later)."""
    import concurrent.futures
    settings = {"CUEBOT_ENDPOINT": env.standin.endpoint, "LOG_LEVEL": "warn",
                "SETTINGS_FROM_PARAMS": "1", "WORKER_THREADS": "1"}
    srv = front_nginx.Nginx(env.args.cuegw, settings, {"JWT_SECRET": SECRET}, workers=1).start()
    try:
        headers = {"Authorization": "Bearer " + sign_jwt(SECRET)}

        def one(_):
            try:
                return request(srv.port, "POST", "/show.ShowInterface/GetShows", "{}", headers,
                               timeout=15).status
            except Exception as e:  # a timeout is the failure this looks for
                return repr(e)

        statuses = []
        for _ in range(3):       # rounds, so idle kept connections exist between them
            with concurrent.futures.ThreadPoolExecutor(12) as pool:
                statuses += list(pool.map(one, range(24)))
            time.sleep(0.2)
        c.check(all(s == 200 for s in statuses),
                "with nginx holding idle kept connections, every request is answered within 15 s",
                [s for s in statuses if s != 200][:5])
    finally:
        srv.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cuegw", required=True)
    ap.add_argument("--schema", required=True)
    args = ap.parse_args()
    c = harness.Checks()
    env = None
    try:
        env = Env(args)
        steps = [test_env_file, test_basics, test_bodies, test_client_headers_are_not_settings,
                 test_large_response, test_reload, test_auth_matrix, test_rotation_under_load,
                 test_kept_connections_pin_nothing, test_socket_permission, "pool", test_wrk]
        pool_down = [0, 0]

        def pool_script():
            start = log_size(env)
            test_pool_script(c, env)
            pool_down[:] = [start, log_size(env)]

        for t in steps:
            if t == "pool":
                harness.run_step(c, "test_pool_script", pool_script)
            else:
                harness.run_step(c, t.__name__, lambda: t(c, env))
        test_logs(c, env, pool_down)
    except Exception:
        c.check(False, "the servers started", traceback.format_exc())
    finally:
        try:
            harness.stop_all()
        except Exception:
            c.check(False, "everything stopped", traceback.format_exc())
        crashes = harness.crash_reports()
        c.check(not crashes, "no crash or sanitizer report in the logs", "\n".join(crashes[:10]))
        if env is not None and c.failed:
            for name in ("error.log", "nginx.out", "pool/cuegw.log"):
                try:
                    with open(os.path.join(env.nginx.run_dir, name), errors="replace") as f:
                        tail = f.read().splitlines()[-20:]
                except OSError:
                    continue
                print("--- %s (last 20 lines) ---" % name)
                print("\n".join(tail))
        if c.failed:
            harness.report_kept_logs(args.cuegw, "integration-nginx")
    print("integration-nginx: %d passed, %d failed" % (c.passed, c.failed))
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
