"""Raises in setup()."""


def setup(ctx):
    raise ValueError("bad parameter: %r" % ctx.params.get("x"))


def process(block):
    pass
