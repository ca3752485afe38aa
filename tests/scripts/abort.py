"""Fault script: after `after` blocks, abort (see _fault.py for params)."""
import os

import _fault

params = {}


def setup(ctx):
    global params
    params = ctx.params


def process(block):
    if _fault.due(params):
        os.abort()
    block *= 0.5
