"""What a check found: one line per thing checked, with its status and, for a failure, what to do."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

OK, FAIL, INFO, SKIP = "ok", "FAIL", "info", "skip"  # INFO: reported, not judged (e.g. random models)


@dataclass(frozen=True)
class Finding:
    step: str  # "model files", "layout", "loading", "reconstruction", "edits", "balance probe", "cuda"
    subject: str  # what was checked: a source, a model, a photo, an op
    status: str  # OK, FAIL, INFO or SKIP
    text: str  # what was found, with the numbers
    fix: str = ""  # for a failure: what to do about it
    metrics: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        """One line for a terminal or a log (a job's log shows these)."""
        fix = f" -> {self.fix}" if self.fix else ""
        return f"[{self.status:4}] {self.step}: {self.subject}: {self.text}{fix}"


__all__ = ["FAIL", "INFO", "OK", "SKIP", "Finding"]
