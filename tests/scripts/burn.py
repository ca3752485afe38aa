"""Spends params['fraction'] of each block's duration on the CPU (busy)."""
import time

budget = 0.0


def setup(ctx):
    global budget
    budget = float(ctx.params.get("fraction", 0.25)) * ctx.block_size / ctx.sample_rate


def process(block):
    end = time.thread_time() + budget
    while time.thread_time() < end:
        pass
