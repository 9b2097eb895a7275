"""Signed-in visitors' trained edits, kept across restarts where the Space has persistent storage.

Where: ``FEAT_DATA_DIR`` when set (set it empty to keep nothing), else ``/data`` when it is a writable
folder (a Hugging Face Space's persistent storage is mounted there). Without storage, or for a visitor
who is not signed in, trained edits last for the browser tab's session (the UI says which applies).

Whose: a signed-in visitor's ("Sign in with Hugging Face"), under their account. An account's folder is
named by an HMAC-SHA256 of the account's Hugging Face user id (OAuth ``sub``; the username only if a
profile has no id) under a secret made once per storage (``<root>/feat-space/secret``, readable only by
the app; or ``FEAT_STORAGE_SECRET``): nobody can derive the folder from a username, try ids, or read
usernames off the folder names. The key is only ever computed from the OAuth profile Gradio verified,
never from anything a request can choose.

Layout: ``<root>/feat-space/edits/<account key>/<edit folder>/``, each edit folder as the Train tab
wrote it (``config.json``, ``model.safetensors``, the draft ``edit.yaml``, ``training.json``). Edits
are kept until their owner deletes them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..editing.storage import TRAINING_LOG
from ..errors import FeatError
from ..registry.drafts import read_draft
from ..registry.schema import EditEntry

DATA_DIR_ENV = "FEAT_DATA_DIR"
SECRET_ENV = "FEAT_STORAGE_SECRET"
SPACE_STORAGE = Path("/data")  # where a Space's persistent storage is mounted
APP_FOLDER = "feat-space"


@dataclass(frozen=True)
class Account:
    """A signed-in visitor: the storage key of their account, and their username (for messages only)."""

    key: str
    username: str


@dataclass(frozen=True)
class StoredEdit:
    """A trained edit in storage: its folder, registry entry draft and how many steps it was trained."""

    folder: Path
    entry: EditEntry
    steps_done: int


def storage_root() -> Path | None:
    """The persistent folder: ``FEAT_DATA_DIR`` (empty: none), else ``/data`` if writable, else None."""
    configured = os.environ.get(DATA_DIR_ENV)
    if configured is not None:
        return Path(configured) if configured.strip() else None
    if SPACE_STORAGE.is_dir() and os.access(SPACE_STORAGE, os.W_OK):
        return SPACE_STORAGE
    return None


class EditStorage:
    """Trained edits kept per account under ``root`` (see the module doc)."""

    def __init__(self, root: Path, secret: bytes | None = None) -> None:
        self.root = Path(root) / APP_FOLDER
        self.edits = self.root / "edits"
        try:
            self.edits.mkdir(parents=True, exist_ok=True)
        except OSError as err:  # an operator's setting: stop at start with what to fix
            raise FeatError(
                f"The storage folder {root} cannot be written ({err.strerror}): fix {DATA_DIR_ENV}, or set it "
                "empty to keep trained edits for the session only."
            ) from err
        self._secret = secret or _secret_from_environment() or self._stored_secret()

    @classmethod
    def from_environment(cls) -> EditStorage | None:
        root = storage_root()
        return cls(root) if root is not None else None

    def _stored_secret(self) -> bytes:
        path = self.root / "secret"
        if not path.exists():
            try:  # O_EXCL: two processes starting at once agree on one secret
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass
            else:
                with os.fdopen(fd, "w") as f:
                    f.write(secrets.token_hex(32))
        secret = path.read_text().strip()
        if len(secret) < 32:  # an operator's problem, not a visitor's: it stops the app at start
            raise FeatError(f"Storage secret {path} is damaged (too short): restore it, or delete it to start over.")
        return secret.encode()

    def account(self, profile: Mapping[str, object]) -> Account:
        """The account of a verified OAuth profile (`gr.OAuthProfile`)."""
        identity = profile.get("sub") or profile.get("preferred_username")
        username = str(profile.get("preferred_username") or profile.get("name") or "you")
        if not identity:
            raise FeatError("Your Hugging Face sign-in did not say who you are: sign out and in again.")
        digest = hmac.new(self._secret, f"hf:{identity}".encode(), hashlib.sha256).hexdigest()
        return Account(key=digest[:40], username=username)

    def folder(self, account: Account) -> Path:
        return self.edits / account.key

    def keep(self, account: Account, folder: Path) -> Path:
        """Move a trained edit's folder into the account's storage; return where it is now."""
        home = self.folder(account)
        if Path(folder).parent == home:
            return Path(folder)  # already kept
        home.mkdir(parents=True, exist_ok=True)
        target = home / Path(folder).name
        staging = home / f".incoming-{target.name}"  # a half-copied edit is never listed
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(folder, staging)
        staging.rename(target)
        shutil.rmtree(folder, ignore_errors=True)
        return target

    def saved(self, account: Account) -> list[StoredEdit]:
        """The account's kept edits, oldest first; folders that are not a readable edit are left out."""
        home = self.folder(account)
        if not home.is_dir():
            return []
        found = []
        for folder in sorted(home.iterdir(), key=lambda p: p.stat().st_mtime):
            if folder.name.startswith(".") or not (folder / "config.json").is_file():
                continue
            draft = read_draft(folder)
            if draft is None:
                continue
            try:
                entry = EditEntry.model_validate(draft)
            except ValueError:
                continue  # written by an incompatible version: not offered, not deleted either
            found.append(StoredEdit(folder, entry, _steps_done(folder)))
        return found

    def delete(self, account: Account, folder_name: str) -> None:
        """Delete one of the account's kept edits, by its folder's name."""
        home = self.folder(account)
        target = home / folder_name
        if Path(folder_name).name != folder_name or folder_name.startswith(".") or not target.is_dir():
            raise FeatError("That edit is not among your saved edits (it may be deleted already). Reload the page.")
        shutil.rmtree(target)


def _secret_from_environment() -> bytes | None:
    value = os.environ.get(SECRET_ENV, "").strip()
    return value.encode() if value else None


def _steps_done(folder: Path) -> int:
    try:
        history = json.loads((folder / TRAINING_LOG).read_text()).get("history") or []
        return int(history[-1]["step"]) if history else 0
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return 0
