"""Scales the block by params['k'] and checks the context it was given."""
k = 1.0


def setup(ctx):
    global k
    assert ctx.sample_rate == 48000, ctx.sample_rate
    assert ctx.block_size == 128, ctx.block_size
    assert ctx.channels == 2, ctx.channels
    assert ctx.track == "scaled", ctx.track
    k = ctx.params["k"]


def process(block):
    assert block.shape == (128, 2) and block.dtype.name == "float32"
    assert block.flags["C_CONTIGUOUS"]
    block *= k
