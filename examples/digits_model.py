"""A small residual network for 8x8 digits, built from MyTorch's own layers.

    input (N, 1, 8, 8)
    ConvBlock(1, C, 3, 1, 1) stem, ReLU               -> (N, C, 8, 8)
    ResBlock(C, C, 1, 1, 0)      identity shortcut    -> (N, C, 8, 8)
    ResBlock(C, 2C, 3, 2, 1)     projecting shortcut  -> (N, 2C, 4, 4)
    Dropout2d(p)                                      -> (N, 2C, 4, 4)
    global average pooling                            -> (N, 2C)
    Linear(2C, 10)                                    -> (N, 10) logits

The stem, both ResBlocks and Dropout2d come from mytorch/ and models/ (the
course's classes); pooling and the classifier from digits_layers.py.
"""
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for _sub in ("mytorch", "models"):
    _path = os.path.join(ROOT, _sub)
    if _path not in sys.path:
        sys.path.insert(0, _path)

from activation import ReLU  # noqa: E402  (mytorch/activation.py)
from dropout2d import Dropout2d  # noqa: E402  (mytorch/dropout2d.py)
from resnet import ConvBlock, ResBlock  # noqa: E402  (models/resnet.py)

from digits_layers import GlobalAvgPool2d, Linear  # noqa: E402

NUM_CLASSES = 10


class DigitsResNet:
    """The network drawn in the module docstring.

    Args:
        channels: C, the width after the stem (the last block has 2C).
        dropout: Dropout2d's p, the probability of dropping a channel.
        seed: seeds the initial weights. The library draws its own defaults
            from np.random when the layers are built; they are replaced here
            by He-normal conv weights (std sqrt(2 / (C_in*K*K))), zero conv
            biases and PyTorch-style Linear weights, all from a Generator
            seeded with `seed`, so a run does not depend on the global state.

    Shape:
        (N, 1, 8, 8) -> (N, 10)
    """

    def __init__(self, channels=16, dropout=0.1, seed=0):
        self.channels = channels
        C = channels
        rng = np.random.default_rng(seed)

        self.stem = ConvBlock(1, C, 3, 1, 1)
        self.stem_act = ReLU()
        self.blocks = [ResBlock(C, C, 1, 1, 0),
                       ResBlock(C, 2 * C, 3, 2, 1)]
        self.dropout = Dropout2d(dropout)
        self.pool = GlobalAvgPool2d()
        self.fc = Linear(2 * C, NUM_CLASSES, rng)

        for block in self.conv_blocks():
            conv = block.layers[0].conv2d_stride1
            c_out, c_in, k, _ = conv.W.shape
            std = np.sqrt(2.0 / (c_in * k * k))
            conv.W = rng.normal(0.0, std, conv.W.shape)
            conv.b = np.zeros(c_out)

    def forward(self, A, eval=False):
        """Logits for a batch; eval=True uses BatchNorm's running statistics
        and turns dropout off, without changing any state."""
        Z = self.stem_act.forward(self.stem.forward(A, eval=eval))
        for block in self.blocks:
            Z = block.forward(Z, eval=eval)
        Z = self.dropout.forward(Z, eval=eval)
        return self.fc.forward(self.pool.forward(Z))

    def backward(self, dLdZ):
        """Backpropagate dLd(logits); leaves dLdW, dLdb, dLdBW, dLdBb set."""
        grad = self.pool.backward(self.fc.backward(dLdZ))
        grad = self.dropout.backward(grad)
        for block in reversed(self.blocks):
            grad = block.backward(grad)
        return self.stem.backward(self.stem_act.backward(grad))

    def conv_blocks(self):
        """Every ConvBlock in a fixed order: stem, then per ResBlock its two
        main-path blocks and its projecting shortcut (if it has one)."""
        found = [self.stem]
        for block in self.blocks:
            found += [block.convolution_layers[0], block.convolution_layers[2]]
            if isinstance(block.residual_connection, ConvBlock):
                found.append(block.residual_connection)
        return found

    def parameters(self):
        """(owner, name, grad_name) triples for the optimiser."""
        params = []
        for block in self.conv_blocks():
            conv, bn = block.layers[0].conv2d_stride1, block.layers[1]
            params += [(conv, "W", "dLdW"), (conv, "b", "dLdb"),
                       (bn, "BW", "dLdBW"), (bn, "Bb", "dLdBb")]
        params += [(self.fc, "W", "dLdW"), (self.fc, "b", "dLdb")]
        return params
