"""Prints each of ctx.params in setup(), one line per key in key order:
KEY, the value's type and its repr (shmix shows each line on stderr as
"[TRACK] KEY TYPE REPR"), so that a test sees the types a script got."""


def setup(ctx):
    for key in sorted(ctx.params):
        value = ctx.params[key]
        print(key, type(value).__name__, repr(value))


def process(block):
    pass
