"""Doubles the block in place."""


def process(block):
    block *= 2
