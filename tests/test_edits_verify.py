"""`feat-space edits verify`: an edit checked end to end against the local Hub stand-in, tiny profile."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest
import torch
from hub_server import HubServer
from huggingface_hub import constants

from feat_space.checks.verify import changed_edits
from feat_space.cli import main
from feat_space.editing.edit import FeatEdit
from feat_space.editing.recipe import REGION_PRESETS
from feat_space.editing.storage import save_edit
from feat_space.session import Session

REPO = "someone/feat-grin"
PROMPT = "a face with a big smile"
ENTRY = """\
name: {name}
title: Grin
description: Curves the mouth.
prompt: {prompt}
region: mouth
recipe:
  mapped: [medium]
  blend: 64
  attention: [16, 32, 64]
defaults:
  mask_threshold: 0.2
checkpoint:
{checkpoint}
"""


@pytest.fixture(scope="module")
def generator():
    return Session("tiny", device="cpu").generator


@pytest.fixture
def registry(tmp_path, monkeypatch):
    folder = tmp_path / "edits"
    folder.mkdir()
    monkeypatch.setenv("FEAT_EDITS_DIR", str(folder))
    monkeypatch.setenv("FEAT_PROFILE", "tiny")
    return folder


@pytest.fixture
def hub(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("FEAT_CACHE", str(tmp_path / "feat"))
    for name in ("HF_HUB_CACHE", "HF_HUB_OFFLINE", "HF_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    with HubServer() as server:
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        yield server


def upload(hub, generator, tmp_path, region="mouth", repo=REPO, prompt=PROMPT) -> str:
    """A visible (untrained, scaled-up) edit of `region`'s recipe on the Hub stand-in; its commit."""
    torch.manual_seed(0)
    edit = FeatEdit(REGION_PRESETS[region].config_for(generator, prompt)).eval()
    with torch.no_grad():
        for mlp in edit.mapper.mlps:
            mlp.layers[-1].weight.mul_(30)
    folder = save_edit(edit, tmp_path / "upload" / region)
    for file in ("config.json", "model.safetensors"):
        commit = hub.add_file(repo, file, (folder / file).read_bytes())
    return commit


def write_entry(folder, name="grin", *, repo=REPO, revision=None, prompt=PROMPT):
    checkpoint = (
        "  status: unpublished" if revision is None else f"  status: published\n  repo: {repo}\n  revision: {revision}"
    )
    path = folder / f"{name}.yaml"
    path.write_text(ENTRY.format(name=name, prompt=prompt, checkpoint=checkpoint))
    return path


def verify(tmp_path, *args):
    out = tmp_path / "report"
    code = main(["edits", "verify", *args, "--out", str(out)])
    return code, json.loads((out / "report.json").read_text()), out


def test_a_good_edit_passes_with_its_contact_sheet_and_numbers(hub, registry, generator, tmp_path, capsys):
    commit = upload(hub, generator, tmp_path)
    write_entry(registry, revision=commit)
    code, report, out = verify(tmp_path, "grin")
    assert code == 0, capsys.readouterr().err
    (edit,) = report["edits"]
    assert edit["status"] == "passed" and edit["problem"] is None
    weights = hub.repos[REPO].files["model.safetensors"]
    assert edit["sha256"] == hashlib.sha256(weights).hexdigest() and edit["revision"] == commit
    assert edit["passed"][-2:] == ["matches the recipe", "ran on the sample photos"]
    photos = edit["numbers"]["photos"]
    assert [p["photo"] for p in photos] == ["astronaut.png", "grace_hopper.jpg"]
    assert [s["strength"] for s in photos[0]["strengths"]] == [0.5, 1.0, 1.5]
    assert edit["numbers"]["threshold"] == 0.2
    assert (out / "grin.png").stat().st_size > 0
    summary = (out / "report.md").read_text()
    assert "![grin](grin.png)" in summary and "| astronaut.png | 1.5 |" in summary
    assert ("GET", f"/{REPO}/resolve/{commit}/model.safetensors") in hub.requests


def fails_with(tmp_path, capsys, *messages):
    code, report, _ = verify(tmp_path, "grin")
    err = capsys.readouterr().err
    (edit,) = report["edits"]
    assert code == 1 and edit["status"] == "failed" and "failed verification: grin" in err
    for message in messages:
        assert message in edit["problem"] and message in err, (message, edit["problem"])
    return edit


def test_a_sha256_mismatch_fails(hub, registry, generator, tmp_path, capsys):
    commit = upload(hub, generator, tmp_path)
    hub.corrupt(REPO, "model.safetensors")  # other bytes under the commit's recorded sha256
    write_entry(registry, revision=commit)
    edit = fails_with(tmp_path, capsys, "sha256 mismatch", "the Hub's record for that commit")
    assert edit["passed"] == ["YAML valid", f"{REPO}@{commit[:12]} found"]


def test_a_checkpoint_for_another_recipe_fails(hub, registry, generator, tmp_path, capsys):
    write_entry(registry, revision=upload(hub, generator, tmp_path, region="hair"))  # YAML: the mouth recipe
    edit = fails_with(
        tmp_path,
        capsys,
        "the checkpoint is for another recipe",
        "recipe.blend (blend layer): the checkpoint has 6 (32²), the YAML's recipe gives 8 (64²)",
        "recipe.attention (attention layers): the checkpoint has [4 (16²), 6 (32²)]",
    )
    assert "loaded (safetensors, no code)" in edit["passed"] and edit["numbers"] is None


def test_a_checkpoint_for_another_prompt_fails(hub, registry, generator, tmp_path, capsys):
    write_entry(registry, revision=upload(hub, generator, tmp_path, prompt="a frowning face"))
    fails_with(tmp_path, capsys, "prompt: the checkpoint was trained for 'a frowning face'")


def test_a_missing_revision_fails(hub, registry, generator, tmp_path, capsys):
    upload(hub, generator, tmp_path)
    write_entry(registry, revision="0123456789abcdef0123456789abcdef01234567")
    fails_with(tmp_path, capsys, f"{REPO} has no commit 0123456789abcdef0123456789abcdef01234567")


def test_a_yaml_naming_an_unpinned_revision_fails_before_any_download(hub, registry, generator, tmp_path, capsys):
    upload(hub, generator, tmp_path)
    write_entry(registry, revision="main")
    edit = fails_with(tmp_path, capsys, "checkpoint.revision", "'main' is not a commit hash")
    assert edit["passed"] == [] and not any(path.endswith(".safetensors") for _, path in hub.requests)


def test_an_unpublished_entry_passes_on_its_yaml(registry, tmp_path):
    write_entry(registry)
    code, report, _ = verify(tmp_path, "grin")
    assert code == 0 and report["edits"][0]["status"] == "unpublished"


def test_an_unknown_name_and_a_missing_choice_are_refused(registry, tmp_path, capsys):
    assert main(["edits", "verify", "nope"]) == 1
    assert "No edit named 'nope'" in capsys.readouterr().err
    assert main(["edits", "verify"]) == 1
    assert "--changed BASE" in capsys.readouterr().err


def git(folder, *args):
    subprocess.run(["git", "-C", str(folder), *args], check=True, capture_output=True)


def test_changed_finds_added_modified_and_removed_yamls(registry, tmp_path):
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "config", "user.email", "t@example.com")
    git(tmp_path, "config", "user.name", "t")
    for name in ("kept", "edited", "gone"):
        write_entry(registry, name)
    (registry / "notes.txt").write_text("not an edit")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "base")
    git(tmp_path, "checkout", "-qb", "pr")
    write_entry(registry, "edited", prompt="a face with a wide smile")
    (registry / "gone.yaml").unlink()
    write_entry(registry, "added")  # not even committed: the working tree counts
    (registry / "notes.txt").write_text("changed, not an edit")
    git(tmp_path, "add", "edits/edited.yaml", "edits/gone.yaml")
    git(tmp_path, "commit", "-qm", "pr")
    changed, removed = changed_edits("main")
    assert changed == [registry / "added.yaml", registry / "edited.yaml"] and removed == ["gone"]

    code, report, _ = verify(tmp_path, "--changed", "main")
    assert code == 0
    assert {(e["name"], e["status"]) for e in report["edits"]} == {
        ("added", "unpublished"),
        ("edited", "unpublished"),
        ("gone", "removed"),
    }


def test_an_unexpected_error_fails_that_edit_and_the_others_go_on(hub, registry, generator, tmp_path, monkeypatch):
    write_entry(registry, revision=upload(hub, generator, tmp_path))
    write_entry(registry, "later")

    def broken(*args, **kwargs):
        raise RuntimeError("CUDA error: device-side assert")

    monkeypatch.setattr("feat_space.checks.verify.measure_edit", broken)
    code, report, _ = verify(tmp_path, "grin", "later")
    assert code == 1
    grin, later = report["edits"]
    assert grin["problem"].startswith("unexpected RuntimeError: CUDA error: device-side assert")
    assert later["status"] == "unpublished"


def test_other_photos_can_be_named(hub, registry, generator, tmp_path):
    write_entry(registry, revision=upload(hub, generator, tmp_path))
    photo = str(Path(__file__).parent / "data" / "grace_hopper.jpg")
    code, report, _ = verify(tmp_path, "--photo", photo, "grin")  # names after the option: not taken as photos
    assert code == 0
    assert [p["photo"] for p in report["edits"][0]["numbers"]["photos"]] == ["grace_hopper.jpg"]
