"""The edit commands end to end in the tiny profile: lint, train, evaluate."""

from __future__ import annotations

import math

import pytest
import torch

from feat_space.cli import main
from feat_space.editing.edit import FeatEdit
from feat_space.editing.evaluation import evaluate_edit
from feat_space.editing.recipe import REGION_PRESETS
from feat_space.registry.registry import edits_dir, yaml_files


@pytest.fixture(scope="module")
def session(tiny_session):
    return tiny_session


def test_edits_check_lints_the_registry(tmp_path, capsys):
    assert main(["edits", "check"]) == 0
    assert f"{len(yaml_files([edits_dir()]))} edit(s) OK" in capsys.readouterr().out
    (tmp_path / "bad.yaml").write_text("name: bad\ntitle: x\n")
    assert main(["edits", "check", str(tmp_path)]) == 1
    assert "bad.yaml: prompt: Field required" in capsys.readouterr().err


def test_train_then_evaluate_from_the_command_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("FEAT_PROFILE", "tiny")
    out = tmp_path / "smile"
    assert main(["train", "edits/smile.yaml", "--steps", "2", "--every", "1", "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "UNTRAINED" in printed and "step 2/2" in printed
    assert {"config.json", "model.safetensors", "edit.yaml", "training.json"} <= {p.name for p in out.iterdir()}
    assert main(["evaluate", str(out), "--samples", "2"]) == 0
    assert "CLIP score gain" in capsys.readouterr().out
    assert main(["train", "edits/smile.yaml", "--prompt", "both"]) == 2
    assert main(["evaluate", "smile"]) == 1  # not published yet: a clear error, no traceback
    assert "no published checkpoint" in capsys.readouterr().err


def test_train_refuses_a_threshold_or_steps_out_of_range_before_anything_runs(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("FEAT_PROFILE", "tiny")
    out = tmp_path / "smile"
    assert main(["train", "edits/smile.yaml", "--threshold", "5", "--output", str(out)]) == 1
    assert "--threshold must be from 0 to 0.95" in capsys.readouterr().err
    assert main(["train", "edits/smile.yaml", "--steps", "-3", "--output", str(out)]) == 1
    assert "training.steps" in capsys.readouterr().err
    assert not out.exists(), "nothing trained or written"


def test_ctrl_c_while_the_models_load_stops_without_a_traceback(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("FEAT_PROFILE", "tiny")

    def loading(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("feat_space.session.Session.__init__", loading)
    assert main(["train", "edits/smile.yaml", "--steps", "2", "--output", str(tmp_path / "smile")]) == 130
    assert "Stopped (Ctrl-C)." in capsys.readouterr().err


@pytest.mark.slow  # 60 training steps through the command line
def test_train_says_when_the_mask_collapses_and_fails(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("FEAT_PROFILE", "tiny")
    entry = (
        (edits_dir() / "smile.yaml")
        .read_text()
        .replace(
            "training:\n  steps: 2000",
            "training:\n  steps: 60\n  area_weight: 10000\n  area_warmup: 0\n  attention_learning_rate: 0.2",
        )
    )
    assert "area_weight: 10000" in entry
    (tmp_path / "smile.yaml").write_text(entry)
    out = tmp_path / "smile"
    assert main(["train", str(tmp_path / "smile.yaml"), "--output", str(out)]) == 1
    printed = capsys.readouterr()
    assert "The mask is closing" in printed.err and "area_weight" in printed.err
    assert "mask closed" in printed.out and "cannot be published" in printed.out


def test_evaluation_of_an_rgb_edit_changes_nothing_outside_its_mask(session):
    G = session.generator
    torch.manual_seed(0)
    edit = FeatEdit(REGION_PRESETS["hair colour"].config_for(G, "a person with purple hair")).eval()
    # A threshold zeroes the mask's low tail, so "outside" is a real region of the image.
    report = evaluate_edit(G, edit, session.clip, session.arcface, samples=3, batch_size=2, threshold=0.5)
    assert report.samples == len(report.per_sample) == 3
    assert report.outside_fraction > 0.05
    assert report.outside_mean_abs == 0 and math.isinf(report.outside_psnr)
    assert -1 <= report.identity <= 1 and 0 <= report.mask_area < 1
    assert "| identity (ArcFace cosine, original vs edited) |" in report.table()
