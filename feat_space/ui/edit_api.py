"""The Edit tab's public API: three endpoints with documented parameter names and defaults.

- `/prepare(photo, face_index=0)` → (aligned face, the generator's reconstruction, message)
- `/edit(photo, edits, strengths=None, threshold=None, face_index=0, restrict=None, extend=None)`
  → (edited photo, mask over the aligned face, message)
- `/edits()` → every edit, with its value, status and default strength and threshold

They hang on hidden components of their own and no button (`gr.on(triggers=[])`): the page's events
are private (they report problems beside the photo instead of raising), while these raise `gr.Error`.
The API page prints a runnable example for each: the photo's example is a face (`api_example_photo`).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import gradio as gr
from gradio_client import handle_file

from ..hosting.spaces import gpu
from ..session import Brush
from .context import GPU, AppContext
from .edit_handlers import EditHandlers
from .edit_images import mask_file, small
from .edit_input import EditInput, face_number
from .errors import user_errors

EXAMPLES_DIR = Path(__file__).parent / "examples"
API_EXAMPLE_PHOTO = EXAMPLES_DIR / "grace_hopper.jpg"


def api_example_photo() -> str:
    """The API page's example photo: this Space's own copy when on a Space, else the local file.

    Gradio's default example is a photo of a bus (no face), so its printed `/edit` example would fail."""
    host = os.environ.get("SPACE_HOST")
    if host:
        return f"https://{host}/gradio_api/file={API_EXAMPLE_PHOTO}"
    return str(API_EXAMPLE_PHOTO)


def with_face_example(image: gr.Image) -> gr.Image:
    """`image` (an input), with a face as its API example (see `api_example_photo`).

    Set on the instance: a subclass of a Gradio component would make Gradio write a `.pyi` stub
    beside this module at import time."""

    def payload() -> dict:
        where = api_example_photo()
        # With a "url", the API page prints `handle_file(...)`, which uploads a local file or fetches a URL.
        return {**handle_file(where), "url": where}

    image.example_payload = payload  # type: ignore[method-assign]
    image.example_value = api_example_photo  # type: ignore[method-assign]
    return image


def with_example(component: Any, value: Any) -> Any:
    """`component` (an input), with `value` as the API page's example of it (set on the instance, see
    `with_face_example`): Gradio's own examples (``{"foo": "bar"}`` for JSON, a bus for an image, 3 for
    a number) are not values this API takes."""
    component.example_payload = lambda: value
    component.example_value = lambda: value
    return component


def wire_api(ctx: AppContext, handlers: EditHandlers) -> None:
    """The public endpoints, on hidden components of their own (names and defaults are the API's)."""
    with gr.Column(visible=False):
        photo = with_face_example(gr.Image(label="photo", type="filepath"))
        face_index = gr.Number(0, precision=0, minimum=0, label="face_index")
        # value=None: required, so the API page's example is the first edit (an empty list would fail)
        edits = gr.Dropdown(
            choices=ctx.catalogue.choices(None), value=None, multiselect=True, allow_custom_value=True, label="edits"
        )
        # The examples are the first edit's (what the API page's example of `edits` is) defaults.
        first = ctx.catalogue.choices(None)[:1]
        defaults = ctx.catalogue.defaults(first[0][1], None) if first else None
        strengths = with_example(
            gr.JSON(None, label="strengths"), {first[0][1]: defaults[0]} if first and defaults else None
        )
        threshold = with_example(gr.Number(None, label="threshold"), defaults[1] if defaults else None)
        restrict = with_example(gr.Image(None, type="filepath", label="restrict"), None)  # optional: no brush
        extend = with_example(gr.Image(None, type="filepath", label="extend"), None)
        aligned = gr.Image(format="png", label="aligned")
        reconstruction = gr.Image(format="png", label="reconstruction")
        edited = gr.Image(format="png", label="edited")
        mask = gr.Image(format="png", label="mask")
        text = gr.Markdown(label="message")
    gpu_queue: dict[str, Any] = {"concurrency_id": GPU, "concurrency_limit": ctx.limits.gpu_slots}

    @gpu(duration=60)
    @user_errors
    def prepare(photo: Any, face_index: float = 0, progress: gr.Progress = gr.Progress()):  # noqa: B008
        prepared = handlers.prepare(photo, face_number(face_index), progress)
        return prepared.aligned, prepared.reconstruction, prepared.message

    gr.on(
        [],
        prepare,
        [photo, face_index],
        [aligned, reconstruction, text],
        preprocess=False,
        api_name="prepare",
        api_description=(
            "Find, align and invert the face in a photo (cached: a later /edit of the same photo starts from it). "
            "Returns the aligned face (the brush masks' canvas), the generator's rendering of it, and a message "
            "(with a hint when the rendering is poor). face_index: 0 = the largest face."
        ),
        **gpu_queue,
    )

    @gpu(duration=60)
    @user_errors
    def edit(
        photo: Any,
        edits: list[str],
        strengths: dict | None = None,
        threshold: float | None = None,
        face_index: float = 0,
        restrict: Any = None,
        extend: Any = None,
        request: gr.Request = None,  # type: ignore[assignment]
        progress: gr.Progress = gr.Progress(),  # noqa: B008
    ):
        started = time.perf_counter()
        # Every parameter is checked before the photo is read, so a typo costs no model run.
        checked = EditInput.parse(edits=edits, strengths=strengths, threshold=threshold, face_index=face_index)
        visitor = ctx.visitors.get(request)
        chosen = handlers.choices(checked.edits, checked.strengths, visitor)
        brush = None
        painted_restrict = mask_file(restrict, "restrict")
        painted_extend = mask_file(extend, "extend")
        if painted_restrict is not None or painted_extend is not None:
            brush = Brush(restrict=painted_restrict, extend=painted_extend)
        prepared = handlers.load(photo, checked.face_index, progress)
        result = handlers.edit(
            prepared, chosen, checked.threshold, brush, preview=False, visitor=visitor, started=started
        )
        return result.after, small(result.mask), result.message()

    gr.on(
        [],
        edit,
        [photo, edits, strengths, threshold, face_index, restrict, extend],
        [edited, mask, text],
        preprocess=False,
        api_name="edit",
        api_description=(
            "Edit the face in a photo. edits: values from /edits, applied in order. strengths: {edit value: "
            "strength}; an edit left out uses its default. threshold: the mask threshold (None: the first "
            "edit's default). restrict / extend: optional brush masks over the aligned face /prepare returns "
            "(white = painted): the edit applies only inside restrict, and always inside extend. Returns the "
            "whole edited photo (PNG), the mask over the aligned face, and a message."
        ),
        **gpu_queue,
    )

    @user_errors
    def list_edits(request: gr.Request) -> list[dict]:
        return handlers.listing(ctx.visitors.peek(request))

    gr.api(
        list_edits,
        api_name="edits",
        queue=False,
        api_description="Every edit: value (for /edit), title, "
        "region, description, status, usable, and its default strength and threshold.",
    )


__all__ = ["API_EXAMPLE_PHOTO", "api_example_photo", "wire_api", "with_face_example"]
