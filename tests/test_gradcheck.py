"""Central-difference gradient checks, independent of PyTorch.

For a layer f and a fixed random G the loss L = sum(G * f(x)) has
dL/dx = backward(G), so every returned gradient and every dLd* attribute is
compared with (L(theta + eps) - L(theta - eps)) / (2 eps), eps = 1e-6, all in
float64 with fixed seeds.  Sizes are tiny so the file runs in seconds.
"""
import numpy as np
import pytest

from _helpers import assert_grad_close, numerical_grad

from activation import GELU, Identity, ReLU, Sigmoid, Softmax, Tanh
from batchnorm2d import BatchNorm2d
from Conv2d import Conv2d, Conv2d_stride1
from dropout2d import Dropout2d
from resampling import Downsample1d, Downsample2d, Upsample1d, Upsample2d
from resnet import ConvBlock, ResBlock


def _gradcheck(name, forward, backward, x, params=(), seed=0):
    """Check backward(G) against dL/dx and each (attr name, array, getter).

    ``forward(x)`` must read the parameter arrays in ``params`` in place,
    so that perturbing them moves the loss.  Analytic gradients are taken
    first, at the unperturbed point, then compared entry by entry.
    """
    rng = np.random.default_rng(seed)
    G = rng.normal(size=np.shape(forward(x)))

    forward(x)
    dLdx = np.array(backward(G.copy()), dtype=np.float64)
    analytic = [np.array(getter(), dtype=np.float64)
                for _, _, getter in params]

    def loss():
        return float(np.sum(G * forward(x)))

    assert_grad_close(name, "returned input gradient", x, dLdx,
                      numerical_grad(loss, x))
    for (attr, array, _), got in zip(params, analytic):
        assert_grad_close(name, attr, x, got, numerical_grad(loss, array))


# ----------------------------------------------------------------- resampling

RESAMPLING = [  # (class, factor, input shape)
    (Upsample1d, 1, (2, 2, 4)), (Upsample1d, 3, (2, 3, 5)),
    (Downsample1d, 2, (2, 2, 7)), (Downsample1d, 3, (1, 3, 8)),
    (Downsample1d, 4, (2, 1, 3)),
    (Upsample2d, 2, (2, 2, 3, 4)), (Upsample2d, 3, (1, 2, 2, 3)),
    (Downsample2d, 2, (2, 2, 5, 6)), (Downsample2d, 3, (1, 3, 7, 4)),
]


@pytest.mark.parametrize(
    "cls, k, shape", RESAMPLING,
    ids=["{}-k{}-{}".format(c.__name__, k, "x".join(map(str, s)))
         for c, k, s in RESAMPLING])
def test_resampling_gradient(cls, k, shape):
    layer = cls(k)
    x = np.random.default_rng(1).normal(size=shape)
    _gradcheck("{}({})".format(cls.__name__, k), layer.forward,
               layer.backward, x)


# ---------------------------------------------------------------- activations

def _away_from_kinks(shape, rng):
    """Entries of size 0.1..3 with random sign: ReLU's kink at 0 is more
    than eps away, so the central difference is exact there."""
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.1, 3.0, shape)


ACTIVATIONS = [Identity, Sigmoid, Tanh, ReLU, GELU, Softmax]


@pytest.mark.parametrize("cls", ACTIVATIONS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("shape", [(3, 5), (2, 4)], ids=["3x5", "2x4"])
def test_activation_gradient(cls, shape):
    layer = cls()
    x = _away_from_kinks(shape, np.random.default_rng(2))
    _gradcheck(cls.__name__, layer.forward, layer.backward, x, seed=3)


@pytest.mark.parametrize("cls", [Identity, Sigmoid, Tanh, ReLU, GELU],
                         ids=lambda c: c.__name__)
def test_elementwise_activation_gradient_4d(cls):
    layer = cls()
    x = _away_from_kinks((2, 3, 2, 3), np.random.default_rng(4))
    _gradcheck(cls.__name__, layer.forward, layer.backward, x, seed=5)


# --------------------------------------------------------------------- Conv2d

def _conv_params(stride1):
    return [
        ("dLdW", stride1.W, lambda: stride1.dLdW),
        ("dLdb", stride1.b, lambda: stride1.dLdb),
    ]


def _random_init(seed):
    rng = np.random.default_rng(seed)
    return ((lambda *shape: rng.normal(size=shape)),
            (lambda *shape: rng.normal(size=shape)))


CONV1_CASES = [  # (C_in, C_out, K, input shape)
    (2, 3, 3, (2, 2, 5, 6)), (1, 2, 1, (2, 1, 3, 4)),
    (3, 1, 4, (1, 3, 4, 5)),
]


@pytest.mark.parametrize(
    "C_in, C_out, K, shape", CONV1_CASES,
    ids=["C{}to{}-K{}-H{}xW{}".format(a, b, k, s[2], s[3])
         for a, b, k, s in CONV1_CASES])
def test_conv2d_stride1_gradient(C_in, C_out, K, shape):
    w_init, b_init = _random_init(6)
    layer = Conv2d_stride1(C_in, C_out, K, weight_init_fn=w_init,
                           bias_init_fn=b_init)
    x = np.random.default_rng(7).normal(size=shape)
    name = "Conv2d_stride1({}, {}, {})".format(C_in, C_out, K)
    _gradcheck(name, layer.forward, layer.backward, x,
               _conv_params(layer), seed=8)


CONV_CASES = [  # (C_in, C_out, K, stride, padding, input shape)
    (2, 3, 3, 2, 1, (2, 2, 5, 6)),
    (2, 2, 2, 3, 0, (1, 2, 7, 5)),      # stride > kernel
    (1, 2, 3, 1, 2, (2, 1, 3, 4)),      # padding 2
    (2, 1, 2, 4, 3, (1, 2, 3, 2)),      # padding 3 > K = 2, stride 4
    (3, 2, 5, 1, 1, (1, 3, 3, 4)),      # K = H + 2p
]


@pytest.mark.parametrize(
    "C_in, C_out, K, s, p, shape", CONV_CASES,
    ids=["C{}to{}-K{}-s{}-p{}-H{}xW{}".format(a, b, k, s, p, sh[2], sh[3])
         for a, b, k, s, p, sh in CONV_CASES])
def test_conv2d_gradient(C_in, C_out, K, s, p, shape):
    w_init, b_init = _random_init(9)
    layer = Conv2d(C_in, C_out, K, s, p, weight_init_fn=w_init,
                   bias_init_fn=b_init)
    x = np.random.default_rng(10).normal(size=shape)
    name = "Conv2d({}, {}, {}, stride={}, padding={})".format(
        C_in, C_out, K, s, p)
    _gradcheck(name, layer.forward, layer.backward, x,
               _conv_params(layer.conv2d_stride1), seed=11)


# ---------------------------------------------------------------- BatchNorm2d

def _bn_params(bn, rng):
    C = bn.BW.shape[1]
    bn.BW = rng.uniform(0.5, 2.0, size=(1, C, 1, 1))
    bn.Bb = rng.normal(size=(1, C, 1, 1))
    return [("dLdBW", bn.BW, lambda: bn.dLdBW),
            ("dLdBb", bn.Bb, lambda: bn.dLdBb)]


@pytest.mark.parametrize("shape", [(3, 2, 3, 4), (2, 3, 1, 2), (1, 1, 2, 3)],
                         ids=lambda s: "N{}-C{}-H{}xW{}".format(*s))
def test_batchnorm2d_gradient(shape):
    """Training mode; forward also moves the running stats, which the
    training-mode output does not read."""
    rng = np.random.default_rng(12)
    layer = BatchNorm2d(shape[1])
    params = _bn_params(layer, rng)
    x = 2.0 * rng.normal(size=shape) + 1.0
    _gradcheck("BatchNorm2d({})".format(shape[1]), layer.forward,
               layer.backward, x, params, seed=13)


# ------------------------------------------------------------------ Dropout2d

@pytest.mark.parametrize("p", [0.0, 0.3, 0.5, 0.8])
def test_dropout2d_gradient(p):
    """The global seed is reset before every forward, so every forward of
    the check draws the same channel mask."""
    shape = (3, 4, 2, 3)
    np.random.seed(14)
    mask = np.random.binomial(1, 1 - p, size=(shape[0], shape[1], 1, 1))
    if 0 < p:
        assert 0 < mask.sum() < mask.size, "seed gives a one-sided mask"
    layer = Dropout2d(p)

    def forward(x):
        np.random.seed(14)
        return layer.forward(x)

    x = np.random.default_rng(15).normal(size=shape)
    _gradcheck("Dropout2d({})".format(p), forward, layer.backward, x,
               seed=16)


# ------------------------------------------------------- ConvBlock / ResBlock

def _block_params(conv_block, rng, tag):
    """Randomised bias/BN parameters and their dLd* getters."""
    conv, bn = conv_block.layers
    stride1 = conv.conv2d_stride1
    stride1.b = rng.normal(size=stride1.b.shape)
    params = [(tag + " conv dLdW", stride1.W, lambda: stride1.dLdW),
              (tag + " conv dLdb", stride1.b, lambda: stride1.dLdb)]
    return params + [(tag + " bn " + attr, array, getter)
                     for attr, array, getter in _bn_params(bn, rng)]


def test_convblock_gradient():
    np.random.seed(17)
    block = ConvBlock(2, 3, 3, 2, 1)
    rng = np.random.default_rng(18)
    params = _block_params(block, rng, "ConvBlock")
    x = rng.normal(size=(2, 2, 5, 4))
    _gradcheck("ConvBlock(2, 3, 3, 2, 1)", block.forward, block.backward, x,
               params, seed=19)


RESBLOCKS = [  # (C_in, C_out, filter, stride, padding, input shape)
    (2, 3, 3, 2, 1, (2, 2, 5, 5)),      # projection shortcut
    (2, 2, 3, 1, 1, (2, 2, 3, 4)),      # projection: same channels, K = 3
    (2, 2, 1, 1, 0, (2, 2, 4, 3)),      # identity shortcut
    (3, 3, 1, 1, 0, (3, 3, 2, 2)),      # identity shortcut
]


@pytest.mark.parametrize(
    "C_in, C_out, K, s, p, shape", RESBLOCKS,
    ids=["{}-C{}to{}-K{}-s{}-p{}".format(
        "identity" if (a, b, k, s, p) == (a, a, 1, 1, 0) else "projection",
        a, b, k, s, p) for a, b, k, s, p, _ in RESBLOCKS])
def test_resblock_gradient(C_in, C_out, K, s, p, shape):
    np.random.seed(20)
    block = ResBlock(C_in, C_out, K, s, p)
    rng = np.random.default_rng(21)
    first, _, second = block.convolution_layers
    params = (_block_params(first, rng, "block1")
              + _block_params(second, rng, "block2"))
    if (C_in, K, s, p) != (C_out, 1, 1, 0):
        params += _block_params(block.residual_connection, rng, "shortcut")
    x = rng.normal(size=shape)
    _gradcheck("ResBlock({}, {}, {}, {}, {})".format(C_in, C_out, K, s, p),
               block.forward, block.backward, x, params, seed=22)
