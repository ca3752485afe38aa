"""Raises on every block."""


def process(block):
    return 1 / 0
