"""Editing a user's photo: prepare (cached) → FEAT edits → paste the edited region back.

Only the edited region of the photo changes: the generator's output is pasted back through the
edit's own mask, widened by the blend margin (the pixels feature blending can still touch) and
feathered, so everything else stays the user's original pixels, not the generator's reconstruction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import torch
from PIL import Image

from ..editing.blending import blend_margin, resize_mask
from ..editing.edit import FeatEdit, apply_edits, composite_layer
from ..errors import FeatError
from .photo import tensor_to_image
from .session import Session

EditChoice = tuple[FeatEdit, float | None]  # an edit and its strength (None: the edit's default)
FEATHER = 8  # px at the generator's resolution: how softly the pasted region fades out


@dataclass
class EditResult:
    photo: Image.Image  # the whole photo, edited region pasted back, original size and orientation
    aligned: Image.Image  # the FFHQ-aligned crop of the original
    reconstruction: Image.Image  # the generator's rendering of the photo before editing
    edited: Image.Image  # the generator's rendering after editing
    mask: Image.Image  # "L", where the edit applies (generator resolution)
    paste_mask: Image.Image  # "L", what was pasted back (mask widened by the blend margin, feathered)
    notice: str | None  # shown with the result when the models are untrained (tiny profile)


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


def edit_photo(
    session: Session,
    image: Any,
    edits: Sequence[EditChoice],
    *,
    threshold: float = 0.0,
    face_index: int = 0,
) -> EditResult:
    """Apply `edits` (composed in order) to the face `face_index` of `image` (anything `load_image`
    reads); alignment, inversion and the original's features come from the session's photo cache."""
    if not edits:
        raise FeatError("Pick at least one edit.")
    if not 0 <= threshold < 1:
        raise FeatError(f"The mask threshold must be in [0, 1), got {threshold}.")
    G = session.generator
    for edit, _ in edits:
        edit.check_generator(G)
    photo = session.prepare(image, face_index=face_index)
    layers = {k for edit, _ in edits for k in edit.config.attention_layers}
    layer = composite_layer([edit.config.blend_layer for edit, _ in edits])
    features, original = session.original_inputs(photo, layers, layer)
    chosen = [(edit.to(session.device), strength) for edit, strength in edits]
    with session.running():
        out = apply_edits(G, photo.wplus, chosen, threshold, features=features, original=original)
        weights = paste_mask(out.mask, G.size, blend_margin(G, layer))
    edited = tensor_to_image(out.image)
    return EditResult(
        photo=photo.paste_back(edited, mask=weights.cpu().numpy()),
        aligned=photo.face.image,
        reconstruction=tensor_to_image(session.reconstruction(photo)),
        edited=edited,
        mask=_gray(resize_mask(out.mask.float(), G.size)[0, 0]),
        paste_mask=_gray(weights),
        notice=session.notice,
    )
