#!/usr/bin/env bash
# bench_capacity.sh - tracks sustained against the machine's compute limit:
# how close shmix comes to what the CPUs could compute if nothing but the
# scripts ran, with one process() call per 128-frame block and with longer
# calls (the session's script_block), side by side with the single-GIL host,
# in one run. Not a test; run by hand on an otherwise idle machine.
#
# usage: tests/bench/bench_capacity.sh BUILD_DIR
#   BUILD_DIR holds shmix, shmix-worker and bench_gil
#   (cmake --build BUILD_DIR --target bench_gil shmix shmix-worker)
#
# environment:
#   REPEAT=3          times the whole thing runs; medians and every repeat's
#                     figures at the end
#   DURATION=30       seconds each configuration plays (the 0.2/s rule over
#                     30 s is the recorded figure; DURATION=5 to try it out)
#   SCRIPT_BLOCKS="128 2048"   frames per process() call, one shmix search
#                     each (128: a session without script_block)
#   WORKLOADS="onepole drive"  scripts from assets/scripts (onepole.py:
#                     pure-Python per-sample one-pole; drive.py: numpy tanh)
#   GIL=1             also the single-GIL host (bench_gil) at 128 frames;
#                     GIL=0 leaves it out
#   START_PCT=60      shmix searches with script_block > 128 start at this %
#                     of their compute limit (the one-pole target is 70 %)
#   START_X128=2      ... but at most this many times the same repeat's figure
#                     with 128-frame calls (tanh's limit at 2048 is thousands
#                     of tracks: 60 % of it is no guess at all)
#   START_PCT_128=30  shmix searches with 128-frame calls start at this % (the
#                     recorded 128-frame figures were 30-37 % of it: costs
#                     per block besides the call itself)
#   GIL_START_PCT=15  the single GIL's at this % of the 128-frame limit (one
#                     GIL uses at most one of the CPUs; recorded: 10-19 %)
#   ADAPT=1           from the second repeat on, a search starts at the
#                     median of what the earlier repeats found for it (the
#                     calibration moves more than that); ADAPT=0: always the
#                     above
#   GROW=125          bench_tracks' GROW: from START the search multiplies or
#                     divides N by 1.25 (not 2) until it has a bracket, then
#                     bisects it to max(1, N/RESOLUTION); with a START
#                     within 1.5x of the result that takes ~4-5 runs, not ~6
#   RESOLUTION=32     bench_tracks' RESOLUTION: the bisection stops when the
#                     bracket is within max(1, N/32) tracks (~3 %). The
#                     targets are decided by margins of a few per cent (the
#                     tanh ratio read 2.8-3.1x in earlier runs), which
#                     bench_tracks' own default, N/16 (~6 %), cannot tell
#                     apart; it reports the last passing N, so its figures
#                     sit up to one step below the edge
#   MAX_TRACKS=1024   the searches' upper end; shmix's stats list at most 2048
#                     tracks (SNAPSHOT_MAX_TRACKS), so a run of more cannot be
#                     judged
#   AHEAD=N           shmix play --ahead N and bench_gil -s N; unset: shmix
#                     sizes its render-ahead itself (no --ahead, also at 128:
#                     80 ms to start with, tuned while playing up to 400 ms)
#                     and bench_gil gets 30 blocks of slack (80 ms)
#   AHEAD_128=N       the same for the shmix searches with 128-frame calls only
#                     (AHEAD_128=30: fixed like bench_gil's slack and like
#                     bench_tracks' recorded figures)
#   WOKEN_S=20        seconds of the second calibration (woken calls, below);
#                     0: none
#   RESULTS=FILE      append every record (calibrations, runs, searches; one
#                     JSON line each, with "repeat") to FILE
#   SKIP_MEMORY=1     no PSS table at the end
#   MEMORY_RUNS=1     RUNS of bench_memory.sh (its own default is 3, ~15 min;
#                     1 is ~5 min); MEMORY_TRACKS: its TRACKS
#   LOCK=FILE         an exclusive flock(1) on FILE around each run (passed
#                     to bench_tracks.sh and bench_memory.sh) and around each
#                     calibration
#   KEEP=1            keep the temp folder
#
# Each repeat:
# 1. Calibration. In a plain /usr/bin/python3 process (no engine), each
#    workload's script is imported from its file, setup(ctx) called with
#    ctx.sample_rate = 48000, ctx.block_size = F, ctx.channels = 2,
#    ctx.track, ctx.params = {}, and process() called in a hot loop on a
#    C-contiguous float32 (F, 2) array holding a 220/330 Hz sine pair at
#    half scale (like the played file): the median of 15 batches of ~30 ms,
#    in us per call, for F = each of SCRIPT_BLOCKS (the batches of all the
#    cases taken in turn, ~2 s in all, after waiting until the CPUs were
#    less than 15 % busy over 3 s). From it the compute
#    limit in tracks for script_block S:
#        limit = cores x (S / 48000 s) / (one S-frame call)
#    (cores = nproc): as many tracks as the CPUs could keep up with if they
#    did nothing but call process() back to back.
#    Then, for WOKEN_S seconds, 1-s slices in turn: the same hot loop again
#    ("hot 1s"), and woken calls: each case's calls for ~40 ms of audio (15
#    of 128 frames, one of 2048) made right after a 40 ms sleep, one case
#    per wake-up, the median per call ("woken"), and the compute limit at
#    that cost ("w.limit"). That is what a player with no cost of its own
#    would pay per call when it sleeps between batches, as any real-time
#    player does; measured in the same seconds as the hot loop, because on
#    these VMs the speed moves by tens of per cent from one second to the
#    next (docs/performance.md). Reported beside the targets, not instead:
#    the targets are read against the hot loop's limit.
# 2. Searches, with tests/bench/bench_tracks.sh (its quiet-machine wait, its
#    per-run calib_us, CPU busy and steal, its search: from START up or down
#    by GROW, then bisecting to max(1, N/RESOLUTION)), sustained only (<= 0.2 late
#    blocks per second summed over all tracks, over DURATION s, shmix's
#    null-device xruns counted as late blocks: bench_tracks.sh), at
#    128-frame device periods (`shmix play --null --block 128`):
#      shmix, each workload x each script_block S (`script_block: S` in the
#            session when S > 128), START = START_PCT (S > 128) or
#            START_PCT_128 % of its limit;
#      gil   bench_gil at 128 frames for each workload, START =
#            GIL_START_PCT % of the 128-frame limit (bench_tracks' 1-period
#            variant is not searched).
# 3. Each result as a share of its compute limit (tracks / limit), and the
#    targets: one-pole @2048 >= 70 % of its compute limit; tanh @2048 >=
#    3 x tanh @128 (tracks). A search that reaches MAX_TRACKS gives a lower
#    bound (">="); a target that depends on one is MET when the bound is
#    enough and NOT DECIDED otherwise. The one-pole share is also shown at
#    the runs' own speed (share x drift, the drift column): this VM can
#    run the calibration at one of its two speeds and the searches at the
#    other, and the target is MET or MISSED only when both readings agree
#    (NOT DECIDED otherwise; run r's printed 88.9 % read 53.7 % so).
# After the repeats: the medians over them (a target is read on the median
# of the repeats' shares / ratios, and how many repeats met it), every
# repeat's figures, and, unless SKIP_MEMORY=1, bench_memory.sh's PSS table.
#
# When this shmix does not know the script_block key yet (`shmix check`
# rejects a one-track session with it), the script_block searches are
# reported as not run and the rest goes on.
#
# Time: a search is about 4-6 runs, each DURATION plus 5-10 s (the quiet
# wait, the per-run check, starting and stopping ~100 workers) up to ~45 s
# more at 500 tracks (starting the workers); 6 searches (4 shmix, 2 GIL)
# make ~20-25 min per repeat at DURATION=30 (the first repeat the longest:
# later ones start from its figures), ~65-75 min with REPEAT=3, plus the
# PSS table (~5 min with MEMORY_RUNS=1).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/../.." && pwd)
[[ $# -eq 1 ]] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
build=$(cd "$1" && pwd)
repeat=${REPEAT:-3}
duration=${DURATION:-30}
script_blocks=${SCRIPT_BLOCKS:-"128 2048"}
workloads=${WORKLOADS:-"onepole drive"}
gil=${GIL:-1}
start_pct=${START_PCT:-60}
start_pct_128=${START_PCT_128:-30}
gil_start_pct=${GIL_START_PCT:-15}
grow=${GROW:-125}
resolution=${RESOLUTION:-32}
start_x128=${START_X128:-2}
adapt=${ADAPT:-1}
max_tracks=${MAX_TRACKS:-1024}
ahead=${AHEAD:-auto}
ahead_128=${AHEAD_128:-$ahead}
woken_s=${WOKEN_S:-20}
lock=${LOCK:-}
py=/usr/bin/python3       # the system Python with Debian's numpy
cores=$(nproc)
frames=128

die() { echo "bench_capacity: $*" >&2; exit 1; }
[[ -x $build/shmix && -x $build/shmix-worker ]] || die "no shmix in $build (cmake --build $build)"
[[ $gil == 0 || -x $build/bench_gil ]] \
    || die "no $build/bench_gil (cmake --build $build --target bench_gil), or GIL=0"
[[ -x $here/bench_tracks.sh ]] || die "no $here/bench_tracks.sh"
[[ ${SKIP_MEMORY:-0} == 1 || -x $here/bench_memory.sh ]] || die "no $here/bench_memory.sh (or SKIP_MEMORY=1)"
$py -c 'import numpy' 2>/dev/null || die "$py cannot import numpy (apt-get install python3-numpy)"
command -v sox >/dev/null || die "sox not found"
[[ -z $lock ]] || command -v flock >/dev/null || die "LOCK needs flock (util-linux)"
[[ $repeat =~ ^[1-9][0-9]*$ ]] || die "REPEAT must be a positive number"
for v in start_pct start_pct_128 gil_start_pct start_x128 max_tracks duration; do
    [[ ${!v} =~ ^[0-9]+$ && ${!v} -gt 0 ]] || die "$v must be a positive whole number"
done
[[ $ahead == auto || $ahead =~ ^[0-9]+$ ]] || die "AHEAD must be a number of blocks"
[[ $ahead_128 == auto || $ahead_128 =~ ^[0-9]+$ ]] || die "AHEAD_128 must be a number of blocks"
[[ $grow =~ ^[0-9]+$ && $grow -gt 100 ]] || die "GROW must be a percentage above 100"
[[ $resolution =~ ^[0-9]+$ && $resolution -gt 0 ]] || die "RESOLUTION must be a positive number"
for sb in $script_blocks; do
    [[ $sb =~ ^[0-9]+$ && $sb -gt 0 && $((sb % frames)) == 0 ]] \
        || die "SCRIPT_BLOCKS: $sb is not a positive multiple of $frames"
done
for w in $workloads; do [[ -r $src/assets/scripts/$w.py ]] || die "no assets/scripts/$w.py"; done

tmp=$(mktemp -d /tmp/shmix-bench-capacity.XXXXXX)
cleanup() { if [[ ${KEEP:-0} == 1 ]]; then echo "kept $tmp"; else rm -rf "$tmp"; fi; }
trap cleanup EXIT
results=${RESULTS:-$tmp/results.jsonl}
touch "$results"
started=$(wc -l <"$results")   # this invocation's records come after

# with_lock CMD...: CMD under LOCK (if any)
with_lock() {
    if [[ -n $lock ]]; then flock "$lock" "$@"; else "$@"; fi
}

# ---- does this shmix know script_block? ----
sb_supported=1
sb_why=
probe_sb=
for sb in $script_blocks; do ((sb > frames)) && { probe_sb=$sb; break; }; done
if [[ -n $probe_sb ]]; then
    sox -n -r 48000 -c 2 -b 16 "$tmp/probe.wav" synth 0.1 sine 220
    cp "$src/assets/scripts/drive.py" "$tmp/probe.py"
    printf 'sample_rate: 48000\nblock_size: %d\nchannels: 2\nscript_block: %d\ntracks:\n  - name: probe\n    file: probe.wav\n    script: probe.py\n' \
        "$frames" "$probe_sb" >"$tmp/probe.yaml"
    if ! "$build/shmix" check "$tmp/probe.yaml" -q >/dev/null 2>"$tmp/probe.err"; then
        sb_supported=0
        sb_why=$(head -n 1 "$tmp/probe.err")
        grep -q script_block "$tmp/probe.err" \
            || die "shmix check failed on the probe session: $sb_why"
    fi
fi

# ---- calibration ----
# calibrate REPEAT: one JSON record: us per call of each workload at each
# script_block, and the compute limits; taken once the CPUs were less than
# 15 % busy over 3 s (waiting at most 5 minutes), like bench_tracks' runs
busy_pct() {   # the CPUs' busy share over the next 3 s, in percent
    local a b
    a=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6 }' /proc/stat)
    sleep 3
    b=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6 }' /proc/stat)
    awk -v a="$a" -v b="$b" 'BEGIN { split(a, x); split(b, y); d = (y[1] - x[1]) + (y[2] - x[2])
                                     printf "%d", (d > 0 ? 100 * (y[1] - x[1]) / d : 100) }'
}
calibrate() {
    local waited=0 busy
    while busy=$(busy_pct) && ((busy >= 15 && waited < 300)); do
        sleep 7
        waited=$((waited + 10))
    done
    with_lock "$py" "$tmp/calibrate.py" "$1" "$cores" "$src/assets/scripts" "$workloads" "$script_blocks" \
        "cpu ${busy}% busy, waited ${waited}s" "$woken_s"
}
cat >"$tmp/calibrate.py" <<'EOF'
import importlib.util, json, math, statistics, sys, time, types
import numpy as np
rep, cores, folder, workloads, blocks, quiet, woken_s = sys.argv[1:]
cores = int(cores)
rate = 48000
ROUNDS, BATCH_S = 15, 0.03
cases = []   # (workload, frames, process, block, calls per batch)
for w in workloads.split():
    for frames in [int(b) for b in blocks.split()]:
        # a fresh module for each size: its own globals, as in a worker
        spec = importlib.util.spec_from_file_location("%s_%d" % (w, frames), "%s/%s.py" % (folder, w))
        m = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(m)
        if hasattr(m, "setup"):
            m.setup(types.SimpleNamespace(sample_rate=rate, block_size=frames, channels=2,
                                          track="calib", params={}))
        t = np.arange(frames) / rate
        block = np.empty((frames, 2), dtype=np.float32)   # C-contiguous
        block[:, 0] = 0.5 * np.sin(2 * math.pi * 220 * t)
        block[:, 1] = 0.5 * np.sin(2 * math.pi * 330 * t)
        for _ in range(20):                                # warm up
            m.process(block)
        t0 = time.perf_counter()
        for _ in range(20):
            m.process(block)
        per = (time.perf_counter() - t0) / 20
        cases.append((w, frames, m.process, block, max(5, int(BATCH_S / max(per, 1e-7)))))
# Rounds of one ~30 ms batch of each case in turn, the median batch of each:
# a burst of other work or a slower minute of the VM touches every case
# alike rather than one of them.
times = {(w, f): [] for w, f, _, _, _ in cases}
for _ in range(ROUNDS):
    for w, frames, process, block, calls in cases:
        t0 = time.perf_counter()
        for _ in range(calls):
            process(block)
        times[w, frames].append((time.perf_counter() - t0) / calls * 1e6)
us, limit = {}, {}
for (w, frames), ts in times.items():
    c = statistics.median(ts)
    us.setdefault(w, {})[str(frames)] = round(c, 2)
    limit.setdefault(w, {})[str(frames)] = round(cores * (frames / rate) / (c * 1e-6), 1)
# Then, for WOKEN_S seconds, slices of 1 s taken in turn: the hot loop
# again, and woken calls - each case's calls for ~40 ms of audio (as
# play's batches at a light load: 15 calls of 128 frames, one of 2048)
# made right after a 40 ms sleep, one case per wake-up. What a player with
# no overhead of its own at all would pay per call, in the same seconds
# as the hot loop: on a VM whose speed moves by tens of per cent from one
# second to the next, only the two side by side say what the sleep costs.
hot_long = {(w, f): [] for w, f, _, _, _ in cases}
woken = {(w, f): [] for w, f, _, _, _ in cases}
end = time.monotonic() + float(woken_s)
while time.monotonic() < end:
    s_end = time.monotonic() + 1.0
    while time.monotonic() < s_end:
        for w, frames, process, block, calls in cases:
            t0 = time.perf_counter()
            for _ in range(calls):
                process(block)
            hot_long[w, frames].append((time.perf_counter() - t0) / calls * 1e6)
    s_end = time.monotonic() + 1.0
    while time.monotonic() < s_end:
        for w, frames, process, block, _ in cases:
            n = max(1, round(0.040 * rate / frames))
            time.sleep(0.040)
            t0 = time.perf_counter()
            for _ in range(n):
                process(block)
            woken[w, frames].append((time.perf_counter() - t0) / n * 1e6)
long_us, woken_us, woken_limit = {}, {}, {}
for (w, frames), ts in woken.items():
    if not ts:
        continue
    c = statistics.median(ts)
    long_us.setdefault(w, {})[str(frames)] = round(statistics.median(hot_long[w, frames]), 2)
    woken_us.setdefault(w, {})[str(frames)] = round(c, 2)
    woken_limit.setdefault(w, {})[str(frames)] = round(cores * (frames / rate) / (c * 1e-6), 1)
print(json.dumps({"record": "calibration", "repeat": int(rep), "cores": cores,
                  "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "us_per_call": us,
                  "compute_limit": limit, "woken_s": float(woken_s), "hot_long_us": long_us,
                  "woken_us": woken_us, "woken_limit": woken_limit, "quiet": quiet,
                  "python": sys.version.split()[0], "numpy": np.__version__}))
EOF

# limit_of WORKLOAD S: the compute limit from this repeat's calibration
limit_of() {
    $py -c 'import json, sys; print(json.loads(sys.argv[1])["compute_limit"][sys.argv[2]][sys.argv[3]])' \
        "$calib_line" "$1" "$2"
}

# prev_tracks SYSTEM WORKLOAD S: the median of the tracks this invocation's
# earlier searches of that configuration found; "max" when one of them
# reached MAX_TRACKS (start there); empty when none
prev_tracks() {
    $py - "$results" "$started" "$@" <<'EOF'
import json, statistics, sys
path, started, system, script, sb = sys.argv[1:]
sh = []
for i, l in enumerate(open(path)):
    if i < int(started) or not l.strip():
        continue
    d = json.loads(l)
    if (d.get("record") == "search" and "error" not in d and d.get("system") == system
            and d.get("script") == script and d.get("script_block") == int(sb)):
        if d.get("fails") is None:
            print("max")
            sys.exit()
        sh.append(d["tracks"])
print("%d" % max(1, round(statistics.median(sh))) if sh else "")
EOF
}

# found REPEAT SYSTEM WORKLOAD S: the tracks that search found (empty: none)
found() {
    $py - "$results" "$started" "$@" <<'EOF'
import json, sys
path, started, rep, system, script, sb = sys.argv[1:]
out = ""
for i, l in enumerate(open(path)):
    if i < int(started) or not l.strip():
        continue
    d = json.loads(l)
    if (d.get("record") == "search" and "error" not in d and d.get("repeat") == int(rep)
            and d.get("system") == system and d.get("script") == script
            and d.get("script_block") == int(sb)):
        out = str(d["tracks"])
print(out)
EOF
}

# tag JSON FIELDS...: the line with more fields (name=value, JSON values)
tag() {
    $py - "$@" <<'EOF'
import json, sys
d = json.loads(sys.argv[1])
extra = {}
for kv in sys.argv[2:]:
    k, v = kv.split("=", 1)
    extra[k] = json.loads(v)
print(json.dumps({**extra, **d}))
EOF
}

# ---- one search ----
# search_one REPEAT SYSTEM WORKLOAD S START_PCT: a bench_tracks.sh search,
# its runs and outcome appended to $results
search_one() {
    local r=$1 sys=$2 w=$3 sb=$4 pct=$5 lim start rc=0 prev='' from
    lim=$(limit_of "$w" "$sb")
    from="$pct % of it"
    if [[ $adapt == 1 ]]; then   # the earlier repeats' median, if any
        prev=$(prev_tracks "$sys" "$w" "$sb")
        if [[ $prev == max ]]; then
            from="MAX_TRACKS, reached in an earlier repeat"
        elif [[ -n $prev ]]; then
            from="the earlier repeats' median"
        fi
    fi
    start=$(awk -v l="$lim" -v p="$pct" -v m="$max_tracks" -v x="$prev" \
        'BEGIN { n = int(l * p / 100 + 0.5); if (x != "") n = (x == "max" ? m : x)
                 if (n < 1) n = 1; if (n > m) n = m; print n }')
    # longer calls: no more than START_X128 x this repeat's 128-frame figure
    if [[ $sys == shmix && $sb -gt $frames && -z $prev ]]; then
        local f128
        f128=$(found "$r" shmix "$w" "$frames")
        if [[ -n $f128 ]] && ((f128 > 0 && start > start_x128 * f128)); then
            start=$((start_x128 * f128))
            from+="; at most $start_x128 x the $frames-frame figure $f128"
        fi
    fi
    local what="$w, $sys, script_block $sb"
    [[ $sys == gil ]] && what="$w, single GIL, $frames frames"
    echo "== repeat $r/$repeat: $what: compute limit $lim tracks, START $start ($from) $(date +%T)" >&2
    if [[ $sys == shmix && $sb -gt $frames && $sb_supported == 0 ]]; then
        echo "   not run: this shmix rejects script_block ($sb_why)" >&2
        printf '{"record": "search", "repeat": %d, "search": "sustained", "system": "%s", "script": "%s", "script_block": %d, "error": "script_block not supported by this shmix"}\n' \
            "$r" "$sys" "$w" "$sb" >>"$results"
        return
    fi
    local a=$ahead
    [[ $sys == shmix && $sb == "$frames" ]] && a=$ahead_128
    local env=(SYSTEMS="$sys" DURATION="$duration" MAX_TRACKS="$max_tracks" START="$start"
               GROW="$grow" RESOLUTION="$resolution" KINDS=sustained GIL1=0 AHEAD="$a"
               RESULTS="$tmp/runs.jsonl" SUMMARY="$tmp/summary.jsonl" KEEP=0)
    [[ -n $lock ]] && env+=(LOCK="$lock")
    if [[ $sys == shmix && $sb -gt $frames ]]; then env+=(SCRIPT_BLOCK="$sb"); else env+=(SCRIPT_BLOCK=); fi
    : >"$tmp/runs.jsonl"
    : >"$tmp/summary.jsonl"
    env "${env[@]}" "$here/bench_tracks.sh" "$build" "$src/assets/scripts/$w.py" \
        >>"$tmp/tracks.log" || rc=$?
    local l
    while IFS= read -r l; do
        [[ -n $l ]] && tag "$l" record='"run"' repeat="$r" >>"$results"
    done <"$tmp/runs.jsonl"
    if [[ $rc != 0 || ! -s $tmp/summary.jsonl ]]; then
        echo "   bench_tracks.sh failed (exit $rc):" >&2
        tail -n 20 "$tmp/tracks.log" | sed 's/^/     /' >&2
        printf '{"record": "search", "repeat": %d, "search": "sustained", "system": "%s", "script": "%s", "script_block": %d, "error": "bench_tracks.sh exit %d"}\n' \
            "$r" "$sys" "$w" "$sb" "$rc" >>"$results"
        return
    fi
    tag "$(tail -n 1 "$tmp/summary.jsonl")" record='"search"' repeat="$r" \
        compute_limit="$lim" start_pct="$pct" >>"$results"
    echo "   sustained: $(tail -n 1 "$tmp/summary.jsonl")" >&2
}

# ---- the report ----
# report FIRST_REPEAT LAST_REPEAT: the table of those repeats (medians and
# each repeat's figures when more than one)
report() {
    $py - "$results" "$started" "$1" "$2" "$workloads" "$script_blocks" "$gil" "$max_tracks" \
        "$duration" "$ahead" "$cores" <<'EOF'
import json, statistics, sys
(path, started, first, last, workloads, blocks, gil, max_tracks, duration, ahead,
 cores) = sys.argv[1:]
first, last, max_tracks = int(first), int(last), int(max_tracks)
reps = list(range(first, last + 1))
recs = [json.loads(l) for i, l in enumerate(open(path)) if i >= int(started) and l.strip()]
recs = [d for d in recs if d.get("repeat") in reps]
workloads, blocks = workloads.split(), [int(b) for b in blocks.split()]
calib = {d["repeat"]: d for d in recs if d.get("record") == "calibration"}
names = {"onepole": "one-pole", "drive": "tanh"}

def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None

def num(x, d=None):   # d decimals; None: whole numbers as such, else 1
    if x is None:
        return "n/a"
    if d is None:
        return "%d" % round(x) if abs(x - round(x)) < 1e-9 else "%.1f" % x
    return "%.*f" % (d, x)

configs = []   # (system, workload, script_block)
for w in workloads:
    for b in blocks:
        configs.append(("shmix", w, b))
    if gil == "1":
        configs.append(("gil", w, 128))

def search(r, c):
    for d in recs:
        if (d.get("record") == "search" and d["repeat"] == r and d["system"] == c[0]
                and d["script"] == c[1] and d["script_block"] == c[2]):
            return d
    return None

def runs(r, c):
    return [d for d in recs if d.get("record") == "run" and d["repeat"] == r
            and d.get("system") == c[0] and d.get("script") == c[1]
            and d.get("script_block", 128) == c[2]]

# per repeat and config: (tracks, capped, pct, us, limit)
fig = {}
for r in reps:
    for c in configs:
        s, cal = search(r, c), calib.get(r)
        us = cal["us_per_call"][c[1]][str(c[2])] if cal else None
        lim = cal["compute_limit"][c[1]][str(c[2])] if cal else None
        # the woken calls' figures (calibrations before WOKEN_S have none)
        wo = dict(hlong=(cal or {}).get("hot_long_us", {}).get(c[1], {}).get(str(c[2])),
                  wus=(cal or {}).get("woken_us", {}).get(c[1], {}).get(str(c[2])),
                  wlim=(cal or {}).get("woken_limit", {}).get(c[1], {}).get(str(c[2])))
        if s is None or "error" in s:
            fig[r, c] = dict(tracks=None, capped=False, pct=None, us=us, limit=lim, wpct=None,
                             error=(s or {}).get("error", "not run"), **wo)
            continue
        capped = s.get("fails") is None and s["tracks"] >= s.get("max_tracks", max_tracks)
        rr = runs(r, c)
        cr = med([d.get("calib_us") for d in rr])
        c0 = cal["us_per_call"].get("onepole", {}).get("128") if cal else None
        fig[r, c] = dict(tracks=s["tracks"], fails=s.get("fails"), capped=capped,
                         pct=100.0 * s["tracks"] / lim if lim else None, us=us, limit=lim,
                         wpct=100.0 * s["tracks"] / wo["wlim"] if wo["wlim"] else None, **wo,
                         calib_run=cr, drift=cr / c0 if cr and c0 else None,
                         ahead_ms=med([d.get("render_ahead_ms") for d in rr]),
                         nruns=len(rr), wall=sum(d.get("wall_s", 0) for d in rr))

def label(c):
    if c[0] == "gil":
        return "%s, single GIL @128" % names.get(c[1], c[1])
    return "%s, shmix @%d" % (names.get(c[1], c[1]), c[2])

def tracks_str(f):
    if f["tracks"] is None:
        return "not run" if "not supported" in f.get("error", "") else "failed"
    if f["capped"]:
        return ">=%d" % f["tracks"]
    return "%d (fails %s)" % (f["tracks"], f["fails"]) if f.get("fails") else "%d" % f["tracks"]

def pct_str(f):
    if f["pct"] is None:
        return "n/a"
    return ("%s%.1f %%" % (">=" if f["capped"] else "", f["pct"]))

# The one-pole share is read against a limit from the calibration's
# seconds; on this kind of VM those can run at one speed and the searches
# at another (drift: the runs' onepole @128 time / the calibration's). A
# share is also shown at the runs' own speed (share x drift), and a
# verdict is given only where both readings agree.
def run_speed(pcts, drifts):
    v = [p * d for p, d in zip(pcts, drifts) if p is not None and d]
    return statistics.median(v) if len(v) == len([p for p in pcts if p is not None]) and v else None

def at_run_speed(pcts, drifts):
    m = run_speed(pcts, drifts)
    return "" if m is None else " (%.1f %% at the runs' speed)" % m

def onepole_verdict(pcts, drifts, capped):
    m = statistics.median([p for p in pcts if p is not None])
    mr = run_speed(pcts, drifts)
    if m >= 70 and (mr is None or mr >= 70):
        return "MET"
    if m < 70 and capped:
        return "NOT DECIDED (MAX_TRACKS=%d reached)" % max_tracks
    if m < 70 and (mr is None or mr < 70):
        return "MISSED"
    return "NOT DECIDED (the calibration and the runs ran at different speeds)"

def targets(r):
    """the two targets for repeat r: [(text, verdict)]"""
    out = []
    f = fig.get((r, ("shmix", "onepole", 2048)))
    if f is not None:
        if f["pct"] is None:
            out.append(("one-pole @2048 >= 70 % of its compute limit: n/a", None))
        else:
            v = onepole_verdict([f["pct"]], [f.get("drift")], f["capped"])
            out.append(("one-pole @2048 >= 70 %% of its compute limit (%s tracks): %s%s" %
                        (num(f["limit"], 0), pct_str(f), at_run_speed([f["pct"]], [f.get("drift")])), v))
    a, b = fig.get((r, ("shmix", "drive", 2048))), fig.get((r, ("shmix", "drive", 128)))
    if a is not None and b is not None:
        if a["tracks"] is None or b["tracks"] is None or b["tracks"] == 0:
            out.append(("tanh @2048 >= 3 x tanh @128: n/a", None))
        else:
            ratio = a["tracks"] / b["tracks"]
            # a capped @2048 is a lower bound (the ratio too), a capped @128 an upper one
            if ratio >= 3 and not b["capped"]:
                v = "MET"
            elif ratio < 3 and not a["capped"]:
                v = "MISSED"
            else:
                v = "NOT DECIDED (MAX_TRACKS=%d reached)" % max_tracks
            out.append(("tanh @2048 >= 3 x tanh @128: %s vs 3 x %s = %d (%s%.2fx)" %
                        (tracks_str(a).split()[0], tracks_str(b).split()[0], 3 * b["tracks"],
                         ">=" if a["capped"] else "", ratio), v))
    return out

hdr = "%-26s %8s %6s  %-17s %-11s %8s %6s %8s  %8s %8s %6s %s"
def header(indent=""):
    print(indent + hdr % ("configuration", "us/call", "limit", "sustained tracks", "% of limit",
                          "calib_us", "drift", "ahead ms", "hot 1s", "woken", "w.limit",
                          "% of w.limit"))
def woken_cols(f):
    pre = ">=" if f["capped"] else ""
    return (num(f.get("hlong"), 1), num(f.get("wus"), 1), num(f.get("wlim"), 0),
            "n/a" if f.get("wpct") is None else "%s%.1f %%" % (pre, f["wpct"]))
def drift(x):
    return "n/a" if x is None else "x%.2f" % x
WOKEN_NOTE = ("hot 1s / woken: after the calibration, %s s of 1-s slices in turn: the hot loop"
              " again (us per call, median), and woken calls - ~40 ms of audio's calls right"
              " after a 40 ms sleep, as a player with no overhead of its own would make them"
              " (us per call, median); w.limit: the compute limit at the woken calls' cost; not"
              " a target: what a real-time player that sleeps between batches could reach"
              % num(med([(calib.get(r) or {}).get("woken_s") for r in reps])))
if len(reps) == 1:
    r = reps[0]
    cal = calib.get(r)
    header()
    for c in configs:
        f = fig[r, c]
        print(hdr % ((label(c), num(f["us"], 1), num(f["limit"], 0), tracks_str(f), pct_str(f),
                      num(f.get("calib_run"), 1), drift(f.get("drift")), num(f.get("ahead_ms")))
                     + woken_cols(f)))
    print("us/call: one S-frame process() call in a hot loop (S: the row's script_block);"
          " limit = %s cores x S/48000 s / us/call;" % cores)
    print("calib_us: bench_tracks' onepole @128 check before each run, median over the"
          " search's runs; drift: that / this calibration's onepole @128 (%s us; > 1: the"
          " machine was slower during the runs); ahead ms: render_ahead_ms at the end of"
          " the runs (shmix's stats), median"
          % (num(cal["us_per_call"]["onepole"].get("128"), 1)
             if cal and "onepole" in cal["us_per_call"] else "n/a"))
    print(WOKEN_NOTE)
    for c in configs:
        if fig[r, c].get("error"):
            print("%s: %s" % (label(c), fig[r, c]["error"]))
    for text, v in targets(r):
        print("target: %s%s" % (text, ": " + v if v else ""))
    sys.exit()

# medians over the repeats, then each repeat's figures
print("medians of %d repeats (\">=\": MAX_TRACKS reached, a lower bound); each repeat's"
      " tracks and %% of limit on the right" % len(reps))
mhdr = "%-26s %8s %6s  %-9s %-11s %8s %6s %8s  %8s %8s %6s %-11s   %-18s %s"
print(mhdr % ("configuration", "us/call", "limit", "sustained", "% of limit", "calib_us", "drift",
              "ahead ms", "hot 1s", "woken", "w.limit", "% of w.limit", "tracks per repeat",
              "% per repeat"))
for c in configs:
    fs = [fig[r, c] for r in reps]
    mt = med([f["tracks"] for f in fs])
    capped_med = mt is not None and any(f["capped"] and f["tracks"] <= mt for f in fs)
    mp = med([f["pct"] for f in fs])
    ge = ">=" if capped_med else ""
    print(mhdr % (label(c), num(med([f["us"] for f in fs]), 1), num(med([f["limit"] for f in fs]), 0),
                  "n/a" if mt is None else ge + num(mt),
                  "n/a" if mp is None else "%s%.1f %%" % (ge, mp),
                  num(med([f.get("calib_run") for f in fs]), 1), drift(med([f.get("drift") for f in fs])),
                  num(med([f.get("ahead_ms") for f in fs])),
                  num(med([f.get("hlong") for f in fs]), 1), num(med([f.get("wus") for f in fs]), 1),
                  num(med([f.get("wlim") for f in fs]), 0),
                  "n/a" if med([f.get("wpct") for f in fs]) is None
                  else "%s%.1f %%" % (ge, med([f.get("wpct") for f in fs])),
                  " ".join("n/a" if f["tracks"] is None else ("%s%d" % (">=" if f["capped"] else "", f["tracks"]))
                           for f in fs),
                  " ".join("n/a" if f["pct"] is None else "%.1f" % f["pct"] for f in fs)))
print(WOKEN_NOTE)
print()
# targets on the medians of the repeats' shares / ratios
f = [fig[r, ("shmix", "onepole", 2048)] for r in reps if (r, ("shmix", "onepole", 2048)) in fig]
if f:
    g = [x for x in f if x["pct"] is not None]
    ps = [x["pct"] for x in g]
    if ps:
        m = statistics.median(ps)
        ds = [x.get("drift") for x in g]
        met = sum(1 for p, d in zip(ps, ds) if p >= 70 and (not d or p * d >= 70))
        capped = any(x["capped"] for x in g)   # a lower bound in the median
        v = onepole_verdict(ps, ds, capped)
        print("target: one-pole @2048 >= 70 %% of its compute limit: median %s%.1f %% [%s]%s: %s (met in %d of %d repeats)"
              % (">=" if capped else "", m,
                 ", ".join("%s%.1f" % (">=" if x["capped"] else "", x["pct"]) for x in g),
                 at_run_speed(ps, ds), v, met, len(ps)))
    else:
        print("target: one-pole @2048 >= 70 % of its compute limit: n/a (not measured)")
ks = [(r, fig.get((r, ("shmix", "drive", 2048))), fig.get((r, ("shmix", "drive", 128)))) for r in reps]
ks = [(r, a, b) for r, a, b in ks if a is not None and b is not None]
if ks:
    good = [(r, a, b) for r, a, b in ks if a["tracks"] is not None and b["tracks"]]
    if good:
        ratios = [a["tracks"] / b["tracks"] for _, a, b in good]
        m = statistics.median(ratios)
        any_cap = any(a["capped"] for _, a, _ in good)
        undecided = m < 3 and any_cap
        met = sum(1 for x in ratios if x >= 3)
        print("target: tanh @2048 >= 3 x tanh @128 (tracks): median ratio %s%.2fx [%s]: %s (met in %d of %d repeats)"
              % (">=" if any_cap else "", m,
                 ", ".join("%s%d/%d" % (">=" if a["capped"] else "", a["tracks"], b["tracks"]) for _, a, b in good),
                 "NOT DECIDED (MAX_TRACKS=%d reached)" % max_tracks if undecided else ("MET" if m >= 3 else "MISSED"),
                 met, len(ratios)))
    else:
        print("target: tanh @2048 >= 3 x tanh @128 (tracks): n/a (not measured)")
print()
print("every repeat:")
header("  ")
for r in reps:
    cal = calib.get(r)
    print("repeat %d (calibrated %s):" % (r, cal["time"] if cal else "n/a"))
    for c in configs:
        f = fig[r, c]
        print("  " + hdr % ((label(c), num(f["us"], 1), num(f["limit"], 0), tracks_str(f), pct_str(f),
                            num(f.get("calib_run"), 1), drift(f.get("drift")), num(f.get("ahead_ms")))
                           + woken_cols(f)))
    for text, v in targets(r):
        print("  target: %s%s" % (text, ": " + v if v else ""))
EOF
}

# ---- run ----
t_all=$SECONDS
echo "bench_capacity: $cores CPUs, $(uname -r); $frames-frame periods at 48 kHz; $duration s per run;" \
     "$repeat repeat(s); script_blocks: $script_blocks; workloads: $workloads;" \
     "GIL host: $([[ $gil == 1 ]] && echo yes || echo no); render-ahead:" \
     "$([[ $ahead == auto ]] && echo "shmix's own (bench_gil 30 blocks)" || echo "$ahead blocks")$([[ $ahead_128 != "$ahead" ]] && echo ", shmix @$frames: $ahead_128");" \
     "START at $start_pct % (script_block > $frames) / $start_pct_128 % (shmix @$frames) / $gil_start_pct % (GIL)" \
     "of the compute limit$([[ $adapt == 1 ]] && echo ", later repeats at the earlier ones' median"); GROW $grow %;" \
     "bisected to N/$resolution;" \
     "MAX_TRACKS $max_tracks"
echo "shmix: $build/shmix ($(git -C "$src" log -1 --format='%h %s' 2>/dev/null | cut -c1-70 || echo '?'))"
((sb_supported)) || echo "NOTE: this shmix rejects script_block ($sb_why): the script_block > $frames searches are not run"
echo "results: $results"
for ((r = 1; r <= repeat; r++)); do
    t_rep=$SECONDS
    echo "== repeat $r/$repeat: calibration $(date +%T)" >&2
    calib_line=$(calibrate "$r")
    echo "$calib_line" >>"$results"
    echo "   $calib_line" >&2
    for w in $workloads; do
        for sb in $script_blocks; do
            if ((sb > frames)); then
                search_one "$r" shmix "$w" "$sb" "$start_pct"
            else
                search_one "$r" shmix "$w" "$sb" "$start_pct_128"
            fi
        done
        if [[ $gil == 1 ]]; then
            search_one "$r" gil "$w" "$frames" "$gil_start_pct"
        fi
    done
    echo
    echo "Repeat $r of $repeat ($(( (SECONDS - t_rep) / 60 )) min; tracks sustained for $duration s at <= 0.2 late blocks + xruns/s, $frames-frame periods, $cores CPUs)"
    report "$r" "$r"
done
if ((repeat > 1)); then
    echo
    echo "All $repeat repeats ($(( (SECONDS - t_all) / 60 )) min)"
    report 1 "$repeat"
fi

if [[ ${SKIP_MEMORY:-0} != 1 ]]; then
    echo
    echo "PSS per scripted track (tests/bench/bench_memory.sh, RUNS=${MEMORY_RUNS:-1})"
    menv=(RUNS="${MEMORY_RUNS:-1}")
    [[ -n ${MEMORY_TRACKS:-} ]] && menv+=(TRACKS="$MEMORY_TRACKS")
    [[ -n $lock ]] && menv+=(LOCK="$lock")
    env "${menv[@]}" "$here/bench_memory.sh" "$build" || echo "bench_memory.sh failed (exit $?)"
fi
echo
echo "bench_capacity: done in $(( (SECONDS - t_all) / 60 )) min; every record in $results"
