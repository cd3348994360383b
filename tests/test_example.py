"""The digits example (examples/train_digits.py) on a small subset.

Training lowers the loss; and, against the same network in PyTorch built
from the same initial weights (examples/digits_torch.py), the first training
losses agree to a relative 1e-6 (the example's stated target), with dropout
off and with PyTorch replaying MyTorch's Dropout2d masks, and so do the
eval-mode logits, which use the course's BatchNorm running statistics.
"""
import json
import os
import sys

import numpy as np
import pytest

# The example's own dependencies (examples/requirements.txt). Environments
# without them (Python 3.8, and NumPy older than scikit-learn's pin allows)
# skip the whole module with this reason; where they are meant to be
# installed, MYTORCH_REQUIRE_EXAMPLE=1 turns a missing one into an error.
REASON = ("the digits example needs {} from examples/requirements.txt, "
          "which this environment does not install")
if os.environ.get("MYTORCH_REQUIRE_EXAMPLE") == "1":
    import matplotlib  # noqa: F401
    import sklearn  # noqa: F401
    import tqdm  # noqa: F401
pytest.importorskip("sklearn", reason=REASON.format("scikit-learn"))

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "examples")
if EXAMPLES not in sys.path:
    sys.path.insert(0, EXAMPLES)

from digits_model import DigitsResNet  # noqa: E402
from train_digits import (LOSS_RTOL, MyTorchTrainer,  # noqa: E402
                          batch_indices, load_digits_split, main,
                          run_epoch)

SUBSET = 64


@pytest.fixture(scope="module")
def digits():
    X_train, X_test, y_train, y_test = load_digits_split()
    return X_train[:SUBSET], y_train[:SUBSET], X_test[:32], y_test[:32]


def test_split_is_stratified_and_scaled():
    X_train, X_test, y_train, y_test = load_digits_split()
    assert X_train.shape == (1437, 1, 8, 8) and X_test.shape == (360, 1, 8, 8)
    assert X_train.min() == 0.0 and X_train.max() == 1.0
    # stratified: every digit's share of the test split is within one image
    # of 20% of that digit's total
    for digit in range(10):
        total = (y_train == digit).sum() + (y_test == digit).sum()
        assert abs((y_test == digit).sum() - 0.2 * total) <= 1


def test_training_lowers_the_loss(digits):
    X, y = digits[0], digits[1]
    np.random.seed(0)
    trainer = MyTorchTrainer(DigitsResNet(8, dropout=0.1, seed=0), lr=0.5,
                             momentum=0.9, weight_decay=0.0)

    losses = [trainer.step(X, y) for _ in range(12)]

    # ln(10) = 2.30 is the loss of a guess; 12 full-batch steps take it to
    # about 1.3-1.5 on this subset
    assert losses[0] > 2.0
    assert losses[-1] < 0.8 * losses[0], losses


@pytest.fixture
def float32_default():
    """torch's stock default dtype (float32) for the test's duration.

    The script runs with it (only conftest switches to float64), so the twin
    must ask for float64 itself; a float32 weight copy would cost about 1e-8.
    """
    torch = pytest.importorskip("torch")
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float32)
    yield
    torch.set_default_dtype(before)


def _twins(dropout, seed=0):
    pytest.importorskip("torch")
    from digits_torch import TorchDigitsResNet
    from train_digits import TorchTrainer

    np.random.seed(seed)
    model = DigitsResNet(8, dropout=dropout, seed=seed)
    mine = MyTorchTrainer(model, lr=0.1, momentum=0.9, weight_decay=1e-3)
    theirs = TorchTrainer(TorchDigitsResNet.from_mytorch(model), lr=0.1,
                          momentum=0.9, weight_decay=1e-3)
    return mine, theirs


@pytest.mark.torch
@pytest.mark.parametrize("dropout", [0.0, 0.25],
                         ids=["dropout-off", "dropout-masks-replayed"])
def test_first_steps_agree_with_torch(digits, dropout, float32_default):
    X, y, X_test, _ = digits
    mine, theirs = _twins(dropout)
    rng = np.random.default_rng(1)

    mine_losses, torch_losses = [], []
    for _ in range(3):  # 3 epochs of 2 batches of 32
        batches = batch_indices(len(X), 32, rng)
        losses, twin_losses, _, _ = run_epoch(batches, X, y, mine, theirs)
        mine_losses += losses
        torch_losses += twin_losses

    # the example's stated target ...
    np.testing.assert_allclose(mine_losses, torch_losses, rtol=LOSS_RTOL,
                               atol=0)
    # ... and what float64 all the way through gives (about 1e-15 here); a
    # float32 step anywhere in either network shows up at 1e-10..1e-8
    np.testing.assert_allclose(mine_losses, torch_losses, rtol=1e-12,
                               atol=0)
    # the weights moved, so the agreement is not that of two idle models
    assert abs(mine_losses[-1] - mine_losses[0]) > 1e-3
    # eval mode: running statistics kept by the course's rule, no dropout
    np.testing.assert_allclose(mine.logits(X_test), theirs.logits(X_test),
                               rtol=1e-10, atol=1e-12)


@pytest.mark.torch
def test_script_writes_plot_and_metrics(tmp_path, float32_default):
    pytest.importorskip("tqdm", reason=REASON.format("tqdm"))
    pytest.importorskip("matplotlib", reason=REASON.format("matplotlib"))

    main(["--out", str(tmp_path), "--epochs", "2", "--subset", "64",
          "--channels", "4", "--compare-torch"])

    assert (tmp_path / "digits_training.png").stat().st_size > 10000
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    summary = metrics["summary"]
    assert summary["first_steps"] == 4  # 2 epochs of 2 batches
    assert summary["first_steps_max_rel_loss_diff"] <= LOSS_RTOL
    assert len(metrics["epochs"]) == 2
    assert metrics["epochs"][-1]["max_test_logit_diff"] < 1e-9
