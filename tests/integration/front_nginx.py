"""nginx in front of a spawn-fcgi pool of cuegw processes, both started from
the shipped files in conf/, as a site would run them:

  - the pool: conf/spawn-fcgi.sh start, with a settings file made from
    conf/cuegw.env (every line kept, the given settings filled in);
  - nginx: nginx -p RUN_DIR/ -c RUN_DIR/nginx.conf -g 'daemon off;', where
    RUN_DIR/nginx.conf, nginx-cuegw.conf and nginx-cuegw-fastcgi.conf are
    symbolic links to the shipped files of conf/, and the three
    per-site includes those name (cuegw-listen.conf, cuegw-upstream.conf,
    cuegw-secrets.conf) are written here. With basic_auth, also the
    optional cuegw-auth.conf: a symbolic link to the shipped
    conf/nginx-cuegw-basic-auth.conf, with its password file cuegw-htpasswd.

Instances register with harness, so harness.stop_all() stops them and
harness.crash_reports() reads their logs.
"""

import os
import pwd
import grp
import re
import shutil
import subprocess
import tempfile
import time

import harness

CONF_DIR = os.path.join(harness.TOP, "conf")
SPAWN_FCGI_SH = os.path.join(CONF_DIR, "spawn-fcgi.sh")
ENV_TEMPLATE = os.path.join(CONF_DIR, "cuegw.env")
BASIC_AUTH_CONF = os.path.join(CONF_DIR, "nginx-cuegw-basic-auth.conf")
SANITIZER_ENV = ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS")

_BARE = re.compile(r"^[A-Za-z0-9_@%+=:,./-]*$")


def env_value(value):
    """A value written so that systemd's EnvironmentFile and sh's `.` read
    it alike: bare when it is plain, else in single quotes."""
    value = str(value)
    if _BARE.match(value):
        return value
    if "'" in value or "\n" in value:
        raise ValueError("an env-file value may not hold a single quote or a newline: %r" % value)
    return "'%s'" % value


def nginx_value(value):
    """A value as a double-quoted nginx string. '$' has no escape there
    (nginx would read a variable), so it is refused."""
    value = str(value)
    if "$" in value or any(ord(ch) < 32 for ch in value):
        raise ValueError("an nginx fastcgi_param value may not hold '$' or control characters")
    return '"%s"' % value.replace("\\", "\\\\").replace('"', '\\"')


def env_names():
    """The settings conf/cuegw.env lists, in its order."""
    with open(ENV_TEMPLATE) as f:
        return re.findall(r"^([A-Z_][A-Z0-9_]*)=", f.read(), re.M)


def _title(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


class Nginx:
    """nginx + spawn-fcgi pool. env_settings: the pool's settings (its env
    file); param_settings: the fastcgi_param lines of cuegw-secrets.conf.
    basic_auth={"user": "password", ...}: nginx checks HTTP basic auth
    against a password file of those users and passes the user as
    REMOTE_USER; give AUTH_MODE=remote-user in env_settings to match."""

    name = "nginx"

    def __init__(self, cuegw_bin, env_settings, param_settings, workers=2, port=None,
                 basic_auth=None):
        self.cuegw_bin = os.path.abspath(cuegw_bin)
        self.env_settings = dict(env_settings)
        self.param_settings = dict(param_settings)
        self.workers = workers
        self.port = port or harness.free_port()
        self.host = "127.0.0.1"
        self.run_dir = tempfile.mkdtemp(prefix="cuegw-nginx-")
        self.pool_dir = os.path.join(self.run_dir, "pool")
        self.socket = os.path.join(self.pool_dir, "cuegw.sock")
        self.env_file = os.path.join(self.run_dir, "cuegw.env")
        self.proc = None
        self.pool_up = False
        self.basic_auth = dict(basic_auth) if basic_auth is not None else None
        self.nginx = harness.need("nginx") if shutil.which("nginx") else harness.need("/usr/sbin/nginx")
        harness._started.append(self)
        harness.servers.append(self)

    # -- the files ---------------------------------------------------------

    def _env_text(self):
        settings = dict(self.env_settings)
        for k in SANITIZER_ENV:
            if k in os.environ and k not in settings:
                settings[k] = os.environ[k]
        out = []
        with open(ENV_TEMPLATE) as f:
            for line in f.read().splitlines():
                m = re.match(r"([A-Z_][A-Z0-9_]*)=", line)
                if m and m.group(1) in settings:
                    line = "%s=%s" % (m.group(1), env_value(settings.pop(m.group(1))))
                out.append(line)
        if settings:
            out.append("")
            out.append("# Not cuegw settings: for the test run only")
            out.extend("%s=%s" % (k, env_value(v)) for k, v in settings.items())
        return "\n".join(out) + "\n"

    def _secrets_text(self):
        lines = ["# cuegw's credentials, sent with every request (front_nginx.py)"]
        for k, v in self.param_settings.items():
            if not re.match(r"^[A-Z_][A-Z0-9_]*$", k):
                raise ValueError("not a parameter name: %r" % k)
            lines.append("fastcgi_param %s %s;" % (k, nginx_value(v)))
        return "\n".join(lines) + "\n"

    def _write_nginx_files(self):
        for name in ("nginx.conf", "nginx-cuegw.conf", "nginx-cuegw-fastcgi.conf"):
            link = os.path.join(self.run_dir, name)
            if not os.path.islink(link):
                os.symlink(os.path.join(CONF_DIR, name), link)
        with open(os.path.join(self.run_dir, "cuegw-listen.conf"), "w") as f:
            f.write("listen %s:%d;\n" % (self.host, self.port))
        with open(os.path.join(self.run_dir, "cuegw-upstream.conf"), "w") as f:
            f.write("server unix:%s;\n" % self.socket)
        harness.write_private(os.path.join(self.run_dir, "cuegw-secrets.conf"), self._secrets_text())
        if self.basic_auth is not None:
            link = os.path.join(self.run_dir, "cuegw-auth.conf")
            if not os.path.islink(link):
                os.symlink(BASIC_AUTH_CONF, link)
            # Read by nginx's workers ("nobody" under a root master).
            harness.write_htpasswd(os.path.join(self.run_dir, "cuegw-htpasswd"), self.basic_auth)

    def set_params(self, param_settings):
        """Rewrites cuegw-secrets.conf; takes effect at the next reload()."""
        self.param_settings = dict(param_settings)
        harness.write_private(os.path.join(self.run_dir, "cuegw-secrets.conf"), self._secrets_text())

    # -- the pool ----------------------------------------------------------

    def _script_env(self):
        env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
               "HOME": self.run_dir,
               "CUEGW_ENV": self.env_file,
               "CUEGW_RUN_DIR": self.pool_dir,
               "CUEGW_BIN": self.cuegw_bin,
               "CUEGW_WORKERS": str(self.workers)}
        if os.geteuid() == 0:
            # nginx's master runs as root and its workers as "nobody", as on
            # a host where the web server is another user than the pool's
            # owner: the socket is shared through nobody's group.
            env["CUEGW_SOCKET_GROUP"] = grp.getgrgid(pwd.getpwnam("nobody").pw_gid).gr_name
        return env

    def pool(self, action):
        """conf/spawn-fcgi.sh ACTION; returns (exit status, output)."""
        r = subprocess.run(["/bin/sh", SPAWN_FCGI_SH, action], env=self._script_env(),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
        return r.returncode, r.stdout

    def pool_pids(self):
        try:
            with open(os.path.join(self.pool_dir, "cuegw.pid")) as f:
                return [int(x) for x in f.read().split()]
        except OSError:
            return []

    # -- nginx -------------------------------------------------------------

    def _nginx_cmd(self, *extra):
        return [self.nginx, "-p", self.run_dir + "/", "-c", os.path.join(self.run_dir, "nginx.conf")] + list(extra)

    def start(self, timeout=15.0):
        if os.geteuid() == 0:
            os.chmod(self.run_dir, 0o711)    # nobody passes through to the socket
        harness.write_private(self.env_file, self._env_text())
        rc, out = self.pool("start")
        if rc != 0:
            raise RuntimeError("spawn-fcgi.sh start failed (%d): %s" % (rc, out.strip()))
        self.pool_up = True
        self._write_nginx_files()
        log = open(os.path.join(self.run_dir, "nginx.out"), "ab")
        self.proc = subprocess.Popen(self._nginx_cmd("-g", "daemon off;"), stdout=log,
                                     stderr=subprocess.STDOUT)
        log.close()
        try:
            harness.wait_for_port(self.port, timeout, self.proc)
            self._wait_workers(set(), 0, timeout)
        except RuntimeError as e:
            raise RuntimeError("nginx did not start (%s); see %s" % (e, self.run_dir))
        return self

    def _workers(self):
        """nginx's worker processes that take new connections."""
        return {p for p in harness.children(self.proc.pid) if _title(p) == "nginx: worker process"}

    def _wait_workers(self, old, log_offset, timeout):
        """Until nginx has a set of workers that were not in `old`, and every
        worker of `old` is gone or shutting down (no longer accepting)."""
        want = max(len(old), 1)
        end = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("nginx exited with status %s" % self.proc.returncode)
            errors = [line for line in self._error_log_from(log_offset).splitlines()
                      if "[emerg]" in line or "[alert]" in line]
            if errors:
                raise RuntimeError("nginx: " + " | ".join(errors))
            now = self._workers()
            if len(now - old) >= want and not (now & old):
                return
            if time.monotonic() > end:
                raise RuntimeError("nginx workers did not come up (old %s, now %s)" % (sorted(old), sorted(now)))
            time.sleep(0.02)

    def _error_log_from(self, offset):
        try:
            with open(os.path.join(self.run_dir, "error.log"), errors="replace") as f:
                f.seek(offset)
                return f.read()
        except OSError:
            return ""

    def reload(self, timeout=15.0):
        """nginx -s reload: requests in flight finish on the old workers,
        new ones go to workers that read the configuration again. Returns
        once only the new workers accept; raises when nginx refused the new
        configuration."""
        old = self._workers()
        self.old_generation = old
        try:
            offset = os.path.getsize(os.path.join(self.run_dir, "error.log"))
        except OSError:
            offset = 0
        r = subprocess.run(self._nginx_cmd("-s", "reload"), stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=30)
        if r.returncode != 0:
            raise RuntimeError("nginx -s reload failed (%d): %s" % (r.returncode, r.stdout.strip()))
        self._wait_workers(old, offset, timeout)

    def wait_old_gone(self, timeout=60.0):
        """Until the workers the last reload() replaced have exited: they
        finish what they hold, kept-alive connections included, with the
        configuration of before. True when they are gone."""
        old = getattr(self, "old_generation", set())
        return bool(harness.wait_until(lambda: not (old & set(harness.children(self.proc.pid))),
                                       timeout, 0.02))

    def stop(self):
        harness.stop_process(self.proc, 10)
        self.proc = None
        if self.pool_up:
            self.pool_up = False
            rc, out = self.pool("stop")
            if rc != 0:
                raise RuntimeError("spawn-fcgi.sh stop failed (%d): %s" % (rc, out.strip()))

    def error_log(self):
        """nginx's error log and output, then the pool's stderr."""
        return harness.read_logs(os.path.join(self.run_dir, "error.log"),
                                 os.path.join(self.run_dir, "nginx.out"),
                                 os.path.join(self.pool_dir, "cuegw.log"))

    def url(self, path):
        return "http://%s:%d%s" % (self.host, self.port, path)

    def __repr__(self):
        return "Nginx(port=%d, run_dir=%s)" % (self.port, self.run_dir)
