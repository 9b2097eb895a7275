"""Live-slider updates: `edit_photo(preview=True)` as the threshold or the strength moves, and the
full-resolution re-render on release, each against a first edit of the photo in the same process.

Config-f-sized random models (StyleGAN2 1024², channel multiplier 2; e4e with 18 styles), built in
the process (not timed), in the default precision (FEAT_PRECISION, else auto) unless `--precision`.
Two edits, the two layouts the region presets use: a shape edit (mapped W+ [4, 8), 64² feature
blend) and a colour edit (the fine entries, blending the final RGB, 128² mask). Per edit and round:

- first edit: the photo's cache cleared, a full-resolution `edit_photo` (align, e4e, synthesis, paste);
- threshold moves (preview): the cached edited pass is reused, blending and the layers after it rerun
  up to the preview's 256²;
- strength moves (preview): the edited pass reruns from the first mapped layer as well;
- release (full resolution): the last threshold / strength again at 1024².

    python benchmarks/slider.py [--rounds 3] [--moves 5] [--precision auto|fp32|bf16]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from benchmarks.machine import matmul_gflops  # noqa: E402
from benchmarks.random_models import random_encoder  # noqa: E402
from feat_space.editing.edit import FeatEdit  # noqa: E402
from feat_space.editing.recipe import REGION_PRESETS  # noqa: E402
from feat_space.models import Generator  # noqa: E402
from feat_space.session import Session  # noqa: E402
from feat_space.session.photo_edit import PREVIEW_SIZE, edit_photo  # noqa: E402

TARGET = 0.3  # s per preview update on the 2-core development CPU


def seconds(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def preset_edit(G: Generator, region: str, seed: int) -> FeatEdit:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        edit = FeatEdit(REGION_PRESETS[region].config_for(G, "benchmark")).eval()
    edit.mapper.amplify(30)
    return edit


def one_round(session: Session, photo: Path, edit: FeatEdit, moves: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"first edit": [], "threshold (preview)": [], "strength (preview)": []}
    session.photos.clear()
    times["first edit"].append(seconds(lambda: edit_photo(session, photo, [(edit, 1.0)], threshold=0.1)))
    strength, threshold = 1.0, 0.1
    for i in range(1, moves + 1):
        threshold = 0.1 + 0.05 * i
        times["threshold (preview)"].append(
            seconds(lambda t=threshold: edit_photo(session, photo, [(edit, strength)], threshold=t, preview=True))
        )
    times["threshold release (1024²)"] = [
        seconds(lambda: edit_photo(session, photo, [(edit, strength)], threshold=threshold))
    ]
    for i in range(1, moves + 1):
        strength = 1.0 + 0.1 * i
        times["strength (preview)"].append(
            seconds(lambda s=strength: edit_photo(session, photo, [(edit, s)], threshold=threshold, preview=True))
        )
    times["strength release (1024²)"] = [
        seconds(lambda: edit_photo(session, photo, [(edit, strength + 0.05)], threshold=threshold))
    ]
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photo", type=Path, default=ROOT / "tests/data/astronaut.png")
    parser.add_argument("--warmup-photo", type=Path, default=ROOT / "tests/data/grace_hopper.jpg")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--moves", type=int, default=5, help="slider moves per control and round")
    parser.add_argument("--precision", default=None, help="auto | fp32 | bf16 (default: FEAT_PRECISION, else auto)")
    args = parser.parse_args()

    setup = time.perf_counter()
    torch.manual_seed(0)
    G = Generator(1024, channel_multiplier=2)
    G.set_latent_avg(torch.zeros(512))
    session = Session(
        "real", device="cpu", precision=args.precision, models={"generator": G, "encoder": random_encoder()}
    )
    edits = {"shape edit (64² blend)": preset_edit(G, "mouth", 1), "colour edit (RGB blend)": preset_edit(G, "skin", 2)}
    print(f"setup (random config-f models, not timed): {time.perf_counter() - setup:.1f} s")
    print(f"session: {session.describe()}; preview {PREVIEW_SIZE}²")
    for edit in edits.values():  # warm-up: MediaPipe graphs, oneDNN primitives for both sizes
        one_round(session, args.warmup_photo, edit, 1)

    rates = [matmul_gflops()]
    results: dict[str, dict[str, list[float]]] = {name: {} for name in edits}
    for _ in range(args.rounds):
        for name, edit in edits.items():
            for key, values in one_round(session, args.photo, edit, args.moves).items():
                results[name].setdefault(key, []).extend(values)
        rates.append(matmul_gflops())

    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs, load average {load}")
    print(f"matmul 2048² fp32 around the rounds: {', '.join(f'{r:.0f}' for r in rates)} GFLOP/s (lower = busier)")
    verdicts = []
    for name, times in results.items():
        first = statistics.median(times["first edit"])
        print(f"\n{name} ({args.rounds} rounds x {args.moves} moves)   median     best   / first edit")
        for key, values in times.items():
            median = statistics.median(values)
            print(f"  {key:<28} {median:7.3f} s {min(values):7.3f} s   {median / first:5.2f}")
        for key in ("threshold (preview)", "strength (preview)"):
            median = statistics.median(times[key])
            verdicts.append(f"{name}, {key}: {median:.3f} s ({'ok' if median <= TARGET else 'OVER'} target {TARGET} s)")
    print("\nsummary (preview updates, median):")
    for line in verdicts:
        print(f"  {line}")


if __name__ == "__main__":
    main()
