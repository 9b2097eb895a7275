"""Fused bias + leaky ReLU + gain, as StyleGAN2 uses after every convolution.

`fused_leaky_relu_reference` is the direct definition; `fused_leaky_relu` picks the CUDA kernel for
CUDA tensors when the extension builds (`fused_bias_act_cuda`, its autograd function below), else an
equivalent PyTorch expression. Gradients flow to `x` and `bias`, to any order.
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
            # in x's dtype: adding an fp32 bias into a bf16 tensor in place takes a slow mixed-type path
            y = y.add_((_channel_view(bias, x.ndim) * scale).to(x.dtype))
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
        return fused_bias_act_cuda(x, bias, negative_slope, scale)
    return _fused_leaky_relu_torch(x, bias, negative_slope, scale, inplace)


# -- the CUDA path: the compiled kernel with its autograd ----------------------------------------


def fused_bias_act_cuda(
    x: torch.Tensor, bias: torch.Tensor | None, negative_slope: float, scale: float
) -> torch.Tensor:
    """`leaky_relu(x + bias[dim 1], negative_slope) * scale` on CUDA; dtypes promote like `x + bias`."""
    if bias is not None and bias.dtype != x.dtype:
        dtype = torch.promote_types(x.dtype, bias.dtype)
        x, bias = x.to(dtype), bias.to(dtype)
    return _FusedBiasAct.apply(x, bias, float(negative_slope), float(scale))


class _FusedBiasAct(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, bias, slope, scale):
        y = extension.kernels().fused_bias_act(x, bias, slope, scale)
        # The backward needs the sign of x + bias. With slope >= 0 the output has it (scale > 0), so
        # x need not be kept alive; a negative slope flips signs, so then keep x and bias instead.
        if slope >= 0:
            ctx.save_for_backward(y, None)
        else:
            ctx.save_for_backward(x, bias)
        ctx.slope, ctx.scale = slope, scale
        return y

    @staticmethod
    def backward(ctx, grad):
        ref, ref_bias = ctx.saved_tensors
        grad_x = _FusedBiasActGrad.apply(grad, ref, ref_bias, ctx.slope, ctx.scale)
        grad_bias = None
        if ctx.needs_input_grad[1]:
            grad_bias = grad_x.sum([d for d in range(grad_x.dim()) if d != 1])
        return grad_x, grad_bias, None, None


class _FusedBiasActGrad(torch.autograd.Function):
    """grad_x = grad * gain(ref): linear in grad, piecewise constant in ref, so its own backward
    (needed for double backward, e.g. an R1 penalty) is the same op applied to the incoming grad."""

    @staticmethod
    def forward(ctx, grad, ref, ref_bias, slope, scale):
        ctx.save_for_backward(ref, ref_bias)
        ctx.slope, ctx.scale = slope, scale
        return extension.kernels().fused_bias_act_grad(grad, ref, ref_bias, slope, scale)

    @staticmethod
    def backward(ctx, grad_grad):
        ref, ref_bias = ctx.saved_tensors
        return _FusedBiasActGrad.apply(grad_grad, ref, ref_bias, ctx.slope, ctx.scale), None, None, None, None
