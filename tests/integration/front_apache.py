"""Apache httpd in front of cuegw, started from the shipped apache/httpd.conf
as a test process (its own ServerRoot, run directory, port and user):

  ApacheFcgid      -DCUEGW_FCGID: mod_fcgid spawns the cuegw processes
                   (apache/cuegw-fcgid.conf)
  ApacheProxyFcgi  -DCUEGW_PROXY: mod_proxy_fcgi in front of a
                   `cuegw --listen` pool that this class starts as well
                   (apache/cuegw-proxy-fcgi.conf)

Both take env_settings, the cuegw processes' environment, and
param_settings, the SetEnv lines of the secrets file (CUEGW_SECRETS) that
Apache sends with every request. set_params() rewrites that file and
reload() is `apache2 -k graceful`, which re-reads it.

basic_auth={"user": "password", ...} starts Apache with -DCUEGW_BASIC_AUTH
and CUEGW_HTPASSWD naming a password file of those users: Apache checks
HTTP basic auth and passes the user to cuegw as REMOTE_USER (give
AUTH_MODE=remote-user in env_settings to match).

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

APACHE_DIR = os.path.join(harness.TOP, "apache")
SANITIZER_ENV = ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS")


def apache_binary():
    for name in ("apache2", "/usr/sbin/apache2", "httpd", "/usr/sbin/httpd"):
        path = shutil.which(name) or (name if os.path.isfile(name) else None)
        if path:
            return path
    raise RuntimeError("required tool apache2 is not installed (run tools/install-deps.sh)")


def snippet_names(snippet):
    """The ${NAME}s a shipped snippet reads from Apache's environment, taken
    from the file itself so the list cannot drift from it."""
    with open(os.path.join(APACHE_DIR, snippet)) as f:
        text = "\n".join(line.split("#", 1)[0] for line in f)
    return sorted(set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)\}", text)))


def apache_quote(value):
    """A value as one quoted word of Apache's configuration syntax."""
    v = str(value)
    if "\n" in v or "\r" in v or "${" in v or v.endswith("\\"):
        # Apache would cut the line, expand ${...} from its environment, or
        # read \" as an escaped quote: refuse rather than change the value.
        raise ValueError("value cannot be written to an Apache config: %r" % v)
    return '"' + v.replace('"', '\\"') + '"'


def httpd_identity():
    """User and group for Apache's children. As root Apache must switch to
    someone else; otherwise it stays who it is and ignores User/Group."""
    if os.geteuid() == 0:
        for user in ("www-data", "apache", "nobody"):
            try:
                pw = pwd.getpwnam(user)
            except KeyError:
                continue
            return pw.pw_name, grp.getgrgid(pw.pw_gid).gr_name
        raise RuntimeError("no unprivileged user (www-data, apache, nobody) to run Apache's children as")
    return pwd.getpwuid(os.geteuid()).pw_name, grp.getgrgid(os.getegid()).gr_name


class _Apache:
    name = None
    define = None
    snippet = None

    def __init__(self, cuegw_bin, env_settings, param_settings, workers=2, port=None,
                 host="127.0.0.1", run_dir=None, basic_auth=None):
        self.cuegw_bin = os.path.abspath(cuegw_bin)
        self.env_settings = {k: str(v) for k, v in dict(env_settings).items()}
        self.workers = workers
        self.port = port or harness.free_port()
        self.host = host
        self.run_dir = run_dir or tempfile.mkdtemp(prefix="cuegw-%s-" % self.name)
        # Apache's children (and mod_fcgid's processes) run as another user
        # and must reach their sockets in here; the secrets file stays 600.
        os.chmod(self.run_dir, 0o755)
        self.user, self.group = httpd_identity()
        self.secrets = os.path.join(self.run_dir, "cuegw-secrets.conf")
        self.proc = None
        self.params = {}
        self.set_params(param_settings)
        self.htpasswd = None
        if basic_auth is not None:
            # Read by Apache's children at each request (mode 644: hashes).
            self.htpasswd = os.path.join(self.run_dir, "htpasswd")
            harness.write_htpasswd(self.htpasswd, basic_auth)
        harness._started.append(self)
        harness.servers.append(self)

    def __repr__(self):
        return "<%s on port %d, %s>" % (type(self).__name__, self.port, self.run_dir)

    # ---- what subclasses add -------------------------------------------

    def _snippet_env(self):
        """Values of the snippet's ${NAME}s besides the common ones."""
        return {}

    def _extra_config(self):
        """Lines of the secrets file before the SetEnv lines."""
        return []

    # ---- the server ----------------------------------------------------

    def env(self):
        env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"), "LANG": "C"}
        for name in snippet_names(self.snippet):
            env[name] = ""          # blank: cuegw's default
        env.update({
            "CUEGW_HTTP_HOST": self.host,
            "CUEGW_HTTP_PORT": str(self.port),
            "CUEGW_RUN_DIR": self.run_dir,
            "CUEGW_HTTPD_USER": self.user,
            "CUEGW_HTTPD_GROUP": self.group,
            "CUEGW_SECRETS": self.secrets,
        })
        env.update(self._snippet_env())
        if self.htpasswd:
            env["CUEGW_HTPASSWD"] = self.htpasswd
        return env

    def args(self, *extra):
        defines = ["-D", self.define] + (["-D", "CUEGW_BASIC_AUTH"] if self.htpasswd else [])
        return [apache_binary(), "-d", APACHE_DIR, "-f", "httpd.conf"] + defines + list(extra)

    def set_params(self, param_settings):
        """Rewrites the secrets file: one SetEnv line per setting given (a
        blank value is sent blank, which unsets it for the request; a
        setting left out falls back to the process's environment). Takes
        effect at the next reload()."""
        self.params = {k: str(v) for k, v in dict(param_settings).items()}
        lines = ["# cuegw secrets, written by tests/integration/front_apache.py"]
        lines += self._extra_config()
        for k, v in self.params.items():
            lines.append("SetEnv %s %s" % (k, apache_quote(v)))
        harness.write_private(self.secrets, "\n".join(lines) + "\n")

    def _log_count(self, what):
        return harness.count_in_file(os.path.join(self.run_dir, "error.log"), what)

    def start(self, timeout=15.0):
        out = open(os.path.join(self.run_dir, "httpd.out"), "ab")
        # A session of its own: Apache signals its whole process group in
        # places, which must never include the test itself.
        self.proc = subprocess.Popen(self.args("-DFOREGROUND"), env=self.env(), stdout=out,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        out.close()
        try:
            harness.wait_for_port(self.port, timeout, self.proc)
        except RuntimeError as e:
            raise RuntimeError("apache2 (%s) did not start (%s); see %s:\n%s"
                               % (self.define, e, self.run_dir, self.error_log()[-2000:]))
        return self

    def reload(self, timeout=60.0):
        """apache2 -k graceful with the same arguments and environment:
        Apache re-reads its files (the secrets file included) and lets old
        children finish what they hold. Returns once only the new
        generation accepts connections."""
        # The old generation is every child Apache forked before it took
        # the signal, including one it forks while apache2 -k graceful
        # runs (it may still be starting the children of the previous
        # reload). Apache logs "SIGUSR1 received" when it takes the signal
        # and forks the new generation only after "resuming normal
        # operations": so children listed after the first line is in the
        # log, and before the second is, are all old and include every old
        # one.
        mark = "resuming normal operations"
        taken = "SIGUSR1 received"
        before, taken_before = self._log_count(mark), self._log_count(taken)
        old = set(self._children())
        r = subprocess.Popen(self.args("-k", "graceful"), env=self.env(), stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
        end = time.monotonic() + timeout
        seen_taken = False
        while True:
            listed = set(self._children())
            if self._log_count(mark) > before:
                break
            old |= listed
            if seen_taken:
                break                   # every old child is in old
            seen_taken = self._log_count(taken) > taken_before
            if r.poll() is not None and r.returncode != 0 or time.monotonic() > end:
                break
            time.sleep(0.002)
        try:
            out, _ = r.communicate(timeout=max(1.0, end - time.monotonic()))
        except subprocess.TimeoutExpired:
            r.kill()
            out, _ = r.communicate()
        if r.returncode != 0:
            raise RuntimeError("apache2 -k graceful failed (%s): %s" % (r.returncode, out))
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("apache2 exited during a graceful restart:\n%s"
                                   % self.error_log()[-2000:])
            if self._log_count(mark) > before:
                # The log line comes before the old children have seen the
                # news: until they close the listening socket, they may
                # still take a connection and serve it the old configuration.
                accepting = self._accepting()
                if accepting and not (accepting & old):
                    self.old_generation = old
                    break
            if time.monotonic() > end:
                raise RuntimeError("apache2 did not come back from a graceful restart in %.0fs"
                                   % timeout)
            time.sleep(0.02)

    def wait_old_gone(self, timeout=60.0):
        """Until the children the last reload() replaced have exited: they
        finish what they hold, kept-alive connections included, with the
        configuration of before. True when they are gone."""
        old = getattr(self, "old_generation", set())
        return bool(harness.wait_until(lambda: not (old & set(self._children())), timeout, 0.02))

    def _children(self):
        return harness.children(self.proc.pid)

    def _listen_inodes(self):
        found = set()
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            try:
                with open(table) as f:
                    rows = f.readlines()[1:]
            except OSError:
                continue
            for row in rows:
                col = row.split()
                if col[3] == "0A" and int(col[1].rsplit(":", 1)[1], 16) == self.port:
                    found.add("socket:[%s]" % col[9])
        return found

    def _accepting(self):
        """Apache's worker children that hold the listening socket. mod_fcgid's
        process manager holds it too (a fork of the parent that never
        accepts); it is the one child with a single thread."""
        sockets = self._listen_inodes()
        out = set()
        for pid in self._children():
            try:
                with open("/proc/%d/status" % pid) as f:
                    threads = int(re.search(r"^Threads:\s*(\d+)", f.read(), re.M).group(1))
                fds = os.listdir("/proc/%d/fd" % pid)
                links = set()
                for fd in fds:
                    try:
                        links.add(os.readlink("/proc/%d/fd/%s" % (pid, fd)))
                    except OSError:
                        pass
            except (OSError, AttributeError):
                continue
            if threads > 1 and links & sockets:
                out.add(pid)
        return out

    def stop(self):
        harness.stop_process(self.proc, 20)
        self.proc = None

    def error_log(self):
        """Apache's error log (mod_fcgid's cuegw processes write their stderr
        there too), then what apache2 printed itself."""
        return harness.read_logs(os.path.join(self.run_dir, "error.log"),
                                 os.path.join(self.run_dir, "httpd.out"))

    def url(self, path):
        return "http://%s:%d%s" % (self.host, self.port, path)


class ApacheFcgid(_Apache):
    """apache2 -DCUEGW_FCGID: mod_fcgid spawns up to `workers` cuegw
    processes. env_settings that the snippet reads from Apache's
    environment (${NAME}) are given there; any other (ASAN_OPTIONS, say) is
    added as an FcgidInitialEnv line of the secrets file.

    A graceful restart under load is not seamless with mod_fcgid 2.3.9: a
    request waiting for a free process when it comes may hang on the dead
    process manager until its Apache child is killed (see the snippet)."""
    name = "apache-fcgid"
    define = "CUEGW_FCGID"
    snippet = "cuegw-fcgid.conf"

    def _own_names(self):
        return set(snippet_names(self.snippet))

    def _snippet_env(self):
        own = self._own_names()
        env = {"CUEGW_BIN": self.cuegw_bin, "CUEGW_WORKERS": str(self.workers)}
        env.update({k: v for k, v in self.env_settings.items() if k in own})
        return env

    def _extra_config(self):
        # mod_fcgid gives its processes only what FcgidInitialEnv names.
        own = self._own_names()
        extra = {k: os.environ[k] for k in SANITIZER_ENV if k in os.environ}
        extra.update({k: v for k, v in self.env_settings.items() if k not in own})
        return ["FcgidInitialEnv %s %s" % (k, apache_quote(v)) for k, v in extra.items()]


class ApacheProxyFcgi(_Apache):
    """apache2 -DCUEGW_PROXY in front of `cuegw --listen <unix socket>
    --workers N`, started here with env_settings as its environment
    (SETTINGS_FROM_PARAMS=1 unless env_settings says otherwise)."""
    name = "apache-proxy-fcgi"
    define = "CUEGW_PROXY"
    snippet = "cuegw-proxy-fcgi.conf"

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.pool = None
        self.pool_dir = os.path.join(self.run_dir, "pool")
        self.socket = os.path.join(self.pool_dir, "cuegw.sock")
        self.pool_log = os.path.join(self.run_dir, "pool.log")

    def _snippet_env(self):
        return {"CUEGW_BACKEND": "unix:%s|fcgi://localhost" % self.socket,
                "URL_PREFIX": self.env_settings.get("URL_PREFIX", "")}

    def pool_env(self):
        env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
               "SETTINGS_FROM_PARAMS": "1"}
        env.update({k: os.environ[k] for k in SANITIZER_ENV if k in os.environ})
        env.update(self.env_settings)
        return env

    def start_pool(self, timeout=15.0):
        os.makedirs(self.pool_dir, exist_ok=True)
        ids = {}
        if os.geteuid() == 0:
            # As a site runs it: not as root, in Apache's group, so that
            # Apache's children may use the socket (mode 660).
            pw = pwd.getpwnam(self.user)
            os.chown(self.pool_dir, pw.pw_uid, pw.pw_gid)
            ids = {"user": pw.pw_uid, "group": grp.getgrnam(self.group).gr_gid, "extra_groups": []}
        log = open(self.pool_log, "ab")
        self.pool = subprocess.Popen([self.cuegw_bin, "--listen", self.socket, "--workers",
                                      str(self.workers)], env=self.pool_env(), stdin=subprocess.DEVNULL,
                                     stdout=log, stderr=log, **ids)
        log.close()
        end = time.monotonic() + timeout
        while not os.path.exists(self.socket):
            if self.pool.poll() is not None or time.monotonic() > end:
                raise RuntimeError("cuegw --listen did not start:\n%s" % self._read(self.pool_log)[-2000:])
            time.sleep(0.05)

    def start(self, timeout=15.0):
        self.start_pool(timeout)
        return super().start(timeout)

    def stop(self):
        super().stop()
        harness.stop_process(self.pool, 40)

    @staticmethod
    def _read(path):
        try:
            with open(path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def error_log(self):
        """Apache's error log, then the pool's stderr."""
        return super().error_log() + self._read(self.pool_log)
