"""Images in and out of the Edit tab: the uploaded photo's path, the brush's masks, the mask overlay.

Pure functions over PIL / numpy (no Gradio components, no models), so they are tested directly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ..errors import FeatError

PREVIEW_SIDE = 512  # aligned crops (and the brush canvas) are shown at this size
MASK_TINT = np.array([230, 30, 60], dtype=np.float32)  # the mask's red
MASK_OPACITY = 0.55
POOR_RECONSTRUCTION = 0.12  # mean |aligned - reconstruction| in [0, 1] above which the visitor gets a hint


def photo_path(payload: Any) -> tuple[str, str | None]:
    """(path on the server, the name the visitor's file had) of an image payload, unprocessed.

    Handlers take the raw upload (`preprocess=False`) so that a file that is not an image reaches
    `load_image`, whose message names the file and says what to do, instead of failing inside Gradio
    with a generic error.
    """
    if payload is None:
        raise FeatError("Add a photo first: upload one, take one with the webcam, or click an example.")
    if isinstance(payload, dict):
        path = payload.get("path")
        name = payload.get("orig_name")
    else:  # a path, when the handler is called directly
        path, name = str(payload), None
    if not path:
        raise FeatError("The photo did not arrive. Upload it again.")
    return path, name or Path(path).name


def small(image: Image.Image, side: int = PREVIEW_SIDE) -> Image.Image:
    """An aligned (square) crop at `side` px, for display (and as the brush's canvas, whatever the generator's size)."""
    return image if image.size == (side, side) else image.resize((side, side), Image.Resampling.LANCZOS)


def tint(image: Image.Image, mask: Image.Image) -> Image.Image:
    """`image` with `mask` ("L", any size) tinted red over it."""
    alpha = np.asarray(mask.convert("L").resize(image.size, Image.Resampling.BILINEAR), dtype=np.float32) / 255
    alpha = MASK_OPACITY * alpha[..., None]
    mixed = np.asarray(image.convert("RGB"), dtype=np.float32) * (1 - alpha) + MASK_TINT * alpha
    return Image.fromarray(mixed.round().clip(0, 255).astype(np.uint8), "RGB")


def reconstruction_gap(aligned: Image.Image, reconstruction: Image.Image, side: int = 256) -> float:
    """Mean absolute difference in [0, 1] between the aligned face and the generator's rendering of it.

    A coarse signal (faces the inversion misses, hats, hands, strong light, profile views), compared on
    a 256² copy so that fine texture does not dominate.
    """
    a, b = (
        np.asarray(im.convert("RGB").resize((side, side), Image.Resampling.BILINEAR), np.float32)
        for im in (aligned, reconstruction)
    )
    return float(np.abs(a - b).mean() / 255)


def painted(layer: Any) -> np.ndarray | None:
    """An ImageEditor layer → coverage H×W in [0, 1] (its alpha); None if unpainted.

    The layer is an RGBA array, a PIL image, or, unprocessed, Gradio's file payload ({"path": ...})."""
    if layer is None:
        return None
    if isinstance(layer, dict):
        if not layer.get("path"):
            return None
        with Image.open(layer["path"]) as image:
            layer = image.convert("RGBA")
    array = np.asarray(layer.convert("RGBA") if isinstance(layer, Image.Image) else layer)
    if array.ndim != 3 or array.shape[-1] != 4:
        raise FeatError("The brush layer did not arrive as an image with transparency. Paint it again.")
    alpha = array[..., 3].astype(np.float32) / 255
    return alpha if alpha.max() > 0 else None


def mask_file(payload: Any, name: str) -> np.ndarray | None:
    """A brush mask given to the API as an image: white (or opaque, for an image with alpha) = painted.

    `payload` is Gradio's unprocessed file payload ({"path", "orig_name"}) or a path. A message names
    the file as the client called it: the server's own path never reaches a visitor."""
    if payload is None:
        return None
    path, given = (payload.get("path"), payload.get("orig_name")) if isinstance(payload, dict) else (payload, None)
    if not path:
        return None
    try:
        image = Image.open(path)
        image.load()
    except (OSError, ValueError):
        raise FeatError(
            f"Could not read the {name} mask ({given or Path(path).name}): it is not an image. Give an image the "
            "size of the aligned face, white where painted and black elsewhere."
        ) from None
    if image.mode in ("RGBA", "LA") or "transparency" in image.info:
        coverage = np.asarray(image.convert("RGBA"), np.float32)[..., 3] / 255
    else:
        coverage = np.asarray(image.convert("L"), np.float32) / 255
    return coverage if coverage.max() > 0 else None


__all__ = [
    "POOR_RECONSTRUCTION",
    "PREVIEW_SIDE",
    "mask_file",
    "painted",
    "photo_path",
    "reconstruction_gap",
    "small",
    "tint",
]
