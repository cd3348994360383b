"""Hypothesis properties of Conv2d, the resampling layers, Dropout2d and
BatchNorm2d over drawn legal shapes and parameters.

Every property states a rule from the layer's specification; none compares
the code with itself.  One property (marked torch) checks Conv2d against
PyTorch on drawn configurations.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from _helpers import assert_matches_torch

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # the torch property is skipped by conftest
    torch = F = None

from batchnorm2d import BatchNorm2d
from Conv2d import Conv2d
from dropout2d import Dropout2d
from resampling import Downsample1d, Downsample2d, Upsample1d, Upsample2d

FEW = settings(max_examples=40, deadline=None)

seeds = st.integers(0, 2 ** 32 - 1)
factors = st.integers(1, 5)


# ----------------------------------------------------------------- strategies

@st.composite
def conv_configs(draw):
    """A legal Conv2d setup: H + 2p >= K and W + 2p >= K."""
    K = draw(st.integers(1, 5))
    stride = draw(st.integers(1, 5))
    padding = draw(st.integers(0, 6))
    smallest = max(1, K - 2 * padding)
    return dict(
        N=draw(st.integers(1, 3)), C_in=draw(st.integers(1, 4)),
        C_out=draw(st.integers(1, 4)),
        H=draw(st.integers(smallest, smallest + 9)),
        W=draw(st.integers(smallest, smallest + 9)),
        K=K, stride=stride, padding=padding, seed=draw(seeds))


def shapes_1d():
    return st.tuples(st.integers(1, 3), st.integers(1, 4),
                     st.integers(1, 12))


def shapes_2d(max_side=9):
    return st.tuples(st.integers(1, 3), st.integers(1, 4),
                     st.integers(1, max_side), st.integers(1, max_side))


def _conv_layer(cfg):
    rng = np.random.default_rng(cfg["seed"])
    layer = Conv2d(
        cfg["C_in"], cfg["C_out"], cfg["K"], cfg["stride"], cfg["padding"],
        weight_init_fn=lambda *shape: rng.normal(size=shape),
        bias_init_fn=lambda *shape: rng.normal(size=shape))
    A = rng.normal(size=(cfg["N"], cfg["C_in"], cfg["H"], cfg["W"]))
    return layer, A, rng


# --------------------------------------------------------------------- Conv2d

@FEW
@given(conv_configs())
def test_conv2d_output_size_formula(cfg):
    layer, A, _ = _conv_layer(cfg)
    K, s, p = cfg["K"], cfg["stride"], cfg["padding"]
    expected = (cfg["N"], cfg["C_out"], (cfg["H"] + 2 * p - K) // s + 1,
                (cfg["W"] + 2 * p - K) // s + 1)
    Z = layer.forward(A)
    assert Z.shape == expected
    assert layer.backward(np.ones(expected)).shape == A.shape


@pytest.mark.torch
@settings(max_examples=25, deadline=None)
@given(conv_configs())
def test_conv2d_matches_torch_on_drawn_configs(cfg):
    layer, A, rng = _conv_layer(cfg)
    W = np.array(layer.conv2d_stride1.W)
    b = np.array(layer.conv2d_stride1.b)
    A_t, W_t, b_t = (torch.tensor(a, requires_grad=True) for a in (A, W, b))
    Z_t = F.conv2d(A_t, W_t, b_t, stride=cfg["stride"],
                   padding=cfg["padding"])
    dLdZ = rng.normal(size=tuple(Z_t.shape))
    Z_t.backward(torch.from_numpy(dLdZ))

    label = "Conv2d[hypothesis {}]".format(
        "-".join("{}{}".format(k, v) for k, v in sorted(cfg.items())
                 if k != "seed"))
    assert_matches_torch(label + " forward", layer.forward(A),
                         Z_t.detach().numpy())
    assert_matches_torch(label + " dLdA", layer.backward(dLdZ),
                         A_t.grad.numpy())
    assert_matches_torch(label + " dLdW", layer.conv2d_stride1.dLdW,
                         W_t.grad.numpy())
    assert_matches_torch(label + " dLdb", layer.conv2d_stride1.dLdb,
                         b_t.grad.numpy())


# ----------------------------------------------------------------- resampling

def _upsampled_size(W, k):
    return k * (W - 1) + 1


@FEW
@given(shapes_1d(), factors, seeds)
def test_upsample1d_size_grid_and_zeros(shape, k, seed):
    A = np.random.default_rng(seed).normal(size=shape)
    Z = Upsample1d(k).forward(A)
    assert Z.shape == shape[:2] + (_upsampled_size(shape[2], k),)
    np.testing.assert_array_equal(Z[:, :, ::k], A)
    off_grid = np.ones(Z.shape[2], dtype=bool)
    off_grid[::k] = False
    assert not np.any(Z[:, :, off_grid])


@FEW
@given(shapes_2d(), factors, seeds)
def test_upsample2d_size_grid_and_zeros(shape, k, seed):
    A = np.random.default_rng(seed).normal(size=shape)
    Z = Upsample2d(k).forward(A)
    assert Z.shape == shape[:2] + (_upsampled_size(shape[2], k),
                                   _upsampled_size(shape[3], k))
    np.testing.assert_array_equal(Z[:, :, ::k, ::k], A)
    on_grid = np.zeros(Z.shape[2:], dtype=bool)
    on_grid[::k, ::k] = True
    assert not np.any(Z[:, :, ~on_grid])


@FEW
@given(shapes_1d(), factors, seeds)
def test_downsample1d_undoes_upsample1d(shape, k, seed):
    A = np.random.default_rng(seed).normal(size=shape)
    np.testing.assert_array_equal(
        Downsample1d(k).forward(Upsample1d(k).forward(A)), A)


@FEW
@given(shapes_2d(), factors, seeds)
def test_downsample2d_undoes_upsample2d(shape, k, seed):
    A = np.random.default_rng(seed).normal(size=shape)
    np.testing.assert_array_equal(
        Downsample2d(k).forward(Upsample2d(k).forward(A)), A)


@FEW
@given(shapes_1d(), factors, seeds)
def test_downsample1d_backward_size_and_zeros(shape, k, seed):
    rng = np.random.default_rng(seed)
    layer = Downsample1d(k)
    Z = layer.forward(rng.normal(size=shape))
    assert Z.shape[2] == (shape[2] - 1) // k + 1
    dLdZ = rng.normal(size=Z.shape)
    dLdA = layer.backward(dLdZ)
    assert dLdA.shape == shape
    np.testing.assert_array_equal(dLdA[:, :, ::k], dLdZ)
    dropped = np.ones(shape[2], dtype=bool)
    dropped[::k] = False
    assert not np.any(dLdA[:, :, dropped])


@FEW
@given(shapes_2d(max_side=12), factors, seeds)
def test_downsample2d_backward_size_and_zeros(shape, k, seed):
    rng = np.random.default_rng(seed)
    layer = Downsample2d(k)
    Z = layer.forward(rng.normal(size=shape))
    assert Z.shape[2:] == ((shape[2] - 1) // k + 1, (shape[3] - 1) // k + 1)
    dLdZ = rng.normal(size=Z.shape)
    dLdA = layer.backward(dLdZ)
    assert dLdA.shape == shape
    np.testing.assert_array_equal(dLdA[:, :, ::k, ::k], dLdZ)
    kept = np.zeros(shape[2:], dtype=bool)
    kept[::k, ::k] = True
    assert not np.any(dLdA[:, :, ~kept])


# ------------------------------------------------------------------ Dropout2d

@FEW
@given(shapes_2d(max_side=5), st.floats(0.0, 0.95), seeds)
def test_dropout2d_drops_or_scales_whole_channels(shape, p, seed):
    rng = np.random.default_rng(seed)
    # magnitudes >= 0.5 so a kept channel can never look dropped
    x = rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.5, 2.0, shape)
    np.random.seed(seed % 2 ** 31)
    y = Dropout2d(p).forward(x)
    assert y.shape == x.shape
    for n in range(shape[0]):
        for c in range(shape[1]):
            channel = y[n, c]
            if np.all(channel == 0):
                assert p > 0, "p = 0 dropped channel ({}, {})".format(n, c)
                continue
            np.testing.assert_allclose(
                channel, x[n, c] / (1 - p), rtol=1e-12, atol=0,
                err_msg="channel ({}, {}) is neither all zeros nor "
                        "x / (1 - p)".format(n, c))


# ---------------------------------------------------------------- BatchNorm2d

bn_inputs = shapes_2d(max_side=5).flatmap(
    lambda shape: hnp.arrays(
        np.float64, shape,
        elements=st.floats(-1e3, 1e3, allow_nan=False,
                           allow_infinity=False)))


@FEW
@given(bn_inputs)
def test_batchnorm2d_normalises_each_channel(Z):
    """Default BW = 1, Bb = 0: per channel, mean 0 and biased variance
    V / (V + eps), with V the channel's biased batch variance."""
    eps = 1e-8
    BZ = BatchNorm2d(Z.shape[1]).forward(Z)
    V = Z.var(axis=(0, 2, 3))
    np.testing.assert_allclose(BZ.mean(axis=(0, 2, 3)), 0.0, atol=1e-8)
    np.testing.assert_allclose(BZ.var(axis=(0, 2, 3)), V / (V + eps),
                               rtol=1e-7, atol=1e-8)
