"""The same digits network in PyTorch, for a step-by-step comparison.

TorchDigitsResNet.from_mytorch(model) copies every weight of a DigitsResNet
(digits_model.py) into an equivalent torch module, so both start from the
same point. Two things differ from torch's stock layers on purpose, to follow
the course's BatchNorm2d:
  - eps is 1e-8;
  - the running statistics follow the course's rule
        running = alpha * running + (1 - alpha) * batch
    (alpha weighs the OLD value; torch's momentum weighs the new batch) and
    use the BIASED batch variance (torch's running_var uses the unbiased
    one). CourseBatchNorm2d updates them explicitly for that reason.
Dropout is off unless a mask is passed in: the comparison either runs
without dropout or replays MyTorch's own mask.
"""
import torch
import torch.nn.functional as F

F64 = torch.float64  # every tensor here, whatever torch's default dtype is


class CourseBatchNorm2d(torch.nn.Module):
    """BatchNorm2d with the course's eps and running-statistics rule.

    Training normalises with the batch mean and biased variance over
    (N, H, W); eval with running_mean / running_var and changes nothing.
    """

    def __init__(self, num_features, alpha=0.9, eps=1e-8):
        super().__init__()
        self.alpha = alpha
        self.eps = eps
        self.weight = torch.nn.Parameter(torch.ones(num_features, dtype=F64))
        self.bias = torch.nn.Parameter(torch.zeros(num_features, dtype=F64))
        self.register_buffer("running_mean",
                             torch.zeros(num_features, dtype=F64))
        self.register_buffer("running_var",
                             torch.ones(num_features, dtype=F64))

    def forward(self, x):
        if not self.training:
            return F.batch_norm(x, self.running_mean, self.running_var,
                                self.weight, self.bias, training=False,
                                eps=self.eps)

        with torch.no_grad():
            var, mean = torch.var_mean(x, dim=(0, 2, 3), correction=0)
            self.running_mean.mul_(self.alpha).add_((1 - self.alpha) * mean)
            self.running_var.mul_(self.alpha).add_((1 - self.alpha) * var)

        # training=True without running buffers: normalise with the batch
        # statistics (biased variance) and leave the buffers to the lines
        # above.
        return F.batch_norm(x, None, None, self.weight, self.bias,
                            training=True, eps=self.eps)


class TorchConvBlock(torch.nn.Module):
    """conv2d(weight, bias, stride, padding) followed by CourseBatchNorm2d."""

    def __init__(self, in_channels, out_channels, kernel_size, stride,
                 padding):
        super().__init__()
        shape = (out_channels, in_channels, kernel_size, kernel_size)
        self.weight = torch.nn.Parameter(torch.zeros(shape, dtype=F64))
        self.bias = torch.nn.Parameter(torch.zeros(out_channels, dtype=F64))
        self.stride = stride
        self.padding = padding
        self.bn = CourseBatchNorm2d(out_channels)

    def forward(self, x):
        z = F.conv2d(x, self.weight, self.bias, self.stride, self.padding)
        return self.bn(z)


class TorchResBlock(torch.nn.Module):
    """relu(block2(relu(block1(x))) + shortcut(x)); the shortcut is the
    identity when shortcut is None."""

    def __init__(self, block1, block2, shortcut):
        super().__init__()
        self.block1 = block1
        self.block2 = block2
        self.shortcut = shortcut

    def forward(self, x):
        main = self.block2(F.relu(self.block1(x)))
        side = x if self.shortcut is None else self.shortcut(x)
        return F.relu(main + side)


class TorchDigitsResNet(torch.nn.Module):
    """Stem, ResBlocks, (replayed) dropout, global average pooling, linear."""

    def __init__(self, stem, blocks, fc, dropout_p):
        super().__init__()
        self.stem = stem
        self.blocks = torch.nn.ModuleList(blocks)
        self.fc = fc
        self.dropout_p = dropout_p

    def forward(self, x, dropout_mask=None):
        """Logits. dropout_mask, (N, C, 1, 1) of 0/1 as drawn by MyTorch's
        Dropout2d, is applied as x * mask / (1 - p); None means no dropout
        (always so in eval mode)."""
        z = F.relu(self.stem(x))
        for block in self.blocks:
            z = block(z)
        if dropout_mask is not None and self.training:
            z = z * dropout_mask / (1.0 - self.dropout_p)
        return self.fc(z.mean(dim=(2, 3)))

    @classmethod
    def from_mytorch(cls, model):
        """An equivalent module holding copies of `model`'s current weights,
        BatchNorm affine parameters and running statistics."""

        def twin(block):
            conv, bn = block.layers[0], block.layers[1]
            W = conv.conv2d_stride1.W
            c_out, c_in, k, _ = W.shape
            out = TorchConvBlock(c_in, c_out, k, conv.stride, conv.pad)
            with torch.no_grad():
                out.weight.copy_(torch.as_tensor(W))
                out.bias.copy_(torch.as_tensor(conv.conv2d_stride1.b))
                out.bn.alpha = bn.alpha
                out.bn.eps = 1e-8
                for name, value in (("weight", bn.BW), ("bias", bn.Bb),
                                    ("running_mean", bn.running_M),
                                    ("running_var", bn.running_V)):
                    getattr(out.bn, name).copy_(
                        torch.as_tensor(value).reshape(-1))
            return out

        blocks = []
        for res in model.blocks:
            main1, main2 = res.convolution_layers[0], res.convolution_layers[2]
            has_proj = hasattr(res.residual_connection, "layers")
            shortcut = twin(res.residual_connection) if has_proj else None
            blocks.append(TorchResBlock(twin(main1), twin(main2), shortcut))

        fc = torch.nn.Linear(model.fc.W.shape[1], model.fc.W.shape[0],
                             dtype=F64)
        with torch.no_grad():
            fc.weight.copy_(torch.as_tensor(model.fc.W))
            fc.bias.copy_(torch.as_tensor(model.fc.b))
        return cls(twin(model.stem), blocks, fc, model.dropout.p)
