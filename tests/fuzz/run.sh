#!/bin/sh
# Runs one libFuzzer target for a while, or sums up a `make fuzz` run.
#   run.sh TARGET FUZZ_DIR SECONDS
#   run.sh --summary FUZZ_DIR TARGET...
# The fuzzer's own output goes to FUZZ_DIR/logs/TARGET.log; one summary line
# is printed per target (runs executed, coverage, features, corpus size)
# and, when it found something, the report and the saved input. The
# verdict is written to FUZZ_DIR/status/TARGET for the summary.
here=$(cd "$(dirname "$0")" && pwd)

if [ "$1" = --summary ]; then
    dir=$2
    shift 2
    bad=0
    for t in "$@"; do
        s=$(cat "$dir/status/$t" 2>/dev/null)
        [ "$s" = ok ] || { bad=$((bad + 1)); echo "fuzz: $t: ${s:-did not run}"; }
    done
    if [ "$bad" -eq 0 ]; then
        echo "fuzz: $# targets, none found a crash"
    else
        echo "fuzz: $bad of $# targets failed (reports above; logs in $dir/logs)"
        exit 1
    fi
    exit 0
fi

t=$1
dir=$2
secs=$3
bin=$dir/fuzz_$t
corpus=$dir/corpus/$t
artifacts=$dir/artifacts/$t
log=$dir/logs/$t.log
mkdir -p "$corpus" "$artifacts" "$dir/logs" "$dir/status"
rm -f "$dir/status/$t" "$artifacts"/*

# The corpus starts from the committed inputs; libFuzzer adds what it finds.
for f in "$here/seeds/$t"/* "$here/regressions/$t"/*; do
    [ -f "$f" ] || continue
    [ -e "$corpus/$(basename "$f")" ] || cp "$f" "$corpus/"
done

# Longest input: enough for a JWT past the header cap (auth) and for
# bodies and parameter lists well past every fixed buffer.
case $t in
    auth) max_len=9000 ;;
    *) max_len=8192 ;;
esac
dict=
[ -f "$here/dict/$t.dict" ] && dict="-dict=$here/dict/$t.dict"

start=$(date +%s)
# shellcheck disable=SC2086
"$bin" -max_total_time="$secs" -rss_limit_mb=2048 -max_len=$max_len -timeout=20 \
    -print_final_stats=1 -artifact_prefix="$artifacts/" $dict "$corpus" >"$log" 2>&1
rc=$?
took=$(( $(date +%s) - start ))

runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -n 1)
cov=$(echo "$last" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
ft=$(echo "$last" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
corp=$(echo "$last" | sed -n 's/.*corp: \([0-9]*\).*/\1/p')
echo "fuzz: $t: ${runs:-?} runs in ${took}s, cov ${cov:-?}, ft ${ft:-?}, corpus ${corp:-?} inputs"

if [ "$rc" -ne 0 ]; then
    echo "fuzz: $t: FAILED (exit status $rc); report from $log:"
    # From the first report line to the end, bounded.
    awk '/fuzz invariant failed|fuzz set-up failed|^==[0-9]+==|ERROR: libFuzzer|runtime error|^SUMMARY/ { on = 1 }
         on { print "    " $0; if (++n >= 80) exit }' "$log"
    for a in "$artifacts"/*; do
        [ -f "$a" ] && echo "fuzz: $t: input saved as $a (rerun: $bin $a)"
    done
    echo "fuzz: $t: once fixed, add the input to tests/fuzz/regressions/$t/"
    echo "exit status $rc" >"$dir/status/$t"
    exit 0
fi
[ -n "$runs" ] || { echo "fuzz: $t: no statistics in $log" ; echo "no statistics" >"$dir/status/$t"; exit 0; }
echo ok >"$dir/status/$t"
