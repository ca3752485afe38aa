"""Writes its worker's pid to params['pidfile'] (for a test to kill it) and
halves the signal, taking params['sleep'] seconds per block."""
import os
import time

nap = 0.0


def setup(ctx):
    global nap
    nap = float(ctx.params.get("sleep", 0.0))
    with open(ctx.params["pidfile"], "w") as f:
        f.write(str(os.getpid()))


def process(block):
    if nap:
        time.sleep(nap)
    block *= 0.5
