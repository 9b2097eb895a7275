"""Custom ops of StyleGAN2, each beside a reference implementation with identical semantics.

The CUDA kernels are compiled on first CUDA use (ninja, cached); without CUDA, nvcc or ninja, or if
the build fails, the pure-PyTorch path runs instead (one warning says why).
"""

from .fused_act import fused_leaky_relu, fused_leaky_relu_reference
from .upfirdn2d import upfirdn2d, upfirdn2d_reference

__all__ = ["fused_leaky_relu", "fused_leaky_relu_reference", "upfirdn2d", "upfirdn2d_reference"]
