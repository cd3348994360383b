"""Two-dimensional convolution: the stride-1 core and the padded, strided layer.

Both compute a cross-correlation, as PyTorch's ``conv2d`` does::

    Z[n, o, i, j] = b[o] + sum over c, p, q of
                    W[o, c, p, q] * A[n, c, stride*i + p, stride*j + q]

How it is computed, with no Python loop over samples or pixels:

- output and weight gradient: one matrix product with the column matrix
  (im2col) of a strided window view of the input. The columns are built a
  block of samples at a time, at most ``COLUMN_BUDGET`` bytes, so a large
  batch never holds a copy of its input K*K times over; a 1x1 stride-1
  kernel needs no copy at all.
- input gradient: for each kernel offset (p, q), one product
  W[:, :, p, q]^T @ dLdZ added into a strided slice of dLdA. The
  column-sized gradient is never built.
- outputs that a stride would throw away are never computed, and the
  gradient of the zero padding is never built.
"""
import numbers
import os
import sys

import numpy as np
from numpy.lib.stride_tricks import as_strided

if __package__:
    from .resampling import Downsample2d
else:
    _HERE = os.path.dirname(os.path.abspath(__file__))
    if _HERE not in sys.path:
        sys.path.append(_HERE)
    from resampling import Downsample2d

# Largest column matrix (im2col buffer) built at once, in bytes. A batch
# whose columns would be larger is processed a block of samples at a time.
COLUMN_BUDGET = 8 * 2 ** 20


def _check_int(layer, name, value, smallest=1):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        kind = "a positive" if smallest == 1 else "a non-negative"
        raise TypeError("{}: expected {} to be {} integer, got {!r}"
                        .format(layer, name, kind, value))
    if value < smallest:
        kind = "a positive" if smallest == 1 else "a non-negative"
        raise ValueError("{}: expected {} to be {} integer, got {}"
                         .format(layer, name, kind, value))
    return int(value)


def _check_input(layer, A, channels, kernel, padding):
    """Read A as float64 (N, C_in, H_in, W_in) that a kernel fits after padding.
    """
    A = np.asarray(A)
    if A.dtype.kind not in "iuf":
        raise TypeError("{}: expected A to be a real-valued numeric array, "
                        "got dtype {}".format(layer, A.dtype))
    if A.ndim != 4:
        raise ValueError("{}: expected 4D input (N, C_in, H_in, W_in), got "
                         "{}D input with shape {}".format(layer, A.ndim,
                                                          A.shape))
    if A.size == 0:
        raise ValueError("{}: expected a non-empty input, got shape {}"
                         .format(layer, A.shape))
    if A.shape[1] != channels:
        raise ValueError("{}: expected {} input channels, got {} (input "
                         "shape {})".format(layer, channels, A.shape[1],
                                            A.shape))
    height, width = A.shape[2] + 2 * padding, A.shape[3] + 2 * padding
    if height < kernel or width < kernel:
        raise ValueError("{}: input of {}x{} after padding by {} is smaller "
                         "than the kernel ({}x{}); input shape {}"
                         .format(layer, height, width, padding, kernel,
                                 kernel, A.shape))
    return A.astype(np.float64, copy=False)


def _check_grad(layer, dLdZ, shape):
    if shape is None:
        raise ValueError("{}: backward called before forward".format(layer))
    dLdZ = np.asarray(dLdZ)
    if dLdZ.dtype.kind not in "iuf":
        raise TypeError("{}: expected dLdZ to be a real-valued numeric "
                        "array, got dtype {}".format(layer, dLdZ.dtype))
    if dLdZ.shape != shape:
        raise ValueError("{}: expected dLdZ of shape {} (the forward "
                         "output's), got {}".format(layer, shape, dLdZ.shape))
    return dLdZ.astype(np.float64, copy=False)


def _init(layer, fn, shape, default, what):
    """Call an init function (or the default) and check what it returns."""
    if fn is not None and not callable(fn):
        raise TypeError("{}: expected {} to be a function called as fn{}, "
                        "got {!r}".format(layer, what, shape, type(fn)))
    value = np.asarray(default(shape) if fn is None else fn(*shape))
    if value.dtype.kind not in "iuf":
        raise TypeError("{}: expected {} to return a real-valued array of "
                        "shape {}, got dtype {}".format(layer, what, shape,
                                                        value.dtype))
    value = np.array(value, dtype=np.float64)
    if value.shape != shape:
        raise ValueError("{}: expected {} to return an array of shape {}, "
                         "got {}".format(layer, what, shape, value.shape))
    return value


def _output_size(size, kernel, stride):
    return (size - kernel) // stride + 1


def _pointwise(kernel, stride):
    """True when the columns are A itself (a 1x1 kernel, stride 1)."""
    return kernel == 1 and stride == 1


def _columns(A, kernel, stride, out_h, out_w):
    """The im2col matrix of A, shaped (N, C_in * K * K, H_out * W_out).

    Row (c, p, q) of sample n holds A[n, c, stride*i + p, stride*j + q] over
    all output pixels (i, j). The reshape copies the window view, except for
    a pointwise kernel on a contiguous A, where it is a view of A itself.
    """
    N, C = A.shape[:2]
    sN, sC, sH, sW = A.strides
    windows = as_strided(A, shape=(N, C, kernel, kernel, out_h, out_w),
                         strides=(sN, sC, sH, sW, stride * sH, stride * sW),
                         writeable=False)
    return windows.reshape(N, C * kernel * kernel, out_h * out_w)


def _blocks(A, kernel, stride, out_h, out_w):
    """Slices of the batch whose column matrices fit in COLUMN_BUDGET.

    A 1x1 stride-1 kernel copies nothing, so the whole batch is one block.
    """
    N, C = A.shape[:2]
    if _pointwise(kernel, stride):
        return [slice(0, N)]
    per_sample = C * kernel * kernel * out_h * out_w * A.itemsize
    step = max(1, COLUMN_BUDGET // per_sample)
    return [slice(start, min(start + step, N)) for start in range(0, N, step)]


class Conv2d_stride1(object):
    """Stride-1 2D cross-correlation with no padding.

    Z[n, o, i, j] = b[o] + sum_{c, p, q} W[o, c, p, q] * A[n, c, i + p, j + q]

    Args:
        in_channels (int): C_in.
        out_channels (int): C_out.
        kernel_size (int): K, the kernel is K x K.
        weight_init_fn (callable, optional): called as
            ``fn(C_out, C_in, K, K)``; default ``np.random.normal(0, 1.0,
            (C_out, C_in, K, K))``.
        bias_init_fn (callable, optional): called as ``fn(C_out)``; default
            zeros.

    Shape:
        (N, C_in, H_in, W_in) -> (N, C_out, H_out, W_out) with
        H_out = H_in - K + 1 and W_out = W_in - K + 1.

    Attributes:
        W (C_out, C_in, K, K), b (C_out,): the parameters, float64.
        dLdW (C_out, C_in, K, K), dLdb (C_out,): their gradients, set (not
            accumulated) by each backward; zeros before the first.
        A (N, C_in, H_in, W_in): the float64 input of the last forward.

    Every input is read as float64, so integer and float32 input give
    float64 output.

    >>> conv = Conv2d_stride1(1, 1, 2, lambda *s: np.ones(s))
    >>> conv.forward(np.arange(9.).reshape(1, 1, 3, 3))
    array([[[[ 8., 12.],
             [20., 24.]]]])
    """

    def __init__(self, in_channels, out_channels, kernel_size,
                 weight_init_fn=None, bias_init_fn=None):
        name = type(self).__name__
        self.in_channels = _check_int(name, "in_channels", in_channels)
        self.out_channels = _check_int(name, "out_channels", out_channels)
        self.kernel_size = _check_int(name, "kernel_size", kernel_size)

        shape = (self.out_channels, self.in_channels) + (self.kernel_size,) * 2
        self.W = _init(name, weight_init_fn, shape,
                       lambda s: np.random.normal(0, 1.0, s), "weight_init_fn")
        self.b = _init(name, bias_init_fn, (self.out_channels,), np.zeros,
                       "bias_init_fn")
        self.dLdW = np.zeros(shape)
        self.dLdb = np.zeros(self.out_channels)

        self.A = None
        self._stride = 1
        self._output_shape = None

    def forward(self, A):
        A = _check_input(type(self).__name__, A, self.in_channels,
                         self.kernel_size, 0)
        Z = self._convolve(A, 1)
        self._remember(A, 1, Z.shape)
        return Z

    def backward(self, dLdZ):
        dLdZ = _check_grad(type(self).__name__, dLdZ, self._output_shape)
        return self._backward(dLdZ)

    def _convolve(self, A, stride):
        """Z for a checked float64 A, keeping only every stride-th output.

        Pure: stores nothing (``_remember`` does, for ``backward``).
        """
        N, C, H, W = A.shape
        K = self.kernel_size
        out_h = _output_size(H, K, stride)
        out_w = _output_size(W, K, stride)
        weights = self.W.reshape(self.out_channels, C * K * K)

        # one matrix product per block of samples, written straight into Z
        Z = np.empty((N, self.out_channels, out_h * out_w))
        for block in _blocks(A, K, stride, out_h, out_w):
            cols = _columns(A[block], K, stride, out_h, out_w)
            np.matmul(weights, cols, out=Z[block])
        Z += self.b[:, None]
        return Z.reshape(N, self.out_channels, out_h, out_w)

    def _remember(self, A, stride, output_shape):
        self.A, self._stride, self._output_shape = A, stride, output_shape

    def _backward(self, dLdZ, crop=0):
        """dLdA for the last forward's A; sets dLdW and dLdb.

        With ``crop``, the gradient of A[:, :, crop:-crop, crop:-crop] only:
        ``Conv2d`` undoes its zero padding this way without building the
        padded gradient.
        """
        A, stride, K = self.A, self._stride, self.kernel_size
        N, C, H, W = A.shape
        _, C_out, out_h, out_w = dLdZ.shape
        dLdZ = dLdZ.reshape(N, C_out, out_h * out_w)

        # bias gradient: sum over samples and output pixels
        dLdb = dLdZ.sum(axis=(0, 2))

        # weight gradient: against the columns, rebuilt a block at a time
        dLdW = _weight_gradient(A, dLdZ, K, stride, out_h, out_w)

        # input gradient: one product per kernel offset
        shape = (N, C, H - 2 * crop, W - 2 * crop)
        dLdA = _input_gradient(self.W, dLdZ, shape, stride, crop,
                               out_h, out_w)

        self.dLdW = dLdW.reshape(self.W.shape)
        self.dLdb = dLdb
        return dLdA

    def __repr__(self):
        return "{}({}, {}, kernel_size={})".format(
            type(self).__name__, self.in_channels, self.out_channels,
            self.kernel_size)


def _weight_gradient(A, dLdZ, kernel, stride, out_h, out_w):
    """dLdW as (C_out, C_in * K * K): dLdZ times the columns, summed."""
    dLdW = np.zeros((dLdZ.shape[1], A.shape[1] * kernel * kernel))
    for block in _blocks(A, kernel, stride, out_h, out_w):
        cols = _columns(A[block], kernel, stride, out_h, out_w)
        dLdW += np.matmul(dLdZ[block], cols.transpose(0, 2, 1)).sum(0)
    return dLdW


def _input_gradient(W, dLdZ, shape, stride, crop, out_h, out_w):
    """dLdA of the given shape from dLdZ (N, C_out, H_out * W_out).

    Kernel offset (p, q) sends W[:, :, p, q]^T @ dLdZ to the input pixels
    (stride*i + p - crop, stride*j + q - crop) that exist: one batched
    product and one strided add per offset, into a buffer the size of the
    output. No column-sized array, no loop over samples or pixels.
    """
    N, C = shape[:2]
    K = W.shape[2]
    if _pointwise(K, stride) and crop == 0:
        return np.matmul(np.ascontiguousarray(W[:, :, 0, 0].T),
                         dLdZ).reshape(shape)

    # (K, K, C, C_out), contiguous: matmul is far slower on transposed views
    taps = np.ascontiguousarray(W.transpose(2, 3, 1, 0))
    dLdA = np.zeros(shape)
    part = np.empty((N, C, out_h, out_w))
    for p in range(K):
        rows, kept_rows = _hits(p - crop, stride, out_h, shape[2])
        for q in range(K):
            cols, kept_cols = _hits(q - crop, stride, out_w, shape[3])
            if rows is None or cols is None:
                continue
            np.matmul(taps[p, q], dLdZ, out=part.reshape(N, C, -1))
            dLdA[:, :, rows, cols] += part[:, :, kept_rows, kept_cols]
    return dLdA


def _hits(offset, stride, count, size):
    """Where outputs 0..count-1 land at index stride*i + offset in [0, size).

    Returns (slice of the input axis, slice of the output axis), or
    (None, None) when no output lands inside.
    """
    first = max(0, -(offset // stride))        # smallest i with index >= 0
    last = min(count - 1, (size - 1 - offset) // stride)
    if last < first:
        return None, None
    start = stride * first + offset
    return (slice(start, stride * last + offset + 1, stride),
            slice(first, last + 1))


class Conv2d(object):
    """2D cross-correlation with zero padding and a stride.

    Defined as three steps: zero-pad A by ``padding`` on every side, apply
    the stride-1 convolution ``conv2d_stride1``, then keep every
    ``stride``-th row and column (``downsample2d``). The computation folds
    the downsampling into the convolution, so no discarded output is ever
    computed; the result is the same.

    Args:
        in_channels (int): C_in.
        out_channels (int): C_out.
        kernel_size (int): K, the kernel is K x K.
        stride (int): s >= 1.
        padding (int): zeros added on every side, >= 0. Default 0.
        weight_init_fn, bias_init_fn (callable, optional): as for
            ``Conv2d_stride1``.

    Shape:
        (N, C_in, H_in, W_in) -> (N, C_out, H_out, W_out) with
        H_out = (H_in + 2*padding - K) // stride + 1, and W_out likewise.

    Attributes:
        stride (int), pad (int): as given.
        conv2d_stride1 (Conv2d_stride1): holds W, b, dLdW, dLdb; its ``A`` is
            the padded input of the last forward.
        downsample2d (Downsample2d): the downsampling step of the definition.

    >>> conv = Conv2d(1, 1, 2, stride=2, padding=1,
    ...               weight_init_fn=lambda *s: np.ones(s))
    >>> conv.forward(np.ones((1, 1, 3, 3)))
    array([[[[1., 2.],
             [2., 4.]]]])
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride,
                 padding=0, weight_init_fn=None, bias_init_fn=None):
        name = type(self).__name__
        in_channels = _check_int(name, "in_channels", in_channels)
        out_channels = _check_int(name, "out_channels", out_channels)
        kernel_size = _check_int(name, "kernel_size", kernel_size)
        self.stride = _check_int(name, "stride", stride)
        self.pad = _check_int(name, "padding", padding, smallest=0)

        self.conv2d_stride1 = Conv2d_stride1(in_channels, out_channels,
                                             kernel_size, weight_init_fn,
                                             bias_init_fn)
        self.downsample2d = Downsample2d(self.stride)
        self._input_shape = None

    def forward(self, A):
        padded, Z = self._pad_and_convolve(A)
        self.conv2d_stride1._remember(padded, self.stride, Z.shape)
        self._input_shape = padded.shape
        return Z

    def backward(self, dLdZ):
        core = self.conv2d_stride1
        shape = core._output_shape if self._input_shape else None
        dLdZ = _check_grad(type(self).__name__, dLdZ, shape)

        # undo downsample, convolve and pad: the gradient of the padding
        # itself is never built
        return core._backward(dLdZ, crop=self.pad)

    def _pad_and_convolve(self, A):
        """Check A; return (padded A, Z). Stores nothing.

        ``ConvBlock`` calls this directly when it evaluates, so that an
        evaluation leaves what the last training forward stored.
        """
        core = self.conv2d_stride1
        A = _check_input(type(self).__name__, A, core.in_channels,
                         core.kernel_size, self.pad)

        # pad
        p = self.pad
        if p:
            padded = np.zeros(A.shape[:2] + (A.shape[2] + 2 * p,
                                             A.shape[3] + 2 * p))
            padded[:, :, p:-p, p:-p] = A
        else:
            padded = A

        # convolve and downsample in one step
        return padded, core._convolve(padded, self.stride)

    def __repr__(self):
        core = self.conv2d_stride1
        text = "{}({}, {}, kernel_size={}, stride={}".format(
            type(self).__name__, core.in_channels, core.out_channels,
            core.kernel_size, self.stride)
        if self.pad:
            text += ", padding={}".format(self.pad)
        return text + ")"
