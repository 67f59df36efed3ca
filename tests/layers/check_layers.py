#!/usr/bin/python3
"""The include rules of common/ (docs/development.md, "Layers"), checked.

Each folder under common/ is a layer and may include only its own headers and
those of the layers listed for it below; fcgi/ sits on top and may include
any. Over the whole tree the modules (a .c and its .h, and its .def: a table
read as X-macros, base/errors.def) must not include each other in a cycle, so every file can be read knowing only what is below it.
An include is written with its layer ("base/arena.h"), so where it points is
visible at the include itself. Exits 1, naming each offending line, if a rule
is broken; prints "N passed, N failed" like the other suites."""
import os
import re
import sys

ALLOWED = {
    "base": set(),
    "pb": {"base"},
    "json": {"base", "pb"},
    "auth": {"base", "pb"},
    "upstream": {"base"},
    "ops": {"base", "pb", "auth", "upstream"},
    "http": {"base", "pb", "json", "auth", "upstream", "ops"},
}
def module_of(path):
    """A module is a .c and its .h; X_impl.h is module X's private header,
    shared by X's own .c files (cuebot.c and cuebot_channel.c)."""
    stem = os.path.splitext(path)[0]
    return stem[:-len("_impl")] if stem.endswith("_impl") else stem


INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def sources(root):
    for top in ("common", "fcgi"):
        for d, _, names in os.walk(os.path.join(root, top)):
            for n in sorted(names):
                if n.endswith((".c", ".h", ".def")):   # .def: an X-macro table, included as a header
                    yield os.path.relpath(os.path.join(d, n), root)


def layout_table_problems(root, files):
    """docs/development.md's layout tables must match the tree: a row per
    layer folder (and one for fcgi/) naming each of its source files, and no
    row for a folder that is gone. Header-only files count; a module's
    private X_impl.h goes with X."""
    doc = open(os.path.join(root, "docs", "development.md"), encoding="utf-8").read()
    rows = {}
    for line in doc.splitlines():
        m = re.match(r"\|\s*`((?:common/[a-z_]+|fcgi)/)`\s*\|", line)
        if m:
            rows[m.group(1).rstrip("/")] = line
    out = []
    folders = {os.path.dirname(f) for f in files}
    for folder in sorted(folders):
        if folder not in rows:
            out.append(f"docs/development.md: no layout row for {folder}/")
            continue
        stems = {os.path.splitext(os.path.basename(f))[0] for f in files
                 if os.path.dirname(f) == folder and f.endswith((".c", ".def"))}
        for f in sorted(files):
            if os.path.dirname(f) != folder:
                continue
            name = os.path.basename(f)
            stem = os.path.splitext(name)[0]
            if name.endswith(".h") and (stem in stems or stem.endswith("_impl")):
                continue
            if f"`{name}`" not in rows[folder] and not re.search(
                    r"[`/ ]" + re.escape(name) + r"[`,) ]", rows[folder]):
                out.append(f"docs/development.md: the {folder}/ row does not name {name}")
    for folder in sorted(rows):
        if folder not in folders:
            out.append(f"docs/development.md: a layout row names {folder}/, which is not in the tree")
    return out


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "."
    problems = []
    checked = 0
    graph = {}
    files = list(sources(root))
    known = set(files)
    for f in files:
        parts = f.split(os.sep)
        layer = parts[1] if parts[0] == "common" else None
        if parts[0] == "common" and len(parts) != 3:
            problems.append(f"{f}: every file under common/ belongs in a layer folder")
            continue
        if layer is not None and layer not in ALLOWED:
            problems.append(f"{f}: {layer}/ is not a layer this check knows; add it to ALLOWED")
            continue
        module = module_of(f)
        text = open(os.path.join(root, f), encoding="utf-8").read()
        for lineno, inc in ((text.count("\n", 0, m.start()) + 1, m.group(1))
                            for m in INCLUDE.finditer(text)):
            checked += 1
            where = f"{f}:{lineno}: #include \"{inc}\""
            if "/" not in inc:
                same = os.path.join(os.path.dirname(f), inc)
                if parts[0] == "common" and same in known:
                    problems.append(f"{where}: write it as \"{layer}/{inc}\"")
                elif same in known and module_of(same) != module:
                    graph.setdefault(module, set()).add(module_of(same))
                continue        # a generated header (build/gen) or fcgi's own
            target_layer = inc.split("/")[0]
            target = os.path.join("common", inc)
            if target not in known:
                problems.append(f"{where}: no such header under common/")
                continue
            if layer is not None and target_layer != layer and target_layer not in ALLOWED[layer]:
                problems.append(f"{where}: {layer}/ may not include {target_layer}/ "
                                f"(allowed: {', '.join(sorted(ALLOWED[layer])) or 'none'})")
            tmod = module_of(target)
            if tmod != module:
                graph.setdefault(module, set()).add(tmod)

    # Cycles between modules: a depth-first walk that reports each back edge.
    state = {}
    def walk(m, path):
        state[m] = 1
        for n in sorted(graph.get(m, ())):
            if state.get(n) == 1:
                cyc = path[path.index(n):] + [n]
                problems.append("include cycle: " + " -> ".join(cyc))
            elif n not in state:
                walk(n, path + [n])
        state[m] = 2
    for m in sorted(graph):
        if m not in state:
            walk(m, [m])

    problems += layout_table_problems(root, files)
    for p in problems:
        print("FAIL", p)
    print(f"layers: {checked} includes in {len(files)} files checked")
    print(f"{1 if not problems else 0} passed, {1 if problems else 0} failed")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
