"""FEAT edits of a batch of aligned faces from consecutive frames, steadied over time.

Per batch: one e4e call for every face, one synthesis pass of the original latents up to the blend
layer, one of the edited latents, and the blended synthesis to full size, each batched. Between e4e and
synthesis, the inverted W+ goes through a One Euro filter over the frames' times (e4e inverts each
frame on its own, so its codes tremble where the face does not), and so does each edit's learned mask
before the threshold (a mask that "breathes" shows as a flickering edge). What does not change between
frames (the edits on the device, their plan, the paste-back margin and feathering) is
set up once for the clip. The batch is drawn by the one renderer (`editing.render`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import TypeVar, cast

import numpy as np
import torch
from PIL import Image

from ..editing.blending import blend_margin
from ..editing.render import EditChoice, EditPlan, OriginalPass, render
from ..session.photo import image_to_tensor, tensor_to_image
from ..session.photo_edit import FEATHER, paste_mask
from ..session.session import Session
from .one_euro import OneEuroFilter, Smoothing

T = TypeVar("T")


@dataclass
class _SteadyMasks(OriginalPass):
    """A batch's stages for the one renderer: the original pass of this call, with the attention masks
    passed through the clip's temporal filters (`steady`) before they are thresholded and blended."""

    steady: Callable[[list[torch.Tensor]], list[torch.Tensor]] = lambda raw: raw

    def latest(self, slot: str, key: Hashable, compute: Callable[[], T]) -> T:
        value = compute()
        return cast(T, self.steady(cast(list, value))) if slot == "masks" else value


@dataclass(frozen=True)
class EditedFace:
    crop: np.ndarray  # [S, S, 3] uint8: the generator's edited face
    weights: np.ndarray  # [S, S] float32: where it is pasted back (mask widened by the blend margin, feathered)


class FrameEditor:
    """The clip's edits, applied batch after batch; the filters carry over from one batch to the next."""

    def __init__(
        self,
        session: Session,
        edits: Sequence[EditChoice],
        threshold: float,
        latent: Smoothing | None,
        mask: Smoothing | None,
    ) -> None:
        self.session, self.threshold = session, threshold
        self.G = session.generator
        self.encoder = session.encoder
        self.chosen = [(edit.to(session.device), strength) for edit, strength in edits]
        self.plan = EditPlan.of(self.chosen)
        self.margin = math.ceil(blend_margin(self.G, self.plan.layer))
        self.latent_filter = latent.filter() if latent else None
        self.mask_filters = [mask.filter() if mask else None for _ in self.chosen]
        self.track: object = None  # the track of the last face edited

    def edit(self, crops: Sequence[np.ndarray], times: Sequence[float], tracks: Sequence[object]) -> list[EditedFace]:
        """Edit the encoder-sized aligned faces `crops` (uint8, of consecutive frames at `times`; `tracks`
        says which track each belongs to: a new track starts the filters afresh)."""
        G, dtype = self.G, self.session.dtype
        starts = []  # frames that begin a new track: the filters forget the previous one there
        for track in tracks:
            starts.append(track != self.track)
            self.track = track
        x = torch.cat([image_to_tensor(Image.fromarray(c, "RGB")) for c in crops]).to(self.session.device)
        with self.session.running():
            wplus = smooth(self.latent_filter, self.encoder(x), times, starts)

            def steady(raw: list[torch.Tensor]) -> list[torch.Tensor]:
                # The raw masks are smoothed over time before the threshold: a mask must not breathe.
                return [smooth(f, m.float(), times, starts) for f, m in zip(self.mask_filters, raw, strict=True)]

            stages = _SteadyMasks(G, wplus, dtype, steady=steady)
            rendered = render(G, wplus, self.chosen, threshold=self.threshold, stages=stages, dtype=dtype)
            image, union = rendered.image.float(), rendered.mask
        return [
            EditedFace(
                np.asarray(tensor_to_image(image[i])),
                paste_mask(union[i : i + 1], G.size, self.margin, FEATHER).numpy(),
            )
            for i in range(len(crops))
        ]


def smooth(
    smoother: OneEuroFilter[torch.Tensor] | None, values: torch.Tensor, times: Sequence[float], starts: Sequence[bool]
) -> torch.Tensor:
    """`values` [B, ...] of consecutive frames through `smoother` in order (None: as they are)."""
    if smoother is None:
        return values
    out = []
    for value, time, start in zip(values, times, starts, strict=True):
        if start:
            smoother.reset()
        out.append(smoother(value, time))
    return torch.stack(out)
