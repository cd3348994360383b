"""Measure one forward + backward's peak-RSS growth in this fresh process.

Run by bench.py, one process per (case, library):
    python benchmarks/_memory_probe.py --case resblock --lib torch
Prints one JSON line. The layer, its weights, the input and the upstream
gradient are built (and torch imported) before the baseline is read, and
there is no full-size warm-up call (it would raise the peak to what is
being measured), so the growth is what that one pass needs at its peak.

That includes whatever the library sets up lazily on its first call: about
40 MB for torch here (code pages, thread pools), under 1 MB for NumPy. With
--prime the process first runs the same case once on tiny shapes, so the
one-time set-up is done before the baseline and only the memory the
full-size pass itself needs is counted.

How the peak is read: on Linux, VmHWM from /proc/self/status, after
resetting it to the current RSS (writing 5 to /proc/self/clear_refs) so that
set-up temporaries freed before the baseline cannot hide part of the pass's
peak. VmHWM is the high-water mark that resource.getrusage's ru_maxrss
reports, but per address space: ru_maxrss of a child also carries the
parent's peak across fork/exec (bench.py's own ~1 GB showed up as every
probe's baseline), and clear_refs does not reset that part. Elsewhere the
plain ru_maxrss difference is reported, with "source" saying which was used.
"""
import argparse
import gc
import json
import resource
import sys

import bench


def peak_rss_bytes():
    """(peak RSS in bytes, where it came from)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024, "VmHWM"
    except OSError:
        pass
    # ru_maxrss is in kilobytes on Linux (bytes on macOS).
    scale = 1 if sys.platform == "darwin" else 1024
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_maxrss * scale, "ru_maxrss"


def reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", default=bench.ROOT)
    parser.add_argument("--case", required=True, choices=bench.LAYER_CASES)
    parser.add_argument("--lib", required=True, choices=("torch", "mytorch"))
    parser.add_argument("--small", action="store_true")
    parser.add_argument("--prime", action="store_true",
                        help="run the case on tiny shapes before the baseline")
    args = parser.parse_args()

    if args.prime:
        tiny = bench.MyTorchSide(args.root, args.case, small=True)
        if args.lib == "torch":
            tiny = bench.TorchSide(tiny)
        tiny.step()
        del tiny

    side = bench.MyTorchSide(args.root, args.case, small=args.small)
    if args.lib == "torch":
        side = bench.TorchSide(side)
    gc.collect()
    reset = reset_peak()
    before, source = peak_rss_bytes()

    side.step()

    after, _ = peak_rss_bytes()
    print(json.dumps({"case": args.case, "lib": args.lib,
                      "prime": args.prime, "reset": reset,
                      "source": source,
                      "before_bytes": before, "after_bytes": after,
                      "growth_bytes": after - before}))


if __name__ == "__main__":
    main()
