#!/usr/bin/python3
"""jack_track.py - the JACK way of running a Python effect per track: one
JACK client process per track (python3-jack-client), each calling the same
shmix script from its process callback. The JACK baseline of bench_tracks.sh.

Run it with the system Python (/usr/bin/python3: Debian's python3-jack-client
and python3-numpy), against a running server, e.g. JACK's dummy backend:

    JACK_NO_AUDIO_RESERVATION=1 jackd -n shmixbench -d dummy -r 48000 -p 128 &
    JACK_DEFAULT_SERVER=shmixbench tests/bench/jack_track.py run SCRIPT -n 24 -d 30

usage:
  jack_track.py run SCRIPT -n TRACKS [-d SECONDS] [--settle SECONDS] [--json]
  jack_track.py client SCRIPT NAME          (one track; started by `run`)

`run` starts TRACKS `client` processes and waits until every one has loaded
the script, run setup(ctx), activated and connected its two output ports to
system:playback_1/2 (so the server mixes them, as a player's output would).
Then, after --settle seconds (default 3; clients joining the graph cause
xruns of their own), it counts the server's xruns for SECONDS (default 30)
with the xrun callback of one extra client of its own (no process
callback, no ports), samples the server's DSP load once a second, checks
that every track client is still alive, stops them all and prints a
summary (one JSON line with --json).

A track client: its script is loaded as a module of its own and given
setup(ctx) with ctx.sample_rate and ctx.block_size from the server,
ctx.channels = 2, ctx.track = NAME, ctx.params = {}. As in shmix's worker,
the collector runs once after setup(), everything is frozen and automatic
collection is off. Per JACK period its process callback copies the next
`frames` of its input (a 220/330 Hz sine pair at -6 dBFS, a different phase
per track, standing in for the file) into a float32 (frames, 2) numpy
array, calls process(block) (a returned array is used instead), and copies
the two columns into its output ports' buffers. An exception in process()
is counted and printed once.

An xrun here is one period in which the server's graph did not finish in
time: one count per late cycle, whatever the number of clients that were
late in it (shmix and bench_gil count late blocks per track).
"""
import gc
import os
import signal
import sys
import threading
import time
import types

import numpy as np
import jack

CHANNELS = 2


class Context:
    def __init__(self, rate, block, channels, track):
        self.sample_rate = rate
        self.block_size = block
        self.channels = channels
        self.track = track
        self.params = {}


def load_script(path, name, rate, block):
    with open(path, "rb") as f:
        code = compile(f.read(), path, "exec")
    mod = types.ModuleType(name)
    mod.__file__ = path
    folder = os.path.dirname(os.path.abspath(path))
    if folder not in sys.path:
        sys.path.insert(0, folder)
    exec(code, mod.__dict__)
    proc = getattr(mod, "process", None)
    if not callable(proc):
        raise TypeError(path + " defines no process(block) function")
    setup = getattr(mod, "setup", None)
    if setup is not None:
        setup(Context(rate, block, CHANNELS, name))
    return proc


def client_main(script, name):
    client = jack.Client(name, no_start_server=True)
    rate, frames = client.samplerate, client.blocksize
    proc = load_script(script, name, rate, frames)
    # One second of input (rounded to whole periods), looped.
    n = max(1, rate // frames) * frames
    t = np.arange(n) / rate
    sig = np.empty((n, CHANNELS), dtype=np.float32)
    sig[:, 0] = 0.5 * np.sin(2 * np.pi * 220.0 * t)
    sig[:, 1] = 0.5 * np.sin(2 * np.pi * 330.0 * t)
    index = sum(name.encode()) * 37
    pos = [(index * frames) % n]
    block = np.zeros((frames, CHANNELS), dtype=np.float32)
    outs = [client.outports.register("out_%d" % (c + 1)) for c in range(CHANNELS)]
    errors = [0]

    @client.set_process_callback
    def process(nframes):
        p = pos[0]
        b = block if nframes == frames else np.zeros((nframes, CHANNELS), dtype=np.float32)
        if p + nframes > n:
            p = 0
        b[:] = sig[p:p + nframes]
        pos[0] = p + nframes
        try:
            r = proc(b)
            if r is not None and r is not b:
                b[:] = r
        except Exception:
            if errors[0] == 0:
                import traceback
                traceback.print_exc()
            errors[0] += 1
        for c in range(CHANNELS):
            outs[c].get_array()[:] = b[:, c]

    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    gc.collect()
    gc.freeze()
    gc.disable()
    with client:
        playback = client.get_ports("system:playback_", is_audio=True, is_input=True)
        for c in range(min(CHANNELS, len(playback))):
            client.connect(outs[c], playback[c])
        print("ready", flush=True)
        while not done.wait(0.5):
            pass
    if errors[0]:
        print("%s: %d process() errors" % (name, errors[0]), file=sys.stderr)
    return 0


def run_main(args):
    import argparse
    import json
    import subprocess

    ap = argparse.ArgumentParser(prog="jack_track.py run")
    ap.add_argument("script")
    ap.add_argument("-n", "--tracks", type=int, required=True)
    ap.add_argument("-d", "--duration", type=float, default=30.0)
    ap.add_argument("--settle", type=float, default=3.0)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(args)
    script = os.path.abspath(a.script)
    if not os.access(script, os.R_OK):
        ap.error("cannot read " + a.script)

    mon = jack.Client("xrunmon", no_start_server=True)
    xruns = [0]
    counting = [False]

    def on_xrun(delay_us):
        if counting[0]:
            xruns[0] += 1

    mon.set_xrun_callback(on_xrun)
    mon.activate()
    frames, rate = mon.blocksize, mon.samplerate

    kids = []
    try:
        t_start = time.monotonic()
        # A few at a time: starting Python with numpy is CPU-bound.
        for first in range(0, a.tracks, 4):
            batch = []
            for i in range(first, min(first + 4, a.tracks)):
                batch.append(subprocess.Popen(
                    [sys.executable, os.path.abspath(__file__), "client", script, "t%03d" % i],
                    stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True))
            kids += batch
            for k in batch:
                if k.stdout.readline().strip() != "ready":
                    raise RuntimeError("track client %s failed to start" % k.args[-1])
        start_s = time.monotonic() - t_start
        time.sleep(a.settle)
        xruns[0] = 0
        counting[0] = True
        loads = []
        t0 = time.monotonic()
        end = t0 + a.duration
        while True:
            now = time.monotonic()
            if now >= end:
                break
            time.sleep(min(1.0, end - now))
            loads.append(mon.cpu_load())
        counting[0] = False
        seconds = time.monotonic() - t0
        count = xruns[0]
        dead = sum(1 for k in kids if k.poll() is not None)
    finally:
        for k in kids:
            if k.poll() is None:
                k.terminate()
        for k in kids:
            try:
                k.wait(timeout=10)
            except subprocess.TimeoutExpired:
                k.kill()
                k.wait()
        mon.deactivate()
        mon.close()

    res = {"system": "jack", "tracks": a.tracks, "seconds": round(seconds, 3),
           "frames": frames, "rate": rate, "xruns": count,
           "xruns_per_s": round(count / seconds, 4), "clients_died": dead,
           "dsp_load_mean": round(sum(loads) / len(loads), 2) if loads else None,
           "dsp_load_max": round(max(loads), 2) if loads else None,
           "start_s": round(start_s, 2)}
    if a.json:
        print(json.dumps(res), flush=True)
    else:
        print("JACK clients: %d tracks x %s, %d frames at %d Hz, %.1f s" %
              (a.tracks, a.script, res["frames"], res["rate"], seconds))
        print("  xruns %d (%.3f/s); DSP load mean %s%%, max %s%%; clients died: %d" %
              (count, count / seconds, res["dsp_load_mean"], res["dsp_load_max"], dead))
    return 0 if dead == 0 else 1


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "run":
        return run_main(sys.argv[2:])
    if len(sys.argv) == 4 and sys.argv[1] == "client":
        return client_main(sys.argv[2], sys.argv[3])
    print(__doc__.split("usage:")[1].split("\n\n")[0].join(["usage:", ""]), file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
