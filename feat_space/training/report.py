"""Machine-readable progress lines: what a training prints for a watcher that only sees its log.

A Hugging Face Job's only channel back is its log, so the job's training prints one line per reported
step (`FEAT-PROGRESS {json}`) and one at the end (`FEAT-RESULT {json}`); the client reads them back
with `parse_line`. Everything else in the log stays text for people. One home for the format: both
ends import it from here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .run import RunStep

PROGRESS = "FEAT-PROGRESS "
RESULT = "FEAT-RESULT "
# After its last step a run judges its edit on faces it never saw (`Trainer.effect`): renders that cost
# about five steps (`benchmarks/train_step.py` measured 5.1x a step), paid before the last step reports.
JUDGING_STEPS = 5


def seconds_left(seconds_per_step: float, step: int, total: int) -> float:
    """Time to a run's end after `step` of `total`: the steps left, and the judging that follows the last."""
    left = total - step
    return seconds_per_step * (left + JUDGING_STEPS) if left > 0 else 0.0


@dataclass(frozen=True)
class ProgressReport:
    step: int
    total: int
    losses: dict[str, float]
    seconds_per_step: float
    mask_mean: float | None = None
    mask_status: str | None = None
    warning: str | None = None

    @property
    def seconds_left(self) -> float:
        return seconds_left(self.seconds_per_step, self.step, self.total)

    @property
    def judging_next(self) -> bool:
        """The next report comes after the last step and the edit's judging (seconds, on a CPU)."""
        return self.step == self.total - 1


@dataclass(frozen=True)
class ResultReport:
    """How the job's training ended: `outcome` (done, stopped, failed) and where the edit went."""

    outcome: str
    steps: int
    data: dict[str, Any] = field(default_factory=dict)  # repo, revision, url when it was uploaded


def progress_line(
    step: int,
    total: int,
    losses: dict[str, float],
    seconds_per_step: float,
    mask_mean: float | None = None,
    mask_status: str | None = None,
    warning: str | None = None,
) -> str:
    payload = {
        "step": step,
        "total": total,
        "losses": {k: round(float(v), 6) for k, v in losses.items()},
        "seconds_per_step": round(seconds_per_step, 4),
        "mask_mean": None if mask_mean is None else round(mask_mean, 4),
        "mask_status": mask_status,
        "warning": warning,
    }
    return PROGRESS + json.dumps(payload, ensure_ascii=False)


def report_of(step: RunStep) -> ProgressReport:
    """What a finished step reports, here or from a job: one shape for every watcher."""
    health = step.progress.health
    warnings = [w for w in (step.progress.skip_warning, health.warning if health is not None else None) if w]
    return ProgressReport(
        step.step,
        step.total,
        dict(step.progress.losses),
        step.seconds_per_step,
        health.mask_mean if health is not None else None,
        health.status if health is not None else None,
        " ".join(warnings) or None,
    )


def report_line(report: ProgressReport) -> str:
    """`report` as the line a job prints (`parse_line` reads it back)."""
    return progress_line(
        report.step,
        report.total,
        report.losses,
        report.seconds_per_step,
        report.mask_mean,
        report.mask_status,
        report.warning,
    )


def progress_text(report: ProgressReport, prefix: str = "") -> str:
    """`report` for a person at a terminal (a training here, or a job followed from its log)."""
    losses = "  ".join(f"{k} {v:.4f}" for k, v in report.losses.items())
    mask = f"  | mask {report.mask_mean:.3f} ({report.mask_status})" if report.mask_mean is not None else ""
    warn = f"  ⚠ {report.warning}" if report.warning else ""
    if report.judging_next:
        warn += "  | then the edit is judged on faces it never saw"
    return (
        f"{prefix}step {report.step}/{report.total}  {losses}{mask}  | {report.seconds_per_step:.2f} s/step, "
        f"{report.seconds_left / 60:.1f} min left{warn}"
    )


def result_line(outcome: str, steps: int, **data: Any) -> str:
    return RESULT + json.dumps({"outcome": outcome, "steps": steps, **data}, ensure_ascii=False)


def parse_line(line: str) -> ProgressReport | ResultReport | None:
    """The report a log line carries, or None for a line meant for people (or a damaged one)."""
    line = line.strip()
    try:
        if line.startswith(PROGRESS):
            d = json.loads(line[len(PROGRESS) :])
            return ProgressReport(
                step=int(d["step"]),
                total=int(d["total"]),
                losses={k: float(v) for k, v in d["losses"].items()},
                seconds_per_step=float(d["seconds_per_step"]),
                mask_mean=d.get("mask_mean"),
                mask_status=d.get("mask_status"),
                warning=d.get("warning"),
            )
        if line.startswith(RESULT):
            d = json.loads(line[len(RESULT) :])
            outcome, steps = str(d.pop("outcome")), int(d.pop("steps"))
            return ResultReport(outcome, steps, d)
    except (ValueError, KeyError, TypeError, AttributeError):
        return None  # a cut or garbled line is skipped, as a person would skip it
    return None


__all__ = [
    "PROGRESS",
    "RESULT",
    "ProgressReport",
    "ResultReport",
    "parse_line",
    "progress_line",
    "progress_text",
    "report_line",
    "report_of",
    "result_line",
]
