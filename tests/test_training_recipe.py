"""The training recipe against synthetic guides with a known region (feat_space.training.synthetic).

Fast cases of `benchmarks/training_oracle.py`: the guide only looks inside its region, training does
not depend on the guide's scale or level, the mask learns where the region is, and a closing or
all-covering mask is reported and never passes as a finished edit.
"""

from __future__ import annotations

import json

import pytest
import torch

from feat_space.editing.recipe import REGION_PRESETS
from feat_space.training.losses import unit_gradient
from feat_space.training.monitor import COLLAPSED, GLOBAL, MaskMonitor
from feat_space.training.settings import TrainingSettings
from feat_space.training.synthetic import FeatureRegion, RegionGuide, measure
from feat_space.training.trainer import Trainer, TrainingFailed


@pytest.fixture(scope="module")
def models(tiny_session):
    session = tiny_session
    return session.generator, session.arcface


def guided_trainer(models, preset="hair colour", effect="brighter", scale=1.0, offset=0.0, area=0.2, **settings):
    G, arcface = models
    guide = RegionGuide(G, effect=effect, scale=scale, offset=offset, region=FeatureRegion(G, area=area, seed=1))
    torch.manual_seed(0)
    config = REGION_PRESETS[preset].config_for(G, "a synthetic edit")
    t = Trainer(G, guide, arcface, config, TrainingSettings(**settings), preview_every=10**9)
    guide.bind_to_trainer(t)
    return t, guide


def test_region_guide_sees_only_its_region(models):
    G, _ = models
    guide = RegionGuide(G, effect="redder", region=FeatureRegion(G, area=0.25, seed=3))
    wplus = G.to_wplus(G.mapping(torch.randn(2, G.style_dim), psi=0.7))
    guide.latents = lambda: wplus
    region = guide.region_of(64)
    assert abs(region.float().mean().item() - 0.25) < 0.02
    assert not torch.equal(region[0], region[1])  # it follows the latent: no fixed box
    images = torch.rand(2, 3, 64, 64) * 2 - 1
    noise = torch.randn_like(images)
    outside = guide.loss(images + noise * ~region, "")
    inside = guide.loss(images + noise * region, "")
    assert torch.equal(outside, guide.loss(images, ""))
    assert (inside != outside).all()


def test_unit_gradient_keeps_only_the_direction():
    x = torch.randn(2, 3, 8, 8, requires_grad=True)
    weights = torch.randn(2, 3, 8, 8)
    grads = []
    for scale in (0.01, 100.0):
        (g,) = torch.autograd.grad((scale * unit_gradient(x) * weights).sum(), x)
        grads.append(g)
    assert torch.allclose(grads[0], grads[1])
    assert torch.allclose(grads[0][0] / grads[0][0].norm(), weights[0] / weights[0].norm(), atol=1e-6)
    (zero,) = torch.autograd.grad((unit_gradient(x) * 0).sum(), x)
    assert torch.equal(zero, torch.zeros_like(x))  # no gradient stays no gradient (no division by zero)


def test_training_does_not_depend_on_the_guides_scale_or_level(models):
    masks = []
    for scale, offset in ((0.05, 0.0), (20.0, 3.0)):
        t, guide = guided_trainer(models, steps=6, scale=scale, offset=offset, area_warmup=0.0)
        for _ in range(6):
            t.train_step()
        held_out = t.sample_wplus(10_000)
        masks.append(measure(t, guide, held_out).mask_mean)
        with torch.no_grad():
            masks.append(t.render(held_out)[2])
    assert masks[0] == pytest.approx(masks[2], rel=1e-4)
    assert torch.allclose(masks[1], masks[3], atol=1e-4)


@pytest.mark.slow  # 120 training steps: the longest test of the suite
def test_mask_moves_toward_the_region(models):
    t, guide = guided_trainer(models, steps=120)
    held_out = torch.cat([t.sample_wplus(1_000_000 + k) for k in range(2)])
    before = measure(t, guide, held_out)
    list(t.run())
    after = measure(t, guide, held_out)
    with torch.no_grad():
        mask = t.render(held_out)[2]
    guide.latents = lambda: held_out
    region = guide.region_of(mask.shape[-1])
    assert mask[region].mean() > 1.5 * mask[~region].mean()
    assert after.iou > before.iou
    assert after.change_inside > 2 * after.change_outside
    assert after.guidance_gain > 0
    assert t.health.ok


def test_monitor_warns_and_corrects_a_closing_and_an_all_covering_mask():
    monitor = MaskMonitor(TrainingSettings(steps=100, area_warmup=0.1))
    assert [monitor.area_scale(s) for s in (0, 9, 10, 14, 19, 30)] == [0, 0, 0.1, 0.5, 1.0, 1.0]
    assert monitor.update(5, 0.5).status == "warming up"
    for step in range(11, 60):
        health = monitor.update(step, COLLAPSED / 4)
    assert health.status == "collapsing" and not health.ok
    assert "closing" in health.warning and "area_weight" in health.warning
    assert monitor.area_scale(60) < 0.5  # the area term is relaxed while the mask closes
    for step in range(60, 200):
        health = monitor.update(step, 0.3)
    assert health.status == "ok" and health.warning is None
    relaxed = monitor.area_scale(200)
    for step in range(200, 260):
        health = monitor.update(step, (1 + GLOBAL) / 2)
    assert health.status == "global" and "whole face" in health.warning
    assert monitor.area_scale(260) > relaxed


def test_a_collapsed_edit_is_reported_and_not_passed_as_finished(models, tmp_path):
    t, _ = guided_trainer(models, steps=40, area_weight=1e4, area_warmup=0.0, attention_learning_rate=0.2)
    t.output_dir = tmp_path
    seen = []
    with pytest.raises(TrainingFailed, match="mask closed"):
        for progress in t.run():
            seen.append(progress)
    assert any(p.health.status == "collapsing" and p.health.warning for p in seen)
    assert not any(p.done for p in seen)
    log = json.loads((tmp_path / "training.json").read_text())
    assert log["mask"]["status"] == "collapsing"


def test_style_mixed_training_latents_differ_across_entries_and_repeat_per_step(models):
    plain, _ = guided_trainer(models, steps=1)
    mixed, _ = guided_trainer(models, steps=1, style_mixing=1.0)
    w, m = plain.sample_wplus(7), mixed.sample_wplus(7)
    assert torch.equal(w, w[:, :1].expand_as(w))  # sampled latents: one w repeated
    assert torch.equal(m[:, 0], w[:, 0])  # the same first latent, then a second one after the crossover
    assert not torch.equal(m, m[:, :1].expand_as(m))
    assert torch.equal(m, mixed.sample_wplus(7))
