"""Time 1024² config-f synthesis against a 2048² matmul of the same dtype, in the same process.

The machine is shared and noisy, so the figure that counts is the ratio of synthesis throughput
(150.8 GFLOP per image) to the matmul rate measured alongside it. Each dtype is timed against its own
matmul: fp32 synthesis vs the fp32 matmul, bf16 synthesis (the native path: features bf16 and
channels_last, `Generator.synthesis(dtype=torch.bfloat16)`) vs the bf16 matmul.

    python benchmarks/synthesis.py [--size 1024] [--repeats 5] [--dtypes float32 bfloat16]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import torch

# Run from anywhere, the package uninstalled: the checkout root first on the path.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from feat_space.models import Generator

SYNTHESIS_GFLOP = {1024: 150.8}  # config-f, batch 1, counted as the reference computes it


def seconds(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def make_matmul(dtype: torch.dtype = torch.float32):
    a, b = torch.randn(2048, 2048).to(dtype), torch.randn(2048, 2048).to(dtype)
    return lambda: a @ b


def measure(synth, repeats: int, dtype: torch.dtype = torch.float32) -> list[tuple[float, float]]:
    """(synthesis seconds, matmul GFLOP/s in `dtype`) per round; rounds interleave the two workloads
    so a noisy neighbour slows both alike."""
    matmul = make_matmul(dtype)
    synth()  # warm-up: oneDNN primitive creation, first touch of buffers
    for _ in range(3):
        matmul()
    rounds = []
    for _ in range(repeats):
        matmul_rate = 2 * 2048**3 / statistics.median(seconds(matmul) for _ in range(5)) / 1e9
        rounds.append((seconds(synth), matmul_rate))
    return rounds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--dtypes", nargs="+", choices=["float32", "bfloat16"], default=["float32", "bfloat16"])
    args = parser.parse_args()

    torch.manual_seed(0)
    G = Generator(args.size, channel_multiplier=2).eval().requires_grad_(False)
    wplus = G.to_wplus(G.mapping(torch.randn(1, 512)))
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"threads: {torch.get_num_threads()}  torch {torch.__version__}  load average {load}")
    gflop = SYNTHESIS_GFLOP.get(args.size)
    summary = {}
    for name in args.dtypes:
        dtype = getattr(torch, name)

        def synth(dtype=dtype):
            with torch.no_grad():
                G.synthesis(wplus, dtype=dtype)

        rounds = measure(synth, args.repeats, dtype)
        synth_seconds = statistics.median(s for s, _ in rounds)
        print(f"\n{name}: matmul 2048² {name}: {statistics.median(mm for _, mm in rounds):.1f} GFLOP/s (median)")
        print(f"{name}: synthesis {args.size}² batch 1: {synth_seconds:.3f} s (median of {args.repeats})")
        if gflop:
            ratios = [gflop / s / mm for s, mm in rounds]
            per_round = ", ".join(f"{r:.2f}" for r in ratios)
            print(f"{name}: synthesis rate {gflop / synth_seconds:.1f} GFLOP/s")
            ratio = statistics.median(ratios)
            print(f"{name}: ratio to the {name} matmul: {ratio:.2f} (median; per round: {per_round})")
        summary[name] = synth_seconds
    if len(summary) == 2:
        speedup = summary["float32"] / summary["bfloat16"]
        print(f"\nsummary: bf16 synthesis {speedup:.2f}x as fast as fp32 (same process)")


if __name__ == "__main__":
    main()
