#!/bin/sh
# Runs every test suite and sums their "N passed, N failed" lines.
# Usage: run-all.sh BUILD_DIR PYTHON PROTO_DIR
# A suite that cannot run (a missing tool included) counts as failed.
BUILD=$1
PY=$2
PROTO=$3
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
log=$BUILD/test-logs
mkdir -p "$log"
passed=0
failed=0

run() { # name command...
    name=$1
    shift
    printf '== %s\n' "$name"
    "$@" >"$log/$name.log" 2>&1
    rc=$?
    tail -n 25 "$log/$name.log"
    line=$(grep -E '^[A-Za-z_0-9 -]*:? *[0-9]+ passed, [0-9]+ failed' "$log/$name.log" | tail -n 1)
    p=$(echo "$line" | awk '{for (i = 2; i <= NF; i++) if ($i == "passed,") print $(i - 1)}')
    f=$(echo "$line" | awk '{for (i = 2; i <= NF; i++) if ($i ~ /^failed/) print $(i - 1)}')
    [ -n "$p" ] || { p=0; f=1; echo "   (no result line)"; }
    [ "$rc" -eq 0 ] || [ "$f" -gt 0 ] || { f=1; echo "   (exit status $rc)"; }
    passed=$((passed + p))
    failed=$((failed + f))
}

for t in "$BUILD"/tests/test_*; do
    [ -x "$t" ] && run "$(basename "$t")" "$t"
done

# The fuzz targets over their committed seeds and regressions (tests/fuzz).
run fuzz-replay sh "$top/tests/fuzz/replay.sh" "$BUILD"

# The schema must match the reference wire facts (needs shared/ beside the repo).
schema_diff() {
    out=$("$top/../shared/tools/schema-diff" "$PROTO" 2>&1)
    rc=$?
    echo "$out" | tail -n 5
    if [ $rc -eq 0 ]; then echo "schema-diff: 1 passed, 0 failed"; else echo "schema-diff: 0 passed, 1 failed"; fi
    return $rc
}
if [ "$PROTO" = proto ] || [ "$PROTO" = "$top/proto" ]; then
    run schema-diff schema_diff
fi

run install sh "$top/tests/install_test.sh" "$BUILD"

# make deb, dpkg -i, Apache and lighttpd (and nginx) from the installed
# snippets, then dpkg --purge; the system is left as it was.
run deb "$PY" "$top/tests/integration/test_deb.py" --build "$BUILD" --schema "$BUILD/gen/schema.pb"

run integration-lighttpd "$PY" "$top/tests/integration/test_lighttpd.py" --cuegw "$BUILD/cuegw" --schema "$BUILD/gen/schema.pb"

run integration-nginx "$PY" "$top/tests/integration/test_nginx.py" --cuegw "$BUILD/cuegw" --schema "$BUILD/gen/schema.pb"

run integration-apache "$PY" "$top/tests/integration/test_apache.py" --cuegw "$BUILD/cuegw" --schema "$BUILD/gen/schema.pb"

run integration-remote-user "$PY" "$top/tests/integration/test_remote_user.py" --cuegw "$BUILD/cuegw" --schema "$BUILD/gen/schema.pb"

run trust-settings-csrf "$PY" "$top/tests/integration/test_trust_settings_csrf.py" --cuegw "$BUILD/cuegw" --schema "$BUILD/gen/schema.pb"

run integration-pool "$PY" "$top/tests/integration/test_pool.py" --cuegw "$BUILD/cuegw" --schema "$BUILD/gen/schema.pb"

run metrics "$PY" "$top/tests/integration/test_metrics.py" --cuegw "$BUILD/cuegw" --schema "$BUILD/gen/schema.pb"

run lifecycle "$PY" "$top/tests/integration/test_lifecycle.py" --cuegw "$BUILD/cuegw" --schema "$BUILD/gen/schema.pb"

run trust-logs-metrics "$PY" "$top/tests/integration/test_trust_logs_metrics.py" --cuegw "$BUILD/cuegw" --schema "$BUILD/gen/schema.pb"

run faults "$PY" "$top/tests/integration/test_faults.py" --cuegw "$BUILD/cuegw" --schema "$BUILD/gen/schema.pb"

run peers "$PY" "$top/tests/integration/test_peers.py" --cuegw "$BUILD/cuegw" --schema "$BUILD/gen/schema.pb"

run hostile "$PY" "$top/tests/integration/test_hostile.py" --cuegw "$BUILD/cuegw" --schema "$BUILD/gen/schema.pb"

run codec-memory "$PY" "$top/tests/integration/test_codec_memory.py" --cuegw "$BUILD/cuegw" --schema "$BUILD/gen/schema.pb"

run oracle "$PY" "$top/tests/oracle/oracle_test.py" --tool "$BUILD/tests/transcode-tool" --schema "$BUILD/gen/schema.pb"

# The npm validator is installed into $BUILD/openapi from tests/openapi's lock file.
run openapi "$PY" "$top/tests/openapi/test_openapi.py" --cuegw "$BUILD/cuegw" --schema "$BUILD/gen/schema.pb" --work "$BUILD/openapi"

echo
echo "all: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
