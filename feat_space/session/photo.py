"""A photo prepared for editing, what identifies it, and image ↔ tensor conversions."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

if TYPE_CHECKING:
    from ..alignment import AlignedFace


@dataclass(frozen=True)
class AlignOptions:
    """What, besides the pixels, decides a photo's alignment (part of its cache key)."""

    face_index: int = 0


def photo_key(photo: Image.Image, options: AlignOptions) -> str:
    """sha256 of an upright RGB photo's pixels and size, plus the alignment options.

    Pixels, not file bytes: the same picture re-encoded or re-uploaded maps to the same entry, and
    the EXIF orientation is already applied (`load_image`), so a rotated copy does not.
    """
    h = hashlib.sha256()
    h.update(f"{photo.mode}:{photo.width}x{photo.height}:{options}".encode())
    h.update(photo.tobytes())
    return h.hexdigest()


def image_to_tensor(image: Image.Image) -> torch.Tensor:
    """RGB PIL image → [1, 3, H, W] float32 in [-1, 1], as the encoder and the generator see images."""
    pixels = torch.from_numpy(np.asarray(image.convert("RGB"), dtype=np.uint8).copy())
    return pixels.permute(2, 0, 1).unsqueeze(0).float().div_(127.5).sub_(1)


def tensor_to_image(image: torch.Tensor) -> Image.Image:
    """[1, 3, H, W] or [3, H, W] in about [-1, 1] → RGB PIL image (clamped, rounded)."""
    if image.dim() == 4:
        if image.shape[0] != 1:
            raise ValueError(f"Expected one image, got a batch of {image.shape[0]}")
        image = image[0]
    pixels = (image.detach().float().clamp(-1, 1).add(1).mul(127.5).round()).to(torch.uint8)
    return Image.fromarray(pixels.permute(1, 2, 0).cpu().numpy(), "RGB")


def resize_image(image: torch.Tensor, size: int) -> torch.Tensor:
    """[B, 3, H, W] → [B, 3, size, size] (antialiased when shrinking), in fp32."""
    return F.interpolate(image.float(), size=(size, size), mode="bilinear", align_corners=False, antialias=True)


MemoKind = Literal[
    "features",  # the original latent's feature maps; of: the sorted layers
    "state",  # the original latent's synthesis state after a layer; of: the layer
    "image",  # the RGB the original latent has accumulated after a layer; of: the layer
    "aligned",  # the aligned face at a preview's size; of: the size
    "preview photo",  # the photo reduced for previews, and the face's quad in it; of: the size
    "before",  # the photo at a (preview) result's size, shown beside it; of: the size (w, h)
    "latest",  # the latest value of a live control's stage (`PreparedPhoto.latest`); of: the slot
]


@dataclass(frozen=True)
class MemoKey:
    """The name of one value in a photo's memo: what it is (`kind`) and what it is of (`of`)."""

    kind: MemoKind
    of: Hashable


@dataclass
class PreparedPhoto:
    """The per-photo work an edit starts from: alignment and inversion, plus what edits read of the
    original latent (feature maps, synthesis states), filled in lazily by the session.

    Shared between requests and threads through the session's cache: treat tensors as read-only.
    """

    key: str
    face: AlignedFace  # .image (1024² crop), .quad, .photo (upright original), .paste_back(...)
    wplus: torch.Tensor  # [1, n_latent, style_dim] on the session's device, including latent_avg
    _memo: dict[MemoKey, Any] = field(default_factory=dict, repr=False)
    # Re-entrant: a memoised computation may read other memoised values of the same photo.
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    def cached(self, key: MemoKey) -> bool:
        with self._lock:
            return key in self._memo

    def memo(self, key: MemoKey, compute: Callable[[], Any]) -> Any:
        """`compute()` once per key for this photo (callers asking meanwhile wait for it)."""
        with self._lock:
            if key not in self._memo:
                self._memo[key] = compute()
            return self._memo[key]

    def latest(self, slot: str, key: Hashable, compute: Callable[[], Any]) -> Any:
        """`compute()` for `key`, keeping only the latest key per `slot`: what a slider needs (its
        last value again is free, a new one replaces the old), while memory stays flat however many
        values it moves through."""
        with self._lock:
            held = self._memo.get(MemoKey("latest", slot))
            if held is None or held[0] != key:
                held = (key, compute())
                self._memo[MemoKey("latest", slot)] = held
            return held[1]

    def remember(self, key: MemoKey, value: Any) -> Any:
        """Keep `value` for `key` unless one is held already (computed elsewhere); the held one."""
        with self._lock:
            return self._memo.setdefault(key, value)

    def memoised(self) -> list[MemoKey]:
        """The keys memoised now (a snapshot)."""
        with self._lock:
            return list(self._memo)

    def paste_back(self, edited: torch.Tensor | Image.Image, **kwargs: Any) -> Image.Image:
        """The whole photo with `edited` (an aligned crop) put back in place."""
        if isinstance(edited, torch.Tensor):
            edited = tensor_to_image(edited)
        return self.face.paste_back(edited, **kwargs)


__all__ = [
    "AlignOptions",
    "MemoKey",
    "MemoKind",
    "PreparedPhoto",
    "image_to_tensor",
    "photo_key",
    "resize_image",
    "tensor_to_image",
]
