#!/usr/bin/env bash
# bench_restart.sh - crash-to-resumed-audio time of a track whose worker
# segfaults over and over, with workers cloned from the zygote (shmix's
# fast path) and with every worker started from scratch
# (SHMIX_COLD_START=1), side by side in one run. Not a test; run by hand
# on an otherwise idle machine.
#
# usage: tests/bench/bench_restart.sh [BUILD_DIR]   (default ../../build)
# environment: SECONDS_PER_MODE (default 30)
#
# The session has three healthy tracks and one whose script segfaults
# after 40 blocks, every time (max_restarts 1000 in 0.1 s: never `failed`). shmix
# plays it with --null at 256 frames / 48 kHz and writes stats every 20 ms;
# each restart's `restart_ms` (from the supervisor seeing the death to the
# first block the new worker processed) is collected from the stats lines.
# Prints p50, p99 and max over all restarts, and the healthy tracks' late
# blocks (should be 0).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=$(cd "${1:-$here/../../build}" && pwd)
secs=${SECONDS_PER_MODE:-30}
tmp=$(mktemp -d /tmp/shmix-bench-restart.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
sox -n -r 48000 -c 2 -b 16 "$tmp/tone.wav" synth 10 sine 220 sine 330 vol 0.5
cat >"$tmp/s.yaml" <<YAML
sample_rate: 48000
block_size: 256
supervisor: {max_restarts: 1000, window: 0.1}
tracks:
  - {name: a, file: tone.wav}
  - {name: b, file: tone.wav, script: $here/../scripts/double.py}
  - {name: c, file: tone.wav, script: $here/../../assets/scripts/drive.py}
  - {name: crashy, file: tone.wav, script: $here/../scripts/fault.py,
     params: {kind: segfault, after: 40}}
YAML

run() {   # $1 = label, $2 = 1 for cold starts
    SHMIX_COLD_START=$2 "$build/shmix" play "$tmp/s.yaml" --null --loop --duration "$secs" \
        --stats "$tmp/$1.jsonl" --stats-interval 0.02 2>/dev/null
    /usr/bin/python3 - "$1" "$tmp/$1.jsonl" <<'PY'
import json, sys
label, path = sys.argv[1], sys.argv[2]
seen, times, late = 0, [], 0
for line in open(path):
    d = json.loads(line)
    t = {x["name"]: x for x in d["tracks"]}
    c = t["crashy"]
    if c["restarts"] != seen and c["restart_ms"] > 0:
        times.append(c["restart_ms"])
        seen = c["restarts"]
    late = sum(t[n]["late_blocks"] + t[n]["faulted_blocks"] for n in ("a", "b", "c"))
times.sort()
q = lambda p: times[min(len(times) - 1, int(p * len(times)))]
print(f"{label:<22} {len(times):>8} {q(0.5):>10.2f} {q(0.99):>10.2f} {times[-1]:>10.2f} {late:>14}")
PY
}

echo "crash to resumed audio (ms), $secs s per mode, $(nproc) CPUs"
printf "%-22s %8s %10s %10s %10s %14s\n" mode restarts p50 p99 max "others' faults"
run "zygote (warm)" 0
run "cold start" 1
