"""A painted brush over the aligned face, and how it combines with an edit's learned mask.

The rule, per edit (after the mask threshold):

    final = max(learned · restrict, extend)

- `restrict`: where the edit MAY apply. Outside it the edit is zeroed, whatever the learned mask says.
  None: everywhere.
- `extend`: where the edit MUST apply. Inside it the mask is 1, whatever the learned mask (and the
  threshold) says. None: nowhere.

Both are painted on the aligned face (any size, covering the whole crop), resized to the mask's
resolution by area averaging and then read as painted where the coverage is > 0.5. Extend wins where
both are painted. The paste-back mask follows the final mask, so restrict also keeps the photo's own
pixels outside it, and extend pastes the edit in wherever it was painted.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch

from ..errors import FeatError

PAINTED = 0.5  # coverage above which a mask pixel counts as painted


@dataclass(frozen=True, eq=False)  # holds arrays: identity, not element-wise, equality
class Brush:
    """Where the visitor painted on the aligned face: `restrict` (edit MAY apply only here) and
    `extend` (edit MUST apply here); each an H×W array in [0, 1] (bool, float, or uint8 0–255), or None.

    Combination with the learned mask `m` (thresholded): `max(m · restrict, extend)`, see the module.
    """

    restrict: np.ndarray | None = None
    extend: np.ndarray | None = None

    def __post_init__(self) -> None:
        for name in ("restrict", "extend"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, _as_coverage(value, name))

    @property
    def empty(self) -> bool:
        return self.restrict is None and self.extend is None

    def painted(self, name: str, resolution: int) -> torch.Tensor | None:
        """`restrict` or `extend` at `resolution`² as a {0, 1} float mask [1, 1, r, r] (None if not painted)."""
        value = getattr(self, name)
        if value is None:
            return None
        coverage = cv2.resize(value, (resolution, resolution), interpolation=cv2.INTER_AREA)
        return torch.from_numpy((coverage > PAINTED).astype(np.float32))[None, None]


def _as_coverage(value: object, name: str) -> np.ndarray:
    """Any accepted array → float32 H×W in [0, 1], or a FeatError saying what is wrong."""
    array = np.asarray(value)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim != 2 or min(array.shape) < 1:
        raise FeatError(
            f"The brush's {name} mask must be a 2-D array (height × width) over the aligned face, "
            f"got shape {array.shape}. Pass one channel, e.g. the alpha of the painted layer."
        )
    if array.dtype == np.bool_:
        return array.astype(np.float32)
    if array.dtype == np.uint8:
        return array.astype(np.float32) / 255.0
    if not np.issubdtype(array.dtype, np.number):
        raise FeatError(f"The brush's {name} mask must hold numbers, got {array.dtype}.")
    array = array.astype(np.float32)
    if not np.isfinite(array).all() or array.min() < 0 or array.max() > 1:
        raise FeatError(
            f"The brush's {name} mask must hold values in [0, 1] (or 0–255 as uint8), "
            f"got the range [{np.nanmin(array):g}, {np.nanmax(array):g}]."
        )
    return np.ascontiguousarray(array)


def apply_brush(mask: torch.Tensor, brush: Brush | None) -> torch.Tensor:
    """`max(mask · restrict, extend)` at the mask's resolution ([B, 1, r, r]); the mask itself without a brush."""
    if brush is None or brush.empty:
        return mask
    resolution = mask.shape[-1]
    restrict, extend = brush.painted("restrict", resolution), brush.painted("extend", resolution)
    if restrict is not None:
        mask = mask * restrict.to(mask)
    if extend is not None:
        mask = torch.maximum(mask, extend.to(mask))
    return mask


__all__ = ["PAINTED", "Brush", "apply_brush"]
