#!/usr/bin/python3
"""Trust boundaries (issue 12): log lines nothing can forge, /metrics under
the access policy, a metrics directory another local user cannot take
over, and secrets kept out of core dumps.

- logs: a stand-in Cuebot answering errors whose message holds CR, LF, ESC,
  DEL, C1 controls and invalid UTF-8, a token whose `sub` holds control
  characters, a 3,000-letter HTTP method and a hostile path, sent straight
  over FastCGI to `cuegw --listen` and through lighttpd from the shipped
  config, in LOG_FORMAT=text and json: every line is one line, parses, and
  no forged line appears.
- metrics: ACCESS_POLICY decides who scrapes (cuegw.Metrics/Scrape); an
  error body never names a path; another user (nobody, via setpriv) making
  ${TMPDIR}/cuegw-0 first, as a directory, a symbolic link or a file, does
  not turn metrics off nor make cuegw write where it points.
- core dumps: workers are not dumpable (their /proc/PID files become
  root's, nobody cannot read their environ) and their core limit is 0,
  unless ALLOW_CORE_DUMPS=1.

Usage: test_trust_logs_metrics.py --cuegw BUILD/cuegw --schema BUILD/gen/schema.pb
"""

import base64
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import resource

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fcgi_client  # noqa: E402
import harness  # noqa: E402

SECRET = "trust-secret-0123456789abcdef"
GET_SHOWS = "/show.ShowInterface/GetShows"
NOBODY = 65534
FORGED_TEXT = "2026-01-01T00:00:00.000Z cuegw[1] info: access POST /forged status=200 code=OK " \
              "duration_ms=0.001 in=0 out=0 rid=FORGED sub=root"
FORGED_JSON = '"}\n{"time":"2026-01-01T00:00:00.000Z","level":"info","pid":1,"msg":"access",' \
              '"request_id":"FORGED"}'
# What a hostile Cuebot answers: every class of byte a log line must not
# carry raw, then a line break and a whole forged line of the log's format
# (cuegw keeps the first 240 bytes of a status message, and its gRPC client
# already turns each byte that is not UTF-8 into '?': invalid UTF-8 reaches
# the log through the path and the method, below).
CUEBOT_CLASSES = b"db down \x1b[2J\x1b]0;pwned\x07 del\x7f nel\xc2\x85 csi\xc2\x9b bad\xff\xc0\xaf\xed\xa0\x80 \"q\""


def cuebot_message(fmt):
    return CUEBOT_CLASSES + b"\r\n" + (FORGED_TEXT if fmt == "text" else FORGED_JSON).encode()


HOSTILE_SUB = "eve\r\n" + FORGED_TEXT + "\x1b[31m\x7f\u0085\u2028 \"x\""
LONG_METHOD = "M" * 3000

TEXT_HEAD = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z cuegw\[\d+\] (debug|info|warn|error): (.*)$")
TEXT_ACCESS = re.compile(r"^access (\S+) (\S+) status=(\d+) code=([A-Z_]+) duration_ms=\d+\.\d{3} "
                         r"in=\d+ out=\d+ rid=(\S+) sub=(\S+)(?: error=\"([^\"]*)\")?$")
C1 = re.compile("[\u0080-\u009f\u2028\u2029]")


def base_env(standin, **extra):
    env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
           "CUEBOT_ENDPOINT": standin.endpoint, "JWT_SECRET": SECRET}
    env.update({k: os.environ[k] for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS")
                if k in os.environ})
    env.update(extra)
    return env


class Pool:
    """`cuegw --listen ADDR --workers N` with its stderr in a file."""

    def __init__(self, cuegw, env, addr, workers=1, user=None, preexec=None):
        self.addr = addr
        self.log = tempfile.NamedTemporaryFile(prefix="cuegw-trust-", suffix=".log", delete=False).name
        spec = addr if isinstance(addr, str) else "%s:%d" % addr
        cmd = [cuegw, "--listen", spec, "--workers", str(workers)]
        if user is not None:
            cmd = [harness.need("setpriv"), "--reuid=%d" % user, "--regid=%d" % user,
                   "--clear-groups", "--"] + cmd
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=out, preexec_fn=preexec)
        harness._started.append(self)

    def request(self, params, body=b""):
        return fcgi_client.request(self.addr, params, body)

    def wait_ready(self, token, workers):
        def up():
            try:
                self.request(call(token, rid="warm-up"), b"{}")
            except OSError:
                return None
            kids = harness.children(self.proc.pid)
            return kids if len(kids) == workers else None
        kids = harness.wait_until(up, 60)
        if not kids:
            raise RuntimeError("the pool did not start; log: %s" % self.text()[-600:])
        return kids

    def text(self):
        with open(self.log, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def raw(self):
        with open(self.log, "rb") as f:
            return f.read()

    def stop(self):
        harness.stop_process(self.proc, 10)


def call(token, method="POST", path=GET_SHOWS, rid=None):
    p = {"REQUEST_METHOD": method, "REQUEST_URI": path, "CONTENT_TYPE": "application/json"}
    if token:
        p["HTTP_AUTHORIZATION"] = "Bearer " + token
    if rid:
        p["HTTP_X_REQUEST_ID"] = rid
    return p


# ---- logs -----------------------------------------------------------------------------

def parse_log(c, where, fmt, raw):
    """Every line of a cuegw log, parsed; fails a check for each that does
    not parse. Returns (access entries by request id, all entries)."""
    try:
        text = raw.decode("utf-8")
        c.check(True, "%s %s: the log is valid UTF-8" % (where, fmt))
    except UnicodeDecodeError as e:
        c.check(False, "%s %s: the log is valid UTF-8" % (where, fmt), e)
        text = raw.decode("utf-8", "replace")
    lines = text.split("\n")
    c.check(lines[-1] == "", "%s %s: the log ends with a line break" % (where, fmt), repr(lines[-1][:200]))
    lines = lines[:-1]
    bad, entries = [], []
    for line in lines:
        if fmt == "json":
            try:
                o = json.loads(line)
                if not (isinstance(o, dict) and {"time", "level", "pid", "msg"} <= set(o)):
                    raise ValueError("not a log object")
            except ValueError:
                bad.append(line)
                continue
            entries.append(o)
        else:
            m = TEXT_HEAD.match(line)
            if not m or re.search(r"[\x00-\x1f\x7f]", line) or C1.search(line):
                bad.append(line)
                continue
            o = {"level": m.group(1), "msg": m.group(2), "line": line}
            if o["msg"].startswith("access "):
                a = TEXT_ACCESS.match(o["msg"])
                if not a:
                    bad.append(line)
                    continue
                o.update(zip(("method", "path", "status", "code", "request_id", "subject", "error"), a.groups()))
                o["status"] = int(o["status"])
                o["msg"] = "access"
            entries.append(o)
    c.check(lines and not bad, "%s %s: every line parses as one %s log line" % (where, fmt, fmt),
            [l[:300] for l in bad[:3]])
    if fmt == "json":
        c.check(not any(C1.search(l) or re.search(r"[\x00-\x1f\x7f]", l) for l in lines),
                "%s json: no raw control character (C0, DEL, C1, U+2028) in any line" % where)
    c.check(not any("FORGED" == e.get("request_id") or l.startswith("2026-01-01T00:00:00.000Z")
                    or l.startswith('{"time":"2026-01-01') for e, l in zip(entries, lines)),
            "%s %s: no forged line" % (where, fmt))
    access = {}
    for e in entries:
        if e.get("msg") == "access":
            access.setdefault(e.get("request_id"), []).append(e)
    return access, entries


def check_hostile_lines(c, where, fmt, access, entries, long_method_sent=True):
    one = lambda rid: (access.get(rid) or [{}])[0] if len(access.get(rid, [])) == 1 else {}
    e = one("rid-cuebot")
    c.check(e.get("status") == 500 and e.get("path") == GET_SHOWS and e.get("error"),
            "%s %s: the hostile Cuebot error has one access line with every field" % (where, fmt),
            (e, [x.get("line", x)for x in access.get("rid-cuebot", [])],
             [x.get("line", x) for x in entries if "rid-cuebot" in str(x)][:5]))
    err, sub = e.get("error") or "", e.get("subject") or ""
    if fmt == "text":
        c.check(err == "db down \\x1b[2J\\x1b]0;pwned\\x07 del\\x7f nel\\u0085 csi\\u009b "
                "bad?????? \\x22q\\x22\\x0d\\x0a" + FORGED_TEXT,
                "text: the error field holds the message escaped", err[:400])
        c.check(sub.startswith("eve\\x0d\\x0a2026-01-01T00:00:00.000Z\\x20cuegw[1]") and
                "\\x1b[31m\\x7f\\u0085\\u2028\\x20\\x22x\\x22" in sub,
                "text: the subject field holds sub escaped", sub[:400])
    else:
        c.check(err == "db down \x1b[2J\x1b]0;pwned\x07 del\x7f nel\u0085 csi\u009b "
                "bad?????? \"q\"\r\n" + FORGED_JSON,
                "json: the error member holds the message", repr(err[:300]))
        c.check(sub == HOSTILE_SUB, "json: the subject member holds sub exactly", repr(sub[:300]))
    warn = [x for x in entries if x.get("level") == "warn" and
            ("rid-cuebot" in x.get("msg", "") or x.get("request_id") == "rid-cuebot")]
    c.check(len(warn) == 1 and "Cuebot answered INTERNAL" in warn[0]["msg"],
            "%s %s: Cuebot's message is logged once at warn, on one line" % (where, fmt), warn[:2])
    if long_method_sent:
        e = one("rid-long-method")
        m = e.get("method") or ""
        c.check(m.startswith("MMMM") and m.endswith("...") and len(m) <= 48 and e.get("path") == GET_SHOWS
                and e.get("status") == 405 and e.get("subject") == "alice" and e.get("error"),
                "%s %s: a 3,000-letter method is cut, and every other field still appears" % (where, fmt),
                {k: str(v)[:80] for k, v in e.items()})


def hostile_token():
    return harness.sign_jwt(SECRET, {"sub": HOSTILE_SUB})


def run_logs_fcgi(c, args, standin):
    d = tempfile.mkdtemp(prefix="cuegw-trust-logs-")
    alice, eve = harness.sign_jwt(SECRET, {"sub": "alice"}), hostile_token()
    for fmt in ("text", "json"):
        pool = Pool(args.cuegw, base_env(standin, LOG_LEVEL="info", LOG_FORMAT=fmt),
                    os.path.join(d, fmt + ".sock"))
        pool.wait_ready(alice, 1)
        standin.reset()
        standin.script(method=GET_SHOWS, code=13, message_b64=base64.b64encode(cuebot_message(fmt)).decode(), times=1)
        st = pool.request(call(eve, rid="rid-cuebot"), b"{}")[0]
        c.check(st == 500, "fcgi %s: the hostile Cuebot error is 500" % fmt, st)
        st = pool.request(call(alice, method=LONG_METHOD, rid="rid-long-method"), b"{}")[0]
        c.check(st == 405, "fcgi %s: a 3,000-letter method is 405" % fmt, st)
        path = b"/x\r\n" + FORGED_TEXT.encode() + b"\x1b[2J\x7f\xc2\x85\xff" + FORGED_JSON.encode()
        st = pool.request(dict(call(alice, rid="rid-path"), REQUEST_URI=path), b"{}")[0]
        c.check(st == 404, "fcgi %s: a hostile path is 404" % fmt, st)
        st = pool.request(call(alice, method="GET\r\n" + FORGED_TEXT, rid="rid-crlf-method"), b"{}")[0]
        c.check(st == 405, "fcgi %s: a method holding CR LF is 405" % fmt, st)
        harness.wait_until(lambda: b"rid-crlf-method" in pool.raw(), 60)
        pool.stop()
        access, entries = parse_log(c, "fcgi", fmt, pool.raw())
        check_hostile_lines(c, "fcgi", fmt, access, entries)
        for rid in ("rid-path", "rid-crlf-method"):
            c.check(len(access.get(rid, [])) == 1, "fcgi %s: %s has one access line" % (fmt, rid), access.get(rid))
        p = (access.get("rid-path") or [{}])[0].get("path", "")
        c.check(p.startswith("/x") and ("\\x1b[2J\\x7f\\u0085\\xff\\x22}\\x0a{\\x22time" in p if fmt == "text"
                                        else "\x1b[2J\x7f\x85\ufffd\"}" in p),
                "fcgi %s: the hostile path is logged escaped" % fmt, p[:200])
        c.check(SECRET not in pool.text(), "fcgi %s: the secret is not in the log" % fmt)


def run_logs_lighttpd(c, args, standin):
    alice, eve = harness.sign_jwt(SECRET, {"sub": "alice"}), hostile_token()
    for fmt in ("text", "json"):
        front = harness.Lighttpd(args.cuegw, {"CUEBOT_ENDPOINT": standin.endpoint, "JWT_SECRET": SECRET,
                                              "LOG_LEVEL": "info", "LOG_FORMAT": fmt}, workers=1).start()
        log = os.path.join(front.run_dir, "cuegw.log")
        standin.reset()
        standin.script(method=GET_SHOWS, code=13, message_b64=base64.b64encode(cuebot_message(fmt)).decode(), times=1)
        h = {"Content-Type": "application/json"}
        r = harness.request(front.port, "POST", GET_SHOWS, "{}",
                            dict(h, Authorization="Bearer " + eve, **{"X-Request-Id": "rid-cuebot"}))
        c.check(r.status == 500, "lighttpd %s: the hostile Cuebot error is 500" % fmt, r.status)
        r = harness.request(front.port, LONG_METHOD, GET_SHOWS, "{}",
                            dict(h, Authorization="Bearer " + alice, **{"X-Request-Id": "rid-long-method"}))
        # lighttpd may refuse the method itself; when it passes it on,
        # cuegw's 405 and its access line are checked below.
        reached = r.status == 405
        c.check(reached or r.status in (400, 431, 501),
                "lighttpd %s: a 3,000-letter method is 405 from cuegw or lighttpd's own refusal" % fmt, r.status)
        r = harness.request(front.port, "POST", GET_SHOWS, "{}",
                            dict(h, Authorization="Bearer " + alice, **{"X-Request-Id": "rid-last"}))
        front.stop()            # and its process ends: its log is whole
        with open(log, "rb") as f:
            raw = f.read()
        access, entries = parse_log(c, "lighttpd", fmt, raw)
        check_hostile_lines(c, "lighttpd", fmt, access, entries, long_method_sent=reached)
        c.check(reached or "rid-long-method" not in access,
                "lighttpd %s: a method lighttpd refused never reached cuegw" % fmt)


# ---- metrics ----------------------------------------------------------------------------

POLICY = """\
role admin *
user prometheus cuegw.Metrics/Scrape
default show.ShowInterface/Get*
"""


def scrape_params(token, path="/metrics"):
    return dict(call(token, method="GET", path=path), CONTENT_TYPE="")


def run_metrics_policy(c, args, standin):
    d = tempfile.mkdtemp(prefix="cuegw-trust-policy-")
    policy = os.path.join(d, "policy")
    with open(policy, "w") as f:
        f.write(POLICY)
    anyone = harness.sign_jwt(SECRET, {"sub": "someone"})
    prom = harness.sign_jwt(SECRET, {"sub": "prometheus"})
    admin = harness.sign_jwt(SECRET, {"sub": "root", "role": "admin"})
    pool = Pool(args.cuegw, base_env(standin, ACCESS_POLICY=policy, METRICS_DIR=os.path.join(d, "m")),
                os.path.join(d, "p.sock"), workers=2)
    pool.wait_ready(anyone, 2)
    st, _, body, _ = pool.request(scrape_params(anyone))
    c.check(st == 403 and json.loads(body).get("code") == 7 and b"cuegw_" not in body and b"pid" not in body,
            "policy: a caller allowed only Get* methods is refused the metrics (403, code 7)", (st, body[:300]))
    st = pool.request(call(anyone), b"{}")[0]
    c.check(st == 200, "policy: and still calls what it may", st)
    st, _, body, _ = pool.request(scrape_params(prom))
    c.check(st == 200 and b"cuegw_requests_total" in body,
            "policy: a caller granted cuegw.Metrics/Scrape scrapes", (st, body[:200]))
    c.check(re.search(rb'cuegw_auth_failures_total\{reason="policy"\} 1\b', body) is not None,
            "policy: the refused scrape is counted as a policy refusal", body[-1500:])
    st = pool.request(call(prom), b"{}")[0]
    c.check(st == 403, "policy: the scraper's rule grants nothing else", st)
    st = pool.request(scrape_params(admin))[0]
    c.check(st == 200, "policy: a * rule scrapes", st)
    pool.stop()
    # READ_ONLY alone does not refuse a scrape: it changes nothing.
    pool = Pool(args.cuegw, base_env(standin, READ_ONLY="1", METRICS_DIR=os.path.join(d, "m2")),
                os.path.join(d, "r.sock"))
    pool.wait_ready(anyone, 1)
    st = pool.request(scrape_params(anyone))[0]
    c.check(st == 200, "READ_ONLY=1 without a policy: any caller scrapes", st)
    pool.stop()


def as_nobody(*cmd):
    return subprocess.run([harness.need("setpriv"), "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY,
                           "--clear-groups", "--"] + list(cmd), capture_output=True, text=True, timeout=30)


def shared_tmp():
    """A directory like /tmp: every user may create in it, sticky."""
    d = tempfile.mkdtemp(prefix="cuegw-trust-tmp-")
    os.chmod(d, 0o1777)
    return d


def count_200(body):
    m = re.search(rb'cuegw_requests_total\{method="show.ShowInterface/GetShows",status="200",code="OK"\} (\d+)', body)
    return int(m.group(1)) if m else None


def run_metrics_dir_race(c, args, standin):
    token = harness.sign_jwt(SECRET, {"sub": "prometheus"})
    own = "cuegw-%d" % os.geteuid()
    for variant in ("directory", "symlink to theirs", "symlink to ours", "file"):
        tmp = shared_tmp()
        target = os.path.join(tmp, own)
        victim = None
        if variant == "directory":
            r = as_nobody("mkdir", "-m", "777", target)
        elif variant == "symlink to theirs":
            r = as_nobody("sh", "-c", 'mkdir -m 777 "$1/theirs" && ln -s "$1/theirs" "$2"', "-", tmp, target)
        elif variant == "symlink to ours":
            victim = tempfile.mkdtemp(prefix="cuegw-trust-victim-")     # root's, 0700
            r = as_nobody("ln", "-s", victim, target)
        else:
            r = as_nobody("touch", target)
        c.check(r.returncode == 0 and os.path.lexists(target) and os.lstat(target).st_uid == NOBODY,
                "metrics dir, %s: nobody makes %s first" % (variant, own), r.stderr)
        port = harness.free_port()
        pool = Pool(args.cuegw, base_env(standin, TMPDIR=tmp, LOG_LEVEL="warn"), ("127.0.0.1", port), workers=2)
        pool.wait_ready(token, 2)
        for _ in range(6):
            pool.request(call(token), b"{}")
        st, _, body, _ = pool.request(scrape_params(token))
        # warm-up counted too: 7 calls over two workers, one file.
        c.check(st == 200 and count_200(body) == 7,
                "metrics dir, %s: metrics still work and add up the pool's workers" % variant,
                (st, count_200(body), body[:200]))
        pool.stop()
        log = pool.text()
        c.check("metrics: cannot use %s" % target in log and "METRICS_DIR" in log,
                "metrics dir, %s: the log says loudly why and what to do" % variant, log[-600:])
        st_after = os.lstat(target)
        c.check(st_after.st_uid == NOBODY and (variant != "directory" or not os.listdir(target)),
                "metrics dir, %s: nothing of ours was written into it" % variant)
        if variant == "symlink to theirs":
            c.check(not os.listdir(os.path.join(tmp, "theirs")),
                    "metrics dir, symlink: nothing written where it points")
        if victim:
            c.check(not os.listdir(victim) and stat.S_IMODE(os.stat(victim).st_mode) == 0o700,
                    "metrics dir, symlink to ours: nothing written nor changed where it points",
                    os.listdir(victim))
    # Unraced, the default directory is made and used as before.
    tmp = shared_tmp()
    pool = Pool(args.cuegw, base_env(standin, TMPDIR=tmp), ("127.0.0.1", harness.free_port()), workers=1)
    pool.wait_ready(token, 1)
    st = pool.request(scrape_params(token))[0]
    pool.stop()
    d = os.path.join(tmp, own)
    c.check(st == 200 and os.path.isdir(d) and not os.path.islink(d) and
            stat.S_IMODE(os.stat(d).st_mode) == 0o700 and os.stat(d).st_uid == os.geteuid() and
            any(f.endswith(".metrics") for f in os.listdir(d)),
            "metrics dir: unraced, ${TMPDIR}/cuegw-UID is made 0700 and holds the file", st)


def run_metrics_error_body(c, args, standin):
    """METRICS_DIR that cannot be used: 503, and the body names no path."""
    token = harness.sign_jwt(SECRET, {"sub": "prometheus"})
    tmp = shared_tmp()
    for variant in ("theirs", "symlink"):
        mdir = os.path.join(tmp, "m-" + variant)
        if variant == "theirs":
            r = as_nobody("mkdir", "-m", "700", mdir)
        else:
            os.mkdir(os.path.join(tmp, "real"), 0o700)
            r = subprocess.run(["ln", "-s", os.path.join(tmp, "real"), mdir])
        c.check(r.returncode == 0, "METRICS_DIR %s: made" % variant)
        pool = Pool(args.cuegw, base_env(standin, METRICS_DIR=mdir), os.path.join(tmp, variant + ".sock"))
        pool.wait_ready(token, 1)
        st, _, body, _ = pool.request(scrape_params(token))
        pool.stop()
        c.check(st == 503 and b"see the gateway's log" in body and tmp.encode() not in body and b"/" not in body,
                "METRICS_DIR %s: /metrics is 503 with a body that names no path" % variant, (st, body))
        c.check("METRICS_DIR: %s" % mdir in pool.text(), "METRICS_DIR %s: the log names it" % variant,
                pool.text()[-400:])


# ---- core dumps ---------------------------------------------------------------------------

def proc_limits_core(pid):
    with open("/proc/%d/limits" % pid) as f:
        for line in f:
            if line.startswith("Max core file size"):
                return line.split()[4:6]
    return None


def unlimited_core():
    resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))


def run_core_dumps(c, args, standin):
    token = harness.sign_jwt(SECRET, {"sub": "alice"})
    d = tempfile.mkdtemp(prefix="cuegw-trust-core-")
    os.chmod(d, 0o755)
    # A copy nobody may run, in case the build tree is not theirs to read.
    binary = os.path.join(d, "cuegw")
    shutil.copy(args.cuegw, binary)
    os.chmod(binary, 0o755)
    rundir = os.path.join(d, "run")
    os.mkdir(rundir)
    os.chown(rundir, NOBODY, NOBODY)
    for allow in ("", "1"):
        name = "ALLOW_CORE_DUMPS=%s" % (allow or "(unset)")
        env = base_env(standin, LOG_LEVEL="warn", METRICS_PATH="off")
        if allow:
            env["ALLOW_CORE_DUMPS"] = allow
            # AddressSanitizer lowers the soft core limit itself unless told
            # not to; other builds ignore the variable.
            env["ASAN_OPTIONS"] = ":".join(x for x in (env.get("ASAN_OPTIONS"), "disable_coredump=0") if x)
        sock = os.path.join(rundir, "c%s.sock" % allow)
        pool = Pool(binary, env, sock, workers=2, user=NOBODY, preexec=unlimited_core)
        kids = pool.wait_ready(token, 2)
        procs = [pool.proc.pid] + kids
        # setpriv execs cuegw in place: the pool's pid is cuegw's.
        owners = [os.stat("/proc/%d/status" % p).st_uid for p in procs]
        limits = [proc_limits_core(p) for p in procs]
        env_read = [as_nobody("cat", "/proc/%d/environ" % p) for p in procs]
        pool.stop()
        if not allow:
            c.check(owners == [0] * len(procs),
                    "%s: the pool and its workers are not dumpable (/proc/PID is root's)" % name, owners)
            c.check(limits == [["0", "0"]] * len(procs),
                    "%s: their core size limit is 0 (soft and hard)" % name, limits)
            c.check(all(r.returncode != 0 and SECRET not in r.stdout for r in env_read),
                    "%s: their own user cannot read their environment" % name,
                    [r.stderr.strip() for r in env_read])
        else:
            c.check(owners == [NOBODY] * len(procs), "%s: the processes stay dumpable" % name, owners)
            c.check(limits == [["unlimited", "unlimited"]] * len(procs),
                    "%s: the core size limit is left as it was" % name, limits)
            c.check(all(r.returncode == 0 for r in env_read),
                    "%s: their user can read their environment" % name)
    r = subprocess.run([args.cuegw, "--version"], env=dict(base_env(standin), ALLOW_CORE_DUMPS="yes"),
                       capture_output=True, text=True, timeout=10)
    c.check(r.returncode == 2 and "ALLOW_CORE_DUMPS" in r.stderr, "ALLOW_CORE_DUMPS=yes is refused",
            (r.returncode, r.stderr))
    # Spawned by lighttpd (the FastCGI socket on fd 0), the same guard.
    front = harness.Lighttpd(args.cuegw, {"CUEBOT_ENDPOINT": standin.endpoint, "JWT_SECRET": SECRET},
                             workers=2).start()
    r = harness.request(front.port, "POST", GET_SHOWS, "{}", {"Authorization": "Bearer " + token})
    workers = [p for p in harness.children(front.proc.pid)
               if open("/proc/%d/cmdline" % p, "rb").read().startswith(os.path.abspath(args.cuegw).encode())]
    # A worker lighttpd has just exec'ed may still be loading its libraries,
    # before main() has run the guard: wait for each to get there.
    harness.wait_until(lambda: all(proc_limits_core(p) == ["0", "0"] for p in workers), 60)
    limits = [proc_limits_core(p) for p in workers]
    front.stop()
    c.check(r.status == 200 and len(workers) == 2 and limits == [["0", "0"]] * 2,
            "lighttpd's cuegw workers have a core size limit of 0", (r.status, workers, limits))


def run(c, args):
    harness.need("setpriv")
    standin = harness.Standin(args.schema).start()
    for part in (run_logs_fcgi, run_logs_lighttpd, run_metrics_policy, run_metrics_dir_race,
                 run_metrics_error_body, run_core_dumps):
        harness.run_step(c, part.__name__, lambda: part(c, args, standin))
        for s in list(harness._started):
            if s is not standin:
                s.stop()
                harness._started.remove(s)


def main():
    return harness.suite_main("trust-logs-metrics", run)


if __name__ == "__main__":
    sys.exit(main())
