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
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from .. import env
from ..editing.storage import TRAINING_LOG
from ..errors import FeatError
from ..registry.drafts import read_draft
from ..registry.schema import EditEntry

DATA_DIR_ENV = env.DATA_DIR.name
SECRET_ENV = env.STORAGE_SECRET.name
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
    if env.DATA_DIR.is_set():
        configured = env.DATA_DIR.get()
        return Path(configured) if configured else None
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
            _create_secret(path)
        secret = path.read_text().strip()
        if len(secret) < 32:  # an operator's problem, not a visitor's: it stops the app at start
            raise FeatError(f"Storage secret {path} is damaged (too short): restore it, or delete it to start over.")
        return secret.encode()

    def account(self, profile: Mapping[str, object]) -> Account:
        """The account of a verified OAuth profile (`gr.OAuthProfile`)."""
        username = str(profile.get("preferred_username") or profile.get("name") or "you")
        # Distinct prefixes: a username equal to someone's user id must not open their folder.
        if profile.get("sub"):
            identity = f"hf:{profile['sub']}"  # "hf:" as first released: the folders kept so far stay theirs
        elif profile.get("preferred_username"):
            identity = f"hf-username:{profile['preferred_username']}"
        else:
            raise FeatError("Your Hugging Face sign-in did not say who you are: sign out and in again.")
        digest = hmac.new(self._secret, identity.encode(), hashlib.sha256).hexdigest()
        return Account(key=digest[:40], username=username)

    def folder(self, account: Account) -> Path:
        return self.edits / account.key

    def keep(self, account: Account, folder: Path, entry: EditEntry) -> Path:
        """Move a trained edit's folder into the account's storage as `entry`'s edit (an older saved edit of
        its name, trained in another tab, is deleted: one per name); return where it is now.
        Raises FeatError when storage fails (full, not writable), leaving `folder` where it was."""
        home = self.folder(account)
        if Path(folder).parent == home:
            return Path(folder)  # already kept (restored at sign-in): nothing to move, nothing replaced
        target = home / Path(folder).name
        staging = home / f".incoming-{target.name}"  # a half-copied edit is never listed
        try:
            home.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(staging, ignore_errors=True)
            shutil.copytree(folder, staging)
            staging.rename(target)
        except OSError as err:
            shutil.rmtree(staging, ignore_errors=True)
            raise FeatError(
                f"Could not save “{entry.title}” to this Space's storage ({err.strerror or err}): it is kept for this "
                "browser tab's session only; export its YAML or publish it to keep it."
            ) from err
        shutil.rmtree(folder, ignore_errors=True)
        for older in self.saved(account):
            if older.entry.name == entry.name and older.folder != target:
                shutil.rmtree(older.folder, ignore_errors=True)  # another tab may be deleting it too
        return target

    def saved(self, account: Account) -> list[StoredEdit]:
        """The account's kept edits, oldest first; folders that are not a readable edit are left out."""
        home = self.folder(account)
        if not home.is_dir():
            return []
        found = []
        dated = [(mtime, p) for p in home.iterdir() if (mtime := _mtime(p)) is not None]
        for _, folder in sorted(dated):
            if folder.name.startswith(".") or not (folder / "config.json").is_file():
                continue  # deleted meanwhile (by another tab), staging, or not an edit
            try:
                draft = read_draft(folder)
            except (FileNotFoundError, yaml.YAMLError):
                continue  # deleted meanwhile, or damaged
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
    value = env.STORAGE_SECRET.get()
    return value.encode() if value else None


def _create_secret(path: Path) -> None:
    """Write a new secret at `path` unless one is there. Written whole to a temporary file first, then
    hard-linked into place (which never replaces): a process starting at the same time sees either no
    secret or a complete one, never an empty file; the one that links second uses the first's."""
    fd, temporary = tempfile.mkstemp(prefix=".secret-", dir=path.parent)  # mode 0600
    try:
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass
        except OSError as err:  # a filesystem without hard links: the operator gives the secret instead
            raise FeatError(
                f"Cannot create the storage secret {path} ({err.strerror}): set {SECRET_ENV} to a random string "
                "of 32+ characters (kept the same across restarts)."
            ) from err
    finally:
        os.unlink(temporary)


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return None


def _steps_done(folder: Path) -> int:
    try:
        history = json.loads((folder / TRAINING_LOG).read_text()).get("history") or []
        return int(history[-1]["step"]) if history else 0
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return 0
