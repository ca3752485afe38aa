"""Raises on every block; with params {calls: PATH} it first appends a byte
to PATH, so a test can count the calls (the raise stays on line 5)."""

def process(block):
    return _note() / 0


calls = None


def setup(ctx):
    global calls
    calls = ctx.params.get("calls")


def _note():
    if calls:
        with open(calls, "ab") as f:
            f.write(b".")
    return 1
