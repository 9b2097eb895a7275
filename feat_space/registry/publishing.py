"""Publish a trained edit to the Hugging Face Hub and pin it in the edit registry.

`publish_edit` writes a model card into the edit's folder, uploads the folder (config.json,
model.safetensors, training.json, README.md) with the user's own token, and returns the commit hash;
`pin_in_registry` writes or updates `edits/<name>.yaml` to point at exactly that commit.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import yaml
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError

from ..editing.edit import EditConfig
from ..editing.storage import CONFIG_NAME, TRAINING_LOG, WEIGHTS_NAME
from ..errors import FeatError
from ..training.monitor import failure_in_log
from ..weights.settings import hub_settings
from .drafts import write_entry
from .schema import REPO_ID_PATTERN

CARD_NAME = "README.md"


class PublishError(FeatError):
    """The upload could not be done (no token, no permission, network)."""


@dataclass
class Published:
    repo_id: str
    revision: str  # the commit the upload created
    url: str


def model_card(config: EditConfig, training_log: dict | None, name: str) -> str:
    """The README.md of an edit's repo: what it does, how it was trained, how to use it."""
    front = {"library_name": "feat-space", "tags": ["feat", "stylegan2", "face-editing", "clip"], "license": "mit"}
    lines = [
        "---",
        yaml.safe_dump(front, sort_keys=False).strip(),
        "---",
        f"# FEAT edit: {name}",
        "",
        f'Prompt: **"{config.prompt}"**. A local face edit after *FEAT: Face Editing with Attention* '
        "(Hou et al., 2022): a latent mapper says what changes, an attention mask says where, and the "
        "generator's features are blended so the rest of the photo stays as it is.",
        "",
        "## Setup",
        "",
        f"- generator: StyleGAN2 FFHQ {config.generator_size}² ({config.n_latent} W+ entries)",
        f"- mapped W+ entries: [{config.mapped_layers[0]}, {config.mapped_layers[1]})",
        f"- blend layer: {config.blend_layer}; attention reads layers {list(config.attention_layers)}",
        f"- mask resolution: {config.mask_resolution}²; default strength α = {config.strength}",
    ]
    if training_log:
        settings = training_log.get("settings", {})
        history = training_log.get("history", [])
        lines += ["", "## Training", ""]
        lines += [f"- {k}: {v}" for k, v in settings.items()]
        mask = training_log.get("mask") or {}
        if mask.get("mask_mean") is not None:
            lines += [f"- mask at the end: {mask['mask_mean']:.3f} of the image ({mask['status']})"]
        if history:
            last = history[-1]
            lines += ["", f"Losses at step {last.get('step')}:", ""]
            lines += ["| loss | value |", "| --- | --- |"]
            lines += [f"| {k} | {v:.4g} |" for k, v in last.items() if k != "step"]
    lines += [
        "",
        "## Use",
        "",
        "Add it to feat-space with a YAML file in `edits/` pinned to this repo's commit, or:",
        "",
        "```python",
        "from feat_space.editing import load_edit",
        f'edit = load_edit("<this repo>", revision="<commit>")  # {WEIGHTS_NAME} + {CONFIG_NAME}',
        "```",
        "",
    ]
    return "\n".join(lines)


def publish_edit(
    folder: str | Path, repo_id: str, token: str | None, name: str | None = None, private: bool = False
) -> Published:
    """Upload a trained edit folder to `repo_id` (created if missing) with `token`."""
    folder = Path(folder)
    if not (folder / CONFIG_NAME).is_file() or not (folder / WEIGHTS_NAME).is_file():
        raise PublishError(f"{folder} is not a trained edit (needs {CONFIG_NAME} and {WEIGHTS_NAME}); train it first.")
    if not re.fullmatch(REPO_ID_PATTERN, repo_id or ""):
        raise PublishError(f"'{repo_id}' is not a Hub model repo id: write it as owner/name, e.g. you/feat-smile.")
    if not token:
        raise PublishError("Publishing needs your Hugging Face token (log in, or pass --token / set HF_TOKEN).")
    config = EditConfig.model_validate_json((folder / CONFIG_NAME).read_text())
    log_path = folder / TRAINING_LOG
    log = json.loads(log_path.read_text()) if log_path.is_file() else None
    problem = failure_in_log(log)
    if problem:
        raise PublishError(f"{folder} is not published: its training ended with a failed mask. {problem}")
    (folder / CARD_NAME).write_text(model_card(config, log, name or folder.name))
    api = HfApi(endpoint=hub_settings().endpoint, token=token)
    try:
        api.create_repo(repo_id, repo_type="model", private=private, exist_ok=True)
        commit = api.upload_folder(
            repo_id=repo_id,
            folder_path=folder,
            allow_patterns=[CONFIG_NAME, WEIGHTS_NAME, TRAINING_LOG, CARD_NAME],
            commit_message=f"FEAT edit: {config.prompt}",
        )
    except HfHubHTTPError as e:
        status = e.response.status_code if e.response is not None else None
        hint = "check that your token may write to it" if status in (401, 403) else "try again later"
        raise PublishError(f"Uploading to {repo_id} failed (HTTP {status}): {hint}.") from None
    except OSError as e:
        raise PublishError(f"Uploading to {repo_id} failed: {e}. Check your network.") from None
    return Published(repo_id=repo_id, revision=commit.oid, url=commit.commit_url)


def pin_in_registry(yaml_path: str | Path, published: Published, defaults: dict | None = None) -> Path:
    """Write `checkpoint: {status: published, repo, revision}` into an edit's YAML (created from
    `defaults` if it does not exist yet), validated before it is written."""
    yaml_path = Path(yaml_path)
    data = yaml.safe_load(yaml_path.read_text()) if yaml_path.is_file() else dict(defaults or {})
    data["checkpoint"] = {"status": "published", "repo": published.repo_id, "revision": published.revision}
    return write_entry(yaml_path, data)
