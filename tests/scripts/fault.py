"""Misbehaves once, after a while, in the way params['kind'] names.

params: kind   segfault | abort | exit | loop | hang | memory
        after  blocks to process normally first (default 20)
        once   a file path: misbehave only if it does not exist (it is
               created first), so that a restarted worker behaves
Until then (and after, once restarted) it halves the signal.
"""
import os
import time

import numpy as np

params = {}
count = 0


def setup(ctx):
    global params
    params = ctx.params


def due():
    global count
    count += 1
    if count != int(params.get("after", 20)):
        return False
    marker = params.get("once")
    if marker:
        if os.path.exists(marker):
            return False
        open(marker, "w").close()
    return True


def misbehave(kind):
    if kind == "segfault":
        import ctypes   # here, not at the top: a restart should not pay for it
        ctypes.string_at(0)
    elif kind == "abort":
        os.abort()
    elif kind == "exit":
        os._exit(3)
    elif kind == "loop":
        while True:
            pass
    elif kind == "hang":
        time.sleep(3)
    elif kind == "memory":
        hog = np.ones(1 << 31, dtype=np.uint8)   # 2 GiB: past worker_memory_mb
        hog[::4096] = 1
    else:
        raise ValueError("unknown kind %r" % kind)


def process(block):
    if due():
        misbehave(params["kind"])
    block *= 0.5
