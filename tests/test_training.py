"""Training an edit (tiny profile): the CLIP loss falls, stopping is prompt, checkpoints resume exactly."""

from __future__ import annotations

import threading

import pytest
import torch

from feat_space.editing.recipe import REGION_PRESETS
from feat_space.editing.storage import load_edit_folder
from feat_space.errors import FeatError
from feat_space.training.settings import TrainingSettings
from feat_space.training.trainer import Trainer

PROMPT = "a face with a big smile"


@pytest.fixture(scope="module")
def models(tiny_session):
    session = tiny_session
    return session.generator, session.clip, session.arcface


def trainer(models, region="mouth", steps=4, seed=0, settings=None, **kwargs) -> Trainer:
    G, clip, arcface = models
    torch.manual_seed(seed)  # the edit's initial weights
    settings = TrainingSettings(steps=steps, batch_size=2, area_weight=0, tv_weight=0, **(settings or {}))
    return Trainer(G, clip, arcface, REGION_PRESETS[region].config_for(G, PROMPT), settings, **kwargs)


def test_clip_loss_falls(models):
    # The guide's plain descent: the focused first steps (recipe item 11) follow where the guide pulls hardest
    # instead, and a random CLIP pulls hardest nowhere in particular (docs/training.md). 30 warm-up steps.
    t = trainer(models, steps=40, settings={"focus_steps": 0})
    held_out = t.sample_wplus(10_000)  # latents training never sees
    with torch.no_grad():
        before = t.losses(held_out)["clip"].item()
    progress = list(t.run())
    with torch.no_grad():
        after = t.losses(held_out)["clip"].item()
    assert after < before - 0.003, (before, after)
    assert [p.step for p in progress] == list(range(1, 41)) and progress[-1].done
    assert set(progress[0].losses) == {"clip", "l2", "id", "change", "hidden", "area", "tv", "total"}


def test_progress_carries_previews(models):
    t = trainer(models, region="hair colour", steps=2, preview_every=1)
    progress = list(t.run())
    assert all(p.preview is not None and p.preview.shape[0] == 3 for p in progress)
    assert progress[-1].preview_mask.shape[0] == 1


def test_stop_event_ends_training_within_one_step(models, tmp_path):
    stop = threading.Event()
    t = trainer(models, steps=50, output_dir=tmp_path)
    steps = []
    for progress in t.run(stop):
        steps.append(progress.step)
        if progress.step == 2:
            stop.set()
    assert steps == [1, 2]
    assert (tmp_path / "trainer_state.pt").is_file()  # stopped early, yet resumable


def test_closing_the_stream_keeps_the_work(models, tmp_path):
    t = trainer(models, steps=50, output_dir=tmp_path)
    stream = t.run()
    next(stream)
    stream.close()
    assert Trainer(*models, t.edit.config, t.settings, output_dir=tmp_path, resume=True).step == 1


@pytest.mark.parametrize("spikes", ["default", "limited every step"])
def test_resumed_training_matches_an_uninterrupted_run(models, tmp_path, monkeypatch, spikes):
    settings = {}
    if spikes != "default":  # the gradient limit's recent size must resume too
        monkeypatch.setattr("feat_space.training.trainer.SPIKE_WARMUP", 1)
        settings = {"gradient_spike": 0.5}
    whole = trainer(models, steps=4, settings=settings)
    list(whole.run())
    first = trainer(models, steps=4, output_dir=tmp_path, checkpoint_every=2, settings=settings)
    for progress in first.run():
        if progress.step == 2:
            assert progress.checkpoint == tmp_path
            break
    resumed = Trainer(*models, first.edit.config, first.settings, output_dir=tmp_path, resume=True)
    assert resumed.step == 2
    list(resumed.run())
    for (name, a), b in zip(whole.edit.state_dict().items(), resumed.edit.state_dict().values(), strict=True):
        assert torch.allclose(a, b, atol=1e-6), name
    assert [h["step"] for h in resumed.history] == [1, 2, 3, 4]
    if spikes != "default":  # training steps keep the size they limit against
        assert all(group["recent_grad_norm"] > 0 for group in resumed.optimizer.param_groups)


def test_saved_edit_loads_and_edits(models, tmp_path):
    G = models[0]
    t = trainer(models, steps=2, output_dir=tmp_path)
    list(t.run())
    edit = load_edit_folder(tmp_path)
    wplus = t.sample_wplus(123)
    with torch.no_grad():
        out = edit(G, wplus)
        expected = t.edit.eval()(G, wplus)
    assert out.image.shape == (2, 3, G.size, G.size)
    assert torch.equal(out.image, expected.image)


def test_resume_refuses_what_it_cannot_continue(models, tmp_path):
    G, clip, arcface = models
    config = REGION_PRESETS["mouth"].config_for(G, PROMPT)
    with pytest.raises(FeatError, match="Nothing to resume"):
        Trainer(G, clip, arcface, config, output_dir=tmp_path, resume=True)
    list(trainer(models, steps=1, output_dir=tmp_path).run())
    other = REGION_PRESETS["eyes"].config_for(G, "closed eyes")
    with pytest.raises(FeatError, match="another setup"):
        Trainer(G, clip, arcface, other, output_dir=tmp_path, resume=True)
