"""The Video tab: upload or record a short clip, pick edits and strengths, watch the frames go by, and
get the edited clip beside the input, to play and download.

The clip's length is limited (`FEAT_MAX_VIDEO_SECONDS`, default 10 s: a CPU Space edits about a frame a
second): a longer clip, or one that cannot be read, is refused when it arrives and again before any
work. Results go to the visitor's own folder (removed with the tab, see `visitor_files`); a failed edit
leaves no file.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from ..env import MAX_VIDEO_SECONDS
from ..errors import FeatError
from ..hosting.spaces import gpu
from ..video import Steadiness, edit_video, probe_clip
from .context import GPU, AppContext
from .errors import user_errors

MAX_SECONDS_ENV = MAX_VIDEO_SECONDS.name
DEFAULT_MAX_SECONDS = float(MAX_VIDEO_SECONDS.default or 10)
EDIT_SLOTS = 3  # edits a clip can get at once (applied in order)
KEEP_CLIPS = 3  # a visitor's latest results kept on disk


def max_seconds() -> float:
    value = MAX_VIDEO_SECONDS.get()
    try:
        return float(value) if value else DEFAULT_MAX_SECONDS
    except ValueError:
        raise FeatError(f"{MAX_SECONDS_ENV} must be a number of seconds, got {value!r}.") from None


@dataclass
class VideoTab:
    clip: gr.Video
    about: gr.Markdown  # what was uploaded, or why it is refused
    edits: list[gr.Dropdown]
    strengths: list[gr.Slider]
    steady: gr.Checkbox
    run: gr.Button
    result: gr.Video
    download: gr.File
    message: gr.Markdown


def build_video_tab(ctx: AppContext) -> VideoTab:
    limit = max_seconds()
    gr.Markdown(
        f"Upload or record a clip of up to **{limit:g} s**: the face is followed through it and edited in every "
        "frame, steadied over time; the rest of each frame stays as it was. Frames where the face is not found "
        "pass through unchanged."
    )
    choices = ctx.catalogue.choices(None)
    with gr.Row():
        with gr.Column():
            clip = gr.Video(
                label="Your clip",
                sources=["upload", "webcam"],
                webcam_options=gr.WebcamOptions(mirror=False),  # mirroring would re-encode with a system ffmpeg
                format=None,
                elem_id="video-input",
            )
            about = gr.Markdown("", elem_id="video-about")
        with gr.Column():
            result = gr.Video(label="Edited clip", interactive=False, format=None, elem_id="video-result")
            download = gr.File(label="Download", interactive=False, elem_id="video-download")
    edits, strengths = [], []
    for i in range(EDIT_SLOTS):
        with gr.Row():
            edits.append(
                gr.Dropdown(
                    choices=choices,
                    value=choices[0][1] if i == 0 and choices else None,
                    label="Edit" if i == 0 else f"Then (optional edit {i + 1})",
                    elem_id=f"video-edit-{i}",
                )
            )
            strengths.append(gr.Slider(-3, 3, value=1.0, step=0.05, label="Strength", elem_id=f"video-strength-{i}"))
    steady = gr.Checkbox(True, label="Steady: smooth alignment, latents and masks over time", elem_id="video-steady")
    run = gr.Button("Edit clip", variant="primary", elem_id="video-run")
    message = gr.Markdown("", elem_id="video-message")
    return VideoTab(clip, about, edits, strengths, steady, run, result, download, message)


def describe(clip: str | None) -> str:
    """What the page says about a clip when it arrives: its size, length and rate, or why it is refused."""
    if not clip:
        return ""
    try:
        info = probe_clip(clip, max_seconds=max_seconds())
    except FeatError as e:
        return f"⚠️ {e}"
    rate = f", {float(info.rate):.3g} frames/s" if info.rate else ""
    sound = ", with sound" if info.audio else ""
    return f"{info.width}×{info.height}, {info.duration:.1f} s{rate}{sound}: about {info.frames} frames to edit."


def wire_video_tab(ctx: AppContext, tab: VideoTab) -> None:
    tab.clip.change(describe, [tab.clip], [tab.about], api_visibility="private", queue=False)

    @gpu(duration=120)
    @user_errors
    def run(  # one edit and strength per slot (EDIT_SLOTS): Gradio passes each component as an argument
        clip: str | None,
        edit_0: str | None,
        strength_0: float,
        edit_1: str | None,
        strength_1: float,
        edit_2: str | None,
        strength_2: float,
        steady: bool,
        request: gr.Request,
        progress: gr.Progress = gr.Progress(),  # noqa: B008
    ):
        started = time.perf_counter()
        if not clip:
            raise FeatError("Upload or record a clip first.")
        pairs = [(edit_0, strength_0), (edit_1, strength_1), (edit_2, strength_2)]
        probe_clip(clip, max_seconds=max_seconds())  # refused before any work (and before models load)
        visitor = ctx.visitors.get(request)
        chosen = []
        for value, strength in pairs:
            if value:
                choice = ctx.catalogue.resolve(value, visitor)
                chosen.append((choice, float(strength)))
        if not chosen:
            raise FeatError("Pick at least one edit.")
        folder = visitor.root / "videos"
        folder.mkdir(parents=True, exist_ok=True)
        out = folder / f"{Path(clip).stem}-edited-{int(time.time() * 1000)}.mp4"
        progress(0, desc="Preparing the models and the first frames")

        def frames(done: int, total: int) -> None:
            progress((done, total), desc="Editing frames", unit="frames")

        result = edit_video(
            ctx.session,
            clip,
            [(choice.edit, strength) for choice, strength in chosen],
            out,
            threshold=chosen[0][0].threshold,
            steadiness=None if steady else Steadiness.off(),
            max_seconds=max_seconds(),
            on_progress=frames,
        )
        for old in sorted(folder.glob("*.mp4"), key=lambda p: p.stat().st_mtime)[:-KEEP_CLIPS]:
            old.unlink(missing_ok=True)  # Gradio serves its own copy; keep the folder small
        titles = ", ".join(f"{choice.title} {strength:g}" for choice, strength in chosen)
        text = f"{titles}: {result.summary().replace(str(out), out.name)} Total {time.perf_counter() - started:.1f} s."
        return str(out), str(out), text

    tab.run.click(
        run,
        [tab.clip, *[c for pair in zip(tab.edits, tab.strengths, strict=True) for c in pair], tab.steady],
        [tab.result, tab.download, tab.message],
        api_name="edit_video",
        api_visibility="undocumented",  # the tab's own event (one dropdown and slider per slot), not the API
        concurrency_id=GPU,
        concurrency_limit=ctx.limits.gpu_slots,
    )


__all__ = ["DEFAULT_MAX_SECONDS", "MAX_SECONDS_ENV", "VideoTab", "build_video_tab", "describe", "wire_video_tab"]
