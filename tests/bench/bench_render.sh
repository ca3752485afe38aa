#!/usr/bin/env bash
# bench_render.sh - render speed of a 16-track, 60-second, 48 kHz stereo
# session, with a pass-through script on every track and without scripts,
# next to `sox -m` mixing the same 16 files. Not a test; run by hand (or by
# the `bench-run` target). Run nothing else meanwhile: it times wall clock.
#
# usage: tests/bench/bench_render.sh [BUILD_DIR]     (default ../../build from here)
# environment: RUNS (default 5) timed rounds (one run of each command), after one
#              untimed warm-up round; KEEP=1 keeps the temp folder.
#
# Prints, per command, the median wall time of RUNS runs and the speed in
# × real time (60 s of audio / wall time), the median CPU time (user+sys,
# the workers included: shmix reaps them), and for shmix the median render
# loop time (the "time" of the final --stats line: from the first block to
# the last, without starting the workers and opening the files). Targets from
# the issue: 16 pass-through scripts >= 30x real time; no scripts faster than
# sox -m; and (issue 15) the scripted render at >= 50 % of the speed of the
# one without scripts, wall time, start-up included. A fourth row times
# `shmix check` on the scripted session: starting the 16 workers and loading
# their scripts, the start-up part of that render. The four commands take
# turns, one run of each per round. Last, it checks the three outputs hold
# the same samples.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=${1:-$here/../../build}
build=$(cd "$build" && pwd)
shmix=$build/shmix
runs=${RUNS:-5}
tracks=16
seconds=60
rate=48000

die() { echo "bench_render: $*" >&2; exit 1; }
[[ -x $shmix ]] || die "$shmix not found (build first: cmake --build $build)"
[[ -x $build/shmix-worker ]] || die "$build/shmix-worker not found"
command -v sox >/dev/null || die "sox not found"
[[ -x /usr/bin/time ]] || die "/usr/bin/time not found (apt-get install time)"
(( runs >= 1 )) || die "RUNS must be >= 1"

tmp=$(mktemp -d /tmp/shmix-bench-render.XXXXXX)
cleanup() { [[ ${KEEP:-0} == 1 ]] && echo "kept $tmp" || rm -rf "$tmp"; }
trap cleanup EXIT

# ---- 16 different 60 s, 48 kHz, 16-bit stereo files ----
echo "generating $tracks x ${seconds}s ${rate} Hz 16-bit stereo files in $tmp ..."
mkdir -p "$tmp/stems"
files=()
for ((i = 1; i <= tracks; i++)); do
    f=$(printf 'stems/t%02d.wav' "$i")
    l=$((110 * i + 7))            # a different sine per channel and track,
    r=$((165 * i + 13))           # each mixed with pink or brown noise
    noise=pinknoise; ((i % 2)) && noise=brownnoise
    sox -n -r "$rate" -c 2 -b 16 "$tmp/$f" synth "$seconds" sine "$l" sine "$r" \
        synth "$noise" mix vol 0.4
    files+=("$f")
done

# ---- the sessions ----
printf 'def process(block):\n    pass\n' >"$tmp/pass.py"
# sox -m scales each of its n inputs by 1/n; the sessions do the same with
# gain_db = 20*log10(1/16) so all three produce the same mix.
gain=$(awk -v n="$tracks" 'BEGIN { printf "%.4f", 20 * log(1 / n) / log(10) }')
write_session() {   # write_session FILE WITH_SCRIPTS
    {
        echo "sample_rate: $rate"
        echo "block_size: 256"
        echo "channels: 2"
        echo "tracks:"
        for ((i = 1; i <= tracks; i++)); do
            printf '  - name: t%02d\n' "$i"
            echo "    file: ${files[i - 1]}"
            echo "    gain_db: $gain"
            if [[ $2 == 1 ]]; then echo "    script: pass.py"; fi
        done
    } >"$1"
}
write_session "$tmp/direct.yaml" 0
write_session "$tmp/scripted.yaml" 1
"$shmix" check "$tmp/direct.yaml" || die "shmix check direct.yaml failed"
"$shmix" check "$tmp/scripted.yaml" || die "shmix check scripted.yaml failed"

# ---- timing ----
# The commands take turns, round by round (one warm-up round first), so a
# slow minute of this shared VM falls on all of them alike, not on one.
# time_once NAME CMD...: one timed run; appends its wall, CPU and (for
# shmix render) render loop time to NAME's lists.
declare -A wall cpu loop
median() { printf '%s\n' $1 | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
time_once() {
    local name=$1 k=$2; shift 2
    rm -f "$tmp/stats.jsonl"
    local t0 t1
    t0=$(date +%s.%N)
    /usr/bin/time -o "$tmp/time.txt" -f '%U %S' "$@" >/dev/null 2>"$tmp/stderr.txt" \
        || { cat "$tmp/stderr.txt" >&2; die "$name failed: $*"; }
    t1=$(date +%s.%N)
    ((k == 0)) && return 0    # warm-up
    local w
    w=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }')
    wall[$name]+=" $w"
    cpu[$name]+=" $(awk '{ printf "%.3f", $1 + $2 }' "$tmp/time.txt")"
    if [[ -s $tmp/stats.jsonl ]]; then
        loop[$name]+=" $(tail -n 1 "$tmp/stats.jsonl" | sed -n 's/.*"time": *\([0-9.eE+-]*\).*/\1/p')"
    fi
    printf '  %-26s run %d: %7.3f s wall\n' "$name" "$k" "$w" >&2
}

sox_files=()
for f in "${files[@]}"; do sox_files+=("$tmp/$f"); done
cat /proc/loadavg | awk '{ print "load average before: " $1 " " $2 " " $3 }'
echo "timing $runs rounds of the four commands (after one warm-up round) ..."
for ((k = 0; k <= runs; k++)); do
    time_once "shmix, no scripts" "$k" "$shmix" render "$tmp/direct.yaml" -o "$tmp/direct.wav" \
        --stats "$tmp/stats.jsonl"
    time_once "shmix, 16 x pass.py" "$k" "$shmix" render "$tmp/scripted.yaml" \
        -o "$tmp/scripted.wav" --stats "$tmp/stats.jsonl"
    time_once "shmix check, 16 x pass.py" "$k" "$shmix" check "$tmp/scripted.yaml"
    time_once "sox -m" "$k" sox -m "${sox_files[@]}" -e floating-point -b 32 "$tmp/sox.wav"
done
# The scripted render's speed as a share of the unscripted one's, round by
# round (the two ran seconds apart): their median, beside the ratio of the
# medians that the target is judged on.
read -ra dw <<<"${wall["shmix, no scripts"]}"
read -ra sw <<<"${wall["shmix, 16 x pass.py"]}"
paired=""
for ((k = 0; k < ${#dw[@]}; k++)); do
    paired+=" $(awk -v d="${dw[k]}" -v s="${sw[k]}" 'BEGIN { printf "%.1f", 100 * d / s }')"
done
for name in "${!wall[@]}"; do
    wall[$name]=$(median "${wall[$name]}")
    cpu[$name]=$(median "${cpu[$name]}")
    [[ -n ${loop[$name]:-} ]] && loop[$name]=$(median "${loop[$name]}")
done

# ---- report ----
echo
echo "render of $tracks tracks x ${seconds} s, ${rate} Hz stereo, block 256, 32-bit float WAV out;"
echo "$(nproc) CPUs; median of $runs runs"
xrt() { awk -v s="$seconds" -v w="$1" 'BEGIN { printf "%.1fx", s / w }'; }
printf '%-26s %9s %12s %9s %10s %12s\n' "command" "wall (s)" "x real time" "CPU (s)" \
    "loop (s)" "loop x rt"
for name in "shmix, no scripts" "shmix, 16 x pass.py" "sox -m" "shmix check, 16 x pass.py"; do
    lp=${loop[$name]:-}
    lx="-"
    if [[ -n $lp ]]; then
        lx=$(xrt "$lp")
        lp=$(awk -v v="$lp" 'BEGIN { printf "%.3f", v }')
    else
        lp="-"
    fi
    x=$(xrt "${wall[$name]}")
    [[ $name == "shmix check"* ]] && x="-"
    printf '%-26s %9.3f %12s %9.3f %10s %12s\n' "$name" "${wall[$name]}" "$x" \
        "${cpu[$name]}" "$lp" "$lx"
done
echo "(loop: the final --stats line's \"time\", first block to last; \"shmix check\" only"
echo " starts the 16 workers and loads the scripts: the start-up part of the scripted render)"
echo

scripted_x=$(awk -v s="$seconds" -v w="${wall["shmix, 16 x pass.py"]}" 'BEGIN { printf "%.1f", s / w }')
vs_sox=$(awk -v a="${wall["sox -m"]}" -v b="${wall["shmix, no scripts"]}" 'BEGIN { printf "%.2f", a / b }')
ok1=$(awk -v x="$scripted_x" 'BEGIN { print (x >= 30) ? "MET" : "MISSED" }')
ok2=$(awk -v x="$vs_sox" 'BEGIN { print (x > 1) ? "MET" : "MISSED" }')
echo "16 pass-through scripts: ${scripted_x}x real time (wall, start-up included)   target >= 30x: $ok1"
echo "no scripts vs sox -m: sox wall / shmix wall = ${vs_sox}                    target > 1: $ok2"
share=$(awk -v d="${wall["shmix, no scripts"]}" -v s="${wall["shmix, 16 x pass.py"]}" \
    'BEGIN { printf "%.1f", 100 * d / s }')
loop_share=$(awk -v d="${loop["shmix, no scripts"]}" -v s="${loop["shmix, 16 x pass.py"]}" \
    'BEGIN { printf "%.1f", 100 * d / s }')
ok3=$(awk -v x="$share" 'BEGIN { print (x >= 50) ? "MET" : "MISSED" }')
echo "16 x pass.py at ${share} % of the speed without scripts (wall; render loop ${loop_share} %)" \
     "  target >= 50 %: $ok3"
echo "  the same share round by round:${paired} % (median $(median "$paired") %)"

# ---- sanity: the three produce the same mix ----
# (compares samples: libsndfile's PEAK chunk carries a time stamp, so the
# files themselves always differ)
max_diff() {   # max_diff A B: the largest |A - B| over all samples
    sox -V1 -m -v 1 "$1" -v -1 "$2" -n stat 2>&1 \
        | awk '/Maximum amplitude/ { a = $3 } /Minimum amplitude/ { b = -$3 }
               END { print (a > b) ? a : b }'
}
echo "check: max |no scripts - 16 x pass.py| = $(max_diff "$tmp/direct.wav" "$tmp/scripted.wav")," \
     "max |no scripts - sox -m| = $(max_diff "$tmp/direct.wav" "$tmp/sox.wav")"
