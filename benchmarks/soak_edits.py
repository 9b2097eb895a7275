"""Soak: the app's memory over many edits of distinct photos (not a CI test; minutes).

The app runs in this process in the tiny profile on 127.0.0.1 and is driven through its API like
visitors would: every edit is of a photo never seen before (crops, mirror images, colour shifts and
scales of the test photos), so each one goes through alignment, inversion and the session's photo
cache (which evicts), Gradio's upload and result files, and a visitor's download folder. A new visitor
(a new `gradio_client.Client`, its own session) arrives every `--per-visitor` edits, so visitors' state
is created and dropped too.

The process's resident memory (VmRSS) is read after every edit, after `gc.collect()` and glibc's
`malloc_trim(0)` (see `trim_heap`; `--no-trim` reads it raw). Reported: RSS after the warm-up, at the
end, the peak, and the least-squares slope in MB per 100 edits over the edits after the warm-up (the
session's cache fills during warm-up: `DEFAULT_CACHE_SIZE` photos). Flat means the slope is within
noise: a leak of one 512² RGB photo per edit would be ~75 MB per 100 edits.

    python benchmarks/soak_edits.py [--edits 200] [--warmup 20] [--per-visitor 25] [--no-trim] [--json out.json]
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import os
import socket
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from feat_space.registry.registry import load_registry  # noqa: E402
from feat_space.session import Session  # noqa: E402
from feat_space.ui import build_app  # noqa: E402
from feat_space.ui.context import AppContext, Limits  # noqa: E402

SOURCES = [ROOT / "tests" / "data" / "astronaut.png", ROOT / "tests" / "data" / "grace_hopper.jpg"]
FAST_EDIT = "registry:purple-hair"


def trim_heap() -> bool:
    """Give freed heap memory back to the OS (glibc's malloc_trim), so RSS shows what is still in use
    rather than what the allocator keeps for later: without it RSS moves in steps of 100+ MB as arenas
    and the mmap threshold adapt, which hides or fakes a slope over a few hundred edits."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        return False  # not glibc: RSS is read as it is (the report says so)
    return True


def rss_mb() -> float:
    """This process's resident set size, MB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status (not Linux?)")


def distinct_photo(index: int, folder: Path) -> Path:
    """Photo number ``index``: a crop, scale, mirror and tint of a test photo no other index shares."""
    rng = np.random.default_rng(index)
    source = Image.open(SOURCES[index % len(SOURCES)]).convert("RGB")
    width, height = source.size
    left, top = (int(v) for v in rng.integers(0, 40, 2))
    right, bottom = width - int(rng.integers(0, 40)), height - int(rng.integers(0, 40))
    photo = source.crop((left, top, right, bottom))
    scale = 0.8 + 0.4 * float(rng.random())
    photo = photo.resize((round(photo.width * scale), round(photo.height * scale)), Image.BILINEAR)
    if index % 3 == 1:
        photo = ImageOps.mirror(photo)
    shift = rng.integers(-20, 21, 3).astype(np.int16)
    photo = Image.fromarray(np.clip(np.asarray(photo).astype(np.int16) + shift, 0, 255).astype(np.uint8))
    path = folder / f"photo{index:04d}.png"
    photo.save(path)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def slope_per_100(values: list[float]) -> float:
    x = np.arange(len(values), dtype=np.float64)
    return float(np.polyfit(x, np.asarray(values), 1)[0] * 100) if len(values) > 1 else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--edits", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20, help="edits before the slope is measured")
    parser.add_argument("--per-visitor", type=int, default=25, help="edits per visitor (new session after)")
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    parser.add_argument(
        "--no-trim", dest="trim", action="store_false", help="read RSS without malloc_trim (allocator noise included)"
    )
    args = parser.parse_args()

    from gradio_client import Client, handle_file

    work = Path(tempfile.mkdtemp(prefix="feat-soak-"))
    os.environ.setdefault("FEAT_CACHE", str(work / "cache"))
    context = AppContext(Session("tiny", device="cpu"), load_registry(), Limits(gpu_slots=1, queue_size=16))
    demo = build_app(context=context)
    _, url, _ = demo.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True)
    rss: list[float] = []
    started = time.monotonic()
    client = None
    trimmed = False
    try:
        for i in range(args.edits):
            if i % args.per_visitor == 0:
                client = Client(url, verbose=False, download_files=str(work / "client"))
            photo = distinct_photo(i, work)
            assert client is not None
            client.predict(photo=handle_file(str(photo)), edits=[FAST_EDIT], threshold=0.3, api_name="/edit")
            photo.unlink()
            gc.collect()
            trimmed = trim_heap() if args.trim else False
            rss.append(rss_mb())
            if (i + 1) % 25 == 0:
                print(f"{i + 1:4d} edits  RSS {rss[-1]:7.1f} MB  {time.monotonic() - started:6.0f} s", flush=True)
    finally:
        demo.close()
    measured = rss[args.warmup :]
    result = {
        "edits": args.edits,
        "malloc_trim": trimmed,
        "distinct_photos": args.edits,
        "visitors": -(-args.edits // args.per_visitor),
        "rss_after_warmup_mb": round(measured[0], 1),
        "rss_end_mb": round(rss[-1], 1),
        "rss_peak_mb": round(max(rss), 1),
        "slope_mb_per_100_edits": round(slope_per_100(measured), 2),
        "slope_second_half_mb_per_100_edits": round(slope_per_100(measured[len(measured) // 2 :]), 2),
        "seconds": round(time.monotonic() - started, 1),
        "photo_cache": str(context.session.photos.info()),
        "load_average": os.getloadavg(),
        "rss_mb_per_edit": [round(v, 1) for v in rss],
    }
    print(json.dumps({k: v for k, v in result.items() if k != "rss_mb_per_edit"}, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
