"""One training run with its clock: the loop the command line, the app and a Hugging Face Job share.

`TrainingRun` wraps a `Trainer` and adds what every caller showed on its own before: seconds per step
(the first step is left out of the rate: it pays for warm-up), time left, and how the run ended
(`RunResult`). `measure_seconds_per_step` times a few real steps of a throwaway edit, for estimates
made before anyone presses Start.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import torch

from ..editing.edit import EditConfig
from ..errors import FeatError
from ..models.arcface import IRSE50ArcFace
from ..models.stylegan2 import Generator
from .monitor import MaskHealth
from .report import seconds_left
from .settings import TrainingSettings
from .trainer import TextGuide, Trainer, TrainingFailed, TrainProgress

Outcome = Literal["done", "stopped", "failed", "nothing"]


@dataclass
class RunStep:
    """One finished step, as a person watching (or a log reader) sees it."""

    progress: TrainProgress
    elapsed: float  # seconds since the run started
    seconds_per_step: float

    @property
    def step(self) -> int:
        return self.progress.step

    @property
    def total(self) -> int:
        return self.progress.total

    @property
    def seconds_left(self) -> float:
        return seconds_left(self.seconds_per_step, self.step, self.total)


@dataclass(frozen=True)
class RunResult:
    steps_done: int
    total: int
    health: MaskHealth | None
    seconds: float
    outcome: Outcome

    @property
    def usable(self) -> bool:
        """A trained edit one may use and publish: at least a step, and a mask that is neither closed nor global."""
        return self.outcome in USABLE_OUTCOMES


USABLE_OUTCOMES: tuple[Outcome, ...] = ("done", "stopped")  # a run that ended so leaves an edit


class TrainingRun:
    """A `Trainer`'s run with its clock: seconds per step as it goes, and how it ended (`result`)."""

    def __init__(self, trainer: Trainer) -> None:
        self.trainer = trainer
        self.settings = trainer.settings
        self.result: RunResult | None = None

    def steps(self, stop: threading.Event | None = None) -> Iterator[RunStep]:
        """Train, yielding after every step; `result` says how it ended (also when a failure is raised)."""
        trainer = self.trainer
        first_step = trainer.step
        started = time.monotonic()
        after_first: float | None = None
        outcome: Outcome = "stopped"
        try:
            for progress in trainer.run(stop):
                now = time.monotonic()
                if after_first is None:
                    after_first = now
                    rate = now - started
                else:
                    rate = (now - after_first) / (progress.step - first_step - 1)
                yield RunStep(progress, now - started, rate)
            outcome = "done" if trainer.step == self.settings.steps else "stopped"
        except Exception:
            outcome = "failed"
            raise
        finally:
            if trainer.step == 0:
                outcome = "nothing"
            elif outcome == "stopped" and trainer.health is not None and not trainer.health.ok:
                outcome = "failed"  # stopped while the mask was closed or global: not an edit one can use
            self.result = RunResult(
                trainer.step, self.settings.steps, trainer.health, time.monotonic() - started, outcome
            )

    def run(self, stop: threading.Event | None = None) -> RunResult:
        for _ in self.steps(stop):
            pass
        assert self.result is not None
        return self.result


def measure_seconds_per_step(
    G: Generator,
    guide: TextGuide,
    arcface: IRSE50ArcFace,
    config: EditConfig,
    settings: TrainingSettings,
    steps: int = 2,
    stop: threading.Event | None = None,
) -> float:
    """Seconds one training step takes here: `steps` timed steps of a throwaway edit after one untimed
    (warm-up) step; the random state of the caller is left as it was. Setting `stop` ends it after the
    step under way (it raises if it stopped before two steps)."""
    probe = settings.model_copy(update={"steps": steps + 1})
    timed: list[float] = []
    with torch.random.fork_rng(devices=[]):
        run = TrainingRun(Trainer(G, guide, arcface, config, probe, preview_every=10**6))
        # A mask judged after three steps says nothing about speed: the steps were timed all the same.
        with contextlib.suppress(TrainingFailed):
            timed.extend(s.seconds_per_step for s in run.steps(stop))
    if len(timed) < 2:
        raise FeatError("Timing the training steps failed before two steps were done.")
    return timed[-1]


__all__ = ["USABLE_OUTCOMES", "Outcome", "RunResult", "RunStep", "TrainingRun", "measure_seconds_per_step"]
