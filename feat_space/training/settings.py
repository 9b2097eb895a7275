"""Training hyper-parameters of one edit (also the `training:` block of an edit's YAML)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class TrainingSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    steps: int = Field(default=2000, ge=1, le=100_000)
    batch_size: int = Field(default=2, ge=1, le=64)
    learning_rate: float = Field(default=0.005, gt=0, le=1)
    truncation: float = Field(default=0.7, gt=0, le=1, description="ψ of the sampled training latents")
    clip_weight: float = Field(default=1.0, ge=0)
    l2_weight: float = Field(default=0.8, ge=0)
    id_weight: float = Field(default=0.1, ge=0)
    area_weight: float = Field(default=0.005, ge=0)
    tv_weight: float = Field(default=1e-5, ge=0)
    # Losses look at 224² (CLIP) and 112² (ArcFace): synthesis stops at the RGB of this resolution,
    # which skips the two most expensive blocks of a 1024² generator.
    resolution: int = Field(default=256, ge=16)
    seed: int = 0
