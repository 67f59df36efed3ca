#!/usr/bin/python3
"""The Debian package, end to end: `make deb` builds it (lintian clean),
`dpkg -i` installs it, and requests go through Apache and lighttpd (and
nginx) configured from the INSTALLED snippets, enabled the Debian way
(a2enconf cuegw, lighty-enable-mod cuegw), to the pool the installed
cuegw.service describes, and on to the stand-in Cuebot. Through each front a
JWT secret rotates as the README's runbook says, in the installed secrets
file the snippet includes, with a graceful reload of the web server and the
pool left running: the new secret is accepted after the reload, the old
one too while it is EXPIRING_JWT_SECRET, and refused once that is emptied.
Then the package is purged, and the system must be as it was before the
test.

The web servers are our own processes on free ports, each with a small
main configuration that includes the enabled snippet through its
conf-enabled link and loads the modules it needs from Debian's own .load
files: the system's Apache, lighttpd and nginx (their units, ports and
enabled modules) are never touched, and nothing listens on port 80.

The pool: where systemd runs (PID 1), `systemctl restart cuegw`. Elsewhere
(a container) the test starts what the installed unit says, read from the
unit file itself: its ExecStart as its User and Group, with its
Environment= and EnvironmentFile=, its RuntimeDirectory and UMask.

Needs root, dpkg-buildpackage, debhelper, lintian, apache2, lighttpd,
nginx, setpriv (tools/install-deps.sh); a missing one fails the test.
Refuses to run (fails) when the cuegw package is installed or its socket
directory exists: it would purge someone's gateway.

Two runs on one machine (two clones' `make check` side by side) take turns:
the package, its user and /run/cuegw are the machine's, so a run holds
LOCK from before its first look at the system until it has put it back, and
the other waits for it (up to LOCK_WAIT, only to give up on a stuck one).
It also waits while a deb suite of a tree without that lock is running.
"""

import argparse
import glob
import grp
import gzip
import os
import pwd
import re
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import sysconf  # noqa: E402
from sysconf import read_env_file, unit_service_section  # noqa: E402

TOP = harness.TOP
UNIT = "/lib/systemd/system/cuegw.service"
ENV_FILE = "/etc/cuegw/cuegw.env"
APACHE_AVAILABLE = "/etc/apache2/conf-available/cuegw.conf"
APACHE_ENABLED = "/etc/apache2/conf-enabled/cuegw.conf"
LIGHTTPD_AVAILABLE = "/etc/lighttpd/conf-available/50-cuegw.conf"
LIGHTTPD_ENABLED = "/etc/lighttpd/conf-enabled/50-cuegw.conf"
LIGHTTPD_FASTCGI = "/etc/lighttpd/conf-enabled/10-fastcgi.conf"
NGINX_SNIPPET = "/etc/nginx/snippets/cuegw.conf"
# The secrets each snippet includes: (path, mode, group, how one setting is
# written, what the file's lines are wrapped in).
SECRETS = {
    "apache": ("/etc/cuegw/apache2-secrets.conf", 0o600, "root", 'SetEnv %s "%s"', ("", "")),
    "lighttpd": ("/etc/cuegw/lighttpd-secrets.conf", 0o640, "www-data", '    "%s" => "%s",',
                 ("setenv.add-environment += (", ")")),
    "nginx": ("/etc/cuegw/nginx-secrets.conf", 0o600, "root", 'fastcgi_param %s "%s";', ("", "")),
}
RUN_DIR = "/run/cuegw"
SOCKET = RUN_DIR + "/cuegw.sock"
PREFIX = "/cue"
GET_SHOWS = "/show.ShowInterface/GetShows"
# What the package and the test may touch, compared before and after.
WATCHED = ["/etc/apache2", "/etc/lighttpd", "/etc/nginx", "/etc/cuegw", "/etc/systemd/system",
           "/var/lib/apache2", "/var/lib/systemd/deb-systemd-helper-enabled",
           "/var/lib/systemd/deb-systemd-helper-masked", "/etc/passwd", "/etc/group",
           "/etc/shadow", "/etc/gshadow", RUN_DIR, "/usr/sbin/cuegw", "/usr/share/cuegw",
           "/usr/share/doc/cuegw", "/usr/share/man/man8/cuegw.8.gz"]


def sh(*cmd, env=None, timeout=600):
    """Runs a command; returns (status, stdout and stderr together)."""
    r = subprocess.run(list(cmd), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       env=env, timeout=timeout)
    return r.returncode, r.stdout


def need(tool):
    for p in (shutil.which(tool), "/usr/sbin/" + tool, "/usr/bin/" + tool):
        if p and os.access(p, os.X_OK):
            return p
    raise RuntimeError("required tool %s is not installed (run tools/install-deps.sh)" % tool)


def snapshot():
    """Every watched path: kind, mode, owner and content (or link target)."""
    return sysconf.snapshot(WATCHED)


def package_status():
    rc, out = sh("dpkg-query", "-W", "-f", "${db:Status-Abbrev}", "cuegw")
    return out.strip() if rc == 0 else ""


def not_installed():
    return package_status() in ("", "un", "pn")


def set_env_values(path, values):
    """Edits the installed settings file as an admin would, in place (the
    file keeps its owner and mode)."""
    with open(path) as f:
        lines = f.read().splitlines()
    for k, v in values.items():
        n = [i for i, line in enumerate(lines) if line.startswith(k + "=")]
        if len(n) != 1:
            raise RuntimeError("%s: expected one %s= line, found %d" % (path, k, len(n)))
        lines[n[0]] = "%s=%s" % (k, v)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


class UnitPool:
    """The pool that the installed cuegw.service describes, started as that
    unit would start it (see the module's docstring)."""

    def __init__(self, log_dir):
        self.log = os.path.join(log_dir, "pool.log")
        self.proc = None
        self.systemd = os.path.isdir("/run/systemd/system")

    def start(self):
        if self.systemd:
            rc, out = sh("systemctl", "restart", "cuegw.service")
            if rc != 0:
                raise RuntimeError("systemctl restart cuegw: %s" % out)
            return
        u = unit_service_section(UNIT)
        env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
        for e in u.get("Environment", []):
            for word in e.split():
                k, v = word.split("=", 1)
                env[k] = v
        for f in u.get("EnvironmentFile", []):
            env.update(read_env_file(f.lstrip("-")))
        user, group = u["User"][-1], u["Group"][-1]
        uid, gid = pwd.getpwnam(user).pw_uid, grp.getgrnam(group).gr_gid
        for d in u.get("RuntimeDirectory", []):
            path = os.path.join("/run", d)
            os.makedirs(path, exist_ok=True)
            os.chown(path, uid, gid)
            os.chmod(path, int(u.get("RuntimeDirectoryMode", ["0755"])[-1], 8))
        argv = u["ExecStart"][-1].split()
        argv = [re.sub(r"\$\{(\w+)\}", lambda m: env.get(m.group(1), ""), a) for a in argv]
        umask = int(u.get("UMask", ["0022"])[-1], 8)
        out = open(self.log, "ab")
        self.proc = subprocess.Popen(
            [need("setpriv"), "--reuid", str(uid), "--regid", str(gid), "--clear-groups",
             "--"] + argv, env=env, stdout=out, stderr=subprocess.STDOUT, cwd="/",
            preexec_fn=lambda: os.umask(umask))
        out.close()

    def pids(self):
        """The pool's processes (parent and workers)."""
        found = []
        for d in glob.glob("/proc/[0-9]*"):
            try:
                with open(d + "/cmdline", "rb") as f:
                    argv = f.read().split(b"\0")
            except OSError:
                continue
            if argv and argv[0] == b"/usr/sbin/cuegw" and b"--listen" in argv:
                found.append(int(d[6:]))
        return found

    def stop(self):
        if self.systemd:
            sh("systemctl", "stop", "cuegw.service")
        else:
            harness.stop_process(self.proc, 45)
            self.proc = None


class Server:
    """A web server of ours: a command line, a port, a log directory."""

    def __init__(self, name, argv, port, run_dir):
        self.name, self.argv, self.port, self.run_dir = name, argv, port, run_dir
        self.proc = None

    def start(self):
        out = open(os.path.join(self.run_dir, self.name + ".out"), "ab")
        self.proc = subprocess.Popen(self.argv, stdout=out, stderr=subprocess.STDOUT)
        out.close()
        try:
            harness.wait_for_port(self.port, 20, self.proc)
        except RuntimeError as e:
            raise RuntimeError("%s did not start (%s):\n%s" % (self.name, e, self.logs()[-2000:]))
        return self

    def stop(self):
        harness.stop_process(self.proc, 20)
        self.proc = None

    def logs(self):
        return harness.read_logs(*sorted(glob.glob(os.path.join(self.run_dir, "*"))))


def apache_conf(run_dir, port, modules):
    lines = ["ServerRoot %s" % run_dir]
    lines += ["Include /etc/apache2/mods-available/%s.load" % m for m in modules]
    lines += [
        "Listen 127.0.0.1:%d" % port,
        "ServerName 127.0.0.1",
        "User www-data",
        "Group www-data",
        "PidFile %s/httpd.pid" % run_dir,
        "DefaultRuntimeDir %s" % run_dir,
        "Mutex file:%s default" % run_dir,
        "ErrorLog %s/error.log" % run_dir,
        "LogLevel warn",
        "DocumentRoot %s/docroot" % run_dir,
        "<Directory />",
        "    Require all denied",
        "</Directory>",
        # The snippet through the link a2enconf made.
        "Include %s" % APACHE_ENABLED,
    ]
    return "\n".join(lines) + "\n"


def lighttpd_conf(run_dir, port):
    return "\n".join([
        'server.bind = "127.0.0.1"',
        "server.port = %d" % port,
        'server.document-root = "%s/docroot"' % run_dir,
        'server.errorlog = "%s/error.log"' % run_dir,
        'server.username = "www-data"',
        'server.groupname = "www-data"',
        # The links lighty-enable-mod made: cuegw's and its dependency's.
        'include "%s"' % LIGHTTPD_FASTCGI,
        'include "%s"' % LIGHTTPD_ENABLED,
    ]) + "\n"


def nginx_conf(run_dir, port):
    temps = "\n".join("    %s_temp_path %s/%s;" % (t, run_dir, t)
                      for t in ("client_body", "fastcgi", "proxy", "uwsgi", "scgi"))
    return """user www-data www-data;
pid %(d)s/nginx.pid;
error_log %(d)s/error.log warn;
events { worker_connections 64; }
http {
    access_log off;
%(temps)s
    server {
        listen 127.0.0.1:%(port)d;
        root %(d)s/docroot;
        include %(snippet)s;
    }
}
""" % {"d": run_dir, "port": port, "temps": temps, "snippet": NGINX_SNIPPET}


def start_front(state, work, name, conf_name, conf_text, argv):
    """A web server of ours in WORK/NAME on a free port: conf_text(dir,
    port) is its configuration, argv(conf, dir) its command line."""
    d = os.path.join(work, name)
    os.makedirs(os.path.join(d, "docroot"))
    # lighttpd opens its error log after it has become www-data.
    www = pwd.getpwnam("www-data")
    os.chown(d, www.pw_uid, www.pw_gid)
    port = harness.free_port()
    conf = os.path.join(d, conf_name)
    with open(conf, "w") as f:
        f.write(conf_text(d, port))
    server = Server(name, argv(conf, d), port, d)
    state["servers"].append(server)
    return server.start()


def check_front(c, name, port, token):
    """The API under /cue/ through one front: the farm with a token, 401
    without, and nothing of cuegw's outside the prefix."""
    r = harness.request(port, "POST", PREFIX + GET_SHOWS, "{}",
                        {"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    names = None
    if r.status == 200:
        try:
            names = sorted(x["name"] for x in r.json()["shows"]["shows"])
        except (ValueError, KeyError, TypeError):
            pass
    c.check(r.status == 200 and names == ["pipe", "testing"],
            "%s: GetShows under %s/ lists the stand-in's two shows" % (name, PREFIX),
            (r.status, r.body[:300]))
    r = harness.request(port, "POST", PREFIX + GET_SHOWS, "{}", {"Content-Type": "application/json"})
    c.check(r.status == 401 and b'"code"' in r.body,
            "%s: without a token cuegw answers 401 in its JSON shape" % name, (r.status, r.body[:300]))
    r = harness.request(port, "POST", GET_SHOWS, "{}",
                        {"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    c.check(r.status in (403, 404) and b"pipe" not in r.body,
            "%s: outside %s/ the request is not cuegw's" % (name, PREFIX), (r.status, r.body[:300]))


def write_secrets(name, values):
    """The admin's edit of a front's installed secrets file, in place (it
    keeps its owner and mode)."""
    path, _, _, line, (head, tail) = SECRETS[name]
    lines = [head] + [line % kv for kv in values.items()] + [tail]
    with open(path, "w") as f:
        f.write("\n".join(x for x in lines if x) + "\n")


def rotate(c, name, server, reload_sig):
    """The README's rotation runbook through one front, its pool running
    with SETTINGS_FROM_PARAMS=1: the front sends the secrets of its
    installed secrets file with each request, and a graceful reload brings
    in the new ones. Each step waits for the reload to show (a token only
    the new file accepts, or refuses), then checks what both files agree on,
    so an old worker still draining cannot make it pass or fail."""
    old, new = secrets.token_hex(16), secrets.token_hex(16)
    t_old, t_new = harness.sign_jwt(old), harness.sign_jwt(new)

    def status(token):
        try:
            return harness.request(server.port, "POST", PREFIX + GET_SHOWS, "{}",
                                   {"Authorization": "Bearer " + token}).status
        except OSError as e:       # a connection the reload closed: asked again
            return repr(e)

    def reload(values):
        write_secrets(name, values)
        os.kill(server.proc.pid, reload_sig)

    path, mode, group = SECRETS[name][:3]
    reload({"JWT_SECRET": old})
    c.check(harness.wait_until(lambda: status(t_old) == 200, 30) and status(t_new) == 401,
            "%s: JWT_SECRET from %s, sent with each request, is in force after a reload" % (name, path))
    reload({"JWT_SECRET": new, "EXPIRING_JWT_SECRET": old})
    c.check(harness.wait_until(lambda: status(t_new) == 200, 30),
            "%s rotation: after the reload the new secret is accepted" % name)
    c.check(status(t_old) == 200, "%s rotation: the old one too, as EXPIRING_JWT_SECRET" % name)
    reload({"JWT_SECRET": new, "EXPIRING_JWT_SECRET": ""})
    c.check(harness.wait_until(lambda: status(t_old) == 401, 30) and status(t_new) == 200,
            "%s rotation: EXPIRING_JWT_SECRET emptied and reloaded, the old secret is refused" % name)
    st = os.stat(path)
    c.check(stat.S_IMODE(st.st_mode) == mode and st.st_uid == 0 and st.st_gid == grp.getgrnam(group).gr_gid,
            "%s: the edited secrets file keeps root:%s %o" % (name, group, mode))
    return old, new


def connect_as(user, group, path):
    """Whether user:group (no other groups) can connect to a unix socket."""
    code = ("import socket,sys\ns=socket.socket(socket.AF_UNIX)\n"
            "try:\n s.connect(sys.argv[1])\nexcept OSError as e:\n print(e); sys.exit(1)\n")
    rc, out = sh(need("setpriv"), "--reuid", user, "--regid", group, "--clear-groups",
                 "/usr/bin/python3", "-c", code, path)
    return rc == 0, out.strip()


def run(c, args, state):
    for t in ("dpkg-buildpackage", "dh", "lintian", "dpkg", "a2enconf", "a2disconf",
              "lighty-enable-mod", "lighty-disable-mod", "apache2", "lighttpd", "nginx", "setpriv"):
        need(t)
    if os.geteuid() != 0:
        raise RuntimeError("needs root: dpkg -i, and the pool runs as the package's user")
    if not not_installed():
        raise RuntimeError("the cuegw package is installed (%r): not touching it" % package_status())
    for p in (RUN_DIR, APACHE_ENABLED, LIGHTTPD_ENABLED):
        if os.path.lexists(p):
            raise RuntimeError("%s exists already: not touching it" % p)

    state["before"] = snapshot()
    state["user_existed"] = _exists(pwd.getpwnam, "cuegw")
    state["group_existed"] = _exists(grp.getgrnam, "cuegw")
    state["fastcgi_was_enabled"] = os.path.lexists(LIGHTTPD_FASTCGI)

    # Build: make deb, lintian included (it fails on any warning or error).
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    t0 = time.monotonic()
    rc, out = sh("make", "-C", TOP, "-s", "deb", "BUILD=" + args.build, env=env, timeout=1800)
    print("make deb: %.0fs" % (time.monotonic() - t0))
    print("\n".join(out.splitlines()[-8:]))
    c.check(rc == 0, "make deb builds the package and lintian passes it", out[-3000:])
    build = args.build if os.path.isabs(args.build) else os.path.join(TOP, args.build)
    debs = [d for d in glob.glob(os.path.join(build, "deb", "cuegw_*.deb"))]
    if not c.check(len(debs) == 1, "one cuegw .deb in %s/deb" % build, debs):
        return
    _, contents = sh("dpkg-deb", "-c", debs[0])
    c.check(not re.search(r"\.pb-c\.[ch]$", contents, re.M), "no generated protobuf-c code in the package")

    # Install.
    state["installed"] = True
    rc, out = sh("dpkg", "-i", debs[0])
    c.check(rc == 0 and package_status() == "ii", "dpkg -i installs it", out[-2000:])
    c.check(os.access("/usr/sbin/cuegw", os.X_OK), "the binary is /usr/sbin/cuegw")
    rc, out = sh("/usr/sbin/cuegw", "--version")
    c.check(rc == 0 and out.startswith("cuegw "), "the installed binary runs", out)
    c.check(os.path.isfile("/usr/share/man/man8/cuegw.8.gz"), "the manual page is installed")
    with gzip.open("/usr/share/man/man8/cuegw.8.gz", "rt") as f:
        page = f.read().replace("\\-", "-")
    files = page[page.find("\n.SH FILES\n"):page.find("\n.SH EXAMPLES\n")]
    dirs = re.findall(r"(/[\w./-]+/)(?:\s|$)", files)
    _, listed = sh("dpkg", "-L", "cuegw")
    unnamed = [p for p in listed.split() if os.path.isfile(p) and not os.path.islink(p)
               and not p.startswith("/usr/share/lintian/") and p not in files
               and not any(p.startswith(d) for d in dirs)]
    c.check(files and not unnamed, "cuegw(8)'s FILES names every file the package installs", unnamed)
    _, conffiles = sh("dpkg-query", "-W", "-f", "${Conffiles}", "cuegw")
    for f in (ENV_FILE, APACHE_AVAILABLE, LIGHTTPD_AVAILABLE, NGINX_SNIPPET) + tuple(
            v[0] for v in SECRETS.values()):
        c.check(os.path.isfile(f) and (" %s " % f) in conffiles, "%s is a conffile" % f, conffiles)
    for path, mode, group, _, _ in SECRETS.values():
        st = os.stat(path)
        with open(path) as f:
            active = [line for line in f if line.strip() and not line.lstrip().startswith("#")]
        c.check(stat.S_IMODE(st.st_mode) == mode and st.st_uid == 0
                and st.st_gid == grp.getgrnam(group).gr_gid and not active,
                "%s: root:%s %o, every line a comment" % (path, group, mode),
                (oct(st.st_mode), st.st_uid, st.st_gid, active))
    pw = pwd.getpwnam("cuegw")
    c.check(pw.pw_uid < 1000 and pw.pw_shell.endswith("nologin") and pw.pw_dir == "/nonexistent",
            "the system user cuegw", pw)
    st = os.stat(ENV_FILE)
    c.check(stat.S_IMODE(st.st_mode) == 0o640 and st.st_uid == 0
            and st.st_gid == grp.getgrnam("cuegw").gr_gid,
            "the settings file is root:cuegw 0640", (oct(st.st_mode), st.st_uid, st.st_gid))
    settings = read_env_file(ENV_FILE)
    c.check(settings.get("URL_PREFIX") == PREFIX, "the settings mount the API at " + PREFIX,
            settings.get("URL_PREFIX"))
    u = unit_service_section(UNIT)
    c.check(u.get("User") == ["cuegw"] and u.get("Group") == ["www-data"]
            and u.get("ExecStart", [""])[0].startswith("/usr/sbin/cuegw --listen " + SOCKET),
            "the unit runs the pool as cuegw:www-data on " + SOCKET, u)
    rc, out = sh("systemd-analyze", "verify", UNIT)
    c.check(rc == 0, "systemd-analyze verify accepts the unit", out)

    # Configure it as an admin would: Cuebot's address and a token, and the
    # secrets the web servers send taken from each request (until a secrets
    # file is filled in, none is sent and the token here is the one).
    work = tempfile.mkdtemp(prefix="cuegw-deb-")
    os.chmod(work, 0o755)
    state["work"] = work
    standin = harness.Standin(args.schema, log_dir=work).start()
    token = secrets.token_hex(16)
    set_env_values(ENV_FILE, {"CUEBOT_ENDPOINT": standin.endpoint, "AUTH_TOKEN": token,
                              "SETTINGS_FROM_PARAMS": "1"})
    st = os.stat(ENV_FILE)
    c.check(stat.S_IMODE(st.st_mode) == 0o640, "the edited settings file keeps its mode")
    # The cuegw user reads the file (group cuegw) and the check passes.
    rc, out = sh(need("setpriv"), "--reuid", "cuegw", "--regid", "cuegw", "--init-groups",
                 "/bin/sh", "-c", 'set -a; . "$0"; set +a; exec /usr/sbin/cuegw --check-config',
                 ENV_FILE)
    c.check(rc == 0, "cuegw --check-config as the cuegw user, from the settings file", out[-1000:])

    pool = UnitPool(work)
    state["pool"] = pool
    pool.start()
    ok = harness.wait_until(lambda: os.path.exists(SOCKET), 60)
    if not c.check(ok, "the pool listens on " + SOCKET, harness.read_logs(pool.log)):
        return
    st = os.stat(SOCKET)
    c.check(stat.S_IMODE(st.st_mode) == 0o660 and st.st_uid == pw.pw_uid
            and st.st_gid == grp.getgrnam("www-data").gr_gid,
            "the socket is cuegw:www-data 0660", (oct(st.st_mode), st.st_uid, st.st_gid))
    d = os.stat(RUN_DIR)
    c.check(stat.S_IMODE(d.st_mode) == 0o750, "the socket's directory is 0750", oct(d.st_mode))
    uids = set()
    for pid in pool.pids():
        with open("/proc/%d/status" % pid) as f:
            uids.update(line.split()[1] for line in f if line.startswith("Uid:"))
    c.check(uids == {str(pw.pw_uid)}, "every pool process runs as cuegw", uids)
    can, why = connect_as("www-data", "www-data", SOCKET)
    c.check(can, "www-data (the web servers) may connect to the socket", why)
    can, why = connect_as("nobody", "nogroup", SOCKET)
    c.check(not can, "another user may not connect to the socket", why)

    # Apache: a2enconf, then our own Apache that includes the enabled link.
    rc, out = sh("a2enconf", "-q", "cuegw")
    c.check(rc == 0 and os.path.islink(APACHE_ENABLED), "a2enconf cuegw enables the snippet", out)
    apache2 = need("apache2")
    os.makedirs(os.path.join(work, "docroot"))
    bare = os.path.join(work, "without-proxy-fcgi.conf")
    with open(bare, "w") as f:
        f.write(apache_conf(work, 1, ["mpm_event", "authz_core"]))
    rc, out = sh(apache2, "-t", "-f", bare)
    c.check(rc != 0 and "a2enmod proxy_fcgi" in out,
            "Apache without mod_proxy_fcgi refuses the snippet, naming a2enmod proxy_fcgi", out)
    apache = start_front(
        state, work, "apache", "httpd.conf",
        lambda d, port: apache_conf(d, port, ["mpm_event", "authz_core", "env", "proxy", "proxy_fcgi"]),
        lambda conf, d: [apache2, "-f", conf, "-DFOREGROUND"])
    check_front(c, "apache", apache.port, token)
    used = rotate(c, "apache", apache, signal.SIGUSR1)       # apachectl graceful
    apache.stop()

    # lighttpd: lighty-enable-mod (which enables fastcgi too), our own lighttpd.
    rc, out = sh("lighty-enable-mod", "cuegw")
    c.check(rc == 0 and os.path.islink(LIGHTTPD_ENABLED) and os.path.lexists(LIGHTTPD_FASTCGI),
            "lighty-enable-mod cuegw enables the snippet and fastcgi", out)
    lighttpd = start_front(state, work, "lighttpd", "lighttpd.conf", lighttpd_conf,
                           lambda conf, d: [need("lighttpd"), "-D", "-f", conf])
    check_front(c, "lighttpd", lighttpd.port, token)
    used += rotate(c, "lighttpd", lighttpd, signal.SIGUSR1)  # systemctl reload lighttpd
    lighttpd.stop()

    # nginx: the snippet included in a server block.
    nginx = start_front(state, work, "nginx", "nginx.conf", nginx_conf,
                        lambda conf, d: [need("nginx"), "-p", d, "-e", os.path.join(d, "error.log"),
                                         "-c", conf, "-g", "daemon off;"])
    nport = nginx.port
    check_front(c, "nginx", nport, token)
    used += rotate(c, "nginx", nginx, signal.SIGHUP)         # nginx -s reload
    nginx.stop()

    # The pool stopped, a front answers in cuegw's shape that it is down.
    pool.stop()
    nginx.start()
    r = harness.request(nport, "POST", PREFIX + GET_SHOWS, "{}", {"Authorization": "Bearer " + token})
    c.check(r.status == 503 and b'"code": 14' in r.body and b"socket permissions" in r.body,
            "nginx: the pool stopped, 503 code 14, pointing at the socket's permissions",
            (r.status, r.body[:300]))
    nginx.stop()
    log = harness.read_logs(pool.log)
    c.check(PREFIX + GET_SHOWS in log, "the pool logged the requests", log[-1000:])
    c.check(not any(x in log for x in used + (token,)), "no secret reaches the pool's log")

    # Remove keeps the conffiles and disables the Apache snippet (Debian's
    # helper records why); a reinstall brings the admin's choice back.
    rc, out = sh("dpkg", "-r", "cuegw")
    c.check(rc == 0 and not os.path.lexists(APACHE_ENABLED) and os.path.isfile(APACHE_AVAILABLE)
            and os.path.isfile(ENV_FILE), "dpkg -r disables the Apache snippet, keeps the conffiles",
            out[-2000:])
    rc, out = sh("dpkg", "-i", debs[0])
    c.check(rc == 0 and os.path.islink(APACHE_ENABLED) and os.path.islink(LIGHTTPD_ENABLED)
            and read_env_file(ENV_FILE).get("AUTH_TOKEN") == token,
            "a reinstall enables the snippets again and keeps the edited settings", out[-2000:])

    # Purge: the package takes its files and the enabled links with it.
    rc, out = sh("dpkg", "--purge", "cuegw")
    state["installed"] = False
    c.check(rc == 0 and not_installed(), "dpkg --purge cuegw", out[-2000:])
    for p in (APACHE_ENABLED, LIGHTTPD_ENABLED, APACHE_AVAILABLE, LIGHTTPD_AVAILABLE,
              NGINX_SNIPPET, "/etc/cuegw", "/usr/sbin/cuegw"):
        c.check(not os.path.lexists(p), "after the purge %s is gone" % p)


def _exists(lookup, name):
    try:
        lookup(name)
        return True
    except KeyError:
        return False


def cleanup(c, state):
    """Undoes whatever is left, also after a failure; then compares the
    watched files with what they were before the test."""
    for s in state["servers"]:
        s.stop()
    if state.get("pool"):
        state["pool"].stop()
    harness.stop_all()
    if state.get("installed") and not not_installed():
        rc, out = sh("dpkg", "--purge", "cuegw")
        if rc != 0:
            print("cleanup: dpkg --purge cuegw: %s" % out)
    if "before" not in state:
        return
    if os.path.lexists(APACHE_ENABLED):
        sh("a2disconf", "-q", "-p", "-f", "cuegw")
    for p in (APACHE_ENABLED, LIGHTTPD_ENABLED):
        if os.path.islink(p):
            os.unlink(p)
    if not state["fastcgi_was_enabled"] and os.path.lexists(LIGHTTPD_FASTCGI):
        sh("lighty-disable-mod", "fastcgi")
    shutil.rmtree(RUN_DIR, ignore_errors=True)
    # a2enconf and a2disconf keep who enabled what in directories they make
    # when first needed: the empty ones they made for this test go.
    for d in glob.glob("/var/lib/apache2/conf/*"):
        if d not in state["before"] and os.path.isdir(d) and not os.listdir(d):
            os.rmdir(d)
    # Debian keeps a package's system user after a purge; the test made it,
    # so the test takes it away.
    if not state["user_existed"] and _exists(pwd.getpwnam, "cuegw"):
        sh("deluser", "--quiet", "--system", "cuegw")
    if not state["group_existed"] and _exists(grp.getgrnam, "cuegw"):
        sh("delgroup", "--quiet", "--system", "cuegw")
    if state.get("work"):
        if c.failed:
            print("deb: logs kept in %s" % state["work"])
        else:
            shutil.rmtree(state["work"], ignore_errors=True)
    after = snapshot()
    before = state["before"]
    diff = sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p))
    c.check(not diff, "the system is as it was before the test",
            "; ".join("%s: %s -> %s" % (p, before.get(p), after.get(p)) for p in diff[:10]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True, help="the build directory (make's BUILD)")
    ap.add_argument("--schema", required=True)
    args = ap.parse_args()
    # Stopped from outside: clean up all the same.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    signal.signal(signal.SIGHUP, lambda *_: sys.exit(1))
    c = harness.Checks()
    state = {"servers": []}
    lock = sysconf.take_machine_lock("deb")
    if not c.check(lock is not None, "no other run holds %s for %d s" % (sysconf.LOCK, sysconf.LOCK_WAIT)):
        print("deb: %d passed, %d failed" % (c.passed, c.failed))
        return 1
    try:
        run(c, args, state)
    except BaseException:
        import traceback
        c.check(False, "deb ran to the end", traceback.format_exc())
    finally:
        try:
            cleanup(c, state)
        except Exception:
            import traceback
            c.check(False, "cleanup ran to the end", traceback.format_exc())
    print("deb: %d passed, %d failed" % (c.passed, c.failed))
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
