"""delay_fb.py - a feedback delay on a numpy circular buffer.

An impulse comes out as the dry part (1 - mix) and then echoes every
time_ms, the k-th of them mix * feedback**(k-1). The line is cleared on
reset(), so after a seek or a loop wrap no echo of the audio before the
jump is heard; it is carried across a hot reload, so an edit of this file
while it plays does not cut the echoes off. Nothing is allocated per block.

params:
  time_ms   delay time in ms, 1..10000 (default 250.0)
  feedback  part of each echo fed back, -0.99..0.99 (default 0.35)
  mix       0 = dry only, 1 = echoes only (default 0.3)
"""
import numpy as np

ctx = None
line = np.zeros((1, 1), dtype=np.float32)   # (delay frames, channels)
pos = 0             # where the next frame is read, then written
tmp = np.zeros((1, 1), dtype=np.float32)    # what was read, one block long
feedback = np.float32(0.35)
mix = np.float32(0.3)


def configure(params, rate):
    """Sets feedback and mix; returns the line's length in frames."""
    global feedback, mix
    time_ms = float(params.get("time_ms", 250.0))
    fb = float(params.get("feedback", 0.35))
    m = float(params.get("mix", 0.3))
    if not 1.0 <= time_ms <= 10000.0:
        raise ValueError("time_ms must be in 1..10000, got %r" % time_ms)
    if not -0.99 <= fb <= 0.99:   # |feedback| < 1, or the echoes grow
        raise ValueError("feedback must be in -0.99..0.99, got %r" % fb)
    if not 0.0 <= m <= 1.0:
        raise ValueError("mix must be in 0..1, got %r" % m)
    feedback, mix = np.float32(fb), np.float32(m)
    return max(1, round(time_ms * rate / 1000.0))


def carry(old_line, old_pos):
    """Fills the line with the most recent frames of another one (oldest
    first from pos), so a new length keeps what is still to be heard."""
    global pos
    if old_line.shape[1] != line.shape[1]:
        return
    history = np.roll(old_line, -old_pos, axis=0)      # oldest first
    n = min(len(history), len(line))
    line.fill(0.0)
    line[len(line) - n:] = history[len(history) - n:]
    pos = 0


def setup(c):
    global ctx, line, pos, tmp
    ctx = c
    frames = configure(c.params, c.sample_rate)
    line = np.zeros((frames, c.channels), dtype=np.float32)
    tmp = np.zeros((c.block_size, c.channels), dtype=np.float32)
    pos = 0


def on_param(key, value):
    # Allocates only when the time changes, and keeps the echoes in flight.
    global line
    frames = configure(ctx.params, ctx.sample_rate)
    if frames != len(line):
        old, old_pos = line, pos
        line = np.zeros((frames, ctx.channels), dtype=np.float32)
        carry(old, old_pos)


def reset():
    line.fill(0.0)


def reload(old):
    old_line = getattr(old, "line", None)
    if isinstance(old_line, np.ndarray) and old_line.ndim == 2:
        carry(old_line, int(getattr(old, "pos", 0)) % len(old_line))


def process(block):
    global pos, tmp
    n = len(block)
    if len(tmp) < n:
        tmp = np.zeros((n, block.shape[1]), dtype=np.float32)
    # Runs that never cross the buffer's end and are never longer than the
    # delay: any block size works, even one longer than time_ms.
    i = 0
    while i < n:
        run = min(n - i, len(line) - pos)
        dry = block[i:i + run]
        tap = line[pos:pos + run]
        delayed = tmp[:run]
        delayed[...] = tap
        np.multiply(delayed, feedback, out=tap)     # the line gets
        tap += dry                                  # dry + feedback * delayed
        dry *= np.float32(1.0) - mix
        delayed *= mix
        dry += delayed
        pos = (pos + run) % len(line)
        i += run
