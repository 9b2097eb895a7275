"""Registry entries of edits being trained (CLI or app), before they are published: built from a
prompt, and kept as a draft `edit.yaml` beside the edit's weights."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import yaml

from ..editing.recipe import PRESETS, REGION_PRESETS, Recipe
from ..errors import FeatError
from ..training.settings import TrainingSettings
from .registry import dump_entry
from .schema import EditEntry, Unpublished

DRAFT_NAME = "edit.yaml"  # the registry entry of a trained edit, written beside its weights


def slug(text: str) -> str:
    """A registry name from free text: lowercase, [a-z0-9-], at most 40 characters."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40].strip("-") or "edit"


def entry_from_prompt(
    prompt: str, region: str, *, name: str | None = None, steps: int | None = None, where: str = "feat-space"
) -> EditEntry:
    """An unpublished entry for `prompt` with the `region` preset's recipe and default training."""
    prompt = prompt.strip()
    if region not in REGION_PRESETS:
        raise FeatError(f"Unknown region {region!r}; choose a preset: {', '.join(PRESETS)}.")
    training = TrainingSettings() if steps is None else TrainingSettings(steps=steps)
    return EditEntry(
        name=slug(name or prompt),
        title=(name or "").strip() or prompt[:1].upper() + prompt[1:40],
        description=f"Trained in {where} from the prompt “{prompt}”.",
        prompt=prompt,
        region=region,
        recipe=REGION_PRESETS[region],
        training=training,
        checkpoint=Unpublished(status="unpublished"),
    )


def entry_yaml(entry: EditEntry) -> str:
    """The entry as its registry file, ready for a pull request as edits/<name>.yaml."""
    head = [
        f"# {entry.title}: a FEAT edit (see README, “Adding an edit”).",
        f"# Save as edits/{entry.name}.yaml in a fork of feat-space and open a pull request.",
    ]
    if not entry.published:
        head.append(
            "# Not published yet: publish the weights (Train tab or `python -m feat_space publish`) to pin them."
        )
    return "\n".join(head) + "\n" + dump_entry(entry_data(entry))


def entry_data(entry: EditEntry) -> dict:
    """The entry as plain data holding only what differs from the defaults, plus what a reader must
    see whatever its value: the steps trained and the mask threshold the edit was previewed with."""
    data = entry.model_dump(mode="json")
    for block in ("recipe", "defaults", "training"):
        data[block] = getattr(entry, block).model_dump(mode="json", exclude_defaults=True)
    data["recipe"] = {**{k: data["recipe"][k] for k in ("mapped", "blend", "attention")}, **data["recipe"]}
    data["defaults"]["mask_threshold"] = entry.defaults.mask_threshold
    data["training"] = {"steps": entry.training.steps, **data["training"]}
    if not data["defaults"]:
        del data["defaults"]
    return data


def with_settings(entry: EditEntry, *, steps: int | None = None, mask_threshold: float | None = None) -> EditEntry:
    """`entry` with these training steps and default mask threshold, validated like a YAML's (pydantic's
    `model_copy` would take any value: a threshold of 5 must fail here, not in a job already billing)."""
    data = entry.model_dump()
    if steps is not None:
        data["training"]["steps"] = steps
    if mask_threshold is not None:
        data["defaults"]["mask_threshold"] = mask_threshold
    return EditEntry.model_validate(data)


def retrain_entry(
    base: EditEntry, *, recipe: Recipe, region: str, steps: int, mask_threshold: float, name: str | None = None
) -> EditEntry:
    """A registry edit to train again: `base` with this recipe and region, steps and mask threshold,
    unpublished, and renamed when `name` is given; validated like a YAML's values."""
    renamed = {"name": slug(name)} if name and name.strip() else {}
    unpublished = Unpublished(status="unpublished")
    entry = base.model_copy(update={"recipe": recipe, "region": region, "checkpoint": unpublished, **renamed})
    return with_settings(entry, steps=steps, mask_threshold=mask_threshold)


def trained_entry(entry: EditEntry, steps_done: int, mask_threshold: float | None = None) -> EditEntry:
    """`entry` as trained: the steps it actually had and, when given, the threshold it was previewed with."""
    return with_settings(entry, steps=max(1, steps_done), mask_threshold=mask_threshold)


def write_entry(path: str | Path, entry: EditEntry | Mapping[str, object]) -> Path:
    """The one writer of an edit's YAML: a draft beside trained weights, an export, a registry file.

    An `EditEntry` is written as `entry_yaml` (its pull-request form); plain data (a registry file's,
    updated in place: its keys kept as they are) is validated first, so an invalid entry is never written.
    """
    path = Path(path)
    if isinstance(entry, EditEntry):
        text = entry_yaml(entry)
    else:
        EditEntry.model_validate(entry)
        text = dump_entry(entry)
    path.write_text(text, encoding="utf-8")
    return path


def write_draft(folder: str | Path, entry: EditEntry) -> Path:
    """The draft `edit.yaml` beside a trained edit's weights."""
    return write_entry(Path(folder) / DRAFT_NAME, entry)


def read_draft(folder: str | Path) -> dict | None:
    """The draft entry beside a trained edit's weights, as plain data; None if there is none."""
    path = Path(folder) / DRAFT_NAME
    return yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else None
