"""Saving and loading an edit: `config.json` + `model.safetensors`, in a folder or a Hub repo.

Weights are safetensors (no code can hide in them); the config is validated by `EditConfig`, and
the weights must match it exactly.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from pydantic import ValidationError
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from ..errors import CheckpointError
from ..models.loading import load_state_strict
from .edit import EditConfig, FeatEdit

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
_ATTENTION_MIX = "attention.mix.weight"
TRAINING_LOG = "training.json"  # written by training beside the two above: settings and loss history


def save_edit(edit: FeatEdit, directory: str | os.PathLike) -> Path:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / CONFIG_NAME).write_text(edit.config.model_dump_json(indent=2) + "\n")
    state = {k: v.detach().contiguous().cpu() for k, v in edit.state_dict().items()}
    save_file(state, str(directory / WEIGHTS_NAME), metadata={"format": "pt", "prompt": edit.config.prompt})
    return directory


def load_edit_files(config_path: str | os.PathLike, weights_path: str | os.PathLike) -> FeatEdit:
    try:
        config = EditConfig.model_validate(json.loads(Path(config_path).read_text()))
    except (OSError, ValueError, ValidationError) as e:
        raise CheckpointError(f"Invalid edit config {config_path}: {e}. Re-export or re-download the edit.") from None
    edit = FeatEdit(config)
    try:
        state = load_file(str(weights_path))
    except (OSError, SafetensorError) as e:
        raise CheckpointError(f"Cannot read edit weights {weights_path}: {e}. Re-download the edit.") from None
    state = _widen_linear_attention(state, edit)
    load_state_strict(edit, state, weights_path, "FEAT edit")
    return edit.eval()


def _widen_linear_attention(state: dict[str, torch.Tensor], edit: FeatEdit) -> dict[str, torch.Tensor]:
    """An edit saved before the attention read |x| beside x (its mix conv read x alone) as today's, with no
    weight on |x|: the same masks. Any other state is returned as it is."""
    weight = state.get(_ATTENTION_MIX)
    if weight is not None and weight.ndim == 4 and weight.shape[:2] == (1, edit.attention.reduced):
        state = {**state, _ATTENTION_MIX: torch.cat([weight, torch.zeros_like(weight)], dim=1)}
    return state


def load_edit_folder(directory: str | os.PathLike) -> FeatEdit:
    """An edit saved by `save_edit` (or downloaded) into `directory`."""
    directory = Path(directory)
    if not directory.is_dir():
        raise CheckpointError(f"Edit folder not found: {directory}.")
    return load_edit_files(directory / CONFIG_NAME, directory / WEIGHTS_NAME)


def load_edit(source: str | os.PathLike, revision: str | None = None, token: str | bool | None = None) -> FeatEdit:
    """An edit from a local folder, or from a Hub repo id at `revision` (a commit hash pins it)."""
    if Path(source).is_dir():
        return load_edit_folder(source)
    from ..weights.download import hub_download  # the Hub path only
    from ..weights.sources import ModelSource

    paths = []
    for filename in (CONFIG_NAME, WEIGHTS_NAME):
        # A commit hash names the content exactly (git hashes it), so no sha256 is needed here.
        file = ModelSource(str(source), str(source), filename, revision or "main", sha256=None, pinned=False)
        paths.append(hub_download(file, token=token))
    return load_edit_files(*paths)
