"""onepole.py - a one-pole lowpass in plain Python loops.

Deliberately not vectorised: one Python-level multiply-add per sample and
channel makes it the benchmark workload, a script whose cost grows with the
block size the way a real per-sample effect written in Python does.
y[n] = y[n-1] + a * (x[n] - y[n-1]) with a = 1 - exp(-2*pi*cutoff/rate);
the filter state of each channel is kept in the module's globals, so the
output is continuous across blocks.

params:
  cutoff_hz  -3 dB point in Hz (default 1000.0; limited to 1..rate/2)
"""
import math

a = 1.0 - math.exp(-2.0 * math.pi * 1000.0 / 48000)
state = []          # last output of each channel


def setup(ctx):
    global a, state
    cutoff = float(ctx.params.get("cutoff_hz", 1000.0))
    cutoff = min(max(cutoff, 1.0), ctx.sample_rate / 2.0)
    a = 1.0 - math.exp(-2.0 * math.pi * cutoff / ctx.sample_rate)
    state = [0.0] * ctx.channels


def process(block):
    channels = block.shape[1]
    if len(state) != channels:
        state[:] = [0.0] * channels
    for c in range(channels):
        y = state[c]
        out = block[:, c].tolist()
        for i, x in enumerate(out):
            y += a * (x - y)
            out[i] = y
        block[:, c] = out
        state[c] = y
