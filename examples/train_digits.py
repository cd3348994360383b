"""Train a MyTorch ResNet on scikit-learn's 8x8 digits, optionally beside torch.

From the repository root:

    python examples/train_digits.py --out runs/digits
    python examples/train_digits.py --out runs/digits --compare-torch

Data: the 1797 8x8 digit images shipped inside scikit-learn (no download),
a fixed stratified 80/20 split, pixels divided by 16 into [0, 1]. The
network is drawn in digits_model.py. Training: batches of 32, softmax
cross-entropy, SGD with momentum 0.9 and a learning rate of 0.05 that decays
along a cosine, epoch by epoch. A tqdm bar per epoch shows the running loss;
after each epoch both splits are scored in eval mode (BatchNorm running
statistics, no dropout).
The end writes <out>/digits_training.png (loss and accuracy per epoch) and
<out>/metrics.json (every number printed).

--compare-torch builds the same network in PyTorch from the same initial
weights (digits_torch.py), feeds it the same batches, and reports the
relative difference of the two training losses for the first steps and per
epoch, the largest difference of the eval-mode test logits, and the seconds
per training epoch of each framework; the plot overlays both. Dropout is off
for the comparison unless --dropout is given, in which case PyTorch replays
MyTorch's dropout masks.
"""
import argparse
import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from digits_layers import SGD, SoftmaxCrossEntropy  # noqa: E402
from digits_model import DigitsResNet  # noqa: E402

DEFAULT_DROPOUT = 0.1
LOSS_RTOL = 1e-6  # target: first training losses agree with torch's
COMPARE_STEPS = 20  # how many first steps the comparison lists
SPEED_RATIO = 2.0  # target: MyTorch s/epoch <= 2x PyTorch's


def load_digits_split(seed=0):
    """(X_train, X_test, y_train, y_test): X float64 (N, 1, 8, 8) in [0, 1],
    y int64 (N,); stratified 80/20 split, fixed by `seed`."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    X = digits.images.astype(np.float64)[:, None, :, :] / 16.0
    y = digits.target.astype(np.int64)
    return train_test_split(X, y, test_size=0.2, stratify=y,
                            random_state=seed)


def batch_indices(n, batch_size, rng):
    """One epoch's mini-batches: a shuffled 0..n-1 cut into batch_size pieces
    (the last one may be smaller)."""
    order = rng.permutation(n)
    return [order[i:i + batch_size] for i in range(0, n, batch_size)]


class MyTorchTrainer:
    """DigitsResNet + softmax cross-entropy + SGD with momentum."""

    def __init__(self, model, lr, momentum, weight_decay):
        self.model = model
        self.loss_fn = SoftmaxCrossEntropy()
        self.optimizer = SGD(model.parameters(), lr, momentum, weight_decay)

    def step(self, X, y):
        """One training step on a batch; returns the loss before the update."""
        logits = self.model.forward(X, eval=False)
        loss = self.loss_fn.forward(logits, y)
        self.model.backward(self.loss_fn.backward())
        self.optimizer.step()
        return float(loss)

    def set_lr(self, lr):
        self.optimizer.lr = lr

    def logits(self, X, batch_size=512):
        """Eval-mode logits (running statistics, no dropout)."""
        return np.concatenate([self.model.forward(X[i:i + batch_size],
                                                  eval=True)
                               for i in range(0, len(X), batch_size)])


class TorchTrainer:
    """The PyTorch twin with torch.optim.SGD and F.cross_entropy."""

    def __init__(self, net, lr, momentum, weight_decay):
        import torch

        self.torch = torch
        self.net = net
        self.optimizer = torch.optim.SGD(net.parameters(), lr=lr,
                                         momentum=momentum,
                                         weight_decay=weight_decay)

    def step(self, X, y, dropout_mask=None):
        torch = self.torch
        self.net.train()
        logits = self.net(torch.as_tensor(X), dropout_mask)
        loss = torch.nn.functional.cross_entropy(logits, torch.as_tensor(y))
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        return loss.item()

    def set_lr(self, lr):
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    def logits(self, X):
        self.net.eval()
        with self.torch.no_grad():
            return self.net(self.torch.as_tensor(X)).numpy()


def cosine_lr(base_lr, epoch, epochs):
    """Learning rate for 0-based `epoch`: cosine from base_lr towards 0."""
    return 0.5 * base_lr * (1.0 + np.cos(np.pi * epoch / epochs))


def accuracy(logits, y):
    return float((logits.argmax(axis=1) == y).mean())


def train(args, data, progress=True, log=print):
    """Run the whole experiment; returns a dict with the full history."""
    X_train, X_test, y_train, y_test = data
    np.random.seed(args.seed)  # Dropout2d draws its masks from np.random
    model = DigitsResNet(args.channels, args.dropout, seed=args.seed)
    mine = MyTorchTrainer(model, args.lr, args.momentum, args.weight_decay)

    theirs = None
    if args.compare_torch:
        import torch
        from digits_torch import TorchDigitsResNet

        torch.set_num_threads(args.torch_threads)
        theirs = TorchTrainer(TorchDigitsResNet.from_mytorch(model), args.lr,
                              args.momentum, args.weight_decay)

    tqdm = None
    if progress:
        from tqdm import tqdm

    rng = np.random.default_rng(args.seed)
    hist = {"config": vars(args).copy(), "step_loss": [], "epochs": []}
    if theirs is not None:
        hist["torch_step_loss"] = []
    for epoch in range(args.epochs):
        lr = cosine_lr(args.lr, epoch, args.epochs)
        mine.set_lr(lr)
        if theirs is not None:
            theirs.set_lr(lr)

        batches = batch_indices(len(X_train), args.batch_size, rng)
        if tqdm is not None:
            batches = tqdm(batches, desc="epoch %2d/%d" % (epoch + 1,
                                                          args.epochs),
                           unit="batch", leave=True, file=sys.stderr)
        losses, torch_losses, my_seconds, torch_seconds = run_epoch(
            batches, X_train, y_train, mine, theirs)

        my_test = mine.logits(X_test)
        record = {
            "epoch": epoch + 1, "lr": lr,
            "loss": float(np.mean(losses)),
            "train_acc": accuracy(mine.logits(X_train), y_train),
            "test_acc": accuracy(my_test, y_test),
            "seconds": my_seconds,
        }
        hist["step_loss"] += losses
        line = ("epoch %2d: loss %.4f  train acc %.2f%%  test acc %.2f%%  "
                "%.2f s" % (epoch + 1, record["loss"],
                            100 * record["train_acc"],
                            100 * record["test_acc"], my_seconds))

        if theirs is not None:
            torch_test = theirs.logits(X_test)
            rel = relative_diff(losses, torch_losses)
            record.update({
                "torch_loss": float(np.mean(torch_losses)),
                "torch_train_acc": accuracy(theirs.logits(X_train), y_train),
                "torch_test_acc": accuracy(torch_test, y_test),
                "torch_seconds": torch_seconds,
                "max_rel_loss_diff": float(rel.max()),
                "max_test_logit_diff": float(np.abs(my_test
                                                    - torch_test).max()),
            })
            hist["torch_step_loss"] += torch_losses
            line += (" | torch: loss %.4f  test acc %.2f%%  %.2f s | "
                     "max rel loss diff %.1e  max test logit diff %.1e"
                     % (record["torch_loss"], 100 * record["torch_test_acc"],
                        torch_seconds, record["max_rel_loss_diff"],
                        record["max_test_logit_diff"]))
        hist["epochs"].append(record)
        log(line)
    return hist


def run_epoch(batches, X, y, mine, theirs=None):
    """Train on each batch of indices in turn: MyTorch, then (if given) the
    PyTorch twin on the same batch, replaying MyTorch's dropout mask.

    Returns (losses, torch_losses, mytorch_seconds, torch_seconds); each
    framework's time covers only its own training steps. A tqdm bar passed
    as `batches` shows the running mean loss.
    """
    losses, torch_losses = [], []
    my_seconds = torch_seconds = 0.0
    for idx in batches:
        Xb, yb = X[idx], y[idx]
        start = time.perf_counter()
        losses.append(mine.step(Xb, yb))
        my_seconds += time.perf_counter() - start

        if theirs is not None:
            dropout = mine.model.dropout
            mask = None
            if dropout.p > 0:
                mask = theirs.torch.as_tensor(dropout.mask)
            start = time.perf_counter()
            torch_losses.append(theirs.step(Xb, yb, mask))
            torch_seconds += time.perf_counter() - start

        if hasattr(batches, "set_postfix"):
            batches.set_postfix(loss="%.4f" % np.mean(losses),
                                refresh=False)
    return losses, torch_losses, my_seconds, torch_seconds


def relative_diff(a, b):
    """|a - b| / |b| elementwise, as a float64 array."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return np.abs(a - b) / np.abs(b)


def summarize(hist, log=print):
    """Print the final figures and the checks against the targets; returns
    the summary dict that also goes into metrics.json."""
    last = hist["epochs"][-1]
    summary = {"test_acc": last["test_acc"],
               "best_test_acc": max(r["test_acc"] for r in hist["epochs"]),
               "mytorch_seconds_per_epoch":
                   float(np.mean([r["seconds"] for r in hist["epochs"]]))}
    log("test accuracy after %d epochs: %.2f%% (target >= 97%%)"
        % (last["epoch"], 100 * last["test_acc"]))

    if "torch_step_loss" in hist:
        steps = min(COMPARE_STEPS, len(hist["step_loss"]))
        mine = hist["step_loss"][:steps]
        theirs = hist["torch_step_loss"][:steps]
        rel = relative_diff(mine, theirs)
        log("first %d training losses, MyTorch vs PyTorch:" % steps)
        log("  step   MyTorch loss        PyTorch loss        rel diff")
        for i, (m, t, r) in enumerate(zip(mine, theirs, rel)):
            log("  %4d   %.15f   %.15f   %.1e" % (i + 1, m, t, r))
        my_s = [r["seconds"] for r in hist["epochs"]]
        torch_s = [r["torch_seconds"] for r in hist["epochs"]]
        summary.update({
            "first_steps": steps,
            "first_steps_max_rel_loss_diff": float(rel.max()),
            "all_steps_max_rel_loss_diff": float(relative_diff(
                hist["step_loss"], hist["torch_step_loss"]).max()),
            "torch_test_acc": last["torch_test_acc"],
            "torch_seconds_per_epoch": float(np.mean(torch_s)),
        })
        log("max relative loss difference, first %d steps: %.1e "
            "(target <= %.0e); all %d steps: %.1e"
            % (steps, rel.max(), LOSS_RTOL, len(hist["step_loss"]),
               summary["all_steps_max_rel_loss_diff"]))
        # a shared machine slows single epochs down at random, so the
        # median and the fastest epoch are shown beside the mean
        log("seconds per training epoch  mean    median  fastest")
        for kind, reduce in (("mean", np.mean), ("median", np.median),
                             ("fastest", np.min)):
            summary["seconds_ratio_" + kind] = float(reduce(my_s)
                                                     / reduce(torch_s))
        for name, secs in (("MyTorch", my_s), ("PyTorch", torch_s)):
            log("  %-24s  %.3f   %.3f   %.3f" % (name, np.mean(secs),
                                                np.median(secs), min(secs)))
        log("  %-24s  %.2f    %.2f    %.2f    (target <= %.0f)"
            % ("ratio MyTorch/PyTorch", summary["seconds_ratio_mean"],
               summary["seconds_ratio_median"],
               summary["seconds_ratio_fastest"], SPEED_RATIO))
    else:
        log("seconds per training epoch: MyTorch %.3f"
            % summary["mytorch_seconds_per_epoch"])
    return summary


def plot(hist, path):
    """Training loss (per step, faint, and per-epoch mean) and train/test
    accuracy per epoch; PyTorch's curves dashed on top when present."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [r["epoch"] for r in hist["epochs"]]
    steps = len(hist["step_loss"])
    x_steps = np.arange(1, steps + 1) * (len(epochs) / steps)
    twin = "torch_step_loss" in hist

    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.8))
    ax_loss.plot(x_steps, hist["step_loss"], color="tab:blue", alpha=0.25,
                 lw=0.8, label="MyTorch, per step")
    ax_loss.plot(epochs, [r["loss"] for r in hist["epochs"]], "o-",
                 color="tab:blue", label="MyTorch, epoch mean")
    if twin:
        ax_loss.plot(epochs, [r["torch_loss"] for r in hist["epochs"]],
                     "x--", color="tab:orange", label="PyTorch, epoch mean")
    ax_loss.set_yscale("log")
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("training loss (cross-entropy)")
    ax_loss.legend()
    ax_loss.grid(alpha=0.3)

    for key, colour, name in (("train_acc", "tab:green", "train"),
                              ("test_acc", "tab:red", "test")):
        ax_acc.plot(epochs, [100 * r[key] for r in hist["epochs"]], "o-",
                    color=colour, label="MyTorch, %s" % name)
        if twin:
            ax_acc.plot(epochs, [100 * r["torch_" + key]
                                 for r in hist["epochs"]], "x--",
                        color="black", alpha=0.6,
                        label="PyTorch, %s" % name)
    ax_acc.axhline(97, color="grey", lw=0.8, ls=":", label="97%")
    lowest = min(100 * min(r["train_acc"], r["test_acc"])
                 for r in hist["epochs"])
    ax_acc.set_ylim(max(0.0, min(90.0, lowest - 2.0)), 100.5)
    ax_acc.set_xlabel("epoch")
    ax_acc.set_ylabel("accuracy (%, eval mode)")
    ax_acc.legend(loc="lower right")
    ax_acc.grid(alpha=0.3)

    title = ("MyTorch ResNet on scikit-learn digits: test accuracy %.2f%%"
             % (100 * hist["epochs"][-1]["test_acc"]))
    if twin:
        title += (" (PyTorch twin, dashed: %.2f%%)"
                  % (100 * hist["epochs"][-1]["torch_test_acc"]))
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Train a MyTorch ResNet on scikit-learn's 8x8 digits.")
    parser.add_argument("--out", required=True,
                        help="folder for digits_training.png and metrics.json")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=0.05,
                        help="initial learning rate (cosine decay towards 0)")
    parser.add_argument("--momentum", type=float, default=0.9)
    parser.add_argument("--weight-decay", type=float, default=0.0)
    parser.add_argument("--channels", type=int, default=16,
                        help="width C after the stem (last block: 2C)")
    parser.add_argument("--dropout", type=float, default=None,
                        help="Dropout2d p (default %.1f; 0 with "
                        "--compare-torch)" % DEFAULT_DROPOUT)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--subset", type=int, default=None,
                        help="train on the first N training images only "
                        "(a quick check; the test split stays whole)")
    parser.add_argument("--torch-threads", type=int, default=2,
                        help="torch.set_num_threads for --compare-torch")
    parser.add_argument("--compare-torch", action="store_true",
                        help="train the same network in PyTorch alongside")
    args = parser.parse_args(argv)
    if args.dropout is None:
        args.dropout = 0.0 if args.compare_torch else DEFAULT_DROPOUT
    return args


def main(argv=None):
    args = parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    from tqdm import tqdm

    X_train, X_test, y_train, y_test = load_digits_split()
    if args.subset is not None:
        X_train, y_train = X_train[:args.subset], y_train[:args.subset]
    hist = train(args, (X_train, X_test, y_train, y_test), log=tqdm.write)
    hist["summary"] = summarize(hist, log=tqdm.write)
    png = os.path.join(args.out, "digits_training.png")
    plot(hist, png)
    with open(os.path.join(args.out, "metrics.json"), "w") as f:
        json.dump(hist, f, indent=1)
    tqdm.write("plot: %s" % png)


if __name__ == "__main__":
    main()
