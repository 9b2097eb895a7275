"""StyleGAN2 generator (Karras et al., 2020) with rosinality's parameter names, so the official
`stylegan2-ffhq-config-f.pt` and e4e's decoder load as they are.

Synthesis is exposed layer by layer for FEAT: `synthesize_until` runs the style convolutions up to a
layer and returns the running `SynthesisState` (feature map + accumulated RGB skip), which can be read
or replaced, and `synthesize_from` finishes the image from such a state.

Layer k is the k-th styled convolution (0 = the 4x4 one; odd k upsample). It reads W+ entry k; the
toRGB after an even layer k reads entry k + 1. `n_latent = num_layers + 1`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Literal, cast

import torch
import torch.nn.functional as F
from torch import nn

from ..ops import fused_leaky_relu, upfirdn2d

NoiseMode = Literal["const", "random"]
BLUR_KERNEL = (1, 3, 3, 1)


def make_kernel(k: tuple[int, ...]) -> torch.Tensor:
    """Separable FIR kernel normalised to sum 1."""
    k1 = torch.tensor(k, dtype=torch.float32)
    k2 = k1[None, :] * k1[:, None]
    return k2 / k2.sum()


class PixelNorm(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(torch.mean(x**2, dim=1, keepdim=True) + 1e-8)


class EqualLinear(nn.Module):
    """Linear layer with equalized learning rate: weights stored at unit scale, scaled at run time."""

    def __init__(
        self, in_dim: int, out_dim: int, bias_init: float = 0.0, lr_mul: float = 1.0, activation: bool = False
    ):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_dim, in_dim).div_(lr_mul))
        self.bias = nn.Parameter(torch.full((out_dim,), float(bias_init)))
        self.scale = lr_mul / math.sqrt(in_dim)
        self.lr_mul = lr_mul
        self.activation = activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.activation:
            return fused_leaky_relu(F.linear(x, self.weight * self.scale), self.bias * self.lr_mul)
        return F.linear(x, self.weight * self.scale, self.bias * self.lr_mul)


class Upsample(nn.Module):
    """2x upsampling by zero insertion and the blur kernel (gain 4 keeps the mean)."""

    kernel: torch.Tensor

    def __init__(self, kernel: tuple[int, ...] = BLUR_KERNEL, factor: int = 2):
        super().__init__()
        self.factor = factor
        self.register_buffer("kernel", make_kernel(kernel) * factor**2)
        p = len(kernel) - factor
        self.pad = ((p + 1) // 2 + factor - 1, p // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return upfirdn2d(x, self.kernel, up=self.factor, pad=self.pad)


class Blur(nn.Module):
    """Low-pass filter applied after the transposed convolution of an upsampling layer."""

    kernel: torch.Tensor

    def __init__(self, kernel: tuple[int, ...], pad: tuple[int, int], upsample_factor: int = 1):
        super().__init__()
        self.register_buffer("kernel", make_kernel(kernel) * upsample_factor**2)
        self.pad = pad

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return upfirdn2d(x, self.kernel, pad=self.pad)


class ModulatedConv2d(nn.Module):
    """Convolution whose weights are scaled per input channel by the style, then demodulated."""

    def __init__(
        self,
        in_channel: int,
        out_channel: int,
        kernel_size: int,
        style_dim: int,
        demodulate: bool = True,
        upsample: bool = False,
        blur_kernel: tuple[int, ...] = BLUR_KERNEL,
    ):
        super().__init__()
        self.in_channel = in_channel
        self.out_channel = out_channel
        self.kernel_size = kernel_size
        self.upsample = upsample
        self.demodulate = demodulate
        if upsample:
            factor = 2
            p = (len(blur_kernel) - factor) - (kernel_size - 1)
            self.blur = Blur(blur_kernel, pad=((p + 1) // 2 + factor - 1, p // 2 + 1), upsample_factor=factor)
        self.scale = 1 / math.sqrt(in_channel * kernel_size**2)
        self.padding = kernel_size // 2
        self.weight = nn.Parameter(torch.randn(1, out_channel, in_channel, kernel_size, kernel_size))
        self.modulation = EqualLinear(style_dim, in_channel, bias_init=1)

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        """Runs in `x`'s dtype: styles and weights are computed in the parameters' (fp32) precision,
        then cast once, so a bf16 / fp16 `x` gets a native low-precision convolution."""
        batch = x.shape[0]
        s = self.modulation(style)  # [B, in]
        # Demodulation: sum over in, kh, kw of (scale * w * s)^2 == s^2 @ (scale^2 * sum_k w^2)^T.
        demod = torch.rsqrt(s.pow(2) @ self._weight_square().t() + 1e-8) if self.demodulate else None  # [B, out]
        if batch == 1:
            # One sample: modulate the weights (cheaper than touching the activations), with one
            # [out, in] coefficient so the big weight tensor is read once (and cast once).
            coefficient = s.view(1, -1) * self.scale
            if demod is not None:
                coefficient = coefficient * demod.view(-1, 1)
            weight = self.weight[0] * coefficient[:, :, None, None]
            return self._conv(x, weight.to(x.dtype))
        # Several samples: modulate the activations so one shared weight serves the whole batch
        # (a plain batched conv is far faster on CPU than the grouped conv of per-sample weights).
        weight = self.weight[0] * self.scale  # [out, in, k, k]
        out = self._conv(x * s.view(batch, -1, 1, 1).to(x.dtype), weight.to(x.dtype))
        if demod is not None:
            out = out * demod.view(batch, -1, 1, 1).to(x.dtype)
        return out

    def _weight_square(self) -> torch.Tensor:
        """scale² · Σ_k w², [out, in]: what demodulation reads. Cached while the weights are frozen
        (inference, and FEAT's training, where gradients reach the styles only); the cache key
        follows every in-place change of the weights (loading, an optimiser step)."""
        weight = self.weight[0]
        if weight.requires_grad:
            return (weight * self.scale).pow(2).sum([2, 3])
        key = (self.weight._version, self.weight.data_ptr(), weight.device, weight.dtype)
        cached = self.__dict__.get("_square")
        if cached is None or cached[0] != key:
            cached = (key, (weight * self.scale).pow(2).sum([2, 3]))
            self.__dict__["_square"] = cached  # not a buffer: no state-dict key, recomputed on demand
        return cached[1]

    def _conv(self, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        if self.upsample:
            # Transposed conv wants weights as [in, out, k, k].
            return self.blur(F.conv_transpose2d(x, weight.transpose(0, 1), stride=2))
        return F.conv2d(x, weight, padding=self.padding)


class NoiseInjection(nn.Module):
    """Adds per-pixel noise with a learned gain."""

    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor, noise: torch.Tensor | None = None, inplace: bool = False) -> torch.Tensor:
        if noise is None:
            noise = x.new_empty(x.shape[0], 1, x.shape[2], x.shape[3]).normal_()
        scaled = (self.weight * noise).to(x.dtype)  # fp32 buffers, any compute dtype
        return x.add_(scaled) if inplace else x + scaled


class FusedLeakyReLU(nn.Module):
    def __init__(self, channel: int):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(channel))

    def forward(self, x: torch.Tensor, inplace: bool = False) -> torch.Tensor:
        # The bias in x's dtype: the op promotes mixed dtypes (an fp32 bias would turn half-precision
        # features back into fp32 for every later layer, on the CUDA kernel's path).
        return fused_leaky_relu(x, self.bias.to(x.dtype), inplace=inplace)


class ConstantInput(nn.Module):
    def __init__(self, channel: int, size: int = 4):
        super().__init__()
        self.input = nn.Parameter(torch.randn(1, channel, size, size))

    def forward(self, batch: int) -> torch.Tensor:
        return self.input.expand(batch, -1, -1, -1)


class StyledConv(nn.Module):
    """Modulated conv → noise → bias + leaky ReLU: one synthesis layer."""

    def __init__(
        self,
        in_channel: int,
        out_channel: int,
        kernel_size: int,
        style_dim: int,
        upsample: bool = False,
        blur_kernel: tuple[int, ...] = BLUR_KERNEL,
    ):
        super().__init__()
        self.conv = ModulatedConv2d(
            in_channel, out_channel, kernel_size, style_dim, upsample=upsample, blur_kernel=blur_kernel
        )
        self.noise = NoiseInjection()
        self.activate = FusedLeakyReLU(out_channel)

    def forward(self, x: torch.Tensor, style: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        # The conv output is ours alone and its backward does not need it, so the epilogue can
        # work in place: at 1024² each avoided temporary is 128 MB of fresh pages.
        out = self.noise(self.conv(x, style), noise, inplace=True)
        return self.activate(out, inplace=True)


class ToRGB(nn.Module):
    """1x1 modulated conv to RGB (no demodulation), added to the upsampled running image."""

    def __init__(
        self, in_channel: int, style_dim: int, upsample: bool = True, blur_kernel: tuple[int, ...] = BLUR_KERNEL
    ):
        super().__init__()
        if upsample:
            self.upsample = Upsample(blur_kernel)
        self.conv = ModulatedConv2d(in_channel, 3, 1, style_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(1, 3, 1, 1))

    def forward(self, x: torch.Tensor, style: torch.Tensor, skip: torch.Tensor | None = None) -> torch.Tensor:
        # The running RGB stays in the bias's fp32 whatever the features' dtype: 3 channels cost
        # nothing, and the image is where rounding would show.
        out = self.conv(x, style) + self.bias
        if skip is not None:
            out = out + self.upsample(skip)
        return out


@dataclass(frozen=True)
class SynthesisState:
    """Synthesis after layer `layer`: its feature map and the RGB image accumulated so far.

    After an odd (upsampling) layer the skip is still at the previous, lower resolution.
    """

    layer: int
    feature: torch.Tensor
    skip: torch.Tensor

    def replace(self, feature: torch.Tensor | None = None, skip: torch.Tensor | None = None) -> SynthesisState:
        """This state with its feature map and/or RGB replaced (at the same layer)."""
        return replace(
            self, feature=self.feature if feature is None else feature, skip=self.skip if skip is None else skip
        )


class Generator(nn.Module):
    """StyleGAN2 config-e/f generator: mapping network + synthesis network."""

    def __init__(
        self,
        size: int,
        style_dim: int = 512,
        n_mlp: int = 8,
        channel_multiplier: int = 2,
        blur_kernel: tuple[int, ...] = BLUR_KERNEL,
        lr_mlp: float = 0.01,
        channels: Mapping[int, int] | None = None,
    ):
        """`channels` overrides the width of chosen resolutions (e.g. a narrow test generator);
        by default rosinality's table for `channel_multiplier` is used."""
        super().__init__()
        self.size = size
        self.style_dim = style_dim
        self.style = nn.Sequential(
            PixelNorm(), *[EqualLinear(style_dim, style_dim, lr_mul=lr_mlp, activation=True) for _ in range(n_mlp)]
        )
        self.channels = {
            4: 512,
            8: 512,
            16: 512,
            32: 512,
            64: 256 * channel_multiplier,
            128: 128 * channel_multiplier,
            256: 64 * channel_multiplier,
            512: 32 * channel_multiplier,
            1024: 16 * channel_multiplier,
        }
        if channels is not None:
            self.channels.update(channels)
        self.input = ConstantInput(self.channels[4])
        self.conv1 = StyledConv(self.channels[4], self.channels[4], 3, style_dim, blur_kernel=blur_kernel)
        self.to_rgb1 = ToRGB(self.channels[4], style_dim, upsample=False)
        self.log_size = int(math.log2(size))
        self.num_layers = (self.log_size - 2) * 2 + 1
        self.n_latent = self.num_layers + 1

        self.convs = nn.ModuleList()
        self.to_rgbs = nn.ModuleList()
        self.noises = nn.Module()
        for layer in range(self.num_layers):
            res = 2 ** ((layer + 5) // 2)
            self.noises.register_buffer(f"noise_{layer}", torch.randn(1, 1, res, res))
        in_channel = self.channels[4]
        for i in range(3, self.log_size + 1):
            out_channel = self.channels[2**i]
            self.convs.append(StyledConv(in_channel, out_channel, 3, style_dim, upsample=True, blur_kernel=blur_kernel))
            self.convs.append(StyledConv(out_channel, out_channel, 3, style_dim, blur_kernel=blur_kernel))
            self.to_rgbs.append(ToRGB(out_channel, style_dim))
            in_channel = out_channel
        self.register_buffer("latent_avg", None, persistent=False)

    # -- latents -------------------------------------------------------------------------------

    def set_latent_avg(self, latent_avg: torch.Tensor | None) -> None:
        """Set the average w (truncation centre); None leaves truncation unavailable."""
        self.latent_avg = (
            None if latent_avg is None else latent_avg.detach().reshape(self.style_dim).to(self.input.input)
        )

    def mapping(self, z: torch.Tensor, psi: float = 1.0) -> torch.Tensor:
        """z [B, style_dim] → w [B, style_dim]; psi < 1 pulls w toward `latent_avg`."""
        w = self.style(z)
        if psi != 1.0:
            if self.latent_avg is None:
                raise ValueError("Truncation (psi != 1) needs latent_avg, which this checkpoint does not have.")
            w = self.latent_avg + psi * (w - self.latent_avg)
        return w

    def to_wplus(self, w: torch.Tensor) -> torch.Tensor:
        """Broadcast w [B, D] to W+ [B, n_latent, D] (W+ passes through)."""
        return w if w.dim() == 3 else w.unsqueeze(1).expand(-1, self.n_latent, -1)

    # -- synthesis -----------------------------------------------------------------------------

    def noise_for(self, layer: int, noise: NoiseMode | list[torch.Tensor | None]) -> torch.Tensor | None:
        if noise == "const":
            return getattr(self.noises, f"noise_{layer}")
        if noise == "random":
            return None
        return noise[layer]

    def resolution(self, layer: int) -> int:
        """Spatial size of layer `layer`'s feature map."""
        return 2 ** ((layer + 5) // 2)

    def layer_at(self, resolution: int) -> int:
        """The last layer at `resolution` (its non-upsampling conv, whose feature map is final there).

        The inverse of `resolution` for even layers. A resolution between powers of two counts as the
        one below it; one above the generator's size gives its last layer.
        """
        if resolution < 4:
            raise ValueError(f"the smallest feature resolution is 4, got {resolution}")
        return 2 * (min(int(resolution), self.size).bit_length() - 1) - 4

    def rgb_layer(self, layer: int) -> int:
        """The first layer from `layer` on whose accumulated RGB is complete: an odd (upsampling) layer
        has no toRGB, its RGB is still the previous resolution's; the next layer's toRGB completes it."""
        return layer + layer % 2

    def styled_conv(self, layer: int) -> StyledConv:
        """The module of layer `layer` (rosinality's `conv1`, then `convs[layer - 1]`)."""
        return cast(StyledConv, self.conv1 if layer == 0 else self.convs[layer - 1])

    def _to_rgb(self, layer: int) -> ToRGB:
        return cast(ToRGB, self.to_rgb1 if layer == 0 else self.to_rgbs[layer // 2 - 1])

    def _step(
        self, state: SynthesisState | None, layer: int, wplus: torch.Tensor, noise, dtype: torch.dtype | None = None
    ) -> SynthesisState:
        if state is None:
            # channels_last all the way: oneDNN's convolutions run ~1.5-2x faster in NHWC on CPU. The
            # features stay in `dtype` from here on (see ModulatedConv2d).
            x = self.input(wplus.shape[0])
            x = (x if dtype is None else x.to(dtype)).contiguous(memory_format=torch.channels_last)
            skip = None
        else:
            x, skip = state.feature, state.skip
        x = self.styled_conv(layer)(x, wplus[:, layer], noise=self.noise_for(layer, noise))
        if layer % 2 == 0:  # a resolution block is complete: add its RGB contribution
            skip = self._to_rgb(layer)(x, wplus[:, layer + 1], skip)
        assert skip is not None  # layer 0 is even: its toRGB starts the skip
        return SynthesisState(layer, x, skip)

    def _check_wplus(self, wplus: torch.Tensor) -> None:
        if wplus.dim() != 3 or wplus.shape[1:] != (self.n_latent, self.style_dim):
            raise ValueError(f"W+ must be [B, {self.n_latent}, {self.style_dim}], got {tuple(wplus.shape)}")

    def synthesize_until(
        self,
        wplus: torch.Tensor,
        layer: int,
        noise: NoiseMode | list[torch.Tensor | None] = "const",
        dtype: torch.dtype | None = None,
    ) -> SynthesisState:
        """Run layers 0..`layer` and return the state after `layer`.

        `dtype`: the feature maps' precision, default the parameters' (bf16 / fp16 run the convolutions
        natively in it; the parameters stay fp32, and so does the accumulated RGB). States continued
        from this one keep it.
        """
        self._check_wplus(wplus)
        if not 0 <= layer < self.num_layers:
            raise ValueError(f"layer must be in [0, {self.num_layers}), got {layer}")
        state = self._step(None, 0, wplus, noise, dtype)
        for k in range(1, layer + 1):
            state = self._step(state, k, wplus, noise)
        return state

    def continue_to(
        self,
        state: SynthesisState,
        wplus: torch.Tensor,
        layer: int,
        noise: NoiseMode | list[torch.Tensor | None] = "const",
    ) -> SynthesisState:
        """Run the layers after `state.layer` up to `layer` with the styles of `wplus`."""
        self._check_wplus(wplus)
        if not state.layer <= layer < self.num_layers:
            raise ValueError(f"layer must be in [{state.layer}, {self.num_layers}), got {layer}")
        for k in range(state.layer + 1, layer + 1):
            state = self._step(state, k, wplus, noise)
        return state

    def synthesize_from(
        self, state: SynthesisState, wplus: torch.Tensor, noise: NoiseMode | list[torch.Tensor | None] = "const"
    ) -> torch.Tensor:
        """Finish the image from `state` with the styles of `wplus` for the remaining layers."""
        return self.continue_to(state, wplus, self.num_layers - 1, noise).skip.contiguous()

    def synthesis(
        self,
        wplus: torch.Tensor,
        noise: NoiseMode | list[torch.Tensor | None] = "const",
        dtype: torch.dtype | None = None,
    ) -> torch.Tensor:
        """W+ [B, n_latent, D] → image [B, 3, size, size] (about [-1, 1]; in the parameters' dtype whatever `dtype`)."""
        return self.synthesize_from(self.synthesize_until(wplus, 0, noise, dtype), wplus, noise)

    def features(
        self,
        wplus: torch.Tensor,
        layers: list[int],
        noise: NoiseMode | list[torch.Tensor | None] = "const",
        dtype: torch.dtype | None = None,
    ) -> dict[int, torch.Tensor]:
        """Feature maps of the given layers (runs only as far as the deepest one)."""
        self._check_wplus(wplus)
        wanted, out, state = set(layers), {}, None
        for k in range(max(wanted) + 1):
            state = self._step(state, k, wplus, noise, dtype)
            if k in wanted:
                out[k] = state.feature
        return out

    def forward(self, z: torch.Tensor, psi: float = 1.0, noise: NoiseMode = "const") -> torch.Tensor:
        """z → image, for convenience."""
        return self.synthesis(self.to_wplus(self.mapping(z, psi)), noise)
