"""The grader's static warnings: foreign imports, too-new NumPy and Python.

The kept list of NumPy names newer than 1.18 is checked against a real
NumPy 1.18.5 (the course's pin) in the Python 3.8 environment, and against
the NumPy installed here, so that it neither warns on what Autolab has nor
lists a name that never existed.
"""
import importlib.util
import os
import re
import subprocess
import sys
import textwrap

import pytest

from test_grader_support import (GRADER_DIR, ROOT, copy_library,
                                 patched_root, py38_python, run_grader)

STATIC = os.path.join(GRADER_DIR, "grader_static.py")


def _static():
    spec = importlib.util.spec_from_file_location("grader_static_under_test",
                                                  STATIC)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _write(root, relpath, source):
    path = root / relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source).lstrip())


def test_the_repository_library_has_no_findings():
    assert [str(w) for w in _static().scan(ROOT)] == []


def test_findings_name_file_line_and_what(tmp_path):
    _write(tmp_path, "mytorch/Conv2d.py", """
        import os, math
        import numpy as np
        import scipy
        from scipy.special import erf
        import torch.nn as nn
        from numpy.lib.stride_tricks import sliding_window_view
        import helpers
        from resampling import Downsample2d
        x = np.lib.stride_tricks.sliding_window_view
        y = np.linalg.vector_norm(np.ones(3)) + np.linalg.norm(np.ones(3))
        """)
    _write(tmp_path, "mytorch/helpers.py", "X = 1\n")
    _write(tmp_path, "models/resnet.py", """
        import sys
        from mytorch.Conv2d import Conv2d
        from mytorch import activation, helpers
        from Conv2d import *
        import numpy
        z = numpy.concat
        """)
    found = [str(w) for w in _static().scan(str(tmp_path))]
    def has(prefix, words):
        return any(f.startswith(prefix) and words in f for f in found)
    assert has("mytorch/Conv2d.py:3:", "imports scipy;")
    assert has("mytorch/Conv2d.py:4:", "imports scipy;")
    assert has("mytorch/Conv2d.py:5:", "imports torch;")
    assert has("mytorch/Conv2d.py:6:",
               "numpy.lib.stride_tricks.sliding_window_view is new in "
               "NumPy 1.20")
    assert has("mytorch/Conv2d.py:7:", "imports helpers, which is not one "
                                       "of the six files handed in")
    assert has("mytorch/Conv2d.py:9:", "sliding_window_view")
    assert has("mytorch/Conv2d.py:10:", "numpy.linalg.vector_norm is new in "
                                        "NumPy 2.0")
    assert has("models/resnet.py:3:", "imports mytorch.helpers")
    assert has("models/resnet.py:6:", "numpy.concat is new in NumPy 2.0")
    assert len(found) == 9, found
    assert not any("linalg.norm " in f or "imports os" in f for f in found)


# ------------------------------------------- what Python 3.8 cannot run

def _found(root):
    return [str(w) for w in _static().scan(str(root))]


@pytest.mark.skipif(sys.version_info < (3, 10),
                    reason="this Python cannot parse `match` at all")
def test_syntax_python_3_8_cannot_parse_is_flagged_where_it_starts(tmp_path):
    _write(tmp_path, "mytorch/activation.py", """
        import numpy as np


        def kind(x):
            match x:
                case None:
                    return "none"
                case _:
                    return "num"


        def read(a, b):
            with (open(a) as f,
                  open(b) as g):
                return f.read() + g.read()
        """)
    found = _found(tmp_path)
    assert len(found) == 1, found  # the parser stops at the first one
    assert found[0].startswith(
        "mytorch/activation.py:5: Python 3.8 (Autolab's) cannot parse "
        "this: "), found
    assert "3.10" in found[0], found


def test_annotations_python_3_8_evaluates_are_flagged(tmp_path):
    _write(tmp_path, "mytorch/Conv2d.py", """
        import math
        from functools import cache
        import numpy as np

        SHAPES: list[int] = []
        Table = dict[str, int]


        def kind(x: int | None, y: "list[int]" = None) -> tuple[int, int]:
            local: list[int] = []
            return "num".removeprefix("n"), math.lcm(2, 3)


        class Layer(object):
            size: set[int] = set()
        """)
    found = _found(tmp_path)
    def has(line, words):
        return any(f.startswith("mytorch/Conv2d.py:%d: " % line)
                   and words in f for f in found)
    assert has(2, "functools.cache is new in Python 3.9"), found
    assert has(5, "list[...] needs Python 3.9"), found
    assert has(6, "dict[...] needs Python 3.9"), found
    assert has(9, "a type union written X | Y needs Python 3.10"), found
    assert has(9, "tuple[...] needs Python 3.9"), found
    assert has(11, "str.removeprefix is new in Python 3.9"), found
    assert has(11, "math.lcm is new in Python 3.9"), found
    assert has(15, "set[...] needs Python 3.9"), found
    # the string annotation and the local variable's are never evaluated
    assert len(found) == 8, found


def test_no_false_alarms_on_what_python_3_8_runs(tmp_path):
    _write(tmp_path, "mytorch/Conv2d.py", """
        from typing import List, Optional
        import numpy as np

        SHAPES: List[int] = []


        def kind(x: Optional[int] = None) -> "tuple[int, int]":
            local: list[int] = []
            mask = (np.ones(3) > 0) | (np.zeros(3) > 0)
            return x, mask
        """)
    _write(tmp_path, "models/resnet.py", """
        from __future__ import annotations
        import numpy as np

        list = [1, 2, 3]
        first = list[0]


        def g(a: tuple[int, ...] | None) -> dict[str, int]:
            return {}
        """)
    assert _found(tmp_path) == []


def test_grader_warns_about_python_3_9_code_with_file_and_line(tmp_path):
    root = patched_root(tmp_path, "mytorch/dropout2d.py", """
        _SEEN: list[int] = []
        """)
    result = run_grader("--json", "--section", "Dropout2d", root=root)
    lines = result.stderr.splitlines()
    assert re.match(r"warning: mytorch/dropout2d\.py:\d+: list\[\.\.\.\] "
                    r"needs Python 3\.9", lines[0]), result
    if sys.version_info >= (3, 9):
        assert len(lines) == 1, result
        assert result.scores == {"Dropout2d": 5}
    else:  # the warning's very point: this Python fails on import
        assert "TypeError raised during import dropout2d" in result.stderr
        assert result.scores == {"Dropout2d": 0}


def test_a_file_that_does_not_parse_is_left_to_the_import(tmp_path):
    _write(tmp_path, "mytorch/dropout2d.py", "def broken(:\n")
    assert _static().scan(str(tmp_path)) == []


def test_grader_prints_warnings_on_stderr_only(tmp_path):
    root = patched_root(tmp_path, "mytorch/dropout2d.py", """
        try:
            import scipy.special
        except ImportError:
            pass
        """)
    result = run_grader("--json", "--section", "Dropout2d", root=root)
    assert result.stdout == '{"scores": {"Dropout2d": 5}}\n'
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result
    assert lines[0].startswith("warning: mytorch/dropout2d.py:")
    assert "imports scipy" in lines[0]


RESOLVE = """
import importlib, json, sys
sys.path.insert(0, {folder!r})
import importlib.util
spec = importlib.util.spec_from_file_location("s", {static!r})
s = importlib.util.module_from_spec(spec)
spec.loader.exec_module(s)

def exists(dotted):
    parts = dotted.split(".")
    obj = None
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for attr in parts[i:]:
            if not hasattr(obj, attr):
                return False
            obj = getattr(obj, attr)
        return True
    return False

import numpy
print(json.dumps({{"numpy": numpy.__version__,
                  "present": sorted(n for n in s.NEWER_NUMPY_API
                                    if exists(n)),
                  "python_present": sorted(n for n in s.NEWER_PYTHON_API
                                           if exists(n)),
                  "str_methods": [m for m in s.NEWER_STR_METHODS
                                  if hasattr(str, m)],
                  "stdlib": {{n: s.is_stdlib(n) for n in
                             ("os", "math", "json", "sys", "itertools",
                              "numpy", "scipy", "pytest", "torch")}}}}))
"""


def _resolve(python):
    code = RESOLVE.format(folder=GRADER_DIR, static=STATIC)
    proc = subprocess.run([python, "-c", code], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    import json
    return json.loads(proc.stdout)


@pytest.mark.skipif(py38_python() is None,
                    reason="needs Python 3.8 + NumPy 1.18.5 at "
                           "/work/venvs/py38/bin/python to check the list")
def test_no_listed_name_exists_in_numpy_1_18_5():
    info = _resolve(py38_python())
    assert info["numpy"] == "1.18.5"
    assert info["present"] == [], "these exist in NumPy 1.18.5"
    assert info["python_present"] == [], "these exist in Python 3.8"
    assert info["str_methods"] == [], "these exist in Python 3.8"
    # Python 3.8 has no sys.stdlib_module_names: the fallback must work
    assert info["stdlib"] == {"os": True, "math": True, "json": True,
                              "sys": True, "itertools": True,
                              "numpy": False, "scipy": False,
                              "pytest": False, "torch": False}


def test_every_listed_name_exists_in_a_newer_numpy():
    import numpy as np
    info = _resolve(sys.executable)
    static = _static()
    major_minor = tuple(int(p) for p in np.__version__.split(".")[:2])
    due = [n for n, since in static.NEWER_NUMPY_API.items()
           if tuple(int(p) for p in since.split(".")) <= major_minor]
    missing = sorted(set(due) - set(info["present"]))
    assert missing == [], "listed, but not in NumPy %s" % np.__version__
    due = [n for n, since in static.NEWER_PYTHON_API.items()
           if tuple(int(p) for p in since.split(".")) <= sys.version_info]
    missing = sorted(set(due) - set(info["python_present"]))
    assert missing == [], "listed, but not in this Python"
    if sys.version_info >= (3, 9):
        assert info["str_methods"] == list(static.NEWER_STR_METHODS)
    assert info["stdlib"]["os"] and not info["stdlib"]["numpy"]
