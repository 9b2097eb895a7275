"""The YAML edit registry: shipped edits are valid; every problem is reported, by file and field."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import torch

import feat_space
from feat_space.editing.recipe import REGION_PRESETS, Recipe
from feat_space.models import Generator
from feat_space.registry.registry import RegistryError, check, edits_dir, load_registry, yaml_files

GOOD = """\
name: {name}
title: Smile
description: Curves the mouth.
prompt: a face with a big smile
region: mouth
recipe:
  mapped: [medium]
  blend: 64
  attention: [16, 32, 64]
checkpoint:
  status: published
  repo: someone/feat-smile
  revision: 0123456789abcdef0123456789abcdef01234567
"""


def write(folder, name, text):
    path = folder / f"{name}.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_shipped_edits_are_valid_and_cover_the_promised_ones():
    entries = load_registry()
    assert {"smile", "blond-hair", "beard", "purple-hair", "red-lipstick", "closed-eyes"} <= set(entries)
    with torch.device("meta"):
        G = Generator(1024)
    for entry in entries.values():
        assert entry.published or entry.checkpoint.status == "unpublished"
        entry.recipe.config_for(G, entry.prompt)  # a valid layer-level setup on the FFHQ generator
    code, report = check()
    # Counted from the folder: adding an edit by pull request must not need a test change.
    assert code == 0 and f"{len(yaml_files([edits_dir()]))} edit(s) OK" in report


def test_the_registry_folder_is_the_checkouts_edits_unless_set(tmp_path, monkeypatch):
    monkeypatch.delenv("FEAT_EDITS_DIR", raising=False)
    root = Path(feat_space.__file__).resolve().parents[1]
    assert edits_dir() == root / "edits"  # a source checkout: the folder pull requests change
    write(tmp_path, "grin", GOOD.format(name="grin"))
    monkeypatch.setenv("FEAT_EDITS_DIR", str(tmp_path))
    assert edits_dir() == tmp_path
    assert set(load_registry()) == {"grin"}
    assert check() == (0, "1 edit(s) OK (1 published, 0 awaiting training)")
    monkeypatch.setenv("FEAT_EDITS_DIR", str(tmp_path / "missing"))
    code, report = check()
    assert code == 1 and str(tmp_path / "missing") in report


def test_a_valid_published_entry(tmp_path):
    entry = load_registry([write(tmp_path, "smile", GOOD.format(name="smile"))])["smile"]
    assert entry.published and entry.checkpoint.revision.startswith("0123")
    assert entry.recipe.blend == 64 and entry.defaults.strength == 1.0


def test_every_problem_is_listed_with_file_and_field(tmp_path):
    bad = write(
        tmp_path,
        "bad",
        """\
        name: Bad Name
        title: Smile
        promt: typo for prompt
        region: mouth
        description: x
        recipe:
          mapped: [fine, coarse]
          blend: 48
          attention: [16]
        defaults:
          strength: high
        checkpoint:
          status: published
          repo: not a repo
          revision: main
        """,
    )
    with pytest.raises(RegistryError) as info:
        load_registry([bad])
    problems = "\n".join(info.value.problems)
    for expected in [
        "name: String should match pattern",
        "prompt: Field required",
        "promt: unknown field (misspelt?)",
        "recipe.mapped: Value error, must list distinct, neighbouring groups",
        "recipe.blend",
        "defaults.strength: Input should be a valid number",
        "checkpoint.repo: String should match pattern",
        "checkpoint.revision: Value error, 'main' is not a commit hash: pin the full 40-character commit",
        "name: 'Bad Name' must equal the file name",
    ]:
        assert expected in problems, expected
    assert all(p.startswith(str(bad)) for p in info.value.problems)


def test_duplicates_unreadable_and_unsafe_yaml(tmp_path):
    a = tmp_path / "a"
    b = tmp_path / "b"
    a.mkdir()
    b.mkdir()
    write(a, "smile", GOOD.format(name="smile"))
    write(b, "smile", GOOD.format(name="smile"))
    write(b, "broken", "name: [unclosed\n")
    marker = tmp_path / "pwned"
    write(b, "evil", f"!!python/object/apply:os.system ['touch {marker}']\n")
    code, report = check([a, b])
    assert code == 1
    assert "is already used by" in report
    assert "broken.yaml: not valid YAML (line" in report
    assert "evil.yaml: not valid YAML" in report
    assert not marker.exists()  # safe_load never constructs Python objects


def test_check_reports_missing_files(tmp_path):
    assert check([tmp_path])[0] == 1
    code, report = check([tmp_path / "nope.yaml"])
    assert code == 1 and "file not found" in report


def test_unpublished_needs_no_repo_but_refuses_one(tmp_path):
    text = GOOD.format(name="smile").split("checkpoint:")[0] + "checkpoint:\n  status: unpublished\n  repo: a/b\n"
    with pytest.raises(RegistryError, match=r"checkpoint\.repo: unknown field"):
        load_registry([write(tmp_path, "smile", text)])


def test_recipes_map_to_layers_of_any_generator():
    with torch.device("meta"):
        big = Generator(1024)
    small = Generator(64, channel_multiplier=1)
    smile = Recipe(mapped=("medium",), blend=64, attention=(16, 32, 64))
    config = smile.config_for(big, "smile")
    assert (config.mapped_layers, config.blend_layer, config.attention_layers) == ((4, 8), 8, (4, 6, 8))
    assert config.attention_in_channels == (512, 512, 512)
    hair = Recipe(mapped=("fine",), blend="rgb", attention=(64, 16), mask_resolution=128)
    config = hair.config_for(small, "hair")
    assert (config.mapped_layers, config.blend_layer, config.attention_layers) == ((8, 10), "rgb", (4, 8))
    assert config.mask_resolution == 64  # clipped to the generator
    for recipe in REGION_PRESETS.values():
        recipe.config_for(big, "x")
        recipe.config_for(small, "x")


def test_entries_for_new_prompts_are_valid_drafts():
    from feat_space.errors import FeatError
    from feat_space.registry.drafts import entry_from_prompt, slug

    entry = entry_from_prompt("  A face with Freckles! ", "skin", steps=300)
    assert (entry.name, entry.title, entry.prompt) == (
        "a-face-with-freckles",
        "A face with Freckles!",
        "A face with Freckles!",
    )
    assert entry.recipe == REGION_PRESETS["skin"] and entry.training.steps == 300 and not entry.published
    assert entry_from_prompt("x", "mouth", name="My Grin").name == "my-grin"
    assert slug("***") == "edit"
    with pytest.raises(FeatError, match="Unknown region"):
        entry_from_prompt("x", "elbows")
