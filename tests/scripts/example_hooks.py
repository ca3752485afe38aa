"""example_hooks.py - drives assets/scripts' examples by hand, the way a
worker does, to check the hooks the engine cannot be made to call from a
render: reload(old) (an edit while playing) and on_param(key, value) (live
control). Not a track script: test_examples runs it with the system Python,
argv[1] the examples' folder. Prints "ok" and exits 0, or raises."""
import importlib.util
import os
import sys

import numpy as np

RATE, BLOCK = 48000, 256
folder = sys.argv[1]
loaded = 0


class Ctx:
    def __init__(self, params, channels=2):
        self.sample_rate, self.block_size, self.channels = RATE, BLOCK, channels
        self.track, self.params = "t", dict(params)


class Info:
    frame, time, jumped = 0, 0.0, False


def load(name, params, channels=2):
    """A fresh module object, set up as a worker does."""
    global loaded
    loaded += 1
    spec = importlib.util.spec_from_file_location(
        "ex%d" % loaded, os.path.join(folder, name + ".py"))
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    m.setup(Ctx(params, channels))
    return m


def run(m, x, start=0):
    """x through m block by block; returns the output (float32)."""
    y = np.array(x, dtype=np.float32)
    info = Info()
    two = m.process.__code__.co_argcount == 2
    for i in range(0, len(y), BLOCK):
        b = np.ascontiguousarray(y[i:i + BLOCK])
        info.frame, info.time = start + i, (start + i) / RATE
        r = m.process(b, info) if two else m.process(b)
        y[i:i + BLOCK] = b if r is None else r
    return y


def close(a, b, tol, what):
    err = float(np.max(np.abs(a - b)))
    if not err <= tol:
        raise AssertionError("%s: differs by %g (> %g)" % (what, err, tol))


noise = np.random.default_rng(5).standard_normal((BLOCK * 300, 2)) * 0.1
half = BLOCK * 150
cases = {
    "eq": {"type": "peak", "freq_hz": 1000, "gain_db": 12, "q": 1.0},
    "delay_fb": {"time_ms": 100, "feedback": 0.5, "mix": 0.5},
    "reverb_conv": {"decay_s": 1.0, "mix": 1.0, "seed": 7},
    "tremolo_sync": {"bpm": 120, "division": 4, "depth": 1.0},
}

for name, params in cases.items():
    whole = run(load(name, params), noise)
    # reload(old) half-way: the new version goes on exactly where the old
    # one was, as if nothing had happened.
    old = load(name, params)
    first = run(old, noise[:half])
    new = load(name, params)
    if hasattr(new, "reload"):
        new.reload(old)
    close(np.concatenate([first, run(new, noise[half:], half)]), whole, 1e-6,
          name + " across reload(old)")
    # reset() then the second half: the same as a fresh start there.
    m = load(name, params)
    run(m, noise[:half])
    if hasattr(m, "reset"):
        m.reset()
    close(run(m, noise[half:], half), run(load(name, params), noise[half:], half), 1e-6,
          name + " after reset()")

# on_param: the new value acts as if it had been there from setup().
m = load("eq", cases["eq"])
m.ctx.params["gain_db"] = -6.0
m.on_param("gain_db", -6.0)
fresh = load("eq", dict(cases["eq"], gain_db=-6.0))
close(m.b, fresh.b, 1e-12, "eq on_param b")
close(m.a, fresh.a, 1e-12, "eq on_param a")

# A new delay time keeps the echo in flight: an impulse 1000 frames before
# the line grows from 100 to 150 ms comes out 150 ms after it.
m = load("delay_fb", {"time_ms": 100, "feedback": 0.0, "mix": 1.0}, channels=1)
x = np.zeros((BLOCK * 60, 1))
x[BLOCK * 4 - 1000] = 1.0
y = run(m, x[:BLOCK * 4])
m.ctx.params["time_ms"] = 150
m.on_param("time_ms", 150)
y = np.concatenate([y, run(m, x[BLOCK * 4:], BLOCK * 4)])[:, 0]
hits = np.flatnonzero(y)
if list(hits) != [BLOCK * 4 - 1000 + 7200]:
    raise AssertionError("delay_fb on_param: echoes at %s" % hits)

# The same IR with a new mix: the wet part scales, nothing restarts.
m = load("reverb_conv", cases["reverb_conv"])
a = run(m, noise[:half])
m.ctx.params["mix"] = 0.5
m.on_param("mix", 0.5)
b = run(m, noise[half:], half)
ref = run(load("reverb_conv", cases["reverb_conv"]), noise)
close(b, 0.5 * noise[half:] + 0.5 * ref[half:], 1e-6, "reverb_conv on_param mix")

# A parameter out of range raises and leaves the running values alone.
m = load("tremolo_sync", cases["tremolo_sync"])
m.ctx.params["depth"] = 2.0
try:
    m.on_param("depth", 2.0)
    raise AssertionError("tremolo_sync took depth 2.0")
except ValueError:
    pass
if m.half_depth != 0.5:
    raise AssertionError("tremolo_sync changed depth on a bad value")
print("ok")
