"""Training a registry entry into an edit folder: the one entry point of the CLI, the app and jobs.

It writes the draft `edit.yaml` before the first step (so an interrupted folder says what it is),
runs `training.TrainingRun`, and rewrites the draft at the end with the steps actually trained and the
mask threshold the edit is previewed with, so the exported YAML says what was done.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

from ..models.arcface import IRSE50ArcFace
from ..models.stylegan2 import Generator
from ..training.run import RunResult, RunStep, TrainingRun
from ..training.trainer import TextGuide, Trainer
from .drafts import trained_entry, write_draft
from .schema import EditEntry


class EntryTraining:
    def __init__(
        self,
        G: Generator,
        guide: TextGuide,
        arcface: IRSE50ArcFace,
        entry: EditEntry,
        folder: str | Path,
        *,
        resume: bool = False,
        preview_every: int | None = None,
        checkpoint_every: int = 200,
    ) -> None:
        self.folder = Path(folder)
        self.entry = entry  # after training: the entry as trained
        config = entry.recipe.config_for(G, entry.prompt, strength=entry.defaults.strength)
        trainer = Trainer(
            G,
            guide,
            arcface,
            config,
            entry.training,
            output_dir=self.folder,
            resume=resume,
            preview_every=preview_every or max(1, entry.training.steps // 20),
            checkpoint_every=checkpoint_every,
        )
        self.run = TrainingRun(trainer)
        self.folder.mkdir(parents=True, exist_ok=True)
        write_draft(self.folder, entry)

    @property
    def trainer(self) -> Trainer:
        return self.run.trainer

    def steps(self, stop: threading.Event | None = None, mask_threshold: float | None = None) -> Iterator[RunStep]:
        """Train (see `TrainingRun.steps`); at the end the draft records what was trained."""
        try:
            yield from self.run.steps(stop)
        finally:
            result = self.run.result
            if result is not None and result.steps_done > 0:
                self.entry = trained_entry(self.entry, result.steps_done, mask_threshold)
                write_draft(self.folder, self.entry)

    @property
    def result(self) -> RunResult | None:
        return self.run.result


__all__ = ["EntryTraining"]
