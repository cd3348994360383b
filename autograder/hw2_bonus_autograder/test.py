"""Comparison helpers of the local grader: Autolab's checks and the diagnosis.

A check compares a student's value with the expected one exactly as the
course's grader does: the same type, then the same shape, then np.allclose
with its default tolerances. Nothing here raises on a strange value (None, a
list, strings, NaN): a check that cannot compare simply fails and says why.

When a check fails, `Check.details` explains what and where: both values'
type, dtype and shape, the largest absolute and relative errors, how many
elements differ, the worst element's index with both values, and a small
aligned excerpt around it.

The runner loads this file by path under its own module name, so it never
collides with Python's standard `test` package.
"""
import numpy as np

RTOL = 1e-05  # np.allclose's defaults, which the course's grader uses
ATOL = 1e-08
EXCERPT_ROWS = 3
EXCERPT_COLS = 4


class Check(object):
    """The outcome of comparing one quantity with its expected value.

    Attributes:
        section: e.g. "BatchNorm2d".
        quantity: e.g. "running_V".
        passed: whether Autolab's type, shape and value checks all hold.
        reason: "" when passed, else "type", "shape" or "values".
        details: lines explaining a failure (empty when passed).
        hints: lines naming a known mistake the values match.
    """

    def __init__(self, section, quantity, passed, reason="", details=()):
        self.section = section
        self.quantity = quantity
        self.passed = passed
        self.reason = reason
        self.details = list(details)
        self.hints = []

    @property
    def name(self):
        return "%s / %s" % (self.section, self.quantity)

    def __repr__(self):
        return "Check(%r, passed=%r)" % (self.name, self.passed)


def describe(value):
    """A short description of any value: type, and dtype and shape if any."""
    kind = type(value).__name__
    if isinstance(value, np.ndarray):
        return "%s, dtype %s, shape %s" % (kind, value.dtype, value.shape)
    if isinstance(value, (list, tuple)):
        return "%s of length %d" % (kind, len(value))
    if isinstance(value, (int, float, complex, np.generic)):
        return "%s %r" % (kind, value)
    return kind


def compare(section, quantity, actual, expected, verbose=False):
    """Autolab's three checks on one quantity; a Check, never an exception."""
    def failed(reason, extra=()):
        lines = ["expected: " + describe(expected),
                 "got     : " + describe(actual)]
        lines.extend(extra)
        if verbose:
            lines.extend(_full_arrays(actual, expected))
        return Check(section, quantity, False, reason, lines)

    if type(actual) is not type(expected):
        return failed("type", ["the types differ"])
    if np.shape(actual) != np.shape(expected):
        return failed("shape", ["the shapes differ"])
    try:
        close = bool(np.allclose(actual, expected))
    except Exception as exc:  # e.g. an object or string array
        return failed("values", ["np.allclose cannot compare them: %s: %s"
                                 % (type(exc).__name__, exc)])
    if close:
        return Check(section, quantity, True)
    return failed("values", diagnose(actual, expected))


def diagnose(actual, expected):
    """Lines locating where two same-shaped arrays differ, and by how much."""
    try:
        a = np.asarray(actual, dtype=np.float64)
        e = np.asarray(expected, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        return ["the values are not real numbers (%s)" % exc]
    lines = []
    bad = ~np.isclose(a, e, rtol=RTOL, atol=ATOL)
    lines.append("%d of %d elements differ (rtol %g, atol %g)"
                 % (bad.sum(), bad.size, RTOL, ATOL))
    n_nan = int(np.isnan(a).sum())
    if n_nan:
        lines.append("got %d NaN value%s" % (n_nan, "" if n_nan == 1 else "s"))
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        err = np.abs(a - e)
        err = np.where(np.isnan(err), np.inf, err)
        rel = np.where(err == 0, 0.0, err / np.abs(e))
    lines.append("largest absolute error %.4g, largest relative error %.4g"
                 % (err.max(), rel.max()))
    if a.ndim == 0:
        lines.append("expected %.10g, got %.10g" % (e, a))
        return lines
    worst = np.unravel_index(int(np.argmax(err)), a.shape)
    lines.append("worst element at %s: expected %.10g, got %.10g"
                 % (_index(worst), e[worst], a[worst]))
    lines.extend(excerpt(a, e, worst))
    return lines


def excerpt(actual, expected, worst):
    """An aligned window of both arrays around the index `worst`.

    The window spans the last two axes longer than 1 (rows and columns),
    every other axis fixed at the worst element's index.
    """
    long_axes = [ax for ax, n in enumerate(actual.shape) if n > 1]
    if not long_axes:
        return []
    col_ax = long_axes[-1]
    row_ax = long_axes[-2] if len(long_axes) > 1 else None
    c0, c1 = _window(worst[col_ax], actual.shape[col_ax], EXCERPT_COLS)
    if row_ax is None:
        r0, r1 = 0, 1
    else:
        r0, r1 = _window(worst[row_ax], actual.shape[row_ax], EXCERPT_ROWS)

    where = [str(i) for i in worst]
    where[col_ax] = "%d:%d" % (c0, c1)
    if row_ax is not None:
        where[row_ax] = "%d:%d" % (r0, r1)
    lines = ["excerpt [%s] (* marks the worst element):" % ", ".join(where)]
    width = 12
    header = " " * 16 + "".join(("col %d" % c).rjust(width)
                                 for c in range(c0, c1))
    lines.append(header)
    for label, array in (("expected", expected), ("got", actual)):
        for r in range(r0, r1):
            index = list(worst)
            if row_ax is not None:
                index[row_ax] = r
            cells = []
            for c in range(c0, c1):
                index[col_ax] = c
                text = "%.5g" % array[tuple(index)]
                if tuple(index) == tuple(worst):
                    text = "*" + text
                cells.append(text.rjust(width))
            row_label = "row %d" % r if row_ax is not None else ""
            lines.append("  %-8s %-6s%s" % (label, row_label,
                                              "".join(cells)))
            label = ""
    return lines


def _window(center, size, length):
    """[start, stop) of at most `length` indices around center in range(size)."""
    start = max(0, min(center - length // 2, size - length))
    return start, min(size, start + length)


def _index(index):
    return "[%s]" % ", ".join(str(int(i)) for i in index)


def _full_arrays(actual, expected):
    """Both values printed whole (for --verbose)."""
    import sys
    lines = []
    with np.printoptions(threshold=sys.maxsize, linewidth=100):
        for label, value in (("expected", expected), ("got", actual)):
            lines.append(label + ":")
            lines.extend(("  " + row).rstrip()
                         for row in repr(value).splitlines())
    return lines
