"""Exits after a few blocks once; its restart then switches off what a
script can reach of the real-time guard in setup() and loops 1.5 s there,
once - as a script whose import or setup makes itself real-time and hangs
would, while the other tracks play.

The engine guards a worker's real-time time from its spawn on, before any
of its script's code runs (docs/realtime.md): the hard RLIMIT_RTTIME must
end the loop, not the load timeout.

params: after    blocks to process before exiting (default 20)
        crashed  a file path: exit only if it does not exist (made first)
        looped   a file path: loop in setup only if it does not exist
"""
import os
import time

from no_xcpu import disarm

params = {}
count = 0


def setup(ctx):
    global params
    params = ctx.params
    crashed, looped = params.get("crashed"), params.get("looped")
    if crashed and os.path.exists(crashed) and looped and not os.path.exists(looped):
        open(looped, "w").close()
        disarm()
        end = time.monotonic() + 1.5
        while time.monotonic() < end:
            pass


def process(block):
    global count
    count += 1
    crashed = params.get("crashed")
    if count == int(params.get("after", 20)) and crashed and not os.path.exists(crashed):
        open(crashed, "w").close()
        os._exit(3)
    block *= 0.5
