"""Sleeps 8 ms per block: longer than a 256-frame block at 48 kHz (5.3 ms)."""
import time


def process(block):
    time.sleep(0.008)
