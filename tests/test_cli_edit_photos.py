"""`python -m feat_space edit PHOTO_OR_FOLDER... --edit NAME[=STRENGTH]` in the tiny profile: whole
folders with a progress bar; unreadable and faceless files are reported and skipped, never the batch."""

from __future__ import annotations

import errno
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from feat_space.alignment.native_logs import native_logs, quiet_native_logs
from feat_space.cli import edit as edit_cli
from feat_space.cli import main
from feat_space.cli.edit import EditSpec, parse_edit
from feat_space.editing.storage import save_edit
from feat_space.registry.demo import demo_edit
from feat_space.registry.registry import load_registry

DATA = Path(__file__).parent / "data"
FAST_EDIT = "purple-hair"  # blends the final RGB: the cheapest edit on a CPU


@pytest.fixture(autouse=True)
def tiny(monkeypatch):
    monkeypatch.setenv("FEAT_PROFILE", "tiny")


def same_pixels(a: Path, b: Path) -> bool:
    return np.array_equal(np.asarray(Image.open(a).convert("RGB")), np.asarray(Image.open(b).convert("RGB")))


def test_a_folder_is_edited_and_bad_files_are_reported_and_skipped(tmp_path, capsys):
    photos = tmp_path / "holiday"
    photos.mkdir()
    shutil.copy(DATA / "astronaut.png", photos / "astronaut.png")
    shutil.copy(DATA / "grace_hopper.jpg", photos / "hopper.jpg")
    (photos / "broken.jpg").write_bytes(b"not a jpeg at all")
    Image.new("RGB", (320, 240), (90, 140, 200)).save(photos / "sky.png")
    (photos / "notes.txt").write_text("not a photo, and not named like one: left out of the batch")
    out = tmp_path / "out"

    code = main(["edit", str(photos), str(tmp_path / "gone.jpg"), "--edit", f"{FAST_EDIT}=1.5", "--out", str(out)])

    printed = capsys.readouterr()
    assert code == 1, "not every photo was edited"
    assert sorted(p.name for p in out.iterdir()) == ["astronaut-edited.png", "hopper-edited.jpg"]
    for original, edited in (
        (photos / "astronaut.png", out / "astronaut-edited.png"),
        (photos / "hopper.jpg", out / "hopper-edited.jpg"),
    ):
        assert Image.open(edited).size == Image.open(original).size, "the whole photo, at its own size"
        assert not same_pixels(original, edited), "and edited"
    assert "skipped" in printed.err and "broken.jpg: Could not read 'broken.jpg'" in printed.err
    assert "sky.png: No face was found" in printed.err
    assert "gone.jpg: no such file or folder" in printed.err
    assert "4/4" in printed.err and "photo" in printed.err, "a progress bar over the four photos"
    assert "Edited 2 of 5 photo(s)" in printed.out
    assert "1 without a face" in printed.out and "1 unreadable" in printed.out and "1 missing" in printed.out
    assert "UNTRAINED" in printed.err, "the tiny profile's demo edits say what they are"


def test_an_edit_folder_and_strengths_compose(tmp_path, capsys, tiny_session):
    session = tiny_session
    entry = load_registry()["smile"]
    folder = tmp_path / "my-smile"
    save_edit(demo_edit(entry, session.generator), folder)
    out = tmp_path / "out"
    photo = DATA / "grace_hopper.jpg"

    args = ["edit", str(photo), "--edit", str(folder), "--edit", f"registry:{FAST_EDIT}=0", "--out", str(out)]
    assert main([*args, "--threshold", "0.25", "--no-progress"]) == 0
    printed = capsys.readouterr()
    assert "Edited 1 of 1 photo(s)" in printed.out and "mask threshold 0.25" in printed.out
    assert "my-smile, Purple hair" in printed.out
    assert printed.err.count("%|") == 0, "--no-progress prints no bar"
    first = np.asarray(Image.open(out / "grace_hopper-edited.jpg"))

    again = ["edit", str(photo), "--edit", f"registry:{FAST_EDIT}=2", "--out", str(out), "--no-progress"]
    assert main(again) == 0
    second = np.asarray(Image.open(out / "grace_hopper-edited-2.jpg"))
    assert first.shape == second.shape and not np.array_equal(first, second), "another edit, another result"
    assert np.array_equal(np.asarray(Image.open(out / "grace_hopper-edited.jpg")), first), "the earlier result stays"
    assert "grace_hopper-edited-2.jpg" in capsys.readouterr().out

    assert main([*again, "--overwrite"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["grace_hopper-edited-2.jpg", "grace_hopper-edited.jpg"]
    assert np.array_equal(np.asarray(Image.open(out / "grace_hopper-edited.jpg")), second), "replaced, as asked"


def test_bad_edits_and_thresholds_are_clear_errors(tmp_path, capsys):
    photo = str(DATA / "grace_hopper.jpg")
    assert main(["edit", photo, "--edit", "nope", "--out", str(tmp_path)]) == 1
    assert "There is no edit called 'nope'" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["edit", photo, "--edit", str(tmp_path / "empty"), "--out", str(tmp_path)]) == 1
    assert "is not an edit folder: it has no config.json" in capsys.readouterr().err
    assert main(["edit", photo, "--edit", FAST_EDIT, "--threshold", "1.5", "--out", str(tmp_path)]) == 1
    assert "--threshold must be from 0 to 0.95" in capsys.readouterr().err


def test_a_bad_threshold_is_refused_before_the_models_load(monkeypatch, capsys):
    def no_models(*args, **kwargs):
        raise AssertionError("models loaded before --threshold was checked")

    monkeypatch.setattr("feat_space.session.Session", no_models)
    assert main(["edit", str(DATA / "grace_hopper.jpg"), "--edit", FAST_EDIT, "--threshold", "-0.1"]) == 1
    assert (
        "--threshold must be from 0 to 0.95 (higher keeps the edit to a smaller area; 0 cuts nothing), got -0.1"
        in capsys.readouterr().err
    )


def test_a_result_that_cannot_be_written_is_skipped_and_the_batch_goes_on(tmp_path, monkeypatch, capsys):
    photos = tmp_path / "in"
    photos.mkdir()
    shutil.copy(DATA / "astronaut.png", photos / "a.png")
    shutil.copy(DATA / "grace_hopper.jpg", photos / "b.jpg")
    real_save = edit_cli.save

    def disk_full_once(photo, path):
        if path.name.startswith("a-"):
            path.write_bytes(b"half")  # written in part when the disk filled up
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_save(photo, path)

    monkeypatch.setattr(edit_cli, "save", disk_full_once)
    out = tmp_path / "out"
    assert main(["edit", str(photos), "--edit", FAST_EDIT, "--out", str(out), "--no-progress"]) == 1
    printed = capsys.readouterr()
    assert "could not write" in printed.err and "No space left on device" in printed.err
    assert [p.name for p in out.iterdir()] == ["b-edited.jpg"], "no half-written file; the next photo is edited"
    assert "Edited 1 of 2" in printed.out and "1 not saved (could not write the result)" in printed.out
    assert main(["edit", str(tmp_path / "empty"), "--edit", FAST_EDIT]) == 1
    assert "No photos to edit" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "spec"),
    [
        ("smile", EditSpec("smile", None)),
        ("smile=1.5", EditSpec("smile", 1.5)),
        ("registry:smile=-0.5", EditSpec("registry:smile", -0.5)),
        ("runs/a=b", EditSpec("runs/a=b", None)),
    ],
)
def test_edit_arguments(text, spec):
    assert parse_edit(text) == spec


NATIVE_NOISE = ("W0000", "inference_feedback_manager.cc", "landmark_projection_calculator.cc", "absl::", "XNNPACK")


def test_edit_prints_only_the_project_s_lines_unless_verbose(tmp_path):
    """MediaPipe logs from C++ to descriptor 2, which no Python filter reaches: run the real command."""
    command = [sys.executable, "-m", "feat_space", "edit", str(DATA / "grace_hopper.jpg"), "--edit", "purple-hair"]
    env = {**os.environ, "FEAT_PROFILE": "tiny", "HF_HUB_OFFLINE": "1", "FEAT_CACHE": str(tmp_path / "cache")}
    root = Path(__file__).resolve().parent.parent
    quiet = subprocess.run([*command, "--out", str(tmp_path / "a")], env=env, cwd=root, capture_output=True, text=True)
    assert quiet.returncode == 0, quiet.stderr[-2000:]
    said = quiet.stdout + quiet.stderr
    assert "Edited 1 of 1 photo(s)" in said and "UNTRAINED" in said
    assert not [noise for noise in NATIVE_NOISE if noise in said], said[-2000:]
    loud = subprocess.run(
        [*command, "--out", str(tmp_path / "b"), "--verbose"], env=env, cwd=root, capture_output=True, text=True
    )
    assert loud.returncode == 0 and "inference_feedback_manager.cc" in loud.stderr, "--verbose keeps MediaPipe's logs"


def test_native_logs_caught_while_quiet_are_logged_at_debug(caplog):
    quiet_native_logs()
    try:
        with caplog.at_level(logging.DEBUG, "feat_space.native"), native_logs():
            os.write(2, b"W0000 from C++\n")
    finally:
        quiet_native_logs(False)
    assert "W0000 from C++" in caplog.text
