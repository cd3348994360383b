"""Element-wise activations (and Softmax), as carried over from homework 1.

Every class has ``forward(Z) -> A`` and ``backward(dLdA) -> dLdZ``;
``backward`` uses only what ``forward`` stored. They work on arrays of any
shape (Softmax normalises along axis 1, the class axis). Inputs are read as
float64 and never modified.
"""
import math

import numpy as np


class _Activation(object):
    """What every activation shares: input checks and the stored output.

    Subclasses implement ``_forward(Z) -> A`` and ``_derivative() -> dAdZ``
    (or override ``backward`` when the Jacobian is not diagonal).
    """

    min_ndim = 0

    def __init__(self):
        self.A = None

    def forward(self, Z):
        Z = self._check(Z, "Z")
        if Z.ndim < self.min_ndim:
            raise ValueError("{}: expected an input with at least {} "
                             "dimensions, got shape {}"
                             .format(type(self).__name__, self.min_ndim,
                                     Z.shape))
        if Z.size == 0:
            raise ValueError("{}: expected a non-empty input, got shape {}"
                             .format(type(self).__name__, Z.shape))
        self.A = self._forward(Z)
        return self.A

    def backward(self, dLdA):
        dLdA = self._check_grad(dLdA)
        return dLdA * self._derivative()

    def _check(self, x, name):
        x = np.asarray(x)
        if x.dtype.kind not in "iuf":
            raise TypeError("{}: expected {} to be a real-valued numeric "
                            "array, got dtype {}"
                            .format(type(self).__name__, name, x.dtype))
        return x.astype(np.float64, copy=False)

    def _check_grad(self, dLdA):
        if self.A is None:
            raise ValueError("{}: backward called before forward"
                             .format(type(self).__name__))
        dLdA = self._check(dLdA, "dLdA")
        if dLdA.shape != self.A.shape:
            raise ValueError("{}: expected dLdA of shape {} (the forward "
                             "output's), got {}".format(type(self).__name__,
                                                        self.A.shape,
                                                        dLdA.shape))
        return dLdA

    def __call__(self, Z):
        return self.forward(Z)

    def __repr__(self):
        return type(self).__name__ + "()"


class Identity(_Activation):
    """A = Z; dLdZ = dLdA. Returns a new array, never the caller's."""

    def _forward(self, Z):
        return Z.copy()

    def backward(self, dLdA):
        return self._check_grad(dLdA).copy()


class Sigmoid(_Activation):
    """A = 1 / (1 + exp(-Z)); dA/dZ = A - A**2.

    Computed from exp(-|Z|) so that large negative inputs do not overflow.
    """

    def _forward(self, Z):
        e = np.exp(-np.abs(Z))
        return np.where(Z >= 0, 1.0, e) / (1.0 + e)

    def _derivative(self):
        return self.A - self.A * self.A


class Tanh(_Activation):
    """A = tanh(Z); dA/dZ = 1 - A**2."""

    def _forward(self, Z):
        return np.tanh(Z)

    def _derivative(self):
        return 1.0 - self.A * self.A


class ReLU(_Activation):
    """A = max(Z, 0); dA/dZ = 1 where A > 0, else 0 (0 at Z = 0, as PyTorch).
    """

    def _forward(self, Z):
        return np.maximum(Z, 0.0)

    def backward(self, dLdA):
        dLdA = self._check_grad(dLdA)
        return dLdA * (self.A > 0)


_erf = np.vectorize(math.erf, otypes=[np.float64])


class GELU(_Activation):
    """A = Z * Phi(Z) = 0.5 * Z * (1 + erf(Z / sqrt(2))), the exact GELU.

    dA/dZ = Phi(Z) + Z * phi(Z), with phi the standard normal density.

    Note:
        NumPy has no erf and the course allows nothing but NumPy, so erf is
        the standard library's ``math.erf`` applied element by element:
        exact, but about a hundred times slower than a NumPy ufunc.
    """

    def _forward(self, Z):
        self.Z = Z
        self.Phi = 0.5 * (1.0 + _erf(Z / math.sqrt(2.0)))
        return Z * self.Phi

    def _derivative(self):
        phi = np.exp(-0.5 * self.Z * self.Z) / math.sqrt(2.0 * math.pi)
        return self.Phi + self.Z * phi


class Softmax(_Activation):
    """A = exp(Z) / sum(exp(Z)) along axis 1 (one distribution per row).

    The Jacobian is not diagonal: dLdZ = A * (dLdA - sum(dLdA * A, axis=1)).

    Shape:
        (N, C, ...) -> (N, C, ...); each A[n, :, ...] sums to 1.
    """

    min_ndim = 2

    def _forward(self, Z):
        E = np.exp(Z - Z.max(axis=1, keepdims=True))
        return E / E.sum(axis=1, keepdims=True)

    def backward(self, dLdA):
        dLdA = self._check_grad(dLdA)
        inner = (dLdA * self.A).sum(axis=1, keepdims=True)
        return self.A * (dLdA - inner)
