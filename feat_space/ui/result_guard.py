"""The page's own check that the result it shows was made from the photo (and face) it holds.

The server drops results for a photo the visitor has replaced (`state.Renders`), but a result
already sent when the new photo arrives still lands: Gradio applies an event's outputs even after the
event was cancelled. So each result (or error) carries the key of its photo and face in a hidden
textbox, and right after it lands a step that runs in the browser compares that key with the photo
and face on the page at that instant, and clears the result if they differ. Both happen in the page,
one after the other, so no other event can come between them.
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

import gradio as gr

from ..errors import FeatError
from .edit_images import photo_path

# A photo's folder and file name: an upload sits in a folder named after a hash of its content, an
# example in the examples folder; either way the same in every run, whatever the temp folder (a cached
# example's result keeps the key it was made with).
KEY_PARTS = 2
NO_PHOTO = "(no photo)"  # the key of an empty page: an error made there ("add a photo first") is of it too
MAX_FACE = 2**31 - 1  # larger face numbers key as 0 (JavaScript writes huge numbers differently)

# Inputs: the result's key, the photo, the face number. Outputs: result, download, download box, info,
# key. `{__type__: "update"}` with nothing in it leaves a component as it is.
GUARD_JS = """(made_for, photo, face) => {
  const keep = {__type__: "update"};
  if (!made_for) return [keep, keep, keep, keep, keep];
  const path = photo && photo.path ? String(photo.path) : "";
  let index = Math.trunc(Number(face));
  if (!Number.isFinite(index) || Math.abs(index) > %(max_face)d) index = 0;
  const current = path ? path.split(/[\\\\/]/).slice(-%(parts)d).join("/") + "#" + index : "%(no_photo)s";
  if (made_for === current) return [keep, keep, keep, keep, keep];
  return [null, null, {__type__: "update", visible: false}, "", ""];
}"""


def photo_key(photo: Any, face: Any) -> str:
    """The key of a photo payload and a face number (what `GUARD_JS` computes on the page)."""
    if photo is None:
        return NO_PHOTO
    try:
        path = photo_path(photo)[0]
    except FeatError:  # a payload without a file: no photo to name
        return NO_PHOTO
    try:
        index = int(float(face or 0))
    except (TypeError, ValueError, OverflowError):
        index = 0
    if abs(index) > MAX_FACE:
        index = 0
    return "/".join(PurePath(path).parts[-KEY_PARTS:]) + f"#{index}"


def guard(event: Any, key: gr.Textbox, photo: gr.Image, face: gr.Number, outputs: list[Any]) -> None:
    """After `event` lands (or is cancelled), clear `outputs` unless `key` names the page's photo and face.

    `outputs`: the result, the download button, its box, the info line and `key` itself."""
    event.then(
        None,
        [key, photo, face],
        outputs,
        js=GUARD_JS % {"parts": KEY_PARTS, "max_face": MAX_FACE, "no_photo": NO_PHOTO},
        queue=False,
        show_progress="hidden",
        api_visibility="private",
    )


__all__ = ["guard", "photo_key"]
