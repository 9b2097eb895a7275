"""Per-visitor state: the edits a visitor trained, their files, and their running training.

Keyed by Gradio's `session_hash` (one per browser tab, one per gradio_client `Client`), so a trained
edit appears in that visitor's Edit tab at once and in nobody else's. Files live in a temporary
folder per visitor, removed when the tab closes (`demo.unload`) or, at the latest, when the process
stops (`visitor_files`).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import gradio as gr

from ..editing.edit import FeatEdit
from ..errors import FeatError
from ..hosting.visitor_files import remove_at_shutdown
from ..registry.schema import EditEntry

log = logging.getLogger("feat_space.ui")

MAX_VISITORS = 500  # tabs whose state is kept; the least recently seen is dropped beyond that


@dataclass
class TrainedEdit:
    """An edit this visitor trained (or is training) in the app."""

    key: str  # its catalogue value, `catalogue.user_value(name)`
    entry: EditEntry  # its registry entry draft (what "Export YAML" writes)
    folder: Path  # config.json + model.safetensors + edit.yaml + training.json
    steps_done: int = 0
    edit: FeatEdit | None = None  # loaded on first use

    @property
    def name(self) -> str:
        return self.entry.name


@dataclass
class Renders:
    """The order of this visitor's edit renders, so that a live preview never covers the full-size photo.

    A slider's previews and its full-size render on release can finish in any order (they run
    concurrently, and the page may send one last preview after the release). A preview is stale when a
    full-size render started after it, or when one of the same settings has started at all. Any result
    is stale once the visitor has given another photo or face: it is not sent (and a result already on
    its way when they change is cleared by the page itself, see `result_guard`). Photos are named by
    `result_guard.photo_key` (photo and face).
    """

    started: int = 0
    full: tuple[int, object] | None = None  # (order, settings) of the latest full-size render started
    photo: str | None = None  # the key of the photo and face on the visitor's page (None: not recorded yet)
    photo_known: bool = False  # a photo was recorded at all (results are shown until then)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def new_photo(self, photo: str | None) -> None:
        """The page now holds `photo` (a key; recorded as the visitor gives it, before any work on it starts)."""
        with self.lock:
            self.photo, self.photo_known = photo, True

    def shows(self, photo: str | None) -> bool:
        """Whether a result for `photo` may still be shown: no other photo (or none) given since."""
        with self.lock:
            return not self.photo_known or self.photo == photo

    def start(self, settings: object, *, full: bool) -> int:
        with self.lock:
            self.started += 1
            if full:
                self.full = (self.started, settings)
            return self.started

    def stale(self, order: int, settings: object) -> bool:
        """A preview started as `order` with `settings` must not be shown."""
        with self.lock:
            return self.full is not None and (self.full[0] > order or self.full[1] == settings)


@dataclass
class Visitor:
    root: Path
    trained: dict[str, TrainedEdit] = field(default_factory=dict)  # by key, in training order
    stop: threading.Event = field(default_factory=threading.Event)
    training: bool = False
    closed: bool = False  # its tab closed or it was dropped: a training still running deletes `root` when it ends
    lock: threading.Lock = field(default_factory=threading.Lock)  # guards `trained`, `training` and `closed`
    # Signed in, where the Space has storage: moves a trained edit's folder into it (see saved_edits).
    keep: Callable[[TrainedEdit], None] | None = None
    storage_problem: str | None = None  # why storage failed to keep an edit of this session, if it did
    renders: Renders = field(default_factory=Renders)

    def edits(self) -> list[TrainedEdit]:
        """The trained edits, in training order: a snapshot, as the train thread may add one meanwhile."""
        with self.lock:
            return list(self.trained.values())

    def add(self, trained: TrainedEdit) -> TrainedEdit | None:
        """List `trained` last; return the edit it replaces under the same key, if any.

        Where storage fails to keep it, it is still listed (for this session): the training is not lost.
        Storage is then off for this session (`keep` None, so the Train tab says "for this browser tab
        only"), and `storage_problem` says why (the saved-edits panel shows it)."""
        if self.keep is not None:
            try:
                self.keep(trained)
            except FeatError as err:
                log.warning("Storage failed for a trained edit, kept for the session only: %s", err)
                self.keep = None
                self.storage_problem = str(err)
                gr.Warning(str(err))
        with self.lock:
            old = self.trained.pop(trained.key, None)
            self.trained[trained.key] = trained
            return old

    def close(self) -> None:
        """Stop its training and delete its files, now or, if a training is running, when that ends."""
        with self.lock:
            self.closed = True
            self.stop.set()
            training = self.training
        if not training:
            shutil.rmtree(self.root, ignore_errors=True)


class Visitors:
    """Thread-safe map session_hash → `Visitor`, bounded, with cleanup."""

    def __init__(self, max_visitors: int = MAX_VISITORS) -> None:
        self._visitors: OrderedDict[str, Visitor] = OrderedDict()
        self._lock = threading.Lock()
        self.max_visitors = max_visitors
        self._base = Path(tempfile.mkdtemp(prefix="feat-space-visitors-"))
        remove_at_shutdown(self._base)  # also on SIGTERM, with Gradio's copies (see visitor_files)

    def get(self, request: gr.Request | None) -> Visitor:
        key = _session_key(request)
        dropped = []
        with self._lock:
            visitor = self._visitors.get(key)
            if visitor is None:
                visitor = self._visitors[key] = Visitor(Path(tempfile.mkdtemp(prefix="v-", dir=self._base)))
                while len(self._visitors) > self.max_visitors:
                    dropped.append(self._visitors.popitem(last=False)[1])
            self._visitors.move_to_end(key)
        for old in dropped:
            old.close()
        return visitor

    def peek(self, request: gr.Request | None) -> Visitor | None:
        with self._lock:
            return self._visitors.get(_session_key(request))

    def forget(self, request: gr.Request | None) -> None:
        """The tab closed: stop its training and delete its files."""
        with self._lock:
            visitor = self._visitors.pop(_session_key(request), None)
        if visitor is not None:
            visitor.close()

    def __len__(self) -> int:
        return len(self._visitors)


def _session_key(request: gr.Request | None) -> str:
    # Direct calls without a request (unit tests, scripts) share one anonymous visitor.
    return getattr(request, "session_hash", None) or "anonymous"
