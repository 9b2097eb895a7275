"""One renderer (`editing.render`): the one-shot edit, the staged and cached photo path and training
render the same image, for feature and RGB blends and composed edits; checked against a reference
written here from the generator's own passes, blend by blend."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from visible_edit import make_edit

from feat_space.editing.edit import apply_edits
from feat_space.editing.render import render
from feat_space.models.stylegan2 import SynthesisState
from feat_space.session import PREVIEW_SIZE
from feat_space.training.settings import TrainingSettings
from feat_space.training.trainer import Trainer

PHOTO = Path(__file__).parent / "data" / "astronaut.png"
CASES = {"feature blend": ["mouth"], "RGB blend": ["hair colour"], "composed": ["mouth", "skin"]}


def resized(mask: torch.Tensor, size: int) -> torch.Tensor:
    return mask if mask.shape[-1] == size else F.interpolate(mask, size=(size, size), mode="bilinear")


def reference(G, wplus, edits, threshold: float, layer: int) -> torch.Tensor:
    """FEAT from scratch: both latents synthesised from layer 0, blended by hand."""
    edited = wplus
    for edit, strength in edits:
        edited = edit.edit_latent(edited, strength)
    unions: dict[bool, torch.Tensor] = {}  # per kind (RGB blend or not), at the largest mask resolution
    size = max(e.config.mask_resolution for e, _ in edits)
    for edit, _ in edits:
        c = edit.config
        raw = edit.attention([G.features(wplus, list(c.attention_layers))[k] for k in c.attention_layers])
        m = resized(((raw - threshold) / (1 - threshold)).clamp(0, 1), size)
        rgb = c.blend_layer == "rgb"
        unions[rgb] = 1 - (1 - m) * (1 - unions[rgb]) if rgb in unions else m
    feature_layers = [e.config.blend_layer for e, _ in edits if e.config.blend_layer != "rgb"]
    if feature_layers:
        at = max(feature_layers)
        a, b, m = G.synthesize_until(wplus, at), G.synthesize_until(edited, at), unions[False]
        mf, ms = resized(m, a.feature.shape[-1]), resized(m, a.skip.shape[-1])
        state = SynthesisState(at, mf * b.feature + (1 - mf) * a.feature, ms * b.skip + (1 - ms) * a.skip)
        image = G.continue_to(state, wplus, layer).skip
    else:
        image = G.synthesize_until(wplus, layer).skip
    if True in unions:
        m = resized(unions[True], image.shape[-1])
        image = m * G.synthesize_until(edited, layer).skip + (1 - m) * image
    return image


@pytest.fixture(scope="module")
def session(tiny_session_fp32):

    return tiny_session_fp32  # compared with direct fp32 calls


@pytest.mark.parametrize("case", CASES)
def test_one_shot_and_staged_renders_equal_the_reference(session, case):
    G = session.generator
    edits = [(make_edit(session, region, seed), 0.8 + 0.3 * seed) for seed, region in enumerate(CASES[case])]
    session.photos.clear()
    photo = session.prepare(PHOTO)
    stages = session.stages(photo)
    with torch.no_grad():
        one_shot = apply_edits(G, photo.wplus, edits, threshold=0.2).image
        torch.testing.assert_close(one_shot, reference(G, photo.wplus, edits, 0.2, G.num_layers - 1))
        for size, threshold in ((PREVIEW_SIZE, 0.2), (PREVIEW_SIZE, 0.4), (G.size, 0.4)):  # cold, then cached stages
            staged = render(G, photo.wplus, edits, threshold=threshold, size=size, stages=stages)
            direct = render(G, photo.wplus, edits, threshold=threshold, size=size)
            assert staged.image.shape[-1] == size
            assert torch.equal(staged.image, direct.image), (size, threshold)
            assert torch.equal(staged.mask, direct.mask)
        assert torch.equal(staged.image, apply_edits(G, photo.wplus, edits, threshold=0.4).image)


@pytest.mark.parametrize("case", ["feature blend", "RGB blend"])
def test_training_renders_what_inference_does_and_learns_through_it(session, case):
    G = session.generator

    class Guide:
        def loss(self, images, prompt):
            return images.mean(dim=(1, 2, 3))

    (region,) = CASES[case]
    edit = make_edit(session, region, seed=3)
    settings = TrainingSettings(steps=1, batch_size=2, resolution=64)
    trainer = Trainer(G, Guide(), session.arcface, edit.config, settings)
    trainer.edit.load_state_dict(edit.state_dict())
    wplus = trainer.sample_wplus(0)
    edited, original, mask, delta = trainer.render(wplus)
    with torch.no_grad():
        expected = render(G, wplus, [(edit, None)], size=settings.resolution)
        layer = expected.layer
        torch.testing.assert_close(expected.image, reference(G, wplus, [(edit, None)], 0.0, layer))
        assert torch.equal(original, G.synthesize_until(wplus, layer).skip)
    assert edited.shape[-1] == 64 and torch.equal(edited.detach(), expected.image)
    assert torch.equal(mask.detach(), expected.mask)
    assert torch.equal(delta.detach(), edit.mapper(wplus).detach())
    edited.mean().backward()
    for part in (trainer.edit.mapper, trainer.edit.attention):
        assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in part.parameters()), part
