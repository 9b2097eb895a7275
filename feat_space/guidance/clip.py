"""CLIP guidance on open_clip: text embeddings (cached), a differentiable image path, losses and scores.

Images come in as the generator makes them: `[B, 3, H, W]` tensors in about [-1, 1], any size. The
image path stays in torch from end to end (to [0, 1], antialiased bicubic resize to CLIP's input size,
the model's mean/std), so losses back-propagate into the images; no PIL round trip.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import CheckpointError


@dataclass(frozen=True)
class ClipSpec:
    """Which open_clip architecture to build and the weights file to fill it with.

    `config` is an open_clip model config (JSON) to register first, for architectures open_clip does
    not ship (the tiny profile's); its file name, without `.json`, must be `model_name`.
    """

    model_name: str
    weights: Path
    config: Path | None = None


_register_lock = threading.Lock()


def _register(spec: ClipSpec) -> None:
    """Make `spec`'s architecture known to open_clip (once), when it comes with its own config."""
    import open_clip

    if spec.config is not None:
        with _register_lock:
            if spec.model_name not in open_clip.list_models():
                open_clip.add_model_config(spec.config)


def clip_architecture(spec: ClipSpec) -> nn.Module:
    """`spec`'s open_clip model without weights (meta tensors): the layout its weights file must have."""
    import open_clip

    _register(spec)
    return open_clip.create_model(spec.model_name, device="meta")


def load_clip(spec: ClipSpec, device: torch.device | str = "cpu") -> ClipGuide:
    """Build the CLIP model of `spec` with its weights (frozen, eval mode) and wrap it as a `ClipGuide`."""
    import open_clip

    _register(spec)
    if not Path(spec.weights).is_file():
        raise CheckpointError(f"CLIP weights not found: {spec.weights}. Download them again.")
    try:
        # A local file as `pretrained`: open_clip loads it strictly (safetensors, or torch weights_only).
        model = open_clip.create_model(spec.model_name, pretrained=str(spec.weights), device=device)
    except Exception as e:  # strict key mismatch, unreadable or truncated file, pickled code refused...
        raise CheckpointError(
            f"{spec.weights} is not a valid {spec.model_name} CLIP checkpoint: {str(e).splitlines()[0]}"
        ) from None
    tokenizer = open_clip.get_tokenizer(spec.model_name)
    cfg = open_clip.get_model_preprocess_cfg(model)
    return ClipGuide(model, tokenizer, mean=cfg["mean"], std=cfg["std"], image_size=_square(cfg["size"]))


def _square(size: int | tuple[int, int] | list[int]) -> int:
    if isinstance(size, int):
        return size
    if size[0] != size[1]:
        raise ValueError(f"Only square CLIP inputs are supported, got {size}")
    return int(size[0])


class ClipGuide:
    """A frozen open_clip model with what editing and training ask of it.

    Thread-safe: the model is only read, and the text-embedding cache is guarded by a lock.
    """

    def __init__(
        self,
        model: nn.Module,
        tokenizer: Callable[[list[str]], torch.Tensor],
        *,
        mean: tuple[float, ...] | list[float],
        std: tuple[float, ...] | list[float],
        image_size: int,
        text_cache_size: int = 512,
    ) -> None:
        self.model: Any = model.eval().requires_grad_(False)  # open_clip's CLIP (encode_text, encode_image)
        self.tokenizer = tokenizer
        self.image_size = image_size
        device = self.device
        self._mean = torch.tensor(mean, dtype=torch.float32, device=device).view(1, 3, 1, 1)
        self._std = torch.tensor(std, dtype=torch.float32, device=device).view(1, 3, 1, 1)
        self._texts: OrderedDict[str, torch.Tensor] = OrderedDict()
        self._text_cache_size = text_cache_size
        self._lock = threading.Lock()
        self.text_encodings = 0  # how many prompts were run through the text tower (the cache's misses)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def to(self, device: torch.device | str) -> ClipGuide:
        self.model.to(device)
        self._mean, self._std = self._mean.to(device), self._std.to(device)
        with self._lock:
            self._texts = OrderedDict((k, v.to(device)) for k, v in self._texts.items())
        return self

    # -- text ------------------------------------------------------------------------------------

    def text_embedding(self, prompt: str) -> torch.Tensor:
        """Unit-norm embedding [D] of `prompt`, computed once per prompt (LRU-cached, no grad)."""
        with self._lock:
            if prompt in self._texts:
                self._texts.move_to_end(prompt)
                return self._texts[prompt]
            # Under the lock: two requests for a new prompt compute it once (the text tower is fast).
            with torch.no_grad():
                tokens = self.tokenizer([prompt]).to(self.device)
                embedding = F.normalize(self.model.encode_text(tokens).float(), dim=-1)[0]
            self.text_encodings += 1
            self._texts[prompt] = embedding
            if len(self._texts) > self._text_cache_size:
                self._texts.popitem(last=False)
            return embedding

    # -- images ----------------------------------------------------------------------------------

    def preprocess(self, images: torch.Tensor) -> torch.Tensor:
        """[B, 3, H, W] in [-1, 1] → CLIP's normalised input [B, 3, S, S]; differentiable."""
        if images.dim() != 4 or images.shape[1] != 3:
            raise ValueError(f"Expected images [B, 3, H, W], got {tuple(images.shape)}")
        x = (images.float() + 1) / 2
        if x.shape[-2:] != (self.image_size, self.image_size):
            # Antialiasing matters when shrinking 1024² by ~4.6x; bicubic matches CLIP's own preprocessing.
            x = F.interpolate(
                x, size=(self.image_size, self.image_size), mode="bicubic", align_corners=False, antialias=True
            )
        return (x - self._mean) / self._std

    def image_embedding(self, images: torch.Tensor) -> torch.Tensor:
        """Unit-norm embeddings [B, D] of images in [-1, 1]; gradients flow back to `images`."""
        return F.normalize(self.model.encode_image(self.preprocess(images)).float(), dim=-1)

    def similarity(self, images: torch.Tensor, prompt: str) -> torch.Tensor:
        """Cosine similarity [B] between each image and `prompt` (differentiable in the images)."""
        return self.image_embedding(images) @ self.text_embedding(prompt)

    def loss(self, images: torch.Tensor, prompt: str) -> torch.Tensor:
        """CLIP loss [B] = 1 - cosine similarity to `prompt`: lower pulls the images toward the text."""
        return 1 - self.similarity(images, prompt)

    @torch.no_grad()
    def score(self, images: torch.Tensor, prompt: str) -> torch.Tensor:
        """CLIP score [B] = 100 · cosine similarity (as CLIPScore, without its clipping at 0); for evaluation."""
        return 100 * self.similarity(images, prompt)


__all__ = ["ClipGuide", "ClipSpec", "clip_architecture", "load_clip"]
