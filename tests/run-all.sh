#!/bin/sh
# Runs every test suite, then prints one line per suite and the headline
# (tests/summarize.sh): the checks of all suites, the oracle's generated
# cases apart. Every suite prints "N passed, N failed".
# Usage: run-all.sh BUILD_DIR PYTHON PROTO_DIR
# A suite that cannot run (a missing tool included) counts as failed; the
# one allowed skip is schema-diff in a clone without ../shared.
# Temporary files of every suite go to one directory (TMPDIR), removed at
# the end, on Ctrl-C and SIGTERM too; each suite's output stays in
# BUILD_DIR/test-logs, and a failed suite keeps its servers' logs there.
# CHECK_ONLY="NAME ..." runs only the suites of those names; CHECK_LOGS
# moves the logs elsewhere.
BUILD=$1
PY=$2
PROTO=$3
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
log=${CHECK_LOGS:-$BUILD/test-logs}
mkdir -p "$log"
results=$log/results
: >"$results"
scratch=$(mktemp -d "${TMPDIR:-/tmp}/cuegw.XXXXXX") || exit 1   # short: socket paths
chmod 755 "$scratch"         # web servers' children pass through it
trap 'rm -rf "$scratch"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
export TMPDIR="$scratch"

run() { # name command...
    name=$1
    shift
    case " ${CHECK_ONLY:-$name} " in *" $name "*) ;; *) return 0 ;; esac
    printf '== %s\n' "$name"
    "$@" >"$log/$name.log" 2>&1
    rc=$?
    tail -n 25 "$log/$name.log"
    # Exit status 77 with "NAME: skipped: WHY": a suite that may not run here.
    skip=$(grep -E "^$name: skipped: " "$log/$name.log" | tail -n 1)
    if [ "$rc" -eq 77 ] && [ -n "$skip" ]; then
        echo "$name skip ${skip#*skipped: }" >>"$results"
        return
    fi
    line=$(grep -E '^[A-Za-z_0-9 -]*:? *[0-9]+ passed, [0-9]+ failed' "$log/$name.log" | tail -n 1)
    p=$(echo "$line" | awk '{for (i = 2; i <= NF; i++) if ($i == "passed,") print $(i - 1)}')
    f=$(echo "$line" | awk '{for (i = 2; i <= NF; i++) if ($i ~ /^failed/) print $(i - 1)}')
    [ -n "$p" ] || { p=0; f=1; echo "   (no result line)"; }
    [ "$rc" -eq 0 ] || [ "$f" -gt 0 ] || { f=1; echo "   (exit status $rc)"; }
    echo "$name $p $f" >>"$results"
}

for t in "$BUILD"/tests/test_*; do
    [ -x "$t" ] && run "$(basename "$t")" "$t"
done

# conf/cuegw.env, cuegw(8) and README.md agree with the settings table.
run settings-docs "$PY" "$top/tests/settings/check_docs.py" "$BUILD/cuegw" "$top"

# Includes point down the layers of common/ and no modules form a cycle.
run layers "$PY" "$top/tests/layers/check_layers.py" "$top"

# The fuzz targets over their committed seeds and regressions (tests/fuzz).
run fuzz-replay sh "$top/tests/fuzz/replay.sh" "$BUILD"

# The schema must match the reference wire facts (../shared beside the
# repository; a clone alone skips this one check, saying so).
if [ "$PROTO" = proto ] || [ "$PROTO" = "$top/proto" ]; then
    run schema-diff sh "$here/schema_check.sh" "$PROTO"
fi

run install sh "$top/tests/install_test.sh" "$BUILD"

# make deb, dpkg -i, Apache and lighttpd (and nginx) from the installed
# snippets, then dpkg --purge; the system is left as it was.
run deb "$PY" "$top/tests/integration/test_deb.py" --build "$BUILD" --schema "$BUILD/gen/schema.pb"

# The README's recipes: their text checked, then each run as written in a
# scratch root of its own (the Debian package's is test_deb.py's).
run recipes "$PY" "$top/tests/integration/test_recipes.py" --cuegw "$BUILD/cuegw" --schema "$BUILD/gen/schema.pb" --build "$BUILD"

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

run shared-reads "$PY" "$top/tests/integration/test_shared_reads.py" --cuegw "$BUILD/cuegw" --schema "$BUILD/gen/schema.pb"

run peers "$PY" "$top/tests/integration/test_peers.py" --cuegw "$BUILD/cuegw" --schema "$BUILD/gen/schema.pb"

run hostile "$PY" "$top/tests/integration/test_hostile.py" --cuegw "$BUILD/cuegw" --schema "$BUILD/gen/schema.pb"

run codec-memory "$PY" "$top/tests/integration/test_codec_memory.py" --cuegw "$BUILD/cuegw" --schema "$BUILD/gen/schema.pb"

# make loadtest's smoke case: 10 browsers through lighttpd, no error and no
# stale read, and a stand-in that ignores Pause is caught (about 15 s).
run loadtest "$PY" "$top/tests/integration/test_loadtest.py" --cuegw "$BUILD/cuegw" --schema "$BUILD/gen/schema.pb"

# What the operator meets: temporary files left, `make demo`'s banner,
# `make standin`, this script's headline and its schema-diff skip.
run operator "$PY" "$top/tests/ops/test_operator.py" --cuegw "$BUILD/cuegw" --schema "$BUILD/gen/schema.pb"

run oracle "$PY" "$top/tests/oracle/oracle_test.py" --tool "$BUILD/tests/transcode-tool" --schema "$BUILD/gen/schema.pb"

# The npm validator is installed into $BUILD/openapi from tests/openapi's lock file.
run openapi "$PY" "$top/tests/openapi/test_openapi.py" --cuegw "$BUILD/cuegw" --schema "$BUILD/gen/schema.pb" --work "$BUILD/openapi"

echo
sh "$here/summarize.sh" "$results"
