"""Why synthesis runs channels_last: NCHW vs NHWC for the layer shapes that dominate 1024² synthesis.

Times, in one process, the 3x3 conv, the stride-2 transposed conv and the 4x4 depthwise blur of the
three highest resolutions in both memory formats, and prints the NHWC speed-up of each.

    python benchmarks/conv_layout.py
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

# Run from anywhere, the package uninstalled: the checkout root first on the path.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from feat_space.models.stylegan2 import make_kernel
from feat_space.ops import upfirdn2d


def median_ms(fn, repeats: int = 5) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e3


def compare(name: str, fn, x: torch.Tensor) -> None:
    x_nhwc = x.contiguous(memory_format=torch.channels_last)
    nchw = median_ms(lambda: fn(x))
    nhwc = median_ms(lambda: fn(x_nhwc))
    print(f"{name:<44} NCHW {nchw:7.1f} ms   NHWC {nhwc:7.1f} ms   speed-up {nchw / nhwc:4.2f}x")


@torch.no_grad()
def main() -> None:
    torch.manual_seed(0)
    blur = make_kernel((1, 3, 3, 1)) * 4
    # (in channels, out channels, input resolution) of the upsampling layers of config-f's top blocks.
    for cin, cout, res in [(128, 64, 256), (64, 32, 512)]:
        x_low = torch.randn(1, cin, res, res)
        w_up = torch.randn(cin, cout, 3, 3)
        compare(
            f"transposed conv {cin}->{cout} @ {res}->{2 * res + 1}",
            lambda x, w_up=w_up: F.conv_transpose2d(x, w_up, stride=2),
            x_low,
        )
        x_up = torch.randn(1, cout, 2 * res + 1, 2 * res + 1)
        compare(f"blur 4x4 depthwise, {cout} ch @ {2 * res + 1}", lambda x: upfirdn2d(x, blur, pad=(1, 1)), x_up)
        x_high = torch.randn(1, cout, 2 * res, 2 * res)
        w = torch.randn(cout, cout, 3, 3)
        compare(f"conv 3x3 {cout}->{cout} @ {2 * res}", lambda x, w=w: F.conv2d(x, w, padding=1), x_high)


if __name__ == "__main__":
    main()
