"""Shared test setup: import paths, the PyTorch switch, float64 defaults."""
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for sub in ("", "mytorch", "models"):
    path = os.path.join(ROOT, sub)
    if path not in sys.path:
        sys.path.insert(0, path)

try:
    import torch
except ImportError:  # the Python 3.8 / NumPy 1.18.5 environment has no torch
    torch = None

# .ci/run sets MYTORCH_REQUIRE_TORCH=1 in every environment that installs
# torch, so a broken torch install fails loudly instead of skipping.
if torch is None and os.environ.get("MYTORCH_REQUIRE_TORCH") == "1":
    raise RuntimeError("MYTORCH_REQUIRE_TORCH=1 but torch cannot be imported")

TORCH_REASON = ("needs PyTorch, which this environment does not install "
                "(the Python 3.8 + NumPy 1.18.5 one)")


def pytest_collection_modifyitems(config, items):
    skip = pytest.mark.skip(reason=TORCH_REASON)
    for item in items:
        if "torch" in item.keywords and torch is None:
            item.add_marker(skip)


if torch is not None:
    torch.set_default_dtype(torch.float64)
