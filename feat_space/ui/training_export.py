"""A visitor's trained edit leaving the app: its YAML (with the threshold now chosen), a zip of its
weights, and publishing to the Hub with the visitor's own token; and the Stop button's handler."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path

import gradio as gr
import yaml

from ..editing.storage import CONFIG_NAME, TRAINING_LOG, WEIGHTS_NAME
from ..errors import FeatError
from ..registry.drafts import DRAFT_NAME, trained_entry, write_draft, write_entry
from ..registry.publishing import Published, pin_in_registry, publish_edit
from ..registry.schema import EditEntry, default_repo
from .context import AppContext
from .errors import errors_as_text, user_errors
from .state import TrainedEdit, Visitor
from .training_remote import cancel_job_of


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
    out.mkdir(parents=True, exist_ok=True)
    yaml_path = write_entry(out / f"{trained.name}.yaml", trained.entry)
    text = yaml_path.read_text(encoding="utf-8")
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


def make_stop_handler(ctx: AppContext) -> Callable[[gr.Request], str]:
    @user_errors
    def stop_training(request: gr.Request) -> str:
        visitor = ctx.visitors.peek(request)
        if visitor is None or not visitor.training:
            return "Nothing is training in this tab."
        visitor.stop.set()
        if cancel_job_of(visitor):
            return "Canceling the job on Hugging Face…"
        return "Stopping after the current step; what was learned so far is kept."

    return stop_training


def make_export_handler(ctx: AppContext) -> Callable[..., tuple]:
    # A problem shows beside the Export button (the last output); the files shown stay as they are.
    @errors_as_text(lambda text: (gr.skip(), gr.skip(), gr.skip(), text))
    def export_yaml(key: str | None, threshold: float | None, request: gr.Request) -> tuple:
        visitor = ctx.visitors.peek(request)
        trained = trained_of(key, visitor)
        assert visitor is not None  # trained_of found its edit
        set_threshold(trained, threshold)
        text, yaml_path, archive = export_files(trained, visitor.root / "exports" / trained.name)
        return (
            gr.Code(value=text, visible=True, label=f"edits/{trained.name}.yaml"),
            gr.DownloadButton(value=str(yaml_path), visible=True),
            gr.DownloadButton(value=str(archive), visible=True),
            "",
        )

    return export_yaml


def make_publish_handler(ctx: AppContext) -> Callable[..., str]:
    @errors_as_text(lambda text: text)  # the answer's own place, below the button
    def publish(
        key: str | None,
        repo: str | None,
        request: gr.Request,
        oauth_token: gr.OAuthToken | None,
        profile: gr.OAuthProfile | None,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 - Gradio's way to ask for progress
    ) -> str:
        # Only the visitor's own OAuth token is ever used: never HF_TOKEN or the Space's secrets.
        if oauth_token is None or profile is None:
            raise FeatError("Sign in with Hugging Face first (the button above): the edit goes to your account.")
        trained = trained_of(key, ctx.visitors.peek(request))
        repo_id = (repo or "").strip() or default_repo(profile.username, trained.name)
        progress(0.1, desc=f"Uploading to {repo_id}")
        published = publish_trained(trained, repo_id, oauth_token.token)
        return (
            f"**Published** to [{published.repo_id}]({published.url}) at commit `{published.revision[:12]}`. "
            f"**Export YAML** now pins this commit: add it as `edits/{trained.name}.yaml` in a pull request."
        )

    return publish
