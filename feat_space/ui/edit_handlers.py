"""What the Edit tab's events do: prepare a photo, edit it (full size or as a fast preview), list edits.

Two kinds of callers share one core:

- the page's own events (private) never raise: a problem becomes a message beside the photo or above
  the result, and the outputs of the previous photo are cleared, so no stale result stays on screen
  and no output shows a bare error pill;
- the public API endpoints (`/prepare`, `/edit`, `/edits`) raise `gr.Error` with the same message,
  as an API client expects.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import gradio as gr
from PIL import Image

from ..editing.ranges import STRENGTH, THRESHOLD
from ..errors import FeatError
from ..image_input import load_image
from ..session import Brush, MemoKey, PreparedPhoto, tensor_to_image
from ..session.photo_edit import EditResult, edit_photo
from ..weights.roles import ModelRole
from .catalogue import Choice, registry_value
from .context import AppContext
from .edit_images import POOR_RECONSTRUCTION, PREVIEW_SIDE, photo_path, reconstruction_gap, small, tint
from .edit_input import face_number, json_value
from .errors import error_text
from .state import Visitor

EDIT_MODELS = (ModelRole.GENERATOR, ModelRole.ENCODER)
KEEP_DOWNLOADS = 3  # edited photos kept per visitor
LOADED_PHOTOS = 4  # photos kept loaded for the next edit (each holds the full-size photo)


@dataclass(frozen=True)
class Loaded:
    """A photo ready to edit: read, aligned and inverted."""

    image: Image.Image  # the visitor's photo, upright RGB
    name: str
    face_index: int
    photo: PreparedPhoto


@dataclass(frozen=True)
class Prepared(Loaded):
    """A photo ready to edit, and what the page shows of it."""

    aligned: Image.Image  # display size
    reconstruction: Image.Image  # display size
    message: str


@dataclass
class Edited:
    """One edit of a photo, kept per visitor so that the mask toggle needs no model run."""

    before: Image.Image  # the visitor's photo (at the result's size)
    after: Image.Image  # the edited photo
    overlay: Callable[[], Image.Image]  # the edited photo with the mask tinted in (computed on demand)
    mask: Image.Image  # "L", where the edit applies on the aligned face
    info: str  # what was done, in a line (the page has the tiny profile's notice as a banner)
    download: Path | None  # None for a preview
    notice: str | None = None  # the untrained models' warning (tiny profile), for API callers

    def message(self) -> str:
        """`info` with the notice in front: what an API caller, who sees no banner, gets."""
        return f"⚠️ **{self.notice}**\n\n{self.info}" if self.notice else self.info


class PhotoFile(NamedTuple):
    """A photo loaded from a file, as `EditHandlers` keeps it: the same file unchanged, and face."""

    path: str
    mtime_ns: int
    size: int
    face_index: int


message = error_text  # the text a visitor sees for an error, beside the photo or the result


class EditHandlers:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self.session = ctx.session
        # The photos last loaded, by file: each slider move edits the same one, and reading it again
        # would decode the file and hash its pixels (the session's cache key) every time.
        self._loaded: OrderedDict[PhotoFile, Loaded] = OrderedDict()
        self._lock = threading.Lock()

    # -- the photo ---------------------------------------------------------------------------------

    def load(self, photo: Any, face: Any, progress: gr.Progress | None = None) -> Loaded:
        """Read, align and invert the photo (once per file and face; the session caches by content too)."""
        path, name = photo_path(photo)
        face_index = face_number(face)
        self.ctx.ensure_models(EDIT_MODELS, progress)
        try:
            stat = os.stat(path)
            key: PhotoFile | None = PhotoFile(path, stat.st_mtime_ns, stat.st_size, face_index)
        except OSError:  # not a file we can name: `load_image` says what is wrong
            key = None
        with self._lock:
            if key is not None and key in self._loaded:
                self._loaded.move_to_end(key)
                return self._loaded[key]
        image = load_image(path, name=name)
        if progress is not None:
            progress(0.5, desc="Finding and aligning the face, then inverting it (once per photo)")
        loaded = Loaded(image, name or "photo", face_index, self.session.prepare(image, face_index=face_index))
        if key is not None:
            with self._lock:
                self._loaded[key] = loaded
                while len(self._loaded) > LOADED_PHOTOS:
                    self._loaded.popitem(last=False)
        return loaded

    def prepare(self, photo: Any, face: Any, progress: gr.Progress | None = None) -> Prepared:
        """`load`, and what the page shows of the photo: its aligned face, how the generator renders it."""
        loaded = self.load(photo, face, progress)
        prepared, face_index = loaded.photo, loaded.face_index
        aligned = small(prepared.face.image)
        # At display size: the generator stops at that resolution (cheaper than its full size).
        side = min(PREVIEW_SIDE, self.session.generator_size)
        reconstruction = small(tensor_to_image(self.session.reconstruction(prepared, side)))
        gap = reconstruction_gap(aligned, reconstruction)
        text = f"Face {face_index} found and prepared: pick an edit and press **Edit photo**."
        if gap > POOR_RECONSTRUCTION:  # one short paragraph: on a desktop it must not push Edit below the fold
            text += (
                f" ⚠️ The generator renders this face only roughly ({gap:.0%} off, see *Rendered*): edits may "
                "change more than you expect; frontal, evenly lit faces work best."
            )
        return Prepared(loaded.image, loaded.name, face_index, prepared, aligned, reconstruction, text)

    # -- the edits ---------------------------------------------------------------------------------

    def choices(
        self, selected: Sequence[str] | None, strengths: Mapping[str, Any] | Any, visitor: Visitor | None
    ) -> list[tuple[Choice, float]]:
        """The ticked edits with their strengths: the visitor's where set, else each edit's default."""
        if not selected:
            raise FeatError("Pick at least one edit from the list (you can tick several to combine them).")
        strengths = dict(json_value(strengths) or {})  # the API's are checked (`EditInput`), the page's are a dict
        unknown = sorted(set(strengths) - set(selected))
        if unknown:
            raise FeatError(
                f"strengths names {', '.join(unknown)}, which is not among the chosen edits ({', '.join(selected)})."
            )
        out = []
        for value in selected:
            choice = self.ctx.catalogue.resolve(value, visitor)
            out.append((choice, STRENGTH.check(strengths.get(value, choice.strength), f"The strength of {value}")))
        return out

    def edit(
        self,
        prepared: Loaded,
        chosen: list[tuple[Choice, float]],
        threshold: float | None,
        brush: Brush | None,
        *,
        preview: bool,
        visitor: Visitor | None,
        started: float,
    ) -> Edited:
        if threshold is None:  # the API's default: the first edit's own threshold
            threshold = chosen[0][0].threshold
        threshold = THRESHOLD.check(threshold)
        result: EditResult = edit_photo(
            self.session,
            prepared.photo,  # already prepared: not read and hashed again
            [(choice.edit, strength) for choice, strength in chosen],
            threshold=float(threshold),
            face_index=prepared.face_index,
            brush=brush,
            preview=preview,
        )
        after = result.photo
        before = prepared.image
        if before.size != after.size:  # a preview's reduced photo: once per photo and size, not per slider move
            before = prepared.photo.memo(MemoKey("before", after.size), lambda: prepared.image.resize(after.size))
        download = None
        if not preview and visitor is not None:
            download = self._save(visitor, prepared.name, after)
        info = result_info(chosen, float(threshold), brush, time.perf_counter() - started, preview)

        # What the overlay needs, and no more: a visitor's page keeps its last `Edited`, which must not
        # keep the prepared photo's cached synthesis alive after the session's cache lets it go.
        face, crop, mask, paste_mask = prepared.photo.face, result.edited, result.mask, result.paste_mask

        def overlay() -> Image.Image:
            # The mask lives on the aligned face: tint the edited crop, then paste it back like the edit.
            tinted = tint(crop, mask)
            photo = face.paste_back(tinted, mask=paste_mask.resize(tinted.size))
            return photo if photo.size == after.size else photo.resize(after.size)

        return Edited(before, after, overlay, result.mask, info, download, result.notice)

    def _save(self, visitor: Visitor, name: str, photo: Image.Image) -> Path:
        out = visitor.root / "downloads" / f"{Path(name).stem}-edited-{int(time.time() * 1000)}.png"
        out.parent.mkdir(parents=True, exist_ok=True)
        photo.save(out)
        for old in sorted(out.parent.glob("*.png"), key=lambda p: p.stat().st_mtime)[:-KEEP_DOWNLOADS]:
            old.unlink(missing_ok=True)  # Gradio serves its own copy; keep the folder small
        return out

    # -- the listing -------------------------------------------------------------------------------

    def listing(self, visitor: Visitor | None) -> list[dict]:
        ctx = self.ctx
        usable = {value for _, value in ctx.catalogue.choices(visitor)}
        out = []
        for entry in ctx.registry.values():
            value = registry_value(entry.name)
            out.append(
                {
                    "value": value,
                    "title": entry.title,
                    "region": entry.region,
                    "description": entry.description,
                    "status": ctx.catalogue.status(entry),
                    "usable": value in usable,
                    "strength": entry.defaults.strength,
                    "threshold": entry.defaults.mask_threshold,
                }
            )
        for trained in visitor.edits() if visitor else ():
            e = trained.entry
            out.append(
                {
                    "value": trained.key,
                    "title": e.title,
                    "region": e.region,
                    "description": e.description,
                    "status": "yours",
                    "usable": True,
                    "strength": e.defaults.strength,
                    "threshold": e.defaults.mask_threshold,
                }
            )
        return out


def result_info(
    chosen: list[tuple[Choice, float]], threshold: float, brush: Brush | None, seconds: float, preview: bool
) -> str:
    edits = ", ".join(f"{choice.title} {strength:g}" for choice, strength in chosen)
    what = "Preview (low resolution; release the slider for the full photo)" if preview else "**Edited**"
    line = f"{what}: {edits} · mask threshold {threshold:g}"
    if brush is not None and not brush.empty:
        line += " · brush"
    return line + f" · {seconds:.1f} s."


__all__ = ["EDIT_MODELS", "EditHandlers", "Edited", "Prepared", "face_number", "json_value", "message", "result_info"]
