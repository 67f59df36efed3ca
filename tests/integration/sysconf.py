"""Reading the systemd unit files and env files the deployments ship, and
waiting on a condition, and a snapshot of system files and the lock on them: what test_deb.py and test_recipes.py (also its
systemctl, a process that must not import harness: harness stops the
children of its process when that ends, and these are services that
outlive it) share."""

import fcntl
import hashlib
import os
import stat
import time

# The package, its user, /run/cuegw and the system's web server
# configurations are the machine's: a deb or recipes suite (of any clone)
# holds LOCK from its first look at the system until it has put it back.
LOCK = "/run/lock/cuegw-deb-test.lock"
LOCK_WAIT = 3600            # seconds; only to give up on a stuck run (a whole suite takes minutes)


def wait_until(pred, timeout, step=0.1):
    """pred()'s first true value within timeout seconds, else its last."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        got = pred()
        if got:
            return got
        time.sleep(step)
    return pred()


def unit_service_section(path, edit=None):
    """The [Service] keys of a unit file, each a list of its values;
    edit(text) first changes the file's text, when given."""
    keys = {}
    section = None
    with open(path) as f:
        text = f.read()
    for line in (edit(text) if edit else text).splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line
            continue
        if section == "[Service]" and "=" in line:
            k, v = line.split("=", 1)
            keys.setdefault(k.strip(), []).append(v.strip())
    return keys


def read_env_file(path):
    """NAME=value lines as systemd's EnvironmentFile= reads this file's
    syntax (bare values, or between single quotes)."""
    env = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#") or "=" not in line:
                continue
            k, v = line.split("=", 1)
            if len(v) >= 2 and v[0] == v[-1] == "'":
                v = v[1:-1]
            env[k] = v
    return env


def snapshot(paths):
    """Every path under paths: kind, mode, owner and content (or link
    target), to compare before and after a test."""
    out = {}

    def one(p):
        try:
            st = os.lstat(p)
        except FileNotFoundError:
            return
        if stat.S_ISLNK(st.st_mode):
            what = "-> " + os.readlink(p)
        elif stat.S_ISREG(st.st_mode):
            with open(p, "rb") as f:
                what = hashlib.sha256(f.read()).hexdigest()
        else:
            what = "dir" if stat.S_ISDIR(st.st_mode) else "other"
        out[p] = (what, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)

    for top in paths:
        one(top)
        if os.path.isdir(top) and not os.path.islink(top):
            for root, dirs, files in os.walk(top):
                for n in dirs + files:
                    one(os.path.join(root, n))
    return out


def take_machine_lock(who):
    """Holds LOCK (an open file with an exclusive flock) once no other run
    holds it; None when LOCK_WAIT passes first. The kernel lets go of it
    when this process ends, however it ends."""
    os.makedirs(os.path.dirname(LOCK), exist_ok=True)
    f = open(LOCK, "a")
    said = False
    end = time.monotonic() + LOCK_WAIT
    while True:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            others = other_system_runs()
            if not others:
                return f
            # A run of a tree without the lock: wait for it all the same.
            fcntl.flock(f, fcntl.LOCK_UN)
            why = "a deb or recipes suite that takes no lock is running (pids %s)" % others
        except BlockingIOError:
            why = "another run holds %s" % LOCK
        if time.monotonic() > end:
            f.close()
            return None
        if not said:
            print("%s: %s; waiting for it" % (who, why), flush=True)
            said = True
        time.sleep(0.5)


def other_system_runs():
    """Pids of other processes running a test_deb.py or test_recipes.py (of
    any tree) that do not take LOCK (those that do have it open, waiting or
    holding)."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if any(a.endswith((b"tests/integration/test_deb.py", b"tests/integration/test_recipes.py"))
               for a in argv[:3]) \
                and b"--systemctl" not in argv and not holds_open(pid, LOCK):
            found.append(int(pid))
    return found


def fd_targets(pid):
    """What the process's open file descriptors point at (paths,
    socket:[inode]); empty when it is gone or not ours to read."""
    try:
        fds = os.listdir("/proc/%s/fd" % pid)
    except OSError:
        return []
    out = []
    for fd in fds:
        try:
            out.append(os.readlink("/proc/%s/fd/%s" % (pid, fd)))
        except OSError:
            pass
    return out


def holds_open(pid, path):
    return path in fd_targets(pid)
