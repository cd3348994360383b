"""Deliberately broken copies of the library, one realistic bug each.

A mutant is a named edit of one course file: an exact ``old`` snippet of the
real source and the ``new`` text that replaces it. ``make_root`` copies the
six course files into a folder and applies the edit, refusing (AssertionError)
when ``old`` does not occur exactly once, so a change of the library makes the
mutant fail loudly instead of silently testing correct code. Each ``new``
marks its bug with a ``# BUG:`` comment, for whoever reads the broken copy.

tests/test_grader_mutants.py runs the grader on every mutant and states what
it must report. To look at one by hand, from the repository root::

    python tests/mutants unbiased_running_V /tmp/broken
    python autograder/hw2_bonus_autograder/runner.py --root /tmp/broken

Only NumPy and the standard library are used here (Python 3.8 compatible).
"""
import collections
import os
import shutil

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
COURSE_FILES = ("mytorch/batchnorm2d.py", "mytorch/dropout2d.py",
                "mytorch/Conv2d.py", "mytorch/activation.py",
                "mytorch/resampling.py", "models/resnet.py")

Mutant = collections.namedtuple("Mutant", "name bug path old new")

_RESBLOCK_LAYERS = """\
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
"""

_RESBLOCK_LAYERS_SHORTCUT_SECOND = """\
        # BUG: the shortcut is built before the second ConvBlock, so the
        # weights are drawn in the order first, shortcut, second
        first = ConvBlock(in_channels, out_channels, filter_size, stride,
                          padding)
        self.identity_shortcut = (stride == 1 and in_channels == out_channels
                                  and filter_size == 1 and padding == 0)
        if self.identity_shortcut:
            self.residual_connection = Identity()
        else:
            self.residual_connection = ConvBlock(in_channels, out_channels,
                                                 filter_size, stride, padding)
        self.convolution_layers = [
            first,
            ReLU(),
            ConvBlock(out_channels, out_channels, 1, 1, 0),
        ]
        self.final_activation = ReLU()
"""

_DOWNSAMPLE2D_INIT = """\
    def __init__(self, downsampling_factor):
        super(Downsample2d, self).__init__(downsampling_factor)
"""

_DOWNSAMPLE2D_BACKWARD_K_TIMES_OUT = _DOWNSAMPLE2D_INIT + """
    def backward(self, dLdZ):
        dLdZ = self._check_grad(dLdZ)
        k = self.downsampling_factor
        N, C, H_out, W_out = dLdZ.shape
        # BUG: the input size rebuilt as k * output size, too big whenever
        # k does not divide it (7 -> 4 -> 8 with k = 2)
        dLdA = np.zeros((N, C, k * H_out, k * W_out))
        dLdA[:, :, ::k, ::k] = dLdZ
        return dLdA
"""

MUTANTS = [
    Mutant(
        "unbiased_running_V",
        "BatchNorm2d averages the unbiased batch variance (ddof=1, as "
        "PyTorch does) into running_V",
        "mytorch/batchnorm2d.py",
        "        self.running_V = self.alpha * self.running_V"
        " + (1 - self.alpha) * V\n",
        "        V_unbiased = Z.var(axis=(0, 2, 3), ddof=1, keepdims=True)"
        "  # BUG\n"
        "        self.running_V = (self.alpha * self.running_V\n"
        "                          + (1 - self.alpha) * V_unbiased)\n"),
    Mutant(
        "dropout_backward_unscaled",
        "Dropout2d.backward multiplies by the mask but forgets 1/(1-p)",
        "mytorch/dropout2d.py",
        "        return delta * (self.mask / (1 - self.p))\n",
        "        return delta * self.mask  # BUG: no 1 / (1 - p)\n"),
    Mutant(
        "shortcut_gradient_dropped",
        "ResBlock.backward runs the shortcut's backward but never adds its "
        "gradient to the input gradient",
        "models/resnet.py",
        "        dLdA += self.residual_connection.backward(dLdZ)\n",
        "        self.residual_connection.backward(dLdZ)  # BUG: not added\n"),
    Mutant(
        "downsample2d_backward_odd",
        "Downsample2d.backward rebuilds the input size as k * output size, "
        "one too big on odd sizes with k = 2",
        "mytorch/resampling.py",
        _DOWNSAMPLE2D_INIT,
        _DOWNSAMPLE2D_BACKWARD_K_TIMES_OUT),
    Mutant(
        "weights_drawn_out_of_order",
        "ResBlock builds its shortcut before the second ConvBlock, so "
        "np.random draws the weights in another order",
        "models/resnet.py",
        _RESBLOCK_LAYERS,
        _RESBLOCK_LAYERS_SHORTCUT_SECOND),
    Mutant(
        "dropout_scales_input_in_place",
        "Dropout2d.forward scales the caller's array in place (x *= ...) "
        "and returns it",
        "mytorch/dropout2d.py",
        "        return x * (mask / (1 - self.p))\n",
        "        x *= mask / (1 - self.p)  # BUG: x is the caller's array\n"
        "        return x\n"),
    Mutant(
        "identity_shortcut_ignored",
        "ResBlock.forward adds the shortcut only when it is a ConvBlock, so "
        "an identity shortcut never adds A",
        "models/resnet.py",
        "        Z += self.residual_connection.forward(A)\n",
        "        if isinstance(self.residual_connection, ConvBlock):  # BUG\n"
        "            Z += self.residual_connection.forward(A)\n"),
    Mutant(
        "stub_dropout_backward",
        "Dropout2d.backward still holds the handout's `raise NotImplemented` "
        "stub (a TypeError when called)",
        "mytorch/dropout2d.py",
        "    def backward(self, delta):\n",
        "    def backward(self, delta):\n"
        "        raise NotImplemented  # BUG: the handout's stub, left in\n"),
    Mutant(
        "stub_batchnorm_backward",
        "BatchNorm2d.backward still holds the handout's `raise "
        "NotImplemented` stub; ResBlock's backward calls it too",
        "mytorch/batchnorm2d.py",
        "    def backward(self, dLdBZ):\n",
        "    def backward(self, dLdBZ):\n"
        "        raise NotImplemented  # BUG: the handout's stub, left in\n"),
    Mutant(
        "conv_dLdW_accumulated",
        "Conv2d_stride1's backward adds to dLdW instead of setting it, so a "
        "second backward doubles it (Conv2d, which uses it, too)",
        "mytorch/Conv2d.py",
        "        self.dLdW = dLdW.reshape(self.W.shape)\n",
        "        # BUG: accumulates across calls instead of setting\n"
        "        self.dLdW = self.dLdW + dLdW.reshape(self.W.shape)\n"),
    Mutant(
        "scipy_import_guarded",
        "activation.py tries to import scipy.special.erf at the top, falling "
        "back quietly when scipy is missing",
        "mytorch/activation.py",
        "import math\n\nimport numpy as np\n",
        "import math\n\nimport numpy as np\n\n"
        "try:  # BUG: Autolab allows nothing but NumPy\n"
        "    from scipy.special import erf as scipy_erf\n"
        "except ImportError:\n"
        "    scipy_erf = None\n"),
    Mutant(
        "scipy_import_in_gelu",
        "GELU imports scipy.special.erf inside its forward, which the graded "
        "sections never call",
        "mytorch/activation.py",
        "        self.Phi = 0.5 * (1.0 + _erf(Z / math.sqrt(2.0)))\n",
        "        from scipy.special import erf  # BUG: not NumPy\n"
        "        self.Phi = 0.5 * (1.0 + erf(Z / math.sqrt(2.0)))\n"),
]

BY_NAME = collections.OrderedDict((m.name, m) for m in MUTANTS)


def copy_course_files(dest, root=ROOT):
    """Copy the six course files of root into dest (made if missing)."""
    for rel in COURSE_FILES:
        target = os.path.join(str(dest), rel)
        folder = os.path.dirname(target)
        if not os.path.isdir(folder):
            os.makedirs(folder)
        shutil.copyfile(os.path.join(root, rel), target)
    return str(dest)


def mutate(source, mutant):
    """source with the mutant's edit applied; old must occur exactly once."""
    count = source.count(mutant.old)
    assert count == 1, (
        "mutant %r: its `old` snippet occurs %d times in %s (expected "
        "once); update tests/mutants/ to the library's current source"
        % (mutant.name, count, mutant.path))
    assert mutant.new != mutant.old, mutant.name
    return source.replace(mutant.old, mutant.new)


def make_root(name, dest, root=ROOT):
    """A copy of the course files in dest with mutant `name` applied.

    Returns (dest, the 1-based line numbers of the mutated file where the
    edit's new text starts and ends).
    """
    mutant = BY_NAME[name]
    copy_course_files(dest, root)
    path = os.path.join(str(dest), mutant.path)
    with open(path) as handle:
        source = handle.read()
    mutated = mutate(source, mutant)
    with open(path, "w") as handle:
        handle.write(mutated)
    first = source.index(mutant.old)
    start = mutated[:first].count("\n") + 1
    end = start + mutant.new.rstrip("\n").count("\n")
    return str(dest), (start, end)
