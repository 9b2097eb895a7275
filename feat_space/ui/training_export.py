"""A visitor's trained edit leaving the app: its YAML (with the threshold now chosen), a zip of its
weights, and publishing to the Hub with the visitor's own token."""

from __future__ import annotations

import zipfile
from pathlib import Path

import yaml

from ..editing.storage import CONFIG_NAME, TRAINING_LOG, WEIGHTS_NAME
from ..errors import FeatError
from ..registry.drafts import DRAFT_NAME, entry_yaml, trained_entry, write_draft
from ..registry.publishing import Published, pin_in_registry, publish_edit
from ..registry.schema import EditEntry
from .state import TrainedEdit, Visitor


def trained_of(key: str | None, visitor: Visitor | None) -> TrainedEdit:
    trained = visitor.trained.get(key) if visitor and key else None
    if trained is None:
        raise FeatError("Train an edit first (above): exporting and publishing work on the edits you trained here.")
    return trained


def set_threshold(trained: TrainedEdit, threshold: float | None) -> None:
    """Record the mask threshold the visitor previews the edit with (the YAML's `defaults`)."""
    if threshold is not None and threshold != trained.entry.defaults.mask_threshold:
        trained.entry = trained_entry(trained.entry, trained.entry.training.steps, float(threshold))
        write_draft(trained.folder, trained.entry)


def export_files(trained: TrainedEdit, out: Path) -> tuple[str, Path, Path]:
    """(YAML text, YAML file, zip of the edit folder) written under `out`."""
    text = entry_yaml(trained.entry)
    out.mkdir(parents=True, exist_ok=True)
    yaml_path = out / f"{trained.name}.yaml"
    yaml_path.write_text(text)
    archive = out / f"feat-{trained.name}.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        for file in (CONFIG_NAME, WEIGHTS_NAME, TRAINING_LOG, DRAFT_NAME):
            if (trained.folder / file).is_file():
                z.write(trained.folder / file, f"{trained.name}/{file}")
    return text, yaml_path, archive


def publish_trained(trained: TrainedEdit, repo_id: str, token: str) -> Published:
    """Upload a visitor's trained edit with *their* token and pin its draft to the new commit."""
    published = publish_edit(trained.folder, repo_id, token, name=trained.name)
    draft = pin_in_registry(trained.folder / DRAFT_NAME, published)
    trained.entry = EditEntry.model_validate(yaml.safe_load(draft.read_text()))
    return published
