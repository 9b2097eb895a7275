"""Watching the mask while an edit trains: a closing or all-covering mask is said plainly and corrected.

The mask-area term is what keeps an edit local, and what can kill it: too strong and the mask closes
(m = 0 everywhere: nothing is edited, and the mapper gets no guidance through it), too weak and the
mask covers the whole image. `MaskMonitor` schedules the area term (off during a warm-up, then ramped
in), follows the batch mask mean with a moving average, and when it leaves the healthy band scales the
area term down (closing) or up (global) a little every step until it is back. The final state goes
into `training.json`; an edit that ends outside the band is reported as failed, never as fine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .settings import TrainingSettings

COLLAPSED = 0.03  # mask mean below this: the edit has vanished (for parts of ~12 % and more; see `floor_for`)
GLOBAL = 0.85  # above this: the edit is no longer local
_EMA = 0.9
_ADAPT_STEP = 1.05  # per step outside the band: ~x2.7 in 20 steps
_RELAX_STEP = 1.01  # per step back in the band, toward the configured weight: ~x2.7 in 100 steps
_ADAPT_RANGE = (1 / 256, 256.0)

Status = Literal["warming up", "ok", "collapsing", "global"]
FAILED: tuple[Status, ...] = ("collapsing", "global")


def floor_for(smallest_part: float) -> float:
    """The mask mean below which the mask has closed, for an edit whose smallest intended part covers
    `smallest_part` of the image: a quarter of it (lips ~1 % → 0.0025), never above COLLAPSED."""
    return min(COLLAPSED, smallest_part / 4)


@dataclass(frozen=True)
class MaskHealth:
    status: Status
    mask_mean: float  # moving average of the batch mask mean
    area_scale: float  # current correction of the area weight (1 = as configured)
    floor: float = COLLAPSED  # below this mean the mask has closed (it follows what the edit is for)

    @property
    def ok(self) -> bool:
        return self.status not in FAILED

    @property
    def warning(self) -> str | None:
        if self.status == "collapsing":
            return (
                f"The mask is closing (mean {self.mask_mean:.4f} < {self.floor:.4f}): the edit is vanishing. The area "
                f"weight is being lowered automatically (now x{self.area_scale:.2g}); if this persists, lower "
                "area_weight or try another region preset."
            )
        if self.status == "global":
            return (
                f"The mask covers almost the whole face (mean {self.mask_mean:.3f} > {GLOBAL}): the edit is no "
                f"longer local. The area weight is being raised automatically (now x{self.area_scale:.2g}); if "
                "this persists, raise area_weight or pick a region preset closer to what the prompt changes."
            )
        return None


class MaskMonitor:
    def __init__(self, settings: TrainingSettings, floor: float = COLLAPSED):
        self.floor = floor
        # Not before the mapper is at full rate: the mask's gradient scale is measured at the end of this
        # warm-up, and measured on a half-grown edit it would let the image losses outweigh the area term.
        # (In short runs, at most a quarter of the steps, so the area term still comes in.)
        wanted = max(settings.area_warmup, settings.mapper_warmup)
        self.warmup = min(wanted, settings.steps // 4) if settings.area_warmup else 0
        self.mean: float | None = None
        self.adapt = 1.0
        self.health: MaskHealth | None = None

    def area_scale(self, step: int) -> float:
        """Multiplier of the area weight at `step` (0-based): 0 in the warm-up, ramped in over as many steps."""
        if step < self.warmup:
            return 0.0
        ramp = min(1.0, (step - self.warmup + 1) / self.warmup) if self.warmup else 1.0
        return ramp * self.adapt

    def update(self, step: int, mask_mean: float) -> MaskHealth:
        """Record the mask mean of completed step `step` (1-based) and adapt the area term."""
        self.mean = mask_mean if self.mean is None else _EMA * self.mean + (1 - _EMA) * mask_mean
        status: Status = "ok"
        # Not while the area term ramps in: a wide mask is expected until it is at full strength, and a
        # correction then compounds with the ramp (a mask opened wide shut for good).
        if step < 2 * self.warmup:
            status = "warming up"
        elif self.mean < self.floor:
            status = "collapsing"
            self.adapt = max(_ADAPT_RANGE[0], self.adapt / _ADAPT_STEP)
        elif self.mean > GLOBAL:
            status = "global"
            self.adapt = min(_ADAPT_RANGE[1], self.adapt * _ADAPT_STEP)
        elif self.adapt != 1.0:
            # Back in the band: the correction fades back to the configured weight. Kept, a closing mask's
            # relief took the area term away for good and the mask then grew as if there were none.
            self.adapt = min(1.0, self.adapt * _RELAX_STEP) if self.adapt < 1.0 else max(1.0, self.adapt / _RELAX_STEP)
        self.health = MaskHealth(status, self.mean, self.adapt, self.floor)
        return self.health

    def summary(self) -> dict:
        h = self.health
        return {
            "status": h.status if h else "untrained",
            "mask_mean": h.mask_mean if h else None,
            "area_scale": self.adapt,
            "floor": self.floor,
        }

    def state_dict(self) -> dict:
        return {"mean": self.mean, "adapt": self.adapt, "health": None if self.health is None else vars(self.health)}

    def load_state_dict(self, state: dict) -> None:
        self.mean, self.adapt = state["mean"], float(state["adapt"])
        self.health = None if state["health"] is None else MaskHealth(**state["health"])


def failure_in_log(log: dict | None) -> str | None:
    """Why a trained edit's `training.json` (as a dict) says it is not usable, or None."""
    from .verdict import Verdict

    log = log or {}
    if log.get("verdict"):
        verdict = Verdict.from_dict(log["verdict"])
        return None if verdict.ok else verdict.message
    mask = log.get("mask") or {}
    if mask.get("status") not in FAILED:
        return None
    return MaskHealth(
        mask["status"], float(mask["mask_mean"]), float(mask["area_scale"]), float(mask.get("floor", COLLAPSED))
    ).warning
