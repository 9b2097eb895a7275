"""`edit_photo` as an interactive editor uses it: the brush rule, the preview path, and what each
change (threshold, strength, brush, a new edit) recomputes. Tiny profile, real photos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from visible_edit import make_edit

import feat_space
from feat_space.editing.brush import Brush, apply_brush
from feat_space.editing.edit import apply_edits
from feat_space.editing.render import EditPlan, prefix_layer
from feat_space.errors import FeatError
from feat_space.image_input import load_image
from feat_space.session import PREVIEW_SIZE
from feat_space.session.photo_edit import edit_photo

DATA = Path(__file__).parent / "data"
PHOTO = DATA / "astronaut.png"


@pytest.fixture(scope="module")
def session(tiny_session_fp32):
    return tiny_session_fp32  # compared with direct fp32 calls


class LayerLog:
    """Which synthesis layers run (one entry per styled conv forward)."""

    def __init__(self, G) -> None:
        self.steps: list[int] = []
        self._hooks = [
            G.styled_conv(k).register_forward_hook(lambda module, args, out, k=k: self.steps.append(k))
            for k in range(G.num_layers)
        ]

    def take(self) -> list[int]:
        steps, self.steps = self.steps, []
        return steps

    def close(self) -> None:
        for hook in self._hooks:
            hook.remove()


@pytest.fixture
def log(session):
    log = LayerLog(session.generator)
    yield log
    log.close()


# -- the brush rule --------------------------------------------------------------------------------


def test_brush_rule_restrict_zeroes_outside_extend_forces_inside():
    mask = torch.full((1, 1, 8, 8), 0.6)
    restrict = np.zeros((64, 64), np.float32)
    restrict[:, :32] = 1  # left half may be edited
    extend = np.zeros((64, 64), bool)
    extend[48:, 48:] = True  # bottom-right corner must be
    out = apply_brush(mask, Brush(restrict=restrict, extend=extend))[0, 0]
    assert torch.equal(out[:, :4], torch.full((8, 4), 0.6))  # learned mask kept where restrict is painted
    assert torch.equal(out[:6, 4:], torch.zeros(6, 4))  # zeroed outside restrict
    assert torch.equal(out[6:, 6:], torch.ones(2, 2))  # forced inside extend, even outside restrict
    assert torch.equal(apply_brush(mask, None), mask) and torch.equal(apply_brush(mask, Brush()), mask)


def test_brush_reads_uint8_and_any_size_and_refuses_nonsense():
    painted = np.zeros((300, 200), np.uint8)
    painted[:150] = 255  # top half, uint8 0-255, not square
    out = apply_brush(torch.ones(1, 1, 4, 4), Brush(restrict=painted))[0, 0]
    assert out[:2].min() == 1 and out[2:].max() == 0
    with pytest.raises(FeatError, match="2-D"):
        Brush(restrict=np.zeros((4, 4, 3)))
    with pytest.raises(FeatError, match=r"\[0, 1\]"):
        Brush(extend=np.full((4, 4), 2.0))


def test_edit_photo_refuses_a_brush_that_is_not_one(session):
    with pytest.raises(FeatError, match="Brush"):
        edit_photo(session, PHOTO, [(make_edit(session), 1.0)], brush={"restrict": np.ones((4, 4))})  # type: ignore[arg-type]


def test_brush_is_exported_where_edit_photo_is():
    assert feat_space.Brush is Brush and feat_space.session.Brush is Brush


def test_brush_through_edit_photo_restricts_the_edit_and_the_paste_back(session):
    edit = make_edit(session)
    full = edit_photo(session, PHOTO, [(edit, 1.0)])
    restrict = np.zeros((1024, 1024), np.float32)
    restrict[:, :512] = 1  # the face's left half only
    brushed = edit_photo(session, PHOTO, [(edit, 1.0)], brush=Brush(restrict=restrict))
    mask, paste = np.asarray(brushed.mask), np.asarray(brushed.paste_mask)
    assert mask[:, 520:].max() == 0 and mask[:, :500].max() > 0
    assert np.asarray(full.mask)[:, 520:].max() > 0  # without the brush the right half was edited
    margin = 8 + 16 + 2  # the mask's bilinear edge, the paste feather, and some of the blend margin
    assert paste[:, 512 + margin + 200 :].max() == 0, "pasted far beyond the restricted region"
    # The photo outside the pasted region is the visitor's own.
    original = np.asarray(load_image(PHOTO))
    assert not np.array_equal(np.asarray(brushed.photo), original)
    assert np.count_nonzero(np.any(np.asarray(brushed.photo) != original, axis=-1)) < np.count_nonzero(
        np.any(np.asarray(full.photo) != original, axis=-1)
    )


def test_brush_extend_edits_where_the_learned_mask_is_closed(session):
    edit = make_edit(session, "hair colour")
    closed = edit_photo(session, PHOTO, [(edit, 1.0)], threshold=0.999999)
    assert np.asarray(closed.mask).max() == 0
    extend = np.zeros((512, 512), bool)
    extend[100:200, 100:300] = True
    forced = edit_photo(session, PHOTO, [(edit, 1.0)], threshold=0.999999, brush=Brush(extend=extend))
    mask = np.asarray(forced.mask)
    assert mask[220:380, 220:580].min() == 255 and mask[600:].max() == 0
    assert not np.array_equal(np.asarray(forced.photo), np.asarray(closed.photo))


# -- the preview path ------------------------------------------------------------------------------


def test_preview_is_small_and_close_to_the_full_result(session, tmp_path):
    big = tmp_path / "big.png"  # a face larger than the preview, in a photo wider than a preview's
    load_image(PHOTO).resize((1400, 1200), Image.Resampling.BICUBIC).save(big)
    edit = make_edit(session)
    full = edit_photo(session, big, [(edit, 1.0)], threshold=0.2)
    preview = edit_photo(session, big, [(edit, 1.0)], threshold=0.2, preview=True)
    assert preview.preview and not full.preview
    for image in (preview.edited, preview.aligned, preview.mask, preview.paste_mask, preview.reconstruction):
        assert image.size == (PREVIEW_SIZE, PREVIEW_SIZE)
    photo = load_image(big)
    scale = min(PREVIEW_SIZE / session.prepare(big).face.size, 1024 / 1400)  # face at preview size, side <= 1024
    assert scale < 1 and preview.photo.size == (round(1400 * scale), round(1200 * scale))
    assert abs(preview.photo.width / preview.photo.height - photo.width / photo.height) < 0.01
    # Same edit: the preview's mask is the full mask reduced.
    reduced = np.asarray(full.mask.resize((PREVIEW_SIZE, PREVIEW_SIZE), Image.Resampling.BILINEAR), np.float32)
    assert np.abs(np.asarray(preview.mask, np.float32) - reduced).mean() < 3


def test_preview_slider_moves_rerun_only_what_changed(session, log):
    G = session.generator
    edit = make_edit(session, seed=5)
    plan = EditPlan.of([(edit, 1.0)])
    blend = int(plan.layer)
    preview_layer = plan.output_layer(G, PREVIEW_SIZE)
    session.photos.clear()
    edit_photo(session, PHOTO, [(edit, 1.0)], threshold=0.1, preview=True)
    first = log.take()
    # the original pass once (0..blend), the edited latent from after the prefix, then on to the preview size
    assert first == [*range(blend + 1), *range(plan.prefix + 1, blend + 1), *range(blend + 1, preview_layer + 1)]
    edit_photo(session, PHOTO, [(edit, 1.0)], threshold=0.4, preview=True)
    assert log.take() == list(range(blend + 1, preview_layer + 1)), "a threshold change re-ran the edited pass"
    edit_photo(session, PHOTO, [(edit, 0.5)], threshold=0.4, preview=True)
    assert log.take() == [*range(plan.prefix + 1, blend + 1), *range(blend + 1, preview_layer + 1)]
    brush = Brush(restrict=np.ones((8, 8), bool))
    edit_photo(session, PHOTO, [(edit, 0.5)], threshold=0.4, preview=True, brush=brush)
    assert log.take() == list(range(blend + 1, preview_layer + 1)), "a brush change re-ran the edited pass"
    edit_photo(session, PHOTO, [(edit, 0.5)], threshold=0.4)  # release: full resolution
    assert log.take() == list(range(blend + 1, G.num_layers))


def test_colour_edit_threshold_moves_run_no_synthesis(session, log):
    """An RGB-blend edit mixes two cached images: a threshold move only re-mixes and pastes."""
    G = session.generator
    edit = make_edit(session, "hair colour", seed=9)
    plan = EditPlan.of([(edit, 1.0)])
    assert plan.layer == "rgb" and plan.prefix is not None
    session.photos.clear()
    for preview, last in ((True, plan.output_layer(G, PREVIEW_SIZE)), (False, G.num_layers - 1)):
        edit_photo(session, PHOTO, [(edit, 1.0)], threshold=0.1, preview=preview)
        log.take()
        edit_photo(session, PHOTO, [(edit, 1.0)], threshold=0.5, preview=preview)
        assert log.take() == []
        edit_photo(session, PHOTO, [(edit, 0.5)], threshold=0.5, preview=preview)
        assert log.take() == list(range(plan.prefix + 1, last + 1))  # the edited latent from its first mapped layer


def test_slider_moves_keep_memory_flat(session):
    edit = make_edit(session, seed=6)
    session.photos.clear()
    edit_photo(session, PHOTO, [(edit, 1.0)], preview=True)
    photo = session.prepare(PHOTO)
    held = len(photo.memoised())
    for i in range(6):
        edit_photo(session, PHOTO, [(edit, 0.2 * i)], threshold=0.1 * i, preview=True)
    assert len(photo.memoised()) == held


def test_a_changed_edit_weight_is_not_served_from_the_cache(session):
    edit = make_edit(session, seed=7)
    before = np.asarray(edit_photo(session, PHOTO, [(edit, 1.0)], preview=True).edited)
    with torch.no_grad():
        for mlp in edit.mapper.mlps:
            mlp.layers[-1].weight.mul_(-1)
    after = np.asarray(edit_photo(session, PHOTO, [(edit, 1.0)], preview=True).edited)
    assert not np.array_equal(before, after)


def test_staged_result_equals_the_one_call_edit(session):
    """The cached, staged path computes exactly what `apply_edits` does in one call."""
    G = session.generator
    shape, colour = make_edit(session, "mouth", 1), make_edit(session, "skin", 2)
    chosen = [(shape, 0.7), (colour, 1.3)]
    result = edit_photo(session, PHOTO, chosen, threshold=0.3)
    photo = session.prepare(PHOTO)
    with torch.no_grad():
        expected = apply_edits(G, photo.wplus, chosen, threshold=0.3)
    pixels = (expected.image[0].clamp(-1, 1).add(1).mul(127.5).round()).to(torch.uint8).permute(1, 2, 0).numpy()
    assert np.array_equal(np.asarray(result.edited), pixels)


# -- the reconstruction ----------------------------------------------------------------------------


def test_first_edit_does_not_render_the_reconstruction(session, log):
    G = session.generator
    edit = make_edit(session, seed=8)
    plan = EditPlan.of([(edit, 1.0)])
    blend = int(plan.layer)
    session.photos.clear()
    result = edit_photo(session, PHOTO, [(edit, 1.0)])
    # one original pass to the blend layer, the edited pass, then blended to the end: nothing twice
    assert log.take() == [*range(blend + 1), *range(plan.prefix + 1, blend + 1), *range(blend + 1, G.num_layers)]
    small = result.reconstruction_at(256)
    assert small.size == (256, 256)
    assert log.take() == list(range(blend + 1, G.layer_at(256) + 1)), "the reconstruction re-ran the shared pass"
    full = result.reconstruction
    assert full.size == (G.size, G.size)
    assert log.take() == list(range(blend + 1, G.num_layers))
    with torch.no_grad():
        expected = G.synthesis(session.prepare(PHOTO).wplus)
    assert torch.equal(session.reconstruction(session.prepare(PHOTO)), expected)
    assert log.take() == list(range(G.num_layers))  # the direct synthesis above
    result.reconstruction  # noqa: B018 - cached now
    assert log.take() == []


def test_a_reconstruction_shown_on_upload_leaves_the_edit_its_original_pass(session, log):
    """Prepare on upload shows the reconstruction; the first edit then reruns none of its layers."""
    G = session.generator
    edit = make_edit(session, seed=10)
    plan = EditPlan.of([(edit, 1.0)])
    blend = int(plan.layer)
    session.photos.clear()
    photo = session.prepare(PHOTO)
    session.reconstruction(photo, size=256)
    assert log.take() == list(range(G.layer_at(256) + 1))  # one pass, the low-resolution states kept
    edit_photo(session, PHOTO, [(edit, 1.0)], preview=True)
    assert log.take() == [*range(plan.prefix + 1, blend + 1), *range(blend + 1, plan.output_layer(G, 256) + 1)]


def test_prefix_layer_reads_only_unmapped_entries():
    # layer k reads entry k; an even layer's toRGB reads k + 1
    assert [prefix_layer(e) for e in range(7)] == [None, None, 1, 1, 3, 3, 5]


def test_a_prepared_photo_is_edited_without_being_read_or_hashed_again(session, monkeypatch):
    edit = make_edit(session, seed=12)
    prepared = session.prepare(PHOTO)
    by_file = edit_photo(session, PHOTO, [(edit, 1.0)], threshold=0.2, preview=True)

    def hashed(*args, **kwargs):
        raise AssertionError("the photo was hashed again")

    monkeypatch.setattr("feat_space.session.session.photo_key", hashed)
    given = edit_photo(session, prepared, [(edit, 1.0)], threshold=0.2, preview=True)
    assert np.array_equal(np.asarray(given.photo), np.asarray(by_file.photo)), "the same edit either way"
