"""Local grader for the 11-785 HW2P1 bonus: Dropout2d, BatchNorm2d, Resnet.

Run from the top-level folder (or from anywhere: the code to grade is found
two folders above this file, or at --root / $HW2_GRADER_ROOT):

    python3 autograder/hw2_bonus_autograder/runner.py

Verdicts are Autolab's: three sections of 5 points, each starting from
np.random.seed(11785), each check comparing type, shape and values
(np.allclose), the first failing check ending the section. The last line
printed is the JSON scores line Autolab would record for the same code, e.g.

    {"scores": {"Dropout2d": 5, "BatchNorm2d": 5, "Resnet": 5}}

Autolab's grader catches only NotImplementedError (that section scores 0);
any other exception raised by the student's code (or any error importing it)
stops its run before it prints scores, so it records nothing. This grader
then prints every section at 0, says which section stops Autolab and why,
and still grades the other sections for information.

Everything else is extra: failure diagnosis and hints, warnings on standard
error (imports, NumPy API and Python features Autolab's Python 3.8 with
NumPy 1.18.5 does not have), per-section times, and
--thorough (needs PyTorch). Exit status: 0 when every score on the JSON
line is full (and, with --thorough, every thorough check passes), 1
otherwise, 2 for a usage or installation problem (bad option, a ROOT
without mytorch/ and models/, no NumPy) or a problem of the grader itself.

Only NumPy and the standard library are needed to grade; the code runs on
Python 3.8 with NumPy 1.18.5.
"""
import argparse
import contextlib
import importlib
import importlib.util
import json
import os
import re
import sys
import textwrap
import time
import traceback

# The graded arrays are small: one BLAS thread does them as fast as two, and
# on a busy machine two threads that wait for each other make the grader ten
# times slower. A value the caller set is kept.
for _threads in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
                 "MKL_NUM_THREADS"):
    os.environ.setdefault(_threads, "1")

try:
    import numpy as np
except ImportError as _no_numpy:
    sys.stderr.write(
        "error: NumPy is not installed for this Python (%s): %s\n"
        "Install it with: %s -m pip install numpy\n"
        % (sys.executable, _no_numpy, sys.executable))
    sys.exit(2)

# realpath: a symlink to this file still finds its helpers and the code
HERE = os.path.dirname(os.path.realpath(__file__))
DEFAULT_ROOT = os.path.dirname(os.path.dirname(HERE))
ROOT_ENV = "HW2_GRADER_ROOT"
SEED = 11785
POINTS = 5
SECTIONS = ("Dropout2d", "BatchNorm2d", "Resnet")
MODULE_OF = {"Dropout2d": "dropout2d", "BatchNorm2d": "batchnorm2d",
             "Resnet": "resnet"}
EXPECTED_FILE = {"Dropout2d": "sol_dropout2d_handout.npz",
                 "BatchNorm2d": "sol_bn2d_handout.npz",
                 "Resnet": "sol_resnet1.npz"}
RULE = "=" * 72
WIDTH = 79


def _load_helper(name, filename):
    """Import a helper file of this folder by path, under a private name.

    The course calls one of them test.py, which would collide with Python's
    own `test` package if imported by name.
    """
    spec = importlib.util.spec_from_file_location(
        name, os.path.join(HERE, filename))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


checks = _load_helper("hw2_bonus_test", "test.py")
grader_hints = _load_helper("hw2_bonus_hints", "grader_hints.py")
grader_static = _load_helper("hw2_bonus_static", "grader_static.py")


class GraderError(Exception):
    """A problem of the grader's own installation, not of the student's code."""


# ------------------------------------------------------------------ crashes

class Crash(object):
    """An exception raised by the student's code, and where it came from.

    Attributes:
        step: what the grader was doing ("import dropout2d", "forward(x)").
        exc: the exception.
        where: (relative file, line, function, source) of the last frame in
            the student's code, or None.
        stops_autolab: whether this exception ends Autolab's run with no
            scores (anything but NotImplementedError raised before a check
            failed; any error while importing).
        reached: whether Autolab's run gets this far (it does not once a
            check of the section has failed).
        at_import: whether it was raised while importing a module.
    """

    def __init__(self, step, exc, root, at_import=False, reached=True):
        self.step = step
        self.exc = exc
        self.at_import = at_import
        self.trace = "".join(traceback.format_exception(
            type(exc), exc, exc.__traceback__))
        self.where = _student_frame(exc, root)
        self.reached = reached
        not_impl = isinstance(exc, NotImplementedError)
        self.stops_autolab = reached and (at_import or not not_impl)

    def describe(self, verbose=False, stopped_at=None):
        """Lines saying what was raised, where, and what it means.

        stopped_at: where an earlier exception already stopped Autolab's
            run (a section's name, or "import <module>"), or None.
        """
        name = type(self.exc).__name__
        lines = ["%s raised during %s" % (name, self.step)]
        if self.where is not None:
            path, line, func, source = self.where
            lines.append("  %s, line %s, in %s" % (path, line, func))
            if source:
                lines.append("    " + source.strip())
        lines.append("%s: %s" % (name, self.exc))
        if verbose:
            lines.extend(self.trace.rstrip().splitlines())
        lines.extend(self.hints())
        if self.stops_autolab and stopped_at:
            lines.append("Autolab would stop here too (its run already "
                         "stopped at %s)." % stopped_at)
        elif self.stops_autolab:
            lines.append(
                "AUTOLAB WOULD STOP HERE: its grader catches only "
                "NotImplementedError; any other exception ends its run "
                "before it prints scores, so it would record 0 for every "
                "section.")
        elif isinstance(self.exc, NotImplementedError) and self.reached:
            if stopped_at:
                lines.append("NotImplementedError: Autolab would score this "
                             "section 0 and go on with the others, had its "
                             "run not already stopped at %s." % stopped_at)
            else:
                lines.append("NotImplementedError: Autolab scores this "
                             "section 0 and goes on with the others.")
        elif not self.reached:
            lines.append("(Autolab's run stops this section at the failed "
                         "check above and never gets here; fix it anyway.)")
        return lines

    def hints(self):
        source = self.where[3] if self.where else ""
        if (isinstance(self.exc, TypeError)
                and "must derive from BaseException" in str(self.exc)
                and re.search(r"\bNotImplemented\b(?!Error)", source or "")):
            return ["hint: `raise NotImplemented` raises this TypeError "
                    "(NotImplemented is a value, not an exception), as the "
                    "handout's stubs do: write the code, or raise "
                    "NotImplementedError, which Autolab tolerates."]
        if (isinstance(self.exc, ImportError)
                and getattr(self.exc, "name", None) in ("mytorch", "models")):
            return ["hint: Autolab puts only the folders mytorch/ and models/ "
                    "on sys.path, not the folder above them, so a "
                    "package-style import (`from mytorch.Conv2d import "
                    "Conv2d`) fails there: import the module by its own "
                    "name, e.g. `from Conv2d import Conv2d`."]
        return []


def _student_frame(exc, root):
    """The last traceback frame inside root's mytorch/ or models/."""
    folders = [os.path.realpath(os.path.join(root, sub)) + os.sep
               for sub in ("mytorch", "models")]
    if isinstance(exc, SyntaxError) and exc.filename:
        path = os.path.realpath(exc.filename)
        if any(path.startswith(f) for f in folders):
            return (_rel(path, root), exc.lineno, "<module>",
                    (exc.text or "").rstrip())
    found = None
    for frame in traceback.extract_tb(exc.__traceback__):
        path = os.path.realpath(frame.filename)
        if any(path.startswith(f) for f in folders):
            found = (_rel(path, root), frame.lineno, frame.name, frame.line)
    return found


def _rel(path, root):
    return os.path.relpath(path, os.path.realpath(root))


class _Raised(Exception):
    """Carries a student's exception out of a section's steps."""

    def __init__(self, step, exc):
        Exception.__init__(self, step)
        self.step = step
        self.exc = exc


# ----------------------------------------------------------------- sections

class SectionRun(object):
    """One section's steps, checks, notes and outcome.

    The section functions below call `step` around every call into the
    student's code and `check` for every compared quantity. A check that
    fails does not stop the run (the rest is reported for information), but
    from then on Autolab would have stopped the section, which matters for
    whether a later exception would reach Autolab.
    """

    def __init__(self, name, root, book, verbose=False):
        self.name = name
        self.root = root
        self.book = book
        self.verbose = verbose
        self.checks = []
        self.crash = None
        self.notes = []
        self.seconds = 0.0
        self._watched = []

    def watch(self, label, array):
        """Remember a copy of an input array to spot in-place changes."""
        self._watched.append([label, array, array.copy(), False])

    def step(self, what, fn):
        """Call into the student's code; an exception ends the section."""
        try:
            value = fn()
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # the student's code may do anything
            raise _Raised(what, exc)
        for item in self._watched:
            label, array, copy, reported = item
            if not reported and not _same(array, copy):
                item[3] = True
                self.notes.append(
                    "%s changed the caller's array %s in place. Autolab "
                    "does not check this, but later checks here and other "
                    "layers see the changed values: work on a copy."
                    % (what, label))
        return value

    def check(self, quantity, actual, expected, context=None):
        result = checks.compare(self.name, quantity, actual, expected,
                                verbose=self.verbose)
        if not result.passed:
            try:
                result.hints = self.book.hints(self.name, quantity, actual,
                                               expected, context)
            except Exception:  # a hint is a bonus: never let it break grading
                result.hints = []
        self.checks.append(result)
        return result

    @property
    def failed(self):
        return any(not c.passed for c in self.checks)

    @property
    def passed(self):
        return self.crash is None and bool(self.checks) and not self.failed

    @property
    def score(self):
        """What this section scores on its own (Autolab may record 0)."""
        return POINTS if self.passed else 0


def _copy(value):
    return value.copy() if isinstance(value, np.ndarray) else value


def _same(a, b):
    try:
        return a.shape == b.shape and np.array_equal(a, b)
    except Exception:
        return False


def grade_dropout2d(run, lib, expected):
    """Dropout2d(p=0.4): train forward, eval forward, backward."""
    np.random.seed(SEED)
    x = np.random.random((5, 3, 4, 4))
    delta = np.random.random((5, 3, 4, 4))
    run.watch("x", x)
    run.watch("delta", delta)

    layer = run.step("Dropout2d(p=0.4)",
                     lambda: lib.Dropout2d(p=0.4))
    out = run.step("forward(x)", lambda: layer.forward(x))
    run.check("forward", out, expected["forward"])

    out_eval = run.step("forward(x, eval=True)",
                        lambda: layer.forward(x, eval=True))
    run.check("forward (eval)", out_eval, x)

    dx = run.step("backward(delta)", lambda: layer.backward(delta))
    run.check("backward", dx, expected["backward"])


def grade_batchnorm2d(run, lib, expected):
    """BatchNorm2d(3, alpha=0.4): train forward, statistics, eval, backward."""
    np.random.seed(SEED)
    Z = np.random.random((5, 3, 4, 4))
    delta = np.random.random((5, 3, 4, 4))
    run.watch("Z", Z)
    run.watch("delta", delta)
    context = {key: expected[key] for key in ("fw_train", "dLdBb", "dLdBW")}

    bn = run.step("BatchNorm2d(3, alpha=0.4)",
                  lambda: lib.BatchNorm2d(3, alpha=0.4))
    out = run.step("forward(Z)", lambda: bn.forward(Z))
    run.check("forward (train)", out, expected["fw_train"], context)
    for name in ("running_M", "running_V"):
        value = run.step("reading " + name, lambda: getattr(bn, name))
        run.check(name, value, expected[name], context)

    before = {name: _copy(getattr(bn, name, None))
              for name in ("running_M", "running_V")}
    out_eval = run.step("forward(Z, eval=True)",
                        lambda: bn.forward(Z, eval=True))
    run.check("forward (eval)", out_eval, expected["fw_eval"], context)
    for name in ("running_M", "running_V"):
        value = run.step("reading " + name, lambda: getattr(bn, name))
        result = run.check(name + " after eval", value, expected[name],
                           context)
        if not result.passed and _same(value, before[name]):
            result.details.insert(0, "unchanged by eval (good); this "
                                  "repeats the %s failure above" % name)

    dZ = run.step("backward(delta)", lambda: bn.backward(delta))
    run.check("dLdZ", dZ, expected["bw"], context)
    for name in ("dLdBb", "dLdBW"):
        value = run.step("reading " + name, lambda: getattr(bn, name))
        run.check(name, value, expected[name], context)


def grade_resnet(run, lib, expected):
    """ResBlock(3, 64, 3, stride=4, padding=4): forward, backward."""
    np.random.seed(SEED)
    A = np.random.randint(0, 255, size=(5, 3, 128, 128))
    G = np.random.randint(0, 255, size=(5, 64, 34, 34))
    run.watch("A", A)
    run.watch("grad", G)

    block = run.step("ResBlock(3, 64, 3, stride=4, padding=4)",
                     lambda: lib.ResBlock(3, 64, 3, stride=4, padding=4))
    out = run.step("forward(A)", lambda: block.forward(A))
    run.check("forward", out, expected["forward"])

    dA = run.step("backward(grad)", lambda: block.backward(G))
    run.check("backward", dA, expected["backward"])


GRADE = {"Dropout2d": grade_dropout2d, "BatchNorm2d": grade_batchnorm2d,
         "Resnet": grade_resnet}


def load_expected(section):
    path = os.path.join(HERE, EXPECTED_FILE[section])
    try:
        with np.load(path) as data:
            return {key: data[key] for key in data.files}
    except (IOError, OSError, ValueError) as exc:
        raise GraderError("cannot read the expected values %s (%s); remake "
                          "them with tools/make_expected.py" % (path, exc))


# ------------------------------------------------------------------ library

def import_library(root, quiet=False):
    """Import the course modules as Autolab does; {name: module or Crash}.

    Autolab's runner appends mytorch/ and models/ to sys.path, whose first
    entry is the runner's own folder: the folder holding them is not on it,
    so `import mytorch.Conv2d` fails there and must fail here too.
    """
    top = os.path.realpath(root)
    sys.path[:] = [p for p in sys.path
                   if os.path.realpath(p or os.curdir) != top]
    for sub in ("mytorch", "models"):
        path = os.path.join(root, sub)
        if path not in sys.path:
            sys.path.append(path)
    modules = {}
    for name in ("dropout2d", "batchnorm2d", "resnet"):
        try:
            with _student_output(quiet):
                modules[name] = importlib.import_module(name)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:
            modules[name] = Crash("import " + name, exc, root,
                                  at_import=True)
    return modules


@contextlib.contextmanager
def _student_output(quiet):
    """With --json, send whatever the student's code prints to stderr."""
    if not quiet:
        yield
        return
    with contextlib.redirect_stdout(sys.stderr):
        yield


def run_section(section, modules, root, book, verbose, quiet):
    run = SectionRun(section, root, book, verbose)
    start = time.perf_counter()
    module = modules[MODULE_OF[section]]
    if isinstance(module, Crash):
        run.crash = module
    else:
        expected = load_expected(section)
        try:
            with _student_output(quiet):
                GRADE[section](run, module, expected)
        except _Raised as raised:
            run.crash = Crash(raised.step, raised.exc, root,
                              reached=not run.failed)
    run.seconds = time.perf_counter() - start
    return run


# ------------------------------------------------------------------- report

def section_report(run, stopped_at=None):
    """Lines for one section: status line, then details for what failed.

    stopped_at: where Autolab's run stopped before this section, if it did
    (see Crash.describe).
    """
    if run.passed:
        status = "PASS"
    elif run.crash is not None and not run.failed:
        status = "ERROR"
    else:
        status = "FAIL"
    lines = ["%-12s %-5s %d/%d   %s" % (run.name, status, run.score, POINTS,
                                        _ms(run.seconds))]
    pad = " " * 10
    for check in run.checks:
        if check.passed and not run.verbose:
            continue
        lines.append("    %s  %s" % ("ok  " if check.passed else "FAIL",
                                      check.name))
        lines.extend(pad + line for line in check.details)
        for hint in check.hints:
            lines.extend(_wrap("hint: " + hint, pad, pad + "      "))
    if run.crash is not None:
        passed = [c.quantity for c in run.checks if c.passed]
        lines.append("    ERROR " + run.name)
        if passed and not run.verbose:
            lines.extend(_wrap("checks passed before it: "
                               + ", ".join(passed), pad, pad + "  "))
        for line in run.crash.describe(run.verbose, stopped_at):
            if line.startswith("  "):  # location and source: keep as is
                lines.append(pad + line)
            else:
                lines.extend(_wrap(line, pad, pad + "  "))
    for note in run.notes:
        lines.extend(_wrap("note: " + note, "    ", "          "))
    return lines


def _wrap(text, first, rest):
    return textwrap.wrap(text, WIDTH, initial_indent=first,
                         subsequent_indent=rest, break_on_hyphens=False)


def _ms(seconds):
    return "%d ms" % round(seconds * 1000)


def autolab_scores(runs, modules):
    """{section: points} as Autolab would record them for these runs."""
    stopper = autolab_stopper(runs, modules)
    return {run.name: 0 if stopper else run.score for run in runs}


def autolab_stopper(runs, modules):
    """The Crash that would stop Autolab's run, or None.

    Autolab imports every module before it grades, so an import error
    stops it first; otherwise the first section that raises does.
    """
    for name in ("dropout2d", "batchnorm2d", "resnet"):
        if isinstance(modules[name], Crash):
            return modules[name]
    for run in runs:
        if run.crash is not None and run.crash.stops_autolab:
            return run.crash
    return None


def stopped_before(run, runs, modules):
    """Where Autolab's run stopped before reaching run's crash, or None.

    runs: the sections graded so far, run being the last. None when run
    raised nothing, or its own exception is the one that stops Autolab.
    """
    stopper = autolab_stopper(runs, modules)
    if run.crash is None or stopper is None or stopper is run.crash:
        return None
    if stopper.at_import:
        return stopper.step
    return [r.name for r in runs if r.crash is stopper][0]


def unreported_import_errors(runs, modules, stopper):
    """Details of import failures no printed section has shown.

    Autolab imports every module, so a module the chosen sections do not
    need can still stop its run: say why here.
    """
    shown = set(id(run.crash) for run in runs)
    lines = []
    stopped_at = None
    for name in ("dropout2d", "batchnorm2d", "resnet"):
        crash = modules[name]
        if not isinstance(crash, Crash):
            continue
        if id(crash) not in shown:
            lines.append("")
            lines.append("ERROR %s (Autolab imports every module)"
                         % crash.step)
            for line in crash.describe(False, stopped_at):
                if line.startswith("  "):
                    lines.append("      " + line)
                else:
                    lines.extend(_wrap(line, "      ", "        "))
        if stopped_at is None and crash is stopper:
            stopped_at = crash.step
    return lines


def _would_score(run):
    if run.crash is not None and run.crash.at_import:
        return "%s not graded (import failed)" % run.name
    return "%s %d/%d" % (run.name, run.score, POINTS)


def summary(runs, modules, scores):
    """The closing lines before the JSON line."""
    total = sum(scores.values())
    stopper = autolab_stopper(runs, modules)
    lines = unreported_import_errors(runs, modules, stopper)
    lines.extend(["", "Total: %d/%d" % (total, POINTS * len(runs))])
    if stopper is not None:
        owner = [r.name for r in runs if r.crash is stopper]
        where = owner[0] if owner else "importing the code"
        text = ("%s: %s raised during %s (details above). Autolab's grader "
                "catches only NotImplementedError, so this ends its run "
                "before it prints any scores: every section gets 0 below. "
                "Once that is fixed, the sections would score:"
                % (where, type(stopper.exc).__name__, stopper.step))
        lines.extend(["", RULE, "AUTOLAB WOULD RECORD NO SCORES FOR THIS CODE."])
        lines.extend(textwrap.wrap(text, WIDTH))
        lines.extend(_wrap(", ".join(_would_score(r) for r in runs),
                           "  ", "  "))
        lines.append(RULE)
    return lines


def print_warnings(root):
    """Static findings on standard error; returns how many."""
    found = grader_static.scan(root)
    for warning in found:
        sys.stderr.write("warning: %s\n" % warning)
    return len(found)


# --------------------------------------------------------------------- main

def parse_args(argv):
    parser = argparse.ArgumentParser(
        description="Local grader for the 11-785 HW2P1 bonus.",
        epilog="The code graded is ROOT/mytorch and ROOT/models; ROOT is "
               "--root, else $%s, else two folders above this file."
               % ROOT_ENV)
    parser.add_argument("--section", action="append", metavar="NAME",
                        help="grade only this section (repeatable): "
                             + ", ".join(SECTIONS))
    parser.add_argument("--json", action="store_true",
                        help="print only the JSON scores line on stdout")
    parser.add_argument("--verbose", action="store_true",
                        help="show passing checks, full arrays and full "
                             "tracebacks")
    parser.add_argument("--thorough", action="store_true",
                        help="also run the extra PyTorch report (random "
                             "configurations, gradient checks, integrity)")
    parser.add_argument("--root", metavar="DIR",
                        help="folder holding mytorch/ and models/")
    args = parser.parse_args(argv)
    args.root_given = args.root is not None
    chosen = []
    for name in args.section or SECTIONS:
        match = [s for s in SECTIONS if s.lower() == name.lower()]
        if not match:
            parser.error("unknown section %r; choose from %s"
                         % (name, ", ".join(SECTIONS)))
        if match[0] not in chosen:
            chosen.append(match[0])
    args.sections = [s for s in SECTIONS if s in chosen]
    given = args.root or os.environ.get(ROOT_ENV)
    args.root = os.path.abspath(given or DEFAULT_ROOT)
    origin = ("--root" if args.root_given else "$" + ROOT_ENV if given
              else "the folder two above the grader")
    if not os.path.isdir(args.root):
        parser.error("%s %s: no such folder" % (origin, args.root))
    missing = [sub + "/" for sub in ("mytorch", "models")
               if not os.path.isdir(os.path.join(args.root, sub))]
    if missing:
        parser.error("%s %s has no %s folder; the code to grade is "
                     "ROOT/mytorch and ROOT/models (give ROOT with --root)"
                     % (origin, args.root, " and no ".join(missing)))
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    out = sys.stderr if args.json else sys.stdout

    def say(lines):
        for line in lines:
            out.write(line + "\n")
        out.flush()

    if not args.json:
        say(["HW2P1 bonus local grader",
             "grading %s (Python %s, NumPy %s)"
             % (args.root, sys.version.split()[0], np.__version__), ""])
    warned = print_warnings(args.root)

    book = grader_hints.HintBook(HERE)
    try:
        modules = import_library(args.root, quiet=args.json)
        runs = []
        for section in args.sections:
            runs.append(run_section(section, modules, args.root, book,
                                    args.verbose, args.json))
            if not args.json or not runs[-1].passed:
                say(section_report(runs[-1], stopped_before(
                    runs[-1], runs, modules)))
    except GraderError as exc:
        sys.stderr.write("grader error: %s\n" % exc)
        return 2

    scores = autolab_scores(runs, modules)
    lines = summary(runs, modules, scores)
    if args.json and autolab_stopper(runs, modules) is None:
        lines = []
    elif warned and not args.json:
        lines.extend(["", "BUT: %d warning%s on standard error (above): code "
                      "that Autolab (NumPy only, older Python and NumPy) "
                      "may not run as it ran here; fix %s before you "
                      "submit." % (warned, "" if warned == 1 else "s",
                                   "it" if warned == 1 else "them")])
    say(lines)

    thorough_ok = True
    if args.thorough:
        thorough_ok = run_thorough(args, modules, say)

    # everything said so far comes before the JSON line, even when both
    # streams go to one pipe (Python 3.8 buffers a piped stderr)
    sys.stderr.flush()
    sys.stdout.flush()
    print(json.dumps({"scores": scores}))
    sys.stdout.flush()
    # the JSON scores are what Autolab records: success means full marks
    ok = all(score == POINTS for score in scores.values()) and thorough_ok
    return 0 if ok else 1


def run_thorough(args, modules, say):
    """The --thorough report; False when any of its checks fails."""
    say(["", "Thorough report (not part of the scores)"])
    try:
        thorough = _load_helper("hw2_bonus_thorough", "grader_thorough.py")
    except ImportError as exc:
        say(["  skipped: it needs PyTorch (%s); install it with "
             "pip install torch==2.13.0" % exc])
        return True
    with _student_output(args.json):
        report = thorough.run(args.root, modules, args.sections,
                              verbose=args.verbose)
    say(report.lines)
    return report.ok


def _main_never_crashing():
    """main(), but a bug of the grader itself still ends with a JSON line."""
    try:
        return main()
    except (SystemExit, KeyboardInterrupt):
        raise
    except BrokenPipeError:  # e.g. piped into `head`: stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except BaseException:
        sys.stderr.write("grader error (a bug of the grader, not of your "
                         "code):\n" + traceback.format_exc())
        print(json.dumps({"scores": {name: 0 for name in SECTIONS}}))
        return 2


if __name__ == "__main__":
    sys.exit(_main_never_crashing())
