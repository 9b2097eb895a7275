"""How the loss terms weigh against each other: each term's gradient on the latent offset and the mask.

The guide's gradient is rescaled by a measured scale (docs/training.md) while L2 and identity are
raw, so with real CLIP and the real generator their balance cannot be known in advance. The probe
makes it visible in a minute on a CPU: it builds the run's `Trainer` (same settings, same first
latents), measures every weighted term's gradient on the latent offset at step 0, trains a few dozen steps, and measures
again. A term whose gradient dwarfs the guide's (or vanishes next to it) is what to reweigh first.

    report = balance_probe(G, guide, arcface, config, settings, steps=30)
    print("\\n".join(report.lines()))            # or report.markdown()
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from ..editing.edit import EditConfig
from ..errors import FeatError
from ..models.arcface import IRSE50ArcFace
from ..models.stylegan2 import Generator
from .settings import TrainingSettings
from .trainer import TextGuide, Trainer, TrainingFailed
from .verdict import BROKEN_STEPS, BROKEN_WINDOW


@dataclass(frozen=True)
class TermGradient:
    """RMS of one weighted term's gradient on the mapped W+ offset Δ (the mask terms have none there)."""

    name: str
    weight: float  # as applied at that step (the area's warm-up and the change term's gate included)
    on_delta: float


@dataclass(frozen=True)
class BalanceReport:
    before: list[TermGradient]  # at step 0
    after: list[TermGradient]  # after `steps` training steps
    steps: int
    seconds: float

    def ratio_to_guide(self, when: list[TermGradient]) -> dict[str, float]:
        """Each term's gradient on Δ relative to the guide's (clip) at that moment (nan when the guide's is 0)."""
        guide = next(t.on_delta for t in when if t.name == "clip")
        return {t.name: t.on_delta / guide if guide > 0 else float("nan") for t in when}

    def _rows(self) -> list[tuple[str, ...]]:
        rows: list[tuple[str, ...]] = []
        ratios = (self.ratio_to_guide(self.before), self.ratio_to_guide(self.after))
        for b, a in zip(self.before, self.after, strict=True):
            rows.append(
                (
                    b.name,
                    f"{b.weight:g}",
                    f"{b.on_delta:.3g}",
                    f"{a.on_delta:.3g}",
                    f"{ratios[0][b.name]:.3g}x",
                    f"{ratios[1][b.name]:.3g}x",
                )
            )
        return rows

    def _header(self) -> tuple[str, ...]:
        n = self.steps
        return ("term", "weight", "Δ step 0", f"Δ step {n}", "/guide 0", f"/guide {n}")

    def lines(self) -> list[str]:
        """A plain-text table (gradient RMS of each weighted term) with a line that says how to read it."""
        table = [self._header(), *self._rows()]
        widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
        out = [
            "  ".join(cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in enumerate(zip(r, widths, strict=True)))
            for r in table
        ]
        out.append(
            f"Gradient RMS of each weighted term on the mapped W+ offset Δ, at step 0 and after "
            f"{self.steps} steps ({self.seconds:.0f} s). '/guide' is the term's pull on Δ relative to the guide's: "
            "far above 1 the term holds the edit back more than the prompt pulls it; far below, it does nothing. "
            "The mask terms (area, tv) act on the mask only."
        )
        return out

    def markdown(self) -> str:
        header = self._header()
        rows = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
        rows += ["| " + " | ".join(r) + " |" for r in self._rows()]
        return "\n".join(rows)


def _gradients(trainer: Trainer, step: int) -> list[TermGradient]:
    """Each weighted term's gradient RMS on Δ (the mapped entries), for the latents of `step`."""
    gradients = trainer.term_gradients(trainer.sample_wplus(step))
    return [TermGradient(name, weight, on_delta) for name, (weight, on_delta) in gradients.items()]


def balance_of(trainer: Trainer, steps: int = 30) -> BalanceReport:
    """Probe an existing trainer (it trains `steps` steps: use a throwaway one). A training that breaks (too
    many steps not finite, `Trainer.train_step`) ends the probe with a `FeatError` naming the terms at fault."""
    started = time.monotonic()
    before = _gradients(trainer, trainer.step)
    for _ in range(steps):
        try:
            trainer.train_step()
        except TrainingFailed as failed:
            if failed.verdict.status != "broken":
                raise
            # A step's history leaves out what was not finite: what is missing names the culprit.
            last = trainer.history[-1]
            bad = [t.name for t in before if t.name not in last]
            what = (
                f"the {', '.join(bad)} term{'s were' if len(bad) > 1 else ' was'} not a finite number (inf or NaN)"
                if bad
                else "every term was finite, but a gradient was not (inf or NaN)"
            )
            raise FeatError(
                f"The probe stopped at step {trainer.step}: {what} on {BROKEN_STEPS} of the last {BROKEN_WINDOW} "
                "steps. Check that the guide gives finite losses for these images, or lower mapper_learning_rate "
                "and attention_learning_rate."
            ) from None
    after = _gradients(trainer, trainer.step)
    return BalanceReport(before, after, steps, time.monotonic() - started)


def balance_probe(
    G: Generator,
    guide: TextGuide,
    arcface: IRSE50ArcFace,
    config: EditConfig,
    settings: TrainingSettings,
    steps: int = 30,
) -> BalanceReport:
    """The balance of the loss terms of a training with these settings: a throwaway edit trained `steps`
    steps (nothing is saved; the caller's random state is left as it was)."""
    probe = settings.model_copy(update={"steps": max(settings.steps, steps)})
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(settings.seed)
        trainer = Trainer(G, guide, arcface, config, probe, preview_every=10**9)
        return balance_of(trainer, steps)


__all__ = ["BalanceReport", "TermGradient", "balance_of", "balance_probe"]
