"""How hard is a "global + local" row of the training oracle before training starts? Face by face, does the
guide's own gradient on the edit point toward the local goal, or toward the whole-image pull?

For each seed, 40 training latents are rendered with no edit; the guide's gradient on the mapped W+ entries
of each face is taken, a unit step is made along it (the whole, unmasked edit), and the image's shift along
the local guide's direction is read inside the region. A face counts as "local" when that shift is toward
the local goal. Where nearly every face is local, the mapper's first steps darken (or redden ...) the
region and the mask opens there; where the faces are split, the first edit follows the whole-image pull
for many of them, and the mask shuts on the region (docs/training.md, "What sends global + local colour,
seed 11, to the wrong place").

    python benchmarks/guide_split.py --seeds 0 1 2 3 4 5 6 7 8 9 10 11
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import training_oracle as oracle  # this folder, then (by it) the checkout root, on the path

FACES = 40


def local_share(seed: int, preset: str) -> tuple[float, float]:
    """(share of faces whose own gradient step moves the region toward the local goal, median shift)."""
    import torch

    from feat_space.training.synthetic import SHIFTS

    case = oracle.pick(oracle.SUITES["default"], "global + local 20%", preset)
    job = {**case, "seed": seed, "scale": 1.0, "steps": 300, "ceiling": False}
    trainer, guide, _, _ = oracle.build(job)
    G, mapped = trainer.G, slice(*trainer.edit.config.mapped_layers)
    layer = G.layer_at(trainer.settings.resolution)
    wplus = torch.cat([trainer.sample_wplus(k) for k in range(FACES // trainer.settings.batch_size)])
    guide.latents = lambda: wplus
    region = guide.region_of(trainer.settings.resolution)
    delta = torch.zeros_like(wplus, requires_grad=True)
    (gradient,) = torch.autograd.grad(guide.loss(G.synthesize_until(wplus + delta, layer).skip, "").sum(), delta)
    step = torch.zeros_like(gradient)
    step[:, mapped] = -gradient[:, mapped] / gradient[:, mapped].norm(dim=(1, 2), keepdim=True)
    with torch.no_grad():
        change = G.synthesize_until(wplus + step, layer).skip - G.synthesize_until(wplus, layer).skip
    toward = (change * torch.tensor(SHIFTS[guide.local.effect]).view(1, 3, 1, 1)).mean(1, keepdim=True)
    inside = torch.stack([toward[i][region[i]].mean() for i in range(len(wplus))])
    return (inside > 0).float().mean().item(), inside.median().item()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", nargs="+", type=int, default=list(range(12)))
    p.add_argument("--preset", default="colour", choices=["colour", "face features"])
    args = p.parse_args(argv)
    print(f"{'seed':>4}  {'local faces':>11}  {'median shift':>12}")
    for seed in args.seeds:
        share, median = local_share(seed, args.preset)
        print(f"{seed:>4}  {share:>11.0%}  {median:>+12.3f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
