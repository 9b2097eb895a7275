"""The Edit tab's events: prepare on upload, edit (button, sliders live, brush), mask toggle, examples, API.

Page events are private and never raise (see `edit_handlers`); the public endpoints are in
`edit_api`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gradio as gr
from gradio.utils import get_cache_folder

from ..session import Brush
from .catalogue import REGISTRY, USER
from .context import GPU, AppContext
from .edit_handlers import Edited, EditHandlers, Prepared, json_value, message
from .edit_images import painted, photo_path
from .errors import user_errors
from .result_guard import guard, photo_key
from .spaces import gpu
from .state import Visitor

if TYPE_CHECKING:
    from .edit_tab import EditTab

SKIP = gr.skip
# On a phone the results column is below the controls: bring it into view as the edit starts, so that
# progress and result show without scrolling (left alone when it is already in view, as on a desktop).
SHOW_RESULTS = """(...inputs) => {
  const results = document.getElementById("results");
  const top = results ? results.getBoundingClientRect().top : 0;
  if (results && (top < 0 || top > window.innerHeight / 3)) {
    results.scrollIntoView({block: "start", behavior: "smooth"});
  }
  return inputs;
}"""
STRENGTH_RANGE = (-3.0, 3.0)


def brush_from_editor(value: Any) -> Brush | None:
    """The ImageEditor's two layers (restrict, extend; see `edit_tab.RESTRICT`) → a `Brush`, or None if unpainted."""
    if not isinstance(value, dict):
        return None
    layers = list(value.get("layers") or [])
    restrict = painted(layers[0]) if len(layers) > 0 else None
    extend = painted(layers[1]) if len(layers) > 1 else None
    if restrict is None and extend is None:
        return None
    return Brush(restrict=restrict, extend=extend)


def editor_value(prepared: Prepared) -> dict:
    """The brush canvas for a new photo: its aligned face, nothing painted."""
    return {"background": prepared.aligned, "layers": [], "composite": None}


def ticked_strengths(selected: list[str] | None, strengths: Any) -> dict:
    """The page's strengths of the ticked edits: it keeps an unticked edit's strength for when it is
    ticked again, which the edit itself must not be given (`EditHandlers.choices` refuses it)."""
    ticked = set(selected or ())
    return {value: s for value, s in (json_value(strengths) or {}).items() if value in ticked}


def path_of(photo: Any) -> str | None:
    """The server path of a photo payload (None: no photo), what identifies the photo on a page."""
    return photo_path(photo)[0] if photo is not None else None


def describe(ctx: AppContext, value: str, visitor: Visitor | None) -> tuple[str, str, str] | None:
    """(title, region, description) of a catalogue value, without loading the edit."""
    if value.startswith(USER):
        trained = visitor.trained.get(value) if visitor else None
        entry = trained.entry if trained else None
    else:
        entry = ctx.registry.get(value.removeprefix(REGISTRY))
    return (entry.title, entry.region, entry.description) if entry else None


def descriptions_markdown(ctx: AppContext, selected: list[str] | None, request: gr.Request | None) -> str:
    visitor = ctx.visitors.peek(request)
    lines = []
    for value in selected or []:
        found = describe(ctx, value, visitor)
        if found:
            title, region, description = found
            lines.append(f"- **{title}** ({region}): {description}")
    return "\n".join(lines)


def wire_edit_tab(ctx: AppContext, tab: EditTab) -> None:
    handlers = EditHandlers(ctx)
    gpu_queue: dict[str, Any] = {"concurrency_id": GPU, "concurrency_limit": ctx.limits.gpu_slots}

    # -- a new photo: clear what the previous one produced, then prepare it --------------------------
    # What a result shows (the page clears these when they land for another photo, see `result_guard`),
    # then (key, `Edited`) of the visitor's latest edit, for the mask toggle.
    shown_outputs = [tab.result, tab.download, tab.download_box, tab.info, tab.result_for]
    edit_outputs = [*shown_outputs, tab.last]
    stale = [
        *edit_outputs,
        tab.brush,
        tab.aligned,
        tab.reconstruction,
        tab.faces,
        tab.photo_status,
    ]

    def guarded(event: Any) -> Any:
        """`event`, followed by the page's check that its result is of the photo on the page."""
        guard(event, tab.result_for, tab.photo, tab.face, shown_outputs)
        return event

    def clear(photo, face, request: gr.Request):
        # Recorded at once (unqueued): what is still running or queued for the last photo is not sent.
        ctx.visitors.get(request).renders.new_photo(photo_key(photo, face))
        return None, None, gr.Column(visible=False), "", "", None, None, None, None, gr.Column(visible=False), ""

    @gpu(duration=60)
    def prepare_page(photo, face, request: gr.Request, progress: gr.Progress = gr.Progress()):  # noqa: B008
        renders = ctx.visitors.get(request).renders
        if photo is None:
            return None, None, None, gr.Column(visible=False), ""
        prepared: Prepared | Exception
        try:
            prepared = handlers.prepare(photo, face, progress)
        except Exception as e:
            prepared = e
        if not renders.shows(photo_key(photo, face)):  # another photo came meanwhile: its own preparation shows
            return (SKIP(),) * 5
        if isinstance(prepared, Exception):
            return None, None, None, gr.Column(visible=False), message(prepared)
        return (
            editor_value(prepared),
            prepared.aligned,
            prepared.reconstruction,
            gr.Column(visible=True),
            prepared.message,
        )

    def prepare_after(step: Any) -> None:
        step.then(
            prepare_page,
            [tab.photo, tab.face],
            [tab.brush, tab.aligned, tab.reconstruction, tab.faces, tab.photo_status],
            preprocess=False,  # raw upload: see `edit_images.photo_path`
            show_progress_on=[tab.photo_status],
            api_visibility="private",
            **gpu_queue,
        )

    # -- editing: the button, the sliders (live previews, full size on release), the brush ----------
    def run(photo, selected, strengths, threshold, face, brush, show_mask, request, progress, *, preview: bool):
        started = time.perf_counter()
        visitor = ctx.visitors.get(request)
        prepared = handlers.load(photo, face, progress)
        chosen = handlers.choices(selected, ticked_strengths(selected, strengths), visitor)
        if progress is not None:
            progress(0.7, desc=f"Applying {', '.join(c.title for c, _ in chosen)}")
        return handlers.edit(
            prepared,
            chosen,
            threshold,
            brush_from_editor(brush),
            preview=preview,
            visitor=visitor,
            started=started,
        )

    def settings_key(photo, selected, strengths, threshold, face, brush) -> tuple:
        layers = brush.get("layers") or [] if isinstance(brush, dict) else []
        return (
            path_of(photo),
            tuple(selected or ()),
            tuple(sorted(ticked_strengths(selected, strengths).items())),
            threshold,
            face,
            # each painted state of the brush arrives as new files
            tuple(layer.get("path") if isinstance(layer, dict) else id(layer) for layer in layers),
        )

    def shown(edited: Edited, show_mask: bool):
        after = edited.overlay() if show_mask else edited.after
        return edited.before, after

    def edit_result(
        photo,
        selected,
        strengths,
        threshold,
        face,
        brush,
        show_mask,
        request: gr.Request,
        progress: gr.Progress | None = gr.Progress(),  # noqa: B008
    ):
        renders = ctx.visitors.get(request).renders
        try:  # the settings' key reads the strengths too: a bad value is a message, like any other
            settings = settings_key(photo, selected, strengths, threshold, face, brush)
            renders.start(settings, full=True)
            edited = run(
                photo, selected, strengths, threshold, face, brush, show_mask, request, progress, preview=False
            )
        except Exception as e:
            edited = e
        made_for = photo_key(photo, face)  # errors too: one for the last photo is not shown beside this one
        if not renders.shows(made_for):  # the visitor gave another photo (or face) meanwhile
            return (SKIP(),) * 6
        if isinstance(edited, Exception):
            return None, None, gr.Column(visible=False), message(edited), made_for, None
        outputs = shown(edited, show_mask), str(edited.download), gr.Column(visible=True), edited.info
        return *outputs, made_for, (made_for, edited)

    edit_page = gpu(duration=60)(edit_result)

    edit_inputs = [tab.photo, tab.edits, tab.strengths, tab.threshold, tab.face, tab.brush, tab.show_mask]
    run_edit = guarded(
        tab.run.click(
            edit_page,
            edit_inputs,
            edit_outputs,
            preprocess=False,
            js=SHOW_RESULTS,
            api_visibility="private",
            **gpu_queue,
        )
    )

    @gpu(duration=30)
    def preview_page(photo, selected, strengths, threshold, face, brush, show_mask, request: gr.Request):
        if photo is None or not selected:
            return SKIP(), SKIP(), SKIP()  # nothing to preview yet: the button says what is missing
        renders = ctx.visitors.get(request).renders
        try:
            settings = settings_key(photo, selected, strengths, threshold, face, brush)
        except Exception as e:
            return None, message(e), photo_key(photo, face)
        order = renders.start(settings, full=False)
        if renders.stale(order, settings):
            return SKIP(), SKIP(), SKIP()
        try:
            edited = run(photo, selected, strengths, threshold, face, brush, False, request, None, preview=True)
        except Exception as e:
            edited = e
        # A full-size render or another photo came meanwhile: that is what the visitor sees.
        made_for = photo_key(photo, face)
        if renders.stale(order, settings) or not renders.shows(made_for):
            return SKIP(), SKIP(), SKIP()
        if isinstance(edited, Exception):
            return None, message(edited), made_for
        return shown(edited, False), edited.info, made_for

    preview_outputs = [tab.result, tab.info, tab.result_for]

    live: dict[str, Any] = {
        "trigger_mode": "always_last",
        "show_progress": "hidden",
        "api_visibility": "private",
        **gpu_queue,
    }
    tab.threshold.input(lambda: True, None, tab.threshold_set, queue=False, api_visibility="private")
    full: dict[str, Any] = {**live, "show_progress": "minimal"}
    threshold_preview = guarded(
        tab.threshold.input(preview_page, edit_inputs, preview_outputs, preprocess=False, **live)
    )
    # Releasing cancels the previews still under way: they would land after the full-size photo.
    threshold_edit = guarded(
        tab.threshold.release(
            edit_page, edit_inputs, edit_outputs, preprocess=False, cancels=[threshold_preview], **full
        )
    )
    brush_edit = guarded(tab.brush.apply(edit_page, edit_inputs, edit_outputs, preprocess=False, **full))

    @gpu(duration=60)
    def toggle_mask(photo, selected, strengths, threshold, face, brush, show_mask, last, request: gr.Request):
        # The latest edit, if it is of the photo and face on the page (it may be of another: a clear can
        # come before the State is written, and an example's result is not kept).
        if last is not None and last[0] == photo_key(photo, face):
            return shown(last[1], show_mask), SKIP(), SKIP(), SKIP(), SKIP(), SKIP()
        if photo is None or not selected:
            return (SKIP(),) * 6
        # No result kept for this page (an example's comes from the cache): edit once, then keep it.
        return edit_result(photo, selected, strengths, threshold, face, brush, show_mask, request, None)

    mask_edit = guarded(
        tab.show_mask.input(
            toggle_mask,
            [*edit_inputs, tab.last],
            edit_outputs,
            preprocess=False,
            api_visibility="private",
            **gpu_queue,
        )
    )

    # -- a new photo (continued): clear, cancel what runs for the last one, prepare ------------------
    in_flight: list[dict[str, Any]] = [run_edit, threshold_preview, threshold_edit, brush_edit, mask_edit]
    if tab.examples is not None and tab.examples.fn is not None:
        in_flight.append(tab.examples.load_input_event)  # a first click computes the example (lazy cache)
    unqueued: dict[str, Any] = {"queue": False, "preprocess": False, "api_visibility": "private"}
    for trigger in (tab.photo.input, tab.face.input):
        # Cancels the edits still under way for the last photo (most late results then never arrive).
        prepare_after(trigger(clear, [tab.photo, tab.face], stale, cancels=in_flight, **unqueued))
    if tab.examples is not None and tab.examples.fn is None:
        # Photo-only examples (no example edit is usable here) set the photo without an `input` event.
        prepare_after(
            tab.examples.load_input_event.then(clear, [tab.photo, tab.face], stale, cancels=in_flight, **unqueued)
        )
    elif tab.examples is not None:  # an example's photo and result come from its cache: note the photo

        def example_photo(photo, face, request: gr.Request) -> None:
            """Note the example's photo, and forget the kept edit: the example's own is not kept (the
            mask toggle edits again), and the one kept may be of this same photo with other edits."""
            ctx.visitors.get(request).renders.new_photo(photo_key(photo, face))
            return None

        guarded(tab.examples.load_input_event).then(example_photo, [tab.photo, tab.face], tab.last, **unqueued)

    # -- the ticked edits: their descriptions, their strength sliders, a suggested threshold ----------
    def ticked(selected, threshold_set: bool, request: gr.Request):
        descriptions = descriptions_markdown(ctx, selected, request)
        suggested = SKIP()
        if selected and not threshold_set:  # the first edit's own threshold, until the visitor moves it
            found = ctx.catalogue.defaults(selected[0], ctx.visitors.peek(request))
            if found:
                suggested = found[1]
        return descriptions, suggested

    tab.edits.change(
        ticked, [tab.edits, tab.threshold_set], [tab.descriptions, tab.threshold], queue=False, api_visibility="private"
    )

    def slider_events(value: str, slider: gr.Slider) -> None:
        # The slider's value goes into `strengths` first, in the page (no round trip per move), then the
        # edit reads it.
        set_strength = f"(strength, strengths) => ({{...(strengths || {{}}), {json.dumps(value)}: Number(strength)}})"
        into_strengths: dict[str, Any] = {"js": set_strength, "queue": False, "api_visibility": "private"}
        preview = guarded(
            slider.input(None, [slider, tab.strengths], tab.strengths, **into_strengths).then(
                preview_page, edit_inputs, preview_outputs, preprocess=False, **live
            )
        )
        guarded(
            slider.release(None, [slider, tab.strengths], tab.strengths, **into_strengths).then(
                edit_page, edit_inputs, edit_outputs, preprocess=False, cancels=[preview], **full
            )
        )

    tab.on_slider = slider_events  # the sliders render later, once per set of ticked edits


def strength_sliders(ctx: AppContext, edits: gr.CheckboxGroup, strengths: gr.JSON, tab: Callable[[], EditTab]):
    """One strength slider per ticked edit, rendered where this is called.

    Keyed by the edit: ticking another edit keeps the sliders already there as the visitor set them, and
    a re-ticked edit starts from the strength the visitor last gave it (kept in `strengths`)."""

    @gr.render(inputs=[edits, strengths], triggers=[edits.change])
    def sliders(selected: list[str] | None, values: dict | None, request: gr.Request):
        visitor = ctx.visitors.peek(request)
        for value in selected or []:
            found = describe(ctx, value, visitor)
            defaults = ctx.catalogue.defaults(value, visitor)
            if not found or not defaults:
                continue
            slider = gr.Slider(
                *STRENGTH_RANGE,
                value=float((values or {}).get(value, defaults[0])),
                step=0.05,
                label=f"Strength of {found[0]} (negative reverses it)",
                key=f"strength:{value}",
                interactive=True,
                elem_classes=["feat-strength"],
            )
            wire_slider = tab().on_slider
            assert wire_slider is not None, "wire_edit_tab sets it before any page loads"
            wire_slider(value, slider)

    return sliders


def example_downloads() -> Path:
    """Where the examples' edited photos are written: beside Gradio's example cache, and served as they are.

    Not in Gradio's upload cache, whose files `delete_cache` removes after hours while the cached
    example keeps pointing at them."""
    folder = get_cache_folder() / "feat-space-downloads"
    folder.mkdir(parents=True, exist_ok=True)
    gr.set_static_paths([folder])
    return folder


def example_runner(ctx: AppContext, tab: EditTab):
    """What one click on an example shows: prepare, then edit with the example's strengths (cached lazily)."""
    handlers = EditHandlers(ctx)
    downloads = example_downloads()

    @gpu(duration=60)
    @user_errors
    def example(photo: str, selected: list[str], strengths: dict, face: float):
        started = time.perf_counter()
        prepared = handlers.prepare(photo, face)
        chosen = handlers.choices(selected, strengths, None)
        edited = handlers.edit(prepared, chosen, None, None, preview=False, visitor=None, started=started)
        names = "-".join(value.split(":", 1)[-1] for value in selected)
        path = downloads / f"{Path(prepared.name).stem}-{names}.png"
        edited.after.save(path)
        return (
            (edited.before, edited.after),
            str(path),
            # the box, not the button: Gradio fails to rebuild a button with new props while caching lazily
            gr.update(visible=True),
            edited.info,
            editor_value(prepared),
            prepared.aligned,
            prepared.reconstruction,
            gr.update(visible=True),
            prepared.message,
            chosen[0][0].threshold,
            photo_key(photo, face),
        )

    outputs = [
        tab.result,
        tab.download,
        tab.download_box,
        tab.info,
        tab.brush,
        tab.aligned,
        tab.reconstruction,
        tab.faces,
        tab.photo_status,
        tab.threshold,
        tab.result_for,
    ]
    return example, outputs


__all__ = ["brush_from_editor", "describe", "example_runner", "strength_sliders", "wire_edit_tab"]
