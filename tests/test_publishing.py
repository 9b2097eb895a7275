"""Publishing a trained edit to a (local) Hub, pinning it in the registry, and loading it back."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from hub_server import HubServer

from feat_space.cli import main
from feat_space.editing.edit import FeatEdit
from feat_space.editing.recipe import REGION_PRESETS
from feat_space.editing.storage import load_edit, save_edit
from feat_space.registry.publishing import PublishError, pin_in_registry, publish_edit
from feat_space.registry.registry import edits_dir, load_registry

TOKEN = "hf_write_secret"


@pytest.fixture
def hub(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    for name in ("HF_HUB_CACHE", "HF_HUB_OFFLINE", "HF_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    with HubServer(write_token=TOKEN) as server:
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        yield server


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_session):
    """A (randomly initialised) edit folder as `train` leaves it."""
    G = tiny_session.generator
    torch.manual_seed(0)
    edit = FeatEdit(REGION_PRESETS["mouth"].config_for(G, "a face with a big smile"))
    folder = save_edit(edit, tmp_path_factory.mktemp("trained") / "smile")
    history = [{"step": 1, "clip": 0.9, "l2": 0.01, "id": 0.0, "area": 0.4, "tv": 12.0, "total": 0.91}]
    (folder / "training.json").write_text(
        json.dumps({"prompt": edit.config.prompt, "settings": {"steps": 1}, "history": history})
    )
    return folder, edit


def test_publish_pins_the_registry_and_loads_back(hub, trained, tmp_path):
    folder, edit = trained
    published = publish_edit(folder, "someone/feat-smile", TOKEN, name="smile")
    assert len(published.revision) == 40 and published.repo_id == "someone/feat-smile"
    repo = hub.repos["someone/feat-smile"]
    assert set(repo.files) == {"config.json", "model.safetensors", "training.json", "README.md"}
    card = repo.files["README.md"].decode()
    assert "a face with a big smile" in card and "| clip | 0.9 |" in card and "library_name: feat-space" in card

    yaml_path = shutil.copy(edits_dir() / "smile.yaml", tmp_path / "smile.yaml")
    pin_in_registry(yaml_path, published)
    entry = load_registry([yaml_path])["smile"]
    assert entry.published and entry.checkpoint.revision == published.revision
    assert entry.prompt == "a face with a big smile"  # the rest of the entry is kept

    loaded = load_edit(entry.checkpoint.repo, entry.checkpoint.revision)
    for (name, a), b in zip(edit.state_dict().items(), loaded.state_dict().values(), strict=True):
        assert torch.equal(a, b), name


def test_publish_needs_a_valid_token(hub, trained):
    folder, _ = trained
    with pytest.raises(PublishError, match="token"):
        publish_edit(folder, "someone/feat-smile", None)
    with pytest.raises(PublishError, match=r"HTTP 401.*token"):
        publish_edit(folder, "someone/feat-smile", "hf_wrong")
    assert hub.commits == []


def test_publish_names_a_malformed_repo_id(hub, trained):
    with pytest.raises(PublishError, match="owner/name"):
        publish_edit(trained[0], "not a repo", TOKEN)


def test_publish_refuses_an_untrained_folder(hub, tmp_path):
    with pytest.raises(PublishError, match="train it first"):
        publish_edit(tmp_path, "someone/x", TOKEN)


def test_publish_refuses_an_edit_whose_mask_failed(hub, trained, tmp_path):
    folder = shutil.copytree(trained[0], tmp_path / "collapsed")
    log = json.loads((folder / "training.json").read_text())
    log["mask"] = {"status": "collapsing", "mask_mean": 0.004, "area_scale": 0.01}
    (folder / "training.json").write_text(json.dumps(log))
    with pytest.raises(PublishError, match=r"failed mask.*closing"):
        publish_edit(folder, "someone/feat-smile", TOKEN)
    assert "someone/feat-smile" not in hub.repos


def test_publish_command_writes_a_new_registry_entry(hub, trained, tmp_path, capsys):
    folder, _ = trained
    draft = (edits_dir() / "smile.yaml").read_text().replace("name: smile", "name: grin")
    (folder / "edit.yaml").write_text(draft)
    target = tmp_path / "grin.yaml"
    assert main(["publish", str(folder), "--repo", "someone/feat-grin", "--token", TOKEN, "--yaml", str(target)]) == 0
    entry = load_registry([target])["grin"]
    assert entry.checkpoint.repo == "someone/feat-grin"
    assert "Pinned" in capsys.readouterr().out
