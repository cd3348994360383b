"""The library imports the ways students and the course import it, and only
uses what Python 3.8 with NumPy 1.18.5 has.

Each import style runs in a fresh interpreter (this one's) so that nothing
this test session already imported can help it along.
"""
import ast
import importlib
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIBRARY_DIRS = ("mytorch", "models")
SOURCES = sorted(
    os.path.join(d, name) for d in LIBRARY_DIRS
    for name in os.listdir(os.path.join(ROOT, d)) if name.endswith(".py"))

# Used where sys.stdlib_module_names (Python 3.10+) is missing.
STDLIB_FALLBACK = frozenset("""
    __future__ abc argparse ast bisect builtins collections contextlib copy
    dataclasses decimal enum fractions functools heapq importlib inspect io
    itertools json math numbers operator os pathlib pickle random re string
    struct sys textwrap time types typing warnings weakref
""".split())
STDLIB = frozenset(getattr(sys, "stdlib_module_names", STDLIB_FALLBACK))
LOCAL = frozenset(["mytorch", "models"] + [
    os.path.splitext(os.path.basename(path))[0] for path in SOURCES])


def run(code, cwd):
    """Run code in a fresh interpreter; fail with its stderr if it fails."""
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)],
                            cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, universal_newlines=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_library_files_exist():
    names = {os.path.basename(path) for path in SOURCES}
    assert {"Conv2d.py", "activation.py", "batchnorm2d.py", "dropout2d.py",
            "resampling.py", "resnet.py"} <= names


def test_course_import_style_from_the_repo_root():
    out = run("""
        import sys
        sys.path.append('mytorch')
        from Conv2d import *
        from batchnorm2d import *
        from dropout2d import *
        from resampling import *
        from activation import *
        sys.path.append('models')
        from resnet import *
        import numpy as np
        np.random.seed(0)
        block = ResBlock(3, 4, 3, 2, 1)
        out = block.forward(np.ones((2, 3, 5, 5), dtype=int))
        names = [Conv2d, Conv2d_stride1, BatchNorm2d, Dropout2d, Upsample1d,
                 Downsample1d, Upsample2d, Downsample2d, Identity, Sigmoid,
                 Tanh, ReLU, GELU, Softmax, ConvBlock, ResBlock]
        print(out.shape, len(names))
    """, ROOT)
    assert out.strip() == "(2, 4, 3, 3) 16"


def test_package_import_style_from_the_repo_root():
    out = run("""
        from mytorch.Conv2d import Conv2d, Conv2d_stride1
        from mytorch.batchnorm2d import BatchNorm2d
        from mytorch.dropout2d import Dropout2d
        from mytorch.resampling import Downsample2d
        from mytorch.activation import ReLU
        from models.resnet import ResBlock, ConvBlock
        import numpy as np
        np.random.seed(0)
        block = ResBlock(3, 3, 1, 1, 0)
        print(block.forward(np.ones((1, 3, 2, 2))).shape,
              type(block.residual_connection).__name__)
    """, ROOT)
    assert out.strip() == "(1, 3, 2, 2) Identity"


def test_resnet_finds_mytorch_with_only_models_on_the_path(tmp_path):
    out = run("""
        import sys
        sys.path.append({!r})
        from resnet import ResBlock
        import numpy as np
        np.random.seed(0)
        block = ResBlock(2, 2, 3, 1, 1)
        print(block.forward(np.ones((1, 2, 4, 4))).shape)
    """.format(os.path.join(ROOT, "models")), str(tmp_path))
    assert out.strip() == "(1, 2, 4, 4)"


def test_library_prints_nothing_on_import_and_use():
    out = run("""
        import sys
        sys.path.append('mytorch')
        sys.path.append('models')
        import numpy as np
        from resnet import ResBlock
        np.random.seed(0)
        block = ResBlock(2, 3, 3, 2, 1)
        out = block.forward(np.ones((2, 2, 5, 5)))
        block.backward(np.ones(out.shape))
    """, ROOT)
    assert out == ""


def parse(path):
    with open(os.path.join(ROOT, path)) as handle:
        source = handle.read()
    return ast.parse(source, filename=path, feature_version=(3, 8))


@pytest.mark.parametrize("path", SOURCES)
def test_source_parses_as_python_3_8(path):
    parse(path)


@pytest.mark.parametrize("path", SOURCES)
def test_only_numpy_and_the_standard_library_are_imported(path):
    outside = []
    for node in ast.walk(parse(path)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            if top != "numpy" and top not in STDLIB and top not in LOCAL:
                outside.append(name)
    assert not outside, "imports outside numpy + stdlib: {}".format(outside)


def numpy_names(tree):
    """Dotted names used through the numpy module: 'np.x.y', imports."""
    aliases = {"numpy"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "numpy":
                    aliases.add(alias.asname or "numpy")
    used = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            parts = []
            inner = node
            while isinstance(inner, ast.Attribute):
                parts.append(inner.attr)
                inner = inner.value
            if isinstance(inner, ast.Name) and inner.id in aliases:
                used.add(".".join(reversed(parts)))
        elif (isinstance(node, ast.ImportFrom) and node.level == 0
              and node.module.split(".")[0] == "numpy"):
            for alias in node.names:
                used.add((node.module + "." + alias.name)[len("numpy."):]
                         if node.module != "numpy" else alias.name)
    return used


def resolve(dotted):
    """Follow numpy.<dotted>, importing submodules as needed."""
    obj, path = np, "numpy"
    for part in dotted.split("."):
        path += "." + part
        if hasattr(obj, part):
            obj = getattr(obj, part)
        else:
            obj = importlib.import_module(path)
    return obj


@pytest.mark.parametrize("path", SOURCES)
def test_every_numpy_name_exists_in_this_numpy(path):
    """Run under NumPy 1.18.5 this catches NumPy-2-only names (np.pow,
    np.concat, ...) even in code paths no other test reaches."""
    missing = []
    for dotted in sorted(numpy_names(parse(path))):
        try:
            resolve(dotted)
        except (AttributeError, ImportError):
            missing.append("numpy." + dotted)
    assert not missing, "not in numpy {}: {}".format(np.__version__, missing)
