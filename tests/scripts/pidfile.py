"""Writes its worker's pid to params['pidfile'] (for a test to kill it) and
halves the signal, taking params['sleep'] seconds per block."""
import os
import time

nap = 0.0


def setup(ctx):
    global nap
    nap = float(ctx.params.get("sleep", 0.0))
    # Whole or not at all (a temporary name, then rename): a test that read
    # the file between its creation and the write got "" and killed pid 0 -
    # its own process group, and the make and ctest around it.
    tmp = ctx.params["pidfile"] + ".tmp"
    with open(tmp, "w") as f:
        # The worker's pid as the engine sees it: inside its own PID
        # namespace os.getpid() is 1, /proc (the system's) knows better.
        f.write(os.readlink("/proc/self"))
    os.rename(tmp, ctx.params["pidfile"])


def process(block):
    if nap:
        time.sleep(nap)
    block *= 0.5
