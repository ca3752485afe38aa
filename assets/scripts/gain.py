"""gain.py - a fixed gain, the simplest shmix script.

params:
  gain_db  gain in dB (default 0.0; -6.0 halves the amplitude)
"""
import numpy as np

gain = np.float32(1.0)


def setup(ctx):
    global gain
    gain = np.float32(10.0 ** (float(ctx.params.get("gain_db", 0.0)) / 20.0))


def process(block):
    block *= gain
