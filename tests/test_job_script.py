"""The script a training job runs, run here for real: clone the code at a commit, install it with its
requirements.txt as constraints (pip stood in by a recorder), run the doctor's quick checks, then the
feat-space command; a failing check ends the job before training, with its lines last in the log."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from feat_space.jobs.client import TAIL_LINES
from feat_space.jobs.spec import CHECKOUT, SCRIPT

ROOT = Path(__file__).resolve().parents[1]


def _head() -> str | None:
    if shutil.which("git") is None or shutil.which("bash") is None:
        return None
    done = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else None


HEAD = _head()
pytestmark = pytest.mark.skipif(HEAD is None, reason="needs git, bash and a git checkout of the project")


def run_job(tmp_path: Path, argv: list[str], **env: str) -> subprocess.CompletedProcess:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "pip").write_text(f'#!/bin/sh\necho "$@" > {tmp_path}/pip-args\n')  # records, installs nothing
    (bin_dir / "pip").chmod(0o755)
    (bin_dir / "python").write_text(f'#!/bin/sh\nexec {sys.executable} "$@"\n')  # this environment's packages
    (bin_dir / "python").chmod(0o755)
    shutil.rmtree(CHECKOUT, ignore_errors=True)  # the job's fixed clone folder
    environment = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "PYTHONPATH": CHECKOUT,  # what the recorded install would have put in place: the cloned code
        "FEAT_CACHE": str(tmp_path / "feat"),
        **env,
    }
    try:
        return subprocess.run(
            ["bash", "-c", SCRIPT, "feat-space-job", str(ROOT), HEAD, *argv],
            env=environment,
            cwd=tmp_path,  # not this checkout: the job runs the cloned code
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        shutil.rmtree(CHECKOUT, ignore_errors=True)


def test_the_job_installs_with_the_pins_runs_the_quick_checks_then_the_command(tmp_path):
    done = run_job(tmp_path, ["edits", "list"], FEAT_PROFILE="tiny")
    log = done.stdout + done.stderr
    assert done.returncode == 0, log
    assert (tmp_path / "pip-args").read_text().split() == [
        "install", "--quiet", "--no-cache-dir", "-c", f"{CHECKOUT}/requirements.txt", CHECKOUT,
    ]  # fmt: skip
    assert f"installing feat-space at {HEAD} with requirements.txt as constraints" in log
    assert "doctor: profile tiny, torch" in log and "(CUDA" in log  # torch, CUDA and the device it got
    assert "[ok  ] layout: encoder" in log and "cuda: device" in log
    assert log.index("all checks passed") < log.index("smile"), "the quick checks run before the command"


def test_a_failing_quick_check_stops_the_job_before_training(tmp_path):
    done = run_job(tmp_path, ["edits", "list"], FEAT_PROFILE="real", HF_HUB_OFFLINE="1", HF_HOME=str(tmp_path / "hf"))
    assert done.returncode == 3
    lines = done.stdout.strip().splitlines()
    assert lines[-1].startswith("FEAT-DOCTOR the quick checks failed before training")
    # What the Train tab and the CLI show of a failed job: its last TAIL_LINES lines, the checks' among them.
    tail = lines[-TAIL_LINES:]
    assert any("[FAIL] model files: e4e-ffhq" in line and "HF_HUB_OFFLINE" in line for line in tail)
    assert any(line.startswith("doctor: profile real, torch") for line in tail)
    assert "smile" not in done.stdout  # the command never ran
