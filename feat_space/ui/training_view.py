"""What the Train tab shows of a run: one loss panel per term, the mask, durations, and how long
training here would take (seconds per step measured on this machine × steps)."""

from __future__ import annotations

import contextlib
import logging
import math
import threading
from collections.abc import Iterator
from typing import Any

import pandas as pd
import torch
from PIL import Image

from ..editing.recipe import FACE_FEATURES, PRESETS
from ..editing.render import threshold_mask
from ..training.losses import loss_weights
from ..training.report import ProgressReport
from ..training.run import measure_seconds_per_step
from ..training.settings import TrainingSettings
from ..weights.roles import ModelRole
from .context import AppContext

TRAIN_MODELS = (ModelRole.GENERATOR, ModelRole.ARCFACE, ModelRole.CLIP)
LOSS_PANELS = ("total", *loss_weights(TrainingSettings()))
MAX_PLOT_POINTS = 300  # per loss: long runs are thinned so each update stays small
PROBE_PRESET = FACE_FEATURES  # a 64² feature blend: the middle of the presets' costs

log = logging.getLogger("feat_space.ui")


def panel_title(name: str, settings: TrainingSettings | None = None) -> str:
    if name == "total":
        return "total loss"
    weight = loss_weights(settings or TrainingSettings())[name]
    return f"{name} × {weight:g}"


def loss_frames(history: list[dict[str, float]], settings: TrainingSettings) -> list[pd.DataFrame]:
    """One frame per panel of `LOSS_PANELS` (each its own scale, so small terms stay readable):
    the weighted term, i.e. what it adds to the total. Long runs are thinned."""
    stride = max(1, len(history) // MAX_PLOT_POINTS)
    picked = history[::stride]
    if picked and picked[-1] is not history[-1]:
        picked.append(history[-1])  # always show the latest step
    weights = {"total": 1.0, **loss_weights(settings)}
    frames = []
    for name in LOSS_PANELS:
        rows = [{"step": r["step"], "value": r[name] * weights[name]} for r in picked if name in r]
        frame = pd.DataFrame(rows, columns=["step", "value"])
        frames.append(frame.astype({"step": "int64", "value": "float64"}))
    return frames


def mask_image(mask: torch.Tensor, side: int, threshold: float = 0.0) -> Image.Image:
    """The mask as the edit applies it at `threshold` (below it: nothing changes)."""
    pixels = threshold_mask(mask[0].clamp(0, 1), threshold).mul(255).round().byte().cpu().numpy()
    return Image.fromarray(pixels, "L").resize((side, side), Image.Resampling.BILINEAR)


def progress_status(where: str, report: ProgressReport, stop: str) -> str:
    """The Train tab's line for a reported step, here or on a job: `where` leads, `stop` says what Stop does."""
    total = report.losses.get("total", math.nan)
    loss = f"{total:.4f}" if math.isfinite(total) else "— (not a number)"  # a skipped step: its warning says why
    status = (
        f"{where}: step **{report.step}/{report.total}** · total loss "
        f"{loss} · {report.seconds_per_step:.2f} s/step · about "
        f"{duration(report.seconds_left)} left. **Stop** {stop}."
    )
    if report.judging_next:
        status += " After the last step the edit is judged on faces it never saw (a few steps' time)."
    if report.mask_mean is not None:
        status += f"\n\nMask: {report.mask_status}, {report.mask_mean:.0%} of the face."
    if report.warning:
        status += f" ⚠️ {report.warning}"
    return status


def duration(seconds: float) -> str:
    if seconds < 10:  # a tenth of a second at least: "about 0 s" says nothing
        return f"{max(seconds, 0.1):.1f} s"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


class LocalSpeed:
    """Seconds per training step on this machine: a short timed run once (in the background, the
    first time the Train tab asks), then the rate of each finished training here."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self.seconds: float | None = None
        self.source = ""
        self.by: Any = None  # the visitor whose training was timed (None: the probe)
        self.error: str | None = None
        self._started = False
        self._lock = threading.Lock()
        self._probe: threading.Thread | None = None  # the probe, while it holds a training slot
        self._make_way = threading.Event()  # a visitor's training wants the slot the probe holds
        self._held_off = 0  # visitors' trainings waiting for a slot: no probe takes one meanwhile

    @property
    def on_gpu(self) -> bool:
        return self.ctx.session.device.type == "cuda"

    def record(self, seconds_per_step: float, source: str, *, by: Any = None) -> None:
        """`by`: the visitor whose training was timed; the estimate calls it theirs only on their page."""
        with self._lock:
            self.seconds, self.source, self.by = seconds_per_step, source, by

    def start(self) -> None:
        """Measure once, in a background thread (the models load first if they have not). Only on a
        CPU: a GPU (ZeroGPU's included) is timed by the first training here instead, as a probe outside
        a training handler may not get the GPU at all."""
        with self._lock:
            if self._started or self.seconds is not None or self.on_gpu:
                return
            self._started = True
        threading.Thread(target=self._measure, name="feat-speed-probe", daemon=True).start()

    def _measure(self) -> None:
        try:
            self.ctx.ensure_models(TRAIN_MODELS)
            # The probe trains on the shared models like a visitor's training: it takes a training slot,
            # and while all are taken, or a visitor's training waits for one, it measures nothing (a
            # later `start` tries again).
            with self._lock:
                acquired = not self._held_off and self.ctx.training_slots.acquire(blocking=False)
                if not acquired:
                    self._started = False
                    return
                self._probe = threading.current_thread()
            seconds: float | None = None
            try:
                session = self.ctx.session
                G = session.generator
                config = PRESETS[PROBE_PRESET].recipe.config_for(G, "a face")
                settings = TrainingSettings()
                seconds = measure_seconds_per_step(
                    G, session.clip, session.arcface, config, settings, stop=self._make_way
                )
            except Exception:
                if not self._make_way.is_set():
                    raise
            finally:
                self.ctx.training_slots.release()  # before `_probe` is cleared: `held_off` waits for both
                with self._lock:
                    self._probe = None
                    if seconds is None and self._make_way.is_set():  # stopped for a visitor's training:
                        self._started = False  # a later `start` measures again
                    self._make_way.clear()
            if seconds is not None:
                self.record(seconds, f"two timed steps of the “{PROBE_PRESET}” preset")
        except Exception as e:  # the estimate is a courtesy: say it failed, never break the tab
            log.warning("Timing a training step failed: %r", e)
            with self._lock:
                self.error = type(e).__name__

    @property
    def holds_slot(self) -> bool:
        """The probe is timing steps, in a training slot."""
        with self._lock:
            return self._probe is not None

    @contextlib.contextmanager
    def held_off(self, timeout: float) -> Iterator[None]:
        """A visitor's Start beats the probe: inside, no probe takes a training slot, and one holding
        a slot has been stopped after its step under way and waited for (up to `timeout` s)."""
        with self._lock:
            self._held_off += 1
            probe = self._probe
            if probe is not None:  # set under the lock: it cannot outlive this probe and stop the next
                self._make_way.set()
        try:
            if probe is not None:
                probe.join(timeout)
            yield
        finally:
            with self._lock:
                self._held_off -= 1

    @property
    def measuring(self) -> bool:
        """A CPU probe is due or under way (what keeps the Train tab's timer ticking)."""
        return not self.on_gpu and self.seconds is None and self.error is None

    def text(self, steps: int, jobs_offered: bool, visitor: Any = None) -> str:
        """The estimate shown before Start, on `visitor`'s page (None: a page that trained nothing)."""
        where = "this machine's GPU" if self.on_gpu else "this machine's CPU"
        if self.seconds is None:
            if self.error:
                return f"Training here runs on {where}; timing a step failed ({self.error}), so no estimate."
            if self.on_gpu:
                return f"Training here runs on {where}: the first training here shows how long a step takes."
            return f"Training here runs on {where}. Measuring how long a step takes here…"
        total = self.seconds * steps
        source = self.source
        if self.by is not None:
            source = f"{'your' if self.by is visitor else 'the'} last {source}"
        said = (
            f"**Training here: about {duration(total)}** for {steps} step{'s' if steps != 1 else ''} "
            f"({self.seconds:.2f} s per step on {where}, measured: {source})."
        )
        if not self.on_gpu:
            said += (
                " **Hugging Face Jobs** train on a rented GPU on your account (no speed measured for it here: "
                "the job reports its own seconds per step once it runs)."
                if jobs_offered
                else " For a GPU, train from your machine: `python -m feat_space train --prompt … --on hf-jobs`."
            )
        return said
