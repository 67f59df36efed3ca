"""Real servers on loopback for the integration tests and `make demo`: the
stand-in Cuebot, and lighttpd started from the shipped lighttpd/ config with
a pool of cuegw processes. Ports are picked free at run time.

Everything a test starts is stopped by stop_all(), also when a test fails.
Every temporary file of a process that imports this module, and of the
processes it starts, goes into one scratch directory (TMPDIR), removed when
the process ends: normally, on an exception, on SIGINT, SIGTERM or SIGHUP.
"""

import atexit
import http.client
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

from sysconf import wait_until  # noqa: F401  (harness.wait_until)

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STANDIN = os.path.join(TOP, "tests", "cuebot", "standin.py")
LIGHTTPD_CONF = os.path.join(TOP, "lighttpd", "lighttpd.conf")
LIGHTTPD_BASIC_AUTH = os.path.join(TOP, "lighttpd", "cuegw-basic-auth.conf")
PYTHON = "/usr/bin/python3"

_started = []
servers = []     # every Lighttpd started, for the log checks at the end


def stop_all():
    for s in reversed(_started):
        try:
            s.stop()
        except Exception as e:  # keep stopping the others
            print("harness: stopping %r: %s" % (s, e), file=sys.stderr)
    _started.clear()


# ---- the scratch directory -----------------------------------------------------
# tempfile's functions and every child (through TMPDIR) create their files
# under SCRATCH, so one removal at exit takes all of them, whatever the test
# named them. Its mode is 755: web servers' unprivileged children must pass
# through it to the run directories made (0700 or opened up) inside it.
SCRATCH = None
_scratch_owner = None


def _task_children():
    """Pids of this process's children, whichever thread started them."""
    pids = []
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return pids
    for t in tasks:
        try:
            with open("/proc/self/task/%s/children" % t) as f:
                pids += [int(x) for x in f.read().split()]
        except OSError:
            pass
    return pids


def _reap_children(timeout=5.0):
    """SIGTERM to every child still running, SIGKILL to those that outlive
    timeout seconds, each waited for: nothing keeps writing into the scratch
    directory, nothing outlives the run."""
    pids = _task_children()
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError:
            pass
    end = time.monotonic() + timeout
    for pid in pids:
        while True:
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                break                   # already reaped (by its Popen)
            if done:
                break
            if time.monotonic() > end:
                try:
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
                except OSError:
                    pass
                break
            time.sleep(0.02)


def remove_tree(path):
    """Removes path and everything in it; a file a late writer adds while
    it runs is taken on the next pass. True when it is gone."""
    for _ in range(5):
        shutil.rmtree(path, ignore_errors=True)
        if not os.path.lexists(path):
            return True
    print("harness: could not remove %s" % path, file=sys.stderr)
    return False


def _remove_scratch():
    if SCRATCH is None or os.getpid() != _scratch_owner:
        return                          # a forked child leaves it to its parent
    try:
        stop_all()
    finally:
        _reap_children()
        remove_tree(SCRATCH)


def _on_signal(signum, _frame):
    # Unwinds the main thread through its finally blocks (servers stopped,
    # logs kept); atexit then removes the scratch directory.
    signal.signal(signum, signal.SIG_IGN)    # a second Ctrl-C does not cut the clean-up short
    raise KeyboardInterrupt("signal %d" % signum)


def _make_scratch():
    global SCRATCH, _scratch_owner
    parent = os.environ.get("TMPDIR") or tempfile.gettempdir()
    # A short name: the unix socket paths below it must stay within 107
    # bytes, and within 95 for Apache's ProxyPass (/tmp/cuegw.12345678/
    # cuegw-apache-proxy-fcgi-12345678/pool/cuegw.sock is 69).
    SCRATCH = tempfile.mkdtemp(prefix="cuegw.", dir=parent)
    os.chmod(SCRATCH, 0o755)
    _scratch_owner = os.getpid()
    tempfile.tempdir = SCRATCH
    os.environ["TMPDIR"] = SCRATCH
    atexit.register(_remove_scratch)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(sig) is not signal.SIG_IGN:
            signal.signal(sig, _on_signal)


def keep_logs(build_dir, suite):
    """Copies the text logs (*.log, *.out, *.txt up to 4 MB each) from the
    scratch directory to BUILD/test-logs/SUITE-files, for a failed run to be
    read after the scratch directory is gone. Returns that path, None when
    there was nothing to keep."""
    dest = os.path.join(build_dir, "test-logs", "%s-files" % suite)
    shutil.rmtree(dest, ignore_errors=True)
    kept = False
    for d, _, files in os.walk(SCRATCH):
        for name in files:
            src = os.path.join(d, name)
            if not name.endswith((".log", ".out", ".txt")) or not os.path.isfile(src) \
                    or os.path.getsize(src) > 4 << 20:
                continue
            out = os.path.join(dest, os.path.relpath(src, SCRATCH))
            try:
                os.makedirs(os.path.dirname(out), exist_ok=True)
                shutil.copyfile(src, out)
                kept = True
            except OSError:
                pass
    return dest if kept else None


class Checks:
    """Counts checks; prints each failure with its detail. Every test
    script ends with "<suite>: N passed, N failed" from these counts."""

    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, ok, what, detail=""):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            print("FAIL %s%s" % (what, (": " + str(detail)[:600]) if detail else ""), flush=True)
        return ok


def stop_process(proc, timeout):
    """SIGTERM, then SIGKILL if it is still there after timeout seconds."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def children(pid):
    """The pids of a process's children (from /proc), [] when it is gone."""
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def exited(pid):
    """Whether process pid has ended (gone, or a zombie not yet reaped)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return True


def count_in_file(path, text):
    """How many times text occurs in the file (0 when it is not there)."""
    try:
        with open(path, errors="replace") as f:
            return f.read().count(text)
    except OSError:
        return 0


def read_logs(*paths):
    """The files' contents one after the other; missing ones are skipped."""
    text = ""
    for path in paths:
        try:
            with open(path, errors="replace") as f:
                text += f.read()
        except OSError:
            pass
    return text


def schema_pool(schema_path):
    """The compiled descriptor set in a python-protobuf descriptor pool
    (independent of cuegw's code)."""
    from google.protobuf import descriptor_pb2, descriptor_pool
    fds = descriptor_pb2.FileDescriptorSet()
    with open(schema_path, "rb") as f:
        fds.ParseFromString(f.read())
    pool = descriptor_pool.DescriptorPool()
    for fd in fds.file:
        pool.Add(fd)
    return pool


def method_classes(schema_path, service, method):
    """The request and response classes of a method, from the compiled
    descriptor set, by python-protobuf (independent of cuegw's code)."""
    from google.protobuf import message_factory
    pool = schema_pool(schema_path)
    factory = message_factory.MessageFactory(pool)
    md = pool.FindServiceByName(service).FindMethodByName(method)
    return factory.GetPrototype(md.input_type), factory.GetPrototype(md.output_type)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, timeout=10.0, proc=None):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("process exited with %s before listening" % proc.returncode)
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("nothing listens on port %d after %.0fs" % (port, timeout))


def need(tool):
    """A tool a test needs; its absence fails the run, it never skips it."""
    path = shutil.which(tool) or (tool if os.path.exists(tool) else None)
    if not path:
        raise RuntimeError("required tool %s is not installed (run tools/install-deps.sh)" % tool)
    return path


class Standin:
    """The stand-in Cuebot (tests/cuebot/standin.py) as a child process."""

    def __init__(self, schema, grpc_port=0, log_dir=None, tls_args=()):
        self.schema = schema
        self.grpc_port = grpc_port
        self.tls_args = list(tls_args)      # standin.py's --tls-* options
        self.control_port = None
        self.proc = None
        self.log_dir = log_dir or tempfile.mkdtemp(prefix="cuegw-standin-")
        _started.append(self)

    def start(self, timeout=15.0):
        ports_file = os.path.join(self.log_dir, "ports.json")
        if os.path.exists(ports_file):
            os.unlink(ports_file)
        log = open(os.path.join(self.log_dir, "standin.log"), "ab")
        self.proc = subprocess.Popen(
            [PYTHON, STANDIN, "--schema", self.schema, "--grpc-port", str(self.grpc_port),
             "--ports-file", ports_file] + self.tls_args,
            stdout=log, stderr=subprocess.STDOUT)
        log.close()
        end = time.monotonic() + timeout
        while not os.path.exists(ports_file):
            if self.proc.poll() is not None or time.monotonic() > end:
                raise RuntimeError("stand-in Cuebot did not start; see %s/standin.log" % self.log_dir)
            time.sleep(0.05)
        with open(ports_file) as f:
            ports = json.load(f)
        self.grpc_port, self.control_port = ports["grpc"], ports["control"]
        return self

    @property
    def endpoint(self):
        return "127.0.0.1:%d" % self.grpc_port

    def control(self, method, path, body=None):
        c = http.client.HTTPConnection("127.0.0.1", self.control_port, timeout=30)
        data = json.dumps(body).encode() if body is not None else None
        c.request(method, path, body=data, headers={"Content-Type": "application/json"})
        r = c.getresponse()
        out = r.read()
        c.close()
        if r.status != 200:
            raise RuntimeError("stand-in control %s %s: %d %s" % (method, path, r.status, out[:200]))
        return json.loads(out) if out else None

    def script(self, **kw):
        return self.control("POST", "/script", kw)

    def reset(self):
        return self.control("POST", "/reset", {})

    def calls(self):
        return self.control("GET", "/calls")

    def stop(self):
        stop_process(self.proc, 5)
        self.proc = None


def cuegw_settings_names():
    """The settings lighttpd/cuegw.conf reads from the environment, taken
    from the shipped file itself so the list cannot drift from it."""
    with open(os.path.join(TOP, "lighttpd", "cuegw.conf")) as f:
        text = re.sub(r"#.*", "", f.read())
    return sorted(set(re.findall(r"env\.([A-Z_][A-Z0-9_]*)", text)))


# Settings a deployment keeps out of the environment and hands to cuegw
# with each request, so they rotate with a graceful reload.
SECRET_NAMES = ("JWT_SECRET", "EXPIRING_JWT_SECRET", "AUTH_TOKEN", "EXPIRING_AUTH_TOKEN")


def htpasswd_text(users):
    """A password file for HTTP basic auth that lighttpd, nginx and Apache
    all read: one user:hash line per user, bcrypt hashes by Apache's
    htpasswd (apache2-utils)."""
    tool = need("htpasswd") if shutil.which("htpasswd") else need("/usr/bin/htpasswd")
    lines = []
    for user, password in dict(users).items():
        if ":" in user or "\n" in user or "\n" in password:
            raise ValueError("not a basic-auth user: %r" % user)
        r = subprocess.run([tool, "-nbB", "-C", "5", user, password], capture_output=True,
                           text=True, timeout=30)
        if r.returncode != 0:
            raise RuntimeError("htpasswd failed (%d): %s" % (r.returncode, r.stderr.strip()))
        lines.append(r.stdout.strip())
    return "\n".join(lines) + "\n"


def write_private(path, text):
    """Writes a file of mode 600 whole, by renaming a finished copy into
    place, so a reload never reads half of it."""
    tmp = path + ".new"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def write_htpasswd(path, users):
    """Writes the password file readable by the web server's unprivileged
    children (it holds hashes only)."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(htpasswd_text(users))
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def lighttpd_user():
    """Who lighttpd/lighttpd.conf makes lighttpd and its cuegw processes
    when started as root: CUEGW_USER, else the file's default www-data
    (None when not root: then nobody is switched to)."""
    if os.geteuid() != 0:
        return None
    return pwd.getpwnam(os.environ.get("CUEGW_USER") or "www-data")


def can_run_as(pw, path):
    """Whether user pw may run the program at path (every directory on the
    way searchable, the file executable), asked of a child that became pw."""
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups([])
            os.setgid(pw.pw_gid)
            os.setuid(pw.pw_uid)
            os._exit(0 if os.access(path, os.X_OK) else 1)
        except BaseException:
            os._exit(2)
    return os.waitpid(pid, 0)[1] == 0


def lighttpd_quote(v):
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'


class Lighttpd:
    """lighttpd -D -f lighttpd/lighttpd.conf, with cuegw's settings in its
    environment and the secrets in the CUEGW_SECRETS file, as a site would
    run it.

    basic_auth={"user": "password", ...}: lighttpd checks HTTP basic auth
    against a password file of those users (the shipped
    lighttpd/cuegw-basic-auth.conf as CUEGW_AUTH_CONF) and passes the user
    as REMOTE_USER; give AUTH_MODE=remote-user in settings to match.
    Without it CUEGW_AUTH_CONF is /dev/null: no authentication at the
    front."""
    name = "lighttpd"

    def __init__(self, cuegw_bin, settings, workers=2, port=None, host="127.0.0.1",
                 run_dir=None, basic_auth=None):
        self.cuegw_bin = os.path.abspath(cuegw_bin)
        self.settings = dict(settings)
        self.workers = workers
        self.port = port or free_port()
        self.host = host
        self.run_dir = run_dir or tempfile.mkdtemp(prefix="cuegw-lighttpd-")
        # Started as root, lighttpd becomes this user before it spawns cuegw:
        # the run directory (socket, counters, logs) is that user's, as the
        # shipped file asks of a site.
        self.user = lighttpd_user()
        if self.user:
            os.chown(self.run_dir, self.user.pw_uid, self.user.pw_gid)
            os.chmod(self.run_dir, 0o700)
            if not can_run_as(self.user, self.cuegw_bin):
                # A build tree the user cannot enter (a home of mode 700):
                # a copy it may run.
                copy = os.path.join(self.run_dir, "cuegw")
                shutil.copy(self.cuegw_bin, copy)
                os.chmod(copy, 0o755)
                self.cuegw_bin = copy
        self.proc = None
        self.secrets = os.path.join(self.run_dir, "cuegw-secrets.conf")
        self.set_params({k: v for k, v in self.settings.items() if k in SECRET_NAMES})
        self.htpasswd = None
        if basic_auth is not None:
            self.htpasswd = os.path.join(self.run_dir, "htpasswd")
            write_htpasswd(self.htpasswd, basic_auth)
        _started.append(self)
        servers.append(self)

    def set_params(self, params):
        """Rewrites the secrets file (takes effect at the next reload)."""
        lines = ["setenv.add-environment += ("]
        for k in SECRET_NAMES:
            lines.append("    %s => %s," % (lighttpd_quote(k), lighttpd_quote(params.get(k, ""))))
        lines.append(")")
        write_private(self.secrets, "\n".join(lines) + "\n")
        if self.user:
            # A graceful restart reads it again after the switch.
            os.chown(self.secrets, self.user.pw_uid, self.user.pw_gid)

    def reload(self, timeout=60.0):
        """lighttpd's graceful restart: it finishes what is in flight and
        comes back with the files re-read. Returns once it says it has
        started again (the same process, so its error log says so once
        more): requests then meet the new configuration."""
        log, mark = os.path.join(self.run_dir, "error.log"), "server started"
        before = count_in_file(log, mark)
        self.proc.send_signal(signal.SIGUSR1)
        if not wait_until(lambda: self.proc.poll() is not None or count_in_file(log, mark) > before,
                          timeout, 0.02) or self.proc.poll() is not None:
            raise RuntimeError("lighttpd did not come back from a graceful restart in %.0fs "
                               "(status %s); see %s" % (timeout, self.proc.poll(), self.run_dir))
        wait_for_port(self.port, timeout, self.proc)

    def env(self):
        env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")}
        for name in cuegw_settings_names():
            env[name] = ""            # blank: cuegw's default
        env.update({
            "CUEGW_HTTP_HOST": self.host,
            "CUEGW_HTTP_PORT": str(self.port),
            "CUEGW_RUN_DIR": self.run_dir,
            "CUEGW_BIN": self.cuegw_bin,
            "CUEGW_WORKERS": str(self.workers),
            "CUEGW_SECRETS": self.secrets,
            "CUEGW_AUTH_CONF": LIGHTTPD_BASIC_AUTH if self.htpasswd else "/dev/null",
        })
        if self.htpasswd:
            env["CUEGW_HTPASSWD"] = self.htpasswd
        for k in ("CUEGW_USER", "CUEGW_GROUP"):      # a run's own choice of user
            if os.environ.get(k):
                env[k] = os.environ[k]
        for k, v in self.settings.items():
            if k not in SECRET_NAMES:
                env[k] = str(v)
        for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
            if k in os.environ:
                env[k] = os.environ[k]
        return env

    def start(self, timeout=15.0):
        os.makedirs(os.path.join(self.run_dir, "docroot"), exist_ok=True)
        lighttpd = need("lighttpd") if shutil.which("lighttpd") else need("/usr/sbin/lighttpd")
        out = open(os.path.join(self.run_dir, "lighttpd.out"), "ab")
        self.proc = subprocess.Popen([lighttpd, "-D", "-f", LIGHTTPD_CONF], env=self.env(),
                                     stdout=out, stderr=subprocess.STDOUT)
        out.close()
        try:
            wait_for_port(self.port, timeout, self.proc)
        except RuntimeError as e:
            raise RuntimeError("lighttpd did not start (%s); see %s" % (e, self.run_dir))
        return self

    def error_log(self):
        """lighttpd's error log, then what the cuegw workers wrote to stderr."""
        return read_logs(*(os.path.join(self.run_dir, n) for n in ("error.log", "cuegw.log", "lighttpd.out")))

    def stop(self):
        """Stops lighttpd, then waits for the cuegw processes it spawned to
        end: what they log is all in the files once they have. (A request's
        access line comes after its last byte, and lighttpd hands its client
        an answer whose Content-Length is met without waiting for more, so
        a line may still be on its way when the client has the answer.)"""
        spawned = children(self.proc.pid) if self.proc is not None else []
        stop_process(self.proc, 10)
        self.proc = None
        wait_until(lambda: all(exited(p) for p in spawned), 60, 0.02)

    def url(self, path):
        return "http://%s:%d%s" % (self.host, self.port, path)


SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "UndefinedBehaviorSanitizer",
                   "runtime error:", "Segmentation fault")


def crash_reports():
    """Sanitizer reports or crashes of workers in any server's error log
    (workers' stderr goes there), to be read after the servers stopped."""
    found = []
    for s in servers:
        for line in s.error_log().splitlines():
            if "AH00052" in line and getattr(s, "name", "").startswith("apache-"):
                # AH00052 is about the Apache parent's own children (httpd
                # workers): cuegw runs as a child of mod_fcgid's process
                # manager or of our own pool, and mod_fcgid reports a cuegw
                # death as "get unexpected signal N", which is still caught
                # below. An httpd crash is reported, not counted as ours.
                print("harness: note: Apache's own process crashed: %s" % line)
                continue
            if any(m in line for m in SANITIZER_MARKS) or "signal 6" in line or "signal 11" in line:
                found.append("%s: %s" % (s.run_dir, line))
    return found


class Response:
    def __init__(self, status, headers, body, elapsed):
        self.status = status
        self.headers = headers
        self.body = body
        self.elapsed = elapsed

    def header(self, name):
        return self.headers.get(name.lower())

    def json(self):
        return json.loads(self.body)


def request(port, method, path, body=None, headers=None, timeout=60, host="127.0.0.1"):
    """One HTTP request on a fresh connection."""
    c = http.client.HTTPConnection(host, port, timeout=timeout)
    if isinstance(body, str):
        body = body.encode()
    t0 = time.monotonic()
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    elapsed = time.monotonic() - t0
    hdrs = {k.lower(): v for k, v in r.getheaders()}
    c.close()
    return Response(r.status, hdrs, data, elapsed)


def kept_past(port, path, headers, idle_s, body=b"{}"):
    """Two POSTs on one kept HTTP connection, idle_s apart (CueWeb's poll
    period: the idle time is the stimulus, not a wait for an event).
    Returns (first status, second status or the error that ended it)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        c.request("POST", path, body=body, headers=headers)
        r = c.getresponse()
        r.read()
        first = r.status
        if r.will_close:
            return first, "the front closed it at once"
        time.sleep(idle_s)
        try:
            c.request("POST", path, body=body, headers=headers)
            r = c.getresponse()
            r.read()
            return first, r.status
        except (OSError, http.client.HTTPException) as e:
            return first, "closed while idle: %r" % e
    finally:
        c.close()


def sign_jwt(secret, claims=None, alg="HS256"):
    import jwt  # python3-jwt, the independent signer
    claims = dict(claims or {})
    claims.setdefault("sub", "tester")
    claims.setdefault("exp", int(time.time()) + 3600)
    token = jwt.encode(claims, secret, algorithm=alg)
    return token.decode() if isinstance(token, bytes) else token


def run_step(c, name, fn):
    """Runs fn(), then prints name with ok or FAILED and its time; an
    exception fails the step, and the caller goes on to the next one."""
    import traceback
    t0 = time.monotonic()
    before = c.failed
    try:
        fn()
    except Exception:
        c.check(False, name + " ran to the end", traceback.format_exc())
    print("%-28s %s (%.1fs)" % (name, "ok" if c.failed == before else "FAILED",
                                 time.monotonic() - t0), flush=True)


def run_tests(c, env, tests, only=None):
    """Runs each test(c, env) in turn as a step (those whose name contains
    `only`, when given)."""
    for t in tests:
        if not only or only in t.__name__:
            run_step(c, t.__name__, lambda: t(c, env))


def suite_main(suite, run, add_args=None):
    """What a test script's main() does: reads --cuegw and --schema (plus
    what add_args(parser) adds), calls run(checks, args), stops every
    server also when run raised, checks the servers' logs for worker
    crashes and sanitizer reports, and prints "SUITE: N passed, M failed".
    Returns the exit status."""
    import argparse
    import traceback
    ap = argparse.ArgumentParser()
    ap.add_argument("--cuegw", required=True)
    ap.add_argument("--schema", required=True)
    if add_args:
        add_args(ap)
    args = ap.parse_args()
    c = Checks()
    try:
        run(c, args)
    except Exception:
        c.check(False, suite + " ran to the end", traceback.format_exc())
    finally:
        stop_all()
        reports = crash_reports()
        c.check(not reports, "no worker crashed or reported a sanitizer error",
                "\n".join(reports[:20]))
        if c.failed:
            report_kept_logs(args.cuegw, suite)
    print("%s: %d passed, %d failed" % (suite, c.passed, c.failed))
    return 1 if c.failed else 0


def report_kept_logs(cuegw_bin, suite):
    """For a failed run: keeps its logs under the build directory (the
    one holding cuegw_bin) and says where."""
    kept = keep_logs(os.path.dirname(os.path.abspath(cuegw_bin)), suite)
    if kept:
        print("harness: the logs of this run are kept in %s (paths above under %s)" % (kept, SCRATCH))


_make_scratch()
