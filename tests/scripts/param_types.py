"""Checks, value by value and type by type, that the params of the test
session reach Python exactly as a YAML reader understands them; raises in
setup() (so `shmix check` fails and names the key) when one does not."""
import math

WANT = {
    "half": (float, 0.5),          # .5
    "plus": (int, 2),              # +2
    "exp": (float, 1500.0),        # 1.5e+3
    "octal_looking": (int, 7),     # 007
    "nothing": (type(None), None), # ~
    "quoted_num": (str, "007"),    # "007"
    "quoted_bool": (str, "true"),  # 'true'
    "yes": (bool, True),           # true
    "hex": (int, 31),              # 0x1F
    "oct": (int, 15),              # 0o17
    "neg_inf": (float, -math.inf), # -.inf
    "big": (int, 12345678901234567890123),
    "neg": (int, -42),
    "float_dot": (float, 1.0),     # 1.
    "word": (str, "yes"),          # yes: a string in YAML 1.2
    "list": (list, [1, 2.0, "x", None]),
    "nested": (dict, {"a": {"b": [True, False]}, "c": "d"}),
}


def setup(ctx):
    got = ctx.params
    if set(got) != set(WANT):
        raise ValueError("keys %s, wanted %s" % (sorted(got), sorted(WANT)))
    for key, (kind, value) in WANT.items():
        v = got[key]
        if type(v) is not kind or v != value:
            raise ValueError("%s: got %r (%s), wanted %r (%s)"
                             % (key, v, type(v).__name__, value, kind.__name__))
    if not (isinstance(got.get("nan"), float) or "nan" not in got):
        raise ValueError("nan")


def process(block):
    pass
