"""upfirdn2d: upsample (zero insertion), pad, FIR filter, downsample — per channel.

Semantics follow StyleGAN2: the kernel is applied as a true convolution (flipped), negative padding
crops, and downsampling keeps every `down`-th sample starting at 0.
`upfirdn2d_reference` is the direct definition; `upfirdn2d` picks the CUDA kernel for CUDA tensors
when the extension builds (`upfirdn2d_cuda`, its autograd function below), else an equivalent, faster
PyTorch path. The CUDA path is differentiable in `x` to any order, not in the (fixed) FIR kernel.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from . import extension


def _pads(pad: int | Sequence[int]) -> tuple[int, int, int, int]:
    """(x0, x1, y0, y1) from an int, a (p0, p1) pair used for both axes, or all four."""
    if isinstance(pad, int):
        return pad, pad, pad, pad
    pad = tuple(int(p) for p in pad)
    if len(pad) == 2:
        return pad[0], pad[1], pad[0], pad[1]
    if len(pad) == 4:
        return pad
    raise ValueError(f"pad must be an int, 2 or 4 ints, got {pad}")


def _factors(f: int | Sequence[int]) -> tuple[int, int]:
    if isinstance(f, int):
        return f, f
    fx, fy = f
    return int(fx), int(fy)


def upfirdn2d_reference(
    x: torch.Tensor,
    kernel: torch.Tensor,
    up: int | Sequence[int] = 1,
    down: int | Sequence[int] = 1,
    pad: int | Sequence[int] = 0,
) -> torch.Tensor:
    """Direct definition, one step per line of the name: up, pad, FIR, down."""
    upx, upy = _factors(up)
    downx, downy = _factors(down)
    px0, px1, py0, py1 = _pads(pad)
    b, c, h, w = x.shape
    # Upsample by inserting up-1 zeros after every sample.
    y = x.new_zeros(b, c, h * upy, w * upx)
    y[:, :, ::upy, ::upx] = x
    # Pad with zeros (negative padding crops).
    y = F.pad(y, [max(px0, 0), max(px1, 0), max(py0, 0), max(py1, 0)])
    y = y[:, :, max(-py0, 0) : y.shape[2] - max(-py1, 0), max(-px0, 0) : y.shape[3] - max(-px1, 0)]
    # FIR filter: true convolution, so flip the kernel for conv2d's cross-correlation.
    kh, kw = kernel.shape
    weight = torch.flip(kernel, [0, 1]).to(y.dtype).view(1, 1, kh, kw)
    y = F.conv2d(y.reshape(b * c, 1, y.shape[2], y.shape[3]), weight)
    y = y.view(b, c, y.shape[2], y.shape[3])
    # Downsample.
    return y[:, :, ::downy, ::downx]


def _upfirdn2d_torch(x, kernel, upx, upy, downx, downy, px0, px1, py0, py1):
    b, c, h, w = x.shape
    if upx > 1 or upy > 1:
        y = torch.empty(b, c, h * upy, w * upx, dtype=x.dtype, device=x.device, memory_format=_memory_format(x)).zero_()
        y[:, :, ::upy, ::upx] = x
        x = y
    # The padding both sides share goes to conv2d itself, which saves a padded copy (the common
    # symmetric case); only the rest is padded or cropped explicitly.
    shared_y, shared_x = max(min(py0, py1), 0), max(min(px0, px1), 0)
    px0, px1, py0, py1 = px0 - shared_x, px1 - shared_x, py0 - shared_y, py1 - shared_y
    if px0 or px1 or py0 or py1:
        x = F.pad(x, [max(px0, 0), max(px1, 0), max(py0, 0), max(py1, 0)])
        x = x[:, :, max(-py0, 0) : x.shape[2] - max(-py1, 0), max(-px0, 0) : x.shape[3] - max(-px1, 0)]
    kh, kw = kernel.shape
    # Depthwise conv over all channels at once; striding does the downsampling.
    weight = torch.flip(kernel, [0, 1]).to(x.dtype).view(1, 1, kh, kw).expand(c, 1, kh, kw)
    return F.conv2d(x, weight, stride=(downy, downx), padding=(shared_y, shared_x), groups=c)


def _memory_format(x: torch.Tensor) -> torch.memory_format:
    if x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous():
        return torch.channels_last
    return torch.contiguous_format


def upfirdn2d(
    x: torch.Tensor,
    kernel: torch.Tensor,
    up: int | Sequence[int] = 1,
    down: int | Sequence[int] = 1,
    pad: int | Sequence[int] = 0,
) -> torch.Tensor:
    """Upsample, pad, filter, downsample a [B, C, H, W] tensor with a 2-D FIR `kernel`.

    `up`/`down` are ints or (x, y); `pad` is an int, (p0, p1) for both axes, or (x0, x1, y0, y1).
    """
    if x.dim() != 4 or kernel.dim() != 2:
        raise ValueError(f"upfirdn2d expects x [B,C,H,W] and a 2-D kernel, got {tuple(x.shape)}, {tuple(kernel.shape)}")
    upx, upy = _factors(up)
    downx, downy = _factors(down)
    px0, px1, py0, py1 = _pads(pad)
    # The CUDA op has no gradient for the kernel (a fixed buffer), so a trainable one stays on PyTorch.
    if x.is_cuda and not kernel.requires_grad and extension.available():
        return upfirdn2d_cuda(x, kernel, upx, upy, downx, downy, px0, px1, py0, py1)
    return _upfirdn2d_torch(x, kernel, upx, upy, downx, downy, px0, px1, py0, py1)


# -- the CUDA path: the compiled kernel with its autograd ----------------------------------------


def upfirdn2d_cuda(
    x: torch.Tensor,
    kernel: torch.Tensor,
    upx: int,
    upy: int,
    downx: int,
    downy: int,
    px0: int,
    px1: int,
    py0: int,
    py1: int,
) -> torch.Tensor:
    """upfirdn2d on CUDA, differentiable in `x` (not in `kernel`)."""
    return _UpFirDn2d.apply(x, kernel, (upx, upy, downx, downy, px0, px1, py0, py1))


class _UpFirDn2d(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, kernel, params):
        upx, upy, downx, downy, px0, px1, py0, py1 = params
        y = extension.kernels().upfirdn2d(x, kernel, upx, upy, downx, downy, px0, px1, py0, py1)
        ctx.save_for_backward(kernel)
        ctx.grad_params = adjoint_params(params, kernel.shape, x.shape[2:], y.shape[2:])
        return y

    @staticmethod
    def backward(ctx, grad):
        (kernel,) = ctx.saved_tensors
        # The adjoint is upfirdn2d again (see adjoint_params), so this backward is differentiable too.
        return _UpFirDn2d.apply(grad, torch.flip(kernel, [0, 1]), ctx.grad_params), None, None


def adjoint_params(params, kernel_shape, in_shape, out_shape) -> tuple[int, ...]:
    """Arguments of the upfirdn2d that computes the gradient wrt x (the kernel flipped).

    Per axis, with up u, down d, pads p0, p1, K taps, input length H and output length G:
        y[n] = sum_i x[i] * k[K - 1 + n*d - p0 - i*u],
    so dL/dx[i] = sum_n g[n] * k[K - 1 + n*d - p0 - i*u] = sum_n g[n] * k'[K - 1 + i*u - p0' - n*d],
    which is upfirdn2d of g with up d, down u, the flipped kernel k'[t] = k[K - 1 - t], and
    p0' = K - 1 - p0. The trailing pad p1' = H*u - G*d + p0 - u + 1 makes its output exactly H long:
    (G*d + p0' + p1' - K) // u + 1 = (H*u - u) // u + 1 = H. Samples it crops never reach x.
    """
    upx, upy, downx, downy, px0, _, py0, _ = params
    kh, kw = kernel_shape
    h, w = in_shape
    oh, ow = out_shape
    return (
        downx, downy, upx, upy,
        kw - 1 - px0, w * upx - ow * downx + px0 - upx + 1,
        kh - 1 - py0, h * upy - oh * downy + py0 - upy + 1,
    )  # fmt: skip
