"""tremolo_sync.py - a tremolo locked to the session's tempo.

The LFO's phase is computed from the timeline position (info.time), not
accumulated from block to block: after a seek, a loop wrap or a render
--start it is exactly where the music is, and it never drifts. So there is
no state - no reset() and no reload() needed. The gain is 1 on every
division (the downbeat keeps its full level) and 1 - depth half-way between:
  gain = 1 - depth * (0.5 - 0.5 * cos(2 pi * cycles)),
  cycles = info.time * bpm / 60 * division / 4.

params:
  bpm       tempo in quarter notes per minute, 1..999 (default 120.0)
  division  LFO cycles per whole note: 4 = quarter notes, 8 = eighths,
            3 = half-note triplets..., 0.25..64 (default 4)
  depth     0 = no effect, 1 = down to silence (default 0.5)
"""
import math

import numpy as np

ctx = None
cycles_per_s = 2.0
half_depth = 0.25
# All (frames, 1): they broadcast over the channels with no view per block.
ramp = np.zeros((0, 1))     # seconds from block[0] to each frame
phase = np.zeros((0, 1))    # float64 work buffer: the phase, then its cosine
gain = np.zeros((0, 1), dtype=np.float32)


def configure(params):
    global cycles_per_s, half_depth
    bpm = float(params.get("bpm", 120.0))
    division = float(params.get("division", 4))
    depth = float(params.get("depth", 0.5))
    if not 1.0 <= bpm <= 999.0:
        raise ValueError("bpm must be in 1..999, got %r" % bpm)
    if not 0.25 <= division <= 64.0:
        raise ValueError("division must be in 0.25..64, got %r" % division)
    if not 0.0 <= depth <= 1.0:
        raise ValueError("depth must be in 0..1, got %r" % depth)
    cycles_per_s = bpm / 60.0 * division / 4.0
    half_depth = 0.5 * depth


def allocate(frames, rate):
    global ramp, phase, gain
    ramp = (np.arange(frames) / float(rate))[:, None]
    phase = np.empty((frames, 1))
    gain = np.empty((frames, 1), dtype=np.float32)


def setup(c):
    global ctx
    ctx = c
    configure(c.params)
    allocate(c.block_size, c.sample_rate)


def on_param(key, value):
    configure(ctx.params)   # takes effect at the next block, in phase


def process(block, info):
    if len(block) != len(ramp):
        allocate(len(block), ctx.sample_rate)
    # Whole cycles dropped in float64 before scaling by 2 pi: the phase
    # stays exact an hour into the session.
    start = math.fmod(info.time * cycles_per_s, 1.0)
    np.multiply(ramp, cycles_per_s, out=phase)
    np.add(phase, start, out=phase)
    np.multiply(phase, 2.0 * math.pi, out=phase)
    np.cos(phase, out=phase)
    np.multiply(phase, half_depth, out=gain)
    np.add(gain, 1.0 - half_depth, out=gain)
    block *= gain
