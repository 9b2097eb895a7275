"""A slider move as the Edit tab runs it (`EditHandlers`), on a small and a large photo: what the page
adds around `edit_photo(preview=True)`, against the way it used to do it, in the same process.

- now: `EditHandlers.load` (the photo loaded once per file and face, then reused) and `EditHandlers.edit`,
  which hands the session's `PreparedPhoto` to `edit_photo`;
- before (reproduced here): each move read the file again (`load_image`), prepared it (hashing its
  pixels, the session's cache key), built the page's display pictures, then `edit_photo` hashed the
  pixels once more, and the "before" picture was resized from the full photo.

Config-f-sized random models as in `benchmarks/slider.py` (not timed); a shape edit, threshold moves.

    python benchmarks/page_preview.py [--rounds 3] [--moves 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from benchmarks.machine import matmul_gflops  # noqa: E402
from benchmarks.random_models import random_encoder  # noqa: E402
from benchmarks.slider import preset_edit, seconds  # noqa: E402
from feat_space.image_input import load_image  # noqa: E402
from feat_space.models import Generator  # noqa: E402
from feat_space.registry.registry import load_registry  # noqa: E402
from feat_space.session import Session  # noqa: E402
from feat_space.session.photo_edit import edit_photo  # noqa: E402
from feat_space.ui.catalogue import Choice  # noqa: E402
from feat_space.ui.context import AppContext, Limits  # noqa: E402
from feat_space.ui.edit_handlers import EditHandlers  # noqa: E402


def move_before(handlers: EditHandlers, payload: dict, chosen: list, threshold: float) -> None:
    prepared = handlers.prepare(payload, 0)  # as each move did: display pictures included
    image = load_image(payload["path"])  # read again,
    session = handlers.session
    session.prepare(image)  # and hashed again (handlers.prepare's lookup, then edit_photo's)
    result = edit_photo(session, image, [(c.edit, s) for c, s in chosen], threshold=threshold, preview=True)
    prepared.image.resize(result.photo.size)


def move_now(handlers: EditHandlers, payload: dict, chosen: list, threshold: float) -> None:
    loaded = handlers.load(payload, 0)
    handlers.edit(loaded, chosen, threshold, None, preview=True, visitor=None, started=time.perf_counter())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--moves", type=int, default=5)
    args = parser.parse_args()

    torch.manual_seed(0)
    G = Generator(1024, channel_multiplier=2)
    G.set_latent_avg(torch.zeros(512))
    session = Session("real", device="cpu", models={"generator": G, "encoder": random_encoder()})
    handlers = EditHandlers(AppContext(session, load_registry(), Limits()))
    edit = preset_edit(G, "mouth", 1)
    chosen = [(Choice("bench", "Bench", edit, 1.0, 0.1), 1.0)]
    folder = Path(tempfile.mkdtemp(prefix="feat-page-preview-"))
    astronaut = Image.open(ROOT / "tests/data/astronaut.png").convert("RGB")
    photos = {"512² photo": folder / "small.png", "16 MP photo": folder / "large.jpg"}
    astronaut.save(photos["512² photo"])
    astronaut.resize((4000, 4000), Image.Resampling.BICUBIC).save(photos["16 MP photo"], quality=92)

    rates = [matmul_gflops()]
    for name, path in photos.items():
        payload = {"path": str(path), "orig_name": path.name}
        move_now(handlers, payload, chosen, 0.1)  # prepared, and the stages cached, untimed
        move_before(handlers, payload, chosen, 0.1)
        times: dict[str, list[float]] = {"before": [], "now": []}
        for _ in range(args.rounds):
            for i in range(1, args.moves + 1):  # interleaved: a busy moment hits both
                t = 0.1 + 0.05 * i
                times["before"].append(seconds(lambda t=t, p=payload: move_before(handlers, p, chosen, t)))
                times["now"].append(seconds(lambda t=t, p=payload: move_now(handlers, p, chosen, t)))
        before, now = statistics.median(times["before"]), statistics.median(times["now"])
        print(f"{name}: threshold move, median of {len(times['now'])}: before {before:.3f} s, now {now:.3f} s")
        print(f"  now / before = {now / before:.2f} ({(before - now) * 1000:.0f} ms less per move)")
    rates.append(matmul_gflops())
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"load average {load}; matmul 2048² fp32 around the runs: {', '.join(f'{r:.0f}' for r in rates)} GFLOP/s")


if __name__ == "__main__":
    main()
