#!/usr/bin/python3
"""Hostile input matrix (issue 5, part 5): each hostile request goes
through lighttpd (lighttpd/lighttpd.conf) and through nginx with a
spawn-fcgi pool (conf/), and straight over FastCGI to a `cuegw --listen`
pool, where no web server filters anything first. Each gets its documented
answer (the table in the README's "HTTP surface"), and after each one the
cuegw processes are the same and the next request is a complete 200.

Where the web server answers first (a header block over its limit), the
expected answer is the web server's own, and cuegw must be untouched.

Usage: test_hostile.py --cuegw BUILD/cuegw --schema BUILD/gen/schema.pb
Prints "hostile: N passed, M failed".
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True      # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fcgi_client  # noqa: E402
import front_nginx  # noqa: E402
import harness  # noqa: E402

SECRET = "hostile-secret-0123456789"
LIMIT = 4194304                      # GRPC_MAX_MESSAGE_SIZE's default
GET_SHOWS = "/show.ShowInterface/GetShows"
FIND_SHOW = "/show.ShowInterface/FindShow"
GET_JOBS = "/job.JobInterface/GetJobs"
SET_PRIORITY = "/job.JobInterface/SetPriority"     # int32 val
SET_MIN_CORES = "/job.JobInterface/SetMinCores"    # float val
JOB = b'{"job": {"id": "j1", "name": "testing-sh01-lighting_v3"}, "val": '


class Case:
    """One hostile request and its documented answer: want = (HTTP status,
    gRPC code in the JSON error body, or None when the answer is not
    cuegw's: a web server's own, or a 200). per_front overrides want for
    the named fronts; skip names fronts the case cannot go through.
    params: FastCGI parameters set (None: left out) over the usual ones,
    which only the straight FastCGI front can send."""

    def __init__(self, name, method="POST", path=GET_SHOWS, body=b"{}", headers=(),
                 want=(400, 3), per_front=None, skip=(), auth=True, params=None):
        self.name, self.method, self.path, self.body = name, method, path, body
        self.headers, self.want, self.auth = list(headers), want, auth
        self.per_front, self.skip = dict(per_front or {}), set(skip)
        self.params = dict(params or {})
        if self.params:
            self.skip |= {"lighttpd", "nginx"}


def cases():
    deep = 100_000
    return [
        Case("a body of 0 bytes (it is {})", body=b"", want=(200, None)),
        Case("a body of 1 byte", body=b"{"),
        Case("a body of 1 byte that is not an object", body=b"7"),
        # Declared by Content-Length: refused before a byte of it is read.
        Case("a body one byte over the limit", body=b"{" + b" " * (LIMIT - 1) + b"}",
             want=(413, 8), skip={"fastcgi"}),
        Case("a 10 MB string (over the limit)", path=FIND_SHOW,
             body=b'{"name": "' + b"x" * 10_000_000 + b'"}', want=(413, 8), skip={"fastcgi"}),
        Case("a 3 MB string under the limit, in an unknown field",
             body=b'{"note": "' + b"x" * 3_000_000 + b'"}', want=(200, None)),
        Case("arrays nested 100,000 deep", path=GET_JOBS,
             body=b'{"r": ' + b"[" * deep + b"]" * deep + b"}"),
        Case("objects nested 100,000 deep in an unknown field",
             body=b'{"x": ' + b'{"a": ' * deep + b"1" + b"}" * deep + b"}"),
        Case("1e999999 for an int32", path=SET_PRIORITY, body=JOB + b"1e999999}"),
        Case("1e999999 for a float", path=SET_MIN_CORES, body=JOB + b"1e999999}"),
        Case("-1e999999 for a float", path=SET_MIN_CORES, body=JOB + b"-1e999999}"),
        Case("-0 for an int32 (it is 0)", path=SET_PRIORITY, body=JOB + b"-0}", want=(200, None)),
        Case("-0 for a float", path=SET_MIN_CORES, body=JOB + b"-0}", want=(200, None)),
        Case("1e999999 in an unknown field", body=b'{"x": 1e999999}', want=(200, None)),
        Case("a duplicate key", path=GET_JOBS, body=b'{"r": {}, "r": {}}'),
        Case("one field under both of its names", path=GET_JOBS,
             body=b'{"r": {"includeFinished": true, "include_finished": false}}'),
        # Carried to Cuebot intact: the stand-in has no show of that name.
        Case("\\u0000 in a string", path=FIND_SHOW, body=b'{"name": "a\\u0000b"}',
             want=(404, 5)),
        Case("a raw NUL byte in a string", path=FIND_SHOW, body=b'{"name": "a\x00b"}'),
        Case("a raw NUL byte after the value", body=b'{}\x00'),
        Case("invalid UTF-8 (0xff)", path=FIND_SHOW, body=b'{"name": "\xff"}'),
        Case("an overlong encoding of /", path=FIND_SHOW, body=b'{"name": "\xc0\xaf"}'),
        Case("an overlong 3-byte NUL", path=FIND_SHOW, body=b'{"name": "\xe0\x80\x80"}'),
        Case("an encoded surrogate", path=FIND_SHOW, body=b'{"name": "\xed\xa0\x80"}'),
        Case("a lone surrogate escape", path=FIND_SHOW, body=b'{"name": "\\ud800"}'),
        Case("invalid UTF-8 in a key", body=b'{"\xfe": 1}'),
        # lighttpd refuses a header block over 8 KB with 431, nginx a
        # header line over 8 KB with 400; straight over FastCGI, cuegw
        # reads on past it.
        Case("a 9 KB header", headers=[("X-Big", "a" * 9000)], want=(200, None),
             per_front={"lighttpd": (431, None), "nginx": (400, None)}),
        # Straight over FastCGI: over the params cap (64 KiB) is cuegw's 431.
        Case("a 1 MB header", headers=[("X-Big", "a" * 1_000_000)], want=(431, 8),
             per_front={"lighttpd": (431, None), "nginx": (400, None)}),
        Case("a 9 KB Authorization header", headers=[("Authorization", "Bearer " + "a" * 9000)],
             auth=False, want=(401, 16),
             per_front={"lighttpd": (431, None), "nginx": (400, None)}),
        Case("60 headers of 100 bytes", headers=[("X-Pad-%d" % i, "p" * 100) for i in range(60)],
             want=(200, None)),
        Case("a path with ..", path="/show.ShowInterface/../show.ShowInterface/GetShows",
             want=(404, 5)),
        Case("a path with %2F", path="/show.ShowInterface%2FGetShows", want=(404, 5)),
        Case("a path with // at the start", path="//show.ShowInterface/GetShows", want=(404, 5)),
        Case("a path with // inside", path="/show.ShowInterface//GetShows", want=(404, 5)),
        # Both web servers refuse an encoded NUL in a path themselves.
        Case("a path with %00", path="/show.ShowInterface/GetShows%00", want=(404, 5),
             per_front={"lighttpd": (400, None), "nginx": (400, None)}),
        Case("an unknown Content-Type, JSON body (the body is JSON whatever its type)",
             headers=[("Content-Type", "application/x-unheard-of")], want=(200, None)),
        Case("an unknown Content-Type, a form body",
             headers=[("Content-Type", "application/x-www-form-urlencoded")], body=b"a=1&b=2"),
        # lighttpd counts the request line in its 8 KB header limit, nginx
        # refuses a request line over its 8 KB buffer; over FastCGI cuegw
        # sees it: not POST.
        Case("an HTTP method name of 10 kB", method="M" * 10240, want=(405, 12),
             per_front={"lighttpd": (431, None), "nginx": (414, None)}),
        Case("an RPC method name of 10 kB", path="/show.ShowInterface/" + "G" * 10240,
             want=(404, 5), per_front={"lighttpd": (431, None), "nginx": (414, None)}),
        Case("an RPC method name of 6 kB", path="/show.ShowInterface/" + "G" * 6000,
             want=(404, 5)),
        # Odd FastCGI parameters, which no web server above sends.
        Case("no REQUEST_METHOD", params={"REQUEST_METHOD": None}, want=(405, 12)),
        Case("no REQUEST_URI, nor SCRIPT_NAME or PATH_INFO", params={"REQUEST_URI": None},
             want=(404, 5)),
        Case("no REQUEST_URI, the path in SCRIPT_NAME and PATH_INFO",
             params={"REQUEST_URI": None, "SCRIPT_NAME": "/show.ShowInterface",
                     "PATH_INFO": "/GetShows"}, want=(200, None)),
        Case("a CONTENT_LENGTH that is not a number", params={"CONTENT_LENGTH": "2x"}),
        Case("a negative CONTENT_LENGTH", params={"CONTENT_LENGTH": "-1"}),
        Case("a CONTENT_LENGTH of 20 digits", params={"CONTENT_LENGTH": "9" * 20}),
        Case("a CONTENT_LENGTH over the limit, the body short", params={"CONTENT_LENGTH": str(LIMIT + 1)},
             want=(413, 8)),
        Case("a parameter name of 1 MB", params={"HTTP_X" + "Y" * 1_000_000: "1"}, want=(431, 8)),
    ]


# ---- sending a case --------------------------------------------------------------

def parse_http(raw):
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    try:
        status = int(lines[0].split()[1])
    except (IndexError, ValueError):
        return None, {}, raw[:200]
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers, body


def send_http(port, case, token, timeout=60):
    """The case as raw HTTP/1.0 bytes (nothing validated or normalised on
    the way): (status, headers, body)."""
    headers = list(case.headers)
    if case.auth:
        headers.append(("Authorization", "Bearer " + token))
    if not any(k.lower() == "content-type" for k, _ in headers):
        headers.append(("Content-Type", "application/json"))
    head = "%s %s HTTP/1.0\r\nHost: 127.0.0.1\r\n" % (case.method, case.path)
    head += "".join("%s: %s\r\n" % kv for kv in headers)
    head += "Content-Length: %d\r\n\r\n" % len(case.body)
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        try:
            s.sendall(head.encode("latin-1") + case.body)
        except OSError:
            pass       # a server that answered early may close before reading it all
        raw = b""
        while True:
            try:
                data = s.recv(1 << 16)
            except ConnectionResetError:
                break
            if not data:
                break
            raw += data
    finally:
        s.close()
    return parse_http(raw)


def send_fastcgi(address, case, token):
    """The case straight to cuegw as FastCGI parameters, as a web server
    that lets everything through would send it."""
    params = {"REQUEST_METHOD": case.method, "REQUEST_URI": case.path,
              "CONTENT_TYPE": "application/json"}
    headers = list(case.headers)
    if case.auth:
        headers.append(("Authorization", "Bearer " + token))
    for k, v in headers:
        if k.lower() == "content-type":
            params["CONTENT_TYPE"] = v
        else:
            params["HTTP_" + k.upper().replace("-", "_")] = v
    params["CONTENT_LENGTH"] = str(len(case.body))
    for k, v in case.params.items():
        if v is None:
            params.pop(k, None)
        else:
            params[k] = v
    status, headers, body, _ = fcgi_client.request(address, params, case.body, timeout=60)
    return status, headers, body


def is_error(body, code):
    try:
        b = json.loads(body)
    except (ValueError, TypeError):
        return False
    return (isinstance(b, dict) and set(b) == {"code", "message", "details"} and b["code"] == code
            and isinstance(b["message"], str) and b["details"] == [])


# ---- the fronts ------------------------------------------------------------------

class Front:
    def __init__(self, name, send, pids, count):
        self.name, self.send, self.pids, self.count = name, send, pids, count


class FastCgiPool:
    """`cuegw --listen SOCKET --workers 1`, no web server in front."""

    def __init__(self, cuegw, settings):
        self.dir = tempfile.mkdtemp(prefix="cuegw-hostile-")
        self.socket = os.path.join(self.dir, "cuegw.sock")
        self.log = os.path.join(self.dir, "cuegw.log")
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        env.update(settings)
        for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
            if k in os.environ:
                env[k] = os.environ[k]
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([cuegw, "--listen", self.socket, "--workers", "1"],
                                         env=env, stdout=log, stderr=log)
        harness._started.append(self)
        harness.servers.append(self)
        end = time.monotonic() + 15
        while not (os.path.exists(self.socket) and harness.children(self.proc.pid)):
            if self.proc.poll() is not None or time.monotonic() > end:
                raise RuntimeError("the pool did not start; see %s" % self.log)
            time.sleep(0.05)

    def stop(self):
        harness.stop_process(self.proc, 30)

    def error_log(self):
        return harness.read_logs(self.log)

    @property
    def run_dir(self):
        return self.dir


def start_fronts(args, standin):
    base = {"CUEBOT_ENDPOINT": standin.endpoint, "REQUEST_TIMEOUT": "5s", "LOG_LEVEL": "warn"}
    token = harness.sign_jwt(SECRET)
    lt = harness.Lighttpd(args.cuegw, dict(base, JWT_SECRET=SECRET), workers=2).start()
    ng = front_nginx.Nginx(args.cuegw, dict(base, SETTINGS_FROM_PARAMS="1"),
                           {"JWT_SECRET": SECRET}, workers=2).start()
    fc = FastCgiPool(args.cuegw, dict(base, JWT_SECRET=SECRET))
    return token, [
        Front("lighttpd", lambda case: send_http(lt.port, case, token),
              lambda: sorted(harness.children(lt.proc.pid)), 2),
        Front("nginx", lambda case: send_http(ng.port, case, token),
              lambda: sorted(ng.pool_pids()), 2),
        Front("fastcgi", lambda case: send_fastcgi(fc.socket, case, token),
              lambda: sorted(harness.children(fc.proc.pid)), 1),
    ]


def complete_shows(status, body):
    try:
        return status == 200 and len(json.loads(body)["shows"]["shows"]) == 2
    except (ValueError, KeyError, TypeError):
        return False


def run(c, args):
    standin = harness.Standin(args.schema).start()
    token, fronts = start_fronts(args, standin)
    plain = Case("GetShows", want=(200, None))
    for front in fronts:
        # A web server may still be spawning its processes when its port opens.
        end = time.monotonic() + 15
        while len(front.pids()) != front.count and time.monotonic() < end:
            time.sleep(0.05)
        before = front.pids()
        c.check(len(before) == front.count, "%s: its %d cuegw processes are running"
                % (front.name, front.count), before)
        for case in cases():
            if front.name in case.skip:
                continue
            what = "%s: %s" % (front.name, case.name)
            want_status, want_code = case.per_front.get(front.name, case.want)
            try:
                status, _, body = front.send(case)
            except Exception as e:
                c.check(False, what + ": answered", repr(e))
                status, body = None, b""
            ok = status == want_status and (want_code is None or is_error(body, want_code))
            c.check(ok, "%s -> %d%s" % (what, want_status,
                                          " code %d" % want_code if want_code is not None else ""),
                    (status, body[:300]))
            try:
                after = front.send(plain)
            except Exception as e:
                after = (None, {}, repr(e).encode())
            c.check(complete_shows(after[0], after[2]) and front.pids() == before,
                    what + ": the worker stays up (same pids, next request a complete 200)",
                    (before, front.pids(), after[0], after[2][:200]))


def main():
    return harness.suite_main("hostile", run)

if __name__ == "__main__":
    sys.exit(main())
