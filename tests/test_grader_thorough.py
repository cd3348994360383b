"""The grader's --thorough report: passes on the library, catches what
Autolab cannot see, and says so by section, class and quantity."""
import pytest

from test_grader_support import (FULL, patched_root, py38_python, run_grader)

pytestmark = pytest.mark.torch


@pytest.fixture(autouse=True)
def _needs_torch():
    pytest.importorskip("torch")


def test_thorough_passes_on_the_library():
    result = run_grader("--thorough")
    assert result.returncode == 0, result
    assert result.scores == FULL
    assert "Thorough report (not part of the scores)" in result.stdout
    assert "FAIL" not in result.stdout
    for name in ("Resnet / ResBlock vs torch (identity shortcut)",
                 "Resnet / Conv2d / gradient check",
                 "BatchNorm2d / BatchNorm2d / eval changes no state",
                 "Dropout2d / Dropout2d / dLdx gradient check"):
        assert "  PASS  " + name in result.stdout, name
    # the JSON line stays last
    assert result.last_line.startswith('{"scores"')


IDENTITY_SHORTCUT_IGNORED = """
_orig_init = ResBlock.__init__
def _init(self, *args, **kwargs):
    _orig_init(self, *args, **kwargs)
    if type(self.residual_connection).__name__ == "Identity":
        self.residual_connection.forward = lambda A, *rest: 0.0
        self.residual_connection.backward = lambda g: 0.0
ResBlock.__init__ = _init
"""


def test_identity_shortcut_ignored_is_caught_though_autolab_passes(tmp_path):
    root = patched_root(tmp_path, "models/resnet.py",
                        IDENTITY_SHORTCUT_IGNORED)
    result = run_grader("--thorough", "--section", "Resnet", root=root)
    assert result.scores == {"Resnet": 5}  # Autolab's check cannot see it
    assert result.returncode == 1
    assert "  FAIL  Resnet / ResBlock vs torch (identity shortcut)" \
        in result.stdout, result
    assert "  PASS  Resnet / ResBlock vs torch (convolution shortcut)" \
        in result.stdout


INPUT_SCALED_IN_PLACE = """
_orig = Dropout2d.forward
def _fw(self, x, eval=False):
    out = _orig(self, x, eval)
    if not eval:
        x *= 1.0
        x += 0.5
        x -= 0.5
        x[(0,) * x.ndim] += 1e-3
    return out
Dropout2d.forward = _fw
"""


def test_in_place_change_of_the_input_is_caught(tmp_path):
    root = patched_root(tmp_path, "mytorch/dropout2d.py",
                        INPUT_SCALED_IN_PLACE)
    result = run_grader("--thorough", "--section", "Dropout2d", root=root)
    assert "  FAIL  Dropout2d / Dropout2d vs torch" in result.stdout, result
    assert "changed the caller's input array in place" in result.stdout
    assert result.returncode == 1


EVAL_CHANGES_STATE = """
_orig = BatchNorm2d.forward
def _fw(self, Z, eval=False):
    out = _orig(self, Z, eval)
    if eval:
        self.last_eval_input = Z.copy()
    return out
BatchNorm2d.forward = _fw
"""


def test_eval_changing_state_is_caught(tmp_path):
    root = patched_root(tmp_path, "mytorch/batchnorm2d.py",
                        EVAL_CHANGES_STATE)
    result = run_grader("--thorough", "--section", "BatchNorm2d", root=root)
    assert result.scores == {"BatchNorm2d": 5}
    assert "  FAIL  BatchNorm2d / BatchNorm2d / eval changes no state" \
        in result.stdout, result
    assert "last_eval_input" in result.stdout


ACCUMULATING_BACKWARD = """
_orig_bw = BatchNorm2d.backward
def _bw(self, dLdBZ):
    previous = getattr(self, "_acc", 0.0)
    out = _orig_bw(self, dLdBZ)
    self.dLdBW = self.dLdBW + previous
    self._acc = self.dLdBW
    return out
BatchNorm2d.backward = _bw
"""


def test_unstable_repeated_backward_is_caught(tmp_path):
    root = patched_root(tmp_path, "mytorch/batchnorm2d.py",
                        ACCUMULATING_BACKWARD)
    result = run_grader("--thorough", "--section", "BatchNorm2d", root=root)
    assert "  FAIL  BatchNorm2d / BatchNorm2d vs torch" in result.stdout, \
        result
    assert "dLdBW" in result.stdout


WRONG_CONV_WEIGHT_GRADIENT = """
_orig_bw = Conv2d_stride1.backward
def _bw(self, dLdZ):
    out = _orig_bw(self, dLdZ)
    self.dLdW = self.dLdW * 1.01
    return out
Conv2d_stride1.backward = _bw
"""


def test_wrong_weight_gradient_fails_torch_and_central_differences(tmp_path):
    root = patched_root(tmp_path, "mytorch/Conv2d.py",
                        WRONG_CONV_WEIGHT_GRADIENT)
    result = run_grader("--thorough", "--section", "Resnet", root=root)
    assert result.scores == {"Resnet": 5}  # the graded check reads no dLdW
    out = result.stdout
    assert "  FAIL  Resnet / Conv2d_stride1 vs torch" in out, result
    assert "  FAIL  Resnet / Conv2d_stride1 / gradient check" in out
    assert "dLdW (central differences)" in out
    assert "dLdW C_in=" in out


@pytest.mark.skipif(py38_python() is None, reason="no Python 3.8 env")
def test_without_torch_the_report_is_skipped_not_failed():
    result = run_grader("--thorough", "--section", "Dropout2d",
                        python=py38_python())
    assert result.returncode == 0, result
    assert "skipped: it needs PyTorch" in result.stdout
