"""The Edit tab's events: prepare on upload, edit (button, sliders live, brush), mask toggle, examples, API.

`EditEvents` wires the laid-out tab (`edit_tab.EditTab`) to one `EditHandlers`, the page's only one:
the page, its examples and the public API (`edit_api`) share its loaded photos. Page events are
private and never raise (see `edit_handlers`); the public endpoints raise.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any, NamedTuple

import gradio as gr
from gradio.helpers import Examples
from gradio.utils import get_cache_folder

from ..editing.ranges import STRENGTH
from ..hosting.spaces import gpu
from ..session import Brush
from .catalogue import REGISTRY, USER
from .context import GPU, AppContext
from .edit_api import wire_api
from .edit_handlers import Edited, EditHandlers, Prepared, json_value, message
from .edit_images import painted, photo_path
from .edit_tab import EXAMPLE_EDITS, EXAMPLES, EditTab
from .errors import user_errors
from .result_guard import guard, photo_key
from .sliders import range_slider
from .state import Visitor

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
# Gradio's slider sends "release" (what starts the full-size render) only on pointerup or when its
# number box loses focus: a value set by keyboard (arrow keys on the slider, a typed value and Enter)
# left the low-resolution preview on screen, and the download of the previous values beside it. Such
# keys end like a drag here: the slider gets the pointerup it listens for.
KEYBOARD_RELEASE = """<script>(() => {
const KEYS = new Set(["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown", "PageUp", "PageDown", "Home", "End",
  "Enter"]);
document.addEventListener("keyup", (event) => {
  const input = event.target;
  if (!(input instanceof HTMLInputElement) || !KEYS.has(event.key)) return;
  if (!input.closest(".feat-strength, #threshold")) return;
  input.dispatchEvent(new PointerEvent("pointerup", {bubbles: true}));
}, true);
})();</script>"""
# The examples are buttons with a label: each gets its photo as a thumbnail (Gradio shows labels only),
# found by its label, so examples left out (an edit not usable here) do not shift the pictures.
EXAMPLE_THUMBNAILS = (
    """<script>(() => {const THUMBS = """
    + json.dumps({e.label: f"gradio_api/file={e.photo}" for e in EXAMPLE_EDITS})
    + """;
const add = () => document.querySelectorAll("#examples button.gallery-item").forEach((button) => {
  const src = THUMBS[button.textContent.trim()];
  if (!src || button.querySelector("img.feat-thumb")) return;
  const img = document.createElement("img");
  img.className = "feat-thumb";
  img.src = src;
  img.alt = "";  // the label beside it names the example
  button.prepend(img);
});
new MutationObserver(add).observe(document.documentElement, {subtree: true, childList: true});
})();</script>"""
)
# On a phone the picture is far below the sliders: while a strength or the threshold is dragged, the
# before/after is pinned to the half of the screen the finger is not in, so its preview is seen live.
PIN_WHILE_DRAGGING = """<script>(() => {
const PHONE = 640;
// A data attribute (Gradio scopes the page's CSS, so a class on <body> would not match; Svelte owns `class`).
const unpin = () => document.querySelectorAll("[data-feat-pin]").forEach((el) => delete el.dataset.featPin);
document.addEventListener("pointerdown", (event) => {
  const range = event.target instanceof Element && event.target.closest(".feat-strength input, #threshold input");
  const result = document.querySelector("#result");
  if (!range || window.innerWidth > PHONE || !result || !result.querySelector("img")) return;
  const low = range.getBoundingClientRect().top > window.innerHeight / 2;
  result.dataset.featPin = low ? "top" : "bottom";
}, true);
for (const name of ["pointerup", "pointercancel"]) document.addEventListener(name, unpin, true);
})();</script>"""
# The before/after handle: Gradio's ImageSlider lets it travel the whole box, past a narrower photo's
# edges (the split itself stops at them), and offers no keyboard. Here the handle is drawn within the
# photo, and it is focusable: arrow keys move it (as a drag of it by 5 % of the photo; Home / End to the
# edges), through the mouse events its drag listens to.
COMPARE_HANDLE = r"""<script>(() => {
const handleOf = (root) => root.querySelector("[data-testid=slider]");
const photoOf = (root) => root.querySelector("img");
// Where the photo is drawn: the <img> box is the slider's, the photo is fitted inside it (contain).
const drawn = (img) => {
  const box = img.getBoundingClientRect();
  if (!img.naturalWidth || !img.naturalHeight) return box;
  const scale = Math.min(box.width / img.naturalWidth, box.height / img.naturalHeight);
  const width = img.naturalWidth * scale;
  return {left: box.left + (box.width - width) / 2, right: box.left + (box.width + width) / 2, width};
};
const clamp = (root) => {
  const handle = handleOf(root), photo = photoOf(root);
  if (!handle || !photo) return;
  const box = handle.parentElement.getBoundingClientRect(), img = drawn(photo);
  const match = /translateX\(([-\d.]+)px\)/.exec(handle.style.transform || "");
  if (!match || !img.width) return;
  const lo = img.left - box.left, hi = img.right - box.left, x = Number(match[1]);
  const kept = Math.min(Math.max(x, lo), hi);
  if (Math.abs(kept - x) > 0.5) handle.style.transform = `translateX(${kept}px)`;
};
const keyed = (root) => {
  const handle = handleOf(root);
  if (!handle || handle.dataset.featKeys) return;
  handle.dataset.featKeys = "1";
  handle.tabIndex = 0;
  handle.setAttribute("role", "slider");
  handle.setAttribute("aria-label", "Before / after divider: arrow keys move it");
  handle.addEventListener("keydown", (event) => {
    const photo = photoOf(root);
    if (!photo) return;
    const img = drawn(photo), at = handle.getBoundingClientRect();
    const x = at.left + at.width / 2, y = at.top + at.height / 2, step = img.width * 0.05;
    const to = {ArrowLeft: x - step, ArrowRight: x + step, ArrowDown: x - step, ArrowUp: x + step,
      Home: img.left, End: img.right}[event.key];
    if (to === undefined) return;
    event.preventDefault();
    const mouse = (type, clientX, target) => target.dispatchEvent(new MouseEvent(type, {bubbles: true,
      cancelable: true, view: window, clientX, clientY: y, button: 0}));
    mouse("mousedown", x, handle);
    mouse("mousemove", Math.min(Math.max(to, img.left), img.right), window);
    mouse("mouseup", Math.min(Math.max(to, img.left), img.right), window);
  });
};
const watch = () => document.querySelectorAll("#result").forEach((root) => { keyed(root); clamp(root); });
new MutationObserver(watch).observe(document.documentElement, {subtree: true, childList: true, attributes: true,
  attributeFilter: ["style", "src"]});
})();</script>"""
EXAMPLE_OUTPUTS_VERSION = 2  # bump when what an example returns changes meaning (its cache is then redone)


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


class Settings(NamedTuple):
    """What decides an edit's result on the page (a preview of the same settings as a full render is stale)."""

    photo: str | None
    edits: tuple[str, ...]
    strengths: tuple[tuple[str, float], ...]
    threshold: Any
    face: Any
    brush: tuple  # each painted state of the brush arrives as new files: their paths


def settings_of(photo, selected, strengths, threshold, face, brush) -> Settings:
    layers = brush.get("layers") or [] if isinstance(brush, dict) else []
    return Settings(
        path_of(photo),
        tuple(selected or ()),
        tuple(sorted(ticked_strengths(selected, strengths).items())),
        threshold,
        face,
        tuple(layer.get("path") if isinstance(layer, dict) else id(layer) for layer in layers),
    )


def values_of(selected, strengths, threshold) -> tuple:
    """The edits, strengths and threshold on screen (a brush change renders full size at once)."""
    return (tuple(selected or ()), tuple(sorted(ticked_strengths(selected, strengths).items())), threshold)


def shown(edited: Edited, show_mask: bool):
    """The before/after pair of `edited`, with the mask tinted in or not."""
    return edited.before, edited.overlay() if show_mask else edited.after


class EditEvents:
    """The Edit tab's events, over the page's one `EditHandlers`.

    Each event is a method; `wire()` hangs them on the tab's components (and fills the places the
    layout left for the strength sliders and the examples)."""

    def __init__(self, ctx: AppContext, tab: EditTab, handlers: EditHandlers) -> None:
        self.ctx, self.tab, self.handlers = ctx, tab, handlers
        self.gpu_queue: dict[str, Any] = {"concurrency_id": GPU, "concurrency_limit": ctx.limits.gpu_slots}
        # What a result shows (the page clears these when they land for another photo, see `result_guard`),
        # then (key, `Edited`) of the visitor's latest edit, for the mask toggle.
        self.shown_outputs = [tab.result, tab.download, tab.download_box, tab.info, tab.result_for]
        self.edit_outputs = [*self.shown_outputs, tab.last]
        self.edit_inputs = [tab.photo, tab.edits, tab.strengths, tab.threshold, tab.face, tab.brush, tab.show_mask]
        # A preview hides the download: it is of the last full-size render, not of the values on screen.
        self.preview_outputs = [tab.result, tab.info, tab.result_for, tab.download_box]
        # Slider and threshold moves: only the last one counts, and no progress covers the result.
        self.live: dict[str, Any] = {
            "trigger_mode": "always_last",
            "show_progress": "hidden",
            "api_visibility": "private",
            **self.gpu_queue,
        }
        self.full: dict[str, Any] = {**self.live, "show_progress": "minimal"}
        # The handlers that run models, through ZeroGPU's decorator (see `spaces`).
        self.prepare_gpu = gpu(duration=60)(self.prepare_page)
        self.edit_gpu = gpu(duration=60)(self.edit_page)
        self.preview_gpu = gpu(duration=30)(self.preview_page)
        self.toggle_gpu = gpu(duration=60)(self.toggle_mask)

    def wire(self) -> None:
        tab = self.tab
        with tab.examples_here:
            tab.examples = self.build_examples()
        with tab.strengths_here:
            gr.render(inputs=[tab.edits, tab.strengths], triggers=[tab.edits.change])(self.sliders)
        in_flight = self.wire_edits()
        self.wire_new_photo(in_flight)
        tab.edits.change(
            self.ticked,
            [tab.edits, tab.threshold_set],
            [tab.descriptions, tab.threshold],
            queue=False,
            api_visibility="private",
        )

    def guarded(self, event: Any) -> Any:
        """`event`, followed by the page's check that its result is of the photo on the page."""
        tab = self.tab
        guard(event, tab.result_for, tab.photo, tab.face, self.shown_outputs)
        return event

    # -- a new photo: clear what the previous one produced, then prepare it ----------------------------

    def clear(self, photo, face, request: gr.Request):
        # Recorded at once (unqueued): what is still running or queued for the last photo is not sent.
        self.ctx.visitors.get(request).renders.new_photo(photo_key(photo, face))
        return None, None, gr.Column(visible=False), "", "", None, None, None, None, gr.Column(visible=False), ""

    def prepare_page(self, photo, face, request: gr.Request, progress: gr.Progress = gr.Progress()):  # noqa: B008
        renders = self.ctx.visitors.get(request).renders
        if photo is None:
            return None, None, None, gr.Column(visible=False), ""
        prepared: Prepared | Exception
        try:
            prepared = self.handlers.prepare(photo, face, progress)
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

    def example_photo(self, photo, face, request: gr.Request) -> None:
        """Note the example's photo, and forget the kept edit: the example's own is not kept (the
        mask toggle edits again), and the one kept may be of this same photo with other edits."""
        self.ctx.visitors.get(request).renders.new_photo(photo_key(photo, face))
        return None

    def wire_new_photo(self, in_flight: list[Any]) -> None:
        """Clear, cancel what runs for the last photo, prepare the new one."""
        tab = self.tab
        stale = [*self.edit_outputs, tab.brush, tab.aligned, tab.reconstruction, tab.faces, tab.photo_status]
        if tab.examples is not None and tab.examples.fn is not None:
            in_flight.append(tab.examples.load_input_event)  # a first click computes the example (lazy cache)
        unqueued: dict[str, Any] = {"queue": False, "preprocess": False, "api_visibility": "private"}

        def prepare_after(step: Any) -> None:
            step.then(
                self.prepare_gpu,
                [tab.photo, tab.face],
                [tab.brush, tab.aligned, tab.reconstruction, tab.faces, tab.photo_status],
                preprocess=False,  # raw upload: see `edit_images.photo_path`
                show_progress_on=[tab.photo_status],
                api_visibility="private",
                **self.gpu_queue,
            )

        for trigger in (tab.photo.input, tab.face.input):
            # Cancels the edits still under way for the last photo (most late results then never arrive).
            prepare_after(trigger(self.clear, [tab.photo, tab.face], stale, cancels=in_flight, **unqueued))
        if tab.examples is not None and tab.examples.fn is None:
            # Photo-only examples (no example edit is usable here) set the photo without an `input` event.
            prepare_after(
                tab.examples.load_input_event.then(
                    self.clear, [tab.photo, tab.face], stale, cancels=in_flight, **unqueued
                )
            )
        elif tab.examples is not None:  # an example's photo and result come from its cache: note the photo
            self.guarded(tab.examples.load_input_event).then(
                self.example_photo, [tab.photo, tab.face], tab.last, **unqueued
            )

    # -- editing: the button, the sliders (live previews, full size on release), the brush ------------

    def run(self, photo, selected, strengths, threshold, face, brush, request, progress, *, preview: bool) -> Edited:
        started = time.perf_counter()
        visitor = self.ctx.visitors.get(request)
        prepared = self.handlers.load(photo, face, progress)
        chosen = self.handlers.choices(selected, ticked_strengths(selected, strengths), visitor)
        if progress is not None:
            progress(0.7, desc=f"Applying {', '.join(c.title for c, _ in chosen)}")
        return self.handlers.edit(
            prepared,
            chosen,
            threshold,
            brush_from_editor(brush),
            preview=preview,
            visitor=visitor,
            started=started,
        )

    def edit_page(
        self,
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
        renders = self.ctx.visitors.get(request).renders
        try:  # the settings read the strengths too: a bad value is a message, like any other
            renders.start(settings_of(photo, selected, strengths, threshold, face, brush), full=True)
            edited: Edited | Exception = self.run(
                photo, selected, strengths, threshold, face, brush, request, progress, preview=False
            )
        except Exception as e:
            edited = e
        made_for = photo_key(photo, face)  # errors too: one for the last photo is not shown beside this one
        if not renders.shows(made_for):  # the visitor gave another photo (or face) meanwhile
            return (SKIP(),) * 6
        if isinstance(edited, Exception):
            return None, None, gr.Column(visible=False), message(edited), made_for, None
        outputs = shown(edited, show_mask), str(edited.download), gr.Column(visible=True), edited.info
        kept = (made_for, values_of(selected, strengths, threshold), edited)
        return *outputs, made_for, kept

    def preview_page(self, photo, selected, strengths, threshold, face, brush, show_mask, request: gr.Request):
        if photo is None or not selected:
            return SKIP(), SKIP(), SKIP(), SKIP()  # nothing to preview yet: the button says what is missing
        renders = self.ctx.visitors.get(request).renders
        hidden = gr.Column(visible=False)
        try:
            settings = settings_of(photo, selected, strengths, threshold, face, brush)
        except Exception as e:
            return None, message(e), photo_key(photo, face), hidden
        order = renders.start(settings, full=False)
        if renders.stale(order, settings):
            return SKIP(), SKIP(), SKIP(), SKIP()
        try:
            edited: Edited | Exception = self.run(
                photo, selected, strengths, threshold, face, brush, request, None, preview=True
            )
        except Exception as e:
            edited = e
        # A full-size render or another photo came meanwhile: that is what the visitor sees.
        made_for = photo_key(photo, face)
        if renders.stale(order, settings) or not renders.shows(made_for):
            return SKIP(), SKIP(), SKIP(), SKIP()
        if isinstance(edited, Exception):
            return None, message(edited), made_for, hidden
        return shown(edited, False), edited.info, made_for, hidden

    def toggle_mask(self, photo, selected, strengths, threshold, face, brush, show_mask, last, request: gr.Request):
        # The latest edit, if it is of the photo and face on the page (it may be of another: a clear can
        # come before the State is written, and an example's result is not kept).
        # And made with the values on screen: after a preview of others, the overlay is of those.
        if last is not None and last[:2] == (photo_key(photo, face), values_of(selected, strengths, threshold)):
            return shown(last[2], show_mask), SKIP(), SKIP(), SKIP(), SKIP(), SKIP()
        if photo is None or not selected:
            return (SKIP(),) * 6
        # No result kept for this page (an example's comes from the cache): edit once, then keep it.
        return self.edit_page(photo, selected, strengths, threshold, face, brush, show_mask, request, None)

    def wire_edits(self) -> list[Any]:
        """The button, the threshold, the brush and the mask toggle; the events a new photo cancels."""
        tab, inputs, outputs = self.tab, self.edit_inputs, self.edit_outputs
        run_edit = self.guarded(
            tab.run.click(
                self.edit_gpu,
                inputs,
                outputs,
                preprocess=False,
                js=SHOW_RESULTS,
                api_visibility="private",
                **self.gpu_queue,
            )
        )
        tab.threshold.input(lambda: True, None, tab.threshold_set, queue=False, api_visibility="private")
        threshold_preview = self.guarded(
            tab.threshold.input(self.preview_gpu, inputs, self.preview_outputs, preprocess=False, **self.live)
        )
        # Releasing cancels the previews still under way: they would land after the full-size photo.
        threshold_edit = self.guarded(
            tab.threshold.release(
                self.edit_gpu, inputs, outputs, preprocess=False, cancels=[threshold_preview], **self.full
            )
        )
        brush_edit = self.guarded(tab.brush.apply(self.edit_gpu, inputs, outputs, preprocess=False, **self.full))
        mask_edit = self.guarded(
            tab.show_mask.input(
                self.toggle_gpu,
                [*inputs, tab.last],
                outputs,
                preprocess=False,
                api_visibility="private",
                **self.gpu_queue,
            )
        )
        return [run_edit, threshold_preview, threshold_edit, brush_edit, mask_edit]

    # -- the ticked edits: their descriptions, their strength sliders, a suggested threshold ------------

    def ticked(self, selected, threshold_set: bool, request: gr.Request):
        ctx = self.ctx
        descriptions = descriptions_markdown(ctx, selected, request)
        suggested = SKIP()
        if selected and not threshold_set:  # the first edit's own threshold, until the visitor moves it
            found = ctx.catalogue.defaults(selected[0], ctx.visitors.peek(request))
            if found:
                suggested = found[1]
        return descriptions, suggested

    def sliders(self, selected: list[str] | None, values: dict | None, request: gr.Request) -> None:
        """One strength slider per ticked edit, rendered in the tab's `strengths_here` (`gr.render`).

        Keyed by the edit: ticking another edit keeps the sliders already there as the visitor set them,
        and a re-ticked edit starts from the strength the visitor last gave it (kept in `strengths`)."""
        ctx = self.ctx
        visitor = ctx.visitors.peek(request)
        for value in selected or []:
            found = describe(ctx, value, visitor)
            defaults = ctx.catalogue.defaults(value, visitor)
            if not found or not defaults:
                continue
            slider = range_slider(
                STRENGTH,
                float((values or {}).get(value, defaults[0])),
                label=f"Strength of {found[0]} (negative reverses it)",
                key=f"strength:{value}",
                interactive=True,
                elem_classes=["feat-strength"],
            )
            self.wire_slider(value, slider)

    def wire_slider(self, value: str, slider: gr.Slider) -> None:
        """A move previews, a release renders full size. The strength goes into the page's strengths in
        the browser (no server round trip per move), then the edit reads it."""
        tab = self.tab
        set_strength = f"(strength, strengths) => ({{...(strengths || {{}}), {json.dumps(value)}: Number(strength)}})"
        into_strengths: dict[str, Any] = {"js": set_strength, "queue": False, "api_visibility": "private"}
        preview = self.guarded(
            slider.input(None, [slider, tab.strengths], tab.strengths, **into_strengths).then(
                self.preview_gpu, self.edit_inputs, self.preview_outputs, preprocess=False, **self.live
            )
        )
        self.guarded(
            slider.release(None, [slider, tab.strengths], tab.strengths, **into_strengths).then(
                self.edit_gpu, self.edit_inputs, self.edit_outputs, preprocess=False, cancels=[preview], **self.full
            )
        )

    # -- the examples: one click shows the edited photo ----------------------------------------------

    def build_examples(self) -> Examples:
        """One click: photo, edits and strengths go in, the finished result comes out (computed on the
        first click of each example, then served from Gradio's cache: nothing is computed at start-up)."""
        tab = self.tab
        usable = {value for _, value in self.ctx.catalogue.choices(None)}
        ready = [e for e in EXAMPLE_EDITS if set(e.edits) <= usable]
        if not ready:  # no example edit can run here (e.g. none published yet): the photos alone
            return gr.Examples(
                examples=[[p] for p in EXAMPLES], inputs=[tab.photo], label="Example photos (public domain)"
            )
        outputs: list[Any] = [
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
        examples = gr.Examples(
            # The face number is an input (always 0): the click sets it at once, with the photo.
            examples=[[e.photo, list(e.edits), dict(zip(e.edits, e.strengths, strict=True)), 0] for e in ready],
            inputs=[tab.photo, tab.edits, tab.strengths, tab.face],
            outputs=outputs,
            fn=gpu(duration=60)(user_errors(self.example)),
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

    def example(self, photo: str, selected: list[str], strengths: dict, face: float):
        """What one click on an example shows: prepare, then edit with the example's strengths."""
        started = time.perf_counter()
        handlers = self.handlers
        prepared = handlers.prepare(photo, face)
        chosen = handlers.choices(selected, strengths, None)
        edited = handlers.edit(prepared, chosen, None, None, preview=False, visitor=None, started=started)
        names = "-".join(value.split(":", 1)[-1] for value in selected)
        path = example_downloads() / f"{Path(prepared.name).stem}-{names}.png"
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


def wire_edit_tab(ctx: AppContext, tab: EditTab) -> EditHandlers:
    """The tab's events, its examples and the public API (`edit_api`), over one `EditHandlers`."""
    handlers = EditHandlers(ctx)
    EditEvents(ctx, tab, handlers).wire()
    wire_api(ctx, handlers)
    return handlers


def example_downloads() -> Path:
    """Where the examples' edited photos are written: beside Gradio's example cache, and served as they are.

    Not in Gradio's upload cache, whose files `delete_cache` removes after hours while the cached
    example keeps pointing at them."""
    folder = get_cache_folder() / "feat-space-downloads"
    folder.mkdir(parents=True, exist_ok=True)
    gr.set_static_paths([folder])
    return folder


def versioned_cache(examples: Examples, outputs: list) -> None:
    """Cache the examples in a folder named after what they return (Gradio reads an older cache of other
    outputs column by column, and fails or shows the wrong values): a change starts a new cache."""
    signature = f"v{EXAMPLE_OUTPUTS_VERSION}:" + ",".join(type(o).__name__ for o in outputs)
    digest = hashlib.sha256(signature.encode()).hexdigest()[:8]
    folder = Path(examples.cached_folder)
    examples.cached_folder = folder.with_name(f"{folder.name}-{digest}")
    examples.cached_file = examples.cached_folder / "log.csv"
    examples.cached_indices_file = examples.cached_folder / "indices.csv"


__all__ = ["EditEvents", "brush_from_editor", "describe", "wire_edit_tab"]
