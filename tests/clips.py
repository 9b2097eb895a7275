"""Tiny clips made in the tests (nothing stored): frames of the test photos moving in a known way,
written with PyAV, with sound, variable timing or rotation metadata as a test needs."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
from PIL import Image

DATA = Path(__file__).parent / "data"


def photo(name: str = "astronaut.png", side: int | None = None) -> np.ndarray:
    image = Image.open(DATA / name).convert("RGB")
    if side is not None:
        image = image.resize((side, round(side * image.height / image.width)), Image.Resampling.LANCZOS)
    return np.asarray(image)


def motion(count: int, size: tuple[int, int], source: tuple[int, int], *, jitter: float = 0.0, seed: int = 0):
    """Known smooth motion of a `source`-sized photo in a `size` frame: a slow pan, a zoom and a small
    rotation, plus per-frame jitter of `jitter` px. Returns [count] 2×3 maps photo → frame."""
    rng = np.random.default_rng(seed)
    (w, h), (sw, sh) = size, source
    maps = []
    for i in range(count):
        t = i / max(count - 1, 1)
        scale = min(w / sw, h / sh) * (1.0 + 0.12 * t)
        angle = 4.0 * np.sin(np.pi * t)  # degrees
        centre = np.array([sw / 2 + 0.06 * sw * (t - 0.5), sh / 2])
        a = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), angle, scale)
        a[:, 2] += np.array([w / 2, h / 2]) - centre  # the photo's centre to the frame's
        a[:, 2] += rng.normal(0.0, jitter, 2)
        maps.append(a)
    return maps


def moving_frames(image: np.ndarray, maps: Sequence[np.ndarray], size: tuple[int, int]) -> list[np.ndarray]:
    return [cv2.warpAffine(image, a, size, flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT_101) for a in maps]


def write_clip(
    path: Path,
    frames: Sequence[np.ndarray],
    *,
    rate: int = 10,
    pts: Sequence[int] | None = None,
    audio: str | None = None,
    codec: str = "libx264",
    container: str | None = None,
) -> Path:
    """Frames (RGB uint8) → a clip; `pts` in 1/`rate` s (default one per frame); `audio`: a codec for a tone."""
    with av.open(str(path), "w", format=container) as out:
        stream = out.add_stream(codec, rate=rate)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = Fraction(1, rate)
        sound = out.add_stream(audio, rate=48000) if audio else None
        for i, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            frame.pts, frame.time_base = (pts[i] if pts else i), Fraction(1, rate)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
        if sound is not None:
            seconds = (pts[-1] + 1 if pts else len(frames)) / rate
            samples = np.sin(2 * np.pi * 440 * np.arange(int(48000 * seconds)) / 48000).astype(np.float32)
            for start in range(0, len(samples), 1024):
                chunk = samples[None, start : start + 1024]
                frame = av.AudioFrame.from_ndarray(chunk, format="flt", layout="mono")
                frame.sample_rate, frame.pts = 48000, start
                for packet in sound.encode(frame):
                    out.mux(packet)
            for packet in sound.encode():
                out.mux(packet)
    return path


def set_rotation(path: Path, clockwise: int) -> Path:
    """Write a display rotation into an MP4's track header, as phones do for portrait clips (90 or 270)."""
    data = bytearray(path.read_bytes())
    at = data.find(b"tkhd")
    version = data[at + 4]
    matrix = at + 8 + (32 if version == 1 else 20) + 16
    one = 0x10000
    turns = {90: (0, one, -one, 0), 270: (0, -one, one, 0), 180: (-one, 0, 0, -one)}[clockwise]
    data[matrix : matrix + 36] = struct.pack(">9i", turns[0], turns[1], 0, turns[2], turns[3], 0, 0, 0, 0x40000000)
    path.write_bytes(data)
    return path


def read_clip(path: Path) -> tuple[list[np.ndarray], list[float]]:
    """Every frame (RGB) and its time in seconds."""
    with av.open(str(path)) as container:
        frames = [(f.to_ndarray(format="rgb24"), float(f.time)) for f in container.decode(video=0)]
    return [f for f, _ in frames], [t for _, t in frames]
