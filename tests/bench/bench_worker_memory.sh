#!/usr/bin/env bash
# bench_worker_memory.sh - how much address space and memory a worker
# takes, for choosing supervisor.worker_memory_mb: a numpy-only script, a
# script that imports scipy.signal and runs lfilter with zi state (then
# also one BLAS call, `@`), with scipy.signal imported by the script or
# preloaded in the zygote (python.preload), and a numpy-only script in a
# session that preloads scipy.signal; each cloned from the zygote and
# started cold. Not a test; run by hand.
#
# usage: tests/bench/bench_worker_memory.sh [BUILD_DIR]   (default ../../build)
#
# Each case plays 3 s with --null and worker_memory_mb: 65536 (no limit in
# practice); after 2 s the worker's /proc/PID/status gives VmPeak (the most
# address space it had: what RLIMIT_AS limits) and VmHWM (peak resident),
# and /proc/PID/smaps_rollup its Pss (resident, shared pages divided among
# the processes that share them: what a clone really adds). Then each case
# is rendered with smaller limits to find the least that still runs.
# The BLAS is whatever numpy loads: Debian's reference libblas3 unless an
# alternative is installed, or put first with LD_LIBRARY_PATH.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=$(cd "${1:-$here/../../build}" && pwd)
tmp=$(mktemp -d /tmp/shmix-bench-memory.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
sox -n -r 48000 -c 2 -b 16 "$tmp/tone.wav" synth 10 sine 220 sine 330 vol 0.5

cat >"$tmp/np_fx.py" <<'PY'
import numpy as np
def process(block):
    np.tanh(block * 2.0, out=block)
PY
cat >"$tmp/sp_fx.py" <<'PY'
import numpy as np
import scipy.signal as sig
b = a = zi = None
def setup(ctx):
    global b, a, zi
    b, a = sig.butter(4, 2000, fs=ctx.sample_rate)
    zi = np.zeros((len(a) - 1, ctx.channels))
def process(block):
    global zi
    y, zi = sig.lfilter(b, a, block, axis=0, zi=zi)
    block[:] = y
PY
sed 's/block\[:\] = y/block[:] = y @ np.eye(block.shape[1])/' "$tmp/sp_fx.py" >"$tmp/sp_blas.py"

# case NAME SCRIPT PRELOAD(0|1) MB
case_yaml() {
    {
        echo "supervisor: {worker_memory_mb: $4, max_restarts: 2}"
        [ "$3" = 1 ] && echo "python: {preload: [scipy.signal]}"
        echo "tracks:"
        echo "  - {name: t, file: tone.wav, script: $2}"
    } >"$tmp/$1.yaml"
}

measure() {   # yaml cold
    SHMIX_COLD_START=$2 "$build/shmix" play "$tmp/$1.yaml" --null --duration 3 \
        --stats "$tmp/st.jsonl" --stats-interval 0.2 2>/dev/null &
    local ep=$! pid
    sleep 2
    pid=$(tail -1 "$tmp/st.jsonl" | /usr/bin/python3 -c \
          'import json, sys; print(json.loads(sys.stdin.read())["tracks"][0]["pid"])')
    local peak hwm pss
    peak=$(awk '/^VmPeak/ {print int($2 / 1024)}' "/proc/$pid/status")
    hwm=$(awk '/^VmHWM/ {print int($2 / 1024)}' "/proc/$pid/status")
    pss=$(awk '/^Pss:/ {print int($2 / 1024)}' "/proc/$pid/smaps_rollup" 2>/dev/null || echo "?")
    wait "$ep"
    echo "$peak $hwm $pss"
}

least() {   # script preload cold: the smallest limit (MB, steps of 16) that runs clean
    local mb
    for mb in $(seq 64 16 1024); do
        case_yaml lim "$1" "$2" "$mb"
        if SHMIX_COLD_START=$3 "$build/shmix" render "$tmp/lim.yaml" -o "$tmp/o.wav" \
               --duration 1 --strict 2>/dev/null; then
            echo "$mb"
            return
        fi
    done
    echo ">1024"
}

echo "worker memory (MiB): $(nproc) CPUs, $(uname -r)," \
     "BLAS $(/usr/bin/python3 -c 'import numpy.core._multiarray_umath as m; print(m.__file__)' \
             | xargs ldd | awk '/libblas/ {print $3}' | xargs readlink -f)"
printf "%-34s %-7s %8s %8s %6s %8s\n" case start VmPeak VmHWM Pss "least MB"
for c in "np_fx.py 0 numpy only" "sp_fx.py 0 scipy.signal imported" \
         "sp_fx.py 1 scipy.signal preloaded" "sp_blas.py 0 scipy.signal + BLAS, imported" \
         "sp_blas.py 1 scipy.signal + BLAS, preloaded" "np_fx.py 1 numpy only, scipy preloaded"; do
    read -r script pre label <<<"$c"
    case_yaml m "$script" "$pre" 65536
    for cold in 0 1; do
        read -r peak hwm pss < <(measure m "$cold")
        printf "%-34s %-7s %8s %8s %6s %8s\n" "$label" "$([ "$cold" = 1 ] && echo cold || echo zygote)" \
            "$peak" "$hwm" "$pss" "$(least "$script" "$pre" "$cold")"
    done
done
