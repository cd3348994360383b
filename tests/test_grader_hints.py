"""Every grader hint fires on the bug it names, and only there.

Each case appends a realistic bug to a copy of the library (through the
course's fixed class, method and attribute names), runs the grader on it as a
separate process, and checks that the failing quantity carries the hint. The
correct library's run carries no hint at all (tests/test_grader.py), and each
stored mistake value differs from the correct one
(tests/test_expected_values.py), so no hint can fire on correct code.
"""
import pytest

from test_grader_support import patched_root, run_grader

DROPOUT_NO_SCALE_FORWARD = """
_orig = Dropout2d.forward
def _fw(self, x, eval=False):
    out = _orig(self, x, eval)
    return out if eval else out * (1 - self.p)
Dropout2d.forward = _fw
"""

DROPOUT_NO_SCALE_BACKWARD = """
_orig = Dropout2d.backward
def _bw(self, delta):
    return _orig(self, delta) * (1 - self.p)
Dropout2d.backward = _bw
"""

DROPOUT_ELEMENTWISE = """
def _fw(self, x, eval=False):
    if eval:
        return x
    self._m = np.random.binomial(1, 1 - self.p, size=x.shape)
    return x * self._m / (1 - self.p)
def _bw(self, delta):
    return delta * self._m / (1 - self.p)
Dropout2d.forward = _fw
Dropout2d.backward = _bw
"""

DROPOUT_P_AS_KEEP = """
def _fw(self, x, eval=False):
    if eval:
        return x
    self._m = np.random.binomial(1, self.p, size=x.shape[:2] + (1, 1))
    return x * self._m / self.p
def _bw(self, delta):
    return delta * self._m / self.p
Dropout2d.forward = _fw
Dropout2d.backward = _bw
"""

# BatchNorm2d mutants keep alpha themselves (the attribute name is not fixed)
BN_KEEP_ALPHA = """
_orig_init = BatchNorm2d.__init__
def _init(self, num_features, alpha=0.9):
    _orig_init(self, num_features, alpha)
    self._a = alpha
BatchNorm2d.__init__ = _init
_orig = BatchNorm2d.forward
_orig_bw = BatchNorm2d.backward
"""

BN_UNBIASED_RUNNING_V = BN_KEEP_ALPHA + """
def _fw(self, Z, eval=False):
    old = self.running_V
    out = _orig(self, Z, eval)
    if not eval:
        var = np.var(Z, axis=(0, 2, 3), keepdims=True, ddof=1)
        self.running_V = self._a * old + (1 - self._a) * var
    return out
BatchNorm2d.forward = _fw
"""

BN_ALPHA_ON_BATCH = BN_KEEP_ALPHA + """
def _fw(self, Z, eval=False):
    old_M, old_V = self.running_M, self.running_V
    out = _orig(self, Z, eval)
    if not eval:
        mean = Z.mean(axis=(0, 2, 3), keepdims=True)
        var = Z.var(axis=(0, 2, 3), keepdims=True)
        self.running_M = (1 - self._a) * old_M + self._a * mean
        self.running_V = (1 - self._a) * old_V + self._a * var
    return out
BatchNorm2d.forward = _fw
"""

BN_EVAL_WITH_BATCH_STATS = BN_KEEP_ALPHA + """
def _fw(self, Z, eval=False):
    if not eval:
        return _orig(self, Z)
    kept = self.running_M, self.running_V
    mean = Z.mean(axis=(0, 2, 3), keepdims=True)
    var = Z.var(axis=(0, 2, 3), keepdims=True)
    self.running_M, self.running_V = kept
    return self.BW * (Z - mean) / np.sqrt(var + 1e-8) + self.Bb
BatchNorm2d.forward = _fw
"""

BN_UNBIASED_NORMALISE = BN_KEEP_ALPHA + """
def _fw(self, Z, eval=False):
    out = _orig(self, Z, eval)
    if eval:
        return out
    mean = Z.mean(axis=(0, 2, 3), keepdims=True)
    var = np.var(Z, axis=(0, 2, 3), keepdims=True, ddof=1)
    return self.BW * (Z - mean) / np.sqrt(var + 1e-8) + self.Bb
BatchNorm2d.forward = _fw
"""

BN_STATS_AS_CONSTANTS = BN_KEEP_ALPHA + """
def _fw(self, Z, eval=False):
    if not eval:
        self._var = Z.var(axis=(0, 2, 3), keepdims=True)
    return _orig(self, Z, eval)
def _bw(self, dLdBZ):
    _orig_bw(self, dLdBZ)
    return dLdBZ * self.BW / np.sqrt(self._var + 1e-8)
BatchNorm2d.forward = _fw
BatchNorm2d.backward = _bw
"""

BN_SWAPPED_PARAM_GRADS = BN_KEEP_ALPHA + """
def _bw(self, dLdBZ):
    out = _orig_bw(self, dLdBZ)
    self.dLdBW, self.dLdBb = self.dLdBb, self.dLdBW
    return out
BatchNorm2d.backward = _bw
"""

BN_EVAL_UPDATES_RUNNING = BN_KEEP_ALPHA + """
def _fw(self, Z, eval=False):
    out = _orig(self, Z, eval)
    if eval:
        mean = Z.mean(axis=(0, 2, 3), keepdims=True)
        var = Z.var(axis=(0, 2, 3), keepdims=True)
        self.running_M = self._a * self.running_M + (1 - self._a) * mean
        self.running_V = self._a * self.running_V + (1 - self._a) * var
    return out
BatchNorm2d.forward = _fw
"""

RESNET_MAIN_GRADIENT_ONLY = """
_orig_bw = ResBlock.backward
def _bw(self, grad):
    shortcut = self.residual_connection
    shortcut.backward = lambda g: 0.0
    try:
        return _orig_bw(self, grad)
    finally:
        del shortcut.backward
ResBlock.backward = _bw
"""

RESNET_NO_SHORTCUT = """
_orig_init = ResBlock.__init__
def _init(self, *args, **kwargs):
    _orig_init(self, *args, **kwargs)
    self.residual_connection.forward = lambda A, eval=False: 0.0
    self.residual_connection.backward = lambda g: 0.0
ResBlock.__init__ = _init
"""

RESNET_NO_FINAL_RELU = """
_orig_init = ResBlock.__init__
def _init(self, *args, **kwargs):
    _orig_init(self, *args, **kwargs)
    self.final_activation.forward = lambda Z: Z
    self.final_activation.backward = lambda g: g
ResBlock.__init__ = _init
"""

RESNET_ORDER = """
_orig_init = ResBlock.__init__
def _init(self, *args, **kwargs):
    state = np.random.get_state()
    _orig_init(self, *args, **kwargs)
    np.random.set_state(state)
    convs = {{"conv1": self.convolution_layers[0].layers[0],
             "conv2": self.convolution_layers[2].layers[0],
             "shortcut": self.residual_connection.layers[0]}}
    for name in {order!r}:
        W = convs[name].conv2d_stride1.W
        convs[name].conv2d_stride1.W = np.random.normal(0, 1.0, W.shape)
ResBlock.__init__ = _init
"""

CASES = [
    # id, file, code, section, {quantity: words the hint must contain}
    ("dropout-forward-unscaled", "mytorch/dropout2d.py",
     DROPOUT_NO_SCALE_FORWARD, "Dropout2d",
     {"forward": "not scaled by 1/(1 - p)"}),
    ("dropout-backward-unscaled", "mytorch/dropout2d.py",
     DROPOUT_NO_SCALE_BACKWARD, "Dropout2d",
     {"backward": "not scaled by 1/(1 - p)"}),
    ("dropout-elementwise-mask", "mytorch/dropout2d.py",
     DROPOUT_ELEMENTWISE, "Dropout2d",
     {"forward": "mask drawn per element",
      "backward": "mask drawn per element"}),
    ("dropout-p-as-keep", "mytorch/dropout2d.py", DROPOUT_P_AS_KEEP,
     "Dropout2d", {"forward": "KEEPING a channel",
                   "backward": "KEEPING a channel"}),
    ("bn-unbiased-running-var", "mytorch/batchnorm2d.py",
     BN_UNBIASED_RUNNING_V, "BatchNorm2d",
     {"running_V": "UNBIASED batch variance",
      "forward (eval)": "averages the UNBIASED"}),
    ("bn-alpha-on-batch", "mytorch/batchnorm2d.py", BN_ALPHA_ON_BATCH,
     "BatchNorm2d", {"running_M": "alpha weighing the NEW batch",
                     "running_V": "alpha weighing the NEW batch",
                     "forward (eval)": "weigh the NEW batch"}),
    ("bn-eval-batch-stats", "mytorch/batchnorm2d.py",
     BN_EVAL_WITH_BATCH_STATS, "BatchNorm2d",
     {"forward (eval)": "batch's own mean and variance"}),
    ("bn-unbiased-normalise", "mytorch/batchnorm2d.py",
     BN_UNBIASED_NORMALISE, "BatchNorm2d",
     {"forward (train)": "normalising with the UNBIASED variance"}),
    ("bn-stats-as-constants", "mytorch/batchnorm2d.py",
     BN_STATS_AS_CONSTANTS, "BatchNorm2d",
     {"dLdZ": "treats the batch mean and variance as constants"}),
    ("bn-swapped-param-grads", "mytorch/batchnorm2d.py",
     BN_SWAPPED_PARAM_GRADS, "BatchNorm2d",
     {"dLdBW": "dLdBW holds what dLdBb should",
      "dLdBb": "dLdBb holds what dLdBW should"}),
    ("bn-eval-updates-running", "mytorch/batchnorm2d.py",
     BN_EVAL_UPDATES_RUNNING, "BatchNorm2d",
     {"running_M after eval": "eval=True updated the running statistics",
      "running_V after eval": "eval=True updated the running statistics"}),
    ("resnet-main-gradient-only", "models/resnet.py",
     RESNET_MAIN_GRADIENT_ONLY, "Resnet",
     {"backward": "the main branch's alone"}),
    ("resnet-no-shortcut", "models/resnet.py", RESNET_NO_SHORTCUT, "Resnet",
     {"forward": "relu(main branch) alone",
      "backward": "a block without its shortcut"}),
    ("resnet-no-final-relu", "models/resnet.py", RESNET_NO_FINAL_RELU,
     "Resnet", {"forward": "without the final ReLU",
                "backward": "without its final ReLU"}),
    ("resnet-shortcut-drawn-first", "models/resnet.py",
     RESNET_ORDER.format(order=("shortcut", "conv1", "conv2")), "Resnet",
     {"forward": "order shortcut, first ConvBlock, second ConvBlock",
      "backward": "order shortcut, first ConvBlock, second ConvBlock"}),
    ("resnet-shortcut-drawn-second", "models/resnet.py",
     RESNET_ORDER.format(order=("conv1", "shortcut", "conv2")), "Resnet",
     {"forward": "order first ConvBlock, shortcut, second ConvBlock",
      "backward": "order first ConvBlock, shortcut, second ConvBlock"}),
]


def _block(stdout, quantity_name):
    """The report lines of one failing check (its header to the next one)."""
    lines = stdout.splitlines()
    header = "    FAIL  " + quantity_name
    start = lines.index(header)
    end = start + 1
    while end < len(lines) and lines[end].startswith("          "):
        end += 1
    return " ".join(" ".join(l.split()) for l in lines[start:end])


@pytest.mark.parametrize("relpath, code, section, expected",
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_hint_fires_on_its_bug(tmp_path, relpath, code, section, expected):
    root = patched_root(tmp_path, relpath, code)
    result = run_grader("--section", section, root=root)
    assert result.scores == {section: 0}, result
    for quantity, words in expected.items():
        name = "%s / %s" % (section, quantity)
        assert "    FAIL  %s" % name in result.stdout.splitlines(), result
        block = _block(result.stdout, name)
        assert "hint:" in block and words in block, result
    # hints appear only under the quantities named above
    assert result.stdout.count("hint:") == len(expected), result
