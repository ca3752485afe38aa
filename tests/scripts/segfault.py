"""Fault script: after `after` blocks, segfault (see _fault.py for params)."""
import os
import ctypes
import _fault

params = {}


def setup(ctx):
    global params
    params = ctx.params


def process(block):
    if _fault.due(params):
        ctypes.string_at(0)
    block *= 0.5
