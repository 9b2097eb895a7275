"""The training recipe against synthetic guides with a known region (feat_space.training.synthetic).

Fast cases of `benchmarks/training_oracle.py`: the guide only looks inside its region, training does
not depend on the guide's scale or level, the mask learns where the region is, and a closing or
all-covering mask is reported and never passes as a finished edit.
"""

from __future__ import annotations

import itertools
import json

import pytest
import torch

from feat_space.editing import render as render_module
from feat_space.editing.recipe import REGION_PRESETS
from feat_space.models.stylegan2 import Generator
from feat_space.training.losses import Focus, GuideScale, hidden_strength, scaled_gradient, unit_gradient
from feat_space.training.monitor import COLLAPSED, GLOBAL, MaskHealth, MaskMonitor, failure_in_log, floor_for
from feat_space.training.report import report_of
from feat_space.training.run import RunStep
from feat_space.training.settings import TrainingSettings
from feat_space.training.synthetic import FeatureRegion, RegionGuide, SaturatingGuide, measure
from feat_space.training.trainer import (
    ATTENTION_TUNED_WIDTH,
    HELD_OUT_LATENTS,
    HELD_OUT_STEP,
    RESTRAINT_LATENTS,
    Trainer,
    TrainingFailed,
)
from feat_space.training.verdict import (
    BROKEN_STEPS,
    IDENTITY_HOLDS,
    MIN_JUDGED_STEPS,
    MIN_REACH,
    Effect,
    Verdict,
    judge,
)


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


@pytest.mark.parametrize("saturation", ["hinge", "tanh", "cosine"])
def test_a_saturating_guide_is_met_near_its_shift_and_bounded(models, saturation):
    """What the oracle's saturating guides stand for (CLIP's similarity once a prompt holds): the loss falls as
    the region's colour moves toward the prompt, its slope is small a little past the `met` shift, and running
    on far past it gains little."""
    G, _ = models
    guide = SaturatingGuide(G, "redder", region=FeatureRegion(G, area=0.2, seed=1), saturation=saturation, met=0.5)
    wplus = G.to_wplus(G.mapping(torch.randn(2, G.style_dim, generator=torch.Generator().manual_seed(0)), psi=0.7))
    guide.latents = lambda: wplus
    original = guide.original(32)
    direction = torch.tensor([1.0, -1.0, -1.0]).view(1, 3, 1, 1)
    shifts = [0.0, 0.05, 0.75, 0.8, 2.0, 50.0]
    loss = [guide.loss(original + s * direction, "").mean().item() for s in shifts]
    assert all(a > b for a, b in itertools.pairwise(loss)), loss
    slope_at_start, slope_past_met = (loss[0] - loss[1]) / 0.05, (loss[2] - loss[3]) / 0.05
    assert slope_past_met < slope_at_start / 5, (slope_at_start, slope_past_met)
    assert loss[-2] - loss[-1] < 0.2 * (loss[0] - loss[2]), loss  # 2 → 50 gains a fifth of what 0 → 0.75 did
    with pytest.raises(ValueError, match="saturation"):
        SaturatingGuide(G, "redder", saturation=saturation + "ish")  # type: ignore[arg-type]


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


def test_hidden_strength_prices_a_faint_mask_over_a_strong_edit_and_leaves_the_mask_alone():
    """m·e + (1 − m)·o: a mask at 1/2 over twice the edit makes the same picture for half the area. The change
    term cannot tell them apart; this term charges the faint one, and only the edit."""
    original = torch.zeros(1, 3, 8, 8)
    edit = torch.full((1, 3, 8, 8), 0.4)
    binary = torch.ones(1, 1, 4, 4)
    assert hidden_strength(edit, original, binary).item() == 0  # nothing hidden under an open mask
    assert hidden_strength(None, original, binary).item() == 0  # no RGB edit (features blend): nothing to price
    faint = torch.full((1, 1, 4, 4), 0.5, requires_grad=True)
    stronger = (2 * edit).requires_grad_()
    assert torch.allclose(0.5 * stronger, edit)  # the same picture as the open mask over the edit
    cost = hidden_strength(stronger, original, faint)
    assert cost.item() == pytest.approx(0.5 * 0.75 * 0.8**2)
    cost.backward()
    assert faint.grad is None and stronger.grad.abs().sum() > 0  # the edit pays, the mask is not pushed


def test_hidden_strength_is_priced_only_where_the_image_is_mixed_and_gated_with_the_change_term(models):
    """Colour presets mix the edited image in through the mask; feature presets have no such exact trade."""
    for preset, rgb in (("colour", True), ("face features", False)):
        t, _ = guided_trainer(models, preset=preset, hidden_weight=0.25)
        with torch.no_grad():
            terms = t.terms(t.sample_wplus(0))
        hidden = terms.parts["hidden"].item()
        assert (hidden > 0) if rgb else (hidden == 0), (preset, hidden)
        # A share of the change term's weight, so off with it until the guide is met.
        assert terms.weights["hidden"] == 0.25 * terms.weights["change"]
    t.change_gate = lambda: 0.6  # the guide partly met: the change term (and this share of it) partly in force
    assert t.terms(t.sample_wplus(0)).weights["hidden"] == pytest.approx(0.25 * 0.3 * 0.6)


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


@pytest.mark.slow  # 200 training steps (shorter runs are still settling): the longest test of the suite
def test_mask_moves_toward_the_region(models):
    t, guide = guided_trainer(models, steps=200)
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
    monitor = MaskMonitor(TrainingSettings(steps=100, area_warmup=10, mapper_warmup=0))
    assert [monitor.area_scale(s) for s in (0, 9, 10, 14, 19, 30)] == [0, 0, 0.1, 0.5, 1.0, 1.0]
    # Not before the mapper's rate has warmed up (short runs: at most a quarter of their steps).
    assert MaskMonitor(TrainingSettings(steps=100, area_warmup=10, mapper_warmup=20)).warmup == 20
    assert MaskMonitor(TrainingSettings(steps=40, area_warmup=10, mapper_warmup=30)).warmup == 10
    # A long run's warm-up does not grow with its length: given 200 steps free, the mask opened to the
    # whole face and the area term then shut it for good.
    assert MaskMonitor(TrainingSettings(steps=2000)).warmup == MaskMonitor(TrainingSettings(steps=300)).warmup == 30
    assert monitor.update(5, 0.5).status == "warming up"
    for step in range(11, 60):
        health = monitor.update(step, COLLAPSED / 4)
    assert health.status == "collapsing" and not health.ok
    assert "closing" in health.warning and "area_weight" in health.warning
    assert monitor.area_scale(60) < 0.5  # the area term is relaxed while the mask closes
    relieved = monitor.adapt
    for step in range(60, 120):
        health = monitor.update(step, 0.3)
    assert health.status == "ok" and health.warning is None
    assert relieved < monitor.adapt < 1.0  # back in the band, the correction fades ...
    for step in range(120, 300):
        monitor.update(step, 0.3)
    assert monitor.area_scale(300) == 1.0  # ... to the configured weight, and stays there
    for step in range(300, 360):
        health = monitor.update(step, (1 + GLOBAL) / 2)
    assert health.status == "global" and "whole face" in health.warning
    assert monitor.area_scale(360) > 1.0


def test_the_monitor_does_not_correct_the_area_term_while_it_ramps_in():
    monitor = MaskMonitor(TrainingSettings(steps=100, area_warmup=10, mapper_warmup=0))
    for step in range(1, 20):  # warm-up, then the ramp: a mask this wide is expected until the term is in
        health = monitor.update(step, 0.95)
        assert health.status == "warming up" and monitor.area_scale(step) <= 1.0
    assert monitor.adapt == 1.0
    assert monitor.update(20, 0.95).status == "global" and monitor.adapt > 1.0


def test_a_collapsed_edit_is_reported_and_not_passed_as_finished(models, tmp_path):
    t, _ = guided_trainer(
        models, preset="hair", steps=40, area_weight=1e4, area_warmup=0.0, attention_learning_rate=0.2
    )
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


def test_a_met_guide_pulls_less_than_one_rescaled_every_step(models):
    """A guide that saturates (flat once the region's colour moved by 0.5, as CLIP's similarity once a
    prompt holds): divided by its measured scale it lets go once met; rescaled every step (the old
    recipe: calibrating over every step is the same thing) it keeps pulling the edit further."""
    G, arcface = models
    changes = {}
    for calibration in (10, 60):
        guide = SaturatingGuide(G, "redder", region=FeatureRegion(G, area=0.2, seed=1))
        torch.manual_seed(0)
        config = REGION_PRESETS["colour"].config_for(G, "a synthetic edit")
        settings = TrainingSettings(steps=60, guide_calibration=calibration)
        t = Trainer(G, guide, arcface, config, settings, preview_every=10**9)
        guide.bind_to_trainer(t)
        for _ in range(60):
            t.train_step()
        effect = t.effect()
        assert effect.guide_gain > 0
        changes[calibration] = effect.change_inside
    assert changes[10] < 0.8 * changes[60], changes


def test_the_change_term_holds_an_edit_near_where_a_met_guide_is_met(models):
    """A saturating guide is met at a shift of 0.5 in its region and flat beyond: nothing else in the
    loss knows the image's units, so without the change term the edit sails past it."""
    G, arcface = models
    changes = {}
    for weight in (0.0, TrainingSettings().change_weight):
        guide = SaturatingGuide(G, "redder", region=FeatureRegion(G, area=0.2, seed=1))
        torch.manual_seed(0)
        config = REGION_PRESETS["face features"].config_for(G, "a synthetic edit")
        t = Trainer(G, guide, arcface, config, TrainingSettings(steps=60, change_weight=weight), preview_every=10**9)
        guide.bind_to_trainer(t)
        for _ in range(60):
            t.train_step()
        effect = t.effect()
        assert effect.guide_gain > 0
        changes[weight] = measure(t, guide, t.sample_wplus(10**6)).change_inside
    assert changes[TrainingSettings().change_weight] < min(0.8, 0.8 * changes[0.0]), changes


def test_the_change_term_waits_for_the_guide_to_be_met(models):
    """Scale-free: the gate reads the guide's pull against its own calibrated pull."""
    t, _ = guided_trainer(models, guide_calibration=2)
    assert t.change_gate() == 0.0  # still calibrating: nothing known, nothing fought
    for rms in (3.0, 5.0, 4.0):  # calibrated at 4; then pulling as hard as ever
        t.guide_scale.observe(rms)
    assert t.change_gate() == 0.0
    for _ in range(40):  # met: the pull fades and the change term comes in full
        t.guide_scale.observe(0.0)
    assert t.change_gate() > 0.99
    unnormalized, _ = guided_trainer(models, guide_calibration=2, normalize_guidance=False)
    assert unnormalized.change_gate() == 1.0  # a raw guide has no measured pull: change_weight as given


def test_the_guides_scale_is_measured_once_then_fixed():
    scale = GuideScale(calibration_steps=2)
    x = torch.randn(2, 3, 4, 4, requires_grad=True)
    grads = []
    for size in (1.0, 3.0, 100.0, 0.0):
        (g,) = torch.autograd.grad((scaled_gradient(x, scale, observe=True) * size).sum(), x)
        grads.append(g)
    assert scale.value == pytest.approx(2.0)  # the mean of the first two steps' sizes, then fixed
    # While calibrating: each step's own size (a unit direction); after: divided by the measured size,
    # so a 100x pull is 50x the unit one and a met guide (no gradient) pulls not at all.
    assert torch.allclose(grads[1], grads[0])
    assert torch.allclose(grads[2], 50 * grads[0])
    assert torch.equal(grads[3], torch.zeros_like(x))


def test_a_run_that_does_nothing_fails_and_says_why(models, tmp_path):
    t, _ = guided_trainer(models, preset="colour", steps=MIN_JUDGED_STEPS, id_weight=1e4)
    t.output_dir = tmp_path
    with pytest.raises(TrainingFailed) as failure:
        list(t.run())
    # Held back by the identity term, the edit does nothing: said as such, or as a mask that closed.
    status = failure.value.verdict.status
    assert status in ("no effect", "closed"), failure.value
    assert ("id_weight" if status == "no effect" else "area_weight") in str(failure.value)
    log = json.loads((tmp_path / "training.json").read_text())
    assert log["verdict"]["status"] == status
    assert failure_in_log(log) == failure.value.verdict.message  # and publish refuses it

    # `train --resume` of the finished run trains nothing and fails the same way (it used to end as if fine).
    resumed = Trainer(t.G, t.guide, t.arcface, t.edit.config, t.settings, output_dir=tmp_path, resume=True)
    with pytest.raises(TrainingFailed) as again:
        list(resumed.run())
    assert str(again.value) == str(failure.value) and resumed.step == MIN_JUDGED_STEPS


def test_the_effect_names_the_term_that_holds_the_edit_back(models):
    """`Effect.restraint`: each restraining term's share of the pull on Δ, measured on held-out faces."""
    held = {}
    for heavy in ("id_weight", "l2_weight"):
        t, _ = guided_trainer(models, preset="colour", steps=60, **{heavy: 100.0})
        for _ in range(10):
            t.train_step()
        held[heavy] = t.effect().restraint
        assert sum(held[heavy].values()) == pytest.approx(1.0)
    assert held["id_weight"]["id"] > IDENTITY_HOLDS and held["l2_weight"]["l2"] > 0.5, held


def test_the_effect_tells_a_held_back_edit_from_a_met_one(models):
    """More of the edit: a guide far from met gains much more from it, a met one nothing."""
    G, arcface = models
    reach = {}
    for met in (2.0, 0.02):  # a shift the edit is far from / one any edit passes at once
        region = FeatureRegion(G, area=0.2, seed=1)
        guide = SaturatingGuide(G, "brighter", 3.0, offset=-1.0, region=region, saturation="tanh", met=met)
        torch.manual_seed(0)
        config = REGION_PRESETS["hair colour"].config_for(G, "a synthetic edit")
        t = Trainer(G, guide, arcface, config, TrainingSettings(steps=60), preview_every=10**9)
        guide.bind_to_trainer(t)
        for _ in range(20):
            t.train_step()
        effect = t.effect()
        assert effect.guide_gain > 0, met
        reach[met] = effect.reach
    assert reach[2.0] < MIN_REACH, reach  # would be refused as held back
    assert reach[0.02] > 0.8, reach


def test_the_verdict_judges_the_same_unseen_faces_whatever_the_batch(models, monkeypatch):
    """A small part is missed on some faces, so the verdict's sample must not shrink with the batch: every image it
    scores is one of the same HELD_OUT_LATENTS faces, drawn from steps training never reaches. Their original pass
    runs once for the edit and all its doses. What restrains the edit is weighed on the first of those faces."""

    def verdict_of(batch_size: int) -> tuple[list[int], list[int], torch.Tensor]:
        t, guide = guided_trainer(models, batch_size=batch_size)
        sizes: list[int] = []
        passes: list[int] = []
        weighed: list[torch.Tensor] = []
        monkeypatch.setattr(t, "_restraint", lambda wplus: weighed.append(wplus))  # (its own pass, in batches)
        scored, run_pass = guide.loss, render_module.original_pass
        monkeypatch.setattr(guide, "loss", lambda im, prompt: (sizes.append(len(im)), scored(im, prompt))[1])
        monkeypatch.setattr(render_module, "original_pass", lambda *a, **k: (passes.append(1), run_pass(*a, **k))[1])
        t.effect()
        monkeypatch.undo()
        assert t.latents_in_use is not None
        assert torch.equal(weighed[0], t.latents_in_use[:RESTRAINT_LATENTS])
        return sizes, passes, t.latents_in_use[:, 0]

    seen = {}
    for batch_size in (2, 3):
        sizes, passes, seen[batch_size] = verdict_of(batch_size)
        assert set(sizes) == {HELD_OUT_LATENTS}, (batch_size, sizes)
        assert len(passes) == 1, passes
    assert torch.equal(seen[2][:2], guided_trainer(models)[0].sample_wplus(HELD_OUT_STEP)[:, 0])
    assert len({tuple(w.tolist()) for w in seen[3]}) == HELD_OUT_LATENTS  # 16 different faces, none repeated


def test_more_of_the_edit_counts_only_as_far_as_an_edit_can_go(models):
    """A guide that gains from every dose (one with a soft tail, or a part that is never met) makes any edit read
    as held back if doses that push the pixels past RUNAWAY_CHANGE count. They do not."""
    t, _ = guided_trainer(models)
    original = torch.zeros(4, 3, 16, 16)
    step = torch.full((4, 1, 16, 16), 0.6).expand(4, 3, 16, 16)  # moves the pixels in the mask by 0.6
    mask = torch.ones(4, 1, 16, 16)
    strength = t.edit.config.strength
    t.render = lambda wplus, s=None, kept=None: (original + step * (s or strength) / strength, original, mask, None)

    class Linear:  # never met: the more change, the lower its loss
        def loss(self, images, prompt):
            return -images.mean((1, 2, 3))

    t.guide = Linear()
    effect = t.effect()
    assert effect.change_inside == pytest.approx(0.6)
    # Doses 1.5 and 2 move the pixels by 0.9 and 1.2; from 3 on past RUNAWAY_CHANGE (1.5), so left out.
    assert effect.reach == pytest.approx(1 / 2), effect  # all doses up to 6 would make it 1/6


def test_verdicts_say_what_went_wrong_and_what_to_change():
    health = MaskHealth("ok", 0.2, 1.0)
    ran_away = judge(health, Effect(guide_gain=0.5, change_inside=1.6, change_outside=0.1), steps=500)
    assert ran_away.status == "runaway" and "change_weight" in ran_away.message
    nothing = judge(health, Effect(guide_gain=-0.01, change_inside=0.3, change_outside=0.01), steps=500)
    assert nothing.status == "no effect" and "not better met" in nothing.message
    good = judge(health, Effect(guide_gain=0.5, change_inside=0.5, change_outside=0.05), steps=500)
    assert good.ok and good.message == ""
    # Held back: more of the edit would meet the prompt far better (a met prompt gains nothing from more).
    held = judge(health, Effect(0.1, 0.3, 0.01, gain_more=0.4), steps=500)  # brings 25 % of it
    assert held.status == "no effect" and "25%" in held.message and "id_weight" in held.message
    met = judge(health, Effect(0.1, 0.3, 0.01, gain_more=0.08), steps=500)
    partway = judge(health, Effect(0.1, 0.3, 0.01, gain_more=0.16), steps=500)  # brings 62 % of it
    assert met.ok and partway.ok
    # Held partway by the identity term, which does not ask whether the prompt is met: refused, naming it.
    holds = {"l2": 0.05, "id": 0.9, "change": 0.05, "hidden": 0.0}
    by_identity = judge(health, Effect(0.1, 0.3, 0.01, gain_more=0.16, restraint=holds), steps=500)
    assert by_identity.status == "no effect" and "identity term" in by_identity.message
    assert "90%" in by_identity.message and "id_weight" in by_identity.message
    assert Verdict.from_dict(by_identity.to_dict()) == by_identity
    # ... but not where the prompt is met (more of the edit gains nothing), nor where identity holds little.
    assert judge(health, Effect(0.1, 0.3, 0.01, gain_more=0.08, restraint=holds), steps=500).ok
    mostly_change = {"l2": 0.1, "id": 0.2, "change": 0.7, "hidden": 0.0}
    assert judge(health, Effect(0.1, 0.3, 0.01, gain_more=0.16, restraint=mostly_change), steps=500).ok
    assert Verdict.from_dict(held.to_dict()) == held
    # A training.json from before the dose test has no gain_more: judged as it was then.
    older = held.to_dict()
    del older["effect"]["gain_more"]
    assert Verdict.from_dict(older).effect.reach is None
    assert judge(health, Verdict.from_dict(older).effect, steps=500).ok
    short = judge(health, Effect(guide_gain=0.0, change_inside=0.0, change_outside=0.0), steps=3)
    assert short.ok and "not judged" in short.message
    closed = judge(MaskHealth("collapsing", 0.001, 0.5, floor=0.002), None, steps=500)
    assert not closed.ok and "area_weight" in closed.message
    assert Verdict.from_dict(ran_away.to_dict()) == ran_away


def test_small_part_presets_are_not_called_closed_at_a_lips_sized_mask(models):
    G, _ = models
    lips = 0.012  # a correct lips mask: 0.9-1.7 % of an aligned face
    for preset, healthy in (("small colour", True), ("face features", True), ("hair", False)):
        floor = floor_for(REGION_PRESETS[preset].config_for(G, "x").smallest_part)
        monitor = MaskMonitor(TrainingSettings(steps=100, area_warmup=0.0), floor)
        for step in range(1, 40):
            health = monitor.update(step, lips)
        assert health.ok is healthy, preset
        for step in range(40, 100):
            health = monitor.update(step, floor / 10)
        assert health.status == "collapsing", preset  # a mask that really closes is still caught


def test_the_attentions_learning_rate_follows_its_input_width(models):
    G, arcface = models
    wide = Generator(64, 512, 2, channels={4: 512, 8: 512, 16: 512, 32: 512, 64: 512})
    wide.set_latent_avg(torch.zeros(512))
    for generator in (G, wide):
        config = REGION_PRESETS["hair"].config_for(generator, "x")
        t = Trainer(generator, RegionGuide(generator), arcface, config, TrainingSettings(steps=1))
        lr = TrainingSettings().attention_learning_rate
        rates = [group["lr"] for group in t.optimizer.param_groups[1:]]
        expected = [lr * min(1, ATTENTION_TUNED_WIDTH / c) for c in config.attention_in_channels] + [lr]
        assert rates == pytest.approx(expected)
    assert rates[0] == pytest.approx(lr / 16)  # 512 input channels: 1/16 of the rate tuned at 32


def test_the_mapper_warms_up_and_every_rate_settles_to_zero_at_the_end(models):
    t, _ = guided_trainer(models, steps=20, lr_decay=0.25, mapper_warmup=4)
    rates = []
    for _ in t.run():
        rates.append([group["lr"] for group in t.optimizer.param_groups])
    mapper, mix = [r[0] for r in rates], [r[-1] for r in rates]
    m, a = t.settings.mapper_learning_rate, t.settings.attention_learning_rate
    assert mapper[:4] == pytest.approx([m / 4, m / 2, 3 * m / 4, m])
    assert mapper[4:15] == pytest.approx([m] * 11) and mix[:15] == pytest.approx([a] * 15)
    # The last quarter: every rate falls linearly, the last step at a fifth of it.
    assert mapper[15:] == pytest.approx([m * k / 5 for k in (5, 4, 3, 2, 1)])
    assert mix[15:] == pytest.approx([a * k / 5 for k in (5, 4, 3, 2, 1)])


def _group_gradients(t: Trainer, norm: float) -> None:
    """Every parameter group's gradient set to `norm` (the same direction each time)."""
    for group in t.optimizer.param_groups:
        params = list(group["params"])
        total = sum(p.numel() for p in params)
        for p in params:
            p.grad = torch.full_like(p, norm / total**0.5)


def _limit(t: Trainer) -> None:
    """One step's spike limit on the gradients in place, as `train_step` applies it."""
    t._limit_gradient_spikes(t._read_step({})[1])


def _group_norms(t: Trainer) -> list[float]:
    return [torch.cat([p.grad.flatten() for p in g["params"]]).norm().item() for g in t.optimizer.param_groups]


def test_one_batchs_gradient_spike_moves_the_edit_no_more_than_a_few_ordinary_steps(models):
    t, _ = guided_trainer(models, steps=100)
    limit = t.settings.gradient_spike
    _group_gradients(t, 20.0)  # the first steps only measure: nothing to compare with yet
    _limit(t)
    assert _group_norms(t) == pytest.approx([20.0] * len(t.optimizer.param_groups), rel=1e-3)
    for t.step in range(1, 12):  # ordinary steps, norm 1
        _group_gradients(t, 1.0)
        _limit(t)
        assert _group_norms(t) == pytest.approx([1.0] * len(t.optimizer.param_groups), rel=1e-3)
    recent = [g["recent_grad_norm"] for g in t.optimizer.param_groups]
    _group_gradients(t, 1000.0)  # one broken batch
    _limit(t)
    assert _group_norms(t) == pytest.approx([limit * r for r in recent], rel=1e-3)
    # Remembered at its limited size: one spike does not raise the bar for the next one.
    assert [g["recent_grad_norm"] for g in t.optimizer.param_groups] == pytest.approx(
        [r + 0.05 * (limit - 1) * r for r in recent], rel=1e-3
    )
    _group_gradients(t, 3.0)  # a large but ordinary step passes as it is
    _limit(t)
    assert _group_norms(t) == pytest.approx([3.0] * len(t.optimizer.param_groups), rel=1e-3)

    off, _ = guided_trainer(models, steps=100, gradient_spike=0)
    for off.step in range(20):
        _group_gradients(off, 1.0 if off.step < 19 else 1000.0)
        _limit(off)
    assert _group_norms(off) == pytest.approx([1000.0] * len(off.optimizer.param_groups), rel=1e-3)


class _BreaksOn:
    """A guide whose loss is NaN at the given training steps (0-based) and fine otherwise."""

    def __init__(self, guide: RegionGuide, trainer: Trainer, steps: set[int]):
        self.guide, self.trainer, self.steps = guide, trainer, steps

    def loss(self, images: torch.Tensor, prompt: str) -> torch.Tensor:
        loss = self.guide.loss(images, prompt)
        return loss * float("nan") if self.trainer.step in self.steps and self.trainer.edit.training else loss


def _weights(t: Trainer) -> list[torch.Tensor]:
    return [p.detach().clone() for p in t.edit.parameters()]


def test_a_step_whose_gradient_is_not_finite_is_skipped_and_recorded(models, tmp_path):
    t, guide = guided_trainer(models, steps=60)
    t.output_dir = tmp_path
    t.guide = _BreaksOn(guide, t, {3, 20, 21})
    for _ in range(3):
        t.train_step()
    before, scale = _weights(t), t.guide_scale.state_dict()
    t.train_step()  # the broken one: Adam would turn every weight to NaN
    assert all(torch.equal(a, b) for a, b in zip(before, _weights(t), strict=True))
    assert t.guide_scale.state_dict() == scale  # its size is not counted toward the calibration
    progress = list(t.run())
    assert t.skipped_steps == [4, 21, 22]
    assert all(p.isfinite().all() for p in t.edit.parameters())
    assert [p.step for p in progress if p.skipped] == [21, 22]
    skipped = next(p for p in progress if p.skipped)
    assert "Step 21 was skipped" in (report_of(RunStep(skipped, 1.0, 0.1)).warning or "")  # CLI, tab and job log
    assert t.verdict is not None and t.verdict.status != "broken"
    text = (tmp_path / "training.json").read_text()
    log = json.loads(text, parse_constant=lambda c: pytest.fail(f"training.json holds {c}, not JSON"))
    assert log["skipped_steps"] == [4, 21, 22]


def test_a_run_that_keeps_breaking_stops_with_the_last_good_weights_and_says_so(models, tmp_path):
    t, guide = guided_trainer(models, steps=60)
    t.output_dir = tmp_path
    t.guide = _BreaksOn(guide, t, set(range(30, 60)))
    with pytest.raises(TrainingFailed, match=r"^Training stopped\. Training broke at step 31") as failed:
        for p in t.run():
            if p.step == 30:
                good = _weights(t)
    assert failed.value.verdict.status == "broken" and failed.value.verdict.broken_at == 31
    assert "not a finite number" in str(failed.value)
    assert t.step == 30 + BROKEN_STEPS  # it stopped as soon as it was sure, not at the end
    assert all(torch.equal(a, b) for a, b in zip(good, _weights(t), strict=True))
    log = json.loads((tmp_path / "training.json").read_text())
    assert failure_in_log(log) is not None and "broke at step 31" in failure_in_log(log)
    assert log["steps_trained"] == 30 + BROKEN_STEPS

    # The saved state remembers the skipped steps, so a resumed run counts on from them.
    resumed = Trainer(t.G, guide, t.arcface, t.edit.config, t.settings, output_dir=tmp_path, resume=True)
    assert resumed.skipped_steps == list(range(31, 31 + BROKEN_STEPS))


def test_a_run_that_breaks_every_other_step_stops_too(models):
    t, guide = guided_trainer(models, steps=60)
    t.guide = _BreaksOn(guide, t, set(range(30, 60, 2)))  # steps 31, 33, ... (1-based) are not finite
    with pytest.raises(TrainingFailed, match=r"broke at step 31") as failed:
        list(t.run())
    assert failed.value.verdict.status == "broken"
    assert t.step == 31 + 2 * (BROKEN_STEPS - 1)  # the tenth such step within twenty: it never had ten in a row


def test_focus_weights_the_edits_gradient_toward_where_the_guide_pulls_hardest():
    focus = Focus()
    edited = torch.full((1, 3, 32, 32), 0.1, requires_grad=True)
    mask = torch.full((1, 1, 32, 32), 0.5, requires_grad=True)
    image = focus.image(mask * focus.edit(edited) + (1 - mask) * torch.zeros(1, 3, 32, 32))
    pull = torch.ones(1, 3, 32, 32)
    pull[..., :16, :16] = 3.0  # the guide pulls three times as hard on one quarter of the picture
    (image * pull).sum().backward()
    assert edited.grad is not None and mask.grad is not None
    # Cell weights (pull / its mean)^2: 9x as much on that quarter, so 27x the gradient there ...
    ratio = edited.grad[..., :16, :16].mean() / edited.grad[..., 16:, 16:].mean()
    assert ratio.item() == pytest.approx(27.0, rel=1e-4)
    # ... at the plain gradient's size (Adam remembers sizes: a larger one would slow the steps after it).
    assert edited.grad.norm().item() == pytest.approx((0.5 * pull).norm().item(), rel=1e-4)
    assert torch.allclose(mask.grad, (0.1 * pull).sum(1, keepdim=True))  # the mask's side: the plain gradient


def test_focus_steers_the_mappers_first_steps_and_leaves_the_mask_to_the_plain_gradient(models):
    runs = {}
    for steps in (0, 40):
        t, _ = guided_trainer(models, preset="colour", focus_steps=steps)
        t.train_step()
        runs[steps] = t
    plain, focused = runs[0].edit, runs[40].edit
    # Same first batch and edit: the attention took the very same step, the mapper another.
    same = lambda a, b: all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters(), strict=True))  # noqa: E731
    assert same(plain.attention, focused.attention)
    assert not same(plain.mapper, focused.mapper)
