#!/usr/bin/python3
"""Every document that lists the settings agrees with the table.

The table (common/ops/settings.def) is the source; `cuegw --list-settings`
prints it. conf/cuegw.env, the SETTINGS section of docs/cuegw.8 and the
settings table of README.md are written by hand (each says more than the
table could), so this holds each to it: the same names, under the same
group headings, and the same default text.

Usage: check_docs.py CUEGW [TOP]    prints "settings-docs: N passed, N failed"
"""
import os
import re
import shutil
import subprocess
import sys

passed = failed = 0


def check(ok, what, detail=None):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print("FAIL: %s%s" % (what, "" if detail is None else ": %s" % (detail,)))


def table(cuegw):
    out = subprocess.run([cuegw, "--list-settings"], capture_output=True, text=True, timeout=10,
                         check=True).stdout
    rows = []
    for line in out.splitlines():
        name, group, kind, default, flags = line.split("\t")
        rows.append({"name": name, "group": group, "kind": kind,
                     "default": "" if default == "unset" else default, "flags": flags.split(",")})
    return rows


def says_default(text, default):
    """Whether text states `default` as the default: "(default 30s)",
    "Default: the site root", "default (0)"."""
    text = re.sub(r"\s+", " ", text)
    pattern = r"\bdefault[: ]*\(?" + re.escape(default) + r"(?![\w/])"
    return re.search(pattern, text, re.I) is not None


def check_env(top, rows):
    """conf/cuegw.env: one NAME= line a setting, in the table's order, under
    "## <group>" headings, each after a comment that says "(default ...)"."""
    with open(os.path.join(top, "conf", "cuegw.env")) as f:
        lines = f.read().splitlines()
    group, comment, found, prev = None, [], [], ""
    for line in lines:
        if line.startswith("## "):
            group = group + " " + line[3:] if prev.startswith("## ") else line[3:]
            comment = []
        elif line.startswith("#"):
            comment.append(line.lstrip("#").strip())
        elif re.match(r"^[A-Z_][A-Z0-9_]*=", line):
            found.append((line.split("=")[0], group, " ".join(comment)))
            comment = []
        else:
            comment = []
        prev = line
    names = [r["name"] for r in rows]
    check([n for n, _, _ in found] == names, "conf/cuegw.env lists every setting, in the table's order",
          ([n for n, _, _ in found], names))
    by_name = {n: (g, text) for n, g, text in found}
    for r in rows:
        if r["name"] not in by_name:
            continue
        g, text = by_name[r["name"]]
        check(g is not None and g.startswith(r["group"]), "conf/cuegw.env: %s is under %s" % (r["name"], r["group"]), g)
        check(says_default(text, r["default"] or "unset"),
              "conf/cuegw.env: %s says (default %s)" % (r["name"], r["default"] or "unset"), text)


def man_entries(top):
    """The SETTINGS section of cuegw(8) as groff renders it: {name: (group, text)}."""
    groff = shutil.which("groff")
    if not groff:
        return None
    page = subprocess.run([groff, "-man", "-Tascii", "-rHY=0", "-rLL=200n", "-P-cbou",
                           os.path.join(top, "docs", "cuegw.8")],
                          capture_output=True, text=True, timeout=30, check=True).stdout
    page = re.sub(r".\x08", "", page)
    section = page.split("\nSETTINGS\n", 1)[1].split("\nMETRICS\n", 1)[0]
    entries, group, names = {}, None, []
    for line in section.splitlines():
        if re.match(r"^   \S", line):                      # .SS
            group, names = line.strip(), []
        elif re.match(r"^       [A-Z][A-Z0-9_]+(, [A-Z][A-Z0-9_]+)*$", line):   # .TP tag
            names = line.strip().split(", ")
            for n in names:
                entries[n] = (group, "")
        elif re.match(r"^              \S", line) and names:
            for n in names:
                entries[n] = (entries[n][0], entries[n][1] + " " + line.strip())
        elif line.strip() and not line.startswith("              "):
            names = []
    return entries


def check_man(top, rows):
    entries = man_entries(top)
    if entries is None:
        check(False, "groff is installed (apt-get install groff)")
        return
    for r in rows:
        n = r["name"]
        check(n in entries, "cuegw(8) has an entry for %s" % n)
        if n not in entries:
            continue
        group, text = entries[n]
        check(group == r["group"], "cuegw(8): %s is under %s" % (n, r["group"]), group)
        if r["default"]:
            check(says_default(text, r["default"]), "cuegw(8): %s says default %s" % (n, r["default"]), text)
    extra = sorted(set(entries) - {r["name"] for r in rows})
    check(not extra, "cuegw(8) describes no setting the table lacks", extra)


def check_readme(top, rows):
    """README.md's "### Settings" table: | `NAME`[, `NAME`] | default | meaning |."""
    with open(os.path.join(top, "README.md")) as f:
        text = f.read()
    section = text.split("\n### Settings\n", 1)[1].split("\n#", 1)[0]
    cells = {}
    for line in section.splitlines():
        m = re.match(r"^\| ((?:`[A-Z0-9_]+`(?:, )?)+) \| ([^|]*) \|", line)
        if m:
            for n in re.findall(r"`([A-Z0-9_]+)`", m.group(1)):
                cells[n] = m.group(2).replace("`", "").strip()
    for r in rows:
        n = r["name"]
        check(n in cells, "README.md's settings table has %s" % n)
        if n in cells:
            check(cells[n] == (r["default"] or "unset"),
                  "README.md: %s's default is %s" % (n, r["default"] or "unset"), cells[n])
    extra = sorted(set(cells) - {r["name"] for r in rows})
    check(not extra, "README.md's settings table lists no setting the table lacks", extra)


def check_help(cuegw, rows):
    out = subprocess.run([cuegw, "--help"], capture_output=True, text=True, timeout=10).stdout
    missing = [r["name"] for r in rows if not re.search(r"^  %s\*? " % r["name"], out, re.M)]
    check(not missing, "--help lists every setting of the table", missing)


def main():
    cuegw = sys.argv[1]
    top = sys.argv[2] if len(sys.argv) > 2 else os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))
    rows = table(cuegw)
    check(len(rows) >= 30 and len({r["name"] for r in rows}) == len(rows),
          "--list-settings prints the table, each name once", len(rows))
    check_help(cuegw, rows)
    check_env(top, rows)
    check_man(top, rows)
    check_readme(top, rows)
    print("settings-docs: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
