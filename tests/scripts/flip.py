# Inverts its input, and raises on every tenth block: the track switches
# between -x (the script) and x (on_fault: bypass) or 0 (mute), a step of
# up to twice the input's amplitude without a crossfade.
n = 0


def process(block):
    global n
    n += 1
    if n % 10 == 5:
        raise RuntimeError('flip: a planned failure')
    block *= -1.0
