# Halves the block, and raises on the call that starts at timeline frame
# params['bad'] (the whole call then follows on_fault).
bad = -1


def setup(ctx):
    global bad
    bad = int(ctx.params.get('bad', -1))


def process(block, info):
    if info.frame == bad:
        raise RuntimeError('the bad call at frame %d' % info.frame)
    block *= 0.5
