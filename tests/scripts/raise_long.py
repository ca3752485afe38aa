"""Raises with a message of 300 two-byte characters: last_error is cut at
255 bytes, which falls in the middle of one."""


def process(block):
    raise ValueError("é" * 300)
