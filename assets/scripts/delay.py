"""delay.py - a feedback delay on a numpy circular buffer.

Each channel is delayed by time_s; the delayed signal is fed back into the
line scaled by feedback, and mixed with the dry signal:
  out = (1 - mix) * dry + mix * delayed.
The block is processed in runs that never wrap around the buffer and are
never longer than the delay, so any block size works, also one that does
not divide the delay length or is longer than it.

params:
  time_s    delay time in seconds, > 0 (default 0.25)
  feedback  amount fed back, -1 < feedback < 1 (default 0.3)
  mix       0 = dry only, 1 = delayed only (default 0.3)
"""
import numpy as np

line = None         # (delay frames, channels) float32, the circular buffer
pos = 0             # where the next frame is read and then written
feedback = 0.3
mix = 0.3


def setup(ctx):
    global line, pos, feedback, mix
    time_s = float(ctx.params.get("time_s", 0.25))
    feedback = float(ctx.params.get("feedback", 0.3))
    mix = float(ctx.params.get("mix", 0.3))
    if not time_s > 0.0:
        raise ValueError("time_s must be > 0, got %r" % time_s)
    if not -1.0 < feedback < 1.0:
        raise ValueError("feedback must be between -1 and 1, got %r" % feedback)
    if not 0.0 <= mix <= 1.0:
        raise ValueError("mix must be between 0 and 1, got %r" % mix)
    frames = max(1, round(time_s * ctx.sample_rate))
    line = np.zeros((frames, ctx.channels), dtype=np.float32)
    pos = 0


def process(block):
    global pos
    n = len(block)
    i = 0
    while i < n:
        run = min(n - i, len(line) - pos)
        dry = block[i:i + run]
        delayed = line[pos:pos + run].copy()
        line[pos:pos + run] = dry + np.float32(feedback) * delayed
        dry *= np.float32(1.0 - mix)
        dry += np.float32(mix) * delayed
        pos = (pos + run) % len(line)
        i += run
