"""Fault script: after `after` blocks, hang (see _fault.py for params)."""
import os
import time
import _fault

params = {}


def setup(ctx):
    global params
    params = ctx.params


def process(block):
    if _fault.due(params):
        time.sleep(3)
    block *= 0.5
