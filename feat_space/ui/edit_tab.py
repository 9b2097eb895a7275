"""The Edit tab's layout: the photo and the controls on one side, your photo before/after on the other.

On a phone the two columns stack; the results column comes right after the Edit button and the
button's event scrolls it into view (`scroll_to_output`), so progress and result show without
scrolling. This module is the layout only: the events (`edit_events.EditEvents`, which also fills
the strength sliders' and the examples' places) and what they do (`edit_handlers`) come after it.
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr
from gradio.helpers import Examples

from ..editing.ranges import THRESHOLD
from .context import AppContext
from .edit_api import EXAMPLES_DIR
from .edit_images import PREVIEW_SIDE
from .sliders import range_slider

EXAMPLES = sorted(str(p) for p in EXAMPLES_DIR.glob("*.jpg"))
RESTRICT, EXTEND = "Restrict: edit only here", "Extend: always edit here"


@dataclass(frozen=True)
class Example:
    """One click: a photo, edits and their strengths (catalogue values)."""

    photo: str
    edits: tuple[str, ...]
    strengths: tuple[float, ...]
    label: str


EXAMPLE_EDITS = (
    Example(str(EXAMPLES_DIR / "astronaut.jpg"), ("registry:purple-hair",), (1.0,), "Astronaut · purple hair"),
    Example(
        str(EXAMPLES_DIR / "grace_hopper.jpg"),
        ("registry:red-lipstick", "registry:blond-hair"),
        (1.0, 0.8),
        "Grace Hopper · red lipstick + blond hair",
    ),
    Example(str(EXAMPLES_DIR / "grace_hopper.jpg"), ("registry:smile",), (1.5,), "Grace Hopper · smile"),
)


@dataclass
class EditTab:
    photo: gr.Image
    photo_status: gr.Markdown
    edits: gr.CheckboxGroup
    descriptions: gr.Markdown
    strengths: gr.JSON  # {edit value: strength}, what the per-edit sliders set (hidden)
    threshold: gr.Slider
    threshold_set: gr.State  # the visitor moved the threshold: ticking an edit keeps it
    face: gr.Number
    run: gr.Button
    brush: gr.ImageEditor
    faces: gr.Column  # the aligned face and its reconstruction, beside the photo once it is prepared
    aligned: gr.Image
    reconstruction: gr.Image
    trainable: gr.Dropdown
    train_this: gr.Button
    info: gr.Markdown
    result: gr.ImageSlider
    show_mask: gr.Checkbox
    download: gr.DownloadButton
    download_box: gr.Column  # shown once there is a result (a button's own visibility cannot be cached)
    result_for: gr.Textbox  # the key of the photo and face the result was made from (hidden; `result_guard`)
    last: gr.State  # (photo key, values, `Edited`) of the visitor's latest edit, for the mask toggle
    strengths_here: gr.Column  # where the strength sliders render, one per ticked edit (`edit_events`)
    examples_here: gr.Column  # where the examples go, beside the controls (`edit_events`)
    examples: Examples | None = None  # set by `edit_events.EditEvents.wire` (they run the tab's handlers)


def thumbnail(label: str, elem_id: str) -> gr.Image:
    """A small picture beside the photo (no buttons: too narrow for one beside the label)."""
    return gr.Image(label=label, format="png", interactive=False, height=112, buttons=[], elem_id=elem_id)


def build_edit_tab(ctx: AppContext) -> EditTab:
    catalogue = ctx.catalogue
    gr.set_static_paths([EXAMPLES_DIR])  # the API page's example photo, served as a file on a Space
    with gr.Row(equal_height=False):
        with gr.Column(scale=5, min_width=300):
            # The aligned face and the generator's rendering of it go beside the photo once it is
            # prepared: below it they would push the edits and the Edit button out of view.
            with gr.Row(equal_height=False, elem_id="photo-row"):
                photo = gr.Image(
                    label="Your photo",
                    sources=["upload", "webcam", "clipboard"],
                    type="filepath",
                    height=240,
                    scale=3,
                    elem_id="photo",
                )
                with gr.Column(visible=False, scale=1, min_width=112, elem_id="faces") as faces:
                    aligned = thumbnail("Aligned", "aligned")
                    reconstruction = thumbnail("Rendered", "reconstruction")
            photo_status = gr.Markdown("", elem_id="photo-status")
            edits = gr.CheckboxGroup(
                choices=catalogue.choices(None),
                label="Edits: tick one, or several to combine them",
                elem_id="edit-choices",
            )
            # The button comes before the ticked edits' descriptions, so that ticking one never pushes it
            # below the fold of a desktop screen.
            run = gr.Button("Edit photo", variant="primary", elem_id="run-edit")
            descriptions = gr.Markdown("", elem_id="edit-descriptions")
            strengths = gr.JSON({}, visible=False, label="strengths")
            strengths_here = gr.Column(elem_id="strengths")  # one slider per ticked edit
            threshold = range_slider(THRESHOLD, label="Mask threshold (higher = smaller area)", elem_id="threshold")
            threshold_set = gr.State(False)
            with gr.Accordion("Brush: paint where the edit may or must apply", open=False, elem_id="brush-panel"):
                gr.Markdown(
                    f"Paint on your aligned face. **{RESTRICT}**: the edit applies only inside what you paint there. "
                    f"**{EXTEND}**: the edit applies there even where its own mask does not reach. "
                    "Pick the layer under the layers button, paint, then press **Edit photo** (or move a slider)."
                )
                brush = gr.ImageEditor(
                    # Short: the editor's toolbar sits at the top right, over a longer label on a phone.
                    label="Brush",
                    sources=[],
                    type="numpy",
                    image_mode="RGBA",
                    layers=gr.LayerOptions(allow_additional_layers=False, layers=[RESTRICT, EXTEND]),
                    brush=gr.Brush(colors=["#2563eb", "#16a34a"], color_mode="fixed"),
                    transforms=(),
                    canvas_size=(PREVIEW_SIDE, PREVIEW_SIDE),
                    fixed_canvas=True,
                    height=420,
                    elem_id="brush",
                )
            with gr.Accordion("Group photos", open=False):
                face = gr.Number(
                    value=0, precision=0, minimum=0, label="Face to edit (0 = the largest, 1 = next…)", elem_id="face"
                )
        with gr.Column(scale=6, min_width=300, elem_id="results"):
            info = gr.Markdown("", elem_id="edit-info")
            result = gr.ImageSlider(
                label="Before / after",
                format="png",
                type="pil",
                interactive=False,
                max_height=440,
                elem_id="result",
            )
            with gr.Row(equal_height=True):
                show_mask = gr.Checkbox(label="Show where the edit applies (mask in red)", elem_id="show-mask")
                with gr.Column(visible=False, min_width=160) as download_box:
                    download = gr.DownloadButton("Download the edited photo (PNG)", elem_id="download")
            result_for = gr.Textbox("", visible=False, label="result made from", elem_id="result-for")
            last = gr.State(None)
            examples_here = gr.Column(elem_id="examples-column")  # beside the controls, above the fold on a desktop
    with gr.Accordion("Not trained yet: train one yourself", open=False), gr.Row(equal_height=True):
        trainable = gr.Dropdown(
            choices=catalogue.trainable(), value=None, label="Edits without trained weights", scale=3
        )
        train_this = gr.Button("Train this edit", scale=1)
    return EditTab(
        photo=photo,
        photo_status=photo_status,
        edits=edits,
        descriptions=descriptions,
        strengths=strengths,
        threshold=threshold,
        threshold_set=threshold_set,
        face=face,
        run=run,
        brush=brush,
        faces=faces,
        aligned=aligned,
        reconstruction=reconstruction,
        trainable=trainable,
        train_this=train_this,
        info=info,
        result=result,
        show_mask=show_mask,
        download=download,
        download_box=download_box,
        result_for=result_for,
        last=last,
        strengths_here=strengths_here,
        examples_here=examples_here,
    )


__all__ = ["EXAMPLES", "EXAMPLE_EDITS", "EXTEND", "RESTRICT", "EditTab", "Example", "build_edit_tab"]
