"""Smoke test for benchmarks/bench.py: it runs, checks parity and writes JSON.

Tiny shapes only; nothing here is timed or compared against a time.
"""
import importlib.util
import json
import os

import pytest

pytestmark = pytest.mark.torch
pytest.importorskip("torch")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH_DIR = os.path.join(ROOT, "benchmarks")


def _load_bench():
    spec = importlib.util.spec_from_file_location(
        "bench", os.path.join(BENCH_DIR, "bench.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bench = _load_bench()


@pytest.mark.parametrize("case", bench.LAYER_CASES)
def test_parity_check_passes_on_small_shapes(case):
    names = bench.check_case(ROOT, case, small=True)
    assert "output" in names and "dLdA" in names
    assert any(name.endswith(".W") for name in names)


@pytest.mark.parametrize("target", ["output", "dLdA", "dLdW"])
def test_parity_check_rejects_a_small_error(monkeypatch, target):
    # A relative error of 1e-5 in one tensor must abort the benchmark.
    step = bench.MyTorchSide.step

    def wrong_step(self):
        out, dLdA = step(self)
        if target == "output":
            out = out * (1 + 1e-5)
        elif target == "dLdA":
            dLdA = dLdA * (1 + 1e-5)
        else:
            obj, _, grad = next(iter(self.params.values()))
            setattr(obj, grad, getattr(obj, grad) * (1 + 1e-5))
        return out, dLdA

    monkeypatch.setattr(bench.MyTorchSide, "step", wrong_step)
    with pytest.raises(bench.ParityError, match="disagrees with PyTorch"):
        bench.check_case(ROOT, "conv_s2", small=True)


def test_quick_run_writes_a_complete_json(tmp_path):
    out = tmp_path / "results.json"
    code = bench.main(["--quick", "--small", "--no-memory", "--cases", "3",
                       "--json", str(out)])
    assert code == 0
    report = json.loads(out.read_text())
    assert report["environment"]["torch_threads"] == bench.THREADS
    assert list(report["parity"]) == ["conv_s2"]
    (res,) = report["time"]
    for lib in ("torch", "mytorch"):
        assert res[lib]["n"] == 3 and res[lib]["median"] > 0
    assert res["ratio"] == pytest.approx(
        res["mytorch"]["median"] / res["torch"]["median"])
    assert res["pass"] == (res["ratio"] <= 1.5)


def test_memory_probe_reports_a_growth():
    # The MyTorch probe needs no torch import, so it is the quick one.
    probe = bench.probe_memory(ROOT, "conv_s2", "mytorch", small=True,
                               prime=True)
    assert probe["lib"] == "mytorch" and probe["prime"] is True
    assert probe["after_bytes"] >= probe["before_bytes"] > 0
    assert probe["growth_bytes"] == probe["after_bytes"] - probe["before_bytes"]
