#!/usr/bin/env bash
# bench_preload.sh - what python.preload buys: start time and crash-to-
# resumed-audio time of a numpy-only script, of a scipy.signal script, and
# of the same scipy.signal script with `python: {preload: [scipy.signal]}`,
# side by side. Not a test; run by hand on an otherwise idle machine.
#
# usage: tests/bench/bench_preload.sh [BUILD_DIR]   (default ../../build)
# environment: RUNS (runs per mode of the start and render measurements,
#              default 7 and 5), SECONDS_PER_MODE (play, default 20)
#
# Start: the wall time of `shmix check` on a session of TRACKS (4) tracks
# of the script - engine start, zygote, every worker cloned and its
# setup() run, then the workers ended - median of RUNS runs.
# Restart, render: one track whose worker segfaults after every 40 blocks
# it processed (max_restarts 1000 in 0.1 s: never `failed`), rendered for
# 4 s of audio at 256 frames / 48 kHz (18 restarts); (its wall time - the
# same render without crashes) / restarts is what a restart costs, from
# the death to the next block processed (fork, script load, setup);
# median of RUNS pairs of renders.
# Restart, play: the same track played with --null for SECONDS_PER_MODE,
# stats every 20 ms; each restart's `restart_ms` (the supervisor seeing
# the death -> the first block the new worker processed), p50 over all
# restarts. In play a track hands its worker a batch of blocks at a time,
# so these also hold the wait for the next batch (they cluster around
# steps of ~20 ms). Ratios are to the numpy-only script. A fourth row runs
# the preloaded scipy.signal script with its filter given in params
# instead of designed by butter() in setup(): what a restart costs beyond
# the numpy-only one once the import is gone is the script's own setup()
# in a fresh clone.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=$(cd "${1:-$here/../../build}" && pwd)
runs=${RUNS:-7}
rruns=${RUNS:-5}
secs=${SECONDS_PER_MODE:-20}
tracks=4
tmp=$(mktemp -d /tmp/shmix-bench-preload.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
sox -n -r 48000 -c 2 -b 16 "$tmp/tone.wav" synth 10 sine 220 sine 330 vol 0.5

# Both scripts crash after `after` blocks when params say so (ctypes is
# imported by both at the top, so the restart pays the same for it).
cat >"$tmp/np_fx.py" <<'PY'
import ctypes
import numpy as np
after, count = 0, 0
def setup(ctx):
    global after
    after = int(ctx.params.get("after", 0))
def process(block):
    global count
    count += 1
    if after and count == after:
        ctypes.string_at(0)
    np.tanh(block * 2.0, out=block)
PY
cat >"$tmp/sp_fx.py" <<'PY'
import ctypes
import numpy as np
import scipy.signal as sig
after, count, b, a, zi = 0, 0, None, None, None
def setup(ctx):
    global after, b, a, zi
    after = int(ctx.params.get("after", 0))
    if "b" in ctx.params:
        b, a = np.array(ctx.params["b"]), np.array(ctx.params["a"])
    else:
        b, a = sig.butter(4, 2000, fs=ctx.sample_rate)
    zi = np.zeros((len(a) - 1, ctx.channels))
def process(block):
    global count, zi
    count += 1
    if after and count == after:
        ctypes.string_at(0)
    y, zi = sig.lfilter(b, a, block, axis=0, zi=zi)
    block[:] = y
PY

# The coefficients butter(4, 2000, fs=48000) gives, for the fourth row.
coef=$(/usr/bin/python3 -c 'import scipy.signal as s; b, a = s.butter(4, 2000, fs=48000); print("b: [%s], a: [%s]" % (", ".join(map(repr, b)), ", ".join(map(repr, a))))')

# session NAME SCRIPT PRELOAD(0|1) NTRACKS AFTER [MORE PARAMS]
session() {
    {
        echo "sample_rate: 48000"
        echo "block_size: 256"
        echo "supervisor: {max_restarts: 1000, window: 0.1}"
        [ "$3" = 1 ] && echo "python: {preload: [scipy.signal]}"
        echo "tracks:"
        for i in $(seq 1 "$4"); do
            echo "  - {name: t$i, file: tone.wav, script: $2, params: {after: $5${6:+, $6}}}"
        done
    } >"$tmp/$1.yaml"
}

modes=(np sp sp_pre sp_pre_const)
label() { case $1 in np) echo "numpy only";; sp) echo "scipy.signal";;
                     sp_pre) echo "scipy.signal, preload";;
                     sp_pre_const) echo "  same, no butter()";; esac; }
for m in "${modes[@]}"; do
    script=np_fx.py; pre=0; more=
    [ "$m" != np ] && script=sp_fx.py
    case $m in sp_pre | sp_pre_const) pre=1;; esac
    [ "$m" = sp_pre_const ] && more=$coef
    session "start_$m" "$script" "$pre" "$tracks" 0 "$more"
    session "crash_$m" "$script" "$pre" 1 40 "$more"
    session "clean_$m" "$script" "$pre" 1 0 "$more"
done

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

declare -A start p50 count
for m in "${modes[@]}"; do
    "$build/shmix" check "$tmp/start_$m.yaml"   # warm the page cache first
    for r in $(seq 1 "$runs"); do
        t0=$(date +%s%N)
        "$build/shmix" check "$tmp/start_$m.yaml"
        t1=$(date +%s%N)
        echo $(( (t1 - t0) / 1000000 ))
    done | median >"$tmp/start_$m.txt"
    start[$m]=$(cat "$tmp/start_$m.txt")
done

# Seconds of wall time of a render of session $1 (stats line in $tmp/r.json).
render_s() {
    local t0 t1
    t0=$(date +%s%N)
    "$build/shmix" render "$tmp/$1.yaml" -o "$tmp/r.wav" --duration 4 --stats "$tmp/r.json" \
        2>/dev/null
    t1=$(date +%s%N)
    echo $(( (t1 - t0) / 1000 ))
}
declare -A per
for m in "${modes[@]}"; do
    for r in $(seq 1 "$rruns"); do
        clean=$(render_s "clean_$m")
        crash=$(render_s "crash_$m")
        n=$(/usr/bin/python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["tracks"][0]["restarts"])' "$tmp/r.json")
        awk -v a="$crash" -v b="$clean" -v n="$n" 'BEGIN {printf "%.1f\n", (a - b) / n / 1000}'
    done | median >"$tmp/per_$m.txt"
    per[$m]=$(cat "$tmp/per_$m.txt")
done

for m in "${modes[@]}"; do
    "$build/shmix" play "$tmp/crash_$m.yaml" --null --loop --duration "$secs" \
        --stats "$tmp/$m.jsonl" --stats-interval 0.02 2>/dev/null
    read -r n a < <(/usr/bin/python3 - "$tmp/$m.jsonl" <<'PY'
import json, sys
seen, times = 0, []
for line in open(sys.argv[1]):
    t = json.loads(line)["tracks"][0]
    if t["restarts"] != seen and t["restart_ms"] > 0:
        times.append(t["restart_ms"])
        seen = t["restarts"]
times.sort()
print(len(times), "%.1f" % times[len(times) // 2])
PY
)
    count[$m]=$n; p50[$m]=$a
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
echo "shmix python.preload: $(nproc) CPUs, $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "start: $tracks tracks, median of $runs; restart: render median of $rruns," \
     "play p50 over $secs s"
printf "%-22s %9s %6s | %10s %6s | %8s %10s %6s\n" script "start ms" ratio \
       "render ms" ratio restarts "play p50" ratio
for m in "${modes[@]}"; do
    printf "%-22s %9s %6s | %10s %6s | %8s %10s %6s\n" "$(label "$m")" \
        "${start[$m]}" "$(ratio "${start[$m]}" "${start[np]}")" \
        "${per[$m]}" "$(ratio "${per[$m]}" "${per[np]}")" \
        "${count[$m]}" "${p50[$m]}" "$(ratio "${p50[$m]}" "${p50[np]}")"
done
