"""create_tarball.sh: its preflight, and a handin.tar that grades 15/15.

Every run works on a copy of what the script needs (the six files, the
script, exclude.txt, the grader) in a temporary folder, so the repository's
own handin.tar is never touched.
"""
import os
import shutil
import subprocess
import sys
import tarfile

import pytest

from test_grader_support import (COURSE_FILES, FULL, GRADER_DIR, ROOT,
                                 copy_library, run_grader)

SH = shutil.which("sh")
pytestmark = pytest.mark.skipif(SH is None, reason="needs a POSIX sh")


def _workdir(tmp_path):
    """A top-level folder with the library, the script and the grader."""
    top = tmp_path / "top"
    copy_library(top)
    for name in ("create_tarball.sh", "exclude.txt"):
        shutil.copy(os.path.join(ROOT, name), str(top / name))
    shutil.copytree(GRADER_DIR,
                    str(top / "autograder" / "hw2_bonus_autograder"),
                    ignore=shutil.ignore_patterns("__pycache__"))
    return top


def _run(top, *args, cwd=None):
    env = dict(os.environ, PYTHON=sys.executable)  # the tests' own Python
    return subprocess.run([SH, str(top / "create_tarball.sh")] + list(args),
                          cwd=str(cwd or top), env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=120)


def _members(path):
    with tarfile.open(str(path)) as tar:
        return sorted(m.name for m in tar.getmembers())


def test_handin_holds_exactly_the_six_files_and_grades_full(tmp_path):
    top = _workdir(tmp_path)
    # litter and an extra file must stay out
    (top / "mytorch" / "__pycache__").mkdir()
    (top / "mytorch" / "__pycache__" / "Conv2d.cpython-38.pyc").write_text("")
    (top / "models" / ".DS_Store").write_text("")
    (top / "mytorch" / "notes.txt").write_text("mine")
    proc = _run(top)
    assert proc.returncode == 0, proc.stdout
    assert _members(top / "handin.tar") == sorted(COURSE_FILES)
    for name in COURSE_FILES:
        assert name in proc.stdout  # it lists what it wrote
    assert "mytorch/notes.txt is not packed" in proc.stdout
    assert "__pycache__" not in proc.stdout and ".DS_Store" not in proc.stdout

    # unpacked into an empty folder beside a copy of the grader: 15/15
    fresh = tmp_path / "fresh"
    shutil.copytree(GRADER_DIR,
                    str(fresh / "autograder" / "hw2_bonus_autograder"),
                    ignore=shutil.ignore_patterns("__pycache__"))
    with tarfile.open(str(top / "handin.tar")) as tar:
        tar.extractall(str(fresh))
    runner = fresh / "autograder" / "hw2_bonus_autograder" / "runner.py"
    result = run_grader(runner=str(runner), cwd=str(fresh))
    assert result.returncode == 0, result
    assert result.scores == FULL
    assert "grading %s " % fresh in result.stdout


def test_runs_from_another_folder_and_writes_no_bytecode(tmp_path):
    top = _workdir(tmp_path)
    proc = _run(top, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout
    assert (top / "handin.tar").exists()
    assert not (tmp_path / "handin.tar").exists()
    for sub in ("mytorch", "models"):
        assert not (top / sub / "__pycache__").exists()


def _refused(top, *words):
    proc = _run(top)
    assert proc.returncode == 1, proc.stdout
    assert "Not writing handin.tar" in proc.stdout
    assert not (top / "handin.tar").exists()
    for word in words:
        assert word in proc.stdout, proc.stdout
    return proc


def test_refuses_a_missing_file(tmp_path):
    top = _workdir(tmp_path)
    os.remove(str(top / "mytorch" / "resampling.py"))
    _refused(top, "PROBLEM: mytorch/resampling.py is missing")


def test_refuses_a_file_that_does_not_compile(tmp_path):
    top = _workdir(tmp_path)
    with open(str(top / "mytorch" / "activation.py"), "a") as handle:
        handle.write("\ndef broken(:\n")
    _refused(top, "PROBLEM: mytorch/activation.py does not compile",
             "SyntaxError")


def test_refuses_a_foreign_import(tmp_path):
    top = _workdir(tmp_path)
    with open(str(top / "mytorch" / "activation.py"), "a") as handle:
        handle.write("\ntry:\n    from scipy.special import erf\n"
                     "except ImportError:\n    erf = None\n")
    _refused(top, "PROBLEM: mytorch/activation.py:", "imports scipy")


def test_refuses_code_that_fails_on_import(tmp_path):
    top = _workdir(tmp_path)
    with open(str(top / "models" / "resnet.py"), "a") as handle:
        handle.write("\nundefined_name_here\n")
    _refused(top, "PROBLEM: importing the modules fails", "NameError")


def test_force_writes_anyway_and_says_so(tmp_path):
    top = _workdir(tmp_path)
    with open(str(top / "mytorch" / "activation.py"), "a") as handle:
        handle.write("\nimport scipy\n")
    proc = _run(top, "--force")
    assert "Writing handin.tar anyway (--force)" in proc.stdout
    assert proc.returncode == 1  # still reports the problem
    assert _members(top / "handin.tar") == sorted(COURSE_FILES)


def test_unknown_option_is_refused(tmp_path):
    top = _workdir(tmp_path)
    proc = _run(top, "--bogus")
    assert proc.returncode == 2
    assert "usage" in proc.stdout
    assert not (top / "handin.tar").exists()


def test_exclude_lists_litter_only():
    with open(os.path.join(ROOT, "exclude.txt")) as handle:
        patterns = [l.strip() for l in handle
                    if l.strip() and not l.startswith("#")]
    for needed in ("__pycache__", "*.pyc", ".DS_Store", "*.swp", "*~",
                   ".ipynb_checkpoints"):
        assert needed in patterns
    import fnmatch
    for name in COURSE_FILES:
        for part in name.split("/"):
            assert not any(fnmatch.fnmatch(part, p) for p in patterns), name


def test_refuses_code_python_3_8_cannot_run_unless_forced(tmp_path):
    top = _workdir(tmp_path)
    with open(str(top / "mytorch" / "activation.py"), "a") as handle:
        handle.write("\n\n_SHAPES: list[int] = []\n")
    _refused(top, "PROBLEM: mytorch/activation.py:",
             "list[...] needs Python 3.9")
    proc = _run(top, "--force")
    assert proc.returncode == 1, proc.stdout
    assert "Writing handin.tar anyway (--force)" in proc.stdout
    assert _members(top / "handin.tar") == sorted(COURSE_FILES)


@pytest.mark.skipif(sys.version_info < (3, 10),
                    reason="this Python cannot parse `match` at all")
def test_refuses_syntax_python_3_8_cannot_parse(tmp_path):
    top = _workdir(tmp_path)
    with open(str(top / "mytorch" / "activation.py"), "a") as handle:
        handle.write("\n\ndef _kind(x):\n    match x:\n        case _:\n"
                     "            return 1\n")
    _refused(top, "PROBLEM: mytorch/activation.py:",
             "Python 3.8 (Autolab's) cannot parse this")


def test_refuses_package_style_imports_autolab_cannot_resolve(tmp_path):
    # Autolab has mytorch/ and models/ on sys.path, not the folder above
    top = _workdir(tmp_path)
    with open(str(top / "models" / "resnet.py"), "a") as handle:
        handle.write("\nfrom mytorch.Conv2d import Conv2d\n")
    _refused(top, "PROBLEM: importing the modules fails",
             "No module named 'mytorch'")


def test_a_symlinked_course_file_is_packed_as_its_contents(tmp_path):
    top = _workdir(tmp_path)
    real = tmp_path / "elsewhere" / "activation.py"
    real.parent.mkdir()
    shutil.move(str(top / "mytorch" / "activation.py"), str(real))
    os.symlink(str(real), str(top / "mytorch" / "activation.py"))
    proc = _run(top)
    assert proc.returncode == 0, proc.stdout
    assert "mytorch/activation.py is a symbolic link" in proc.stdout
    with tarfile.open(str(top / "handin.tar")) as tar:
        member = tar.getmember("mytorch/activation.py")
        assert member.isfile(), member.type
        packed = tar.extractfile(member).read()
    assert packed == real.read_bytes()


def test_a_dangling_symlink_is_a_problem(tmp_path):
    top = _workdir(tmp_path)
    os.remove(str(top / "mytorch" / "activation.py"))
    os.symlink(str(tmp_path / "gone.py"),
               str(top / "mytorch" / "activation.py"))
    _refused(top, "PROBLEM: mytorch/activation.py is a symbolic link to a "
                  "file that does not exist")


def test_file_names_with_spaces_stay_whole(tmp_path):
    top = _workdir(tmp_path)
    (top / "mytorch" / "my notes.txt").write_text("mine")
    proc = _run(top)
    assert proc.returncode == 0, proc.stdout
    assert "note: mytorch/my notes.txt is not packed" in proc.stdout
    assert "mytorch/my is not packed" not in proc.stdout
    assert _members(top / "handin.tar") == sorted(COURSE_FILES)


def test_unknown_option_is_named(tmp_path):
    top = _workdir(tmp_path)
    proc = _run(top, "--bogus")
    assert proc.returncode == 2
    assert "unknown option: --bogus" in proc.stdout
