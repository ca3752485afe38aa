#!/usr/bin/env bash
# bench_memory.sh - memory per scripted track: for sessions of 1, 16, 64 and
# 256 tracks that all run a short numpy script, the proportional set size
# (PSS) of the workers cloned from the zygote, of the zygote and of the
# engine, read from /proc/PID/smaps_rollup while `shmix play --null` plays.
# Not a test; run by hand. Memory hardly depends on what else runs, but a
# worker the supervisor restarted is a fresh clone (less memory): each run
# reports its restarts.
#
# usage: tests/bench/bench_memory.sh [BUILD_DIR]   (default ../../build from here)
#
# environment:
#   TRACKS="1 16 64 256"   the session sizes
#   RUNS=3                 runs of each size; the table shows medians
#   PLAY=60                seconds each run plays before the "played" sample ...
#   PLAY_BIG=20            ... for sessions of more than BIG=16 tracks
#   SCRIPT=FILE            the script on every track (default
#                          assets/scripts/drive.py: numpy clip, drive, tanh)
#   BLOCK=256              frames per block
#   LOCK=FILE              take an exclusive flock(1) on FILE around each run
#                          (a machine shared with other benchmarks)
#   KEEP=1                 keep the temp folder
#
# Each run: a session of N tracks playing the same 10 s stereo 48 kHz WAV in
# a loop (track names bm<PID>_000 ..., each with SCRIPT), played with
# `shmix play S --null --block BLOCK --loop --duration P+3`. The engine is
# this script's child; its workers are its children too (the zygote clones
# them with CLONE_PARENT) and are found by their command line,
# `shmix-worker bm<PID>_NNN`, the zygote by `shmix-zygote ...`. Two samples:
#   idle    as soon as the engine has printed that it plays: every worker
#           has loaded the script, run setup() and at most its first
#           batches of blocks;
#   played  P seconds later, while it still plays.
# Reported per run, in MiB (1 MiB = 1024 kB of smaps_rollup):
#   worker idle / played   the median PSS of one worker (median over the
#                          run's workers); with its RSS and USS (private
#                          pages: Private_Clean + Private_Dirty) when played
#   workers                the sum of all workers' PSS (played)
#   engine PSS, RSS        the `shmix` process (played)
#   engine/track           engine PSS / N
#   zygote                 the zygote's PSS (played)
#   total/track            (engine + zygote + workers PSS) / N: what the
#                          session costs the machine per track (PSS sums to
#                          the memory these processes use; pages shared with
#                          unrelated processes, such as libc, are split
#                          with those as well)
# and, from a --stats line at the end, late blocks and restarts; after the
# run, the exit status and how many workers were left (must be 0).
# Last, the medians as a table and the marginal cost of one more track
# between successive sizes: (total(N2) - total(N1)) / (N2 - N1).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/../.." && pwd)
build=${1:-$here/../../build}
build=$(cd "$build" && pwd)
shmix=$build/shmix
tracks_list=${TRACKS:-"1 16 64 256"}
runs=${RUNS:-3}
play=${PLAY:-60}
play_big=${PLAY_BIG:-20}
big=${BIG:-16}
block=${BLOCK:-256}
script=${SCRIPT:-$src/assets/scripts/drive.py}
lock=${LOCK:-}

die() { echo "bench_memory: $*" >&2; exit 1; }
[[ -x $shmix && -x $build/shmix-worker ]] || die "no shmix in $build (cmake --build $build)"
[[ -r $script ]] || die "cannot read $script"
command -v sox >/dev/null || die "sox not found"
[[ -z $lock ]] || command -v flock >/dev/null || die "LOCK needs flock (util-linux)"
[[ -r /proc/self/smaps_rollup ]] || die "no /proc/PID/smaps_rollup (Linux >= 4.14)"

tmp=$(mktemp -d /tmp/shmix-bench-pss.XXXXXX)
engine_pid=
cleanup() {
    if [[ -n $engine_pid ]]; then kill "$engine_pid" 2>/dev/null || true; wait "$engine_pid" 2>/dev/null || true; fi
    [[ ${KEEP:-0} == 1 ]] && echo "kept $tmp" || rm -rf "$tmp"
}
trap cleanup EXIT

sox -n -r 48000 -c 2 -b 16 "$tmp/loop.wav" synth 10 sine 220 sine 330 vol 0.5
cp "$script" "$tmp/fx.py"
prefix=bm$$_

write_session() {   # write_session FILE N
    local gain
    gain=$(awk -v n="$2" 'BEGIN { g = 20 * log(1 / n) / log(10); printf "%.2f", g < -120 ? -120 : g }')
    {
        echo "sample_rate: 48000"
        echo "block_size: $block"
        echo "channels: 2"
        echo "tracks:"
        for ((i = 0; i < $2; i++)); do
            printf '  - name: %s%03d\n    file: loop.wav\n    gain_db: %s\n    script: fx.py\n' \
                "$prefix" "$i" "$gain"
        done
    } >"$1"
}

# smaps PID...: "rss pss uss" in kB per PID, one line each, in one awk
# (all processes read within a few ms of each other)
smaps() {
    local files=() p
    for p in "$@"; do files+=("/proc/$p/smaps_rollup"); done
    ((${#files[@]})) || return 0   # no process: no line (awk would read stdin)
    awk 'FNR == 1 && NR > 1 { print r, p, u; r = p = u = 0 }
         /^Rss:/ { r = $2 } /^Pss:/ { p = $2 } /^Private_(Clean|Dirty):/ { u += $2 }
         END { if (NR) print r, p, u }' "${files[@]}" 2>/dev/null
}
workers_of() {   # workers_of ENGINE_PID: the pids of its workers
    pgrep -P "$1" -f "^shmix-worker ${prefix}[0-9]+\$" || true
}
median() { sort -g | awk '{ v[NR] = $1 } END { if (!NR) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# run_once N PLAY: prints one result line of kB figures:
# n play w_idle w_pss w_rss w_uss workers_sum eng_pss eng_rss zyg_pss late restarts rc left nworkers
run_once() {
    local n=$1 p=$2 t0 rc=0 left line w zyg
    write_session "$tmp/s.yaml" "$n"
    rm -f "$tmp/stats.jsonl" "$tmp/err.txt"
    "$shmix" play "$tmp/s.yaml" --null --block "$block" --loop --duration $((p + 3)) \
        --stats "$tmp/stats.jsonl" --stats-interval $((p + 3)) >/dev/null 2>"$tmp/err.txt" 9>&- &
    engine_pid=$!
    # idle: as soon as it plays (workers started, scripts loaded)
    t0=$SECONDS
    until grep -q '^shmix: playing' "$tmp/err.txt" 2>/dev/null; do
        kill -0 "$engine_pid" 2>/dev/null || break
        ((SECONDS - t0 < 300)) || { echo "  did not start playing in 300 s" >&2; break; }
        sleep 0.05
    done
    local idle_pids played_pids
    idle_pids=$(workers_of "$engine_pid")
    local w_idle
    w_idle=$(smaps $idle_pids | awk '{ print $2 }' | median)
    # played: P seconds later, still playing
    kill -0 "$engine_pid" 2>/dev/null && sleep "$p"
    played_pids=$(workers_of "$engine_pid")
    zyg=$(pgrep -P "$engine_pid" -f '^shmix-zygote ' | head -n 1 || true)
    local wl el zl
    wl=$(smaps $played_pids)
    el=$(smaps "$engine_pid")
    zl=$( [[ -n $zyg ]] && smaps "$zyg" || echo "0 0 0")
    wait "$engine_pid" || rc=$?
    engine_pid=
    sleep 1
    left=$(pgrep -f "^shmix-worker ${prefix}[0-9]+\$" | wc -l || true)
    local late=-1 restarts=-1
    if [[ -s $tmp/stats.jsonl ]]; then
        read -r late restarts < <(tail -n 1 "$tmp/stats.jsonl" | /usr/bin/python3 -c '
import json, sys
t = json.loads(sys.stdin.read())["tracks"]
print(sum(x["late_blocks"] for x in t), sum(x["restarts"] for x in t))')
    fi
    if [[ $rc != 0 ]] || grep -qv '^shmix: playing' "$tmp/err.txt"; then
        echo "  shmix stderr (exit $rc):" >&2
        grep -v '^shmix: playing' "$tmp/err.txt" | head -n 5 | sed 's/^/    /' >&2 || true
    fi
    local nw
    nw=$(echo "$wl" | grep -c . || true)
    echo "$n $p $w_idle" \
        "$(echo "$wl" | awk '{ print $2 }' | median)" \
        "$(echo "$wl" | awk '{ print $1 }' | median)" \
        "$(echo "$wl" | awk '{ print $3 }' | median)" \
        "$(echo "$wl" | awk '{ s += $2 } END { print s + 0 }')" \
        "$(echo "$el" | awk '{ print $2, $1 }')" \
        "$(echo "$zl" | awk '{ print $2 }')" \
        "$late $restarts $rc $left $nw"
}

mib() { awk -v k="$1" -v d="${2:-1}" 'BEGIN { printf "%.*f", d, k / 1024 }'; }

echo "bench_memory: $(nproc) CPUs, $(uname -r), $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo);" \
     "script $(basename "$script"), $block frames, $runs runs per size;" \
     "play ${play} s (${play_big} s above $big tracks)"
printf '%-5s %-3s %-4s | %-7s %-7s %-7s %-7s | %-8s | %-8s %-8s %-7s | %-7s | %-7s | %-7s %-5s %-3s %-4s\n' \
    N run play "w.idle" "w.PSS" "w.RSS" "w.USS" workers "eng.PSS" "eng.RSS" "eng/tr" zygote "tot/tr" late rest rc left
results=$tmp/results.txt
: >"$results"
for n in $tracks_list; do
    p=$play
    ((n > big)) && p=$play_big
    for ((r = 1; r <= runs; r++)); do
        if [[ -n $lock ]]; then
            exec 9>"$lock"
            flock 9
        fi
        line=$(run_once "$n" "$p")
        [[ -n $lock ]] && exec 9>&-
        echo "$line" >>"$results"
        read -r _ _ wi wp wr wu ws ep er zp late rest rc left nw <<<"$line"
        tot=$((ep + zp + ws))
        printf '%-5s %-3s %-4s | %-7s %-7s %-7s %-7s | %-8s | %-8s %-8s %-7s | %-7s | %-7s | %-7s %-5s %-3s %-4s\n' \
            "$n" "$r" "$p" "$(mib "$wi")" "$(mib "$wp")" "$(mib "$wr")" "$(mib "$wu")" "$(mib "$ws")" \
            "$(mib "$ep")" "$(mib "$er")" "$(mib $((ep / n)) 2)" "$(mib "$zp")" "$(mib $((tot / n)) 2)" \
            "$late" "$rest" "$rc" "$left"
        [[ $nw == "$n" ]] || echo "  note: $nw workers found, expected $n" >&2
    done
done

echo
echo "Medians of $runs runs, MiB (PSS unless marked; one worker = the median worker of a run)"
echo
echo "| tracks | played | worker idle | worker played | worker RSS | worker USS | all workers | engine PSS | engine RSS | engine PSS / track | zygote | total / track |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
declare -A total
for n in $tracks_list; do
    col() { awk -v n="$n" -v c="$1" '$1 == n { print $c }' "$results" | median; }
    wi=$(col 3); wp=$(col 4); wr=$(col 5); wu=$(col 6); ws=$(col 7); ep=$(col 8); er=$(col 9); zp=$(col 10)
    tot=$(awk -v n="$n" '$1 == n { print $8 + $10 + $7 }' "$results" | median)
    total[$n]=$tot
    p=$(col 2)
    echo "| $n | $p s | $(mib "$wi") | $(mib "$wp") | $(mib "$wr") | $(mib "$wu") | $(mib "$ws") |" \
         "$(mib "$ep") | $(mib "$er") | $(mib "$(awk -v a="$ep" -v n="$n" 'BEGIN { print a / n }')" 2) |" \
         "$(mib "$zp") | $(mib "$(awk -v a="$tot" -v n="$n" 'BEGIN { print a / n }')" 2) |"
done
echo
prev=
for n in $tracks_list; do
    if [[ -n $prev ]]; then
        echo "one more track, $prev -> $n tracks: $(awk -v a="${total[$prev]}" -v b="${total[$n]}" -v m="$prev" -v n="$n" \
            'BEGIN { printf "%.2f", (b - a) / (n - m) / 1024 }') MiB (engine + zygote + workers PSS)"
    fi
    prev=$n
done
echo
echo "every run (kB): N play w_idle w_pss w_rss w_uss workers eng_pss eng_rss zyg_pss late restarts rc left workers_found"
cat "$results"
