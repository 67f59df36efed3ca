#!/usr/bin/python3
"""The README's recipes, kept honest: each one is read from README.md
("## Recipes", one "### Recipe: ..." per front, numbered steps with their
shell blocks) and

  - checked as text: 6 to 10 numbered steps; step 1 sets CUEBOT and TOKEN,
    the last one calls GetShows with curl; the apt-get line names every
    build package of tools/install-deps.sh; every file it copies from the
    installed tree (`make install`) or the Debian package exists there;
    every setting it sets (sed, heredoc, export, env, fastcgi_param,
    SetEnv, lighttpd setenv) is one `cuegw --list-settings` prints or a
    variable the shipped configurations read; every `sed -i` pattern
    matches a line of the file it edits, so that no edit silently does
    nothing;
  - run, every recipe but the Debian package's (test_deb.py runs the same
    steps from the package): its shell blocks, as written, in one bash, in
    a scratch root of its own. Paths under /etc, /usr/local, /var/lib and
    /run move into that root (/etc/apache2 and /etc/nginx are copies of
    the system's, listening on a free loopback port instead of 80), 8448
    becomes a free port and CUEBOT the stand-in Cuebot. apt-get only checks
    that the packages are installed, make installs from this build, and
    systemctl starts what the unit files the recipe wrote or installed
    say (apache2 and nginx: apache2ctl and nginx on the copies). The final
    curl must print the stand-in's shows, and the same URL without the
    token must be 401.

Needs root (the recipes do), apache2, lighttpd, nginx, spawn-fcgi,
mod_fcgid, curl, openssl. A user `cuegw` must not exist (the nginx recipe
makes it, and the test removes it). Nothing outside the scratch root is
left changed: every process of a recipe is stopped (found by the root's
path in its command line), and the user and group it added are removed.

Usage: test_recipes.py --cuegw BUILD/cuegw --schema BUILD/gen/schema.pb
       test_recipes.py --systemctl ROOT ARGS...   (the recipes' systemctl)
"""

import glob
import grp
import json
import os
import pwd
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import sysconf  # noqa: E402
from sysconf import read_env_file, unit_service_section, wait_until  # noqa: E402

TOP = os.path.dirname(os.path.dirname(HERE))
README = os.path.join(TOP, "README.md")
GET_SHOWS = "show.ShowInterface/GetShows"
STANDIN_SHOWS = ["pipe", "testing"]
DEB_RECIPE = "Debian package"
# What a recipe run here must leave as it found it (the recipes edit the
# copies in their scratch roots, and the user they add goes again).
SYSTEM_FILES = ["/etc/apache2", "/etc/nginx", "/etc/lighttpd", "/etc/cuegw", "/etc/systemd/system",
                "/var/lib/apache2", "/etc/passwd", "/etc/group", "/etc/shadow", "/etc/gshadow",
                "/usr/local/bin", "/usr/local/share/cuegw", "/run/cuegw"]


# ---- reading the recipes ------------------------------------------------------

class Step:
    def __init__(self, n, text):
        self.n, self.text, self.blocks = n, text, []   # blocks: [(lang, code)]

    def sh(self):
        return [code for lang, code in self.blocks if lang == "sh"]


class Recipe:
    def __init__(self, title):
        self.title, self.steps = title, []

    def sh(self):
        return [code for s in self.steps for code in s.sh()]


def parse_recipes(text):
    """The recipes of README.md's "## Recipes" section."""
    m = re.search(r"^## Recipes\n(.*?)(?=^## )", text, re.M | re.S)
    if not m:
        return []
    recipes = []
    lines = m.group(1).split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        h = re.match(r"^### Recipe: (.+)$", line)
        f = re.match(r"^( *)```(\w*)\s*$", line)
        s = re.match(r"^(\d+)\. (.*)$", line)
        if h:
            recipes.append(Recipe(h.group(1)))
        elif s and recipes:
            recipes[-1].steps.append(Step(int(s.group(1)), s.group(2)))
        elif f:
            indent, lang = f.group(1), f.group(2)
            code = []
            i += 1
            while i < len(lines) and lines[i].rstrip() != indent + "```":
                code.append(lines[i][len(indent):] if lines[i].startswith(indent) else lines[i].lstrip())
                i += 1
            if recipes and recipes[-1].steps:
                recipes[-1].steps[-1].blocks.append((lang, "\n".join(code) + "\n"))
        elif recipes and recipes[-1].steps and line.strip():
            recipes[-1].steps[-1].text += " " + line.strip()
        i += 1
    return recipes


def commands(code):
    """The shell commands of a block: continued lines joined, heredoc
    bodies left out (see heredocs), comments dropped."""
    out, lines, i = [], code.split("\n"), 0
    while i < len(lines):
        line = lines[i]
        while line.endswith("\\") and i + 1 < len(lines):
            i += 1
            line = line[:-1] + " " + lines[i].strip()
        h = re.search(r"<<-?'?(\w+)'?", line)
        if h:
            i += 1
            while i < len(lines) and lines[i].strip() != h.group(1):
                i += 1
        if line.strip() and not line.strip().startswith("#"):
            out.append(line.strip())
        i += 1
    return out


def heredocs(code):
    """[(command line, body)] of the block's heredocs."""
    out, lines, i = [], code.split("\n"), 0
    while i < len(lines):
        h = re.search(r"<<-?'?(\w+)'?", lines[i])
        if h:
            body, j = [], i + 1
            while j < len(lines) and lines[j].strip() != h.group(1):
                body.append(lines[j])
                j += 1
            out.append((lines[i], "\n".join(body) + "\n"))
            i = j
        i += 1
    return out


def simple_commands(line):
    """A command line split at && ; || into word lists (shlex)."""
    try:
        words = shlex.split(line, comments=True)
    except ValueError:
        return []
    cmds, cur = [], []
    for w in words:
        if w in ("&&", "||", ";", "|"):
            cmds.append(cur)
            cur = []
        else:
            cur.append(w)
    cmds.append(cur)
    return [c for c in cmds if c]


# ---- what the tree provides ---------------------------------------------------

def install_tree(build, dest):
    """`make install` of this build into dest, PREFIX=/usr/local."""
    r = subprocess.run(["make", "-s", "-C", TOP, "BUILD=" + build, "install",
                        "DESTDIR=" + dest, "PREFIX=/usr/local"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       env=make_env(), timeout=600)
    if r.returncode != 0:
        raise RuntimeError("make install failed:\n" + r.stdout[-2000:])
    return os.path.join(dest, "usr", "local")


def make_env():
    return {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}


def setting_names(cuegw):
    out = subprocess.run([cuegw, "--list-settings"], stdout=subprocess.PIPE, text=True,
                         check=True).stdout
    return {line.split("\t")[0] for line in out.splitlines() if line.strip()}


def config_variables():
    """The variables the shipped configurations read: env.NAME (lighttpd),
    ${NAME} (Apache), CUEGW_* of conf/spawn-fcgi.sh."""
    names = set()
    for f in glob.glob(os.path.join(TOP, "lighttpd", "*.conf")):
        with open(f) as fh:
            text = re.sub(r"(?m)^\s*#.*", "", fh.read())
        names |= set(re.findall(r"env\.([A-Z_][A-Z0-9_]*)", text))
        names |= set(re.findall(r"\$\{(CUEGW_[A-Z0-9_]+)", text))    # include_shell's
    for f in glob.glob(os.path.join(TOP, "apache", "*.conf")):
        with open(f) as fh:
            names |= set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)\}", re.sub(r"(?m)^\s*#.*", "", fh.read())))
    with open(os.path.join(TOP, "conf", "spawn-fcgi.sh")) as fh:
        names |= set(re.findall(r"\$\{(CUEGW_[A-Z0-9_]+)", fh.read()))
    return names


def install_deps_packages(var):
    with open(os.path.join(TOP, "tools", "install-deps.sh")) as f:
        m = re.search(r'^%s="([^"]*)"' % var, f.read(), re.M)
    return m.group(1).split() if m else []


def debian_rules():
    with open(os.path.join(TOP, "debian", "rules")) as f:
        return f.read()


# ---- the checks on the text ---------------------------------------------------

def named_settings(code):
    """(name, where) of every setting a block sets."""
    found = []
    for line in commands(code):
        for m in re.finditer(r"s\|\^([A-Z][A-Z0-9_]*)=", line):
            found.append((m.group(1), "sed"))
        for cmd in simple_commands(line):
            if cmd[0] in ("env", "export") or (len(cmd) > 2 and cmd[:2] == ["runuser", "-u"]):
                for w in cmd:
                    m = re.match(r"^([A-Z][A-Z0-9_]*)=", w)
                    if m:
                        found.append((m.group(1), cmd[0]))
    for head, body in heredocs(code):
        for line in body.splitlines():
            m = re.match(r"^(?:export )?([A-Z][A-Z0-9_]*)=", line)
            if m:
                found.append((m.group(1), "heredoc"))
    for m in re.finditer(r"(?:fastcgi_param|SetEnv) +([A-Z][A-Z0-9_]*)|\\?\"([A-Z][A-Z0-9_]*)\\?\" *=>",
                         code):
        found.append((m.group(1) or m.group(2), "secrets"))
    return found


def tree_paths(code):
    """Paths into the installed tree: (relative to the prefix, as written)."""
    out = []
    for m in re.finditer(r"(?:/usr/local|\$HOME/cuegw|\.\.)/((?:share|bin)/[\w./-]*[\w-])", code):
        out.append((m.group(1), m.group(0)))
    return out


def sed_edits(code):
    """(pattern, file, line) of each sed -i in the block."""
    out = []
    for line in commands(code):
        for cmd in simple_commands(line):
            if cmd[0] != "sed" or "-i" not in cmd:
                continue
            exprs = [cmd[i + 1] for i, w in enumerate(cmd) if w == "-e"]
            rest = [w for i, w in enumerate(cmd[1:], 1) if w != "-i" and w != "-e" and cmd[i - 1] != "-e"]
            if not exprs:
                exprs, rest = rest[:1], rest[1:]
            for e in exprs:
                m = re.match(r"^s\|((?:[^|\\]|\\.)*)\|", e)
                out.append((m.group(1) if m else None, rest[-1] if rest else None, line))
    return out


def sed_regex(pattern):
    """A sed basic regular expression of the kind the recipes use, as
    Python's re: \\t is a tab, \\" a quote; the rest reads the same."""
    return pattern.replace('\\"', '"')


def source_of(path, recipe, installed, upto):
    """The file the recipe's `path` starts from: what an earlier install or
    cp made it from (the installed tree), the package's settings file, or
    a system file the recipe edits in place."""
    src = None
    for code in upto:
        for line in commands(code):
            for cmd in simple_commands(line):
                if cmd[0] in ("install", "cp") and len(cmd) >= 3 and not cmd[-2].startswith("-"):
                    dst = cmd[-1]
                    srcs = [w for w in cmd[1:-1] if not w.startswith("-") and w not in
                            ("644", "600", "755", "700", "www-data", "cuegw")]
                    for s in srcs:
                        target = dst if not dst.endswith("/") else dst + os.path.basename(s)
                        if target == path or os.path.join(dst, os.path.basename(s)) == path:
                            src = s
    if src:
        rel = re.sub(r"^(?:/usr/local|\$HOME/cuegw|\.\.)/", "", src)
        return os.path.join(installed, rel) if rel != src else None
    if recipe.title == DEB_RECIPE and path == "/etc/cuegw/cuegw.env":
        return os.path.join(TOP, "conf", "cuegw.env")
    if path.startswith("/etc/") and os.path.isfile(path):
        return path      # Debian's own file (nginx's default site, Apache's envvars)
    return None


def check_text(c, recipes, installed, settings):
    titles = [r.title for r in recipes]
    for want in (DEB_RECIPE, "lighttpd", "Apache with mod_fcgid", "nginx and spawn-fcgi"):
        c.check(any(t.startswith(want) for t in titles), "README has a recipe for " + want, titles)
    c.check(any("mod_proxy_fcgi" in t for t in titles), "README has a recipe for Apache mod_proxy_fcgi",
            titles)
    c.check(any("shared host" in t for t in titles), "README has a recipe for a shared host", titles)
    known = settings | config_variables()
    build_pkgs = install_deps_packages("BUILD_PKGS")
    rules = debian_rules()
    for r in recipes:
        name = "recipe %r" % r.title
        nums = [s.n for s in r.steps]
        c.check(nums == list(range(1, len(nums) + 1)) and 6 <= len(nums) <= 10,
                "%s: steps numbered 1..N, 6 to 10 of them" % name, nums)
        if not r.steps:
            continue
        first = "".join(r.steps[0].sh())
        c.check(re.search(r"^CUEBOT=\S+", first, re.M) and re.search(r"^TOKEN=\S+", first, re.M),
                "%s: step 1 sets CUEBOT and TOKEN" % name, first)
        last = "".join(r.steps[-1].sh())
        c.check(re.search(r"^curl .*-H \"Authorization: Bearer \$TOKEN\".* http\S*/" + re.escape(GET_SHOWS),
                          last, re.M),
                "%s: the last step calls GetShows with the token" % name, last)
        apt = [cmd for code in r.sh() for line in commands(code) for cmd in simple_commands(line)
               if cmd[:2] == ["apt-get", "install"]]
        pkgs = set(w for cmd in apt for w in cmd[2:] if not w.startswith("-"))
        missing = [p for p in build_pkgs if p not in pkgs]
        c.check(apt and not missing, "%s: apt-get installs every build package" % name, missing)
        if r.title == DEB_RECIPE:
            missing = [p for p in install_deps_packages("DEB_PKGS") if p not in pkgs]
            c.check(not missing, "%s: apt-get installs the packaging tools" % name, missing)
        for code in r.sh():
            for rel, written in tree_paths(code):
                c.check(os.path.exists(os.path.join(installed, rel)),
                        "%s: %s is installed by make install" % (name, written))
            for n, where in named_settings(code):
                c.check(n in known, "%s: %s (%s) is a setting or a variable of the shipped configurations"
                        % (name, n, where))
        if r.title == DEB_RECIPE:
            text = "\n".join(r.sh())
            for p in set(re.findall(r"(/(?:etc|usr/sbin)/[\w./-]*cuegw[\w./-]*\w)", text)):
                c.check("$(PKG)" + p in rules, "%s: the package installs %s" % (name, p))
            for m in re.findall(r"a2enconf (\w+)", text):
                c.check("$(PKG)/etc/apache2/conf-available/%s.conf" % m in rules,
                        "%s: the package ships Apache's conf %s" % (name, m))
            for m in re.findall(r"lighty-enable-mod (\w+)", text):
                c.check(re.search(r"\$\(PKG\)/etc/lighttpd/conf-available/\d+-%s\.conf" % m, rules),
                        "%s: the package ships lighttpd's module %s" % (name, m))
            for m in re.findall(r"include (snippets/[\w.-]+);", text):
                c.check("$(PKG)/etc/nginx/" + m in rules, "%s: the package ships nginx's %s" % (name, m))
        blocks = r.sh()
        for k, code in enumerate(blocks):
            for pattern, path, line in sed_edits(code):
                if not c.check(pattern and path, "%s: a sed -i it understands" % name, line):
                    continue
                src = source_of(path, r, installed, blocks[:k + 1])
                if not c.check(src and os.path.isfile(src), "%s: where %s comes from" % (name, path), line):
                    continue
                with open(src) as f:
                    c.check(re.search(sed_regex(pattern), f.read(), re.M),
                            "%s: sed's pattern %r matches a line of %s" % (name, pattern, path), src)


# ---- running a recipe ---------------------------------------------------------

PRELUDE = r"""
set -eu -o pipefail
apt-get() {
    # The recipe's packages must be installed already: this run installs nothing.
    local p missing=
    for p in "$@"; do
        case $p in install | -*) ;; *)
            dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii' || missing="$missing $p" ;;
        esac
    done
    [ -z "$missing" ] || { echo "recipe: not installed:$missing" >&2; return 1; }
}
make() { command make -s -C "$RECIPE_TOP" BUILD="$RECIPE_BUILD" "$@"; }
systemctl() { "$RECIPE_PY" "$RECIPE_SELF" --systemctl "$RECIPE_ROOT" "$@"; }
nginx() {
    case " $* " in
    *" -c "* | *" -p "*) command nginx "$@" ;;
    *) command nginx -c "$RECIPE_ROOT/etc/nginx/nginx.conf" "$@" ;;
    esac
}
export APACHE_CONFDIR=$RECIPE_ROOT/etc/apache2
# a2enmod and a2enconf record who enabled what there (else in /var/lib/apache2).
export APACHE_STATE_DIRECTORY=$RECIPE_ROOT/var/lib/apache2
"""


def path_map(root, port, endpoint):
    """What moves where when a recipe runs here."""
    return [("cuebot.example.com:8443", endpoint),
            ("/etc/cuegw", root + "/etc/cuegw"),
            ("/etc/apache2", root + "/etc/apache2"),
            ("/etc/nginx", root + "/etc/nginx"),
            ("/etc/systemd/system", root + "/etc/systemd/system"),
            ("/usr/local", root + "/usr/local"),
            ("/var/lib/cuegw", root + "/var/lib/cuegw"),
            ("/run/cuegw", root + "/run/cuegw"),
            ("http://localhost/", "http://127.0.0.1:%d/" % port),
            ("0.0.0.0", "127.0.0.1"),
            ("8448", str(port))]


def moved(text, mapping):
    # Whole paths only: /run/cuegw moves, $HOME/cuegw/run/cuegw.sock does not.
    rx = re.compile(r"(?<![\w.$/-])(?:%s)" % "|".join(re.escape(a) for a, _ in mapping))
    table = dict(mapping)
    return rx.sub(lambda m: table[m.group(0)], text)


def copy_system_conf(root, name, port):
    """A copy of /etc/NAME (apache2 or nginx) in root/etc, its links into
    /etc/NAME pointed at the copy, listening on 127.0.0.1:port, its run,
    lock and log files in root."""
    src, dst = "/etc/" + name, os.path.join(root, "etc", name)
    shutil.copytree(src, dst, symlinks=True)
    for d, dirs, files in os.walk(dst):
        for n in dirs + files:
            p = os.path.join(d, n)
            if os.path.islink(p) and os.readlink(p).startswith(src + "/"):
                target = dst + os.readlink(p)[len(src):]
                os.unlink(p)
                os.symlink(target, p)
    for d in ("run", "lock", "log/" + name):
        os.makedirs(os.path.join(root, d), exist_ok=True)

    def edit(rel, subs):
        p = os.path.join(dst, rel)
        with open(p) as f:
            text = f.read()
        for a, b in subs:
            new = re.sub(a, b, text, flags=re.M)
            if new == text:
                raise RuntimeError("%s: no %r to change" % (p, a))
            text = new
        with open(p, "w") as f:
            f.write(text)

    if name == "apache2":
        # What another run may have enabled at the same time (the package's
        # test enables its cuegw.conf) is not the fresh machine's.
        for p in glob.glob(os.path.join(dst, "conf-enabled", "cuegw*")):
            os.unlink(p)
        edit("envvars", [(r"/var/run/apache2\$SUFFIX", root + "/run/apache2"),
                         (r"/var/lock/apache2\$SUFFIX", root + "/lock/apache2"),
                         (r"/var/log/apache2\$SUFFIX", root + "/log/apache2")])
        edit("ports.conf", [(r"^Listen 80$", "Listen 127.0.0.1:%d" % port)])
        edit("sites-available/000-default.conf", [(r"<VirtualHost \*:80>", "<VirtualHost *:%d>" % port)])
        # mod_fcgid's sockets (and cuegw's counters beside them), else in
        # /var/lib/apache2/fcgid.
        os.makedirs(os.path.join(root, "var/lib/apache2/fcgid"), exist_ok=True)
        edit("mods-available/fcgid.conf", [(r"^(<IfModule mod_fcgid.c>\n)",
                                            r"\1  FcgidIPCDir %s/var/lib/apache2/fcgid/sock\n"
                                            r"  FcgidProcessTableFile %s/var/lib/apache2/fcgid/shm\n"
                                            % (root, root))])
    else:
        edit("nginx.conf", [(r"^pid /run/nginx.pid;", "pid %s/run/nginx.pid;" % root),
                            (r"/etc/nginx/", dst + "/"), (r"/var/log/nginx/", root + "/log/nginx/")])
        edit("sites-available/default", [(r"^\tlisten 80 default_server;", "\tlisten 127.0.0.1:%d default_server;" % port),
                                         (r"^\tlisten \[::\]:80 default_server;\n", "")])


def script_of(recipe, mapping):
    parts = [PRELUDE]
    for s in recipe.steps:
        parts.append('echo "@@step %d"' % s.n)
        parts += [moved(code, mapping) for code in s.sh()]
    return "\n".join(parts) + "\n"


def root_pids(root):
    """The processes whose command line names the scratch root."""
    found = []
    key = root.encode()
    for d in glob.glob("/proc/[0-9]*"):
        try:
            with open(d + "/cmdline", "rb") as f:
                cmd = f.read()
        except OSError:
            continue
        if key in cmd and int(d[6:]) != os.getpid():
            found.append(int(d[6:]))
    return found


def stop_root_processes(root, timeout=30):
    pids = root_pids(root)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError:
            pass
    left = wait_until(lambda: not root_pids(root), timeout)
    if not left:
        for pid in root_pids(root):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        wait_until(lambda: not root_pids(root), 10)
    return pids


def exists(lookup, n):
    try:
        lookup(n)
        return True
    except KeyError:
        return False


def run_recipe(c, args, recipe, standin, work):
    name = "recipe %r" % recipe.title
    root = tempfile.mkdtemp(prefix="r", dir=work)
    os.chmod(root, 0o755)
    for d in ("etc/systemd/system", "var/lib", "run", "home"):
        os.makedirs(os.path.join(root, d), mode=0o755, exist_ok=True)
    port = harness.free_port()
    text = "\n".join(recipe.sh())
    for conf in ("apache2", "nginx"):
        if "/etc/%s" % conf in text or "systemctl restart %s" % conf in text \
                or "systemctl reload %s" % conf in text:
            copy_system_conf(root, conf, port)
    # A user the recipe adds gets a name of this run's own (the package's
    # test may have a `cuegw` of its own at the same time).
    renames = {u: "rcp%s" % os.path.basename(root)[1:7].lower().replace("_", "x")
               for u in re.findall(r"^adduser --system [^\n]* (\w+)$", text, re.M)}
    users = list(renames.values())
    for u in users:
        if exists(pwd.getpwnam, u) or exists(grp.getgrnam, u):
            c.check(False, "%s: the user %s it adds does not exist yet (not touching it)" % (name, u))
            return
    shared = "shared host" in recipe.title
    home = os.path.join(root, "home")
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
           "HOME": home, "LANG": "C.UTF-8",
           "RECIPE_ROOT": root, "RECIPE_TOP": TOP, "RECIPE_BUILD": os.path.abspath(args.build),
           "RECIPE_PY": sys.executable, "RECIPE_SELF": os.path.abspath(__file__),
           "RECIPE_PORT": str(port)}
    preexec = None
    if shared:
        # Without root: the recipe runs as an unprivileged user of the machine.
        nobody = pwd.getpwnam("nobody")
        os.chown(home, nobody.pw_uid, nobody.pw_gid)

        def preexec():
            os.setgroups([])
            os.setgid(nobody.pw_gid)
            os.setuid(nobody.pw_uid)
    mapping = path_map(root, port, standin.endpoint)
    script_text = script_of(recipe, mapping)
    for old, new in renames.items():
        script_text = re.sub(r"(?m)^(adduser .* )%s$" % old, r"\g<1>" + new, script_text)
        script_text = re.sub(r"(?:(?<=-u )|(?<=-o )|(?<=-g )|(?<=_GROUP=))%s\b" % old, new, script_text)
    script = os.path.join(root, "recipe.sh")
    with open(script, "w") as f:
        f.write(script_text)
    os.chmod(script, 0o755)
    t0 = time.monotonic()
    try:
        r = subprocess.run(["/bin/bash", script], cwd=TOP, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=600, preexec_fn=preexec)
        out, rc = r.stdout, r.returncode
        steps = re.split(r"^@@step (\d+)\n", out, flags=re.M)
        last = steps[-1] if len(steps) > 1 and steps[-2] == str(recipe.steps[-1].n) else ""
        print("%s: ran in %.1fs, exit %d" % (name, time.monotonic() - t0, rc))
        ok = c.check(rc == 0, "%s runs to its end" % name, "exit status %d" % rc)
        if not ok:
            print("--- its output\n" + out[-3000:])
        shows = None
        try:
            shows = sorted(s["name"] for s in json.loads(last)["shows"]["shows"])
        except (ValueError, KeyError, TypeError):
            pass
        c.check(shows == STANDIN_SHOWS, "%s: the final curl prints the stand-in's shows" % name,
                last[-500:] if ok else "")
        url = re.search(r"http://\S+/" + re.escape(GET_SHOWS), moved(recipe.steps[-1].sh()[0], mapping))
        if ok and c.check(url, "%s: the curl's URL" % name):
            path = url.group(0).split(":%d" % port, 1)[-1]
            resp = harness.request(port, "POST", path, "{}")
            c.check(resp.status == 401 and b'"code"' in resp.body,
                    "%s: without the token, 401 in cuegw's JSON shape" % name, (resp.status, resp.body[:200]))
        if not ok:
            for log in sorted(glob.glob(os.path.join(root, "**", "*.log"), recursive=True))[:8]:
                print("--- %s\n%s" % (log, harness.read_logs(log)[-1500:]))
    finally:
        stop_root_processes(root)
        c.check(not root_pids(root), "%s: every process it started is stopped" % name, root_pids(root))
        for u in users:
            if exists(pwd.getpwnam, u):
                subprocess.run(["deluser", "--quiet", "--system", u], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
            if exists(grp.getgrnam, u):
                subprocess.run(["delgroup", "--quiet", "--system", u], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
            c.check(not exists(pwd.getpwnam, u) and not exists(grp.getgrnam, u),
                    "%s: the user and group %s are gone again" % (name, u))
        harness.remove_tree(root)


def run(c, args):
    for t in ("apache2", "apache2ctl", "a2enmod", "lighttpd", "nginx", "spawn-fcgi", "curl", "openssl",
              "runuser", "adduser", "deluser", "bash"):
        harness.need(t) if shutil.which(t) else harness.need("/usr/sbin/" + t)
    if os.geteuid() != 0:
        raise RuntimeError("needs root: the recipes are run as root")
    # Held until run returns: the deb suite of this or another clone
    # changes the same system files.
    lock = sysconf.take_machine_lock("recipes")
    if not c.check(lock is not None, "no other run holds %s for %d s" % (sysconf.LOCK, sysconf.LOCK_WAIT)):
        return
    with open(README) as f:
        recipes = parse_recipes(f.read())
    c.check(len(recipes) == 6, "README.md has six recipes", [r.title for r in recipes])
    work = tempfile.mkdtemp(prefix="recipes-")
    os.chmod(work, 0o755)
    installed = install_tree(args.build, os.path.join(work, "installed"))
    check_text(c, recipes, installed, setting_names(args.cuegw))
    standin = harness.Standin(args.schema).start()
    before = sysconf.snapshot(SYSTEM_FILES)
    for r in recipes:
        if r.title != DEB_RECIPE:
            run_recipe(c, args, r, standin, work)
    after = sysconf.snapshot(SYSTEM_FILES)
    diff = sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p))
    c.check(not diff, "the system's web server configurations, their state and its users are as "
            "they were", "; ".join("%s: %s -> %s" % (p, before.get(p), after.get(p)) for p in diff[:10]))


# ---- systemctl, as the recipes call it ----------------------------------------
# A process of its own, which must not import harness (see sysconf.py).

def port_open(port):
    import socket
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def listening(pid):
    """Whether the process holds a listening socket."""
    inodes = set()
    for table, col in (("/proc/net/tcp", 3), ("/proc/net/tcp6", 3)):
        try:
            with open(table) as f:
                for row in f.read().splitlines()[1:]:
                    w = row.split()
                    if w[col] == "0A":
                        inodes.add(w[9])
        except OSError:
            pass
    try:
        with open("/proc/net/unix") as f:
            for row in f.read().splitlines()[1:]:
                w = row.split()
                if int(w[3], 16) & 0x10000:
                    inodes.add(w[6])
    except OSError:
        pass
    for link in sysconf.fd_targets(pid):
        m = re.match(r"socket:\[(\d+)\]", link)
        if m and m.group(1) in inodes:
            return True
    return False


def start_unit(root, unit, mapping):
    path = os.path.join(root, "etc", "systemd", "system", unit + ".service")
    if not os.path.isfile(path):
        raise SystemExit("systemctl: no unit %s (%s)" % (unit, path))
    u = unit_service_section(path, lambda text: moved(text, mapping))
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
    for e in u.get("Environment", []):
        for word in shlex.split(e):
            k, v = word.split("=", 1)
            env[k] = v
    for f in u.get("EnvironmentFile", []):
        env.update(read_env_file(f.lstrip("-")))
    if u.get("DynamicUser", ["no"])[-1] == "yes":
        uid = pwd.getpwnam("nobody").pw_uid      # a user of its own, allocated at start
    else:
        uid = pwd.getpwnam(u["User"][-1]).pw_uid if "User" in u else 0
    gid = grp.getgrnam(u["Group"][-1]).gr_gid if "Group" in u else pwd.getpwuid(uid).pw_gid
    for d in u.get("RuntimeDirectory", []):
        p = os.path.join(root, "run", d)
        os.makedirs(p, exist_ok=True)
        os.chown(p, uid, gid)
        os.chmod(p, int(u.get("RuntimeDirectoryMode", ["0755"])[-1], 8))
    umask = int(u.get("UMask", ["0022"])[-1], 8)

    def argv(line):
        line = line.lstrip("-@")
        return [re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: env.get(m.group(1) or m.group(2), ""), a)
                for a in shlex.split(line)]

    def as_unit():
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
        os.umask(umask)

    for pre in u.get("ExecStartPre", []):
        r = subprocess.run(argv(pre), env=env, preexec_fn=as_unit)
        if r.returncode != 0:
            raise SystemExit("systemctl: %s: ExecStartPre failed" % unit)
    log = open(os.path.join(root, unit + ".log"), "ab")
    proc = subprocess.Popen(argv(u["ExecStart"][-1]), env=env, preexec_fn=as_unit, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True, cwd="/")
    with open(os.path.join(root, unit + ".pid"), "w") as f:
        f.write("%d\n" % proc.pid)
    ok = wait_until(lambda: proc.poll() is not None or listening(proc.pid), 30)
    if not ok or proc.poll() is not None:
        raise SystemExit("systemctl: %s did not start; see %s.log" % (unit, os.path.join(root, unit)))


def live_pid(path):
    """Whether a pid file names a running process (nginx -t leaves an
    empty one)."""
    try:
        with open(path) as f:
            os.kill(int(f.read().strip()), 0)
        return True
    except (OSError, ValueError):
        return False


def systemctl_main(argv):
    root = argv[0]
    words = [a for a in argv[1:] if not a.startswith("-")]
    verb, units = words[0], words[1:]
    port = int(os.environ["RECIPE_PORT"])
    mapping = path_map(root, port, "")
    if verb == "daemon-reload" or (verb == "enable" and "--now" not in argv):
        return 0
    for unit in units:
        unit = unit[:-len(".service")] if unit.endswith(".service") else unit
        if unit == "apache2":
            pid = os.path.join(root, "run", "apache2", "apache2.pid")
            running = live_pid(pid)
            r = subprocess.run(["apache2ctl", "graceful" if running else "start"])
            if r.returncode != 0:
                return r.returncode
            if not wait_until(lambda: port_open(port), 30):
                raise SystemExit("systemctl: apache2 does not listen on port %d" % port)
        elif unit == "nginx":
            pid = os.path.join(root, "run", "nginx.pid")
            conf = os.path.join(root, "etc", "nginx", "nginx.conf")
            cmd = ["nginx", "-c", conf] + (["-s", "reload"] if live_pid(pid) else [])
            r = subprocess.run(cmd)
            if r.returncode != 0:
                return r.returncode
            if not wait_until(lambda: port_open(port), 30):
                raise SystemExit("systemctl: nginx does not listen on port %d" % port)
        elif verb in ("start", "restart", "enable"):
            start_unit(root, unit, mapping)
        else:
            raise SystemExit("systemctl: %s %s is not something the recipes do" % (verb, unit))
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--systemctl":
        sys.exit(systemctl_main(sys.argv[2:]))
    import harness  # noqa: E402

    def add_args(ap):
        ap.add_argument("--build", required=True, help="the build directory (make's BUILD)")
    sys.exit(harness.suite_main("recipes", run, add_args))
