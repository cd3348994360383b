"""NumPy-only helpers for the parity, gradient-check and property tests.

Nothing here imports torch or the library, so the module loads in every
environment, including Python 3.8 + NumPy 1.18.5.

Run ``python tests/_helpers.py`` from the repository root to run every
PyTorch comparison and print the largest relative error seen against
PyTorch (the figure quoted in the project's notes).
"""
import zlib

import numpy as np

# One entry per comparison with PyTorch: (label, relative error, absolute
# error, largest |expected|).  Filled by assert_matches_torch.
PARITY_LOG = []

# A reference tensor whose entries are all below this is "vanishing" (for
# example a conv bias gradient in front of a training-mode BatchNorm, which is
# zero in exact arithmetic); its relative error is meaningless and is left out
# of the largest-relative-error figure, though the absolute check still runs.
VANISHING = 1e-8


def seed_for(label):
    """A stable 32-bit seed derived from a test id (Python's hash is salted)."""
    return zlib.crc32(label.encode("utf-8"))


def rel_err(got, expected):
    """Normwise relative error: max|got - expected| / max|expected|."""
    got = np.asarray(got, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    if expected.size == 0:
        return 0.0
    scale = float(np.max(np.abs(expected)))
    diff = float(np.max(np.abs(got - expected)))
    return diff / scale if scale > 0 else diff


def assert_matches_torch(label, got, expected, rtol=1e-10, atol=1e-10):
    """Compare a MyTorch result with a PyTorch one and log the error.

    ``atol`` is scaled by max(1, max|expected|): a tensor whose entries reach
    100 may differ by 100 * atol, a gradient of order 1 by atol itself.
    """
    got = np.asarray(got)
    expected = np.asarray(expected, dtype=np.float64)
    assert got.shape == expected.shape, (
        "{}: got shape {}, PyTorch gives {}".format(
            label, got.shape, expected.shape))
    scale = float(np.max(np.abs(expected))) if expected.size else 0.0
    diff = (float(np.max(np.abs(got - expected))) if expected.size else 0.0)
    rel = rel_err(got, expected) if scale >= VANISHING else None
    PARITY_LOG.append((label, rel, diff, scale))
    np.testing.assert_allclose(
        got, expected, rtol=rtol, atol=atol * max(1.0, scale),
        err_msg="{} differs from PyTorch".format(label))


def parity_summary(top=5):
    """Text block: number of comparisons and the worst relative errors."""
    rated = [entry for entry in PARITY_LOG if entry[1] is not None]
    if not PARITY_LOG:
        return "no PyTorch comparison ran"
    rated.sort(key=lambda entry: entry[1], reverse=True)
    worst_abs = max(PARITY_LOG, key=lambda entry: entry[2])
    sizable = [entry for entry in rated if entry[3] >= 1e-3]
    lines = [
        "{} array comparisons with PyTorch ({} rated for relative error)"
        .format(len(PARITY_LOG), len(rated)),
        "largest relative error max|got-torch|/max|torch|: {:.3e} ({})"
        .format(rated[0][1], rated[0][0]) if rated else "none rated",
        "  ... among arrays with max|torch| >= 1e-3: {:.3e} ({})"
        .format(sizable[0][1], sizable[0][0]) if sizable else "",
        "largest absolute error: {:.3e} ({}, max|torch| = {:.3g})"
        .format(worst_abs[2], worst_abs[0], worst_abs[3]),
        "worst {}:".format(top),
    ]
    for label, rel, _, scale in rated[:top]:
        lines.append("  {:.3e}  {}  (max|torch| = {:.2g})".format(
            rel, label, scale))
    return "\n".join(lines)


def numerical_grad(loss, arr, eps=1e-6):
    """Central-difference gradient of ``loss()`` with respect to ``arr``.

    ``arr`` must be the very array ``loss`` reads (an input the closure
    passes on, or a layer's weight attribute): each entry is moved by +-eps
    in place, ``loss()`` is evaluated, and the entry is restored.
    """
    grad = np.zeros(arr.shape, dtype=np.float64)
    for idx in np.ndindex(*arr.shape):
        old = arr[idx]
        arr[idx] = old + eps
        plus = loss()
        arr[idx] = old - eps
        minus = loss()
        arr[idx] = old
        grad[idx] = (plus - minus) / (2 * eps)
    return grad


def assert_grad_close(function, wrt, x, got, expected, tol=1e-6):
    """Fail, naming function, input, got and expected, if gradients differ.

    The error of each entry is |got - expected| / max(1, |got|, |expected|);
    the check fails when the largest one exceeds ``tol``.
    """
    got = np.asarray(got, dtype=np.float64)
    where = "{} for input of shape {}".format(function, np.shape(x))
    assert got.shape == expected.shape, (
        "{}: {} has shape {}, expected {}".format(
            where, wrt, got.shape, expected.shape))
    errors = np.abs(got - expected) / np.maximum(
        1.0, np.maximum(np.abs(got), np.abs(expected)))
    worst = np.unravel_index(int(np.argmax(errors)), errors.shape)
    assert errors[worst] <= tol, (
        "{}: {} wrong at index {}: got {!r}, expected {!r} (central "
        "difference); relative error {:.3e} > {:.0e}\ninput:\n{}".format(
            where, wrt, tuple(int(i) for i in worst), float(got[worst]),
            float(expected[worst]), float(errors[worst]), tol,
            np.array2string(np.asarray(x), precision=4, threshold=60)))


if __name__ == "__main__":
    import os
    import sys

    import pytest

    here = os.path.dirname(os.path.abspath(__file__))
    code = pytest.main(
        ["-q", "-p", "no:cacheprovider",
         os.path.join(here, "test_parity_torch.py"),
         os.path.join(here, "test_properties.py"), "-m", "torch"]
        + sys.argv[1:])
    import _helpers  # the copy the tests filled (this file runs as __main__)

    print(_helpers.parity_summary())
    sys.exit(code)
