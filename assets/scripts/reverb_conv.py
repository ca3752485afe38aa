"""reverb_conv.py - a convolution reverb, uniformly partitioned FFT overlap-add.

The impulse response is synthesised in setup(): white noise (a seeded RNG,
so every render is the same; each channel its own noise, so a stereo
reverb is wide) under an exponential envelope that falls 60 dB in decay_s
(an RT60 of decay_s), scaled to unit energy so a broadband signal keeps
its level. It is cut into partitions of one block each: every block costs
one FFT, one inverse FFT and a multiply-add over the partitions, and the
reverb adds no latency. The state - the spectra of past blocks and the
tail still to be added - is cleared on reset(), so a loop wrap or a seek
does not ring on with audio from before the jump, and is carried across a
hot reload.

Cost grows with decay_s / block_size (the number of partitions): about
0.3 ms a block for 1.5 s of stereo reverb at 256 frames.

params:
  decay_s  RT60 of the tail in seconds, 0.05..10 (default 1.5)
  mix      0 = dry only, 1 = reverb only (default 0.25)
  seed     the noise's seed, an integer (default 1)
"""
import math

import numpy as np

ctx = None
mix = 0.25
spectra = None      # (channels, 2P, bins): the IR's partitions, reversed twice
history = None      # (channels, P, bins): spectra of the last P input blocks
head = 0            # slot of history holding the newest block
tail = None         # (channels, block): what the last block left for this one
frame = None        # (channels, 2 * block) float64: a block, zero-padded
acc = None          # (channels, bins) complex: the sum over partitions


def impulse_response(decay_s, seed, rate, channels):
    n = max(1, round(decay_s * rate))
    t = np.arange(n) / rate
    noise = np.random.default_rng(seed).standard_normal((channels, n))
    ir = noise * np.exp(-math.log(1000.0) * t / decay_s)     # -60 dB at decay_s
    ir /= np.sqrt(np.sum(ir * ir, axis=1, keepdims=True))    # unit energy
    return ir


def mix_of(params):
    m = float(params.get("mix", 0.25))
    if not 0.0 <= m <= 1.0:
        raise ValueError("mix must be in 0..1, got %r" % m)
    return m


def build(params, rate, channels, block):
    """Checks params; designs the IR and the state arrays for them."""
    global mix, spectra, history, head, tail, frame, acc
    decay_s = float(params.get("decay_s", 1.5))
    m = mix_of(params)
    seed = params.get("seed", 1)
    if not 0.05 <= decay_s <= 10.0:
        raise ValueError("decay_s must be in 0.05..10, got %r" % decay_s)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ValueError("seed must be an integer, got %r" % (seed,))
    ir = impulse_response(decay_s, seed, rate, channels)
    parts = -(-ir.shape[1] // block)
    padded = np.zeros((channels, parts * block))
    padded[:, :ir.shape[1]] = ir
    # Each partition zero-padded to two blocks: its linear convolution
    # with one block of input fits, and spills into the next block only.
    h = np.fft.rfft(padded.reshape(channels, parts, block), n=2 * block, axis=2)
    # history is a ring: the block of age k sits at slot (head - k) mod P
    # and meets partition k. Partition k stored at index P-1-k, twice over,
    # makes the partitions every slot meets one contiguous slice,
    # [P-1-head, 2P-1-head): no gather, no roll per block.
    spectra = np.concatenate([h[:, ::-1], h[:, ::-1]], axis=1)
    mix = m
    history = np.zeros((channels, parts, block + 1), dtype=complex)
    head = 0
    tail = np.zeros((channels, block))
    frame = np.zeros((channels, 2 * block))
    acc = np.zeros((channels, block + 1), dtype=complex)


def setup(c):
    global ctx
    ctx = c
    build(c.params, c.sample_rate, c.channels, c.block_size)


def on_param(key, value):
    global mix
    if key == "mix":
        mix = mix_of(ctx.params)
        return
    # A new IR keeps the input's history (spectra of the input, not of the
    # reverb), so the tail changes character without a gap. Designing it
    # takes a few ms: a big decay_s change may make one block late.
    rebuild(len(tail[0]))


def rebuild(block):
    carried = (history, head, tail)
    build(ctx.params, ctx.sample_rate, ctx.channels, block)
    carry(*carried)


def carry(old_history, old_head, old_tail):
    """Takes the most recent blocks of another state of the same shape per
    block (a different decay_s keeps as many as both have)."""
    if old_history.shape[0] != history.shape[0] or old_history.shape[2] != history.shape[2]:
        return
    n = min(old_history.shape[1], history.shape[1])
    ages = np.arange(n)
    history[:, (head - ages) % history.shape[1]] = \
        old_history[:, (old_head - ages) % old_history.shape[1]]
    tail[...] = old_tail


def reset():
    history.fill(0.0)
    tail.fill(0.0)


def reload(old):
    try:
        carry(old.history, int(old.head), old.tail)
    except (AttributeError, TypeError, ValueError):
        pass    # an older version kept other state: start with silence


def process(block):
    global head
    n = len(block)
    if len(tail[0]) != n:       # partitions are one block long
        rebuild(n)
    head = (head + 1) % history.shape[1]
    frame[:, :n] = block.T
    # numpy 1.24's FFTs have no out=: these two allocate, all else is in place.
    history[:, head] = np.fft.rfft(frame, axis=1)
    parts = history.shape[1]
    first = parts - 1 - head
    np.einsum("cpk,cpk->ck", history, spectra[:, first:first + parts], out=acc)
    wet = np.fft.irfft(acc, n=2 * n, axis=1)
    wet[:, :n] += tail
    tail[...] = wet[:, n:]
    out = wet[:, :n]
    out *= mix
    block *= np.float32(1.0 - mix)
    block += out.T
