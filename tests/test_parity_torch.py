"""Parity with PyTorch: forward and backward of every class on a grid.

Each expected value comes from PyTorch in float64, built from the same NumPy
weights the MyTorch object uses; never from the code under test.  Backward
compares the returned input gradient and every dLd* attribute with autograd.
Tolerances: rtol = 1e-10, atol = 1e-10 * max(1, max|expected|).

Test ids spell the case: N2-C3to5-H7xW9-K3-s2-p1 is a batch of 2, 3 input
and 5 output channels, a 7 x 9 input, kernel 3, stride 2, padding 1.
"""
import numpy as np
import pytest

from _helpers import assert_matches_torch, seed_for

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # conftest skips every test here, with its reason
    torch = F = None

from activation import GELU, Identity, ReLU, Sigmoid, Softmax, Tanh
from batchnorm2d import BatchNorm2d
from Conv2d import Conv2d, Conv2d_stride1
from dropout2d import Dropout2d
from resampling import Downsample1d, Downsample2d, Upsample1d, Upsample2d
from resnet import ConvBlock, ResBlock

pytestmark = pytest.mark.torch

RTOL = 1e-10
ATOL = 1e-10
EPS = 1e-8  # BatchNorm2d's eps


def _leaf(array):
    """A float64 torch leaf that records its gradient."""
    return torch.tensor(np.asarray(array, dtype=np.float64),
                        requires_grad=True)


def _np(tensor):
    return tensor.detach().numpy()


def _check(label, got, expected):
    assert_matches_torch(label, got, expected, rtol=RTOL, atol=ATOL)


# ---------------------------------------------------------------- Conv2d grid

def _conv_id(case):
    N, C_in, C_out, H, W, K, s, p = case
    return "N{}-C{}to{}-H{}xW{}-K{}-s{}-p{}".format(
        N, C_in, C_out, H, W, K, s, p)


def _conv_grid():
    """Deliberate Conv2d cases (N, C_in, C_out, H, W, K, stride, padding).

    1. every kernel 1..5 with every stride 1..5, once unpadded and once
       padded (padding cycling through 1, 2, K, K + 1, i.e. up to and above
       the kernel), on odd or non-square inputs; batch and channels cycle
       through 1..4 and 1..8;
    2. a padding sweep 0..K+2 for two kernels;
    3. the largest kernel that fits exactly, K = H + 2p (one or both axes);
    4. strides that skip past the whole input.
    """
    sizes = [(7, 9), (9, 7), (5, 11), (11, 6), (6, 5), (8, 13), (13, 10),
             (10, 7)]
    cases = []
    n = 0
    for K in range(1, 6):
        for s in range(1, 6):
            for p in (0, [1, 2, K, K + 1][(K + s) % 4]):
                H, W = sizes[n % len(sizes)]
                cases.append((n % 4 + 1, n % 8 + 1, (3 * n + 4) % 8 + 1,
                              H, W, K, s, p))
                n += 1
    cases += [(2, 3, 2, 6, 5, 3, 1, p) for p in range(0, 6)]
    cases += [(1, 2, 3, 7, 4, 2, 2, p) for p in range(0, 5)]
    cases += [
        (2, 3, 4, 5, 5, 5, 1, 0),   # K = H = W
        (3, 2, 2, 3, 3, 5, 1, 1),   # K = H + 2p = W + 2p
        (1, 4, 1, 1, 1, 5, 2, 2),   # 1 x 1 input, K = 1 + 2*2
        (4, 1, 3, 1, 3, 3, 1, 1),   # fits exactly along H only
        (2, 5, 2, 2, 7, 4, 3, 1),   # H + 2p = K, stride 3 along W
        (1, 2, 6, 9, 3, 3, 2, 0),   # fits exactly along W only
        (2, 3, 3, 4, 1, 5, 4, 2),   # W = 1, K = 1 + 2p, stride > 1
        (1, 1, 1, 1, 1, 1, 1, 0),   # smallest possible case
        (3, 8, 8, 6, 9, 5, 5, 0),   # stride = kernel, 8 channels each way
    ]
    cases += [
        (2, 2, 3, 3, 4, 1, 5, 0),   # stride beyond the whole input
        (1, 3, 2, 4, 3, 2, 5, 3),   # padding 3 > K = 2, stride 5
        (4, 6, 5, 5, 8, 3, 4, 4),   # padding 4 > K = 3
    ]
    return cases


CONV_CASES = _conv_grid()


def _conv_stride1_grid():
    """(N, C_in, C_out, H, W, K) cases for Conv2d_stride1."""
    return [
        (1, 1, 1, 1, 1, 1),
        (1, 1, 1, 5, 5, 5),
        (2, 3, 5, 7, 9, 3),
        (3, 2, 4, 9, 7, 2),
        (4, 1, 8, 6, 11, 4),
        (1, 8, 1, 5, 6, 5),
        (2, 4, 4, 3, 8, 3),     # fits exactly along H
        (3, 5, 2, 10, 4, 4),    # fits exactly along W
        (2, 6, 3, 4, 4, 1),
        (4, 7, 6, 8, 5, 2),
        (1, 2, 7, 13, 6, 5),
        (2, 8, 8, 5, 7, 3),
        (3, 3, 1, 2, 9, 2),
        (4, 4, 2, 1, 5, 1),
        (1, 6, 3, 11, 11, 4),
        (2, 1, 5, 5, 12, 5),
    ]


CONV1_CASES = _conv_stride1_grid()


def _conv1_id(case):
    N, C_in, C_out, H, W, K = case
    return "N{}-C{}to{}-H{}xW{}-K{}".format(N, C_in, C_out, H, W, K)


def _conv_weights(label, C_in, C_out, K):
    rng = np.random.default_rng(seed_for(label))
    return (rng.normal(size=(C_out, C_in, K, K)), rng.normal(size=C_out),
            rng)


def _init_fns(weight, bias):
    """weight_init_fn / bias_init_fn handing out copies of fixed arrays."""
    return (lambda *shape: weight.copy()), (lambda *shape: bias.copy())


@pytest.mark.parametrize("case", CONV_CASES, ids=_conv_id)
def test_conv2d_matches_torch(case):
    N, C_in, C_out, H, W, K, s, p = case
    label = "Conv2d[{}]".format(_conv_id(case))
    weight, bias, rng = _conv_weights(label, C_in, C_out, K)
    w_init, b_init = _init_fns(weight, bias)
    layer = Conv2d(C_in, C_out, K, s, p, weight_init_fn=w_init,
                   bias_init_fn=b_init)
    A = rng.normal(size=(N, C_in, H, W))

    A_t, W_t, b_t = _leaf(A), _leaf(weight), _leaf(bias)
    Z_t = F.conv2d(A_t, W_t, b_t, stride=s, padding=p)
    H_out = (H + 2 * p - K) // s + 1
    W_out = (W + 2 * p - K) // s + 1
    assert tuple(Z_t.shape) == (N, C_out, H_out, W_out)
    dLdZ = rng.normal(size=(N, C_out, H_out, W_out))
    Z_t.backward(torch.from_numpy(dLdZ))

    _check(label + " forward", layer.forward(A.copy()), _np(Z_t))
    _check(label + " dLdA", layer.backward(dLdZ.copy()), _np(A_t.grad))
    _check(label + " dLdW", layer.conv2d_stride1.dLdW, _np(W_t.grad))
    _check(label + " dLdb", layer.conv2d_stride1.dLdb, _np(b_t.grad))


@pytest.mark.parametrize("case", CONV1_CASES, ids=_conv1_id)
def test_conv2d_stride1_matches_torch(case):
    N, C_in, C_out, H, W, K = case
    label = "Conv2d_stride1[{}]".format(_conv1_id(case))
    weight, bias, rng = _conv_weights(label, C_in, C_out, K)
    w_init, b_init = _init_fns(weight, bias)
    layer = Conv2d_stride1(C_in, C_out, K, weight_init_fn=w_init,
                           bias_init_fn=b_init)
    A = rng.normal(size=(N, C_in, H, W))

    A_t, W_t, b_t = _leaf(A), _leaf(weight), _leaf(bias)
    Z_t = F.conv2d(A_t, W_t, b_t)
    dLdZ = rng.normal(size=tuple(Z_t.shape))
    Z_t.backward(torch.from_numpy(dLdZ))

    _check(label + " forward", layer.forward(A.copy()), _np(Z_t))
    _check(label + " dLdA", layer.backward(dLdZ.copy()), _np(A_t.grad))
    _check(label + " dLdW", layer.dLdW, _np(W_t.grad))
    _check(label + " dLdb", layer.dLdb, _np(b_t.grad))


# ----------------------------------------------------------------- resampling

RESAMPLE1D_CASES = [  # (N, C, W, factor)
    (1, 1, 1, 1), (1, 1, 1, 3), (2, 3, 7, 2), (4, 8, 5, 5), (3, 2, 9, 3),
    (2, 5, 6, 4), (1, 4, 2, 5), (2, 1, 10, 1), (3, 6, 8, 2), (1, 7, 11, 3),
]
RESAMPLE2D_CASES = [  # (N, C, H, W, factor)
    (1, 1, 1, 1, 2), (2, 3, 7, 9, 2), (1, 2, 5, 4, 3), (3, 4, 6, 11, 4),
    (4, 8, 3, 5, 5), (2, 1, 9, 7, 1), (1, 6, 2, 3, 5), (2, 5, 10, 6, 3),
    (3, 7, 4, 4, 2),
]


def _r1_id(case):
    return "N{}-C{}-W{}-k{}".format(*case)


def _r2_id(case):
    return "N{}-C{}-H{}xW{}-k{}".format(*case)


def _upsample_torch(A_t, k):
    """Zeros between samples: a grouped transposed conv with a 1-wide one."""
    C = A_t.shape[1]
    if A_t.dim() == 3:
        return F.conv_transpose1d(A_t, torch.ones(C, 1, 1), stride=k,
                                  groups=C)
    return F.conv_transpose2d(A_t, torch.ones(C, 1, 1, 1), stride=k,
                              groups=C)


def _downsample_torch(A_t, k):
    if A_t.dim() == 3:
        return A_t[:, :, ::k]
    return A_t[:, :, ::k, ::k]


def _resample_check(label, layer, A, torch_fn):
    rng = np.random.default_rng(seed_for(label))
    A_t = _leaf(A)
    Z_t = torch_fn(A_t)
    dLdZ = rng.normal(size=tuple(Z_t.shape))
    Z_t.backward(torch.from_numpy(dLdZ))

    _check(label + " forward", layer.forward(A.copy()), _np(Z_t))
    _check(label + " backward", layer.backward(dLdZ.copy()), _np(A_t.grad))


@pytest.mark.parametrize("case", RESAMPLE1D_CASES, ids=_r1_id)
def test_upsample1d_matches_torch(case):
    N, C, W, k = case
    label = "Upsample1d[{}]".format(_r1_id(case))
    A = np.random.default_rng(seed_for(label + "A")).normal(size=(N, C, W))
    _resample_check(label, Upsample1d(k), A,
                    lambda A_t: _upsample_torch(A_t, k))


@pytest.mark.parametrize("case", RESAMPLE1D_CASES, ids=_r1_id)
def test_downsample1d_matches_torch(case):
    N, C, W, k = case
    label = "Downsample1d[{}]".format(_r1_id(case))
    A = np.random.default_rng(seed_for(label + "A")).normal(size=(N, C, W))
    _resample_check(label, Downsample1d(k), A,
                    lambda A_t: _downsample_torch(A_t, k))


@pytest.mark.parametrize("case", RESAMPLE2D_CASES, ids=_r2_id)
def test_upsample2d_matches_torch(case):
    N, C, H, W, k = case
    label = "Upsample2d[{}]".format(_r2_id(case))
    A = np.random.default_rng(seed_for(label + "A")).normal(
        size=(N, C, H, W))
    _resample_check(label, Upsample2d(k), A,
                    lambda A_t: _upsample_torch(A_t, k))


@pytest.mark.parametrize("case", RESAMPLE2D_CASES, ids=_r2_id)
def test_downsample2d_matches_torch(case):
    N, C, H, W, k = case
    label = "Downsample2d[{}]".format(_r2_id(case))
    A = np.random.default_rng(seed_for(label + "A")).normal(
        size=(N, C, H, W))
    _resample_check(label, Downsample2d(k), A,
                    lambda A_t: _downsample_torch(A_t, k))


# ---------------------------------------------------------------- activations

ACTIVATIONS = {
    "Identity": (Identity, lambda t: t.clone()),
    "Sigmoid": (Sigmoid, torch.sigmoid if torch else None),
    "Tanh": (Tanh, torch.tanh if torch else None),
    "ReLU": (ReLU, torch.relu if torch else None),
    "GELU": (GELU, (lambda t: F.gelu(t, approximate="none"))),
    "Softmax": (Softmax, (lambda t: torch.softmax(t, dim=1))),
}
SHAPES = [(1, 1), (4, 8), (3, 5), (2, 3, 5, 7)]


def _inputs(kind, shape, rng):
    """Input regimes: moderate, saturating (|x| up to 30), and near zero
    with exact zeros (where ReLU's gradient convention matters)."""
    if kind == "normal":
        return 2.0 * rng.normal(size=shape)
    if kind == "wide":
        return rng.uniform(-30.0, 30.0, size=shape)
    small = 1e-3 * rng.normal(size=shape)
    small.flat[::3] = 0.0
    return small


ACT_CASES = [(name, shape, kind) for name in ACTIVATIONS
             for shape in SHAPES for kind in ("normal", "wide", "near0")]


def _act_id(case):
    name, shape, kind = case
    return "{}-{}-{}".format(name, "x".join(map(str, shape)), kind)


@pytest.mark.parametrize("case", ACT_CASES, ids=_act_id)
def test_activation_matches_torch(case):
    name, shape, kind = case
    label = "{}[{}]".format(name, _act_id(case))
    cls, torch_fn = ACTIVATIONS[name]
    rng = np.random.default_rng(seed_for(label))
    Z = _inputs(kind, shape, rng)
    dLdA = rng.normal(size=shape)

    Z_t = _leaf(Z)
    A_t = torch_fn(Z_t)
    A_t.backward(torch.from_numpy(dLdA))

    layer = cls()
    _check(label + " forward", layer.forward(Z.copy()), _np(A_t))
    _check(label + " backward", layer.backward(dLdA.copy()), _np(Z_t.grad))


def test_softmax_large_logits_match_torch():
    """Logits near 1000 overflow a naive exp; torch's softmax does not."""
    rng = np.random.default_rng(11)
    Z = 1000.0 + 5.0 * rng.normal(size=(3, 6))
    dLdA = rng.normal(size=(3, 6))
    Z_t = _leaf(Z)
    A_t = torch.softmax(Z_t, dim=1)
    A_t.backward(torch.from_numpy(dLdA))

    layer = Softmax()
    _check("Softmax[large-logits] forward", layer.forward(Z.copy()),
           _np(A_t))
    _check("Softmax[large-logits] backward", layer.backward(dLdA.copy()),
           _np(Z_t.grad))


# ---------------------------------------------------------------- BatchNorm2d

BN_CASES = [  # (N, C, H, W, alpha)
    (1, 1, 1, 2, 0.9), (2, 3, 5, 7, 0.9), (4, 8, 3, 3, 0.5),
    (3, 2, 7, 4, 0.0), (1, 5, 2, 9, 1.0), (2, 4, 1, 1, 0.9),
    (4, 1, 5, 5, 0.75), (3, 6, 4, 6, 0.9),
]


def _bn_id(case):
    return "N{}-C{}-H{}xW{}-alpha{}".format(*case)


def _batch_stats(Z_t):
    """Per-channel mean and BIASED variance, as (C,) arrays."""
    Z = Z_t.detach()
    return (_np(Z.mean(dim=(0, 2, 3))),
            _np(Z.var(dim=(0, 2, 3), unbiased=False)))


@pytest.mark.parametrize("case", BN_CASES, ids=_bn_id)
def test_batchnorm2d_matches_torch(case):
    """Two training steps (forward + backward), then an eval forward."""
    N, C, H, W, alpha = case
    label = "BatchNorm2d[{}]".format(_bn_id(case))
    rng = np.random.default_rng(seed_for(label))
    BW = rng.uniform(0.5, 2.0, size=C)
    Bb = rng.normal(size=C)
    layer = BatchNorm2d(C, alpha=alpha)
    layer.BW = BW.reshape(1, C, 1, 1).copy()
    layer.Bb = Bb.reshape(1, C, 1, 1).copy()
    running_M, running_V = np.zeros(C), np.ones(C)

    for step in (1, 2):
        tag = "{} step {}".format(label, step)
        Z = 3.0 * rng.normal(size=(N, C, H, W)) + rng.normal(size=(1, C, 1, 1))
        dLdBZ = rng.normal(size=(N, C, H, W))
        Z_t, BW_t, Bb_t = _leaf(Z), _leaf(BW), _leaf(Bb)
        BZ_t = F.batch_norm(Z_t, None, None, BW_t, Bb_t, training=True,
                            eps=EPS)
        BZ_t.backward(torch.from_numpy(dLdBZ))
        mean, var = _batch_stats(Z_t)
        running_M = alpha * running_M + (1 - alpha) * mean
        running_V = alpha * running_V + (1 - alpha) * var

        _check(tag + " forward", layer.forward(Z.copy()), _np(BZ_t))
        _check(tag + " dLdZ", layer.backward(dLdBZ.copy()), _np(Z_t.grad))
        _check(tag + " dLdBW", layer.dLdBW, _np(BW_t.grad).reshape(1, C, 1, 1))
        _check(tag + " dLdBb", layer.dLdBb, _np(Bb_t.grad).reshape(1, C, 1, 1))
        _check(tag + " running_M", layer.running_M,
               running_M.reshape(1, C, 1, 1))
        _check(tag + " running_V", layer.running_V,
               running_V.reshape(1, C, 1, 1))

    Z = rng.normal(size=(N, C, H, W))
    expected = F.batch_norm(torch.from_numpy(Z), torch.from_numpy(running_M),
                            torch.from_numpy(running_V), torch.from_numpy(BW),
                            torch.from_numpy(Bb), training=False, eps=EPS)
    _check(label + " eval forward", layer.forward(Z.copy(), eval=True),
           _np(expected))


# ------------------------------------------------------------------ Dropout2d

DROPOUT_CASES = [  # (N, C, H, W, p, seed)
    (1, 1, 3, 3, 0.0, 0), (2, 3, 4, 5, 0.5, 1), (4, 8, 3, 2, 0.2, 2),
    (3, 6, 5, 5, 0.9, 3), (2, 4, 1, 7, 0.7, 4), (4, 5, 2, 3, 0.5, 5),
]


def _dropout_id(case):
    return "N{}-C{}-H{}xW{}-p{}-seed{}".format(*case)


@pytest.mark.parametrize("case", DROPOUT_CASES, ids=_dropout_id)
def test_dropout2d_matches_torch(case):
    """Same seed, same draw as the spec names; output and gradient via torch
    ops on that channel mask; eval returns the input."""
    N, C, H, W, p, seed = case
    label = "Dropout2d[{}]".format(_dropout_id(case))
    rng = np.random.default_rng(seed_for(label))
    x = rng.normal(size=(N, C, H, W))
    delta = rng.normal(size=(N, C, H, W))
    np.random.seed(seed)
    mask = np.random.binomial(1, 1 - p, size=(N, C, 1, 1))

    x_t = _leaf(x)
    y_t = x_t * torch.from_numpy(mask.astype(np.float64)) / (1 - p)
    y_t.backward(torch.from_numpy(delta))

    layer = Dropout2d(p)
    np.random.seed(seed)
    _check(label + " forward", layer.forward(x.copy()), _np(y_t))
    _check(label + " mask", np.reshape(layer.mask, (N, C, 1, 1)), mask)
    _check(label + " backward", layer.backward(delta.copy()), _np(x_t.grad))
    _check(label + " eval forward", layer.forward(x.copy(), eval=True), x)


# ------------------------------------------------------- ConvBlock / ResBlock

def _randomise(conv_block, rng):
    """Give a ConvBlock's bias and BatchNorm affine parameters random values
    (their defaults, zeros and ones, would hide mistakes)."""
    conv, bn = conv_block.layers
    C = conv.conv2d_stride1.b.shape[0]
    conv.conv2d_stride1.b = rng.normal(size=C)
    bn.BW = rng.uniform(0.5, 2.0, size=(1, C, 1, 1))
    bn.Bb = rng.normal(size=(1, C, 1, 1))


class _TorchConvBlock:
    """Torch version of a MyTorch ConvBlock, from that block's arrays."""

    def __init__(self, conv_block):
        conv, bn = conv_block.layers
        self.block = conv_block
        self.stride, self.pad = conv.stride, conv.pad
        self.W = _leaf(conv.conv2d_stride1.W)
        self.b = _leaf(conv.conv2d_stride1.b)
        self.BW = _leaf(np.reshape(bn.BW, -1))
        self.Bb = _leaf(np.reshape(bn.Bb, -1))
        self.alpha = bn.alpha

    def __call__(self, A_t):
        Z_t = F.conv2d(A_t, self.W, self.b, stride=self.stride,
                       padding=self.pad)
        self.mean, self.var = _batch_stats(Z_t)
        return F.batch_norm(Z_t, None, None, self.BW, self.Bb, training=True,
                            eps=EPS)

    def check(self, label):
        """Every dLd* attribute and the running stats after one step."""
        conv, bn = self.block.layers
        C = self.BW.shape[0]
        _check(label + " conv dLdW", conv.conv2d_stride1.dLdW,
               _np(self.W.grad))
        _check(label + " conv dLdb", conv.conv2d_stride1.dLdb,
               _np(self.b.grad))
        _check(label + " bn dLdBW", bn.dLdBW,
               _np(self.BW.grad).reshape(1, C, 1, 1))
        _check(label + " bn dLdBb", bn.dLdBb,
               _np(self.Bb.grad).reshape(1, C, 1, 1))
        _check(label + " bn running_M", bn.running_M,
               ((1 - self.alpha) * self.mean).reshape(1, C, 1, 1))
        _check(label + " bn running_V", bn.running_V,
               (self.alpha + (1 - self.alpha) * self.var).reshape(1, C, 1, 1))


CONVBLOCK_CASES = [  # (N, C_in, C_out, H, W, K, stride, padding)
    (2, 3, 5, 7, 9, 3, 2, 1), (1, 2, 2, 5, 6, 1, 1, 0),
    (4, 1, 4, 6, 5, 2, 3, 2), (3, 4, 3, 4, 4, 4, 1, 0),
]


@pytest.mark.parametrize("case", CONVBLOCK_CASES, ids=_conv_id)
def test_convblock_matches_torch(case):
    N, C_in, C_out, H, W, K, s, p = case
    label = "ConvBlock[{}]".format(_conv_id(case))
    rng = np.random.default_rng(seed_for(label))
    np.random.seed(seed_for(label) % 2 ** 31)
    block = ConvBlock(C_in, C_out, K, s, p)
    _randomise(block, rng)
    A = rng.normal(size=(N, C_in, H, W))

    ref = _TorchConvBlock(block)
    A_t = _leaf(A)
    Z_t = ref(A_t)
    dLdZ = rng.normal(size=tuple(Z_t.shape))
    Z_t.backward(torch.from_numpy(dLdZ))

    _check(label + " forward", block.forward(A.copy()), _np(Z_t))
    _check(label + " dLdA", block.backward(dLdZ.copy()), _np(A_t.grad))
    ref.check(label)


RESBLOCK_CASES = [  # (name, N, C_in, C_out, H, W, args to ResBlock after C)
    ("proj", 2, 3, 5, 7, 9, (3, 2, 1)),
    ("proj-defaults", 2, 2, 4, 8, 7, (3,)),      # stride 3, padding 1
    ("proj-samechannels", 1, 4, 4, 5, 6, (3, 1, 1)),
    ("proj-stride2", 3, 3, 3, 6, 5, (1, 2, 0)),
    ("proj-channels", 2, 2, 6, 4, 5, (1, 1, 0)),
    ("proj-padding", 2, 3, 3, 3, 4, (1, 1, 1)),
    ("proj-K5", 4, 2, 3, 5, 7, (5, 1, 2)),
    ("identity", 1, 1, 1, 5, 7, (1, 1, 0)),
    ("identity", 2, 3, 3, 6, 5, (1, 1, 0)),
    ("identity", 4, 8, 8, 3, 4, (1, 1, 0)),
]


def _res_id(case):
    name, N, C_in, C_out, H, W, args = case
    full = tuple(args) + (3, 1)[len(args) - 1:]
    return "{}-N{}-C{}to{}-H{}xW{}-K{}-s{}-p{}".format(
        name, N, C_in, C_out, H, W, *full)


@pytest.mark.parametrize("case", RESBLOCK_CASES, ids=_res_id)
def test_resblock_matches_torch(case):
    """relu(block2(relu(block1(A))) + shortcut(A)), shortcut a ConvBlock
    (projection) or the input itself (identity); training-mode BatchNorm."""
    name, N, C_in, C_out, H, W, args = case
    label = "ResBlock[{}]".format(_res_id(case))
    rng = np.random.default_rng(seed_for(label))
    np.random.seed(seed_for(label) % 2 ** 31)
    block = ResBlock(C_in, C_out, *args)
    first, relu, second = block.convolution_layers
    projection = name != "identity"
    blocks = [first, second] + ([block.residual_connection]
                                if projection else [])
    for conv_block in blocks:
        _randomise(conv_block, rng)
    refs = [_TorchConvBlock(conv_block) for conv_block in blocks]
    A = rng.normal(size=(N, C_in, H, W))

    A_t = _leaf(A)
    main_t = refs[1](torch.relu(refs[0](A_t)))
    shortcut_t = refs[2](A_t) if projection else A_t
    Z_t = torch.relu(main_t + shortcut_t)
    dLdZ = rng.normal(size=tuple(Z_t.shape))
    Z_t.backward(torch.from_numpy(dLdZ))

    _check(label + " forward", block.forward(A.copy()), _np(Z_t))
    _check(label + " dLdA", block.backward(dLdZ.copy()), _np(A_t.grad))
    for part, ref in zip(("block1", "block2", "shortcut"), refs):
        ref.check("{} {}".format(label, part))
