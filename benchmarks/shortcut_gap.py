"""How far is training's 256² shortcut from the picture the user gets? (issue 21, item 6)

Training synthesises only up to the RGB accumulated at 256² (`TrainingSettings.resolution`): the
512² and 1024² toRGB contributions are missing. This measures, on a random generator with config-f
widths (nothing downloaded), the gap between that shortcut and the final 1024² image area-downsampled
to 256², for the images and for what training actually scores, the *change* an edit makes (a latent
offset on the medium or on the fine W+ entries, as the presets map):

- relative RMS gap: ||shortcut − downsampled final|| / ||downsampled final||;
- cosine between the shortcut's and the final image's change (1 = the loss sees the same edit), for
  the medium entries, the fine ones, and the fine ones split at what the 256² RGB still reads.

Random weights make every toRGB contribute about alike, which real ones do not (their high-resolution
toRGBs add fine texture), so this is an upper bound on the gap, not its real size.

    python benchmarks/shortcut_gap.py [--latents 2]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from feat_space.editing.groups import group_span
from feat_space.models import Generator


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latents", type=int, default=2)
    parser.add_argument("--offset", type=float, default=2.0, help="size of the latent offset of the edit")
    args = parser.parse_args()
    started = time.perf_counter()
    torch.manual_seed(0)
    G = Generator(1024).eval()  # config-f widths
    with torch.no_grad():
        G.set_latent_avg(G.mapping(torch.randn(4096, G.style_dim)).mean(0))
        top = G.layer_at(256)
        wplus = G.to_wplus(G.mapping(torch.randn(args.latents, G.style_dim), psi=0.7)).clone()

        def both(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            state = G.synthesize_until(w, top)
            final = G.synthesize_from(state, w)
            return state.skip, F.interpolate(final, size=256, mode="area")

        shortcut, final = both(wplus)
        gap = ((shortcut - final).norm() / final.norm()).item()
        print(f"images: relative RMS gap, 256² shortcut vs final 1024² downsampled: {gap:.3f}")
        seen = top + 2  # W+ entries past this act only at 512² and 1024²: the shortcut never sees them
        fine = group_span("fine", G.n_latent)
        spans = {
            "medium": group_span("medium", G.n_latent),
            "fine": fine,
            "fine, seen at 256²": (fine[0], seen),
            "fine, past 256²": (seen, fine[1]),
        }
        for group, (start, end) in spans.items():
            offset = torch.zeros_like(wplus)
            offset[:, start:end] = args.offset * torch.randn(args.latents, 1, G.style_dim)
            edited_shortcut, edited_final = both(wplus + offset)
            a, b = (edited_shortcut - shortcut).flatten(1), (edited_final - final).flatten(1)
            cosine = F.cosine_similarity(a, b).mean().item()
            rel = ((a - b).norm() / b.norm()).item()
            print(
                f"edit of the {group} W+ entries [{start}, {end}): change's cosine {cosine:.3f}, relative gap {rel:.3f}"
            )
    print(f"({args.latents} latents, {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
