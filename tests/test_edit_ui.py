"""The Edit tab's pieces without a server: brush layers and masks, strengths, the reconstruction hint."""

from __future__ import annotations

import json
import shutil
import subprocess
import types

import numpy as np
import pytest
from PIL import Image
from pydantic import RootModel

from feat_space.errors import FeatError
from feat_space.image_input import load_image
from feat_space.registry.registry import load_registry
from feat_space.ui import build_app
from feat_space.ui.context import AppContext, Limits
from feat_space.ui.edit_api import EXAMPLES_DIR
from feat_space.ui.edit_events import brush_from_editor, describe
from feat_space.ui.edit_handlers import EditHandlers, json_value
from feat_space.ui.edit_images import mask_file, reconstruction_gap, tint
from feat_space.ui.edit_input import EditInput
from feat_space.ui.result_guard import GUARD_JS, KEY_PARTS, MAX_FACE, NO_PHOTO, photo_key

PURPLE, LIPSTICK = "registry:purple-hair", "registry:red-lipstick"


@pytest.fixture(scope="module")
def handlers(tiny_session) -> EditHandlers:
    return EditHandlers(AppContext(tiny_session, load_registry(), Limits()))


def layer(painted: tuple[slice, slice] | None, side: int = 64) -> np.ndarray:
    rgba = np.zeros((side, side, 4), np.uint8)
    if painted is not None:
        rgba[painted] = (37, 99, 235, 255)
    return rgba


def test_the_editor_s_first_layer_restricts_and_its_second_extends():
    top = (slice(0, 16), slice(None))
    brush = brush_from_editor({"background": None, "layers": [layer(top), layer(None)], "composite": None})
    assert brush is not None and brush.extend is None
    assert brush.restrict[:16].min() == 1 and brush.restrict[16:].max() == 0
    brush = brush_from_editor({"layers": [layer(None), layer(top)]})
    assert brush is not None and brush.restrict is None and brush.extend[:16].min() == 1
    assert brush_from_editor({"layers": [layer(None), layer(None)]}) is None, "nothing painted: no brush"
    assert brush_from_editor(None) is None


def test_an_unprocessed_editor_layer_is_read_from_its_file(tmp_path):
    Image.fromarray(layer((slice(None), slice(0, 8))), "RGBA").save(tmp_path / "layer.png")
    brush = brush_from_editor({"layers": [{"path": str(tmp_path / "layer.png")}]})
    assert brush is not None and brush.restrict[:, :8].min() == 1 and brush.restrict[:, 8:].max() == 0


def test_a_layer_without_transparency_is_refused_with_a_message():
    with pytest.raises(FeatError, match="did not arrive as an image with transparency"):
        brush_from_editor({"layers": [np.zeros((8, 8, 3), np.uint8)]})


def test_api_masks_are_white_where_painted_or_opaque_with_alpha(tmp_path):
    gray = np.zeros((32, 32), np.uint8)
    gray[:, :10] = 255
    Image.fromarray(gray).save(tmp_path / "gray.png")
    coverage = mask_file(str(tmp_path / "gray.png"), "restrict")
    assert coverage is not None and coverage[:, :10].min() == 1 and coverage[:, 10:].max() == 0

    alpha = np.zeros((32, 32, 4), np.uint8)
    alpha[:5] = (0, 0, 0, 255)  # black but opaque: painted
    Image.fromarray(alpha, "RGBA").save(tmp_path / "alpha.png")
    coverage = mask_file(str(tmp_path / "alpha.png"), "extend")
    assert coverage is not None and coverage[:5].min() == 1 and coverage[5:].max() == 0

    Image.fromarray(np.zeros((32, 32), np.uint8)).save(tmp_path / "black.png")
    assert mask_file(str(tmp_path / "black.png"), "restrict") is None, "an empty mask is no brush"
    assert mask_file(None, "restrict") is None


def test_an_unreadable_api_mask_names_itself(tmp_path):
    (tmp_path / "mask.txt").write_text("no")
    with pytest.raises(FeatError, match=r"Could not read the extend mask \(mask.txt\).*white where painted"):
        mask_file(str(tmp_path / "mask.txt"), "extend")


def test_strengths_default_per_edit_and_name_only_chosen_edits(handlers):
    chosen = handlers.choices([PURPLE, LIPSTICK], {LIPSTICK: -2}, None)
    assert [(choice.value, strength) for choice, strength in chosen] == [(PURPLE, 1.0), (LIPSTICK, -2.0)]
    # Gradio's cached-example path hands a JSON input over still wrapped in its model.
    wrapped = RootModel[dict](root={PURPLE: 0.5})
    assert handlers.choices([PURPLE], json_value(wrapped), None)[0][1] == 0.5
    with pytest.raises(FeatError, match="strengths names registry:smile, which is not among the chosen edits"):
        handlers.choices([PURPLE], {"registry:smile": 1}, None)
    with pytest.raises(FeatError, match="The strength of registry:purple-hair must be a number, got 'x'"):
        handlers.choices([PURPLE], {PURPLE: "x"}, None)
    with pytest.raises(FeatError, match="strengths must be a mapping"):
        EditInput.parse(edits=[PURPLE], strengths=[1, 2])
    assert EditInput.parse(edits=PURPLE, strengths=wrapped).strengths == {PURPLE: 0.5}, "one edit; unwrapped"
    with pytest.raises(FeatError, match="Pick at least one edit"):
        handlers.choices([], None, None)


def test_an_edit_is_described_without_loading_it(handlers):
    assert describe(handlers.ctx, PURPLE, None) == (
        "Purple hair",
        "hair",
        "Dyes the hair purple; skin and background keep their colours.",
    )
    assert describe(handlers.ctx, "registry:nope", None) is None
    assert describe(handlers.ctx, "user:mine", types.SimpleNamespace(trained={})) is None


def test_the_reconstruction_gap_is_zero_for_the_same_face_and_large_for_another():
    face = Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8))
    assert reconstruction_gap(face, face) == 0
    inverted = Image.fromarray(255 - np.asarray(face))
    assert reconstruction_gap(face, inverted) > 0.3


def test_the_mask_overlay_tints_only_the_mask_red():
    gray = Image.new("RGB", (32, 32), (128, 128, 128))
    mask = np.zeros((16, 16), np.uint8)
    mask[:, :8] = 255
    tinted = np.asarray(tint(gray, Image.fromarray(mask)), np.int16)
    assert (tinted[:, :14, 0] > tinted[:, :14, 1]).all(), "red where the mask is"
    assert (tinted[:, 18:] == 128).all(), "unchanged elsewhere"


def test_photo_only_examples_prepare_the_photo_they_set(tiny_session):
    """Where no example edit can run (e.g. none published yet), the examples are photos: one click prepares it."""
    registry = {name: entry for name, entry in load_registry().items() if name == "beard"}
    demo = build_app(context=AppContext(tiny_session, registry, Limits()))
    fns = list(demo.fns.values())
    load = next(fn for fn in fns if fn.name == "load_example")
    chain = [load]
    while (step := next((fn for fn in fns if fn.trigger_after == chain[-1]._id), None)) is not None:
        chain.append(step)
    assert [fn.name for fn in chain] == ["load_example", "clear", "prepare_page"]


def test_a_result_s_key_names_the_photo_file_and_the_face():
    upload = {"path": "/tmp/gradio/5af1ce38/astronaut.jpg", "orig_name": "astronaut.jpg"}
    assert photo_key(upload, 0) == photo_key(upload, None) == photo_key(upload, 0.0) == "5af1ce38/astronaut.jpg#0"
    assert photo_key(upload, 1) == "5af1ce38/astronaut.jpg#1", "another face of the same photo is another result"
    assert photo_key({"path": "/other/temp/5af1ce38/astronaut.jpg"}, 0) == photo_key(upload, 0), "any temp folder"
    assert photo_key({"path": "/tmp/gradio/9b0e77aa/astronaut.jpg"}, 0) != photo_key(upload, 0), "another file"
    assert photo_key(None, 0) == photo_key({"path": ""}, 1) == NO_PHOTO, "an empty page has a key of its own"
    assert photo_key(upload, float("nan")) == photo_key(upload, "oops") == "5af1ce38/astronaut.jpg#0"
    assert photo_key(upload, 1e21) == photo_key(upload, -0.5) == "5af1ce38/astronaut.jpg#0"


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node to run the page's guard outside a browser")
def test_the_page_computes_the_same_key_as_the_server():
    js = GUARD_JS % {"parts": KEY_PARTS, "max_face": MAX_FACE, "no_photo": NO_PHOTO}
    b = {"path": "/tmp/gradio/abc123/b.jpg"}
    cases = [  # (the result's photo and face, the page's photo and face, kept)
        ((b, 0), (b, 0), True),
        ((b, 1.0), (b, 1), True),
        ((b, None), (b, ""), True),
        ((b, 1e21), (b, -0.5), True),
        ((None, 0), (None, 3), True),
        ((b, 0), (b, 1), False),
        ((b, 0), ({"path": "/tmp/gradio/def456/b.jpg"}, 0), False),
        ((b, 0), (None, 0), False),
        ((None, 0), (b, 0), False),
    ]
    calls = [[photo_key(*made), page_photo, page_face] for made, (page_photo, page_face), _ in cases]
    script = f"const g = {js};\nfor (const c of {json.dumps(calls)}) console.log(JSON.stringify(g(...c)));"
    lines = subprocess.run(["node", "-e", script], capture_output=True, text=True, check=True).stdout.splitlines()
    kept = [json.loads(line) == [{"__type__": "update"}] * 5 for line in lines]
    assert kept == [expected for *_, expected in cases]


def test_a_slider_move_does_not_read_the_photo_file_again(handlers, tmp_path, monkeypatch):
    photo = tmp_path / "astronaut.png"
    Image.open(EXAMPLES_DIR / "astronaut.jpg").save(photo)
    first = handlers.load({"path": str(photo)}, 0)
    reads = []
    monkeypatch.setattr(
        "feat_space.ui.edit_handlers.load_image", lambda *a, **k: reads.append(a) or load_image(*a, **k)
    )
    assert handlers.load({"path": str(photo)}, 0) is first and reads == [], "loaded once per file and face"
    Image.open(EXAMPLES_DIR / "grace_hopper.jpg").save(photo)  # another photo under the same name
    again = handlers.load({"path": str(photo)}, 0)
    assert len(reads) == 1 and again.image.size != first.image.size, "a changed file is read again"


def test_a_kept_edit_does_not_keep_the_prepared_photo_alive(handlers, tmp_path):
    import gc
    import weakref

    # MediaPipe keeps the frames it builds its graphs in (the first photo aligned in a process): warm
    # up, then edit a photo no other test has prepared.
    handlers.load({"path": str(EXAMPLES_DIR / "grace_hopper.jpg")}, 0)
    mirrored = tmp_path / "mirrored.png"
    Image.open(EXAMPLES_DIR / "astronaut.jpg").transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(mirrored)
    loaded = handlers.load({"path": str(mirrored)}, 0)
    chosen = handlers.choices([PURPLE], None, None)
    edited = handlers.edit(loaded, chosen, None, None, preview=False, visitor=None, started=0.0)
    prepared = weakref.ref(loaded.photo)
    del loaded
    handlers._loaded.clear()
    handlers.session.photos.clear()  # the session's cache lets the photo go
    gc.collect()
    assert prepared() is None, "the page's last edit (kept for the mask toggle) still holds it"
    assert edited.overlay().size == edited.after.size, "the mask toggle still works"
