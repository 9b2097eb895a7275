"""Edit latency through `edit_photo`, in fp32 and in the default precision (FEAT_PRECISION, else auto), in one run.

Models are config-f sized (StyleGAN2 1024², channel multiplier 2; e4e with 18 styles) at random init,
built in the process (nothing is downloaded; building is setup, not timed). Edits are random FEAT
edits of the 64²-blend layout (mapped W+ entries [4, 8), blend at layer 7 = 64², attention at 3, 5).
Each session is warmed up on another photo first, as a running Space is; then, per repeat and
precision (interleaved, so a neighbour's load hits both alike):

- first edit: the photo's cache cleared, `edit_photo` = read + key, align, e4e inversion (256²), the
  original latent's pass to the blend layer, the edited pass, blending and the rest of the 1024²
  synthesis, paste-back. Timed as prepare (align + invert) + the edit;
- re-edit: another edit of the same photo (the cache answers for alignment, inversion and the
  original's pass).

The fp32 floor is e4e's 145 GFLOP plus one 1024² synthesis (150.8 GFLOP) at the fp32 2048² matmul
rate measured just before each run; speed = floor / first edit. The fp32 and default-precision results
of the same photo and edit are compared (PSNR of the 8-bit edited face and photo).

    python benchmarks/edit_latency.py [--photo tests/data/astronaut.png] [--repeats 3] [--wait-idle SECONDS]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from benchmarks.machine import matmul_gflops  # noqa: E402
from benchmarks.random_models import random_encoder  # noqa: E402
from feat_space.editing.edit import EditConfig, FeatEdit  # noqa: E402
from feat_space.models import Generator  # noqa: E402
from feat_space.session import Session  # noqa: E402
from feat_space.session.photo_edit import EditResult, edit_photo  # noqa: E402
from feat_space.session.precision import pick_precision  # noqa: E402

E4E_GFLOP = 145.0  # e4e at 256² (torch's FlopCounterMode)
SYNTHESIS_GFLOP = 150.8  # one 1024² config-f synthesis
TARGET_SPEED = 1.3  # floor / first edit, in the default precision
TARGET_RE_EDIT = 0.6  # re-edit / first edit


def idle_fraction(seconds: float = 1.0) -> float | None:
    """Share of the machine's CPU time that was idle over `seconds` (Linux /proc/stat; None elsewhere)."""
    try:
        with open("/proc/stat") as f:
            before = [int(v) for v in f.readline().split()[1:]]
        time.sleep(seconds)
        with open("/proc/stat") as f:
            after = [int(v) for v in f.readline().split()[1:]]
    except OSError:
        return None
    delta = [b - a for a, b in zip(before, after, strict=True)]
    return (delta[3] + delta[4]) / max(sum(delta), 1)  # idle + iowait


def wait_for_idle(min_idle: float, timeout: float) -> bool:
    """On a shared machine, wait (up to `timeout` s) until other processes leave the CPUs idle."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        idle = idle_fraction()
        if idle is None or idle >= min_idle:
            return True
    return False


def psnr(a, b) -> float:
    x, y = np.asarray(a, np.float64), np.asarray(b, np.float64)
    mse = np.mean((x - y) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255**2 / mse)


def random_edit(G: Generator, seed: int) -> FeatEdit:
    config = EditConfig.for_generator(G, "benchmark", mapped_layers=(4, 8), blend_layer=7, attention_layers=(3, 5))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        edit = FeatEdit(config).eval()
    edit.mapper.amplify(30)  # a visible edit, so the PSNR compares a real change
    return edit


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photo", type=Path, default=ROOT / "tests/data/astronaut.png")
    parser.add_argument("--warmup-photo", type=Path, default=ROOT / "tests/data/grace_hopper.jpg")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--wait-idle", type=float, default=0.0, metavar="SECONDS",
        help="before each run, wait up to this long for the CPUs to be idle (shared machines)",
    )  # fmt: skip
    args = parser.parse_args()

    setup = time.perf_counter()
    torch.manual_seed(0)
    G = Generator(1024, channel_multiplier=2)
    G.set_latent_avg(torch.zeros(512))
    first_edit, other_edit = random_edit(G, 1), random_edit(G, 2)
    default = pick_precision(None, torch.device("cpu"))
    names = ["fp32"] + ([default.name] if default.name != "fp32" else [])
    sessions = {
        name: Session("real", device="cpu", precision=name, models={"generator": G, "encoder": random_encoder()})
        for name in names
    }
    print(f"setup (random config-f models, not timed): {time.perf_counter() - setup:.1f} s")
    print(f"default precision: {default}")
    for session in sessions.values():  # warm-up: MediaPipe graphs, oneDNN primitives, page faults
        edit_photo(session, args.warmup_photo, [(first_edit, 1.0)])
        edit_photo(session, args.warmup_photo, [(other_edit, 0.7)])

    runs: dict[str, list[dict[str, float]]] = {name: [] for name in names}
    results: dict[str, EditResult] = {}
    disturbed = 0
    for _ in range(args.repeats):
        for name, session in sessions.items():
            if args.wait_idle and not wait_for_idle(0.9, args.wait_idle):
                disturbed += 1
            rate = matmul_gflops()
            session.photos.clear()
            _, prepare = timed(lambda session=session: session.prepare(args.photo))
            results[name], edit = timed(lambda session=session: edit_photo(session, args.photo, [(first_edit, 1.0)]))
            _, re_edit = timed(lambda session=session: edit_photo(session, args.photo, [(other_edit, 0.7)]))
            floor = (E4E_GFLOP + SYNTHESIS_GFLOP) / rate
            first = prepare + edit
            runs[name].append(
                {
                    "prepare": prepare,
                    "edit": edit,
                    "first": first,
                    "re-edit": re_edit,
                    "rate": rate,
                    "speed": floor / first,
                }
            )

    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"photo {args.photo.name}; torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"{os.cpu_count()} CPUs, load average {load}"
    )
    if disturbed:
        print(f"{disturbed} run(s) started while other processes kept the CPUs busy: expect slower figures")
    print(f"\n{'':<34}" + "".join(f"{name:>22}" for name in names))

    def row(label: str, key: str, fmt: str = "{:.3f} s") -> None:
        cells = []
        for name in names:
            values = [r[key] for r in runs[name]]
            cells.append(f"{fmt.format(statistics.median(values))} ({fmt.format(min(values)).strip()})")
        print(f"{label:<34}" + "".join(f"{c:>22}" for c in cells))

    print("(median over repeats, best in brackets)")
    row("matmul 2048² fp32 before the run", "rate", "{:.0f} GF/s")
    row("first edit: prepare (align + e4e)", "prepare")
    row("first edit: the edit + paste-back", "edit")
    row("first edit: total", "first")
    row("re-edit (another edit, same photo)", "re-edit")
    row("speed = fp32 floor / first edit", "speed", "{:.2f}")

    print("\nsummary")
    for name in names:
        first = statistics.median(r["first"] for r in runs[name])
        re_edit = statistics.median(r["re-edit"] for r in runs[name])
        speed = statistics.median(r["speed"] for r in runs[name])
        floor = statistics.median((E4E_GFLOP + SYNTHESIS_GFLOP) / r["rate"] for r in runs[name])
        print(
            f"  {name}: first edit {first:.2f} s, fp32 floor {floor:.2f} s, speed {speed:.2f} "
            f"(target >= {TARGET_SPEED}); re-edit {re_edit:.2f} s = {re_edit / first:.2f} of the first "
            f"(target <= {TARGET_RE_EDIT})"
        )
    if len(names) == 2:
        ratio = statistics.median(r["first"] for r in runs["fp32"]) / statistics.median(
            r["first"] for r in runs[names[1]]
        )
        a, b = results["fp32"], results[names[1]]
        print(f"  {names[1]} first edit {ratio:.2f}x as fast as fp32 (same process, interleaved runs)")
        print(
            f"  quality, {names[1]} vs fp32, same photo and edit: PSNR edited face {psnr(a.edited, b.edited):.1f} dB, "
            f"photo {psnr(a.photo, b.photo):.1f} dB (target >= 40 dB)"
        )


if __name__ == "__main__":
    main()
