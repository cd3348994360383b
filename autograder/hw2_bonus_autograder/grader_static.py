"""Static warnings that save an Autolab bounce, found without running code.

Autolab runs the handin with NumPy 1.18.5 and nothing beyond NumPy and the
standard library, and it receives only the six course files. This module
reads those files (with `ast`, never importing them) and warns, with file and
line, about:

- an import of anything else (scipy, torch, a helper file that is not handed
  in);
- a NumPy name that NumPy 1.18 does not have (NEWER_NUMPY_API, a kept list;
  tests/test_grader_static.py checks it against a real NumPy 1.18.5);
- code Python 3.8 (Autolab's) cannot run: syntax it cannot parse (checked
  with ast.parse(..., feature_version=(3, 8)): match, parenthesised context
  managers, except*), builtins subscripted as types (list[int], 3.9+) or
  unions written X | Y (3.10+) where Python evaluates them when importing
  (annotations of functions and of module or class variables, unless the
  file starts with `from __future__ import annotations`; list[int] also in
  any other expression), and a few standard-library names newer than 3.8
  (NEWER_PYTHON_API).

create_tarball.sh runs the same checks (`python grader_static.py ROOT`) as
part of its preflight.
"""
import ast
import importlib.util
import os
import sys
import sysconfig

COURSE_FILES = ("mytorch/batchnorm2d.py", "mytorch/dropout2d.py",
                "mytorch/Conv2d.py", "mytorch/activation.py",
                "mytorch/resampling.py", "models/resnet.py")
COURSE_MODULES = frozenset(os.path.basename(f)[:-3] for f in COURSE_FILES)
PACKAGES = frozenset(("mytorch", "models"))

# NumPy names that NumPy 1.18 lacks -> the version that brought them.
NEWER_NUMPY_API = {
    "numpy.lib.stride_tricks.sliding_window_view": "1.20",
    "numpy.broadcast_shapes": "1.20",
    "numpy.typing": "1.20",
    "numpy.exceptions": "1.25",
    "numpy.dtypes": "1.25",
    "numpy.trapezoid": "2.0",
    "numpy.concat": "2.0",
    "numpy.permute_dims": "2.0",
    "numpy.matrix_transpose": "2.0",
    "numpy.pow": "2.0",
    "numpy.acos": "2.0",
    "numpy.acosh": "2.0",
    "numpy.asin": "2.0",
    "numpy.asinh": "2.0",
    "numpy.atan": "2.0",
    "numpy.atan2": "2.0",
    "numpy.atanh": "2.0",
    "numpy.bitwise_left_shift": "2.0",
    "numpy.bitwise_right_shift": "2.0",
    "numpy.bitwise_invert": "2.0",
    "numpy.vecdot": "2.0",
    "numpy.isdtype": "2.0",
    "numpy.unique_all": "2.0",
    "numpy.unique_counts": "2.0",
    "numpy.unique_inverse": "2.0",
    "numpy.unique_values": "2.0",
    "numpy.strings": "2.0",
    "numpy.linalg.matrix_norm": "2.0",
    "numpy.linalg.vector_norm": "2.0",
    "numpy.linalg.vecdot": "2.0",
    "numpy.linalg.matrix_transpose": "2.0",
    "numpy.linalg.outer": "2.0",
    "numpy.linalg.diagonal": "2.0",
    "numpy.linalg.trace": "2.0",
    "numpy.linalg.cross": "2.0",
    "numpy.linalg.svdvals": "2.0",
    "numpy.linalg.tensordot": "2.0",
    "numpy.linalg.matmul": "2.0",
    "numpy.lib.array_utils": "2.0",
    "numpy.unstack": "2.1",
    "numpy.cumulative_sum": "2.1",
    "numpy.cumulative_prod": "2.1",
    "numpy.astype": "2.1",
    "numpy.matvec": "2.2",
    "numpy.vecmat": "2.2",
}


# Standard-library names Python 3.8 lacks -> the version that brought them.
NEWER_PYTHON_API = {
    "math.lcm": "3.9",
    "math.nextafter": "3.9",
    "math.ulp": "3.9",
    "math.cbrt": "3.11",
    "math.exp2": "3.11",
    "math.sumprod": "3.12",
    "functools.cache": "3.9",
    "itertools.pairwise": "3.10",
    "itertools.batched": "3.12",
}
# str methods new in 3.9, found as attribute calls on anything
NEWER_STR_METHODS = ("removeprefix", "removesuffix")
# builtins that Python 3.8 cannot subscript (list[int] is new in 3.9)
GENERIC_BUILTINS = frozenset(("list", "dict", "tuple", "set", "frozenset",
                              "type"))
AUTOLAB_PYTHON = (3, 8)


class Warning_(object):
    """One finding: where it is and what it says."""

    def __init__(self, path, line, message):
        self.path = path
        self.line = line
        self.message = message

    def __str__(self):
        return "%s:%d: %s" % (self.path, self.line, self.message)


def scan(root):
    """Findings for the course files under root (missing files are skipped)."""
    found = []
    for rel in COURSE_FILES:
        path = os.path.join(root, rel)
        if not os.path.isfile(path):
            continue
        with open(path, "rb") as handle:
            source = handle.read()
        try:
            tree = ast.parse(source, filename=rel)
        except (SyntaxError, ValueError):
            continue  # the grader reports syntax errors when it imports
        old = _old_syntax_error(source, rel, tree)
        if old is not None:
            found.append(old)
        found.extend(_scan_tree(tree, rel, root))
        found.extend(_scan_python_api(tree, rel))
    found.sort(key=lambda w: (w.path, w.line))
    return _unique(found)


def _old_syntax_error(source, rel, tree):
    """A warning when Python 3.8's grammar rejects source, else None.

    tree: source parsed by this Python. The parser places some of these
    errors at the end of the statement; a match or except* statement is
    reported where it starts.
    """
    try:
        ast.parse(source, filename=rel, feature_version=AUTOLAB_PYTHON)
    except SyntaxError as exc:
        line = exc.lineno or 1
        newer = tuple(getattr(ast, name) for name in ("Match", "TryStar")
                      if hasattr(ast, name))
        starts = [node.lineno for node in ast.walk(tree)
                  if newer and isinstance(node, newer)]
        if starts and min(starts) <= line:
            line = max(n for n in starts if n <= line)
        return Warning_(rel, line,
                        "Python 3.8 (Autolab's) cannot parse this: %s"
                        % exc.msg)
    except ValueError:
        return None
    return None


def _scan_python_api(tree, rel):
    """Python 3.9+ features Python 3.8 fails on when it runs the code."""
    found = []
    postponed = any(isinstance(node, ast.ImportFrom)
                    and node.module == "__future__"
                    and any(a.name == "annotations" for a in node.names)
                    for node in tree.body)
    rebound = _rebound_names(tree)
    annotations = set()
    for node, evaluated in _annotations(tree):
        for sub in ast.walk(node):
            annotations.add(id(sub))
        if evaluated and not postponed:
            found.extend(_check_annotation(node, rel, rebound))
    for node in ast.walk(tree):
        if id(node) in annotations:
            continue
        if (isinstance(node, ast.Subscript)
                and isinstance(node.value, ast.Name)
                and node.value.id in GENERIC_BUILTINS
                and node.value.id not in rebound):
            found.append(_generic_warning(rel, node))
        elif (isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in NEWER_STR_METHODS):
            found.append(Warning_(
                rel, node.lineno, "str.%s is new in Python 3.9; Autolab "
                "runs Python 3.8, which does not have it" % node.func.attr))
    aliases = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                aliases[alias.asname or alias.name] = alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            for alias in node.names:
                aliases[alias.asname or alias.name] = (
                    "%s.%s" % (node.module, alias.name))
    for node in ast.walk(tree):
        dotted = None
        if isinstance(node, ast.Attribute):
            dotted = _dotted(node, aliases)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for name in aliases.values():
                if name in NEWER_PYTHON_API and _imports(node, name):
                    found.append(_python_api_warning(rel, node, name))
        if dotted in NEWER_PYTHON_API:
            found.append(_python_api_warning(rel, node, dotted))
    return found


def _imports(node, dotted):
    """Whether an import statement brings in exactly the name dotted."""
    if isinstance(node, ast.ImportFrom):
        return any("%s.%s" % (node.module, a.name) == dotted
                   for a in node.names)
    return any(a.name == dotted for a in node.names)


def _python_api_warning(rel, node, dotted):
    return Warning_(rel, node.lineno,
                    "%s is new in Python %s; Autolab runs Python 3.8, which "
                    "does not have it" % (dotted, NEWER_PYTHON_API[dotted]))


def _generic_warning(rel, node):
    return Warning_(rel, node.lineno,
                    "%s[...] needs Python 3.9; on Python 3.8 (Autolab's) it "
                    "raises TypeError when this line runs (use typing.%s, "
                    "or add `from __future__ import annotations` if it is "
                    "an annotation)" % (node.value.id, node.value.id.title()
                                        if node.value.id != "frozenset"
                                        else "FrozenSet"))


def _check_annotation(node, rel, rebound):
    """Warnings for an annotation Python evaluates when the code runs."""
    found = []
    for sub in ast.walk(node):
        if (isinstance(sub, ast.Subscript)
                and isinstance(sub.value, ast.Name)
                and sub.value.id in GENERIC_BUILTINS
                and sub.value.id not in rebound):
            found.append(_generic_warning(rel, sub))
        elif isinstance(sub, ast.BinOp) and isinstance(sub.op, ast.BitOr):
            found.append(Warning_(
                rel, sub.lineno, "a type union written X | Y needs Python "
                "3.10; on Python 3.8 (Autolab's) this annotation raises "
                "TypeError on import (use typing.Optional / typing.Union, "
                "or add `from __future__ import annotations`)"))
    return found


def _annotations(tree):
    """(annotation node, whether Python evaluates it) for every annotation.

    Function annotations are evaluated when the def runs; a variable's only
    at module or class level, never inside a function.
    """
    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                args = child.args
                every = (getattr(args, "posonlyargs", []) + args.args
                         + args.kwonlyargs
                         + [a for a in (args.vararg, args.kwarg) if a])
                for arg in every:
                    if arg.annotation is not None:
                        yield arg.annotation, True
                if child.returns is not None:
                    yield child.returns, True
                for item in visit(child, True):
                    yield item
            elif isinstance(child, ast.AnnAssign):
                yield child.annotation, not in_function
                for item in visit(child, in_function):
                    yield item
            elif isinstance(child, ast.Lambda):
                for item in visit(child, True):
                    yield item
            else:
                for item in visit(child, in_function):
                    yield item
    for item in visit(tree, False):
        yield item


def _rebound_names(tree):
    """Names the module assigns or takes as arguments (list = ..., etc.)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            names.add(node.id)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef,
                               ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                names.add((alias.asname or alias.name).split(".")[0])
    return names


def _scan_tree(tree, rel, root):
    found = []
    aliases = {}  # local name -> dotted numpy name
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.extend(_check_import(alias.name, 0, node, rel, root))
                if _top(alias.name) == "numpy":
                    if alias.asname:
                        aliases[alias.asname] = alias.name
                    else:
                        aliases["numpy"] = "numpy"
                    found.extend(_check_numpy_name(alias.name, node, rel))
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            found.extend(_check_import(module, node.level, node, rel, root,
                                       [a.name for a in node.names]))
            if node.level == 0 and _top(module) == "numpy":
                found.extend(_check_numpy_name(module, node, rel))
                for alias in node.names:
                    full = module + "." + alias.name
                    aliases[alias.asname or alias.name] = full
                    found.extend(_check_numpy_name(full, node, rel))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            dotted = _dotted(node, aliases)
            if dotted:
                found.extend(_check_numpy_name(dotted, node, rel))
    found.sort(key=lambda w: (w.path, w.line))
    return _unique(found)


def _top(name):
    return name.split(".")[0]


def _dotted(node, aliases):
    """The numpy dotted name an Attribute chain stands for, or None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name) or node.id not in aliases:
        return None
    return ".".join([aliases[node.id]] + parts[::-1])


def _check_numpy_name(dotted, node, rel):
    since = NEWER_NUMPY_API.get(dotted)
    if since is None:
        return []
    return [Warning_(rel, node.lineno,
                     "%s is new in NumPy %s; Autolab runs NumPy 1.18.5, "
                     "which does not have it" % (dotted, since))]


def _check_import(module, level, node, rel, root, names=()):
    """Warnings for one import statement's module."""
    if level > 0:  # relative: must be one of the course modules
        targets = [module] if module else [n for n in names if n != "*"]
        bad = [t for t in targets if _local_name(t) not in COURSE_MODULES]
        return [_local_warning(rel, node, t) for t in bad]
    top = _top(module)
    if top == "numpy" or top in COURSE_MODULES:
        return []
    if top in PACKAGES:
        parts = module.split(".")
        if len(parts) > 1:
            ok = parts[1] in COURSE_MODULES
            return [] if ok else [_local_warning(rel, node, module)]
        return [_local_warning(rel, node, module + "." + t) for t in names
                if t != "*" and t not in COURSE_MODULES]
    if _is_local(top, root):
        return [_local_warning(rel, node, top)]
    if is_stdlib(top):
        return []
    return [Warning_(rel, node.lineno,
                     "imports %s; Autolab has only NumPy and the Python "
                     "standard library" % top)]


def _local_name(dotted):
    """The course-module part of a relative import's target."""
    parts = [p for p in dotted.split(".") if p]
    if len(parts) > 1 and parts[0] in PACKAGES:
        return parts[1]
    return parts[0] if parts else dotted


def _local_warning(rel, node, name):
    return Warning_(rel, node.lineno,
                    "imports %s, which is not one of the six files handed in "
                    "(Autolab will not have it)" % name)


def _is_local(top, root):
    return any(os.path.exists(os.path.join(root, folder, top + ext))
               for folder in PACKAGES for ext in (".py", ""))


def is_stdlib(name):
    """Whether a top-level module name belongs to Python's standard library."""
    names = getattr(sys, "stdlib_module_names", None)  # Python 3.10+
    if names is not None:
        return name in names
    if name in sys.builtin_module_names:
        return True
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return False
    if spec is None:
        return False
    if spec.origin in ("built-in", "frozen"):
        return True
    origin = os.path.realpath(spec.origin or "")
    stdlib = os.path.realpath(sysconfig.get_paths()["stdlib"])
    return (origin.startswith(stdlib + os.sep)
            and "site-packages" not in origin
            and "dist-packages" not in origin)


def _unique(found):
    seen = set()
    result = []
    for w in found:
        key = (w.path, w.line, w.message)
        if key not in seen:
            seen.add(key)
            result.append(w)
    return result


def main(argv=None):
    """Print the findings for ROOT; exit 1 when there are any."""
    argv = sys.argv[1:] if argv is None else argv
    root = argv[0] if argv else "."
    found = scan(root)
    for warning in found:
        print(warning)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
