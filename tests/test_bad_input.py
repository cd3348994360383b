"""Bad input raises ValueError/TypeError with the promised message, harmlessly.

The message contract: it starts with the class name and a colon, says what
was expected and what came (see the regexes below). The state contract: a
call that raises leaves the layer exactly as it was -- every array attribute
(weights, gradients, running statistics, caches) equal and no attribute
added -- draws no random numbers, and a later backward returns what it
would have returned had the failed call never happened.
"""
import copy
import re

import numpy as np
import pytest

from activation import GELU, Identity, ReLU, Sigmoid, Softmax, Tanh
from batchnorm2d import BatchNorm2d
from Conv2d import Conv2d, Conv2d_stride1
from dropout2d import Dropout2d
from resampling import Downsample1d, Downsample2d, Upsample1d, Upsample2d
from resnet import ConvBlock, ResBlock

from _state import same_value, snapshot


def assert_same_state(before, after):
    assert sorted(before) == sorted(after), "attributes added or removed"
    changed = [k for k in before if not same_value(before[k], after[k])]
    assert not changed, "state changed: {}".format(changed)


def rng_state_equal(a, b):
    return (a[0] == b[0] and np.array_equal(a[1], b[1])
            and tuple(a[2:]) == tuple(b[2:]))


# --------------------------------------------------------------------------
# constructors
# --------------------------------------------------------------------------

CONSTRUCTORS = [
    ("Conv2d_stride1", Conv2d_stride1,
     dict(in_channels=2, out_channels=3, kernel_size=2)),
    ("Conv2d", Conv2d, dict(in_channels=2, out_channels=3, kernel_size=2,
                            stride=1, padding=0)),
    ("BatchNorm2d", BatchNorm2d, dict(num_features=2)),
    ("Upsample1d", Upsample1d, dict(upsampling_factor=2)),
    ("Downsample1d", Downsample1d, dict(downsampling_factor=2)),
    ("Upsample2d", Upsample2d, dict(upsampling_factor=2)),
    ("Downsample2d", Downsample2d, dict(downsampling_factor=2)),
    ("ConvBlock", ConvBlock, dict(in_channels=2, out_channels=3,
                                  kernel_size=2, stride=1, padding=0)),
    ("ResBlock", ResBlock, dict(in_channels=2, out_channels=3, filter_size=2,
                                stride=1, padding=0)),
]

BAD_POSITIVE = [(0, ValueError, "0"), (-2, ValueError, "-2"),
                (2.0, TypeError, "2.0"), (1.5, TypeError, "1.5"),
                (True, TypeError, "True"), ("3", TypeError, "'?3'?"),
                (None, TypeError, "None")]
BAD_PADDING = [(-1, ValueError, "-1"), (1.0, TypeError, "1.0"),
               (True, TypeError, "True"), (None, TypeError, "None")]


def constructor_cases():
    cases = []
    for cls_name, cls, good in CONSTRUCTORS:
        for arg in good:
            bad_values = BAD_PADDING if arg == "padding" else BAD_POSITIVE
            word = "non-negative" if arg == "padding" else "positive"
            for value, exc, shown in bad_values:
                regex = "^{}: expected {} to be a {} integer, got {}$".format(
                    cls_name, arg, word, shown)
                kwargs = dict(good)
                kwargs[arg] = value
                cases.append(pytest.param(
                    cls, kwargs, exc, regex,
                    id="{}-{}={!r}".format(cls_name, arg, value)))
    return cases


@pytest.mark.parametrize("cls,kwargs,exc,regex", constructor_cases())
def test_bad_integer_argument(cls, kwargs, exc, regex):
    with pytest.raises(exc, match=regex):
        cls(**kwargs)


@pytest.mark.parametrize("cls_name,cls,good", CONSTRUCTORS,
                         ids=[c[0] for c in CONSTRUCTORS])
def test_numpy_integers_are_accepted(cls_name, cls, good):
    kwargs = {k: np.int64(v) for k, v in good.items()}
    layer = cls(**kwargs)
    assert type(layer).__name__ == cls_name


def test_padding_zero_is_accepted():
    assert Conv2d(1, 1, 2, 1, padding=0).pad == 0


@pytest.mark.parametrize("p,exc,regex", [
    (1.0, ValueError, r"^Dropout2d: expected p in \[0, 1\), got 1\.0$"),
    (1, ValueError, r"^Dropout2d: expected p in \[0, 1\), got 1$"),
    (1.5, ValueError, r"^Dropout2d: expected p in \[0, 1\), got 1\.5$"),
    (-0.1, ValueError, r"^Dropout2d: expected p in \[0, 1\), got -0\.1$"),
    (float("nan"), ValueError, r"^Dropout2d: expected p in \[0, 1\), got nan$"),
    (float("inf"), ValueError, r"^Dropout2d: expected p in \[0, 1\), got inf$"),
    ("0.5", TypeError, r"^Dropout2d: expected p .*got '0\.5'"),
    (None, TypeError, r"^Dropout2d: expected p .*got None"),
], ids=["1.0", "1", "1.5", "-0.1", "nan", "inf", "str", "None"])
def test_bad_dropout_p(p, exc, regex):
    with pytest.raises(exc, match=regex):
        Dropout2d(p)


@pytest.mark.parametrize("p", [0, 0.0, 0.999, np.float32(0.25)],
                         ids=["0", "0.0", "0.999", "float32"])
def test_dropout_p_in_range_is_accepted(p):
    assert Dropout2d(p).p == pytest.approx(float(p))


@pytest.mark.parametrize("alpha,exc,regex", [
    (1.5, ValueError, r"^BatchNorm2d: expected alpha in \[0, 1\], got 1\.5$"),
    (-0.1, ValueError, r"^BatchNorm2d: expected alpha in \[0, 1\], got -0\.1$"),
    (float("nan"), ValueError,
     r"^BatchNorm2d: expected alpha in \[0, 1\], got nan$"),
    (float("-inf"), ValueError,
     r"^BatchNorm2d: expected alpha in \[0, 1\], got -inf$"),
    ("0.9", TypeError, r"^BatchNorm2d: expected alpha .*got '0\.9'"),
    (None, TypeError, r"^BatchNorm2d: expected alpha .*got None"),
], ids=["1.5", "-0.1", "nan", "-inf", "str", "None"])
def test_bad_batchnorm_alpha(alpha, exc, regex):
    with pytest.raises(exc, match=regex):
        BatchNorm2d(3, alpha=alpha)


@pytest.mark.parametrize("alpha", [0, 0.0, 1, 1.0, 0.5])
def test_batchnorm_alpha_in_range_is_accepted(alpha):
    assert BatchNorm2d(3, alpha=alpha).alpha == alpha


# --------------------------------------------------------------------------
# forward and backward: the layers and their good and bad inputs
# --------------------------------------------------------------------------

class Spec(object):
    """A layer, a good input shape, and the bad inputs it must refuse."""

    def __init__(self, name, cls_name, make, shape, kwargs=None, ndim=4,
                 channels=None, too_small=(), grad_name="dLdZ",
                 extra_forward=()):
        self.name, self.cls_name, self.make = name, cls_name, make
        self.shape, self.kwargs = shape, kwargs or {}
        self.ndim, self.grad_name = ndim, grad_name
        self.channels = channels            # (bad shape, regex) or None
        self.too_small = too_small          # bad shapes
        self.extra_forward = extra_forward  # (id, array, exc, regex)

    def forward(self, layer, x):
        return layer.forward(x, **self.kwargs)


CONV_CHANNELS = r"expected 3 input channels, got 5"
BLOCK_CHANNELS = r"expected .*\b3\b.*, got .*\b5\b"

SPECS = [
    Spec("Conv2d_stride1", "Conv2d_stride1", lambda: Conv2d_stride1(3, 2, 3),
         (2, 3, 5, 6), channels=((2, 5, 5, 6), CONV_CHANNELS),
         too_small=[(2, 3, 2, 6), (2, 3, 5, 2)]),
    Spec("Conv2d", "Conv2d", lambda: Conv2d(3, 2, 4, stride=2, padding=1),
         (2, 3, 5, 6), channels=((2, 5, 5, 6), CONV_CHANNELS),
         too_small=[(2, 3, 1, 6), (2, 3, 6, 1)]),
    Spec("BatchNorm2d-train", "BatchNorm2d", lambda: BatchNorm2d(3),
         (2, 3, 4, 5), channels=((2, 5, 4, 5), r"expected 3 channels, got 5"),
         grad_name="dLdBZ"),
    Spec("BatchNorm2d-eval", "BatchNorm2d", lambda: BatchNorm2d(3),
         (2, 3, 4, 5), kwargs={"eval": True},
         channels=((2, 5, 4, 5), r"expected 3 channels, got 5"),
         grad_name="dLdBZ"),
    Spec("Dropout2d-train", "Dropout2d", lambda: Dropout2d(0.5), (2, 3, 4, 5),
         grad_name="delta"),
    Spec("Dropout2d-eval", "Dropout2d", lambda: Dropout2d(0.5), (2, 3, 4, 5),
         kwargs={"eval": True}, grad_name="delta"),
    Spec("Upsample1d", "Upsample1d", lambda: Upsample1d(2), (2, 3, 5), ndim=3),
    Spec("Downsample1d", "Downsample1d", lambda: Downsample1d(2), (2, 3, 5),
         ndim=3),
    Spec("Upsample2d", "Upsample2d", lambda: Upsample2d(2), (2, 3, 4, 5)),
    Spec("Downsample2d", "Downsample2d", lambda: Downsample2d(3), (2, 3, 5, 4)),
    Spec("Identity", "Identity", Identity, (2, 5), ndim=None,
         grad_name="dLdA"),
    Spec("Sigmoid", "Sigmoid", Sigmoid, (2, 5), ndim=None, grad_name="dLdA"),
    Spec("Tanh", "Tanh", Tanh, (2, 5), ndim=None, grad_name="dLdA"),
    Spec("ReLU", "ReLU", ReLU, (2, 5), ndim=None, grad_name="dLdA"),
    Spec("GELU", "GELU", GELU, (2, 5), ndim=None, grad_name="dLdA"),
    Spec("Softmax", "Softmax", Softmax, (2, 5), ndim=None, grad_name="dLdA",
         extra_forward=[("1D-input", np.ones(5), ValueError,
                         r"^Softmax: expected .*2.*got")]),
    Spec("ConvBlock", "ConvBlock", lambda: ConvBlock(3, 2, 4, 2, 1),
         (2, 3, 5, 6), channels=((2, 5, 5, 6), BLOCK_CHANNELS),
         too_small=[(2, 3, 1, 6)], grad_name=r"\w+"),
    Spec("ResBlock-projection", "ResBlock", lambda: ResBlock(3, 4, 4, 2, 1),
         (2, 3, 5, 6), channels=((2, 5, 5, 6), BLOCK_CHANNELS),
         too_small=[(2, 3, 1, 6)], grad_name=r"\w+"),
    Spec("ResBlock-identity", "ResBlock", lambda: ResBlock(3, 3, 1, 1, 0),
         (2, 3, 5, 6), channels=((2, 5, 5, 6), BLOCK_CHANNELS),
         grad_name=r"\w+"),
]


def non_numeric(shape):
    """(id, array) pairs that are not real-valued numeric arrays."""
    strings = np.full(shape, "a")                    # dtype <U1
    objects = np.empty(shape, dtype=object)
    objects[...] = 1.0
    complexes = np.ones(shape, dtype=complex)
    return [("str", strings, "<U1"), ("object", objects, "object"),
            ("complex", complexes, "complex128")]


def forward_cases():
    """(spec, id, bad input, exception, regex) for every forward refusal."""
    cases = []
    for spec in SPECS:
        prefix = "^{}: ".format(spec.cls_name)
        if spec.ndim is not None:
            n = len(spec.shape)
            for bad_n in (n - 1, n + 1):
                bad = np.ones(spec.shape[:bad_n] + (3,) * (bad_n - n))
                regex = prefix + r"expected {}D input.*got".format(n)
                cases.append((spec, "{}D-input".format(bad_n), bad,
                              ValueError, regex))
        if spec.channels is not None:
            shape, regex = spec.channels
            cases.append((spec, "channels", np.ones(shape), ValueError,
                          prefix + regex))
        for shape in spec.too_small:
            cases.append((spec, "too-small-{}x{}".format(*shape[2:]),
                          np.ones(shape), ValueError,
                          prefix + r".*smaller than the kernel"))
        for kind, bad, dtype in non_numeric(spec.shape):
            regex = (prefix + r"expected .*real-valued numeric array, got "
                     r"dtype " + re.escape(dtype))
            cases.append((spec, kind, bad, TypeError, regex))
        for case in spec.extra_forward:
            cases.append((spec,) + tuple(case))
    return [pytest.param(*case, id="{}-{}".format(case[0].name, case[1]))
            for case in cases]


def good_input(spec, seed=0):
    return np.random.RandomState(seed).normal(size=spec.shape)


def output_shape(spec):
    """The forward output's shape, from a twin layer (only to build grads)."""
    np.random.seed(0)
    return spec.forward(spec.make(), good_input(spec)).shape


def training(spec):
    return not spec.kwargs.get("eval", False)


@pytest.mark.parametrize("prior", ["fresh", "after-forward"])
@pytest.mark.parametrize("spec,kind,bad,exc,regex", forward_cases())
def test_bad_forward_raises_and_changes_nothing(spec, kind, bad, exc, regex,
                                                prior):
    np.random.seed(1)
    layer = spec.make()
    grad = np.random.RandomState(2).normal(size=output_shape(spec))
    if prior == "after-forward":
        # a good training forward and backward, so caches, masks, running
        # statistics and dLd* attributes all hold something non-trivial
        layer.forward(good_input(spec))
        layer.backward(grad)
    reference = copy.deepcopy(layer)
    before = snapshot(layer)
    rng_before = np.random.get_state()

    with pytest.raises(exc, match=regex):
        spec.forward(layer, bad)

    assert rng_state_equal(rng_before, np.random.get_state()), "drew numbers"
    assert_same_state(before, snapshot(layer))
    if prior == "fresh":
        with pytest.raises(ValueError, match="backward called before forward"):
            layer.backward(grad)
    else:
        assert np.array_equal(layer.backward(grad), reference.backward(grad))
        assert_same_state(snapshot(reference), snapshot(layer))


def backward_cases():
    cases = []
    for spec in filter(training, SPECS):       # eval specs would repeat
        out = output_shape(spec)
        prefix = "^{}: ".format(spec.cls_name)
        wrong = [out[:-1] + (out[-1] + 1,), out[:-1], out + (1,)]
        if tuple(reversed(out)) != out:
            wrong.append(tuple(reversed(out)))      # same size, other shape
        for shape in wrong:
            regex = (prefix + r"expected {} of shape {} \(the forward "
                     r"output's\), got {}$").format(
                spec.grad_name, re.escape(str(out)), re.escape(str(shape)))
            cases.append((spec, "grad-shape-" + "x".join(map(str, shape)),
                          np.ones(shape), ValueError, regex))
        for kind, bad, dtype in non_numeric(out):
            regex = (prefix + r"expected .*real-valued numeric array, got "
                     r"dtype " + re.escape(dtype))
            cases.append((spec, "grad-" + kind, bad, TypeError, regex))
    return [pytest.param(*case, id="{}-{}".format(case[0].name, case[1]))
            for case in cases]


@pytest.mark.parametrize("spec,kind,bad,exc,regex", backward_cases())
def test_bad_backward_raises_and_changes_nothing(spec, kind, bad, exc, regex):
    np.random.seed(3)
    layer = spec.make()
    # backward needs a training forward (eval stores nothing)
    layer.forward(good_input(spec))
    grad = np.random.RandomState(4).normal(size=output_shape(spec))
    layer.backward(grad)
    layer.forward(good_input(spec, seed=5))
    reference = copy.deepcopy(layer)
    before = snapshot(layer)

    with pytest.raises(exc, match=regex):
        layer.backward(bad)

    assert_same_state(before, snapshot(layer))
    assert np.array_equal(layer.backward(grad), reference.backward(grad))
    assert_same_state(snapshot(reference), snapshot(layer))


@pytest.mark.parametrize("spec", [s for s in SPECS if training(s)],
                         ids=[s.name for s in SPECS if training(s)])
def test_backward_before_forward(spec):
    np.random.seed(6)
    layer = spec.make()
    before = snapshot(layer)
    # layers with an eval mode add why eval does not count: "(a training
    # one: eval=True stores nothing)"
    regex = r"^{}: backward called before forward( \(a training one: " \
            r"eval=True stores nothing\))?$".format(spec.cls_name)
    with pytest.raises(ValueError, match=regex):
        layer.backward(np.ones(output_shape(spec)))
    assert_same_state(before, snapshot(layer))


EVAL_SPECS = [s for s in SPECS if "eval" in s.kwargs]


@pytest.mark.parametrize("spec", EVAL_SPECS, ids=[s.name for s in EVAL_SPECS])
def test_backward_after_only_eval_forwards(spec):
    """eval stores nothing, so there is still nothing to differentiate."""
    layer = spec.make()
    spec.forward(layer, good_input(spec))
    regex = "^{}: backward called before forward".format(spec.cls_name)
    with pytest.raises(ValueError, match=regex):
        layer.backward(np.ones(spec.shape))


def test_resblock_backward_after_only_eval_forward():
    np.random.seed(7)
    block = ResBlock(3, 4, 3, 2, 1)
    block.forward(np.ones((2, 3, 5, 5)), eval=True)
    with pytest.raises(ValueError, match="backward called before forward"):
        block.backward(np.ones((2, 4, 3, 3)))


@pytest.mark.parametrize("shape", [(2, 3, 2, 2), (2, 3, 1, 1)],
                         ids=["exact-fit", "fits-only-after-padding"])
def test_input_smaller_than_kernel_before_padding_is_accepted(shape):
    # K = 4 (Conv2d) and K = 3 (padding 1): H + 2*padding >= K in both
    conv = Conv2d(3, 2, 4 if shape[2] == 2 else 3, stride=2, padding=1)
    assert conv.forward(np.ones(shape)).shape == (2, 2, 1, 1)


def empty_shapes(shape):
    """The spec's input shape with one axis at a time set to zero."""
    return [shape[:i] + (0,) + shape[i + 1:] for i in range(len(shape))]


EMPTY_CASES = [(spec, shape) for spec in SPECS
               for shape in empty_shapes(spec.shape)]


@pytest.mark.parametrize(
    "spec, shape", EMPTY_CASES,
    ids=["{}-{}".format(s.name, "x".join(map(str, shape)))
         for s, shape in EMPTY_CASES])
def test_empty_input_raises_and_changes_nothing(spec, shape):
    """An axis of size 0 (no sample, no channel, no pixel) is refused.

    BatchNorm2d would otherwise average nothing into its running statistics
    (NaN for good), and Conv2d would fail later inside NumPy.
    """
    layer = spec.make()
    spec.forward(layer, good_input(spec))
    before = snapshot(layer)

    with pytest.raises(ValueError, match="^{}: expected ".format(
            spec.cls_name)):
        spec.forward(layer, np.ones(shape))
    assert_same_state(before, snapshot(layer))


@pytest.mark.parametrize("kwargs, exc, regex", [
    (dict(weight_init_fn=np.ones((4, 3, 3, 3))), TypeError,
     r"expected weight_init_fn to be a function"),
    (dict(weight_init_fn=lambda *s: "abc"), TypeError,
     r"expected weight_init_fn to return a real-valued array .*got dtype"),
    (dict(weight_init_fn=lambda *s: np.ones((4, 3, 3))), ValueError,
     r"expected weight_init_fn to return an array of shape \(4, 3, 3, 3\)"),
    (dict(bias_init_fn=lambda c: np.ones(c + 1)), ValueError,
     r"expected bias_init_fn to return an array of shape \(4,\)"),
], ids=["weights-not-callable", "weights-strings", "weights-wrong-shape",
        "bias-wrong-shape"])
def test_bad_init_function(kwargs, exc, regex):
    with pytest.raises(exc, match="^Conv2d_stride1: " + regex):
        Conv2d(3, 4, 3, 1, **kwargs)
