#!/usr/bin/env bash
# bench_control.sh - live control over OSC: how soon a fader message is
# heard, and what a flood of messages does to a playing engine, side by side
# in one run. Not a test; run by hand on an otherwise idle machine (each
# part plays in real time).
#
# usage: tests/bench/bench_control.sh [BUILD_DIR]     (default ../../build)
#   BUILD_DIR holds shmix, shmix-worker and bench_osc_send
#   (cmake --build BUILD_DIR --target bench)
#
# environment:
#   RUNS=3             runs of each part (the figures are medians over them)
#   LAT_COUNT=200      messages per latency run
#   FLOOD_RATE=100000  messages a second in the flood
#   FLOOD_SECONDS=10   seconds of flood
#   FLOOD_BLOCK=256    the flood session's block size
#   KEEP=1             keep the temp folder (sessions, captures, recordings)
#
# 1. Latency. A 2-track session at 48 kHz - track "dc" a constant 0.25 on
#    the left channel (16-bit 8192: exact), track "sine" a 330 Hz sine on
#    the right - plays `--null --duration 12 --osc 0 --record --capture-events`
#    at 128 and at 256 frames. bench_osc_send sends LAT_COUNT
#    /shmix/track/dc/gain_db messages over UDP, -3 and -9 dB alternately,
#    20-60 ms apart (uniform). From the capture, each message's latency is
#    (at - arrived) in device periods (period = block / rate): output blocks
#    between the one playing when the console took the message and the one
#    where it took effect. From the recording, each change is checked: the
#    first left-channel sample that differs from 0.25 x the old fader must be
#    the first sample of the block at `at`, and that block must be exactly
#    the mixer's linear ramp from the old fader to the new one (float32,
#    the pan law computed as engine/pan.c does); any other sample must stay
#    on the old level. Each message that fails is a mismatch. Target: within
#    two periods.
# 2. Flood. A 16-track session (t00..t15, tones, 4 of them with
#    assets/scripts/gain.py) plays `--null --osc 0 --duration 14 --stats
#    --stats-interval 0.5` at FLOOD_BLOCK frames, once with bench_osc_send
#    flooding FLOOD_RATE messages/s for FLOOD_SECONDS s (gain_db and pan to
#    random tracks, in 1 ms slices), once without (baseline), alternating.
#    From the final stats line: control_accepted, _dropped, _errors, the
#    tracks' late_blocks summed, xruns; lost = sent - accepted - dropped -
#    errors (datagrams the kernel dropped because the engine's socket buffer
#    was full), next to the kernel's own drop counter of that socket
#    (/proc/net/udp, read just before the engine exits) - they should agree.
#    dsp_load: the last interval line's (the final "stopped" line covers
#    only a moment), and the mean over the lines 1.5..11 s into the run.
#    Also the control thread's CPU time (shmix-osc, from /proc) and the
#    null device thread's (where the mixer and the command queue run).
#    Targets: zero late blocks; every message accounted for.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/../.." && pwd)
build=$(cd "${1:-$here/../../build}" && pwd)
runs=${RUNS:-3}
lat_count=${LAT_COUNT:-200}
flood_rate=${FLOOD_RATE:-100000}
flood_seconds=${FLOOD_SECONDS:-10}
flood_block=${FLOOD_BLOCK:-256}
rate=48000
py=/usr/bin/python3      # the system Python: Debian's numpy

die() { echo "bench_control: $*" >&2; exit 1; }
shmix=$build/shmix
sender=$build/bench_osc_send
[[ -x $shmix && -x $build/shmix-worker ]] || die "no shmix in $build (cmake --build $build)"
[[ -x $sender ]] || die "no $sender (cmake --build $build --target bench)"
$py -c 'import numpy' 2>/dev/null || die "$py cannot import numpy (apt-get install python3-numpy)"
((runs >= 1)) || die "RUNS must be >= 1"

tmp=$(mktemp -d /tmp/shmix-bench-control.XXXXXX)
play_pid=
cleanup() {
    if [[ -n $play_pid ]]; then kill "$play_pid" 2>/dev/null || true; wait "$play_pid" 2>/dev/null || true; fi
    [[ ${KEEP:-0} == 1 ]] && echo "kept $tmp" || rm -rf "$tmp"
}
trap cleanup EXIT

# ---- material: 15 s, 48 kHz, 16-bit stereo ----
$py - "$tmp" <<'EOF'
import sys, wave
import numpy as np
tmp = sys.argv[1]
n = 48000 * 15
t = np.arange(n) / 48000.0
def write(name, left, right):
    d = np.stack([left, right], axis=1).astype("<i2")
    with wave.open(f"{tmp}/{name}", "wb") as f:
        f.setnchannels(2); f.setsampwidth(2); f.setframerate(48000)
        f.writeframes(d.tobytes())
write("dc.wav", np.full(n, 8192), np.zeros(n))                    # 0.25 exactly, left only
write("sine.wav", np.zeros(n), np.round(8192 * np.sin(2 * np.pi * 330 * t)))
for i in range(4):
    f = 110 * (i + 2)
    write(f"tone{i}.wav", np.round(6000 * np.sin(2 * np.pi * f * t)),
          np.round(6000 * np.sin(2 * np.pi * f * 1.5 * t)))
EOF
for b in 128 256; do
    cat >"$tmp/lat$b.yaml" <<YAML
sample_rate: $rate
block_size: $b
channels: 2
tracks:
  - {name: dc, file: dc.wav}
  - {name: sine, file: sine.wav}
YAML
done
{
    echo "sample_rate: $rate"
    echo "block_size: $flood_block"
    echo "channels: 2"
    echo "tracks:"
    for ((i = 0; i < 16; i++)); do
        printf '  - {name: t%02d, file: tone%d.wav, gain_db: -24' "$i" $((i % 4))
        ((i % 4 == 0)) && printf ', script: %s, params: {gain_db: -1.0}' "$src/assets/scripts/gain.py"
        echo "}"
    done
} >"$tmp/flood.yaml"
"$shmix" check "$tmp/lat128.yaml" >/dev/null || die "shmix check lat128.yaml failed"
"$shmix" check "$tmp/flood.yaml" >/dev/null || die "shmix check flood.yaml failed"

# start_play ERRFILE ARGS...: shmix play in the background; sets play_pid and
# port (from "shmix: OSC on udp port N" on stderr).
start_play() {
    local err=$1; shift
    "$shmix" play "$@" 2>"$err" &
    play_pid=$!
    port=
    for ((w = 0; w < 300; w++)); do
        port=$(sed -n 's/^shmix: OSC on udp port \([0-9]*\).*/\1/p' "$err")
        [[ -n $port ]] && return 0
        kill -0 "$play_pid" 2>/dev/null || break
        sleep 0.1
    done
    cat "$err" >&2
    die "shmix play did not report its OSC port"
}
# finish_play ERRFILE: waits for it (at most 60 s more), complains about stderr
finish_play() {
    local rc=0 w
    for ((w = 0; w < 600; w++)); do
        kill -0 "$play_pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$play_pid" 2>/dev/null && { kill "$play_pid"; echo "  shmix play did not end: killed" >&2; }
    wait "$play_pid" || rc=$?
    play_pid=
    if [[ $rc != 0 ]] || grep -qv '^shmix: \(OSC on udp port\|playing on\)' "$1"; then
        echo "  shmix play (exit $rc) said:" >&2
        grep -v '^shmix: \(OSC on udp port\|playing on\)' "$1" | head -n 10 | sed 's/^/    /' >&2 || true
    fi
    return 0
}

# cpu_of PID: "OSC_THREAD_S NULL_THREAD_S PROCESS_S", CPU seconds so far (one
# awk over the threads' stat lines and then the process's, the last line)
cpu_of() {
    cat /proc/"$1"/task/*/stat /proc/"$1"/stat 2>/dev/null | awk -v k="$clk_tck" '
        { c = $0; sub(/^[^(]*\(/, "", c); sub(/\)[^)]*$/, "", c)
          r = $0; sub(/^.*\) /, "", r); split(r, f, " "); v = f[12] + f[13]
          if (c == "shmix-osc") osc = v
          if (c == "shmix-null") nul = v
          proc = v }
        END { printf "%.2f %.2f %.2f", osc / k, nul / k, proc / k }'
}
# udp_drops PORT: the kernel's drop counter of the socket bound to 127.0.0.1:PORT
udp_drops() {
    awk -v p="$(printf '0100007F:%04X' "$1")" '$2 == p { print $NF; found = 1 } END { if (!found) print "null" }' /proc/net/udp
}
# sampler PID PORT FILE: every 0.5 s while PID lives, a line "OSC NULL PROC DROPS"
# (the analysis takes the largest of each: threads and the socket go away
# one by one while the engine shuts down)
sampler() {
    while kill -0 "$1" 2>/dev/null; do
        echo "$(cpu_of "$1") $(udp_drops "$2")" >>"$3"
        sleep 0.5
    done
}
clk_tck=$(getconf CLK_TCK)

lat_results=$tmp/latency.jsonl
flood_results=$tmp/flood.jsonl
: >"$lat_results"
: >"$flood_results"

# ---- 1. latency ----
latency_run() {   # latency_run BLOCK RUN
    local b=$1 r=$2 d
    d=$tmp/lat$1-$2
    mkdir -p "$d"
    start_play "$d/err.txt" "$tmp/lat$b.yaml" --null --duration 12 --osc 0 \
        --record "$d/rec.wav" --capture-events "$d/cap.yaml" \
        --stats "$d/stats.jsonl" --stats-interval 0.5
    "$sender" "$port" latency -n "$lat_count" --min-ms 20 --max-ms 60 --track 0 \
        --values -3,-9 --delay-ms 1000 --seed $((b * 10 + r)) >"$d/sender.json"
    finish_play "$d/err.txt"
    $py - "$d" "$b" "$rate" "$r" >>"$lat_results" <<'EOF'
import json, math, re, struct, sys
import numpy as np
d, block, rate, run = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
sender = json.load(open(f"{d}/sender.json"))
stats = [json.loads(l) for l in open(f"{d}/stats.jsonl") if l.strip()]
last = stats[-1]

ev = []
pat = re.compile(r"^  - \{at: ([^,]+), arrived: ([^,]+), osc: \[([^,\]]+), ([^\]]+)\]\}$")
for line in open(f"{d}/cap.yaml"):
    m = pat.match(line.rstrip("\n"))
    if m:
        ev.append((float(m.group(1)), float(m.group(2)), m.group(3), float(m.group(4))))

def wav_float(path):
    b = open(path, "rb").read()
    assert b[:4] == b"RIFF" and b[8:12] == b"WAVE", "not a WAV"
    i, fmt, data = 12, None, None
    while i + 8 <= len(b):
        cid, size = b[i:i + 4], struct.unpack("<I", b[i + 4:i + 8])[0]
        if cid == b"fmt ":
            fmt = struct.unpack("<HHIIHH", b[i + 8:i + 24])
        elif cid == b"data":
            data = b[i + 8:i + 8 + size]
        i += 8 + size + (size & 1)
    tag, ch, sr, _, _, bits = fmt
    assert bits == 32 and tag in (3, 0xFFFE) and sr == rate, f"unexpected WAV format {fmt}"
    return np.frombuffer(data, dtype="<f4").reshape(-1, ch)

x = wav_float(f"{d}/rec.wav")
left = x[:, 0]
level = np.float32(0.25)

def fader(db):   # engine/pan.c pan_law for a stereo source at pan 0, left
    g = math.pow(10.0, db / 20.0)
    a = (0.0 + 1.0) * math.pi / 4.0
    return np.float32(g * min(1.0, math.sqrt(2.0) * math.cos(a)))

def ramp(a, b):  # engine/mixer.c add_faded: a -> b over the block, b on its last frame
    dd = np.float32(b - a) / np.float32(block)
    g = (a + dd * np.arange(1, block + 1, dtype=np.float32)).astype(np.float32)
    g[-1] = b
    return (level * g).astype(np.float32)

lat = [round((at - ar) * rate / block) for at, ar, _, _ in ev]
# Group by the block each took effect at (two in one block: the later wins).
groups = {}
for at, ar, addr, v in ev:
    groups.setdefault(round(at * rate / block), []).append(v)
mismatch, merged, checked, notes = 0, 0, 0, []
old = fader(0.0)
start = 0                       # first sample not yet checked
for o in sorted(groups):
    new = fader(groups[o][-1])
    s = o * block
    if s + block > len(left):
        notes.append(f"block {o} past the recording's end")
        mismatch += len(groups[o])
        continue
    checked += len(groups[o])
    if new == old:              # cancelled within one block: nothing may change
        merged += len(groups[o])
        if not np.all(left[start:s + block] == level * old):
            mismatch += len(groups[o])
            notes.append(f"block {o}: changed though the fader did not move")
        start = s + block
        continue
    seg = left[start:s + block]
    moved = np.nonzero(seg != level * old)[0]
    first = start + int(moved[0]) if len(moved) else None
    ok = first == s and np.array_equal(left[s:s + block], ramp(old, new))
    if not ok:
        mismatch += len(groups[o])
        if len(notes) < 5:
            got = left[s:s + block]
            notes.append(f"block {o}: first change at sample {first}, expected {s}; "
                         f"max |ramp error| {float(np.max(np.abs(got - ramp(old, new)))):.3g}")
    old = new
    start = s + block
if not np.all(left[start:] == level * old):
    notes.append("the level moved after the last message")
    mismatch += 1

res = {"block": block, "run": run, "sent": sender["sent"], "captured": len(ev),
       "checked": checked, "mismatches": mismatch, "merged": merged,
       "recorded_s": round(len(left) / rate, 4),
       "p50": int(np.percentile(lat, 50, method="inverted_cdf")) if lat else None,
       "p99": int(np.percentile(lat, 99, method="inverted_cdf")) if lat else None,
       "max": max(lat) if lat else None,
       "hist": {str(k): lat.count(k) for k in sorted(set(lat))},
       "rtt_us_p50": sender["rtt_us_p50"], "rtt_us_p99": sender["rtt_us_p99"],
       "replies_ok": sender["replies_ok"], "replies_error": sender["replies_error"],
       "late_blocks": sum(t["late_blocks"] for t in last["tracks"]), "xruns": last["xruns"],
       "control_errors": last["control_errors"], "control_dropped": last["control_dropped"]}
if notes:
    res["notes"] = notes
print(json.dumps(res))
EOF
    tail -n 1 "$lat_results" | sed 's/^/  /' >&2
}

# ---- 2. flood and baseline ----
flood_run() {   # flood_run flood|baseline RUN
    local kind=$1 r=$2 d t0 t_sender t_end spid
    d=$tmp/$1-$2
    mkdir -p "$d"
    start_play "$d/err.txt" "$tmp/flood.yaml" --null --osc 0 --duration $((flood_seconds + 4)) \
        --stats "$d/stats.jsonl" --stats-interval 0.5
    t0=$EPOCHREALTIME
    sampler "$play_pid" "$port" "$d/samples.txt" &
    spid=$!
    if [[ $kind == flood ]]; then
        "$sender" "$port" flood --rate "$flood_rate" --seconds "$flood_seconds" --slice-ms 1 \
            --tracks 16 --delay-ms 1000 --seed "$r" >"$d/sender.json"
    else
        sleep $((flood_seconds + 2))
        echo '{"sent": 0, "send_failed": 0, "replies_ok": 0, "replies_error": 0, "replies_full": 0, "seconds": 0, "late_slices": 0, "max_behind_ms": 0, "cpu_s": 0}' >"$d/sender.json"
    fi
    t_sender=$EPOCHREALTIME
    finish_play "$d/err.txt"
    t_end=$EPOCHREALTIME
    wait "$spid" 2>/dev/null || true
    $py - "$d" "$kind" "$r" "$flood_seconds" "$t0" "$t_sender" "$t_end" >>"$flood_results" <<'EOF'
import json, sys
d, kind, run, fs, t0, t_sender, t_end = sys.argv[1:]
t0, t_sender, t_end = float(t0), float(t_sender), float(t_end)
s = json.load(open(f"{d}/sender.json"))
samples = [l.split() for l in open(f"{d}/samples.txt") if l.strip()]
c0 = [float(v) for v in samples[0][:3]]
c1 = [max(float(x[i]) for x in samples) for i in range(3)]
dr = [int(x[3]) for x in samples if x[3] != "null"]
stats = [json.loads(l) for l in open(f"{d}/stats.jsonl") if l.strip()]
last = stats[-1]
playing = [l for l in stats if l["state"] != "stopped"]
window = [l["dsp_load"] for l in stats if 1.5 <= l["time"] <= 1.0 + float(fs)]
acc, drp, err = last["control_accepted"], last["control_dropped"], last["control_errors"]
res = {"kind": kind, "run": int(run), "sent": s["sent"], "send_failed": s["send_failed"],
       "send_seconds": s["seconds"], "sender_late_slices": s["late_slices"],
       "sender_max_behind_ms": s["max_behind_ms"], "sender_cpu_s": s["cpu_s"],
       "accepted": acc, "dropped": drp, "errors": err, "lost": s["sent"] - acc - drp - err,
       "lost_pct": round(100.0 * (s["sent"] - acc - drp - err) / s["sent"], 2) if s["sent"] else 0.0,
       "kernel_drops": max(dr) if dr else None,
       "replies_ok": s["replies_ok"], "replies_error": s["replies_error"],
       "replies_full": s["replies_full"],
       "late_blocks": sum(t["late_blocks"] for t in last["tracks"]),
       "faulted_blocks": sum(t["faulted_blocks"] for t in last["tracks"]),
       "xruns": last["xruns"],
       "dsp_load_last": playing[-1]["dsp_load"] if playing else None,
       "dsp_load_mean": round(sum(window) / len(window), 2) if window else None,
       "osc_cpu_s": round(c1[0] - c0[0], 2), "null_cpu_s": round(c1[1] - c0[1], 2),
       "engine_cpu_s": round(c1[2] - c0[2], 2),
       # wall seconds from the OSC port's appearing: the sender done, the engine gone
       "sender_done_s": round(t_sender - t0, 2), "engine_done_s": round(t_end - t0, 2),
       "not_running": sum(1 for t in last["tracks"] if t["state"] not in ("running", "direct"))}
print(json.dumps(res))
EOF
    tail -n 1 "$flood_results" | sed 's/^/  /' >&2
}

echo "bench_control: $(nproc) CPUs, $(uname -r), $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1);" \
     "$runs runs of each part; load average $(cut -d' ' -f1-3 /proc/loadavg)"
t_start=$SECONDS
for ((r = 1; r <= runs; r++)); do
    echo "-- run $r of $runs: latency at 128 and 256 frames, then baseline and flood" >&2
    latency_run 128 "$r"
    latency_run 256 "$r"
    if ((r % 2)); then flood_run baseline "$r"; flood_run flood "$r"
    else flood_run flood "$r"; flood_run baseline "$r"; fi
done

# ---- report ----
$py - "$lat_results" "$flood_results" "$rate" "$flood_rate" "$flood_seconds" "$flood_block" \
    "$((SECONDS - t_start))" <<'EOF'
import json, statistics, sys
latf, floodf, rate, frate, fsec, fblock, took = sys.argv[1:]
rate = int(rate)
lat = [json.loads(l) for l in open(latf)]
fl = [json.loads(l) for l in open(floodf)]
med = lambda xs: statistics.median(xs) if xs else None
def fmt(v):
    if v is None: return "-"
    return f"{v:.2f}" if isinstance(v, float) else str(v)

print()
print("1. Control latency: arrival -> first changed sample, in device periods (capture: at - arrived)")
print(f"   {'block':>5} {'period':>8} {'msgs':>5} {'p50':>4} {'p99':>4} {'max':>4}  {'mismatches':>10}"
      f"  {'per run p50/p99/max':<24} {'ok rtt p50/p99 us':<18} late xruns")
verdicts = []
for b in (128, 256):
    rs = [x for x in lat if x["block"] == b]
    if not rs: continue
    p50, p99, mx = med([x["p50"] for x in rs]), med([x["p99"] for x in rs]), med([x["max"] for x in rs])
    mism = sum(x["mismatches"] for x in rs)
    per = " ".join(f"{x['p50']}/{x['p99']}/{x['max']}" for x in rs)
    rtt = f"{med([x['rtt_us_p50'] for x in rs]):.0f}/{med([x['rtt_us_p99'] for x in rs]):.0f}"
    print(f"   {b:>5} {1000 * b / rate:>6.2f}ms {med([x['captured'] for x in rs]):>5} {fmt(p50):>4} "
          f"{fmt(p99):>4} {fmt(mx):>4}  {mism:>10}  {per:<24} {rtt:<18} "
          f"{sum(x['late_blocks'] for x in rs)} {sum(x['xruns'] for x in rs)}")
    hist = {}
    for x in rs:
        for k, v in x["hist"].items(): hist[k] = hist.get(k, 0) + v
    print(f"   {'':>5} all runs: " + ", ".join(f"{k} periods: {v}" for k, v in sorted(hist.items(), key=lambda kv: int(kv[0]))))
    for x in rs:
        if x["captured"] != x["sent"]:
            print(f"   {'':>5} run {x['run']}: {x['sent']} sent, {x['captured']} captured")
        for n in x.get("notes", []):
            print(f"   {'':>5} run {x['run']}: {n}")
    verdicts.append((b, p99, mx, mism))
for b, p99, mx, mism in verdicts:
    print(f"   target at {b} frames: p99 within 2 periods: {'MET' if p99 is not None and p99 <= 2 else 'MISSED'}"
          f" (p99 {fmt(p99)}, max {fmt(mx)}); first changed sample at `at`: "
          f"{'MET' if mism == 0 else 'MISSED'} ({mism} mismatches)")

print()
print(f"2. Flood: 16 tracks (4 with gain.py) at {fblock} frames / {rate} Hz, {int(frate):,} msg/s for {fsec} s over UDP,"
      " next to the same play without it")
rows = [("messages sent", "sent"), ("control_accepted", "accepted"), ("control_dropped (queue full)", "dropped"),
        ("control_errors", "errors"), ("lost (sent-acc-drop-err)", "lost"), ("lost, % of sent", "lost_pct"),
        ("kernel drops (/proc/net/udp)", "kernel_drops"),
        ("replies received ok/error", None),
        ("late_blocks (sum of tracks)", "late_blocks"), ("faulted_blocks", "faulted_blocks"),
        ("xruns", "xruns"), ("dsp_load %, last line", "dsp_load_last"),
        ("dsp_load %, mean of flood window", "dsp_load_mean"),
        ("CPU s: control thread", "osc_cpu_s"), ("CPU s: null device thread", "null_cpu_s"),
        ("CPU s: engine process", "engine_cpu_s"), ("CPU s: sender", "sender_cpu_s"),
        ("sender: seconds sending", "send_seconds"),
        ("sender: max behind its clock ms", "sender_max_behind_ms")]
base = [x for x in fl if x["kind"] == "baseline"]
flood = [x for x in fl if x["kind"] == "flood"]
def col(rs, key):
    if key is None:
        return f"{fmt(med([x['replies_ok'] for x in rs]))}/{fmt(med([x['replies_error'] for x in rs]))}"
    vs = [x[key] for x in rs if x[key] is not None]
    return fmt(med(vs)) if vs else "-"
def runs(rs, key):
    if key is None:
        return " ".join(f"{x['replies_ok']}/{x['replies_error']}" for x in rs)
    return " ".join(fmt(x[key]) for x in rs)
print(f"   {'(medians of ' + str(len(flood)) + ' runs)':<34} {'baseline':>10} {'flood':>10}   flood runs")
for label, key in rows:
    print(f"   {label:<34} {col(base, key):>10} {col(flood, key):>10}   {runs(flood, key)}")
late = med([x["late_blocks"] for x in flood])
acc_ok = all(x["lost"] == x["kernel_drops"] and x["send_failed"] == 0 for x in flood)
print(f"   target: zero late blocks under the flood: {'MET' if late == 0 and all(x['late_blocks'] == 0 for x in flood) else 'MISSED'}"
      f" (per run: {', '.join(str(x['late_blocks']) for x in flood)})")
print(f"   target: every message accounted for (sent = accepted + dropped + errors + the kernel's drops): "
      f"{'MET' if acc_ok else 'MISSED'}")
print(f"\n(took {took} s)")
EOF
