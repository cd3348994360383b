"""The grader's expected values: the course's sums, keys, and a fresh remake.

The shipped .npz files must reproduce the sums the course published for its
own files (copied here by hand, the independent source), keep exactly the
course's keys, and equal a fresh run of tools/make_expected.py (PyTorch),
which writes to a temporary folder for the comparison.
"""
import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest

from test_grader_support import child_env

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GRADER_DIR = os.path.join(ROOT, "autograder", "hw2_bonus_autograder")
SCRIPT = os.path.join(ROOT, "tools", "make_expected.py")

COURSE_KEYS = {
    "sol_dropout2d_handout.npz": {"forward": (5, 3, 4, 4),
                                  "backward": (5, 3, 4, 4)},
    "sol_bn2d_handout.npz": {"fw_train": (5, 3, 4, 4),
                             "fw_eval": (5, 3, 4, 4), "bw": (5, 3, 4, 4),
                             "running_M": (1, 3, 1, 1),
                             "running_V": (1, 3, 1, 1),
                             "dLdBb": (1, 3, 1, 1), "dLdBW": (1, 3, 1, 1)},
    "sol_resnet1.npz": {"forward": (5, 64, 34, 34),
                        "backward": (5, 3, 128, 128)},
}

# (file, key, "sum" or "sumsq", value) as the course published them
PUBLISHED = [
    ("sol_dropout2d_handout.npz", "forward", "sum", 130.6088398),
    ("sol_dropout2d_handout.npz", "forward", "sumsq", 143.3006033),
    ("sol_dropout2d_handout.npz", "backward", "sum", 132.3413524),
    ("sol_dropout2d_handout.npz", "backward", "sumsq", 145.4134984),
    ("sol_bn2d_handout.npz", "fw_eval", "sum", 72.24245501),
    ("sol_bn2d_handout.npz", "fw_eval", "sumsq", 66.48812665),
    ("sol_bn2d_handout.npz", "bw", "sumsq", 242.013175),
    ("sol_bn2d_handout.npz", "running_M", "sum", 0.9090671695),
    ("sol_bn2d_handout.npz", "running_V", "sum", 1.351071183),
    ("sol_bn2d_handout.npz", "dLdBb", "sum", 119.2782496),
    ("sol_bn2d_handout.npz", "dLdBW", "sum", 2.560459183),
    ("sol_resnet1.npz", "forward", "sum", 206136.7614),
    ("sol_resnet1.npz", "forward", "sumsq", 360953.2496),
    ("sol_resnet1.npz", "backward", "sum", -1700.313336),
    ("sol_resnet1.npz", "backward", "sumsq", 771085.3117),
]


def _load(folder, name):
    with np.load(os.path.join(folder, name)) as data:
        return {key: data[key] for key in data.files}


def _make_expected_module():
    spec = importlib.util.spec_from_file_location("make_expected_under_test",
                                                  SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", sorted(COURSE_KEYS))
def test_course_files_keep_exactly_the_course_keys(name):
    arrays = _load(GRADER_DIR, name)
    assert sorted(arrays) == sorted(COURSE_KEYS[name])
    for key, shape in COURSE_KEYS[name].items():
        assert arrays[key].shape == shape, key
        assert arrays[key].dtype == np.float64, key
        assert np.all(np.isfinite(arrays[key])), key


@pytest.mark.parametrize("name, key, what, value", PUBLISHED,
                         ids=["%s-%s-%s" % p[:3] for p in PUBLISHED])
def test_shipped_values_reproduce_the_published_sums(name, key, what, value):
    array = _load(GRADER_DIR, name)[key]
    got = array.sum() if what == "sum" else (array ** 2).sum()
    # the course printed 10 significant digits
    assert got == pytest.approx(value, rel=2e-9, abs=1e-8)


def test_hint_values_differ_from_the_correct_ones():
    """No stored mistake equals the correct value, so no hint fires on it."""
    hints = _load(GRADER_DIR, "hint_values.npz")
    files = {"Dropout2d": "sol_dropout2d_handout.npz",
             "BatchNorm2d": "sol_bn2d_handout.npz",
             "Resnet": "sol_resnet1.npz"}
    checked = 0
    for name, value in hints.items():
        if name.endswith("sample_idx"):
            continue
        section, key, _ = name.split("__", 2)
        correct = _load(GRADER_DIR, files[section])[key]
        idx = hints.get("%s__%s__sample_idx" % (section, key))
        if idx is not None:
            correct = correct.ravel()[idx]
        assert correct.shape == value.shape, name
        assert not np.allclose(value, correct), name
        checked += 1
    assert checked >= 20


def test_published_check_refuses_a_drifted_value():
    module = _make_expected_module()
    files = {name: _load(GRADER_DIR, name) for name in COURSE_KEYS}
    files = {name: {key: files[name][key] for key in keys}
             for name, keys in module.COURSE_FILES.items()}
    module.check_published(files)  # the shipped values pass
    files["sol_bn2d_handout.npz"]["running_V"] = (
        files["sol_bn2d_handout.npz"]["running_V"] * (1 + 1e-6))
    with pytest.raises(ValueError, match="running_V"):
        module.check_published(files)


@pytest.mark.torch
def test_shipped_files_equal_a_fresh_regeneration(tmp_path):
    """rtol 1e-12: thread counts change the last bits, nothing more."""
    proc = subprocess.run([sys.executable, SCRIPT, "--out-dir", str(tmp_path)],
                          env=child_env(), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr
    names = sorted(COURSE_KEYS) + ["hint_values.npz"]
    assert sorted(os.listdir(str(tmp_path))) == sorted(names)
    for name in names:
        shipped = _load(GRADER_DIR, name)
        fresh = _load(str(tmp_path), name)
        assert sorted(shipped) == sorted(fresh), name
        for key in shipped:
            a, b = shipped[key], fresh[key]
            assert a.shape == b.shape and a.dtype == b.dtype, (name, key)
            scale = max(float(np.abs(b).max()), 1.0)
            assert np.allclose(a, b, rtol=1e-12, atol=1e-12 * scale), \
                (name, key, float(np.abs(a - b).max()))
