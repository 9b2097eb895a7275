"""Editing a user's photo: prepare (cached) → FEAT edits → paste the edited region back.

Only the edited region of the photo changes: the generator's output is pasted back through the
edit's own mask, widened by the blend margin (the pixels feature blending can still touch) and
feathered, so everything else stays the user's original pixels, not the generator's reconstruction.

What is cached per photo (in the session's photo cache, so bounded by its size), and so what each
change costs (the renderer's stages, `editing.render`, kept by `Session.stages`):

- alignment, inversion, and the original latent's pass up to the blend layer (attention features,
  the blend-layer state, the state before the first mapped layer): once per photo;
- the edited latent's pass up to the blend layer, for the latest edits and strengths only: a
  threshold or brush change reuses it; a strength change reruns it from the first mapped layer;
- blending and the layers after it, then the paste-back: on every call. `preview=True` stops the
  synthesis at `PREVIEW_SIZE` and pastes into a reduced copy of the photo: the live-slider path.

The reconstruction is not rendered for an edit: `EditResult.reconstruction` renders it when first
read (continuing the original's cached pass), or `reconstruction_at(size)` at a cheaper size.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
import torch
from PIL import Image

from ..alignment.paste_back import paste_back
from ..editing.blending import blend_margin, resize_mask
from ..editing.brush import Brush
from ..editing.edit import FeatEdit
from ..editing.ranges import THRESHOLD
from ..editing.render import EditChoice, render
from ..errors import FeatError
from .photo import MemoKey, PreparedPhoto, resize_image, tensor_to_image
from .session import Session

FEATHER = 8  # px at the generator's resolution: how softly the pasted region fades out
PREVIEW_SIZE = 256  # px: the aligned face of a preview (the generator's RGB at this resolution)
PREVIEW_PHOTO_SIDE = 1024  # px: a preview's photo is reduced to at most this long side


@dataclass
class EditResult:
    """One edit of a photo. With `preview=True`, every image is at preview size: `edited`, `mask`,
    `paste_mask` and `aligned` are `PREVIEW_SIZE`², and `photo` is the photo reduced (same aspect)
    so that the face is at most that size and the long side at most `PREVIEW_PHOTO_SIDE`."""

    photo: Image.Image  # the whole photo, edited region pasted back; original size (a preview: reduced)
    aligned: Image.Image  # the FFHQ-aligned crop of the original
    edited: Image.Image  # the generator's rendering after editing
    mask: Image.Image  # "L", where the edit applies (learned mask, thresholded, brushed)
    paste_mask: Image.Image  # "L", what was pasted back (mask widened by the blend margin, feathered)
    notice: str | None  # shown with the result when the models are untrained (tiny profile)
    preview: bool = False
    # size -> the generator's rendering of the photo before editing (rendered on demand, cached)
    render_reconstruction: Callable[[int], Image.Image] | None = field(default=None, repr=False, compare=False)

    @property
    def reconstruction(self) -> Image.Image:
        """The generator's rendering of the photo before editing, at the size of `edited`. Rendered
        when first read (an edit does not pay for it); cached with the photo."""
        return self.reconstruction_at(self.edited.width)

    def reconstruction_at(self, size: int) -> Image.Image:
        """The reconstruction at `size`² (≤ the generator's size; smaller is cheaper, see
        `Session.reconstruction`)."""
        if self.render_reconstruction is None:
            raise FeatError("This result was built without its photo: no reconstruction to render.")
        return self.render_reconstruction(size)


def paste_mask(mask: torch.Tensor, size: int, margin: int, feather: int = FEATHER) -> torch.Tensor:
    """[1, 1, r, r] edit mask → [size, size] weights: dilated by `margin` px, then box-feathered."""
    m = resize_mask(mask.float(), size)[0, 0].cpu().numpy()
    if margin:
        # OpenCV's rectangular dilation costs O(1) per pixel whatever the margin (hundreds of px at
        # early blend layers), where a max-pool window of that size takes seconds.
        m = cv2.dilate(m, np.ones((2 * margin + 1, 2 * margin + 1), np.uint8), borderType=cv2.BORDER_REPLICATE)
    if feather:
        m = cv2.blur(m, (2 * feather + 1, 2 * feather + 1), borderType=cv2.BORDER_REPLICATE)
    return torch.from_numpy(m).clamp(0, 1)


def _gray(weights: torch.Tensor) -> Image.Image:
    return Image.fromarray((weights.cpu().numpy() * 255).round().astype(np.uint8), "L")


def check_edit_arguments(edits: Sequence[EditChoice], threshold: float, brush: Any) -> None:
    if not edits:
        raise FeatError("Pick at least one edit.")
    # The library takes any threshold that leaves a mask possible (below 1); the page, the API, the CLI
    # and the schema hold people to `THRESHOLD`'s range, whose default is this function's too.
    if not 0 <= threshold < 1:
        raise FeatError(f"The mask threshold must be in [0, 1), got {threshold}.")
    for edit, strength in edits:
        if not isinstance(edit, FeatEdit):
            raise FeatError(f"Each edit must be a FeatEdit (e.g. from load_edit), got {type(edit).__name__}.")
        if strength is not None and not math.isfinite(strength):
            raise FeatError(f"An edit's strength must be a finite number, got {strength}.")
    if brush is not None and not isinstance(brush, Brush):
        raise FeatError(f"brush must be a feat_space.Brush(restrict=..., extend=...), got {type(brush).__name__}.")


def edit_photo(
    session: Session,
    image: Any,
    edits: Sequence[EditChoice],
    *,
    threshold: float = THRESHOLD.default,
    face_index: int = 0,
    brush: Brush | None = None,
    preview: bool = False,
) -> EditResult:
    """Apply `edits` (composed in order, each at its own strength; None: the edit's default) to the
    face `face_index` of `image` (anything `load_image` reads, or a `PreparedPhoto` from
    `Session.prepare`: then `face_index` is the one it was prepared for, and the photo is not read and
    hashed again, as live controls need).

    `threshold` cuts the learned masks (`threshold_mask`); `brush` then restricts / extends them:
    final = max(mask · restrict, extend) (`editing.brush`). `preview=True` is the fast path for live
    controls: a `PREVIEW_SIZE` rendering pasted into a reduced photo (see `EditResult`); repeated
    calls on one photo reuse the cached stages (module docstring).
    """
    check_edit_arguments(edits, threshold, brush)
    G = session.generator
    for edit, _ in edits:
        edit.check_generator(G)
    photo = image if isinstance(image, PreparedPhoto) else session.prepare(image, face_index=face_index)
    chosen = [(edit.to(session.device), strength) for edit, strength in edits]
    size = PREVIEW_SIZE if preview else G.size
    stages, dtype = session.stages(photo), session.dtype
    rendered = render(G, photo.wplus, chosen, threshold=threshold, brush=brush, size=size, stages=stages, dtype=dtype)
    union, scale = rendered.mask, size / G.size
    with session.running():
        image = rendered.image.contiguous().float()
        if image.shape[-1] != size:
            image = resize_image(image, size)
        weights = paste_mask(
            union, size, math.ceil(blend_margin(G, rendered.plan.layer) * scale), max(1, round(FEATHER * scale))
        )
    edited_image = tensor_to_image(image)
    if preview:
        small_photo, quad = _preview_photo(photo, size)
        pasted = paste_back(small_photo, edited_image, quad, mask=weights.cpu().numpy())
        aligned = photo.memo(
            MemoKey("aligned", size), lambda: photo.face.image.resize((size, size), Image.Resampling.LANCZOS)
        )
    else:
        pasted = photo.paste_back(edited_image, mask=weights.cpu().numpy())
        aligned = photo.face.image
    return EditResult(
        photo=pasted,
        aligned=aligned,
        edited=edited_image,
        mask=_gray(resize_mask(union.float(), size)[0, 0]),
        paste_mask=_gray(weights),
        notice=session.notice,
        preview=preview,
        render_reconstruction=lambda at: tensor_to_image(session.reconstruction(photo, at)),
    )


def _preview_photo(photo: PreparedPhoto, size: int) -> tuple[Image.Image, np.ndarray]:
    """The photo reduced for a preview (face at most `size`, long side at most `PREVIEW_PHOTO_SIDE`)
    and the face's quad in it; once per photo."""

    def compute() -> tuple[Image.Image, np.ndarray]:
        original = photo.face.photo
        scale = min(1.0, size / photo.face.size, PREVIEW_PHOTO_SIDE / max(original.size))
        if scale == 1.0:
            return original, photo.face.quad
        reduced = original.resize(
            (max(1, round(original.width * scale)), max(1, round(original.height * scale))),
            Image.Resampling.BILINEAR,
            reducing_gap=2.0,
        )
        # Pixel centres: x ↦ (x + 0.5)·s − 0.5 (the quad is in pixel indices, centre of the first at 0).
        return reduced, (photo.face.quad + 0.5) * scale - 0.5

    return photo.memo(MemoKey("preview photo", size), compute)


__all__ = [
    "FEATHER",
    "PREVIEW_PHOTO_SIDE",
    "PREVIEW_SIZE",
    "Brush",
    "EditChoice",
    "EditResult",
    "check_edit_arguments",
    "edit_photo",
    "paste_mask",
]
