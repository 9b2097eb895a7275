"""Editing a real photo end to end in the tiny profile: align → invert → FEAT → paste back."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from visible_edit import make_edit

from feat_space.editing.storage import load_edit_folder, save_edit
from feat_space.errors import FeatError, NoFaceError
from feat_space.image_input import load_image
from feat_space.session.photo_edit import edit_photo

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def session(tiny_session_fp32):
    return tiny_session_fp32  # compared with direct fp32 calls


def changed_box(before: Image.Image, after: Image.Image):
    diff = np.any(np.asarray(before) != np.asarray(after), axis=-1)
    ys, xs = np.nonzero(diff)
    return (xs.min(), ys.min(), xs.max(), ys.max()) if len(xs) else None


def test_edit_changes_only_the_face_region_of_the_photo(session):
    path = DATA / "astronaut.png"
    result = edit_photo(session, path, [(make_edit(session), 1.0)])
    original = load_image(path)
    assert result.photo.size == original.size and result.photo.mode == "RGB"
    box = changed_box(original, result.photo)
    assert box is not None, "the edit changed nothing"
    face = session.prepare(path).face
    (qx0, qy0), (qx1, qy1) = face.quad.min(axis=0), face.quad.max(axis=0)
    x0, y0, x1, y1 = box
    assert qx0 - 1 <= x0 and qy0 - 1 <= y0 and x1 <= qx1 + 1 and y1 <= qy1 + 1
    size = session.generator.size
    for image in (result.aligned, result.reconstruction, result.edited):
        assert image.size == (size, size)
    assert result.mask.mode == "L" and result.paste_mask.mode == "L"
    assert "UNTRAINED" in result.notice


def test_zero_mask_returns_the_photo_untouched(session):
    path = DATA / "grace_hopper.jpg"
    result = edit_photo(session, path, [(make_edit(session), 1.0)], threshold=0.999999)
    assert np.array_equal(np.asarray(result.photo), np.asarray(load_image(path)))


def test_re_editing_reuses_the_prepared_photo(session, monkeypatch):
    path = DATA / "astronaut.png"
    edit_photo(session, path, [(make_edit(session), 1.0)])
    calls = []
    encoder = session.encoder
    monkeypatch.setattr(encoder, "forward", lambda x: calls.append(x) or pytest.fail("inverted again"))
    edit_photo(session, path, [(make_edit(session, "hair colour"), 0.5)])
    assert calls == []


def test_an_edit_loaded_from_a_checkpoint_folder_edits_the_same(session, tmp_path):
    edit = make_edit(session, "hair colour", seed=3)
    loaded = load_edit_folder(save_edit(edit, tmp_path / "purple"))
    path = DATA / "grace_hopper.jpg"
    a = edit_photo(session, path, [(edit, 1.0)], threshold=0.3)
    b = edit_photo(session, path, [(loaded, 1.0)], threshold=0.3)
    assert np.array_equal(np.asarray(a.photo), np.asarray(b.photo))


def test_several_edits_compose(session):
    path = DATA / "astronaut.png"
    one = edit_photo(session, path, [(make_edit(session, "mouth", 1), 1.0)])
    both = edit_photo(session, path, [(make_edit(session, "mouth", 1), 1.0), (make_edit(session, "skin", 2), 1.0)])
    assert not np.array_equal(np.asarray(one.edited), np.asarray(both.edited))
    assert np.asarray(both.mask).mean() >= np.asarray(one.mask).mean()  # masks are united


def test_user_errors_are_feat_errors(session, tmp_path):
    with pytest.raises(NoFaceError):
        edit_photo(session, Image.new("RGB", (400, 300), "gray"), [(make_edit(session), 1.0)])
    not_an_image = tmp_path / "notes.txt"
    not_an_image.write_text("hello")
    with pytest.raises(FeatError):
        edit_photo(session, not_an_image, [(make_edit(session), 1.0)])
    with pytest.raises(FeatError, match="at least one edit"):
        edit_photo(session, DATA / "astronaut.png", [])
    with pytest.raises(FeatError, match="threshold"):
        edit_photo(session, DATA / "astronaut.png", [(make_edit(session), 1.0)], threshold=1.5)


def test_first_edit_reads_features_and_blend_state_in_one_pass(session):
    session.photos.clear()  # earlier tests cached this photo's passes
    photo = session.prepare(DATA / "grace_hopper.jpg", face_index=0)
    G = session.generator
    steps = []
    hooks = [
        G.styled_conv(k).register_forward_hook(lambda module, args, out, k=k: steps.append(k))
        for k in range(G.num_layers)
    ]
    try:
        features, states = session.original_pass(photo, [3, 5], [7])
        state = states[7]
        assert steps == list(range(8))  # layers 0..7 once; separately, 0..5 would run twice
        steps.clear()
        session.original_pass(photo, [3, 5], [7])
        assert steps == []  # cached
    finally:
        for hook in hooks:
            hook.remove()
    with torch.no_grad():
        assert torch.equal(features[5], G.features(photo.wplus, [5])[5])
        assert torch.equal(state.feature, G.synthesize_until(photo.wplus, 7).feature)
