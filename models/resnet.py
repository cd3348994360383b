"""A ResNet residual block (and its convolution + batch-norm unit).

Works both in the course's import style, with ``models/`` on ``sys.path``
(this file then puts ``mytorch/`` there itself), and as ``models.resnet``
from the project's top level.
"""
import os
import sys

import numpy as np

if __package__:
    from mytorch.activation import Identity, ReLU
    from mytorch.batchnorm2d import BatchNorm2d
    from mytorch.Conv2d import Conv2d, _check_grad, _check_input, _check_int
else:
    _MYTORCH = os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "mytorch")
    if _MYTORCH not in sys.path:
        sys.path.append(_MYTORCH)
    from activation import Identity, ReLU
    from batchnorm2d import BatchNorm2d
    from Conv2d import Conv2d, _check_grad, _check_input, _check_int


def _check_arguments(block, names, values):
    """Check a block's integer arguments under the names its caller used."""
    checked = []
    for name, value in zip(names, values):
        smallest = 0 if name == "padding" else 1
        checked.append(_check_int(block, name, value, smallest))
    return checked


def _check_block_grad(block, dLdZ, output):
    """Check a block's incoming gradient against its last training output.

    ``output`` is the stored array whose shape the gradient must have (None
    before any training forward: an evaluation stores nothing).
    """
    if output is None:
        raise ValueError("{}: backward called before forward (a training "
                         "one: eval=True stores nothing)".format(block))
    return _check_grad(block, dLdZ, output.shape)


class ConvBlock(object):
    """A convolution followed by batch normalisation.

    Args:
        in_channels, out_channels, kernel_size, stride, padding: those of
            the ``Conv2d``; the ``BatchNorm2d`` has ``out_channels`` features
            and the default alpha.

    Shape:
        (N, C_in, H_in, W_in) -> (N, C_out, H_out, W_out) with
        H_out = (H_in + 2*padding - kernel_size) // stride + 1.

    Attributes:
        layers (list): ``[Conv2d, BatchNorm2d]``, applied in that order.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride,
                 padding):
        in_channels, out_channels, kernel_size, stride, padding = (
            _check_arguments("ConvBlock", ("in_channels", "out_channels",
                                           "kernel_size", "stride",
                                           "padding"),
                             (in_channels, out_channels, kernel_size, stride,
                              padding)))
        self.layers = [
            Conv2d(in_channels, out_channels, kernel_size, stride, padding),
            BatchNorm2d(out_channels),
        ]

    def forward(self, A, eval=False):
        conv, norm = self.layers
        core = conv.conv2d_stride1
        A = _check_input("ConvBlock", A, core.in_channels, core.kernel_size,
                         conv.pad)
        if eval:
            # evaluate without touching what the last training forward stored
            return norm.forward(conv._pad_and_convolve(A)[1], eval=True)

        return norm.forward(conv.forward(A))

    def backward(self, dLdZ):
        conv, norm = self.layers
        # the normalised maps have the output's shape
        dLdZ = _check_block_grad("ConvBlock", dLdZ, norm.NZ)
        return conv.backward(norm.backward(dLdZ))

    def __call__(self, A, eval=False):
        return self.forward(A, eval)

    def __repr__(self):
        return "ConvBlock({!r}, {!r})".format(*self.layers)


class ResBlock(object):
    """A residual block: ReLU(main(A) + shortcut(A)).

    main is ConvBlock(in_channels, out_channels, filter_size, stride,
    padding), ReLU, ConvBlock(out_channels, out_channels, 1, 1, 0). The
    shortcut is a ConvBlock like the first one when the main branch changes
    the shape or the values (stride != 1, in_channels != out_channels,
    filter_size != 1 or padding != 0); otherwise it is the identity, and
    the block is ReLU(main(A) + A).

    Weights are drawn from ``np.random`` in this order: the first ConvBlock,
    the second ConvBlock, then the shortcut's.

    Args:
        in_channels (int): C_in.
        out_channels (int): C_out.
        filter_size (int): K of the first convolution (and the shortcut's).
        stride (int): of the first convolution (and the shortcut's).
            Default 3.
        padding (int): of the first convolution (and the shortcut's).
            Default 1.

    Shape:
        (N, C_in, H_in, W_in) -> (N, C_out, H_out, W_out) with
        H_out = (H_in + 2*padding - filter_size) // stride + 1.

    Attributes:
        convolution_layers (list): ``[ConvBlock, ReLU, ConvBlock]``.
        final_activation (ReLU): applied after the sum.
        residual_connection (ConvBlock or Identity): the shortcut.

    Note:
        ``forward(A, eval=True)`` runs every BatchNorm2d with its running
        statistics (an extension; the course calls ``forward(A)``). Call
        ``backward`` after a training forward.

    >>> np.random.seed(0)
    >>> block = ResBlock(3, 8, 3, stride=2, padding=1)
    >>> block.forward(np.ones((2, 3, 9, 9))).shape
    (2, 8, 5, 5)
    """

    def __init__(self, in_channels, out_channels, filter_size, stride=3,
                 padding=1):
        in_channels, out_channels, filter_size, stride, padding = (
            _check_arguments("ResBlock", ("in_channels", "out_channels",
                                          "filter_size", "stride", "padding"),
                             (in_channels, out_channels, filter_size, stride,
                              padding)))
        self.convolution_layers = [
            ConvBlock(in_channels, out_channels, filter_size, stride,
                      padding),
            ReLU(),
            ConvBlock(out_channels, out_channels, 1, 1, 0),
        ]
        self.final_activation = ReLU()

        self.identity_shortcut = (stride == 1 and in_channels == out_channels
                                  and filter_size == 1 and padding == 0)
        if self.identity_shortcut:
            self.residual_connection = Identity()
        else:
            self.residual_connection = ConvBlock(in_channels, out_channels,
                                                 filter_size, stride, padding)

    def forward(self, A, eval=False):
        first, relu, second = self.convolution_layers
        core = first.layers[0].conv2d_stride1
        A = _check_input("ResBlock", A, core.in_channels, core.kernel_size,
                         first.layers[0].pad)
        if eval:
            return self._evaluate(A)

        # main branch
        Z = first.forward(A)
        Z = relu.forward(Z)
        Z = second.forward(Z)

        # shortcut, sum, activation
        Z += self.residual_connection.forward(A)
        return self.final_activation.forward(Z)

    def backward(self, dLdZ):
        first, relu, second = self.convolution_layers
        # the main branch's normalised maps have the output's shape
        dLdZ = _check_block_grad("ResBlock", dLdZ, second.layers[1].NZ)

        # undo activation
        dLdZ = self.final_activation.backward(dLdZ)

        # undo main branch
        dLdA = second.backward(dLdZ)
        dLdA = relu.backward(dLdA)
        dLdA = first.backward(dLdA)

        # undo shortcut; the input feeds both branches, so gradients add
        dLdA += self.residual_connection.backward(dLdZ)
        return dLdA

    def _evaluate(self, A):
        """forward with running statistics; stores nothing anywhere.

        The activations run through their pure ``_forward`` step, which
        computes without keeping anything for backward.
        """
        first, relu, second = self.convolution_layers
        Z = first.forward(A, eval=True)
        Z = second.forward(relu._forward(Z), eval=True)
        if self.identity_shortcut:
            Z += A
        else:
            Z += self.residual_connection.forward(A, eval=True)
        return self.final_activation._forward(Z)

    def __call__(self, A, eval=False):
        return self.forward(A, eval)

    def __repr__(self):
        lines = ["ResBlock("]
        for layer in self.convolution_layers:
            lines.append("  " + repr(layer) + ",")
        lines.append("  final_activation=" + repr(self.final_activation) + ",")
        lines.append("  residual_connection="
                     + repr(self.residual_connection) + ",")
        return "\n".join(lines) + "\n)"
