"""Channel dropout: zero whole feature maps of (N, C, H, W) input at random."""
import numbers

import numpy as np


class Dropout2d(object):
    """Drop each channel of each sample with probability p while training.

    Training (``eval=False``)::

        mask = np.random.binomial(1, 1 - p, size=(N, C, 1, 1))
        out  = x * mask / (1 - p)

    ``p`` is the probability of DROPPING a channel (as in PyTorch); the
    channels kept are scaled by 1 / (1 - p) so the expected output equals
    the input. Each training forward makes exactly that one draw from
    NumPy's global generator, so a seeded run is reproducible. ``p = 0``
    keeps everything and is the identity.

    Evaluation (``eval=True``) returns a float64 copy of ``x``, draws
    nothing and changes no state.

    Args:
        p (float): drop probability, in [0, 1). Default 0.5.

    Shape:
        (N, C, H, W) -> (N, C, H, W).

    Attributes:
        mask (N, C, 1, 1): the 0/1 draw of the last training forward,
            broadcast over H and W.

    >>> np.random.seed(3)
    >>> Dropout2d(p=0.5).forward(np.ones((1, 4, 1, 1))).ravel()
    array([2., 2., 0., 2.])
    """

    def __init__(self, p=0.5):
        if isinstance(p, bool) or not isinstance(p, numbers.Real):
            raise TypeError("Dropout2d: expected p to be a number in [0, 1), "
                            "got {!r}".format(p))
        if not 0 <= p < 1:
            raise ValueError("Dropout2d: expected p in [0, 1), got {}"
                             .format(p))
        self.p = float(p)
        self.mask = None
        self._output_shape = None

    def __call__(self, x, eval=False):
        return self.forward(x, eval)

    def forward(self, x, eval=False):
        checked = self._check(x, "x")
        if checked.ndim != 4:
            raise ValueError("Dropout2d: expected 4D input (N, C, H, W), got "
                             "{}D input with shape {}".format(checked.ndim,
                                                              checked.shape))
        if checked.size == 0:
            raise ValueError("Dropout2d: expected a non-empty input, got "
                             "shape {}".format(checked.shape))
        if eval:
            return np.array(x, dtype=np.float64)  # one copy, whatever x is
        x = checked

        N, C = x.shape[:2]
        mask = np.random.binomial(1, 1 - self.p, size=(N, C, 1, 1))

        self.mask, self._output_shape = mask, x.shape
        return x * (mask / (1 - self.p))

    def backward(self, delta):
        if self.mask is None:
            raise ValueError("Dropout2d: backward called before forward "
                             "(a training one: eval=True stores nothing)")
        delta = self._check(delta, "delta")
        if delta.shape != self._output_shape:
            raise ValueError("Dropout2d: expected delta of shape {} (the "
                             "forward output's), got {}"
                             .format(self._output_shape, delta.shape))
        return delta * (self.mask / (1 - self.p))

    @staticmethod
    def _check(x, name):
        x = np.asarray(x)
        if x.dtype.kind not in "iuf":
            raise TypeError("Dropout2d: expected {} to be a real-valued "
                            "numeric array, got dtype {}".format(name, x.dtype))
        return x.astype(np.float64, copy=False)

    def __repr__(self):
        return "Dropout2d(p={})".format(self.p)
