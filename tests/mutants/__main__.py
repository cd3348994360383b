"""Write one mutant's broken copy: python tests/mutants NAME DEST.

Without arguments, list the mutants and their bugs.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))

from mutants import MUTANTS, BY_NAME, make_root  # noqa: E402


def main(argv):
    if len(argv) != 2 or argv[0] not in BY_NAME:
        for mutant in MUTANTS:
            print("%-32s %s" % (mutant.name, mutant.bug))
        print("\nusage: python tests/mutants NAME DEST")
        return 0 if not argv else 2
    dest, lines = make_root(argv[0], argv[1])
    print("wrote %s (%s, lines %d-%d changed); grade it with\n"
          "  python autograder/hw2_bonus_autograder/runner.py --root %s"
          % (dest, BY_NAME[argv[0]].path, lines[0], lines[1], dest))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
