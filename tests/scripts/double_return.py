"""Doubles the block by returning a new array (float64, converted back)."""


def process(block):
    return block.astype("float64") * 2
