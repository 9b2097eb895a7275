"""Video: how steady an edited clip is, and how fast clips are edited, against the single-photo path.

    python benchmarks/video.py steadiness [--frames 10] [--seeds 0 1 2]
    python benchmarks/video.py speed [--frames 4] [--batch 4] [--repeats 3]

**steadiness** (tiny profile: untrained random models, the only ones here): clips are built from the
photos in tests/data with known smooth motion (a pan, a 12 % zoom, a rotation of up to 4°) plus
per-frame jitter (normal, 1.5 px), 448×384 at 10 frames/s; each is edited (the demo "smile" edit,
blending features at 64²) with the smoothing on and off (`--no-smoothing`). Reported, per clip and as
the median over photos and seeds:

- flicker: each frame warped back by its known motion onto the photo, then the mean absolute change
  (8-bit levels) between consecutive frames inside the face region (FFHQ's paste-back ellipse of the
  photo's face, where every frame sees it); edited ÷ input (goal ≤ 1.2);
- temporal identity consistency as STIT defines it (Tzaban et al. 2022, §5): ArcFace cosine similarity
  of consecutive frames (local, TL-ID) and of all frame pairs (global, TG-ID) of the edited clip,
  divided by the same for the input clip (1 = as consistent as the input). Faces are cut at their known
  (not re-detected) FFHQ quads. With random models these measure the pipeline, not a trained edit.

**speed** (random config-f models, 1024², the default precision, built in the process): a clip of
`--frames` frames of the astronaut moving as above (640×480) edited with one FEAT edit of the 64²-blend
layout through `edit_video` (batched e4e and synthesis), against `edit_photo` on a frame of it (the
single-photo path: align, e4e, edit, paste back; cache cleared each time), interleaved with the clip
in each repeat, with the machine gauge (`benchmarks/machine.py`) before each; the ratio is per repeat.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "tests"):  # run as a script from anywhere; the clip makers live with the tests
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from clips import motion, moving_frames, photo, read_clip, write_clip  # noqa: E402

from benchmarks.machine import matmul_gflops  # noqa: E402
from feat_space.alignment import align_face, face_mask, square_to_quad  # noqa: E402
from feat_space.alignment.ffhq import align_crop, quad_size  # noqa: E402
from feat_space.models.arcface import face_crop_112  # noqa: E402
from feat_space.registry.demo import demo_edit  # noqa: E402
from feat_space.registry.registry import load_registry  # noqa: E402
from feat_space.session import Session  # noqa: E402
from feat_space.session.photo import image_to_tensor  # noqa: E402
from feat_space.session.photo_edit import edit_photo  # noqa: E402
from feat_space.video import Steadiness, edit_video  # noqa: E402
from feat_space.video.tracking import POINT_SMOOTHING, FaceTracker  # noqa: E402

PHOTOS = ("astronaut.png", "grace_hopper.jpg")
STEADY_SIZE = (448, 384)
SPEED_SIZE = (640, 480)
RATE = 10
JITTER = 1.5  # px, standard deviation per frame and axis
TARGET_FLICKER = 1.2
TARGET_FPS = 1.0


def known_clip(folder: Path, name: str, frames: int, size: tuple[int, int], seed: int):
    """A clip of photo `name` moving in a known way; its path, the photo and the photo → frame maps."""
    image = photo(name, side=min(size) + 128)
    maps = motion(frames, size, (image.shape[1], image.shape[0]), jitter=JITTER, seed=seed)
    clip = write_clip(folder / f"{Path(name).stem}-{seed}.mp4", moving_frames(image, maps, size), rate=RATE)
    return clip, image, maps


def unmoved(frames: list[np.ndarray], maps, image: np.ndarray) -> list[np.ndarray]:
    """Each frame warped back onto the photo by its known map (float32)."""
    h, w = image.shape[:2]
    return [
        cv2.warpAffine(f.astype(np.float32), cv2.invertAffineTransform(a), (w, h), flags=cv2.INTER_LINEAR)
        for f, a in zip(frames, maps, strict=True)
    ]


def face_region(image: np.ndarray, maps, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """The photo's face region (paste-back ellipse, only where every frame sees it) and the face's quad."""
    quad = align_face(image).quad
    side = 256
    ellipse = cv2.warpAffine(face_mask(side), square_to_quad(quad, side), image.shape[1::-1]) > 0.5
    seen = np.ones(image.shape[:2], bool)
    for a in maps:
        inside = cv2.warpAffine(np.ones(size[::-1], np.float32), cv2.invertAffineTransform(a), image.shape[1::-1])
        seen &= inside > 0.999
    return ellipse & seen, quad


def flicker(frames: list[np.ndarray], region: np.ndarray) -> float:
    return float(np.mean([np.abs(b - a)[region].mean() for a, b in itertools.pairwise(frames)]))


def identity(session: Session, frames: list[np.ndarray], maps, quad: np.ndarray) -> tuple[float, float]:
    """(consecutive, all pairs) mean ArcFace cosine similarity of the faces at their known quads."""
    crops = []
    for f, a in zip(frames, maps, strict=True):
        moved = quad @ a[:, :2].T + a[:, 2]
        crops.append(image_to_tensor_np(align_crop(f, moved, 256)))
    with torch.no_grad():
        emb = session.arcface(face_crop_112(torch.cat(crops)))
    sim = (emb @ emb.T).numpy()
    n = len(frames)
    local = float(np.mean([sim[i, i + 1] for i in range(n - 1)]))
    pairs = float(np.mean([sim[i, j] for i in range(n) for j in range(i + 1, n)]))
    return local, pairs


def alignment_error(frames: list[np.ndarray], maps, quad: np.ndarray, smoothing) -> float:
    """Mean distance of the tracked FFHQ quad's corners from the known ones, in % of the face's size."""
    tracker = FaceTracker(smoothing=smoothing)
    errors = []
    for i, (f, a) in enumerate(zip(frames, maps, strict=True)):
        found = tracker.update(f, i / RATE)
        if found is not None:
            known = quad @ a[:, :2].T + a[:, 2]
            errors.append(np.linalg.norm(found.quad - known, axis=1).mean() / quad_size(known) * 100)
    return float(np.mean(errors))


def image_to_tensor_np(rgb: np.ndarray) -> torch.Tensor:
    from PIL import Image

    return image_to_tensor(Image.fromarray(rgb, "RGB"))


def steadiness(args: argparse.Namespace) -> None:
    os.environ.setdefault("FEAT_PROFILE", "tiny")
    session = Session("tiny", device="cpu")
    edit = demo_edit(load_registry()["smile"], session.generator)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name in PHOTOS:
            for seed in args.seeds:
                clip, image, maps = known_clip(folder, name, args.frames, STEADY_SIZE, seed)
                region, quad = face_region(image, maps, STEADY_SIZE)
                frames_in, _ = read_clip(clip)
                base = flicker(unmoved(frames_in, maps, image), region)
                base_id = identity(session, frames_in, maps, quad)
                row = {"clip": f"{Path(name).stem} seed {seed}", "input": base}
                row["align smoothed"] = alignment_error(frames_in, maps, quad, POINT_SMOOTHING)
                row["align raw"] = alignment_error(frames_in, maps, quad, None)
                for label, steady in (("smoothed", None), ("no smoothing", Steadiness.off())):
                    out = folder / f"{clip.stem}-{label}.mp4"
                    edit_video(session, clip, [(edit, 1.0)], out, steadiness=steady)
                    frames_out, _ = read_clip(out)
                    row[label] = flicker(unmoved(frames_out, maps, image), region) / base
                    local, pairs = identity(session, frames_out, maps, quad)
                    row[f"{label} TL-ID"] = local / base_id[0]
                    row[f"{label} TG-ID"] = pairs / base_id[1]
                rows.append(row)
                on, off = "smoothed", "no smoothing"
                print(
                    f"{row['clip']:<22} input flicker {base:5.2f} levels; edited ÷ input: smoothed {row[on]:.2f}, "
                    f"no smoothing {row[off]:.2f}; TL-ID {row[on + ' TL-ID']:.3f} / {row[off + ' TL-ID']:.3f}, "
                    f"TG-ID {row[on + ' TG-ID']:.3f} / {row[off + ' TG-ID']:.3f}; alignment error "
                    f"{row['align smoothed']:.2f} / {row['align raw']:.2f} % of the face",
                    flush=True,
                )
    print(f"\nmedian over {len(rows)} clips ({args.frames} frames each), smoothed / no smoothing:")
    for key in ("", " TL-ID", " TG-ID"):
        on = statistics.median(r["smoothed" + key] for r in rows)
        off = statistics.median(r["no smoothing" + key] for r in rows)
        what = "flicker ÷ input's" if not key else f"{key.strip()} ÷ input's"
        goal = f" (goal ≤ {TARGET_FLICKER})" if not key else ""
        print(f"  {what:<20} {on:.3f} / {off:.3f}{goal}")
    on = statistics.median(r["align smoothed"] for r in rows)
    off = statistics.median(r["align raw"] for r in rows)
    print(f"  {'alignment error, %':<20} {on:.3f} / {off:.3f} (tracked quad vs the known one, % of face size)")


def speed(args: argparse.Namespace) -> None:
    from benchmarks.edit_latency import random_edit
    from benchmarks.random_models import random_encoder
    from feat_space.models import Generator

    torch.manual_seed(0)
    G = Generator(1024, channel_multiplier=2)
    G.set_latent_avg(torch.zeros(512))
    edit = random_edit(G, 1)
    session = Session("real", device="cpu", models={"generator": G, "encoder": random_encoder()})
    print(f"precision: {session.describe()}; torch {torch.__version__}, {torch.get_num_threads()} threads")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        clip, _, _ = known_clip(folder, "astronaut.png", args.frames, SPEED_SIZE, 0)
        frame = folder / "frame.png"
        cv2.imwrite(str(frame), cv2.cvtColor(read_clip(clip)[0][1], cv2.COLOR_RGB2BGR))
        edit_photo(session, frame, [(edit, 1.0)])  # warm-up: MediaPipe graphs, oneDNN primitives
        edit_video(session, clip, [(edit, 1.0)], folder / "warm.mp4", batch_size=args.batch)
        ratios, photo_times, video_fps, gauges = [], [], [], []
        for _ in range(args.repeats):  # interleaved, so that a neighbour's load hits both alike
            gauges.append(matmul_gflops())
            session.photos.clear()
            start = time.perf_counter()
            edit_photo(session, frame, [(edit, 1.0)])
            photo_times.append(time.perf_counter() - start)
            result = edit_video(session, clip, [(edit, 1.0)], folder / "out.mp4", batch_size=args.batch)
            video_fps.append(result.frames_per_second)
            ratios.append(video_fps[-1] * photo_times[-1])
            print(
                f"  repeat: gauge {gauges[-1]:.0f} GFLOP/s, photo {photo_times[-1]:.2f} s, clip "
                f"{video_fps[-1]:.3f} frames/s, ratio {ratios[-1]:.2f}",
                flush=True,
            )
    per_photo = statistics.median(photo_times)
    fps = statistics.median(video_fps)
    ratio = statistics.median(ratios)
    gauge = statistics.median(gauges)
    print(f"machine gauge: fp32 2048² matmul {gauge:.0f} GFLOP/s (idle ≈ 185); load {os.getloadavg()[0]:.1f}")
    print(f"single-photo path: {per_photo:.2f} s per photo = {1 / per_photo:.2f} photos/s")
    print(
        f"edit_video ({args.frames} frames, batch {args.batch}): {fps:.2f} frames/s; per repeat, frames/s × "
        f"s per photo = {ratio:.2f} (median; > 1: a clip's frame costs less than a photo; goal ≥ {TARGET_FPS} frame/s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    p = sub.add_parser("steadiness")
    p.add_argument("--frames", type=int, default=10)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.set_defaults(run=steadiness)
    p = sub.add_parser("speed")
    p.add_argument("--frames", type=int, default=4)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--repeats", type=int, default=3)
    p.set_defaults(run=speed)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
