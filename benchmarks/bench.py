"""Benchmark MyTorch against PyTorch on the CPU (float64, 2 threads).

Cases (issue 4):
  1 resblock  ResBlock(3, 64, 3, stride=4, padding=4) on (5, 3, 128, 128)
  2 conv_s1   Conv2d(64, 64, 3, stride=1, padding=1) on (16, 64, 32, 32)
  3 conv_s2   Conv2d(32, 64, 3, stride=2, padding=1) on (16, 32, 32, 32)
  4 grader    `python3 autograder/hw2_bonus_autograder/runner.py`, wall time

Cases 1 to 3 time one forward + backward pass. Both libraries get the same
weights and inputs (MyTorch's NumPy arrays copied into torch tensors), and
before anything is timed the script compares MyTorch's output, input gradient
and parameter gradients with PyTorch's and aborts if they disagree.

Timing: each library runs in its own block (warm-up calls, then --repeat
timed calls), torch first, then MyTorch, for --rounds rounds. Blocks, not
alternating calls, because OpenBLAS's worker threads keep spinning after a
NumPy GEMM and slow a torch call that follows at once. The reported figure
is the median of all timed calls of a library; the spread is the
interquartile range and min-max; the ratio is MyTorch's median over
torch's. The per-round ratios are kept too, to show how stable it is.

Memory: for cases 1 to 3 and each library, a fresh process
(benchmarks/_memory_probe.py) builds the layer, input and upstream gradient,
reads its peak RSS (VmHWM, the per-process ru_maxrss; see that file), runs
one forward + backward with no full-size warm-up and reads the peak again.
"cold" runs nothing before the baseline; "primed" first runs the case once
on tiny shapes so torch's ~40 MB of one-time first-call set-up is not
counted; the target is judged on "primed". tracemalloc cannot be used
because it does not see PyTorch's allocations.

Usage (from the repository root):
    python benchmarks/bench.py                 # everything, ~1.5 min idle
    python benchmarks/bench.py --cases 1,2 --repeat 11 --rounds 5
    python benchmarks/bench.py --quick         # smoke run, numbers are rough
    python benchmarks/bench.py --profile --cases 1,2,3   # cProfile MyTorch
Results go to benchmarks/results.json (git-ignored) unless --json says
otherwise.
"""
import argparse
import cProfile
import datetime
import gc
import io
import json
import os
import platform
import pstats
import statistics
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
GRADER = os.path.join("autograder", "hw2_bonus_autograder", "runner.py")
THREADS = 2
SEED = 11785

# key -> layer description. "small" shapes serve the smoke test only.
CASES = {
    "resblock": {
        "number": 1,
        "title": "ResBlock(3,64,3,s4,p4) (5,3,128,128)",
        "kind": "resblock",
        "layer": (3, 64, 3, 4, 4),
        "input": (5, 3, 128, 128),
        "small_layer": (3, 4, 3, 2, 1),
        "small_input": (2, 3, 9, 7),
        "time_target": 2.0,
        "mem_target": 1.0,
    },
    "conv_s1": {
        "number": 2,
        "title": "Conv2d(64,64,3,s1,p1) (16,64,32,32)",
        "kind": "conv",
        "layer": (64, 64, 3, 1, 1),
        "input": (16, 64, 32, 32),
        "small_layer": (3, 4, 3, 1, 1),
        "small_input": (2, 3, 6, 5),
        "time_target": 1.3,
        "mem_target": 1.3,
    },
    "conv_s2": {
        "number": 3,
        "title": "Conv2d(32,64,3,s2,p1) (16,32,32,32)",
        "kind": "conv",
        "layer": (32, 64, 3, 2, 1),
        "input": (16, 32, 32, 32),
        "small_layer": (3, 5, 3, 2, 1),
        "small_input": (2, 3, 8, 9),
        "time_target": 1.5,
        "mem_target": 1.3,
    },
    "grader": {
        "number": 4,
        "title": "grader runner.py (wall, s)",
        "kind": "grader",
        "wall_target": 1.0,
    },
}
LAYER_CASES = ["resblock", "conv_s1", "conv_s2"]

# Parity tolerance: |mytorch - torch| <= ATOL_REL * max(1, max|torch|)
# + RTOL * |torch|, per tensor. Float64 round-off is near 1e-13 here, so
# these only let through summation-order noise, never a wrong formula.
RTOL = 1e-7
ATOL_REL = 1e-9


class ParityError(AssertionError):
    """MyTorch's results differ from PyTorch's beyond the tolerance."""


# ---------------------------------------------------------------------------
# building the two sides


def use_repo(root):
    """Make MyTorch importable the course's way (mytorch/ and models/)."""
    for sub in ("", "mytorch", "models"):
        path = os.path.join(root, sub)
        if path not in sys.path:
            sys.path.insert(0, path)


def import_torch():
    """Import torch configured for the benchmark: float64, 2 threads."""
    import torch
    torch.set_num_threads(THREADS)
    torch.set_default_dtype(torch.float64)
    return torch


def _shapes(case, small):
    spec = CASES[case]
    prefix = "small_" if small else ""
    return spec[prefix + "layer"], spec[prefix + "input"]


def _mytorch_params(case, model):
    """name -> MyTorch layer holding it, as (object, value attr, grad attr)."""
    params = {}

    def add_conv(name, conv):
        inner = conv.conv2d_stride1
        params[name + ".W"] = (inner, "W", "dLdW")
        params[name + ".b"] = (inner, "b", "dLdb")

    def add_bn(name, bn):
        params[name + ".BW"] = (bn, "BW", "dLdBW")
        params[name + ".Bb"] = (bn, "Bb", "dLdBb")

    if CASES[case]["kind"] == "conv":
        add_conv("conv", model)
        return params
    blocks = [("conv1", "bn1", model.convolution_layers[0]),
              ("conv2", "bn2", model.convolution_layers[2]),
              ("short_conv", "short_bn", model.residual_connection)]
    for conv_name, bn_name, block in blocks:
        add_conv(conv_name, block.layers[0])
        add_bn(bn_name, block.layers[1])
    return params


class MyTorchSide:
    """A MyTorch layer with fixed input and upstream gradient.

    The layer's weights come from its own default initialisation under a
    fixed seed; biases and BatchNorm scale/shift are then set to random
    values so that the parity check sees every parameter at work.
    """

    def __init__(self, root, case, small=False, seed=SEED):
        use_repo(root)
        layer, in_shape = _shapes(case, small)
        np.random.seed(seed)
        if CASES[case]["kind"] == "conv":
            from Conv2d import Conv2d
            c_in, c_out, k, stride, pad = layer
            self.model = Conv2d(c_in, c_out, k, stride, pad)
        else:
            from resnet import ResBlock
            c_in, c_out, k, stride, pad = layer
            self.model = ResBlock(c_in, c_out, k, stride=stride, padding=pad)
        self.case = case
        self.layer = layer
        self.params = _mytorch_params(case, self.model)
        rng = np.random.RandomState(seed + 1)
        for name, (obj, value, _) in self.params.items():
            shape = getattr(obj, value).shape
            if value == "BW":
                setattr(obj, value, rng.uniform(0.5, 1.5, shape))
            elif value != "W":
                setattr(obj, value, rng.normal(0.0, 1.0, shape))
        self.x = rng.normal(0.0, 1.0, in_shape)
        self.out_shape = self._output_shape(in_shape)
        self.dLdZ = rng.normal(0.0, 1.0, self.out_shape)

    def _output_shape(self, in_shape):
        c_in, c_out, k, stride, pad = self.layer
        n, _, h, w = in_shape
        return (n, c_out, (h + 2 * pad - k) // stride + 1,
                (w + 2 * pad - k) // stride + 1)

    def step(self):
        """One forward + backward pass; returns (output, input gradient)."""
        out = self.model.forward(self.x)
        dLdA = self.model.backward(self.dLdZ)
        return out, dLdA

    def weights(self):
        return {name: np.array(getattr(obj, value), dtype=np.float64)
                for name, (obj, value, _) in self.params.items()}

    def grads(self):
        return {name: np.array(getattr(obj, grad), dtype=np.float64)
                for name, (obj, _, grad) in self.params.items()}


class TorchSide:
    """The PyTorch equivalent of a MyTorchSide, with copies of its arrays.

    ResBlock: relu(bn2(conv2_1x1(relu(bn1(conv1(x))))) + bn_s(conv_s(x))),
    every BatchNorm in training mode with eps 1e-8 and running buffers.
    """

    def __init__(self, mt):
        torch = import_torch()
        self.torch = torch
        self.F = torch.nn.functional
        self.case = mt.case
        self.layer = mt.layer
        self.params = {}
        for name, value in mt.weights().items():
            if name.endswith((".BW", ".Bb")):
                value = value.reshape(-1)
            self.params[name] = torch.tensor(value, requires_grad=True)
        self.buffers = {}
        for name in self.params:
            if name.endswith(".BW"):
                c = self.params[name].shape[0]
                base = name[:-3]
                self.buffers[base] = (torch.zeros(c), torch.ones(c))
        self.x = torch.tensor(mt.x, requires_grad=True)
        self.dLdZ = torch.tensor(mt.dLdZ)

    def _conv(self, name, x, stride, pad):
        p = self.params
        return self.F.conv2d(x, p[name + ".W"], p[name + ".b"], stride, pad)

    def _bn(self, name, x):
        mean, var = self.buffers[name]
        return self.F.batch_norm(x, mean, var, self.params[name + ".BW"],
                                 self.params[name + ".Bb"], training=True,
                                 momentum=0.1, eps=1e-8)

    def forward(self, x):
        _, _, _, stride, pad = self.layer
        if CASES[self.case]["kind"] == "conv":
            return self._conv("conv", x, stride, pad)
        relu = self.torch.relu
        main = relu(self._bn("bn1", self._conv("conv1", x, stride, pad)))
        main = self._bn("bn2", self._conv("conv2", main, 1, 0))
        short = self._bn("short_bn", self._conv("short_conv", x, stride, pad))
        return relu(main + short)

    def step(self):
        """One forward + backward pass; returns (output, input gradient)."""
        for p in self.params.values():
            p.grad = None
        self.x.grad = None
        out = self.forward(self.x)
        out.backward(self.dLdZ)
        return out, self.x.grad

    def grads(self):
        out = {}
        for name, p in self.params.items():
            g = p.grad.detach().numpy()
            if name.endswith((".BW", ".Bb")):
                g = g.reshape(1, -1, 1, 1)
            out[name] = g
        return out


# ---------------------------------------------------------------------------
# parity check


def compare(name, got, want):
    """Return None if got matches want within tolerance, else a message."""
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        return "%s: shape %s, torch has %s" % (name, got.shape, want.shape)
    if not np.all(np.isfinite(got)):
        return "%s: contains NaN or inf" % name
    scale = max(1.0, float(np.max(np.abs(want))) if want.size else 1.0)
    err = np.abs(got - want)
    allowed = ATOL_REL * scale + RTOL * np.abs(want)
    if np.all(err <= allowed):
        return None
    worst = np.unravel_index(int(np.argmax(err - allowed)), err.shape)
    return ("%s: max |mytorch - torch| = %.3g at index %s (mytorch %.17g, "
            "torch %.17g; allowed %.3g)" % (name, err.max(), tuple(worst),
                                           got[worst], want[worst],
                                           allowed[worst]))


def check_case(root, case, small=False):
    """Run both libraries once on `case` and raise ParityError on mismatch.

    Compares the forward output, the input gradient and every parameter
    gradient. Returns the list of tensor names checked.
    """
    mt = MyTorchSide(root, case, small=small)
    tt = TorchSide(mt)
    x_before = mt.x.copy()
    out, dLdA = mt.step()
    t_out, t_dLdA = tt.step()
    problems = [compare("output", out, t_out.detach().numpy()),
                compare("dLdA", dLdA, t_dLdA.numpy())]
    mt_grads, t_grads = mt.grads(), tt.grads()
    for name in mt.params:
        problems.append(compare("grad " + name, mt_grads[name],
                                t_grads[name]))
    if not np.array_equal(mt.x, x_before):
        problems.append("MyTorch modified its input array")
    problems = [p for p in problems if p]
    if problems:
        raise ParityError("case %s: MyTorch disagrees with PyTorch:\n  %s"
                          % (case, "\n  ".join(problems)))
    return ["output", "dLdA"] + ["grad " + n for n in mt.params]


# ---------------------------------------------------------------------------
# timing


def time_block(step, warmup, repeat):
    """Call step() warmup times untimed, then repeat times timed (seconds)."""
    for _ in range(warmup):
        step()
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            step()
            times.append(time.perf_counter() - start)
    finally:
        if was_enabled:
            gc.enable()
    return times


def summary(times):
    """Median, quartiles and range of a list of durations."""
    q1, med, q3 = np.percentile(times, [25, 50, 75])
    return {"median": float(med), "q1": float(q1), "q3": float(q3),
            "min": float(min(times)), "max": float(max(times)),
            "n": len(times)}


def time_layer_case(root, case, args):
    """Time torch and MyTorch in alternating blocks; return a result dict."""
    mt = MyTorchSide(root, case, small=args.small)
    tt = TorchSide(mt)
    rounds = {"torch": [], "mytorch": []}
    for _ in range(args.rounds):
        for lib, side in (("torch", tt), ("mytorch", mt)):
            time.sleep(args.pause)  # let the other library's threads sleep
            rounds[lib].append(time_block(side.step, args.warmup,
                                          args.repeat))
    result = {"case": case, "title": CASES[case]["title"]}
    for lib in rounds:
        flat = [t for block in rounds[lib] for t in block]
        result[lib] = summary(flat)
        result[lib]["blocks"] = rounds[lib]
    result["ratio"] = result["mytorch"]["median"] / result["torch"]["median"]
    result["round_ratios"] = [
        statistics.median(m) / statistics.median(t)
        for t, m in zip(rounds["torch"], rounds["mytorch"])]
    result["target"] = CASES[case]["time_target"]
    result["pass"] = result["ratio"] <= result["target"]
    return result


def time_grader(root, args):
    """Run the grader as a process repeatedly; return a result dict."""
    path = os.path.join(root, GRADER)
    result = {"case": "grader", "title": CASES["grader"]["title"],
              "command": [sys.executable, GRADER],
              "target": CASES["grader"]["wall_target"]}
    if not os.path.exists(path):
        result["skipped"] = "grader not found at %s" % GRADER
        return result

    def run():
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, GRADER], cwd=root,
                              stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=900)
        return time.perf_counter() - start, proc

    first, proc = run()  # warm-up: file cache, .pyc files
    result["returncode"] = proc.returncode
    if proc.returncode != 0:
        tail = proc.stdout.decode(errors="replace").splitlines()[-15:]
        result["error"] = "grader exited with %d" % proc.returncode
        result["output_tail"] = tail
        result["pass"] = False
        return result
    runs = args.repeat * args.rounds
    if first > 10.0:
        runs = min(runs, 3)
        result["note"] = "slow grader: only %d timed runs" % runs
    times = []
    for _ in range(runs):
        elapsed, proc = run()
        if proc.returncode != 0:
            result["error"] = "grader exited with %d" % proc.returncode
            result["pass"] = False
            return result
        times.append(elapsed)
    result["wall"] = summary(times)
    result["wall"]["runs"] = times
    result["pass"] = result["wall"]["median"] < result["target"]
    return result


# ---------------------------------------------------------------------------
# memory


def probe_memory(root, case, lib, small=False, prime=False):
    """Peak-RSS growth of one forward + backward in a fresh process."""
    cmd = [sys.executable, os.path.join(HERE, "_memory_probe.py"),
           "--root", root, "--case", case, "--lib", lib]
    if small:
        cmd.append("--small")
    if prime:
        cmd.append("--prime")
    proc = subprocess.run(cmd, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=900)
    if proc.returncode != 0:
        raise RuntimeError("memory probe %s/%s failed:\n%s"
                           % (case, lib, proc.stderr.decode(errors="replace")))
    return json.loads(proc.stdout.decode().strip().splitlines()[-1])


def memory_case(root, case, args):
    """Probe both libraries, cold and primed; PASS/MISS uses primed.

    cold: nothing ran before the baseline (the issue's definition), so
    torch's ~40 MB of first-call set-up inflates torch's figure and flatters
    MyTorch. primed: the
    same case ran once on tiny shapes first, so only the memory the
    full-size pass needs is compared. The target is judged on primed, the
    stricter of the two for MyTorch.
    """
    result = {"case": case, "title": CASES[case]["title"],
              "target": CASES[case]["mem_target"]}
    for mode in ("cold", "primed"):
        probes = {"torch": [], "mytorch": []}
        for _ in range(args.mem_repeat):
            for lib in ("torch", "mytorch"):
                probes[lib].append(probe_memory(root, case, lib, args.small,
                                                prime=(mode == "primed")))
        res = {}
        for lib in probes:
            growth = [p["growth_bytes"] for p in probes[lib]]
            res[lib] = {"median_bytes": float(statistics.median(growth)),
                        "min_bytes": min(growth), "max_bytes": max(growth),
                        "probes": probes[lib]}
        res["ratio"] = (res["mytorch"]["median_bytes"]
                        / max(res["torch"]["median_bytes"], 1.0))
        result[mode] = res
    result["ratio"] = result["primed"]["ratio"]
    result["pass"] = result["ratio"] <= result["target"]
    return result


# ---------------------------------------------------------------------------
# profile


def _visible_matmul():
    """A Python wrapper of np.matmul, which cProfile sees as a function.

    np.matmul is a ufunc, and cProfile does not record ufunc calls: their
    time would be lumped into the caller's own time. (The @ operator stays
    invisible either way.)
    """
    matmul = np.matmul

    def matmul_gemm(*args, **kwargs):
        return matmul(*args, **kwargs)

    return matmul, matmul_gemm


def profile_mytorch(root, cases, args, top=15):
    """cProfile MyTorch's forward + backward; return the printed text."""
    original, wrapper = _visible_matmul()
    np.matmul = wrapper
    try:
        return _profile(root, cases, args, top)
    finally:
        np.matmul = original


def _profile(root, cases, args, top):
    text = io.StringIO()
    text.write("(np.matmul is wrapped as matmul_gemm so that its time shows "
               "up; a reshape of a strided view is the im2col copy)\n")
    for case in cases:
        mt = MyTorchSide(root, case, small=args.small)
        mt.step()
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(args.repeat):
            mt.step()
        prof.disable()
        text.write("\n=== %s: %d x forward+backward: MyTorch methods by "
                   "cumulative time, then all functions by own time ===\n"
                   % (CASES[case]["title"], args.repeat))
        stats = pstats.Stats(prof, stream=text)
        ours = r"(mytorch|models)[/\\]"  # files of the library under test
        stats.sort_stats("cumulative").print_stats(ours, top)
        stats.strip_dirs().sort_stats("tottime").print_stats(top)
    return text.getvalue()


# ---------------------------------------------------------------------------
# report


def environment():
    torch = import_torch()
    info = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "torch_interop_threads": torch.get_num_interop_threads(),
        "numpy_blas_threads": "library default (not limited)",
        "cpu_count": os.cpu_count(),
        "machine": platform.machine(),
        "platform": platform.platform(),
        "dtype": "float64",
        "loadavg_start": _loadavg(),
        "thread_env": {k: os.environ.get(k) for k in
                       ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                        "MKL_NUM_THREADS")},
    }
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"],
                              cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "mytorch",
                                "models"], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, timeout=10)
        info["git_head"] = head.stdout.decode().strip()
        info["library_uncommitted_changes"] = bool(dirty.stdout.strip())
    except (OSError, subprocess.SubprocessError):
        pass
    return info


def _loadavg():
    """1, 5 and 15 minute load averages, or None where unavailable."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def _ms(seconds):
    return "%.2f" % (seconds * 1e3)


def _cell(stats, scale=_ms):
    return "%s [%s-%s]" % (scale(stats["median"]), scale(stats["q1"]),
                           scale(stats["q3"]))


def format_table(report):
    """The human-readable table printed at the end of a run."""
    lines = []
    width = 38
    head = "%-*s %-24s %-24s %-15s %-8s %s" % (
        width, "time: fwd+bwd", "torch ms med [IQR]", "mytorch ms med [IQR]",
        "ratio (rounds)", "target", "")
    lines += [head, "-" * len(head)]
    for res in report["time"]:
        if res["case"] == "grader":
            continue
        rr = res["round_ratios"]
        lines.append("%-*s %-24s %-24s %-15s %-8s %s" % (
            width, "%d %s" % (CASES[res["case"]]["number"], res["title"]),
            _cell(res["torch"]), _cell(res["mytorch"]),
            "%.2fx (%.2f-%.2f)" % (res["ratio"], min(rr), max(rr)),
            "<=%.1fx" % res["target"], "PASS" if res["pass"] else "MISS"))
        lines.append("%-*s %-24s %-24s" % (
            width, "    min-max",
            "%s-%s" % (_ms(res["torch"]["min"]), _ms(res["torch"]["max"])),
            "%s-%s" % (_ms(res["mytorch"]["min"]),
                       _ms(res["mytorch"]["max"]))))
    for res in report["time"]:
        if res["case"] != "grader":
            continue
        label = "4 " + res["title"]
        if "skipped" in res:
            lines.append("%-*s SKIPPED: %s" % (width, label, res["skipped"]))
        elif "error" in res:
            lines.append("%-*s ERROR: %s" % (width, label, res["error"]))
        else:
            wall = res["wall"]
            lines.append("%-*s %-24s %-24s %-15s %-8s %s" % (
                width, label, "-",
                "%.3f [%.3f-%.3f] s" % (wall["median"], wall["q1"],
                                        wall["q3"]),
                "-", "<%.1f s" % res["target"],
                "PASS" if res["pass"] else "MISS"))
            lines.append("%-*s %-24s %-24s" % (
                width, "    min-max", "",
                "%.3f-%.3f s" % (wall["min"], wall["max"])))
    if report["memory"]:
        lines.append("")
        head = "%-*s %-24s %-24s %-15s %-8s" % (
            width, "memory: peak RSS growth", "torch MB med (min-max)",
            "mytorch MB med (min-max)", "ratio", "target")
        lines += [head, "-" * len(head)]
        for res in report["memory"]:
            for mode in ("primed", "cold"):
                cells = []
                for lib in ("torch", "mytorch"):
                    m = res[mode][lib]
                    cells.append("%.1f (%.1f-%.1f)" % (
                        m["median_bytes"] / 2**20, m["min_bytes"] / 2**20,
                        m["max_bytes"] / 2**20))
                if mode == "primed":
                    label = "%d %s" % (CASES[res["case"]]["number"],
                                       res["title"])
                    verdict = ["<=%.1fx" % res["target"],
                               "PASS" if res["pass"] else "MISS"]
                else:
                    label, verdict = "    cold (incl. first-call set-up)", []
                lines.append(("%-*s %-24s %-24s %-15s" % (
                    width, label, cells[0], cells[1],
                    "%.2fx" % res[mode]["ratio"]) + " %-8s %s"
                    % tuple(verdict or ["", ""])).rstrip())
    return "\n".join(lines)


def parse_cases(text):
    names = {str(spec["number"]): key for key, spec in CASES.items()}
    chosen = []
    for item in text.split(","):
        item = item.strip()
        key = names.get(item, item)
        if key not in CASES:
            raise argparse.ArgumentTypeError(
                "unknown case %r; use 1-4 or %s" % (item, ", ".join(CASES)))
        if key not in chosen:
            chosen.append(key)
    return chosen


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description="Time MyTorch against PyTorch (issue 4).")
    parser.add_argument("--cases", type=parse_cases,
                        default=list(CASES),
                        help="comma-separated numbers or names "
                             "(1=resblock,2=conv_s1,3=conv_s2,4=grader)")
    parser.add_argument("--repeat", type=int, default=9,
                        help="timed calls per block (>= 7 for a valid run)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="torch block + MyTorch block pairs")
    parser.add_argument("--warmup", type=int, default=2,
                        help="untimed calls at the start of every block")
    parser.add_argument("--mem-repeat", type=int, default=3,
                        help="fresh-process memory probes per case and lib")
    parser.add_argument("--pause", type=float, default=0.2,
                        help="seconds of idle before each block")
    parser.add_argument("--no-memory", action="store_true",
                        help="skip the memory probes")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: repeat 3, 1 round, 1 warm-up, "
                             "1 memory probe; numbers are rough")
    parser.add_argument("--small", action="store_true",
                        help="tiny shapes (for the smoke test only)")
    parser.add_argument("--profile", action="store_true",
                        help="only cProfile MyTorch on the layer cases")
    parser.add_argument("--root", default=ROOT,
                        help="repository whose mytorch/ and models/ to use")
    parser.add_argument("--json", default=os.path.join(HERE, "results.json"),
                        help="where to write results (default %(default)s)")
    args = parser.parse_args(argv)
    if args.quick:
        args.repeat, args.rounds, args.warmup = 3, 1, 1
        args.mem_repeat, args.pause = 1, 0.05
    if min(args.repeat, args.rounds, args.mem_repeat) < 1 or args.warmup < 0:
        parser.error("--repeat, --rounds, --mem-repeat must be >= 1")
    args.root = os.path.abspath(args.root)
    return args


def main(argv=None):
    args = parse_args(argv)
    layer_cases = [c for c in args.cases if c in LAYER_CASES]
    if args.profile:
        print(profile_mytorch(args.root, layer_cases, args))
        return 0

    report = {"environment": environment(),
              "settings": {"repeat": args.repeat, "rounds": args.rounds,
                           "warmup": args.warmup,
                           "mem_repeat": args.mem_repeat,
                           "quick": args.quick, "small": args.small,
                           "cases": args.cases, "rtol": RTOL,
                           "atol_rel": ATOL_REL},
              "parity": {}, "time": [], "memory": []}
    env = report["environment"]
    print("numpy %s, torch %s (%d threads), python %s, float64"
          % (env["numpy"], env["torch"], env["torch_threads"],
             env["python"]))
    load = env["loadavg_start"]
    if load and load[0] > 1.0:
        print("warning: the machine is busy (load average %.2f before the "
              "benchmark started); timings will be noisy" % load[0])
    if args.repeat < 7 and not args.quick:
        print("warning: --repeat below 7 is not a valid measurement")

    for case in layer_cases:  # all checks before any timing
        try:
            names = check_case(args.root, case, small=args.small)
        except ParityError as exc:
            print("ABORT: parity check failed, nothing timed.\n%s" % exc,
                  file=sys.stderr)
            return 2
        report["parity"][case] = names
        print("parity %-9s ok (%d tensors within rtol %g)"
              % (case, len(names), RTOL))

    for case in args.cases:
        print("timing %s ..." % case, flush=True)
        if case == "grader":
            res = time_grader(args.root, args)
            if "skipped" in res:
                print("  SKIPPED: %s" % res["skipped"])
        else:
            res = time_layer_case(args.root, case, args)
        report["time"].append(res)
    if not args.no_memory:
        for case in layer_cases:
            print("memory %s ..." % case, flush=True)
            report["memory"].append(memory_case(args.root, case, args))

    env["loadavg_end"] = _loadavg()
    print()
    print(format_table(report))
    print("load average (1, 5, 15 min): start %s, end %s"
          % (env["loadavg_start"], env["loadavg_end"]))
    if args.quick or args.small:
        print("(--quick/--small: numbers are not a valid measurement)")
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w") as fh:
        json.dump(report, fh, indent=1)
    print("results written to %s" % args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
