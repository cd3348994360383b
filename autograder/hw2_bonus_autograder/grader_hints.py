"""Hints: recognise a failing value that equals what a known mistake gives.

Each hint names one mistake and the value it produces for the grader's own
seeded data. Some of those values follow from the expected ones (a missing
1/(1-p) leaves the expected value times (1-p)); the others were computed by
tools/make_expected.py with PyTorch and are stored in hint_values.npz, under
keys "<section>__<course key>__<mistake>". For the big Resnet arrays only the
values at a fixed sample of flat indices are stored ("..__sample_idx").

A hint is offered only for a failing check, and only when the student's value
matches the mistake's value to np.allclose's tolerance. Every hint here has a
test (tests/test_grader_hints.py) showing that it fires on the matching bug
and stays silent on a correct implementation.
"""
import os

import numpy as np

HINT_FILE = "hint_values.npz"
P = 0.4       # the Dropout2d section's p
ALPHA = 0.4   # the BatchNorm2d section's alpha

# grader quantity name -> course key, used to find stored hint values
COURSE_KEY = {
    ("Dropout2d", "forward"): "forward",
    ("Dropout2d", "backward"): "backward",
    ("BatchNorm2d", "forward (train)"): "fw_train",
    ("BatchNorm2d", "forward (eval)"): "fw_eval",
    ("BatchNorm2d", "running_M"): "running_M",
    ("BatchNorm2d", "running_V"): "running_V",
    ("BatchNorm2d", "dLdZ"): "bw",
    ("Resnet", "forward"): "forward",
    ("Resnet", "backward"): "backward",
}

# stored mistakes: (section, course key, mistake) -> message
STORED = {
    ("Dropout2d", "forward", "elementwise_mask"):
        "these are the values of a mask drawn per element, shape (N, C, H, "
        "W); Dropout2d drops whole channels: draw np.random.binomial(1, "
        "1 - p, size=(N, C, 1, 1))",
    ("Dropout2d", "backward", "elementwise_mask"):
        "these are the values of a mask drawn per element, shape (N, C, H, "
        "W); Dropout2d drops whole channels (mask shape (N, C, 1, 1))",
    ("Dropout2d", "forward", "p_as_keep"):
        "these are the values you get when p is taken as the probability of "
        "KEEPING a channel; p is the drop probability: draw binomial(1, "
        "1 - p, ...) and scale by 1/(1-p)",
    ("Dropout2d", "backward", "p_as_keep"):
        "these are the values you get when p is taken as the probability of "
        "KEEPING a channel; p is the drop probability",
    ("BatchNorm2d", "running_V", "unbiased"):
        "these are the values an UNBIASED batch variance (divided by "
        "N*H*W - 1) gives; the course averages the biased one (divided by "
        "N*H*W) into running_V",
    ("BatchNorm2d", "fw_eval", "unbiased"):
        "these are the values eval gives when running_V averages the "
        "UNBIASED batch variance; use the biased one (divide by N*H*W)",
    ("BatchNorm2d", "running_M", "alpha_on_batch"):
        "these are the values of alpha weighing the NEW batch (PyTorch's "
        "momentum rule); here running = alpha * running + (1 - alpha) * batch",
    ("BatchNorm2d", "running_V", "alpha_on_batch"):
        "these are the values of alpha weighing the NEW batch (PyTorch's "
        "momentum rule); here running = alpha * running + (1 - alpha) * batch",
    ("BatchNorm2d", "fw_eval", "alpha_on_batch"):
        "these are the values eval gives when the running statistics let "
        "alpha weigh the NEW batch; alpha weighs the old running value",
    ("BatchNorm2d", "fw_train", "unbiased"):
        "these are the values of normalising with the UNBIASED variance "
        "(divided by N*H*W - 1); normalise with the biased one",
    ("BatchNorm2d", "bw", "stats_as_constants"):
        "these are the values of dLdBZ * BW / sqrt(var + eps), which treats "
        "the batch mean and variance as constants; they depend on Z too, "
        "so dLdZ has two more terms",
    ("Resnet", "backward", "main_only"):
        "the input gradient is the main branch's alone: add the gradient "
        "that flows back through the shortcut (residual_connection)",
    ("Resnet", "forward", "no_shortcut"):
        "the output is relu(main branch) alone: the shortcut "
        "(residual_connection) is not added before the final ReLU",
    ("Resnet", "backward", "no_shortcut"):
        "this is the gradient of a block without its shortcut "
        "(residual_connection): the shortcut is not added",
    ("Resnet", "forward", "no_final_relu"):
        "the output is main + shortcut without the final ReLU "
        "(final_activation)",
    ("Resnet", "backward", "no_final_relu"):
        "this is the gradient of a block without its final ReLU "
        "(final_activation)",
}

_ORDER_NAMES = {"conv1": "first ConvBlock", "conv2": "second ConvBlock",
                "shortcut": "shortcut"}


def _order_message(order):
    names = ", ".join(_ORDER_NAMES[n] for n in order.split("_"))
    return ("these are the values of weights drawn in the order %s; the "
            "course draws them for the first ConvBlock, then the second "
            "ConvBlock, then the shortcut (create the layers in that order)"
            % names)


class HintBook(object):
    """Hints for failing checks, from the stored and derived mistake values."""

    def __init__(self, folder):
        self.path = os.path.join(folder, HINT_FILE)
        self._values = None

    @property
    def values(self):
        """The stored mistake values, read on first use (only on failure)."""
        if self._values is None:
            self._values = {}
            if os.path.exists(self.path):
                with np.load(self.path) as data:
                    self._values = {key: data[key] for key in data.files}
        return self._values

    def hints(self, section, quantity, actual, expected, context=None):
        """Messages for every known mistake `actual` matches (maybe none)."""
        if not isinstance(actual, np.ndarray):
            return []
        if np.shape(actual) != np.shape(expected):
            return []
        try:
            actual = np.asarray(actual, dtype=np.float64)
        except (TypeError, ValueError):
            return []
        found = []
        for candidate, message in self._candidates(section, quantity,
                                                   expected, context or {}):
            if _matches(actual, candidate):
                found.append(message)
        return found

    def _candidates(self, section, quantity, expected, context):
        """(values or (idx, values), message) pairs for this quantity."""
        yield from _derived(section, quantity, expected, context)
        key = COURSE_KEY.get((section, quantity))
        if key is None:
            return
        prefix = "%s__%s__" % (section, key)
        idx = self.values.get(prefix + "sample_idx")
        for name in sorted(self.values):
            if not name.startswith(prefix) or name.endswith("sample_idx"):
                continue
            mistake = name[len(prefix):]
            if mistake.startswith("order_"):
                message = _order_message(mistake[len("order_"):])
            else:
                message = STORED.get((section, key, mistake))
            if message is None:
                continue
            value = self.values[name]
            yield ((idx, value) if idx is not None else value), message


def _derived(section, quantity, expected, context):
    """Mistakes whose values follow from the expected ones."""
    e = np.asarray(expected, dtype=np.float64)
    if section == "Dropout2d" and quantity in ("forward", "backward"):
        yield e * (1 - P), (
            "the %s is the expected one times (1 - p): the kept channels "
            "are not scaled by 1/(1 - p)" % quantity)
    if section == "BatchNorm2d":
        if quantity == "forward (eval)" and "fw_train" in context:
            yield context["fw_train"], (
                "eval normalised with the batch's own mean and variance; "
                "with eval=True use running_M and running_V")
        if quantity == "dLdBW" and "dLdBb" in context:
            yield context["dLdBb"], (
                "dLdBW holds what dLdBb should: the two are swapped")
        if quantity == "dLdBb" and "dLdBW" in context:
            yield context["dLdBW"], (
                "dLdBb holds what dLdBW should: the two are swapped")
        if quantity in ("running_M after eval", "running_V after eval"):
            # eval updating the running statistics once more with the same
            # batch; the old values before training were 0 (M) and 1 (V).
            if quantity == "running_M after eval":
                batch = e / (1 - ALPHA)
            else:
                batch = (e - ALPHA) / (1 - ALPHA)
            yield ALPHA * e + (1 - ALPHA) * batch, (
                "eval=True updated the running statistics again; in eval "
                "mode BatchNorm2d must change no state")


def _matches(actual, candidate):
    if isinstance(candidate, tuple):
        idx, values = candidate
        actual = actual.ravel()[idx]
        candidate = values
    if actual.shape != np.shape(candidate):
        return False
    return bool(np.allclose(actual, candidate))
