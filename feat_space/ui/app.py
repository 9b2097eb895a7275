"""Builds the Gradio app: Edit, Train and About tabs over one shared model session.

`build_app()` loads no model (fast start, cheap tests): the models load on first use, or when a page
opens (`demo.load`), with progress, including download progress in the real profile. On a Space the
README's `preload_from_hub` fetches the weights at build time, so that is a read from disk.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from typing import Any

import gradio as gr

from ..hosting.spaces import place_models_for_zero_gpu
from ..hosting.visitor_files import RETENTION, removed_on_shutdown
from ..registry.registry import load_registry
from ..registry.schema import EditEntry
from ..session import Session, get_session
from .about_tab import build_about_tab
from .context import AppContext, Limits
from .doctor_panel import build_doctor_panel, wire_doctor_panel
from .edit_events import (
    COMPARE_HANDLE,
    EXAMPLE_THUMBNAILS,
    KEYBOARD_RELEASE,
    PIN_WHILE_DRAGGING,
    wire_edit_tab,
)
from .edit_handlers import EDIT_MODELS
from .edit_tab import build_edit_tab
from .errors import user_errors
from .saved_edits import build_saved_edits, wire_saved_edits
from .train_tab import build_train_tab, recipe_label, region_choices, wire_train_tab
from .video_tab import build_video_tab, wire_video_tab

log = logging.getLogger("feat_space.ui")

CSS = """
.feat-notice {border-left: 4px solid #d97706; padding: 4px 12px; background: rgba(217, 119, 6, 0.08);}
.feat-gallery {display: grid; grid-template-columns: repeat(auto-fill, minmax(200px, 1fr)); gap: 8px;}
.feat-card {border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 8px 10px; font-size: 0.9em;}
.feat-card-head {display: flex; justify-content: space-between; gap: 6px; align-items: baseline;}
.feat-region {opacity: 0.75; font-size: 0.85em; margin-bottom: 2px;}
.feat-prompt {opacity: 0.7; font-style: italic; margin-top: 2px;}
.feat-badge {font-size: 0.75em; border-radius: 6px; padding: 1px 6px; white-space: nowrap;}
.feat-ready {background: #dcfce7; color: #166534;}
.feat-untrained {background: #fee2e2; color: #991b1b;}
.feat-yours {background: #dbeafe; color: #1e40af;}
#photo-status p {font-size: 0.9em !important; line-height: 1.35;}  /* a short status: Edit stays above the fold */
#examples button.gallery-item {display: inline-flex; align-items: center; gap: 8px;}
#examples img.feat-thumb {width: 56px; height: 56px; object-fit: cover; border-radius: 6px; flex: none;}
/* The brush canvas lets a vertical swipe scroll the page (a horizontal stroke still paints). */
#brush canvas {touch-action: pan-y !important;}
@media (max-width: 640px) {
  /* On a phone an empty before/after box would stand between the controls and the examples: first the
     examples, until there is a result. */
  #results:not(:has(#result img)) > #examples-column {order: -1;}
  /* While a slider is dragged (PIN_WHILE_DRAGGING): the preview, pinned where the finger is not. */
  #result[data-feat-pin] {position: fixed !important; left: 8px !important;
    right: 8px !important; width: auto !important; z-index: 50; height: 42vh !important;
    background: var(--background-fill-primary); box-shadow: 0 2px 12px rgba(0, 0, 0, 0.3);}
  #result[data-feat-pin="top"] {top: 8px !important;}
  #result[data-feat-pin="bottom"] {top: auto !important; bottom: 8px !important;}
  #result[data-feat-pin] img {max-height: 40vh !important; object-fit: contain;}
}
#edit-choices .wrap {display: grid; grid-template-columns: repeat(auto-fill, minmax(210px, 1fr)); gap: 6px;}
"""

# Gradio's images carry no alt text: name each image by what it shows (screen readers, image-less browsing).
ALT_TEXT = {
    "photo": ["Your photo"],
    "result": ["Your photo, before the edit", "Your photo, edited"],
    "aligned": ["Your face, aligned"],
    "reconstruction": ["The generator's rendering of your aligned face"],
    "brush": ["Your aligned face, to paint the brush on"],
    "examples": ["Example photo"],
}
HEAD = (
    "<script>(() => {const ALT = "
    + json.dumps(ALT_TEXT)
    + """;
const name = () => { for (const [id, alts] of Object.entries(ALT)) {
  document.querySelectorAll(`#${id} img`).forEach((img, i) => {
    const alt = alts[Math.min(i, alts.length - 1)];
    if (img.getAttribute("alt") !== alt) img.setAttribute("alt", alt);
  }); } };
new MutationObserver(name).observe(document.documentElement, {subtree: true, childList: true, attributes: true,
  attributeFilter: ["src"]});
})();</script>"""
    + KEYBOARD_RELEASE
    + EXAMPLE_THUMBNAILS
    + PIN_WHILE_DRAGGING
    + COMPARE_HANDLE
)

# The untrained models' notice as a visitor reads it (`Session.notice` says the same to developers).
PAGE_NOTICE = (
    "Demo mode: the models here are UNTRAINED stand-ins, so every picture is noise, not an edit of your photo."
)
INTRO = """# feat-space
Text-driven **local** face editing after *FEAT: Face Editing with Attention* (Hou et al., 2022): pick an
edit and only that part of the face changes. Train new edits from a prompt in the **Train** tab."""


def launch_options() -> dict[str, Any]:
    """What Gradio 6 takes at `launch()` rather than in `Blocks()`: theme, CSS, and the script naming images."""
    return {"theme": gr.themes.Soft(), "css": CSS, "head": HEAD}


def build_app(
    session: Session | None = None,
    registry: dict[str, EditEntry] | None = None,
    limits: Limits | None = None,
    *,
    context: AppContext | None = None,
) -> gr.Blocks:
    """The app, queued. Defaults: the process's session (FEAT_PROFILE), the registry in edits/, limits
    from FEAT_GPU_CONCURRENCY / FEAT_QUEUE_SIZE / FEAT_MAX_TRAININGS / FEAT_MAX_TRAIN_STEPS.
    `context` replaces all three (tests use it to look at visitors' state)."""
    ctx = context or AppContext(session or get_session(), load_registry() if registry is None else registry, limits)
    # delete_cache: every hour, drop served files older than 6 hours (a Space runs for weeks; see visitor_files).
    with gr.Blocks(title="feat-space: text-driven local face editing", delete_cache=RETENTION.delete_cache) as demo:
        gr.Markdown(INTRO)
        if ctx.notice:  # said once per page (the tabs do not repeat it), for a visitor, not a developer
            gr.Markdown(f"⚠️ **{PAGE_NOTICE}**", elem_classes=["feat-notice"], elem_id="notice")
        models = gr.Markdown("", elem_id="model-status")
        with gr.Tabs() as tabs:
            with gr.Tab("Edit", id="edit"):
                edit = build_edit_tab(ctx)
            with gr.Tab("Train", id="train") as train_shown:
                train = build_train_tab(ctx)
                saved = build_saved_edits(ctx)
            with gr.Tab("Video", id="video"):
                video = build_video_tab(ctx)
            with gr.Tab("About", id="about"):
                gallery = build_about_tab(ctx)
                doctor = build_doctor_panel(ctx)
        wire_edit_tab(ctx, edit)
        wire_doctor_panel(ctx, demo, doctor)
        wire_video_tab(ctx, video)
        trainings = wire_train_tab(ctx, train, edit.edits, gallery, train_shown, demo)
        wire_saved_edits(ctx, demo, saved, edit.edits, gallery, trainings)
        _wire_train_this(ctx, edit.trainable, edit.train_this, train, tabs)

        @user_errors
        def load_models(progress: gr.Progress = gr.Progress(track_tqdm=True)) -> str:  # noqa: B008
            ctx.ensure_models(EDIT_MODELS, progress)
            profile = ctx.session.profile
            # Device and precision (resolved, and self-checked, on first use: here, not at build time).
            return f"Models ready: **{profile.name}** profile on {ctx.session.describe()}."

        # When a page opens: load (and in the real profile download) the models with progress, once per process.
        demo.load(load_models, None, models, api_visibility="private", concurrency_limit=None)
        demo.unload(_forget(ctx))
    demo.queue(default_concurrency_limit=1, max_size=ctx.limits.queue_size)
    return demo


def _forget(ctx: AppContext):
    def forget(request: gr.Request) -> None:
        ctx.visitors.forget(request)

    return forget


def _wire_train_this(ctx: AppContext, trainable: gr.Dropdown, button: gr.Button, train, tabs: gr.Tabs) -> None:
    from ..errors import FeatError

    @user_errors
    def prefill(name: str | None):
        entry = ctx.registry.get(name) if name else None
        if entry is None:
            raise FeatError("Choose an edit under “Not trained yet” first.")
        return (
            entry.prompt,
            entry.title,
            gr.Dropdown(choices=region_choices(entry), value=recipe_label(entry)),
            min(entry.training.steps, ctx.limits.max_steps),
            entry.name,
            gr.Tabs(selected="train"),
            gr.Timer(active=train.speed.measuring),  # the tab opens: its estimate starts, as on a click
        )

    button.click(
        prefill,
        [trainable],
        [train.prompt, train.name, train.region, train.steps, train.base, tabs, train.timer],
        api_visibility="private",
        queue=False,
    )


def launch(**kwargs: Any) -> None:
    """Build and serve (GRADIO_SERVER_NAME / GRADIO_SERVER_PORT are honoured by Gradio itself).

    On ZeroGPU the models are loaded and placed on CUDA here, before serving (see `spaces`)."""
    logging.basicConfig(level=logging.INFO)
    with removed_on_shutdown() as serving:  # SIGTERM, SIGINT or exit: no visitor's file stays on disk
        demo = serving(build_app())
        place_models_for_zero_gpu(get_session())
        demo.launch(**{**launch_options(), **kwargs})
    if serving.signal is None:  # launch() returned by itself (as when a test stands in for it)
        return
    # Stopped by a signal, and the visitors' files are gone. A training step may still be running in one
    # of Gradio's worker threads: letting the interpreter tear down PyTorch under it aborts the process
    # (SIGABRT, "terminate called without an active exception"), so the process ends here, at once.
    logging.shutdown()
    # That step may also have written into a visitor's folder after the files were removed (a trained
    # edit's checkpoint): remove them once more, right before the process ends.
    serving.remove_files()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
