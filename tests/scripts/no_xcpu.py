"""Switches off everything a script can reach of the real-time guard, then
runs a busy loop of 1.5 s once, on every CPU it is given.

It ignores (or, where it cannot, blocks) every signal it can - SIGXCPU
above all, which tells a real-time worker to step down - and, if the
kernel lets it, raises its own RLIMIT_RTTIME and asks for real-time
scheduling again. The engine's guard must hold regardless: the hard
RLIMIT_RTTIME ends the worker from outside (docs/reliability.md).

params: after  blocks to process normally first (default 20)
        once   a file path: misbehave only if it does not exist
"""
import os
import resource
import signal
import time

params = {}
count = 0


def setup(ctx):
    global params
    params = ctx.params


def disarm():
    for s in range(1, signal.NSIG):
        try:
            signal.signal(s, signal.SIG_IGN)
        except (OSError, ValueError, RuntimeError):
            pass
    try:
        signal.pthread_sigmask(signal.SIG_BLOCK, range(1, signal.NSIG))
    except (OSError, ValueError):
        pass
    try:
        resource.setrlimit(resource.RLIMIT_RTTIME,
                           (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    except (OSError, ValueError):
        pass
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(4))
    except OSError:
        pass


def process(block):
    global count
    count += 1
    if count == int(params.get("after", 20)):
        marker = params.get("once")
        if not marker or not os.path.exists(marker):
            if marker:
                open(marker, "w").close()
            disarm()
            end = time.monotonic() + 1.5
            while time.monotonic() < end:
                pass
    block *= 0.5
