"""setup() takes 2.2 s and then aborts: a worker that never finishes
starting, restarting too slowly for any restart window to fill up."""
import os
import time


def setup(ctx):
    time.sleep(2.2)
    os.abort()


def process(block):
    pass
