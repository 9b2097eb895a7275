"""Measuring an edit on the sample photos (feat_space.checks.edit_sheet), in the tiny profile."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from visible_edit import make_edit

from feat_space.checks.edit_sheet import contact_sheet, measure_edit, sample_photos
from feat_space.errors import FeatError
from feat_space.session import Session

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def session():
    return Session("tiny", device="cpu", precision="fp32")


@pytest.fixture(scope="module")
def measured(session):
    return measure_edit(session, make_edit(session), sample_photos(), threshold=0.2, name="smile")


def test_the_sample_photos_are_the_checkouts_test_data():
    assert sample_photos() == sorted(DATA.glob("*.*"))


def test_measures_every_photo_at_every_strength(measured):
    assert [p.photo for p in measured.photos] == ["astronaut.png", "grace_hopper.jpg"]
    for photo in measured.photos:
        assert [s.strength for s in photo.strengths] == [0.5, 1.0, 1.5]
        assert 0 < photo.mask_share < 1 and photo.prepare_seconds > 0
        inside = [s.change_inside for s in photo.strengths]
        assert inside[0] > 1 and inside == sorted(inside), "a stronger edit must change more"
        identity = [s.identity for s in photo.strengths]
        assert 0 < identity[-1] < identity[0] < 1, "a stronger edit must move away from the person"
        assert all(s.seconds > 0 for s in photo.strengths)
    assert "UNTRAINED" in (measured.notice or "")
    numbers = json.loads(json.dumps(measured.numbers()))
    assert numbers["name"] == "smile" and len(numbers["photos"][1]["strengths"]) == 3
    assert measured.table().count("\n| astronaut.png |") == 3


def test_an_edit_at_strength_zero_changes_nothing(session):
    (photo,) = measure_edit(session, make_edit(session), [DATA / "astronaut.png"], strengths=[0.0]).photos
    (zero,) = photo.strengths
    assert zero.change_inside < 0.05 and zero.change_outside < 0.05 and zero.identity > 0.999


def test_a_mask_cut_away_by_the_threshold_leaves_nothing_inside(session):
    (photo,) = measure_edit(session, make_edit(session), [DATA / "grace_hopper.jpg"], threshold=0.999999).photos
    assert photo.mask_share == 0
    assert all(s.change_inside == 0 and s.change_outside < 0.05 for s in photo.strengths)
    assert np.array_equal(np.asarray(photo.strengths[-1].image), np.asarray(photo.aligned.convert("RGB")))


def test_contact_sheet_shows_photo_strengths_and_mask(measured):
    sheet = contact_sheet(measured, tile=128)
    columns, rows = 5, 2  # photo, three strengths, mask
    assert sheet.width > columns * 128 and sheet.height > rows * 128
    pixels = np.asarray(sheet, dtype=np.int16)
    tiles = [pixels[30 + 10 : 30 + 100, 6 + c * 134 : 6 + c * 134 + 128] for c in range(columns)]
    for c in range(1, columns):  # every column differs from the photo's
        assert np.abs(tiles[c] - tiles[0]).mean() > 1, c


def test_a_photo_without_a_face_is_named(session, tmp_path):
    blank = tmp_path / "blank.png"
    Image.new("RGB", (256, 256), (128, 128, 128)).save(blank)
    with pytest.raises(FeatError, match=r"^blank\.png: "):
        measure_edit(session, make_edit(session), [blank])


def test_needs_photos_and_strengths(session):
    with pytest.raises(FeatError, match="photo"):
        measure_edit(session, make_edit(session), [])
    with pytest.raises(FeatError, match="strength"):
        measure_edit(session, make_edit(session), [DATA / "astronaut.png"], strengths=())
