"""An untrained FEAT edit made visible, for tests that need an edit to change pixels."""

from __future__ import annotations

import torch

from feat_space.editing.edit import FeatEdit
from feat_space.editing.recipe import REGION_PRESETS
from feat_space.session import Session


def make_edit(session: Session, region: str = "mouth", seed: int = 0) -> FeatEdit:
    """A seeded edit of the `region` preset whose mapper output is scaled up (an untrained mapper
    barely moves W+)."""
    torch.manual_seed(seed)
    edit = FeatEdit(REGION_PRESETS[region].config_for(session.generator, "an edit")).eval()
    with torch.no_grad():
        for mlp in edit.mapper.mlps:
            mlp.layers[-1].weight.mul_(30)
    return edit
