#!/bin/sh
# Make handin.tar for Autolab: exactly the six course files, after a preflight.
#
# Usage, from the top-level folder:  sh create_tarball.sh [--force]
#
# Preflight: the six files are present and compile; they import only NumPy,
# the standard library and each other, and use no NumPy API newer than 1.18
# nor Python newer than 3.8 (Autolab runs Python 3.8 with NumPy 1.18.5);
# importing them the course's way works (only mytorch/ and models/ on
# sys.path, so `import mytorch.X` fails as it does on Autolab). On any
# problem it says what and writes nothing, unless --force is given. A course
# file that is a symbolic link is packed as the file it points to. Files in
# mytorch/ and models/ other than the six are never packed (the course
# forbids adding files); litter listed in exclude.txt is ignored, anything
# else is pointed out. POSIX sh: runs the same on Linux and macOS.

FILES="mytorch/batchnorm2d.py mytorch/dropout2d.py mytorch/Conv2d.py
mytorch/activation.py mytorch/resampling.py models/resnet.py"
TARBALL=handin.tar
STATIC=autograder/hw2_bonus_autograder/grader_static.py

usage() {
    echo "usage: sh create_tarball.sh [--force]"
    echo "  --force  write $TARBALL even when the preflight finds problems"
}

force=0
for arg in "$@"; do
    case $arg in
        -f|--force) force=1 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "unknown option: $arg" >&2; usage >&2; exit 2 ;;
    esac
done

cd "$(dirname "$0")" || exit 2

problems=0
problem() {
    echo "  PROBLEM: $*"
    problems=$((problems + 1))
}

PY=${PYTHON:-}
if [ -z "$PY" ]; then
    for candidate in python3 python; do
        if command -v "$candidate" >/dev/null 2>&1; then
            PY=$candidate
            break
        fi
    done
fi

echo "Preflight of the six course files:"

present=""
for f in $FILES; do
    if [ -f "$f" ]; then
        present="$present $f"
        if [ -h "$f" ]; then
            echo "  note: $f is a symbolic link; its target is packed"
        fi
    elif [ -h "$f" ]; then
        problem "$f is a symbolic link to a file that does not exist"
    else
        problem "$f is missing"
    fi
done

if [ -z "$PY" ]; then
    echo "  note: no python3 found, so compiling and imports are not checked"
else
    # each file must compile (no .pyc is written)
    for f in $present; do
        if ! err=$("$PY" -B -c 'import sys
path = sys.argv[1]
with open(path, "rb") as handle:
    compile(handle.read(), path, "exec")' "$f" 2>&1); then
            problem "$f does not compile:"
            printf '%s\n' "$err" | tail -n 4 | sed 's/^/      /'
        fi
    done

    # imports and NumPy API Autolab does not have
    if [ -f "$STATIC" ]; then
        found=$("$PY" -B "$STATIC" . 2>&1)
        if [ -n "$found" ]; then
            printf '%s\n' "$found" | while IFS= read -r line; do
                echo "  PROBLEM: $line"
            done
            problems=$((problems + $(printf '%s\n' "$found" | wc -l)))
        fi
    else
        echo "  note: $STATIC not found, so imports are not checked"
    fi

    # importing them the course's way must work
    if ! "$PY" -c "import numpy" >/dev/null 2>&1; then
        echo "  note: $PY has no NumPy, so importing the files is not tried"
    elif [ "$problems" -eq 0 ]; then
        # like Autolab's runner: mytorch/ and models/ on sys.path, but not
        # this folder (python -c puts it first), so `import mytorch.X` fails
        if ! err=$("$PY" -B -c 'import os, sys
here = os.path.realpath(os.getcwd())
sys.path[:] = [p for p in sys.path if os.path.realpath(p or ".") != here]
sys.path += [os.path.join(here, "mytorch"), os.path.join(here, "models")]
import dropout2d, batchnorm2d, resnet' 2>&1); then
            problem "importing the modules fails:"
            printf '%s\n' "$err" | tail -n 4 | sed 's/^/      /'
        fi
    fi
fi

# anything else in mytorch/ and models/ stays out; say so unless it is litter
is_litter() {
    old_ifs=$IFS
    IFS=/
    for part in $1; do
        while IFS= read -r pattern; do
            case $pattern in ''|'#'*) continue ;; esac
            # shellcheck disable=SC2254
            case $part in $pattern) IFS=$old_ifs; return 0 ;; esac
        done < exclude.txt
    done
    IFS=$old_ifs
    return 1
}
# one name a line, so names with spaces stay whole
find mytorch models -type f 2>/dev/null | sort | while IFS= read -r f; do
    case " $(echo $FILES) " in *" $f "*) continue ;; esac
    if [ -f exclude.txt ] && is_litter "$f"; then
        continue
    fi
    echo "  note: $f is not packed (Autolab receives only the six files)"
done

if [ "$problems" -gt 0 ]; then
    if [ "$force" -eq 0 ]; then
        echo "Not writing $TARBALL: $problems problem(s) above." \
             "Fix them, or run: sh create_tarball.sh --force"
        if [ -f "$TARBALL" ]; then
            echo "An older $TARBALL is still here: it does NOT hold the" \
                 "current code."
        fi
        exit 1
    fi
    echo "Writing $TARBALL anyway (--force), with $problems problem(s)."
else
    echo "  all good"
fi

if [ -z "$present" ]; then
    echo "Nothing to pack."
    exit 1
fi

tmp="$TARBALL.tmp.$$"
exclude=""
[ -f exclude.txt ] && exclude="-X exclude.txt"
# COPYFILE_DISABLE keeps macOS tar from adding ._ metadata files; -h packs
# what a symbolic link points to (GNU tar and bsdtar both read it so)
# shellcheck disable=SC2086
if ! COPYFILE_DISABLE=1 tar -chf "$tmp" $exclude $present; then
    rm -f "$tmp"
    echo "tar failed; $TARBALL not written."
    exit 1
fi
packed=$(tar -tf "$tmp" | sort)
wanted=$(printf '%s\n' $present | sort)
if [ "$packed" != "$wanted" ]; then
    rm -f "$tmp"
    echo "The archive would not hold exactly the course files; not written."
    exit 1
fi
mv -f "$tmp" "$TARBALL"
echo "Wrote $TARBALL:"
tar -tvf "$TARBALL"
[ "$problems" -eq 0 ] || exit 1
exit 0
