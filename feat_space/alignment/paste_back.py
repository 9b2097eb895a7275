"""Paste an edited aligned crop back into the photo it came from, through a feathered mask.

The crop is an affine image of the photo's FFHQ quad (`feat_space.alignment.ffhq.square_to_quad`),
so the way back is the inverse affine map. Only the quad's bounding box is resampled; the result is
blended as ``photo·(1 − m) + edited·m`` and written only where the warped mask ``m`` is positive,
so every pixel outside the mask is bit-identical to the photo, and the photo keeps its resolution,
orientation and ICC profile.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from feat_space.alignment.ffhq import quad_size, square_to_quad
from feat_space.image_input import ImageSource, load_image

# The default mask: an ellipse over the face, hair and chin of an FFHQ crop, clear of the crop's edges
# (where FFHQ's reflect padding may be), fading out over its outer `FEATHER` of radius.
MASK_CENTRE = (0.5, 0.5)  # fraction of the crop's width, height
MASK_RADII = (0.42, 0.46)
FEATHER = 0.2


def face_mask(size: int = 1024, *, feather: float = FEATHER) -> np.ndarray:
    """The default paste-back mask for a ``size``² FFHQ crop: float32 in [0, 1], 1 over the face.

    ``feather`` is the fraction of the ellipse's radius over which it fades (smoothstep) to 0; the
    mask is exactly 0 outside the ellipse, hence well inside the crop.
    """
    coords = (np.arange(size, dtype=np.float32) + 0.5) / size
    dx = (coords[None, :] - MASK_CENTRE[0]) / MASK_RADII[0]
    dy = (coords[:, None] - MASK_CENTRE[1]) / MASK_RADII[1]
    t = np.clip((1.0 - np.sqrt(dx * dx + dy * dy)) / max(feather, 1e-6), 0.0, 1.0)
    return (t * t * (3.0 - 2.0 * t)).astype(np.float32)


def paste_back(
    original: ImageSource,
    edited_aligned: ImageSource,
    quad: np.ndarray,
    *,
    mask: np.ndarray | Image.Image | None = None,
) -> Image.Image:
    """The upright, full-resolution ``original`` with ``edited_aligned`` warped back into ``quad``.

    ``original`` is the photo (or anything `load_image` reads; EXIF orientation is applied, so pass
    the same source that was aligned). ``edited_aligned`` is a square crop of any size aligned to
    ``quad`` (source pixels, FFHQ corner order). ``mask`` (same size as the crop, values in [0, 1],
    or 0–255 for uint8 / an ``L`` image) says where the edit is taken; default `face_mask`. A tight
    mask — e.g. FEAT's attention mask — leaves the rest of the photo untouched even where the
    generator's reconstruction differs from it.
    """
    photo = load_image(original)
    edited = np.asarray(load_image(edited_aligned, name="the edited face"))
    size = edited.shape[0]
    if edited.shape[1] != size:
        raise ValueError(f"The edited face must be square, got {edited.shape[1]}×{size}")
    weights = face_mask(size) if mask is None else _mask_array(mask, size)

    width, height = photo.size
    quad = np.asarray(quad, np.float64)
    lo = np.floor(quad.min(axis=0)).astype(int) - 1
    hi = np.ceil(quad.max(axis=0)).astype(int) + 2
    x0, y0 = max(int(lo[0]), 0), max(int(lo[1]), 0)
    x1, y1 = min(int(hi[0]), width), min(int(hi[1]), height)
    result = photo.copy()  # a C-level copy; only the quad's bounding box is touched below
    if x1 <= x0 or y1 <= y0:  # the quad is wholly outside the photo
        return result

    # Reduce the crop first when the face is smaller in the photo than the crop (area-averaged, no aliasing).
    qsize = quad_size(quad)
    if qsize < size:
        small = max(1, round(qsize))
        edited = cv2.resize(edited, (small, small), interpolation=cv2.INTER_AREA)
        weights = cv2.resize(weights, (small, small), interpolation=cv2.INTER_AREA)
        size = small
    crop_to_box = square_to_quad(quad, size)
    crop_to_box[:, 2] -= (x0, y0)
    box = (x1 - x0, y1 - y0)
    warped = cv2.warpAffine(edited, crop_to_box, box, flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    alpha = cv2.warpAffine(weights, crop_to_box, box, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    alpha = np.clip(alpha, 0.0, 1.0)[..., None]

    # Where alpha is 0 this is exactly the photo's value (an integer plus 0.0, rounded), so pixels outside
    # the mask stay bit-identical without any masking.
    region = np.asarray(photo.crop((x0, y0, x1, y1)), dtype=np.float32)
    blended = region + (warped.astype(np.float32) - region) * alpha
    result.paste(Image.fromarray(np.clip(np.rint(blended), 0, 255).astype(np.uint8), "RGB"), (x0, y0))
    return result


def _mask_array(mask: np.ndarray | Image.Image, size: int) -> np.ndarray:
    values = np.asarray(mask)
    if values.ndim == 3:
        values = values[..., 0]
    if values.shape != (size, size):
        raise ValueError(f"The mask must match the edited face ({size}×{size}), got {values.shape}")
    if values.dtype == np.uint8:
        return values.astype(np.float32) / 255.0
    return np.clip(values.astype(np.float32), 0.0, 1.0)
