#!/usr/bin/python3
"""The operator's path (issue 16): what the suites, `make demo` and
`make standin` leave behind, and what `make check` and the demo say.

  tmp       a short integration suite run to its end, interrupted by Ctrl-C
            (SIGINT to its process group) and stopped by SIGTERM (to it
            alone), the install suite and a unit test, each with TMPDIR a
            fresh empty directory: it is empty again afterwards and no
            process of the run is left.
  demo      the banner names the file holding the access lines (cuegw.log)
            and lighttpd's error log, both there while it runs; Ctrl-C and
            SIGTERM stop it and remove its files.
  standin   `make standin` prints the stand-in Cuebot's address, which
            answers GetShows with the sample farm; Ctrl-C stops it.
  headline  tests/summarize.sh counts checks per suite with the oracle's
            cases apart, and names failed suites; tests/run-all.sh in a
            copy without ../shared skips schema-diff with a line saying so
            and passes, and beside a ../shared runs its schema-diff.

Usage: test_operator.py --cuegw BUILD/cuegw --schema BUILD/gen/schema.pb
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
sys.dont_write_bytecode = True
# TMPDIR as it was before harness points it at this run's scratch directory,
# and above make check's own (run-all.sh's cuegw.XXXXXX): the fresh
# directories below are made there, so that the unix socket paths of the
# suites run inside them stay short.
OUTER_TMP = os.environ.get("TMPDIR") or "/tmp"
if os.path.basename(OUTER_TMP).startswith("cuegw."):
    OUTER_TMP = os.path.dirname(OUTER_TMP)
import harness  # noqa: E402

PY = harness.PYTHON
# A short suite that starts the stand-in, lighttpd and a cuegw pool and
# makes temporary files of its own (htpasswd, policy files).
SHORT_SUITE = os.path.join(TOP, "tests", "integration", "test_remote_user.py")
SHORT_NAME = "integration-remote-user"
STEP_DONE = r"^\w+ +(ok|FAILED) \(\d"     # harness.run_step's line


class Proc:
    """A command in a session of its own, TMPDIR set, its output read as
    it comes (wait_line waits for a line, never for a fixed time)."""

    def __init__(self, cmd, tmpdir, env=None, cwd=None):
        e = dict(os.environ)
        for k in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS"):    # not the outer make's jobserver
            e.pop(k, None)
        e["TMPDIR"] = tmpdir
        e.update(env or {})
        self.cmd = cmd
        self.p = subprocess.Popen(cmd, env=e, cwd=cwd, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True, errors="replace", start_new_session=True)
        self.sid = self.p.pid
        self.lines = []
        self.eof = False
        self.cond = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        harness._started.append(self)

    def _read(self):
        for line in self.p.stdout:
            with self.cond:
                self.lines.append(line.rstrip("\n"))
                self.cond.notify_all()
        with self.cond:
            self.eof = True
            self.cond.notify_all()

    def wait_line(self, regex, timeout):
        """The match of the first line matching regex, None when the output
        ends or timeout seconds pass without one."""
        rx = re.compile(regex)
        end = time.monotonic() + timeout
        with self.cond:
            seen = 0
            while True:
                for line in self.lines[seen:]:
                    m = rx.search(line)
                    if m:
                        return m
                seen = len(self.lines)
                left = end - time.monotonic()
                if self.eof or left <= 0:
                    return None
                self.cond.wait(left)

    def finish(self, timeout):
        """The exit status, or a text saying it did not end in time (then
        the whole session is killed)."""
        try:
            rc = self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            return "did not end within %ds" % timeout
        self.reader.join(timeout)
        return rc

    def output(self, last=40):
        with self.cond:
            return "\n".join(self.lines[-last:])

    def signal_group(self, sig):
        try:
            os.killpg(self.sid, sig)
        except OSError:
            pass

    def stop(self):
        self.signal_group(signal.SIGKILL)
        if self.p.poll() is None:
            self.p.wait()


def session_processes(sid):
    """Live processes (not zombies) of session sid."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % pid) as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if fields[0] != "Z" and int(fields[3]) == sid:
            found.append(int(pid))
    return found


def fresh_dir(tag):
    """An empty directory for TMPDIR (mode 755, as /tmp lets the web
    servers' unprivileged children pass). A one-letter name: the Apache
    front's socket path, three levels below, must stay within 95 bytes
    (78 in /tmp)."""
    d = tempfile.mkdtemp(prefix=tag[:1], dir=OUTER_TMP)
    os.chmod(d, 0o755)
    _fresh.append(d)
    return d


_fresh = []


def listing(d):
    out = []
    for root, dirs, files in os.walk(d):
        for n in dirs + files:
            out.append(os.path.relpath(os.path.join(root, n), d))
    return sorted(out)[:30]


def check_clean(c, what, d, proc):
    c.check(os.path.isdir(d) and listing(d) == [], "%s: nothing is left in TMPDIR" % what, listing(d))
    left = harness.wait_until(lambda: not session_processes(proc.sid), 60) or session_processes(proc.sid)
    c.check(left is True, "%s: no process of the run is left" % what, left)


def suite_cmd(args):
    return [PY, SHORT_SUITE, "--cuegw", args.cuegw, "--schema", args.schema]


# ---- tmp -----------------------------------------------------------------------

def test_suite_run_leaves_nothing(c, args):
    d = fresh_dir("run")
    p = Proc(suite_cmd(args), d)
    rc = p.finish(600)
    c.check(rc == 0 and p.wait_line(r"^%s: \d+ passed, 0 failed" % SHORT_NAME, 1),
            "%s passes with TMPDIR a fresh directory" % SHORT_NAME, (rc, p.output()))
    check_clean(c, "a whole run", d, p)


def interrupted(c, args, tag, how):
    d = fresh_dir(tag)
    p = Proc(suite_cmd(args), d)
    # Its first step done: the servers run and their files are made.
    mid = p.wait_line(STEP_DONE, 300)
    c.check(mid is not None, "%s: the suite reaches its first step" % tag, p.output())
    c.check(listing(d) != [], "%s: by then it has files in TMPDIR" % tag)
    how(p)
    rc = p.finish(120)
    c.check(isinstance(rc, int) and rc != 0, "%s: it stops, with a failing status" % tag,
            (rc, p.output()))
    check_clean(c, tag, d, p)


def test_ctrl_c_leaves_nothing(c, args):
    interrupted(c, args, "sigint", lambda p: p.signal_group(signal.SIGINT))


def test_sigterm_leaves_nothing(c, args):
    # To the suite alone, as `kill PID` does: it stops its servers itself.
    interrupted(c, args, "sigterm", lambda p: p.p.send_signal(signal.SIGTERM))


def test_shell_and_unit_suites_leave_nothing(c, args):
    build = os.path.dirname(os.path.abspath(args.cuegw))
    d = fresh_dir("inst")
    p = Proc(["sh", os.path.join(TOP, "tests", "install_test.sh"), build], d)
    rc = p.finish(600)
    c.check(rc == 0, "the install suite passes with TMPDIR a fresh directory", (rc, p.output()))
    check_clean(c, "the install suite", d, p)
    d = fresh_dir("unit")
    p = Proc([os.path.join(build, "tests", "test_gateway")], d)
    rc = p.finish(300)
    c.check(rc == 0, "test_gateway passes with TMPDIR a fresh directory", (rc, p.output()))
    check_clean(c, "test_gateway", d, p)


# ---- demo ----------------------------------------------------------------------

def start_demo(args, d):
    port = harness.free_port()
    p = Proc([PY, os.path.join(TOP, "tools", "demo.py"), "--cuegw", args.cuegw,
              "--schema", args.schema, "--workers", "1"], d,
             env={"DEMO_PORT": str(port), "CUEBOT_ENDPOINT": "", "JWT_SECRET": ""})
    return p, port


def test_demo_banner_and_files(c, args):
    d = fresh_dir("demo")
    p, port = start_demo(args, d)
    ready = p.wait_line(r"^Press Ctrl-C to stop", 120)
    c.check(ready is not None, "the demo starts and prints its banner", p.output())
    if not ready:
        return
    access = p.wait_line(r"^demo: access lines and cuegw's errors: +(\S+)$", 1)
    errors = p.wait_line(r"^demo: lighttpd's own errors: +(\S+)$", 1)
    token = p.wait_line(r"Authorization: Bearer ([^']+)'", 1)
    c.check(access and errors and token, "the banner names both logs and a token", p.output())
    if not (access and errors and token):
        return
    access, errors = access.group(1), errors.group(1)
    c.check(os.path.basename(access) == "cuegw.log" and os.path.basename(errors) == "error.log",
            "the access lines are named in cuegw.log, lighttpd's errors in error.log", (access, errors))
    c.check(access.startswith(d + os.sep) and os.path.isfile(errors),
            "both are in the demo's TMPDIR, and error.log is there", (access, errors, listing(d)))
    r = harness.request(port, "POST", "/show.ShowInterface/GetShows", "{}",
                        {"Authorization": "Bearer " + token.group(1),
                         "Content-Type": "application/json"})
    c.check(r.status == 200 and b'"shows"' in r.body, "the banner's curl command answers the shows",
            (r.status, r.body[:200]))
    logged = harness.wait_until(
        lambda: "show.ShowInterface/GetShows" in harness.read_logs(access), 60)
    c.check(logged, "the file the banner names for access lines holds that call's line",
            harness.read_logs(access)[-500:])
    c.check("show.ShowInterface/GetShows" not in harness.read_logs(errors),
            "and the error log does not (the banner does not send one to the other)")
    p.signal_group(signal.SIGINT)
    rc = p.finish(60)
    c.check(rc == 0 and p.wait_line(r"^demo: stopped", 1), "Ctrl-C stops the demo (status 0)",
            (rc, p.output()))
    check_clean(c, "the demo after Ctrl-C", d, p)


def test_demo_sigterm(c, args):
    d = fresh_dir("demt")
    p, _ = start_demo(args, d)
    ready = p.wait_line(r"^Press Ctrl-C to stop", 120)
    c.check(ready is not None, "the demo starts", p.output())
    p.p.send_signal(signal.SIGTERM)
    rc = p.finish(60)
    c.check(rc == 0, "SIGTERM stops the demo (status 0)", (rc, p.output()))
    check_clean(c, "the demo after SIGTERM", d, p)


# ---- make standin ----------------------------------------------------------------

def test_make_standin(c, args):
    build = os.path.dirname(os.path.abspath(args.cuegw))
    d = fresh_dir("stdn")
    p = Proc(["make", "-s", "--no-print-directory", "-C", TOP, "BUILD=" + build,
              "PYTHON=" + PY, "standin"], d)
    m = p.wait_line(r"^standin: grpc (\S+):(\d+) control", 120)
    c.check(m is not None, "make standin prints the stand-in's address", p.output())
    if not m:
        return
    endpoint = "%s:%s" % (m.group(1), m.group(2))
    c.check(p.wait_line(r"CUEBOT_ENDPOINT=%s\b" % re.escape(endpoint), 10) is not None,
            "and says to point CUEBOT_ENDPOINT at it", p.output())
    r = subprocess.run([os.path.join(build, "tests", "cuebot-call"), "--endpoint", endpoint,
                        "--json", "/show.ShowInterface/GetShows"],
                       input=b"{}", capture_output=True, timeout=60)
    c.check(r.returncode == 0 and b'"shows"' in r.stdout and b'"name"' in r.stdout,
            "GetShows at that address answers the sample farm's shows",
            (r.returncode, r.stdout[:200], r.stderr[-300:]))
    p.signal_group(signal.SIGINT)
    rc = p.finish(60)
    c.check(isinstance(rc, int), "Ctrl-C stops it", (rc, p.output()))
    check_clean(c, "make standin", d, p)


# ---- headline and schema-diff ------------------------------------------------------

def summarize(d, text):
    path = os.path.join(d, "results-%d" % len(os.listdir(d)))
    with open(path, "w") as f:
        f.write(text)
    r = subprocess.run(["sh", os.path.join(TOP, "tests", "summarize.sh"), path],
                       capture_output=True, text=True, timeout=30)
    return r.returncode, r.stdout.splitlines()[-1] if r.stdout else r.stderr


def test_summary_headline(c, args):
    d = tempfile.mkdtemp()
    rc, head = summarize(d, "test_jwt 120 0\nfuzz-replay 900 0\nlifecycle 30 0\n"
                            "oracle 148213 0\nschema-diff 1 0\n")
    c.check(rc == 0 and head == "all: 1,051 checks in 5 suites passed (oracle: 148,213 cases)",
            "all passed: checks and suites, the oracle's cases apart", (rc, head))
    rc, head = summarize(d, "test_jwt 120 0\nfaults 40 2\npeers 10 1\noracle 1000 0\n")
    c.check(rc == 1 and head.startswith("all: 2 of 4 suites FAILED (faults, peers): 3 checks failed, ")
            and "oracle: 1,000 cases" in head, "failures: how many, in which suites", (rc, head))
    rc, head = summarize(d, "test_jwt 120 0\noracle 1000 7\n")
    c.check(rc == 1 and "FAILED (oracle)" in head and "7 failed" in head,
            "a failing oracle fails the run, its count shown", (rc, head))
    rc, head = summarize(d, "test_jwt 120 0\nschema-diff skip no ../shared beside this clone\n")
    c.check(rc == 0 and head == "all: 120 checks in 1 suite passed; skipped: schema-diff",
            "a skipped suite is named in the headline, not counted", (rc, head))
    rc, head = summarize(d, "")
    c.check(rc == 1, "no suite at all is a failure", (rc, head))


def layout(root, shared_tool=None):
    """ROOT/cuegw/tests with the scripts of `make check`, and with
    shared_tool ROOT/shared/tools/schema-diff: a fake recording its call."""
    tests = os.path.join(root, "cuegw", "tests")
    os.makedirs(tests)
    for n in ("run-all.sh", "summarize.sh", "schema_check.sh"):
        shutil.copy(os.path.join(TOP, "tests", n), tests)
    if shared_tool is not None:
        tools = os.path.join(root, "shared", "tools")
        os.makedirs(tools)
        with open(os.path.join(tools, "schema-diff"), "w") as f:
            f.write('#!/bin/sh\necho "schema-diff $*" >"$(dirname "$0")/called"\n'
                    'echo "fake schema-diff"\nexit %d\n' % shared_tool)
        os.chmod(os.path.join(tools, "schema-diff"), 0o755)
    return os.path.join(root, "cuegw")


def run_all(args, top, tmp):
    build = os.path.dirname(os.path.abspath(args.cuegw))
    logs = tempfile.mkdtemp()
    p = Proc(["sh", os.path.join(top, "tests", "run-all.sh"), build, PY, "proto"], tmp,
             env={"CHECK_ONLY": "schema-diff test_primitives", "CHECK_LOGS": logs}, cwd=top)
    return p, p.finish(300)


def test_clone_alone_skips_schema_diff(c, args):
    d = fresh_dir("alone")
    root = tempfile.mkdtemp()
    top = layout(root)
    p, rc = run_all(args, top, d)
    c.check(rc == 0, "run-all.sh in a clone without ../shared passes", (rc, p.output()))
    c.check(p.wait_line(r"^schema-diff: skipped: no reference schema beside this clone", 1),
            "and says on one line that schema-diff is skipped, and why", p.output())
    c.check(p.wait_line(r"^all: [\d,]+ checks in 1 suite passed; skipped: schema-diff$", 1),
            "its headline names the skip", p.output())
    check_clean(c, "run-all.sh", d, p)

    for status, verdict in ((0, "1 passed, 0 failed"), (3, "0 passed, 1 failed")):
        root = tempfile.mkdtemp()
        top = layout(root, shared_tool=status)
        p, rc = run_all(args, top, d)
        called = harness.read_logs(os.path.join(root, "shared", "tools", "called"))
        c.check(called.strip() == "schema-diff proto", "beside ../shared, run-all.sh runs its "
                "schema-diff on proto/ (exit %d)" % status, (called, p.output()))
        c.check(p.wait_line(r"^schema-diff: %s$" % verdict, 1) is not None
                and (rc == 0) == (status == 0),
                "and counts it: %s, the run %s" % (verdict, "passes" if status == 0 else "fails"),
                (rc, p.output()))
    root = tempfile.mkdtemp()
    top = layout(root)
    os.makedirs(os.path.join(root, "shared"))
    p, rc = run_all(args, top, d)
    c.check(rc != 0 and p.wait_line(r"^schema-diff: 0 passed, 1 failed", 1) is not None,
            "a ../shared without its schema-diff fails (only its absence skips)", (rc, p.output()))


TESTS = [test_summary_headline, test_clone_alone_skips_schema_diff, test_make_standin,
         test_demo_banner_and_files, test_demo_sigterm, test_shell_and_unit_suites_leave_nothing,
         test_suite_run_leaves_nothing, test_ctrl_c_leaves_nothing, test_sigterm_leaves_nothing]


def run(c, args):
    try:
        harness.run_tests(c, args, TESTS, args.only)
    finally:
        harness.stop_all()
        for d in _fresh:
            harness.remove_tree(d)


def main():
    return harness.suite_main("operator", run, lambda ap: ap.add_argument(
        "--only", help="only the tests whose name contains this"))


if __name__ == "__main__":
    sys.exit(main())
