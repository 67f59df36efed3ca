#!/usr/bin/python3
"""Two OpenAPI documents say the same: equal once parsed, and with their
members in the same order (a generated client or a reader's diff follows the
order). For a change to how the document is written (json-c replaced the
hand-written JSON): capture `cuegw --openapi` from the old build and the new,
with and without URL_PREFIX, and compare.

Usage: same_document.py OLD.json NEW.json ...  (pairs); exits 1 on a
difference, naming the first path where they part."""
import json
import sys


def ordered(text):
    """The document with every object as its list of (key, value) pairs."""
    return json.loads(text, object_pairs_hook=list)


def first_difference(a, b, path="$"):
    if type(a) is not type(b):
        return path
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{path} (length {len(a)} vs {len(b)})"
        for i, (x, y) in enumerate(zip(a, b)):
            if isinstance(x, tuple):        # an object's member
                if x[0] != y[0]:
                    return f"{path} member {i}: {x[0]!r} vs {y[0]!r}"
                found = first_difference(x[1], y[1], f"{path}.{x[0]}")
            else:
                found = first_difference(x, y, f"{path}[{i}]")
            if found:
                return found
        return None
    return None if a == b else path


def main(argv):
    if len(argv) < 2 or len(argv) % 2:
        print(__doc__, file=sys.stderr)
        return 2
    failed = 0
    for old_name, new_name in zip(argv[::2], argv[1::2]):
        with open(old_name, encoding="utf-8") as f:
            old = f.read()
        with open(new_name, encoding="utf-8") as f:
            new = f.read()
        equal = json.loads(old) == json.loads(new)
        where = first_difference(ordered(old), ordered(new))
        if equal and not where:
            note = "byte for byte" if old == new else "parsed (the bytes differ)"
            print(f"same: {old_name} {new_name}, {note}")
        else:
            failed += 1
            print(f"DIFFERENT: {old_name} {new_name}: {where or 'parsed objects differ'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
