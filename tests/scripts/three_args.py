def process(block, info, extra):
    pass
