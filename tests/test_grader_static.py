"""The grader's static warnings: foreign imports and too-new NumPy API.

The kept list of NumPy names newer than 1.18 is checked against a real
NumPy 1.18.5 (the course's pin) in the Python 3.8 environment, and against
the NumPy installed here, so that it neither warns on what Autolab has nor
lists a name that never existed.
"""
import importlib.util
import os
import subprocess
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
    # Python 3.8 has no sys.stdlib_module_names: the fallback must work
    assert info["stdlib"] == {"os": True, "math": True, "json": True,
                              "sys": True, "itertools": True,
                              "numpy": False, "scipy": False,
                              "pytest": False, "torch": False}


def test_every_listed_name_exists_in_a_newer_numpy():
    import sys
    import numpy as np
    info = _resolve(sys.executable)
    static = _static()
    major_minor = tuple(int(p) for p in np.__version__.split(".")[:2])
    due = [n for n, since in static.NEWER_NUMPY_API.items()
           if tuple(int(p) for p in since.split(".")) <= major_minor]
    missing = sorted(set(due) - set(info["present"]))
    assert missing == [], "listed, but not in NumPy %s" % np.__version__
    assert info["stdlib"]["os"] and not info["stdlib"]["numpy"]
