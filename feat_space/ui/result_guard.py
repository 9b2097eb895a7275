"""The page's own check that the result it shows was made from the photo it holds.

The server drops results for a photo the visitor has replaced (`state.Renders`), but a result
already sent when the new photo arrives still lands: Gradio applies an event's outputs even after the
event was cancelled. So each result carries the key of its photo in a hidden textbox, and right after
it lands a step that runs in the browser compares that key with the photo on the page at that
instant, and clears the result if they differ. Both happen in the page, one after the other, so no
other event can come between them.
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

import gradio as gr

from ..errors import FeatError
from .edit_images import photo_path

# Gradio keeps an uploaded or example file in a folder named after a hash of its content: folder and
# name identify the photo, the same in every run and whatever the temp folder (cached examples keep
# the key they were made with).
KEY_PARTS = 2

# Inputs: the result's key, the photo. Outputs: result, download, download box, info, key.
# `{__type__: "update"}` with nothing in it leaves a component as it is.
GUARD_JS = """(made_for, photo) => {
  const keep = {__type__: "update"};
  const path = photo && photo.path ? String(photo.path) : "";
  const current = path.split(/[\\\\/]/).slice(-%(parts)d).join("/");
  if (!made_for || made_for === current) return [keep, keep, keep, keep, keep];
  return [null, null, {__type__: "update", visible: false}, "", ""];
}"""


def photo_key(photo: Any) -> str:
    """The key of a photo payload (what `GUARD_JS` computes on the page); "" for no photo."""
    if photo is None:
        return ""
    try:
        path = photo_path(photo)[0]
    except FeatError:  # a payload without a file: no photo to name
        return ""
    return "/".join(PurePath(path).parts[-KEY_PARTS:])


def guard(event: Any, key: gr.Textbox, photo: gr.Image, outputs: list[Any]) -> None:
    """After `event` lands (or is cancelled), clear `outputs` unless `key` names the page's photo.

    `outputs`: the result, the download button, its box, the info line and `key` itself."""
    event.then(
        None,
        [key, photo],
        outputs,
        js=GUARD_JS % {"parts": KEY_PARTS},
        queue=False,
        show_progress="hidden",
        api_visibility="private",
    )


__all__ = ["guard", "photo_key"]
