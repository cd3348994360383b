"""Up- and downsampling by an integer factor along the last one or two axes.

Upsampling inserts ``k - 1`` zeros between neighbouring samples; downsampling
keeps the samples at indices 0, k, 2k, ... . Each pair is the other's
adjoint, so the backward of one is the forward of the other up to the size
of the array it restores.
"""
import numbers

import numpy as np


def _check_factor(layer, name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError("{}: expected {} to be a positive integer, got {!r}"
                        .format(layer, name, value))
    if value <= 0:
        raise ValueError("{}: expected {} to be a positive integer, got {}"
                         .format(layer, name, value))
    return int(value)


def _check_array(layer, name, x, ndim, letters):
    x = np.asarray(x)
    if x.dtype.kind not in "iuf":
        raise TypeError("{}: expected {} to be a real-valued numeric array, "
                        "got dtype {}".format(layer, name, x.dtype))
    if x.ndim != ndim:
        raise ValueError("{}: expected {}D input {}, got {}D input with shape "
                         "{}".format(layer, ndim, letters, x.ndim, x.shape))
    if x.size == 0:
        raise ValueError("{}: expected a non-empty input, got shape {}"
                         .format(layer, x.shape))
    return x


def _check_grad(layer, name, grad, shape):
    if shape is None:
        raise ValueError("{}: backward called before forward".format(layer))
    grad = np.asarray(grad)
    if grad.dtype.kind not in "iuf":
        raise TypeError("{}: expected {} to be a real-valued numeric array, "
                        "got dtype {}".format(layer, name, grad.dtype))
    if grad.shape != shape:
        raise ValueError("{}: expected {} of shape {} (the forward output's), "
                         "got {}".format(layer, name, shape, grad.shape))
    return grad


class _Resample(object):
    """What the four layers share: the factor, the axes, the stored sizes.

    ``forward`` remembers the input and output shapes so that ``backward``
    can check its gradient and rebuild an array of the input's size.
    """

    ndim = None          # 3 for the 1d layers, 4 for the 2d layers
    letters = None       # the shape in the course's letters, for messages
    factor_name = None   # the constructor argument's name

    def __init__(self, factor):
        factor = _check_factor(type(self).__name__, self.factor_name, factor)
        setattr(self, self.factor_name, factor)
        self.input_shape = None
        self.output_shape = None

    @property
    def factor(self):
        return getattr(self, self.factor_name)

    def _index(self):
        """The slice that picks every k-th sample along the sampled axes."""
        step = slice(None, None, self.factor)
        return (Ellipsis,) + (step,) * (self.ndim - 2)

    def _check_input(self, A):
        return _check_array(type(self).__name__, "A", A, self.ndim,
                            self.letters)

    def _check_grad(self, dLdZ):
        return _check_grad(type(self).__name__, "dLdZ", dLdZ,
                           self.output_shape)

    def __repr__(self):
        return "{}({}={})".format(type(self).__name__, self.factor_name,
                                  self.factor)


class _Upsample(_Resample):
    factor_name = "upsampling_factor"

    def forward(self, A):
        A = self._check_input(A)
        k = self.factor
        shape = A.shape[:2] + tuple(k * (n - 1) + 1 for n in A.shape[2:])

        Z = np.zeros(shape)
        Z[self._index()] = A

        self.input_shape, self.output_shape = A.shape, Z.shape
        return Z

    def backward(self, dLdZ):
        dLdZ = self._check_grad(dLdZ)
        return dLdZ[self._index()].astype(np.float64)


class _Downsample(_Resample):
    factor_name = "downsampling_factor"

    def forward(self, A):
        A = self._check_input(A)

        Z = A[self._index()].astype(np.float64)

        self.input_shape, self.output_shape = A.shape, Z.shape
        return Z

    def backward(self, dLdZ):
        dLdZ = self._check_grad(dLdZ)

        dLdA = np.zeros(self.input_shape)
        dLdA[self._index()] = dLdZ
        return dLdA


class Upsample1d(_Upsample):
    """Insert ``upsampling_factor - 1`` zeros between neighbouring samples.

    Args:
        upsampling_factor (int): k >= 1.

    Shape:
        (N, C, W_in) -> (N, C, W_out) with W_out = k * (W_in - 1) + 1.
        ``Z[..., k*i] = A[..., i]``; every other output is zero.

    Attributes:
        upsampling_factor (int): k, as given.
        input_shape, output_shape: the shapes seen by the last forward.

    >>> Upsample1d(2).forward(np.array([[[1., 2., 3.]]]))
    array([[[1., 0., 2., 0., 3.]]])
    """

    ndim, letters = 3, "(N, C, W_in)"

    def __init__(self, upsampling_factor):
        super(Upsample1d, self).__init__(upsampling_factor)


class Downsample1d(_Downsample):
    """Keep the samples at indices 0, k, 2k, ... of the last axis.

    Args:
        downsampling_factor (int): k >= 1.

    Shape:
        (N, C, W_in) -> (N, C, W_out) with W_out = (W_in - 1) // k + 1.
        ``backward`` returns an array of the input's size (odd sizes
        included) holding the gradient at the kept indices, zero elsewhere.

    Attributes:
        downsampling_factor (int): k, as given.
        input_shape, output_shape: the shapes seen by the last forward.

    >>> Downsample1d(2).forward(np.array([[[1., 2., 3., 4., 5.]]]))
    array([[[1., 3., 5.]]])
    """

    ndim, letters = 3, "(N, C, W_in)"

    def __init__(self, downsampling_factor):
        super(Downsample1d, self).__init__(downsampling_factor)


class Upsample2d(_Upsample):
    """Insert ``upsampling_factor - 1`` zeros between neighbouring pixels.

    Args:
        upsampling_factor (int): k >= 1, the same along height and width.

    Shape:
        (N, C, H_in, W_in) -> (N, C, H_out, W_out) with
        H_out = k * (H_in - 1) + 1 and W_out = k * (W_in - 1) + 1.
        ``Z[..., k*i, k*j] = A[..., i, j]``; every other output is zero.

    Attributes:
        upsampling_factor (int): k, as given.
        input_shape, output_shape: the shapes seen by the last forward.
    """

    ndim, letters = 4, "(N, C, H_in, W_in)"

    def __init__(self, upsampling_factor):
        super(Upsample2d, self).__init__(upsampling_factor)


class Downsample2d(_Downsample):
    """Keep the pixels whose row and column indices are multiples of k.

    Args:
        downsampling_factor (int): k >= 1, the same along height and width.

    Shape:
        (N, C, H_in, W_in) -> (N, C, H_out, W_out) with
        H_out = (H_in - 1) // k + 1 and W_out = (W_in - 1) // k + 1.
        ``backward`` returns an array of the input's size (odd sizes
        included) holding the gradient at the kept pixels, zero elsewhere.

    Attributes:
        downsampling_factor (int): k, as given.
        input_shape, output_shape: the shapes seen by the last forward.
    """

    ndim, letters = 4, "(N, C, H_in, W_in)"

    def __init__(self, downsampling_factor):
        super(Downsample2d, self).__init__(downsampling_factor)
