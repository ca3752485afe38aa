"""Fault script: after `after` blocks, memory (see _fault.py for params)."""
import os
import numpy as np
import _fault

params = {}


def setup(ctx):
    global params
    params = ctx.params


def process(block):
    if _fault.due(params):
        hog = np.ones(1 << 31, dtype=np.uint8); hog[::4096] = 1
    block *= 0.5
