"""`edit_video`: FEAT edits through a clip, frame by frame, steady from one frame to the next.

Streaming: frames are decoded, tracked, edited in batches of `batch_size` faces and encoded as they go,
so memory holds one batch whatever the clip's length. Per frame: the tracked face's steadied FFHQ crop
(`tracking`), the batched, steadied FEAT edit of it (`frame_batch`), and the paste-back through the
edit's own mask with the same margin and feathering every frame, so outside the mask every pixel is the
input's. Frames where the face is not found pass through unchanged, and are counted.
"""

from __future__ import annotations

import time as clock
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..alignment.ffhq import align_crop
from ..alignment.paste_back import paste_back
from ..editing.ranges import THRESHOLD
from ..editing.render import EditChoice
from ..errors import FeatError, NoFaceError
from ..session.photo_edit import check_edit_arguments
from ..session.session import Session
from .clip_info import MAX_PIXELS, ClipInfo, probe_clip
from .decoding import ClipReader, Frame
from .encoding import ClipWriter
from .frame_batch import FrameEditor
from .one_euro import Smoothing
from .tracking import POINT_SMOOTHING, FaceTracker, TrackedFace

ENCODER_SIZE = 256  # e4e's input: the crop is cut at this size straight from the frame
DEFAULT_BATCH = 4  # faces per e4e / synthesis call
LATENT_SMOOTHING = Smoothing(min_cutoff=1.5, beta=0.05)
MASK_SMOOTHING = Smoothing(min_cutoff=1.5, beta=0.5)


@dataclass(frozen=True)
class Steadiness:
    """What is smoothed over time (None: not smoothed): the alignment points, the inverted W+, the masks."""

    points: Smoothing | None = POINT_SMOOTHING
    latent: Smoothing | None = LATENT_SMOOTHING
    mask: Smoothing | None = MASK_SMOOTHING

    @classmethod
    def off(cls) -> Steadiness:
        """Every frame on its own: what `--no-smoothing` runs (the paste-back's feathering stays)."""
        return cls(points=None, latent=None, mask=None)


@dataclass(frozen=True)
class VideoResult:
    path: Path  # the edited clip (H.264 in MP4)
    info: ClipInfo  # the input's size, rate, length, sound
    frames: int  # frames written (all of the input's)
    edited: int  # frames whose face was edited
    seconds: float  # wall time of the whole edit

    @property
    def without_face(self) -> int:
        """Frames passed through unchanged: the face was not found in them."""
        return self.frames - self.edited

    @property
    def frames_per_second(self) -> float:
        return self.frames / self.seconds if self.seconds else float("inf")

    def summary(self) -> str:
        text = f"Edited the face in {self.edited} of {self.frames} frames into {self.path}"
        if self.without_face:
            text += f"; {self.without_face} frame(s) without the face passed through unchanged"
        return text + f" ({self.seconds:.1f} s, {self.frames_per_second:.2f} frames/s)."


Progress = Callable[[int, int], None]  # (frames done, frames expected in all)


def edit_video(
    session: Session,
    clip: str | Path,
    edits: Sequence[EditChoice],
    out: str | Path,
    *,
    threshold: float = THRESHOLD.default,
    face_index: int = 0,
    steadiness: Steadiness | None = None,
    batch_size: int = DEFAULT_BATCH,
    max_seconds: float | None = None,
    max_pixels: int = MAX_PIXELS,
    on_progress: Progress | None = None,
) -> VideoResult:
    """Edit the face `face_index` (0 = the largest on the first frame with a face; then followed) through
    `clip`, writing `out` (H.264 MP4 at the input's size, frame times and sound).

    `steadiness`: what is smoothed over time (default `Steadiness()`; `Steadiness.off()` smooths nothing).
    Raises a `FeatError` before any work for a clip that is unreadable, too long (`max_seconds`) or too
    large (`max_pixels`), and after decoding one that is corrupt or shows no face at all; `out` is then
    not left on disk.
    """
    started = clock.perf_counter()
    check_edit_arguments(edits, threshold, None)
    if batch_size < 1:
        raise FeatError(f"The batch size (--batch-size) must be at least 1 frame, got {batch_size}.")
    info = probe_clip(clip, max_seconds=max_seconds, max_pixels=max_pixels)
    steady = Steadiness() if steadiness is None else steadiness
    for edit, _ in edits:
        edit.check_generator(session.generator)
    editor = FrameEditor(session, edits, threshold, steady.latent, steady.mask)
    tracker = FaceTracker(face_index=face_index, smoothing=steady.points)
    out = Path(out)
    done = edited = 0
    pending: list[tuple[Frame, TrackedFace | None]] = []

    with ClipReader(clip, info, max_seconds=max_seconds) as reader, ClipWriter(out, info, reader.audio) as writer:

        def flush() -> None:
            nonlocal done, edited
            faces = [(frame, face) for frame, face in pending if face is not None]
            results = iter(
                editor.edit(
                    [align_crop(frame.rgb, face.quad, ENCODER_SIZE) for frame, face in faces],
                    [frame.time for frame, _ in faces],
                    [face.track for _, face in faces],
                )
                if faces
                else []
            )
            for frame, face in pending:
                rgb = frame.rgb
                if face is not None:
                    result = next(results)
                    rgb = np.asarray(paste_back(rgb, result.crop, face.quad, mask=result.weights))
                    edited += 1
                writer.write(rgb, frame.pts)
                done += 1
            pending.clear()
            if on_progress is not None:
                on_progress(done, max(info.frames, done))

        for frame in reader.frames(writer.audio if reader.audio is not None else None):
            pending.append((frame, tracker.update(frame.rgb, frame.time)))
            if len(pending) >= batch_size:  # frames, not faces: a faceless stretch is not held either
                flush()
        flush()
        if not edited:
            raise NoFaceError(
                f"No face was found in any of the {done} frames of {info.name!r}, so there was nothing to edit. "
                "Use a clip where the face is clearly visible, upright and not covered."
            )
    return VideoResult(out, info, done, edited, clock.perf_counter() - started)


__all__ = ["DEFAULT_BATCH", "Steadiness", "VideoResult", "edit_video"]
