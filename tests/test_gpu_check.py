"""benchmarks/gpu_check.py --dry-run: the GPU check's whole plan on the CPU with small models.

This is how CI keeps the script working between the rare runs on a lent GPU: every check must pass
(or be skipped only because there is no CUDA), and the JSON must carry every section.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent

EXPECTED = {
    "environment": ["torch, device, matmul rate"],
    "ops": [
        "CUDA extension builds and loads",
        "upfirdn2d kernel vs PyTorch path and reference, float32",
        "fused_bias_act kernel vs PyTorch path and reference, float32",
        "upfirdn2d kernel vs PyTorch path and reference, float16",
        "fused_bias_act kernel vs PyTorch path and reference, float16",
        "public ops dispatch to the kernels (fp16, bf16, mixed)",
    ],
    "paths": [
        "session: tiny profile, FEAT_DEVICE=cpu",
        "synthesis on cpu vs CPU",
        "e4e inversion on cpu vs CPU",
        "photo edit (edit_photo) vs CPU",
        "composed edits (features + RGB) vs CPU",
        "training step: losses, gradients vs CPU",
        "checkpoint round trip: save, load, resume",
    ],
    "timings": [
        "build small random models",
        "synthesis 256² batch 1, fp32",
        "synthesis 256² batch 1, bf16 autocast",
        "synthesis 256² batch 8, fp32",
        "synthesis 256² batch 8, bf16 autocast",
        "synthesis 256² batch 1, bf16 weights (optional probe)",
        "e4e 256² batch 1",
        "e4e 256² batch 8",
        "first edit of a photo (align, invert, FEAT edit, paste back)",
        "re-edit of the same photo (cached)",
        "training step batch 2",
        "training step batch 8",
    ],
}
# What a dry run may skip, and why: only what needs a CUDA device.
ALLOWED_SKIPS = {"CUDA extension builds and loads", "public ops dispatch to the kernels (fp16, bf16, mixed)"}


@pytest.mark.slow  # every check of the GPU script, on small models on the CPU
def test_dry_run_passes_every_check_and_writes_every_section(tmp_path):
    out = tmp_path / "gpu_check.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "benchmarks/gpu_check.py", "--dry-run", "--out", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    log = proc.stdout[-6000:] + "\n" + proc.stderr[-3000:]
    assert proc.returncode == 0, log
    report = json.loads(out.read_text())
    assert report["mode"] == "dry-run"
    assert list(report["sections"]) == list(EXPECTED)
    for section, names in EXPECTED.items():
        assert [r["name"] for r in report["sections"][section]] == names, section
    records = [r for rs in report["sections"].values() for r in rs]
    for r in records:
        if r["name"] in ALLOWED_SKIPS:
            assert r["status"] == "skip" and "no CUDA" in r["detail"], r
        else:
            assert r["status"] == "pass", r
    summary = report["summary"]
    assert summary["ok"] and summary["failed"] == 0 and summary["skipped"] == len(ALLOWED_SKIPS)
    assert summary["wall_s"] < 300, "the dry run must stay well under 5 minutes"
    timings = {r["name"]: r["metrics"] for r in report["sections"]["timings"]}
    assert timings["synthesis 256² batch 8, fp32"]["median_s"] > 0
    assert "autocast" in timings["synthesis 256² batch 1, bf16 autocast"]["precision"]
    assert "passed" in proc.stdout and "section" in proc.stdout, "the table is printed"


@pytest.fixture(scope="module")
def gpu_check():
    spec = importlib.util.spec_from_file_location("gpu_check", ROOT / "benchmarks" / "gpu_check.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file executes
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


def test_a_failing_check_is_recorded_and_the_rest_still_run(gpu_check, tmp_path, capsys):
    out = tmp_path / "partial.json"
    setup = gpu_check.Setup(torch.device("cpu"), True, 1, 60.0, tmp_path, out)
    runner = gpu_check.Runner(setup, {})

    def broken():
        raise ValueError("kernel fell over")

    def too_late():
        raise AssertionError("must not run once the budget is used up")

    runner.run("ops", "broken", broken)
    runner.run("paths", "fine", lambda: {"max_abs_diff": 0.0})
    runner.run("paths", "not here", lambda: (_ for _ in ()).throw(gpu_check.Skipped("no CUDA")))
    runner.setup.budget_s = -1
    runner.run("timings", "late", too_late, budgeted=True)
    statuses = [(r.name, r.status) for r in runner.records]
    assert statuses == [("broken", "fail"), ("fine", "pass"), ("not here", "skip"), ("late", "skip")]
    assert "ValueError: kernel fell over" in runner.records[0].detail
    report = json.loads(out.read_text())  # written after every check
    assert report["summary"]["failed"] == 1 and not report["summary"]["ok"]
    assert [r["name"] for r in report["sections"]["paths"]] == ["fine", "not here"]
    assert "broken" in runner.table() and "1 failed" in runner.table()


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is present")
def test_without_cuda_a_gpu_run_refuses_and_points_to_the_dry_run(gpu_check, capsys):
    assert gpu_check.main([]) == 2
    assert "--dry-run" in capsys.readouterr().err
