#!/usr/bin/python3
"""Operating cuegw: `cuegw --check-config` against the real stand-in Cuebot,
--version and --help, the access log (text and JSON lines) written through
lighttpd, graceful stops on SIGTERM and SIGUSR1 with a slow request in
flight under real fronts (lighttpd spawning the processes, Apache
mod_proxy_fcgi in front of `cuegw --listen`), SHUTDOWN_TIMEOUT, and
HEALTH_PATH following Cuebot going away and coming back.

Usage: test_lifecycle.py --cuegw BUILD/cuegw --schema BUILD/gen/schema.pb
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import front_apache  # noqa: E402
import harness  # noqa: E402

SECRET = "lifecycle-secret-0123456789"
GET_SHOWS = "/show.ShowInterface/GetShows"
TOP = harness.TOP


def base_env(**extra):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    env.update({k: os.environ[k] for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS") if k in os.environ})
    env.update(extra)
    return env


def check_config(args, env):
    t0 = time.monotonic()
    r = subprocess.run([args.cuegw, "--check-config"], env=env, capture_output=True, text=True, timeout=60)
    return r.returncode, r.stdout, r.stderr, time.monotonic() - t0


# ---- --check-config, --version, --help -------------------------------------------

def run_check_config(c, args, standin):
    env = base_env(CUEBOT_ENDPOINT=standin.endpoint, JWT_SECRET=SECRET)
    standin.reset()
    rc, out, err, _ = check_config(args, env)
    c.check(rc == 0 and "settings are valid" in out and "Cuebot answered at %s" % standin.endpoint in out,
            "--check-config: valid settings and a reachable Cuebot exit 0 with a summary", (rc, out, err))
    calls = standin.calls()
    c.check(len(calls) == 1 and calls[0]["method"] == GET_SHOWS,
            "--check-config reaches Cuebot exactly once", [x["method"] for x in calls])
    c.check(SECRET not in out + err, "--check-config never prints a secret")

    rc, out, err, _ = check_config(args, dict(env, METRICS_PATH="off", URL_PREFIX="/cue"))
    c.check(rc == 0 and re.search(r"metrics: +off", out) and "/cue" in out,
            "--check-config: the summary shows the settings in force", out)
    rc, out, err, _ = check_config(args, dict(env, URL_PREFIX="/cue/"))
    c.check(rc == 0 and re.search(r"^  metrics: +/cue/metrics;", out, re.M),
            "--check-config: URL_PREFIX=/cue/ shows metrics at /cue/metrics", out)
    c.check(re.search(r"counters in a file beside the unix socket cuegw serves, or in /\S+/cuegw-\d+ "
                      r"for a TCP socket", out) and "kept in beside" not in out,
            "--check-config: without METRICS_DIR, says where each kind of socket keeps the counters", out)

    # Settings that would only fail later, at the first call: refused at load.
    for value, says in (("127.0.0.1", "has no port"), ("http://127.0.0.1:%d" % standin.grpc_port, "is a URL"),
                        ("%s,cuebot" % standin.endpoint, "has no port")):
        rc, out, err, _ = check_config(args, dict(env, CUEBOT_ENDPOINT=value))
        c.check(rc == 2 and err.startswith("cuegw: CUEBOT_ENDPOINT:") and says in err
                and "settings are valid" not in out,
                "--check-config: CUEBOT_ENDPOINT=%s exits 2 (%s)" % (value, says), (rc, out, err))
    for value in ("[::1]:%d" % standin.grpc_port, "dns:///127.0.0.1:%d" % standin.grpc_port):
        rc, out, err, _ = check_config(args, dict(env, CUEBOT_ENDPOINT=value))
        c.check(rc in (0, 1) and "settings are valid" in out,
                "--check-config: CUEBOT_ENDPOINT=%s is a valid form" % value, (rc, out, err))
    d = tempfile.mkdtemp(prefix="cuegw-check-tls-")
    key = os.path.join(d, "key.pem")
    with open(key, "w") as f:
        f.write("-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n")
    for var, path, says in (("CUEBOT_TLS_CA", "/nonexistent.pem", "cannot open /nonexistent.pem"),
                            ("CUEBOT_TLS_CA", key, "holds a private key")):
        rc, out, err, _ = check_config(args, dict(env, **{var: path}))
        c.check(rc == 2 and err.startswith("cuegw: %s:" % var) and says in err and "settings are valid" not in out,
                "--check-config: %s=%s exits 2 before the summary (%s)" % (var, path, says), (rc, out, err))
    shutil.rmtree(d)
    rc, out, err, _ = check_config(args, dict(env, CORS_ALLOWED_ORIGINS="example.com"))
    c.check(rc == 2 and "CORS_ALLOWED_ORIGINS" in err and "scheme://host" in err,
            "--check-config: a CORS origin without its scheme exits 2", (rc, err))

    # Only the rotation's outgoing secret: shown plainly, with a warning.
    only = {k: v for k, v in env.items() if k != "JWT_SECRET"}
    rc, out, err, _ = check_config(args, dict(only, EXPIRING_JWT_SECRET=SECRET))
    c.check(rc == 0 and re.search(r"authentication: +JWT \(EXPIRING_JWT_SECRET\)$", out, re.M)
            and "warning: only EXPIRING_JWT_SECRET is set" in err,
            "--check-config: only EXPIRING_JWT_SECRET: shown plainly, with a warning", (rc, out, err))
    rc, out, err, _ = check_config(args, dict(env, EXPIRING_JWT_SECRET=SECRET + "x"))
    c.check(rc == 0 and re.search(r"authentication: +JWT \(JWT_SECRET, EXPIRING_JWT_SECRET\)$", out, re.M)
            and "warning" not in err, "--check-config: both secrets: no warning", (rc, out, err))
    rc, out, err, _ = check_config(args, dict(only, EXPIRING_AUTH_TOKEN="tok-0123456789"))
    c.check(rc == 0 and re.search(r"authentication: +static token \(EXPIRING_AUTH_TOKEN\)$", out, re.M)
            and "warning: only EXPIRING_AUTH_TOKEN is set" in err and "tok-0123456789" not in out + err,
            "--check-config: only EXPIRING_AUTH_TOKEN: shown plainly, with a warning", (rc, out, err))

    rc, out, err, _ = check_config(args, dict(env, METRICS_PATH="metrics"))
    c.check(rc == 2 and "METRICS_PATH" in err, "--check-config: a METRICS_PATH that is no path exits 2", err)
    rc, out, err, _ = check_config(args, dict(env, REQUEST_TIMEOUT="soon"))
    c.check(rc == 2 and "REQUEST_TIMEOUT" in err, "--check-config: a bad variable exits 2 naming it", (rc, err))
    rc, out, err, _ = check_config(args, {k: v for k, v in env.items() if k != "JWT_SECRET"})
    c.check(rc == 2 and "credential" in err, "--check-config: no credential exits 2", (rc, err))

    d = tempfile.mkdtemp(prefix="cuegw-check-")
    policy = os.path.join(d, "policy")
    with open(policy, "w") as f:
        f.write("# roles\nrole admin *\nrole wrangler job.JobInterface/* %%bad\n")
    rc, out, err, _ = check_config(args, dict(env, ACCESS_POLICY=policy))
    c.check(rc == 2 and "%s:3" % policy in err, "--check-config: a bad policy line exits 2 naming file:line",
            (rc, err))
    rc, out, err, _ = check_config(args, dict(env, ACCESS_POLICY=os.path.join(d, "missing")))
    c.check(rc == 2 and "ACCESS_POLICY" in err, "--check-config: a missing policy file exits 2", (rc, err))
    with open(policy, "w") as f:
        f.write("role admin *\ndefault show.ShowInterface/Get*\n")
    rc, out, err, _ = check_config(args, dict(env, ACCESS_POLICY=policy))
    c.check(rc == 0 and policy in out, "--check-config: a good policy is named in the summary", (rc, out, err))
    c.check("warning" not in err, "--check-config: no warning for patterns that match", err)
    with open(policy, "w") as f:
        f.write("role admin *\n# a typo allows nothing\nrole ops job.JobInterface/Get* Job.JobInterface/Kill*\n")
    rc, out, err, _ = check_config(args, dict(env, ACCESS_POLICY=policy))
    c.check(rc == 0 and "warning: ACCESS_POLICY: %s:3: pattern 'Job.JobInterface/Kill*' matches none of the 273 "
            "methods" % policy in err and err.count("warning") == 1,
            "--check-config: a policy pattern that matches no method is warned about with file:line", (rc, err))
    wide = os.path.join(d, "wide")
    os.mkdir(wide)
    os.chmod(wide, 0o777)
    rc, out, err, _ = check_config(args, dict(env, METRICS_DIR=wide))
    c.check(rc == 2 and "METRICS_DIR" in err and wide in err,
            "--check-config: a METRICS_DIR others may write to exits 2", (rc, err))

    dead = "127.0.0.1:%d" % harness.free_port()
    rc, out, err, took = check_config(args, dict(env, CUEBOT_ENDPOINT=dead))
    c.check(rc == 1 and dead in err and "UNAVAILABLE" in err,
            "--check-config: an unreachable Cuebot exits 1 naming the endpoint", (rc, err))
    c.check(took < 20, "and does not hang", took)
    standin.script(method=GET_SHOWS, code=7, message="no reads for you", times=1)
    rc, out, err, _ = check_config(args, env)
    c.check(rc == 1 and "PERMISSION_DENIED" in err and "no reads for you" in err,
            "--check-config: Cuebot's refusal exits 1 with its code and message", (rc, err))

    r = subprocess.run([args.cuegw, "--version"], capture_output=True, text=True, timeout=10)
    c.check(r.returncode == 0 and re.match(r"^cuegw \d+\.\d+\.\d+", r.stdout), "--version", r.stdout)


def make_pki(d):
    """A CA, a server certificate for 127.0.0.1 and a client certificate,
    both signed by it (openssl); returns their paths by name."""
    def ossl(*a):
        subprocess.run(["openssl"] + list(a), check=True, capture_output=True, timeout=60)
    p = {n: os.path.join(d, n + ".pem") for n in ("ca", "ca-key", "server", "server-key", "client", "client-key")}
    ossl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=test ca",
         "-keyout", p["ca-key"], "-out", p["ca"])
    for who, ext in (("server", "subjectAltName=IP:127.0.0.1,DNS:localhost"), ("client", "extendedKeyUsage=clientAuth")):
        csr = os.path.join(d, who + ".csr")
        extfile = os.path.join(d, who + ".ext")
        with open(extfile, "w") as f:
            f.write(ext + "\n")
        ossl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + who, "-keyout", p[who + "-key"], "-out", csr)
        ossl("x509", "-req", "-in", csr, "-CA", p["ca"], "-CAkey", p["ca-key"], "-CAcreateserial",
             "-days", "2", "-extfile", extfile, "-out", p[who])
    return p


def run_check_config_mtls(c, args):
    """A Cuebot that requires client certificates, reached with only
    CUEBOT_TLS_CA: gRPC reports the closed connection ("Socket closed"),
    which says nothing of the missing certificate; cuegw's message must."""
    d = tempfile.mkdtemp(prefix="cuegw-mtls-")
    pki = make_pki(d)
    tls = ["--tls-cert", pki["server"], "--tls-key", pki["server-key"]]
    mtls = harness.Standin(args.schema, tls_args=tls + ["--tls-client-ca", pki["ca"]]).start()
    plain_tls = harness.Standin(args.schema, tls_args=tls).start()
    try:
        env = base_env(CUEBOT_ENDPOINT=mtls.endpoint, JWT_SECRET=SECRET, CUEBOT_TLS_CA=pki["ca"])
        rc, out, err, _ = check_config(args, dict(env, CUEBOT_TLS_CERT=pki["client"],
                                                  CUEBOT_TLS_KEY=pki["client-key"]))
        c.check(rc == 0 and "mutual TLS" in out and "Cuebot answered" in out,
                "--check-config: mutual TLS with the client certificate reaches Cuebot", (rc, out, err))
        rc, out, err, _ = check_config(args, env)
        c.check(rc == 1 and "UNAVAILABLE" in err and "client certificate" in err
                and "CUEBOT_TLS_CERT" in err and "CUEBOT_TLS_KEY" in err,
                "--check-config: mutual TLS without a client certificate says one may be missing "
                "and names CUEBOT_TLS_CERT/KEY", (rc, err))
        rc, out, err, _ = check_config(args, dict(env, CUEBOT_ENDPOINT=plain_tls.endpoint))
        c.check(rc == 0 and "Cuebot answered" in out and "client certificate" not in out + err,
                "--check-config: TLS without client certificates works with CUEBOT_TLS_CA alone", (rc, out, err))
        dead = "127.0.0.1:%d" % harness.free_port()
        rc, out, err, _ = check_config(args, dict(env, CUEBOT_ENDPOINT=dead))
        c.check(rc == 1 and "UNAVAILABLE" in err and "client certificate" not in err,
                "--check-config: a refused connection is not blamed on the client certificate", (rc, err))
    finally:
        mtls.stop()
        plain_tls.stop()
        shutil.rmtree(d)


def run_docs(c, args):
    # The settings table (common/ops/settings.def) is the source: --help is
    # made from it, and tests/settings/check_docs.py holds conf/cuegw.env,
    # cuegw(8) and README.md to its names, groups and defaults.
    r = subprocess.run([sys.executable, os.path.join(TOP, "tests", "settings", "check_docs.py"), args.cuegw, TOP],
                       capture_output=True, text=True, timeout=60)
    c.check(r.returncode == 0 and re.search(r"settings-docs: [1-9]\d* passed, 0 failed", r.stdout),
            "--help, conf/cuegw.env, cuegw(8) and README.md agree with the settings table", r.stdout[-3000:])
    r = subprocess.run([args.cuegw, "--help"], capture_output=True, text=True, timeout=10)
    c.check("--check-config" in r.stdout and "cuegw(8)" in r.stdout, "--help names --check-config and the man page")
    r = subprocess.run([args.cuegw, "--bogus"], capture_output=True, text=True, timeout=10)
    c.check(r.returncode == 2 and r.stdout == "" and
            r.stderr == "cuegw: unknown argument --bogus; see cuegw --help\n",
            "an unknown argument: one usage line, exit 2", (r.returncode, r.stderr[:300]))
    r = subprocess.run([args.cuegw, "--listen"], capture_output=True, text=True, timeout=10)
    c.check(r.returncode == 2 and r.stderr == "cuegw: --listen needs a value; see cuegw --help\n",
            "--listen without its address: one line, exit 2", (r.returncode, r.stderr[:300]))
    man = os.path.join(TOP, "docs", "cuegw.8")
    with open(man) as f:
        text = f.read()
    groff = harness.need("groff")
    r = subprocess.run([groff, "-man", "-Tutf8", "-ww", "-z", man], capture_output=True, text=True, timeout=30)
    c.check(r.returncode == 0 and not r.stderr.strip(), "cuegw(8) renders without a warning", r.stderr[:500])
    # groff does not warn about this one: ".B word ," sets the comma in bold
    # after a space; ".BR word ," is meant.
    loose = [line for line in text.splitlines() if re.match(r'^\.B (?:"[^"]*"|\S+) +[,.;:)]+$', line)]
    c.check(not loose, "cuegw(8): no bold word followed by loose punctuation (.BR is meant)", loose)
    for word in ("SIGTERM", "SIGUSR1", "EXIT STATUS", "FILES", "--check-config", "METRICS_DIR"):
        c.check(word in text.replace("\\-", "-"), "cuegw(8) covers %s" % word)


# ---- the access log -----------------------------------------------------------------

def cuegw_log(front):
    return harness.read_logs(os.path.join(front.run_dir, "cuegw.log"))


def run_access_log(c, args, standin):
    token = harness.sign_jwt(SECRET, {"sub": "alice"})
    wrong = harness.sign_jwt("some-other-secret", {"sub": "mallory"})
    for fmt in ("text", "json"):
        front = harness.Lighttpd(args.cuegw, {"CUEBOT_ENDPOINT": standin.endpoint, "JWT_SECRET": SECRET,
                                              "LOG_LEVEL": "info", "LOG_FORMAT": fmt}, workers=2).start()
        standin.reset()
        h = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
        r = harness.request(front.port, "POST", GET_SHOWS, "{}", dict(h, **{"X-Request-Id": "rid-ok-" + fmt}))
        c.check(r.status == 200, "%s log: a call succeeds" % fmt, r.status)
        ok_len = len(r.body)
        standin.script(method=GET_SHOWS, code=13, message="database is down", times=1)
        r = harness.request(front.port, "POST", GET_SHOWS, "{}", dict(h, **{"X-Request-Id": "rid-err-" + fmt}))
        c.check(r.status == 500, "%s log: Cuebot's INTERNAL is 500" % fmt, r.status)
        md = [x["metadata"].get("x-request-id") for x in standin.calls()]
        c.check("rid-err-" + fmt in md, "%s log: the request id reached Cuebot" % fmt, md)
        r = harness.request(front.port, "POST", GET_SHOWS, "{}",
                            {"Authorization": "Bearer " + wrong, "X-Request-Id": "rid-401-" + fmt})
        c.check(r.status == 401, "%s log: a wrong token is 401" % fmt, r.status)
        # The log is whole once the front has stopped and its processes
        # have ended (Lighttpd.stop waits for them).
        front.stop()
        log = cuegw_log(front)
        c.check(SECRET not in log and token not in log and wrong not in log and "some-other-secret" not in log,
                "%s log: no secret or token in the log" % fmt)
        if fmt == "text":
            check_text_log(c, log, ok_len)
        else:
            check_json_log(c, log, ok_len)

    front = harness.Lighttpd(args.cuegw, {"CUEBOT_ENDPOINT": standin.endpoint, "JWT_SECRET": SECRET,
                                          "LOG_LEVEL": "warn"}, workers=1).start()
    r = harness.request(front.port, "POST", GET_SHOWS, "{}", {"Authorization": "Bearer " + token,
                                                              "X-Request-Id": "rid-quiet"})
    # Whatever the process that served it would log is in the file once
    # it has exited.
    served_by = harness.children(front.proc.pid)
    front.stop()
    gone = all(harness.exited(p) for p in served_by)
    c.check(r.status == 200 and served_by and gone and "rid-quiet" not in cuegw_log(front),
            "LOG_LEVEL=warn: no access lines", (r.status, served_by, gone))


def check_text_log(c, log, ok_len):
    line = next((l for l in log.splitlines() if "rid=rid-ok-text" in l), "")
    m = re.search(r"cuegw\[\d+\] info: access POST /show\.ShowInterface/GetShows status=200 code=OK "
                  r"duration_ms=(\d+\.\d{3}) in=2 out=(\d+) rid=rid-ok-text sub=alice$", line)
    c.check(m is not None, "text log: one access line with method, status, code, duration, bytes, id, subject", line)
    if m:
        c.check(int(m.group(2)) > ok_len, "text log: bytes out cover the body", (m.group(2), ok_len))
    line = next((l for l in log.splitlines() if "rid=rid-err-text" in l), "")
    c.check(re.search(r"status=500 code=INTERNAL .* rid=rid-err-text sub=alice error=\"database is down\"$", line),
            "text log: a Cuebot error's access line carries its message", line)
    warn = [l for l in log.splitlines() if " warn: " in l and "rid-err-text" in l]
    c.check(len(warn) == 1 and "INTERNAL" in warn[0] and "database is down" in warn[0],
            "text log: Cuebot's error is logged with the request id", warn)
    line = next((l for l in log.splitlines() if "rid=rid-401-text" in l), "")
    c.check(re.search(r"status=401 code=UNAUTHENTICATED .* sub=- error=\"invalid token\"$", line),
            "text log: a 401's access line", line)


def check_json_log(c, log, ok_len):
    lines = [l for l in log.splitlines() if l.strip()]
    parsed, bad = [], []
    for l in lines:
        try:
            parsed.append(json.loads(l))
        except ValueError:
            bad.append(l)
    c.check(lines and not bad, "json log: every line cuegw wrote is a JSON object", bad[:3])
    by_rid = {o.get("request_id"): o for o in parsed if o.get("msg") == "access"}
    ok = by_rid.get("rid-ok-json", {})
    want = {"level": "info", "method": "POST", "path": GET_SHOWS, "status": 200, "code": 0,
            "bytes_in": 2, "subject": "alice"}
    c.check(all(ok.get(k) == v for k, v in want.items()) and isinstance(ok.get("duration_ms"), float) and
            ok.get("bytes_out", 0) > ok_len and isinstance(ok.get("pid"), int) and "time" in ok,
            "json log: the access object has every field", ok)
    err = by_rid.get("rid-err-json", {})
    c.check(err.get("status") == 500 and err.get("code") == 13 and err.get("error") == "database is down",
            "json log: a Cuebot error's access object", err)
    warn = [o for o in parsed if o.get("level") == "warn" and o.get("request_id") == "rid-err-json"]
    c.check(len(warn) == 1 and "INTERNAL: database is down" in warn[0]["msg"],
            "json log: Cuebot's error is logged with the request id as a member", warn)
    unauth = by_rid.get("rid-401-json", {})
    c.check(unauth.get("status") == 401 and unauth.get("subject") is None, "json log: a 401's access object", unauth)


# ---- signals --------------------------------------------------------------------------

class Slow:
    """One request in a thread; .result is (status, body) or the error."""

    def __init__(self, port, token, rid):
        self.result = None
        self.t = threading.Thread(target=self._run, args=(port, token, rid))
        self.t.start()

    def _run(self, port, token, rid):
        try:
            r = harness.request(port, "POST", GET_SHOWS, "{}", {"Authorization": "Bearer " + token,
                                                                 "X-Request-Id": rid}, timeout=60)
            self.result = (r.status, r.body)
        except Exception as e:  # the assertion reports it
            self.result = ("error", repr(e))

    def join(self, timeout=60):
        self.t.join(timeout)
        return self.result


def arrived(standin, rid, timeout=10):
    return harness.wait_until(lambda: any(x["metadata"].get("x-request-id") == rid for x in standin.calls()), timeout)


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def run_signals_lighttpd(c, args, standin):
    token = harness.sign_jwt(SECRET)
    front = harness.Lighttpd(args.cuegw, {"CUEBOT_ENDPOINT": standin.endpoint, "JWT_SECRET": SECRET,
                                          "LOG_LEVEL": "info"}, workers=2).start()
    for sig in (signal.SIGTERM, signal.SIGUSR1):
        name = signal.Signals(sig).name
        standin.reset()
        standin.script(method=GET_SHOWS, delay_ms=1500, times=1)
        rid = "rid-slow-lighttpd-%s" % name
        slow = Slow(front.port, token, rid)
        c.check(arrived(standin, rid), "lighttpd %s: the slow call reached Cuebot" % name)
        workers = harness.children(front.proc.pid)
        for w in workers:
            os.kill(w, sig)
        res = slow.join()
        c.check(res and res[0] == 200 and b'"shows"' in res[1],
                "lighttpd %s: the request in flight finishes with 200" % name, res)
        gone = harness.wait_until(lambda: not any(alive(w) for w in workers), 60)
        c.check(gone, "lighttpd %s: every signalled worker exits" % name, [w for w in workers if alive(w)])
        ok = harness.wait_until(lambda: harness.request(front.port, "POST", GET_SHOWS, "{}",
                                                {"Authorization": "Bearer " + token}).status == 200, 60)
        c.check(ok, "lighttpd %s: lighttpd's new workers serve" % name)
    front.stop()
    log = front.error_log()
    lines = [l for l in log.splitlines() if "rid=rid-slow-lighttpd-" in l and "status=200" in l]
    c.check(len(lines) == 2, "lighttpd: both slow calls have their access line", lines)


def run_signals_pool(c, args, standin):
    token = harness.sign_jwt(SECRET)
    front = front_apache.ApacheProxyFcgi(args.cuegw, {"CUEBOT_ENDPOINT": standin.endpoint, "LOG_LEVEL": "info"},
                                         {"JWT_SECRET": SECRET}, workers=2).start()
    for sig in (signal.SIGTERM, signal.SIGUSR1):
        name = signal.Signals(sig).name
        if front.pool.poll() is not None:
            front.start_pool()
        standin.reset()
        standin.script(method=GET_SHOWS, delay_ms=1500, times=1)
        rid = "rid-slow-pool-%s" % name
        slow = Slow(front.port, token, rid)
        c.check(arrived(standin, rid), "pool %s: the slow call reached Cuebot" % name)
        front.pool.send_signal(sig)
        res = slow.join()
        c.check(res and res[0] == 200 and b'"shows"' in res[1],
                "pool %s: the request in flight finishes with 200" % name, res)
        try:
            rc = front.pool.wait(20)
        except subprocess.TimeoutExpired:
            rc = "still running"
        c.check(rc == 0, "pool %s: the pool exits 0 after it" % name, rc)
        c.check(not os.path.exists(front.socket), "pool %s: and removes its socket" % name)

    # SHUTDOWN_TIMEOUT bounds a request that takes longer.
    front.env_settings["SHUTDOWN_TIMEOUT"] = "1s"
    front.start_pool()
    standin.reset()
    standin.script(method=GET_SHOWS, delay_ms=15000, times=1)
    slow = Slow(front.port, token, "rid-too-slow")
    c.check(arrived(standin, "rid-too-slow"), "SHUTDOWN_TIMEOUT: the long call reached Cuebot")
    t0 = time.monotonic()
    front.pool.send_signal(signal.SIGTERM)
    try:
        rc = front.pool.wait(12)
    except subprocess.TimeoutExpired:
        rc = "still running"
    took = time.monotonic() - t0
    c.check(rc == 0 and took < 6, "SHUTDOWN_TIMEOUT=1s: the pool stops (status 0) without waiting for the call",
            (rc, took))
    res = slow.join()
    c.check(res and res[0] != 200, "SHUTDOWN_TIMEOUT: the abandoned call gets an error, not a hang", res)
    front.stop()
    log = front.error_log()
    c.check(not re.search(r"cuegw\[\d+\] error:", log), "the pool logged no error",
            [l for l in log.splitlines() if " error:" in l][:3])


# ---- health --------------------------------------------------------------------------

def run_health(c, args, schema):
    standin = harness.Standin(schema, grpc_port=harness.free_port()).start()
    port = standin.grpc_port
    token = harness.sign_jwt(SECRET)
    front = harness.Lighttpd(args.cuegw, {"CUEBOT_ENDPOINT": standin.endpoint, "JWT_SECRET": SECRET,
                                          "HEALTH_PATH": "/healthz"}, workers=1).start()

    def health():
        return harness.request(front.port, "GET", "/healthz")

    def state():
        r = harness.request(front.port, "GET", "/metrics", headers={"Authorization": "Bearer " + token})
        m = re.findall(r'^cuegw_cuebot_channel_state\{state="([A-Z_]+)"\} 1$', r.body.decode(), re.M)
        return m[0] if len(m) == 1 else m

    r = health()
    c.check(r.status == 200 and r.json() == {"status": "SERVING"}, "health: 200 SERVING with Cuebot up",
            (r.status, r.body))
    c.check(state() == "READY", "health: the metrics show the channel READY", state())
    standin.stop()
    r = harness.wait_until(lambda: (lambda x: x if x.status == 503 else None)(health()), 60) or health()
    c.check(r.status == 503 and r.json().get("code") == 14, "health: 503 (code 14) with Cuebot gone",
            (r.status, r.body))
    st = state()
    c.check(st in ("IDLE", "CONNECTING", "TRANSIENT_FAILURE"), "health: the metrics show the channel not READY", st)
    c.check(r.header("www-authenticate") is None, "health: needs no credentials")
    standin = harness.Standin(schema, grpc_port=port).start()
    r = harness.wait_until(lambda: (lambda x: x if x.status == 200 else None)(health()), 60) or health()
    c.check(r.status == 200, "health: 200 again once Cuebot is back", (r.status, r.body))
    c.check(state() == "READY", "health: and the channel READY", state())
    front.stop()
    standin.stop()


def run(c, args):
    standin = harness.Standin(args.schema).start()
    for part in (lambda: run_docs(c, args),
                 lambda: run_check_config(c, args, standin),
                 lambda: run_check_config_mtls(c, args),
                 lambda: run_access_log(c, args, standin),
                 lambda: run_signals_lighttpd(c, args, standin),
                 lambda: run_signals_pool(c, args, standin),
                 lambda: run_health(c, args, args.schema)):
        try:
            part()
        except Exception:
            c.check(False, "a part of the lifecycle test ran to the end", traceback.format_exc())


def main():
    return harness.suite_main("lifecycle", run)

if __name__ == "__main__":
    sys.exit(main())
