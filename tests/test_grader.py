"""The local grader end to end, always as a separate process.

Verdicts must be Autolab's: 15/15 for the repository's library, the exact
JSON line last, a NotImplementedError costing only its own section, any other
exception (or a failing import) zeroing every section. Around them: where it
finds the code, its options, and the diagnosis printed on failure.
"""
import json
import os
import shutil
import subprocess
import sys

import pytest

from test_grader_support import (FULL, GRADER_DIR, ROOT, RUNNER, child_env,
                                 copy_library, patched_root, py38_python,
                                 run_grader)

JSON_LINE = '{"scores": {"Dropout2d": 5, "BatchNorm2d": 5, "Resnet": 5}}'


# ------------------------------------------------------------- full marks

@pytest.fixture(scope="module")
def full_run():
    """One full run from the top level, shared by the tests that read it."""
    return run_grader(runner=os.path.relpath(RUNNER, ROOT), cwd=ROOT)


def test_full_marks_from_the_top_level(full_run):
    result = full_run
    assert result.returncode == 0, result
    assert result.last_line == JSON_LINE, result
    assert result.stdout.count(" PASS ") == 3, result
    assert "FAIL" not in result.stdout and "ERROR" not in result.stdout


def test_correct_code_gets_no_warnings_and_no_hints(full_run):
    assert full_run.stderr == "", full_run
    assert "hint" not in full_run.stdout, full_run


def test_scores_line_is_valid_json_with_course_names(full_run):
    scores = json.loads(full_run.last_line)
    assert list(scores) == ["scores"]
    assert list(scores["scores"]) == list(FULL)


def test_full_marks_from_another_folder(tmp_path):
    result = run_grader("--section", "Dropout2d", cwd=str(tmp_path))
    assert result.returncode == 0, result
    assert result.last_line == '{"scores": {"Dropout2d": 5}}'


@pytest.mark.skipif(py38_python() is None,
                    reason="no Python 3.8 + NumPy 1.18.5 at /work/venvs/py38")
def test_full_marks_on_python38_numpy118():
    result = run_grader(python=py38_python())
    assert result.returncode == 0, result
    assert result.last_line == JSON_LINE
    assert "NumPy 1.18.5" in result.stdout


def test_each_section_reports_its_time(full_run):
    for section in FULL:
        line = [l for l in full_run.stdout.splitlines()
                if l.startswith(section + " ")]
        assert len(line) == 1 and line[0].rstrip().endswith(" ms"), full_run


# ---------------------------------------------------------------- options

def test_json_prints_only_the_json_line():
    result = run_grader("--json", "--section", "BatchNorm2d")
    assert result.returncode == 0, result
    assert result.stdout == '{"scores": {"BatchNorm2d": 5}}\n'


def test_section_grades_only_the_named_sections():
    result = run_grader("--section", "batchnorm2d", "--section", "Dropout2d")
    assert result.returncode == 0, result
    # course order, whatever the order asked
    assert result.last_line == ('{"scores": {"Dropout2d": 5, '
                                '"BatchNorm2d": 5}}')
    assert "Resnet" not in result.stdout


def test_unknown_section_is_a_usage_error():
    result = run_grader("--section", "Conv2d")
    assert result.returncode == 2
    assert "unknown section" in result.stderr


def test_verbose_lists_the_passing_checks():
    result = run_grader("--verbose", "--section", "BatchNorm2d")
    assert result.returncode == 0, result
    for quantity in ("forward (train)", "running_M", "running_V",
                     "forward (eval)", "running_M after eval",
                     "running_V after eval", "dLdZ", "dLdBb", "dLdBW"):
        assert "ok    BatchNorm2d / %s\n" % quantity in result.stdout, quantity


def test_root_option_and_environment_variable(tmp_path):
    root = copy_library(tmp_path / "copy")
    by_option = run_grader("--section", "Dropout2d", root=root)
    assert by_option.scores == {"Dropout2d": 5}, by_option
    assert "grading %s " % root in by_option.stdout
    by_env = run_grader("--section", "Dropout2d",
                        env={"HW2_GRADER_ROOT": str(root)})
    assert "grading %s " % root in by_env.stdout
    # the root really is the one graded: empty course folders score nothing
    empty = tmp_path / "empty"
    (empty / "mytorch").mkdir(parents=True)
    (empty / "models").mkdir()
    nothing = run_grader(root=empty)
    assert nothing.returncode == 1
    assert nothing.scores == {"Dropout2d": 0, "BatchNorm2d": 0, "Resnet": 0}
    assert "ModuleNotFoundError" in nothing.stdout


def test_grader_copied_beside_a_library_finds_it_two_folders_up(tmp_path):
    root = copy_library(tmp_path / "student")
    dest = os.path.join(str(root), "autograder", "hw2_bonus_autograder")
    shutil.copytree(GRADER_DIR, dest,
                    ignore=shutil.ignore_patterns("__pycache__"))
    result = run_grader("--section", "BatchNorm2d",
                        runner=os.path.join(dest, "runner.py"),
                        cwd=str(tmp_path))
    assert result.returncode == 0, result
    assert "grading %s " % root in result.stdout


def test_symlinked_runner_still_finds_its_helpers(tmp_path):
    link = tmp_path / "runner.py"
    os.symlink(RUNNER, str(link))
    result = run_grader("--section", "Dropout2d", runner=str(link),
                        cwd=str(tmp_path))
    assert result.returncode == 0, result
    assert "grading %s " % ROOT in result.stdout


# Usage and installation problems exit 2 (as the docstring says), with a
# message saying what is wrong and no JSON line: nothing was graded.

def _usage_error(result, *words):
    assert result.returncode == 2, result
    assert result.stdout == "", result
    for word in words:
        assert word in result.stderr, (word, result)


def test_a_root_that_does_not_exist_is_a_usage_error(tmp_path):
    missing = tmp_path / "nowhere"
    _usage_error(run_grader(root=missing),
                 "--root %s: no such folder" % missing)
    _usage_error(run_grader(env={"HW2_GRADER_ROOT": str(missing)}),
                 "$HW2_GRADER_ROOT %s: no such folder" % missing)


@pytest.mark.parametrize("present", [(), ("mytorch",), ("models",)],
                         ids=["neither", "no-models", "no-mytorch"])
def test_a_root_without_the_course_folders_is_a_usage_error(tmp_path,
                                                            present):
    for sub in present:
        (tmp_path / sub).mkdir()
    missing = [s + "/" for s in ("mytorch", "models") if s not in present]
    _usage_error(run_grader(root=tmp_path),
                 "--root %s has no %s folder" % (tmp_path,
                                                 " and no ".join(missing)))


@pytest.mark.parametrize("args", [["--bogus"], ["--root"],
                                  ["--section", "Conv2d"]],
                         ids=["unknown-option", "root-without-folder",
                              "unknown-section"])
def test_bad_options_are_usage_errors(args):
    _usage_error(run_grader(*args), "usage:")


def test_no_numpy_is_an_installation_error(tmp_path):
    # python -S leaves site-packages, and so NumPy, off sys.path
    probe = subprocess.run([sys.executable, "-S", "-c", "import numpy"],
                           env=child_env(), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
    if probe.returncode == 0:
        pytest.skip("NumPy is importable without site-packages here")
    proc = subprocess.run([sys.executable, "-S", RUNNER], cwd=str(tmp_path),
                          env=child_env(), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True,
                          timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert "NumPy is not installed" in proc.stderr
    assert "pip install numpy" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_missing_expected_values_are_a_grader_error(tmp_path):
    dest = tmp_path / "grader"
    shutil.copytree(GRADER_DIR, str(dest),
                    ignore=shutil.ignore_patterns("__pycache__", "sol_bn2d*"))
    result = run_grader("--section", "BatchNorm2d", root=ROOT,
                        runner=str(dest / "runner.py"))
    assert result.returncode == 2, result
    assert "sol_bn2d_handout.npz" in result.stderr


# --------------------------------------------------- Autolab's verdicts

NOT_IMPLEMENTED_BACKWARD = """
def _not_done(self, delta):
    raise NotImplementedError
Dropout2d.backward = _not_done
"""

HANDOUT_STUB_BACKWARD = """
def _stub(self, delta):
    raise NotImplemented
Dropout2d.backward = _stub
"""


def test_not_implemented_error_zeroes_only_its_section(tmp_path):
    root = patched_root(tmp_path, "mytorch/dropout2d.py",
                        NOT_IMPLEMENTED_BACKWARD)
    result = run_grader(root=root)
    assert result.returncode == 1
    assert result.scores == {"Dropout2d": 0, "BatchNorm2d": 5, "Resnet": 5}
    assert "Autolab scores this section 0 and goes on" in result.flat
    assert "AUTOLAB WOULD" not in result.stdout


def test_other_exception_zeroes_every_section_and_says_why(tmp_path):
    root = patched_root(tmp_path, "mytorch/dropout2d.py",
                        HANDOUT_STUB_BACKWARD)
    result = run_grader(root=root)
    assert result.returncode == 1
    assert result.scores == {"Dropout2d": 0, "BatchNorm2d": 0, "Resnet": 0}
    out = result.stdout
    assert "AUTOLAB WOULD RECORD NO SCORES" in out
    assert "Dropout2d: TypeError raised during backward(delta)" in out
    # where, in the student's code
    assert "mytorch/dropout2d.py, line" in out and "in _stub" in out
    assert "raise NotImplemented" in out
    # the other sections are still graded, for information
    assert "Dropout2d 0/5, BatchNorm2d 5/5, Resnet 5/5" in result.flat
    assert ("hint: `raise NotImplemented` raises this TypeError"
            in result.flat)
    assert result.last_line.startswith('{"scores"')


def test_json_mode_still_says_why_on_stderr(tmp_path):
    root = patched_root(tmp_path, "mytorch/dropout2d.py",
                        HANDOUT_STUB_BACKWARD)
    result = run_grader("--json", "--section", "Dropout2d", root=root)
    assert result.stdout == '{"scores": {"Dropout2d": 0}}\n'
    assert "AUTOLAB WOULD RECORD NO SCORES" in result.stderr


def test_import_error_zeroes_every_section(tmp_path):
    root = patched_root(tmp_path, "mytorch/batchnorm2d.py", "x = (\n")
    result = run_grader(root=root)
    assert result.returncode == 1
    assert result.scores == {"Dropout2d": 0, "BatchNorm2d": 0, "Resnet": 0}
    assert "SyntaxError raised during import batchnorm2d" in result.stdout
    assert "mytorch/batchnorm2d.py, line" in result.stdout
    # Dropout2d does not need batchnorm2d: graded for information
    assert "Dropout2d 5/5" in result.stdout
    # resnet imports batchnorm2d and fails too, but Autolab, importing
    # everything before grading, already stopped at the first failure
    assert result.stdout.count("AUTOLAB WOULD STOP HERE") == 1, result
    assert ("SyntaxError raised during import resnet" in result.stdout
            ), result
    assert ("Autolab would stop here too (its run already stopped at import "
            "batchnorm2d)." in result.flat), result


BATCHNORM_BACKWARD_RAISES = """
def _bw(self, dLdBZ):
    raise {0}("not yet")
BatchNorm2d.backward = _bw
"""


@pytest.mark.parametrize("error, wording", [
    ("RuntimeError", "Autolab would stop here too (its run already stopped "
                     "at Dropout2d)."),
    ("NotImplementedError", "NotImplementedError: Autolab would score this "
                            "section 0 and go on with the others, had its "
                            "run not already stopped at Dropout2d."),
], ids=["RuntimeError", "NotImplementedError"])
def test_a_later_exception_points_back_to_where_autolab_stopped(
        tmp_path, error, wording):
    root = patched_root(tmp_path, "mytorch/dropout2d.py",
                        HANDOUT_STUB_BACKWARD)
    with open(os.path.join(str(root), "mytorch", "batchnorm2d.py"),
              "a") as handle:
        handle.write(BATCHNORM_BACKWARD_RAISES.format(error))
    result = run_grader("--section", "Dropout2d", "--section", "BatchNorm2d",
                        root=root)
    assert result.scores == {"Dropout2d": 0, "BatchNorm2d": 0}, result
    first, second = result.flat.split("ERROR BatchNorm2d", 1)
    assert "AUTOLAB WOULD STOP HERE" in first, result
    assert wording in second, result
    assert "AUTOLAB WOULD STOP HERE" not in second, result
    assert "goes on with the others" not in second, result
    assert ("Dropout2d: TypeError raised during backward(delta)"
            in result.flat), result


def test_exception_after_a_failed_check_does_not_stop_autolab(tmp_path):
    # forward is wrong, then backward raises: Autolab's section ends at the
    # failed forward check and never calls backward.
    code = """
_orig = Dropout2d.forward
def _fw(self, x, eval=False):
    return _orig(self, x, eval) * 2
def _bw(self, delta):
    raise ValueError("boom")
Dropout2d.forward = _fw
Dropout2d.backward = _bw
"""
    root = patched_root(tmp_path, "mytorch/dropout2d.py", code)
    result = run_grader("--section", "Dropout2d", root=root)
    assert result.scores == {"Dropout2d": 0}
    assert "never gets here" in result.flat
    assert "hint" not in result.stdout
    assert "AUTOLAB WOULD" not in result.stdout


def test_a_missing_class_is_an_error_that_stops_autolab(tmp_path):
    root = patched_root(tmp_path, "models/resnet.py", "del ResBlock\n")
    result = run_grader("--section", "Resnet", root=root)
    assert result.scores == {"Resnet": 0}
    assert "AUTOLAB WOULD RECORD NO SCORES" in result.stdout
    assert "AttributeError raised during ResBlock(" in result.stdout


# ---------------------------------------------------------- diagnosis

def test_failure_names_section_quantity_and_where(tmp_path):
    code = """
_orig = BatchNorm2d.forward
def _fw(self, Z, eval=False):
    out = _orig(self, Z, eval)
    if not eval:
        self.running_V = self.running_V + 0.01 * (np.arange(3) == 2
                                                  ).reshape(1, 3, 1, 1)
    return out
BatchNorm2d.forward = _fw
"""
    root = patched_root(tmp_path, "mytorch/batchnorm2d.py", code)
    result = run_grader("--section", "BatchNorm2d", root=root)
    out = result.stdout
    assert result.returncode == 1
    assert result.scores == {"BatchNorm2d": 0}
    assert "FAIL  BatchNorm2d / running_V\n" in out
    assert "expected: ndarray, dtype float64, shape (1, 3, 1, 1)" in out
    assert "1 of 3 elements differ" in out
    assert "largest absolute error 0.01," in out
    assert "worst element at [0, 2, 0, 0]" in out
    assert "excerpt [0, 0:3, 0, 0]" in out
    assert "*" in out
    # running_V's later checks fail too, with their own names
    assert "FAIL  BatchNorm2d / running_V after eval" in out
    assert "FAIL  BatchNorm2d / running_M\n" not in out


def test_wrong_type_and_shape_are_reported_without_crashing(tmp_path):
    code = """
def _fw(self, x, eval=False):
    return None if not eval else x[:, :1]
def _bw(self, delta):
    return delta.tolist()
Dropout2d.forward = _fw
Dropout2d.backward = _bw
"""
    root = patched_root(tmp_path, "mytorch/dropout2d.py", code)
    result = run_grader("--section", "Dropout2d", root=root)
    out = result.stdout
    assert result.scores == {"Dropout2d": 0}
    assert "got     : NoneType" in out
    assert "the shapes differ" in out
    assert "got     : list of length 5" in out


def test_excerpt_is_small_for_big_arrays(tmp_path):
    code = """
_orig = ResBlock.forward
def _fw(self, A, eval=False):
    return _orig(self, A, eval) + 1.0
ResBlock.forward = _fw
"""
    root = patched_root(tmp_path, "models/resnet.py", code)
    result = run_grader("--section", "Resnet", root=root)
    out = result.stdout
    assert "FAIL  Resnet / forward" in out
    assert "369920 of 369920 elements differ" in out
    assert len(out.splitlines()) < 60, out


def test_inplace_change_of_the_input_is_noted(tmp_path):
    code = """
_orig = Dropout2d.forward
def _fw(self, x, eval=False):
    out = _orig(self, x, eval)
    if not eval:
        x *= 1.0 + 1e-3
    return out
Dropout2d.forward = _fw
"""
    root = patched_root(tmp_path, "mytorch/dropout2d.py", code)
    result = run_grader("--section", "Dropout2d", root=root)
    assert ("note: forward(x) changed the caller's array x in place"
            in result.flat), result


def test_student_prints_do_not_spoil_json(tmp_path):
    code = """
_orig = Dropout2d.forward
def _fw(self, x, eval=False):
    print("debug", x.shape)
    return _orig(self, x, eval)
Dropout2d.forward = _fw
print("imported")
"""
    root = patched_root(tmp_path, "mytorch/dropout2d.py", code)
    result = run_grader("--json", "--section", "Dropout2d", root=root)
    assert result.stdout == '{"scores": {"Dropout2d": 5}}\n'
    assert "debug" in result.stderr



# ------------------------------ the exit status follows the JSON scores

@pytest.mark.parametrize("json_mode", [False, True], ids=["text", "json"])
def test_import_error_of_a_module_not_graded_fails_and_is_shown(
        tmp_path, json_mode):
    # Autolab imports every module before grading: a syntax error in
    # batchnorm2d.py zeroes Dropout2d too, though Dropout2d's checks pass.
    root = patched_root(tmp_path, "mytorch/batchnorm2d.py", "x = (\n")
    args = ["--section", "Dropout2d"] + (["--json"] if json_mode else [])
    result = run_grader(*args, root=root)
    assert result.scores == {"Dropout2d": 0}, result
    assert result.returncode == 1, result
    said = " ".join((result.stderr if json_mode else result.stdout).split())
    assert "ERROR import batchnorm2d" in said, result
    assert "SyntaxError raised during import batchnorm2d" in said, result
    assert "mytorch/batchnorm2d.py, line" in said, result
    assert "AUTOLAB WOULD STOP HERE" in said, result
    # resnet imports batchnorm2d: shown too, pointing back to the first
    assert ("Autolab would stop here too (its run already stopped at import "
            "batchnorm2d)" in said), result


def test_missing_module_of_another_section_fails(tmp_path):
    root = copy_library(tmp_path / "root")
    os.remove(os.path.join(str(root), "models", "resnet.py"))
    result = run_grader("--section", "Dropout2d", root=root)
    assert result.scores == {"Dropout2d": 0}, result
    assert result.returncode == 1, result
    assert "ModuleNotFoundError raised during import resnet" in result.flat
    assert "No module named 'resnet'" in result.stdout


def test_sections_never_graded_are_not_given_a_would_be_score(tmp_path):
    root = patched_root(tmp_path, "mytorch/batchnorm2d.py", "x = (\n")
    result = run_grader(root=root)
    assert ("would score: Dropout2d 5/5, BatchNorm2d not graded (import "
            "failed), Resnet not graded (import failed)" in result.flat
            ), result
    assert "BatchNorm2d 0/5" not in result.flat, result


# --------------------------------------- Autolab's sys.path, not ours

PACKAGE_STYLE_IMPORT = """
from mytorch.Conv2d import Conv2d
"""


def test_package_style_import_fails_as_it_does_on_autolab(tmp_path):
    # Autolab's runner puts mytorch/ and models/ on sys.path, not the
    # folder holding them: `import mytorch.X` fails there, so Autolab
    # records nothing.
    root = patched_root(tmp_path, "models/resnet.py", PACKAGE_STYLE_IMPORT)
    result = run_grader(root=root)
    assert result.returncode == 1, result
    assert result.scores == {"Dropout2d": 0, "BatchNorm2d": 0, "Resnet": 0}
    assert ("ModuleNotFoundError raised during import resnet"
            in result.stdout), result
    assert "No module named 'mytorch'" in result.stdout
    assert "models/resnet.py, line" in result.stdout
    assert ("hint: Autolab puts only the folders mytorch/ and models/ on "
            "sys.path" in result.flat), result
    assert "AUTOLAB WOULD RECORD NO SCORES" in result.stdout


def test_grader_puts_only_the_course_folders_on_sys_path(tmp_path):
    code = """
import sys as _sys
print("SYSPATH", repr(_sys.path))
"""
    root = patched_root(tmp_path, "mytorch/dropout2d.py", code)
    result = run_grader("--section", "Dropout2d", root=root,
                        cwd=str(root))
    assert result.returncode == 0, result
    line = [l for l in result.stdout.splitlines()
            if l.startswith("SYSPATH ")]
    assert len(line) == 1, result
    path = [os.path.realpath(p or os.curdir)
            for p in eval(line[0][len("SYSPATH "):])]
    top = os.path.realpath(str(root))
    assert top not in path, path
    assert os.path.join(top, "mytorch") in path
    assert os.path.join(top, "models") in path
