#!/bin/sh
# The fuzz-replay suite of `make check`: every committed seed and every
# regression input (tests/fuzz/seeds/<target>, tests/fuzz/regressions/<target>)
# run through its target, built with the normal compiler (and sanitizers,
# in a SANITIZE= build). One pass per input that runs cleanly.
# Usage: replay.sh BUILD_DIR
build=$1
here=$(cd "$(dirname "$0")" && pwd)
passed=0
failed=0
for seeds in "$here"/seeds/*/; do
    t=$(basename "$seeds")
    bin=$build/tests/fuzz-replay-$t
    if [ ! -x "$bin" ]; then
        echo "fuzz-replay: $bin is missing"
        failed=$((failed + 1))
        continue
    fi
    set -- "$seeds"
    [ -d "$here/regressions/$t" ] && set -- "$@" "$here/regressions/$t"
    out=$("$bin" "$t" "$@" 2>&1)
    rc=$?
    # Failures and their reports, then the target's own count.
    echo "$out" | grep -v -E "^$t: [0-9]+ passed" | head -n 40
    line=$(echo "$out" | grep -E "^$t: [0-9]+ passed, [0-9]+ failed" | tail -n 1)
    if [ -z "$line" ]; then
        echo "fuzz-replay: $t: no result (exit status $rc)"
        failed=$((failed + 1))
        continue
    fi
    echo "$line"
    p=$(echo "$line" | awk '{print $2}')
    f=$(echo "$line" | awk '{print $4}')
    [ "$rc" -eq 0 ] || [ "$f" -gt 0 ] || f=1
    passed=$((passed + p))
    failed=$((failed + f))
done
echo "fuzz-replay: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
