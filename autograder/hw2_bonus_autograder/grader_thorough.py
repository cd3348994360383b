"""The grader's --thorough report: more than Autolab checks (needs PyTorch).

Not part of the scores. For each graded section it runs the student's
classes on random legal configurations against PyTorch (forward and every
gradient, float64), a central-difference gradient check on tiny inputs, and
integrity checks Autolab cannot see:

    Dropout2d    vs torch; gradient check; eval returns the input and draws
                 nothing; the caller's arrays are never modified; a repeated
                 backward gives the same result
    BatchNorm2d  vs torch (forward, running statistics, eval, dLdZ, dLdBW,
                 dLdBb); gradient check; eval changes no state; inputs
                 untouched; repeated backward stable
    Resnet       Conv2d, Conv2d_stride1, the resampling layers (first on
                 fixed sizes the factor does not divide) and the
                 activations vs torch; Conv2d gradient check; ResBlock vs
                 torch with a convolution shortcut and with the identity
                 shortcut (in == out, filter 1, stride 1, padding 0);
                 ResBlock gradient check; inputs untouched; repeated backward

A repeated backward must return the same gradient and leave every dLd*
attribute (also those of the layers a layer holds) as the first call set
it: set, not accumulated.

Each line names the section, the class and the quantity, e.g.
"BatchNorm2d / BatchNorm2d / running_V", so a failure says where to look.
"""
import importlib
import time
import traceback

import numpy as np
import torch

torch.set_default_dtype(torch.float64)
# Every tensor here is tiny: more threads only add their start-up and, on a
# busy machine, idle threads spinning against NumPy's own BLAS threads (seen
# to make this report ten times slower on two busy cores).
torch.set_num_threads(1)
F = torch.nn.functional

RTOL, ATOL = 1e-6, 1e-8          # student vs torch, both float64
GRAD_RTOL, GRAD_ATOL = 1e-4, 1e-6  # analytic vs central differences
STEP = 1e-6
CONFIGS = 6
EPS = 1e-8


class Report(object):
    """Lines of the report and whether every check passed."""

    def __init__(self):
        self.lines = []
        self.ok = True

    def add(self, section, name, problems, count=None):
        """One check's line; problems is a list of strings (empty = pass)."""
        label = "%s / %s" % (section, name)
        if count:
            label += " (%d configurations)" % count
        if not problems:
            self.lines.append("  PASS  " + label)
            return
        self.ok = False
        self.lines.append("  FAIL  " + label)
        for problem in problems[:3]:
            self.lines.append("          " + problem)
        if len(problems) > 3:
            self.lines.append("          ... and %d more" % (len(problems) - 3))


class Problem(Exception):
    """A mismatch found inside a check."""


def _t(array, grad=False):
    return torch.tensor(np.asarray(array, dtype=np.float64),
                        requires_grad=grad)


def _compare(what, got, want, rtol=RTOL, atol=ATOL):
    """Raise Problem unless got (student) is close to want (reference)."""
    want = np.asarray(want.detach().numpy() if torch.is_tensor(want)
                      else want)
    if not isinstance(got, np.ndarray):
        raise Problem("%s: expected an ndarray, got %s"
                      % (what, type(got).__name__))
    if got.shape != want.shape:
        raise Problem("%s: expected shape %s, got %s"
                      % (what, want.shape, got.shape))
    scale = max(1.0, float(np.abs(want).max()) if want.size else 1.0)
    if not np.allclose(got, want, rtol=rtol, atol=atol * scale):
        err = np.abs(got - want)
        worst = np.unravel_index(int(np.nanargmax(
            np.where(np.isnan(err), np.inf, err))), err.shape)
        raise Problem("%s: max abs error %.3g at %s (expected %.6g, got "
                      "%.6g)" % (what, np.nanmax(err),
                                 [int(i) for i in worst],
                                 want[worst], got[worst]))


def _guarded(what, fn, *inputs):
    """Call fn(*inputs) and raise Problem if it changes any input array."""
    copies = [a.copy() for a in inputs]
    out = fn(*inputs)
    for a, c in zip(inputs, copies):
        if not np.array_equal(a, c):
            raise Problem("%s changed the caller's input array in place"
                          % what)
    return out


def _state(obj):
    """Copies of an object's array and number attributes."""
    return {k: (v.copy() if isinstance(v, np.ndarray) else v)
            for k, v in vars(obj).items()
            if isinstance(v, (np.ndarray, int, float))}


def _gradients(obj, prefix="", seen=None):
    """{path: copy} of every dLd* array in obj and the layers it holds.

    Follows attributes, lists and tuples (a ResBlock's ConvBlocks, their
    Conv2d and its Conv2d_stride1), each object once.
    """
    seen = set() if seen is None else seen
    found = {}
    if id(obj) in seen:
        return found
    seen.add(id(obj))
    if isinstance(obj, (list, tuple)):
        items = [("%s[%d]" % (prefix, i), v) for i, v in enumerate(obj)]
    elif hasattr(obj, "__dict__"):
        items = [(prefix + "." + k if prefix else k, v)
                 for k, v in vars(obj).items()]
    else:
        return found
    for path, value in items:
        name = path.rsplit(".", 1)[-1]
        if isinstance(value, np.ndarray):
            if name.startswith("dLd"):
                found[path] = value.copy()
        elif isinstance(value, (list, tuple)) or (
                hasattr(value, "__dict__") and not isinstance(value, type)
                and type(value).__module__ not in ("builtins", "numpy")):
            found.update(_gradients(value, path, seen))
    return found


def _repeat_backward(layer, backward, grad, first):
    """Call backward(grad) again; it must return first and set every dLd*
    attribute to what the first call set (set, not accumulated)."""
    before = _gradients(layer)
    again = backward(grad)
    _compare("repeated backward", again, first, 0, 0)
    after = _gradients(layer)
    for path in sorted(before):
        if path in after:
            _compare("repeated backward %s" % path, after[path],
                     before[path], 0, 0)


def _run_check(report, section, name, fn):
    """Run one check function; it returns a count or raises Problem."""
    try:
        count = fn()
        report.add(section, name, [], count)
    except Problem as exc:
        report.add(section, name, [str(exc)])
    except Exception as exc:  # the student's code raised
        last = traceback.extract_tb(exc.__traceback__)[-1]
        report.add(section, name, ["%s: %s (at %s:%d)"
                                   % (type(exc).__name__, exc,
                                      last.filename, last.lineno)])


def _numeric_grad(f, x, picks):
    """Central differences of scalar f at flat indices picks of array x."""
    grads = []
    for i in picks:
        old = x.flat[i]
        x.flat[i] = old + STEP
        up = f()
        x.flat[i] = old - STEP
        down = f()
        x.flat[i] = old
        grads.append((up - down) / (2 * STEP))
    return np.array(grads)


def _gradcheck(what, loss, x, analytic, rng, count=12):
    """Compare analytic with central differences of loss() at a few
    entries of x, which loss() must read on every call.

    The loss closures hand the layer a copy of their input: a forward that
    changes its input in place (reported by the "vs torch" checks) would
    otherwise drift further at every call and fail here too, confusingly.
    """
    picks = rng.choice(x.size, min(count, x.size), replace=False)
    numeric = _numeric_grad(loss, x, picks)
    _compare(what + " (central differences)",
             np.asarray(analytic).ravel()[picks], numeric,
             GRAD_RTOL, GRAD_ATOL)


# ---------------------------------------------------------------- dropout

def dropout_checks(report, lib, rng):
    Dropout2d = lib["dropout2d"].Dropout2d
    section = "Dropout2d"

    def versus_torch():
        for _ in range(CONFIGS):
            shape = tuple(int(v) for v in rng.randint(1, 6, size=4))
            p = float(rng.choice([0.0, 0.1, 0.5, 0.9]))
            x, delta = rng.randn(*shape), rng.randn(*shape)
            layer = Dropout2d(p=p)
            seed = int(rng.randint(1 << 30))
            np.random.seed(seed)
            out = _guarded("forward", layer.forward, x)
            np.random.seed(seed)
            mask = np.random.binomial(1, 1 - p, size=shape[:2] + (1, 1))
            xt = _t(x, grad=True)
            ref = xt * _t(mask) / (1 - p)
            (ref * _t(delta)).sum().backward()
            _compare("forward p=%g shape %s" % (p, shape), out, ref)
            dx = _guarded("backward", layer.backward, delta)
            _compare("backward p=%g shape %s" % (p, shape), dx, xt.grad)
            _repeat_backward(layer, layer.backward, delta, dx)
        return CONFIGS

    def gradcheck():
        x, delta = rng.randn(2, 3, 3, 2), rng.randn(2, 3, 3, 2)
        layer = Dropout2d(p=0.3)

        def loss():
            np.random.seed(7)
            return float((layer.forward(x.copy()) * delta).sum())
        loss()
        _gradcheck("dLdx", loss, x, layer.backward(delta), rng)

    def eval_mode():
        x = rng.randn(2, 3, 4, 4)
        layer = Dropout2d(p=0.5)
        state = np.random.get_state()
        out = _guarded("forward(eval=True)", lambda a: layer.forward(
            a, eval=True), x)
        if not np.array_equal(np.random.get_state()[1], state[1]) or \
                np.random.get_state()[2] != state[2]:
            raise Problem("eval forward drew random numbers")
        _compare("eval forward", out, x, 0, 0)

    _run_check(report, section, "Dropout2d vs torch", versus_torch)
    _run_check(report, section, "Dropout2d / dLdx gradient check", gradcheck)
    _run_check(report, section, "Dropout2d / eval", eval_mode)


# -------------------------------------------------------------- batchnorm

def batchnorm_checks(report, lib, rng):
    BatchNorm2d = lib["batchnorm2d"].BatchNorm2d
    section = "BatchNorm2d"

    def versus_torch():
        for _ in range(CONFIGS):
            N, C, H, W = (int(v) for v in rng.randint(1, 5, size=4))
            N = max(N, 2)
            alpha = float(rng.uniform(0, 1))
            bn = BatchNorm2d(C, alpha=alpha)
            rM, rV = np.zeros((1, C, 1, 1)), np.ones((1, C, 1, 1))
            for _ in range(2):  # two batches: the running average builds up
                Z, delta = rng.randn(N, C, H, W) * 3 + 1, rng.randn(N, C, H, W)
                tag = "(N,C,H,W)=%s alpha=%.3g" % ((N, C, H, W), alpha)
                z = _t(Z, grad=True)
                w = torch.ones(C, requires_grad=True)
                b = torch.zeros(C, requires_grad=True)
                ref = F.batch_norm(z, None, None, w, b, training=True,
                                   eps=EPS)
                (ref * _t(delta)).sum().backward()
                out = _guarded("forward", bn.forward, Z)
                _compare("forward %s" % tag, out, ref)
                mean = Z.mean(axis=(0, 2, 3), keepdims=True)
                var = Z.var(axis=(0, 2, 3), keepdims=True)
                rM = alpha * rM + (1 - alpha) * mean
                rV = alpha * rV + (1 - alpha) * var
                _compare("running_M %s" % tag, bn.running_M, rM)
                _compare("running_V %s" % tag, bn.running_V, rV)
                dZ = _guarded("backward", bn.backward, delta)
                _compare("dLdZ %s" % tag, dZ, z.grad)
                _compare("dLdBW %s" % tag, bn.dLdBW,
                         w.grad.reshape(1, C, 1, 1))
                _compare("dLdBb %s" % tag, bn.dLdBb,
                         b.grad.reshape(1, C, 1, 1))
                _repeat_backward(bn, bn.backward, delta, dZ)
            ev = F.batch_norm(_t(Z), _t(rM.ravel()), _t(rV.ravel()),
                              training=False, eps=EPS)
            _compare("eval forward %s" % tag,
                     bn.forward(Z, eval=True), ev)
        return CONFIGS

    def gradcheck():
        Z, delta = rng.randn(3, 2, 2, 3), rng.randn(3, 2, 2, 3)
        bn = BatchNorm2d(2)
        bn.BW = rng.randn(1, 2, 1, 1)
        bn.Bb = rng.randn(1, 2, 1, 1)

        def loss():
            return float((bn.forward(Z.copy()) * delta).sum())
        loss()
        dZ = bn.backward(delta)
        dBW, dBb = bn.dLdBW.copy(), bn.dLdBb.copy()
        _gradcheck("dLdZ", loss, Z, dZ, rng)
        _gradcheck("dLdBW", loss, bn.BW, dBW, rng)
        _gradcheck("dLdBb", loss, bn.Bb, dBb, rng)

    def eval_mode():
        bn = BatchNorm2d(3, alpha=0.7)
        bn.forward(rng.randn(4, 3, 2, 2))
        before = _state(bn)
        _guarded("forward(eval=True)",
                 lambda a: bn.forward(a, eval=True), rng.randn(4, 3, 2, 2))
        after = _state(bn)
        changed = sorted(k for k in set(before) | set(after)
                         if k not in before or k not in after
                         or not np.array_equal(before[k], after[k]))
        if changed:
            raise Problem("eval forward changed the layer's state: "
                          + ", ".join(changed))

    _run_check(report, section, "BatchNorm2d vs torch", versus_torch)
    _run_check(report, section, "BatchNorm2d / gradient check", gradcheck)
    _run_check(report, section, "BatchNorm2d / eval changes no state",
               eval_mode)


# ----------------------------------------------------------------- resnet

def _conv_config(rng):
    C_in, C_out = (int(v) for v in rng.randint(1, 5, size=2))
    K = int(rng.randint(1, 4))
    stride = int(rng.randint(1, 5))   # sometimes above K
    pad = int(rng.randint(0, 3))
    H = int(rng.randint(K, K + 7))
    W = int(rng.randint(K, K + 7))
    return C_in, C_out, K, stride, pad, int(rng.randint(1, 4)), H, W


def conv_checks(report, lib, rng):
    Conv2d_mod = lib["Conv2d"]
    section = "Resnet"

    def versus_torch(stride1):
        for _ in range(CONFIGS):
            C_in, C_out, K, stride, pad, N, H, W = _conv_config(rng)
            if stride1:
                stride, pad = 1, 0
            Wt = rng.randn(C_out, C_in, K, K)
            bt = rng.randn(C_out)
            A = rng.randn(N, C_in, H, W)
            winit = lambda *shape: Wt.copy()
            binit = lambda *shape: bt.copy()
            if stride1:
                layer = Conv2d_mod.Conv2d_stride1(C_in, C_out, K, winit,
                                                  binit)
                params = layer
            else:
                layer = Conv2d_mod.Conv2d(C_in, C_out, K, stride, pad,
                                          winit, binit)
                params = layer.conv2d_stride1
            a = _t(A, grad=True)
            w, b = _t(Wt, grad=True), _t(bt, grad=True)
            ref = F.conv2d(a, w, b, stride=stride, padding=pad)
            dZ = rng.randn(*ref.shape)
            (ref * _t(dZ)).sum().backward()
            tag = ("C_in=%d C_out=%d K=%d stride=%d pad=%d A%s"
                   % (C_in, C_out, K, stride, pad, A.shape))
            _compare("forward " + tag, _guarded("forward", layer.forward, A),
                     ref)
            dA = _guarded("backward", layer.backward, dZ)
            _compare("dLdA " + tag, dA, a.grad)
            _compare("dLdW " + tag, params.dLdW, w.grad)
            _compare("dLdb " + tag, params.dLdb, b.grad)
            _repeat_backward(layer, layer.backward, dZ, dA)
        return CONFIGS

    def gradcheck(stride1):
        if stride1:
            layer = params = Conv2d_mod.Conv2d_stride1(2, 3, 2)
        else:
            layer = Conv2d_mod.Conv2d(2, 3, 2, 2, 1)
            params = layer.conv2d_stride1
        A = rng.randn(2, 2, 5, 4)
        out = layer.forward(A)
        dZ = rng.randn(*out.shape)

        def loss():
            return float((layer.forward(A.copy()) * dZ).sum())
        loss()
        dA = layer.backward(dZ)
        dW, db = params.dLdW.copy(), params.dLdb.copy()
        _gradcheck("dLdA", loss, A, dA, rng)
        _gradcheck("dLdW", loss, params.W, dW, rng)
        _gradcheck("dLdb", loss, params.b, db, rng)

    _run_check(report, section, "Conv2d_stride1 vs torch",
               lambda: versus_torch(True))
    _run_check(report, section, "Conv2d vs torch",
               lambda: versus_torch(False))
    _run_check(report, section, "Conv2d_stride1 / gradient check",
               lambda: gradcheck(True))
    _run_check(report, section, "Conv2d / gradient check",
               lambda: gradcheck(False))


# (k, input shape) tried before the random ones: sizes k does not divide,
# where a size rebuilt as k * W_out (or W_in // k) goes wrong; in 2D on one
# axis alone, then on both.
RESAMPLING_FIXED = {
    False: ((2, (2, 1, 7)), (3, (1, 2, 8)), (3, (2, 1, 5))),
    True: ((2, (2, 1, 6, 7)), (2, (1, 2, 7, 6)), (3, (1, 2, 8, 5))),
}


def resampling_checks(report, lib, rng):
    mod = lib["resampling"]
    section = "Resnet"

    def random_config(two_d):
        k = int(rng.randint(1, 5))
        shape = ((int(rng.randint(1, 3)), int(rng.randint(1, 3)))
                 + tuple(int(v) for v in rng.randint(1, 8,
                                                      size=2 if two_d
                                                      else 1)))
        return k, shape

    def check(name, two_d, up):
        cls = getattr(mod, name)
        configs = list(RESAMPLING_FIXED[two_d])
        configs += [random_config(two_d) for _ in range(CONFIGS)]
        for k, shape in configs:
            A = rng.randn(*shape)
            a = _t(A, grad=True)
            if up:
                out_shape = shape[:2] + tuple(k * (n - 1) + 1
                                              for n in shape[2:])
                ref = torch.zeros(out_shape)
                index = (Ellipsis,) + (slice(None, None, k),) * len(shape[2:])
                ref[index] = a
            else:
                index = (Ellipsis,) + (slice(None, None, k),) * len(shape[2:])
                ref = a[index]
            dZ = rng.randn(*ref.shape)
            (ref * _t(dZ)).sum().backward()
            layer = cls(k)
            tag = "k=%d A%s" % (k, shape)
            _compare("forward " + tag, _guarded("forward", layer.forward, A),
                     ref)
            _compare("backward " + tag,
                     _guarded("backward", layer.backward, dZ), a.grad)
        return len(configs)

    for name, two_d, up in (("Upsample1d", False, True),
                            ("Downsample1d", False, False),
                            ("Upsample2d", True, True),
                            ("Downsample2d", True, False)):
        _run_check(report, section, name + " vs torch",
                   lambda n=name, t=two_d, u=up: check(n, t, u))


def activation_checks(report, lib, rng):
    mod = lib["activation"]
    section = "Resnet"
    refs = {"Identity": lambda z: z, "Sigmoid": torch.sigmoid,
            "Tanh": torch.tanh, "ReLU": torch.relu,
            "GELU": lambda z: F.gelu(z),
            "Softmax": lambda z: torch.softmax(z, dim=1)}

    def check(name):
        for _ in range(CONFIGS):
            Z = rng.randn(*rng.randint(1, 5, size=2)) * 3
            z = _t(Z, grad=True)
            ref = refs[name](z)
            dA = rng.randn(*Z.shape)
            (ref * _t(dA)).sum().backward()
            layer = getattr(mod, name)()
            _compare("forward Z%s" % (Z.shape,),
                     _guarded("forward", layer.forward, Z), ref)
            _compare("backward Z%s" % (Z.shape,),
                     _guarded("backward", layer.backward, dA), z.grad)
        return CONFIGS

    for name in refs:
        if not hasattr(mod, name):
            report.lines.append("  skip  %s / %s: not defined" % (section,
                                                                   name))
            continue
        _run_check(report, section, name + " vs torch",
                   lambda n=name: check(n))


def _torch_conv_block(x, W, stride, pad):
    C = W.shape[0]
    z = F.conv2d(x, _t(W), torch.zeros(C), stride=stride, padding=pad)
    return F.batch_norm(z, None, None, torch.ones(C), torch.zeros(C),
                        training=True, eps=EPS)


def resblock_checks(report, lib, rng):
    ResBlock = lib["resnet"].ResBlock
    section = "Resnet"

    def weights(block, identity):
        convs = [block.convolution_layers[0].layers[0],
                 block.convolution_layers[2].layers[0]]
        if not identity:
            convs.append(block.residual_connection.layers[0])
        return [c.conv2d_stride1.W for c in convs]

    def compare_block(C_in, C_out, K, stride, pad, identity, N, H, W):
        block = ResBlock(C_in, C_out, K, stride=stride, padding=pad)
        Ws = weights(block, identity)
        A = rng.randn(N, C_in, H, W)
        a = _t(A, grad=True)
        main = _torch_conv_block(a, Ws[0], stride, pad)
        main = _torch_conv_block(F.relu(main), Ws[1], 1, 0)
        short = a if identity else _torch_conv_block(a, Ws[2], stride, pad)
        ref = F.relu(main + short)
        G = rng.randn(*ref.shape)
        (ref * _t(G)).sum().backward()
        tag = ("ResBlock(%d, %d, %d, stride=%d, padding=%d) A%s"
               % (C_in, C_out, K, stride, pad, A.shape))
        _compare("forward " + tag, _guarded("forward", block.forward, A), ref)
        dA = _guarded("backward", block.backward, G)
        _compare("backward " + tag, dA, a.grad)
        _repeat_backward(block, block.backward, G, dA)

    def conv_shortcut():
        for _ in range(CONFIGS):
            C_in, C_out, K, stride, pad, N, H, W = _conv_config(rng)
            identity = (C_in == C_out and K == 1 and stride == 1
                        and pad == 0)
            compare_block(C_in, C_out, K, stride, pad, identity, max(N, 2),
                          H, W)
        return CONFIGS

    def identity_shortcut():
        for _ in range(CONFIGS):
            C = int(rng.randint(1, 5))
            H, W = (int(v) for v in rng.randint(1, 6, size=2))
            compare_block(C, C, 1, 1, 0, True, int(rng.randint(2, 4)), H, W)
        return CONFIGS

    def gradcheck():
        block = ResBlock(2, 3, 3, stride=2, padding=1)
        A = rng.randn(3, 2, 5, 4)
        out = block.forward(A)
        G = rng.randn(*out.shape)

        def loss():
            return float((block.forward(A.copy()) * G).sum())
        loss()
        _gradcheck("dLdA", loss, A, block.backward(G), rng)

    _run_check(report, section, "ResBlock vs torch (convolution shortcut)",
               conv_shortcut)
    _run_check(report, section, "ResBlock vs torch (identity shortcut)",
               identity_shortcut)
    _run_check(report, section, "ResBlock / dLdA gradient check", gradcheck)


# ------------------------------------------------------------------ entry

def run(root, modules, sections, verbose=False):
    """The thorough report for the chosen sections; returns a Report."""
    report = Report()
    rng = np.random.RandomState(2024)
    lib = {}
    for name in ("dropout2d", "batchnorm2d", "resnet", "Conv2d",
                 "resampling", "activation"):
        module = modules.get(name)
        if module is None:
            try:
                module = importlib.import_module(name)
            except Exception as exc:
                module = exc
        lib[name] = module
    plan = {"Dropout2d": (("dropout2d",), (dropout_checks,)),
            "BatchNorm2d": (("batchnorm2d",), (batchnorm_checks,)),
            "Resnet": (("resnet", "Conv2d", "resampling", "activation"),
                       (conv_checks, resampling_checks, activation_checks,
                        resblock_checks))}
    state = np.random.get_state()
    for section in sections:
        needed, checks = plan[section]
        start = time.perf_counter()
        broken = [n for n in needed if not hasattr(lib[n], "__name__")]
        if broken:
            report.lines.append("  skip  %s: cannot import %s"
                                % (section, ", ".join(broken)))
            continue
        for check in checks:
            check(report, lib, rng)
        report.lines.append("  %s: %d ms" % (
            section, round((time.perf_counter() - start) * 1000)))
    np.random.set_state(state)
    return report
