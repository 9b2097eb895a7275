"""The range and default of each value a person sets on an edit: its strength and its mask threshold.

One home for both: the Edit and Train tabs' sliders, the app's API, the command line, `edit_photo`
and the registry's YAML schema all read them here, so a value one of them accepts the others accept.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..errors import FeatError


@dataclass(frozen=True)
class Range:
    """A closed interval [low, high] with a default and the step a slider moves by."""

    label: str  # what a person calls the value
    low: float
    high: float
    default: float
    step: float
    hint: str  # what the value does, said where it is refused

    def check(self, value: Any, what: str | None = None) -> float:
        """`value` as a float in range, or a `FeatError` naming the range (`what`: the value's name there)."""
        name = what or f"The {self.label}"
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise FeatError(f"{name} must be a number, got {value!r} (from {self.low:g} to {self.high:g}).") from None
        if not (math.isfinite(number) and self.low <= number <= self.high):
            raise FeatError(f"{name} must be from {self.low:g} to {self.high:g} ({self.hint}), got {number:g}.")
        return number


STRENGTH = Range("strength", -3.0, 3.0, 1.0, 0.05, "1 is the edit as trained, negative values reverse it")
THRESHOLD = Range("mask threshold", 0.0, 0.95, 0.2, 0.05, "higher keeps the edit to a smaller area; 0 cuts nothing")

__all__ = ["STRENGTH", "THRESHOLD", "Range"]
