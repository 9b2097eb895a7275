"""The "Your saved edits" panel: where a visitor's trained edits are kept, and for how long.

With persistent storage (`hosting.storage`) and a signed-in visitor, every edit they train is moved into
storage under their account as it finishes (`Visitor.keep`), and when a page opens their saved edits
are listed here and in the Edit tab's edits, ready to use; they can delete them here. Otherwise the
panel says that trained edits last for this browser tab's session (and how to keep one: export it).
What is saved, whose it is and what the panel says of it is `hosting.saved_edits`; this module is the
panel and its link to the visitor's session.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import gradio as gr

from ..hosting import saved_edits as saved_in_storage
from ..hosting.saved_edits import SESSION_ONLY, SIGN_IN, status_text
from ..hosting.storage import Account
from ..hosting.visitor_files import RETENTION
from .catalogue import user_value
from .context import AppContext
from .errors import user_errors
from .state import TrainedEdit, Visitor

# What the panel's handlers return: status, saved-edits dropdown, the Edit tab's edits and gallery.
PanelUpdate = tuple[str, gr.Dropdown, gr.CheckboxGroup, str]


@dataclass
class SavedEditsPanel:
    accordion: gr.Accordion
    status: gr.Markdown
    saved: gr.Dropdown
    delete: gr.Button


def retention_note() -> str:
    hours = RETENTION.max_age_s / 3600
    return (
        f"Your photos and results are deleted within {hours:g} h of being made, when you close the tab, and "
        "whenever the app stops; they are never shared with other visitors."
    )


def build_saved_edits(ctx: AppContext) -> SavedEditsPanel:
    with gr.Accordion("Your saved edits", open=False) as accordion:
        status = gr.Markdown(status_text(ctx.catalogue.storage, None, []), elem_id="saved-edits-status")
        with gr.Row():
            saved = gr.Dropdown(choices=[], label="Saved edits", interactive=True, scale=4)
            delete = gr.Button("Delete", variant="stop", scale=1, interactive=True)
        gr.Markdown(retention_note())
    return SavedEditsPanel(accordion, status, saved, delete)


def account_of(ctx: AppContext, profile: Mapping[str, object] | None) -> Account | None:
    """The signed-in visitor's account where the Space has storage; None without either."""
    return saved_in_storage.account_of(ctx.catalogue.storage, profile)


def sign_in(ctx: AppContext, visitor: Visitor, profile: Mapping[str, object] | None) -> Account | None:
    """Attach the signed-in visitor's storage to their session and restore their saved edits into it.

    Restoring deletes nothing: of two saved edits of one name (an older version's leftovers) the newer
    is listed; storage keeps one per name as edits are kept (`EditStorage.keep`), so two tabs opening at
    once never delete under each other."""
    storage = ctx.catalogue.storage
    account = account_of(ctx, profile)
    if storage is None or account is None:
        return None

    def keep(trained: TrainedEdit) -> None:
        trained.folder = storage.keep(account, trained.folder, trained.entry)

    visitor.keep = keep
    visitor.storage_problem = None
    for stored in storage.saved(account):  # oldest first: a newer edit of the same name replaces it
        visitor.add(TrainedEdit(user_value(stored.entry.name), stored.entry, stored.folder, stored.steps_done))
    return account


def kept_edits(ctx: AppContext, visitor: Visitor) -> list[TrainedEdit]:
    """The visitor's trained edits that are saved in storage."""
    return [t for t in visitor.edits() if saved_in_storage.is_saved(ctx.catalogue.storage, t.folder)]


def delete_saved(ctx: AppContext, visitor: Visitor, account: Account | None, folder_name: str | None) -> None:
    """Delete a saved edit from storage and from this session's edits."""
    saved_in_storage.delete_saved(ctx.catalogue.storage, account, folder_name)
    with visitor.lock:  # gone from this session's edits too
        for key, trained in list(visitor.trained.items()):
            if trained.folder.name == folder_name:
                del visitor.trained[key]


def wire_saved_edits(
    ctx: AppContext,
    demo: gr.Blocks,
    panel: SavedEditsPanel,
    edit_choices: gr.CheckboxGroup,
    gallery: gr.HTML,
    trainings: Sequence[Any] = (),
) -> None:
    """`trainings`: the Train tab's events; the panel lists an edit as soon as its training has kept it."""

    def refreshed(visitor: Visitor, account: Account | None) -> PanelUpdate:
        mine = kept_edits(ctx, visitor)
        choices = [(f"{t.entry.title} · {t.entry.region} ({t.steps_done} steps)", t.folder.name) for t in mine]
        return (
            status_text(ctx.catalogue.storage, account, mine, visitor.storage_problem),
            gr.Dropdown(choices=choices, value=None),
            gr.CheckboxGroup(choices=ctx.catalogue.choices(visitor)),
            ctx.catalogue.gallery_html(visitor),
        )

    @user_errors
    def on_open(request: gr.Request, profile: gr.OAuthProfile | None) -> PanelUpdate:
        visitor = ctx.visitors.get(request)
        return refreshed(visitor, sign_in(ctx, visitor, profile))

    @user_errors
    def on_delete(folder_name: str | None, request: gr.Request, profile: gr.OAuthProfile | None) -> PanelUpdate:
        visitor = ctx.visitors.get(request)
        account = account_of(ctx, profile)
        delete_saved(ctx, visitor, account, folder_name)
        return refreshed(visitor, account)

    @user_errors
    def on_expand(request: gr.Request, profile: gr.OAuthProfile | None) -> PanelUpdate:  # lists edits trained since
        return refreshed(ctx.visitors.get(request), account_of(ctx, profile))

    def after_training(request: gr.Request, profile: gr.OAuthProfile | None) -> tuple[str, gr.Dropdown]:
        status, saved, _choices, _gallery = refreshed(ctx.visitors.get(request), account_of(ctx, profile))
        return status, saved  # the edit list and gallery come with the training's own last update

    outputs = [panel.status, panel.saved, edit_choices, gallery]
    demo.load(on_open, None, outputs, api_name="saved_edits", api_visibility="undocumented", queue=False)
    panel.accordion.expand(on_expand, None, outputs, api_visibility="private", queue=False)
    panel.delete.click(
        on_delete, [panel.saved], outputs, api_name="delete_saved_edit", api_visibility="undocumented", queue=False
    )
    for training in trainings:
        training.then(after_training, None, [panel.status, panel.saved], api_visibility="private", queue=False)


__all__ = [
    "SESSION_ONLY",
    "SIGN_IN",
    "SavedEditsPanel",
    "account_of",
    "build_saved_edits",
    "delete_saved",
    "kept_edits",
    "sign_in",
    "status_text",
    "wire_saved_edits",
]
