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


# The upfirdn2d cases the kernels are checked on (tests/test_ops.py, benchmarks/gpu_check.py):
# (up, down, pad, kernel shape), StyleGAN2's uses first, then asymmetric and cropping cases.
UPFIRDN2D_CASES: dict[str, tuple] = {
    "upsample": (2, 1, (2, 1), (4, 4)),  # Upsample: pad (p // 2 + up - 1, p // 2), p = 4 - 2
    "blur_after_transposed_conv": (1, 1, (1, 1), (4, 4)),
    "blur_before_strided_conv": (1, 1, (2, 2), (4, 4)),
    "downsample": (1, 2, (1, 1), (4, 4)),
    "asymmetric_xy": ((2, 1), (1, 2), (1, 2, 0, 1), (3, 5)),
    "up3_down2": (3, 2, (2, 0, 1, 3), (5, 2)),
    "negative_pads": (1, 1, (-1, -1, -2, -1), (3, 3)),
    "up_with_crop": (2, 1, (-1, 2, 3, -2), (4, 3)),
    "down3_remainder": (1, 3, (0, 1, 2, 0), (2, 4)),
    "one_tap": (2, 2, 0, (1, 1)),
}
