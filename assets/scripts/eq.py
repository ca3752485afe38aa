"""eq.py - one biquad EQ band (RBJ "Audio EQ Cookbook" coefficients).

The filter runs through scipy.signal.lfilter with its state (zi) carried
from block to block, so the output does not depend on the block size; the
state also survives a hot reload of this file, so editing the script while
it plays does not make the filter ring from zero.

params:
  type     peak | lowshelf | highshelf | lowpass | highpass (default peak)
  freq_hz  centre (peak) or corner frequency in Hz, 10..0.49*rate
           (default 1000.0)
  gain_db  boost or cut in dB, -30..30; unused by lowpass/highpass
           (default 6.0)
  q        bandwidth: higher is narrower, 0.1..20 (default 0.707)
"""
import math

import numpy as np
from scipy.signal import lfilter

TYPES = ("peak", "lowshelf", "highshelf", "lowpass", "highpass")

ctx = None
b = np.array([1.0, 0.0, 0.0])
a = np.array([1.0, 0.0, 0.0])
zi = np.zeros((2, 1))    # (order, channels): lfilter's state along axis 0


def design(params, rate):
    """RBJ cookbook biquad for params; returns (b, a) normalised to a[0] = 1."""
    kind = str(params.get("type", "peak"))
    f = float(params.get("freq_hz", 1000.0))
    g = float(params.get("gain_db", 6.0))
    q = float(params.get("q", 0.707))
    if kind not in TYPES:
        raise ValueError("type must be one of %s, got %r" % (", ".join(TYPES), kind))
    # Near Nyquist the bilinear transform squeezes every response flat.
    if not 10.0 <= f <= 0.49 * rate:
        raise ValueError("freq_hz must be in 10..%g, got %r" % (0.49 * rate, f))
    if not -30.0 <= g <= 30.0:
        raise ValueError("gain_db must be in -30..30, got %r" % g)
    if not 0.1 <= q <= 20.0:
        raise ValueError("q must be in 0.1..20, got %r" % q)
    A = 10.0 ** (g / 40.0)
    w0 = 2.0 * math.pi * f / rate
    cw, alpha = math.cos(w0), math.sin(w0) / (2.0 * q)
    sa = 2.0 * math.sqrt(A) * alpha
    if kind == "peak":
        bb = (1 + alpha * A, -2 * cw, 1 - alpha * A)
        aa = (1 + alpha / A, -2 * cw, 1 - alpha / A)
    elif kind == "lowshelf":
        bb = (A * ((A + 1) - (A - 1) * cw + sa), 2 * A * ((A - 1) - (A + 1) * cw),
              A * ((A + 1) - (A - 1) * cw - sa))
        aa = ((A + 1) + (A - 1) * cw + sa, -2 * ((A - 1) + (A + 1) * cw),
              (A + 1) + (A - 1) * cw - sa)
    elif kind == "highshelf":
        bb = (A * ((A + 1) + (A - 1) * cw + sa), -2 * A * ((A - 1) + (A + 1) * cw),
              A * ((A + 1) + (A - 1) * cw - sa))
        aa = ((A + 1) - (A - 1) * cw + sa, 2 * ((A - 1) - (A + 1) * cw),
              (A + 1) - (A - 1) * cw - sa)
    elif kind == "lowpass":
        bb = ((1 - cw) / 2, 1 - cw, (1 - cw) / 2)
        aa = (1 + alpha, -2 * cw, 1 - alpha)
    else:
        bb = ((1 + cw) / 2, -(1 + cw), (1 + cw) / 2)
        aa = (1 + alpha, -2 * cw, 1 - alpha)
    return np.array(bb) / aa[0], np.array(aa) / aa[0]


def setup(c):
    global ctx, b, a, zi
    ctx = c     # on_param reads the current params from it
    b, a = design(c.params, c.sample_rate)
    zi = np.zeros((2, c.channels))


def on_param(key, value):
    # Live control: new coefficients, same state. A biquad tolerates that
    # (the state stays finite), so a sweep of freq_hz does not click.
    global b, a
    b, a = design(ctx.params, ctx.sample_rate)


def reset():
    # After a seek or a loop wrap the old state belongs to other audio:
    # its ringing would be heard as a thump at the new place.
    zi.fill(0.0)


def reload(old):
    # Same channel count: keep ringing exactly where the old version was.
    old_zi = getattr(old, "zi", None)
    if isinstance(old_zi, np.ndarray) and old_zi.shape == zi.shape:
        zi[...] = old_zi


def process(block):
    global zi
    # lfilter allocates its output and final state (no out= in scipy); the
    # float64 result keeps the recursion's precision, copied back as float32.
    y, zi = lfilter(b, a, block, axis=0, zi=zi)
    block[...] = y
