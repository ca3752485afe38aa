#!/usr/bin/env bash
# bench_tracks.sh - how many tracks, each running a Python effect at 128
# frames / 48 kHz, play in real time without dropping out: shmix (one worker
# process per track) next to the two designs it is measured against, a single
# process where all tracks share one GIL (bench_gil) and JACK with one
# python3-jack-client process per track (jack_track.py on JACK's dummy
# backend). Not a test; run by hand, on an otherwise idle machine.
#
# usage: tests/bench/bench_tracks.sh BUILD_DIR [SCRIPT]
#   BUILD_DIR  holds shmix, shmix-worker and bench_gil
#              (cmake --build BUILD_DIR --target bench)
#   SCRIPT     the effect; default: both assets/scripts/onepole.py (pure-Python
#              per-sample one-pole lowpass) and assets/scripts/drive.py
#              (vectorised numpy tanh)
#
# environment:
#   DURATION=30      seconds each configuration plays (the recorded figures use
#                    30; DURATION=10 for trying things out)
#   SYSTEMS="shmix gil jack"   which systems; add shmix-jack for shmix playing
#                    through PortAudio into the same JACK dummy server
#   AHEAD=30         blocks of render-ahead: `shmix play --ahead` and
#                    `bench_gil -s` (30 = 80 ms at 128 frames, fixed: what
#                    shmix's own render-ahead starts at before it sizes it);
#                    AHEAD=auto: no --ahead, shmix's own choice (bench_gil
#                    -s 30). Unset with SCRIPT_BLOCK set: auto
#   SCRIPT_BLOCK=N   shmix only: `script_block: N` in the session (frames per
#                    process() call, a multiple of 128); results carry
#                    "script_block" (128 when unset, and always for gil/jack)
#   KINDS="sustained strict"   which searches (the strict one adds runs)
#   GIL1=0           no "single GIL, 1 period slack" search (it reuses the
#                    gil runs but its bisection adds some)
#   SUMMARY=FILE     append each search's outcome (one JSON line) to FILE
#   LOCK=FILE        an exclusive flock(1) on FILE around each run (the quiet
#                    wait included), for a machine shared with other benchmarks
#   MAX_TRACKS=256   the search's upper end
#   START=16         the search's first N (then doubled or halved)
#   GROW=200         ... or rather multiplied or divided by GROW/100 (e.g. 150
#                    when START is a good guess: fewer runs to a bracket)
#   RESOLUTION=16    then bisect until the bracket is within max(1, N/RESOLUTION)
#                    tracks (16: ~6 %; each halving of the step costs a run)
#   RESULTS=FILE     append every run's result (one JSON line) to FILE;
#                    with RESUME=1, runs already in FILE are not repeated
#   KEEP=1           keep the temp folder
#
# Each run: one system, one script, N tracks, DURATION seconds, paced in
# real time by the system's own clock. Before each run it waits (polling every
# 10 s, at most 5 minutes, noted in the output when it gives up) until no
# other benchmark runs (pgrep -f 'bench_roundtrip|bench_render|bench_tracks',
# not counting this one), nobody else's shmix, shmix-worker, jackd, ctest or
# test_* process runs, and the CPUs were less than 15 % busy over 3 s (the
# previous run's processes are gone). The run's result records that, the
# time of one onepole.py process() call in a hot loop just before the run
# (calib_us: this kind of VM drifts, the same call can take twice as long
# an hour later) and the CPUs' busy and steal share during the run.
#
#   shmix  `shmix play S --null --block 128 --ahead AHEAD --loop --duration D
#          --stats F --stats-interval D` on a session of N tracks that all
#          play the same 10 s stereo 48 kHz WAV (distinct names, each with the
#          script, gain -20*log10(N) dB); late = the sum of the final stats
#          line's tracks[].late_blocks plus its xruns (periods the null
#          device's thread woke too late for: a dropout of the whole mix on
#          a real device, counted once each like JACK's below; before
#          2026-12-04 they were reported and not counted), and the
#          render-ahead the engine chose (render_ahead_ms) when the stats
#          have it. A run where a track is not "running" at the end does not
#          pass.
#   gil    bench_gil -n N -d D -s AHEAD SCRIPT: late = blocks finished more
#          than AHEAD periods after their start (the same render-ahead
#          slack); the same run's blocks finished more than 1 period late are
#          the "single GIL, 1 period slack" row (see bench_gil.c).
#   jack   jackd -n shmixbench-$$ -d dummy -r 48000 -p 128, started for the run
#          and stopped after it; jack_track.py run SCRIPT -n N -d D:
#          late = the server's xruns (one per late cycle, however many
#          clients were late in it). A run where a client died does not pass.
#
# A configuration is sustained at <= 0.2 late blocks per second over the run,
# strict at zero. For each system and script it searches the largest
# sustained N and the largest strict N: from START, doubling while it passes
# (up to MAX_TRACKS) or halving while it fails (GROW: another factor), then bisecting until the
# bracket is within max(1, N/RESOLUTION) tracks; every run is kept and reused by
# both searches. The search assumes more tracks never do better, which noise
# can break near the edge: all runs are listed, so a reader can see it.
# Prints every run as it goes, then one table with the ratios and the
# targets of the issue (onepole: shmix >= 2x the single-GIL figure and above
# JACK; drive: shmix >= 100 and above JACK).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/../.." && pwd)
[[ $# -ge 1 && $# -le 2 ]] || { echo "usage: $0 BUILD_DIR [SCRIPT]" >&2; exit 2; }
build=$(cd "$1" && pwd)
if [[ $# -eq 2 ]]; then
    scripts=("$(cd "$(dirname "$2")" && pwd)/$(basename "$2")")
else
    scripts=("$src/assets/scripts/onepole.py" "$src/assets/scripts/drive.py")
fi
duration=${DURATION:-30}
systems=${SYSTEMS:-"shmix gil jack"}
max_tracks=${MAX_TRACKS:-256}
start_n=${START:-16}
grow=${GROW:-200}
resolution=${RESOLUTION:-16}
rate=48000
frames=128
script_block=${SCRIPT_BLOCK:-}
# shmix's render-ahead: a number of blocks, or auto (shmix play without
# --ahead); bench_gil's slack: the same number, 30 with auto
if [[ -n ${AHEAD:-} ]]; then ahead=$AHEAD
elif [[ -n $script_block ]]; then ahead=auto
else ahead=30
fi
gil_slack=$ahead
[[ $ahead == auto ]] && gil_slack=30
kinds=${KINDS:-"sustained strict"}
gil1=${GIL1:-1}
summary=${SUMMARY:-}
lock=${LOCK:-}
py=/usr/bin/python3       # the system Python: Debian's numpy and jack-client

die() { echo "bench_tracks: $*" >&2; exit 1; }
[[ $ahead == auto || $ahead =~ ^[0-9]+$ ]] || die "AHEAD must be a number of blocks or auto"
[[ $grow =~ ^[0-9]+$ && $grow -gt 100 ]] || die "GROW must be a percentage above 100"
[[ $start_n =~ ^[0-9]+$ && $start_n -gt 0 ]] || die "START must be a positive number"
[[ $resolution =~ ^[0-9]+$ && $resolution -gt 0 ]] || die "RESOLUTION must be a positive number"
if [[ -n $script_block ]] && ! [[ $script_block =~ ^[0-9]+$ && $((script_block % frames)) == 0 && $script_block -gt 0 ]]; then
    die "SCRIPT_BLOCK must be a positive multiple of $frames"
fi
for k in $kinds; do [[ $k == sustained || $k == strict ]] || die "unknown kind \"$k\" in KINDS"; done
[[ -n $kinds ]] || die "KINDS is empty"
[[ -z $lock ]] || command -v flock >/dev/null || die "LOCK needs flock (util-linux)"
shmix=$build/shmix
[[ -x $shmix && -x $build/shmix-worker ]] || die "no shmix in $build (cmake --build $build)"
for s in "${scripts[@]}"; do [[ -r $s ]] || die "cannot read $s"; done
for sys in $systems; do
    case $sys in
    shmix) ;;
    gil) [[ -x $build/bench_gil ]] || die "no $build/bench_gil (cmake --build $build --target bench)" ;;
    jack|shmix-jack)
        command -v jackd >/dev/null || die "jackd not found (apt-get install jackd2)"
        command -v jack_wait >/dev/null || die "jack_wait not found (apt-get install jackd2)"
        [[ $sys == shmix-jack ]] || $py -c 'import jack, numpy' 2>/dev/null \
            || die "$py cannot import jack and numpy (apt-get install python3-jack-client python3-numpy)" ;;
    *) die "unknown system \"$sys\" in SYSTEMS (shmix, shmix-jack, gil, jack)" ;;
    esac
done
command -v sox >/dev/null || die "sox not found"

tmp=$(mktemp -d /tmp/shmix-bench-tracks.XXXXXX)
jackd_pid=
cleanup() {
    if [[ -n $jackd_pid ]]; then kill "$jackd_pid" 2>/dev/null || true; wait "$jackd_pid" 2>/dev/null || true; fi
    [[ ${KEEP:-0} == 1 ]] && echo "kept $tmp" || rm -rf "$tmp"
}
trap cleanup EXIT
results=${RESULTS:-$tmp/results.jsonl}
touch "$results"

# One 10 s stereo 48 kHz file that every shmix track loops.
sox -n -r $rate -c 2 -b 16 "$tmp/loop.wav" synth 10 sine 220 sine 330 vol 0.5

# ---- a quiet machine ----
# Other people's work that competes for the CPUs: other benchmarks (pgrep -f
# 'bench_roundtrip|bench_render|bench_tracks|bench_capacity'), anyone else playing in real
# time (shmix, shmix-worker, jackd, the test suite's ctest and test_*
# programs) and builds (cc1, ld, make) or sox. Bursts of these hardly show
# in the load average but make a real-time run fail, so they are looked for
# before each run and, once a second, during it. This script's own process,
# its ancestors (the shell that started it matches the pattern too) and its
# descendants are not someone else's.
mine=" $$ "
p=$PPID
while [[ $p -gt 1 ]]; do mine+="$p "; p=$(awk '{ print $4 }' "/proc/$p/stat" 2>/dev/null || echo 1); done
foreign_now() {   # prints "PID:COMM ..." of other people's competing processes
    ps -eo pid=,ppid=,comm=,args= 2>/dev/null | awk -v me="$$" -v mine="$mine" '
        { par[$1] = $2; comm[$1] = $3; a = $0; sub(/^ *[0-9]+ +[0-9]+ +[^ ]+ /, "", a); args[$1] = a }
        END {
            for (q in comm) {
                if (index(mine, " " q " ")) continue
                hit = comm[q] ~ /^(shmix|shmix-worker|shmix:.*|jackd|ctest|test_.*|cc1|cc1plus|ld|collect2|make|gmake|cmake|sox)$/ \
                      || args[q] ~ /bench_roundtrip|bench_render|bench_tracks|bench_capacity/
                if (!hit) continue
                ours = 0
                for (x = q; x > 1 && (x in par); x = par[x]) if (x == me) { ours = 1; break }
                if (!ours) printf "%s:%s ", q, comm[q]
            }
        }'
}
quiet_note=""
busy_pct() {   # the CPUs' busy share over the next 3 s, in percent
    local a b
    a=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6 }' /proc/stat)
    sleep 3
    b=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6 }' /proc/stat)
    awk -v a="$a" -v b="$b" 'BEGIN { split(a, x); split(b, y); d = (y[1] - x[1]) + (y[2] - x[2])
                                     printf "%d", (d > 0 ? 100 * (y[1] - x[1]) / d : 100) }'
}
wait_quiet() {   # until nothing foreign runs and the CPUs are < 15 % busy (max 5 min)
    local waited=0 busy others
    while :; do
        others=$(foreign_now)
        busy=$(busy_pct)
        if [[ -z $others ]] && ((busy < 15)); then
            quiet_note="cpu ${busy}% busy, waited ${waited}s"
            return
        fi
        if ((waited >= 300)); then
            quiet_note="GAVE UP WAITING after 300 s (cpu ${busy}% busy${others:+; running: $others})"
            echo "  note: $quiet_note" >&2
            return
        fi
        sleep 7
        waited=$((waited + 10))
    done
}
watch_foreign() {   # during a run: one line per second in which something foreign ran
    while :; do
        local f
        f=$(foreign_now)
        [[ -z $f ]] || echo "$(date +%T) $f" >>"$tmp/foreign.txt"
        sleep 1
    done
}

# ---- JACK server, per run ----
jack_name=shmixbench-$$
start_jackd() {
    JACK_NO_AUDIO_RESERVATION=1 jackd -n "$jack_name" -d dummy -r $rate -p $frames \
        >"$tmp/jackd.log" 2>&1 &
    jackd_pid=$!
    JACK_DEFAULT_SERVER=$jack_name jack_wait -w -t 20 >/dev/null 2>&1 \
        || { cat "$tmp/jackd.log" >&2; die "jackd did not come up"; }
}
stop_jackd() {
    [[ -n $jackd_pid ]] || return 0
    kill "$jackd_pid" 2>/dev/null || true
    wait "$jackd_pid" 2>/dev/null || true
    jackd_pid=
}

# ---- one run ----
write_session() {   # write_session FILE N SCRIPT
    local gain
    gain=$(awk -v n="$2" 'BEGIN { g = 20 * log(1 / n) / log(10); printf "%.2f", g < -120 ? -120 : g }')
    {
        echo "sample_rate: $rate"
        echo "block_size: $frames"
        echo "channels: 2"
        [[ -z $script_block ]] || echo "script_block: $script_block"
        echo "tracks:"
        for ((i = 0; i < $2; i++)); do
            printf '  - name: t%03d\n    file: loop.wav\n    gain_db: %s\n    script: %s\n' \
                "$i" "$gain" "$3"
        done
    } >"$1"
}

# shmix_result STATS_FILE SYSTEM SCRIPT N RC: the final stats line as a result line
shmix_result() {
    $py - "$@" "$duration" "${script_block:-$frames}" <<'EOF'
import json, sys
path, system, script, n, rc, duration, script_block = sys.argv[1:]
lines = [l for l in open(path) if l.strip()] if rc == "0" else []
if not lines:
    print(json.dumps({"system": system, "script": script, "tracks": int(n),
                      "script_block": int(script_block), "error": "exit " + rc}))
    sys.exit()
last = json.loads(lines[-1])
tr = last["tracks"]
late_blocks = sum(t["late_blocks"] for t in tr)
# A null-device xrun is a period the device's thread was woken too late
# for (the kernel's real-time throttling at the CPUs' edge, a stall of the
# VM): a dropout of the whole mix on a real device. It counts like one of
# JACK's xruns below, one per period, beside the tracks' late blocks.
late = late_blocks + last["xruns"]
secs = float(duration)
res = {"system": system, "script": script, "tracks": int(n), "script_block": int(script_block),
       "seconds": secs,
       "late": late, "late_per_s": round(late / secs, 4), "late_blocks": late_blocks,
       "xruns": last["xruns"],
       "late_tracks": sum(1 for t in tr if t["late_blocks"]),
       "max_track_late": max(t["late_blocks"] for t in tr),
       "faulted": sum(t["faulted_blocks"] for t in tr),
       "not_running": sum(1 for t in tr if t["state"] != "running"),
       "restarts": sum(t["restarts"] for t in tr), "errors": sum(t["errors"] for t in tr),
       "time": last["time"],
       # the final line covers only the moment since the last interval line
       "dsp_load": json.loads(lines[-2])["dsp_load"] if len(lines) > 1 else last["dsp_load"]}
if "render_ahead_ms" in last:   # the render-ahead the engine chose, when it says
    res["render_ahead_ms"] = last["render_ahead_ms"]
if len(tr) != int(n):
    res["error"] = "%d tracks in the stats, expected %s" % (len(tr), n)
elif res["not_running"]:
    res["error"] = "%d tracks not running" % res["not_running"]
print(json.dumps(res))
EOF
}

# The machine's speed drifts on this kind of VM (the same run can take
# twice the CPU an hour later): before each run, the time of one process()
# call of onepole.py in a hot loop (median of 5 x 200 calls, in us) is
# recorded with it, and over the run the CPUs' busy and steal time.
calibrate() {
    $py - "$src/assets/scripts/onepole.py" <<'EOF'
import runpy, statistics, sys, time, types
import numpy as np
m = types.SimpleNamespace(**runpy.run_path(sys.argv[1]))
m.setup(types.SimpleNamespace(sample_rate=48000, block_size=128, channels=2, track="c", params={}))
b = np.zeros((128, 2), dtype=np.float32)
t = []
for _ in range(5):
    t0 = time.perf_counter()
    for _ in range(200):
        m.process(b)
    t.append((time.perf_counter() - t0) / 200 * 1e6)
print("%.1f" % statistics.median(t))
EOF
}
cpu_jiffies() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $5 + $6, $9 }' /proc/stat; }
run_once() {   # run_once SYSTEM SCRIPT N: sets $line to the run's result
    local sys=$1 script=$2 n=$3 name rc=0 calib j0 j1
    name=$(basename "$script" .py)
    calib=$(calibrate)
    j0=$(cpu_jiffies)
    local t0=$SECONDS
    case $sys in
    shmix|shmix-jack)
        cp "$script" "$tmp/$name.py"
        write_session "$tmp/s.yaml" "$n" "$name.py"
        rm -f "$tmp/stats.jsonl"
        local dev=(--null) ahead_opt=()
        [[ $ahead == auto ]] || ahead_opt=(--ahead "$ahead")
        if [[ $sys == shmix-jack ]]; then start_jackd; dev=(--device 0); fi
        JACK_DEFAULT_SERVER=$jack_name timeout -k 10 $((duration + 300)) \
            "$shmix" play "$tmp/s.yaml" "${dev[@]}" --block $frames "${ahead_opt[@]}" --loop \
            --duration "$duration" --stats "$tmp/stats.jsonl" --stats-interval "$duration" \
            >/dev/null 2>"$tmp/stderr.txt" 9>&- || rc=$?
        [[ $sys == shmix-jack ]] && stop_jackd
        if [[ $sys == shmix-jack ]] && ! grep -q "JACK" "$tmp/stderr.txt"; then
            line=$(printf '{"system": "%s", "script": "%s", "tracks": %d, "script_block": %d, "error": "not played through JACK"}' \
                "$sys" "$name" "$n" "${script_block:-$frames}")
        else
            line=$(shmix_result "$tmp/stats.jsonl" "$sys" "$name" "$n" "$rc")
        fi
        if [[ $rc != 0 ]] || grep -qv '^shmix: playing' "$tmp/stderr.txt"; then
            echo "  shmix stderr (exit $rc):" >&2
            grep -v '^shmix: playing' "$tmp/stderr.txt" | head -n 20 | sed 's/^/    /' >&2 || true
        fi
        ;;
    gil)
        line=$(timeout -k 10 $((duration + 300)) "$build/bench_gil" -n "$n" -d "$duration" -s "$gil_slack" --json "$script" \
               2>"$tmp/stderr.txt" 9>&-) || rc=$?
        if [[ $rc != 0 || -z $line ]]; then
            sed 's/^/    /' "$tmp/stderr.txt" | head -n 20 >&2
            line=$(printf '{"system": "gil", "tracks": %d, "error": "exit %d"}' "$n" "$rc")
        fi
        line=$($py -c '
import json, sys
d = json.loads(sys.argv[1]); d["script"] = sys.argv[2]; d["script_block"] = int(sys.argv[3])
print(json.dumps(d))' "$line" "$name" "$frames")
        ;;
    jack)
        start_jackd
        line=$(JACK_DEFAULT_SERVER=$jack_name timeout -k 10 $((duration + 1800)) \
               $py "$here/jack_track.py" run "$script" -n "$n" -d "$duration" --json \
               2>"$tmp/stderr.txt" 9>&-) || rc=$?
        stop_jackd
        if [[ -z $line ]]; then
            sed 's/^/    /' "$tmp/stderr.txt" | tail -n 20 >&2
            line=$(printf '{"system": "jack", "tracks": %d, "error": "exit %d"}' "$n" "$rc")
        fi
        line=$($py -c '
import json, sys
d = json.loads(sys.argv[1]); d["script"] = sys.argv[2]; d["script_block"] = int(sys.argv[3])
if "xruns" in d:
    d["late"] = d["xruns"]; d["late_per_s"] = d["xruns_per_s"]
    if d.get("clients_died"): d["error"] = "%d clients died" % d["clients_died"]
print(json.dumps(d))' "$line" "$name" "$frames")
        ;;
    esac
    j1=$(cpu_jiffies)
    line=$($py -c '
import json, sys
d = json.loads(sys.argv[1]); d["quiet"] = sys.argv[2]; d["wall_s"] = int(sys.argv[3])
d["calib_us"] = float(sys.argv[4])
if d.get("system") in ("shmix", "shmix-jack"): d["ahead"] = int(sys.argv[7]) if sys.argv[7].isdigit() else sys.argv[7]
elif d.get("system") == "gil": d["ahead"] = int(sys.argv[8])
a = [int(x) for x in sys.argv[5].split()]; b = [int(x) for x in sys.argv[6].split()]
busy, idle, steal = (b[i] - a[i] for i in range(3))
total = max(1, busy + idle + steal)
d["cpu_busy_pct"] = round(100.0 * busy / total, 1); d["steal_pct"] = round(100.0 * steal / total, 1)
print(json.dumps(d))' "$line" "$quiet_note" "$((SECONDS - t0))" "$calib" "$j0" "$j1" "$ahead" "$gil_slack")
}
# run_one SYSTEM SCRIPT N: waits for a quiet machine, runs, and repeats the
# run (up to RETRIES=3 times in all) while something foreign ran during it;
# appends the result line (with "disturbed" if every attempt was) to $results
run_one() {
    local line attempt tries=${RETRIES:-3} watcher
    if [[ -n $lock ]]; then   # fd 9, closed for the runs' own processes (9>&-)
        exec 9>"$lock"
        flock 9
    fi
    for ((attempt = 1; attempt <= tries; attempt++)); do
        wait_quiet
        : >"$tmp/foreign.txt"
        watch_foreign &
        watcher=$!
        run_once "$@"
        kill "$watcher" 2>/dev/null || true
        wait "$watcher" 2>/dev/null || true
        [[ -s $tmp/foreign.txt ]] || break
        echo "  disturbed (attempt $attempt/$tries): $(head -n 1 "$tmp/foreign.txt" | cut -c1-150)" >&2
    done
    line=$($py -c '
import json, sys
d = json.loads(sys.argv[1]); d["attempts"] = int(sys.argv[2])
if sys.argv[3]: d["disturbed"] = sys.argv[3]
print(json.dumps(d))' "$line" "$((attempt > tries ? tries : attempt))" \
        "$( ((attempt > tries)) && head -n 1 "$tmp/foreign.txt" | cut -c1-200 || true)")
    [[ -z $lock ]] || exec 9>&-
    echo "$line" >>"$results"
    echo "  $line" >&2
}

# ---- the search ----
declare -A late late_s
# get SYSTEM SCRIPT N: sets late[...] and late_s[...] (-1: the run failed)
get() {
    local sys=$1 script=$2 n=$3 name key r
    name=$(basename "$script" .py)
    key="$sys|$name|$n"
    [[ -n ${late[$key]:-} ]] && return
    local src_sys=$sys field=late sb=${script_block:-$frames}
    if [[ $sys == gil1 ]]; then src_sys=gil; field=late1; fi
    [[ $src_sys == shmix || $src_sys == shmix-jack ]] || sb=$frames
    r=$(lookup "$src_sys" "$name" "$n" "$field" "$sb")
    if [[ -z $r ]]; then
        run_one "$src_sys" "$script" "$n"
        r=$(lookup "$src_sys" "$name" "$n" "$field" "$sb")
    fi
    [[ -n $r ]] || r="-1 -1"
    late[$key]=${r% *}
    late_s[$key]=${r#* }
}
# lookup SYSTEM NAME N FIELD SCRIPT_BLOCK: "late late_per_s" of the last
# matching run in $results (with RESUME=1 or from this invocation), "-1 -1"
# for a failed run (a line without script_block played 128-frame calls)
lookup() {
    $py - "$results" "$@" "${RESUME:-0}" "$started" "$duration" "$frames" <<'EOF'
import json, sys
path, system, name, n, field, sb, resume, started, duration, frames = sys.argv[1:]
out = ""
for i, l in enumerate(open(path)):
    if not l.strip() or (resume != "1" and i < int(started)):
        continue
    d = json.loads(l)
    if (d.get("system") == system and d.get("script") == name and d.get("tracks") == int(n)
            and d.get("script_block", int(frames)) == int(sb)):
        if "error" not in d and abs(float(d.get("seconds", 0)) - float(duration)) > 1.0:
            continue   # a run of another DURATION
        if "error" in d or field not in d:
            out = "-1 -1"
        else:
            secs = float(d["seconds"])
            out = "%d %.4f" % (d[field], d[field] / secs)
print(out)
EOF
}
started=$(wc -l <"$results")

passes() {   # passes SYSTEM SCRIPT N KIND: KIND sustained (<= 0.2/s) or strict (0)
    local key
    key="$1|$(basename "$2" .py)|$3"
    get "$1" "$2" "$3"
    [[ ${late[$key]} != -1 ]] || return 1
    if [[ $4 == strict ]]; then
        [[ ${late[$key]} == 0 ]]
    else
        awk -v v="${late_s[$key]}" 'BEGIN { exit !(v <= 0.2) }'
    fi
}
# search SYSTEM SCRIPT KIND: sets found_lo (largest passing N, 0 if none) and
# found_hi (smallest failing N above it, 0 if MAX_TRACKS passed)
search() {
    local sys=$1 script=$2 kind=$3 lo=0 hi=0 n=$start_n
    ((n > max_tracks)) && n=$max_tracks
    if passes "$sys" "$script" "$n" "$kind"; then
        lo=$n
        while ((lo < max_tracks)); do
            n=$((lo * grow / 100)); ((n > lo)) || n=$((lo + 1)); ((n > max_tracks)) && n=$max_tracks
            if passes "$sys" "$script" "$n" "$kind"; then lo=$n; else hi=$n; break; fi
        done
    else
        hi=$n
        while ((hi > 1)); do
            n=$((hi * 100 / grow)); ((n < hi)) || n=$((hi - 1)); ((n >= 1)) || n=1
            if passes "$sys" "$script" "$n" "$kind"; then lo=$n; break; else hi=$n; fi
        done
    fi
    if ((hi)); then
        while :; do
            local step=$((lo / resolution)); ((step < 1)) && step=1
            ((hi - lo > step)) || break
            n=$(((lo + hi) / 2))
            if passes "$sys" "$script" "$n" "$kind"; then lo=$n; else hi=$n; fi
        done
    fi
    found_lo=$lo
    found_hi=$hi
}

echo "bench_tracks: $(nproc) CPUs, $(uname -r); $frames frames at $rate Hz; $duration s per run;"
if [[ -n $script_block ]]; then
    echo "shmix: script_block $script_block (frames per process() call);"
fi
echo "render-ahead: shmix $( [[ $ahead == auto ]] && echo "its own choice (no --ahead)" || echo "--ahead $ahead blocks"), bench_gil -s $gil_slack blocks;"
echo "systems: $systems; scripts: ${scripts[*]##*/}; searches: $kinds; results in $results"
declare -A sus sus_hi str str_hi
# record KIND SYS NAME: keeps the search's outcome (and appends it to SUMMARY)
record() {
    if [[ $1 == sustained ]]; then
        sus["$2|$3"]=$found_lo; sus_hi["$2|$3"]=$found_hi
    else
        str["$2|$3"]=$found_lo; str_hi["$2|$3"]=$found_hi
    fi
    [[ -z $summary ]] && return
    local sb=$frames
    [[ $2 == shmix || $2 == shmix-jack ]] && sb=${script_block:-$frames}
    printf '{"search": "%s", "system": "%s", "script": "%s", "script_block": %d, "tracks": %d, "fails": %s, "start": %d, "grow": %d, "resolution": %d, "max_tracks": %d, "seconds": %s, "ahead": "%s", "gil_slack": %d}\n' \
        "$1" "$2" "$3" "$sb" "$found_lo" "$( ((found_hi)) && echo "$found_hi" || echo null)" \
        "$start_n" "$grow" "$resolution" "$max_tracks" "$duration" "$ahead" "$gil_slack" >>"$summary"
}
for script in "${scripts[@]}"; do
    name=$(basename "$script" .py)
    for sys in $systems; do
        for kind in $kinds; do
            echo "-- $name, $sys, $kind" >&2
            search "$sys" "$script" "$kind"
            record "$kind" "$sys" "$name"
            if [[ $sys == gil && $gil1 == 1 ]]; then   # the 1-period variant, from the same runs
                search gil1 "$script" "$kind"
                record "$kind" gil1 "$name"
            fi
        done
    done
done

# ---- report ----
label() {
    local a="$ahead blocks ahead"
    [[ $ahead == auto ]] && a="its own render-ahead"
    [[ -n $script_block ]] && a+=", script_block $script_block"
    case $1 in
    shmix) echo "shmix --null ($a)" ;;
    shmix-jack) echo "shmix via JACK dummy ($a)" ;;
    gil) echo "single GIL, $gil_slack blocks slack" ;;
    gil1) echo "single GIL, 1 period slack" ;;
    jack) echo "JACK, client per track" ;;
    esac
}
fmt() {   # fmt LO HI: "LO" with the first failing N ("-": not searched)
    if [[ -z $1 ]]; then echo "-"; elif (($2 == 0)); then echo ">=$1"; else echo "$1 (fails $2)"; fi
}
rows=()
for sys in $systems; do rows+=("$sys"); [[ $sys == gil && $gil1 == 1 ]] && rows+=(gil1); done
echo
echo "Tracks sustained for $duration s at $frames frames / $rate Hz on $(nproc) CPUs"
echo "(sustained: <= 0.2 late blocks/s over the run, shmix's xruns counted as late blocks; strict: no late block at all;"
echo " \"fails M\": the smallest N tried above it that did not pass)"
printf '%-9s %-56s %-20s %-20s\n' "script" "system" "sustained N" "strict N"
for script in "${scripts[@]}"; do
    name=$(basename "$script" .py)
    for sys in "${rows[@]}"; do
        printf '%-9s %-56s %-20s %-20s\n' "$name" "$(label "$sys")" \
            "$(fmt "${sus["$sys|$name"]:-}" "${sus_hi["$sys|$name"]:-0}")" \
            "$(fmt "${str["$sys|$name"]:-}" "${str_hi["$sys|$name"]:-0}")"
    done
done
ratio() {   # ratio A B: A / B ("-" when either was not searched)
    [[ -n $1 && -n $2 ]] || { echo "-"; return; }
    awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "inf" }'
}
verdict() { if eval "$1"; then echo MET; else echo MISSED; fi; }
if [[ " $systems " == *" shmix "* && " $kinds " == *" sustained "* ]]; then
    echo
    for script in "${scripts[@]}"; do
        name=$(basename "$script" .py)
        s=${sus["shmix|$name"]}; st=${str["shmix|$name"]:-}
        line="$name: "
        if [[ " $systems " == *" gil "* ]]; then
            line+="shmix/GIL sustained $(ratio "$s" "${sus["gil|$name"]}"), strict $(ratio "$st" "${str["gil|$name"]:-}")"
            [[ $gil1 == 1 ]] && line+=" (vs 1-period GIL: $(ratio "$s" "${sus["gil1|$name"]}"), $(ratio "$st" "${str["gil1|$name"]:-}"))"
            line+="; "
        fi
        if [[ " $systems " == *" jack "* ]]; then
            line+="shmix/JACK sustained $(ratio "$s" "${sus["jack|$name"]}"), strict $(ratio "$st" "${str["jack|$name"]:-}")"
        fi
        echo "$line"
        case $name in
        onepole)
            [[ " $systems " == *" gil "* ]] && echo "  target shmix >= 2x single GIL (sustained): $s vs 2x${sus["gil|$name"]}:" \
                "$(verdict "(( s >= 2 * ${sus["gil|$name"]} ))")"
            [[ " $systems " == *" jack "* ]] && echo "  target shmix > JACK (sustained): $s vs ${sus["jack|$name"]}:" \
                "$(verdict "(( s > ${sus["jack|$name"]} ))")" ;;
        drive)
            echo "  target shmix >= 100 (sustained): $s: $(verdict "(( s >= 100 ))")"
            [[ " $systems " == *" jack "* ]] && echo "  target shmix > JACK (sustained): $s vs ${sus["jack|$name"]}:" \
                "$(verdict "(( s > ${sus["jack|$name"]} ))")" ;;
        esac
    done
fi
echo
echo "every run ($results):"
tail -n +$((started + 1)) "$results"
