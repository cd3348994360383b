"""Shared helpers for the grader tests: run it, and make broken copies.

The grader always runs as a separate process (its test.py would collide with
Python's own `test` package in-process). A broken copy ("patched root") is
the repository's mytorch/ and models/ copied into a temporary folder with a
few lines appended to one module: the lines wrap a method through the
course's fixed API (class, method and attribute names only), so they stay
valid whatever the library's internals look like.

This file holds no tests; pytest collects it and finds none.
"""
import json
import os
import shutil
import subprocess
import sys
import textwrap

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GRADER_DIR = os.path.join(ROOT, "autograder", "hw2_bonus_autograder")
RUNNER = os.path.join(GRADER_DIR, "runner.py")
PY38 = "/work/venvs/py38/bin/python"
FULL = {"Dropout2d": 5, "BatchNorm2d": 5, "Resnet": 5}
COURSE_FILES = ("mytorch/batchnorm2d.py", "mytorch/dropout2d.py",
                "mytorch/Conv2d.py", "mytorch/activation.py",
                "mytorch/resampling.py", "models/resnet.py")

# One BLAS / OpenMP thread in the processes the tests start. Their arrays are
# small and the machine is often shared: with a pool of threads per process,
# idle ones spin against busy ones and a grader run was seen to take ten
# times longer. Every result is compared with a tolerance, so nothing else
# changes; a value already set in the environment is kept.
ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
              "MKL_NUM_THREADS": "1"}


class Result(object):
    """A finished grader run: exit status, output, and the parsed scores."""

    def __init__(self, proc):
        self.returncode = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        # stdout with every run of whitespace as one space: prose wraps
        self.flat = " ".join(self.stdout.split())
        lines = self.stdout.strip().splitlines()
        self.last_line = lines[-1] if lines else ""
        try:
            self.scores = json.loads(self.last_line)["scores"]
        except (ValueError, KeyError, TypeError):
            self.scores = None

    def __repr__(self):
        return ("Result(rc=%r)\n--- stdout ---\n%s\n--- stderr ---\n%s"
                % (self.returncode, self.stdout, self.stderr))


def child_env(extra=None):
    """The environment for a process a test starts: this one's, without
    $HW2_GRADER_ROOT, with ONE_THREAD's defaults, then extra on top."""
    env = dict(os.environ)
    env.pop("HW2_GRADER_ROOT", None)
    for name, value in ONE_THREAD.items():
        env.setdefault(name, value)
    env.update(extra or {})
    return env


def run_grader(*args, root=None, cwd=None, python=None, env=None,
               runner=RUNNER, timeout=300):
    """Run the grader as a separate process and return a Result."""
    command = [python or sys.executable, runner] + list(args)
    if root is not None:
        command += ["--root", str(root)]
    proc = subprocess.run(command, cwd=cwd or ROOT, env=child_env(env),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=timeout)
    return Result(proc)


def copy_library(dest):
    """Copy the repository's mytorch/ and models/ into dest; return dest."""
    for sub in ("mytorch", "models"):
        shutil.copytree(os.path.join(ROOT, sub), os.path.join(str(dest), sub),
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return dest


def patched_root(tmp_path, relpath, code, replace=None):
    """A copy of the library with `code` appended to one module.

    replace: optional (old, new) text substitution applied first.
    """
    root = copy_library(tmp_path / "root")
    path = os.path.join(str(root), relpath)
    with open(path) as handle:
        source = handle.read()
    if replace is not None:
        old, new = replace
        assert old in source, "patch target %r not found in %s" % (old, path)
        source = source.replace(old, new)
    source += "\n\n# ---- appended by a grader test ----\n"
    source += textwrap.dedent(code)
    with open(path, "w") as handle:
        handle.write(source)
    return root


def py38_python():
    """The Python 3.8 + NumPy 1.18.5 interpreter, or None."""
    return PY38 if os.path.exists(PY38) else None
