#!/usr/bin/python3
"""Smoke test of the shipped Apache deployments (apache/httpd.conf and its
two snippets), started as they are, in front of the stand-in Cuebot:

  apache-fcgid       mod_fcgid spawns the cuegw processes
  apache-proxy-fcgi  mod_proxy_fcgi in front of a `cuegw --listen` pool

Through each: a call and its JSON, the Authorization header reaching cuegw,
cuegw's own 401/405/404/413 answers (not Apache's), a 50 MB response
arriving whole, X-Request-Id and Origin passing both ways, a client header
that looks like a setting changing nothing, and a graceful restart that
re-reads the secrets file.

Usage: test_apache.py --cuegw BUILD/cuegw --schema BUILD/gen/schema.pb
Prints one line per failed check and "integration-apache: N passed, N failed".
"""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import front_apache  # noqa: E402
import auth_matrix  # noqa: E402
import rotation  # noqa: E402
import harness  # noqa: E402
from harness import request, sign_jwt  # noqa: E402

import grpc  # noqa: E402

SECRET = "apache-secret-0123456789abcdef"
NEW_SECRET = "apache-secret-rotated-fedcba9876"
SHOWS = "/show.ShowInterface/GetShows"
JOBS = "/job.JobInterface/GetJobs"





def error_code(r):
    """The gRPC code of cuegw's JSON error body, or None when the body is
    not cuegw's (an HTML page of Apache's, say)."""
    try:
        body = r.json()
        return body["code"] if set(body) == {"code", "message", "details"} else None
    except (ValueError, TypeError, KeyError):
        return None


def start_front(args, cls, standin, prefix):
    env_settings = {"CUEBOT_ENDPOINT": standin.endpoint, "LOG_LEVEL": "info", "URL_PREFIX": prefix}
    return cls(args.cuegw, env_settings, {"JWT_SECRET": SECRET}, workers=2).start()


def poster(front, prefix, token):
    auth = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}

    def post(path, body="{}", headers=None, **kw):
        h = dict(auth)
        h.update(headers or {})
        return request(front.port, "POST", prefix + path, body, h, **kw)
    return post


def check_prefix(c, front, prefix, token):
    """The API is where URL_PREFIX puts it, and only there."""
    name = "%s at %r" % (front.name, prefix)
    post = poster(front, prefix, token)
    r = post(SHOWS + "?q=1")
    c.check(r.status == 200, "%s: GetShows (with a query string) -> 200" % name, (r.status, r.body[:200]))
    r = post("/")
    c.check(r.status == 404 and error_code(r) == 5, "%s: %s/ is cuegw's (404)" % (name, prefix),
            (r.status, r.body[:200]))
    log = front.error_log()
    c.check("AH01630" not in log, "%s: API requests log no 'client denied' (no PATH_INFO lookup)" % name,
            [l for l in log.splitlines() if "AH01630" in l][:2])
    if prefix:
        r = request(front.port, "POST", SHOWS, "{}", {"Authorization": "Bearer " + token})
        c.check(r.status in (403, 404) and r.header("x-request-id") is None,
                "%s: a path outside the prefix does not reach cuegw" % name, (r.status, r.headers))


def run_front(c, args, cls, standin, channel, classes, prefix):
    name = cls.name
    token = sign_jwt(SECRET)
    auth = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
    front = start_front(args, cls, standin, prefix)
    port = front.port
    post = poster(front, prefix, token)
    c.check(os.stat(front.secrets).st_mode & 0o777 == 0o600, "%s: the secrets file is mode 600" % name)
    check_prefix(c, front, prefix, token)

    r = request(port, "OPTIONS", prefix + SHOWS, None,
                {"Origin": "https://cueweb.example", "Access-Control-Request-Method": "POST"})
    c.check(r.status == 204 and r.header("access-control-allow-origin") == "*",
            "%s: a CORS preflight reaches cuegw (204)" % name, (r.status, r.headers))

    r = post(SHOWS)
    names = sorted(s["name"] for s in r.json()["shows"]["shows"]) if r.status == 200 else None
    c.check(r.status == 200 and names == ["pipe", "testing"],
            "%s: GetShows -> 200 with the farm's two shows" % name, (r.status, r.body[:300]))
    c.check((r.header("content-type") or "").startswith("application/json"),
            "%s: the answer is JSON" % name, r.headers)

    # Authorization really reaches cuegw: without it 401, with a token of
    # another secret 401, with ours 200 (above).
    r = request(port, "POST", prefix + SHOWS, "{}", {"Content-Type": "application/json"})
    c.check(r.status == 401 and error_code(r) == 16, "%s: no token -> cuegw's 401" % name,
            (r.status, r.body[:200]))
    c.check(r.header("www-authenticate") == "Bearer", "%s: WWW-Authenticate: Bearer survives" % name,
            r.headers)
    r = post(SHOWS, headers={"Authorization": "Bearer " + sign_jwt("not-" + SECRET)})
    c.check(r.status == 401, "%s: a token of another secret -> 401" % name, (r.status, r.body[:200]))

    r = request(port, "GET", prefix + SHOWS, None, {"Authorization": auth["Authorization"]})
    c.check(r.status == 405 and error_code(r) == 12 and "POST" in (r.header("allow") or ""),
            "%s: GET -> cuegw's 405 with Allow" % name, (r.status, r.headers, r.body[:200]))
    r = post("/show.ShowInterface/NoSuchMethod")
    c.check(r.status == 404 and error_code(r) == 5, "%s: unknown method -> cuegw's 404" % name,
            (r.status, r.body[:200]))

    big = '{"name":"' + "a" * 5_000_000 + '"}'
    r = post("/show.ShowInterface/FindShow", big, timeout=60)
    c.check(r.status == 413 and error_code(r) == 8, "%s: a 5 MB body -> cuegw's 413, code 8" % name,
            (r.status, r.headers, r.body[:300]))
    r = post(SHOWS)
    c.check(r.status == 200, "%s: the gateway serves on after a 413" % name, r.status)
    # Beyond what the front lets through, a body must never become a call
    # (mod_fcgid runs a request whose body Apache refused with an empty
    # body; the shipped snippet leaves the limit to FcgidMaxRequestLen).
    standin.reset()
    r = post("/show.ShowInterface/CreateShow", '{"name":"' + "b" * 20_000_000 + '"}', timeout=60)
    made = [x for x in standin.calls() if x["method"].endswith("/CreateShow")]
    c.check(r.status in (413, 500) and not made, "%s: a 20 MB body is refused, never called" % name,
            (r.status, r.body[:200], made[:1]))

    # X-Request-Id passes both ways; Origin reaches cuegw (its CORS answer).
    r = post(SHOWS, headers={"X-Request-Id": "apache-rid-%s-1" % name, "Origin": "https://cueweb.example"})
    c.check(r.status == 200 and r.header("x-request-id") == "apache-rid-%s-1" % name,
            "%s: the client's X-Request-Id comes back" % name, r.headers)
    c.check(r.header("access-control-allow-origin") == "*" and "Origin" in (r.header("vary") or ""),
            "%s: Origin reaches cuegw (CORS headers in the answer)" % name, r.headers)
    seen = [call["metadata"].get("x-request-id") for call in standin.calls()]
    c.check("apache-rid-%s-1" % name in seen, "%s: and reaches Cuebot as x-request-id" % name, seen[-3:])
    r = post(SHOWS)
    c.check(len(r.header("x-request-id") or "") >= 16, "%s: without one, cuegw makes one up" % name,
            r.headers)

    # A client header that looks like a setting is never read as one.
    r = post(SHOWS, headers={"JWT-Secret": "x", "Authorization": "Bearer " + sign_jwt("x")})
    c.check(r.status == 401, "%s: JWT-Secret: x with a token signed by x -> still 401" % name,
            (r.status, r.body[:200]))
    r = post(SHOWS, headers={"JWT-Secret": "x"})
    c.check(r.status == 200, "%s: JWT-Secret: x with a good token -> still 200" % name, r.status)

    # 50 MB of JSON arrives whole.
    standin.reset()
    standin.script(method=JOBS, response_bytes=50_000_000, times=2)
    req_cls, resp_cls = classes
    call = channel.unary_unary(JOBS, request_serializer=lambda m: m.SerializeToString(),
                               response_deserializer=resp_cls.FromString)
    want = call(req_cls(), timeout=60)
    t0 = time.monotonic()
    r = post(JOBS, timeout=120)
    took = time.monotonic() - t0
    if c.check(r.status == 200, "%s: a 50 MB response -> 200" % name, (r.status, r.body[:300])):
        try:
            jobs = json.loads(r.body)["jobs"]["jobs"]
        except (ValueError, KeyError) as e:
            jobs = None
            c.check(False, "%s: the 50 MB response is JSON" % name, "%s; %d bytes" % (e, len(r.body)))
        if jobs is not None:
            c.check(len(jobs) == len(want.jobs.jobs),
                    "%s: the 50 MB response arrives whole (%d jobs, %.1f MB in %.1fs)"
                    % (name, len(want.jobs.jobs), len(r.body) / 1e6, took),
                    (len(jobs), len(want.jobs.jobs)))
            c.check(jobs[-1]["name"] == want.jobs.jobs[-1].name, "%s: its last job is intact" % name,
                    str(jobs[-1])[:200])
    standin.reset()
    r = post(SHOWS)
    c.check(r.status == 200, "%s: the gateway serves on after a large response" % name, r.status)

    # Graceful restart, no load: still serving.
    front.reload()
    ok = [post(SHOWS).status for _ in range(6)]
    c.check(ok == [200] * 6, "%s: after apache2 -k graceful, requests still 200" % name, ok)

    # A rotation is an edit of the secrets file and a graceful restart.
    new = {"Authorization": "Bearer " + sign_jwt(NEW_SECRET)}
    front.set_params({"JWT_SECRET": NEW_SECRET, "EXPIRING_JWT_SECRET": SECRET})
    r = post(SHOWS, headers=new)
    c.check(r.status == 401, "%s: the secrets file is read only at a reload" % name, r.status)
    front.reload()
    # reload() returns once only new children hold the listening socket,
    # but an old-generation child Apache forked for spare threads just
    # before the graceful restart is not known to be old and can still
    # take a connection with the old secrets (seen once under the
    # sanitizers: 401). The new configuration is in effect once a request
    # with the new secret is answered; the check is then that both work.
    harness.wait_until(lambda: post(SHOWS, headers=new).status == 200, 60, 0.05)
    got = (post(SHOWS, headers=new).status, post(SHOWS).status)
    c.check(got == (200, 200), "%s: rotating: the new and the expiring secret both accepted" % name, got)
    front.set_params({"JWT_SECRET": NEW_SECRET})
    front.reload()
    got = (post(SHOWS, headers=new).status, post(SHOWS).status)
    c.check(got == (200, 401), "%s: rotated: the old secret refused" % name, got)

    front.stop()
    log = front.error_log()
    c.check(SECRET not in log and NEW_SECRET not in log, "%s: no secret in the logs" % name)
    if isinstance(front, front_apache.ApacheProxyFcgi):
        c.check(front.pool.returncode == 0, "%s: the pool stops with status 0" % name,
                front.pool.returncode)
    else:
        exits = [l for l in log.splitlines() if "mod_fcgid: process" in l and " exit(" in l]
        c.check(exits and all("return code: 0" in l for l in exits),
                "%s: on each graceful restart and at the end, mod_fcgid's cuegw processes exit 0" % name,
                exits[:4])
    if c.failed:
        print("--- %s error log (last 30 lines) ---" % name)
        print("\n".join(log.splitlines()[-30:]))


def run_auth(c, args, cls, standin):
    """The auth matrix through this front, and the rotation runbook under
    load where the front can do it (see ROTATES_UNDER_LOAD)."""
    env_settings = {"CUEBOT_ENDPOINT": standin.endpoint, "LOG_LEVEL": "debug",
                    "ACCESS_POLICY": auth_matrix.policy_file()}
    front = cls(args.cuegw, env_settings, dict(auth_matrix.SETTINGS), workers=2).start()
    auth_matrix.run(c, cls.name, lambda path, h: request(front.port, "POST", path, "{}", h))
    front.stop()
    auth_matrix.check_logs_clean(c, cls.name, front.error_log())
    if cls.name not in ROTATES_UNDER_LOAD:
        return
    env_settings = {"CUEBOT_ENDPOINT": standin.endpoint, "LOG_LEVEL": "warn"}
    front = cls(args.cuegw, env_settings, rotation.initial_params(), workers=2).start()
    rotation.run(c, cls.name, front, lambda path, h: request(front.port, "POST", path, "{}", h))
    front.stop()


# mod_fcgid 2.3.9 loses requests that wait for a process while a graceful
# restart replaces its process manager (they hang until the Apache child is
# killed), so only the mod_proxy_fcgi deployment is rotated under load; the
# README says to use it where secrets rotate on a busy gateway.
ROTATES_UNDER_LOAD = ("apache-proxy-fcgi",)


def keepalive_past_poll(c, args, cls, standin, prefix):
    """CueWeb polls every 5 s: a kept connection idle that long still takes
    the next poll (httpd.conf: KeepAliveTimeout). Once: both modes share
    httpd.conf."""
    front = start_front(args, cls, standin, prefix)
    try:
        headers = {"Authorization": "Bearer " + sign_jwt(SECRET), "Content-Type": "application/json"}
        first, second = harness.kept_past(front.port, prefix + SHOWS, headers, 6)
        c.check(first == 200 and second == 200,
                "%s: a kept connection idle for 6 s takes the next request" % cls.name,
                (first, second))
    finally:
        front.stop()


def run(c, args):
    front_apache.apache_binary()
    standin = harness.Standin(args.schema).start()
    channel = grpc.insecure_channel(
        standin.endpoint,
        options=[("grpc.max_receive_message_length", -1), ("grpc.max_send_message_length", -1)])
    classes = harness.method_classes(args.schema, "job.JobInterface", "GetJobs")

    def whole(cls, prefix, other):
        run_front(c, args, cls, standin, channel, classes, prefix)
        if cls is front_apache.ApacheProxyFcgi:
            keepalive_past_poll(c, args, cls, standin, prefix)
        run_auth(c, args, cls, standin)
        front = start_front(args, cls, standin, other)
        check_prefix(c, front, other, sign_jwt(SECRET))
        front.stop()

    # Each front in full at one URL_PREFIX, then briefly at the other.
    fronts = [("fcgid", front_apache.ApacheFcgid, "/cue", ""),
              ("proxy", front_apache.ApacheProxyFcgi, "", "/cue")]
    for key, cls, prefix, other in fronts:
        if not args.only or args.only == key:
            harness.run_step(c, cls.name, lambda: whole(cls, prefix, other))


def main():
    return harness.suite_main(
        "integration-apache", run,
        lambda ap: ap.add_argument("--only", choices=["fcgid", "proxy"],
                                   help="run one of the two fronts"))

if __name__ == "__main__":
    sys.exit(main())
