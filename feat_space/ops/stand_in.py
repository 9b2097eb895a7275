"""The compiled CUDA module's functions, computed in PyTorch.

`extension.substitute(TorchKernels())` makes the ops' CUDA autograd functions (`upfirdn2d_cuda`,
`fused_bias_act_cuda`) call these instead of the kernels, so their wiring (forward, gradients,
second-order gradients) runs and is checked on machines without CUDA: by tests/test_ops.py and by
`benchmarks/gpu_check.py --dry-run`.
"""

from __future__ import annotations

import torch

from .fused_act import fused_leaky_relu_reference
from .upfirdn2d import upfirdn2d_reference


class TorchKernels:
    """What the compiled module computes, in PyTorch: the same functions and arguments."""

    @staticmethod
    def fused_bias_act(x, bias, slope, scale):
        return fused_leaky_relu_reference(x, bias, slope, scale)

    @staticmethod
    def fused_bias_act_grad(grad, ref, bias, slope, scale):
        pre = ref if bias is None else ref + bias.view(1, -1, *[1] * (ref.dim() - 2))
        return grad * torch.where(pre > 0, scale, slope * scale).to(grad.dtype)

    @staticmethod
    def upfirdn2d(x, kernel, upx, upy, downx, downy, px0, px1, py0, py1):
        return upfirdn2d_reference(x, kernel, up=(upx, upy), down=(downx, downy), pad=(px0, px1, py0, py1))
