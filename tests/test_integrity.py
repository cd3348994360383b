"""State integrity: caller's arrays, eval, repeated backward, repeated forward.

- No layer modifies the arrays it is given (forward inputs, backward
  gradients), read-only arrays work, and no result shares memory with them.
- ``eval=True`` changes no state and draws no random numbers.
- backward twice after one forward gives the same result and the same
  ``dLd*`` attributes (set, not accumulated).
- A second forward replaces what the first stored: backward then equals
  backward after only the second forward on a twin with the same weights.
"""
import copy

import numpy as np
import pytest

from activation import GELU, Identity, ReLU, Sigmoid, Softmax, Tanh
from batchnorm2d import BatchNorm2d
from Conv2d import Conv2d, Conv2d_stride1
from dropout2d import Dropout2d
from resampling import Downsample1d, Downsample2d, Upsample1d, Upsample2d
from resnet import ConvBlock, ResBlock

from _state import same_value, snapshot


def assert_same_state(before, after, only=None):
    keys = sorted(k for k in before if only is None or only(k))
    assert keys == sorted(k for k in after if only is None or only(k)), \
        "attributes added or removed"
    changed = [k for k in keys if not same_value(before[k], after[k])]
    assert not changed, "state changed: {}".format(changed)


def rng_state_equal(a, b):
    return (a[0] == b[0] and np.array_equal(a[1], b[1])
            and tuple(a[2:]) == tuple(b[2:]))


# --------------------------------------------------------------------------
# the layers
# --------------------------------------------------------------------------

class Spec(object):
    """A layer, two input shapes for it, and its forward keyword arguments.
    """

    def __init__(self, name, make, shape, other_shape, kwargs=None):
        self.name, self.make = name, make
        self.shape, self.other_shape = shape, other_shape
        self.kwargs = kwargs or {}

    @property
    def training(self):
        return not self.kwargs.get("eval", False)

    def forward(self, layer, x, seed=0):
        np.random.seed(seed)          # Dropout2d draws its mask here
        return layer.forward(x, **self.kwargs)


def build(seed, make):
    np.random.seed(seed)
    return make()


TRAIN_SPECS = [
    Spec("Conv2d_stride1", lambda: Conv2d_stride1(3, 2, 3), (2, 3, 5, 6),
         (3, 3, 4, 3)),
    Spec("Conv2d", lambda: Conv2d(3, 2, 3, stride=2, padding=1), (2, 3, 5, 6),
         (1, 3, 8, 3)),
    Spec("Conv2d-no-padding", lambda: Conv2d(3, 2, 2, stride=1), (2, 3, 4, 5),
         (3, 3, 3, 2)),
    Spec("Conv2d-1x1", lambda: Conv2d(3, 2, 1, stride=1), (2, 3, 4, 5),
         (3, 3, 3, 2)),
    Spec("BatchNorm2d", lambda: BatchNorm2d(3), (2, 3, 4, 5), (4, 3, 2, 2)),
    Spec("Dropout2d", lambda: Dropout2d(0.5), (4, 3, 4, 5), (3, 3, 2, 2)),
    Spec("Upsample1d", lambda: Upsample1d(3), (2, 3, 5), (1, 2, 4)),
    Spec("Downsample1d", lambda: Downsample1d(2), (2, 3, 5), (1, 2, 8)),
    Spec("Upsample2d", lambda: Upsample2d(2), (2, 3, 3, 4), (1, 2, 5, 2)),
    Spec("Downsample2d", lambda: Downsample2d(3), (2, 3, 5, 7), (1, 2, 4, 4)),
    Spec("Identity", Identity, (2, 5), (3, 4)),
    Spec("Sigmoid", Sigmoid, (2, 5), (3, 4)),
    Spec("Tanh", Tanh, (2, 5), (3, 4)),
    Spec("ReLU", ReLU, (2, 5), (3, 4)),
    Spec("GELU", GELU, (2, 5), (3, 4)),
    Spec("Softmax", Softmax, (2, 5), (3, 4)),
    Spec("ConvBlock", lambda: ConvBlock(3, 2, 3, 2, 1), (2, 3, 5, 6),
         (3, 3, 4, 4)),
    Spec("ResBlock-projection", lambda: ResBlock(3, 4, 3, 2, 1), (2, 3, 5, 6),
         (3, 3, 4, 4)),
    Spec("ResBlock-identity", lambda: ResBlock(3, 3, 1, 1, 0), (2, 3, 5, 6),
         (3, 3, 4, 4)),
]

EVAL_SPECS = [
    Spec(s.name + "-eval", s.make, s.shape, s.other_shape, {"eval": True})
    for s in TRAIN_SPECS
    if s.name in ("BatchNorm2d", "Dropout2d", "ConvBlock",
                  "ResBlock-projection", "ResBlock-identity")
]

ALL_SPECS = TRAIN_SPECS + EVAL_SPECS


def ids(specs):
    return [s.name for s in specs]


def data(shape, seed, dtype=np.float64):
    values = np.random.RandomState(seed).normal(size=shape)
    if np.dtype(dtype).kind == "i":
        values = np.round(3 * values)
    return values.astype(dtype)


def trained(spec, seed=1):
    """A layer after one training forward and backward (state non-trivial).
    """
    layer = build(seed, spec.make)
    np.random.seed(seed + 1)
    out = layer.forward(data(spec.shape, seed + 2))
    layer.backward(data(out.shape, seed + 3))
    return layer


# --------------------------------------------------------------------------
# the caller's arrays
# --------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64],
                         ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("spec", ALL_SPECS, ids=ids(ALL_SPECS))
def test_caller_arrays_are_never_modified(spec, dtype):
    layer = trained(spec)
    A = data(spec.shape, 10, dtype)
    saved_A = A.copy()
    out = spec.forward(layer, A)
    assert np.array_equal(A, saved_A) and A.dtype == saved_A.dtype
    if not spec.training:
        return
    G = data(out.shape, 11, dtype)
    saved_G = G.copy()
    layer.backward(G)
    assert np.array_equal(G, saved_G) and G.dtype == saved_G.dtype
    layer.backward(G)
    assert np.array_equal(G, saved_G)
    assert np.array_equal(A, saved_A)


@pytest.mark.parametrize("spec", ALL_SPECS, ids=ids(ALL_SPECS))
def test_read_only_arrays_work(spec):
    layer = trained(spec)
    twin = copy.deepcopy(layer)
    A = data(spec.shape, 12)
    A.flags.writeable = False
    out = spec.forward(layer, A, seed=13)
    expected = spec.forward(twin, A.copy(), seed=13)
    assert np.array_equal(out, expected)
    if spec.training:
        G = data(out.shape, 14)
        G.flags.writeable = False
        assert np.array_equal(layer.backward(G), twin.backward(G.copy()))


@pytest.mark.parametrize("spec", ALL_SPECS, ids=ids(ALL_SPECS))
def test_results_do_not_share_memory_with_the_callers_arrays(spec):
    """A result that is (a view of) the caller's array would let the
    caller's next in-place step (``out += ...``) change the input."""
    layer = trained(spec)
    A = data(spec.shape, 15)
    out = spec.forward(layer, A)
    assert not np.shares_memory(out, A)
    if spec.training:
        G = data(out.shape, 16)
        assert not np.shares_memory(layer.backward(G), G)


# --------------------------------------------------------------------------
# eval
# --------------------------------------------------------------------------

@pytest.mark.parametrize("spec", EVAL_SPECS, ids=ids(EVAL_SPECS))
def test_eval_changes_no_state_and_draws_nothing(spec):
    layer = trained(spec)
    reference = copy.deepcopy(layer)
    before = snapshot(layer)
    np.random.seed(17)
    rng_before = np.random.get_state()
    layer.forward(data(spec.other_shape, 18), eval=True)
    assert rng_state_equal(rng_before, np.random.get_state()), "drew numbers"
    assert_same_state(before, snapshot(layer))
    # backward still refers to the last training forward
    grad = data(reference.forward(data(spec.shape, 19), eval=True).shape, 20)
    np.testing.assert_array_equal(layer.backward(grad),
                                  reference.backward(grad))


@pytest.mark.parametrize("spec", EVAL_SPECS, ids=ids(EVAL_SPECS))
def test_eval_keeps_running_statistics(spec):
    """The part of the eval contract a ResBlock can least afford to break."""
    layer = trained(spec)
    before = snapshot(layer)
    layer.forward(data(spec.other_shape, 21), eval=True)
    assert_same_state(before, snapshot(layer),
                      only=lambda key: "running_" in key or key == "mask")


# --------------------------------------------------------------------------
# repeated backward, repeated forward
# --------------------------------------------------------------------------

TRAIN_IDS = ids(TRAIN_SPECS)


@pytest.mark.parametrize("spec", TRAIN_SPECS, ids=TRAIN_IDS)
def test_backward_twice_gives_the_same_result_and_state(spec):
    layer = build(22, spec.make)
    out = spec.forward(layer, data(spec.shape, 23))
    G = data(out.shape, 24)
    first = layer.backward(G)
    state = snapshot(layer)
    second = layer.backward(G)
    assert np.array_equal(first, second)
    assert_same_state(state, snapshot(layer))
    # with another gradient in between: dLd* are set, never accumulated
    layer.backward(data(out.shape, 25))
    assert np.array_equal(layer.backward(G), first)
    assert_same_state(state, snapshot(layer))


def is_gradient(key):
    return key.rsplit(".", 1)[-1].startswith("dLd")


@pytest.mark.parametrize("backward_between", [False, True],
                         ids=["forward-forward", "forward-backward-forward"])
@pytest.mark.parametrize("spec", TRAIN_SPECS, ids=TRAIN_IDS)
def test_second_forward_replaces_the_first(spec, backward_between):
    """The first forward uses another batch size and spatial size."""
    layer = build(26, spec.make)
    twin = copy.deepcopy(layer)
    out = spec.forward(layer, data(spec.other_shape, 27), seed=28)
    if backward_between:
        layer.backward(data(out.shape, 29))
    A = data(spec.shape, 30)
    out = spec.forward(layer, A, seed=31)
    assert np.array_equal(out, spec.forward(twin, A, seed=31))
    G = data(out.shape, 32)
    assert np.array_equal(layer.backward(G), twin.backward(G))
    assert_same_state(snapshot(twin), snapshot(layer), only=is_gradient)
