"""Training hyper-parameters of one edit (also the `training:` block of an edit's YAML).

The recipe and why it holds across guidance scales is in docs/training.md; the numbers
come from `benchmarks/training_oracle.py`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_STEPS = 2000  # a training's steps unless an edit's YAML or a person says otherwise


class TrainingSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    steps: int = Field(default=DEFAULT_STEPS, ge=1, le=100_000)
    batch_size: int = Field(default=2, ge=1, le=64)
    # Two speeds: the mapper's EqualLinear layers scale their weights by lr_mul = 0.01, so under Adam
    # (whose step ignores the gradient's size) they need a learning rate ~100x the attention network's.
    mapper_learning_rate: float = Field(default=0.5, gt=0, le=10)
    attention_learning_rate: float = Field(default=0.01, gt=0, le=1)
    mapper_warmup: int = Field(default=30, ge=0, description="steps over which the mapper's rate ramps up")
    lr_decay: float = Field(
        default=0.25, ge=0, lt=1, description="share of the last steps over which every rate falls linearly to 0"
    )
    # A step's gradient, per parameter group, is at most this many times its recent norm (a moving average
    # over ~20 steps); 0 turns it off. One rare training batch (a latent the edit breaks on) brought 20x the
    # usual gradient, and Adam's momentum carried that one batch's answer (shut edit and mask) for dozens of
    # steps; ordinary steps reach 4-8x the average at the 99th percentile (docs/training.md).
    gradient_spike: float = Field(default=4.0, ge=0)
    # For this many first steps the mapper's gradient is weighted toward where the guide pulls hardest, per
    # pixel (`losses.Focus`); 0 turns it off. A prompt that also pulls the whole picture (lighting, overall
    # colour) otherwise sent some runs' first edit, and then their mask, to the wrong place (docs/training.md).
    focus_steps: int = Field(default=40, ge=0, le=10_000)
    truncation: float = Field(default=0.7, gt=0, le=1, description="ψ of the sampled training latents")
    style_mixing: float = Field(
        default=0.0, ge=0, le=1, description="share of training latents whose W+ entries come from two latents"
    )
    # Guidance gradients are normalised before they reach the edit (see `scaled_gradient`), so
    # `clip_weight` sets the guide's pull relative to the other terms whatever the guide's own scale.
    normalize_guidance: bool = True
    # ... by a scale measured over the first steps, then fixed, so that a met guide lets go (`GuideScale`).
    guide_calibration: int = Field(default=10, ge=1, le=10_000)
    # How the image losses' gradient on the mask is normalised: "measured" (by its size over the last
    # steps of the area warm-up, then fixed), "per step" (each image's own size every step), "raw".
    mask_gradient: Literal["measured", "per step", "raw"] = "measured"
    clip_weight: float = Field(default=1.0, ge=0)
    l2_weight: float = Field(default=0.8, ge=0)
    id_weight: float = Field(default=0.1, ge=0)
    # The pixel change of the edited image (mean squared, images in [-1, 1]): the one term in the image's
    # own units, which the guide's measured scale is also in. It is in force as far as the guide is met
    # (`Trainer.change_gate`): an unmet guide is not fought, a met one lets it bring the edit back.
    change_weight: float = Field(default=0.3, ge=0)
    # For the colour presets (an RGB blend): the edit a partly open mask hides, m(1 − m²)(e − o)²
    # (`losses.hidden_strength`), weighted by this share of the change term's weight and gated with it; 0 turns
    # it off. Without it a long run's mask faded over a growing edit, the same picture for less area
    # (docs/training.md).
    hidden_weight: float = Field(default=0.25, ge=0)
    area_weight: float = Field(default=0.5, ge=0)
    tv_weight: float = Field(default=1e-5, ge=0)
    # The area term starts after this many steps (then ramps in over as many): first the mapper finds a
    # direction through the half-open initial mask, then the mask shrinks to where that direction helps.
    # A number of steps, not a share of the run: a share let a long run's mask open to the whole face
    # before the area term came in (docs/training.md).
    area_warmup: int = Field(default=30, ge=0, le=10_000)
    # Losses look at 224² (CLIP) and 112² (ArcFace): synthesis stops at the RGB of this resolution,
    # which skips the two most expensive blocks of a 1024² generator.
    resolution: int = Field(default=256, ge=16)
    seed: int = 0
