"""FEAT's training losses (besides CLIP's, which `feat_space.guidance` provides)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

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


def hidden_strength(edited: torch.Tensor | None, original: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """What a partly open mask hides of an RGB edit: mean m(1 − m²)(e − o)², with `edited` (e) the image mixed in
    through the mask (m, detached: only the edit pays). An RGB mix m·e + (1 − m)·o makes the same picture from a
    fainter mask over a stronger edit, for less area, so a long run faded its mask over a growing edit (the
    change term sees only m²(e − o)²); this is 0 for a binary mask and grows as a mask fades. 0 without RGB edits."""
    if edited is None:
        return original.new_zeros(())
    m = F.interpolate(mask.detach(), size=edited.shape[-2:], mode="bilinear", align_corners=False)
    return (m * (1 - m.square()) * (edited - original).square()).mean()


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


FOCUS_CELLS = 16  # cells per side over which `Focus` measures where the guide pulls
FOCUS_POWER = 2.0  # how strongly it favours the cells where the pull is largest


class _FocusHook(torch.autograd.Function):
    """Identity forward that keeps the `Focus` for its backward (each subclass's)."""

    @staticmethod
    def forward(ctx, values: torch.Tensor, focus: Focus) -> torch.Tensor:
        ctx.focus = focus
        return values.view_as(values)


class _FocusImage(_FocusHook):
    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        size = F.adaptive_avg_pool2d(grad.abs().sum(1, keepdim=True), FOCUS_CELLS)
        ctx.focus.weight = (size / size.mean((2, 3), keepdim=True).clamp_min(1e-30)).pow(FOCUS_POWER)
        return grad, None


class _FocusEdit(_FocusHook):
    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        weight = ctx.focus.weight
        if weight is None:  # the image's gradient did not pass through `Focus.image`: nothing to weight by
            return grad, None
        focused = grad * F.interpolate(weight.to(grad), size=grad.shape[-2:], mode="nearest")
        # Only where the gradient points changes, not its size: Adam remembers sizes over ~1000 steps, and
        # a focus phase with larger gradients left the mapper's later steps small (the edit stalled).
        size = grad.flatten(1).norm(dim=1) / focused.flatten(1).norm(dim=1).clamp_min(1e-30)
        return focused * size.view(-1, *[1] * (grad.dim() - 1)), None


class Focus:
    """The mapper's gradient weighted toward where the guide pulls hardest in the picture, in a training's
    first steps: `image` wraps the rendered image (its gradient, cell by cell over `FOCUS_CELLS` a side,
    gives each cell the weight (its mean size over the image's)^`FOCUS_POWER`), and `edit` wraps the edited
    side of blending (its gradient is multiplied by those weights, then brought back to its own size, so
    only its direction changes). The mask, on the other side of blending, learns from the plain gradient.

    Why: a prompt that also likes a change of the whole picture (CLIP's often does: lighting, overall
    colour) splits the mapper's first steps between that and the part the prompt is about, and on some
    faces the whole-picture pull wins. The mapper then learns it, the part's own pull says "less here",
    and the mask shuts on the part for good (docs/training.md). A prompt pulls hardest, per pixel, where
    its part is; weighted so, the mapper's first steps take the part's direction. A ratio of the
    gradient's own sizes, so its scale cancels.
    """

    def __init__(self) -> None:
        self.weight: torch.Tensor | None = None  # [B, 1, FOCUS_CELLS, FOCUS_CELLS], from the last backward

    def image(self, image: torch.Tensor) -> torch.Tensor:
        return _FocusImage.apply(image, self)

    def edit(self, values: torch.Tensor) -> torch.Tensor:
        return _FocusEdit.apply(values, self)
