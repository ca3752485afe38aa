"""Crashes in setup(), every time: a restart storm."""
import ctypes


def setup(ctx):
    ctypes.string_at(0)


def process(block):
    pass
