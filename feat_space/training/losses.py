"""FEAT's training losses (besides CLIP's, which `feat_space.guidance` provides)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..models.arcface import IRSE50ArcFace


def latent_l2(delta: torch.Tensor) -> torch.Tensor:
    """Keep the edit small: mean squared W+ offset (per element, as StyleCLIP) over the mapped entries."""
    return delta.pow(2).mean()


def face_crop_112(images: torch.Tensor) -> torch.Tensor:
    """The face region of an FFHQ-aligned image at ArcFace's 112² (as pSp/StyleCLIP crop it)."""
    x = F.interpolate(images, size=(256, 256), mode="bilinear", align_corners=False, antialias=True)
    x = x[:, :, 35:223, 32:220]
    return F.interpolate(x, size=(112, 112), mode="bilinear", align_corners=False, antialias=True)


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
