"""Make the local grader's expected values with PyTorch autograd.

The grader (autograder/hw2_bonus_autograder/runner.py) compares a student's
MyTorch output with values stored beside it. This script makes those values
from the same seeded NumPy data, weights and masks the grader feeds to the
student's code, but computes every result with PyTorch (never with mytorch),
so the expected values are independent of the code they grade.

It writes, into the grader's folder or into --out-dir:

    sol_dropout2d_handout.npz  forward, backward
    sol_bn2d_handout.npz       fw_train, fw_eval, bw, running_M, running_V,
                               dLdBb, dLdBW
    sol_resnet1.npz            forward, backward
    hint_values.npz            what known mistakes would produce (hints only)

The first three keep exactly the course's keys. Before writing anything it
checks the results against the sums the course published for its own files
(PUBLISHED below); a mismatch means the draw order or a convention drifted
and nothing is written.

Usage, from the top-level folder:

    python tools/make_expected.py                  # rewrite the shipped files
    python tools/make_expected.py --out-dir /tmp/x # write elsewhere

Draw order, shared with the grader (each section starts from seed 11785):

    Dropout2d    x = random((5, 3, 4, 4)); delta = random((5, 3, 4, 4));
                 then the layer's one mask = binomial(1, 1 - p, (5, 3, 1, 1))
    BatchNorm2d  Z = random((5, 3, 4, 4)); delta = random((5, 3, 4, 4))
    Resnet       A = randint(0, 255, (5, 3, 128, 128));
                 G = randint(0, 255, (5, 64, 34, 34));
                 then weights normal(0, 1.0, shape): first ConvBlock's conv
                 (64, 3, 3, 3), second ConvBlock's conv (64, 64, 1, 1),
                 shortcut conv (64, 3, 3, 3); every bias is zero
"""
import argparse
import os
import sys

import numpy as np

SEED = 11785
EPS = 1e-8
DROPOUT_P = 0.4
BN_ALPHA = 0.4

HERE = os.path.dirname(os.path.abspath(__file__))
GRADER_DIR = os.path.join(os.path.dirname(HERE), "autograder",
                          "hw2_bonus_autograder")

COURSE_FILES = {
    "sol_dropout2d_handout.npz": ("forward", "backward"),
    "sol_bn2d_handout.npz": ("fw_train", "fw_eval", "bw", "running_M",
                             "running_V", "dLdBb", "dLdBW"),
    "sol_resnet1.npz": ("forward", "backward"),
}
HINT_FILE = "hint_values.npz"

# (file, key) -> (sum, sum of squares or None), as the course published them
# for its own expected-value files (10 significant digits).
PUBLISHED = {
    ("sol_dropout2d_handout.npz", "forward"): (130.6088398, 143.3006033),
    ("sol_dropout2d_handout.npz", "backward"): (132.3413524, 145.4134984),
    ("sol_bn2d_handout.npz", "fw_eval"): (72.24245501, 66.48812665),
    ("sol_bn2d_handout.npz", "bw"): (None, 242.013175),
    ("sol_bn2d_handout.npz", "running_M"): (0.9090671695, None),
    ("sol_bn2d_handout.npz", "running_V"): (1.351071183, None),
    ("sol_bn2d_handout.npz", "dLdBb"): (119.2782496, None),
    ("sol_bn2d_handout.npz", "dLdBW"): (2.560459183, None),
    ("sol_resnet1.npz", "forward"): (206136.7614, 360953.2496),
    ("sol_resnet1.npz", "backward"): (-1700.313336, 771085.3117),
}
PUBLISHED_RTOL = 1e-9

# Hints on the big Resnet arrays store only the values at these many flat
# indices (drawn from their own RandomState, not the global one).
SAMPLE_SIZE = 4096

# ResBlock layer names, in the order the course draws their weights.
RESNET_ORDER = ("conv1", "conv2", "shortcut")
RESNET_SHAPES = {"conv1": (64, 3, 3, 3), "conv2": (64, 64, 1, 1),
                 "shortcut": (64, 3, 3, 3)}
# The plausible wrong orders: the shortcut made first, or between the two.
WRONG_ORDERS = (("shortcut", "conv1", "conv2"), ("conv1", "shortcut", "conv2"))


def _torch():
    """Import torch lazily so that --help works without it."""
    import torch
    torch.set_default_dtype(torch.float64)
    return torch


def _t(array, grad=False):
    """A float64 torch tensor holding a copy of a NumPy array."""
    torch = _torch()
    return torch.tensor(np.asarray(array, dtype=np.float64),
                        requires_grad=grad)


def _np(tensor):
    return tensor.detach().numpy().copy()


# ----------------------------------------------------------------- dropout

def dropout_data():
    """The Dropout2d section's draws: x, delta, then the layer's mask."""
    np.random.seed(SEED)
    x = np.random.random((5, 3, 4, 4))
    delta = np.random.random((5, 3, 4, 4))
    return x, delta


def _dropout(x, delta, mask, p):
    """Forward x * mask / (1 - p) and its input gradient for loss sum(y*delta)."""
    xt = _t(x, grad=True)
    y = xt * _t(mask) / (1.0 - p)
    (y * _t(delta)).sum().backward()
    return _np(y), _np(xt.grad)


def dropout_values():
    """Course values and hint values for the Dropout2d section."""
    p = DROPOUT_P
    x, delta = dropout_data()
    state = np.random.get_state()

    mask = np.random.binomial(1, 1 - p, size=(5, 3, 1, 1))
    forward, backward = _dropout(x, delta, mask, p)
    course = {"forward": forward, "backward": backward}

    # a mask drawn per element instead of per channel
    np.random.set_state(state)
    mask_elem = np.random.binomial(1, 1 - p, size=(5, 3, 4, 4))
    fw_elem, bw_elem = _dropout(x, delta, mask_elem, p)

    # p taken as the probability of keeping a channel
    np.random.set_state(state)
    mask_keep = np.random.binomial(1, p, size=(5, 3, 1, 1))
    fw_keep, bw_keep = _dropout(x, delta, mask_keep, 1 - p)

    hints = {
        "Dropout2d__forward__elementwise_mask": fw_elem,
        "Dropout2d__backward__elementwise_mask": bw_elem,
        "Dropout2d__forward__p_as_keep": fw_keep,
        "Dropout2d__backward__p_as_keep": bw_keep,
    }
    return course, hints


# --------------------------------------------------------------- batchnorm

def batchnorm_data():
    """The BatchNorm2d section's draws: Z, then delta."""
    np.random.seed(SEED)
    Z = np.random.random((5, 3, 4, 4))
    delta = np.random.random((5, 3, 4, 4))
    return Z, delta


def _batch_stats(Z, unbiased=False):
    """Per-channel mean and variance over (N, H, W), shaped (1, C, 1, 1)."""
    torch = _torch()
    z = _t(Z)
    mean = z.mean(dim=(0, 2, 3), keepdim=True)
    var = torch.var(z, dim=(0, 2, 3), keepdim=True, unbiased=unbiased)
    return mean, var


def batchnorm_values():
    """Course values and hint values for the BatchNorm2d section."""
    torch = _torch()
    F = torch.nn.functional
    alpha = BN_ALPHA
    Z, delta = batchnorm_data()
    C = Z.shape[1]

    # training forward with torch's own batch norm (biased variance)
    z = _t(Z, grad=True)
    BW = torch.ones(C, requires_grad=True)
    Bb = torch.zeros(C, requires_grad=True)
    fw_train = F.batch_norm(z, None, None, BW, Bb, training=True, eps=EPS)
    (fw_train * _t(delta)).sum().backward()

    # running statistics: alpha weighs the OLD value; biased variance
    mean, var = _batch_stats(Z)
    running_M = alpha * torch.zeros(1, C, 1, 1) + (1 - alpha) * mean
    running_V = alpha * torch.ones(1, C, 1, 1) + (1 - alpha) * var
    fw_eval = F.batch_norm(_t(Z), running_M.reshape(C), running_V.reshape(C),
                           torch.ones(C), torch.zeros(C), training=False,
                           eps=EPS)

    course = {
        "fw_train": _np(fw_train),
        "fw_eval": _np(fw_eval),
        "bw": _np(z.grad),
        "running_M": _np(running_M),
        "running_V": _np(running_V),
        "dLdBb": _np(Bb.grad).reshape(1, C, 1, 1),
        "dLdBW": _np(BW.grad).reshape(1, C, 1, 1),
    }
    hints = _batchnorm_hints(Z, delta, alpha)
    return course, hints


def _eval_norm(Z, running_M, running_V):
    return _np((_t(Z) - running_M) / (running_V + EPS).sqrt())


def _batchnorm_hints(Z, delta, alpha):
    """What four common BatchNorm2d mistakes produce."""
    torch = _torch()
    C = Z.shape[1]
    old_M, old_V = torch.zeros(1, C, 1, 1), torch.ones(1, C, 1, 1)
    mean, var = _batch_stats(Z)
    _, var_unbiased = _batch_stats(Z, unbiased=True)

    # the running variance averaged with the unbiased batch variance
    rV_unbiased = alpha * old_V + (1 - alpha) * var_unbiased
    rM = alpha * old_M + (1 - alpha) * mean

    # alpha weighing the NEW batch, as torch's momentum does
    rM_swapped = (1 - alpha) * old_M + alpha * mean
    rV_swapped = (1 - alpha) * old_V + alpha * var

    # normalising the training batch with the unbiased variance
    z = _t(Z, grad=True)
    m = z.mean(dim=(0, 2, 3), keepdim=True)
    v = torch.var(z, dim=(0, 2, 3), keepdim=True, unbiased=True)
    fw_unbiased = (z - m) / (v + EPS).sqrt()

    # backward that treats the batch mean and variance as constants
    bw_const = _t(delta) / (var + EPS).sqrt()

    return {
        "BatchNorm2d__running_V__unbiased": _np(rV_unbiased),
        "BatchNorm2d__fw_eval__unbiased": _eval_norm(Z, rM, rV_unbiased),
        "BatchNorm2d__running_M__alpha_on_batch": _np(rM_swapped),
        "BatchNorm2d__running_V__alpha_on_batch": _np(rV_swapped),
        "BatchNorm2d__fw_eval__alpha_on_batch":
            _eval_norm(Z, rM_swapped, rV_swapped),
        "BatchNorm2d__fw_train__unbiased": _np(fw_unbiased),
        "BatchNorm2d__bw__stats_as_constants": _np(bw_const),
    }


# ------------------------------------------------------------------ resnet

def resnet_data():
    """The Resnet section's data draws: A, then G (weights come after)."""
    np.random.seed(SEED)
    A = np.random.randint(0, 255, size=(5, 3, 128, 128))
    G = np.random.randint(0, 255, size=(5, 64, 34, 34))
    return A, G


def resnet_weights(order=RESNET_ORDER):
    """Draw the three conv weights from np.random in the given layer order."""
    return {name: np.random.normal(0, 1.0, RESNET_SHAPES[name])
            for name in order}


def _conv_block(x, W, stride, padding):
    """Conv2d (zero bias) then training-mode BatchNorm2d (BW=1, Bb=0)."""
    torch = _torch()
    F = torch.nn.functional
    C = W.shape[0]
    z = F.conv2d(x, _t(W), torch.zeros(C), stride=stride, padding=padding)
    return F.batch_norm(z, None, None, torch.ones(C), torch.zeros(C),
                        training=True, eps=EPS)


def _resblock(A, G, weights, shortcut="full", final_relu=True):
    """ResBlock(3, 64, 3, stride=4, padding=4) forward and input gradient.

    shortcut: "full" (correct), "no_grad" (the shortcut is added in forward
    but its input gradient is dropped) or "none" (never added).
    """
    torch = _torch()
    F = torch.nn.functional
    a = _t(A, grad=True)
    main = _conv_block(a, weights["conv1"], 4, 4)
    main = _conv_block(F.relu(main), weights["conv2"], 1, 0)
    if shortcut == "none":
        total = main
    else:
        source = a.detach() if shortcut == "no_grad" else a
        total = main + _conv_block(source, weights["shortcut"], 4, 4)
    out = F.relu(total) if final_relu else total
    (out * _t(G)).sum().backward()
    return _np(out), _np(a.grad)


def resnet_values():
    """Course values and (sampled) hint values for the Resnet section."""
    A, G = resnet_data()
    state = np.random.get_state()
    weights = resnet_weights()
    forward, backward = _resblock(A, G, weights)
    course = {"forward": forward, "backward": backward}

    rng = np.random.RandomState(0)
    idx_fw = np.sort(rng.choice(forward.size, SAMPLE_SIZE, replace=False))
    idx_bw = np.sort(rng.choice(backward.size, SAMPLE_SIZE, replace=False))
    hints = {"Resnet__forward__sample_idx": idx_fw,
             "Resnet__backward__sample_idx": idx_bw}

    def keep(name, fw, bw):
        if fw is not None:
            hints["Resnet__forward__" + name] = fw.ravel()[idx_fw]
        hints["Resnet__backward__" + name] = bw.ravel()[idx_bw]

    _, bw = _resblock(A, G, weights, shortcut="no_grad")
    keep("main_only", None, bw)
    keep("no_shortcut", *_resblock(A, G, weights, shortcut="none"))
    keep("no_final_relu", *_resblock(A, G, weights, final_relu=False))
    for order in WRONG_ORDERS:
        np.random.set_state(state)
        keep("order_" + "_".join(order),
             *_resblock(A, G, resnet_weights(order)))
    return course, hints


# ----------------------------------------------------------------- driver

def make_all():
    """Return ({course file: {key: array}}, {hint key: array})."""
    dropout, dropout_hints = dropout_values()
    bn, bn_hints = batchnorm_values()
    resnet, resnet_hints = resnet_values()
    files = {"sol_dropout2d_handout.npz": dropout,
             "sol_bn2d_handout.npz": bn,
             "sol_resnet1.npz": resnet}
    hints = {}
    for part in (dropout_hints, bn_hints, resnet_hints):
        hints.update(part)
    return files, hints


def check_published(files):
    """Raise ValueError unless every published sum is reproduced."""
    problems = []
    for (name, key), (total, squares) in sorted(PUBLISHED.items()):
        value = files[name][key]
        for what, want, got in (("sum", total, value.sum()),
                                ("sum of squares", squares,
                                 (value ** 2).sum())):
            if want is None:
                continue
            if not np.isclose(got, want, rtol=PUBLISHED_RTOL, atol=0):
                problems.append("%s[%s] %s: published %.10g, made %.10g"
                                % (name, key, what, want, got))
    for name, keys in COURSE_FILES.items():
        if tuple(files[name]) != keys:
            problems.append("%s keys %s, course has %s"
                            % (name, tuple(files[name]), keys))
    if problems:
        raise ValueError("expected values do not reproduce the course's:\n  "
                         + "\n  ".join(problems))


def write_all(out_dir):
    """Make, check and write the four files into out_dir; return the paths."""
    files, hints = make_all()
    check_published(files)
    os.makedirs(out_dir, exist_ok=True)
    paths = []
    for name, arrays in files.items():
        # uncompressed, like the course's files: reading is 5x faster
        paths.append(os.path.join(out_dir, name))
        np.savez(paths[-1], **arrays)
    paths.append(os.path.join(out_dir, HINT_FILE))
    np.savez_compressed(paths[-1], **hints)
    return paths


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out-dir", default=GRADER_DIR,
                        help="folder to write into (default: the grader's, "
                             "%(default)s)")
    args = parser.parse_args(argv)
    for path in write_all(args.out_dir):
        print("wrote", path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
