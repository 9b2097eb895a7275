"""The edits a visitor can apply: the registry's, plus the ones this visitor trained.

Values in the UI are strings: "registry:<name>" and "user:<name>". A visitor's own edits live in their
session (`state.Visitor`); where the Space has persistent storage, a signed-in visitor's are also kept
under their account (`storage`, see `hosting.storage` and `hosting.saved_edits`). Published registry edits are
downloaded and loaded once per process; unpublished ones have no weights, so in the real profile they
are offered for training only. In the tiny profile (untrained models, a smoke demo) each registry
entry gets an explicitly labelled *untrained random edit* built from its recipe with a fixed seed.
"""

from __future__ import annotations

import html
import threading
from dataclasses import dataclass

from ..editing.edit import FeatEdit
from ..editing.storage import load_edit_folder
from ..errors import FeatError
from ..hosting.storage import EditStorage
from ..registry.demo import demo_edit
from ..registry.registry import load_published_edit
from ..registry.schema import EditEntry
from ..session import ComputeOnceCache, Session
from .state import TrainedEdit, Visitor

REGISTRY = "registry:"
USER = "user:"


def registry_value(name: str) -> str:
    """The UI value of the registry edit `name`."""
    return REGISTRY + name


def user_value(name: str) -> str:
    """The UI value of the edit `name` that a visitor trained."""
    return USER + name


@dataclass(frozen=True)
class Choice:
    """One edit resolved for applying: its module and the defaults the sliders start from."""

    value: str
    title: str
    edit: FeatEdit
    strength: float
    threshold: float


class Catalogue:
    def __init__(self, session: Session, registry: dict[str, EditEntry]) -> None:
        self.session = session
        self.registry = registry
        self._loaded: ComputeOnceCache[FeatEdit] = ComputeOnceCache(maxsize=32)
        self._user_lock = threading.Lock()
        # Where signed-in visitors' trained edits are kept across restarts (FEAT_DATA_DIR, /data); None: nowhere.
        self.storage: EditStorage | None = EditStorage.from_environment()

    @property
    def demo(self) -> bool:
        """Tiny profile: registry edits are offered as untrained random edits."""
        return not self.session.profile.trained

    # -- what is listed -------------------------------------------------------------------------

    def status(self, entry: EditEntry) -> str:
        if entry.published:
            return "ready"
        return "untrained demo" if self.demo else "not trained yet"

    def choices(self, visitor: Visitor | None) -> list[tuple[str, str]]:
        """(label, value) of every edit that can be applied now."""
        out = []
        for entry in self.registry.values():
            if entry.published:
                out.append((f"{entry.title} · {entry.region}", registry_value(entry.name)))
            elif self.demo:
                out.append((f"{entry.title} · {entry.region} (untrained demo)", registry_value(entry.name)))
        for trained in visitor.edits() if visitor else ():
            out.append((f"★ {trained.entry.title} · {trained.entry.region} (yours)", trained.key))
        return out

    def trainable(self) -> list[tuple[str, str]]:
        """(label, name) of registry edits without weights: what "Train this edit" offers."""
        return [(f"{e.title} · {e.region}", e.name) for e in self.registry.values() if not e.published]

    def gallery_html(self, visitor: Visitor | None) -> str:
        cards = []
        for entry in self.registry.values():
            cards.append(_card(entry.title, entry.region, entry.description, entry.prompt, self.status(entry)))
        for trained in visitor.edits() if visitor else ():
            e = trained.entry
            cards.append(_card(e.title, e.region, e.description, e.prompt, f"yours · {trained.steps_done} steps"))
        return f'<div class="feat-gallery">{"".join(cards)}</div>'

    # -- resolving a choice ---------------------------------------------------------------------

    def resolve(self, value: str, visitor: Visitor | None) -> Choice:
        if value.startswith(USER):
            trained = visitor.trained.get(value) if visitor else None
            if trained is None:
                kept = " (or, signed in, in your saved edits)" if self.storage is not None else ""
                raise FeatError(
                    "That trained edit is not among this tab's edits: edits trained here live only in the browser "
                    f"tab that trained them{kept}. Train it again in the Train tab, or pick another edit."
                )
            return Choice(value, trained.entry.title, self._user_edit(trained), *_defaults(trained.entry))
        name = value.removeprefix(REGISTRY)
        entry = self.registry.get(name)
        if entry is None:
            raise FeatError(f"There is no edit called {name!r}. Pick one from the list.")
        if entry.published:
            edit = self._loaded.get(("published", name), lambda: self._load_published(entry))
        elif self.demo:
            edit = self._loaded.get(("demo", name), lambda: self._demo_edit(entry))
        else:
            raise FeatError(
                f"“{entry.title}” is not trained yet, so it cannot edit photos. Train it in the Train tab "
                "(choose it under “Not trained yet” and press “Train this edit”), or pick a trained edit."
            )
        return Choice(value, entry.title, edit, *_defaults(entry))

    def defaults(self, value: str, visitor: Visitor | None) -> tuple[float, float] | None:
        """(strength, mask threshold) an edit suggests, without loading it."""
        if value.startswith(USER):
            trained = visitor.trained.get(value) if visitor else None
            return _defaults(trained.entry) if trained else None
        entry = self.registry.get(value.removeprefix(REGISTRY))
        return _defaults(entry) if entry else None

    def _load_published(self, entry: EditEntry) -> FeatEdit:
        return load_published_edit(entry).to(self.session.device).eval()

    def _demo_edit(self, entry: EditEntry) -> FeatEdit:
        return demo_edit(entry, self.session.generator).to(self.session.device)

    def _user_edit(self, trained: TrainedEdit) -> FeatEdit:
        with self._user_lock:
            if trained.edit is None:
                trained.edit = load_edit_folder(trained.folder).to(self.session.device).eval()
            return trained.edit


def _defaults(entry: EditEntry) -> tuple[float, float]:
    return entry.defaults.strength, entry.defaults.mask_threshold


def _card(title: str, region: str, description: str, prompt: str, status: str) -> str:
    e = html.escape
    kind = status.split(" ")[0].replace("not", "untrained")
    return (
        f'<div class="feat-card"><div class="feat-card-head"><b>{e(title)}</b>'
        f'<span class="feat-badge feat-{e(kind)}">{e(status)}</span></div>'
        f'<div class="feat-region">{e(region)}</div><div>{e(description)}</div>'
        f'<div class="feat-prompt">“{e(prompt)}”</div></div>'
    )
