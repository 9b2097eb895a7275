"""Training on this machine from the Train tab: the shared entry point (`registry.entry_training`)
streamed to the page, one visitor at a time per training slot.

Its updates have the shape `training_turn` describes.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator

import gradio as gr

from ..errors import FeatError
from ..hosting.spaces import gpu
from ..registry.entry_training import EntryTraining
from ..registry.schema import EditEntry
from ..session import tensor_to_image
from ..training.report import report_of
from .catalogue import user_value
from .context import AppContext
from .errors import errors_as_text
from .state import TrainedEdit, Visitor
from .training_form import training_entry
from .training_turn import add_trained, begin, end, finish_update, new_edit_folder, status_only
from .training_view import TRAIN_MODELS, LocalSpeed, loss_frames, mask_image, progress_status

STREAM_EVERY = 0.5  # s: the fastest the status and plots are refreshed (previews and the end always are)
PREVIEW_SIDE = 256
PROBE_WAIT_S = 180  # the longest Start waits for the speed probe to end its step (a CPU step of the real models)


def make_local_handler(ctx: AppContext, speed: LocalSpeed) -> Callable[..., Iterator[tuple]]:
    session = ctx.session

    @gpu(duration=300)
    @errors_as_text(status_only)  # beside Start, as the Edit tab's messages: no error badge on every panel
    def train(
        prompt: str,
        name: str | None,
        region: str,
        steps: float,
        base: str | None,
        threshold: float,
        request: gr.Request,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 - Gradio's way to ask for progress
    ):
        entry = training_entry(ctx, prompt, name, region, int(steps), base, threshold)
        visitor = ctx.visitors.get(request)
        begin(visitor)
        try:
            acquired = ctx.training_slots.acquire(blocking=False)
            if not acquired:  # perhaps the speed probe has the slot: it stops for a visitor's training
                if speed.holds_slot:
                    yield status_only("Stopping this machine's speed measurement after its step under way…")
                with speed.held_off(timeout=PROBE_WAIT_S):
                    acquired = ctx.training_slots.acquire(blocking=False)
            if not acquired and speed.holds_slot:
                raise FeatError(
                    "This machine's speed measurement is still finishing a step. Press Start again in a minute."
                )
            if not acquired:
                raise FeatError(
                    "Another visitor is training an edit right now, and this hardware trains one at a time. Try "
                    "again in a few minutes, or train on your own machine: "
                    f'python -m feat_space train --prompt "{entry.prompt}" --region "{entry.region}".'
                )
            try:
                yield from _run(entry, visitor, progress)
            finally:
                ctx.training_slots.release()
        finally:
            end(visitor)

    def _run(entry: EditEntry, visitor: Visitor, progress: gr.Progress):
        skip = gr.skip()
        ctx.ensure_models(TRAIN_MODELS, progress)
        settings = entry.training
        threshold = entry.defaults.mask_threshold
        folder = new_edit_folder(visitor, entry.name)
        try:
            training = EntryTraining(
                session.generator,
                session.clip,
                session.arcface,
                entry,
                folder,
                checkpoint_every=max(200, settings.steps),
            )
            progress((0, settings.steps), desc="First step", unit="steps")
            yield status_only(f"Training “{entry.prompt}” ({settings.steps} steps)…")
            last_yield = 0.0
            rate = None
            for s in training.steps(visitor.stop, mask_threshold=threshold):
                p = s.progress
                rate = s.seconds_per_step
                progress((p.step, p.total), desc=f"Training “{entry.prompt}”", unit="steps")
                now = time.monotonic()
                last = p.step >= p.total - 1  # the last step and the judging are said as they come
                if p.preview is None and not last and not p.skipped and now - last_yield < STREAM_EVERY:
                    continue
                last_yield = now
                status = progress_status(f"Training “{entry.prompt}”", report_of(s), "keeps what is learned")
                preview = (
                    tensor_to_image(p.preview).resize((PREVIEW_SIDE, PREVIEW_SIDE)) if p.preview is not None else skip
                )
                mask = mask_image(p.preview_mask, PREVIEW_SIDE, threshold) if p.preview_mask is not None else skip
                yield status, *loss_frames(p.history, settings), preview, mask, skip, skip, skip
        except BaseException:  # failed, or the stream was closed: an edit of this name stays as it was
            shutil.rmtree(folder, ignore_errors=True)
            raise
        result = training.result
        assert result is not None  # the loop ended, so the run recorded how
        if rate is not None and result.steps_done > 1:  # the rate leaves out the first step's warm-up
            speed.record(rate, f"training here, {result.steps_done} steps", by=visitor)
        if result.outcome == "nothing":
            shutil.rmtree(folder, ignore_errors=True)
            yield status_only("Stopped before the first step finished: nothing was trained.")
            return
        if not result.usable:  # stopped while the mask was failing
            shutil.rmtree(folder, ignore_errors=True)
            warning = result.health.warning if result.health else ""
            yield status_only(f"Stopped at step {result.steps_done}, but the edit is not usable: {warning}")
            return
        key = user_value(entry.name)
        trained = TrainedEdit(key=key, entry=training.entry, folder=folder, steps_done=result.steps_done)
        add_trained(visitor, trained)  # retrained: it replaces the old one (moving to the end)
        how = "Trained" if result.outcome == "done" else f"Stopped at step {result.steps_done} of {result.total};"
        kept = "saved to your account" if visitor.keep is not None else "for this browser tab only"
        status = (
            f"**Done.** {how} “{entry.title}” is ready: it is in your edits on the **Edit** tab as "
            f"“★ {entry.title}” ({kept}). Export its YAML or publish it below."
        )
        if result.health is not None:
            status += f" Its mask covers {result.health.mask_mean:.0%} of the face (moving average at the end)."
        verdict = training.trainer.verdict
        if verdict is not None and verdict.message:  # e.g. a run too short to judge by its effect
            status += f" {verdict.message}"
        yield status, *loss_frames(training.trainer.history, settings), skip, skip, *finish_update(ctx, visitor, key)

    return train
