#!/usr/bin/env bash
# bench_bound.sh - how close to the compute limit any player that runs one
# process per track could come on this machine, beside shmix at the same
# track counts. Not a test; run by hand on an otherwise idle machine.
#
# usage: tests/bench/bench_bound.sh [BUILD_DIR]     (default ../../build from here)
# environment:
#   WORKLOAD=onepole   a script from assets/scripts (onepole: pure-Python
#                      per-sample one-pole; drive: numpy tanh)
#   SCRIPT_BLOCK=2048  frames per process() call (a multiple of 128)
#   PCTS="50 60 70"    track counts to run, as % of the compute limit
#   REPEAT=3           rounds; each calibrates again and runs every PCT
#   DURATION=30        seconds per run (the capacity rule: <= 0.2 late
#                      blocks per second summed over the tracks)
#   CALLS=4            the bound's calls per wake-up (4 x 2048 frames: the
#                      most one shmix request carries, its batch at loads
#                      like these; more calls per wake-up favour the bound)
#   SLACK_MS=400       the bound's render-ahead (shmix's own upper end;
#                      shmix itself chooses its own, as in bench_capacity)
#   LOCK=FILE          an exclusive flock(1) on FILE around each run
#
# Each round: the calibration (bound_player.py --calibrate: one call in a
# hot loop, and the same on each CPU at once), the compute limit from it
# (the sum over the CPUs of SCRIPT_BLOCK / 48000 s / that CPU's us per call:
# the issue's formula, cores x period / one call, when the CPUs are alike,
# and right when the host has slowed one of them, which happens here), then
# for each PCT, N = PCT % of that limit and two runs of N tracks in turns
# (which goes first alternates by round):
#   bound  bound_player.py: N processes forked from one numpy parent, each
#          calling process() CALLS times per wake-up at the real-time rate,
#          staggered, SCHED_FIFO 4 like shmix's workers, nothing else at all
#   shmix  `shmix play --null --block 128 --loop` on N tracks of the script
#          (the session of bench_capacity), late = the tracks' late_blocks
#          plus the null device's xruns
# and prints late blocks per second of each, the bound's CPU per call
# against the hot loop's, and whether each passed. What the bound cannot
# sustain, no one-process-per-track player that sleeps between batches
# can on this machine; the issue's target is at PCT 70 for one-pole.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/../.." && pwd)
build=$(cd "${1:-$here/../../build}" && pwd)
shmix=$build/shmix
workload=${WORKLOAD:-onepole}
sb=${SCRIPT_BLOCK:-2048}
pcts=${PCTS:-"50 60 70"}
repeat=${REPEAT:-3}
duration=${DURATION:-30}
calls=${CALLS:-4}
slack=${SLACK_MS:-400}
lock=${LOCK:-}
py=/usr/bin/python3
script=$src/assets/scripts/$workload.py

die() { echo "bench_bound: $*" >&2; exit 1; }
[[ -x $shmix && -x $build/shmix-worker ]] || die "no shmix in $build (cmake --build $build)"
[[ -r $script ]] || die "no $script"
[[ $sb =~ ^[0-9]+$ && $((sb % 128)) == 0 && $sb -gt 0 ]] || die "SCRIPT_BLOCK must be a positive multiple of 128"
$py -c 'import numpy' 2>/dev/null || die "$py cannot import numpy (apt-get install python3-numpy)"
command -v sox >/dev/null || die "sox not found"
with_lock() { if [[ -n $lock ]]; then flock "$lock" "$@"; else "$@"; fi; }

tmp=$(mktemp -d /tmp/shmix-bench-bound.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
sox -n -r 48000 -c 2 -b 16 "$tmp/loop.wav" synth 10 sine 220 sine 330 vol 0.5
cp "$script" "$tmp/s.py"
results=$tmp/results.jsonl

write_session() {   # write_session FILE N
    {
        echo "sample_rate: 48000"
        echo "block_size: 128"
        echo "channels: 2"
        echo "script_block: $sb"
        echo "tracks:"
        for ((i = 0; i < $2; i++)); do
            printf '  - name: t%04d\n    file: loop.wav\n    gain_db: -60\n    script: s.py\n' "$i"
        done
    } >"$1"
}

run_bound() {   # run_bound ROUND PCT N
    with_lock "$py" "$here/bound_player.py" "$tmp/s.py" "$3" "$sb" "$calls" "$slack" "$duration" 4 |
        $py -c 'import json, sys; d = json.loads(sys.stdin.read()); d.update(round=int(sys.argv[1]), pct=int(sys.argv[2])); print(json.dumps(d))' "$1" "$2" >>"$results"
}

run_shmix() {   # run_shmix ROUND PCT N
    write_session "$tmp/s.yaml" "$3"
    rm -f "$tmp/stats.jsonl"
    local rc=0
    (cd "$tmp" && with_lock "$shmix" play s.yaml --null --block 128 --loop --duration "$duration" \
        --stats stats.jsonl --stats-interval "$duration" >/dev/null 2>"$tmp/err.txt") || rc=$?
    $py - "$tmp/stats.jsonl" "$1" "$2" "$3" "$rc" "$duration" >>"$results" <<'EOF'
import json, sys
path, rnd, pct, n, rc, dur = sys.argv[1:]
lines = [l for l in open(path) if l.strip()] if rc == "0" else []
out = {"system": "shmix", "round": int(rnd), "pct": int(pct), "tracks": int(n)}
if lines:
    d = json.loads(lines[-1])
    late = sum(t.get("late_blocks", 0) for t in d["tracks"]) + d.get("xruns", 0)
    out.update(late_blocks=late, late_per_s=round(late / float(dur), 2),
               running=all(t.get("state") == "running" for t in d["tracks"]),
               render_ahead_ms=d.get("render_ahead_ms"))
else:
    out.update(late_blocks=None, error="exit " + rc)
print(json.dumps(out))
EOF
}

echo "bench_bound: $(nproc) CPUs, $(uname -r); $workload, script_block $sb at 128-frame periods;" \
     "$duration s per run; $repeat round(s); PCTS $pcts; bound: $calls calls per wake-up, $slack ms slack, SCHED_FIFO 4"
echo "shmix: $shmix ($(git -C "$src" log -1 --format='%h %s' 2>/dev/null | cut -c1-60))"
for ((r = 1; r <= repeat; r++)); do
    cal=$(with_lock "$py" "$here/bound_player.py" --calibrate "$tmp/s.py" "$sb")
    echo "$cal" | $py -c 'import json, sys; d = json.loads(sys.stdin.read()); d.update(record="calibration", round=int(sys.argv[1])); print(json.dumps(d))' "$r" >>"$results"
    # The limit counts each CPU at its own speed (both pinned, at once):
    # with equal CPUs that is the issue's formula, cores x period / one
    # call; when the host slows one of them, the formula at the first
    # figure says nothing about the other.
    read -r hot limit formula <<<"$(echo "$cal" | $py -c '
import json, sys
d = json.loads(sys.stdin.read()); s = int(sys.argv[1]) / 48000
print(d["hot_us"], sum(s / (u * 1e-6) for u in d["per_cpu_us"]), len(d["per_cpu_us"]) * s / (d["hot_us"] * 1e-6))' "$sb")"
    echo "round $r: one call $hot us in a hot loop, $(echo "$cal" | $py -c 'import json, sys; print(" / ".join("cpu%d %s us" % x for x in enumerate(json.loads(sys.stdin.read())["per_cpu_us"])))') pinned at once: compute limit $(printf '%.0f' "$limit") tracks (the formula at the hot loop's figure: $(printf '%.0f' "$formula"))"
    for pct in $pcts; do
        n=$($py -c "print(max(1, round($limit * $pct / 100)))")
        if ((r % 2)); then order="bound shmix"; else order="shmix bound"; fi
        for sys in $order; do
            "run_$sys" "$r" "$pct" "$n"
            tail -n 1 "$results" | $py -c '
import json, sys
d = json.loads(sys.stdin.read())
late = d.get("late_per_s")
extra = ""
if d["system"] == "bound":
    extra = "  CPU per call %s us (hot loop %s / %s before / after), %s CPUs" % (
        d["cpu_us_per_call"], d["hot_us_before"], d["hot_us_after"], d["cpus"])
elif d.get("render_ahead_ms") is not None:
    extra = "  render-ahead %s ms" % d["render_ahead_ms"]
ok = late is not None and late <= 0.2 and d.get("running", True) and not d.get("failed")
print("  %3d %% = %4d tracks  %-5s  %s late blocks/s: %s%s" % (d["pct"], d["tracks"], d["system"],
      "-" if late is None else late, "passes" if ok else "FAILS", extra))'
        done
    done
done

$py - "$results" "$pcts" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print("\nsummary (passes: <= 0.2 late blocks per second over the run, every track running)")
print("  %limit  system  passes   late blocks/s per round")
for pct in [int(p) for p in sys.argv[2].split()]:
    for s in ("bound", "shmix"):
        rs = [r for r in rows if r.get("system") == s and r.get("pct") == pct]
        ok = [r.get("late_per_s") is not None and r["late_per_s"] <= 0.2 and r.get("running", True)
              and not r.get("failed") for r in rs]
        print("  %5d   %-6s  %d of %d   %s" % (pct, s, sum(ok), len(rs),
              " ".join("-" if r.get("late_per_s") is None else str(r["late_per_s"]) for r in rs)))
EOF
