#!/usr/bin/python3
"""End-to-end tests through a real lighttpd, started from the shipped
lighttpd/lighttpd.conf, with its pool of cuegw processes, in front of the
stand-in Cuebot (a real gRPC server).

The JSON the gateway answers is checked against the canonical mapping:
python3-protobuf's json_format parses it back into the response type and
the result must equal what the stand-in sends when called directly.

Usage: test_lighttpd.py --cuegw BUILD/cuegw --schema BUILD/gen/schema.pb
Prints one line per failed check and "integration-lighttpd: N passed, N failed".
"""

import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import auth_matrix  # noqa: E402
import harness  # noqa: E402
import rotation  # noqa: E402
from harness import request, sign_jwt  # noqa: E402

import grpc  # noqa: E402
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory  # noqa: E402

# SPEC §1: the 22 interfaces the gateway serves, stated here independently
# of the gateway's own route table.
SERVICES = [
    "show.ShowInterface", "job.JobInterface", "job.FrameInterface", "job.LayerInterface",
    "job.GroupInterface", "host.HostInterface", "host.DeedInterface", "host.OwnerInterface",
    "host.ProcInterface", "comment.CommentInterface", "facility.FacilityInterface",
    "facility.AllocationInterface", "filter.FilterInterface", "filter.ActionInterface",
    "filter.MatcherInterface", "depend.DependInterface", "subscription.SubscriptionInterface",
    "limit.LimitInterface", "service.ServiceInterface", "service.ServiceOverrideInterface",
    "task.TaskInterface", "department.DepartmentInterface",
]

# SPEC §1: gRPC code -> HTTP status.
HTTP_OF_CODE = {1: 499, 2: 500, 3: 400, 4: 504, 5: 404, 6: 409, 7: 403, 8: 429, 9: 400,
                10: 409, 11: 400, 12: 501, 13: 500, 14: 503, 15: 500, 16: 401}

SECRET = "integration-secret-0123456789"



class Schema:
    def __init__(self, path):
        fds = descriptor_pb2.FileDescriptorSet()
        with open(path, "rb") as f:
            fds.ParseFromString(f.read())
        self.pool = descriptor_pool.DescriptorPool()
        for fd in fds.file:
            self.pool.Add(fd)
        self.factory = message_factory.MessageFactory(self.pool)

    def cls(self, desc):
        return self.factory.GetPrototype(desc)

    def routes(self):
        out = []
        for name in SERVICES:
            svc = self.pool.FindServiceByName(name)
            for m in svc.methods:
                if m.client_streaming or m.server_streaming:
                    continue
                out.append(("/%s/%s" % (name, m.name), self.cls(m.input_type), self.cls(m.output_type)))
        return out


class Env:
    """What the tests share: the stand-in, the main lighttpd, a token."""

    def __init__(self, args):
        self.args = args
        self.schema = Schema(args.schema)
        self.standin = harness.Standin(args.schema).start()
        self.channel = grpc.insecure_channel(
            self.standin.endpoint,
            options=[("grpc.max_receive_message_length", -1), ("grpc.max_send_message_length", -1)])
        self.token = sign_jwt(SECRET)
        self.auth = {"Authorization": "Bearer " + self.token, "Content-Type": "application/json"}
        self.main = self.lighttpd({})

    def lighttpd(self, extra, workers=2):
        settings = {"CUEBOT_ENDPOINT": self.standin.endpoint, "JWT_SECRET": SECRET,
                    "REQUEST_TIMEOUT": "2s", "GRPC_MAX_MESSAGE_SIZE": "1048576",
                    "HEALTH_PATH": "/healthz", "LOG_LEVEL": "info"}
        settings.update(extra)
        return harness.Lighttpd(self.args.cuegw, settings, workers=workers).start()

    def post(self, path, body="{}", headers=None, server=None, timeout=60):
        h = dict(self.auth)
        h.update(headers or {})
        return request((server or self.main).port, "POST", path, body, h, timeout=timeout)

    def direct(self, path, req_cls, resp_cls, req_msg):
        call = self.channel.unary_unary(path, request_serializer=lambda m: m.SerializeToString(),
                                        response_deserializer=resp_cls.FromString)
        return call(req_msg, timeout=60)


def parse_as(resp_cls, body):
    """json_format.Parse, except that "-0" stays a negative zero: Python's
    json reads it as the integer 0, which has no sign, while protojson
    writes a float's -0.0 as -0."""
    tree = json.loads(body, parse_int=lambda t: -0.0 if t == "-0" else int(t))
    msg = resp_cls()
    json_format.ParseDict(tree, msg, ignore_unknown_fields=False)
    return msg


def strip_nulls(v):
    if isinstance(v, dict):
        return {k: strip_nulls(x) for k, x in v.items() if x is not None}
    if isinstance(v, list):
        return [strip_nulls(x) for x in v]
    return v


def missing_fields(d, desc, where=""):
    """Fields of desc absent from the JSON object d (oneof members may be)."""
    out = []
    for f in desc.fields:
        if f.containing_oneof is not None:
            continue
        if f.json_name not in d:
            out.append(where + f.json_name)
            continue
        v = d[f.json_name]
        if f.message_type is not None and not f.message_type.GetOptions().map_entry and v is not None:
            for i, item in enumerate(v if isinstance(v, list) else [v]):
                out += missing_fields(item, f.message_type, "%s%s[%d]." % (where, f.json_name, i))
    return out


def is_error_body(c, r, code, what):
    try:
        b = r.json()
    except ValueError:
        return c.check(False, what + ": error body is JSON", r.body[:200])
    ok = (isinstance(b, dict) and set(b) == {"code", "message", "details"} and b["code"] == code
          and isinstance(b["message"], str) and b["details"] == [])
    c.check(ok, what + ": error body {code,message,details} with code %d" % code, b)
    c.check(r.header("content-type") == "application/json", what + ": JSON content type",
            r.header("content-type"))
    return b


# ---- the tests --------------------------------------------------------------

def test_every_route(c, env):
    """Every route answers 200, with Cuebot answering a message that has
    every field populated; the JSON must parse back to that very message."""
    routes = env.schema.routes()
    c.check(len(routes) == 273, "the schema has 273 unary routes", len(routes))
    env.standin.script(method="*", fill="random")
    populated = with_fields = 0
    for path, req_cls, resp_cls in routes:
        r = env.post(path, "{}")
        if not c.check(r.status == 200, path + " answers 200", (r.status, r.body[:200])):
            continue
        try:
            got = parse_as(resp_cls, r.body)
        except Exception as e:
            c.check(False, path + " answers JSON of its response type", e)
            continue
        want = env.direct(path, req_cls, resp_cls, req_cls())
        c.check(got == want, path + " JSON equals the stand-in's answer",
                (json_format.MessageToDict(got), json_format.MessageToDict(want)))
        populated += got.ByteSize() > 0
        with_fields += bool(resp_cls.DESCRIPTOR.fields)
    # Many response types have no fields, and a lone bool may be drawn
    # false; every other answer must carry data for the check to mean much.
    c.check(populated >= with_fields - 5, "the answers compared were populated",
            (populated, with_fields))
    env.standin.reset()


def test_farm_reads_back(c, env):
    s = env.schema
    pool = s.pool
    shows = env.post("/show.ShowInterface/GetShows").json()
    names = sorted(x["name"] for x in shows["shows"]["shows"])
    c.check(names == ["pipe", "testing"], "GetShows lists the two sample shows", names)
    c.check(all(isinstance(x["id"], str) and x["active"] is True for x in shows["shows"]["shows"]),
            "shows carry ids and active flags", shows)

    body = {"r": {"shows": ["testing"], "includeFinished": True}}
    jobs = env.post("/job.JobInterface/GetJobs", json.dumps(body)).json()
    jnames = sorted(j["name"] for j in jobs["jobs"]["jobs"])
    c.check(jnames == ["testing-sh01-lighting_v3", "testing-sh02-fx_sim_v1"],
            "GetJobs for show testing", jnames)
    # The request reached Cuebot as sent.
    calls = [x for x in env.standin.calls() if x["method"] == "/job.JobInterface/GetJobs"]
    c.check(calls and calls[-1]["request"] == body, "the GetJobs request reached Cuebot intact",
            calls[-1:] if calls else None)
    # 64-bit integers are strings, enums are names.
    j = jobs["jobs"]["jobs"][0]
    c.check(isinstance(j["state"], str) and j["state"] in ("PENDING", "FINISHED"),
            "job state is an enum name", j.get("state"))
    c.check(isinstance(j["startTime"], int), "int32 startTime is a number", j.get("startTime"))

    all_jobs = env.post("/job.JobInterface/GetJobs", json.dumps({"r": {"includeFinished": True}})).json()
    c.check(len(all_jobs["jobs"]["jobs"]) == 4, "GetJobs with includeFinished finds 4 jobs",
            len(all_jobs["jobs"]["jobs"]))

    job = next(j for j in all_jobs["jobs"]["jobs"] if j["name"] == "pipe-sh10-comp_v12")
    frames = env.post("/job.JobInterface/GetFrames", json.dumps({"job": job, "req": {}})).json()
    fl = frames["frames"]["frames"]
    c.check(len(fl) == 21, "GetFrames of pipe-sh10-comp_v12 has 21 frames", len(fl))
    c.check(sorted(set(f["layerName"] for f in fl)) == ["comp", "prep", "render"],
            "frames name their layers", sorted(set(f.get("layerName") for f in fl)))

    # Whole answers equal the stand-in's own, field for field.
    for path, req in (("/show.ShowInterface/GetShows", {}),
                      ("/job.JobInterface/GetJobs", {"r": {"includeFinished": True}}),
                      ("/job.JobInterface/GetFrames", {"job": job, "req": {}}),
                      ("/host.HostInterface/GetHosts", {"r": {}})):
        svc, meth = path[1:].split("/")
        md = pool.FindServiceByName(svc).FindMethodByName(meth)
        req_cls, resp_cls = s.cls(md.input_type), s.cls(md.output_type)
        r = env.post(path, json.dumps(req))
        want = env.direct(path, req_cls, resp_cls, json_format.ParseDict(req, req_cls()))
        c.check(r.status == 200 and parse_as(resp_cls, r.body) == want,
                path + " reads back the farm exactly", r.body[:300])
        # Every field is emitted, defaults included, an unset message as null
        # (SPEC §1; json_format leaves unset messages out instead).
        got = json.loads(r.body)
        c.check(strip_nulls(got) == json_format.MessageToDict(want, including_default_value_fields=True),
                path + " emits defaults like protojson", r.body[:300])
        missing = missing_fields(got, resp_cls.DESCRIPTOR)
        c.check(not missing, path + " emits every field", missing[:10])


def test_error_codes(c, env):
    path = "/show.ShowInterface/GetShows"
    for code in range(1, 17):
        env.standin.script(method=path, code=code, message="scripted failure %d" % code, times=1)
        r = env.post(path)
        c.check(r.status == HTTP_OF_CODE[code], "gRPC code %d -> HTTP %d" % (code, HTTP_OF_CODE[code]),
                (r.status, r.body[:200]))
        b = is_error_body(c, r, code, "gRPC code %d" % code)
        c.check(b and b.get("message") == "scripted failure %d" % code,
                "gRPC code %d passes Cuebot's message through" % code, b)
        # grpc-gateway's rule: every 401, Cuebot's own included, names the scheme.
        want = "Bearer" if code == 16 else None
        c.check(r.header("www-authenticate") == want,
                "gRPC code %d -> WWW-Authenticate %s" % (code, want), r.header("www-authenticate"))
    env.standin.reset()
    r = env.post(path)
    c.check(r.status == 200, "after the scripts, calls succeed again", r.status)


def test_http_errors(c, env):
    port = env.main.port
    r = request(port, "POST", "/no.SuchInterface/Nothing", "{}", env.auth)
    c.check(r.status == 404, "unknown service -> 404", r.status)
    is_error_body(c, r, 5, "unknown service")
    r = request(port, "POST", "/show.ShowInterface/NoSuchMethod", "{}", env.auth)
    c.check(r.status == 404, "unknown method -> 404", r.status)
    for odd in ("/show.ShowInterface/GetShows/", "/show.ShowInterface//GetShows",
                "/show.ShowInterface/%47etShows", "//show.ShowInterface/GetShows"):
        r = request(port, "POST", odd, "{}", env.auth)
        c.check(r.status == 404, "path %s is not folded or decoded -> 404" % odd, r.status)
    r = request(port, "POST", "/show.ShowInterface/GetShows?x=1&token=abc", "{}", env.auth)
    c.check(r.status == 200, "the query string is dropped from the route", r.status)

    r = request(port, "GET", "/show.ShowInterface/GetShows", None, env.auth)
    c.check(r.status == 405, "GET -> 405", r.status)
    c.check(r.header("allow") == "POST, OPTIONS", "405 carries Allow: POST, OPTIONS", r.header("allow"))
    is_error_body(c, r, 12, "GET")

    r = env.post("/show.ShowInterface/FindShow", '{"name": ')
    c.check(r.status == 400, "malformed JSON -> 400", r.status)
    is_error_body(c, r, 3, "malformed JSON")
    r = env.post("/job.JobInterface/GetJobs", '{"r": {"includeFinished": "yes"}}')
    b = is_error_body(c, r, 3, "wrong type")
    c.check(r.status == 400 and b and "includeFinished" in b.get("message", ""),
            "a wrong type names the field", b)
    r = env.post("/show.ShowInterface/GetShows", "[]")
    c.check(r.status == 400, "a body that is not an object -> 400", r.status)
    r = env.post("/show.ShowInterface/GetShows", "")
    c.check(r.status == 200, "an empty body is {}", r.status)

    big = json.dumps({"name": "x" * (1536 * 1024)})
    r = env.post("/show.ShowInterface/FindShow", big)
    c.check(r.status == 413, "a body over GRPC_MAX_MESSAGE_SIZE -> 413", r.status)
    is_error_body(c, r, 8, "over-size body")
    r = env.post("/show.ShowInterface/GetShows")
    c.check(r.status == 200, "the worker serves on after a 413", r.status)


def test_auth_basics(c, env):
    port = env.main.port
    r = request(port, "GET", "/", None, {})
    c.check(r.status == 401, "/ without credentials -> 401", r.status)
    c.check(r.header("www-authenticate") == "Bearer", "401 carries WWW-Authenticate: Bearer",
            r.header("www-authenticate"))
    is_error_body(c, r, 16, "no credentials")
    r = request(port, "POST", "/show.ShowInterface/GetShows", "{}", {})
    c.check(r.status == 401, "a method without credentials -> 401", r.status)
    bad = sign_jwt("another-secret")
    r = request(port, "POST", "/show.ShowInterface/GetShows", "{}", {"Authorization": "Bearer " + bad})
    c.check(r.status == 401, "a token signed with another secret -> 401", r.status)
    expired = sign_jwt(SECRET, {"exp": int(time.time()) - 60})
    r = request(port, "POST", "/show.ShowInterface/GetShows", "{}", {"Authorization": "Bearer " + expired})
    c.check(r.status == 401, "an expired token -> 401", r.status)
    for alg in ("HS384", "HS512"):
        t = sign_jwt(SECRET, alg=alg)
        r = request(port, "POST", "/show.ShowInterface/GetShows", "{}", {"Authorization": "Bearer " + t})
        c.check(r.status == 200, "an %s token is accepted" % alg, r.status)
    r = request(port, "GET", "/show.ShowInterface/GetShows?access_token=" + env.token, None, {})
    c.check(r.status == 401, "a token in the query string is not read", r.status)

    r = request(port, "GET", "/healthz", None, {})
    c.check(r.status == 200 and r.json() == {"status": "SERVING"}, "HEALTH_PATH answers SERVING",
            (r.status, r.body))


def test_request_id(c, env):
    env.standin.reset()
    r = env.post("/show.ShowInterface/GetShows", headers={"X-Request-Id": "rid-test-42"})
    c.check(r.header("x-request-id") == "rid-test-42", "X-Request-Id is echoed", r.header("x-request-id"))
    calls = env.standin.calls()
    c.check(calls and calls[-1]["metadata"].get("x-request-id") == "rid-test-42",
            "X-Request-Id reaches Cuebot as metadata", calls[-1:] if calls else None)
    r = env.post("/show.ShowInterface/GetShows")
    rid = r.header("x-request-id") or ""
    calls = env.standin.calls()
    c.check(len(rid) == 32 and calls[-1]["metadata"].get("x-request-id") == rid,
            "without one, a fresh id is made and sent", (rid, calls[-1:]))


def test_cors(c, env):
    port = env.main.port
    pre = {"Origin": "https://cueweb.example", "Access-Control-Request-Method": "POST",
           "Access-Control-Request-Headers": "authorization, content-type, x-request-id"}
    r = request(port, "OPTIONS", "/show.ShowInterface/GetShows", None, pre)
    c.check(r.status == 204, "preflight -> 204 without credentials", r.status)
    c.check(r.header("access-control-allow-origin") == "*", "wildcard origin by default",
            r.header("access-control-allow-origin"))
    c.check(r.header("access-control-allow-methods") == "POST, OPTIONS", "preflight allows POST, OPTIONS",
            r.header("access-control-allow-methods"))
    allow = (r.header("access-control-allow-headers") or "").lower()
    c.check("authorization" in allow and "content-type" in allow and "x-request-id" in allow,
            "preflight allows the requested headers", allow)
    c.check((r.header("access-control-max-age") or "").isdigit(), "preflight has Max-Age",
            r.header("access-control-max-age"))
    r = env.post("/show.ShowInterface/GetShows", headers={"Origin": "https://cueweb.example"})
    c.check(r.status == 200 and r.header("access-control-allow-origin") == "*"
            and r.header("vary") == "Origin", "actual request carries CORS headers", r.headers)
    r = env.post("/show.ShowInterface/GetShows")
    c.check(r.header("access-control-allow-origin") is None, "no Origin, no CORS headers", r.headers)
    # That answer would have carried them for an Origin: a cache must not
    # hand it to a page.
    c.check("Origin" in [v.strip() for v in (r.header("vary") or "").split(",")],
            "no Origin: the answer still says Vary: Origin", r.headers)


def uid_of(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            return int(re.search(r"^Uid:\s+(\d+)", f.read(), re.M).group(1))
    except (OSError, AttributeError):
        return None


def test_privileges_and_access_log(c, env):
    """The shipped lighttpd.conf writes an access log and, started as root,
    runs lighttpd and every cuegw process as an unprivileged user."""
    srv = env.main
    rid = "access-log-%d" % os.getpid()
    r = env.post("/show.ShowInterface/GetShows", headers={"X-Request-Id": rid})
    c.check(r.status == 200, "a call to look for in the access log", r.status)
    # A token in the query string (never read: 401) must not be logged.
    leak = rid + "-query"
    r = request(srv.port, "GET", "/show.ShowInterface/GetShows?access_token=" + env.token, None,
                {"X-Request-Id": leak})
    c.check(r.status == 401, "a token in the query string -> 401", r.status)
    log = os.path.join(srv.run_dir, "access.log")

    def line():
        try:
            with open(log, errors="replace") as f:
                return [x for x in f.read().splitlines() if rid in x]
        except OSError:
            return None
    lines = harness.wait_until(lambda: (lambda ls: ls if ls and len(ls) == 2 else None)(line()), 60)
    c.check(lines and '"POST /show.ShowInterface/GetShows HTTP/1.1" 200 ' in lines[0],
            "lighttpd's access log has the call, its status and its request id", (log, lines))
    c.check(lines and '"GET /show.ShowInterface/GetShows HTTP/1.1" 401 ' in lines[-1]
            and env.token not in lines[-1],
            "the access log holds no token, not even one sent in the query string", lines)
    workers = [p for p in harness.children(srv.proc.pid)
               if open("/proc/%d/cmdline" % p, "rb").read().split(b"\0")[0].endswith(b"cuegw")]
    c.check(len(workers) == srv.workers, "the pool's cuegw processes are lighttpd's children", workers)
    if os.geteuid() == 0:
        want = srv.user.pw_uid
        uids = [uid_of(srv.proc.pid)] + [uid_of(p) for p in workers]
        c.check(want != 0 and uids == [want] * len(uids),
                "started as root, lighttpd and every cuegw process run as %s" % srv.user.pw_name, uids)
        # The switch must not cost the graceful restart a rotation relies on.
        srv.reload()
        r = env.post("/show.ShowInterface/GetShows")
        c.check(r.status == 200 and srv.proc.poll() is None,
                "and a graceful restart (SIGUSR1) still serves", (r.status, srv.proc.poll()))
    else:
        c.check(uid_of(srv.proc.pid) == os.geteuid(), "not started as root, lighttpd stays its user")


def test_prefix_and_origins(c, env):
    srv = env.lighttpd({"URL_PREFIX": "/cue", "CORS_ALLOWED_ORIGINS": "https://cueweb.example, https://b.example"},
                       workers=1)
    r = env.post("/cue/show.ShowInterface/GetShows", server=srv)
    c.check(r.status == 200 and len(r.json()["shows"]["shows"]) == 2, "URL_PREFIX /cue serves the API there",
            (r.status, r.body[:200]))
    r = env.post("/show.ShowInterface/GetShows", server=srv)
    c.check(r.status == 404, "with URL_PREFIX the bare path is 404", r.status)
    r = env.post("/cueshow.ShowInterface/GetShows", server=srv)
    c.check(r.status == 404, "the prefix must end at a /", r.status)
    r = env.post("/cue/show.ShowInterface/GetShows", server=srv, headers={"Origin": "https://b.example"})
    c.check(r.header("access-control-allow-origin") == "https://b.example" and r.header("vary") == "Origin",
            "a listed origin is echoed", r.headers)
    r = env.post("/cue/show.ShowInterface/GetShows", server=srv, headers={"Origin": "https://evil.example"})
    c.check(r.status == 403 and r.header("access-control-allow-origin") is None,
            "a disallowed origin is refused (SPEC §2) with no CORS headers", (r.status, r.headers))
    r = request(srv.port, "OPTIONS", "/cue/show.ShowInterface/GetShows", None,
                {"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    c.check(r.header("access-control-allow-origin") is None, "a disallowed preflight gets no CORS headers",
            r.headers)
    c.check("Origin" in [v.strip() for v in (r.header("vary") or "").split(",")],
            "a disallowed preflight says Vary: Origin", r.headers)
    r = env.post("/cue/show.ShowInterface/GetShows", server=srv)
    c.check(r.status == 200 and r.header("access-control-allow-origin") is None
            and r.header("vary") == "Origin, Sec-Fetch-Site",
            "with an origin list, an answer to no Origin says Vary: Origin, Sec-Fetch-Site",
            (r.status, r.headers))
    srv.stop()


def test_failover(c, env):
    dead = harness.free_port()
    srv = env.lighttpd({"CUEBOT_ENDPOINT": "127.0.0.1:%d, %s" % (dead, env.standin.endpoint),
                        "GRPC_MAX_RECV_MSG_MB": "1"}, workers=1)
    for i in range(3):
        r = env.post("/show.ShowInterface/GetShows", server=srv)
        c.check(r.status == 200 and r.elapsed < 1.0,
                "a dead first CUEBOT_ENDPOINT fails over to the next (try %d)" % i, (r.status, r.elapsed))
    env.standin.script(method="/job.JobInterface/GetJobs", response_bytes=2_000_000, times=1)
    r = env.post("/job.JobInterface/GetJobs", server=srv)
    b = is_error_body(c, r, 13, "response over GRPC_MAX_RECV_MSG_MB")
    c.check(r.status == 500 and b and "GRPC_MAX_RECV_MSG_MB" in b.get("message", ""),
            "a response over the receive limit is a clear 500", (r.status, b))
    r = env.post("/show.ShowInterface/GetShows", server=srv)
    c.check(r.status == 200, "the worker serves on after an over-size response", r.status)
    srv.stop()


def test_bad_setting(c, env):
    srv = env.lighttpd({"REQUEST_TIMEOUT": "soon"}, workers=1)
    r = env.post("/show.ShowInterface/GetShows", server=srv)
    c.check(r.status >= 500, "with a bad setting no request is served", r.status)
    harness.wait_until(lambda: "cuegw: REQUEST_TIMEOUT: expected a duration" in srv.error_log(), 60)
    log = srv.error_log()
    c.check("cuegw: REQUEST_TIMEOUT: expected a duration" in log,
            "a bad setting stops cuegw with a message naming it", log[-800:])
    srv.stop()


def test_auth_matrix(c, env):
    settings = dict(auth_matrix.SETTINGS, ACCESS_POLICY=auth_matrix.policy_file(), LOG_LEVEL="debug")
    srv = env.lighttpd(settings, workers=2)
    auth_matrix.run(c, "lighttpd", lambda path, h: request(srv.port, "POST", path, "{}", h))
    srv.stop()
    auth_matrix.check_logs_clean(c, "lighttpd", srv.error_log())

    ro = env.lighttpd({"READ_ONLY": "1"}, workers=1)
    for path, want in (("/show.ShowInterface/GetShows", 200), ("/show.ShowInterface/FindShow", 404),
                       ("/job.JobInterface/IsJobPending", 200), ("/job.JobInterface/GetJobs", 200),
                       ("/show.ShowInterface/CreateShow", 403), ("/job.JobInterface/Kill", 403)):
        r = env.post(path, '{"name": "nope"}' if "Find" in path else "{}", server=ro)
        c.check(r.status == want, "READ_ONLY: %s -> %d" % (path, want), (r.status, r.body[:200]))
    ro.stop()


def test_rotation_under_load(c, env):
    srv = env.lighttpd(dict(rotation.initial_params()), workers=2)
    rotation.run(c, "lighttpd", srv, lambda path, h: request(srv.port, "POST", path, "{}", h))
    srv.stop()


def test_deadline(c, env):
    env.standin.script(method="/show.ShowInterface/GetShows", delay_ms=5000, times=1)
    r = env.post("/show.ShowInterface/GetShows")
    c.check(r.status == 504, "a Cuebot slower than REQUEST_TIMEOUT -> 504", (r.status, r.body[:200]))
    is_error_body(c, r, 4, "deadline")
    c.check(1.8 <= r.elapsed <= 3.0, "504 arrives close to the 2 s timeout", "%.2fs" % r.elapsed)
    env.standin.reset()


def test_large_response(c, env):
    path = "/job.JobInterface/GetJobs"
    env.standin.script(method=path, response_bytes=50_000_000, times=2)
    md = env.schema.pool.FindServiceByName("job.JobInterface").FindMethodByName("GetJobs")
    req_cls, resp_cls = env.schema.cls(md.input_type), env.schema.cls(md.output_type)
    want = env.direct(path, req_cls, resp_cls, req_cls())
    # Its own pool, with a deadline no busy machine meets first (the main
    # one's 2 s is for test_deadline): this is about size, not speed.
    srv = env.lighttpd({"REQUEST_TIMEOUT": "60s"})
    r = env.post(path, timeout=120, server=srv)
    c.check(r.status == 200, "a 50 MB response -> 200", (r.status, r.body[:200]))
    if r.status == 200:
        # json_format.Parse needs ~25 s for this much JSON; the C json
        # module reads it all, and the elements are checked one by one at
        # the start, the middle and the end (the last carries the padding).
        tree = json.loads(r.body, parse_int=lambda t: -0.0 if t == "-0" else int(t))
        jobs = tree["jobs"]["jobs"]
        n = len(want.jobs.jobs)
        c.check(len(jobs) == n, "the 50 MB response arrives whole (%d jobs, %.1f MB of JSON)"
                % (n, len(r.body) / 1e6), len(jobs))
        job_cls = env.schema.cls(want.jobs.jobs[0].DESCRIPTOR) if n else None
        for i in sorted({0, n // 2, n - 1}) if n == len(jobs) else []:
            got = json_format.ParseDict(jobs[i], job_cls())
            c.check(got == want.jobs.jobs[i], "job %d of the 50 MB response is intact" % i,
                    jobs[i])
    env.standin.reset()
    r = env.post("/show.ShowInterface/GetShows", server=srv)
    c.check(r.status == 200, "the worker serves on after a large response", r.status)
    srv.stop()


def test_cuebot_down_and_back(c, env):
    env.standin.stop()
    # Every worker of the pool must fail fast, so ask a few times.
    for i in range(4):
        r = env.post("/show.ShowInterface/GetShows")
        c.check(r.status == 503, "Cuebot stopped -> 503 (try %d)" % i, (r.status, r.body[:200]))
        c.check(r.elapsed < 1.0, "503 within a second (try %d)" % i, "%.2fs" % r.elapsed)
    is_error_body(c, r, 14, "Cuebot down")
    # The client learns that Cuebot is unavailable, not where the gateway
    # looked for it; the log line of the request keeps gRPC's detail.
    rid = "rid-cuebot-down"
    r = env.post("/show.ShowInterface/GetShows", headers={"X-Request-Id": rid})
    port = str(env.standin.grpc_port)
    b = r.json() if r.status == 503 else {}
    c.check(b.get("message") == "Cuebot is unavailable" and port not in r.body.decode()
            and "127.0.0.1" not in r.body.decode() and "ipv4" not in r.body.decode(),
            "Cuebot down: the client message names no internal address", r.body[:300])
    logged = harness.wait_until(lambda: [line for line in env.main.error_log().splitlines()
                                         if rid in line and "warn" in line and port in line], 60)
    c.check(bool(logged) and "Cuebot unreachable" in logged[0],
            "Cuebot down: the warn line with the request id holds gRPC's detail", logged)
    # A worker that served none of the calls above learns of the outage from
    # its own channel, which gRPC may notice a moment later on a busy machine.
    harness.wait_until(lambda: request(env.main.port, "GET", "/healthz", None, {}).status == 503, 60)
    r = request(env.main.port, "GET", "/healthz", None, {})
    c.check(r.status == 503, "HEALTH_PATH says 503 while Cuebot is down", r.status)
    env.standin.start()   # same gRPC port as before
    deadline = time.monotonic() + 60     # only when to give up
    ok = 0
    while time.monotonic() < deadline and ok < 6:
        r = env.post("/show.ShowInterface/GetShows")
        ok = ok + 1 if r.status == 200 else 0
        if r.status != 200:
            time.sleep(0.2)
    c.check(ok >= 6, "after Cuebot restarts, requests succeed again with no gateway restart", r.status)


def test_keepalive_past_poll(c, env):
    """CueWeb polls every 5 s: a kept connection idle that long still takes
    the next poll (lighttpd.conf: server.max-keep-alive-idle)."""
    first, second = harness.kept_past(env.main.port, "/show.ShowInterface/GetShows", env.auth, 6)
    c.check(first == 200 and second == 200,
            "a kept connection idle for 6 s takes the next request", (first, second))


TESTS = [test_every_route, test_farm_reads_back, test_error_codes, test_http_errors, test_auth_basics,
         test_request_id, test_cors, test_privileges_and_access_log, test_prefix_and_origins, test_failover, test_bad_setting, test_auth_matrix, test_rotation_under_load, test_deadline, test_large_response,
         test_cuebot_down_and_back, test_keepalive_past_poll]


def run(c, args):
    env = Env(args)
    try:
        harness.run_tests(c, env, TESTS, args.only)
    finally:
        if c.failed:
            print("--- lighttpd error log (last 40 lines) ---")
            print("\n".join(env.main.error_log().splitlines()[-40:]))


def main():
    return harness.suite_main(
        "integration-lighttpd", run,
        lambda ap: ap.add_argument("--only", help="run the tests whose name contains this"))

if __name__ == "__main__":
    sys.exit(main())
