# Inverts its input; the first worker to reach block 30 dies (the marker
# file says it happened), so the track switches to on_fault and back.
import os
n = 0
marker = None


def setup(ctx):
    global marker
    marker = ctx.params['marker']


def process(block):
    global n
    n += 1
    if n == 30 and not os.path.exists(marker):
        open(marker, 'w').close()
        os._exit(3)
    block *= -1.0
