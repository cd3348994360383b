"""One test per written convention, each against hand-worked or numpy values.

The conventions are the ones on which libraries disagree (BatchNorm2d's
running update and variance, Dropout2d's p and scaling, the resampling index
rule, Conv2d's output size, ResBlock's shortcut rule and weight draw order,
float64 everywhere). Every expected value below is either worked out by hand
in a comment or computed by a plain numpy formula written in the test; none
comes from the class under test. No test here needs PyTorch.
"""
import math

import numpy as np
import pytest

from activation import GELU, Identity, ReLU, Sigmoid, Softmax, Tanh
from batchnorm2d import BatchNorm2d
from Conv2d import Conv2d, Conv2d_stride1
from dropout2d import Dropout2d
from resampling import Downsample1d, Downsample2d, Upsample1d, Upsample2d
from resnet import ConvBlock, ResBlock

EPS = 1e-8


def rng_state_equal(a, b):
    """True when two np.random.get_state() tuples are the same state."""
    return (a[0] == b[0] and np.array_equal(a[1], b[1])
            and tuple(a[2:]) == tuple(b[2:]))


def bn_reference(Z, BW, Bb, M, V):
    """BatchNorm2d's output for given statistics, written out in numpy."""
    return BW * (Z - M) / np.sqrt(V + EPS) + Bb


def channel_stats(Z):
    """Per-channel mean and BIASED variance over (N, H, W), keepdims."""
    M = Z.mean(axis=(0, 2, 3), keepdims=True)
    V = ((Z - M) ** 2).mean(axis=(0, 2, 3), keepdims=True)
    return M, V


# --------------------------------------------------------------------------
# BatchNorm2d
# --------------------------------------------------------------------------

@pytest.mark.parametrize("C", [1, 3])
def test_batchnorm_initial_parameters_and_shapes(C):
    bn = BatchNorm2d(C)
    expected = {"BW": np.ones((1, C, 1, 1)), "Bb": np.zeros((1, C, 1, 1)),
                "running_M": np.zeros((1, C, 1, 1)),
                "running_V": np.ones((1, C, 1, 1))}
    for name, value in expected.items():
        got = getattr(bn, name)
        assert got.shape == (1, C, 1, 1), name
        assert np.array_equal(got, value), name
    assert bn.dLdBW.shape == (1, C, 1, 1)
    assert bn.dLdBb.shape == (1, C, 1, 1)


def test_batchnorm_default_alpha_is_0_9():
    # One training step from running_M = 0, running_V = 1 on the channel
    # values [1, 3]: batch mean 2, biased variance 1, so with alpha = 0.9
    # running_M = 0.9*0 + 0.1*2 = 0.2 and running_V = 0.9*1 + 0.1*1 = 1.0.
    bn = BatchNorm2d(1)
    bn.forward(np.array([1.0, 3.0]).reshape(2, 1, 1, 1))
    assert bn.running_M.item() == pytest.approx(0.2, abs=1e-15)
    assert bn.running_V.item() == pytest.approx(1.0, abs=1e-15)


def test_batchnorm_training_normalises_with_biased_variance():
    # Channel values [1, 3]: mean 2, BIASED variance ((1)^2 + (1)^2)/2 = 1,
    # so the output is (+-1)/sqrt(1 + 1e-8). The unbiased variance (2)
    # would give +-0.7071 instead.
    bn = BatchNorm2d(1)
    out = bn.forward(np.array([1.0, 3.0]).reshape(1, 1, 1, 2))
    expected = np.array([-1.0, 1.0]) / math.sqrt(1.0 + 1e-8)
    np.testing.assert_allclose(out.ravel(), expected, rtol=1e-14, atol=0)


def test_batchnorm_eps_is_1e_minus_8():
    # Channel values [1 - d, 1 + d] with d = 1e-4: biased variance d^2 =
    # 1e-8 = eps, so the output is +-d / sqrt(2e-8) = +-1/sqrt(2) exactly
    # (PyTorch's eps = 1e-5 would give about +-0.0316; eps = 0 gives +-1).
    d = 1e-4
    bn = BatchNorm2d(1)
    out = bn.forward(np.array([1.0 - d, 1.0 + d]).reshape(2, 1, 1, 1))
    expected = np.array([-1.0, 1.0]) / math.sqrt(2.0)
    np.testing.assert_allclose(out.ravel(), expected, rtol=1e-6, atol=0)


@pytest.mark.parametrize("alpha", [None, 0.7, 0.0, 1.0],
                         ids=["alpha=default", "alpha=0.7", "alpha=0",
                              "alpha=1"])
def test_batchnorm_running_update_over_steps_then_eval(alpha):
    """running = alpha*running + (1-alpha)*batch, biased variance, then eval.
    """
    rng = np.random.RandomState(0)
    C = 3
    bn = BatchNorm2d(C) if alpha is None else BatchNorm2d(C, alpha=alpha)
    a = 0.9 if alpha is None else alpha
    BW = rng.uniform(0.5, 2.0, (1, C, 1, 1))
    Bb = rng.uniform(-1.0, 1.0, (1, C, 1, 1))
    bn.BW, bn.Bb = BW.copy(), Bb.copy()

    run_M, run_V = np.zeros((1, C, 1, 1)), np.ones((1, C, 1, 1))
    for step, shape in enumerate([(4, C, 3, 5), (2, C, 4, 4), (3, C, 1, 2)]):
        Z = rng.normal(step, 1.0 + step, shape)
        M, V = channel_stats(Z)
        out = bn.forward(Z)
        np.testing.assert_allclose(out, bn_reference(Z, BW, Bb, M, V),
                                   rtol=1e-12, atol=1e-12)
        run_M = a * run_M + (1 - a) * M
        run_V = a * run_V + (1 - a) * V
        np.testing.assert_allclose(bn.running_M, run_M, rtol=1e-13, atol=0)
        np.testing.assert_allclose(bn.running_V, run_V, rtol=1e-13, atol=0)

    Z = rng.normal(0.0, 3.0, (2, C, 3, 2))
    out = bn.forward(Z, eval=True)
    np.testing.assert_allclose(out, bn_reference(Z, BW, Bb, run_M, run_V),
                               rtol=1e-12, atol=1e-12)
    # eval used the running statistics and left them alone
    np.testing.assert_allclose(bn.running_M, run_M, rtol=1e-13, atol=0)
    np.testing.assert_allclose(bn.running_V, run_V, rtol=1e-13, atol=0)


def test_batchnorm_call_is_forward():
    Z = np.arange(24.0).reshape(2, 3, 2, 2) ** 1.5
    a, b = BatchNorm2d(3), BatchNorm2d(3)
    assert np.array_equal(a(Z), b.forward(Z))
    assert np.array_equal(a(Z, eval=True), b.forward(Z, eval=True))
    assert np.array_equal(a.running_M, b.running_M)


# --------------------------------------------------------------------------
# Dropout2d
# --------------------------------------------------------------------------

def test_dropout_drops_whole_channels_and_scales_kept_by_1_over_1_minus_p():
    p = 0.3
    np.random.seed(1)
    x = np.random.uniform(1.0, 2.0, (6, 7, 3, 5))
    out = Dropout2d(p).forward(x)
    kept = np.zeros((6, 7), dtype=bool)
    for n in range(6):
        for c in range(7):
            if np.all(out[n, c] == 0):
                continue
            # a kept channel is kept whole and scaled by 1/(1-p)
            np.testing.assert_allclose(out[n, c], x[n, c] / (1 - p),
                                       rtol=1e-14, atol=0)
            kept[n, c] = True
    assert 0 < kept.sum() < kept.size             # both kinds occur here


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_drop_rate_is_p_within_five_standard_errors(p):
    """Over n = 20000 channels the dropped fraction is p +- 5*sqrt(p(1-p)/n).

    Seeded, so the outcome is fixed; the bound is about 0.018 at p = 0.5.
    A layer reading p as the keep probability misses it by 0.8 and 0.6 at
    p = 0.1 and 0.8.
    """
    np.random.seed(2)
    layer = Dropout2d(p)
    dropped = total = 0
    x = np.ones((40, 50, 2, 1))
    for _ in range(10):
        out = layer.forward(x)
        dropped += int((out[:, :, 0, 0] == 0).sum())
        total += 40 * 50
    bound = 5 * math.sqrt(p * (1 - p) / total)
    assert abs(dropped / total - p) <= bound


@pytest.mark.parametrize("p", [0.0, 0.25, 0.5, 0.9])
def test_dropout_exactly_one_binomial_draw_per_forward(p):
    N, C = 3, 4
    x = np.random.RandomState(3).normal(size=(N, C, 2, 3))
    delta = np.random.RandomState(4).normal(size=(N, C, 2, 3))

    np.random.seed(5)
    layer = Dropout2d(p)
    out = layer.forward(x)
    after_layer = np.random.uniform()

    np.random.seed(5)
    mask = np.random.binomial(1, 1 - p, size=(N, C, 1, 1))
    after_own = np.random.uniform()

    assert layer.mask.shape == (N, C, 1, 1)
    assert np.array_equal(layer.mask, mask)
    assert after_layer == after_own               # no further draws
    np.testing.assert_allclose(out, x * mask / (1 - p), rtol=1e-15, atol=0)
    np.testing.assert_allclose(layer.backward(delta), delta * mask / (1 - p),
                               rtol=1e-15, atol=0)


def test_dropout_constructor_draws_nothing_and_default_p_is_half():
    np.random.seed(6)
    before = np.random.get_state()
    layer = Dropout2d()
    assert rng_state_equal(before, np.random.get_state())
    x = np.ones((50, 40, 1, 1))
    out = layer.forward(x)
    # p = 0.5: kept channels are scaled by exactly 2
    assert set(np.unique(out)) <= {0.0, 2.0}


@pytest.mark.parametrize("p", [0.0, 0.5])
def test_dropout_eval_returns_input_and_draws_nothing(p):
    x = np.random.RandomState(7).normal(size=(2, 3, 4, 5))
    layer = Dropout2d(p)
    np.random.seed(8)
    before = np.random.get_state()
    out = layer.forward(x, eval=True)
    assert rng_state_equal(before, np.random.get_state())
    assert np.array_equal(out, x)
    out = layer(x, eval=True)
    assert rng_state_equal(before, np.random.get_state())
    assert np.array_equal(out, x)


def test_dropout_p_zero_is_identity_in_training():
    x = np.random.RandomState(9).normal(size=(3, 4, 2, 5))
    delta = np.random.RandomState(10).normal(size=(3, 4, 2, 5))
    layer = Dropout2d(0.0)
    assert np.array_equal(layer.forward(x), x)
    assert np.array_equal(layer.backward(delta), delta)
    layer = Dropout2d(0)
    assert np.array_equal(layer(x), x)


def test_dropout_call_is_forward():
    x = np.random.RandomState(11).normal(size=(4, 5, 2, 2))
    np.random.seed(12)
    a = Dropout2d(0.4)(x)
    np.random.seed(12)
    b = Dropout2d(0.4).forward(x)
    assert np.array_equal(a, b)


# --------------------------------------------------------------------------
# Resampling: index rule and output sizes
# --------------------------------------------------------------------------

def test_upsample1d_inserts_k_minus_1_zeros():
    # W_in = 3, k = 3: W_out = 3*(3-1)+1 = 7, samples at 0, 3, 6
    A = np.array([[[1.0, 2.0, 3.0]], [[-4.0, 5.0, -6.0]]])
    layer = Upsample1d(3)
    Z = layer.forward(A)
    expected = np.array([[[1, 0, 0, 2, 0, 0, 3]], [[-4, 0, 0, 5, 0, 0, -6]]],
                        dtype=float)
    assert Z.shape == (2, 1, 7)
    assert np.array_equal(Z, expected)
    dLdZ = np.arange(1.0, 15.0).reshape(2, 1, 7)
    assert np.array_equal(layer.backward(dLdZ),
                          np.array([[[1.0, 4.0, 7.0]], [[8.0, 11.0, 14.0]]]))


@pytest.mark.parametrize("W_in,k,kept", [
    (5, 2, [0, 2, 4]), (6, 2, [0, 2, 4]), (5, 3, [0, 3]), (7, 3, [0, 3, 6]),
    (4, 5, [0]), (3, 1, [0, 1, 2])],
    ids=lambda v: str(v).replace(" ", ""))
def test_downsample1d_keeps_0_k_2k_and_backward_restores_size(W_in, k, kept):
    # W_out = (W_in - 1)//k + 1, listed by hand in `kept`
    A = np.arange(10.0, 10.0 + 2 * W_in).reshape(1, 2, W_in)
    layer = Downsample1d(k)
    Z = layer.forward(A)
    assert Z.shape == (1, 2, len(kept))
    assert np.array_equal(Z, A[:, :, kept])
    dLdZ = -np.arange(1.0, 1.0 + 2 * len(kept)).reshape(1, 2, len(kept))
    dLdA = layer.backward(dLdZ)
    expected = np.zeros((1, 2, W_in))
    expected[:, :, kept] = dLdZ
    assert dLdA.shape == (1, 2, W_in)
    assert np.array_equal(dLdA, expected)


def test_upsample2d_hand_worked():
    # H_in, W_in = 2, 3 and k = 2: H_out = 2*1+1 = 3, W_out = 2*2+1 = 5
    A = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]).reshape(1, 1, 2, 3)
    layer = Upsample2d(2)
    expected = np.array([[1, 0, 2, 0, 3],
                         [0, 0, 0, 0, 0],
                         [4, 0, 5, 0, 6]], dtype=float).reshape(1, 1, 3, 5)
    assert np.array_equal(layer.forward(A), expected)
    dLdZ = np.arange(15.0).reshape(1, 1, 3, 5)
    # picks rows 0, 2 and columns 0, 2, 4 of 0..14
    assert np.array_equal(layer.backward(dLdZ),
                          np.array([[0.0, 2.0, 4.0], [10.0, 12.0, 14.0]])
                          .reshape(1, 1, 2, 3))


def test_downsample2d_hand_worked_odd_non_square():
    # H_in, W_in = 5, 4 and k = 2: H_out = 4//2+1 = 3, W_out = 3//2+1 = 2
    A = np.arange(20.0).reshape(1, 1, 5, 4)
    layer = Downsample2d(2)
    expected = np.array([[0.0, 2.0], [8.0, 10.0], [16.0, 18.0]])
    assert np.array_equal(layer.forward(A), expected.reshape(1, 1, 3, 2))
    dLdZ = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]).reshape(1, 1, 3, 2)
    expected = np.array([[1, 0, 2, 0],
                         [0, 0, 0, 0],
                         [3, 0, 4, 0],
                         [0, 0, 0, 0],
                         [5, 0, 6, 0]], dtype=float).reshape(1, 1, 5, 4)
    assert np.array_equal(layer.backward(dLdZ), expected)


@pytest.mark.parametrize("H,W,k", [(1, 1, 3), (5, 4, 3), (7, 2, 4)],
                         ids=lambda v: str(v))
def test_resampling_2d_output_sizes(H, W, k):
    A = np.ones((2, 3, H, W))
    assert Upsample2d(k).forward(A).shape == (2, 3, k * (H - 1) + 1,
                                              k * (W - 1) + 1)
    assert Downsample2d(k).forward(A).shape == (2, 3, (H - 1) // k + 1,
                                                (W - 1) // k + 1)


# --------------------------------------------------------------------------
# Conv2d and Conv2d_stride1
# --------------------------------------------------------------------------

def ones_init(*shape):
    return np.ones(shape)


def test_conv2d_stride2_padding1_hand_worked():
    # A = 1..16 in a 4x4 grid, 2x2 kernel of ones, stride 2, padding 1.
    # H_out = (4 + 2*1 - 2)//2 + 1 = 3. The 2x2 windows of the zero-padded
    # 6x6 input tile it exactly, so each output is the sum of the input
    # entries inside one tile:
    #   [ 1,          2+3,             4 ]
    #   [ 5+9,   6+7+10+11,        8+12 ]
    #   [ 13,       14+15,            16 ]
    A = np.arange(1.0, 17.0).reshape(1, 1, 4, 4)
    conv = Conv2d(1, 1, 2, stride=2, padding=1, weight_init_fn=ones_init,
                  bias_init_fn=lambda c: np.full(c, 0.5))
    Z = conv.forward(A)
    expected = np.array([[1, 5, 4], [14, 34, 20], [13, 29, 16]], dtype=float)
    assert Z.shape == (1, 1, 3, 3)
    assert np.array_equal(Z, (expected + 0.5).reshape(1, 1, 3, 3))
    # backward: each input pixel lies in exactly one tile, kernel is ones,
    # so dLdA[r, c] = dLdZ of that tile; dLdb = sum(dLdZ) = 45
    dLdZ = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)
    dLdA = conv.backward(dLdZ)
    tile = np.array([0, 1, 1, 2])          # tile index of rows/cols 0..3
    expected = dLdZ[0, 0][tile[:, None], tile[None, :]]
    assert np.array_equal(dLdA, expected.reshape(1, 1, 4, 4))
    assert conv.conv2d_stride1.dLdb.shape == (1,)
    assert conv.conv2d_stride1.dLdb[0] == 45.0


def test_conv2d_stride1_is_cross_correlation_hand_worked():
    # A (3x3) = 1..9, W = [[1, 2], [3, 4]], b = 1: Z[i, j] =
    # A[i,j] + 2A[i,j+1] + 3A[i+1,j] + 4A[i+1,j+1] + 1
    #   Z[0,0] = 1 + 4 + 12 + 20 + 1 = 38     Z[0,1] = 2 + 6 + 15 + 24 + 1 = 48
    #   Z[1,0] = 4 + 10 + 21 + 32 + 1 = 68    Z[1,1] = 5 + 12 + 24 + 36 + 1 = 78
    # (a flipped kernel, i.e. a true convolution, would give 22, 32, 52, 62)
    A = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)
    W = np.array([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 1, 2, 2)
    conv = Conv2d_stride1(1, 1, 2, weight_init_fn=lambda *s: W.copy(),
                          bias_init_fn=lambda c: np.ones(c))
    Z = conv.forward(A)
    assert np.array_equal(Z, np.array([[38.0, 48.0], [68.0, 78.0]])
                          .reshape(1, 1, 2, 2))
    # dLdZ = ones: dLdA[p, q] = sum of the W entries that touch (p, q),
    # dLdW[u, v] = sum of A[u:u+2, v:v+2], dLdb = 4
    dLdA = conv.backward(np.ones((1, 1, 2, 2)))
    assert np.array_equal(dLdA, np.array([[1, 3, 2], [4, 10, 6], [3, 7, 4]],
                                         dtype=float).reshape(1, 1, 3, 3))
    assert np.array_equal(conv.dLdW, np.array([[12.0, 16.0], [24.0, 28.0]])
                          .reshape(1, 1, 2, 2))
    assert np.array_equal(conv.dLdb, np.array([4.0]))


def test_conv2d_stride1_sums_over_input_channels_hand_worked():
    # channel 0 = 1..9 with the kernel above (38, 48, 68, 78 without bias 1
    # -> 37, 47, 67, 77), channel 1 = ones with a kernel of ones (+4);
    # output 1 sees only channel 1 through [[2, 0], [0, 0]] (+2).
    A = np.stack([np.arange(1.0, 10.0).reshape(3, 3), np.ones((3, 3))])[None]
    W = np.zeros((2, 2, 2, 2))
    W[0, 0] = [[1, 2], [3, 4]]
    W[0, 1] = 1.0
    W[1, 1, 0, 0] = 2.0
    conv = Conv2d_stride1(2, 2, 2, weight_init_fn=lambda *s: W.copy(),
                          bias_init_fn=lambda c: np.array([1.0, -1.0]))
    Z = conv.forward(A)
    expected = np.array([[[42, 52], [72, 82]], [[1, 1], [1, 1]]], dtype=float)
    assert np.array_equal(Z, expected[None])


@pytest.mark.parametrize("H,W,K,stride,padding", [
    (4, 4, 2, 2, 1), (5, 7, 3, 1, 0), (5, 7, 3, 2, 2), (6, 3, 1, 4, 0),
    (9, 8, 2, 5, 1), (3, 3, 3, 1, 0), (2, 5, 4, 3, 3)],
    ids=lambda v: str(v))
def test_conv2d_output_size_formula(H, W, K, stride, padding):
    conv = Conv2d(2, 3, K, stride=stride, padding=padding)
    Z = conv.forward(np.ones((1, 2, H, W)))
    assert Z.shape == (1, 3, (H + 2 * padding - K) // stride + 1,
                       (W + 2 * padding - K) // stride + 1)


def direct_conv(A, W, b, stride, padding):
    """Z by the defining sum, one output pixel at a time."""
    N, C, H, Wd = A.shape
    O, _, K, _ = W.shape
    P = np.zeros((N, C, H + 2 * padding, Wd + 2 * padding))
    P[:, :, padding:padding + H, padding:padding + Wd] = A
    Ho = (H + 2 * padding - K) // stride + 1
    Wo = (Wd + 2 * padding - K) // stride + 1
    Z = np.zeros((N, O, Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            window = P[:, :, i * stride:i * stride + K, j * stride:j * stride + K]
            Z[:, :, i, j] = np.tensordot(window, W, axes=([1, 2, 3],
                                                          [1, 2, 3])) + b
    return Z


@pytest.mark.parametrize("K,stride,padding", [(3, 2, 1), (2, 3, 2), (1, 2, 0)],
                         ids=lambda v: str(v))
def test_conv2d_matches_the_defining_sum(K, stride, padding):
    rng = np.random.RandomState(13)
    A = rng.normal(size=(2, 3, 5, 6))
    W = rng.normal(size=(4, 3, K, K))
    b = rng.normal(size=4)
    conv = Conv2d(3, 4, K, stride, padding, weight_init_fn=lambda *s: W,
                  bias_init_fn=lambda c: b)
    np.testing.assert_allclose(conv.forward(A),
                               direct_conv(A, W, b, stride, padding),
                               rtol=1e-12, atol=1e-12)


def test_conv2d_attributes():
    conv = Conv2d(2, 3, 3, stride=2, padding=1)
    assert conv.stride == 2 and conv.pad == 1
    assert conv.conv2d_stride1.W.shape == (3, 2, 3, 3)
    assert conv.conv2d_stride1.b.shape == (3,)
    assert type(conv.downsample2d).__name__ == "Downsample2d"
    assert Conv2d(2, 3, 3, 1).pad == 0            # padding defaults to 0


@pytest.mark.parametrize("cls", ["Conv2d_stride1", "Conv2d"])
def test_conv_default_init_draws_normal_weights_and_zero_bias(cls):
    np.random.seed(14)
    if cls == "Conv2d":
        conv = Conv2d(2, 3, 4, 2).conv2d_stride1
    else:
        conv = Conv2d_stride1(2, 3, 4)
    after_layer = np.random.uniform()
    np.random.seed(14)
    W = np.random.normal(0, 1.0, (3, 2, 4, 4))
    after_own = np.random.uniform()
    assert np.array_equal(conv.W, W)
    assert after_layer == after_own                # nothing else drawn
    assert conv.b.shape == (3,) and np.array_equal(conv.b, np.zeros(3))
    assert conv.dLdW.shape == (3, 2, 4, 4) and conv.dLdb.shape == (3,)


@pytest.mark.parametrize("cls", ["Conv2d_stride1", "Conv2d"])
def test_conv_init_functions_called_as_documented(cls):
    calls = []

    def weight_fn(*args, **kwargs):
        calls.append(("W", args, kwargs))
        return np.full(args, 0.25)

    def bias_fn(*args, **kwargs):
        calls.append(("b", args, kwargs))
        return np.arange(1.0, args[0] + 1)

    np.random.seed(15)
    before = np.random.get_state()
    if cls == "Conv2d":
        conv = Conv2d(2, 3, 4, 1, 0, weight_init_fn=weight_fn,
                      bias_init_fn=bias_fn).conv2d_stride1
    else:
        conv = Conv2d_stride1(2, 3, 4, weight_init_fn=weight_fn,
                              bias_init_fn=bias_fn)
    assert sorted(calls) == [("W", (3, 2, 4, 4), {}), ("b", (3,), {})]
    assert rng_state_equal(before, np.random.get_state())
    assert np.array_equal(conv.W, np.full((3, 2, 4, 4), 0.25))
    assert np.array_equal(conv.b, np.array([1.0, 2.0, 3.0]))


# --------------------------------------------------------------------------
# ConvBlock and ResBlock structure
# --------------------------------------------------------------------------

def kind(obj):
    return type(obj).__name__


def check_convblock(block, c_in, c_out, k, stride, padding):
    assert kind(block) == "ConvBlock"
    assert [kind(layer) for layer in block.layers] == ["Conv2d", "BatchNorm2d"]
    conv, bn = block.layers
    assert conv.conv2d_stride1.W.shape == (c_out, c_in, k, k)
    assert conv.stride == stride and conv.pad == padding
    assert bn.BW.shape == (1, c_out, 1, 1)


def test_convblock_layers():
    check_convblock(ConvBlock(2, 5, 3, 2, 1), 2, 5, 3, 2, 1)


COMBOS = [(s, same, f, p) for s in (1, 2) for same in (True, False)
          for f in (1, 3) for p in (0, 1)]


@pytest.mark.parametrize(
    "stride,same,f,padding", COMBOS,
    ids=["stride={}-{}-filter={}-pad={}".format(
        s, "in=out" if same else "in!=out", f, p) for s, same, f, p in COMBOS])
def test_resblock_structure_and_shortcut_rule(stride, same, f, padding):
    c_in, c_out = (4, 4) if same else (2, 4)
    block = ResBlock(c_in, c_out, f, stride=stride, padding=padding)
    layers = block.convolution_layers
    assert [kind(layer) for layer in layers] == ["ConvBlock", "ReLU",
                                                 "ConvBlock"]
    check_convblock(layers[0], c_in, c_out, f, stride, padding)
    check_convblock(layers[2], c_out, c_out, 1, 1, 0)
    assert kind(block.final_activation) == "ReLU"
    identity = stride == 1 and same and f == 1 and padding == 0
    if identity:
        assert kind(block.residual_connection) == "Identity"
    else:
        check_convblock(block.residual_connection, c_in, c_out, f, stride,
                        padding)


def test_resblock_defaults_are_stride_3_padding_1():
    block = ResBlock(2, 2, 3)
    conv = block.convolution_layers[0].layers[0]
    assert conv.stride == 3 and conv.pad == 1
    assert kind(block.residual_connection) == "ConvBlock"


def test_resblock_weight_draw_order_with_projection():
    np.random.seed(16)
    block = ResBlock(2, 3, 3, stride=2, padding=1)
    after_block = np.random.uniform()
    np.random.seed(16)
    W1 = np.random.normal(0, 1.0, (3, 2, 3, 3))
    W2 = np.random.normal(0, 1.0, (3, 3, 1, 1))
    W3 = np.random.normal(0, 1.0, (3, 2, 3, 3))
    after_own = np.random.uniform()
    first, _, second = block.convolution_layers
    assert np.array_equal(first.layers[0].conv2d_stride1.W, W1)
    assert np.array_equal(second.layers[0].conv2d_stride1.W, W2)
    assert np.array_equal(
        block.residual_connection.layers[0].conv2d_stride1.W, W3)
    assert after_block == after_own


def test_resblock_weight_draw_order_with_identity():
    np.random.seed(17)
    block = ResBlock(3, 3, 1, stride=1, padding=0)
    after_block = np.random.uniform()
    np.random.seed(17)
    W1 = np.random.normal(0, 1.0, (3, 3, 1, 1))
    W2 = np.random.normal(0, 1.0, (3, 3, 1, 1))
    after_own = np.random.uniform()
    first, _, second = block.convolution_layers
    assert np.array_equal(first.layers[0].conv2d_stride1.W, W1)
    assert np.array_equal(second.layers[0].conv2d_stride1.W, W2)
    assert after_block == after_own


def conv1x1(A, W):
    return np.einsum("oc,nchw->nohw", W[:, :, 0, 0], A)


def bn_train(Z):
    M, V = channel_stats(Z)
    return (Z - M) / np.sqrt(V + EPS)


@pytest.mark.parametrize("c_in", [3, 2], ids=["identity", "projection"])
def test_resblock_forward_is_relu_of_main_plus_shortcut(c_in):
    """With 1x1 kernels everything is an einsum: check relu(main + short).

    Biases are zero and BW, Bb at their initial values, so each BatchNorm2d
    is the plain training normalisation. A ResBlock that drops the identity
    shortcut fails the first case, one that adds it twice fails both.
    """
    np.random.seed(18)
    block = ResBlock(c_in, 3, 1, stride=1, padding=0)
    A = np.random.RandomState(19).normal(size=(4, c_in, 3, 2))
    W1 = block.convolution_layers[0].layers[0].conv2d_stride1.W
    W2 = block.convolution_layers[2].layers[0].conv2d_stride1.W
    main = bn_train(conv1x1(np.maximum(bn_train(conv1x1(A, W1)), 0), W2))
    if c_in == 3:
        shortcut = A
    else:
        W3 = block.residual_connection.layers[0].conv2d_stride1.W
        shortcut = bn_train(conv1x1(A, W3))
    np.testing.assert_allclose(block.forward(A),
                               np.maximum(main + shortcut, 0),
                               rtol=1e-10, atol=1e-10)


# --------------------------------------------------------------------------
# Activations
# --------------------------------------------------------------------------

def test_relu_hand_worked_and_zero_gradient_at_zero():
    layer = ReLU()
    assert np.array_equal(layer.forward(np.array([[-1.0, 0.0, 2.0]])),
                          np.array([[0.0, 0.0, 2.0]]))
    assert np.array_equal(layer.backward(np.array([[5.0, 5.0, 5.0]])),
                          np.array([[0.0, 0.0, 5.0]]))


def test_sigmoid_and_tanh_hand_worked():
    # sigmoid(0) = 1/2, sigmoid(ln 3) = 3/4, derivative A(1-A): 1/4, 3/16
    layer = Sigmoid()
    A = layer.forward(np.array([[0.0, math.log(3.0)]]))
    np.testing.assert_allclose(A, [[0.5, 0.75]], rtol=1e-15)
    np.testing.assert_allclose(layer.backward(np.ones((1, 2))),
                               [[0.25, 0.1875]], rtol=1e-14)
    # tanh(0) = 0, tanh(ln 2) = (2 - 1/2)/(2 + 1/2) = 0.6, 1 - A^2: 1, 0.64
    layer = Tanh()
    A = layer.forward(np.array([[0.0, math.log(2.0)]]))
    np.testing.assert_allclose(A, [[0.0, 0.6]], rtol=1e-15, atol=1e-16)
    np.testing.assert_allclose(layer.backward(np.ones((1, 2))),
                               [[1.0, 0.64]], rtol=1e-14)


def test_identity_hand_worked():
    layer = Identity()
    Z = np.array([[-1.5, 0.0, 2.0]])
    assert np.array_equal(layer.forward(Z), Z)
    assert np.array_equal(layer.backward(np.array([[1.0, 2.0, 3.0]])),
                          np.array([[1.0, 2.0, 3.0]]))


def test_softmax_rows_sum_to_one_hand_worked():
    # exp([0, ln 2, ln 3]) = [1, 2, 3] -> [1/6, 2/6, 3/6]; a row of equal
    # large values must give 1/3 each without overflow
    layer = Softmax()
    Z = np.array([[0.0, math.log(2.0), math.log(3.0)],
                  [1000.0, 1000.0, 1000.0]])
    A = layer.forward(Z)
    np.testing.assert_allclose(A, [[1 / 6, 2 / 6, 3 / 6], [1 / 3] * 3],
                               rtol=1e-14)
    np.testing.assert_allclose(A.sum(axis=1), [1.0, 1.0], rtol=1e-15)
    # dLdZ = A * (dLdA - sum(dLdA * A)) with dLdA = [1, 0, 0] on row 0:
    # [1/6 * 5/6, 2/6 * (-1/6), 3/6 * (-1/6)] = [5, -2, -3] / 36; row 1
    # gets dLdA = [1, 1, 1], whose result is 0
    dLdZ = layer.backward(np.array([[1.0, 0.0, 0.0], [1.0, 1.0, 1.0]]))
    np.testing.assert_allclose(dLdZ[0], np.array([5.0, -2.0, -3.0]) / 36,
                               rtol=1e-13)
    np.testing.assert_allclose(dLdZ[1], 0.0, atol=1e-16)


def test_softmax_random_rows_sum_to_one():
    Z = np.random.RandomState(20).normal(0, 5, size=(6, 9))
    np.testing.assert_allclose(Softmax().forward(Z).sum(axis=1), 1.0,
                               rtol=1e-14)


def test_gelu_against_math_erf():
    xs = [-3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.5]
    phi = [0.5 * (1 + math.erf(x / math.sqrt(2))) for x in xs]
    pdf = [math.exp(-x * x / 2) / math.sqrt(2 * math.pi) for x in xs]
    layer = GELU()
    A = layer.forward(np.array([xs]))
    np.testing.assert_allclose(A[0], [x * c for x, c in zip(xs, phi)],
                               rtol=1e-14, atol=1e-16)
    dLdZ = layer.backward(np.full((1, len(xs)), 2.0))
    np.testing.assert_allclose(
        dLdZ[0], [2 * (c + x * d) for x, c, d in zip(xs, phi, pdf)],
        rtol=1e-14, atol=1e-16)


# --------------------------------------------------------------------------
# dtype: every layer computes in float64
# --------------------------------------------------------------------------

def make_all():
    """(id, layer factory, input shape, forward keyword arguments)."""
    return [
        ("Conv2d_stride1", lambda: Conv2d_stride1(2, 3, 2), (2, 2, 4, 3), {}),
        ("Conv2d", lambda: Conv2d(2, 3, 2, 2, 1), (2, 2, 4, 3), {}),
        ("BatchNorm2d-train", lambda: BatchNorm2d(2), (2, 2, 3, 3), {}),
        ("BatchNorm2d-eval", lambda: BatchNorm2d(2), (2, 2, 3, 3),
         {"eval": True}),
        ("Dropout2d-train", lambda: Dropout2d(0.5), (4, 3, 2, 2), {}),
        ("Dropout2d-eval", lambda: Dropout2d(0.5), (4, 3, 2, 2),
         {"eval": True}),
        ("Upsample1d", lambda: Upsample1d(2), (2, 3, 4), {}),
        ("Downsample1d", lambda: Downsample1d(2), (2, 3, 5), {}),
        ("Upsample2d", lambda: Upsample2d(2), (2, 3, 2, 3), {}),
        ("Downsample2d", lambda: Downsample2d(2), (2, 3, 5, 4), {}),
        ("Identity", Identity, (2, 5), {}),
        ("Sigmoid", Sigmoid, (2, 5), {}),
        ("Tanh", Tanh, (2, 5), {}),
        ("ReLU", ReLU, (2, 5), {}),
        ("GELU", GELU, (2, 5), {}),
        ("Softmax", Softmax, (2, 5), {}),
        ("ConvBlock", lambda: ConvBlock(2, 3, 3, 2, 1), (2, 2, 5, 4), {}),
        ("ResBlock-projection", lambda: ResBlock(2, 3, 3, 2, 1),
         (2, 2, 5, 4), {}),
        ("ResBlock-identity", lambda: ResBlock(2, 2, 1, 1, 0), (2, 2, 5, 4),
         {}),
    ]


ALL = make_all()
DTYPES = [np.int64, np.int32, np.uint8, np.float32, np.float64]


@pytest.mark.parametrize("name,make,shape,kwargs", ALL,
                         ids=[case[0] for case in ALL])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_every_layer_gives_float64_for_any_real_input(name, make, shape,
                                                      kwargs, dtype):
    values = np.random.RandomState(21).randint(0, 4, size=shape)
    np.random.seed(22)
    layer = make()
    np.random.seed(23)
    out = layer.forward(values.astype(dtype), **kwargs)
    assert out.dtype == np.float64
    # the same numbers as float64 give the same result
    np.random.seed(22)
    twin = make()
    np.random.seed(23)
    np.testing.assert_allclose(out, twin.forward(values.astype(np.float64),
                                                 **kwargs),
                               rtol=1e-12, atol=1e-12)
    if kwargs.get("eval"):
        return
    grad = np.random.RandomState(24).randint(-2, 3, size=out.shape)
    grad = grad.astype(dtype if np.dtype(dtype).kind != "u" else np.int64)
    dLdA = layer.backward(grad)
    assert dLdA.dtype == np.float64
    np.testing.assert_allclose(dLdA, twin.backward(grad.astype(np.float64)),
                               rtol=1e-12, atol=1e-12)


def test_resblock_integer_input_as_the_grader_feeds_it():
    A = np.random.RandomState(25).randint(-5, 6, size=(2, 3, 7, 7))
    np.random.seed(26)
    block = ResBlock(3, 3, 3, stride=2, padding=1)
    out = block.forward(A)
    assert out.dtype == np.float64
    assert block.backward(np.ones(out.shape, dtype=int)).dtype == np.float64
