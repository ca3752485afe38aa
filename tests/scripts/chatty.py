"""Prints a numbered line every params['every'] seconds of audio (default
0.25): script output for the terminal meter to keep readable."""
every = 0.25
frames = 0
rate = 48000
lines = 0


def setup(ctx):
    global every, rate
    every = float(ctx.params.get("every", 0.25))
    rate = ctx.sample_rate


def process(block):
    global frames, lines
    frames += block.shape[0]
    if frames >= (lines + 1) * every * rate:
        lines += 1
        print("chatty line %d: the quick brown fox jumps over the lazy dog" % lines)
