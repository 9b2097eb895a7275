"""Deterministic random weights in an official checkpoint layout, from a manifest.

Each manifest entry is either an exact `value` or a normal distribution: entry i of seed s is
`randn(shape, generator=Generator().manual_seed(s * 1_000_003 + i)) * std + mean`, cast to its dtype.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

FIXTURES = Path(__file__).parent / "fixtures"


def manifest(name: str) -> dict:
    return json.loads((FIXTURES / "manifests" / f"{name}.json").read_text())


def fill(name: str, seed: int) -> dict[str, torch.Tensor]:
    state = {}
    for index, entry in enumerate(manifest(name)["tensors"]):
        dtype = getattr(torch, entry["dtype"])
        if "value" in entry:
            state[entry["key"]] = torch.tensor(entry["value"], dtype=dtype).reshape(entry["shape"])
            continue
        g = torch.Generator().manual_seed(seed * 1_000_003 + index)
        t = torch.randn(entry["shape"], generator=g, dtype=torch.float32) * entry["std"] + entry["mean"]
        state[entry["key"]] = t.to(dtype)
    return state
