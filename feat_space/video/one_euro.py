"""The One Euro filter (Casiez, Roussel, Vogel, CHI 2012): low-pass smoothing whose cutoff rises with speed.

A fixed low-pass either leaves jitter (high cutoff) or lags behind real motion (low cutoff). The One
Euro filter smooths hard while the signal is still (cutoff `min_cutoff` Hz) and opens up as it moves
(cutoff + `beta` · |speed|), so a steady face stops trembling and a turning head is followed without
lag. Timestamps are the frames' own, so a variable frame rate is filtered correctly.

Works elementwise on numpy arrays and torch tensors alike (anything with arithmetic and `abs`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")


def smoothing_factor(dt: float, cutoff: float) -> float:
    """The exponential smoothing weight of a first-order low-pass with `cutoff` Hz over `dt` seconds."""
    tau = 1.0 / (2 * math.pi * cutoff)
    return 1.0 / (1.0 + tau / dt)


@dataclass(frozen=True)
class Smoothing:
    """One Euro settings of a signal: `min_cutoff` Hz when still; `beta` raises it per unit of speed."""

    min_cutoff: float = 1.0
    beta: float = 0.0

    def filter(self) -> OneEuroFilter[Any]:
        return OneEuroFilter(self.min_cutoff, self.beta)


class OneEuroFilter(Generic[T]):
    """Filter a signal sampled at increasing times; `reset()` forgets it (a new track)."""

    def __init__(self, min_cutoff: float = 1.0, beta: float = 0.0, d_cutoff: float = 1.0) -> None:
        if min_cutoff <= 0 or d_cutoff <= 0 or beta < 0:
            raise ValueError("the One Euro filter needs min_cutoff > 0, d_cutoff > 0 and beta >= 0")
        self.min_cutoff, self.beta, self.d_cutoff = min_cutoff, beta, d_cutoff
        self.reset()

    def reset(self) -> None:
        self._value: Any = None
        self._speed: Any = None
        self._time = 0.0

    def __call__(self, sample: T, time: float) -> T:
        value: Any = sample
        if self._value is None:
            self._value, self._speed, self._time = value, value * 0, time
            return value
        # Two frames with one timestamp (broken files): count them a millisecond apart rather than divide by 0.
        dt = max(time - self._time, 1e-3)
        speed = (value - self._value) / dt
        a_d = smoothing_factor(dt, self.d_cutoff)
        self._speed = a_d * speed + (1 - a_d) * self._speed
        cutoff = self.min_cutoff + self.beta * abs(self._speed)
        tau = 1.0 / (2 * math.pi * cutoff)
        a = 1.0 / (1.0 + tau / dt)  # elementwise: every element has its own cutoff
        self._value = a * value + (1 - a) * self._value
        self._time = time
        return self._value
