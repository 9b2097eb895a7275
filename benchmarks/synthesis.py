"""Time 1024² config-f synthesis against a 2048² fp32 matmul in the same process.

The machine is shared and noisy, so the figure that counts is the ratio of synthesis throughput
(150.8 GFLOP per image) to the matmul rate measured alongside it.

    python benchmarks/synthesis.py [--size 1024] [--repeats 5] [--dtype float32|bfloat16]
"""

from __future__ import annotations

import argparse
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


def make_matmul():
    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    return lambda: a @ b


def measure(synth, repeats: int) -> list[tuple[float, float]]:
    """(synthesis seconds, matmul GFLOP/s) per round; rounds interleave the two workloads so a
    noisy neighbour slows both alike."""
    matmul = make_matmul()
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
    parser.add_argument("--dtype", choices=["float32", "bfloat16"], default="float32")
    args = parser.parse_args()

    torch.manual_seed(0)
    G = Generator(args.size, channel_multiplier=2).eval()
    wplus = G.to_wplus(G.mapping(torch.randn(1, 512)))
    dtype = getattr(torch, args.dtype)

    def synth():
        with torch.no_grad(), torch.autocast("cpu", dtype=dtype, enabled=dtype != torch.float32):
            G.synthesis(wplus)

    rounds = measure(synth, args.repeats)
    synth_seconds = statistics.median(s for s, _ in rounds)
    print(f"threads: {torch.get_num_threads()}  torch {torch.__version__}  dtype {args.dtype}")
    print(f"matmul 2048² fp32: {statistics.median(mm for _, mm in rounds):.1f} GFLOP/s (median)")
    print(f"synthesis {args.size}² batch 1: {synth_seconds:.3f} s (median of {args.repeats})")
    gflop = SYNTHESIS_GFLOP.get(args.size)
    if gflop:
        ratios = [gflop / s / mm for s, mm in rounds]
        per_round = ", ".join(f"{r:.2f}" for r in ratios)
        print(f"synthesis rate: {gflop / synth_seconds:.1f} GFLOP/s")
        print(f"ratio to matmul: {statistics.median(ratios):.2f} (median; per round: {per_round})")


if __name__ == "__main__":
    main()
