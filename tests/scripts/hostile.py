"""A hostile worker: writes random bytes over its own shared channel.

The block is a numpy view into the channel; the channel's header starts
at the page where the magic "SHMX" is, a few pages before the block. At
random moments (on average every `every` blocks, default 40) the script
overwrites `bytes` random bytes (default 64) at random places anywhere in
the channel - header, request and reply words, message slots, audio -
and sometimes the whole header at once. Otherwise it halves the signal.

params: seed, every, bytes
The engine must notice what matters (a bad reply, a broken message
slot), kill and restart this worker, and leave every other track alone.
"""
import ctypes
import mmap
import random

import numpy as np

rng = random.Random(1)
every = 40
nbytes = 64
base = 0
size = 0


def find_channel(block):
    """Start and size of the channel mapping that holds block."""
    page = mmap.PAGESIZE
    addr = block.ctypes.data // page * page
    for _ in range(64):
        if ctypes.string_at(addr, 4) == b"SHMX":
            break
        addr -= page
    else:
        raise RuntimeError("no channel header found below the block")
    end = block.ctypes.data + block.nbytes
    return addr, end - addr


def setup(ctx):
    global rng, every, nbytes
    rng = random.Random(int(ctx.params.get("seed", 1)))
    every = max(1, int(ctx.params.get("every", 40)))
    nbytes = max(1, int(ctx.params.get("bytes", 64)))


def scribble():
    if rng.random() < 0.2:            # the whole header at once
        n, at = 256, base
    else:
        n, at = nbytes, base + rng.randrange(size)
    n = min(n, base + size - at)
    junk = bytes(rng.randrange(256) for _ in range(n))
    ctypes.memmove(at, junk, n)


def process(block):
    global base, size
    if not base:
        base, size = find_channel(block)
    block *= np.float32(0.5)
    if rng.randrange(every) == 0:
        scribble()
