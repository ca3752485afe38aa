"""Starts `sleep 600` in setup(), detached into a session of its own (as a
daemon would), and appends its pid to params['pidfile']: the test checks
that it does not outlive the worker. With params['crash_after'] blocks,
the worker then crashes (a restart)."""
import os
import subprocess

count = 0
params = {}


def setup(ctx):
    global params
    params = ctx.params
    child = subprocess.Popen(["sleep", "600"], start_new_session=True,
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    with open(params["pidfile"], "a") as f:
        f.write("%d\n" % child.pid)


def process(block):
    global count
    count += 1
    if count == int(params.get("crash_after", 0)):
        os._exit(3)
