"""The Edit tab: a photo (upload, webcam, examples), edits from the catalogue, and the results."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np
from PIL import Image

from ..errors import FeatError
from ..image_input import load_image
from ..session import AlignOptions, photo_key
from ..session.photo_edit import EditResult, edit_photo
from ..weights.roles import ModelRole
from .catalogue import registry_value
from .context import GPU, AppContext
from .errors import user_errors
from .spaces import gpu

EXAMPLES_DIR = Path(__file__).parent / "examples"
EXAMPLES = sorted(str(p) for p in EXAMPLES_DIR.glob("*.jpg"))
PREVIEW_SIDE = 512  # aligned crops are shown at this size (the full photo keeps its own)
EDIT_MODELS = (ModelRole.GENERATOR, ModelRole.ENCODER)
KEEP_DOWNLOADS = 3  # edited photos kept per visitor


@dataclass
class EditTab:
    photo: gr.Image
    edits: gr.CheckboxGroup
    gallery: gr.HTML
    strength: gr.Slider
    threshold: gr.Slider
    face: gr.Number
    run: gr.Button
    trainable: gr.Dropdown
    train_this: gr.Button
    info: gr.Markdown
    result: gr.Image
    compare: gr.ImageSlider
    overlay: gr.Image
    download: gr.DownloadButton


def photo_path(payload: Any) -> tuple[str, str | None]:
    """(path on the server, the name the visitor's file had) of an image payload, unprocessed.

    The edit handler takes the raw upload (`preprocess=False`) so that a file that is not an image
    reaches `load_image`, whose message names the file and says what to do, instead of failing inside
    Gradio with a generic error.
    """
    if payload is None:
        raise FeatError("Add a photo first: upload one, take one with the webcam, or click an example photo.")
    if isinstance(payload, dict):
        path = payload.get("path")
        name = payload.get("orig_name")
    else:  # a path, when the handler is called directly
        path, name = str(payload), None
    if not path:
        raise FeatError("The photo did not arrive. Upload it again.")
    return path, name or Path(path).name


def mask_overlay(face: Image.Image, mask: Image.Image, side: int = PREVIEW_SIDE) -> Image.Image:
    """The aligned face with the edit's mask tinted red over it."""
    face = face.convert("RGB").resize((side, side), Image.Resampling.LANCZOS)
    alpha = np.asarray(mask.convert("L").resize((side, side), Image.Resampling.BILINEAR), dtype=np.float32) / 255
    pixels = np.asarray(face, dtype=np.float32)
    red = np.array([230, 30, 60], dtype=np.float32)
    mixed = pixels * (1 - 0.6 * alpha[..., None]) + red * 0.6 * alpha[..., None]
    return Image.fromarray(mixed.round().clip(0, 255).astype(np.uint8), "RGB")


def _small(image: Image.Image) -> Image.Image:
    return (
        image if image.width <= PREVIEW_SIDE else image.resize((PREVIEW_SIDE, PREVIEW_SIDE), Image.Resampling.LANCZOS)
    )


def result_info(titles: list[str], strength: float, threshold: float, seconds: float, cached: bool, notice) -> str:
    reuse = "the photo's alignment and inversion were reused" if cached else "the photo was aligned and inverted"
    lines = [
        f"**Edited** with {', '.join(titles)} · strength {strength:g} · mask threshold {threshold:g} · "
        f"{seconds:.1f} s ({reuse})."
    ]
    if notice:
        lines.insert(0, f"⚠️ **{notice}**")
    return "\n\n".join(lines)


def make_edit_handler(ctx: AppContext):
    session = ctx.session

    @gpu(duration=60)
    @user_errors
    def run_edit(
        photo: Any,
        selected: list[str] | None,
        strength: float,
        threshold: float,
        face: float | None,
        request: gr.Request,
        progress: gr.Progress = gr.Progress(track_tqdm=True),  # noqa: B008 - Gradio's way to ask for progress
    ):
        start = time.perf_counter()
        path, name = photo_path(photo)
        if not selected:
            raise FeatError("Pick at least one edit from the list (you can tick several to combine them).")
        face_index = int(face or 0)
        if face_index < 0:
            raise FeatError("The face number counts from 0 (the largest face); use 0 or more.")
        visitor = ctx.visitors.get(request)
        ctx.ensure_models(EDIT_MODELS, progress)
        choices = [ctx.catalogue.resolve(value, visitor) for value in selected]
        progress(0.2, desc="Reading the photo")
        image = load_image(path, name=name)
        cached = photo_key(image, AlignOptions(face_index=face_index)) in session.photos
        if not cached:
            progress(0.3, desc="Finding and aligning the face, then inverting it (once per photo)")
        session.prepare(image, face_index=face_index)
        progress(0.7, desc=f"Applying {', '.join(c.title for c in choices)}")
        result: EditResult = edit_photo(
            session,
            image,
            [(c.edit, float(strength)) for c in choices],
            threshold=float(threshold),
            face_index=face_index,
        )
        progress(0.95, desc="Preparing the results")
        stem = Path(name).stem if name else "photo"
        out = visitor.root / "downloads" / f"{stem}-edited-{int(time.time() * 1000)}.png"
        out.parent.mkdir(parents=True, exist_ok=True)
        result.photo.save(out)
        for old in sorted(out.parent.glob("*.png"), key=lambda p: p.stat().st_mtime)[:-KEEP_DOWNLOADS]:
            old.unlink(missing_ok=True)  # Gradio serves its own copy; keep the folder small
        info = result_info(
            [c.title for c in choices],
            float(strength),
            float(threshold),
            time.perf_counter() - start,
            cached,
            result.notice,
        )
        return (
            result.photo,
            (_small(result.reconstruction), _small(result.edited)),
            mask_overlay(result.aligned, result.mask),
            gr.DownloadButton(value=str(out), visible=True),
            info,
        )

    return run_edit


def build_edit_tab(ctx: AppContext) -> EditTab:
    catalogue = ctx.catalogue
    with gr.Row(equal_height=False):
        with gr.Column(scale=5):
            photo = gr.Image(
                label="Your photo",
                sources=["upload", "webcam", "clipboard"],
                type="filepath",
                height=340,
                elem_id="photo",
            )
            gr.Examples(examples=[[p] for p in EXAMPLES], inputs=[photo], label="Example photos (public domain)")
            edits = gr.CheckboxGroup(
                choices=catalogue.choices(None),
                label="Edits: tick one, or several to combine them",
                elem_id="edit-choices",
            )
            with gr.Row():
                strength = gr.Slider(-3, 3, value=1.0, step=0.05, label="Strength (negative reverses the edit)")
                threshold = gr.Slider(0, 0.95, value=0.2, step=0.05, label="Mask threshold (higher = smaller area)")
            with gr.Accordion("Group photos", open=False):
                face = gr.Number(value=0, precision=0, minimum=0, label="Face to edit (0 = the largest, 1 = next…)")
            run = gr.Button("Edit photo", variant="primary", elem_id="run-edit")
            with gr.Accordion("Edit gallery", open=True):
                gallery = gr.HTML(catalogue.gallery_html(None))
                with gr.Row(equal_height=True):
                    trainable = gr.Dropdown(
                        choices=catalogue.trainable(),
                        value=None,
                        label="Not trained yet: train one yourself",
                        scale=3,
                    )
                    train_this = gr.Button("Train this edit", scale=1)
        with gr.Column(scale=6):
            info = gr.Markdown(f"⚠️ **{ctx.notice}**" if ctx.notice else "", elem_id="edit-info")
            result = gr.Image(label="Edited photo", format="png", interactive=False, elem_id="result", height=420)
            download = gr.DownloadButton("Download the edited photo (PNG)", visible=False)
            compare = gr.ImageSlider(label="Aligned face: before / after (as the generator renders it)", format="png")
            overlay = gr.Image(label="Where the edit applies (mask in red)", format="png", interactive=False)
    return EditTab(
        photo,
        edits,
        gallery,
        strength,
        threshold,
        face,
        run,
        trainable,
        train_this,
        info,
        result,
        compare,
        overlay,
        download,
    )


def wire_edit_tab(ctx: AppContext, tab: EditTab) -> None:
    tab.run.click(
        make_edit_handler(ctx),
        inputs=[tab.photo, tab.edits, tab.strength, tab.threshold, tab.face],
        outputs=[tab.result, tab.compare, tab.overlay, tab.download, tab.info],
        api_name="edit",
        api_description="Edit the face in a photo with one or more edits (values as listed by /edits).",
        preprocess=False,  # raw upload: see photo_path
        concurrency_id=GPU,
        concurrency_limit=ctx.limits.gpu_slots,
        scroll_to_output=True,
    )

    @user_errors
    def suggested_settings(selected: list[str] | None, strength: float, threshold: float, request: gr.Request):
        # One edit picked: start from its own defaults; several: keep what the visitor set.
        if selected and len(selected) == 1:
            found = ctx.catalogue.defaults(selected[0], ctx.visitors.peek(request))
            if found:
                return found
        return strength, threshold

    tab.edits.input(
        suggested_settings,
        inputs=[tab.edits, tab.strength, tab.threshold],
        outputs=[tab.strength, tab.threshold],
        api_visibility="private",
        queue=False,
    )

    @user_errors
    def list_edits(request: gr.Request) -> list[dict]:
        visitor = ctx.visitors.peek(request)
        listed = dict((value, label) for label, value in ctx.catalogue.choices(visitor))
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
                    "usable": value in listed,
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
                }
            )
        return out

    gr.api(list_edits, api_name="edits", queue=False)
