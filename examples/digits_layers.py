"""NumPy pieces the example needs and the bonus does not define.

Linear, GlobalAvgPool2d, SoftmaxCrossEntropy and SGD (with momentum) follow
the same conventions as the library: forward stores what backward needs as
plain attributes, gradients are named dLd<Symbol>, everything is float64.
They live here, beside the training script, so that mytorch/ and models/
keep exactly the handin layout.
"""
import numpy as np


class Linear:
    """Fully connected layer Z = A @ W.T + b.

    Args:
        in_features: size of each input row (C_in).
        out_features: size of each output row (C_out).
        rng: numpy Generator for the initial weights, drawn uniform in
            [-1/sqrt(C_in), 1/sqrt(C_in)] for both W and b (PyTorch's default
            range).

    Shape:
        (N, C_in) -> (N, C_out)

    Attributes:
        W: (C_out, C_in) weights; dLdW the same shape.
        b: (C_out,) bias; dLdb the same shape.
        A: (N, C_in) the last forward input, kept for backward.
    """

    def __init__(self, in_features, out_features, rng):
        bound = 1.0 / np.sqrt(in_features)
        self.W = rng.uniform(-bound, bound, (out_features, in_features))
        self.b = rng.uniform(-bound, bound, out_features)
        self.dLdW = np.zeros_like(self.W)
        self.dLdb = np.zeros_like(self.b)
        self.A = None

    def forward(self, A):
        self.A = np.asarray(A, dtype=np.float64)
        return self.A @ self.W.T + self.b

    def backward(self, dLdZ):
        self.dLdW = dLdZ.T @ self.A
        self.dLdb = dLdZ.sum(axis=0)
        return dLdZ @ self.W


class GlobalAvgPool2d:
    """Mean over the two spatial axes.

    Shape:
        (N, C, H, W) -> (N, C); backward spreads each gradient evenly over the
        H*W positions it averaged.
    """

    def __init__(self):
        self.shape = None

    def forward(self, A):
        self.shape = A.shape
        return A.mean(axis=(2, 3))

    def backward(self, dLdZ):
        H, W = self.shape[2], self.shape[3]
        share = dLdZ[:, :, None, None] / (H * W)
        return np.broadcast_to(share, self.shape).copy()


class SoftmaxCrossEntropy:
    """Mean cross-entropy of softmax(Z) against integer class labels.

    loss = mean_n( logsumexp(Z[n]) - Z[n, y[n]] ), computed with the maximum
    subtracted first so large logits do not overflow.

    Shape:
        Z (N, classes), y (N,) integers -> scalar; backward returns
        dLdZ = (softmax(Z) - onehot(y)) / N, shape (N, classes).
    """

    def __init__(self):
        self.probs = None
        self.y = None

    def forward(self, Z, y):
        shifted = Z - Z.max(axis=1, keepdims=True)
        log_norm = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        log_probs = shifted - log_norm
        self.probs = np.exp(log_probs)
        self.y = np.asarray(y)
        return -log_probs[np.arange(len(self.y)), self.y].mean()

    def backward(self):
        dLdZ = self.probs.copy()
        dLdZ[np.arange(len(self.y)), self.y] -= 1.0
        return dLdZ / len(self.y)


class SGD:
    """Stochastic gradient descent with (heavy-ball) momentum.

    For each parameter p with gradient g:
        g = g + weight_decay * p
        v = momentum * v + g          (v starts at 0, so v = g on step 1)
        p = p - lr * v
    which is the rule of torch.optim.SGD with dampening 0, nesterov off.

    Args:
        params: list of (owner, name, grad_name) triples; the parameter is
            getattr(owner, name) and is updated in place, its gradient is
            getattr(owner, grad_name) as left by the last backward.
        lr, momentum, weight_decay: floats as above.
    """

    def __init__(self, params, lr, momentum=0.9, weight_decay=0.0):
        self.params = list(params)
        self.lr = lr
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.velocity = [np.zeros_like(getattr(owner, name))
                         for owner, name, _ in self.params]

    def step(self):
        for (owner, name, grad_name), v in zip(self.params, self.velocity):
            p = getattr(owner, name)
            g = getattr(owner, grad_name)
            if self.weight_decay:
                g = g + self.weight_decay * p
            v *= self.momentum
            v += g
            p -= self.lr * v
