"""Fused bias + leaky ReLU + gain, as StyleGAN2 uses after every convolution.

`fused_leaky_relu_reference` is the direct definition; `fused_leaky_relu` picks the CUDA kernel for
CUDA tensors when the extension builds, else an equivalent PyTorch expression.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from . import extension

DEFAULT_SLOPE = 0.2
DEFAULT_SCALE = math.sqrt(2.0)


def _channel_view(bias: torch.Tensor, ndim: int) -> torch.Tensor:
    return bias.view(1, -1, *([1] * (ndim - 2)))


def fused_leaky_relu_reference(
    x: torch.Tensor, bias: torch.Tensor | None, negative_slope: float = DEFAULT_SLOPE, scale: float = DEFAULT_SCALE
) -> torch.Tensor:
    """`leaky_relu(x + bias) * scale`, bias broadcast over dim 1."""
    if bias is not None:
        x = x + _channel_view(bias, x.ndim)
    return F.leaky_relu(x, negative_slope) * scale


def _fused_leaky_relu_torch(
    x: torch.Tensor, bias: torch.Tensor | None, negative_slope: float, scale: float, inplace: bool
) -> torch.Tensor:
    # leaky_relu is positively homogeneous, so the gain (scale > 0) can go first, folded into the
    # bias add: two memory passes instead of three, and none allocating when in place.
    if inplace:
        y = x.mul_(scale)
        if bias is not None:
            y = y.add_(_channel_view(bias, x.ndim) * scale)
    elif bias is None:
        y = x * scale
    else:
        y = torch.add(_channel_view(bias, x.ndim) * scale, x, alpha=scale)
    if negative_slope < 0:  # not monotonic: the backward of the in-place op cannot recover the sign
        return F.leaky_relu(y, negative_slope)
    return F.leaky_relu_(y, negative_slope)


def fused_leaky_relu(
    x: torch.Tensor,
    bias: torch.Tensor | None = None,
    negative_slope: float = DEFAULT_SLOPE,
    scale: float = DEFAULT_SCALE,
    inplace: bool = False,
) -> torch.Tensor:
    """Bias add, leaky ReLU and gain in one op; differentiable on every path.

    `inplace=True` lets the PyTorch path reuse `x`'s memory (only for a tensor nothing else reads).
    """
    if scale <= 0:
        raise ValueError("fused_leaky_relu needs scale > 0")
    if x.is_cuda and extension.available():
        return extension.fused_bias_act(x, bias, negative_slope, scale)
    return _fused_leaky_relu_torch(x, bias, negative_slope, scale, inplace)
