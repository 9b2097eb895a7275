"""Signed-in visitors' saved edits: whose account, which folders are saved, deleting one, and what
the "Your saved edits" panel says about where trained edits are kept (`ui.saved_edits` is the panel)."""

from __future__ import annotations

from collections.abc import Mapping, Sized
from pathlib import Path

from ..errors import FeatError
from .spaces import oauth_enabled
from .storage import Account, EditStorage

SESSION_ONLY = (
    "Edits you train here last for this browser tab's session: they are deleted when you close it or the "
    "app restarts. To keep one, export it (below) or publish it."
)
SIGN_IN = (
    "Edits you train here last for this browser tab's session. **Sign in with Hugging Face** (Train tab) "
    "to keep them in this Space's storage under your account, across restarts."
)


def status_text(storage: EditStorage | None, account: Account | None, saved: Sized, problem: str | None = None) -> str:
    """Where this visitor's trained edits are kept, in a line (`saved`: their saved edits)."""
    if storage is None:
        return SESSION_ONLY
    if account is None:
        return SIGN_IN if oauth_enabled() else SESSION_ONLY
    if problem is not None:
        return f"Signed in as **{account.username}**, but storage failed: {problem}"
    count = f"{len(saved)} saved edit{'s' if len(saved) != 1 else ''}"
    return (
        f"Signed in as **{account.username}**: edits you train are kept in this Space's storage under your "
        f"account until you delete them ({count})."
    )


def account_of(storage: EditStorage | None, profile: Mapping[str, object] | None) -> Account | None:
    """The signed-in visitor's account where the Space has storage; None without either."""
    return storage.account(profile) if storage is not None and profile is not None else None


def is_saved(storage: EditStorage | None, folder: Path) -> bool:
    """Whether an edit folder is in storage (kept across restarts), not in a visitor's temporary folder."""
    return storage is not None and folder.parent.parent == storage.edits


def delete_saved(storage: EditStorage | None, account: Account | None, folder_name: str | None) -> None:
    """Delete one of `account`'s saved edits, or say why it cannot be."""
    if storage is None or account is None:
        raise FeatError("Sign in with Hugging Face to manage saved edits (this Space keeps them per account).")
    if not folder_name:
        raise FeatError("Choose a saved edit to delete first.")
    storage.delete(account, folder_name)


__all__ = ["SESSION_ONLY", "SIGN_IN", "account_of", "delete_saved", "is_saved", "status_text"]
