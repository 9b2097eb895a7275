"""Time face alignment of a ~12-megapixel photo (4032×3024, a phone camera's size) on this CPU.

The photo is `tests/data/grace_hopper.jpg` enlarged 4× onto a 4032×3024 canvas (face crop ≈ 1350 px),
with sensor-like noise, encoded as a JPEG of about 3 MB. Prints the median of several runs after a
warm-up: decoding the JPEG, `align_face` from the JPEG's bytes and from the decoded image (the target:
≤ 0.5 s) and its parts, the 256² variant, and paste-back.

    python benchmarks/alignment.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

# Run from anywhere, the package uninstalled: the checkout root first on the path.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from feat_space.alignment import align_crop, align_face
from feat_space.alignment.landmarks import Photo, find_faces, refine_face
from feat_space.image_input import load_image

PHOTO = Path(__file__).resolve().parent.parent / "tests" / "data" / "grace_hopper.jpg"
SIZE = (4032, 3024)


def phone_photo() -> bytes:
    """A 4032×3024 JPEG: the test portrait enlarged 4× on a smooth background."""
    face = Image.open(PHOTO).convert("RGB")
    face = face.resize((face.width * 4, face.height * 4), Image.Resampling.BICUBIC)
    yy, xx = np.mgrid[0 : SIZE[1], 0 : SIZE[0]].astype(np.float32)
    background = np.stack([90 + 60 * xx / SIZE[0], 110 + 40 * yy / SIZE[1], 150 - 50 * xx / SIZE[0]], axis=-1)
    canvas = Image.fromarray(background.astype(np.uint8), "RGB")
    canvas.paste(face, ((SIZE[0] - face.width) // 2, SIZE[1] - face.height))
    # Sensor-like noise, so the JPEG is about as large and slow to decode as a phone photo's.
    noisy = np.asarray(canvas, np.float32) + np.random.default_rng(0).normal(0, 6, (SIZE[1], SIZE[0], 3))
    canvas = Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8), "RGB")
    buffer = io.BytesIO()
    canvas.save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


def median_seconds(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    data = phone_photo()
    photo = load_image(data)
    rgb = np.asarray(photo)
    face = align_face(photo)  # warm-up: builds the MediaPipe graphs
    pyramid = Photo(rgb)
    found = find_faces(pyramid)
    refined = refine_face(pyramid, found[0])
    edited = face.image

    rows = [
        ("decode JPEG + orient (load_image)", lambda: load_image(data)),
        ("align_face(JPEG bytes): decode + align", lambda: align_face(data)),
        ("align_face(decoded photo), total", lambda: align_face(photo)),
        ("  photo → array", lambda: np.asarray(photo)),
        ("  reduced copies (Photo)", lambda: Photo(rgb)),
        ("  detect + landmark (find_faces)", lambda: find_faces(pyramid)),
        ("  refine chosen face (3 crops)", lambda: refine_face(pyramid, found[0])),
        ("  crop + transform to 1024²", lambda: align_crop(rgb, refined.quad, 1024)),
        ("align_face(..., size=256)", lambda: align_face(photo, size=256)),
        ("encoder_input() from the 1024² crop", face.encoder_input),
        ("paste_back(1024² crop) into the photo", lambda: face.paste_back(edited)),
    ]
    print(
        f"photo {SIZE[0]}×{SIZE[1]} ({SIZE[0] * SIZE[1] / 1e6:.1f} MP, JPEG {len(data) / 1e6:.1f} MB), "
        f"face crop {face.size:.0f} px; median of {args.repeats} runs"
    )
    for label, fn in rows:
        print(f"{label:40s} {median_seconds(fn, args.repeats):7.3f} s")


if __name__ == "__main__":
    main()
