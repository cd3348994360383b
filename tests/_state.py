"""State snapshots of layers, for tests that a call changed nothing.

``snapshot(layer)`` copies every attribute of a layer and of the layers it
holds (lists included) into a flat dict keyed by dotted paths, e.g.
"convolution_layers[0].layers[1].running_M"; ``same_value`` compares two
entries exactly (arrays by dtype, shape and values; NaN equals NaN).
"""
import math

import numpy as np


def snapshot(obj, prefix="", out=None, seen=None):
    """Every attribute of obj and of the layers it holds, arrays copied."""
    out = {} if out is None else out
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return out
    seen.add(id(obj))
    for name, value in sorted(vars(obj).items()):
        key = prefix + name
        if isinstance(value, list):
            out[key + ".len"] = len(value)
            for i, item in enumerate(value):
                snap_value(item, "{}[{}]".format(key, i), out, seen)
        else:
            snap_value(value, key, out, seen)
    return out


def snap_value(value, key, out, seen):
    if isinstance(value, np.ndarray):
        out[key] = value.copy()
    elif hasattr(value, "__dict__") and (not callable(value)
                                         or hasattr(value, "forward")):
        out[key + ".type"] = type(value).__name__
        snapshot(value, key + ".", out, seen)
    elif callable(value):
        out[key] = ("callable", id(value))
    else:
        out[key] = value


def same_value(a, b):
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)
                and a.dtype == b.dtype and a.shape == b.shape
                and np.array_equal(a, b))
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return type(a) == type(b) and a == b
