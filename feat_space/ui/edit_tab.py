"""The Edit tab's layout: the photo and the controls on one side, your photo before/after on the other.

On a phone the two columns stack; the results column comes right after the Edit button and the
button's event scrolls it into view (`scroll_to_output`), so progress and result show without
scrolling. Events live in `edit_events`, what they do in `edit_handlers`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import gradio as gr
from gradio.helpers import Examples

from .context import AppContext
from .edit_api import EXAMPLES_DIR, wire_api
from .edit_events import example_runner, strength_sliders, wire_edit_tab
from .edit_handlers import EDIT_MODELS, EditHandlers
from .edit_images import PREVIEW_SIDE

EXAMPLES = sorted(str(p) for p in EXAMPLES_DIR.glob("*.jpg"))
EXAMPLE_OUTPUTS_VERSION = 2  # bump when what an example returns changes meaning (its cache is then redone)
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
    last: gr.State  # (photo key, `Edited`) of the visitor's latest edit, for the mask toggle
    examples: Examples | None = None
    on_slider: Callable[[str, gr.Slider], None] | None = None  # wires a strength slider (`edit_events`)


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
            descriptions = gr.Markdown("", elem_id="edit-descriptions")
            run = gr.Button("Edit photo", variant="primary", elem_id="run-edit")
            strengths = gr.JSON({}, visible=False, label="strengths")
            with gr.Column(elem_id="strengths"):  # one slider per ticked edit
                strength_sliders(ctx, edits, strengths, lambda: tab)
            threshold = gr.Slider(
                0, 0.95, value=0.2, step=0.05, label="Mask threshold (higher = smaller area)", elem_id="threshold"
            )
            threshold_set = gr.State(False)
            with gr.Accordion("Brush: paint where the edit may or must apply", open=False, elem_id="brush-panel"):
                gr.Markdown(
                    f"Paint on your aligned face. **{RESTRICT}**: the edit applies only inside what you paint there. "
                    f"**{EXTEND}**: the edit applies there even where its own mask does not reach. "
                    "Pick the layer under the layers button, paint, then press **Edit photo** (or move a slider)."
                )
                brush = gr.ImageEditor(
                    label="Brush over your aligned face",
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
            examples_here = gr.Column(elem_id="examples-column")
    with gr.Accordion("Not trained yet: train one yourself", open=False), gr.Row(equal_height=True):
        trainable = gr.Dropdown(
            choices=catalogue.trainable(), value=None, label="Edits without trained weights", scale=3
        )
        train_this = gr.Button("Train this edit", scale=1)
    tab = EditTab(
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
    )
    with examples_here:  # beside the controls, above the fold on a desktop
        tab.examples = build_examples(ctx, tab)
    return tab


def build_examples(ctx: AppContext, tab: EditTab) -> Examples:
    """One click: photo, edits and strengths go in, the finished result comes out (computed on the
    first click of each example, then served from Gradio's cache: nothing is computed at start-up)."""
    usable = {value for _, value in ctx.catalogue.choices(None)}
    ready = [e for e in EXAMPLE_EDITS if set(e.edits) <= usable]
    if not ready:  # no example edit can run here (e.g. none published yet): the photos alone
        return gr.Examples(examples=[[p] for p in EXAMPLES], inputs=[tab.photo], label="Example photos (public domain)")
    run, outputs = example_runner(ctx, tab)
    examples = gr.Examples(
        # The face number is an input (always 0): the click sets it at once, with the photo.
        examples=[[e.photo, list(e.edits), dict(zip(e.edits, e.strengths, strict=True)), 0] for e in ready],
        inputs=[tab.photo, tab.edits, tab.strengths, tab.face],
        outputs=outputs,
        fn=run,
        cache_examples=True,
        cache_mode="lazy",
        run_on_click=True,
        example_labels=[e.label for e in ready],
        label="Examples: one click shows the edited photo (public-domain photos)",
        api_visibility="private",
        elem_id="examples",
    )
    versioned_cache(examples, outputs)
    return examples


def versioned_cache(examples: Examples, outputs: list) -> None:
    """Cache the examples in a folder named after what they return (Gradio reads an older cache of other
    outputs column by column, and fails or shows the wrong values): a change starts a new cache."""
    signature = f"v{EXAMPLE_OUTPUTS_VERSION}:" + ",".join(type(o).__name__ for o in outputs)
    digest = hashlib.sha256(signature.encode()).hexdigest()[:8]
    folder = Path(examples.cached_folder)
    examples.cached_folder = folder.with_name(f"{folder.name}-{digest}")
    examples.cached_file = examples.cached_folder / "log.csv"
    examples.cached_indices_file = examples.cached_folder / "indices.csv"


def wire(ctx: AppContext, tab: EditTab) -> None:
    """The tab's events and the public API (`edit_api`)."""
    wire_edit_tab(ctx, tab)
    wire_api(ctx, EditHandlers(ctx))


__all__ = ["EDIT_MODELS", "EXAMPLES", "EXAMPLE_EDITS", "EditTab", "Example", "build_edit_tab", "build_examples", "wire"]
