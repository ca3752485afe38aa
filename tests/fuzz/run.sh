#!/usr/bin/env bash
# run.sh BUILD_DIR SECONDS - runs each libFuzzer target for SECONDS on its
# committed seed corpus (tests/fuzz/corpus/TARGET, read only) plus a scratch
# corpus in BUILD_DIR, and fails on the first crash, leak or sanitizer
# report. A crash leaves its input in BUILD_DIR/crash-TARGET-*: commit it
# to tests/fuzz/corpus/TARGET as a regression seed once fixed. Prints the
# executions each target ran (for docs/reliability.md).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=$(cd "$1" && pwd)
secs=${2:-30}
status=0
for t in fuzz_session fuzz_channel fuzz_control; do
    work=$build/corpus-$t
    mkdir -p "$work"
    log=$build/$t.log
    # 512 MB: a few hundred bytes of YAML aliases that expanded before they
    # were measured took 2 GB (docs/reliability.md); the limit keeps such a
    # regression a finding rather than a slow run.
    if "$build/$t" -max_total_time="$secs" -print_final_stats=1 -timeout=10 \
        -rss_limit_mb=512 -malloc_limit_mb=256 -artifact_prefix="$build/crash-$t-" \
        "$work" "$here/corpus/$t" >"$log" 2>&1; then
        runs=$(awk '/stat::number_of_executed_units/ { print $NF }' "$log")
        echo "fuzz: $t: ${runs:-?} executions in ${secs} s, no finding"
    else
        echo "fuzz: $t FAILED - see $log:" >&2
        grep -m 20 -E "ERROR|invariant|SUMMARY|artifact" "$log" >&2 || tail -n 20 "$log" >&2
        status=1
    fi
done
exit $status
