"""How busy the (shared) machine is right now, as the benchmarks gauge it alongside their timings."""

from __future__ import annotations

import statistics
import time

import torch


def matmul_gflops() -> float:
    """fp32 2048² matmul rate now (median of 5, after a warm-up): lower means a busier machine."""
    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    a @ b
    times = []
    for _ in range(5):
        start = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - start)
    return 2 * 2048**3 / statistics.median(times) / 1e9
