"""The one training entry point (`EntryTraining` over `TrainingRun`): timing, how a run ended, and
the draft YAML it leaves (only non-default settings, the steps actually trained, the threshold)."""

from __future__ import annotations

import json
import threading

import pytest
import torch
import yaml

from feat_space.editing.storage import load_edit_folder
from feat_space.registry.drafts import entry_data, entry_from_prompt, entry_yaml, trained_entry
from feat_space.registry.entry_training import EntryTraining
from feat_space.registry.schema import EditEntry
from feat_space.training.report import JUDGING_STEPS
from feat_space.training.run import measure_seconds_per_step


@pytest.fixture(scope="module")
def models(tiny_session):
    session = tiny_session
    return session.generator, session.clip, session.arcface


def test_a_stopped_run_records_the_steps_it_trained(models, tmp_path):
    torch.manual_seed(0)
    entry = entry_from_prompt("a face with freckles", "colour", steps=40)
    training = EntryTraining(*models, entry, tmp_path, preview_every=1)
    stop = threading.Event()
    seen = []
    for step in training.steps(stop, mask_threshold=0.25):
        seen.append(step)
        if step.step == 3:
            stop.set()
    assert [s.step for s in seen] == [1, 2, 3]
    assert all(s.seconds_per_step > 0 and s.elapsed > 0 for s in seen)
    # The 37 steps left, and the judging of the edit that follows the last (about 5 steps' time).
    assert seen[-1].seconds_left == pytest.approx(seen[-1].seconds_per_step * (37 + JUDGING_STEPS))
    result = training.result
    assert (result.steps_done, result.total, result.outcome, result.usable) == (3, 40, "stopped", True)
    draft = EditEntry.model_validate(yaml.safe_load((tmp_path / "edit.yaml").read_text()))
    assert draft.training.steps == 3 and draft.defaults.mask_threshold == 0.25
    assert json.loads((tmp_path / "training.json").read_text())["steps_trained"] == 3
    load_edit_folder(tmp_path)


def test_a_run_stopped_before_its_first_step_trained_nothing(models, tmp_path):
    entry = entry_from_prompt("a face with freckles", "colour", steps=5)
    training = EntryTraining(*models, entry, tmp_path)
    stop = threading.Event()
    stop.set()
    assert list(training.steps(stop)) == []
    assert training.result.outcome == "nothing" and not training.result.usable


def test_the_yaml_holds_only_what_differs_from_the_defaults():
    entry = entry_from_prompt("a face with freckles", "colour", steps=2000)
    entry = entry.model_copy(update={"training": entry.training.model_copy(update={"area_weight": 0.25})})
    data = yaml.safe_load(entry_yaml(trained_entry(entry, 120, mask_threshold=0.3)))
    assert data["training"] == {"steps": 120, "area_weight": 0.25}, "steps trained, and the one changed setting"
    assert data["defaults"] == {"mask_threshold": 0.3}, "strength is the default: left out"
    assert data["recipe"] == {
        "mapped": ["fine"],
        "blend": "rgb",
        "attention": [16, 32, 64],
        "mask_resolution": 128,
        "smallest_part": 0.04,
    }
    assert EditEntry.model_validate(data) == trained_entry(entry, 120, 0.3), "nothing is lost"
    assert entry_data(entry)["training"] == {"steps": 2000, "area_weight": 0.25}


def test_a_step_is_timed_for_estimates(models):
    G, clip, arcface = models
    entry = entry_from_prompt("x", "face features")
    config = entry.recipe.config_for(G, entry.prompt)
    before = torch.random.get_rng_state()
    seconds = measure_seconds_per_step(G, clip, arcface, config, entry.training, steps=1)
    assert 0 < seconds < 60
    assert torch.equal(torch.random.get_rng_state(), before), "the caller's random state is untouched"
