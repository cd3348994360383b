"""Batch normalisation over the (N, H, W) axes of (N, C, H, W) feature maps."""
import numbers

import numpy as np


class BatchNorm2d(object):
    """Normalise each channel by its batch statistics, then scale and shift.

    Training (``eval=False``), with m = N * H * W and eps = 1e-8::

        M  = mean of Z over (N, H, W)                       (1, C, 1, 1)
        V  = mean of (Z - M)**2 over (N, H, W)    the biased variance
        NZ = (Z - M) / sqrt(V + eps)
        BZ = BW * NZ + Bb
        running_M = alpha * running_M + (1 - alpha) * M
        running_V = alpha * running_V + (1 - alpha) * V

    ``alpha`` weighs the OLD running value; PyTorch's ``momentum`` weighs the
    new batch (momentum = 1 - alpha). The biased V (divide by m) is used
    both to normalise and in the running average, where PyTorch would use
    the unbiased one.

    Evaluation (``eval=True``) normalises with running_M and running_V
    instead of the batch statistics and changes no state: it updates no
    running statistic and stores nothing for ``backward``.

    Args:
        num_features (int): C, the number of channels.
        alpha (float): weight of the old value in the running averages, in
            [0, 1]. Default 0.9.

    Shape:
        (N, C, H, W) -> (N, C, H, W).

    Attributes:
        BW, Bb (1, C, 1, 1): scale (ones) and shift (zeros).
        dLdBW, dLdBb (1, C, 1, 1): their gradients, set by each backward.
        running_M, running_V (1, C, 1, 1): zeros and ones at first.
        NZ (N, C, H, W): the normalised input of the last training forward;
            M, V (1, C, 1, 1): its batch statistics. (``backward`` needs
            nothing else, so the input itself is not kept.)

    >>> bn = BatchNorm2d(1)
    >>> bn.forward(np.array([1., 3.]).reshape(1, 1, 1, 2)).ravel()
    array([-1.,  1.])
    >>> bn.running_M.ravel(), bn.running_V.ravel()
    (array([0.2]), array([1.]))
    """

    eps = 1e-8

    def __init__(self, num_features, alpha=0.9):
        if (isinstance(num_features, bool)
                or not isinstance(num_features, numbers.Integral)):
            raise TypeError("BatchNorm2d: expected num_features to be a "
                            "positive integer, got {!r}".format(num_features))
        if num_features <= 0:
            raise ValueError("BatchNorm2d: expected num_features to be a "
                             "positive integer, got {}".format(num_features))
        if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real):
            raise TypeError("BatchNorm2d: expected alpha to be a number in "
                            "[0, 1], got {!r}".format(alpha))
        if not 0 <= alpha <= 1:
            raise ValueError("BatchNorm2d: expected alpha in [0, 1], got {}"
                             .format(alpha))
        self.num_features = int(num_features)
        self.alpha = float(alpha)

        shape = (1, self.num_features, 1, 1)
        self.BW = np.ones(shape)
        self.Bb = np.zeros(shape)
        self.dLdBW = np.zeros(shape)
        self.dLdBb = np.zeros(shape)
        self.running_M = np.zeros(shape)
        self.running_V = np.ones(shape)

        self.NZ = self.M = self.V = None

    def __call__(self, Z, eval=False):
        return self.forward(Z, eval)

    def forward(self, Z, eval=False):
        Z = self._check(Z, "Z")
        if Z.ndim != 4:
            raise ValueError("BatchNorm2d: expected 4D input (N, C, H, W), "
                             "got {}D input with shape {}".format(Z.ndim,
                                                                  Z.shape))
        if Z.shape[1] != self.num_features:
            raise ValueError("BatchNorm2d: expected {} channels, got {} "
                             "(input shape {})".format(self.num_features,
                                                       Z.shape[1], Z.shape))
        if Z.size == 0:
            raise ValueError("BatchNorm2d: expected a non-empty input (the "
                             "statistics need N*H*W >= 1), got shape {}"
                             .format(Z.shape))
        if eval:
            NZ = (Z - self.running_M) / np.sqrt(self.running_V + self.eps)
            return self._scale_shift(NZ)

        # statistics, over (N, H, W) for each channel
        N, C, H, W = Z.shape
        flat = Z.reshape(N, C, H * W)
        M = flat.mean(axis=(0, 2)).reshape(1, C, 1)
        NZ = flat - M
        V = np.einsum("nci,nci->c", NZ, NZ).reshape(1, C, 1) / (N * H * W)

        # normalise
        NZ *= 1.0 / np.sqrt(V + self.eps)
        NZ = NZ.reshape(Z.shape)

        # remember, and update the running averages
        M, V = M.reshape(1, C, 1, 1), V.reshape(1, C, 1, 1)
        self.NZ, self.M, self.V = NZ, M, V
        self.running_M = self.alpha * self.running_M + (1 - self.alpha) * M
        self.running_V = self.alpha * self.running_V + (1 - self.alpha) * V

        # scale and shift
        return self._scale_shift(NZ)

    def backward(self, dLdBZ):
        if self.NZ is None:
            raise ValueError("BatchNorm2d: backward called before forward "
                             "(a training one: eval=True stores nothing)")
        dLdBZ = self._check(dLdBZ, "dLdBZ")
        if dLdBZ.shape != self.NZ.shape:
            raise ValueError("BatchNorm2d: expected dLdBZ of shape {} (the "
                             "forward output's), got {}"
                             .format(self.NZ.shape, dLdBZ.shape))
        N, C, H, W = dLdBZ.shape
        m = N * H * W
        dLdBZ = dLdBZ.reshape(N, C, H * W)
        NZ = self.NZ.reshape(N, C, H * W)

        # undo scale and shift
        dLdBb = dLdBZ.sum(axis=(0, 2))
        dLdBW = np.einsum("nci,nci->c", dLdBZ, NZ)

        # undo normalise and statistics: with dLdNZ = BW * dLdBZ,
        # dLdZ = (dLdNZ - mean(dLdNZ) - NZ * mean(dLdNZ * NZ)) / sqrt(V + eps)
        # (four in-place passes, no temporary arrays)
        dLdZ = NZ * (-dLdBW / m)[:, None]
        dLdZ += dLdBZ
        dLdZ -= (dLdBb / m)[:, None]
        dLdZ *= (self.BW.reshape(C) / np.sqrt(self.V.reshape(C) + self.eps)
                 )[:, None]

        self.dLdBb = dLdBb.reshape(1, C, 1, 1)
        self.dLdBW = dLdBW.reshape(1, C, 1, 1)
        return dLdZ.reshape(N, C, H, W)

    def _scale_shift(self, NZ):
        BZ = NZ * self.BW
        BZ += self.Bb
        return BZ

    @staticmethod
    def _check(x, name):
        x = np.asarray(x)
        if x.dtype.kind not in "iuf":
            raise TypeError("BatchNorm2d: expected {} to be a real-valued "
                            "numeric array, got dtype {}".format(name,
                                                                 x.dtype))
        return x.astype(np.float64, copy=False)

    def __repr__(self):
        text = "BatchNorm2d({}".format(self.num_features)
        if self.alpha != 0.9:
            text += ", alpha={}".format(self.alpha)
        return text + ")"
