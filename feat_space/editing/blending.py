"""Feature blending: the edit happens only where the mask says.

Synthesis runs for the original latent w and the edited w'. At the blend layer L the feature map and
the accumulated RGB become `m·f(w') + (1−m)·f(w)`; the layers after L use the *original* styles, so
outside the mask the image differs only within `blend_margin(G, L)` pixels of it. With L = "rgb" the
final images are blended, `m·img(w') + (1−m)·img(w)`, and outside the mask nothing changes at all.

This module is the blend itself; `editing.render` runs it between the synthesis passes.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F

from ..models.stylegan2 import Generator, SynthesisState

BlendLayer = int | Literal["rgb"]


def resize_mask(mask: torch.Tensor, size: int) -> torch.Tensor:
    if mask.shape[-1] == size:
        return mask
    return F.interpolate(mask, size=(size, size), mode="bilinear", align_corners=False)


def mix(mask: torch.Tensor, edited: torch.Tensor, original: torch.Tensor) -> torch.Tensor:
    """m·edited + (1−m)·original, with m resized to the tensors' resolution.

    This form is exact at both ends: where m == 0 it is `original` bit for bit, where m == 1 `edited`.
    """
    m = resize_mask(mask, original.shape[-1]).to(original.dtype)
    return m * edited + (1 - m) * original


def blend_states(state: SynthesisState, edited: SynthesisState, mask: torch.Tensor) -> SynthesisState:
    return state.replace(feature=mix(mask, edited.feature, state.feature), skip=mix(mask, edited.skip, state.skip))


def blend_margin(G: Generator, layer: BlendLayer) -> int:
    """Output pixels beyond the mask's support that blending at `layer` can still change.

    Conservative, from the layers' supports: a 3x3 conv reaches 1 pixel further; an upsampling
    layer (stride-2 3x3 transposed conv + 4-tap blur) maps a reach of r to 2r + 3; the RGB skip's
    upsampling (4-tap) maps r to 2r + 2. The mask's own bilinear resize adds 1 pixel at each scale,
    counted by starting from 1.
    """
    if layer == "rgb":
        return 0
    reach = skip_reach = 1
    if layer % 2:  # the skip is still at half resolution: the next toRGB upsamples it (r -> 2r + 2)
        skip_reach = 2 * skip_reach + 2
    for k in range(layer + 1, G.num_layers):
        if k % 2:  # upsampling conv; the skip is upsampled by the toRGB of this block
            reach, skip_reach = 2 * reach + 3, 2 * skip_reach + 2
        else:
            reach += 1
            skip_reach = max(skip_reach, reach)  # this block's toRGB (1x1) adds the feature's reach
    return max(reach, skip_reach)
