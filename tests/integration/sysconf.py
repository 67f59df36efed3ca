"""Reading the systemd unit files and env files the deployments ship, and
waiting on a condition, and a snapshot of system files: what test_deb.py and test_recipes.py (also its
systemctl, a process that must not import harness: harness stops the
children of its process when that ends, and these are services that
outlive it) share."""

import hashlib
import os
import stat
import time


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
