"""What training here and training on Jobs share in the Train tab: a visitor's turn to train (one
training per tab), where a trained edit's folder goes and how it joins the visitor's edits, and the
shape of the updates a training handler streams.

Every update is (feedback, *loss panels, preview, mask, edit choices, gallery, trained-edit list);
`gr.skip()` leaves a component as it is.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import gradio as gr

from ..errors import FeatError
from .context import AppContext
from .state import TrainedEdit, Visitor
from .training_view import LOSS_PANELS

SKIP_PLOTS = len(LOSS_PANELS)


def status_only(text: str) -> tuple:
    """An update that changes the feedback text and nothing else."""
    return (text, *[gr.skip()] * (SKIP_PLOTS + 5))


def finish_update(ctx: AppContext, visitor: Visitor, key: str) -> tuple:
    """The edit choices, gallery and trained-edit list once `key` joined this visitor's edits."""
    mine = gr.Dropdown(choices=[(t.entry.title, t.key) for t in visitor.edits()], value=key)
    return gr.CheckboxGroup(choices=ctx.catalogue.choices(visitor)), ctx.catalogue.gallery_html(visitor), mine


def begin(visitor: Visitor) -> None:
    """Mark `visitor` as training (one training per tab); `end` when the training ends, however it ends."""
    with visitor.lock:
        if visitor.training:
            raise FeatError("An edit is already training in this tab. Stop it, or wait for it to finish.")
        if visitor.closed:
            raise FeatError("This tab's session has ended: reload the page to train an edit.")
        visitor.training = True
        visitor.stop.clear()  # under the lock: a `close` after this point still stops the training


def end(visitor: Visitor) -> None:
    with visitor.lock:
        visitor.training = False
        closed = visitor.closed
    if closed:  # the tab closed (or was dropped) while training: its files were left for us to delete
        shutil.rmtree(visitor.root, ignore_errors=True)


def new_edit_folder(visitor: Visitor, name: str) -> Path:
    """A fresh folder for a run: retraining an edit keeps the old one, files and all, until the new one is added."""
    return visitor.root / "edits" / f"{name}-{uuid.uuid4().hex[:8]}"


def add_trained(visitor: Visitor, trained: TrainedEdit) -> None:
    """List `trained` in the visitor's edits; an edit it replaces (same name) has its files deleted only now."""
    old = visitor.add(trained)
    if old is not None:
        shutil.rmtree(old.folder, ignore_errors=True)


__all__ = ["SKIP_PLOTS", "add_trained", "begin", "end", "finish_update", "new_edit_folder", "status_only"]
