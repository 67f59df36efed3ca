#!/bin/sh
# The schema-diff suite of `make check`: proto/ against the reference wire
# facts of ../shared (beside this repository, as in the project's own tree
# and in CI). A clone of cuegw alone has no ../shared: then it says so on
# one line and exits 77 (skipped), the one check `make check` may skip.
# Usage: schema_check.sh PROTO_DIR
top=$(cd "$(dirname "$0")/.." && pwd)
tool=$top/../shared/tools/schema-diff
if [ ! -e "$top/../shared" ]; then
    echo "schema-diff: skipped: no reference schema beside this clone ($(dirname "$top")/shared is missing)"
    exit 77
fi
out=$("$tool" "$1" 2>&1)
rc=$?
echo "$out" | tail -n 5
if [ $rc -eq 0 ]; then echo "schema-diff: 1 passed, 0 failed"; else echo "schema-diff: 0 passed, 1 failed"; fi
exit $rc
