#!/bin/sh
# The end of `make check`: one line per suite, then the headline.
# Usage: summarize.sh RESULTS
# RESULTS holds one line per suite, as tests/run-all.sh writes them:
#   NAME PASSED FAILED    a suite's checks (the oracle's are its generated cases)
#   NAME skip REASON...   a suite that did not run, and why
# The oracle's cases are shown apart: ~150,000 generated conversions would
# drown the count of the other suites' checks. Fails when any suite failed.
results=$1
[ -r "$results" ] || { echo "all: no results ($results is missing)"; exit 1; }
awk '
function commas(n,   s) { s = sprintf("%d", n); while (s ~ /[0-9][0-9][0-9][0-9]/) sub(/[0-9][0-9][0-9]($|,)/, ",&", s); return s }
$2 == "skip" {
    reason = $0; sub(/^[^ ]+ skip */, "", reason)
    printf "  %-26s skipped: %s\n", $1, reason
    skipped = skipped (skipped ? ", " : "") $1
    next
}
NF >= 3 {
    printf "  %-26s %8s passed %5d failed%s\n", $1, commas($2), $3, ($3 > 0 ? "   <- FAILED" : "")
    if ($1 == "oracle") { oracle_ran = 1; cases += $2; cfail += $3 } else { checks += $2; failed += $3 }
    suites++
    if ($3 > 0) { bad++; names = names (names ? ", " : "") $1 }
}
END {
    oracle = oracle_ran ? " (oracle: " commas(cases) " cases" (cfail ? ", " cfail " failed" : "") ")" : ""
    skip = skipped ? "; skipped: " skipped : ""
    if (suites == 0) { print "all: no suite ran"; exit 1 }
    if (bad == 0)
        printf "all: %s checks in %d suite%s passed%s%s\n", commas(checks), suites,
               (suites == 1 ? "" : "s"), oracle, skip
    else
        printf "all: %d of %d suites FAILED (%s): %d checks failed, %s passed%s%s\n",
               bad, suites, names, failed, commas(checks), oracle, skip
    exit bad > 0
}' "$results"
