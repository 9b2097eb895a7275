"""FEAT's training losses (besides CLIP's, which `feat_space.guidance` provides)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from ..models.arcface import IRSE50ArcFace, face_crop_112

if TYPE_CHECKING:
    from .settings import TrainingSettings


def loss_weights(settings: TrainingSettings) -> dict[str, float]:
    """Each loss's weight by loss name. The one rule that ties them: loss `x` is weighted by the
    settings field `x_weight`, so a new weight in the settings is picked up everywhere."""
    return {
        name.removesuffix("_weight"): float(value)
        for name, value in settings.model_dump().items()
        if name.endswith("_weight")
    }


def latent_l2(delta: torch.Tensor) -> torch.Tensor:
    """Keep the edit small: mean squared W+ offset (per element, as StyleCLIP) over the mapped entries."""
    return delta.pow(2).mean()


def identity_loss(arcface: IRSE50ArcFace, edited: torch.Tensor, original_embedding: torch.Tensor) -> torch.Tensor:
    """1 − cosine similarity of ArcFace embeddings: the edited face should stay the same person."""
    embedding = arcface(face_crop_112(edited))
    return (1 - (embedding * original_embedding).sum(-1)).mean()


def mask_area(mask: torch.Tensor) -> torch.Tensor:
    """Mean of the mask: prefer edits that touch as little of the image as possible."""
    return mask.mean()


def total_variation(mask: torch.Tensor) -> torch.Tensor:
    """Sum of absolute neighbour differences per image: prefer masks with smooth, compact regions."""
    dy = (mask[..., 1:, :] - mask[..., :-1, :]).abs().sum(dim=(-2, -1))
    dx = (mask[..., :, 1:] - mask[..., :, :-1]).abs().sum(dim=(-2, -1))
    return (dx + dy).mean()
