"""tremolo.py - amplitude modulation by a sine LFO.

The gain swings between 1 and 1 - depth at rate_hz. The LFO phase carries
over from block to block, so the modulation is smooth across block edges;
it starts at gain 1, so the first block does not jump.

params:
  rate_hz  LFO frequency in Hz, >= 0 (default 4.0)
  depth    0 = no effect, 1 = the gain reaches silence (default 0.5)
"""
import math

import numpy as np

step = 2.0 * math.pi * 4.0 / 48000   # LFO phase advance per frame
depth = 0.5
phase = 0.0


def setup(ctx):
    global step, depth, phase
    rate = float(ctx.params.get("rate_hz", 4.0))
    depth = float(ctx.params.get("depth", 0.5))
    if not rate >= 0.0:
        raise ValueError("rate_hz must be >= 0, got %r" % rate)
    if not 0.0 <= depth <= 1.0:
        raise ValueError("depth must be between 0 and 1, got %r" % depth)
    step = 2.0 * math.pi * rate / ctx.sample_rate
    phase = 0.0


def process(block):
    global phase
    n = len(block)
    lfo = np.cos(phase + step * np.arange(n))
    gain = 1.0 - depth * 0.5 * (1.0 - lfo)
    block *= gain.astype(np.float32)[:, None]
    phase = math.fmod(phase + step * n, 2.0 * math.pi)
