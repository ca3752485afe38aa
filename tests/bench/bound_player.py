"""bound_player.py - the best a process-per-track player could do here.

N processes, each standing in for one track's worker and nothing else: no
engine, no track threads, no mixer, no disk, no shared memory, no hand-off.
Each is forked from one parent that has imported numpy and the script (as
shmix's zygote does), sleeps until its batch is due, calls process() K times
on its own block and sleeps again, at the real-time rate of K x SCRIPT_BLOCK
frames at 48 kHz per wake-up. The tracks' wake-ups are staggered evenly over
a batch, as shmix staggers its tracks. A batch woken at time t has SLACK ms
before its first 128-frame block is due (the render-ahead), and each later
block of the batch one period more; every block finished after its due time
counts as late - the rule of bench_tracks.sh and bench_capacity.sh, whose
shmix runs count the blocks the mixer did not have in time.

So whatever this cannot sustain, no player that runs one process per track
and sleeps between batches can sustain on this machine at this moment:
shmix pays for all of this plus its own hand-offs, mixing and file reading.
Not a test; bench_bound.sh runs it beside shmix.

usage: bound_player.py SCRIPT TRACKS SCRIPT_BLOCK CALLS SLACK_MS DURATION RT_PRIO
  RT_PRIO  SCHED_FIFO priority for the tracks (shmix's workers: 4), 0: none
Prints one JSON line: late blocks, batches, CPU per call, hot-loop cost of
one call in the parent just before and just after the run.

       bound_player.py --calibrate SCRIPT SCRIPT_BLOCK
Prints one JSON line: one call in a hot loop (us, median of ~30 ms
batches over 2 s), then the same on each CPU at once, each process pinned
to its CPU: a VM's CPUs are not always equally fast (one of them can run
at half speed for minutes while the host gives its core to someone else),
and the compute limit counts both at the first figure.
"""
import importlib.util
import json
import math
import mmap
import os
import statistics
import struct
import sys
import time
import types

RATE, PERIOD_FRAMES = 48000, 128


def load(path, frames):
    spec = importlib.util.spec_from_file_location("script", path)
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    if hasattr(m, "setup"):
        m.setup(types.SimpleNamespace(sample_rate=RATE, block_size=frames, channels=2,
                                      track="bound", params={}))
    return m


def make_block(frames):
    import numpy as np
    t = np.arange(frames) / RATE
    b = np.empty((frames, 2), dtype=np.float32)
    b[:, 0] = 0.5 * np.sin(2 * math.pi * 220 * t)
    b[:, 1] = 0.5 * np.sin(2 * math.pi * 330 * t)
    return b


def hot_us(process, frames, seconds=2.0):
    """The median of one call in a hot loop, in batches of ~30 ms."""
    block = make_block(frames)
    for _ in range(20):
        process(block)
    meds, end = [], time.monotonic() + seconds
    while time.monotonic() < end:
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < 0.03:
            process(block)
            n += 1
        meds.append((time.perf_counter() - t0) / n * 1e6)
    return statistics.median(meds)


def track(m, i, n, frames, calls, slack, duration, prio, shared, out_fd):
    if prio > 0:
        try:
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(prio))
        except OSError:
            pass
    block = make_block(frames)
    m.process(block)                                  # its first call before the clock
    struct.pack_into("q", shared, 8 * (i + 1), 1)     # ready
    while struct.unpack_from("d", shared, 0)[0] == 0.0:
        time.sleep(0.001)
    start = struct.unpack_from("d", shared, 0)[0]
    period = calls * frames / RATE
    blocks = calls * frames // PERIOD_FRAMES
    t = start + period * i / n
    late = batches = 0
    cpu = 0.0
    while t < start + duration:
        now = time.monotonic()
        if t > now:
            time.sleep(t - now)
        c0 = time.thread_time()
        for _ in range(calls):
            m.process(block)
        cpu += time.thread_time() - c0
        done = time.monotonic()
        batches += 1
        # blocks j of this batch due at t + slack + j periods
        over = done - (t + slack)
        if over > 0:
            late += min(blocks, int(over * RATE / PERIOD_FRAMES) + 1)
        t += period
    os.write(out_fd, (json.dumps({"late": late, "batches": batches, "cpu": cpu}) + "\n").encode())


def calibrate(path, frames):
    m = load(path, frames)
    hot = hot_us(m.process, frames)
    cpus = sorted(os.sched_getaffinity(0))
    r, w = os.pipe()
    pids = []
    for c in cpus:
        pid = os.fork()
        if pid == 0:
            os.sched_setaffinity(0, {c})
            os.write(w, ("%d %f\n" % (c, hot_us(m.process, frames, 3.0))).encode())
            os._exit(0)
        pids.append(pid)
    os.close(w)
    data = b""
    while True:
        chunk = os.read(r, 4096)
        if not chunk:
            break
        data += chunk
    for p in pids:
        os.waitpid(p, 0)
    per = {int(a): round(float(b), 1) for a, b in (x.split() for x in data.decode().splitlines())}
    print(json.dumps({"hot_us": round(hot, 2), "per_cpu_us": [per[c] for c in sorted(per)]}))


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--calibrate":
        calibrate(sys.argv[2], int(sys.argv[3]))
        return
    if len(sys.argv) != 8:
        sys.exit(__doc__)
    path, n, frames, calls, slack_ms, duration, prio = sys.argv[1:]
    n, frames, calls, prio = int(n), int(frames), int(calls), int(prio)
    slack, duration = float(slack_ms) / 1e3, float(duration)
    m = load(path, frames)
    before = hot_us(m.process, frames)
    shared = mmap.mmap(-1, 8 * (n + 1))
    r, w = os.pipe()
    pids = []
    for i in range(n):
        pid = os.fork()
        if pid == 0:
            os.close(r)
            code = 0
            try:
                track(m, i, n, frames, calls, slack, duration, prio, shared, w)
            except BaseException:
                code = 1
            os._exit(code)
        pids.append(pid)
    os.close(w)
    while not all(struct.unpack_from("q", shared, 8 * (i + 1))[0] for i in range(n)):
        time.sleep(0.01)
    struct.pack_into("d", shared, 0, time.monotonic() + 0.2)
    data = b""
    while True:
        chunk = os.read(r, 1 << 16)
        if not chunk:
            break
        data += chunk
    failed = sum(1 for p in pids if os.waitpid(p, 0)[1] != 0)
    after = hot_us(m.process, frames)
    rows = [json.loads(x) for x in data.decode().splitlines() if x]
    late = sum(x["late"] for x in rows)
    batches = sum(x["batches"] for x in rows)
    cpu = sum(x["cpu"] for x in rows)
    print(json.dumps({"system": "bound", "tracks": n, "script_block": frames, "calls": calls,
                      "slack_ms": float(slack_ms), "duration": duration, "rt_prio": prio,
                      "late_blocks": late if not failed else None, "failed": failed,
                      "late_per_s": round(late / duration, 2), "batches": batches,
                      "cpu_us_per_call": round(cpu / max(1, batches * calls) * 1e6, 1),
                      "cpus": round(cpu / duration, 2),
                      "hot_us_before": round(before, 1), "hot_us_after": round(after, 1)}))


if __name__ == "__main__":
    main()
