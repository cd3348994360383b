"""The grader catches real bugs: it is run on deliberately broken libraries.

Each mutant (tests/mutants/) is the real library with one realistic bug
edited into one course file. Every test below grades a mutant in a separate
process (the grader's test.py would collide with Python's own `test` package
in-process) and states what the grader must say: which section fails and on
which quantity, which hint, warning or --thorough check fires, and that the
other sections' own results still show as passing. The control, the
unmodified library copied the same way, scores 15/15 with nothing on stderr.

Only the --thorough runs need PyTorch (marked `torch`); the rest runs on
Python 3.8 + NumPy 1.18.5 too, grading with that interpreter.
"""
import json
import os
import re
import subprocess
import sys

import pytest

from mutants import BY_NAME, ROOT, copy_course_files, make_root, mutate
from test_grader_support import child_env

RUNNER = os.path.join(ROOT, "autograder", "hw2_bonus_autograder", "runner.py")
SECTIONS = ("Dropout2d", "BatchNorm2d", "Resnet")
FULL = {"Dropout2d": 5, "BatchNorm2d": 5, "Resnet": 5}
FULL_LINE = '{"scores": {"Dropout2d": 5, "BatchNorm2d": 5, "Resnet": 5}}\n'
ZERO = {"Dropout2d": 0, "BatchNorm2d": 0, "Resnet": 0}
SECTION_LINE = re.compile(r"^(Dropout2d|BatchNorm2d|Resnet) +(PASS|FAIL|ERROR)"
                          r" +(\d+)/5 +\d+ ms$", re.M)
SCORED_FAIL = re.compile(r"^    FAIL  (.+)$", re.M)     # a scored check
THOROUGH_LINE = re.compile(r"^  (PASS|FAIL)  (.+?)"
                           r"(?: \(\d+ configurations\))?$", re.M)


class Graded(object):
    """One finished grader run."""

    def __init__(self, root, proc):
        self.root = root
        self.returncode = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        lines = self.stdout.strip().splitlines()
        try:
            self.scores = json.loads(lines[-1])["scores"]
        except (IndexError, ValueError, KeyError, TypeError):
            self.scores = None  # the assertions then show the output

    def sections(self):
        """{section: (status, its own score)} from the per-section lines."""
        return {name: (status, int(score)) for name, status, score
                in SECTION_LINE.findall(self.stdout)}

    def failed_checks(self):
        """The scored checks reported as failing, e.g. 'Resnet / forward'."""
        return SCORED_FAIL.findall(self.stdout)

    def thorough(self):
        """{check label: 'PASS' or 'FAIL'} from the --thorough report."""
        report = self.stdout.split("Thorough report", 1)
        assert len(report) == 2, self
        return {label: status for status, label
                in THOROUGH_LINE.findall(report[1])}

    def entry(self, heading):
        """The lines under one heading (a failed check, a section's ERROR,
        a thorough FAIL), whitespace collapsed so wrapped prose matches."""
        lines = self.stdout.splitlines()
        starts = [i for i, line in enumerate(lines)
                  if line.strip() == heading]
        assert len(starts) == 1, (heading, self)
        indent = len(lines[starts[0]]) - len(lines[starts[0]].lstrip())
        body = []
        for line in lines[starts[0] + 1:]:
            if len(line) - len(line.lstrip()) <= indent or not line.strip():
                break
            body.append(line)
        return " ".join(" ".join(body).split())

    def section_block(self, section):
        """Everything printed for one section, whitespace collapsed."""
        match = re.search(r"^%s .*?(?=^\S)" % section, self.stdout + "\nEND",
                          re.M | re.S)
        assert match, (section, self)
        return " ".join(match.group(0).split())

    @property
    def flat(self):
        return " ".join(self.stdout.split())

    def __repr__(self):
        return ("grader run on %s: exit %r\n--- stdout ---\n%s\n--- stderr "
                "---\n%s" % (self.root, self.returncode, self.stdout,
                             self.stderr))


def run_grader(root, *args):
    command = [sys.executable, RUNNER, "--root", root] + list(args)
    proc = subprocess.run(command, cwd=os.path.dirname(root), env=child_env(),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=600)
    return Graded(root, proc)


def grade(name, tmp_path, *args):
    """Grade mutant `name`; returns (Graded, edited line range)."""
    root, lines = make_root(name, str(tmp_path / name))
    result = run_grader(root, *args)
    assert "grading %s " % root in result.stdout or "--json" in args, result
    return result, lines


def line_of(root, relpath, text):
    """The 1-based line of the only line of a file containing text."""
    with open(os.path.join(root, relpath)) as handle:
        found = [i + 1 for i, line in enumerate(handle) if text in line]
    assert len(found) == 1, (relpath, text, found)
    return found[0]


def assert_passing(result, *sections):
    """Each section shows PASS 5/5, with nothing failing under it."""
    shown = result.sections()
    for section in sections:
        assert shown.get(section) == ("PASS", 5), (section, result)
        assert not [c for c in result.failed_checks()
                    if c.startswith(section + " /")], result


# ------------------------------------------------------------ the catalog

@pytest.mark.parametrize("name", sorted(BY_NAME))
def test_each_mutant_applies_once_and_compiles(name, tmp_path):
    root, _ = make_root(name, str(tmp_path))
    mutant = BY_NAME[name]
    with open(os.path.join(root, mutant.path)) as handle:
        source = handle.read()
    compile(source, mutant.path, "exec")
    assert "# BUG" in source


def test_a_stale_snippet_fails_loudly():
    mutant = BY_NAME["dropout_backward_unscaled"]
    with pytest.raises(AssertionError, match="occurs 0 times"):
        mutate("the library changed", mutant)
    with pytest.raises(AssertionError, match="occurs 2 times"):
        mutate(mutant.old * 2, mutant)


def test_every_mutant_is_graded_by_a_test_here():
    with open(os.path.abspath(__file__)) as handle:
        source = handle.read()
    missing = [name for name in BY_NAME if '"%s"' % name not in source]
    assert missing == []


# --------------------------------------------------------------- control

def test_control_unmodified_library_scores_full_marks(tmp_path):
    root = copy_course_files(str(tmp_path / "control"))
    result = run_grader(root)
    assert result.returncode == 0, result
    assert result.stderr == "", result
    assert result.stdout.endswith(FULL_LINE), result
    assert result.sections() == {s: ("PASS", 5) for s in SECTIONS}, result
    for word in ("FAIL", "ERROR", "hint", "note", "AUTOLAB", "BUT:"):
        assert word not in result.stdout, (word, result)

    quiet = run_grader(root, "--json")
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, FULL_LINE,
                                                              ""), quiet


# -------------------------------------------------- bugs a section fails

def test_unbiased_running_variance_fails_batchnorm_on_running_V(tmp_path):
    result, _ = grade("unbiased_running_V", tmp_path)
    assert result.returncode == 1, result
    assert result.stderr == "", result
    assert result.scores == {"Dropout2d": 5, "BatchNorm2d": 0, "Resnet": 5}
    assert result.sections()["BatchNorm2d"] == ("FAIL", 0), result
    assert_passing(result, "Dropout2d", "Resnet")
    # running_V is the first failure; the eval values follow from it, and
    # nothing else (forward, dLdZ, dLdBW, dLdBb) is touched by the bug
    assert result.failed_checks() == ["BatchNorm2d / running_V",
                                      "BatchNorm2d / forward (eval)",
                                      "BatchNorm2d / running_V after eval"]
    entry = result.entry("FAIL  BatchNorm2d / running_V")
    assert "expected: ndarray, dtype float64, shape (1, 3, 1, 1)" in entry
    assert "3 of 3 elements differ" in entry
    assert "worst element at [0, " in entry
    assert ("hint: these are the values an UNBIASED batch variance "
            "(divided by N*H*W - 1) gives" in entry), entry
    assert "UNBIASED" in result.entry("FAIL  BatchNorm2d / forward (eval)")


def test_missing_one_over_one_minus_p_fails_dropout_backward(tmp_path):
    result, _ = grade("dropout_backward_unscaled", tmp_path)
    assert result.returncode == 1, result
    assert result.stderr == "", result
    assert result.scores == {"Dropout2d": 0, "BatchNorm2d": 5, "Resnet": 5}
    assert result.sections()["Dropout2d"] == ("FAIL", 0), result
    assert_passing(result, "BatchNorm2d", "Resnet")
    assert result.failed_checks() == ["Dropout2d / backward"]
    entry = result.entry("FAIL  Dropout2d / backward")
    assert "shape (5, 3, 4, 4)" in entry and "elements differ" in entry
    assert ("hint: the backward is the expected one times (1 - p)" in entry
            ), entry


def test_missing_shortcut_gradient_fails_resnet_backward(tmp_path):
    result, _ = grade("shortcut_gradient_dropped", tmp_path)
    assert result.returncode == 1, result
    assert result.stderr == "", result
    assert result.scores == {"Dropout2d": 5, "BatchNorm2d": 5, "Resnet": 0}
    assert result.sections()["Resnet"] == ("FAIL", 0), result
    assert_passing(result, "Dropout2d", "BatchNorm2d")
    assert result.failed_checks() == ["Resnet / backward"]  # forward is fine
    entry = result.entry("FAIL  Resnet / backward")
    assert "shape (5, 3, 128, 128)" in entry
    assert ("hint: the input gradient is the main branch's alone" in entry
            ), entry
    assert "without its shortcut" not in entry  # a different bug's hint


def test_weights_drawn_out_of_order_fail_resnet_forward(tmp_path):
    result, _ = grade("weights_drawn_out_of_order", tmp_path)
    assert result.returncode == 1, result
    assert result.stderr == "", result
    assert result.scores == {"Dropout2d": 5, "BatchNorm2d": 5, "Resnet": 0}
    assert_passing(result, "Dropout2d", "BatchNorm2d")
    assert result.failed_checks() == ["Resnet / forward", "Resnet / backward"]
    entry = result.entry("FAIL  Resnet / forward")
    assert "shape (5, 64, 34, 34)" in entry
    assert ("hint: these are the values of weights drawn in the order first "
            "ConvBlock, shortcut, second ConvBlock" in entry), entry


# ------------------------------------ a stub that would stop Autolab's run

def test_not_implemented_stub_in_dropout_stops_autolab(tmp_path):
    result, lines = grade("stub_dropout_backward", tmp_path)
    stub_line = lines[1]  # the edit's last line is the `raise`
    assert result.returncode == 1, result
    assert result.scores == ZERO  # Autolab records nothing at all
    assert result.sections()["Dropout2d"] == ("ERROR", 0), result
    assert_passing(result, "BatchNorm2d", "Resnet")  # graded for information
    assert result.failed_checks() == []
    entry = result.entry("ERROR Dropout2d")
    assert "checks passed before it: forward, forward (eval)" in entry
    assert "TypeError raised during backward(delta)" in entry
    assert ("mytorch/dropout2d.py, line %d, in backward" % stub_line
            in entry), entry
    assert "raise NotImplemented" in entry
    assert "hint: `raise NotImplemented` raises this TypeError" in entry
    assert "AUTOLAB WOULD STOP HERE" in entry
    assert result.stdout.count("AUTOLAB WOULD STOP HERE") == 1, result
    assert "stop here too" not in result.stdout, result
    assert "AUTOLAB WOULD RECORD NO SCORES FOR THIS CODE." in result.stdout
    assert ("Dropout2d: TypeError raised during backward(delta)"
            in result.flat), result
    assert ("would score: Dropout2d 0/5, BatchNorm2d 5/5, Resnet 5/5"
            in result.flat), result


def test_not_implemented_stub_in_batchnorm_stops_autolab_there(tmp_path):
    # Resnet's backward runs BatchNorm2d.backward too, so it errors as
    # well; the section named as stopping Autolab is the first one it runs.
    result, lines = grade("stub_batchnorm_backward", tmp_path)
    assert result.returncode == 1, result
    assert result.scores == ZERO
    assert_passing(result, "Dropout2d")
    assert result.sections()["BatchNorm2d"] == ("ERROR", 0), result
    assert result.sections()["Resnet"] == ("ERROR", 0), result
    where = "mytorch/batchnorm2d.py, line %d, in backward" % lines[1]
    for section, step in (("BatchNorm2d", "backward(delta)"),
                          ("Resnet", "backward(grad)")):
        entry = result.entry("ERROR " + section)
        assert "TypeError raised during %s" % step in entry, entry
        assert where in entry, entry
    assert "running_V after eval" in result.entry("ERROR BatchNorm2d")
    # Autolab stops at BatchNorm2d and never runs Resnet: only the first
    # says so in capitals, the second points back to it
    assert "AUTOLAB WOULD STOP HERE" in result.entry("ERROR BatchNorm2d")
    assert result.stdout.count("AUTOLAB WOULD STOP HERE") == 1, result
    assert result.entry("ERROR Resnet").endswith(
        "Autolab would stop here too (its run already stopped at "
        "BatchNorm2d)."), result
    assert ("BatchNorm2d: TypeError raised during backward(delta)"
            in result.flat), result
    assert ("would score: Dropout2d 5/5, BatchNorm2d 0/5, Resnet 0/5"
            in result.flat), result


# ------------------------------------- bugs only a warning or a note shows

@pytest.mark.parametrize("name", ["scipy_import_guarded",
                                  "scipy_import_in_gelu"])
def test_scipy_import_warns_with_file_and_line(name, tmp_path):
    # scipy is not installed in the project's environments, so the mutants
    # import it where the graded code never fails: guarded, or inside GELU
    result, _ = grade(name, tmp_path, "--json")
    line = line_of(result.root, "mytorch/activation.py", "scipy.special")
    assert result.returncode == 0, result
    assert result.stdout == FULL_LINE, result  # --json output untouched
    warnings = result.stderr.splitlines()
    assert len(warnings) == 1, result
    assert warnings[0].startswith(
        "warning: mytorch/activation.py:%d: imports scipy;" % line), result
    assert "NumPy and the Python standard library" in warnings[0]


def test_warnings_are_repeated_beside_the_total(tmp_path):
    # a 15/15 that Autolab may not give must not read as all clear
    result, _ = grade("scipy_import_guarded", tmp_path)
    assert result.scores == FULL, result
    total = result.stdout.index("Total: 15/15")
    reminder = result.stdout.find("BUT: 1 warning on standard error")
    assert reminder > total, result


def test_input_scaled_in_place_passes_autolab_but_is_noted(tmp_path):
    result, _ = grade("dropout_scales_input_in_place", tmp_path)
    assert result.returncode == 0, result  # Autolab's checks cannot see it
    assert result.stderr == "", result
    assert result.scores == FULL
    assert_passing(result, *SECTIONS)
    assert ("note: forward(x) changed the caller's array x in place"
            in result.section_block("Dropout2d")), result
    assert result.stdout.count("note:") == 1, result


@pytest.mark.parametrize("name", ["identity_shortcut_ignored",
                                  "downsample2d_backward_odd",
                                  "conv_dLdW_accumulated"])
def test_bugs_the_scored_sections_cannot_see(name, tmp_path):
    # The scored ResBlock has a convolution shortcut, and this library's
    # Conv2d folds the downsampling into the convolution without calling
    # Downsample2d; every scored layer runs backward once, so a dLdW that
    # accumulates is right the first time: all three bugs keep 15/15
    # (--thorough below catches them).
    result, _ = grade(name, tmp_path)
    assert result.returncode == 0, result
    assert result.stderr == "", result
    assert result.scores == FULL
    assert_passing(result, *SECTIONS)
    assert "note:" not in result.stdout


# -------------------------------------------- bugs only --thorough catches

@pytest.mark.torch
def test_thorough_names_the_ignored_identity_shortcut(tmp_path):
    result, _ = grade("identity_shortcut_ignored", tmp_path, "--thorough",
                      "--section", "Resnet")
    assert result.returncode == 1, result
    assert result.scores == {"Resnet": 5}  # the scores stay Autolab's
    assert result.sections() == {"Resnet": ("PASS", 5)}, result
    report = result.thorough()
    check = "Resnet / ResBlock vs torch (identity shortcut)"
    failed = sorted(k for k, v in report.items() if v == "FAIL")
    assert failed == [check], result
    assert report[check.replace("identity", "convolution")] == "PASS"
    entry = result.entry("FAIL  " + check)
    assert re.match(r"forward ResBlock\((\d+), \1, 1, stride=1, padding=0\)",
                    entry), entry


@pytest.mark.torch
def test_thorough_catches_downsample2d_backward_on_odd_sizes(tmp_path):
    result, _ = grade("downsample2d_backward_odd", tmp_path, "--thorough",
                      "--section", "Resnet")
    assert result.returncode == 1, result
    assert result.scores == {"Resnet": 5}
    report = result.thorough()
    failed = sorted(k for k, v in report.items() if v == "FAIL")
    assert failed == ["Resnet / Downsample2d vs torch"], result
    for other in ("Downsample1d", "Upsample2d", "Conv2d"):
        assert report["Resnet / %s vs torch" % other] == "PASS", result
    # the first of the fixed cases, where k = 2 does not divide W = 7: the
    # bug rebuilds W as 2 * 4 = 8
    assert (result.entry("FAIL  Resnet / Downsample2d vs torch")
            == "backward k=2 A(2, 1, 6, 7): expected shape (2, 1, 6, 7), "
               "got (2, 1, 6, 8)"), result


@pytest.mark.torch
def test_thorough_catches_the_input_scaled_in_place(tmp_path):
    result, _ = grade("dropout_scales_input_in_place", tmp_path,
                      "--thorough", "--section", "Dropout2d")
    assert result.returncode == 1, result
    assert result.scores == {"Dropout2d": 5}
    report = result.thorough()
    # one failure, saying what is wrong; the gradient check hands forward
    # copies, so the ever-rescaled array cannot fail it too
    failed = sorted(k for k, v in report.items() if v == "FAIL")
    assert failed == ["Dropout2d / Dropout2d vs torch"], result
    assert report["Dropout2d / Dropout2d / dLdx gradient check"] == "PASS"
    assert report["Dropout2d / Dropout2d / eval"] == "PASS", result
    assert (result.entry("FAIL  Dropout2d / Dropout2d vs torch")
            == "forward changed the caller's input array in place"), result


@pytest.mark.torch
def test_thorough_catches_dLdW_accumulated_on_repeated_backward(tmp_path):
    result, _ = grade("conv_dLdW_accumulated", tmp_path, "--thorough",
                      "--section", "Resnet")
    assert result.returncode == 1, result
    assert result.scores == {"Resnet": 5}
    report = result.thorough()
    failed = sorted(k for k, v in report.items() if v == "FAIL")
    # Conv2d and ResBlock hold a Conv2d_stride1: the doubled dLdW shows
    # wherever it sits, named by its path from the layer
    assert failed == ["Resnet / Conv2d vs torch",
                      "Resnet / Conv2d_stride1 vs torch",
                      "Resnet / ResBlock vs torch (convolution shortcut)",
                      "Resnet / ResBlock vs torch (identity shortcut)"
                      ], result
    assert result.entry("FAIL  Resnet / Conv2d_stride1 vs torch").startswith(
        "repeated backward dLdW: max abs error"), result
    assert result.entry("FAIL  Resnet / Conv2d vs torch").startswith(
        "repeated backward conv2d_stride1.dLdW: max abs error"), result
    assert ("repeated backward convolution_layers[0].layers[0]."
            "conv2d_stride1.dLdW" in result.entry(
                "FAIL  Resnet / ResBlock vs torch (identity shortcut)")
            ), result
    # the gradient checks run backward once: still right
    assert report["Resnet / Conv2d / gradient check"] == "PASS"


@pytest.mark.torch
def test_thorough_prints_shapes_as_plain_integers(tmp_path):
    result, _ = grade("dropout_backward_unscaled", tmp_path, "--thorough",
                      "--section", "Dropout2d")
    entry = result.entry("FAIL  Dropout2d / Dropout2d vs torch")
    assert re.match(r"backward p=[\d.]+ shape \(\d+, \d+, \d+, \d+\): ",
                    entry), entry
    assert "int64" not in result.stdout, result
