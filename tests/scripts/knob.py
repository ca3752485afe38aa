# A gain knob: params['k'] scales the block; on_param logs what it is told,
# with the number of blocks processed so far (the state a restart would
# lose) and ctx.params as the script sees it. A k that is not a number is
# rejected (raises), which leaves the knob where it was.
k = 1.0
count = 0
ctx = None
log = None


def setup(c):
    global k, ctx, log
    ctx = c
    k = float(c.params.get('k', 1.0))
    log = open(c.params['log'], 'a') if 'log' in c.params else None


def on_param(key, value):
    global k
    if key == 'k':
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError('k must be a number, not %r' % (value,))
        k = float(value)
    if log:
        log.write('on_param %s=%r count=%d params_k=%r\n' % (key, value, count, ctx.params.get('k')))
        log.flush()


def process(block):
    global count
    count += 1
    block *= k
