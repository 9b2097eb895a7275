"""FEAT's training losses (besides CLIP's, which `feat_space.guidance` provides)."""

from __future__ import annotations

import math
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


def image_change(edited: torch.Tensor, original: torch.Tensor) -> torch.Tensor:
    """Mean squared pixel change of the edited image (images live in [-1, 1])."""
    return (edited - original).pow(2).mean()


def mask_area(mask: torch.Tensor) -> torch.Tensor:
    """Mean of the mask: prefer edits that touch as little of the image as possible."""
    return mask.mean()


def total_variation(mask: torch.Tensor) -> torch.Tensor:
    """Sum of absolute neighbour differences per image: prefer masks with smooth, compact regions."""
    dy = (mask[..., 1:, :] - mask[..., :-1, :]).abs().sum(dim=(-2, -1))
    dx = (mask[..., :, 1:] - mask[..., :, :-1]).abs().sum(dim=(-2, -1))
    return (dx + dy).mean()


class _UnitGradient(torch.autograd.Function):
    @staticmethod
    def forward(ctx, images: torch.Tensor) -> torch.Tensor:
        return images.view_as(images)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        batch, per_image = grad.shape[0], grad[0].numel()
        rms = grad.pow(2).flatten(1).mean(1).sqrt().view(-1, *[1] * (grad.dim() - 1))
        # As if each image's loss were a mean over its values with unit slope per value.
        scale = torch.where(rms > 0, 1 / (rms * per_image * batch), torch.zeros_like(rms))
        return grad * scale


def unit_gradient(images: torch.Tensor) -> torch.Tensor:
    """Identity forward; backward rescales each image's gradient to a fixed size (RMS 1 / numel / batch).

    Why: the guide's gradient scale is unknown (real CLIP's cannot be measured here) and a fixed mask-area
    weight only works within a narrow window of it. Keeping only the direction of the guide's gradient
    makes training invariant to the guide's scale and level by construction.
    """
    return _UnitGradient.apply(images)


class GuideScale:
    """The guide's gradient size, *measured*: the mean per-image RMS of its gradient on the edited images
    over the first `calibration_steps` training steps, then fixed.

    Why not rescale every step (`unit_gradient`): a guide that is met (its loss flat, as CLIP's similarity
    once the prompt holds) has a small gradient, and a per-step rescale blows it back up to full size, so
    the edit never stops. Divided by a fixed, measured scale the guide keeps its scale-freedom (a guide
    times s > 0 trains identically) and a met guide lets go: the L2 and identity terms then hold the edit.
    """

    def __init__(self, calibration_steps: int):
        self.calibration_steps = max(1, calibration_steps)
        self.total = 0.0
        self.count = 0
        self.recent: float | None = None  # moving average of the size since calibration

    @property
    def value(self) -> float | None:
        """The calibrated scale once measured (None while calibrating)."""
        return self.total / self.count if self.count >= self.calibration_steps else None

    @property
    def pull(self) -> float | None:
        """How hard the guide still pulls, against its calibrated pull: ~1 while unmet, toward 0 once met
        (None until measured). A ratio of the guide's own gradient sizes, so its scale cancels."""
        value = self.value
        return None if value is None or self.recent is None or value <= 0 else self.recent / value

    def observe(self, rms: float) -> None:
        if not math.isfinite(rms):  # a step that broke (and is skipped) says nothing of the guide's size
            return
        if self.value is None:
            self.total += rms
            self.count += 1
        else:  # averaged over about as many steps as calibration took: one batch's faces are not the guide
            rate = 1 / self.calibration_steps
            self.recent = rms if self.recent is None else (1 - rate) * self.recent + rate * rms

    def state_dict(self) -> dict:
        return {"total": self.total, "count": self.count, "recent": self.recent}

    def load_state_dict(self, state: dict) -> None:
        self.total, self.count = float(state["total"]), int(state["count"])
        recent = state.get("recent")  # absent from checkpoints of older versions
        self.recent = None if recent is None else float(recent)


class _ScaledGradient(torch.autograd.Function):
    @staticmethod
    def forward(ctx, images: torch.Tensor, scale: GuideScale, observe: bool) -> torch.Tensor:
        ctx.scale, ctx.observe = scale, observe
        return images.view_as(images)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        batch, per_image = grad.shape[0], grad[0].numel()
        rms = grad.pow(2).flatten(1).mean(1).sqrt().view(-1, *[1] * (grad.dim() - 1))
        scale: GuideScale = ctx.scale
        measured = scale.value
        if ctx.observe:
            scale.observe(rms.mean().item())
        # While calibrating, each image's own size (as `unit_gradient`); then the measured one for all.
        size = rms if measured is None else torch.full_like(rms, measured)
        factor = torch.where(size > 0, 1 / (size * per_image * batch), torch.zeros_like(size))
        return grad * factor, None, None


def scaled_gradient(images: torch.Tensor, scale: GuideScale, observe: bool = False) -> torch.Tensor:
    """Identity forward; backward divides the gradient by the guide's measured scale (`GuideScale`), to
    the size `unit_gradient` gives an unmet guide. `observe`: this backward is a training step's, and
    counts toward the calibration."""
    return _ScaledGradient.apply(images, scale, observe)
